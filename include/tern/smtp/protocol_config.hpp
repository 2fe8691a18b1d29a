// Reading the SMTP protocol settings (extensions and limits of ServerConfig) from tern.toml.
#pragma once

#include "tern/core/config.hpp"
#include "tern/core/result.hpp"
#include "tern/smtp/server_engine.hpp"

namespace tern::smtp {

// Reads every key below from `section` (defaults: the ServerConfig member initialisers), then
// calls section.finish(), so pass a table that holds only these keys (e.g. `[smtp.protocol]`):
//   hostname = "mx.example.org"      max_message_size = "25M"     max_recipients = 100
//   max_errors = 10                  max_junk_commands = 50       max_command_line = 512
//   max_text_line = 8192             pipelining = true            eightbitmime = true
//   smtputf8 = true                  chunking = true              binarymime = true
//   dsn = true                       requiretls = true            vrfy = false
//   deliverby = 0                    require_auth = false
// `role` and `starttls` are the listener's business and are not read here.
Status parse_smtp_protocol_config(ConfigSection& section, ServerConfig& out);

}  // namespace tern::smtp
