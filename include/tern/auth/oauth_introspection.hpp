// A TokenValidator that asks an OAuth 2.0 authorization server about a bearer token (RFC 7662 token
// introspection): POST token=...&token_type_hint=access_token to `url`, authenticated with HTTP
// Basic client credentials; the token is good when the answer says "active": true (and, if
// configured, its "scope" contains `required_scope`). The login identity is the claim named by
// `username_claim` ("username", "email", "sub", ...), which must be the mailbox address.
//
// BLOCKING: validate_token() makes an HTTP(S) request (at most `timeout`); call it on the worker pool.
// Thread-safe (one short-lived connection per call).
#pragma once

#include <chrono>
#include <string>

#include "tern/auth/authenticator.hpp"

namespace tern::auth {

struct IntrospectionConfig {
  std::string url;            // "https://idp.example.com/oauth2/introspect" ("" = OAuth disabled)
  std::string client_id;      // HTTP Basic credentials of this resource server
  std::string client_secret;
  std::string username_claim = "username";
  std::string required_scope;  // "" = any scope
  std::string ca_file;         // "" = system CAs
  bool tls_verify = true;
  std::chrono::milliseconds timeout{5000};
};

class IntrospectionTokenValidator final : public TokenValidator {
 public:
  explicit IntrospectionTokenValidator(IntrospectionConfig config);
  AuthVerdict validate_token(std::string_view user, std::string_view token) override;

 private:
  IntrospectionConfig cfg_;
};

}  // namespace tern::auth
