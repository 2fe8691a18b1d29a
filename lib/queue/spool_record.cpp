#include "tern/queue/spool_record.hpp"

#include <charconv>

#include <fmt/format.h>

namespace tern::queue {
namespace {

constexpr std::string_view kMagic = "tern-queue-record 1";

// Values are written as one token: "%XX" for '%', space, controls, DEL and 8-bit bytes; "-" for "".
std::string esc(std::string_view v) {
  if (v.empty()) return "-";
  std::string out;
  out.reserve(v.size());
  for (unsigned char c : v) {
    if (c == '%' || c <= 0x20 || c >= 0x7f || (c == '-' && v.size() == 1)) out += fmt::format("%{:02X}", c);
    else out += static_cast<char>(c);
  }
  return out;
}

int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

bool unesc(std::string_view v, std::string& out) {
  out.clear();
  if (v == "-") return true;
  if (v.empty()) return false;
  for (std::size_t i = 0; i < v.size(); ++i) {
    char c = v[i];
    if (c == '%') {
      if (i + 2 >= v.size()) return false;
      int h = hexval(v[i + 1]), l = hexval(v[i + 2]);
      if (h < 0 || l < 0) return false;
      out += static_cast<char>(h * 16 + l);
      i += 2;
    } else if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7f) {
      return false;
    } else {
      out += c;
    }
  }
  return true;
}

template <class T>
bool number(std::string_view v, T& out) {
  if (v.empty()) return false;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  return ec == std::errc() && p == v.data() + v.size();
}

std::vector<std::string_view> split(std::string_view line) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i <= line.size()) {
    auto sp = line.find(' ', i);
    if (sp == std::string_view::npos) sp = line.size();
    out.push_back(line.substr(i, sp - i));
    i = sp + 1;
    if (out.size() > 16) break;
  }
  return out;
}

bool parse_state(std::string_view s, RecipientState& out) {
  if (s == "pending") out = RecipientState::pending;
  else if (s == "deferred") out = RecipientState::deferred;
  else if (s == "delivered") out = RecipientState::delivered;
  else if (s == "failed") out = RecipientState::failed;
  else return false;
  return true;
}

tl::unexpected<Error> bad(int line, std::string_view what) {
  return fail(ErrorCategory::invalid_argument, fmt::format("queue record line {}: {}", line, what));
}

}  // namespace

std::string_view to_string(RecipientState s) noexcept {
  switch (s) {
    case RecipientState::pending: return "pending";
    case RecipientState::deferred: return "deferred";
    case RecipientState::delivered: return "delivered";
    case RecipientState::failed: return "failed";
  }
  return "pending";
}

bool MessageRecord::finished() const {
  for (const auto& r : recipients)
    if (r.state == RecipientState::pending || r.state == RecipientState::deferred) return false;
  return true;
}

bool valid_queue_id(std::string_view id) noexcept {
  if (id.size() < 8 || id.size() > 64) return false;
  for (char c : id)
    if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '-')) return false;
  return true;
}

std::string serialize_record(const MessageRecord& r) {
  std::string out;
  out += kMagic;
  out += '\n';
  out += fmt::format("id {}\narrival {}\nreturn-path {}\nenvid {}\nret {}\n", r.id, r.arrival, esc(r.return_path),
                     esc(r.envid), esc(r.ret));
  std::string flags;
  auto add = [&](bool on, std::string_view name) {
    if (!on) return;
    if (!flags.empty()) flags += ',';
    flags += name;
  };
  add(r.smtputf8, "smtputf8");
  add(r.eightbit, "eightbit");
  add(r.requiretls, "requiretls");
  add(r.held, "held");
  add(r.delay_warned, "delay-warned");
  out += fmt::format("flags {}\nsize {}\n", flags.empty() ? "-" : flags, r.size);
  for (const auto& p : r.recipients)
    out += fmt::format("rcpt {} {} {} {} {} {} {} {} {} {}\n", esc(p.address), esc(p.notify), esc(p.orcpt),
                       to_string(p.state), p.attempts, p.next_attempt, p.last_code, esc(p.last_enhanced),
                       esc(p.last_remote_mta), esc(p.last_text));
  out += "end\n";
  return out;
}

