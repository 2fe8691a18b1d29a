// The envelope/state record of one queued message: a versioned, line-oriented text. It heads the message's
// queue file (<spool>/<id>.qf: the record, then the message) as written at arrival; once the state
// changes (a deferral, hold, flush) the current record is the side record <spool>/<id>.env, rewritten
// atomically (temp file, fsync, rename, directory fsync) after every change. Spools of the earlier layout
// keep the message alone in <spool>/<id>.msg and the record in <id>.env.
//
//   tern-queue-record 1
//   id 0190AB12CD34-1F2E
//   arrival 1795000000
//   return-path alice@example.test        ("-" for the null sender <>)
//   envid -                               (every value is %XX-escaped; "-" is the empty value)
//   ret FULL
//   flags smtputf8,eightbit,requiretls,held,delay-warned   ("-" for none)
//   size 1234
//   rcpt <address> <notify> <orcpt> <state> <attempts> <next> <code> <enhanced> <remote-mta> <text>
//   end
//
// The trailing "end" line makes a truncated file detectable even without the atomic rename.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tern/core/result.hpp"

namespace tern::queue {

enum class RecipientState { pending, deferred, delivered, failed };
std::string_view to_string(RecipientState s) noexcept;

struct RecipientRecord {
  std::string address;
  std::string notify;  // RFC 3461 NOTIFY as received ("" = default: FAILURE, and DELAY warnings)
  std::string orcpt;   // "rfc822;addr" or ""
  RecipientState state = RecipientState::pending;
  int attempts = 0;
  std::int64_t next_attempt = 0;  // unix seconds
  int last_code = 0;              // last reply code, 0 if never tried
  std::string last_enhanced, last_remote_mta, last_text;
};

struct MessageRecord {
  std::string id;
  std::int64_t arrival = 0;  // unix seconds
  std::string return_path;   // "" for <>
  std::string envid, ret;
  bool smtputf8 = false, eightbit = false, requiretls = false;
  bool held = false;
  bool delay_warned = false;
  std::uint64_t size = 0;
  std::vector<RecipientRecord> recipients;

  bool finished() const;  // every recipient delivered or failed
};

// Bounds: a record is at most 4 MiB, a line at most 64 KiB, at most 100000 recipients.
inline constexpr std::size_t kMaxRecordSize = 4 * 1024 * 1024;
inline constexpr std::size_t kMaxRecordLine = 64 * 1024;
inline constexpr std::size_t kMaxRecipients = 100000;

std::string serialize_record(const MessageRecord& r);
// Strict: unknown version, missing or malformed field, missing "end" line -> ErrorCategory::invalid_argument.
Result<MessageRecord> parse_record(std::string_view text);

// The queue file: the record (its "end" line included), then exactly `size` octets of message. No other
// line of a record is "end" (every line is "key value"), so the first "end" line closes it.
// The length of the record at the start of `data` (the offset of the message), or 0 if `data` holds no
// complete record yet (read more; at kMaxRecordSize the file is not a queue file).
std::size_t record_length(std::string_view data) noexcept;

struct QueueFileHead {
  MessageRecord rec;
  std::uint64_t body_offset = 0;  // where the message starts
};
// Parses the head of a queue file of `file_size` octets from its first octets `prefix` (at least the
// whole record). Invalid (ErrorCategory::invalid_argument) unless the record parses and the file holds
// exactly rec.size octets after it: a truncated or extended file is never taken for a queued message.
Result<QueueFileHead> parse_queue_file_head(std::string_view prefix, std::uint64_t file_size);

// A queue id is 8..64 characters of [0-9A-Za-z-] (also what ternctl accepts before touching a file name).
bool valid_queue_id(std::string_view id) noexcept;

}  // namespace tern::queue
