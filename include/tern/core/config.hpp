// Reading tern.toml: diagnostics that name file, line and key, and a section reader that
// every module uses for its own part of the file so unknown keys are always reported.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tern/core/result.hpp"

namespace tern {

// One problem in a configuration file: printed as "FILE:LINE: key: message".
struct ConfigIssue {
  std::string file;
  int line = 0;     // 1-based; 0 when unknown
  std::string key;  // dotted path, e.g. "listen[2].address"
  std::string message;
  std::string to_string() const;
};

// Collects every problem instead of stopping at the first, so --check can list them all.
class ConfigDiagnostics {
 public:
  void error(std::string file, int line, std::string key, std::string message);
  bool ok() const noexcept { return issues_.empty(); }
  const std::vector<ConfigIssue>& issues() const noexcept { return issues_; }
  // All issues, one per line.
  std::string to_string() const;
  // An Error of category config carrying every issue (for Result-returning loaders).
  Error to_error() const;

 private:
  std::vector<ConfigIssue> issues_;
};

class ConfigDocument;

// A view over one TOML table. Each get() marks its key as known; finish() reports the rest as
// unknown keys. Getters leave `out` untouched when the key is absent (so the default stands)
// and report a typed error when it has the wrong type or range. They return true if the key was set.
class ConfigSection {
 public:
  const std::string& path() const noexcept { return path_; }
  const std::string& file() const noexcept;
  int line() const noexcept;  // line where this table starts
  int line_of(std::string_view key) const noexcept;
  bool has(std::string_view key) const noexcept;
  // Every key of this table (sorted), for tables whose keys are data (a transport map).
  std::vector<std::string> keys() const;

  bool get(std::string_view key, std::string& out);
  bool get(std::string_view key, bool& out);
  bool get(std::string_view key, std::int64_t& out, std::int64_t min = INT64_MIN, std::int64_t max = INT64_MAX);
  bool get(std::string_view key, int& out, int min = INT32_MIN, int max = INT32_MAX);
  bool get(std::string_view key, std::vector<std::string>& out);
  // A path; relative paths are taken relative to the directory of the config file.
  bool get_path(std::string_view key, std::filesystem::path& out);
  // "30s", "5m", "2h", "5d", "250ms" or a bare integer of seconds.
  bool get_duration(std::string_view key, std::chrono::milliseconds& out);
  // "25M", "25MB", "512K", "1G" (binary multiples) or a bare integer of bytes.
  bool get_size(std::string_view key, std::uint64_t& out);

  // Sub-table `key` (absent -> nullopt; wrong type -> error + nullopt).
  std::optional<ConfigSection> table(std::string_view key);
  // Array of tables `[[key]]`.
  std::vector<ConfigSection> tables(std::string_view key);

  // Report an error about `key` in this section (line of the key if present, else of the table).
  void error(std::string_view key, std::string message);
  // Report every key nobody asked for as "unknown key".
  void finish();

  ConfigDiagnostics& diagnostics() const noexcept { return *diag_; }

 private:
  friend class ConfigDocument;
  ConfigSection(std::shared_ptr<const ConfigDocument> doc, const void* table, std::string path, ConfigDiagnostics* diag);
  std::string key_path(std::string_view key) const;
  const void* node(std::string_view key) const;

  std::shared_ptr<const ConfigDocument> doc_;
  const void* table_;  // toml::table* (toml++ stays out of public headers)
  std::string path_;
  ConfigDiagnostics* diag_;
  std::vector<std::string> used_;
};

// A parsed TOML file. Syntax errors are reported into the diagnostics with their line.
class ConfigDocument : public std::enable_shared_from_this<ConfigDocument> {
 public:
  static std::shared_ptr<ConfigDocument> load_file(const std::filesystem::path& file, ConfigDiagnostics& diag);
  static std::shared_ptr<ConfigDocument> load_string(std::string_view text, std::string file_name,
                                                     std::filesystem::path base_dir, ConfigDiagnostics& diag);
  ~ConfigDocument();
  // The top-level table (nullopt if parsing failed).
  std::optional<ConfigSection> root(ConfigDiagnostics& diag) const;
  const std::string& file() const noexcept { return file_; }
  const std::filesystem::path& base_dir() const noexcept { return base_dir_; }

  struct Impl;
  ConfigDocument(std::unique_ptr<Impl> impl, std::string file, std::filesystem::path base_dir);

 private:
  std::unique_ptr<Impl> impl_;
  std::string file_;
  std::filesystem::path base_dir_;
};

// Parse helpers shared by modules that read durations and sizes from other places too.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view s);
std::optional<std::uint64_t> parse_size(std::string_view s);

}  // namespace tern
