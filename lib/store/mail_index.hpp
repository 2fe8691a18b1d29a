// MailIndex: the per-user SQLite sidecar `<maildir>/tern-index.sqlite` (WAL). A cache of what the Maildir
// holds (UID, file name, size, internal date, flags) plus what Maildir cannot hold (MODSEQ, HIGHESTMODSEQ),
// with the state of dovecot-uidlist, new/ and cur/ it was last in step with. Missing or damaged: rebuilt.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string_view>
#include <optional>
#include <string>
#include <vector>

namespace tern::store::detail {

struct IndexedMailbox {
  std::uint32_t uid_validity = 0;
  std::uint32_t uid_next = 1;
  std::uint64_t highest_modseq = 1;
  std::string guid;
  // dovecot-uidlist as last read: inode, bytes consumed, mtime (ns), record lines in the file.
  std::uint64_t ul_ino = 0, ul_size = 0;
  std::int64_t ul_mtime = 0;
  std::uint64_t ul_lines = 0;
  // new/ and cur/ mtimes (ns) the messages were last reconciled with; 0: unknown.
  std::int64_t new_mtime = 0, cur_mtime = 0;
};

struct IndexedMessage {
  std::uint32_t uid = 0;
  std::string base, info;  // the file name is base + info (":2,FS")
  bool in_new = false;
  std::uint64_t size = 0;
  std::int64_t internal_date = 0;
  std::uint64_t modseq = 1;
  std::uint32_t system_flags = 0;
  std::string keyword_letters;
};

class MailIndex {
 public:
  // Opens (or creates) the index; a damaged file is moved aside and recreated. nullptr if SQLite fails.
  static std::unique_ptr<MailIndex> open(const std::filesystem::path& file);
  ~MailIndex();

  std::optional<IndexedMailbox> mailbox(const std::string& name);
  // Calls `row` for every message of the mailbox in UID order (the views live until `row` returns).
  struct MessageRow {
    std::uint32_t uid;
    std::string_view base, info, keyword_letters;
    bool in_new;
    std::uint64_t size;
    std::int64_t internal_date;
    std::uint64_t modseq;
    std::uint32_t system_flags;
  };
  bool messages(const std::string& name, const std::function<void(const MessageRow&)>& row);
  // What opening a folder reads, in one read transaction: the mailbox row, then every message in UID order.
  // The messages come from the folder's snapshot (one BLOB: the rows packed, written with the rows it
  // matches) merged with the rows changed since (its delta: every write of a row of a folder with a
  // snapshot lists the UID in the same transaction) when the snapshot is there, intact (checksum), of the
  // current epoch and the delta small; otherwise from the rows, and a folder of at least `snapshot_min`
  // rows then gets a new snapshot with an empty delta (only if no one wrote since the read: a stale
  // snapshot is never written). false: no mailbox row or a read error (the caller reconciles from the
  // Maildir).
  bool load(const std::string& name, IndexedMailbox& mb, const std::function<void(const MessageRow&)>& row,
            std::size_t snapshot_min);
  enum class SnapshotUse { none, used, written };
  SnapshotUse last_snapshot_use() const { return snapshot_use_; }  // what the last load() did (tests, bench)
  std::size_t last_delta() const { return last_delta_; }  // changed rows merged by the last load() (used)

  // A write transaction: begin(), then puts/deletes, then commit() (false: rolled back; the index is stale).
  bool begin();
  bool commit();
  void rollback();
  void put_mailbox(const std::string& name, const IndexedMailbox& m);
  void put_message(const std::string& name, const IndexedMessage& m);
  void delete_message(const std::string& name, std::uint32_t uid);  // with its cached data
  void delete_messages(const std::string& name);  // every message of the mailbox, with cached data
  // Derived data cached per message (UserMailbox::cached); put_cached belongs in a write transaction.
  // Fills out[i] for uids[i] (0: skipped), all in one read transaction (one lock, not one per row).
  void cached(const std::string& name, const std::vector<std::uint32_t>& uids, std::string_view field,
              std::vector<std::optional<std::string>>& out);
  void put_cached(const std::string& name, std::uint32_t uid, std::string_view field, std::string_view value);
  void delete_mailbox(const std::string& name);   // the mailbox and its children ("name/...")
  void rename_mailbox(const std::string& from, const std::string& to);  // with its children
  bool failed() const { return failed_; }

 private:
  explicit MailIndex(sqlite3* db) : db_(db) {}
  bool prepare();
  void finalize();  // the prepared statements
  bool exec(const char* sql);
  void note_change(const std::string& name, std::uint32_t uid);  // in a write transaction: into the delta
  void drop_snapshot(const std::string& name);  // in a write transaction: the snapshot is no longer used
  void write(sqlite3_stmt* s, const std::string& name, std::optional<std::uint32_t> uid = std::nullopt);
  sqlite3* db_ = nullptr;
  sqlite3_stmt *get_mb_ = nullptr, *get_msgs_ = nullptr, *put_mb_ = nullptr, *put_msg_ = nullptr, *del_msg_ = nullptr,
               *del_msgs_ = nullptr, *get_cache_ = nullptr, *put_cache_ = nullptr, *del_cache_ = nullptr,
               *del_caches_ = nullptr, *get_snap_ = nullptr, *put_snap_ = nullptr, *del_snap_ = nullptr,
               *get_cache_range_ = nullptr, *put_snap_state_ = nullptr, *get_delta_ = nullptr,
               *put_delta_ = nullptr, *del_delta_ = nullptr, *has_snap_ = nullptr;
  bool failed_ = false;
  // Folders this write transaction looked up: whether they have a snapshot (whose delta to write).
  std::vector<std::pair<std::string, bool>> snap_known_;
  std::size_t last_delta_ = 0;
  SnapshotUse snapshot_use_ = SnapshotUse::none;
};

}  // namespace tern::store::detail
