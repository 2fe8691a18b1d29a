// tern::dns::UnboundResolver — Resolver on libunbound (a validating recursive resolver in-process), and
// the [dns] configuration section.
//
//   [dns]
//   local_data = ["remote.test. MX 10 mx.remote.test.", "mx.remote.test. A 127.0.0.1"]
//   local_only = true          # answer from local_data/hosts_file only; nothing leaves the host
//   forwarders = ["127.0.0.1@5353"]
//   trust_anchor_file = "/usr/share/dns/root.key"   # enables DNSSEC validation
//   hosts_file = "/etc/hosts"
//   threads = 2
//
// Lookups run the blocking ub_resolve() on a small thread pool of its own and resume the caller on its
// executor; one ub_ctx is shared (libunbound makes a worker per call in this mode and caches across them).
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "tern/core/config.hpp"
#include "tern/dns/resolver.hpp"

struct ub_ctx;

namespace tern::net {
class WorkerPool;
}

namespace tern::dns {

struct DnsConfig {
  // Records in zone-file syntax ("owner. [TTL] TYPE rdata"), served before anything else. Each owner is
  // made a static local zone so other names/types under it answer NXDOMAIN/no data locally.
  std::vector<std::string> local_data;
  // Answer only from local_data and hosts_file (local-zone "." static): for tests and closed networks.
  bool local_only = false;
  // Forward every query to these servers ("IP" or "IP@port") instead of recursing from the root.
  std::vector<std::string> forwarders;
  std::filesystem::path trust_anchor_file;  // DNSSEC root trust anchor; empty: no validation
  std::filesystem::path hosts_file;         // an /etc/hosts-style file; empty: none
  int threads = 2;                          // lookups in flight at once
};

Status parse_dns_config(ConfigSection& section, DnsConfig& out);

// The owner name of a local_data line, lower-cased with its trailing dot ("remote.test."), or an error.
Result<std::string> local_data_owner(std::string_view record);

class UnboundResolver final : public Resolver {
 public:
  static Result<std::unique_ptr<UnboundResolver>> create(const DnsConfig& config);
  ~UnboundResolver() override;

  asio::awaitable<Result<Answer<MxRecord>>> mx(const std::string& domain) override;
  asio::awaitable<Result<Answer<asio::ip::address>>> a(const std::string& host) override;
  asio::awaitable<Result<Answer<asio::ip::address>>> aaaa(const std::string& host) override;
  asio::awaitable<Result<Answer<std::string>>> txt(const std::string& name) override;
  asio::awaitable<Result<Answer<TlsaRecord>>> tlsa(const std::string& name) override;

  // The raw lookup (blocking): record rdata in wire format. Exposed for tests.
  struct Raw {
    std::vector<std::string> rdata;
    bool secure = false;
  };
  Result<Raw> lookup(const std::string& name, int rrtype);

 private:
  UnboundResolver() = default;
  ub_ctx* ctx_ = nullptr;
  std::unique_ptr<net::WorkerPool> pool_;
};

}  // namespace tern::dns
