#include "tern/directory/address.hpp"

#include <fmt/format.h>

#include "tern/mime/smtp_address.hpp"

namespace tern::directory {

namespace {
bool is_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }
tl::unexpected<Error> bad(std::string msg) { return fail(ErrorCategory::invalid_argument, std::move(msg)); }
}  // namespace

std::string to_lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

namespace {
// RFC 5321 4.1.2 mailbox through lib/mime's parser (quoted local parts, address literals, RFC 6531 UTF-8);
// "<...>" around it and one trailing dot of an absolute domain name are tolerated.
Result<mime::SmtpMailbox> parse_mailbox(std::string_view text) {
  if (text.size() >= 2 && text.front() == '<' && text.back() == '>') text = text.substr(1, text.size() - 2);
  if (text.empty()) return bad("the address is empty");
  if (text.size() > kMaxAddressLength)
    return bad(fmt::format("the address is longer than {} characters", kMaxAddressLength));
  if (text.size() > 2 && text.back() == '.' && text[text.size() - 2] != '.' && text[text.size() - 2] != '@')
    text.remove_suffix(1);
  auto m = mime::parse_smtp_mailbox(text, /*allow_utf8=*/true);
  if (m) return std::move(m.value);
  auto parts = mime::split_address(text);
  if (text.find('@') == std::string_view::npos) return bad(fmt::format("'{}' is not an address: it has no '@'", text));
  if (text.front() == '@') return bad(fmt::format("'{}' has an empty local part", text));
  if (text.back() == '@') return bad(fmt::format("'{}' has an empty domain", text));
  if (parts && parts->domain.find('@') != std::string_view::npos && parts->domain.front() != '[')
    return bad(fmt::format("'{}' has more than one '@'", text));
  switch (m.error) {
    case mime::AddressError::too_long:
      return bad(fmt::format("'{}' is too long (RFC 5321 4.5.3.1: local part 64, domain 255 octets)", text));
    case mime::AddressError::bad_literal:
      return bad(fmt::format("'{}' has an address literal that is no IPv4 or IPv6 address", text));
    default:
      return bad(fmt::format("'{}' is not an address (RFC 5321 4.1.2: a dot-atom or quoted local part, '@', a "
                             "domain or address literal)",
                             text));
  }
}
}  // namespace

Result<Address> parse_address(std::string_view text) {
  auto m = parse_mailbox(text);
  if (!m) return tl::unexpected(m.error());
  // Lookup keys: the local part lower-cased (this host treats local parts case-insensitively, as RFC 5321
  // 2.4 lets the receiving host decide), the domain in canonical form (A-labels, lower case).
  return Address{to_lower(m->local_part), mime::canonical_domain(m->domain)};
}

Result<std::string> forward_address(std::string_view text) {
  auto m = parse_mailbox(text);
  if (!m) return tl::unexpected(m.error());
  m->domain = mime::canonical_domain(m->domain);
  return m->address();
}

std::string Address::str() const { return mime::SmtpMailbox{local, domain, mime::DomainKind::name}.address(); }

std::optional<Subaddress> split_subaddress(std::string_view local, char separator) {
  if (separator == '\0') return std::nullopt;
  auto s = mime::split_subaddress(local, std::string_view(&separator, 1));
  if (!s.has_detail) return std::nullopt;
  return Subaddress{std::move(s.base), std::move(s.detail)};
}

