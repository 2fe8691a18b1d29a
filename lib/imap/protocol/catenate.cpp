// CATENATE parts and IMAP URLs (RFC 4469, RFC 5092): see catenate.hpp.
#include "tern/imap/catenate.hpp"

#include <cctype>

#include "tern/imap/command_args.hpp"

namespace tern::imap {
namespace {

Error bad_url(std::string sentence) { return Error{ErrorCategory::invalid_argument, std::move(sentence)}; }

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::toupper(static_cast<unsigned char>(a[i])) != std::toupper(static_cast<unsigned char>(b[i]))) return false;
  return true;
}
bool istarts_with(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// RFC 5092 §11 bchar = achar / ":" / "@" / "/"; achar = uchar / "&" / "="; uchar = unreserved / escaped /
// sub-delims-sh; sub-delims-sh = "!" / "$" / "'" / "(" / ")" / "*" / "+" / ",".
bool is_bchar(char c) {
  unsigned char u = static_cast<unsigned char>(c);
  if (std::isalnum(u)) return true;
  switch (c) {
    case '-': case '.': case '_': case '~':                                     // unreserved
    case '!': case '$': case '\'': case '(': case ')': case '*': case '+': case ',':  // sub-delims-sh
    case '&': case '=': case ':': case '@': case '/':
      return true;
    default:
      return false;
  }
}

// %-decodes 1*bchar (escapes included); nullopt on a character outside bchar or a broken escape.
std::optional<std::string> decode_bchars(std::string_view s) {
  if (s.empty()) return std::nullopt;
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%') {
      if (i + 2 >= s.size()) return std::nullopt;
      int h = hex_value(s[i + 1]), l = hex_value(s[i + 2]);
      if (h < 0 || l < 0) return std::nullopt;
      char c = static_cast<char>(h * 16 + l);
      if (c == '\0') return std::nullopt;  // no NUL in a mailbox name or section
      out += c;
      i += 2;
    } else if (is_bchar(s[i])) {
      out += s[i];
    } else {
      return std::nullopt;
    }
  }
  return out;
}

// nz-number (or number when `zero_ok`) up to 4294967295, digits only.
std::optional<std::uint32_t> parse_u32(std::string_view s, bool zero_ok) {
  if (s.empty() || s.size() > 10) return std::nullopt;
  if (s.size() > 1 && s[0] == '0') return std::nullopt;
  std::uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  if (v > 4294967295ull || (!zero_ok && v == 0)) return std::nullopt;
  return static_cast<std::uint32_t>(v);
}

}  // namespace

