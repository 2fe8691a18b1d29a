#include "tern/mailauth/dkim.hpp"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <map>
#include <sstream>

#include <fmt/format.h>

#include "tern/core/base64.hpp"
#include "tern/core/durable_file.hpp"
#include "dkim_internal.hpp"

namespace tern::mailauth {

namespace detail {

bool is_wsp(char c) noexcept { return c == ' ' || c == '\t'; }

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim_wsp(std::string_view s) {
  auto fws = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!s.empty() && fws(s.front())) s.remove_prefix(1);
  while (!s.empty() && fws(s.back())) s.remove_suffix(1);
  return s;
}

std::vector<Field> header_fields(std::string_view msg, std::size_t& body_start) {
  std::vector<Field> out;
  std::size_t pos = 0;
  body_start = msg.size();
  while (pos < msg.size()) {
    std::size_t eol = msg.find('\n', pos);
    std::size_t line_end = eol == std::string_view::npos ? msg.size() : eol;
    std::size_t content_end = line_end > pos && msg[line_end - 1] == '\r' ? line_end - 1 : line_end;
    std::size_t next = eol == std::string_view::npos ? msg.size() : eol + 1;
    if (content_end == pos) {  // the empty line
      body_start = next;
      return out;
    }
    if (is_wsp(msg[pos]) && !out.empty()) {
      // continuation: extend the previous field's value to the end of this line
      const char* start = out.back().value.data();
      out.back().value = std::string_view(start, static_cast<std::size_t>(msg.data() + content_end - start));
    } else {
      auto colon = msg.find(':', pos);
      if (colon != std::string_view::npos && colon < content_end)
        out.push_back({msg.substr(pos, colon - pos), msg.substr(colon + 1, content_end - colon - 1)});
    }
    pos = next;
  }
  return out;
}

std::string field_key(const Field& f) {
  std::string_view n = f.name;
  while (!n.empty() && is_wsp(n.back())) n.remove_suffix(1);
  return lower(n);
}

std::string signed_header_data(const std::vector<Field>& fields, const std::vector<std::string>& h,
                               DkimCanonicalization c) {
  // One pass over the fields collects the instances of each wanted name (top to bottom); each h= entry
  // then takes the last one left. Linear in the fields, however long h= and the header are.
  std::map<std::string_view, std::vector<std::size_t>> instances;
  for (const auto& name : h) instances[name];
  for (std::size_t i = 0; i < fields.size(); ++i) {
    auto it = instances.find(field_key(fields[i]));
    if (it != instances.end()) it->second.push_back(i);
  }
  std::string out;
  for (const auto& name : h) {
    auto& left = instances[name];
    if (left.empty()) continue;  // a null instance (RFC 6376 §5.4.2)
    const Field& f = fields[left.back()];
    left.pop_back();
    out += canonical_header(c, f.name, f.value) + "\r\n";
  }
  return out;
}

std::string digest(DkimHash hash, std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, hash == DkimHash::sha1 ? EVP_sha1() : EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<const char*>(md), len);
}

namespace {

// What the key signs: RSA hashes the data itself (EVP_DigestSign with the digest); Ed25519 (PureEdDSA)
// signs the SHA-256 of the data (RFC 8463 §3), so no digest is given to OpenSSL.
struct CryptoInput {
  const EVP_MD* md = nullptr;
  std::string data;
};

CryptoInput crypto_input(DkimKeyType type, DkimHash hash, std::string_view data) {
  if (type == DkimKeyType::ed25519) return {nullptr, digest(DkimHash::sha256, data)};
  return {hash == DkimHash::sha1 ? EVP_sha1() : EVP_sha256(), std::string(data)};
}

const unsigned char* bytes(std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }

}  // namespace

