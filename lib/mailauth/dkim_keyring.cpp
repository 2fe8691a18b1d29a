#include "tern/mailauth/dkim_keyring.hpp"

#include <algorithm>
#include <cctype>
#include <system_error>

#include "tern/core/text.hpp"
#include "tern/mime/address.hpp"
#include "tern/mime/message.hpp"
#include "tern/mime/smtp_address.hpp"

namespace tern::mailauth {

namespace {
// The first From: address's domain in the header block (RFC 5322 §3.6.2), "" if none (lib/mime's parsers).
std::string from_domain(std::string_view msg) {
  std::size_t end = msg.find("\r\n\r\n");
  mime::Message m = mime::parse(msg.substr(0, end == std::string_view::npos ? msg.size() : end + 4));
  const mime::Header* from = m.root().header("From");
  if (!from) return "";
  for (const auto& mb : mime::parse_address_list(from->unfolded()).all_mailboxes())
    if (!mb.domain.empty()) return mime::canonical_domain(mb.domain);
  return "";
}
}  // namespace

Status parse_dkim_config(ConfigSection& s, DkimConfig& out) {
  s.get("sign", out.sign);
  s.get_path("key_dir", out.key_dir);
  s.get("selector", out.selector);
  if (out.selector.empty() || out.selector.find_first_of(". /") != std::string::npos)
    s.error("selector", "must be one DNS label (letters, digits, '-')");
  s.finish();
  if (!s.diagnostics().ok()) return fail(s.diagnostics().to_error());
  return {};
}

DkimKeyring::DkimKeyring(DkimConfig config) : config_(std::move(config)) {}

std::filesystem::path DkimKeyring::key_file(const std::filesystem::path& dir, std::string_view domain,
                                            std::string_view selector) {
  return dir / (ascii_lower(domain) + "." + std::string(selector) + ".key");
}

std::shared_ptr<const DkimSigner> DkimKeyring::signer_for(std::string_view domain_in) {
  if (!config_.sign || domain_in.empty()) return nullptr;
  std::string domain = ascii_lower(domain_in);
  auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(mutex_);
    auto it = cache_.find(domain);
    if (it != cache_.end() && now - it->second.checked < std::chrono::minutes(1)) return it->second.signer;
  }
  // "<domain>.<selector>.key": the newest file wins when several selectors exist.
  std::shared_ptr<const DkimSigner> signer;
  std::error_code ec;
  std::filesystem::path best;
  std::filesystem::file_time_type best_time{};
  for (const auto& e : std::filesystem::directory_iterator(config_.key_dir, ec)) {
    auto name = e.path().filename().string();
    if (name.size() <= domain.size() + 5 || ascii_lower(name.substr(0, domain.size() + 1)) != domain + "." ||
        !name.ends_with(".key"))
      continue;
    std::string selector = name.substr(domain.size() + 1, name.size() - domain.size() - 5);
    if (selector.empty() || selector.find('.') != std::string::npos) continue;
    auto t = e.last_write_time(ec);
    if (best.empty() || t > best_time) best = e.path(), best_time = t;
  }
  if (!best.empty()) {
    auto key = DkimKey::load_pem(best);
    if (key) {
      auto name = best.filename().string();
      DkimSignOptions o;
      o.domain = domain;
      o.selector = name.substr(domain.size() + 1, name.size() - domain.size() - 5);
      signer = std::make_shared<DkimSigner>(std::make_shared<DkimKey>(std::move(*key)), std::move(o));
    }
  }
  std::lock_guard lock(mutex_);
  cache_[domain] = Entry{signer, now};
  return signer;
}

Result<std::string> DkimKeyring::sign(std::string_view message, std::string_view mail_from, std::int64_t now) {
  std::string domain = from_domain(message);
  auto signer = signer_for(domain);
  if (!signer) {
    if (std::string d = mime::address_domain(mail_from); !d.empty()) signer = signer_for(d);
  }
  if (!signer) return std::string(message);
  auto header = signer->sign(message, now);
  if (!header) return fail(header.error());
  return *header + std::string(message);
}

}  // namespace tern::mailauth
