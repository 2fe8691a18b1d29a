#include "tern/core/config.hpp"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <toml++/toml.h>

namespace tern {

std::string ConfigIssue::to_string() const {
  std::string where = line > 0 ? fmt::format("{}:{}", file, line) : file;
  if (key.empty()) return fmt::format("{}: {}", where, message);
  return fmt::format("{}: {}: {}", where, key, message);
}

void ConfigDiagnostics::error(std::string file, int line, std::string key, std::string message) {
  issues_.push_back(ConfigIssue{std::move(file), line, std::move(key), std::move(message)});
}

std::string ConfigDiagnostics::to_string() const {
  std::string out;
  for (const auto& i : issues_) {
    out += i.to_string();
    out.push_back('\n');
  }
  return out;
}

Error ConfigDiagnostics::to_error() const {
  std::string msg = to_string();
  if (!msg.empty() && msg.back() == '\n') msg.pop_back();
  return Error(ErrorCategory::config, msg.empty() ? "invalid configuration" : msg);
}

struct ConfigDocument::Impl {
  toml::table table;
  bool ok = false;
};

ConfigDocument::ConfigDocument(std::unique_ptr<Impl> impl, std::string file, std::filesystem::path base_dir)
    : impl_(std::move(impl)), file_(std::move(file)), base_dir_(std::move(base_dir)) {}
ConfigDocument::~ConfigDocument() = default;

std::shared_ptr<ConfigDocument> ConfigDocument::load_string(std::string_view text, std::string file_name,
                                                            std::filesystem::path base_dir, ConfigDiagnostics& diag) {
  auto impl = std::make_unique<Impl>();
  try {
    impl->table = toml::parse(text, file_name);
    impl->ok = true;
  } catch (const toml::parse_error& e) {
    diag.error(file_name, static_cast<int>(e.source().begin.line), "", std::string(e.description()));
  }
  return std::make_shared<ConfigDocument>(std::move(impl), std::move(file_name), std::move(base_dir));
}

std::shared_ptr<ConfigDocument> ConfigDocument::load_file(const std::filesystem::path& file, ConfigDiagnostics& diag) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    diag.error(file.string(), 0, "", "cannot open the configuration file");
    return nullptr;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  auto base = std::filesystem::absolute(file).parent_path();
  return load_string(ss.str(), file.string(), base, diag);
}

std::optional<ConfigSection> ConfigDocument::root(ConfigDiagnostics& diag) const {
  if (!impl_->ok) return std::nullopt;
  return ConfigSection(shared_from_this(), &impl_->table, "", &diag);
}

// ---------------------------------------------------------------------------------------------

namespace {
const toml::table& T(const void* p) { return *static_cast<const toml::table*>(p); }
int node_line(const toml::node* n) { return n ? static_cast<int>(n->source().begin.line) : 0; }
}  // namespace

ConfigSection::ConfigSection(std::shared_ptr<const ConfigDocument> doc, const void* table, std::string path,
                             ConfigDiagnostics* diag)
    : doc_(std::move(doc)), table_(table), path_(std::move(path)), diag_(diag) {}

const std::string& ConfigSection::file() const noexcept { return doc_->file(); }
int ConfigSection::line() const noexcept { return static_cast<int>(T(table_).source().begin.line); }

std::string ConfigSection::key_path(std::string_view key) const {
  if (path_.empty()) return std::string(key);
  return path_ + "." + std::string(key);
}

const void* ConfigSection::node(std::string_view key) const { return T(table_).get(key); }

bool ConfigSection::has(std::string_view key) const noexcept { return T(table_).contains(key); }

std::vector<std::string> ConfigSection::keys() const {
  std::vector<std::string> out;
  for (auto&& [k, v] : T(table_)) out.emplace_back(k.str());
  return out;
}

int ConfigSection::line_of(std::string_view key) const noexcept {
  const auto& t = T(table_);
  for (auto&& [k, v] : t) {
    if (k.str() == key) {
      int l = static_cast<int>(k.source().begin.line);
      return l > 0 ? l : node_line(&v);
    }
  }
  return line();
}

void ConfigSection::error(std::string_view key, std::string message) {
  diag_->error(file(), line_of(key), key_path(key), std::move(message));
}

bool ConfigSection::get(std::string_view key, std::string& out) {
  used_.emplace_back(key);
  auto* n = static_cast<const toml::node*>(node(key));
  if (!n) return false;
  if (auto* s = n->as_string()) { out = s->get(); return true; }
  error(key, "expected a string");
  return false;
}

bool ConfigSection::get(std::string_view key, bool& out) {
  used_.emplace_back(key);
  auto* n = static_cast<const toml::node*>(node(key));
  if (!n) return false;
  if (auto* b = n->as_boolean()) { out = b->get(); return true; }
  error(key, "expected true or false");
  return false;
}

bool ConfigSection::get(std::string_view key, std::int64_t& out, std::int64_t min, std::int64_t max) {
  used_.emplace_back(key);
  auto* n = static_cast<const toml::node*>(node(key));
  if (!n) return false;
  auto* i = n->as_integer();
  if (!i) { error(key, "expected an integer"); return false; }
  if (i->get() < min || i->get() > max) {
    error(key, fmt::format("must be between {} and {} (got {})", min, max, i->get()));
    return false;
  }
  out = i->get();
  return true;
}