Result<std::string> sign_data(EVP_PKEY* key, DkimKeyType type, std::string_view data) {
  CryptoInput in = crypto_input(type, DkimHash::sha256, data);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  std::string sig;
  size_t len = 0;
  bool ok = EVP_DigestSignInit(ctx, nullptr, in.md, nullptr, key) == 1 &&
            EVP_DigestSign(ctx, nullptr, &len, bytes(in.data), in.data.size()) == 1;
  if (ok) {
    sig.resize(len);
    ok = EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len, bytes(in.data), in.data.size()) == 1;
    sig.resize(len);
  }
  EVP_MD_CTX_free(ctx);
  if (!ok) return fail(ErrorCategory::internal, "DKIM signing failed in OpenSSL");
  return sig;
}

bool verify_data(EVP_PKEY* key, DkimKeyType type, DkimHash hash, std::string_view data, std::string_view sig) {
  CryptoInput in = crypto_input(type, hash, data);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  bool ok = EVP_DigestVerifyInit(ctx, nullptr, in.md, nullptr, key) == 1 &&
            EVP_DigestVerify(ctx, bytes(sig), sig.size(), bytes(in.data), in.data.size()) == 1;
  EVP_MD_CTX_free(ctx);
  return ok;
}

}  // namespace detail

namespace {

using detail::is_wsp;
using detail::lower;

std::string fold_list(std::string_view prefix, std::string_view value, char sep) {
  // Folds "prefix value" at `sep` so continuation lines stay under ~76 columns (RFC 5322 §2.2.3).
  std::string out(prefix);
  std::size_t col = out.size() + 1;  // after the tab
  std::size_t pos = 0;
  while (pos < value.size()) {
    std::size_t next = value.find(sep, pos);
    std::size_t end = next == std::string_view::npos ? value.size() : next + 1;
    std::string_view piece = value.substr(pos, end - pos);
    if (col + piece.size() > 76 && col > 8) {
      out += "\r\n\t";
      col = 8;
    }
    out += piece;
    col += piece.size();
    pos = end;
  }
  return out;
}

// What both body canonicalisations share: each line (ending in CRLF or a bare LF) rewritten by `rewrite`
// (content in, line out), empty lines at the end dropped, every line kept ending in CRLF.
template <class Rewrite>
std::string body_lines(std::string_view body, Rewrite rewrite) {
  std::string out, line;
  out.reserve(body.size() + 2);
  std::size_t pending_empty = 0;
  std::size_t pos = 0;
  while (pos < body.size()) {
    std::size_t eol = body.find('\n', pos);
    std::size_t end = eol == std::string_view::npos ? body.size() : eol;
    std::size_t content_end = end > pos && body[end - 1] == '\r' ? end - 1 : end;
    line.clear();
    rewrite(body.substr(pos, content_end - pos), line);
    if (line.empty()) {
      ++pending_empty;
    } else {
      for (; pending_empty; --pending_empty) out += "\r\n";
      out += line;
      out += "\r\n";
    }
    pos = eol == std::string_view::npos ? body.size() : eol + 1;
  }
  return out;
}

}  // namespace

std::string_view to_string(DkimAlgorithm a) noexcept {
  return a == DkimAlgorithm::ed25519_sha256 ? "ed25519-sha256" : "rsa-sha256";
}

std::string_view to_string(DkimCanonicalization c) noexcept {
  return c == DkimCanonicalization::relaxed ? "relaxed" : "simple";
}

std::string relaxed_header(std::string_view name, std::string_view value) {
  // RFC 6376 §3.4.2: lower-case name, unfold, runs of WSP to one SP, no WSP at either end of the value.
  std::string out = lower(name);
  while (!out.empty() && is_wsp(out.back())) out.pop_back();
  out.push_back(':');
  bool pending_space = false, started = false;
  for (char c : value) {
    if (c == '\r' || c == '\n') continue;
    if (is_wsp(c)) {
      pending_space = started;
      continue;
    }
    if (pending_space) out.push_back(' ');
    pending_space = false;
    started = true;
    out.push_back(c);
  }
  return out;
}

std::string relaxed_body(std::string_view body) {
  // RFC 6376 §3.4.4: per line, WSP runs to one SP and none at the end; no empty lines at the end; a
  // non-empty body ends with CRLF.
  return body_lines(body, [](std::string_view content, std::string& line) {
    bool space = false;
    for (char c : content) {
      if (is_wsp(c)) {
        space = true;
        continue;
      }
      if (space) line.push_back(' ');
      space = false;
      line.push_back(c);
    }
  });
}

