// Structured logging: one line per event, with level, timestamp, session id and key=value fields.
//
//   2026-11-23T10:00:00.123Z info  listener.started session=- service=smtp address=127.0.0.1:2525
//
// Text (default, to stderr) or JSON lines. A host product may install its own sink.
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <string>
#include <string_view>
#include <type_traits>

#include <fmt/format.h>

namespace tern::log {

enum class Level { debug = 0, info = 1, warn = 2, error = 3 };
enum class Format { text, json };

std::string_view to_string(Level l) noexcept;
bool parse_level(std::string_view s, Level& out) noexcept;

// One key=value pair. Values are formatted with fmt at the call site.
struct Field {
  std::string_view key;
  std::string value;

  Field(std::string_view k, std::string_view v) : key(k), value(v) {}
  Field(std::string_view k, const std::string& v) : key(k), value(v) {}
  Field(std::string_view k, const char* v) : key(k), value(v ? v : "") {}
  template <class T, std::enable_if_t<std::is_arithmetic_v<T>, int> = 0>
  Field(std::string_view k, T v) : key(k), value(fmt::to_string(v)) {}
};
using Fields = std::initializer_list<Field>;

// Receives each finished line (without the newline). Called on the logging thread; must be thread-safe.
using Sink = std::function<void(Level, std::string_view line)>;

struct Options {
  Level level = Level::info;
  Format format = Format::text;
};

void configure(const Options& options);
Options current_options();
// Replace the output (default: stderr). Pass an empty function to restore stderr.
void set_sink(Sink sink);

bool enabled(Level l) noexcept;
// Formats one line; exposed for tests.
std::string format_line(Format f, Level l, std::string_view session, std::string_view event, Fields fields);
void write(Level l, std::string_view session, std::string_view event, Fields fields);

inline void debug(std::string_view event, Fields f = {}) { if (enabled(Level::debug)) write(Level::debug, "-", event, f); }
inline void info(std::string_view event, Fields f = {}) { if (enabled(Level::info)) write(Level::info, "-", event, f); }
inline void warn(std::string_view event, Fields f = {}) { if (enabled(Level::warn)) write(Level::warn, "-", event, f); }
inline void error(std::string_view event, Fields f = {}) { if (enabled(Level::error)) write(Level::error, "-", event, f); }

// A new process-unique session id, short and sortable by creation ("s1a2b3c").
std::string new_session_id();

// Logger bound to one session id (a connection, a queue run, ...).
class SessionLog {
 public:
  SessionLog() : id_(new_session_id()) {}
  explicit SessionLog(std::string id) : id_(std::move(id)) {}
  const std::string& id() const noexcept { return id_; }
  void debug(std::string_view event, Fields f = {}) const { if (enabled(Level::debug)) write(Level::debug, id_, event, f); }
  void info(std::string_view event, Fields f = {}) const { if (enabled(Level::info)) write(Level::info, id_, event, f); }
  void warn(std::string_view event, Fields f = {}) const { if (enabled(Level::warn)) write(Level::warn, id_, event, f); }
  void error(std::string_view event, Fields f = {}) const { if (enabled(Level::error)) write(Level::error, id_, event, f); }

 private:
  std::string id_;
};

}  // namespace tern::log
