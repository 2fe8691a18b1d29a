// ternctl: the admin CLI. Each command group lives in its own cmd_<group>.cpp and registers itself;
// the groups only parse arguments and call the library.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tern/core/config.hpp"

namespace ternctl {

// Exit codes: 0 ok, 1 the operation failed (a message was printed), 2 usage error.
inline constexpr int kOk = 0;
inline constexpr int kFailed = 1;
inline constexpr int kUsage = 2;

struct Context {
  std::filesystem::path config_path;  // --config (default: ./tern.toml or $TERN_CONFIG)
  bool json = false;                  // --json

  // The parsed configuration file; nullptr (after printing its errors to stderr) if it cannot be read.
  std::shared_ptr<tern::ConfigDocument> config();
  // [server].data_dir from the config (default "./var/data" relative to the config file).
  std::optional<std::filesystem::path> data_dir();
  // A top-level section of the config (e.g. "directory") for a module to parse; nullopt if absent.
  std::optional<tern::ConfigSection> section(std::string_view name);

  tern::ConfigDiagnostics diagnostics;

 private:
  std::shared_ptr<tern::ConfigDocument> doc_;
  bool loaded_ = false;
};

// One command group: `ternctl <name> <args...>`.
struct Group {
  std::string name;
  std::string summary;  // one line for `ternctl --help`
  std::function<int(Context&, const std::vector<std::string>& args)> run;
};

// Called from static initialisers in cmd_<group>.cpp: `static bool r = ternctl::register_group({...});`
bool register_group(Group g);

// `ternctl store check|reindex USER` (cmd_store.cpp), also reached as `ternctl mailbox check|reindex USER`.
int store_command(Context& ctx, const std::vector<std::string>& args);

// Reads a secret from stdin (no echo when stdin is a terminal). Passwords never come from argv.
std::optional<std::string> read_secret(std::string_view prompt);

// The bytes of FILE, or of standard input for "-". On failure (missing, a directory, unreadable) returns
// nullopt and sets `error` to a sentence naming the file.
std::optional<std::string> read_input(const std::string& file, std::string& error);

}  // namespace ternctl
