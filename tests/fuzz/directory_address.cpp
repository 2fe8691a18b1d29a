// Fuzz target: address parsing, name rules, wildcard matching and recipient resolution see every
// RCPT TO / MAIL FROM a peer sends. Input: "recipient\nsender\npattern".
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "tern/directory/resolution.hpp"

namespace {
const tern::directory::DirectorySnapshot& snapshot() {
  using namespace tern::directory;
  static const DirectorySnapshot d = [] {
    DirectorySnapshot s;
    s.domains = {{"example.com", true, {"catch@example.com"}}, {"off.net", false, {}}};
    s.users = {{"alice", "{PLAIN}x", true, ""}};
    s.mailboxes = {{"alice", "example.com", "alice", OwnerType::user, true, {}, ""},
                   {"catch", "example.com", "alice", OwnerType::user, true, {}, ""}};
    s.aliases = {{"a*b*c", "example.com", {"alice@example.com"}}, {"loop", "example.com", {"loop@example.com"}},
                 {"fwd", "example.com", {"x@gmail.com", "team@example.com"}}};
    s.lists = {{"team", "example.com", {"alice@example.com", "fwd@example.com"}, true, true}};
    return s;
  }();
  return d;
}
const tern::directory::DirectorySnapshot& indexed() {
  static const tern::directory::DirectorySnapshot d = [] {
    auto s = snapshot();
    s.build_index();
    return s;
  }();
  return d;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tern::directory;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto nl = in.find('\n');
  auto rcpt = in.substr(0, nl);
  auto rest = nl == std::string_view::npos ? std::string_view() : in.substr(nl + 1);
  auto nl2 = rest.find('\n');
  auto sender = rest.substr(0, nl2);
  auto pattern = nl2 == std::string_view::npos ? std::string_view() : rest.substr(nl2 + 1);

  (void)validate_mailbox_name(rcpt);
  (void)validate_alias_name(rcpt);
  (void)validate_domain_name(rcpt);
  if (wildcard_match(pattern, rcpt) && pattern.find('*') == std::string_view::npos && pattern != rcpt) std::abort();
  ResolveOptions o;
  auto r = resolve(snapshot(), rcpt, o, sender);
  if (r) {
    if (r->status == ResolveStatus::deliver && r->targets.empty()) std::abort();
    if (r->status != ResolveStatus::deliver && !r->targets.empty()) std::abort();
    if (r->reply().enhanced.empty()) std::abort();
    // The hash index must not change any answer.
    auto ri = resolve(indexed(), rcpt, o, sender);
    if (!ri || ri->status != r->status || !(ri->targets == r->targets)) std::abort();
  }
  (void)may_send_as(snapshot(), "alice@example.com", rcpt, o);
  (void)lookup_login(snapshot(), rcpt);
  return 0;
}