Result<ImapUrl> parse_imap_url(std::string_view url, std::string_view user, std::string_view host) {
  if (url.empty()) return fail(bad_url("The URL is empty."));
  if (url.size() > kMaxImapUrl) return fail(bad_url("The URL is too long."));
  std::string_view path = url;
  if (istarts_with(path, "imap://")) {
    // RFC 5092 §11 iserver = [iuserinfo "@"] host [":" port]: only this server and the session's user.
    path.remove_prefix(7);
    std::size_t slash = path.find('/');
    if (slash == std::string_view::npos) return fail(bad_url("The URL names no message."));
    std::string_view server = path.substr(0, slash);
    path.remove_prefix(slash);
    std::size_t at = server.rfind('@');
    if (at == std::string_view::npos)
      return fail(Error{ErrorCategory::auth, "The URL names no user (anonymous access is not offered)."});
    std::string_view userinfo = server.substr(0, at), hostport = server.substr(at + 1);
    if (userinfo.find(';') != std::string_view::npos) userinfo = userinfo.substr(0, userinfo.find(';'));  // ";AUTH=*"
    auto url_user = decode_bchars(userinfo);
    if (!url_user || !iequals(*url_user, user))
      return fail(Error{ErrorCategory::auth, "The URL names another user's mailbox."});
    if (std::size_t colon = hostport.rfind(':'); colon != std::string_view::npos && hostport.find(']') == std::string_view::npos)
      hostport = hostport.substr(0, colon);
    if (!iequals(hostport, host)) return fail(Error{ErrorCategory::auth, "The URL names another server."});
  }
  if (path.empty() || path[0] != '/') return fail(bad_url("The URL must be an absolute path (\"/mailbox/;UID=n\")."));
  path.remove_prefix(1);
  std::size_t semi = path.find(';');
  if (semi == std::string_view::npos) return fail(bad_url("The URL names no message (\";UID=\" is missing)."));
  std::string_view mailbox = path.substr(0, semi);
  // The ";KEY=value" segments; every segment but the last must end with "/" (the next one's "/;").
  std::vector<std::string_view> segs;
  std::string_view rest = path.substr(semi + 1);
  for (;;) {
    std::size_t n = rest.find(';');
    segs.push_back(rest.substr(0, n));
    if (n == std::string_view::npos) break;
    rest.remove_prefix(n + 1);
    if (segs.size() > 8) return fail(bad_url("The URL has too many parameters."));
  }
  ImapUrl out;
  std::size_t k = 0;
  bool has_validity = istarts_with(segs[0], "UIDVALIDITY=");
  // "/box;UIDVALIDITY=n/;UID=m" or "/box/;UID=m": without UIDVALIDITY the mailbox is followed by "/".
  if (!has_validity) {
    if (mailbox.empty() || mailbox.back() != '/') return fail(bad_url("The URL's mailbox must be followed by \"/;UID=\"."));
    mailbox.remove_suffix(1);
  }
  auto name = decode_bchars(mailbox);
  if (!name) return fail(bad_url("The URL's mailbox name is not %-encoded UTF-8."));
  while (name->size() > 1 && name->back() == '/') name->pop_back();
  if (name->size() >= 5 && iequals(std::string_view(*name).substr(0, 5), "INBOX") && (name->size() == 5 || (*name)[5] == '/'))
    name->replace(0, 5, "INBOX");
  out.mailbox = std::move(*name);
  auto value_of = [&](std::size_t i, std::string_view key) -> std::optional<std::string_view> {
    std::string_view s = segs[i];
    if (!istarts_with(s, key)) return std::nullopt;
    s.remove_prefix(key.size());
    if (i + 1 < segs.size()) {
      if (s.empty() || s.back() != '/') return std::nullopt;
      s.remove_suffix(1);
    }
    return s;
  };
  if (has_validity) {
    auto v = value_of(k, "UIDVALIDITY=");
    auto n = v ? parse_u32(*v, false) : std::nullopt;
    if (!n) return fail(bad_url("The URL's UIDVALIDITY is not a valid number."));
    out.uid_validity = *n;
    ++k;
  }
  if (k >= segs.size() || !istarts_with(segs[k], "UID=")) return fail(bad_url("The URL names no message (\";UID=\" is missing)."));
  {
    auto v = value_of(k, "UID=");
    auto n = v ? parse_u32(*v, false) : std::nullopt;
    if (!n) return fail(bad_url("The URL's UID is not a valid number."));
    out.uid = *n;
    ++k;
  }
  if (k < segs.size() && istarts_with(segs[k], "SECTION=")) {
    auto v = value_of(k, "SECTION=");
    auto text = v ? decode_bchars(*v) : std::nullopt;
    if (!text) return fail(bad_url("The URL's SECTION is not %-encoded."));
    // The section is that of FETCH BODY[section] (RFC 5092 §11 section-text): the FETCH parser checks it.
    Arg item;
    item.value = "BODY.PEEK[" + *text + "]";
    auto items = parse_fetch_items(item);
    if (!items || items->size() != 1 || (*items)[0].partial) return fail(bad_url("The URL's SECTION is not a valid section."));
    out.section = (*items)[0].section;
    ++k;
  }
  if (k < segs.size() && istarts_with(segs[k], "PARTIAL=")) {
    auto v = value_of(k, "PARTIAL=");
    if (!v) return fail(bad_url("The URL's PARTIAL is not valid."));
    // partial-range = number ["." nz-number]
    std::size_t dot = v->find('.');
    auto offset = parse_u32(v->substr(0, dot), true);
    std::optional<std::uint32_t> length = 0xFFFFFFFFu;
    if (dot != std::string_view::npos) length = parse_u32(v->substr(dot + 1), false);
    if (!offset || !length) return fail(bad_url("The URL's PARTIAL is not \"offset[.length]\"."));
    out.partial = Partial{*offset, *length};
    ++k;
  }
  if (k < segs.size()) {
    if (istarts_with(segs[k], "EXPIRE=") || istarts_with(segs[k], "URLAUTH="))
      return fail(bad_url("URLAUTH URLs are not supported here."));
    return fail(bad_url("The URL has an unknown or misplaced parameter."));
  }
  return out;
}

