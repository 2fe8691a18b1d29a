// MailIndex: SQLite sidecar of a MaildirStore user (see mail_index.hpp).
#include "mail_index.hpp"

#include "tern/core/log.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>

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
    // The messages of a big folder packed in one BLOB (see MailIndex::load) plus the UIDs whose rows changed
    // since it was packed (snapshot_delta): an open reads the BLOB and those rows. A snapshot is used only
    // while snapshot_state holds its folder with the epoch written in its header (a random number per
    // snapshot: an older BLOB put back is refused). A change of a folder without a snapshot writes nothing
    // more; dropping one deletes the small state row, not the BLOB (freeing ~1,800 overflow pages would cost
    // a delivery ~10 ms); the next snapshot written replaces the BLOB.
    "CREATE TABLE IF NOT EXISTS snapshot(mailbox TEXT PRIMARY KEY, data BLOB) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS snapshot_state(mailbox TEXT PRIMARY KEY, epoch INTEGER) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS snapshot_delta(mailbox TEXT, uid INTEGER, PRIMARY KEY(mailbox, uid)) WITHOUT ROWID;"
    "DROP TABLE IF EXISTS snapshot_valid;"  // the first snapshot scheme (no delta)
    "INSERT OR IGNORE INTO meta VALUES('schema', '1');";

// Snapshot BLOB: header (magic, row count, epoch, the mailbox row fields it was packed with, checksum of the
// body), then per
// message: uid u32, size u64, internal_date i64, modseq u64, flags u32, in_new u8, base length u16, info
// length u8, keyword length u8, then the three strings. Little-endian host order (the index is local).
constexpr std::uint32_t kSnapMagic = 0x32534e54;  // "TNS2" (TNS1: before the delta, no epoch)
struct SnapHeader {
  std::uint32_t magic, count;
  std::uint64_t epoch;
  std::uint32_t uid_validity, uid_next;
  std::uint64_t highest_modseq, ul_ino, ul_size, ul_lines;
  std::int64_t ul_mtime, new_mtime, cur_mtime;
  std::uint64_t body_sum;
};
constexpr std::size_t kSnapFixed = 4 + 8 + 8 + 8 + 4 + 1 + 2 + 1 + 1;

// 8 bytes at a time: a damaged page is caught in ~1 ms for 6 MB.
std::uint64_t checksum(const char* p, std::size_t n) {
  std::uint64_t h = 0x84222325cbf29ce4ULL ^ n;
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    std::uint64_t w;
    std::memcpy(&w, p + i, 8);
    h = (h ^ w) * 0x9E3779B97F4A7C15ULL;
    h ^= h >> 29;
  }
  for (; i < n; ++i) h = (h ^ static_cast<unsigned char>(p[i])) * 0x100000001b3ULL;
  return h;
}

bool header_matches(const SnapHeader& h, const IndexedMailbox& mb, std::uint64_t epoch) {
  // The epoch is the guard (changed by every snapshot written); UIDVALIDITY and UIDNEXT a second one (the
  // delta only adds UIDs above the packed UIDNEXT). Not HIGHESTMODSEQ nor the uidlist/directory state: a
  // session raises those to the MODSEQ reservation or a new mtime without changing any row.
  return h.magic == kSnapMagic && h.epoch == epoch && h.uid_validity == mb.uid_validity && h.uid_next <= mb.uid_next;
}

// A new snapshot's epoch: never 0, and not the one before it.
std::uint64_t new_epoch() {
  static std::atomic<std::uint64_t> counter{0};
  std::uint64_t t = static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  std::uint64_t e = (t * 0x9E3779B97F4A7C15ULL) ^ (reinterpret_cast<std::uintptr_t>(&counter) << 7) ^ ++counter;
  return e ? e : 1;
}

