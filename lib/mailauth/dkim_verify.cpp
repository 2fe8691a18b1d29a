#include "tern/mailauth/dkim_verify.hpp"

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <map>
#include <memory>

#include <fmt/format.h>

#include "dkim_internal.hpp"
#include "tern/core/base64.hpp"
#include "tern/dns/resolver.hpp"

namespace tern::mailauth {

namespace {

using detail::lower;
using detail::trim_wsp;

constexpr std::size_t kMaxTagList = 16 * 1024;
constexpr std::size_t kMaxTags = 64;
constexpr std::size_t kMaxSignedHeaders = 128;
constexpr std::size_t kMaxKeyRecords = 4;

bool is_fws(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

struct Tag {
  std::string_view name;
  std::string_view value;  // FWS trimmed at both ends
  std::size_t value_begin = 0;  // the span after '=' up to the ';' (or the end), in the tag list
  std::size_t value_end = 0;
};

// RFC 6376 §3.2 tag=value list: tag-spec *( ";" tag-spec ) [ ";" ], names ALPHA *ALNUMPUNC, values of
// VALCHAR with FWS between, no tag twice.
Result<std::vector<Tag>> parse_tag_list(std::string_view text) {
  if (text.size() > kMaxTagList) return fail(ErrorCategory::limit, "the tag list is longer than 16 KiB");
  std::vector<Tag> tags;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    std::size_t semi = text.find(';', pos);
    std::size_t end = semi == std::string_view::npos ? text.size() : semi;
    std::string_view spec = text.substr(pos, end - pos);
    if (trim_wsp(spec).empty()) {
      if (semi == std::string_view::npos && !tags.empty()) break;  // the optional final ";"
      return fail(ErrorCategory::invalid_argument, "empty tag in the tag list");
    }
    std::size_t eq = spec.find('=');
    if (eq == std::string_view::npos)
      return fail(ErrorCategory::invalid_argument, fmt::format("tag without '=': \"{}\"", trim_wsp(spec).substr(0, 40)));
    std::string_view name = trim_wsp(spec.substr(0, eq));
    bool name_ok = !name.empty() && std::isalpha(static_cast<unsigned char>(name[0]));
    for (char c : name) name_ok = name_ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '_');
    if (!name_ok) return fail(ErrorCategory::invalid_argument, "malformed tag name");
    std::string_view value = trim_wsp(spec.substr(eq + 1));
    for (char c : value) {
      auto u = static_cast<unsigned char>(c);
      if (u < 0x21 && !is_fws(c)) return fail(ErrorCategory::invalid_argument, fmt::format("control character in tag {}=", name));
      if (u == 0x7f) return fail(ErrorCategory::invalid_argument, fmt::format("control character in tag {}=", name));
    }
    for (const auto& t : tags)
      if (t.name == name) return fail(ErrorCategory::invalid_argument, fmt::format("tag {}= appears twice", name));
    if (tags.size() == kMaxTags) return fail(ErrorCategory::limit, "more than 64 tags");
    tags.push_back({name, value, pos + eq + 1, end});
    if (semi == std::string_view::npos) break;
    pos = semi + 1;
  }
  return tags;
}

const Tag* find_tag(const std::vector<Tag>& tags, std::string_view name) {
  for (const auto& t : tags)
    if (t.name == name) return &t;
  return nullptr;
}

std::string strip_fws(std::string_view s) {
  std::string out;
  for (char c : s)
    if (!is_fws(c)) out.push_back(c);
  return out;
}

// Colon-separated list with FWS around the elements (h=, q=, key h= s= t=).
std::vector<std::string> colon_list(std::string_view s) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (true) {
    std::size_t c = s.find(':', pos);
    out.push_back(lower(trim_wsp(s.substr(pos, c == std::string_view::npos ? std::string_view::npos : c - pos))));
    if (c == std::string_view::npos) break;
    pos = c + 1;
  }
  return out;
}

