// ternctl dns records DOMAIN [--report-address ADDR] [--mta-sts-mode enforce|testing|none]
//
// Prints the DNS records an operator publishes for a domain this server serves, as zone-file lines
// (or --json): MX, SPF, DKIM (every installed key), DMARC, MTA-STS + TLS-RPT, RFC 6186 SRV records.
// Nothing is generated or changed: DKIM keys come from `ternctl dkim keygen`. docs/dns-records.md explains
// every record.
#include <cstdint>
#include <cstdio>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "apps/ternctl/ctl.hpp"
#include "tern/core/json.hpp"
#include "tern/directory/address.hpp"
#include "tern/directory/directory_config.hpp"
#include "tern/mailauth/dkim_keyring.hpp"
#include "tern/mime/smtp_address.hpp"
#include "tern/queue/mta_sts.hpp"
#include "tern/server/server_config.hpp"

namespace {

namespace dir = tern::directory;

constexpr const char* kUsage =
    "usage: ternctl [--json] dns records DOMAIN [--report-address ADDRESS] [--mta-sts-mode enforce|testing|none]\n";

struct Record {
  std::string purpose;  // mx, spf, spf-helo, dkim, dmarc, mta-sts, tls-rpt, srv
  std::string name;     // absolute, with the trailing dot
  std::string type;     // MX, TXT, SRV
  std::string value;    // TXT: the text itself (unquoted, unsplit); others: RDATA as in a zone file
  std::string comment;  // one line shown above the record in zone-file output
};

// TXT data as zone-file strings of at most 255 octets each (RFC 1035 §3.3.14).
std::string txt_strings(const std::string& v) {
  std::string out;
  for (std::size_t i = 0; i < v.size(); i += 255) out += (i ? " \"" : "\"") + v.substr(i, 255) + "\"";
  if (v.empty()) out = "\"\"";
  return out;
}

std::string fqdn(std::string_view name) {
  std::string n(name);
  if (n.empty() || n.back() != '.') n += '.';
  return n;
}

// RFC 8461 §3.1: the id changes whenever the policy changes. A hash of the policy text gives exactly
// that without any state: 16 hex digits of FNV-1a 64.
std::string policy_id(std::string_view policy) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : policy) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return fmt::format("{:016x}", h);
}

int failed(const std::string& msg) {
  std::fprintf(stderr, "ternctl: %s\n", msg.c_str());
  return ternctl::kFailed;
}

// The keys in key_dir named "<domain>.<selector>.key" (the DkimKeyring naming), by selector.
std::map<std::string, std::string> dkim_records(const std::filesystem::path& key_dir, const std::string& domain,
                                                std::vector<std::string>& notes) {
  std::map<std::string, std::string> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(key_dir, ec)) {
    auto name = e.path().filename().string();
    if (name.size() <= domain.size() + 5 || dir::to_lower(name.substr(0, domain.size() + 1)) != domain + "." ||
        !name.ends_with(".key"))
      continue;
    std::string selector = name.substr(domain.size() + 1, name.size() - domain.size() - 5);
    if (selector.empty() || selector.find('.') != std::string::npos) continue;
    auto key = tern::mailauth::DkimKey::load_pem(e.path());
    if (!key) {
      notes.push_back(fmt::format("{} is not a usable DKIM key: {}", e.path().string(), key.error().message));
      continue;
    }
    out[selector] = key->dns_record();
  }
  return out;
}

