// The [auth] section of tern.toml (documented in docs/directory.md).
//
//   [auth]
//   password_scheme = "SHA512-CRYPT"   # scheme for new passwords (ternctl user add/passwd)
//   master_users = false               # Dovecot-style "user*master" logins
//   master_separator = "*"
//   failure_delay = "1s"               # delay after the first failed login; doubles per failure
//   max_failure_delay = "30s"
//   ip_lockout_after = 10              # failures from one IP before a lockout (0: never)
//   account_lockout_after = 20         # failures on one account before a lockout (0: never)
//   lockout = "15m"
//   forget_after = "1h"
//   max_tracked = 100000
//   allowlist = []                     # CIDR networks never delayed or locked out
//   [auth.oauth]                       # XOAUTH2 / OAUTHBEARER via RFC 7662 token introspection
//   introspection_url = ""             # "" = OAuth mechanisms not offered
//   client_id = ""  client_secret = ""
//   username_claim = "username"
//   required_scope = ""
//   ca_file = ""  tls_verify = true  timeout = "5s"
#pragma once

#include "tern/auth/auth_throttle.hpp"
#include "tern/auth/authenticator.hpp"
#include "tern/auth/oauth_introspection.hpp"
#include "tern/auth/password_scheme.hpp"
#include "tern/core/config.hpp"

namespace tern::auth {

struct AuthConfig {
  PasswordScheme password_scheme = PasswordScheme::sha512_crypt;
  DirectoryAuthenticatorOptions authenticator;  // master_users false, separator '*'
  AuthThrottleOptions throttle;
  IntrospectionConfig oauth;  // oauth.url empty: OAuth off
};

Status parse_auth_config(ConfigSection& section, AuthConfig& out);

}  // namespace tern::auth
