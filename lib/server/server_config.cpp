#include "tern/server/server_config.hpp"

#include <unistd.h>

#include <algorithm>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "tern/server/service_registry.hpp"

namespace tern {

bool is_known_service(std::string_view name) noexcept {
  return std::find(std::begin(kServiceNames), std::end(kServiceNames), name) != std::end(kServiceNames);
}

bool is_implicit_tls_service(std::string_view name) noexcept {
  return name == "submissions" || name == "imaps" || name == "pop3s";
}

namespace {

std::string machine_hostname() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return "localhost";
  return buf;
}

void parse_server(ConfigSection s, ServerConfig& c) {
  s.get("hostname", c.hostname);
  s.get_path("data_dir", c.data_dir);
  std::vector<std::string> nets;
  if (s.get("internal_networks", nets)) {
    for (const auto& n : nets) {
      auto parsed = net::IpNetwork::parse(n);
      if (parsed) c.internal_networks.push_back(*parsed);
      else s.error("internal_networks", parsed.error().message);
    }
  }
  std::int64_t v = 0;
  if (s.get("io_threads", v, 0, 256)) c.io_threads = static_cast<std::size_t>(v);
  if (s.get("worker_threads", v, 1, 256)) c.worker_threads = static_cast<std::size_t>(v);
  s.finish();
}

void parse_tls(ConfigSection s, ServerConfig& c) {
  s.get_path("cert", c.tls.cert);
  s.get_path("key", c.tls.key);
  if (s.get("min_version", c.tls.min_version) && c.tls.min_version != "1.2" && c.tls.min_version != "1.3")
    s.error("min_version", "must be \"1.2\" or \"1.3\" (older TLS versions are never offered)");
  if (c.tls.cert.empty() != c.tls.key.empty()) s.error(c.tls.cert.empty() ? "cert" : "key", "cert and key go together");
  for (auto& sni : s.tables("sni")) {
    net::TlsCertificate cert;
    sni.get("names", cert.names);
    sni.get_path("cert", cert.cert);
    sni.get_path("key", cert.key);
    if (cert.names.empty()) sni.error("names", "list the host names this certificate serves");
    if (cert.cert.empty() || cert.key.empty()) sni.error(cert.cert.empty() ? "cert" : "key", "is required");
    sni.finish();
    c.tls.sni.push_back(std::move(cert));
  }
  s.finish();
}

void parse_log(ConfigSection s, ServerConfig& c) {
  std::string level, format;
  if (s.get("level", level) && !log::parse_level(level, c.log.level))
    s.error("level", "must be one of debug, info, warn, error");
  if (s.get("format", format)) {
    if (format == "text") c.log.format = log::Format::text;
    else if (format == "json") c.log.format = log::Format::json;
    else s.error("format", "must be \"text\" or \"json\"");
  }
  s.finish();
}

void parse_limits(ConfigSection s, ServerConfig& c) {
  std::int64_t v = 0;
  if (s.get("max_connections", v, 1, 1'000'000)) c.limits.max_connections = static_cast<std::size_t>(v);
  if (s.get("max_connections_per_ip", v, 1, 1'000'000)) c.limits.max_connections_per_ip = static_cast<std::size_t>(v);
  s.get_duration("idle_timeout", c.limits.idle_timeout);
  s.get_duration("transfer_timeout", c.limits.transfer_timeout);
  s.get_duration("handshake_timeout", c.limits.handshake_timeout);
  s.get_duration("shutdown_grace", c.limits.shutdown_grace);
  s.finish();
}

void parse_listen(ConfigSection s, ServerConfig& c) {
  ListenConfig l;
  l.line = s.line();
  if (!s.get("service", l.service)) s.error("service", "is required (smtp, submission, submissions, lmtp, imap, ...)");
  std::string address;
  if (!s.get("address", address)) {
    s.error("address", "is required, e.g. \"127.0.0.1:2525\" or \"[::1]:2525\"");
  } else if (auto a = net::parse_listen_address(address)) {
    l.address = *a;
  } else {
    s.error("address", a.error().message);
  }
  s.get("proxy_protocol", l.proxy_protocol);
  s.finish();
  c.listen.push_back(std::move(l));
}

ServerConfig parse_document(const std::shared_ptr<ConfigDocument>& doc, ConfigDiagnostics& diag) {
  ServerConfig c;
  if (!doc) return c;
  c.file = doc->file();
  c.data_dir = doc->base_dir() / "var" / "data";
  auto root = doc->root(diag);
  if (!root) return c;
  if (auto s = root->table("server")) parse_server(*s, c);
  if (auto s = root->table("tls")) parse_tls(*s, c);
  if (auto s = root->table("log")) parse_log(*s, c);
  if (auto s = root->table("limits")) parse_limits(*s, c);
  for (auto& s : root->tables("listen")) parse_listen(s, c);
  // Module sections: each module that has settings parses its own table.
  if (auto s = root->table("directory")) (void)directory::parse_directory_config(*s, c.directory);
  if (auto s = root->table("auth")) (void)auth::parse_auth_config(*s, c.auth);
  if (auto s = root->table("smtp")) (void)smtp::parse_smtp_config(*s, c.smtp);
  if (auto s = root->table("queue")) (void)queue::parse_queue_config(*s, c.queue);
  if (auto s = root->table("dns")) (void)dns::parse_dns_config(*s, c.dns);
  if (auto s = root->table("dkim")) (void)mailauth::parse_dkim_config(*s, c.dkim);
  if (auto s = root->table("disclaimer")) (void)mailauth::parse_disclaimer_config(*s, c.disclaimer);
  if (auto s = root->table("srs")) (void)mailauth::parse_srs_config(*s, c.srs);
  if (auto s = root->table("imap")) (void)imap::parse_imap_config(*s, c.imap);
  if (c.dkim.key_dir.empty()) c.dkim.key_dir = c.data_dir / "dkim";
  if (c.disclaimer.dir.empty()) c.disclaimer.dir = c.data_dir / "disclaimer";
  if (c.srs.secret_file.empty()) c.srs.secret_file = c.data_dir / "srs.secret";
  (void)queue::parse_delivery_config(*root, c.delivery);
  root->finish();
  if (c.hostname.empty()) c.hostname = machine_hostname();
  return c;
}

}  // namespace

