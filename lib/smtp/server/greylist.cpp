#include "tern/smtp/greylist.hpp"

#include <algorithm>
#include <cctype>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "tern/net/address.hpp"

namespace tern::smtp {

namespace {
struct Triplet {
  Greylist::Clock::time_point first_seen;
  Greylist::Clock::time_point last_seen;
  bool passed = false;
};

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}
}  // namespace

struct Greylist::State {
  std::mutex mutex;
  std::unordered_map<std::string, Triplet> triplets;
};

Greylist::Greylist(GreylistSettings settings) : settings_(settings), state_(std::make_unique<State>()) {}
Greylist::~Greylist() = default;

std::size_t Greylist::entries() const {
  std::lock_guard lock(state_->mutex);
  return state_->triplets.size();
}

std::chrono::seconds Greylist::check(const asio::ip::address& ip, std::string_view sender, std::string_view recipient,
                                     Clock::time_point now) {
  using std::chrono::seconds;
  if (!settings_.enabled) return seconds{0};
  // NUL separates the parts: it cannot occur in an SMTP path.
  std::string key = net::network_key(ip, 24, 64);
  key += '\0';
  key += lower(sender);
  key += '\0';
  key += lower(recipient);
  std::lock_guard lock(state_->mutex);
  auto& map = state_->triplets;
  auto it = map.find(key);
  if (it != map.end()) {
    Triplet& t = it->second;
    bool expired = t.passed ? now - t.last_seen > settings_.pass_lifetime : now - t.first_seen > settings_.retry_window;
    if (!expired) {
      if (t.passed || now - t.first_seen >= settings_.delay) {
        t.passed = true;
        t.last_seen = now;
        return seconds{0};
      }
      auto left = std::chrono::duration_cast<seconds>(settings_.delay - (now - t.first_seen));
      return std::max(left, seconds{1});
    }
    map.erase(it);
  }
  if (map.size() >= settings_.max_entries) {
    // Expired entries first, then the least recently seen tenth.
    for (auto i = map.begin(); i != map.end();) {
      const Triplet& t = i->second;
      bool expired = t.passed ? now - t.last_seen > settings_.pass_lifetime : now - t.first_seen > settings_.retry_window;
      i = expired ? map.erase(i) : std::next(i);
    }
    if (map.size() >= settings_.max_entries) {
      std::vector<std::pair<Clock::time_point, std::string>> by_age;
      for (const auto& [k, v] : map) by_age.emplace_back(v.last_seen, k);
      std::sort(by_age.begin(), by_age.end());
      std::size_t drop = map.size() - settings_.max_entries + 1 + settings_.max_entries / 10;
      for (std::size_t i = 0; i < drop && i < by_age.size(); ++i) map.erase(by_age[i].second);
    }
  }
  map.emplace(std::move(key), Triplet{now, now, false});
  return std::max(std::chrono::duration_cast<seconds>(settings_.delay), seconds{1});
}

}  // namespace tern::smtp
