// DisclaimerStore — which disclaimer a domain's outbound mail gets. Like DKIM keys (dkim_keyring.hpp),
// disclaimers are files beside the data, one pair per domain in [disclaimer] dir: "<domain>.txt" (plain
// text, UTF-8) and optionally "<domain>.html" (an HTML fragment); `ternctl domain disclaimer` writes
// them. No file: no disclaimer (off by default). The domain is the From: header's (what the reader sees),
// else the envelope sender's.
#pragma once

#include <cstdint>
#include <ctime>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "tern/core/config.hpp"
#include "tern/core/result.hpp"
#include "tern/mailauth/disclaimer.hpp"

namespace tern::mailauth {

struct DisclaimerConfig {
  std::filesystem::path dir;                        // default: <data_dir>/disclaimer
  std::uint64_t max_message_size = 10 * 1024 * 1024;  // larger messages leave without a disclaimer
};

Status parse_disclaimer_config(ConfigSection& section, DisclaimerConfig& out);

// Largest disclaimer file accepted (text or HTML).
inline constexpr std::size_t kMaxDisclaimerSize = 64 * 1024;

class DisclaimerStore {
 public:
  explicit DisclaimerStore(DisclaimerConfig config);

  // The domain's disclaimer, or nullptr when it has none. Files are stat'ed on every call and read again
  // when they changed, so `ternctl domain disclaimer` takes effect with the next message. Thread-safe.
  std::shared_ptr<const DisclaimerText> find(std::string_view domain);

  // The message with the disclaimer of its From: (else `mail_from`) domain, or nullopt when it leaves
  // unchanged: no disclaimer for the domain, or add_disclaimer() declined (logged with the reason).
  // Never fails: whatever goes wrong, the original message is what is sent. BLOCKING (stat, file read).
  std::optional<std::string> apply(std::string_view message, std::string_view mail_from);

  // The files of a domain, and what `ternctl domain disclaimer` does with them.
  static std::filesystem::path text_file(const std::filesystem::path& dir, std::string_view domain);
  static std::filesystem::path html_file(const std::filesystem::path& dir, std::string_view domain);
  // Checks (UTF-8, size, a domain name) and writes both files durably; an empty html removes the HTML file.
  static Status install(const std::filesystem::path& dir, std::string_view domain, std::string_view text,
                        std::string_view html);
  static Status remove(const std::filesystem::path& dir, std::string_view domain);
  // The installed disclaimer; nullopt if none.
  static Result<std::optional<DisclaimerText>> read(const std::filesystem::path& dir, std::string_view domain);

  // The From: domain of a message (RFC 5322 §3.6.2), lower case; "" if none.
  static std::string from_domain(std::string_view message);

 private:
  struct Entry {
    std::shared_ptr<const DisclaimerText> text;
    std::int64_t text_mtime = -1, html_mtime = -1;
    std::uint64_t text_size = 0, html_size = 0, text_inode = 0, html_inode = 0;
  };
  bool any_installed();
  DisclaimerConfig config_;
  std::mutex mutex_;
  std::int64_t empty_dir_mtime_ = -1;  // the directory's mtime when it last held no disclaimer
  std::map<std::string, Entry, std::less<>> cache_;
};

}  // namespace tern::mailauth