Result<MessageRecord> parse_record(std::string_view text) {
  if (text.size() > kMaxRecordSize) return fail(ErrorCategory::limit, "queue record larger than 4 MiB");
  MessageRecord r;
  int line_no = 0;
  bool have_id = false, have_arrival = false, have_end = false;
  std::size_t pos = 0;
  while (pos < text.size()) {
    auto nl = text.find('\n', pos);
    if (nl == std::string_view::npos) return bad(line_no + 1, "line without a line end (truncated record)");
    std::string_view line = text.substr(pos, nl - pos);
    pos = nl + 1;
    ++line_no;
    if (line.size() > kMaxRecordLine) return bad(line_no, "line longer than 64 KiB");
    if (have_end) return bad(line_no, "data after the end line");
    if (line_no == 1) {
      if (line != kMagic) return bad(1, "not a version 1 queue record");
      continue;
    }
    if (line == "end") {
      have_end = true;
      continue;
    }
    auto sp = line.find(' ');
    if (sp == std::string_view::npos) return bad(line_no, "expected 'key value'");
    std::string_view key = line.substr(0, sp), value = line.substr(sp + 1);
    std::string s;
    if (key == "id") {
      if (!valid_queue_id(value)) return bad(line_no, "invalid queue id");
      r.id = std::string(value);
      have_id = true;
    } else if (key == "arrival") {
      if (!number(value, r.arrival)) return bad(line_no, "invalid arrival time");
      have_arrival = true;
    } else if (key == "return-path") {
      if (!unesc(value, r.return_path)) return bad(line_no, "invalid return-path");
    } else if (key == "envid") {
      if (!unesc(value, r.envid)) return bad(line_no, "invalid envid");
    } else if (key == "ret") {
      if (!unesc(value, r.ret) || !(r.ret.empty() || r.ret == "FULL" || r.ret == "HDRS"))
        return bad(line_no, "invalid ret");
    } else if (key == "flags") {
      if (value != "-") {
        std::size_t i = 0;
        while (i <= value.size()) {
          auto c = value.find(',', i);
          if (c == std::string_view::npos) c = value.size();
          auto f = value.substr(i, c - i);
          if (f == "smtputf8") r.smtputf8 = true;
          else if (f == "eightbit") r.eightbit = true;
          else if (f == "requiretls") r.requiretls = true;
          else if (f == "held") r.held = true;
          else if (f == "delay-warned") r.delay_warned = true;
          else return bad(line_no, "unknown flag");
          i = c + 1;
        }
      }
    } else if (key == "size") {
      if (!number(value, r.size)) return bad(line_no, "invalid size");
    } else if (key == "rcpt") {
      if (r.recipients.size() >= kMaxRecipients) return bad(line_no, "more than 100000 recipients");
      auto f = split(value);
      if (f.size() != 10) return bad(line_no, "a rcpt line has 10 fields");
      RecipientRecord p;
      if (!unesc(f[0], p.address) || p.address.empty()) return bad(line_no, "invalid recipient address");
      if (!unesc(f[1], p.notify) || !unesc(f[2], p.orcpt)) return bad(line_no, "invalid notify or orcpt");
      if (!parse_state(f[3], p.state)) return bad(line_no, "invalid recipient state");
      if (!number(f[4], p.attempts) || p.attempts < 0) return bad(line_no, "invalid attempt count");
      if (!number(f[5], p.next_attempt)) return bad(line_no, "invalid next attempt time");
      if (!number(f[6], p.last_code) || p.last_code < 0 || p.last_code > 999) return bad(line_no, "invalid reply code");
      if (!unesc(f[7], p.last_enhanced) || !unesc(f[8], p.last_remote_mta) || !unesc(f[9], p.last_text))
        return bad(line_no, "invalid last reply");
      r.recipients.push_back(std::move(p));
    } else {
      return bad(line_no, "unknown key");
    }
  }
  if (line_no == 0) return bad(1, "empty record");
  if (!have_end) return bad(line_no, "missing end line (truncated record)");
  if (!have_id || !have_arrival) return bad(line_no, "id or arrival missing");
  if (r.recipients.empty()) return bad(line_no, "no recipients");
  return r;
}

std::size_t record_length(std::string_view data) noexcept {
  if (!data.starts_with(kMagic)) return 0;
  auto p = data.find("\nend\n");
  if (p == std::string_view::npos || p + 5 > kMaxRecordSize) return 0;
  return p + 5;
}

Result<QueueFileHead> parse_queue_file_head(std::string_view prefix, std::uint64_t file_size) {
  QueueFileHead h;
  std::size_t len = record_length(prefix);
  if (len == 0) {
    if (!prefix.starts_with(kMagic)) return bad(1, "not a version 1 queue file");
    return fail(ErrorCategory::invalid_argument, "queue file without a complete record (no end line: truncated)");
  }
  auto rec = parse_record(prefix.substr(0, len));
  if (!rec) return fail(rec.error());
  h.rec = std::move(*rec);
  h.body_offset = len;
  if (file_size < len || file_size - len != h.rec.size)
    return fail(ErrorCategory::invalid_argument,
                fmt::format("queue file holds {} octets of message, its record says {} (truncated or damaged)",
                            file_size < len ? 0 : file_size - len, h.rec.size));
  return h;
}

}  // namespace tern::queue
