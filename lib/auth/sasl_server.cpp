#include "tern/auth/sasl_server.hpp"

#include <ostream>

#include <fmt/format.h>

#include "tern/auth/password_scheme.hpp"
#include "tern/core/base64.hpp"
#include "tern/directory/address.hpp"

namespace tern::auth {

std::string_view mechanism_name(SaslMechanism m) noexcept {
  switch (m) {
    case SaslMechanism::plain: return "PLAIN";
    case SaslMechanism::login: return "LOGIN";
    case SaslMechanism::scram_sha256: return "SCRAM-SHA-256";
    case SaslMechanism::scram_sha256_plus: return "SCRAM-SHA-256-PLUS";
    case SaslMechanism::xoauth2: return "XOAUTH2";
    case SaslMechanism::oauthbearer: return "OAUTHBEARER";
  }
  return "PLAIN";
}

std::optional<SaslMechanism> parse_mechanism(std::string_view name) noexcept {
  std::string u(name);
  for (auto& c : u)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  for (auto m : {SaslMechanism::plain, SaslMechanism::login, SaslMechanism::scram_sha256,
                 SaslMechanism::scram_sha256_plus, SaslMechanism::xoauth2, SaslMechanism::oauthbearer})
    if (u == mechanism_name(m)) return m;
  return std::nullopt;
}

bool scram_usable(PasswordScheme s) noexcept { return s == PasswordScheme::scram_sha256 || s == PasswordScheme::plain; }

std::vector<SaslMechanism> offered_mechanisms(const SaslOptions& o) {
  std::vector<SaslMechanism> v;
  if (o.scram) {
    if (!o.channel_bindings.empty()) v.push_back(SaslMechanism::scram_sha256_plus);
    v.push_back(SaslMechanism::scram_sha256);
  }
  if (o.plaintext_allowed) {
    v.push_back(SaslMechanism::plain);
    v.push_back(SaslMechanism::login);
    if (o.oauth) {
      v.push_back(SaslMechanism::oauthbearer);
      v.push_back(SaslMechanism::xoauth2);
    }
  }
  return v;
}

std::string_view to_string(SaslFailure f) noexcept {
  switch (f) {
    case SaslFailure::none: return "none";
    case SaslFailure::malformed: return "malformed";
    case SaslFailure::cancelled: return "cancelled";
    case SaslFailure::too_weak: return "too_weak";
    case SaslFailure::unsupported: return "unsupported";
    case SaslFailure::bad_credentials: return "bad_credentials";
    case SaslFailure::disabled: return "disabled";
    case SaslFailure::temporary: return "temporary";
    case SaslFailure::authz_refused: return "authz_refused";
  }
  return "none";
}
std::ostream& operator<<(std::ostream& os, SaslFailure f) { return os << to_string(f); }

std::string_view to_string(SaslStep::Kind k) noexcept {
  switch (k) {
    case SaslStep::Kind::challenge: return "challenge";
    case SaslStep::Kind::check_password: return "check_password";
    case SaslStep::Kind::lookup_scram: return "lookup_scram";
    case SaslStep::Kind::check_token: return "check_token";
    case SaslStep::Kind::success: return "success";
    case SaslStep::Kind::failure: return "failure";
  }
  return "failure";
}
std::ostream& operator<<(std::ostream& os, SaslStep::Kind k) { return os << to_string(k); }

SmtpAuthReply smtp_reply(SaslFailure f) {
  switch (f) {
    case SaslFailure::none: return {235, "2.7.0", "Authentication successful"};
    case SaslFailure::malformed: return {501, "5.5.2", "Cannot decode the authentication response"};
    case SaslFailure::cancelled: return {501, "5.0.0", "Authentication cancelled"};
    case SaslFailure::too_weak: return {538, "5.7.11", "Encryption required for requested authentication mechanism"};
    case SaslFailure::unsupported: return {504, "5.5.4", "Unrecognized authentication type"};
    case SaslFailure::temporary: return {454, "4.7.0", "Temporary authentication failure"};
    case SaslFailure::bad_credentials:
    case SaslFailure::disabled:
    case SaslFailure::authz_refused: return {535, "5.7.8", "Authentication credentials invalid"};
  }
  return {535, "5.7.8", "Authentication credentials invalid"};
}

namespace {

enum class State { idle, plain, login_user, login_pass, wait_password, scram_first, wait_scram, scram_final, wait_token,
                   oauth_error, done };

// RFC 5802 5.1: saslname with "=2C" for ',' and "=3D" for '='.
std::optional<std::string> decode_saslname(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == ',') return std::nullopt;
    if (s[i] != '=') {
      out.push_back(s[i]);
      continue;
    }
    if (s.substr(i, 3) == "=2C") out.push_back(',');
    else if (s.substr(i, 3) == "=3D") out.push_back('=');
    else return std::nullopt;
    i += 2;
  }
  return out;
}

