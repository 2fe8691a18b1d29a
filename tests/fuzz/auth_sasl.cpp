// Fuzz target: SASL client messages arrive straight from the network. First byte picks the
// mechanism and whether TLS/channel binding is on; the rest is split at '\n' into client messages.
// Verdicts come from a stub (no hashing), so the engine's parsing and state machine are exercised.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "tern/auth/sasl_server.hpp"
#include "tern/auth/scram.hpp"

namespace {
using namespace tern::auth;
struct Stub : Authenticator, TokenValidator {
  AuthVerdict verify_password(const PasswordCheck& c) override {
    if (c.authcid.empty() || c.password.empty()) std::abort();  // the engine must refuse these itself
    return c.password == "pw" ? AuthVerdict::success(c.authcid) : AuthVerdict::failure(AuthVerdict::Outcome::bad_credentials, "x");
  }
  std::optional<ScramAccount> scram_account(std::string_view user) override {
    static const ScramCredentials creds = *derive_scram_credentials("pencil", "saltsaltsaltsalt", 1);
    if (user != "user") return std::nullopt;
    return ScramAccount{"user", true, creds};
  }
  AuthVerdict validate_token(std::string_view, std::string_view token) override {
    return token == "t" ? AuthVerdict::success("user") : AuthVerdict::failure(AuthVerdict::Outcome::bad_credentials, "x");
  }
};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  SaslOptions o;
  o.plaintext_allowed = data[0] & 0x10;
  o.oauth = data[0] & 0x20;
  if (data[0] & 0x40) o.channel_bindings = {{"tls-exporter", "cbdata"}};
  o.max_response = 4096;
  auto mech = static_cast<SaslMechanism>((data[0] & 0x0f) % 6);
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::vector<std::string> msgs;
  while (!in.empty()) {
    auto nl = in.find('\n');
    msgs.emplace_back(in.substr(0, nl));
    in = nl == std::string_view::npos ? std::string_view() : in.substr(nl + 1);
  }
  Stub stub;
  SaslServer s(o);
  std::string first;
  std::optional<std::string_view> initial;
  if (!msgs.empty() && (data[0] & 0x80)) {
    first = msgs.front();
    msgs.erase(msgs.begin());
    initial = first;
  }
  auto st = run_sasl_sync(s, mech, initial, msgs, stub, &stub);
  if (st.kind == SaslStep::Kind::success && st.identity.empty()) std::abort();
  if (st.kind == SaslStep::Kind::failure && st.failure == SaslFailure::none) std::abort();
  // Nothing is accepted after the end.
  if (s.finished() && s.step("x").kind != SaslStep::Kind::failure) std::abort();
  return 0;
}