Result<std::vector<CatenatePart>> parse_catenate(const Arg& list, bool utf8_enabled) {
  if (!list.is_list() || list.list.empty())
    return fail(ErrorCategory::invalid_argument, "CATENATE needs a parenthesised list of TEXT and URL parts.");
  std::vector<CatenatePart> parts;
  const auto& a = list.list;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (parts.size() >= kMaxCatenateParts)
      return fail(ErrorCategory::limit, "CATENATE takes at most " + std::to_string(kMaxCatenateParts) + " parts.");
    CatenatePart p;
    if (a[i].is_keyword("TEXT")) {
      if (i + 1 >= a.size() || a[i + 1].type != Arg::Type::literal)
        return fail(ErrorCategory::invalid_argument, "CATENATE TEXT needs a literal.");
      p.kind = CatenatePart::Kind::text;
      p.value = &a[++i];
    } else if (a[i].is_keyword("URL")) {
      if (i + 1 >= a.size() || !a[i + 1].is_astring())
        return fail(ErrorCategory::invalid_argument, "CATENATE URL needs a URL string.");
      p.kind = CatenatePart::Kind::url;
      p.value = &a[++i];
    } else if (a[i].is_keyword("UTF8")) {
      // RFC 6855 §4: cat-part =/ utf8-literal (after ENABLE UTF8=ACCEPT).
      if (!utf8_enabled) return fail(ErrorCategory::invalid_argument, "CATENATE UTF8 needs ENABLE UTF8=ACCEPT first.");
      if (i + 1 >= a.size() || !a[i + 1].is_list() || a[i + 1].list.size() != 1 ||
          a[i + 1].list[0].type != Arg::Type::literal)
        return fail(ErrorCategory::invalid_argument, "CATENATE UTF8 needs a parenthesised literal: UTF8 (~{n}...).");
      p.kind = CatenatePart::Kind::text;
      p.value = &a[++i].list[0];
    } else {
      return fail(ErrorCategory::invalid_argument, "CATENATE parts are TEXT <literal> or URL <url>.");
    }
    parts.push_back(p);
  }
  return parts;
}

tl::expected<CatenateResult, CatenateFailure> assemble_catenate(const std::vector<CatenatePart>& parts, std::uint64_t limit,
                                                                const UrlFetcher& fetch_url) {
  CatenateResult out;
  for (const auto& part : parts) {
    if (part.kind == CatenatePart::Kind::text) {
      out.message += part.value->value;
      out.literal8 = out.literal8 || part.value->literal8;
    } else {
      auto data = fetch_url(part.value->value);
      if (!data) return tl::unexpected(CatenateFailure{"BADURL", part.value->value, data.error().message});
      out.message += *data;
    }
    if (out.message.size() > limit)
      return tl::unexpected(CatenateFailure{"TOOBIG", {}, "The assembled message is larger than the limit of " +
                                                              std::to_string(limit) + " bytes"});
  }
  if (out.message.empty()) return tl::unexpected(CatenateFailure{"CANNOT", {}, "An empty message cannot be appended"});
  return out;
}

std::string url_resp_text(std::string_view url) {
  std::string out;
  for (char c : url.substr(0, 1024)) {
    unsigned char u = static_cast<unsigned char>(c);
    if (c == ']' || u < 0x20 || u == 0x7f) break;
    out += c;
  }
  return out.empty() ? "\"\"" : out;
}

}  // namespace tern::imap
