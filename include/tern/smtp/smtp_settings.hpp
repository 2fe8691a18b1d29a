// The [smtp] section of tern.toml: the engine's protocol settings (extensions and limits, read by
// parse_smtp_protocol_config) plus what the SMTP service itself decides. Shared by the smtp, submission,
// submissions and lmtp listeners; defaults are documented in docs/configuration.md.
#pragma once

#include <chrono>
#include <cstddef>

#include "tern/core/config.hpp"
#include "tern/core/result.hpp"
#include "tern/smtp/greylist.hpp"
#include "tern/smtp/rate_limiter.hpp"
#include "tern/smtp/server_engine.hpp"

namespace tern::smtp {

struct SmtpSettings {
  ServerConfig protocol;      // max_message_size, max_recipients, max_errors, vrfy, extensions, ...
  std::size_t max_hops = 50;  // Received headers before 554 5.4.6 (loop detection, RFC 5321 §6.3)
  bool auth_on_mta = false;   // offer AUTH on the smtp (port 25) role too
  RateLimitSettings rate_limit;  // [smtp.rate_limit]
  GreylistSettings greylist;     // [smtp.greylist] (off by default)
  // Pregreet test (Postfix postscreen's "greet_wait"): on the smtp role, wait this long before the greeting;
  // a client that talks first is a bot (RFC 5321 §3.1: the client waits for the greeting) and gets
  // 554 5.5.1. 0 (default) disables the wait; a client that already talked is still caught.
  std::chrono::milliseconds pregreet_wait{0};
};

Status parse_smtp_config(ConfigSection& section, SmtpSettings& out);

}  // namespace tern::smtp
