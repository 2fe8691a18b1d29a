#include "tern/dns/unbound_resolver.hpp"

#include <unbound.h>

#include <algorithm>
#include <cctype>

#include <asio/ip/address_v4.hpp>
#include <asio/ip/address_v6.hpp>

#include "tern/net/worker_pool.hpp"
#include "tern/core/text.hpp"

namespace tern::dns {
namespace {

constexpr int kTypeA = 1, kTypeMx = 15, kTypeTxt = 16, kTypeAaaa = 28, kTypeTlsa = 52;
constexpr int kClassIn = 1;

std::string absolute(const std::string& name) {
  if (name.empty() || name.back() != '.') return name + ".";
  return name;
}

// An uncompressed wire-format domain name (libunbound hands out rdata uncompressed) at `pos`;
// lower-cased, no trailing dot, "" for the root. nullopt if malformed (RFC 1035 3.1 bounds).
std::optional<std::string> read_name(std::string_view rd, std::size_t pos) {
  std::string out;
  std::size_t total = 0;
  for (;;) {
    if (pos >= rd.size()) return std::nullopt;
    auto len = static_cast<unsigned char>(rd[pos++]);
    if (len == 0) break;
    if (len > 63 || pos + len > rd.size()) return std::nullopt;
    total += len + 1;
    if (total > 255) return std::nullopt;
    if (!out.empty()) out += '.';
    out.append(rd.substr(pos, len));
    pos += len;
  }
  return ascii_lower(out);
}

}  // namespace

Result<std::string> local_data_owner(std::string_view record) {
  auto end = record.find_first_of(" \t");
  if (end == 0 || end == std::string_view::npos)
    return fail(ErrorCategory::config, "a local_data record is \"owner. TYPE rdata\": \"" + std::string(record) + "\"");
  return absolute(ascii_lower(record.substr(0, end)));
}

Status parse_dns_config(ConfigSection& s, DnsConfig& out) {
  s.get("local_data", out.local_data);
  s.get("local_only", out.local_only);
  s.get("forwarders", out.forwarders);
  s.get_path("trust_anchor_file", out.trust_anchor_file);
  s.get_path("hosts_file", out.hosts_file);
  s.get("threads", out.threads, 1, 64);
  for (const auto& r : out.local_data)
    if (auto o = local_data_owner(r); !o) s.error("local_data", o.error().message);
  s.finish();
  if (!s.diagnostics().ok()) return fail(s.diagnostics().to_error());
  return {};
}

Result<std::unique_ptr<UnboundResolver>> UnboundResolver::create(const DnsConfig& config) {
  std::unique_ptr<UnboundResolver> r(new UnboundResolver());
  r->ctx_ = ub_ctx_create();
  if (r->ctx_ == nullptr) return fail(ErrorCategory::internal, "libunbound: could not create a resolver context");
  auto check = [](int rc, const std::string& what) -> Status {
    if (rc != 0) return fail(ErrorCategory::config, "dns: " + what + ": " + ub_strerror(rc));
    return {};
  };
  // No stray answers from a system resolver's search list; keep lookups in this process.
  if (auto st = check(ub_ctx_set_option(r->ctx_, "do-ip6:", "yes"), "do-ip6"); !st) return fail(st.error());
  if (config.local_only) {
    // RFC 6761-style isolation: "." static answers NXDOMAIN/no data for everything not given locally.
    if (auto st = check(ub_ctx_zone_add(r->ctx_, ".", "static"), "local-zone ."); !st) return fail(st.error());
  }
  std::vector<std::string> zones;
  for (const auto& rec : config.local_data) {
    auto owner = local_data_owner(rec);
    if (!owner) return fail(owner.error());
    if (!config.local_only && std::find(zones.begin(), zones.end(), *owner) == zones.end()) {
      zones.push_back(*owner);
      if (auto st = check(ub_ctx_zone_add(r->ctx_, owner->c_str(), "static"), "local-zone " + *owner); !st)
        return fail(st.error());
    }
    if (auto st = check(ub_ctx_data_add(r->ctx_, rec.c_str()), "local_data \"" + rec + "\""); !st) return fail(st.error());
  }
  for (const auto& f : config.forwarders)
    if (auto st = check(ub_ctx_set_fwd(r->ctx_, f.c_str()), "forwarder " + f); !st) return fail(st.error());
  if (!config.trust_anchor_file.empty())
    if (auto st = check(ub_ctx_add_ta_file(r->ctx_, config.trust_anchor_file.c_str()),
                        "trust_anchor_file " + config.trust_anchor_file.string());
        !st)
      return fail(st.error());
  if (!config.hosts_file.empty())
    if (auto st = check(ub_ctx_hosts(r->ctx_, config.hosts_file.c_str()), "hosts_file " + config.hosts_file.string()); !st)
      return fail(st.error());
  r->pool_ = std::make_unique<net::WorkerPool>(static_cast<std::size_t>(std::max(1, config.threads)));
  return r;
}

UnboundResolver::~UnboundResolver() {
  if (pool_) pool_->stop();
  if (ctx_ != nullptr) ub_ctx_delete(ctx_);
}

Result<UnboundResolver::Raw> UnboundResolver::lookup(const std::string& name, int rrtype) {
  ub_result* res = nullptr;
  int rc = ub_resolve(ctx_, absolute(name).c_str(), rrtype, kClassIn, &res);
  if (rc != 0) return fail(ErrorCategory::temporary, "DNS lookup of " + name + " failed: " + ub_strerror(rc), kServFail);
  std::unique_ptr<ub_result, void (*)(ub_result*)> guard(res, ub_resolve_free);
  if (res->bogus)
    return fail(ErrorCategory::temporary,
                "DNSSEC validation of " + name + " failed" + (res->why_bogus ? std::string(": ") + res->why_bogus : ""),
                kBogus);
  if (res->nxdomain || res->rcode == 3) return fail(ErrorCategory::not_found, name + ": no such domain (NXDOMAIN)", kNxDomain);
  if (res->rcode != 0)
    return fail(ErrorCategory::temporary, "DNS lookup of " + name + " failed with rcode " + std::to_string(res->rcode), kServFail);
  if (!res->havedata) return fail(ErrorCategory::not_found, name + ": no records of the asked type", kNoData);
  Raw raw;
  raw.secure = res->secure != 0;
  for (int i = 0; res->data[i] != nullptr; ++i) raw.rdata.emplace_back(res->data[i], static_cast<std::size_t>(res->len[i]));
  return raw;
}

namespace {
Result<Answer<MxRecord>> decode_mx(Result<UnboundResolver::Raw> raw, const std::string& name) {
  if (!raw) return fail(raw.error());
  Answer<MxRecord> a;
  a.secure = raw->secure;
  for (const auto& rd : raw->rdata) {
    if (rd.size() < 3) return fail(ErrorCategory::protocol, "malformed MX record for " + name, kServFail);
    MxRecord m;
    m.preference = static_cast<std::uint16_t>((static_cast<unsigned char>(rd[0]) << 8) | static_cast<unsigned char>(rd[1]));
    auto host = read_name(rd, 2);
    if (!host) return fail(ErrorCategory::protocol, "malformed MX record for " + name, kServFail);
    m.exchange = *host;
    a.records.push_back(std::move(m));
  }
  return a;
}

Result<Answer<asio::ip::address>> decode_addr(Result<UnboundResolver::Raw> raw, bool v6, const std::string& name) {
  if (!raw) return fail(raw.error());
  Answer<asio::ip::address> a;
  a.secure = raw->secure;
  for (const auto& rd : raw->rdata) {
    if (!v6 && rd.size() == 4) {
      asio::ip::address_v4::bytes_type b;
      std::copy(rd.begin(), rd.end(), b.begin());
      a.records.emplace_back(asio::ip::address_v4(b));
    } else if (v6 && rd.size() == 16) {
      asio::ip::address_v6::bytes_type b;
      std::copy(rd.begin(), rd.end(), b.begin());
      a.records.emplace_back(asio::ip::address_v6(b));
    } else {
      return fail(ErrorCategory::protocol, "malformed address record for " + name, kServFail);
    }
  }
  return a;
}

Result<Answer<std::string>> decode_txt(Result<UnboundResolver::Raw> raw, const std::string& name) {
  if (!raw) return fail(raw.error());
  Answer<std::string> a;
  a.secure = raw->secure;
  for (const auto& rd : raw->rdata) {
    std::string s;
    std::size_t pos = 0;
    while (pos < rd.size()) {  // RFC 1035 3.3.14: one or more <character-string>
      auto len = static_cast<unsigned char>(rd[pos++]);
      if (pos + len > rd.size()) return fail(ErrorCategory::protocol, "malformed TXT record for " + name, kServFail);
      s.append(rd, pos, len);
      pos += len;
    }
    a.records.push_back(std::move(s));
  }
  return a;
}

Result<Answer<TlsaRecord>> decode_tlsa(Result<UnboundResolver::Raw> raw, const std::string& name) {
  if (!raw) return fail(raw.error());
  Answer<TlsaRecord> a;
  a.secure = raw->secure;
  for (const auto& rd : raw->rdata) {
    if (rd.size() < 3) return fail(ErrorCategory::protocol, "malformed TLSA record for " + name, kServFail);
    TlsaRecord t;
    t.usage = static_cast<std::uint8_t>(rd[0]);
    t.selector = static_cast<std::uint8_t>(rd[1]);
    t.matching = static_cast<std::uint8_t>(rd[2]);
    t.data.assign(rd.begin() + 3, rd.end());
    a.records.push_back(std::move(t));
  }
  return a;
}
}  // namespace

asio::awaitable<Result<Answer<MxRecord>>> UnboundResolver::mx(const std::string& domain) {
  auto raw = co_await pool_->run([&] { return lookup(domain, kTypeMx); });
  co_return decode_mx(std::move(raw), domain);
}
asio::awaitable<Result<Answer<asio::ip::address>>> UnboundResolver::a(const std::string& host) {
  auto raw = co_await pool_->run([&] { return lookup(host, kTypeA); });
  co_return decode_addr(std::move(raw), false, host);
}
asio::awaitable<Result<Answer<asio::ip::address>>> UnboundResolver::aaaa(const std::string& host) {
  auto raw = co_await pool_->run([&] { return lookup(host, kTypeAaaa); });
  co_return decode_addr(std::move(raw), true, host);
}
asio::awaitable<Result<Answer<std::string>>> UnboundResolver::txt(const std::string& name) {
  auto raw = co_await pool_->run([&] { return lookup(name, kTypeTxt); });
  co_return decode_txt(std::move(raw), name);
}
asio::awaitable<Result<Answer<TlsaRecord>>> UnboundResolver::tlsa(const std::string& name) {
  auto raw = co_await pool_->run([&] { return lookup(name, kTypeTlsa); });
  co_return decode_tlsa(std::move(raw), name);
}

}  // namespace tern::dns
