// The whole of tern.toml as typed settings. Each module's section is parsed by that module;
// this file composes them and reports every problem as "FILE:LINE: key: message".
// Every default here is documented in docs/configuration.md.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "tern/core/config.hpp"
#include "tern/core/log.hpp"
#include "tern/core/result.hpp"
#include "tern/auth/auth_config.hpp"
#include "tern/directory/directory_config.hpp"
#include "tern/net/address.hpp"
#include "tern/net/tls.hpp"
#include "tern/queue/queue_config.hpp"
#include "tern/dns/unbound_resolver.hpp"
#include "tern/imap/imap_service.hpp"
#include "tern/mailauth/disclaimer_store.hpp"
#include "tern/mailauth/dkim_keyring.hpp"
#include "tern/mailauth/srs.hpp"
#include "tern/queue/smtp_transport.hpp"
#include "tern/smtp/smtp_settings.hpp"

namespace tern {

// Listener roles a [[listen]] block may name.
inline constexpr std::string_view kServiceNames[] = {"smtp", "submission", "submissions", "lmtp",  "imap",
                                                     "imaps", "pop3",       "pop3s",       "managesieve", "admin"};
bool is_known_service(std::string_view name) noexcept;
// Roles that speak TLS from the first byte.
bool is_implicit_tls_service(std::string_view name) noexcept;

struct ListenConfig {
  std::string service;
  net::ListenAddress address;
  bool proxy_protocol = false;
  int line = 0;  // where the [[listen]] block starts, for later diagnostics
};

struct LimitsConfig {
  std::size_t max_connections = 2000;
  std::size_t max_connections_per_ip = 50;
  std::chrono::milliseconds idle_timeout{std::chrono::minutes(5)};       // RFC 5321 §4.5.3.2.7
  std::chrono::milliseconds transfer_timeout{std::chrono::minutes(10)};  // RFC 5321 §4.5.3.2.6
  std::chrono::milliseconds handshake_timeout{std::chrono::seconds(30)};
  std::chrono::milliseconds shutdown_grace{std::chrono::seconds(30)};
};

struct ServerConfig {
  std::filesystem::path file;  // the file this came from (empty when built in code)
  std::string hostname;        // default: the machine's host name
  std::filesystem::path data_dir = "var/data";
  std::vector<net::IpNetwork> internal_networks;  // trusted for relay and plaintext AUTH; default none
  std::size_t io_threads = 0;                     // 0: one per core
  std::size_t worker_threads = 32;                // blocking work: fsync, hashing, LDAP, SQLite (mostly waiting on I/O)
  net::TlsSettings tls;
  LimitsConfig limits;
  log::Options log;
  std::vector<ListenConfig> listen;
  directory::DirectoryConfig directory;  // [directory]
  auth::AuthConfig auth;                 // [auth]
  smtp::SmtpSettings smtp;               // [smtp]
  mailauth::DkimConfig dkim;             // [dkim] (key_dir default: <data_dir>/dkim)
  mailauth::DisclaimerConfig disclaimer;  // [disclaimer] (dir default: <data_dir>/disclaimer)
  mailauth::SrsConfig srs;               // [srs] (secret_file default: <data_dir>/srs.secret)
  queue::QueueConfig queue;              // [queue]
  dns::DnsConfig dns;                    // [dns]
  queue::DeliveryConfig delivery;        // [delivery], [[relay]], [transport]
  imap::ImapSettings imap;               // [imap]
};

// Parses a file; on failure the Error (category config) lists every issue, one per line.
Result<ServerConfig> load_server_config(const std::filesystem::path& file);
// Same, collecting issues into `diag` (used by --check to print them all).
ServerConfig parse_server_config(const std::filesystem::path& file, ConfigDiagnostics& diag);
ServerConfig parse_server_config_text(std::string_view text, const std::string& file_name,
                                      const std::filesystem::path& base_dir, ConfigDiagnostics& diag);

class ServiceRegistry;
// Checks that go beyond syntax: TLS files load, listeners are for services the registry provides.
void validate_server_config(const ServerConfig& config, const ServiceRegistry& services, ConfigDiagnostics& diag);

}  // namespace tern
