// DkimKeyring — which key signs a message leaving this server. Keys live in [dkim] key_dir as
// "<domain>.<selector>.key" (what `ternctl dkim keygen` writes); the file name gives the selector, so an
// operator rotates a key by generating a new selector and removing the old file. The signing domain is
// the From: header's domain (DMARC alignment, RFC 7489 §3.1.1), else the envelope sender's.
#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "tern/core/config.hpp"
#include "tern/core/result.hpp"
#include "tern/mailauth/dkim.hpp"

namespace tern::mailauth {

struct DkimConfig {
  bool sign = true;                 // sign outbound mail of every domain that has a key
  std::filesystem::path key_dir;    // default: <data_dir>/dkim
  std::string selector = "tern";    // default selector for `ternctl dkim keygen`
};

Status parse_dkim_config(ConfigSection& section, DkimConfig& out);

class DkimKeyring {
 public:
  explicit DkimKeyring(DkimConfig config);
  // The signer for `domain`, or nullptr if no key is installed for it. Looks at the key directory again
  // at most once a minute per domain. Thread-safe.
  std::shared_ptr<const DkimSigner> signer_for(std::string_view domain);
  // `message` with a DKIM-Signature on top when a key for its From: (else `mail_from`) domain exists;
  // unchanged otherwise. BLOCKING (may read a key file).
  Result<std::string> sign(std::string_view message, std::string_view mail_from, std::int64_t now);

  static std::filesystem::path key_file(const std::filesystem::path& dir, std::string_view domain,
                                        std::string_view selector);

 private:
  struct Entry {
    std::shared_ptr<const DkimSigner> signer;
    std::chrono::steady_clock::time_point checked;
  };
  DkimConfig config_;
  std::mutex mutex_;
  std::map<std::string, Entry, std::less<>> cache_;
};

}  // namespace tern::mailauth