bool ConfigSection::get(std::string_view key, int& out, int min, int max) {
  std::int64_t v = out;
  if (!get(key, v, min, max)) return false;
  out = static_cast<int>(v);
  return true;
}

bool ConfigSection::get(std::string_view key, std::vector<std::string>& out) {
  used_.emplace_back(key);
  auto* n = static_cast<const toml::node*>(node(key));
  if (!n) return false;
  auto* a = n->as_array();
  if (!a) { error(key, "expected an array of strings"); return false; }
  std::vector<std::string> v;
  for (const auto& e : *a) {
    auto* s = e.as_string();
    if (!s) { error(key, "expected an array of strings"); return false; }
    v.push_back(s->get());
  }
  out = std::move(v);
  return true;
}

bool ConfigSection::get_path(std::string_view key, std::filesystem::path& out) {
  std::string s;
  if (!get(key, s)) return false;
  if (s.empty()) { error(key, "must not be empty"); return false; }
  std::filesystem::path p(s);
  out = p.is_absolute() ? p : (doc_->base_dir() / p).lexically_normal();
  return true;
}

bool ConfigSection::get_duration(std::string_view key, std::chrono::milliseconds& out) {
  used_.emplace_back(key);
  auto* n = static_cast<const toml::node*>(node(key));
  if (!n) return false;
  if (auto* i = n->as_integer()) {
    if (i->get() < 0) { error(key, "must not be negative"); return false; }
    out = std::chrono::seconds(i->get());
    return true;
  }
  if (auto* s = n->as_string()) {
    if (auto d = parse_duration(s->get())) { out = *d; return true; }
  }
  error(key, "expected a duration such as \"30s\", \"5m\", \"2h\" or \"5d\"");
  return false;
}

bool ConfigSection::get_size(std::string_view key, std::uint64_t& out) {
  used_.emplace_back(key);
  auto* n = static_cast<const toml::node*>(node(key));
  if (!n) return false;
  if (auto* i = n->as_integer()) {
    if (i->get() < 0) { error(key, "must not be negative"); return false; }
    out = static_cast<std::uint64_t>(i->get());
    return true;
  }
  if (auto* s = n->as_string()) {
    if (auto v = parse_size(s->get())) { out = *v; return true; }
  }
  error(key, "expected a size such as \"25M\", \"512K\" or a number of bytes");
  return false;
}

std::optional<ConfigSection> ConfigSection::table(std::string_view key) {
  used_.emplace_back(key);
  auto* n = static_cast<const toml::node*>(node(key));
  if (!n) return std::nullopt;
  if (auto* t = n->as_table()) return ConfigSection(doc_, t, key_path(key), diag_);
  error(key, "expected a table");
  return std::nullopt;
}

std::vector<ConfigSection> ConfigSection::tables(std::string_view key) {
  used_.emplace_back(key);
  std::vector<ConfigSection> out;
  auto* n = static_cast<const toml::node*>(node(key));
  if (!n) return out;
  auto* a = n->as_array();
  if (!a || !a->is_array_of_tables()) {
    error(key, fmt::format("expected one or more [[{}]] tables", key_path(key)));
    return out;
  }
  std::size_t idx = 0;
  for (const auto& e : *a) {
    out.push_back(ConfigSection(doc_, e.as_table(), fmt::format("{}[{}]", key_path(key), idx + 1), diag_));
    ++idx;
  }
  return out;
}

void ConfigSection::finish() {
  for (auto&& [k, v] : T(table_)) {
    std::string_view name = k.str();
    if (std::find(used_.begin(), used_.end(), name) != used_.end()) continue;
    int l = static_cast<int>(k.source().begin.line);
    diag_->error(file(), l > 0 ? l : node_line(&v), key_path(name), "unknown key");
  }
}

// ---------------------------------------------------------------------------------------------

std::optional<std::chrono::milliseconds> parse_duration(std::string_view s) {
  std::size_t i = 0;
  std::uint64_t n = 0;
  if (s.empty()) return std::nullopt;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
    if (n > 1'000'000'000ull) return std::nullopt;
    n = n * 10 + static_cast<unsigned>(s[i] - '0');
    ++i;
  }
  if (i == 0) return std::nullopt;
  std::string_view unit = s.substr(i);
  using namespace std::chrono;
  if (unit.empty() || unit == "s") return milliseconds(seconds(n));
  if (unit == "ms") return milliseconds(n);
  if (unit == "m") return milliseconds(minutes(n));
  if (unit == "h") return milliseconds(hours(n));
  if (unit == "d") return milliseconds(hours(24 * n));
  return std::nullopt;
}

std::optional<std::uint64_t> parse_size(std::string_view s) {
  std::size_t i = 0;
  std::uint64_t n = 0;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
    if (n > (1ull << 40)) return std::nullopt;
    n = n * 10 + static_cast<unsigned>(s[i] - '0');
    ++i;
  }
  if (i == 0) return std::nullopt;
  std::string unit(s.substr(i));
  for (auto& c : unit) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (unit.size() == 2 && unit[1] == 'B') unit.pop_back();
  if (unit.empty() || unit == "B") return n;
  if (unit == "K") return n << 10;
  if (unit == "M") return n << 20;
  if (unit == "G") return n << 30;
  return std::nullopt;
}

}  // namespace tern
