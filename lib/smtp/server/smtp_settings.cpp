#include "tern/smtp/smtp_settings.hpp"

#include "tern/smtp/protocol_config.hpp"

namespace tern::smtp {

Status parse_smtp_config(ConfigSection& s, SmtpSettings& out) {
  std::int64_t v = 0;
  if (s.get("max_hops", v, 10, 1000)) out.max_hops = static_cast<std::size_t>(v);
  s.get("auth_on_mta", out.auth_on_mta);
  // The rest of the table is the engine's; it reports unknown keys (ours count as known).
  return parse_smtp_protocol_config(s, out.protocol);
}

}  // namespace tern::smtp