ServerConfig parse_server_config(const std::filesystem::path& file, ConfigDiagnostics& diag) {
  return parse_document(ConfigDocument::load_file(file, diag), diag);
}

ServerConfig parse_server_config_text(std::string_view text, const std::string& file_name,
                                      const std::filesystem::path& base_dir, ConfigDiagnostics& diag) {
  return parse_document(ConfigDocument::load_string(text, file_name, base_dir, diag), diag);
}

void validate_server_config(const ServerConfig& c, const ServiceRegistry& services, ConfigDiagnostics& diag) {
  std::string file = c.file.string();
  std::set<std::string> addresses;
  bool wants_tls = false;
  for (std::size_t i = 0; i < c.listen.size(); ++i) {
    const auto& l = c.listen[i];
    std::string key = fmt::format("listen[{}]", i + 1);
    if (l.service.empty()) continue;  // already reported
    if (!services.has(l.service)) {
      if (is_known_service(l.service))
        diag.error(file, l.line, key + ".service",
                   fmt::format("service '{}' is not available in this build of Tern yet (available: {})", l.service,
                               fmt::join(services.names(), ", ")));
      else
        diag.error(file, l.line, key + ".service",
                   fmt::format("unknown service '{}' (available: {})", l.service, fmt::join(services.names(), ", ")));
    }
    if (l.address.port != 0 && !addresses.insert(l.address.to_string()).second)
      diag.error(file, l.line, key + ".address", fmt::format("{} is used by another listener", l.address.to_string()));
    if (is_implicit_tls_service(l.service)) wants_tls = true;
  }
  if (wants_tls && !c.tls.configured())
    diag.error(file, 0, "tls.cert", "a TLS certificate is required by the submissions/imaps/pop3s listeners");
  if (c.tls.configured()) {
    auto loaded = net::TlsContextSet::load(c.tls);
    if (!loaded) diag.error(file, 0, "tls", loaded.error().message);
  }
}

Result<ServerConfig> load_server_config(const std::filesystem::path& file) {
  ConfigDiagnostics diag;
  auto config = parse_server_config(file, diag);
  if (!diag.ok()) return fail(diag.to_error());
  return config;
}

}  // namespace tern
