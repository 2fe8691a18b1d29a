// [smtp.protocol] settings -> ServerConfig.
#include "tern/smtp/protocol_config.hpp"

namespace tern::smtp {

Status parse_smtp_protocol_config(ConfigSection& section, ServerConfig& out) {
  section.get("hostname", out.hostname);
  std::uint64_t size = out.max_message_size;
  if (section.get_size("max_message_size", size)) {
    if (size < 1024) section.error("max_message_size", "must be at least 1K");
    else out.max_message_size = size;
  }
  auto count = [&](std::string_view key, std::size_t& field, std::int64_t min, std::int64_t max) {
    std::int64_t v = static_cast<std::int64_t>(field);
    if (section.get(key, v, min, max)) field = static_cast<std::size_t>(v);
  };
  count("max_recipients", out.max_recipients, 1, 100000);
  count("max_errors", out.max_errors, 1, 10000);
  count("max_junk_commands", out.max_junk_commands, 1, 100000);
  count("max_command_line", out.max_command_line, 512, 65536);  // RFC 5321 4.5.3.1.4: at least 512
  count("max_text_line", out.max_text_line_tolerated, 998, 10 * 1024 * 1024);
  section.get("pipelining", out.pipelining);
  section.get("eightbitmime", out.eightbitmime);
  section.get("smtputf8", out.smtputf8);
  section.get("chunking", out.chunking);
  section.get("binarymime", out.binarymime);
  section.get("dsn", out.dsn);
  section.get("requiretls", out.requiretls);
  section.get("vrfy", out.vrfy);
  section.get("require_auth", out.require_auth);
  std::int64_t by = out.deliverby;
  if (section.get("deliverby", by, 0, 7 * 24 * 3600)) out.deliverby = static_cast<std::uint32_t>(by);
  section.finish();
  if (!section.diagnostics().ok()) return fail(section.diagnostics().to_error());
  return {};
}

}  // namespace tern::smtp