bool same_identity(std::string_view a, std::string_view b) {
  return directory::to_lower(a) == directory::to_lower(b);
}

// A per-process secret so made-up SCRAM salts are stable per user name but unpredictable.
const std::string& fake_salt_key() {
  static const std::string key = [] {
    auto r = random_bytes(32);
    return r ? *r : std::string(32, 'k');
  }();
  return key;
}

}  // namespace

struct SaslServer::Impl {
  SaslOptions opts;
  State st = State::idle;
  SaslMechanism mech = SaslMechanism::plain;
  std::string user;  // claimed user
  std::string login_user;
  // SCRAM
  std::string gs2_header, cb_data, authzid, client_first_bare, nonce, server_first;
  bool cb_used = false;
  std::optional<ScramAccount> account;
  // OAuth
  SaslFailure oauth_failure = SaslFailure::bad_credentials;
  std::string oauth_reason;

  SaslStep failure(SaslFailure f, std::string reason) {
    st = State::done;
    SaslStep s;
    s.kind = SaslStep::Kind::failure;
    s.failure = f;
    s.reason = std::move(reason);
    return s;
  }
  SaslStep challenge(std::string data, State next) {
    st = next;
    SaslStep s;
    s.kind = SaslStep::Kind::challenge;
    s.data = std::move(data);
    return s;
  }
  SaslStep success(std::string identity, std::string master, std::string data) {
    st = State::done;
    SaslStep s;
    s.kind = SaslStep::Kind::success;
    s.identity = std::move(identity);
    s.master = std::move(master);
    s.data = std::move(data);
    return s;
  }
  SaslStep ask_password(std::string authzid, std::string authcid, std::string password) {
    st = State::wait_password;
    user = authcid;
    SaslStep s;
    s.kind = SaslStep::Kind::check_password;
    s.password_check = {std::move(authzid), std::move(authcid), std::move(password)};
    return s;
  }

  // RFC 4616 2: message = [authzid] UTF8NUL authcid UTF8NUL passwd, each at most 255 octets.
  SaslStep plain(std::string_view msg) {
    auto a = msg.find('\0');
    if (a == std::string_view::npos) return failure(SaslFailure::malformed, "PLAIN: no NUL separator");
    auto b = msg.find('\0', a + 1);
    if (b == std::string_view::npos) return failure(SaslFailure::malformed, "PLAIN: one NUL separator only");
    if (msg.find('\0', b + 1) != std::string_view::npos) return failure(SaslFailure::malformed, "PLAIN: too many NULs");
    auto authzid = msg.substr(0, a), authcid = msg.substr(a + 1, b - a - 1), pass = msg.substr(b + 1);
    if (authcid.empty() || pass.empty()) return failure(SaslFailure::malformed, "PLAIN: empty authcid or password");
    if (authzid.size() > 255 || authcid.size() > 255 || pass.size() > 255)
      return failure(SaslFailure::malformed, "PLAIN: a field is longer than 255 octets");
    return ask_password(std::string(authzid), std::string(authcid), std::string(pass));
  }

