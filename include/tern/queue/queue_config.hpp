// [queue] settings of the outbound queue. Every default is documented in docs/queue.md.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "tern/core/config.hpp"
#include "tern/core/result.hpp"

namespace tern::queue {

struct QueueConfig {
  // Spool directory; empty: <data_dir>/queue.
  std::filesystem::path spool_dir;
  // Delay before attempt n+1 after n failed attempts; the last entry repeats (Postfix/Stalwart-like doubling).
  std::vector<std::chrono::seconds> retry_schedule = {
      std::chrono::minutes(5),  std::chrono::minutes(10), std::chrono::minutes(20), std::chrono::minutes(40),
      std::chrono::hours(1),    std::chrono::hours(2),    std::chrono::hours(4)};
  // A recipient still deferred this long after arrival fails with 4.4.7 and is bounced.
  std::chrono::seconds max_age = std::chrono::hours(24 * 5);
  // One delay DSN once a recipient is still deferred this long after arrival; 0 = never.
  std::chrono::seconds delay_warning = std::chrono::hours(4);
  int per_destination = 20;  // parallel deliveries to one destination domain (Postfix's default too)
  int max_connections = 32;  // parallel deliveries in total
  // Recipients of one message to one destination per Transport call (RFC 5321 4.5.3.1.8: servers must
  // take at least 100 per transaction); more are split into several calls.
  int recipients_per_delivery = 100;
  bool bounces = true;       // send DSNs at all (false: failures are only logged)
  std::string postmaster_copy;  // "" or an address that gets a copy of every failure DSN and double bounces
  // How often the runner looks at the spool's ctl/ directory (ternctl requests while the daemon runs).
  std::chrono::milliseconds control_poll = std::chrono::seconds(1);
};

// Reads every [queue] key into `out` (absent keys keep the defaults above) and calls section.finish().
Status parse_queue_config(ConfigSection& section, QueueConfig& out);

}  // namespace tern::queue
