// MailIndex: SQLite sidecar of a MaildirStore user (see mail_index.hpp).
#include "mail_index.hpp"

#include "tern/core/log.hpp"

namespace tern::store::detail {

namespace {
constexpr const char* kSchema =
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT);"
    "CREATE TABLE IF NOT EXISTS mailbox(name TEXT PRIMARY KEY, uid_validity INTEGER, uid_next INTEGER,"
    " highest_modseq INTEGER, guid TEXT, ul_ino INTEGER, ul_size INTEGER, ul_mtime INTEGER, ul_lines INTEGER,"
    " new_mtime INTEGER, cur_mtime INTEGER);"
    "CREATE TABLE IF NOT EXISTS message(mailbox TEXT, uid INTEGER, base TEXT, info TEXT, in_new INTEGER,"
    " size INTEGER, internal_date INTEGER, modseq INTEGER, flags INTEGER, keywords TEXT,"
    " PRIMARY KEY(mailbox, uid)) WITHOUT ROWID;"
    // Derived data per message (e.g. the header fields IMAP reads), dropped with the message row.
    "CREATE TABLE IF NOT EXISTS cache(mailbox TEXT, uid INTEGER, field TEXT, value BLOB,"
    " PRIMARY KEY(mailbox, uid, field)) WITHOUT ROWID;"
    "INSERT OR IGNORE INTO meta VALUES('schema', '1');";

std::string text(sqlite3_stmt* s, int i) {
  auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s, i));
  return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(s, i))) : std::string();
}
void bind(sqlite3_stmt* s, int i, const std::string& v) { sqlite3_bind_text(s, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT); }
void bind(sqlite3_stmt* s, int i, std::int64_t v) { sqlite3_bind_int64(s, i, v); }
}  // namespace

std::unique_ptr<MailIndex> MailIndex::open(const std::filesystem::path& file) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    sqlite3* db = nullptr;
    int rc = sqlite3_open_v2(file.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
    if (rc == SQLITE_OK) {
      std::unique_ptr<MailIndex> ix(new MailIndex(db));
      sqlite3_busy_timeout(db, 10000);
      // WAL: readers never block the writer; NORMAL: a commit survives a process crash (SIGKILL); after a
      // power loss the last transactions may roll back, and the index is then reconciled with the Maildir.
      // The schema is created only when its statements do not compile (a new file): on every other open that
      // write transaction (and its WAL append) was pure cost.
      if (ix->exec("PRAGMA journal_mode=WAL") && ix->exec("PRAGMA synchronous=NORMAL") && ix->exec("PRAGMA mmap_size=268435456") &&
          (ix->prepare() || (ix->finalize() , ix->exec(kSchema) && ix->prepare())))
        return ix;
      log::warn("store.index_damaged", {{"path", file.string()}, {"error", std::string(sqlite3_errmsg(db))}});
    } else {
      sqlite3_close(db);
    }
    std::error_code ec;
    auto aside = file;
    aside += ".damaged";
    std::filesystem::rename(file, aside, ec);
    for (auto suffix : {"-wal", "-shm"}) {
      auto p = file;
      p += suffix;
      std::filesystem::remove(p, ec);
    }
  }
  return nullptr;
}

MailIndex::~MailIndex() {
  finalize();
  sqlite3_close(db_);
}

void MailIndex::finalize() {
  for (auto** s : {&get_mb_, &get_msgs_, &put_mb_, &put_msg_, &del_msg_, &del_msgs_, &get_cache_, &put_cache_,
                   &del_cache_, &del_caches_}) {
    sqlite3_finalize(*s);
    *s = nullptr;
  }
}

bool MailIndex::exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    log::warn("store.index_error", {{"error", std::string(err ? err : "?")}});
    sqlite3_free(err);
    return false;
  }
  return true;
}

bool MailIndex::prepare() {
  auto p = [&](const char* sql, sqlite3_stmt** s) { return sqlite3_prepare_v2(db_, sql, -1, s, nullptr) == SQLITE_OK; };
  return p("SELECT uid_validity, uid_next, highest_modseq, guid, ul_ino, ul_size, ul_mtime, ul_lines, new_mtime, cur_mtime"
           " FROM mailbox WHERE name = ?", &get_mb_) &&
         p("SELECT uid, base, info, in_new, size, internal_date, modseq, flags, keywords FROM message WHERE mailbox = ? ORDER BY uid",
           &get_msgs_) &&
         p("INSERT OR REPLACE INTO mailbox VALUES(?,?,?,?,?,?,?,?,?,?,?)", &put_mb_) &&
         p("INSERT OR REPLACE INTO message VALUES(?,?,?,?,?,?,?,?,?,?)", &put_msg_) &&
         p("DELETE FROM message WHERE mailbox = ? AND uid = ?", &del_msg_) && p("DELETE FROM message WHERE mailbox = ?", &del_msgs_) &&
         p("SELECT value FROM cache WHERE mailbox = ? AND uid = ? AND field = ?", &get_cache_) &&
         p("INSERT OR REPLACE INTO cache VALUES(?,?,?,?)", &put_cache_) &&
         p("DELETE FROM cache WHERE mailbox = ? AND uid = ?", &del_cache_) &&
         p("DELETE FROM cache WHERE mailbox = ?", &del_caches_);
}