  SaslStep scram_first(std::string_view msg) {
    // gs2-header = gs2-cbind-flag "," [ authzid ] ","
    bool plus = mech == SaslMechanism::scram_sha256_plus;
    std::size_t pos = 0;
    if (msg.empty()) return failure(SaslFailure::malformed, "SCRAM: empty client-first-message");
    if (msg[0] == 'n' || msg[0] == 'y') {
      if (msg.size() < 2 || msg[1] != ',') return failure(SaslFailure::malformed, "SCRAM: bad gs2 header");
      if (plus) return failure(SaslFailure::malformed, "SCRAM-PLUS: the client did not request channel binding");
      // RFC 5802 6: 'y' while we offer -PLUS means someone stripped it from our list.
      if (msg[0] == 'y' && !opts.channel_bindings.empty())
        return failure(SaslFailure::bad_credentials, "SCRAM: channel binding downgrade detected");
      pos = 2;
    } else if (msg.rfind("p=", 0) == 0) {
      if (!plus) return failure(SaslFailure::malformed, "SCRAM: channel binding requested without -PLUS");
      auto comma = msg.find(',');
      if (comma == std::string_view::npos) return failure(SaslFailure::malformed, "SCRAM: bad gs2 header");
      auto type = msg.substr(2, comma - 2);
      const ChannelBinding* cb = nullptr;
      for (const auto& c : opts.channel_bindings)
        if (c.type == type) cb = &c;
      if (!cb) return failure(SaslFailure::malformed, fmt::format("SCRAM-PLUS: channel binding {} not available", type));
      cb_data = cb->data;
      cb_used = true;
      pos = comma + 1;
    } else {
      return failure(SaslFailure::malformed, "SCRAM: bad gs2 header");
    }
    auto comma = msg.find(',', pos);
    if (comma == std::string_view::npos) return failure(SaslFailure::malformed, "SCRAM: bad gs2 header");
    auto az = msg.substr(pos, comma - pos);
    if (!az.empty()) {
      if (az.rfind("a=", 0) != 0) return failure(SaslFailure::malformed, "SCRAM: bad authzid");
      auto d = decode_saslname(az.substr(2));
      if (!d) return failure(SaslFailure::malformed, "SCRAM: bad authzid");
      authzid = *d;
    }
    gs2_header = std::string(msg.substr(0, comma + 1));
    client_first_bare = std::string(msg.substr(comma + 1));
    std::string_view bare = client_first_bare;
    if (bare.rfind("m=", 0) == 0) return failure(SaslFailure::malformed, "SCRAM: unsupported mandatory extension");
    if (bare.rfind("n=", 0) != 0) return failure(SaslFailure::malformed, "SCRAM: no username");
    auto c1 = bare.find(',');
    if (c1 == std::string_view::npos) return failure(SaslFailure::malformed, "SCRAM: no nonce");
    auto name = decode_saslname(bare.substr(2, c1 - 2));
    if (!name || name->empty()) return failure(SaslFailure::malformed, "SCRAM: bad username");
    auto rest = bare.substr(c1 + 1);
    if (rest.rfind("r=", 0) != 0) return failure(SaslFailure::malformed, "SCRAM: no nonce");
    auto n = rest.substr(2, rest.find(',') == std::string_view::npos ? std::string_view::npos : rest.find(',') - 2);
    if (n.empty()) return failure(SaslFailure::malformed, "SCRAM: empty nonce");
    for (char c : n)
      if (c < 0x21 || c > 0x7e) return failure(SaslFailure::malformed, "SCRAM: bad nonce character");
    nonce = std::string(n);
    user = *name;
    st = State::wait_scram;
    SaslStep s;
    s.kind = SaslStep::Kind::lookup_scram;
    s.scram_user = *name;
    return s;
  }

  SaslStep scram_final(std::string_view msg) {
    auto p = msg.rfind(",p=");
    if (p == std::string_view::npos) return failure(SaslFailure::malformed, "SCRAM: no proof");
    auto without_proof = msg.substr(0, p);
    auto proof = base64_decode(msg.substr(p + 3));
    if (without_proof.rfind("c=", 0) != 0) return failure(SaslFailure::malformed, "SCRAM: no channel binding attribute");
    auto c_end = without_proof.find(',');
    if (c_end == std::string_view::npos) return failure(SaslFailure::malformed, "SCRAM: no nonce");
    auto cbind = base64_decode(without_proof.substr(2, c_end - 2));
    auto r = without_proof.substr(c_end + 1);
    if (r.rfind("r=", 0) != 0) return failure(SaslFailure::malformed, "SCRAM: no nonce");
    auto r_val = r.substr(2, r.find(',') == std::string_view::npos ? std::string_view::npos : r.find(',') - 2);
    if (!proof || proof->size() != 32 || !cbind) return failure(SaslFailure::malformed, "SCRAM: bad proof or binding");
    if (r_val != server_nonce()) return failure(SaslFailure::malformed, "SCRAM: nonce mismatch");
    std::string expected_cb = gs2_header + (cb_used ? cb_data : std::string());
    if (!constant_time_equal(*cbind, expected_cb))
      return failure(SaslFailure::bad_credentials, "SCRAM: channel binding mismatch");
    std::string auth_message = client_first_bare + "," + server_first + "," + std::string(without_proof);
    const auto& cred = account->credentials;
    std::string sig = hmac_sha256(cred.stored_key, auth_message);
    std::string client_key(32, '\0');
    for (std::size_t i = 0; i < 32; ++i) client_key[i] = static_cast<char>((*proof)[i] ^ sig[i]);
    bool ok = constant_time_equal(sha256(client_key), cred.stored_key);
    if (!ok || account->identity.empty()) return failure(SaslFailure::bad_credentials, "SCRAM: wrong password or unknown user");
    if (!account->active) return failure(SaslFailure::disabled, "SCRAM: account disabled");
    if (!authzid.empty() && !same_identity(authzid, account->identity))
      return failure(SaslFailure::authz_refused, "SCRAM: authorization identity differs from the login");
    return success(account->identity, "", "v=" + base64_encode(hmac_sha256(cred.server_key, auth_message)));
  }

