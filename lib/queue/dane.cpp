#include "tern/queue/dane.hpp"

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <memory>

namespace tern::queue {
namespace {

std::vector<unsigned char> selected(const dns::TlsaRecord& r, X509* cert) {
  std::vector<unsigned char> out;
  int len = -1;
  if (r.selector == 0) len = i2d_X509(cert, nullptr);                         // full certificate
  else if (r.selector == 1) len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), nullptr);  // SPKI
  if (len <= 0) return out;
  out.resize(static_cast<std::size_t>(len));
  unsigned char* p = out.data();
  if (r.selector == 0) i2d_X509(cert, &p);
  else i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &p);
  return out;
}

bool usable(const dns::TlsaRecord& r) {
  return (r.usage == 2 || r.usage == 3) && r.selector <= 1 && r.matching <= 2;
}

}  // namespace

bool tlsa_matches(const dns::TlsaRecord& r, X509* cert) {
  if (cert == nullptr || r.selector > 1 || r.matching > 2) return false;
  auto data = selected(r, cert);
  if (data.empty()) return false;
  if (r.matching == 0) return data.size() == r.data.size() && std::equal(data.begin(), data.end(), r.data.begin());
  const EVP_MD* md = r.matching == 1 ? EVP_sha256() : EVP_sha512();
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (EVP_Digest(data.data(), data.size(), digest, &n, md, nullptr) != 1) return false;
  return n == r.data.size() && std::equal(digest, digest + n, r.data.begin());
}

DaneVerdict dane_verify(const std::vector<dns::TlsaRecord>& records, const std::vector<X509*>& chain,
                        const std::string& host_name) {
  bool any_usable = false;
  for (const auto& r : records) any_usable = any_usable || usable(r);
  if (!any_usable) return DaneVerdict::unusable;
  if (chain.empty()) return DaneVerdict::no_match;
  for (const auto& r : records) {
    if (!usable(r)) continue;
    if (r.usage == 3) {
      if (tlsa_matches(r, chain[0])) return DaneVerdict::match;
      continue;
    }
    // DANE-TA: a certificate above the leaf is the trust anchor; the leaf must chain to it and name the host.
    for (std::size_t i = 1; i < chain.size(); ++i) {
      if (!tlsa_matches(r, chain[i])) continue;
      std::unique_ptr<X509_STORE, void (*)(X509_STORE*)> store(X509_STORE_new(), X509_STORE_free);
      std::unique_ptr<X509_STORE_CTX, void (*)(X509_STORE_CTX*)> ctx(X509_STORE_CTX_new(), X509_STORE_CTX_free);
      std::unique_ptr<STACK_OF(X509), void (*)(STACK_OF(X509)*)> untrusted(sk_X509_new_null(),
                                                                           [](STACK_OF(X509)* s) { sk_X509_free(s); });
      if (!store || !ctx || !untrusted) return DaneVerdict::no_match;
      X509_STORE_add_cert(store.get(), chain[i]);
      X509_STORE_set_flags(store.get(), X509_V_FLAG_PARTIAL_CHAIN);
      for (std::size_t j = 1; j < chain.size(); ++j) sk_X509_push(untrusted.get(), chain[j]);
      if (X509_STORE_CTX_init(ctx.get(), store.get(), chain[0], untrusted.get()) != 1) return DaneVerdict::no_match;
      X509_VERIFY_PARAM_set1_host(X509_STORE_CTX_get0_param(ctx.get()), host_name.c_str(), host_name.size());
      if (X509_verify_cert(ctx.get()) == 1) return DaneVerdict::match;
    }
  }
  return DaneVerdict::no_match;
}

}  // namespace tern::queue
