// HeaderFieldCache: the header fields that ENVELOPE, SORT, THREAD, the address/subject/date SEARCH
// keys and the usual client header fetches (Thunderbird's, Apple Mail's and Roundcube's
// BODY.PEEK[HEADER.FIELDS (...)]) read, cut out of a message once and kept by the store
// (UserMailbox::cache), so that these commands do not open and parse the message file again — what
// Dovecot's dovecot.index.cache does for the fields clients ask for.
//
// The cached value is those fields exactly as written, in message order, then the empty line: parsed
// as a header block it yields the same fields, so ENVELOPE, SEARCH and HEADER.FIELDS answer from it
// byte for byte as from the whole header. A header with defects in its field syntax (a line that is
// not a field, an invalid name, limits reached, NUL, bare CR) is not cut: it is marked as such ("")
// and always read whole, so no parser corner case can make the two answers differ.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tern/imap/search.hpp"
#include "tern/store/mail_store.hpp"

namespace tern::imap {

// Values the store keeps per message under one field name (UserMailbox::cache): read ahead a window of
// UIDs at a time (one store call each) in the order a command reads the messages, and written back in
// batches (also by the destructor).
class FieldCache {
 public:
  FieldCache(store::UserMailbox& user, const std::string& mailbox, std::string_view field, std::vector<std::uint32_t> order)
      : user_(user), mailbox_(mailbox), field_(field), order_(std::move(order)) {}
  ~FieldCache() { flush(); }
  FieldCache(const FieldCache&) = delete;
  FieldCache& operator=(const FieldCache&) = delete;

  // The cached value of `uid` (taken out: ask once per message), nullopt when none is cached.
  std::optional<std::string> take(std::uint32_t uid);
  // Remembers a value computed for `uid`; written to the store with the next batch.
  void put(std::uint32_t uid, std::string value);
  void flush();

 private:
  store::UserMailbox& user_;
  const std::string& mailbox_;
  std::string_view field_;
  std::vector<std::uint32_t> order_;
  std::size_t next_ = 0;  // where the next window starts in order_
  std::vector<std::uint32_t> window_uids_;
  std::vector<std::optional<std::string>> window_;
  std::size_t hint_ = 0;  // where in the window the next UID probably is
  std::vector<store::UserMailbox::CacheEntry> fresh_;
};

class HeaderFieldCache {
 public:
  // The store's name for the cached value (bump the version when the field list changes).
  static constexpr std::string_view kField = "imap.header-fields.v1";

  // Is every one of these field names (any case) in the cached set?
  static bool covers(const std::vector<std::string>& names);
  // The cached fields of a header block, or "" when its syntax has defects (see above).
  static std::string extract(std::string_view header_block);

  // `order`: the UIDs the command will read, in the order it reads them; the cached values are read
  // from the store ahead, a window at a time.
  HeaderFieldCache(store::UserMailbox& user, const std::string& mailbox, std::vector<std::uint32_t> order)
      : user_(user), mailbox_(mailbox), values_(user, mailbox, kField, std::move(order)) {}

  // A header loader for MessageView: the cached fields, or (first time) the message's header block,
  // whose cut is remembered and written to the store in batches.
  MessageView::Loader loader(std::uint32_t uid);
  // Writes what was cut so far (also done by the destructor).
  void flush() { values_.flush(); }

 private:
  Result<std::string> load(std::uint32_t uid);
  store::UserMailbox& user_;
  const std::string& mailbox_;
  FieldCache values_;
};

}  // namespace tern::imap