namespace {
Status check_local_chars(std::string_view name, std::string_view what, char separator, bool allow_star) {
  if (name.empty()) return bad(fmt::format("the {} name is empty", what));
  if (name.size() > kMaxMailboxNameLength)
    return bad(fmt::format("the {} name '{}...' is longer than {} characters", what, name.substr(0, 20),
                           kMaxMailboxNameLength));
  for (char c : name) {
    if (c == '+' || (separator != '\0' && c == separator))
      return bad(fmt::format("the {} name '{}' contains '{}', which is the subaddress separator "
                             "(user{}tag delivers to user)",
                             what, name, c, c));
    if (c == '*' && allow_star) continue;
    if (!is_alnum(c) && c != '.' && c != '-')
      return bad(fmt::format("the {} name '{}' contains '{}': only letters, digits, '.' and '-' are allowed{}",
                             what, name, c, allow_star ? " (and '*' as a wildcard)" : ""));
  }
  if (name.front() == '.' || name.back() == '.' || name.find("..") != std::string_view::npos)
    return bad(fmt::format("the {} name '{}' starts or ends with '.' or has two dots in a row "
                           "(RFC 5321 4.1.2 dot-atom)",
                           what, name));
  return {};
}
bool ends_with_app(std::string_view n) {
  return n.size() >= 4 && to_lower(n.substr(n.size() - 4)) == ".app";
}
}  // namespace

Status validate_mailbox_name(std::string_view name, NameKind kind, char separator) {
  if (auto st = check_local_chars(name, "mailbox", separator, false); !st) return st;
  if (kind == NameKind::user_mailbox && ends_with_app(name))
    return bad(fmt::format("the mailbox name '{}' ends with '.app', which is reserved for applications", name));
  return {};
}

Status validate_alias_name(std::string_view name, char separator) {
  if (name == "*") return {};
  if (auto st = check_local_chars(name, "alias", separator, true); !st) return st;
  if (ends_with_app(name))
    return bad(fmt::format("the alias name '{}' ends with '.app', which is reserved for applications", name));
  return {};
}

Status validate_domain_name(std::string_view domain) {
  if (domain.empty()) return bad("the domain name is empty");
  if (domain.size() > kMaxDomainLength)
    return bad(fmt::format("the domain name is longer than {} characters", kMaxDomainLength));
  std::size_t labels = 0;
  std::size_t start = 0;
  while (start <= domain.size()) {
    auto end = domain.find('.', start);
    if (end == std::string_view::npos) end = domain.size();
    auto label = domain.substr(start, end - start);
    if (label.empty()) return bad(fmt::format("the domain '{}' has an empty label", domain));
    if (label.size() > 63) return bad(fmt::format("the domain '{}' has a label longer than 63 characters", domain));
    for (char c : label)
      if (!is_alnum(c) && c != '-')
        return bad(fmt::format("the domain '{}' contains '{}': only letters, digits, '-' and '.' are allowed "
                               "(use the A-label form for international names)",
                               domain, c));
    if (label.front() == '-' || label.back() == '-')
      return bad(fmt::format("the domain '{}' has a label starting or ending with '-'", domain));
    ++labels;
    start = end + 1;
  }
  if (labels < 2) return bad(fmt::format("the domain '{}' needs at least two labels (example.com)", domain));
  return {};
}

Status validate_user_name(std::string_view name) {
  if (name.empty()) return bad("the user name is empty");
  if (name.size() > kMaxAddressLength)
    return bad(fmt::format("the user name is longer than {} characters", kMaxAddressLength));
  for (char c : name)
    if (!is_alnum(c) && c != '.' && c != '-' && c != '_' && c != '@')
      return bad(fmt::format("the user name '{}' contains '{}': only letters, digits, '.', '-', '_' and '@' "
                             "are allowed",
                             name, c));
  return {};
}

bool wildcard_match(std::string_view p, std::string_view t) {
  // Iterative glob with single backtrack point: linear in practice, no recursion.
  std::size_t pi = 0, ti = 0, star = std::string_view::npos, mark = 0;
  while (ti < t.size()) {
    if (pi < p.size() && p[pi] == '*') {
      star = pi++;
      mark = ti;
    } else if (pi < p.size() && p[pi] == t[ti]) {
      ++pi;
      ++ti;
    } else if (star != std::string_view::npos) {
      pi = star + 1;
      ti = ++mark;
    } else {
      return false;
    }
  }
  while (pi < p.size() && p[pi] == '*') ++pi;
  return pi == p.size();
}

}  // namespace tern::directory
