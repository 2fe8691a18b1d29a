#include "tern/auth/oauth_introspection.hpp"

#include <httplib.h>

#include <fmt/format.h>

#include "lib/directory/json_reader.hpp"
#include "tern/directory/address.hpp"

namespace tern::auth {

using Outcome = AuthVerdict::Outcome;
using directory::detail::Json;

namespace {

std::string form_escape(std::string_view s) {
  std::string o;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') o.push_back(static_cast<char>(c));
    else o += fmt::format("%{:02X}", c);
  }
  return o;
}

bool has_scope(std::string_view scopes, std::string_view want) {
  while (!scopes.empty()) {
    auto sp = scopes.find(' ');
    if (scopes.substr(0, sp) == want) return true;
    if (sp == std::string_view::npos) break;
    scopes.remove_prefix(sp + 1);
  }
  return false;
}

}  // namespace

IntrospectionTokenValidator::IntrospectionTokenValidator(IntrospectionConfig config) : cfg_(std::move(config)) {}

AuthVerdict IntrospectionTokenValidator::validate_token(std::string_view, std::string_view token) {
  if (cfg_.url.empty()) return AuthVerdict::failure(Outcome::temporary, "OAuth introspection is not configured");
  if (token.empty() || token.size() > 8192) return AuthVerdict::failure(Outcome::bad_credentials, "bad token size");
  // Split "scheme://host[:port]/path".
  auto scheme_end = cfg_.url.find("://");
  if (scheme_end == std::string::npos)
    return AuthVerdict::failure(Outcome::temporary, "introspection url has no scheme");
  auto path_start = cfg_.url.find('/', scheme_end + 3);
  std::string origin = cfg_.url.substr(0, path_start);
  std::string path = path_start == std::string::npos ? "/" : cfg_.url.substr(path_start);
  try {
    httplib::Client cli(origin);
    auto secs = std::chrono::duration_cast<std::chrono::seconds>(cfg_.timeout);
    auto usecs = std::chrono::duration_cast<std::chrono::microseconds>(cfg_.timeout - secs);
    cli.set_connection_timeout(secs.count(), static_cast<time_t>(usecs.count()));
    cli.set_read_timeout(secs.count(), static_cast<time_t>(usecs.count()));
    cli.set_write_timeout(secs.count(), static_cast<time_t>(usecs.count()));
    if (!cfg_.client_id.empty()) cli.set_basic_auth(cfg_.client_id, cfg_.client_secret);
    if (!cfg_.ca_file.empty()) cli.set_ca_cert_path(cfg_.ca_file);
    cli.enable_server_certificate_verification(cfg_.tls_verify);
    std::string body = "token=" + form_escape(token) + "&token_type_hint=access_token";
    auto res = cli.Post(path, body, "application/x-www-form-urlencoded");
    if (!res) return AuthVerdict::failure(Outcome::temporary, "introspection request failed: " + httplib::to_string(res.error()));
    if (res->status != 200)
      return AuthVerdict::failure(Outcome::temporary, fmt::format("introspection endpoint answered {}", res->status));
    if (res->body.size() > 65536) return AuthVerdict::failure(Outcome::temporary, "introspection answer too large");
    auto json = directory::detail::parse_json(res->body, 8, 1000);
    if (!json || json->type != Json::object)
      return AuthVerdict::failure(Outcome::temporary, "introspection answer is not a JSON object");
    const Json* active = json->get("active");
    if (!active || active->type != Json::boolean || !active->b)
      return AuthVerdict::failure(Outcome::bad_credentials, "the token is not active");
    if (!cfg_.required_scope.empty()) {
      const Json* scope = json->get("scope");
      if (!scope || scope->type != Json::string || !has_scope(scope->s, cfg_.required_scope))
        return AuthVerdict::failure(Outcome::bad_credentials, "the token lacks scope " + cfg_.required_scope);
    }
    const Json* who = json->get(cfg_.username_claim);
    if (!who || who->type != Json::string)
      return AuthVerdict::failure(Outcome::bad_credentials, "the token names no " + cfg_.username_claim);
    auto addr = directory::parse_address(who->s);
    if (!addr) return AuthVerdict::failure(Outcome::bad_credentials, "the token's user is not a mailbox address");
    return AuthVerdict::success(addr->str());
  } catch (const std::exception& e) {
    return AuthVerdict::failure(Outcome::temporary, std::string("introspection: ") + e.what());
  }
}

}  // namespace tern::auth