template <class T>
bool parse_decimal(std::string_view s, std::size_t max_digits, T& out) {
  if (s.empty() || s.size() > max_digits) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

bool valid_domain(std::string_view d) {
  // LDH labels (underscore tolerated), no empty label; U-label domains (RFC 8616) are not handled.
  if (d.empty() || d.size() > 253 || d.front() == '.' || d.back() == '.') return false;
  char prev = 0;
  for (char c : d) {
    if (c == '.' && prev == '.') return false;
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) return false;
    prev = c;
  }
  return true;
}

std::optional<std::string> decode_b64(std::string_view s) { return base64_decode(strip_fws(s)); }

bool domain_within(std::string_view sub, std::string_view parent) {
  if (sub == parent) return true;
  return sub.size() > parent.size() && sub.ends_with(parent) && sub[sub.size() - parent.size() - 1] == '.';
}

}  // namespace

// ---- parsing --------------------------------------------------------------------------------------

Result<DkimSignature> parse_dkim_signature(std::string_view value) {
  auto tags = parse_tag_list(value);
  if (!tags) return fail(tags.error());
  auto bad = [](std::string msg) { return fail(ErrorCategory::invalid_argument, std::move(msg)); };
  for (const char* required : {"v", "a", "b", "bh", "d", "h", "s"})
    if (!find_tag(*tags, required)) return bad(fmt::format("the signature has no {}= tag (RFC 6376 §3.5)", required));
  DkimSignature sig;
  if (find_tag(*tags, "v")->value != "1") return bad("unknown signature version v= (RFC 6376 §3.5: v=1)");

  sig.algorithm = lower(find_tag(*tags, "a")->value);
  if (sig.algorithm == "rsa-sha256") {
    sig.key_type = DkimKeyType::rsa;
  } else if (sig.algorithm == "ed25519-sha256") {
    sig.key_type = DkimKeyType::ed25519;
  } else if (sig.algorithm == "rsa-sha1") {
    sig.hash = DkimHash::sha1;
  } else {
    return bad("unknown signing algorithm a=" + sig.algorithm.substr(0, 40));
  }

  if (const Tag* c = find_tag(*tags, "c")) {
    std::string v = lower(c->value);
    auto slash = v.find('/');
    auto parse_c = [](std::string_view s, DkimCanonicalization& out) {
      if (s == "simple") out = DkimCanonicalization::simple;
      else if (s == "relaxed") out = DkimCanonicalization::relaxed;
      else return false;
      return true;
    };
    std::string_view hv = std::string_view(v).substr(0, slash);
    bool ok = parse_c(hv, sig.header_canonicalization);
    if (slash != std::string::npos) ok = ok && parse_c(std::string_view(v).substr(slash + 1), sig.body_canonicalization);
    if (!ok) return bad("unknown canonicalization c=" + v.substr(0, 40));
  }

  sig.domain = lower(find_tag(*tags, "d")->value);
  if (!valid_domain(sig.domain)) return bad("d= is not a domain name");
  sig.selector = lower(find_tag(*tags, "s")->value);
  if (!valid_domain(sig.selector)) return bad("s= is not a selector (RFC 6376 §3.1)");

  auto b = decode_b64(find_tag(*tags, "b")->value);
  if (!b || b->empty()) return bad("b= is not base64");
  sig.signature = std::move(*b);
  sig.b_text = strip_fws(find_tag(*tags, "b")->value);
  auto bh = decode_b64(find_tag(*tags, "bh")->value);
  if (!bh || bh->empty()) return bad("bh= is not base64");
  sig.body_hash = std::move(*bh);

  sig.headers = colon_list(find_tag(*tags, "h")->value);
  if (sig.headers.size() > kMaxSignedHeaders) return fail(ErrorCategory::limit, "h= lists more than 128 fields");
  for (const auto& h : sig.headers)
    if (h.empty() || h.find_first_of(" \t\r\n") != std::string::npos) return bad("h= has an empty or malformed name");
  if (std::find(sig.headers.begin(), sig.headers.end(), "from") == sig.headers.end())
    return bad("the From field is not signed (RFC 6376 §6.1.1)");

  if (const Tag* i = find_tag(*tags, "i")) {
    sig.identity = std::string(i->value);
    auto at = sig.identity.rfind('@');
    if (at == std::string::npos) return bad("i= has no '@'");
    if (!domain_within(lower(std::string_view(sig.identity).substr(at + 1)), sig.domain))
      return bad("the i= domain is not d= or a subdomain of it (RFC 6376 §6.1.1)");
  } else {
    sig.identity = "@" + sig.domain;
  }

  if (const Tag* l = find_tag(*tags, "l")) {
    std::uint64_t n = 0;
    if (!parse_decimal(l->value, 76, n)) return bad("l= is not a number this verifier can handle");
    sig.body_length = n;
  }
  if (const Tag* q = find_tag(*tags, "q")) {
    auto methods = colon_list(q->value);
    if (std::find(methods.begin(), methods.end(), "dns/txt") == methods.end()) return bad("q= offers no dns/txt");
  }
  std::int64_t n = 0;
  if (const Tag* t = find_tag(*tags, "t")) {
    if (!parse_decimal(t->value, 12, n)) return bad("t= is not a timestamp");
    sig.timestamp = n;
  }
  if (const Tag* x = find_tag(*tags, "x")) {
    if (!parse_decimal(x->value, 12, n)) return bad("x= is not a timestamp");
    sig.expiration = n;
    if (sig.timestamp && n <= *sig.timestamp) return bad("x= is not after t= (RFC 6376 §3.5)");
  }
  return sig;
}

