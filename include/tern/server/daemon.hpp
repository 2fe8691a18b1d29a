// What the reference daemons (tern-maild, tern-smtpd, tern-imapd) do, as library calls, so a host
// product's own executable can do the same in a few lines.
#pragma once

#include <filesystem>
#include <ostream>
#include <string>
#include <vector>

#include "tern/server/server.hpp"

namespace tern {

struct DaemonOptions {
  std::string program = "tern-maild";
  // Listener roles this daemon runs; empty means all of them. Other [[listen]] blocks are ignored.
  std::vector<std::string> services;
};

// Validates the config as the daemon would run it. Prints each problem as "FILE:LINE: key: message".
// Returns 0 when valid, 2 otherwise (the --check exit codes).
int check_config(const std::filesystem::path& file, const DaemonOptions& options, std::ostream& errors);

// Loads the config, starts the server with signal handling (SIGTERM/SIGINT drain, SIGHUP reloads TLS)
// and blocks until it stops. Returns the process exit code: 0 after a clean stop, 1 if it could not start,
// 2 for an invalid config.
int run_daemon(const std::filesystem::path& file, const DaemonOptions& options);

}  // namespace tern