template <class T>
void put_raw(std::string& out, T v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof v);
}
template <class T>
T get_raw(const char*& p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  p += sizeof v;
  return v;
}

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
                   &del_cache_, &del_caches_, &get_snap_, &put_snap_, &del_snap_, &get_cache_range_, &put_snap_state_, &get_delta_,
                   &put_delta_, &del_delta_, &has_snap_}) {
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
         p("DELETE FROM cache WHERE mailbox = ?", &del_caches_) &&
         p("SELECT s.data, st.epoch, (SELECT count(*) FROM snapshot_delta WHERE mailbox = ?1) FROM snapshot s"
           " JOIN snapshot_state st ON st.mailbox = s.mailbox WHERE s.mailbox = ?1", &get_snap_) &&
         p("INSERT OR REPLACE INTO snapshot VALUES(?,?)", &put_snap_) &&
         p("INSERT OR REPLACE INTO snapshot_state VALUES(?,?)", &put_snap_state_) &&
         p("DELETE FROM snapshot_state WHERE mailbox = ?", &del_snap_) &&
         p("SELECT 1 FROM snapshot_state WHERE mailbox = ?", &has_snap_) &&
         p("SELECT d.uid, m.base, m.info, m.in_new, m.size, m.internal_date, m.modseq, m.flags, m.keywords, m.uid"
           " FROM snapshot_delta d LEFT JOIN message m ON m.mailbox = d.mailbox AND m.uid = d.uid WHERE d.mailbox = ?"
           " ORDER BY d.uid", &get_delta_) &&
         p("INSERT OR IGNORE INTO snapshot_delta VALUES(?,?)", &put_delta_) &&
         p("DELETE FROM snapshot_delta WHERE mailbox = ?", &del_delta_) &&
         p("SELECT uid, value FROM cache WHERE mailbox = ? AND uid BETWEEN ? AND ? AND field = ? ORDER BY uid", &get_cache_range_);
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

bool MailIndex::load(const std::string& name, IndexedMailbox& mb, const std::function<void(const MessageRow&)>& row,
                     std::size_t snapshot_min) {
  snapshot_use_ = SnapshotUse::none;
  last_delta_ = 0;
  // One read transaction: the mailbox row, the snapshot and its delta or the rows, all of one state.
  bool txn = sqlite3_get_autocommit(db_) && exec("BEGIN");
  auto end = [&](bool ok) {
    if (txn) exec(ok ? "COMMIT" : "ROLLBACK");
    return ok;
  };
  auto m = mailbox(name);
  if (!m) return end(false);
  mb = *m;
  sqlite3_reset(get_snap_);
  bind(get_snap_, 1, name);
  if (sqlite3_step(get_snap_) == SQLITE_ROW) {
    auto* data = static_cast<const char*>(sqlite3_column_blob(get_snap_, 0));
    auto n = static_cast<std::size_t>(sqlite3_column_bytes(get_snap_, 0));
    auto epoch = static_cast<std::uint64_t>(sqlite3_column_int64(get_snap_, 1));
    auto delta = static_cast<std::uint64_t>(sqlite3_column_int64(get_snap_, 2));
    SnapHeader h{};
    bool valid = data && n >= sizeof h;
    if (valid) {
      std::memcpy(&h, data, sizeof h);
      valid = header_matches(h, mb, epoch) && checksum(data + sizeof h, n - sizeof h) == h.body_sum;
    }
    // A delta past a sixteenth of the folder (and past 1,024 rows) costs more to merge than the snapshot
    // saves: the rows are read and a new snapshot written instead.
    bool worth = delta <= std::max<std::uint64_t>(1024, h.count / 16);
    std::vector<MessageRow> rows;
    if (valid && worth) {
      // Bounds are checked while decoding too: the checksum does not prove the writer was right.
      const char* p = data + sizeof h;
      const char* lim = data + n;
      rows.reserve(h.count);
      for (std::uint32_t i = 0; i < h.count && valid; ++i) {
        if (static_cast<std::size_t>(lim - p) < kSnapFixed) { valid = false; break; }
        MessageRow r;
        r.uid = get_raw<std::uint32_t>(p);
        r.size = get_raw<std::uint64_t>(p);
        r.internal_date = get_raw<std::int64_t>(p);
        r.modseq = get_raw<std::uint64_t>(p);
        r.system_flags = get_raw<std::uint32_t>(p);
        r.in_new = get_raw<std::uint8_t>(p) != 0;
        auto bl = get_raw<std::uint16_t>(p);
        auto il = get_raw<std::uint8_t>(p);
        auto kl = get_raw<std::uint8_t>(p);
        if (static_cast<std::size_t>(lim - p) < std::size_t{bl} + il + kl || (!rows.empty() && rows.back().uid >= r.uid)) {
          valid = false;
          break;
        }
        r.base = {p, bl};
        r.info = {p + bl, il};
        r.keyword_letters = {p + bl + il, kl};
        p += bl + il + kl;
        rows.push_back(r);
      }
      valid = valid && p == lim;
    }
    // The rows changed since the snapshot (absent: expunged), read whole before anything is handed out.
    std::vector<std::pair<std::uint32_t, std::optional<IndexedMessage>>> changed;
    if (valid && worth && delta > 0) {
      changed.reserve(delta);
      sqlite3_reset(get_delta_);
      bind(get_delta_, 1, name);
      int rc;
      while ((rc = sqlite3_step(get_delta_)) == SQLITE_ROW) {
        auto& c = changed.emplace_back(static_cast<std::uint32_t>(sqlite3_column_int64(get_delta_, 0)), std::nullopt);
        if (sqlite3_column_type(get_delta_, 9) == SQLITE_NULL) continue;
        IndexedMessage& im = c.second.emplace();
        im.uid = c.first;
        im.base = text(get_delta_, 1);
        im.info = text(get_delta_, 2);
        im.in_new = sqlite3_column_int(get_delta_, 3) != 0;
        im.size = static_cast<std::uint64_t>(sqlite3_column_int64(get_delta_, 4));
        im.internal_date = sqlite3_column_int64(get_delta_, 5);
        im.modseq = static_cast<std::uint64_t>(sqlite3_column_int64(get_delta_, 6));
        im.system_flags = static_cast<std::uint32_t>(sqlite3_column_int64(get_delta_, 7));
        im.keyword_letters = text(get_delta_, 8);
      }
      sqlite3_reset(get_delta_);
      valid = rc == SQLITE_DONE;
    }
    if (valid && worth) {
      // Merged in UID order: a changed UID replaces (or, expunged, removes) the packed row.
      std::size_t i = 0;
      for (const auto& [uid, now] : changed) {
        while (i < rows.size() && rows[i].uid < uid) row(rows[i++]);
        if (i < rows.size() && rows[i].uid == uid) ++i;
        if (!now) continue;
        MessageRow r{now->uid, now->base, now->info, now->keyword_letters, now->in_new, now->size,
                     now->internal_date, now->modseq, now->system_flags};
        row(r);
      }
      while (i < rows.size()) row(rows[i++]);
      sqlite3_reset(get_snap_);
      snapshot_use_ = SnapshotUse::used;
      last_delta_ = changed.size();
      return end(true);
    }
    if (!valid) log::info("store.index_snapshot_stale", {{"mailbox", name}});
  }
  sqlite3_reset(get_snap_);
  // From the rows, packing them as they come when the folder is big enough to be worth a snapshot.
  std::string blob;
  std::uint32_t count = 0;
  bool pack = snapshot_min > 0 && mb.ul_lines + 1 >= snapshot_min;
  if (pack) blob.reserve(sizeof(SnapHeader) + (mb.ul_lines + 16) * (kSnapFixed + 64));
  blob.resize(sizeof(SnapHeader));
  bool ok = messages(name, [&](const MessageRow& r) {
    row(r);
    ++count;
    if (!pack) return;
    if (r.base.size() > 0xffff || r.info.size() > 0xff || r.keyword_letters.size() > 0xff) {
      pack = false;
      return;
    }
    put_raw(blob, r.uid);
    put_raw(blob, r.size);
    put_raw(blob, r.internal_date);
    put_raw(blob, r.modseq);
    put_raw(blob, r.system_flags);
    put_raw(blob, static_cast<std::uint8_t>(r.in_new));
    put_raw(blob, static_cast<std::uint16_t>(r.base.size()));
    put_raw(blob, static_cast<std::uint8_t>(r.info.size()));
    put_raw(blob, static_cast<std::uint8_t>(r.keyword_letters.size()));
    blob.append(r.base).append(r.info).append(r.keyword_letters);
  });
  if (!ok) return end(false);
  if (!txn || !pack || count < snapshot_min) return end(true);
  const std::uint64_t epoch = new_epoch();
  SnapHeader h{kSnapMagic, count, epoch, mb.uid_validity, mb.uid_next, mb.highest_modseq, mb.ul_ino, mb.ul_size,
               mb.ul_lines, mb.ul_mtime, mb.new_mtime, mb.cur_mtime, checksum(blob.data() + sizeof h, blob.size() - sizeof h)};
  std::memcpy(blob.data(), &h, sizeof h);
  // The read transaction becomes a write one only if no one committed since it began (SQLITE_BUSY_SNAPSHOT
  // otherwise): the snapshot is then exactly the rows it was packed from, and its delta starts empty.
  auto step = [&](sqlite3_stmt* s) {
    bool done = sqlite3_step(s) == SQLITE_DONE;
    sqlite3_reset(s);
    return done;
  };
  sqlite3_reset(put_snap_);
  bind(put_snap_, 1, name);
  sqlite3_bind_blob(put_snap_, 2, blob.data(), static_cast<int>(blob.size()), SQLITE_STATIC);
  bool wrote = step(put_snap_);
  if (wrote) {
    bind(put_snap_state_, 1, name);
    bind(put_snap_state_, 2, static_cast<std::int64_t>(epoch));
    bind(del_delta_, 1, name);
    wrote = step(put_snap_state_) && step(del_delta_);
  }
  if (wrote && exec("COMMIT")) {
    snapshot_use_ = SnapshotUse::written;
    return true;
  }
  exec("ROLLBACK");
  return true;
}

// In a write transaction: a changed row of a folder with a snapshot is listed in its delta (the folder's
// snapshot state looked up once per transaction).
void MailIndex::note_change(const std::string& name, std::uint32_t uid) {
  auto it = std::find_if(snap_known_.begin(), snap_known_.end(), [&](const auto& k) { return k.first == name; });
  if (it == snap_known_.end()) {
    sqlite3_reset(has_snap_);
    bind(has_snap_, 1, name);
    int rc = sqlite3_step(has_snap_);
    sqlite3_reset(has_snap_);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) failed_ = true;
    snap_known_.emplace_back(name, rc == SQLITE_ROW);
    it = std::prev(snap_known_.end());
  }
  if (it->second) write(put_delta_, name, uid);
}

