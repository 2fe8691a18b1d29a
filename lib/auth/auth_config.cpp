#include "tern/auth/auth_config.hpp"

namespace tern::auth {

Status parse_auth_config(ConfigSection& s, AuthConfig& out) {
  std::size_t before = s.diagnostics().issues().size();
  std::string scheme(scheme_name(out.password_scheme));
  if (s.get("password_scheme", scheme)) {
    if (auto p = parse_scheme(scheme)) out.password_scheme = *p;
    else
      s.error("password_scheme",
              "must be one of SHA512-CRYPT, SHA256-CRYPT, BLF-CRYPT, ARGON2I, ARGON2ID, SSHA512, SSHA256, "
              "SCRAM-SHA-256, PLAIN");
  }
  s.get("master_users", out.authenticator.master_users);
  std::string sep(1, out.authenticator.master_separator);
  if (s.get("master_separator", sep)) {
    if (sep.size() == 1 && sep[0] > ' ' && sep[0] != '@') out.authenticator.master_separator = sep[0];
    else s.error("master_separator", "must be one printable character other than '@'");
  }
  auto& t = out.throttle;
  s.get_duration("failure_delay", t.base_delay);
  s.get_duration("max_failure_delay", t.max_delay);
  if (t.max_delay < t.base_delay) s.error("max_failure_delay", "must not be shorter than failure_delay");
  int ip_after = static_cast<int>(t.ip_lockout_after), acct_after = static_cast<int>(t.account_lockout_after);
  if (s.get("ip_lockout_after", ip_after, 0, 1000000)) t.ip_lockout_after = static_cast<unsigned>(ip_after);
  if (s.get("account_lockout_after", acct_after, 0, 1000000)) t.account_lockout_after = static_cast<unsigned>(acct_after);
  s.get_duration("lockout", t.lockout);
  s.get_duration("forget_after", t.forget_after);
  std::int64_t max_tracked = static_cast<std::int64_t>(t.max_entries);
  if (s.get("max_tracked", max_tracked, 100, 100000000)) t.max_entries = static_cast<std::size_t>(max_tracked);
  std::vector<std::string> allow;
  if (s.get("allowlist", allow)) {
    t.allowlist.clear();
    for (const auto& a : allow) {
      auto n = net::IpNetwork::parse(a);
      if (n) t.allowlist.push_back(*n);
      else s.error("allowlist", n.error().message);
    }
  }
  if (auto o = s.table("oauth")) {
    auto& c = out.oauth;
    o->get("introspection_url", c.url);
    if (!c.url.empty() && c.url.rfind("https://", 0) != 0 && c.url.rfind("http://", 0) != 0)
      o->error("introspection_url", "must be an http:// or https:// URL");
    o->get("client_id", c.client_id);
    o->get("client_secret", c.client_secret);
    o->get("username_claim", c.username_claim);
    o->get("required_scope", c.required_scope);
    o->get("ca_file", c.ca_file);
    o->get("tls_verify", c.tls_verify);
    o->get_duration("timeout", c.timeout);
    o->finish();
  }
  s.finish();
  if (s.diagnostics().issues().size() != before) return fail(s.diagnostics().to_error());
  return {};
}

}  // namespace tern::auth
