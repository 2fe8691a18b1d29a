#include "tern/mailauth/srs.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <optional>
#include <system_error>

#include "tern/core/text.hpp"
#include "tern/mime/smtp_address.hpp"

namespace tern::mailauth {

namespace {

constexpr std::string_view kBase32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";  // libsrs2 SRS_TIME_BASECHARS
constexpr std::string_view kBase64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr std::int64_t kDay = 86400;   // SRS_TIME_PRECISION
constexpr std::int64_t kSlots = 1024;  // SRS_TIME_SLOTS: two base32 digits

char lower(char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); }

bool is_tag(std::string_view local, std::string_view tag) {
  // "SRS0" or "SRS1" in any case, then one of libsrs2's SRSSEPARATORS.
  if (local.size() < 5) return false;
  for (std::size_t i = 0; i < 4; ++i)
    if (lower(local[i]) != lower(tag[i])) return false;
  return local[4] == '=' || local[4] == '+' || local[4] == '-';
}

// The local part as the SRS fields carry it: unquoted (RFC 5321 §4.1.2 Quoted-string, quoted-pairs
// resolved), the form Postfix hands postsrsd; nullopt when a quoted local part is not valid.
std::optional<std::string> unquoted_local(std::string_view address, std::string_view local) {
  if (!local.starts_with('"')) return std::string(local);
  auto parsed = mime::parse_smtp_mailbox(address, true);
  if (!parsed) return std::nullopt;
  return std::move(parsed.value.local_part);
}

// "local@domain", the local part quoted when it is not a Dot-string (a forwarded "john doe"@x gives
// "SRS0=HHHH=TT=x=john doe"@fwd, which must be quoted as a whole to stay one address).
std::string join_address(std::string local, std::string_view domain) {
  mime::SmtpMailbox m;
  m.local_part = std::move(local);
  m.domain = std::string(domain);
  return m.address();
}

tl::unexpected<Error> refuse(SrsFailure why, std::string sentence) {
  return fail(ErrorCategory::invalid_argument, std::move(sentence), static_cast<int>(why));
}

std::int64_t day_slot(std::int64_t now) { return (std::max<std::int64_t>(now, 0) / kDay) % kSlots; }

std::string base64(const unsigned char* data, std::size_t n) {
  std::string out;
  for (std::size_t i = 0; i < n; i += 3) {
    std::uint32_t v = static_cast<std::uint32_t>(data[i]) << 16;
    if (i + 1 < n) v |= static_cast<std::uint32_t>(data[i + 1]) << 8;
    if (i + 2 < n) v |= data[i + 2];
    out += kBase64[(v >> 18) & 63];
    out += kBase64[(v >> 12) & 63];
    out += i + 1 < n ? kBase64[(v >> 6) & 63] : '=';
    out += i + 2 < n ? kBase64[v & 63] : '=';
  }
  return out;
}

}  // namespace

Status parse_srs_config(ConfigSection& s, SrsConfig& out) {
  s.get("enabled", out.enabled);
  if (s.get("domain", out.domain)) {
    out.domain = ascii_lower(out.domain);
    if (out.domain.find_first_of("@ =/") != std::string::npos || out.domain.starts_with('.') ||
        out.domain.ends_with('.'))
      s.error("domain", "must be a domain name this server receives mail for (e.g. \"example.com\"), or \"\"");
  }
  s.get_path("secret_file", out.secret_file);
  std::chrono::milliseconds age{std::chrono::hours(24) * out.max_age_days};
  if (s.get_duration("max_age", age)) {
    auto days = age.count() / (kDay * 1000);
    if (age.count() % (kDay * 1000) != 0 || days < 1 || days > kSlots - 1)
      s.error("max_age", "must be whole days from \"1d\" to \"1023d\" (SRS timestamps count days modulo 1024)");
    else
      out.max_age_days = static_cast<int>(days);
  }
  s.get("hash_length", out.hash_length, 4, 20);
  s.finish();
  if (!s.diagnostics().ok()) return fail(s.diagnostics().to_error());
  return {};
}

