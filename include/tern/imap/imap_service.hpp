// tern::imap::ImapService — the `imap` (STARTTLS) and `imaps` (implicit TLS) listener roles: IMAP4rev2
// (RFC 9051) and IMAP4rev1 (RFC 3501) over the MailStore, with the extensions real clients use (see
// docs/imap.md for the list). Each connection runs an ImapSession: the sans-I/O CommandParser frames
// commands; commands that touch the store run on the worker pool (the store blocks: fsync, SQLite),
// so the I/O threads only shuffle bytes.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tern/auth/auth_throttle.hpp"
#include "tern/auth/authenticator.hpp"
#include "tern/core/config.hpp"
#include "tern/directory/directory.hpp"
#include "tern/net/address.hpp"
#include "tern/net/listener.hpp"
#include "tern/net/service.hpp"
#include "tern/net/tls.hpp"
#include "tern/net/worker_pool.hpp"
#include "tern/store/mail_store.hpp"

namespace tern::imap {

// [imap] settings.
struct ImapSettings {
  std::uint64_t append_limit = 64ull * 1024 * 1024;        // APPENDLIMIT (RFC 7889): largest message stored
  std::chrono::milliseconds autologout{std::chrono::minutes(30)};  // RFC 9051 §5.4: at least 30 minutes
  std::size_t max_line = 64 * 1024;                        // longest command line without literals
  bool compress = true;                                    // offer COMPRESS=DEFLATE (RFC 4978)
};
Status parse_imap_config(ConfigSection& section, ImapSettings& out);

struct ImapServiceDeps {
  std::string hostname;
  ImapSettings settings;
  std::vector<net::IpNetwork> internal_networks;  // LOGIN/plaintext AUTH allowed without TLS from here
  net::TlsProvider tls;                           // may return nullptr: no STARTTLS
  net::WorkerPool* workers = nullptr;
  directory::Directory* directory = nullptr;
  auth::Authenticator* authenticator = nullptr;
  auth::AuthThrottle* throttle = nullptr;
  bool scram = false;  // offer SCRAM-SHA-256(-PLUS): see auth::scram_usable()
  std::shared_ptr<store::MailStore> store;
};

class ImapService : public net::Service {
 public:
  ImapService(bool implicit_tls, ImapServiceDeps deps);
  std::string_view name() const override { return implicit_tls_ ? "imaps" : "imap"; }
  bool implicit_tls() const override { return implicit_tls_; }
  asio::awaitable<void> serve(std::shared_ptr<net::Connection> connection) override;
  std::string refusal(net::RefusalReason why) const override;
  const ImapServiceDeps& deps() const noexcept { return deps_; }

 private:
  bool implicit_tls_;
  ImapServiceDeps deps_;
};

}  // namespace tern::imap