// One write statement with the folder name (and a UID) bound; a failure fails the transaction.
void MailIndex::write(sqlite3_stmt* s, const std::string& name, std::optional<std::uint32_t> uid) {
  sqlite3_reset(s);
  bind(s, 1, name);
  if (uid) bind(s, 2, static_cast<std::int64_t>(*uid));
  if (sqlite3_step(s) != SQLITE_DONE) failed_ = true;
  sqlite3_reset(s);
}

void MailIndex::drop_snapshot(const std::string& name) {
  auto it = std::find_if(snap_known_.begin(), snap_known_.end(), [&](const auto& k) { return k.first == name; });
  if (it != snap_known_.end() && !it->second) return;
  if (it == snap_known_.end()) snap_known_.emplace_back(name, false);
  else it->second = false;
  for (auto* s : {del_snap_, del_delta_}) write(s, name);
}

bool MailIndex::begin() {
  failed_ = false;
  snap_known_.clear();
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
  note_change(name, m.uid);
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
  note_change(name, uid);
  for (auto* s : {del_msg_, del_cache_}) write(s, name, uid);
}

void MailIndex::delete_messages(const std::string& name) {
  drop_snapshot(name);
  for (auto* s : {del_msgs_, del_caches_}) write(s, name);
}

void MailIndex::cached(const std::string& name, const std::vector<std::uint32_t>& uids, std::string_view field,
                       std::vector<std::optional<std::string>>& out) {
  bool txn = uids.size() > 1 && sqlite3_get_autocommit(db_) && exec("BEGIN");
  // Ascending UIDs (what a FETCH of a range asks for): one scan of the primary key from the first to the last
  // instead of one lookup per UID, when the range is not much wider than the list.
  std::uint32_t lo = 0, hi = 0, present = 0;
  bool ascending = true;
  for (auto u : uids) {
    if (!u) continue;
    if (present && u <= hi) ascending = false;
    if (!present) lo = u;
    hi = u;
    ++present;
  }
  if (ascending && present > 8 && std::uint64_t{hi} - lo < std::uint64_t{present} * 4) {
    sqlite3_reset(get_cache_range_);
    bind(get_cache_range_, 1, name);
    bind(get_cache_range_, 2, static_cast<std::int64_t>(lo));
    bind(get_cache_range_, 3, static_cast<std::int64_t>(hi));
    sqlite3_bind_text(get_cache_range_, 4, field.data(), static_cast<int>(field.size()), SQLITE_STATIC);
    std::size_t i = 0;
    while (sqlite3_step(get_cache_range_) == SQLITE_ROW) {
      auto uid = static_cast<std::uint32_t>(sqlite3_column_int64(get_cache_range_, 0));
      while (i < uids.size() && (!uids[i] || uids[i] < uid)) ++i;
      if (i == uids.size()) break;
      if (uids[i] != uid) continue;
      auto* p = static_cast<const char*>(sqlite3_column_blob(get_cache_range_, 1));
      out[i].emplace(p ? p : "", static_cast<std::size_t>(sqlite3_column_bytes(get_cache_range_, 1)));
    }
    sqlite3_reset(get_cache_range_);
    if (txn) exec("COMMIT");
    return;
  }
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
                          "DELETE FROM snapshot WHERE mailbox = ?1 OR substr(mailbox, 1, length(?1) + 1) = ?1 || '/'",
                          "DELETE FROM snapshot_state WHERE mailbox = ?1 OR substr(mailbox, 1, length(?1) + 1) = ?1 || '/'",
                          "DELETE FROM snapshot_delta WHERE mailbox = ?1 OR substr(mailbox, 1, length(?1) + 1) = ?1 || '/'",
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
                          "DELETE FROM snapshot WHERE mailbox = ?1 OR substr(mailbox, 1, length(?1) + 1) = ?1 || '/'",
                          "DELETE FROM snapshot_state WHERE mailbox = ?1 OR substr(mailbox, 1, length(?1) + 1) = ?1 || '/'",
                          "DELETE FROM snapshot_delta WHERE mailbox = ?1 OR substr(mailbox, 1, length(?1) + 1) = ?1 || '/'",
                          "UPDATE mailbox SET name = ?2 || substr(name, length(?1) + 1) WHERE name = ?1 OR substr(name, 1, length(?1) + 1) = ?1 || '/'"}) {
    if (sqlite3_prepare_v2(db_, sql, -1, &s, nullptr) != SQLITE_OK) { failed_ = true; return; }
    bind(s, 1, from);
    bind(s, 2, to);
    if (sqlite3_step(s) != SQLITE_DONE) failed_ = true;
    sqlite3_finalize(s);
  }
}

}  // namespace tern::store::detail
