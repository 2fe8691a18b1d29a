// tern::queue::SmtpTransport — the Transport that sends over SMTP/LMTP: MX delivery (RFC 5321 5.1,
// null MX RFC 7505), smart hosts with AUTH, a Postfix-style transport map, opportunistic or required
// STARTTLS (RFC 3207), REQUIRETLS (RFC 8689) and connection reuse. The protocol is the sans-I/O
// smtp::ClientEngine; this file owns the sockets, DNS, routing and the mapping of replies to statuses.
//
//   [delivery]
//   helo_name = "mail.example.com"
//   mx_port = 25
//   [[relay]]
//   name = "ses"  host = "email-smtp.eu-west-1.amazonaws.com"  port = 587  tls = "starttls"
//   username = "AKIA..."  password_file = "/etc/tern/ses.pass"
//   [transport]
//   "*" = "relay:ses"
//   "lists.example.com" = "lmtp:127.0.0.1:24"
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "tern/core/config.hpp"
#include "tern/dns/resolver.hpp"
#include "tern/queue/mta_sts.hpp"
#include "tern/queue/transport.hpp"

namespace tern::queue {

// Where mail for a domain goes (a transport map value).
enum class RouteKind {
  mx,     // "mx": MX lookup of the recipient domain (the default)
  smtp,   // "smtp:host[:port]": that host, no MX lookup (port default: [delivery] mx_port)
  lmtp,   // "lmtp:host:port": LMTP (RFC 2033) to a downstream store
  relay,  // "relay:NAME": the [[relay]] of that name
};

struct Route {
  RouteKind kind = RouteKind::mx;
  std::string host;        // smtp/lmtp: host name or IP literal (IPv6 written "[::1]" in the map)
  std::uint16_t port = 0;  // 0: the default for the kind
  std::string relay;       // relay: its name
  bool operator==(const Route&) const = default;
};

// Parses one transport map value. Bounded: at most 512 octets.
Result<Route> parse_route(std::string_view value);

enum class RelayTls {
  none,      // plaintext (AUTH is then sent in the clear: only for trusted networks)
  starttls,  // STARTTLS required (RFC 3207), certificate verified unless tls_verify = false
  implicit,  // TLS from the first byte (RFC 8314, port 465)
};

struct RelayConfig {
  std::string name;
  std::string host;
  std::uint16_t port = 587;
  RelayTls tls = RelayTls::starttls;
  bool tls_verify = true;
  std::string username;  // AUTH PLAIN/LOGIN (RFC 4954) when set
  std::string password;  // or read from password_file (first line) at parse time
};

struct DeliveryConfig {
  std::string helo_name;  // our name in EHLO; "" = the server's hostname ("localhost" outside a Server)
  std::uint16_t mx_port = 25;                                   // tests point this at a sink
  std::chrono::milliseconds connect_timeout{std::chrono::seconds(30)};
  std::chrono::milliseconds command_timeout{std::chrono::minutes(5)};  // RFC 5321 4.5.3.2
  std::chrono::milliseconds reuse_idle{std::chrono::seconds(5)};       // 0: no connection reuse
  bool mta_sts = true;                // RFC 8461: fetch and honour MTA-STS policies for MX delivery
  std::uint16_t mta_sts_port = 443;   // HTTPS port of mta-sts.DOMAIN (tests use another)
  std::filesystem::path tls_ca_file;  // extra CAs trusted when TLS must be verified ("" = system store)
  std::vector<RelayConfig> relays;
  // Transport map: exact domain, ".parent" for subdomains, "*" for everything else.
  std::map<std::string, Route> transport;
};

// Reads [delivery], every [[relay]] and [transport] from the root table (each sub-table is finish()ed;
// the root itself is not). Relays named in the transport map must exist.
Status parse_delivery_config(ConfigSection& root, DeliveryConfig& out);

// The route for a recipient domain: exact entry, then ".parent" entries from the closest, then "*",
// then MX.
Route route_for(const DeliveryConfig& config, std::string_view domain);

// RFC 5321 5.1: MX hosts by preference, randomised among equal preferences.
std::vector<std::string> order_mx(std::vector<dns::MxRecord> records, std::mt19937& rng);

class SmtpTransport final : public Transport {
 public:
  SmtpTransport(DeliveryConfig config, dns::Resolver& resolver);
  ~SmtpTransport() override;

  asio::awaitable<std::vector<RecipientStatus>> deliver(const DeliveryRequest& request) override;

  // Drops every idle session (shutdown, tests).
  void close_idle();
  std::size_t idle_sessions() const;
  // Connections attempted so far (tests check reuse with it).
  std::uint64_t sessions_opened() const noexcept { return opened_; }

  struct Session;
  struct Target;

 private:
  asio::awaitable<std::vector<RecipientStatus>> deliver_to(const DeliveryRequest& request, const std::vector<Target>& targets);
  asio::awaitable<std::optional<MtaStsPolicy>> mta_sts_policy(const std::string& domain);
  asio::awaitable<Result<std::string>> fetch_mta_sts(const std::string& domain);
  std::shared_ptr<Session> take_idle(const std::string& key, const asio::any_io_executor& ex);
  void put_idle(std::shared_ptr<Session> s);

  DeliveryConfig config_;
  dns::Resolver& resolver_;
  std::mt19937 rng_;
  mutable std::mutex mutex_;
  std::vector<std::shared_ptr<Session>> idle_;
  std::atomic<std::uint64_t> opened_{0};
  struct CachedPolicy {
    std::string id;
    MtaStsPolicy policy;
    std::chrono::steady_clock::time_point expires;
  };
  std::map<std::string, CachedPolicy> sts_cache_;  // by domain, guarded by mutex_
  // MX route decisions (MX hosts in order, after MTA-STS), kept as long as an idle connection is: while we
  // send a stream of messages to one destination we neither resolve nor fetch the policy for each one.
  struct CachedRoute {
    std::shared_ptr<const std::vector<Target>> targets;
    std::chrono::steady_clock::time_point expires;
  };
  std::map<std::string, CachedRoute> route_cache_;  // by domain (+ REQUIRETLS), guarded by mutex_
};

}  // namespace tern::queue
