// The [smtp] section of tern.toml: the engine's protocol settings (extensions and limits, read by
// parse_smtp_protocol_config) plus what the SMTP service itself decides. Shared by the smtp, submission,
// submissions and lmtp listeners; defaults are documented in docs/configuration.md.
#pragma once

#include <cstddef>

#include "tern/core/config.hpp"
#include "tern/core/result.hpp"
#include "tern/smtp/server_engine.hpp"

namespace tern::smtp {

struct SmtpSettings {
  ServerConfig protocol;      // max_message_size, max_recipients, max_errors, vrfy, extensions, ...
  std::size_t max_hops = 50;  // Received headers before 554 5.4.6 (loop detection, RFC 5321 §6.3)
  bool auth_on_mta = false;   // offer AUTH on the smtp (port 25) role too
};

Status parse_smtp_config(ConfigSection& section, SmtpSettings& out);

}  // namespace tern::smtp
