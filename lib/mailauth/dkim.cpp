#include "tern/mailauth/dkim.hpp"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "tern/core/base64.hpp"
#include "tern/core/durable_file.hpp"

namespace tern::mailauth {

namespace {

bool is_wsp(char c) { return c == ' ' || c == '\t'; }

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

struct Field {
  std::string_view name;
  std::string_view value;  // after the colon, folding included, without the final CRLF
};

// The header fields (RFC 5322 §2.2) and where the body starts. Lines end in CRLF (a bare LF is accepted).
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

std::string sha256(std::string_view data) {
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), md);
  return std::string(reinterpret_cast<const char*>(md), sizeof md);
}

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

}  // namespace

std::string_view to_string(DkimAlgorithm a) noexcept {
  return a == DkimAlgorithm::ed25519_sha256 ? "ed25519-sha256" : "rsa-sha256";
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
  std::string out;
  out.reserve(body.size());
  std::size_t pending_empty = 0;
  std::size_t pos = 0;
  while (pos < body.size()) {
    std::size_t eol = body.find('\n', pos);
    std::size_t end = eol == std::string_view::npos ? body.size() : eol;
    std::size_t content_end = end > pos && body[end - 1] == '\r' ? end - 1 : end;
    std::string line;
    bool space = false;
    for (std::size_t i = pos; i < content_end; ++i) {
      char c = body[i];
      if (is_wsp(c)) {
        space = true;
        continue;
      }
      if (space) line.push_back(' ');
      space = false;
      line.push_back(c);
    }
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
  auto fields = header_fields(message, body_start);
  std::string bh = base64_encode(sha256(relaxed_body(message.substr(std::min(body_start, message.size())))));

  // h=: each listed field as often as it occurs (signed bottom-up, RFC 6376 §5.4.2), oversigned ones once more.
  std::vector<std::string> h;
  std::string signed_headers;
  for (const auto& want : options_.headers) {
    std::string name = lower(want);
    std::vector<const Field*> found;
    for (const auto& f : fields)
      if (lower(f.name) == name) found.push_back(&f);
    for (auto it = found.rbegin(); it != found.rend(); ++it) {
      h.push_back(name);
      signed_headers += relaxed_header((*it)->name, (*it)->value) + "\r\n";
    }
    bool over = std::any_of(options_.oversign.begin(), options_.oversign.end(),
                            [&](const std::string& o) { return lower(o) == name; });
    if (over) h.push_back(name);  // a null instance: nothing is added to the signed data
  }
  bool has_from = std::any_of(fields.begin(), fields.end(), [](const Field& f) { return lower(f.name) == "from"; });
  if (!has_from)
    return fail(ErrorCategory::invalid_argument, "a message without a From field cannot be DKIM-signed (RFC 6376 §5.4)");
  std::string h_list;
  for (std::size_t i = 0; i < h.size(); ++i) h_list += (i ? ":" : "") + h[i];

  std::string value = fmt::format(" v=1; a={}; c=relaxed/relaxed;\r\n\td={}; s={}; t={};", to_string(key_->algorithm()),
                                  options_.domain, options_.selector, now);
  if (options_.expire_after > 0) value += fmt::format(" x={};", now + options_.expire_after);
  value += "\r\n\t" + fold_list("h=", h_list, ':') + ";\r\n\tbh=" + bh + ";\r\n\tb=";
  std::string data = signed_headers + relaxed_header("DKIM-Signature", value);

  auto* pkey = static_cast<EVP_PKEY*>(key_->native());
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  std::string input = data;
  const EVP_MD* md = EVP_sha256();
  if (key_->algorithm() == DkimAlgorithm::ed25519_sha256) {
    input = sha256(data);  // RFC 8463 §3: Ed25519 (PureEdDSA) over the SHA-256 hash
    md = nullptr;
  }
  std::string sig;
  size_t len = 0;
  bool ok = EVP_DigestSignInit(ctx, nullptr, md, nullptr, pkey) == 1 &&
            EVP_DigestSign(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1;
  if (ok) {
    sig.resize(len);
    ok = EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len,
                        reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1;
    sig.resize(len);
  }
  EVP_MD_CTX_free(ctx);
  if (!ok) return fail(ErrorCategory::internal, "DKIM signing failed in OpenSSL");
  std::string b = base64_encode(sig);
  std::string out = "DKIM-Signature:" + value;
  for (std::size_t i = 0; i < b.size(); i += 70) {
    if (i) out += "\r\n\t ";
    out += b.substr(i, 70);
  }
  return out + "\r\n";
}

}  // namespace tern::mailauth
