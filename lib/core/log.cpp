#include "tern/core/log.hpp"

#include "tern/core/json.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>

namespace tern::log {
namespace {

std::atomic<int> g_level{static_cast<int>(Level::info)};
std::atomic<int> g_format{static_cast<int>(Format::text)};
std::mutex g_sink_mutex;
Sink g_sink;  // guarded by g_sink_mutex; empty means stderr

std::string timestamp() {
  using namespace std::chrono;
  auto now = system_clock::now();
  auto secs = time_point_cast<seconds>(now);
  auto ms = duration_cast<milliseconds>(now - secs).count();
  std::time_t t = system_clock::to_time_t(secs);
  std::tm tm{};
  gmtime_r(&t, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                     tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
}

// Text values are quoted when they would otherwise be ambiguous to split on spaces or '='.
void append_text_value(std::string& out, std::string_view v) {
  bool plain = !v.empty();
  for (unsigned char c : v) {
    if (c <= ' ' || c == '"' || c == '=' || c == '\\' || c == 0x7f) { plain = false; break; }
  }
  if (plain) { out.append(v); return; }
  out.push_back('"');
  for (unsigned char c : v) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20 || c == 0x7f) out += fmt::format("\\x{:02x}", c);
        else out.push_back(static_cast<char>(c));
    }
  }
  out.push_back('"');
}

}  // namespace

std::string_view to_string(Level l) noexcept {
  switch (l) {
    case Level::debug: return "debug";
    case Level::info: return "info";
    case Level::warn: return "warn";
    case Level::error: return "error";
  }
  return "info";
}

bool parse_level(std::string_view s, Level& out) noexcept {
  if (s == "debug") out = Level::debug;
  else if (s == "info") out = Level::info;
  else if (s == "warn" || s == "warning") out = Level::warn;
  else if (s == "error") out = Level::error;
  else return false;
  return true;
}

void configure(const Options& options) {
  g_level = static_cast<int>(options.level);
  g_format = static_cast<int>(options.format);
}

Options current_options() {
  return Options{static_cast<Level>(g_level.load()), static_cast<Format>(g_format.load())};
}

void set_sink(Sink sink) {
  std::lock_guard lock(g_sink_mutex);
  g_sink = std::move(sink);
}

bool enabled(Level l) noexcept { return static_cast<int>(l) >= g_level.load(std::memory_order_relaxed); }

std::string format_line(Format f, Level l, std::string_view session, std::string_view event, Fields fields) {
  std::string out;
  out.reserve(128);
  if (f == Format::json) {
    out += "{\"ts\":\"";
    out += timestamp();
    out += "\",\"level\":\"";
    out += to_string(l);
    out += "\",\"event\":";
    append_json_string(out, event);
    out += ",\"session\":";
    append_json_string(out, session);
    for (const auto& field : fields) {
      out.push_back(',');
      append_json_string(out, field.key);
      out.push_back(':');
      append_json_string(out, field.value);
    }
    out.push_back('}');
    return out;
  }
  out += timestamp();
  out += ' ';
  auto lv = to_string(l);
  out += lv;
  out.append(6 - lv.size(), ' ');
  out += event;
  out += " session=";
  append_text_value(out, session);
  for (const auto& field : fields) {
    out.push_back(' ');
    out += field.key;
    out.push_back('=');
    append_text_value(out, field.value);
  }
  return out;
}

void write(Level l, std::string_view session, std::string_view event, Fields fields) {
  std::string line = format_line(static_cast<Format>(g_format.load()), l, session, event, fields);
  std::lock_guard lock(g_sink_mutex);
  if (g_sink) {
    g_sink(l, line);
    return;
  }
  line.push_back('\n');
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

std::string new_session_id() {
  // Process-start time in seconds (base 36) plus a counter: unique per process, ordered by creation.
  static const auto start = static_cast<std::uint64_t>(std::time(nullptr));
  static std::atomic<std::uint64_t> counter{0};
  auto n = counter.fetch_add(1, std::memory_order_relaxed) + 1;
  auto b36 = [](std::uint64_t v) {
    static constexpr char digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
    std::string s;
    do { s.insert(s.begin(), digits[v % 36]); v /= 36; } while (v);
    return s;
  };
  std::string head = b36(start % (36ull * 36 * 36 * 36 * 36));
  head.insert(head.begin(), 5 - head.size(), '0');
  return head + b36(n);
}

}  // namespace tern::log