std::string simple_header(std::string_view name, std::string_view value) {
  // RFC 6376 §3.4.1: no change at all (a bare LF of a continuation line is taken as the CRLF it stands for).
  std::string out(name);
  out.push_back(':');
  out.reserve(out.size() + value.size() + 4);
  for (std::size_t i = 0; i < value.size(); ++i) {
    if (value[i] == '\n' && (i == 0 || value[i - 1] != '\r')) out.push_back('\r');
    out.push_back(value[i]);
  }
  return out;
}

std::string simple_body(std::string_view body) {
  // RFC 6376 §3.4.3: lines unchanged, no empty lines at the end, a final CRLF; an empty body is one CRLF.
  std::string out = body_lines(body, [](std::string_view content, std::string& line) { line.assign(content); });
  if (out.empty()) out = "\r\n";
  return out;
}

std::string canonical_header(DkimCanonicalization c, std::string_view name, std::string_view value) {
  return c == DkimCanonicalization::relaxed ? relaxed_header(name, value) : simple_header(name, value);
}

std::string canonical_body(DkimCanonicalization c, std::string_view body) {
  return c == DkimCanonicalization::relaxed ? relaxed_body(body) : simple_body(body);
}

// ---- keys -----------------------------------------------------------------------------------------

DkimKey::~DkimKey() {
  if (key_) EVP_PKEY_free(static_cast<EVP_PKEY*>(key_));
}
DkimKey::DkimKey(DkimKey&& o) noexcept : key_(o.key_), algorithm_(o.algorithm_) { o.key_ = nullptr; }
DkimKey& DkimKey::operator=(DkimKey&& o) noexcept {
  std::swap(key_, o.key_);
  algorithm_ = o.algorithm_;
  return *this;
}

Result<DkimKey> DkimKey::generate(DkimAlgorithm algorithm, unsigned bits) {
  EVP_PKEY* k = nullptr;
  if (algorithm == DkimAlgorithm::rsa_sha256) {
    if (bits < 1024 || bits > 4096) return fail(ErrorCategory::invalid_argument, "RSA keys for DKIM are 1024 to 4096 bits (RFC 8301)");
    k = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(bits));
  } else {
    k = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  }
  if (!k) return fail(ErrorCategory::internal, "key generation failed");
  return DkimKey(k, algorithm);
}

Result<DkimKey> DkimKey::from_pem(std::string_view pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  EVP_PKEY* k = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (!k) return fail(ErrorCategory::invalid_argument, "not a PEM private key");
  int id = EVP_PKEY_get_base_id(k);
  if (id == EVP_PKEY_ED25519) return DkimKey(k, DkimAlgorithm::ed25519_sha256);
  if (id == EVP_PKEY_RSA) return DkimKey(k, DkimAlgorithm::rsa_sha256);
  EVP_PKEY_free(k);
  return fail(ErrorCategory::invalid_argument, "DKIM keys are RSA or Ed25519 (RFC 6376, RFC 8463)");
}

Result<DkimKey> DkimKey::from_ed25519_seed(std::string_view seed) {
  if (seed.size() != 32) return fail(ErrorCategory::invalid_argument, "an Ed25519 seed is 32 octets (RFC 8032 §5.1.5)");
  EVP_PKEY* k = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr,
                                             reinterpret_cast<const unsigned char*>(seed.data()), seed.size());
  if (!k) return fail(ErrorCategory::internal, "OpenSSL refused the Ed25519 seed");
  return DkimKey(k, DkimAlgorithm::ed25519_sha256);
}

Result<DkimKey> DkimKey::load_pem(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return fail_errno("open " + file.string(), errno);
  std::stringstream ss;
  ss << in.rdbuf();
  auto key = from_pem(ss.str());
  if (!key) return fail(key.error().category, file.string() + ": " + key.error().message);
  return key;
}

