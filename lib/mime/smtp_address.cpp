// RFC 5321 §4.1.2-4.1.3 mailboxes and paths, RFC 6531 UTF-8 addresses, IDNA via libidn2.
#include "tern/mime/smtp_address.hpp"

#include <arpa/inet.h>
#include <idn2.h>

#include <cstdlib>

#include "tern/mime/codec.hpp"

namespace tern::mime {

namespace {

constexpr std::size_t kMaxLocal = 64;    // RFC 5321 §4.5.3.1.1
constexpr std::size_t kMaxDomain = 255;  // RFC 5321 §4.5.3.1.2
constexpr std::size_t kMaxPath = 256;    // RFC 5321 §4.5.3.1.3
constexpr std::size_t kMaxLabel = 63;    // RFC 1035 §2.3.4

bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_high(char c) { return static_cast<unsigned char>(c) >= 0x80; }

// RFC 5322 §3.2.3 atext (RFC 5321 §4.1.2 Atom), plus UTF8-non-ascii (RFC 6531 §3.3).
bool is_atext(char c, bool utf8) {
  if (is_alpha(c) || is_digit(c)) return true;
  if (is_high(c)) return utf8;
  return std::string_view("!#$%&'*+-/=?^_`{|}~").find(c) != std::string_view::npos;
}

std::string lower(std::string_view s) {
  std::string r(s);
  for (auto& c : r)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return r;
}

bool iequal(std::string_view a, std::string_view b) { return lower(a) == lower(b); }

bool has_high(std::string_view s) {
  for (char c : s)
    if (is_high(c)) return true;
  return false;
}

// Local-part at s[i] up to '@' (exclusive). Dot-string or Quoted-string (RFC 5321 §4.1.2).
AddressError parse_local(std::string_view s, std::size_t& i, bool utf8, std::string& out) {
  const std::size_t start = i;
  if (i < s.size() && s[i] == '"') {
    ++i;
    for (;;) {
      if (i >= s.size()) return AddressError::syntax;
      char c = s[i];
      if (c == '"') { ++i; break; }
      if (c == '\\') {  // quoted-pairSMTP = %d92 %d32-126
        if (i + 1 >= s.size() || s[i + 1] < 32 || s[i + 1] > 126) return AddressError::syntax;
        out += s[i + 1];
        i += 2;
        continue;
      }
      if (is_high(c)) {
        if (!utf8) return AddressError::utf8_not_allowed;
      } else if (c < 32 || c > 126) {  // qtextSMTP = %d32-33 / %d35-91 / %d93-126
        return AddressError::syntax;
      }
      out += c;
      ++i;
    }
  } else {
    bool need_atom = true;
    while (i < s.size() && s[i] != '@') {
      char c = s[i];
      if (c == '.') {
        if (need_atom) return AddressError::syntax;
        need_atom = true;
      } else if (is_atext(c, true)) {
        if (is_high(c) && !utf8) return AddressError::utf8_not_allowed;
        need_atom = false;
      } else {
        return AddressError::syntax;
      }
      out += c;
      ++i;
    }
    if (need_atom) return AddressError::syntax;
  }
  if (i - start > kMaxLocal) return AddressError::too_long;
  return AddressError::none;
}

bool valid_ipv4(std::string_view s) {  // IPv4-address-literal = Snum 3("." Snum)
  int parts = 0;
  std::size_t i = 0;
  while (true) {
    std::size_t b = i;
    int v = 0;
    while (i < s.size() && is_digit(s[i]) && i - b < 3) v = v * 10 + (s[i++] - '0');
    if (i == b || v > 255) return false;
    ++parts;
    if (i == s.size()) break;
    if (s[i] != '.' || parts == 4) return false;
    ++i;
  }
  return parts == 4;
}

// Domain or address-literal at s[i] up to `end`.
AddressError parse_domain(std::string_view s, std::size_t& i, std::size_t end, bool utf8, SmtpMailbox& m) {
  std::string_view d = s.substr(i, end - i);
  if (d.empty()) return AddressError::syntax;
  if (d.size() > kMaxDomain) return AddressError::too_long;
  if (d.front() == '[') {
    if (d.back() != ']' || d.size() < 3) return AddressError::syntax;
    std::string_view lit = d.substr(1, d.size() - 2);
    if (lit.size() >= 5 && iequal(lit.substr(0, 5), "IPv6:")) {
      for (char c : lit.substr(5))  // inet_pton would stop at a NUL: check the characters first
        if (!is_digit(c) && !((c | 0x20) >= 'a' && (c | 0x20) <= 'f') && c != ':' && c != '.') return AddressError::bad_literal;
      in6_addr a{};
      if (inet_pton(AF_INET6, std::string(lit.substr(5)).c_str(), &a) != 1) return AddressError::bad_literal;
      m.kind = DomainKind::ipv6;
    } else if (std::size_t colon = lit.find(':'); colon != std::string_view::npos) {
      // General-address-literal = Standardized-tag ":" 1*dcontent
      std::string_view tag = lit.substr(0, colon), content = lit.substr(colon + 1);
      if (tag.empty() || content.empty() || tag.back() == '-') return AddressError::syntax;
      for (char c : tag)
        if (!is_alpha(c) && !is_digit(c) && c != '-') return AddressError::syntax;
      for (char c : content)
        if (c < 33 || c > 126 || c == '[' || c == '\\' || c == ']') return AddressError::syntax;
      m.kind = DomainKind::general;
    } else {
      if (!valid_ipv4(lit)) return AddressError::bad_literal;
      m.kind = DomainKind::ipv4;
    }
    m.domain = std::string(d);
    i = end;
    return AddressError::none;
  }
  // sub-domain = Let-dig [Ldh-str], or a U-label (RFC 6531 §3.3)
  std::size_t label = 0;
  bool label_high = false;
  for (std::size_t k = 0; k <= d.size(); ++k) {
    if (k == d.size() || d[k] == '.') {
      if (label == 0 || d[k - 1] == '-') return AddressError::syntax;
      if (d[k - label] == '-') return AddressError::syntax;
      // RFC 1035 §2.3.4: a label has at most 63 octets (a U-label's limit applies to its A-label).
      if (!label_high && label > kMaxLabel) return AddressError::syntax;
      label = 0;
      label_high = false;
      continue;
    }
    char c = d[k];
    if (is_high(c)) {
      if (!utf8) return AddressError::utf8_not_allowed;
      label_high = true;
    } else if (!is_alpha(c) && !is_digit(c) && c != '-') {
      return AddressError::syntax;
    }
    ++label;
  }
  m.kind = DomainKind::name;
  m.domain = std::string(d);
  i = end;
  return AddressError::none;
}

bool local_is_dot_string(std::string_view l) {
  if (l.empty() || l.front() == '.' || l.back() == '.') return false;
  for (std::size_t k = 0; k < l.size(); ++k) {
    if (l[k] == '.') {
      if (l[k + 1] == '.') return false;
    } else if (!is_atext(l[k], true)) {
      return false;
    }
  }
  return true;
}

}  // namespace

std::string SmtpMailbox::address() const {
  std::string out;
  if (local_is_dot_string(local_part)) {
    out = local_part;
  } else {
    out = "\"";
    for (char c : local_part) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  return out + "@" + domain;
}

std::string SmtpMailbox::literal_address() const {
  if (kind == DomainKind::name || domain.size() < 2) return {};
  std::string_view lit = std::string_view(domain).substr(1, domain.size() - 2);
  if (kind == DomainKind::ipv6) return std::string(lit.substr(5));
  return std::string(lit);
}

bool SmtpMailbox::needs_smtputf8() const { return has_high(local_part) || has_high(domain); }

std::string SmtpPath::format() const {
  if (null) return "<>";
  if (postmaster) return "<Postmaster>";
  return "<" + mailbox.address() + ">";
}

std::string_view to_string(AddressError e) noexcept {
  switch (e) {
    case AddressError::none: return "none";
    case AddressError::syntax: return "syntax";
    case AddressError::too_long: return "too_long";
    case AddressError::utf8_not_allowed: return "utf8_not_allowed";
    case AddressError::bad_literal: return "bad_literal";
    case AddressError::bad_idna: return "bad_idna";
  }
  return "unknown";
}

AddressReply reply_for(AddressError e) noexcept {
  switch (e) {
    case AddressError::none: return {250, "2.1.0", "Address ok"};
    case AddressError::syntax: return {501, "5.1.3", "Bad address syntax"};
    case AddressError::too_long: return {501, "5.1.3", "Address too long"};  // RFC 5321 §4.5.3.1
    case AddressError::utf8_not_allowed: return {553, "5.6.7", "Non-ASCII address needs SMTPUTF8"};  // RFC 6531 §3.5
    case AddressError::bad_literal: return {501, "5.1.3", "Bad address literal"};
    case AddressError::bad_idna: return {553, "5.1.2", "Bad internationalized domain name"};
  }
  return {501, "5.1.3", "Bad address"};
}

AddressParse<SmtpMailbox> parse_smtp_mailbox(std::string_view in, bool allow_utf8) {
  AddressParse<SmtpMailbox> r;
  if (has_high(in) && allow_utf8 && !valid_utf8(in)) { r.error = AddressError::syntax; return r; }
  std::size_t i = 0;
  r.error = parse_local(in, i, allow_utf8, r.value.local_part);
  if (r.error != AddressError::none) return r;
  if (i >= in.size() || in[i] != '@') { r.error = AddressError::syntax; return r; }
  ++i;
  r.error = parse_domain(in, i, in.size(), allow_utf8, r.value);
  if (r.error == AddressError::none) r.consumed = in.size();
  return r;
}

AddressParse<SmtpPath> parse_smtp_path(std::string_view in, const PathOptions& o) {
  AddressParse<SmtpPath> r;
  auto fail = [&](AddressError e) {
    r.error = e;
    r.value = SmtpPath{};
    return r;
  };
  if (in.empty() || in[0] != '<') return fail(AddressError::syntax);
  std::size_t close = in.find('>');
  // A '>' inside a quoted local part does not end the path.
  if (in.size() > 1 && (in.find('"') < close)) {
    std::size_t k = 1;
    bool quoted = false;
    for (; k < in.size(); ++k) {
      if (quoted && in[k] == '\\') { ++k; continue; }
      if (in[k] == '"') quoted = !quoted;
      else if (!quoted && in[k] == '>') break;
    }
    close = k < in.size() ? k : std::string_view::npos;
  }
  if (close == std::string_view::npos) return fail(AddressError::syntax);
  if (close + 1 > kMaxPath) return fail(AddressError::too_long);
  std::string_view inner = in.substr(1, close - 1);
  r.consumed = close + 1;
  if (inner.empty()) {
    if (!o.allow_null) return fail(AddressError::syntax);
    r.value.null = true;
    return r;
  }
  if (iequal(inner, "postmaster")) {
    if (!o.allow_postmaster) return fail(AddressError::syntax);
    r.value.postmaster = true;
    r.value.mailbox.local_part = std::string(inner);
    return r;
  }
  if (inner[0] == '@') {  // A-d-l ":" (RFC 5321 §4.1.2), accepted and ignored
    if (!o.allow_route) return fail(AddressError::syntax);
    std::size_t colon = inner.find(':');
    if (colon == std::string_view::npos) return fail(AddressError::syntax);
    // A-d-l = At-domain *( "," At-domain ); At-domain = "@" Domain (a name: no address literal here).
    std::string_view route = inner.substr(0, colon);
    std::size_t p = 0;
    for (;;) {
      if (p >= route.size() || route[p] != '@') return fail(AddressError::syntax);
      std::size_t comma = route.find(',', p);
      if (comma == std::string_view::npos) comma = route.size();
      if (p + 1 < comma && route[p + 1] == '[') return fail(AddressError::syntax);
      SmtpMailbox tmp;
      std::size_t q = p + 1;
      if (AddressError e = parse_domain(route, q, comma, o.allow_utf8, tmp); e != AddressError::none) return fail(e);
      if (comma == route.size()) break;
      p = comma + 1;
    }
    inner = inner.substr(colon + 1);
  }
  AddressParse<SmtpMailbox> m = parse_smtp_mailbox(inner, o.allow_utf8);
  if (!m) return fail(m.error);
  r.value.mailbox = std::move(m.value);
  return r;
}

Result<std::string> domain_to_ascii(std::string_view domain) {
  if (!domain.empty() && domain.front() == '[') return std::string(domain);
  if (domain.empty() || domain.size() > kMaxDomain * 4) return fail(ErrorCategory::invalid_argument, "empty or over-long domain");
  if (!has_high(domain)) {
    std::string d = lower(domain);
    if (d.size() > kMaxDomain) return fail(ErrorCategory::invalid_argument, "domain longer than 255 octets");
    if (d.front() == '.' || d.find("..") != std::string::npos)
      return fail(ErrorCategory::invalid_argument, "empty label in domain");
    return d;
  }
  if (!valid_utf8(domain)) return fail(ErrorCategory::invalid_argument, "domain is not valid UTF-8");
  char* out = nullptr;
  int rc = idn2_to_ascii_8z(std::string(domain).c_str(), &out, IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL);
  if (rc != IDN2_OK) return fail(ErrorCategory::invalid_argument, std::string("IDNA: ") + idn2_strerror(rc));
  std::string r = lower(out);
  idn2_free(out);
  if (r.size() > kMaxDomain) return fail(ErrorCategory::invalid_argument, "domain longer than 255 octets");
  return r;
}

Result<std::string> domain_to_unicode(std::string_view domain) {
  if (!domain.empty() && domain.front() == '[') return std::string(domain);
  std::string d = lower(domain);
  if (d.find("xn--") == std::string::npos) return d;
  char* out = nullptr;
  int rc = idn2_to_unicode_8z8z(d.c_str(), &out, 0);
  if (rc != IDN2_OK) return fail(ErrorCategory::invalid_argument, std::string("IDNA: ") + idn2_strerror(rc));
  std::string r = lower(out);
  idn2_free(out);
  // RFC 5891 §5.4: an A-label is valid only if it converts back to itself.
  auto back = domain_to_ascii(r);
  if (!back || *back != d) return fail(ErrorCategory::invalid_argument, "IDNA: not a valid A-label");
  return r;
}

std::string canonical_domain(std::string_view domain) {
  auto a = domain_to_ascii(domain);
  return a ? *a : lower(domain);
}

bool same_mailbox(const SmtpMailbox& a, const SmtpMailbox& b) {
  return a.local_part == b.local_part && canonical_domain(a.domain) == canonical_domain(b.domain);
}

Result<SmtpMailbox> to_ascii_domain(const SmtpMailbox& m) {
  auto d = domain_to_ascii(m.domain);
  if (!d) return fail(d.error());
  SmtpMailbox r = m;
  r.domain = *d;
  return r;
}

std::optional<AddressParts> split_address(std::string_view address) {
  std::size_t at = std::string_view::npos;
  if (!address.empty() && address.front() == '"') {
    // Quoted-string: the '@' that ends the local part follows the closing quote (quoted-pairs skipped).
    for (std::size_t k = 1; k < address.size(); ++k) {
      if (address[k] == '\\') { ++k; continue; }
      if (address[k] == '"') {
        if (k + 1 < address.size() && address[k + 1] == '@') at = k + 1;
        break;
      }
    }
  } else {
    at = address.find('@');  // a Dot-string holds no '@'; an address literal may (RFC 5321 §4.1.3 dcontent)
  }
  if (at == std::string_view::npos || at == 0 || at + 1 >= address.size()) return std::nullopt;
  return AddressParts{address.substr(0, at), address.substr(at + 1)};
}

std::string address_domain(std::string_view address) {
  auto parts = split_address(address);
  return parts ? canonical_domain(parts->domain) : std::string();
}

Subaddress split_subaddress(std::string_view local_part, std::string_view separators) {
  Subaddress s;
  std::size_t k = separators.empty() ? std::string_view::npos : local_part.find_first_of(separators);
  if (k == std::string_view::npos || k == 0) {
    s.base = std::string(local_part);
    return s;
  }
  s.base = std::string(local_part.substr(0, k));
  s.detail = std::string(local_part.substr(k + 1));
  s.has_detail = true;
  return s;
}

}  // namespace tern::mime