std::optional<IndexedMailbox> MailIndex::mailbox(const std::string& name) {
  sqlite3_reset(get_mb_);
  bind(get_mb_, 1, name);
  if (sqlite3_step(get_mb_) != SQLITE_ROW) return std::nullopt;
  IndexedMailbox m;
  m.uid_validity = static_cast<std::uint32_t>(sqlite3_column_int64(get_mb_, 0));
  m.uid_next = static_cast<std::uint32_t>(sqlite3_column_int64(get_mb_, 1));
  m.highest_modseq = static_cast<std::uint64_t>(sqlite3_column_int64(get_mb_, 2));
  m.guid = text(get_mb_, 3);
  m.ul_ino = static_cast<std::uint64_t>(sqlite3_column_int64(get_mb_, 4));
  m.ul_size = static_cast<std::uint64_t>(sqlite3_column_int64(get_mb_, 5));
  m.ul_mtime = sqlite3_column_int64(get_mb_, 6);
  m.ul_lines = static_cast<std::uint64_t>(sqlite3_column_int64(get_mb_, 7));
  m.new_mtime = sqlite3_column_int64(get_mb_, 8);
  m.cur_mtime = sqlite3_column_int64(get_mb_, 9);
  sqlite3_reset(get_mb_);
  return m;
}

bool MailIndex::messages(const std::string& name, const std::function<void(const MessageRow&)>& row) {
  sqlite3_reset(get_msgs_);
  bind(get_msgs_, 1, name);
  auto view = [&](int i) {
    auto* p = reinterpret_cast<const char*>(sqlite3_column_text(get_msgs_, i));
    return p ? std::string_view(p, static_cast<std::size_t>(sqlite3_column_bytes(get_msgs_, i))) : std::string_view();
  };
  int rc;
  while ((rc = sqlite3_step(get_msgs_)) == SQLITE_ROW) {
    MessageRow m;
    m.uid = static_cast<std::uint32_t>(sqlite3_column_int64(get_msgs_, 0));
    m.base = view(1);
    m.info = view(2);
    m.in_new = sqlite3_column_int(get_msgs_, 3) != 0;
    m.size = static_cast<std::uint64_t>(sqlite3_column_int64(get_msgs_, 4));
    m.internal_date = sqlite3_column_int64(get_msgs_, 5);
    m.modseq = static_cast<std::uint64_t>(sqlite3_column_int64(get_msgs_, 6));
    m.system_flags = static_cast<std::uint32_t>(sqlite3_column_int64(get_msgs_, 7));
    m.keyword_letters = view(8);
    row(m);
  }
  sqlite3_reset(get_msgs_);
  return rc == SQLITE_DONE;
}

bool MailIndex::begin() {
  failed_ = false;
  return exec("BEGIN IMMEDIATE");
}
bool MailIndex::commit() {
  if (failed_) {
    rollback();
    return false;
  }
  if (!exec("COMMIT")) {
    rollback();
    return false;
  }
  return true;
}
void MailIndex::rollback() { sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr); }

void MailIndex::put_mailbox(const std::string& name, const IndexedMailbox& m) {
  sqlite3_reset(put_mb_);
  bind(put_mb_, 1, name);
  bind(put_mb_, 2, static_cast<std::int64_t>(m.uid_validity));
  bind(put_mb_, 3, static_cast<std::int64_t>(m.uid_next));
  bind(put_mb_, 4, static_cast<std::int64_t>(m.highest_modseq));
  bind(put_mb_, 5, m.guid);
  bind(put_mb_, 6, static_cast<std::int64_t>(m.ul_ino));
  bind(put_mb_, 7, static_cast<std::int64_t>(m.ul_size));
  bind(put_mb_, 8, m.ul_mtime);
  bind(put_mb_, 9, static_cast<std::int64_t>(m.ul_lines));
  bind(put_mb_, 10, m.new_mtime);
  bind(put_mb_, 11, m.cur_mtime);
  if (sqlite3_step(put_mb_) != SQLITE_DONE) failed_ = true;
  sqlite3_reset(put_mb_);
}

