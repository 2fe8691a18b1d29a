// tern::imap SEARCH evaluation (RFC 9051 §6.4.4, RFC 3501 §6.4.4) and the SEARCH / ESEARCH responses
// (RFC 9051 §7.3.4, RFC 4731, RFC 5182 SEARCHRES, RFC 7162 MODSEQ).
//
// Semantics (matching Dovecot where the RFCs leave room):
// - Text keys (SUBJECT, FROM, HEADER, BODY, TEXT, ...) are substring matches with i;unicode-casemap
//   (collation.hpp) on DECODED values: header values with RFC 2047 encoded-words decoded; address
//   headers (From, To, Cc, Bcc, Sender, Reply-To, ...) match the decoded display names and the
//   addresses "local@domain"; BODY searches transfer-decoded, charset-converted text of the text/*
//   and message/* leaf parts (not attachments in other types, not parts whose Content-Transfer-Encoding
//   is unknown, as Dovecot); TEXT searches the decoded header fields of the message and of every part
//   plus the body text BODY searches.
// - HEADER field "" matches every message that has the field (RFC 9051 §6.4.4).
// - BEFORE/ON/SINCE compare INTERNALDATE by day in the server's zone (SearchEnv::zone_minutes);
//   SENTBEFORE/SENTON/SENTSINCE compare the Date: header's day in its own zone; a message without a
//   parsable Date: counts as sent on 1-Jan-1970 (as in Dovecot; SORT uses INTERNALDATE instead).
// - OLDER/YOUNGER (RFC 5032) compare INTERNALDATE with SearchEnv::now.
// - Sequence sets: "*" is the largest message number / UID in the mailbox; "$" is the saved result
//   (SearchEnv::saved_uids; an empty or absent saved result matches nothing, RFC 5182 §2.1).
// Header and body bytes are loaded only when a key needs them: a flags-only SEARCH never calls the
// loaders of MessageView.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tern/core/result.hpp"
#include "tern/imap/search_key.hpp"
#include "tern/mime/message.hpp"
#include "tern/store/mail_store.hpp"

namespace tern::imap {

// What a search needs to know about the mailbox and the session, besides the message itself.
struct SearchEnv {
  std::uint32_t message_count = 0;  // messages in the mailbox: the value of "*" for message numbers
  std::uint32_t largest_uid = 0;    // UID of the last message: the value of "*" for UID sets
  // RFC 5182 "$": the UIDs saved by SEARCH RETURN (SAVE), sorted ascending; nullptr if none saved.
  const std::vector<std::uint32_t>* saved_uids = nullptr;
  std::int64_t now = 0;             // Unix time, for OLDER/YOUNGER (RFC 5032)
  int zone_minutes = 0;             // the server's zone (minutes east of UTC) for BEFORE/ON/SINCE
  bool savedate_supported = false;  // RFC 8514 SAVEDATESUPPORTED
  // RFC 8474 EMAILID of a message (by UID); empty: EMAILID matches nothing. THREADID always matches
  // nothing (every THREADID is NIL).
  std::function<std::string(std::uint32_t uid)> email_id;
};

// One message as the evaluator, SORT and THREAD see it. Metadata is given up front; the header block,
// the whole message and their parses are loaded on first use through the loaders and kept.
class MessageView {
 public:
  // Returns the raw bytes; errors (message expunged meanwhile, I/O) make text keys not match.
  using Loader = std::function<Result<std::string>()>;

  // `info` must outlive the view. `load_header` may be empty: then the header is cut from the
  // whole message (load_message).
  MessageView(std::uint32_t seq, const store::MessageInfo& info, Loader load_message, Loader load_header = {});
  // A view over bytes the caller already holds (tests, APPEND, the benchmark); they must outlive it.
  MessageView(std::uint32_t seq, const store::MessageInfo& info, std::string_view raw_message);