  std::string server_nonce() const { return nonce_full; }
  std::string nonce_full;

  SaslStep oauth(std::string_view msg) {
    std::string claimed, token;
    std::string_view kv = msg;
    if (mech == SaslMechanism::oauthbearer) {
      // RFC 7628 3.1: gs2-header kvsep *kvpair kvsep; channel binding is not supported.
      if (msg.rfind("n,", 0) != 0 && msg.rfind("y,", 0) != 0)
        return failure(SaslFailure::malformed, "OAUTHBEARER: bad gs2 header");
      auto comma = msg.find(',', 2);
      if (comma == std::string_view::npos) return failure(SaslFailure::malformed, "OAUTHBEARER: bad gs2 header");
      auto az = msg.substr(2, comma - 2);
      if (!az.empty()) {
        if (az.rfind("a=", 0) != 0) return failure(SaslFailure::malformed, "OAUTHBEARER: bad authzid");
        auto d = decode_saslname(az.substr(2));
        if (!d) return failure(SaslFailure::malformed, "OAUTHBEARER: bad authzid");
        claimed = *d;
      }
      kv = msg.substr(comma + 1);
    }
    // OAUTHBEARER: kvsep *(key=value kvsep) kvsep; XOAUTH2: *(key=value ^A) ^A.
    if (mech == SaslMechanism::oauthbearer) {
      if (kv.empty() || kv[0] != '\x01') return failure(SaslFailure::malformed, "OAUTHBEARER: missing kvsep");
      kv.remove_prefix(1);
    }
    if (kv.empty() || kv.back() != '\x01') return failure(SaslFailure::malformed, "OAuth: message not terminated by ^A");
    kv.remove_suffix(1);
    if (!kv.empty()) {
      if (kv.back() != '\x01') return failure(SaslFailure::malformed, "OAuth: message not terminated by ^A^A");
      kv.remove_suffix(1);
    }
    while (true) {
      auto sep = kv.find('\x01');
      auto pair = kv.substr(0, sep);
      if (pair.rfind("user=", 0) == 0 && mech == SaslMechanism::xoauth2) claimed = std::string(pair.substr(5));
      else if (pair.rfind("auth=", 0) == 0) {
        auto v = pair.substr(5);
        if (v.size() < 7 || directory::to_lower(v.substr(0, 7)) != "bearer ")
          return failure(SaslFailure::malformed, "OAuth: auth is not a Bearer token");
        token = std::string(v.substr(7));
      }
      if (sep == std::string_view::npos) break;
      kv = kv.substr(sep + 1);
    }
    if (token.empty()) return failure(SaslFailure::malformed, "OAuth: no bearer token");
    if (mech == SaslMechanism::xoauth2 && claimed.empty()) return failure(SaslFailure::malformed, "XOAUTH2: no user");
    user = claimed;
    st = State::wait_token;
    SaslStep s;
    s.kind = SaslStep::Kind::check_token;
    s.token_user = claimed;
    s.token = std::move(token);
    return s;
  }

