// tern::smtp::Greylist — optional greylisting (off by default), as Postgrey does it: the first delivery
// attempt for a (client network, sender, recipient) triplet is answered "451 4.7.1 try again later";
// a retry after `delay` and within `retry_window` passes, and the triplet then passes at once for
// `pass_lifetime` after its last use. Legitimate MTAs retry; most spam bots don't. Authenticated
// sessions and internal networks are never greylisted (the SMTP session decides that).
//
// Clients are grouped per IPv4 /24 and IPv6 /64 because big senders retry from another address of the
// same pool. Addresses are compared case-insensitively. State is in memory, saved to a file now and
// then and at shutdown and loaded at start (save/load), so a restart does not greylist senders that
// already passed. Pure, clock-injected, thread-safe, memory-bounded.
#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include <asio/ip/address.hpp>

#include "tern/core/result.hpp"

namespace tern::smtp {

struct GreylistSettings {
  bool enabled = false;
  std::chrono::seconds delay{300};                     // a retry earlier than this is still deferred
  std::chrono::seconds retry_window{24 * 3600};        // a first attempt older than this is forgotten
  std::chrono::seconds pass_lifetime{35 * 24 * 3600};  // a passed triplet is remembered this long after use
  std::size_t max_entries = 1000000;
};

class Greylist {
 public:
  using Clock = std::chrono::steady_clock;
  explicit Greylist(GreylistSettings settings = {});
  ~Greylist();

  // 0: pass. Otherwise the time left before a retry will pass (at least 1 s).
  std::chrono::seconds check(const asio::ip::address& ip, std::string_view sender, std::string_view recipient,
                             Clock::time_point now);

  const GreylistSettings& settings() const noexcept { return settings_; }
  std::size_t entries() const;

  // Writes every live triplet durably: one line "network<TAB>sender<TAB>recipient<TAB>first<TAB>last<TAB>
  // passed" with Unix times (the steady clock does not survive a restart; `wall_now` is `now` on the
  // wall clock).
  Status save(const std::filesystem::path& file, Clock::time_point now,
              std::chrono::system_clock::time_point wall_now) const;
  // Reads what save() wrote, skipping expired and malformed lines (and a missing file); returns the
  // number of triplets taken, at most max_entries.
  Result<std::size_t> load(const std::filesystem::path& file, Clock::time_point now,
                           std::chrono::system_clock::time_point wall_now);

 private:
  struct State;
  GreylistSettings settings_;
  std::unique_ptr<State> state_;
};

}  // namespace tern::smtp