  MessageView(const MessageView&) = delete;
  MessageView& operator=(const MessageView&) = delete;
  MessageView(MessageView&&) noexcept;
  MessageView& operator=(MessageView&&) noexcept;
  ~MessageView();

  std::uint32_t seq = 0;                 // message sequence number (1-based)
  const store::MessageInfo* info;        // UID, flags, keywords, size, internal date, MODSEQ
  bool recent = false;                   // \Recent in this session
  std::optional<std::int64_t> save_date; // RFC 8514 save date (Unix time; from info->save_date); nullopt: unknown

  // The header block including its final empty line; nullptr if loading failed.
  const std::string_view* header();
  // The whole message; nullptr if loading failed.
  const std::string_view* message();
  // Parse of the header block only (its root part carries the header fields); nullptr on failure.
  const mime::Message* parsed_header();
  // Parse of the whole message; nullptr on failure.
  const mime::Message* parsed();

  // Which loaders have run (tests and the benchmark check that flag searches read nothing).
  bool header_loaded() const;
  bool message_loaded() const;

  struct State;  // implementation detail (loaded bytes, parses, caches of decoded text)

 private:
  friend bool matches(const struct SearchKey& key, MessageView& message, const struct SearchEnv& env);
  State* state_;
};

// Does the message match the key (RFC 9051 §6.4.4)?
bool matches(const SearchKey& key, MessageView& message, const SearchEnv& env);

// What a key needs: headers (header/date/address keys), the whole message (BODY/TEXT), neither
// (flags, sizes, sets, dates of arrival). The session may use this to choose loaders.
enum class SearchNeeds { metadata, header, message };
SearchNeeds search_needs(const SearchKey& key);
// The header fields a key reads (as written in the key; compare case-insensitively), or nullopt when it
// reads the whole message (BODY, TEXT). Empty for keys that read only metadata.
std::optional<std::vector<std::string>> header_fields_read(const SearchKey& key);
// Does the key contain MODSEQ (then SEARCH/ESEARCH responses carry the highest MODSEQ, RFC 7162 §3.1.5)?
bool uses_modseq(const SearchKey& key);

// Numbers (ascending or not, duplicates allowed) as a sequence set "1:3,5,7:8" (RFC 9051 §9);
// "" for none.
std::string format_sequence_set(std::vector<std::uint32_t> numbers);

// "* SEARCH 2 5 7" (RFC 9051 §7.3.4 is ESEARCH; this is the IMAP4rev1 form, RFC 3501 §7.2.5), with
// " (MODSEQ n)" when `modseq` is given and there is at least one result (RFC 7162 §3.1.5). No CRLF.
std::string format_search_response(const std::vector<std::uint32_t>& numbers,
                                   std::optional<std::uint64_t> modseq = std::nullopt);

// "* ESEARCH (TAG "A1") UID MIN 2 MAX 7 COUNT 3 ALL 2,5,7 MODSEQ 9" (RFC 4731 §3.1, RFC 9051
// §7.3.4): only the requested items; MIN/MAX/ALL are left out when nothing matched (COUNT 0 stays);
// an empty RETURN means ALL. `numbers` are message numbers or UIDs (`uid`). No CRLF.
std::string format_esearch_response(std::string_view tag, bool uid, const SearchReturn& ret,
                                    const std::vector<std::uint32_t>& numbers,
                                    std::optional<std::uint64_t> modseq = std::nullopt);

// Is an ESEARCH response sent at all? Not when SAVE is the only RETURN option (RFC 5182 §2.1; the
// client only wants "$" set); an empty RETURN () means ALL and is answered.
bool esearch_response_wanted(const SearchReturn& ret);

// What RETURN (SAVE) keeps for "$" (RFC 5182 §2.1): with MIN or MAX also given only those
// messages, else all. Takes and returns UIDs, sorted ascending.
std::vector<std::uint32_t> saved_result(const SearchReturn& ret, std::vector<std::uint32_t> uids);

}  // namespace tern::imap
