#include "tern/smtp/greylist.hpp"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "tern/core/durable_file.hpp"
#include "tern/core/text.hpp"
#include "tern/net/address.hpp"

namespace tern::smtp {

namespace {
struct Triplet {
  Greylist::Clock::time_point first_seen;
  Greylist::Clock::time_point last_seen;
  bool passed = false;
};

bool expired(const Triplet& t, const GreylistSettings& s, Greylist::Clock::time_point now) {
  return t.passed ? now - t.last_seen > s.pass_lifetime : now - t.first_seen > s.retry_window;
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
  key += ascii_lower(sender);
  key += '\0';
  key += ascii_lower(recipient);
  std::lock_guard lock(state_->mutex);
  auto& map = state_->triplets;
  auto it = map.find(key);
  if (it != map.end()) {
    Triplet& t = it->second;
    if (!expired(t, settings_, now)) {
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
    for (auto i = map.begin(); i != map.end();) i = expired(i->second, settings_, now) ? map.erase(i) : std::next(i);
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

Status Greylist::save(const std::filesystem::path& file, Clock::time_point now,
                      std::chrono::system_clock::time_point wall_now) const {
  auto unix = [&](Clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::seconds>((wall_now - (now - t)).time_since_epoch()).count();
  };
  std::string out;
  {
    std::lock_guard lock(state_->mutex);
    out.reserve(state_->triplets.size() * 80);
    for (const auto& [key, t] : state_->triplets) {
      if (expired(t, settings_, now)) continue;
      std::string k = key;
      std::replace(k.begin(), k.end(), '\0', '\t');  // SMTP paths hold neither NUL nor TAB
      out += k + '\t' + std::to_string(unix(t.first_seen)) + '\t' + std::to_string(unix(t.last_seen)) + '\t' +
             (t.passed ? "1" : "0") + '\n';
    }
  }
  return write_file_durably(file, out);
}

Result<std::size_t> Greylist::load(const std::filesystem::path& file, Clock::time_point now,
                                   std::chrono::system_clock::time_point wall_now) {
  std::ifstream in(file);
  if (!in) return std::size_t{0};
  auto steady = [&](long long unix) {
    auto wall = std::chrono::system_clock::time_point(std::chrono::seconds(unix));
    return now - std::chrono::duration_cast<Clock::duration>(wall_now - wall);
  };
  std::size_t taken = 0;
  std::string line;
  std::lock_guard lock(state_->mutex);
  while (std::getline(in, line) && state_->triplets.size() < settings_.max_entries) {
    std::vector<std::string> f;
    std::stringstream ss(line);
    for (std::string part; std::getline(ss, part, '\t');) f.push_back(part);
    if (f.size() != 6 || f[0].empty() || (f[5] != "0" && f[5] != "1")) continue;
    char* end = nullptr;
    long long first = std::strtoll(f[3].c_str(), &end, 10);
    if (*end) continue;
    long long last = std::strtoll(f[4].c_str(), &end, 10);
    if (*end) continue;
    Triplet t{steady(first), steady(last), f[5] == "1"};
    if (expired(t, settings_, now)) continue;
    state_->triplets[f[0] + '\0' + ascii_lower(f[1]) + '\0' + ascii_lower(f[2])] = t;
    ++taken;
  }
  return taken;
}

}  // namespace tern::smtp