Result<DkimKeyRecord> parse_dkim_key_record(std::string_view txt) {
  auto tags = parse_tag_list(txt);
  if (!tags) return fail(tags.error());
  auto bad = [](std::string msg) { return fail(ErrorCategory::invalid_argument, std::move(msg)); };
  DkimKeyRecord rec;
  if (const Tag* v = find_tag(*tags, "v")) {
    if (v != &tags->front() || v->value != "DKIM1") return bad("the key record's v= is not DKIM1 first (RFC 6376 §3.6.1)");
  }
  if (const Tag* k = find_tag(*tags, "k")) {
    std::string kt = lower(k->value);
    if (kt == "rsa") rec.key_type = DkimKeyType::rsa;
    else if (kt == "ed25519") rec.key_type = DkimKeyType::ed25519;
    else return bad("unknown key type k=" + kt.substr(0, 40));
  }
  const Tag* p = find_tag(*tags, "p");
  if (!p) return bad("the key record has no p= (RFC 6376 §3.6.1)");
  std::string p_text = strip_fws(p->value);
  if (!p_text.empty()) {
    auto key = base64_decode(p_text);
    if (!key || key->empty()) return bad("the key record's p= is not base64");
    rec.public_key = std::move(*key);
  }
  if (const Tag* h = find_tag(*tags, "h")) rec.hashes = colon_list(h->value);
  rec.services = {"*"};
  if (const Tag* s = find_tag(*tags, "s")) rec.services = colon_list(s->value);
  if (const Tag* t = find_tag(*tags, "t")) {
    for (const auto& flag : colon_list(t->value)) {
      if (flag == "y") rec.testing = true;
      if (flag == "s") rec.strict = true;
    }
  }
  return rec;
}

// ---- verification ---------------------------------------------------------------------------------

std::string_view to_string(DkimResult r) noexcept {
  switch (r) {
    case DkimResult::none: return "none";
    case DkimResult::pass: return "pass";
    case DkimResult::fail: return "fail";
    case DkimResult::neutral: return "neutral";
    case DkimResult::policy: return "policy";
    case DkimResult::temperror: return "temperror";
    case DkimResult::permerror: return "permerror";
  }
  return "neutral";
}

DkimResult DkimVerification::summary() const noexcept {
  if (signatures.empty()) return DkimResult::none;
  for (const auto& s : signatures)
    if (s.result == DkimResult::pass) return DkimResult::pass;
  return signatures.front().result;
}

std::string dkim_key_name(std::string_view domain, std::string_view selector) {
  return fmt::format("{}._domainkey.{}", selector, domain);
}

