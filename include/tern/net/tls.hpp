// Server TLS contexts: TLS 1.2+ only, Mozilla "intermediate" ciphers, one certificate per SNI name.
// A TlsContextSet is an immutable snapshot; reloading builds a new one, so connections that already
// started keep theirs while new connections get the new certificates (SIGHUP reload).
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <asio/ssl/context.hpp>

#include "tern/core/result.hpp"

namespace tern::net {

struct TlsCertificate {
  std::vector<std::string> names;  // SNI names this certificate serves; "*.example.test" allowed
  std::filesystem::path cert;      // PEM chain (leaf first)
  std::filesystem::path key;       // PEM private key
};

struct TlsSettings {
  std::filesystem::path cert;  // default certificate (no SNI or no match)
  std::filesystem::path key;
  std::vector<TlsCertificate> sni;
  std::string min_version = "1.2";  // "1.2" or "1.3"; older versions are never offered
  bool configured() const noexcept { return !cert.empty(); }
};

class TlsContextSet {
 public:
  static Result<std::shared_ptr<TlsContextSet>> load(const TlsSettings& settings);
  ~TlsContextSet();
  TlsContextSet(const TlsContextSet&) = delete;
  TlsContextSet& operator=(const TlsContextSet&) = delete;

  // The context handed to new server-side streams; SNI switches to a per-name context in the handshake.
  asio::ssl::context& server_context() noexcept { return *default_; }
  // The context for a host name (exact, then wildcard one label deep), or the default.
  asio::ssl::context& context_for(std::string_view host_name) noexcept;

 private:
  TlsContextSet() = default;
  struct Entry {
    std::string name;  // lower-case; "*.x" for wildcards
    std::shared_ptr<asio::ssl::context> ctx;
  };
  std::shared_ptr<asio::ssl::context> default_;
  std::vector<Entry> entries_;
};

// The cipher configuration in force (for docs and tests).
inline constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
    "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305";

// Writes a self-signed certificate and key for `host_name` (dev setup, `scripts/run`): RSA-2048, SHA-256,
// with the name in subjectAltName, valid for `days`. Files are written 0600 / 0644.
Status write_self_signed_certificate(const std::string& host_name, const std::filesystem::path& cert,
                                     const std::filesystem::path& key, int days = 825);

}  // namespace tern::net