int run(ternctl::Context& ctx, const std::vector<std::string>& args) {
  if (args.size() < 2 || args[0] != "records") {
    std::fputs(kUsage, stderr);
    return ternctl::kUsage;
  }
  std::string domain = dir::to_lower(args[1]);
  while (!domain.empty() && domain.back() == '.') domain.pop_back();
  std::string report_address, mode_arg;
  for (std::size_t i = 2; i < args.size(); i += 2) {
    if (i + 1 >= args.size()) {
      std::fputs(kUsage, stderr);
      return ternctl::kUsage;
    }
    if (args[i] == "--report-address") report_address = args[i + 1];
    else if (args[i] == "--mta-sts-mode") mode_arg = args[i + 1];
    else {
      std::fprintf(stderr, "ternctl dns: unknown option %s\n%s", args[i].c_str(), kUsage);
      return ternctl::kUsage;
    }
  }
  if (!mode_arg.empty() && mode_arg != "enforce" && mode_arg != "testing" && mode_arg != "none") {
    std::fprintf(stderr, "ternctl dns: --mta-sts-mode is enforce, testing or none\n");
    return ternctl::kUsage;
  }
  // One RFC 5321 mailbox (lib/mime); ',' '!' ';' have meanings in DMARC's mailto: URIs (RFC 7489 6.2).
  if (!report_address.empty() && (!tern::mime::parse_smtp_mailbox(report_address, true) ||
                                  report_address.find_first_of(" ;,!\"") != std::string::npos)) {
    std::fprintf(stderr, "ternctl dns: --report-address must be one mail address (user@domain)\n");
    return ternctl::kUsage;
  }

  tern::ConfigDiagnostics diag;
  auto config = tern::parse_server_config(ctx.config_path, diag);
  if (!diag.ok()) {
    std::fputs(diag.to_string().c_str(), stderr);
    return ternctl::kFailed;
  }
  auto directory = dir::open_directory(config.directory, config.data_dir);
  if (!directory) return failed(directory.error().message);
  auto snap = (*directory)->snapshot();
  if (!snap) return failed(snap.error().message);
  // The [srs] domain receives bounces and sends forwarded mail without being a directory domain: it gets
  // the MX, SPF, DKIM and DMARC records only (docs/srs.md).
  bool srs_only = false;
  if (!(*snap)->find_domain(domain)) {
    if (config.srs.enabled && domain == config.srs.domain) srs_only = true;
    else
      return failed(fmt::format("{} is not a domain of this server's directory (add it with `ternctl domain add {}`)",
                                domain, domain));
  }

  std::vector<std::string> notes;
  if (srs_only)
    notes.push_back(fmt::format("{} is the [srs] domain: forwarded mail leaves with SRS senders there and bounces "
                                "come back to it, so it needs MX and SPF; mailbox records are not listed",
                                domain));
  else if (config.srs.enabled && !config.srs.domain.empty())
    notes.push_back(fmt::format("forwarded mail uses the [srs] domain {}: publish its records too (`ternctl dns "
                                "records {}`)",
                                config.srs.domain, config.srs.domain));
  std::string host = dir::to_lower(config.hostname);
  while (!host.empty() && host.back() == '.') host.pop_back();
  if (host.find('.') == std::string::npos)
    notes.push_back(fmt::format("[server] hostname \"{}\" is not a fully qualified name; set it to the name the MX "
                                "record points to (e.g. mail.{})",
                                host, domain));

  std::vector<Record> records;
  const std::string d = fqdn(domain), h = fqdn(host);
  // RFC 5321 §5.1: the MX names the host that receives mail for the domain.
  records.push_back({"mx", d, "MX", "10 " + h, "mail for " + domain + " is received by " + host});
  // RFC 7208: only the hosts named by the MX send mail of the domain; everything else fails.
  records.push_back({"spf", d, "TXT", "v=spf1 mx -all", "SPF: only the MX hosts send mail of " + domain});
  // RFC 7208 §2.3: bounces (null sender) are checked against the HELO name, so the host needs its own record
  // (unless it is the domain itself, which must not have two SPF records, §3.2).
  std::string helo = dir::to_lower(config.delivery.helo_name.empty() ? host : config.delivery.helo_name);
  if (helo != domain && helo.find('.') != std::string::npos)
    records.push_back({"spf-helo", fqdn(helo), "TXT", "v=spf1 a -all",
                       "SPF for the HELO name (checked for bounces); in the zone of " + helo});
  for (const auto& relay : config.delivery.relays)
    notes.push_back(fmt::format("mail may leave through relay \"{}\" ({}): add what its provider documents to the "
                                "SPF record (e.g. include:...)",
                                relay.name, relay.host));

  auto keys = dkim_records(config.dkim.key_dir, domain, notes);
  if (keys.empty())
    notes.push_back(fmt::format("no DKIM key for {} in {}: create one with `ternctl dkim keygen {}`", domain,
                                config.dkim.key_dir.string(), domain));
  for (const auto& [selector, value] : keys)
    records.push_back({"dkim", selector + "._domainkey." + d, "TXT", value,
                       "DKIM public key, selector " + selector + " (RFC 6376 §3.6.2)"});

  // RFC 7489 §6.3; p=reject as Cloudron publishes; rua only when the operator names a report address.
  std::string dmarc = "v=DMARC1; p=reject; pct=100";
  if (!report_address.empty()) dmarc += "; rua=mailto:" + report_address;
  records.push_back({"dmarc", "_dmarc." + d, "TXT", dmarc, "DMARC: receivers reject mail that fails SPF and DKIM"});

  std::string policy;
  if (!srs_only) {  // MTA-STS, TLS-RPT and client SRV records: for mailbox domains only
    // RFC 8461 §3.2. Without a TLS certificate no STARTTLS is offered, so the only honest mode is "none".
    std::string mode = mode_arg.empty() ? (config.tls.configured() ? "enforce" : "none") : mode_arg;
    if (mode_arg.empty() && !config.tls.configured())
      notes.push_back("no [tls] certificate is configured, so the MTA-STS policy mode is \"none\"");
    policy = "version: STSv1\r\nmode: " + mode + "\r\n";
    if (mode != "none") policy += "mx: " + host + "\r\n";
    policy += "max_age: 604800\r\n";
    if (auto parsed = tern::queue::parse_mta_sts_policy(policy); !parsed)  // our own delivery code must accept it
      return failed("internal: the MTA-STS policy does not parse: " + parsed.error().message);
    records.push_back({"mta-sts", "_mta-sts." + d, "TXT", "v=STSv1; id=" + policy_id(policy),
                       "MTA-STS (RFC 8461): serve the policy below at https://mta-sts." + domain +
                           "/.well-known/mta-sts.txt"});
    // RFC 8460 §3: rua is required; postmaster exists at every domain (RFC 5321 §4.5.1).
    std::string tlsrpt_to = report_address.empty() ? "postmaster@" + domain : report_address;
    records.push_back({"tls-rpt", "_smtp._tls." + d, "TXT", "v=TLSRPTv1; rua=mailto:" + tlsrpt_to,
                       "TLS reporting (RFC 8460): where senders report TLS failures"});

    // RFC 6186 §3 / RFC 8314 §5.1: client services, implicit TLS preferred (lower priority).
    struct Srv {
      const char* service;
      const char* label;
      int priority;
    };
    static constexpr Srv kSrv[] = {{"submissions", "_submissions._tcp.", 0}, {"submission", "_submission._tcp.", 10},
                                   {"imaps", "_imaps._tcp.", 0},             {"imap", "_imap._tcp.", 10},
                                   {"pop3s", "_pop3s._tcp.", 0},             {"pop3", "_pop3._tcp.", 10}};
    for (const auto& srv : kSrv) {
      std::set<std::uint16_t> ports;
      for (const auto& l : config.listen)
        if (l.service == srv.service) {
          if (l.address.port == 0)
            notes.push_back(fmt::format("the {} listener has port 0 (any port); no SRV record", srv.service));
          else
            ports.insert(l.address.port);
        }
      for (auto port : ports)
        records.push_back({"srv", std::string(srv.label) + d, "SRV", fmt::format("{} 1 {} {}", srv.priority, port, h),
                           fmt::format("{} clients (RFC 6186) connect to {} port {}", srv.service, host, port)});
    }
  }

  if (ctx.json) {
    std::string o = "{\"domain\": " + tern::json_string(domain) + ", \"hostname\": " + tern::json_string(host) +
                    ", \"records\": [";
    for (std::size_t i = 0; i < records.size(); ++i) {
      const auto& r = records[i];
      o += fmt::format("{}{{\"purpose\": {}, \"name\": {}, \"type\": {}, \"value\": {}, \"zone\": {}}}", i ? ", " : "",
                       tern::json_string(r.purpose), tern::json_string(r.name), tern::json_string(r.type),
                       tern::json_string(r.value),
                       tern::json_string(r.name + " IN " + r.type + " " +
                                         (r.type == "TXT" ? txt_strings(r.value) : r.value)));
    }
    o += "], \"mta_sts_policy\": ";
    if (policy.empty()) o += "null";
    else
      o += "{\"url\": " + tern::json_string("https://mta-sts." + domain + "/.well-known/mta-sts.txt") +
           ", \"content\": " + tern::json_string(policy) + "}";
    o += ", \"notes\": [";
    for (std::size_t i = 0; i < notes.size(); ++i) o += (i ? ", " : "") + tern::json_string(notes[i]);
    std::printf("%s]}\n", o.c_str());
  } else {
    std::printf("; DNS records for %s (served by %s)\n", domain.c_str(), host.c_str());
    for (const auto& r : records) {
      std::printf("; %s\n%s IN %s %s\n", r.comment.c_str(), r.name.c_str(), r.type.c_str(),
                  (r.type == "TXT" ? txt_strings(r.value) : r.value).c_str());
      if (r.purpose == "mta-sts") {
        std::printf(";   policy file (text/plain, CRLF line ends):\n");
        std::string_view p = policy;
        while (!p.empty()) {
          auto eol = p.find("\r\n");
          std::printf(";     %.*s\n", static_cast<int>(eol), p.data());
          p.remove_prefix(eol + 2);
        }
      }
    }
    for (const auto& n : notes) std::fprintf(stderr, "note: %s\n", n.c_str());
  }
  return ternctl::kOk;
}

const bool registered = ternctl::register_group({"dns", "DNS records to publish: records DOMAIN", run});

}  // namespace
