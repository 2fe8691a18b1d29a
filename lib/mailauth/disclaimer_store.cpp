#include "tern/mailauth/disclaimer_store.hpp"

#include <sys/stat.h>
#include <time.h>

#include <fstream>
#include <sstream>
#include <system_error>

#include "tern/core/durable_file.hpp"
#include "tern/core/log.hpp"
#include "tern/core/text.hpp"
#include "tern/mime/address.hpp"
#include "tern/mime/codec.hpp"
#include "tern/mime/message.hpp"

namespace tern::mailauth {

namespace {

// A domain name that can name a file: LDH labels (RFC 5890 A-labels for IDNs), no "..", no "/".
bool file_safe_domain(std::string_view d) {
  if (d.empty() || d.size() > 253 || d.front() == '.' || d.back() == '.' || d.find("..") != std::string_view::npos)
    return false;
  for (char c : d)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_')) return false;
  return true;
}

struct FileState {
  std::int64_t mtime = -1;  // nanoseconds; -1: no file
  std::uint64_t size = 0;
  std::uint64_t inode = 0;  // a rewrite (write_file_durably renames a new file) changes it even within one mtime tick
};

FileState state_of(const std::filesystem::path& p) {
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0) return {};
  return {static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec,
          static_cast<std::uint64_t>(st.st_size), static_cast<std::uint64_t>(st.st_ino)};
}

Result<std::string> slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return fail(ErrorCategory::not_found, p.string() + ": cannot be read");
  std::ostringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  if (s.size() > kMaxDisclaimerSize) return fail(ErrorCategory::limit, p.string() + ": larger than 64 KiB");
  return s;
}

Status check_text(std::string_view what, std::string_view s) {
  if (s.size() > kMaxDisclaimerSize) return fail(ErrorCategory::limit, std::string(what) + " is larger than 64 KiB");
  if (!mime::valid_utf8(s)) return fail(ErrorCategory::invalid_argument, std::string(what) + " is not UTF-8");
  if (s.find('\0') != std::string_view::npos)
    return fail(ErrorCategory::invalid_argument, std::string(what) + " contains a NUL byte");
  return {};
}

}  // namespace

Status parse_disclaimer_config(ConfigSection& s, DisclaimerConfig& out) {
  s.get_path("dir", out.dir);
  s.get_size("max_message_size", out.max_message_size);
  s.finish();
  if (!s.diagnostics().ok()) return fail(s.diagnostics().to_error());
  return {};
}

DisclaimerStore::DisclaimerStore(DisclaimerConfig config) : config_(std::move(config)) {}

std::filesystem::path DisclaimerStore::text_file(const std::filesystem::path& dir, std::string_view domain) {
  return dir / (ascii_lower(domain) + ".txt");
}

std::filesystem::path DisclaimerStore::html_file(const std::filesystem::path& dir, std::string_view domain) {
  return dir / (ascii_lower(domain) + ".html");
}

std::string DisclaimerStore::from_domain(std::string_view message) {
  std::size_t end = message.find("\r\n\r\n");
  std::string_view head = message.substr(0, end == std::string_view::npos ? std::min<std::size_t>(message.size(), 1 << 20)
                                                                       : end + 2);
  mime::ParseLimits limits;
  limits.max_depth = 1;
  auto m = mime::parse(head, limits);
  if (m.parts.empty()) return "";
  const mime::Header* from = m.root().header("from");
  if (!from) return "";
  for (const auto& mb : mime::parse_address_list(from->unfolded()).all_mailboxes()) {
    auto a = mb.address();
    auto at = a.rfind('@');
    if (at != std::string::npos) return ascii_lower(a.substr(at + 1));
  }
  return "";
}

std::shared_ptr<const DisclaimerText> DisclaimerStore::find(std::string_view domain_in) {
  std::string domain = ascii_lower(domain_in);
  if (!file_safe_domain(domain) || config_.dir.empty()) return nullptr;
  auto tf = text_file(config_.dir, domain), hf = html_file(config_.dir, domain);
  FileState ts = state_of(tf), hs = state_of(hf);
  {
    std::lock_guard lock(mutex_);
    auto it = cache_.find(domain);
    if (it != cache_.end() && it->second.text_mtime == ts.mtime && it->second.html_mtime == hs.mtime &&
        it->second.text_size == ts.size && it->second.html_size == hs.size && it->second.text_inode == ts.inode &&
        it->second.html_inode == hs.inode)
      return it->second.text;
  }
  Entry e;
  e.text_mtime = ts.mtime, e.html_mtime = hs.mtime, e.text_size = ts.size, e.html_size = hs.size;
  e.text_inode = ts.inode, e.html_inode = hs.inode;
  if (ts.mtime >= 0 || hs.mtime >= 0) {
    DisclaimerText d;
    bool ok = true;
    if (ts.mtime >= 0) {
      auto t = slurp(tf);
      if (t && check_text("the text disclaimer", *t)) d.text = std::move(*t);
      else ok = false;
    }
    if (hs.mtime >= 0) {
      auto h = slurp(hf);
      if (h && check_text("the HTML disclaimer", *h)) d.html = std::move(*h);
      else ok = false;
    }
    if (ok) e.text = std::make_shared<const DisclaimerText>(std::move(d));
    else log::warn("disclaimer.unreadable", {{"domain", domain}, {"dir", config_.dir.string()}});
  }
  std::lock_guard lock(mutex_);
  cache_[domain] = e;
  return e.text;
}