void MailIndex::put_message(const std::string& name, const IndexedMessage& m) {
  sqlite3_reset(put_msg_);
  bind(put_msg_, 1, name);
  bind(put_msg_, 2, static_cast<std::int64_t>(m.uid));
  bind(put_msg_, 3, m.base);
  bind(put_msg_, 4, m.info);
  bind(put_msg_, 5, static_cast<std::int64_t>(m.in_new));
  bind(put_msg_, 6, static_cast<std::int64_t>(m.size));
  bind(put_msg_, 7, m.internal_date);
  bind(put_msg_, 8, static_cast<std::int64_t>(m.modseq));
  bind(put_msg_, 9, static_cast<std::int64_t>(m.system_flags));
  bind(put_msg_, 10, m.keyword_letters);
  if (sqlite3_step(put_msg_) != SQLITE_DONE) failed_ = true;
  sqlite3_reset(put_msg_);
}

void MailIndex::delete_message(const std::string& name, std::uint32_t uid) {
  for (auto* s : {del_msg_, del_cache_}) {
    sqlite3_reset(s);
    bind(s, 1, name);
    bind(s, 2, static_cast<std::int64_t>(uid));
    if (sqlite3_step(s) != SQLITE_DONE) failed_ = true;
    sqlite3_reset(s);
  }
}

void MailIndex::delete_messages(const std::string& name) {
  for (auto* s : {del_msgs_, del_caches_}) {
    sqlite3_reset(s);
    bind(s, 1, name);
    if (sqlite3_step(s) != SQLITE_DONE) failed_ = true;
    sqlite3_reset(s);
  }
}

void MailIndex::cached(const std::string& name, const std::vector<std::uint32_t>& uids, std::string_view field,
                       std::vector<std::optional<std::string>>& out) {
  bool txn = uids.size() > 1 && sqlite3_get_autocommit(db_) && exec("BEGIN");
  for (std::size_t i = 0; i < uids.size(); ++i) {
    if (!uids[i]) continue;
    sqlite3_reset(get_cache_);
    bind(get_cache_, 1, name);
    bind(get_cache_, 2, static_cast<std::int64_t>(uids[i]));
    sqlite3_bind_text(get_cache_, 3, field.data(), static_cast<int>(field.size()), SQLITE_STATIC);
    if (sqlite3_step(get_cache_) == SQLITE_ROW) {
      auto* p = static_cast<const char*>(sqlite3_column_blob(get_cache_, 0));
      out[i].emplace(p ? p : "", static_cast<std::size_t>(sqlite3_column_bytes(get_cache_, 0)));
    }
  }
  sqlite3_reset(get_cache_);
  if (txn) exec("COMMIT");
}

void MailIndex::put_cached(const std::string& name, std::uint32_t uid, std::string_view field, std::string_view value) {
  sqlite3_reset(put_cache_);
  bind(put_cache_, 1, name);
  bind(put_cache_, 2, static_cast<std::int64_t>(uid));
  sqlite3_bind_text(put_cache_, 3, field.data(), static_cast<int>(field.size()), SQLITE_STATIC);
  sqlite3_bind_blob(put_cache_, 4, value.data(), static_cast<int>(value.size()), SQLITE_STATIC);
  if (sqlite3_step(put_cache_) != SQLITE_DONE) failed_ = true;
  sqlite3_reset(put_cache_);
}

void MailIndex::delete_mailbox(const std::string& name) {
  sqlite3_stmt* s = nullptr;
  for (const char* sql : {"DELETE FROM message WHERE mailbox = ?1 OR substr(mailbox, 1, length(?1) + 1) = ?1 || '/'",
                          "DELETE FROM cache WHERE mailbox = ?1 OR substr(mailbox, 1, length(?1) + 1) = ?1 || '/'",
                          "DELETE FROM mailbox WHERE name = ?1 OR substr(name, 1, length(?1) + 1) = ?1 || '/'"}) {
    if (sqlite3_prepare_v2(db_, sql, -1, &s, nullptr) != SQLITE_OK) { failed_ = true; return; }
    bind(s, 1, name);
    if (sqlite3_step(s) != SQLITE_DONE) failed_ = true;
    sqlite3_finalize(s);
  }
}

void MailIndex::rename_mailbox(const std::string& from, const std::string& to) {
  sqlite3_stmt* s = nullptr;
  for (const char* sql : {"UPDATE message SET mailbox = ?2 || substr(mailbox, length(?1) + 1) WHERE mailbox = ?1 OR substr(mailbox, 1, length(?1) + 1) = ?1 || '/'",
                          "UPDATE cache SET mailbox = ?2 || substr(mailbox, length(?1) + 1) WHERE mailbox = ?1 OR substr(mailbox, 1, length(?1) + 1) = ?1 || '/'",
                          "UPDATE mailbox SET name = ?2 || substr(name, length(?1) + 1) WHERE name = ?1 OR substr(name, 1, length(?1) + 1) = ?1 || '/'"}) {
    if (sqlite3_prepare_v2(db_, sql, -1, &s, nullptr) != SQLITE_OK) { failed_ = true; return; }
    bind(s, 1, from);
    bind(s, 2, to);
    if (sqlite3_step(s) != SQLITE_DONE) failed_ = true;
    sqlite3_finalize(s);
  }
}

}  // namespace tern::store::detail
