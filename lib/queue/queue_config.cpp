#include "tern/queue/queue_config.hpp"

#include <fmt/format.h>

#include "tern/mime/smtp_address.hpp"

namespace tern::queue {

Status parse_queue_config(ConfigSection& s, QueueConfig& out) {
  std::size_t issues = s.diagnostics().issues().size();
  s.get_path("spool_dir", out.spool_dir);
  std::vector<std::string> schedule;
  if (s.get("retry_schedule", schedule)) {
    std::vector<std::chrono::seconds> parsed;
    for (const auto& item : schedule) {
      auto d = parse_duration(item);
      if (!d || d->count() <= 0) {
        s.error("retry_schedule", fmt::format("'{}' is not a positive duration (\"5m\", \"1h\")", item));
        parsed.clear();
        break;
      }
      parsed.push_back(std::chrono::duration_cast<std::chrono::seconds>(*d));
      if (parsed.back().count() == 0) parsed.back() = std::chrono::seconds(1);
    }
    if (schedule.empty()) s.error("retry_schedule", "needs at least one duration");
    if (!parsed.empty()) out.retry_schedule = std::move(parsed);
  }
  std::chrono::milliseconds d{};
  if (s.get_duration("max_age", d)) {
    if (d.count() <= 0) s.error("max_age", "must be positive");
    else out.max_age = std::chrono::duration_cast<std::chrono::seconds>(d);
  }
  if (s.get_duration("delay_warning", d)) out.delay_warning = std::chrono::duration_cast<std::chrono::seconds>(d);
  s.get("per_destination", out.per_destination, 1, 1000);
  s.get("max_connections", out.max_connections, 1, 100000);
  s.get("recipients_per_delivery", out.recipients_per_delivery, 1, 100000);
  s.get("bounces", out.bounces);
  if (s.get("postmaster_copy", out.postmaster_copy) && !out.postmaster_copy.empty() &&
      !mime::parse_smtp_mailbox(out.postmaster_copy, true))
    s.error("postmaster_copy", "must be an address (\"postmaster@example.org\", RFC 5321 4.1.2)");
  if (s.get_duration("control_poll", d)) {
    if (d.count() <= 0) s.error("control_poll", "must be positive");
    else out.control_poll = d;
  }
  s.finish();
  if (s.diagnostics().issues().size() != issues) return fail(ErrorCategory::config, "invalid [queue] section");
  return {};
}

}  // namespace tern::queue