Status DkimKey::save_pem(const std::filesystem::path& file) const {
  BIO* bio = BIO_new(BIO_s_mem());
  if (PEM_write_bio_PrivateKey(bio, static_cast<EVP_PKEY*>(key_), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    BIO_free(bio);
    return fail(ErrorCategory::internal, "could not encode the key");
  }
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<std::size_t>(len));
  BIO_free(bio);
  return write_file_durably(file, pem, 0600);
}

std::string DkimKey::dns_record() const {
  auto* k = static_cast<EVP_PKEY*>(key_);
  std::string p;
  if (algorithm_ == DkimAlgorithm::ed25519_sha256) {
    unsigned char raw[32];
    size_t len = sizeof raw;
    if (EVP_PKEY_get_raw_public_key(k, raw, &len) == 1) p.assign(reinterpret_cast<char*>(raw), len);
    return "v=DKIM1; k=ed25519; p=" + base64_encode(p);  // RFC 8463 §4.2: the raw 32-octet key
  }
  unsigned char* der = nullptr;
  int len = i2d_PUBKEY(k, &der);
  if (len > 0) p.assign(reinterpret_cast<char*>(der), static_cast<std::size_t>(len));
  OPENSSL_free(der);
  return "v=DKIM1; k=rsa; p=" + base64_encode(p);
}

// ---- signing --------------------------------------------------------------------------------------

DkimSigner::DkimSigner(std::shared_ptr<const DkimKey> key, DkimSignOptions options)
    : key_(std::move(key)), options_(std::move(options)) {}

Result<std::string> DkimSigner::sign(std::string_view message, std::int64_t now) const {
  std::size_t body_start = 0;
  auto fields = detail::header_fields(message, body_start);
  std::string body = canonical_body(options_.body_canonicalization, message.substr(std::min(body_start, message.size())));
  std::string bh = base64_encode(detail::digest(DkimHash::sha256, body));

  // h=: each listed field as often as it occurs (signed bottom-up, RFC 6376 §5.4.2), oversigned ones once more.
  std::vector<std::string> h;
  for (const auto& want : options_.headers) {
    std::string name = lower(want);
    for (const auto& f : fields)
      if (detail::field_key(f) == name) h.push_back(name);
    bool over = std::any_of(options_.oversign.begin(), options_.oversign.end(),
                            [&](const std::string& o) { return lower(o) == name; });
    if (over) h.push_back(name);  // a null instance: nothing is added to the signed data
  }
  bool has_from = std::any_of(fields.begin(), fields.end(), [](const detail::Field& f) { return detail::field_key(f) == "from"; });
  if (!has_from)
    return fail(ErrorCategory::invalid_argument, "a message without a From field cannot be DKIM-signed (RFC 6376 §5.4)");
  std::string h_list;
  for (std::size_t i = 0; i < h.size(); ++i) h_list += (i ? ":" : "") + h[i];

  std::string value = fmt::format(" v=1; a={}; c={}/{};\r\n\td={}; s={}; t={};", to_string(key_->algorithm()),
                                  to_string(options_.header_canonicalization), to_string(options_.body_canonicalization),
                                  options_.domain, options_.selector, now);
  if (options_.expire_after > 0) value += fmt::format(" x={};", now + options_.expire_after);
  value += "\r\n\t" + fold_list("h=", h_list, ':') + ";\r\n\tbh=" + bh + ";\r\n\tb=";
  std::string data = detail::signed_header_data(fields, h, options_.header_canonicalization) +
                     canonical_header(options_.header_canonicalization, "DKIM-Signature", value);

  auto type = key_->algorithm() == DkimAlgorithm::ed25519_sha256 ? DkimKeyType::ed25519 : DkimKeyType::rsa;
  auto sig = detail::sign_data(static_cast<EVP_PKEY*>(key_->native()), type, data);
  if (!sig) return fail(sig.error());
  std::string b = base64_encode(*sig);
  std::string out = "DKIM-Signature:" + value;
  for (std::size_t i = 0; i < b.size(); i += 70) {
    if (i) out += "\r\n\t ";
    out += b.substr(i, 70);
  }
  return out + "\r\n";
}

}  // namespace tern::mailauth