namespace {

struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

// RSA p= is a SubjectPublicKeyInfo in practice (RFC 6376 §3.6.1 names RSAPublicKey; both are accepted);
// Ed25519 p= is the raw 32-octet key (RFC 8463 §4.2).
Pkey public_key(const DkimKeyRecord& rec) {
  const auto* der = reinterpret_cast<const unsigned char*>(rec.public_key.data());
  auto len = static_cast<long>(rec.public_key.size());
  if (rec.key_type == DkimKeyType::ed25519) {
    if (rec.public_key.size() != 32) return nullptr;
    return Pkey(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, der, 32));
  }
  const unsigned char* p = der;
  Pkey k(d2i_PUBKEY(nullptr, &p, len));
  if (k && (EVP_PKEY_get_base_id(k.get()) != EVP_PKEY_RSA || p != der + len)) k.reset();
  if (!k) {
    p = der;
    k.reset(d2i_PublicKey(EVP_PKEY_RSA, nullptr, &p, len));
    if (k && p != der + len) k.reset();
  }
  return k;
}

// The DKIM-Signature value with the b= value (and the FWS around it) removed (RFC 6376 §3.7).
std::string without_b_value(std::string_view value) {
  auto tags = parse_tag_list(value);
  if (!tags) return std::string(value);
  const Tag* b = find_tag(*tags, "b");
  if (!b) return std::string(value);
  return std::string(value.substr(0, b->value_begin)) + std::string(value.substr(b->value_end));
}

class Verifier {
 public:
  Verifier(std::string_view message, const DkimKeyLookup& lookup, std::int64_t now, const DkimVerifyOptions& options)
      : message_(message), lookup_(lookup), now_(now), options_(options) {
    fields_ = detail::header_fields(message, body_start_);
  }

  DkimVerification run() {
    DkimVerification out;
    for (const auto& f : fields_) {
      if (detail::field_key(f) != "dkim-signature") continue;
      if (out.signatures.size() == options_.max_signatures) {
        ++out.skipped;
        continue;
      }
      out.signatures.push_back(verify_one(f));
    }
    return out;
  }