Result<std::vector<std::string>> load_srs_secrets(const std::filesystem::path& file, bool create) {
  std::error_code ec;
  if (create && !std::filesystem::exists(file, ec)) {
    if (file.has_parent_path()) std::filesystem::create_directories(file.parent_path(), ec);
    unsigned char raw[24];
    if (RAND_bytes(raw, sizeof raw) != 1) return fail(ErrorCategory::internal, "no random bytes for an SRS secret");
    std::string line = base64(raw, sizeof raw) + "\n";
    int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 && errno != EEXIST) return fail_errno("create " + file.string());
    if (fd >= 0) {
      bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) && ::fsync(fd) == 0;
      int err = errno;
      ::close(fd);
      if (!ok) return fail_errno("write " + file.string(), err);
    }
  }
  std::ifstream in(file);
  if (!in) return fail_errno("open " + file.string());
  std::vector<std::string> secrets;
  std::string line;
  while (std::getline(in, line) && secrets.size() < 64) {
    auto b = line.find_first_not_of(" \t\r");
    auto e = line.find_last_not_of(" \t\r");
    if (b != std::string::npos) secrets.push_back(line.substr(b, e - b + 1));
  }
  if (secrets.empty()) return fail(ErrorCategory::config, file.string() + " holds no SRS secret (one per line)");
  return secrets;
}

SrsCodec::SrsCodec(std::vector<std::string> secrets, int hash_length, int max_age_days)
    : secrets_(std::move(secrets)),
      hash_length_(std::clamp(hash_length, 4, 20)),
      max_age_days_(std::clamp(max_age_days, 1, static_cast<int>(kSlots - 1))) {}

bool SrsCodec::is_srs(std::string_view local) noexcept {
  if (local.starts_with('"')) local.remove_prefix(1);  // a quoted SRS local part ("SRS0=...=john doe"@fwd)
  return is_tag(local, "SRS0") || is_tag(local, "SRS1");
}

std::string SrsCodec::timestamp(std::int64_t now) {
  auto t = day_slot(now);
  return {kBase32[(t >> 5) & 31], kBase32[t & 31]};
}

