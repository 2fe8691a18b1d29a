// ternctl [--config FILE] [--json] <group> <command> [args...]
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <map>

#include "apps/ternctl/ctl.hpp"
#include "tern/version.hpp"

namespace ternctl {
namespace {
std::map<std::string, Group>& groups() {
  static std::map<std::string, Group> g;
  return g;
}
}  // namespace

bool register_group(Group g) {
  auto name = g.name;
  groups().emplace(std::move(name), std::move(g));
  return true;
}

std::shared_ptr<tern::ConfigDocument> Context::config() {
  if (!loaded_) {
    loaded_ = true;
    doc_ = tern::ConfigDocument::load_file(config_path, diagnostics);
    if (!diagnostics.ok()) {
      std::cerr << diagnostics.to_string();
      doc_.reset();
    }
  }
  return doc_;
}

std::optional<tern::ConfigSection> Context::section(std::string_view name) {
  auto doc = config();
  if (!doc) return std::nullopt;
  auto root = doc->root(diagnostics);
  if (!root) return std::nullopt;
  return root->table(name);
}

std::optional<std::filesystem::path> Context::data_dir() {
  auto doc = config();
  if (!doc) return std::nullopt;
  std::filesystem::path dir = doc->base_dir() / "var" / "data";
  if (auto server = section("server")) server->get_path("data_dir", dir);
  if (!diagnostics.ok()) {
    std::cerr << diagnostics.to_string();
    return std::nullopt;
  }
  return dir;
}

std::optional<std::string> read_input(const std::string& file, std::string& error) {
  std::FILE* f = file == "-" ? stdin : std::fopen(file.c_str(), "rb");
  if (!f) {
    error = "cannot open " + file + ": " + std::strerror(errno);
    return std::nullopt;
  }
  std::string data;
  char buf[65536];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) data.append(buf, n);
  bool failed = std::ferror(f) != 0;
  int err = errno;
  if (f != stdin) std::fclose(f);
  if (failed) {
    error = "cannot read " + file + ": " + std::strerror(err);  // e.g. "Is a directory"
    return std::nullopt;
  }
  return data;
}

std::optional<std::string> read_secret(std::string_view prompt) {
  bool tty = isatty(STDIN_FILENO);
  termios old{};
  if (tty) {
    std::cerr << prompt << std::flush;
    tcgetattr(STDIN_FILENO, &old);
    termios quiet = old;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
  }
  std::string line;
  bool ok = static_cast<bool>(std::getline(std::cin, line));
  if (tty) {
    tcsetattr(STDIN_FILENO, TCSANOW, &old);
    std::cerr << "\n";
  }
  if (!ok) return std::nullopt;
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

}  // namespace ternctl

namespace {
void usage(std::FILE* out) {
  std::fprintf(out, "usage: ternctl [--config FILE] [--json] <group> <command> [args...]\n\ngroups:\n");
  for (const auto& [name, g] : ternctl::groups()) std::fprintf(out, "  %-10s %s\n", name.c_str(), g.summary.c_str());
}
}  // namespace

int main(int argc, char** argv) {
  ternctl::Context ctx;
  if (const char* env = std::getenv("TERN_CONFIG")) ctx.config_path = env;
  else ctx.config_path = "tern.toml";
  std::vector<std::string> rest;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (rest.empty() && (a == "--config" || a == "-c")) {
      if (++i >= argc) { std::fprintf(stderr, "ternctl: --config needs a file\n"); return ternctl::kUsage; }
      ctx.config_path = argv[i];
    } else if (rest.empty() && a.rfind("--config=", 0) == 0) {
      ctx.config_path = a.substr(9);
    } else if (a == "--json") {
      ctx.json = true;
    } else if (rest.empty() && (a == "--help" || a == "-h")) {
      usage(stdout);
      return ternctl::kOk;
    } else if (rest.empty() && a == "--version") {
      std::printf("ternctl %s\n", tern::runtime_version());
      return ternctl::kOk;
    } else {
      rest.push_back(std::move(a));
    }
  }
  if (rest.empty()) { usage(stderr); return ternctl::kUsage; }
  auto it = ternctl::groups().find(rest.front());
  if (it == ternctl::groups().end()) {
    std::fprintf(stderr, "ternctl: unknown command group '%s'\n", rest.front().c_str());
    usage(stderr);
    return ternctl::kUsage;
  }
  rest.erase(rest.begin());
  return it->second.run(ctx, rest);
}