  std::string oauth_error_json() const {
    std::string scope = opts.oauth_scope.empty() ? "" : fmt::format(",\"scope\":\"{}\"", opts.oauth_scope);
    if (mech == SaslMechanism::xoauth2) return fmt::format("{{\"status\":\"401\",\"schemes\":\"bearer\"{}}}", scope);
    return fmt::format("{{\"status\":\"invalid_token\",\"schemes\":\"bearer\"{}}}", scope);
  }
};

SaslServer::SaslServer(SaslOptions options) : impl_(new Impl) { impl_->opts = std::move(options); }
SaslServer::~SaslServer() { delete impl_; }

bool SaslServer::finished() const noexcept { return impl_->st == State::done; }
std::string_view SaslServer::mechanism() const noexcept { return mechanism_name(impl_->mech); }
const std::string& SaslServer::claimed_user() const noexcept { return impl_->user; }

SaslStep SaslServer::start(std::string_view name, std::optional<std::string_view> initial) {
  auto m = parse_mechanism(name);
  if (!m) return impl_->failure(SaslFailure::unsupported, fmt::format("unknown mechanism {}", name));
  return start(*m, initial);
}

SaslStep SaslServer::start(SaslMechanism m, std::optional<std::string_view> initial) {
  auto& I = *impl_;
  if (I.st != State::idle) return I.failure(SaslFailure::malformed, "the exchange was already started");
  I.mech = m;
  bool plaintext = m == SaslMechanism::plain || m == SaslMechanism::login || m == SaslMechanism::xoauth2 ||
                   m == SaslMechanism::oauthbearer;
  if (plaintext && !I.opts.plaintext_allowed)
    return I.failure(SaslFailure::too_weak, fmt::format("{} needs TLS or an internal network", mechanism_name(m)));
  if ((m == SaslMechanism::xoauth2 || m == SaslMechanism::oauthbearer) && !I.opts.oauth)
    return I.failure(SaslFailure::unsupported, "OAuth is not configured");
  if ((m == SaslMechanism::scram_sha256 || m == SaslMechanism::scram_sha256_plus) && !I.opts.scram)
    return I.failure(SaslFailure::unsupported, "SCRAM is not offered: passwords are not stored in a SCRAM form");
  if (m == SaslMechanism::scram_sha256_plus && I.opts.channel_bindings.empty())
    return I.failure(SaslFailure::unsupported, "no channel binding on this connection");
  if (initial && initial->size() > I.opts.max_response) return I.failure(SaslFailure::malformed, "initial response too long");
  switch (m) {
    case SaslMechanism::plain:
      if (!initial) return I.challenge("", State::plain);
      return I.plain(*initial);
    case SaslMechanism::login:
      if (!initial || initial->empty()) return I.challenge("Username:", State::login_user);
      I.login_user = std::string(*initial);
      I.user = I.login_user;
      return I.challenge("Password:", State::login_pass);
    case SaslMechanism::scram_sha256:
    case SaslMechanism::scram_sha256_plus:
      if (!initial || initial->empty()) return I.challenge("", State::scram_first);
      return I.scram_first(*initial);
    case SaslMechanism::xoauth2:
    case SaslMechanism::oauthbearer:
      if (!initial || initial->empty()) return I.challenge("", State::scram_first);  // "first message" state
      return I.oauth(*initial);
  }
  return I.failure(SaslFailure::unsupported, "unknown mechanism");
}

SaslStep SaslServer::step(std::string_view r) {
  auto& I = *impl_;
  if (r.size() > I.opts.max_response) return I.failure(SaslFailure::malformed, "response too long");
  switch (I.st) {
    case State::plain: return I.plain(r);
    case State::login_user:
      if (r.empty() || r.size() > 255) return I.failure(SaslFailure::malformed, "LOGIN: bad user name");
      I.login_user = std::string(r);
      I.user = I.login_user;
      return I.challenge("Password:", State::login_pass);
    case State::login_pass:
      if (r.empty() || r.size() > 255) return I.failure(SaslFailure::malformed, "LOGIN: bad password");
      return I.ask_password("", I.login_user, std::string(r));
    case State::scram_first:
      if (I.mech == SaslMechanism::xoauth2 || I.mech == SaslMechanism::oauthbearer) return I.oauth(r);
      return I.scram_first(r);
    case State::scram_final: return I.scram_final(r);
    case State::oauth_error:
      // RFC 7628 3.2.3: the client answers the error challenge with a lone ^A (XOAUTH2: empty).
      return I.failure(I.oauth_failure, I.oauth_reason);
    default: return I.failure(SaslFailure::malformed, "unexpected client message");
  }
}