std::string SrsCodec::hash(std::size_t index, const std::vector<std::string_view>& fields) const {
  if (index >= secrets_.size()) return {};
  // libsrs2 srs_hash_create: HMAC-SHA1 over the lower-cased fields in order, base64, truncated.
  std::string data;
  for (auto f : fields) data += ascii_lower(f);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  const auto& key = secrets_[index];
  if (!HMAC(EVP_sha1(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
            data.size(), md, &len))
    return {};
  return base64(md, len).substr(0, static_cast<std::size_t>(hash_length_));
}

bool SrsCodec::hash_ok(std::string_view given, const std::vector<std::string_view>& fields) const {
  if (given.size() != static_cast<std::size_t>(hash_length_)) return false;
  std::string g = ascii_lower(given);
  for (std::size_t i = 0; i < secrets_.size(); ++i) {
    std::string want = ascii_lower(hash(i, fields));
    if (want.size() == g.size() && CRYPTO_memcmp(want.data(), g.data(), g.size()) == 0) return true;
  }
  return false;
}

Result<std::string> SrsCodec::forward(std::string_view sender, std::string_view srs_domain, std::int64_t now) const {
  if (secrets_.empty()) return fail(ErrorCategory::config, "SRS has no secret");
  if (sender.size() > kMaxAddress) return fail(ErrorCategory::invalid_argument, "the sender address is too long for SRS");
  auto parts = mime::split_address(sender);
  if (!parts) return fail(ErrorCategory::invalid_argument, "SRS rewrites only addresses of the form local@domain");
  if (srs_domain.empty() || srs_domain.find_first_of("@=") != std::string_view::npos)
    return fail(ErrorCategory::invalid_argument, "the SRS domain is not a domain name");
  auto unquoted = unquoted_local(sender, parts->local);
  if (!unquoted) return fail(ErrorCategory::invalid_argument, "the sender's quoted local part is malformed");
  std::string_view local = *unquoted, domain = parts->domain;
  std::string out;
  if (is_tag(local, "SRS1")) {
    // SRS1=HHHH=first.example=<rest of the SRS0>: keep pointing at the first forwarder (libsrs2).
    auto rest = local.substr(5);
    auto e1 = rest.find('=');
    if (e1 == std::string_view::npos)
      return fail(ErrorCategory::invalid_argument, "the sender is a malformed SRS1 address");
    auto e2 = rest.find('=', e1 + 1);
    if (e2 == std::string_view::npos || e2 == e1 + 1 || e2 + 1 == rest.size())
      return fail(ErrorCategory::invalid_argument, "the sender is a malformed SRS1 address");
    auto host = rest.substr(e1 + 1, e2 - e1 - 1), user = rest.substr(e2 + 1);
    out = "SRS1=" + hash(0, {host, user}) + "=" + std::string(host) + "=" + std::string(user);
  } else if (is_tag(local, "SRS0")) {
    // SRS1=GGGG=fwd.example=<SRS0 local part after "SRS0", separator included>
    if (domain.find('=') != std::string_view::npos)
      return fail(ErrorCategory::invalid_argument, "the sender's domain is not a domain name");
    auto user = local.substr(4);
    out = "SRS1=" + hash(0, {domain, user}) + "=" + std::string(domain) + "=" + std::string(user);
  } else {
    if (domain.find('=') != std::string_view::npos)
      return fail(ErrorCategory::invalid_argument, "the sender's domain is not a domain name");
    auto tt = timestamp(now);
    out = "SRS0=" + hash(0, {tt, domain, local}) + "=" + tt + "=" + std::string(domain) + "=" + std::string(local);
  }
  out = join_address(std::move(out), srs_domain);
  if (out.size() > kMaxAddress) return fail(ErrorCategory::invalid_argument, "the SRS address would be too long");
  return out;
}

Result<std::string> SrsCodec::reverse(std::string_view address, std::int64_t now) const {
  if (address.size() > kMaxAddress) return refuse(SrsFailure::malformed, "the SRS address is too long");
  auto parts = mime::split_address(address);
  auto unquoted = parts ? unquoted_local(address, parts->local) : std::string(address);
  if (!unquoted) return refuse(SrsFailure::malformed, "the address's quoted local part is malformed");
  std::string_view local = *unquoted;
  bool srs0 = is_tag(local, "SRS0"), srs1 = is_tag(local, "SRS1");
  if (!srs0 && !srs1) return refuse(SrsFailure::not_srs, "the address is not an SRS address");
  if (secrets_.empty()) return fail(ErrorCategory::config, "SRS has no secret");
  auto rest = local.substr(5);
  auto e1 = rest.find('=');
  if (e1 == std::string_view::npos || e1 == 0)
    return refuse(SrsFailure::malformed, "the SRS address is malformed (no hash)");
  auto given = rest.substr(0, e1);
  if (srs1) {
    // SRS1=HHHH=first.example=<rest>  ->  SRS0<rest>@first.example (libsrs2 srs_reverse)
    auto e2 = rest.find('=', e1 + 1);
    if (e2 == std::string_view::npos || e2 == e1 + 1 || e2 + 1 == rest.size())
      return refuse(SrsFailure::malformed, "the SRS1 address is malformed (no forwarder domain or address)");
    auto host = rest.substr(e1 + 1, e2 - e1 - 1), user = rest.substr(e2 + 1);
    if (!hash_ok(given, {host, user}))
      return refuse(SrsFailure::bad_hash, "the SRS1 address does not carry a valid hash (forged or altered)");
    return join_address("SRS0" + std::string(user), host);
  }
  // SRS0=HHHH=TT=domain=local
  auto e2 = rest.find('=', e1 + 1);
  auto e3 = e2 == std::string_view::npos ? e2 : rest.find('=', e2 + 1);
  if (e3 == std::string_view::npos || e3 == e2 + 1 || e3 + 1 == rest.size())
    return refuse(SrsFailure::malformed, "the SRS0 address is malformed (needs hash, timestamp, domain and local part)");
  auto stamp = rest.substr(e1 + 1, e2 - e1 - 1), host = rest.substr(e2 + 1, e3 - e2 - 1), user = rest.substr(e3 + 1);
  if (stamp.size() != 2) return refuse(SrsFailure::malformed, "the SRS0 timestamp is not two characters");
  std::int64_t then = 0;
  for (char c : stamp) {
    auto p = kBase32.find(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
    if (p == std::string_view::npos) return refuse(SrsFailure::malformed, "the SRS0 timestamp is not base32");
    then = (then << 5) | static_cast<std::int64_t>(p);
  }
  if (!hash_ok(given, {stamp, host, user}))
    return refuse(SrsFailure::bad_hash, "the SRS0 address does not carry a valid hash (forged or altered)");
  // libsrs2 srs_timestamp_check: days since the stamp, modulo 1024.
  auto today = day_slot(now);
  while (today < then) today += kSlots;
  if (today - then > max_age_days_)
    return refuse(SrsFailure::expired, "the SRS0 address has expired (older than " + std::to_string(max_age_days_) +
                                           " days)");
  return join_address(std::string(user), host);
}

}  // namespace tern::mailauth