 private:
  DkimSignatureResult verify_one(const detail::Field& field) {
    DkimSignatureResult r;
    auto done = [&](DkimResult result, std::string reason) {
      r.result = result;
      r.reason = std::move(reason);
      return r;
    };
    auto parsed = parse_dkim_signature(field.value);
    if (!parsed) return done(DkimResult::neutral, parsed.error().message);
    const DkimSignature& sig = *parsed;
    r.domain = sig.domain;
    r.selector = sig.selector;
    r.identity = sig.identity;
    r.algorithm = sig.algorithm;
    r.b_text = sig.b_text;
    r.body_length = sig.body_length;

    if (sig.hash == DkimHash::sha1 && !options_.accept_rsa_sha1)
      return done(DkimResult::fail, "rsa-sha1 signatures are not valid (RFC 8301 §3.1)");
    if (sig.expiration && *sig.expiration + options_.clock_skew < now_)
      return done(DkimResult::neutral, "the signature has expired (x=)");
    if (sig.timestamp && *sig.timestamp > now_ + options_.clock_skew)
      return done(DkimResult::neutral, "the signature timestamp t= is in the future");

    // The key (RFC 6376 §6.1.2).
    auto records = lookup_(sig.domain, sig.selector);
    if (!records) {
      if (records.error().category == ErrorCategory::not_found)
        return done(DkimResult::permerror, "no key for the signature at " + dkim_key_name(sig.domain, sig.selector));
      return done(DkimResult::temperror, "key lookup failed: " + records.error().message);
    }
    if (records->empty())
      return done(DkimResult::permerror, "no key for the signature at " + dkim_key_name(sig.domain, sig.selector));
    Result<DkimKeyRecord> rec = fail(ErrorCategory::invalid_argument, "no key record");
    for (std::size_t i = 0; i < records->size() && i < kMaxKeyRecords; ++i) {
      auto candidate = parse_dkim_key_record((*records)[i]);
      if (candidate || i == 0) rec = std::move(candidate);
      if (rec) break;
    }
    if (!rec) return done(DkimResult::permerror, "key record: " + rec.error().message);
    r.testing = rec->testing;
    if (rec->revoked()) return done(DkimResult::permerror, "the key has been revoked (empty p=)");
    if (rec->key_type != sig.key_type) return done(DkimResult::permerror, "the key type k= does not match a=");
    std::string hash_name = sig.hash == DkimHash::sha1 ? "sha1" : "sha256";
    if (!rec->hashes.empty() && std::find(rec->hashes.begin(), rec->hashes.end(), hash_name) == rec->hashes.end())
      return done(DkimResult::permerror, "the key record's h= does not allow " + hash_name);
    bool email = std::any_of(rec->services.begin(), rec->services.end(),
                             [](const std::string& s) { return s == "*" || s == "email"; });
    if (!email) return done(DkimResult::permerror, "the key is not for email (s=)");
    if (rec->strict && lower(sig.identity.substr(sig.identity.rfind('@') + 1)) != sig.domain)
      return done(DkimResult::permerror, "the key requires the i= domain to be d= exactly (t=s)");
    Pkey key = public_key(*rec);
    if (!key) return done(DkimResult::permerror, "the key record's p= is not a valid public key");
    auto bits = static_cast<unsigned>(EVP_PKEY_get_bits(key.get()));
    r.key_bits = bits;
    if (sig.key_type == DkimKeyType::rsa && bits < options_.min_rsa_bits)
      return done(DkimResult::fail, fmt::format("a {}-bit RSA key is too short (RFC 8301 §3.2)", bits));
    if (sig.key_type == DkimKeyType::rsa && bits > options_.max_rsa_bits)
      return done(DkimResult::neutral, fmt::format("a {}-bit RSA key is longer than this verifier accepts", bits));

    // The body hash (RFC 6376 §3.7), with l= honoured.
    const std::string& body = canonical_body(sig.body_canonicalization);
    std::string_view signed_body = body;
    if (sig.body_length) {
      if (*sig.body_length > body.size())
        return done(DkimResult::fail, "l= is longer than the body (RFC 6376 §6.1.3)");
      signed_body = signed_body.substr(0, static_cast<std::size_t>(*sig.body_length));
      r.unsigned_octets = body.size() - signed_body.size();
    }
    if (detail::digest(sig.hash, signed_body) != sig.body_hash) return done(DkimResult::fail, "body hash did not verify");

    // The header hash: the h= fields bottom-up, then this field without its b= value and final CRLF.
    std::string data = detail::signed_header_data(fields_, sig.headers, sig.header_canonicalization) +
                       canonical_header(sig.header_canonicalization, field.name, without_b_value(field.value));
    if (!detail::verify_data(key.get(), sig.key_type, sig.hash, data, sig.signature))
      return done(DkimResult::fail, "signature did not verify");
    return done(DkimResult::pass, "");
  }

  const std::string& canonical_body(DkimCanonicalization c) {
    auto& cache = c == DkimCanonicalization::relaxed ? relaxed_ : simple_;
    if (!cache) cache = mailauth::canonical_body(c, message_.substr(std::min(body_start_, message_.size())));
    return *cache;
  }

  std::string_view message_;
  const DkimKeyLookup& lookup_;
  std::int64_t now_;
  const DkimVerifyOptions& options_;
  std::size_t body_start_ = 0;
  std::vector<detail::Field> fields_;
  std::optional<std::string> relaxed_, simple_;
};

}  // namespace

DkimVerification verify_dkim(std::string_view message, const DkimKeyLookup& lookup, std::int64_t now,
                             const DkimVerifyOptions& options) {
  return Verifier(message, lookup, now, options).run();
}

std::vector<std::string> dkim_key_queries(std::string_view message, std::int64_t now, const DkimVerifyOptions& options) {
  // Exactly the names verification asks for: run it with a lookup that records and stops there.
  std::vector<std::string> names;
  DkimKeyLookup record = [&](std::string_view domain, std::string_view selector) -> Result<std::vector<std::string>> {
    std::string name = dkim_key_name(domain, selector);
    if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(std::move(name));
    return fail(ErrorCategory::temporary, "not fetched");
  };
  (void)verify_dkim(message, record, now, options);
  return names;
}

