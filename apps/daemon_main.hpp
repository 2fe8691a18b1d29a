// Argument parsing shared by the reference daemons; everything else is in the library.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>

#include "tern/server/daemon.hpp"
#include "tern/version.hpp"

inline int daemon_main(int argc, char** argv, tern::DaemonOptions options) {
  std::string config;
  bool check = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if ((a == "--config" || a == "-c") && i + 1 < argc) config = argv[++i];
    else if (a.rfind("--config=", 0) == 0) config = a.substr(9);
    else if (a == "--check") check = true;
    else if (a == "--services") {  // the listener roles this build provides, one per line (scripts/run uses it)
      for (const auto& n : tern::ServiceRegistry::with_builtins().names()) std::printf("%s\n", n.c_str());
      return 0;
    } else if (a == "--version") { std::printf("%s %s\n", options.program.c_str(), tern::runtime_version()); return 0; }
    else if (a == "--help" || a == "-h") {
      std::printf("usage: %s --config FILE [--check]\n\n"
                  "  --config FILE  the tern.toml to run (default: $TERN_CONFIG or ./tern.toml)\n"
                  "  --services     list the listener roles this build provides\n"
                  "  --check        validate the config: exit 0, or print FILE:LINE: key: message lines and exit 2\n",
                  options.program.c_str());
      return 0;
    } else {
      std::fprintf(stderr, "%s: unknown argument '%s' (see --help)\n", options.program.c_str(), a.c_str());
      return 2;
    }
  }
  if (config.empty()) config = std::getenv("TERN_CONFIG") ? std::getenv("TERN_CONFIG") : "tern.toml";
  if (check) return tern::check_config(config, options, std::cerr);
  return tern::run_daemon(config, options);
}