bool DisclaimerStore::any_installed() {
  // One stat per message while no domain has a disclaimer: the directory's mtime changes whenever a file
  // is added or removed, so "empty at this mtime" stays true until then.
  auto dir = state_of(config_.dir);
  if (dir.mtime < 0) return false;
  {
    std::lock_guard lock(mutex_);
    if (dir.mtime == empty_dir_mtime_) return false;
  }
  std::error_code ec;
  bool any = false;
  for (const auto& e : std::filesystem::directory_iterator(config_.dir, ec)) {
    auto ext = e.path().extension();
    if (ext == ".txt" || ext == ".html") {
      any = true;
      break;
    }
  }
  // A directory changed within the last two seconds may change again within the file system's timestamp
  // granularity without a new mtime: such an mtime is not remembered.
  struct timespec now {};
  ::clock_gettime(CLOCK_REALTIME, &now);
  bool settled = static_cast<std::int64_t>(now.tv_sec) * 1000000000 + now.tv_nsec - dir.mtime > 2000000000LL;
  std::lock_guard lock(mutex_);
  empty_dir_mtime_ = any || ec || !settled ? -1 : dir.mtime;
  return any;
}

std::optional<std::string> DisclaimerStore::apply(std::string_view message, std::string_view mail_from) {
  if (!any_installed()) return std::nullopt;
  std::string domain = from_domain(message);
  auto d = domain.empty() ? nullptr : find(domain);
  if (!d) {
    auto at = mail_from.rfind('@');
    if (at == std::string_view::npos) return std::nullopt;
    domain = ascii_lower(mail_from.substr(at + 1));
    d = find(domain);
  }
  if (!d) return std::nullopt;
  DisclaimerOptions o;
  o.max_message_size = static_cast<std::size_t>(config_.max_message_size);
  DisclaimerOutcome out;
  try {
    out = add_disclaimer(message, domain, *d, o);
  } catch (const std::exception& e) {  // e.g. bad_alloc: the original leaves unchanged
    log::error("disclaimer.failed", {{"domain", domain}, {"error", e.what()}});
    return std::nullopt;
  }
  if (out.result != DisclaimerResult::added) {
    auto level = out.result == DisclaimerResult::already_present ? log::Level::debug : log::Level::info;
    if (log::enabled(level))
      log::write(level, "-", "disclaimer.skipped",
                 {{"domain", domain}, {"reason", std::string(to_string(out.result))}, {"detail", out.detail}});
    return std::nullopt;
  }
  std::string parts;
  for (const auto& p : out.parts) parts += (parts.empty() ? "" : ",") + p;
  log::debug("disclaimer.added", {{"domain", domain}, {"parts", parts}, {"utf8", out.converted_to_utf8 ? "yes" : "no"}});
  return std::move(out.message);
}

Status DisclaimerStore::install(const std::filesystem::path& dir, std::string_view domain_in, std::string_view text,
                                std::string_view html) {
  std::string domain = ascii_lower(domain_in);
  if (!file_safe_domain(domain)) return fail(ErrorCategory::invalid_argument, domain + ": not a domain name");
  if (auto st = check_text("the text disclaimer", text); !st) return st;
  if (auto st = check_text("the HTML disclaimer", html); !st) return st;
  bool blank = text.find_first_not_of(" \t\r\n") == std::string_view::npos;
  if (blank) return fail(ErrorCategory::invalid_argument, "the text disclaimer is empty");
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return fail(ErrorCategory::io, dir.string() + ": " + ec.message());
  // HTML first: a reader that sees the new text file sees the matching HTML.
  if (html.empty()) {
    std::filesystem::remove(html_file(dir, domain), ec);
  } else if (auto st = write_file_durably(html_file(dir, domain), html, 0644); !st) {
    return st;
  }
  return write_file_durably(text_file(dir, domain), text, 0644);
}

Status DisclaimerStore::remove(const std::filesystem::path& dir, std::string_view domain_in) {
  std::string domain = ascii_lower(domain_in);
  if (!file_safe_domain(domain)) return fail(ErrorCategory::invalid_argument, domain + ": not a domain name");
  std::error_code ec;
  std::filesystem::remove(text_file(dir, domain), ec);
  if (ec) return fail(ErrorCategory::io, text_file(dir, domain).string() + ": " + ec.message());
  std::filesystem::remove(html_file(dir, domain), ec);
  if (ec) return fail(ErrorCategory::io, html_file(dir, domain).string() + ": " + ec.message());
  return fsync_directory(dir);
}

Result<std::optional<DisclaimerText>> DisclaimerStore::read(const std::filesystem::path& dir, std::string_view domain_in) {
  std::string domain = ascii_lower(domain_in);
  if (!file_safe_domain(domain)) return fail(ErrorCategory::invalid_argument, domain + ": not a domain name");
  std::error_code ec;
  bool has_text = std::filesystem::exists(text_file(dir, domain), ec);
  bool has_html = std::filesystem::exists(html_file(dir, domain), ec);
  if (!has_text && !has_html) return std::optional<DisclaimerText>{};
  DisclaimerText d;
  if (has_text) {
    auto t = slurp(text_file(dir, domain));
    if (!t) return fail(t.error());
    d.text = std::move(*t);
  }
  if (has_html) {
    auto h = slurp(html_file(dir, domain));
    if (!h) return fail(h.error());
    d.html = std::move(*h);
  }
  return std::optional<DisclaimerText>(std::move(d));
}

}  // namespace tern::mailauth
