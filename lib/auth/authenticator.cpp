#include "tern/auth/authenticator.hpp"

#include <ostream>

#include <fmt/format.h>

#include "tern/auth/password_scheme.hpp"
#include "tern/directory/address.hpp"

namespace tern::auth {

using Outcome = AuthVerdict::Outcome;

std::string_view to_string(AuthVerdict::Outcome o) noexcept {
  switch (o) {
    case Outcome::ok: return "ok";
    case Outcome::bad_credentials: return "bad_credentials";
    case Outcome::disabled: return "disabled";
    case Outcome::temporary: return "temporary";
  }
  return "bad_credentials";
}
std::ostream& operator<<(std::ostream& os, AuthVerdict::Outcome o) { return os << to_string(o); }

namespace {

// Verified against when the user does not exist, so unknown users cost the same time.
const std::string& dummy_hash() {
  static const std::string h = [] {
    auto r = hash_password("tern-dummy-password", PasswordScheme::sha512_crypt);
    return r ? *r : std::string("{PLAIN}x");
  }();
  return h;
}

bool temporary(const Error& e) {
  return e.category == ErrorCategory::temporary || e.category == ErrorCategory::io ||
         e.category == ErrorCategory::internal;
}

}  // namespace

DirectoryAuthenticator::DirectoryAuthenticator(directory::Directory& directory, DirectoryAuthenticatorOptions options)
    : dir_(directory), opts_(options) {}

AuthVerdict DirectoryAuthenticator::check_record(const Result<directory::LoginRecord>& rec, std::string_view password) {
  if (!rec) {
    if (temporary(rec.error())) return AuthVerdict::failure(Outcome::temporary, rec.error().message);
    (void)auth::verify_password(password, dummy_hash());
    return AuthVerdict::failure(Outcome::bad_credentials, rec.error().message);
  }
  if (rec->credentials.empty()) (void)auth::verify_password(password, dummy_hash());
  bool matched = false;
  std::string why = "wrong password";
  for (const auto& c : rec->credentials) {
    Result<bool> ok = c.password_hash.empty() && !c.bind_dn.empty() ? dir_.verify_external(c, password)
                                                                     : auth::verify_password(password, c.password_hash);
    if (!ok) {
      if (temporary(ok.error())) return AuthVerdict::failure(Outcome::temporary, ok.error().message);
      why = fmt::format("credential of {}: {}", c.principal, ok.error().message);
      continue;
    }
    if (*ok) {
      matched = true;
      break;
    }
  }
  if (!matched) return AuthVerdict::failure(Outcome::bad_credentials, why);
  if (!rec->active) return AuthVerdict::failure(Outcome::disabled, fmt::format("{} is disabled", rec->mailbox));
  return AuthVerdict::success(rec->mailbox);
}

AuthVerdict DirectoryAuthenticator::verify_password(const PasswordCheck& check) {
  std::string login = check.authcid;
  std::string master;
  if (opts_.master_users) {
    auto star = login.rfind(opts_.master_separator);
    if (star != std::string::npos && star > 0 && star + 1 < login.size()) {
      master = login.substr(star + 1);
      login = login.substr(0, star);
    } else if (!check.authzid.empty() && !directory::parse_address(check.authcid)) {
      // PLAIN with authzid = user, authcid = master (Dovecot accepts both forms).
      master = check.authcid;
      login = check.authzid;
    }
  }
  if (!master.empty()) {
    auto v = check_record(dir_.lookup_master(master), check.password);
    if (!v.ok()) {
      v.reason = fmt::format("master user {}: {}", master, v.reason);
      return v;
    }
    auto target = dir_.lookup_login(login);
    if (!target) {
      return AuthVerdict::failure(temporary(target.error()) ? Outcome::temporary : Outcome::bad_credentials,
                                  target.error().message);
    }
    if (!target->active) return AuthVerdict::failure(Outcome::disabled, fmt::format("{} is disabled", target->mailbox));
    AuthVerdict ok = AuthVerdict::success(target->mailbox);
    ok.master = master;
    return ok;
  }
  if (!check.authzid.empty()) {
    auto z = directory::parse_address(check.authzid);
    auto c = directory::parse_address(check.authcid);
    if (!z || !c || !(*z == *c)) {
      (void)auth::verify_password(check.password, dummy_hash());
      return AuthVerdict::failure(Outcome::bad_credentials, "the authorization identity differs from the login");
    }
  }
  return check_record(dir_.lookup_login(login), check.password);
}

std::optional<ScramAccount> DirectoryAuthenticator::scram_account(std::string_view authcid) {
  auto rec = dir_.lookup_login(authcid);
  if (!rec) return std::nullopt;
  for (const auto& c : rec->credentials) {
    auto [scheme, data] = split_scheme(c.password_hash);
    if (scheme == "SCRAM-SHA-256") {
      if (auto creds = parse_scram_hash(data)) return ScramAccount{rec->mailbox, rec->active, *creds};
    } else if (scheme == "PLAIN" || scheme == "CLEARTEXT") {
      // Derive on the fly with a salt fixed per account, so repeated exchanges look alike.
      auto salt = sha256("tern-scram-salt:" + rec->mailbox + ":" + c.principal).substr(0, 16);
      if (auto creds = derive_scram_credentials(data, salt, 4096)) return ScramAccount{rec->mailbox, rec->active, *creds};
    }
  }
  return std::nullopt;
}

}  // namespace tern::auth
