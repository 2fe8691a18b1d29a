#include "tern/directory/address.hpp"

#include <fmt/format.h>

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

Result<Address> parse_address(std::string_view text) {
  if (text.size() >= 2 && text.front() == '<' && text.back() == '>') text = text.substr(1, text.size() - 2);
  if (text.empty()) return bad("the address is empty");
  if (text.size() > kMaxAddressLength)
    return bad(fmt::format("the address is longer than {} characters", kMaxAddressLength));
  for (unsigned char c : text)
    if (c <= ' ' || c == 0x7f || c == '"' || c == '<' || c == '>' || c == ',' || c == ';' || c == '\\')
      return bad(fmt::format("the address '{}' contains a character that is not allowed", text));
  auto at = text.rfind('@');
  if (at == std::string_view::npos) return bad(fmt::format("'{}' is not an address: it has no '@'", text));
  if (at == 0) return bad(fmt::format("'{}' has an empty local part", text));
  if (at + 1 == text.size()) return bad(fmt::format("'{}' has an empty domain", text));
  Address a{to_lower(text.substr(0, at)), to_lower(text.substr(at + 1))};
  if (a.local.find('@') != std::string::npos) return bad(fmt::format("'{}' has more than one '@'", text));
  if (a.domain.back() == '.') a.domain.pop_back();
  return a;
}

std::optional<Subaddress> split_subaddress(std::string_view local, char separator) {
  if (separator == '\0') return std::nullopt;
  auto pos = local.find(separator);
  if (pos == std::string_view::npos || pos == 0) return std::nullopt;
  return Subaddress{std::string(local.substr(0, pos)), std::string(local.substr(pos + 1))};
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