SaslStep SaslServer::cancel() { return impl_->failure(SaslFailure::cancelled, "the client cancelled"); }

SaslStep SaslServer::password_checked(const AuthVerdict& v) {
  auto& I = *impl_;
  if (I.st != State::wait_password) return I.failure(SaslFailure::malformed, "no password check was pending");
  switch (v.outcome) {
    case AuthVerdict::Outcome::ok: return I.success(v.identity, v.master, "");
    case AuthVerdict::Outcome::disabled: return I.failure(SaslFailure::disabled, v.reason);
    case AuthVerdict::Outcome::temporary: return I.failure(SaslFailure::temporary, v.reason);
    case AuthVerdict::Outcome::bad_credentials: break;
  }
  return I.failure(SaslFailure::bad_credentials, v.reason);
}

SaslStep SaslServer::scram_found(std::optional<ScramAccount> account) {
  auto& I = *impl_;
  if (I.st != State::wait_scram) return I.failure(SaslFailure::malformed, "no SCRAM lookup was pending");
  if (!account) {
    // Unknown user: continue with a stable made-up salt so the exchange looks the same (RFC 5802 9).
    ScramAccount fake;
    fake.credentials.salt = hmac_sha256(fake_salt_key(), I.user).substr(0, 16);
    fake.credentials.iterations = 4096;
    auto k = random_bytes(32);
    fake.credentials.stored_key = k ? *k : std::string(32, '\0');
    fake.credentials.server_key = fake.credentials.stored_key;
    account = std::move(fake);
  }
  I.account = std::move(account);
  std::string suffix;
  if (I.opts.scram_nonce) {
    suffix = I.opts.scram_nonce();
  } else {
    auto rnd = random_bytes(18);
    if (!rnd) return I.failure(SaslFailure::temporary, "no randomness for the server nonce");
    suffix = base64_encode(*rnd);
  }
  I.nonce_full = I.nonce + suffix;
  I.server_first = fmt::format("r={},s={},i={}", I.nonce_full, base64_encode(I.account->credentials.salt),
                               I.account->credentials.iterations);
  return I.challenge(I.server_first, State::scram_final);
}

SaslStep SaslServer::token_checked(const AuthVerdict& v) {
  auto& I = *impl_;
  if (I.st != State::wait_token) return I.failure(SaslFailure::malformed, "no token check was pending");
  if (v.outcome == AuthVerdict::Outcome::temporary) return I.failure(SaslFailure::temporary, v.reason);
  if (v.ok()) {
    if (!I.user.empty() && !same_identity(I.user, v.identity))
      return I.failure(SaslFailure::authz_refused, "the token belongs to another user");
    return I.success(v.identity, "", "");
  }
  I.oauth_failure = v.outcome == AuthVerdict::Outcome::disabled ? SaslFailure::disabled : SaslFailure::bad_credentials;
  I.oauth_reason = v.reason;
  return I.challenge(I.oauth_error_json(), State::oauth_error);
}

SaslStep run_sasl_sync(SaslServer& server, SaslMechanism mechanism, std::optional<std::string_view> initial,
                       const std::vector<std::string>& responses, Authenticator& authenticator,
                       TokenValidator* tokens) {
  SaslStep s = server.start(mechanism, initial);
  std::size_t next = 0;
  for (int guard = 0; guard < 32; ++guard) {
    switch (s.kind) {
      case SaslStep::Kind::check_password: s = server.password_checked(authenticator.verify_password(s.password_check)); break;
      case SaslStep::Kind::lookup_scram: s = server.scram_found(authenticator.scram_account(s.scram_user)); break;
      case SaslStep::Kind::check_token:
        s = server.token_checked(tokens ? tokens->validate_token(s.token_user, s.token)
                                        : AuthVerdict::failure(AuthVerdict::Outcome::temporary, "no token validator"));
        break;
      case SaslStep::Kind::challenge:
        if (next >= responses.size()) return s;
        s = server.step(responses[next++]);
        break;
      case SaslStep::Kind::success:
      case SaslStep::Kind::failure: return s;
    }
  }
  return s;
}

}  // namespace tern::auth