asio::awaitable<DkimVerification> verify_dkim_async(dns::Resolver& resolver, const std::string_view& message,
                                                    std::int64_t now, const DkimVerifyOptions& options) {
  std::map<std::string, Result<std::vector<std::string>>, std::less<>> answers;
  std::vector<std::string> names = dkim_key_queries(message, now, options);
  for (const auto& name : names) {
    auto answer = co_await resolver.txt(name);
    if (answer) {
      answers.emplace(name, std::move(answer->records));
    } else if (answer.error().category == ErrorCategory::not_found) {
      answers.emplace(name, fail(ErrorCategory::not_found, answer.error().message));
    } else {
      answers.emplace(name, fail(ErrorCategory::temporary, answer.error().message));
    }
  }
  DkimKeyLookup lookup = [&](std::string_view domain, std::string_view selector) -> Result<std::vector<std::string>> {
    auto it = answers.find(dkim_key_name(domain, selector));
    if (it == answers.end()) return fail(ErrorCategory::temporary, "the key was not fetched");
    return it->second;
  };
  co_return verify_dkim(message, lookup, now, options);
}

// ---- Authentication-Results -----------------------------------------------------------------------

namespace {

// RFC 8601 §2.2 value: a token when it is one (RFC 2045 §5.1), else a quoted-string.
std::string ar_value(std::string_view v) {
  bool token = !v.empty();
  for (char c : v) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f || std::string_view("()<>@,;:\\\"/[]?=").find(c) != std::string_view::npos) token = false;
  }
  if (token) return std::string(v);
  // Folding whitespace goes; other control and 8-bit octets (they may come from a hostile field) become '?'.
  std::string out = "\"";
  for (char c : v) {
    auto u = static_cast<unsigned char>(c);
    if (c == '\r' || c == '\n') continue;
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(u == '\t' ? ' ' : (u < 0x20 || u >= 0x7f) ? '?' : c);
  }
  return out + "\"";
}

// pvalue of header.i: a local-part@domain or @domain is allowed as is (RFC 8601 §2.2 pvalue).
std::string ar_pvalue(std::string_view v) {
  bool plain = !v.empty();
  for (char c : v) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f || std::string_view("()<>,;:\\\"[]").find(c) != std::string_view::npos) plain = false;
  }
  return plain ? std::string(v) : ar_value(v);
}

}  // namespace

std::vector<std::string> dkim_authentication_results(const DkimVerification& v) {
  if (v.signatures.empty()) return {"dkim=none"};
  std::vector<std::string> out;
  for (const auto& s : v.signatures) {
    std::string r = fmt::format("dkim={}", to_string(s.result));
    if (s.key_bits && s.algorithm != "ed25519-sha256") r += fmt::format(" ({}-bit key)", s.key_bits);
    if (!s.reason.empty()) r += " reason=" + ar_value(s.reason);
    if (!s.domain.empty()) {
      r += " header.d=" + s.domain + " header.i=" + ar_pvalue(s.identity) + " header.s=" + ar_value(s.selector) +
           " header.a=" + s.algorithm;
    }
    if (!s.b_text.empty()) {
      // RFC 6008 §4: at least 8 characters, more when another signature starts the same way.
      std::size_t n = 8;
      for (const auto& other : v.signatures) {
        if (&other == &s) continue;
        std::size_t common = 0;
        while (common < s.b_text.size() && common < other.b_text.size() && s.b_text[common] == other.b_text[common])
          ++common;
        n = std::max(n, common + 1);
      }
      r += " header.b=" + ar_value(s.b_text.substr(0, std::min(n, s.b_text.size())));
    }
    out.push_back(std::move(r));
  }
  return out;
}

std::string authentication_results_field(std::string_view authserv_id, const std::vector<std::string>& resinfos) {
  std::string out = "Authentication-Results: " + std::string(authserv_id) + ";";
  if (resinfos.empty()) return out + " none\r\n";
  for (std::size_t i = 0; i < resinfos.size(); ++i) out += (i ? ";\r\n\t" : "\r\n\t") + resinfos[i];
  return out + "\r\n";
}

}  // namespace tern::mailauth
