#include "tern/server/daemon.hpp"

#include <signal.h>

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "tern/version.hpp"

namespace tern {
namespace {

// Keeps only the [[listen]] blocks this daemon serves.
void select_services(ServerConfig& config, const DaemonOptions& options) {
  if (options.services.empty()) return;
  std::erase_if(config.listen, [&](const ListenConfig& l) {
    return std::find(options.services.begin(), options.services.end(), l.service) == options.services.end();
  });
}

ServerConfig load(const std::filesystem::path& file, const DaemonOptions& options, ConfigDiagnostics& diag,
                  const ServiceRegistry& services) {
  auto config = parse_server_config(file, diag);
  // A file that is not TOML at all has nothing more to check; otherwise report everything at once.
  for (const auto& issue : diag.issues())
    if (issue.key.empty()) return config;
  select_services(config, options);
  if (config.listen.empty())
    diag.error(file.string(), 0, "listen",
               options.services.empty()
                   ? "no [[listen]] block: nothing to serve"
                   : fmt::format("no [[listen]] block for {} (it serves: {})", options.program,
                                 fmt::join(options.services, ", ")));
  validate_server_config(config, services, diag);
  return config;
}

}  // namespace

int check_config(const std::filesystem::path& file, const DaemonOptions& options, std::ostream& errors) {
  ConfigDiagnostics diag;
  auto registry = ServiceRegistry::with_builtins();
  load(file, options, diag, registry);
  if (diag.ok()) return 0;
  errors << diag.to_string();
  return 2;
}

int run_daemon(const std::filesystem::path& file, const DaemonOptions& options) {
  ConfigDiagnostics diag;
  ServerOptions server_options;
  server_options.handle_signals = true;
  auto config = load(file, options, diag, server_options.services);
  if (!diag.ok()) {
    for (const auto& issue : diag.issues()) fmt::print(stderr, "{}\n", issue.to_string());
    return 2;
  }
  log::configure(config.log);
  // A peer that vanishes mid-write must not kill the process.
  signal(SIGPIPE, SIG_IGN);
  auto server = Server::create(std::move(config), std::move(server_options));
  if (!server) {
    log::error("server.start_failed", {{"error", server.error().message}});
    return 1;
  }
  if (auto st = (*server)->start(); !st) {
    log::error("server.start_failed", {{"error", st.error().message}});
    return 1;
  }
  log::info("server.started", {{"program", options.program}, {"version", runtime_version()},
                               {"hostname", (*server)->config().hostname}});
  (*server)->wait();
  return 0;
}

}  // namespace tern
