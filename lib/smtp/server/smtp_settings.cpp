#include "tern/smtp/smtp_settings.hpp"

#include "tern/smtp/protocol_config.hpp"

namespace tern::smtp {

Status parse_smtp_config(ConfigSection& s, SmtpSettings& out) {
  std::int64_t v = 0;
  if (s.get("max_hops", v, 10, 1000)) out.max_hops = static_cast<std::size_t>(v);
  s.get("auth_on_mta", out.auth_on_mta);
  s.get_duration("pregreet_wait", out.pregreet_wait);
  auto per_minute = [](ConfigSection& t, std::string_view key, std::uint32_t& field) {
    std::int64_t n = field;
    if (t.get(key, n, 0, 1000000)) field = static_cast<std::uint32_t>(n);
  };
  if (auto t = s.table("rate_limit")) {
    per_minute(*t, "ip_messages_per_minute", out.rate_limit.per_ip.messages_per_minute);
    per_minute(*t, "ip_recipients_per_minute", out.rate_limit.per_ip.recipients_per_minute);
    per_minute(*t, "user_messages_per_minute", out.rate_limit.per_user.messages_per_minute);
    per_minute(*t, "user_recipients_per_minute", out.rate_limit.per_user.recipients_per_minute);
    t->finish();
  }
  if (auto t = s.table("greylist")) {
    t->get("enabled", out.greylist.enabled);
    auto seconds = [&](std::string_view key, std::chrono::seconds& field) {
      std::chrono::milliseconds ms = field;
      if (t->get_duration(key, ms)) field = std::chrono::duration_cast<std::chrono::seconds>(ms);
    };
    seconds("delay", out.greylist.delay);
    seconds("retry_window", out.greylist.retry_window);
    seconds("pass_lifetime", out.greylist.pass_lifetime);
    if (out.greylist.retry_window <= out.greylist.delay)
      t->error("retry_window", "must be longer than delay (a retry must be able to pass)");
    t->finish();
  }
  // The rest of the table is the engine's; it reports unknown keys (ours count as known).
  return parse_smtp_protocol_config(s, out.protocol);
}

}  // namespace tern::smtp
