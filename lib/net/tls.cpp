#include "tern/net/tls.hpp"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>

#include <fmt/format.h>

#include "tern/core/text.hpp"

namespace tern::net {
namespace {

std::string openssl_error() {
  unsigned long e = ERR_get_error();
  if (e == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  return buf;
}

Result<std::shared_ptr<asio::ssl::context>> make_context(const std::filesystem::path& cert,
                                                         const std::filesystem::path& key, int min_version) {
  SSL_CTX* raw = SSL_CTX_new(TLS_server_method());
  if (!raw) return fail(ErrorCategory::tls, "cannot create TLS context: " + openssl_error());
  // asio takes ownership of raw from here on.
  auto ctx = std::make_shared<asio::ssl::context>(raw);
  SSL_CTX_set_min_proto_version(raw, min_version);
  // No compression (CRIME), no renegotiation by clients, fresh ECDH keys; TLS 1.0/1.1 and SSL never offered.
  SSL_CTX_set_options(raw, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_SSLv2 | SSL_OP_NO_SSLv3 |
                               SSL_OP_NO_TLSv1 | SSL_OP_NO_TLSv1_1 | SSL_OP_CIPHER_SERVER_PREFERENCE);
  SSL_CTX_set_mode(raw, SSL_MODE_RELEASE_BUFFERS);  // idle connections keep no TLS buffers
  if (SSL_CTX_set_cipher_list(raw, kTls12Ciphers) != 1)
    return fail(ErrorCategory::tls, "cannot set TLS 1.2 ciphers: " + openssl_error());
  SSL_CTX_set_dh_auto(raw, 1);
  if (SSL_CTX_use_certificate_chain_file(raw, cert.c_str()) != 1)
    return fail(ErrorCategory::tls, fmt::format("cannot load certificate {}: {}", cert.string(), openssl_error()));
  if (SSL_CTX_use_PrivateKey_file(raw, key.c_str(), SSL_FILETYPE_PEM) != 1)
    return fail(ErrorCategory::tls, fmt::format("cannot load private key {}: {}", key.string(), openssl_error()));
  if (SSL_CTX_check_private_key(raw) != 1)
    return fail(ErrorCategory::tls,
                fmt::format("private key {} does not match certificate {}", key.string(), cert.string()));
  return ctx;
}

int on_servername(SSL* ssl, int* /*alert*/, void* arg) {
  auto* set = static_cast<TlsContextSet*>(arg);
  const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  if (!name) return SSL_TLSEXT_ERR_NOACK;
  asio::ssl::context& chosen = set->context_for(name);
  if (chosen.native_handle() != SSL_get_SSL_CTX(ssl)) SSL_set_SSL_CTX(ssl, chosen.native_handle());
  return SSL_TLSEXT_ERR_OK;
}

}  // namespace

TlsContextSet::~TlsContextSet() = default;

Result<std::shared_ptr<TlsContextSet>> TlsContextSet::load(const TlsSettings& settings) {
  int min_version = TLS1_2_VERSION;
  if (settings.min_version == "1.3") min_version = TLS1_3_VERSION;
  else if (settings.min_version != "1.2")
    return fail(ErrorCategory::config, "tls.min_version must be \"1.2\" or \"1.3\"");
  std::shared_ptr<TlsContextSet> set(new TlsContextSet());
  auto def = make_context(settings.cert, settings.key, min_version);
  if (!def) return fail(def.error());
  set->default_ = *def;
  for (const auto& c : settings.sni) {
    auto ctx = make_context(c.cert, c.key, min_version);
    if (!ctx) return fail(ctx.error());
    for (const auto& n : c.names) set->entries_.push_back(Entry{ascii_lower(n), *ctx});
  }
  if (!set->entries_.empty()) {
    SSL_CTX_set_tlsext_servername_callback(set->default_->native_handle(), on_servername);
    SSL_CTX_set_tlsext_servername_arg(set->default_->native_handle(), set.get());
    // The per-name contexts must run the same callback only when they are the initial context; they are not.
  }
  return set;
}

asio::ssl::context& TlsContextSet::context_for(std::string_view host_name) noexcept {
  std::string name = ascii_lower(host_name);
  for (auto& e : entries_)
    if (e.name == name) return *e.ctx;
  auto dot = name.find('.');
  if (dot != std::string::npos) {
    std::string wild = "*" + name.substr(dot);
    for (auto& e : entries_)
      if (e.name == wild) return *e.ctx;
  }
  return *default_;
}

Status write_self_signed_certificate(const std::string& host_name, const std::filesystem::path& cert,
                                     const std::filesystem::path& key, int days) {
  EVP_PKEY* pkey = EVP_RSA_gen(2048);
  if (!pkey) return fail(ErrorCategory::tls, "cannot generate RSA key: " + openssl_error());
  X509* x = X509_new();
  auto cleanup = [&] {
    X509_free(x);
    EVP_PKEY_free(pkey);
  };
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), static_cast<long>(time(nullptr)));
  X509_gmtime_adj(X509_getm_notBefore(x), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x), static_cast<long>(days) * 86400);
  X509_set_pubkey(x, pkey);
  X509_NAME* subject = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(host_name.c_str()),
                             -1, -1, 0);
  X509_set_issuer_name(x, subject);
  X509V3_CTX v3;
  X509V3_set_ctx_nodb(&v3);
  X509V3_set_ctx(&v3, x, x, nullptr, nullptr, 0);
  std::string san = "DNS:" + host_name;
  for (auto [nid, value] : {std::pair{NID_subject_alt_name, san.c_str()},
                            std::pair{NID_basic_constraints, "critical,CA:FALSE"},
                            std::pair{NID_ext_key_usage, "serverAuth"}}) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &v3, nid, value);
    if (!ext) { cleanup(); return fail(ErrorCategory::tls, "cannot build certificate extension: " + openssl_error()); }
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
  }
  if (!X509_sign(x, pkey, EVP_sha256())) {
    cleanup();
    return fail(ErrorCategory::tls, "cannot sign certificate: " + openssl_error());
  }
  std::error_code ec;
  std::filesystem::create_directories(cert.parent_path(), ec);
  std::filesystem::create_directories(key.parent_path(), ec);
  mode_t old = umask(077);
  FILE* kf = std::fopen(key.c_str(), "w");
  umask(old);
  if (!kf) { cleanup(); return fail_errno("create " + key.string()); }
  bool ok = PEM_write_PrivateKey(kf, pkey, nullptr, nullptr, 0, nullptr, nullptr) == 1;
  ok = (std::fclose(kf) == 0) && ok;
  FILE* cf = std::fopen(cert.c_str(), "w");
  if (!cf) { cleanup(); return fail_errno("create " + cert.string()); }
  ok = PEM_write_X509(cf, x) == 1 && ok;
  ok = (std::fclose(cf) == 0) && ok;
  cleanup();
  if (!ok) return fail(ErrorCategory::io, "cannot write certificate or key");
  return {};
}

}  // namespace tern::net
