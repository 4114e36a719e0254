// SQLCipher database handles, prepared statements, transactions and schema
// migrations. Contract: core/include/vigil/storage.h.
//
// Db::Open, in order:
//   1. Refuses to run on a SQLite without encryption (PRAGMA cipher_version
//      must answer), so a store is never written in plaintext by accident.
//   2. Keys the connection with the raw 32-byte store key, given as the blob
//      literal x'<64 hex>' (SQLCipher uses it directly; its PBKDF2 passphrase
//      KDF never runs). Our copy of the literal lives only in sodium_malloc'd
//      memory; SQLCipher keeps its own until it has derived the page keys.
//   3. Sets the cipher settings explicitly and reads every one of them back
//      (SQLCipher ignores a pragma it does not know; see kCipherSettings).
//   4. Reads sqlite_master: a wrong key fails there. When the file already
//      existed this first happens on a READ-ONLY connection, because SQLite
//      checkpoints (rewrites the .db, deletes the -wal) when the last
//      read-write connection to a WAL database closes, even after a failed
//      read. So a wrong key writes nothing at all. Before that, an existing
//      file must look like a store (empty, or whole 4096-byte pages with a
//      non-zero first page; see CheckLooksLikeStore).
//   5. journal_mode=WAL (verified), synchronous=FULL, foreign_keys=ON,
//      secure_delete=ON, busy timeout 5 s (set first, so that every step
//      above waits for locks instead of failing).
//
// Errors: SQLITE_BUSY -> Unavailable("store is busy"), SQLITE_FULL ->
// ResourceExhausted("disk full"), SQLITE_CORRUPT/NOTADB -> DataLoss (except
// while opening, where NOTADB means the wrong key), SQLITE_CONSTRAINT ->
// AlreadyExists, anything else -> Internal. Messages are SQLite's own, which
// name tables and columns but never contain bound values.

// SQLCipher's header declares sqlite3_key_v2 only with SQLITE_HAS_CODEC.
#ifndef SQLITE_HAS_CODEC
#define SQLITE_HAS_CODEC 1
#endif
#include <fcntl.h>
#include <sodium.h>
#include <sqlite3.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <type_traits>

#include "vigil/storage.h"

// Fails to compile against plain SQLite's header (which has no codec API
// since 3.32), and sqlite3_key_v2 fails to link against libsqlite3.
static_assert(std::is_same_v<decltype(&sqlite3_key_v2),
                             int (*)(sqlite3*, const char*, const void*, int)>,
              "vigil storage must be built against SQLCipher's sqlite3.h");

namespace vigil::storage {
namespace {

constexpr int kBusyTimeoutMs = 5000;

// Cipher settings for SQLCipher 3.4.1, applied after keying and before the
// first read, then read back. 3.4.1 knows: cipher (deprecated setter),
// kdf_iter, fast_kdf_iter, cipher_page_size, cipher_use_hmac,
// cipher_hmac_pgno, cipher_hmac_salt_mask (process-global: left alone). It
// has no cipher_hmac_algorithm, cipher_kdf_algorithm or
// cipher_compatibility (HMAC-SHA1 and PBKDF2-HMAC-SHA1 are fixed in 3.x).
//   cipher_use_hmac = ON    per-page HMAC: tampering and wrong keys detected
//   cipher_hmac_pgno = le   page number fed to the HMAC, little-endian
//   fast_kdf_iter = 2       PBKDF2 rounds deriving the HMAC key from the raw
//                           key; part of the on-disk format for raw keys
//   cipher_page_size = 4096 matches SQLite's page size (3.4.1 default: 1024)
// The cipher itself is AES-256-CBC, the only one SQLCipher supports; 3.4.1
// answers "PRAGMA cipher = ..." with a deprecation notice, so it is checked
// (read back) rather than set. kdf_iter is not set: it only drives the
// passphrase KDF, which a raw key bypasses.
constexpr const char kCipherSettings[] =
    "PRAGMA cipher_use_hmac = ON;"
    "PRAGMA cipher_hmac_pgno = 'le';"
    "PRAGMA fast_kdf_iter = 2;"
    "PRAGMA cipher_page_size = 4096;";

struct ExpectedPragma {
  const char* sql;
  const char* value;  // compared case-insensitively
};
constexpr ExpectedPragma kExpectedCipher[] = {
    {"PRAGMA cipher", "aes-256-cbc"},
    {"PRAGMA cipher_use_hmac", "1"},
    {"PRAGMA cipher_hmac_pgno", "le"},
    {"PRAGMA fast_kdf_iter", "2"},
    {"PRAGMA cipher_page_size", "4096"},
};

Status WrongKey() { return Status::Unauthenticated(std::string(kWrongPassphrase)); }

// Maps an SQLite result code to a Status (see the top of this file).
Status FromSqlite(sqlite3* db, int rc, std::string_view what) {
  switch (rc & 0xff) {
    case SQLITE_BUSY:
      return Status::Unavailable("store is busy");
    case SQLITE_FULL:
      return Status::ResourceExhausted("disk full");
    default:
      break;
  }
  // sqlite3_errmsg describes the connection's latest error; use it only when
  // it is about this one.
  const char* detail = (db != nullptr && (sqlite3_errcode(db) & 0xff) == (rc & 0xff))
                           ? sqlite3_errmsg(db)
                           : sqlite3_errstr(rc);
  std::string m(what);
  m += ": ";
  m += detail != nullptr ? detail : "unknown error";
  switch (rc & 0xff) {
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return Status::DataLoss(m);
    case SQLITE_CONSTRAINT:
      return Status::AlreadyExists(m);
    case SQLITE_TOOBIG:
      return Status::ResourceExhausted(m);
    default:
      return Status::Internal(m);
  }
}

// The first column of the first row a statement answers, as text.
struct Answer {
  bool has_row = false;
  std::string text;
};

// Runs `sql` and returns its Answer. `*rc_out`, if given, gets SQLite's code.
StatusOr<Answer> QueryText(sqlite3* db, const char* sql, int* rc_out = nullptr) {
  sqlite3_stmt* st = nullptr;
  int rc = sqlite3_prepare_v2(db, sql, -1, &st, nullptr);
  if (rc_out != nullptr) *rc_out = rc;
  if (rc != SQLITE_OK) {
    sqlite3_finalize(st);
    return FromSqlite(db, rc, "cannot prepare statement");
  }
  Answer out;
  rc = sqlite3_step(st);
  if (rc_out != nullptr) *rc_out = rc;
  if (rc == SQLITE_ROW) {
    const unsigned char* t = sqlite3_column_text(st, 0);
    out.has_row = true;
    if (t != nullptr) out.text = reinterpret_cast<const char*>(t);
    rc = SQLITE_DONE;
  }
  Status s = rc == SQLITE_DONE ? Status::Ok() : FromSqlite(db, rc, "statement failed");
  sqlite3_finalize(st);
  if (!s.ok()) return s;
  return out;
}

Status ExpectPragma(sqlite3* db, const char* sql, const char* want) {
  VIGIL_ASSIGN_OR_RETURN(Answer got, QueryText(db, sql));
  if (!got.has_row || strcasecmp(got.text.c_str(), want) != 0) {
    return Status::Internal(std::string("store setting not accepted (") + sql +
                            " should be " + want + "); refusing to open the store");
  }
  return Status::Ok();
}

// Steps 1-4 of Db::Open on a freshly opened connection.
Status KeyAndCheck(sqlite3* db, const crypto::SecretBytes& key) {
  // 1. SQLCipher, not plain SQLite (where a key would be silently ignored).
  VIGIL_ASSIGN_OR_RETURN(Answer cipher_version, QueryText(db, "PRAGMA cipher_version"));
  if (!cipher_version.has_row || cipher_version.text.empty()) {
    return Status::Internal("SQLite library has no encryption (SQLCipher expected); "
                            "refusing to open the store");
  }
  // 2. Raw key: exactly what PRAGMA key = "x'<hex>'" does, minus the copies
  // of the SQL text that SQLite's parser would leave unwiped in its heap.
  {
    constexpr size_t kLiteralSize = 2 + 2 * kStoreKeySize + 1;  // x'<hex>'
    crypto::SecretBytes literal(kLiteralSize + 1);
    char* p = reinterpret_cast<char*>(literal.data());
    p[0] = 'x';
    p[1] = '\'';
    sodium_bin2hex(p + 2, 2 * kStoreKeySize + 1, key.data(), key.size());
    p[kLiteralSize - 1] = '\'';
    p[kLiteralSize] = '\0';
    int rc = sqlite3_key_v2(db, "main", p, static_cast<int>(kLiteralSize));
    if (rc != SQLITE_OK) return FromSqlite(db, rc, "cannot key store");
  }  // literal wiped and freed here
  // 3. Cipher settings, then read them back.
  int rc = sqlite3_exec(db, kCipherSettings, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return FromSqlite(db, rc, "cannot apply cipher settings");
  for (const ExpectedPragma& e : kExpectedCipher) {
    VIGIL_RETURN_IF_ERROR(ExpectPragma(db, e.sql, e.value));
  }
  // 4. The first read decrypts page 1: a wrong key (or a file that is not a
  // store) fails here with SQLITE_NOTADB.
  int count_rc = SQLITE_OK;
  auto count = QueryText(db, "SELECT count(*) FROM sqlite_master", &count_rc);
  if (!count.ok()) {
    if ((count_rc & 0xff) == SQLITE_NOTADB) return WrongKey();
    return count.status();
  }
  return Status::Ok();
}

struct ConnectionCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
using Connection = std::unique_ptr<sqlite3, ConnectionCloser>;

StatusOr<Connection> OpenConnection(const std::string& path, int flags) {
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  Connection conn(raw);  // closes even a failed open
  if (rc != SQLITE_OK) return FromSqlite(raw, rc, "cannot open store");
  sqlite3_busy_timeout(raw, kBusyTimeoutMs);
  return conn;
}

// Removes a database file Db::Open created, with its companions, when the
// open fails after all.
class CreatedFileGuard {
 public:
  explicit CreatedFileGuard(const std::string& path) : path_(path) {}
  ~CreatedFileGuard() {
    if (armed_) {
      for (const char* suffix : {"", "-journal", "-wal", "-shm"}) {
        unlink((path_ + suffix).c_str());
      }
    }
  }
  void Arm() { armed_ = true; }
  void Disarm() { armed_ = false; }

 private:
  const std::string& path_;
  bool armed_ = false;
};

// A store file is empty (created, not yet initialised) or whole 4096-byte
// pages. Only stat() is used: opening and closing the database file through
// another descriptor would release every POSIX lock this process holds on it
// (SQLite's connections included), which corrupts concurrent WAL access - the
// relay opens its store twice in one process. A zero-filled file of whole
// pages is therefore not caught here (SQLCipher takes it for an empty store).
Status CheckLooksLikeStore(const std::string& path) {
  constexpr off_t kPageSize = 4096;
  struct stat sb;
  if (stat(path.c_str(), &sb) != 0) return Status::Internal("cannot stat " + path);
  if (!S_ISREG(sb.st_mode)) return WrongKey();
  if (sb.st_size != 0 && sb.st_size % kPageSize != 0) return WrongKey();
  return Status::Ok();
}

bool OnlySeparatorsLeft(const char* tail) {
  if (tail == nullptr) return true;
  for (; *tail != '\0'; ++tail) {
    if (*tail != ';' && *tail != ' ' && *tail != '\t' && *tail != '\n' && *tail != '\r') {
      return false;
    }
  }
  return true;
}

}  // namespace

// --- Db ---

StatusOr<Db> Db::Open(const std::string& path, const crypto::SecretBytes& key,
                      bool must_exist) {
  if (key.size() != kStoreKeySize) return Status::InvalidArgument("store key must be 32 bytes");
  struct stat sb;
  bool existed = stat(path.c_str(), &sb) == 0;
  if (must_exist && !existed) return Status::NotFound("no store at " + path);

  CreatedFileGuard guard(path);
  if (!existed) {
    // Create the file ourselves so that it is 0600 whatever the umask; SQLite
    // gives the -wal and -shm files the database file's mode.
    int fd = open(path.c_str(), O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd >= 0) {
      guard.Arm();
      int chmod_rc = fchmod(fd, 0600);
      close(fd);
      if (chmod_rc != 0) return Status::Internal("cannot set the mode of " + path);
    } else if (errno == EEXIST) {
      existed = true;  // created meanwhile by someone else: treat as existing
    } else {
      return Status::Internal("cannot create " + path + ": " + std::strerror(errno));
    }
  }

  if (existed) {
    VIGIL_RETURN_IF_ERROR(CheckLooksLikeStore(path));
    // Check the key on a read-only connection first: one that fails can
    // close without checkpointing, so nothing is written on a wrong key.
    VIGIL_ASSIGN_OR_RETURN(Connection probe,
                           OpenConnection(path, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX));
    VIGIL_RETURN_IF_ERROR(KeyAndCheck(probe.get(), key));
  }

  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
  if (!must_exist) flags |= SQLITE_OPEN_CREATE;
  VIGIL_ASSIGN_OR_RETURN(Connection conn, OpenConnection(path, flags));
  VIGIL_RETURN_IF_ERROR(KeyAndCheck(conn.get(), key));
  Db db(conn.release());

  {
    VIGIL_ASSIGN_OR_RETURN(Answer mode, QueryText(db.db_, "PRAGMA journal_mode = WAL"));
    if (!mode.has_row || strcasecmp(mode.text.c_str(), "wal") != 0) {
      return Status::Internal("store cannot use WAL journal mode");
    }
  }
  VIGIL_RETURN_IF_ERROR(db.Exec(
      "PRAGMA synchronous = FULL;"
      "PRAGMA foreign_keys = ON;"
      "PRAGMA secure_delete = ON;"));
  VIGIL_RETURN_IF_ERROR(ExpectPragma(db.db_, "PRAGMA synchronous", "2"));
  VIGIL_RETURN_IF_ERROR(ExpectPragma(db.db_, "PRAGMA foreign_keys", "1"));
  VIGIL_RETURN_IF_ERROR(ExpectPragma(db.db_, "PRAGMA secure_delete", "1"));
  guard.Disarm();
  return db;
}

// At most this many cached statements per connection; more SQL texts are
// prepared afresh each time (the cache is for a fixed set of hot queries).
constexpr size_t kMaxCachedStatements = 64;

Db::Db(Db&& other) noexcept : db_(other.db_), cache_(std::move(other.cache_)) {
  other.db_ = nullptr;
  other.cache_.clear();
}

Db& Db::operator=(Db&& other) noexcept {
  if (this != &other) {
    Close();
    db_ = other.db_;
    cache_ = std::move(other.cache_);
    other.db_ = nullptr;
    other.cache_.clear();
  }
  return *this;
}

Db::~Db() { Close(); }

void Db::Close() {
  cache_.clear();  // finalize cached statements before the connection
  // close_v2: if a Statement outlives us, SQLite closes once it is finalized.
  if (db_ != nullptr) sqlite3_close_v2(db_);
  db_ = nullptr;
}

Status Db::Exec(std::string_view sql) {
  if (db_ == nullptr) return Status::FailedPrecondition("store is closed");
  std::string text(sql);
  int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return FromSqlite(db_, rc, "statement failed");
  return Status::Ok();
}

StatusOr<Statement> Db::Prepare(std::string_view sql) {
  if (db_ == nullptr) return Status::FailedPrecondition("store is closed");
  if (sql.size() > static_cast<size_t>(INT_MAX)) {
    return Status::InvalidArgument("SQL text too long");
  }
  std::string text(sql);  // NUL-terminated, so the tail can be inspected
  sqlite3_stmt* stmt = nullptr;
  const char* tail = nullptr;
  int rc = sqlite3_prepare_v2(db_, text.c_str(), static_cast<int>(text.size()), &stmt, &tail);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(stmt);
    return FromSqlite(db_, rc, "cannot prepare statement");
  }
  if (stmt == nullptr) return Status::InvalidArgument("no SQL statement to prepare");
  if (!OnlySeparatorsLeft(tail)) {
    sqlite3_finalize(stmt);
    return Status::InvalidArgument("Prepare takes one SQL statement; use Exec for several");
  }
  return Statement(db_, stmt);
}

StatusOr<CachedStatement> Db::PrepareCached(std::string_view sql) {
  if (db_ == nullptr) return Status::FailedPrecondition("store is closed");
  std::string key(sql);
  auto it = cache_.find(key);
  if (it != cache_.end() && !it->second->in_use) {
    it->second->in_use = true;
    return CachedStatement(&it->second->st, &it->second->in_use, nullptr);
  }
  VIGIL_ASSIGN_OR_RETURN(Statement st, Prepare(sql));
  if (it == cache_.end() && cache_.size() < kMaxCachedStatements) {
    auto entry = std::make_unique<CacheEntry>(std::move(st));
    entry->in_use = true;
    CacheEntry* e = entry.get();
    cache_.emplace(std::move(key), std::move(entry));
    return CachedStatement(&e->st, &e->in_use, nullptr);
  }
  auto owned = std::make_unique<Statement>(std::move(st));
  Statement* p = owned.get();
  return CachedStatement(p, nullptr, std::move(owned));
}

CachedStatement::CachedStatement(Statement* st, bool* in_use, std::unique_ptr<Statement> owned)
    : st_(st), in_use_(in_use), owned_(std::move(owned)) {}

CachedStatement::CachedStatement(CachedStatement&& other) noexcept
    : st_(other.st_), in_use_(other.in_use_), owned_(std::move(other.owned_)) {
  other.st_ = nullptr;
  other.in_use_ = nullptr;
}

CachedStatement::~CachedStatement() {
  if (in_use_ != nullptr) {
    st_->Reset().IgnoreError();  // ends its read; frees the bound copies
    *in_use_ = false;
  }
}

StatusOr<int> Db::UserVersion() {
  if (db_ == nullptr) return Status::FailedPrecondition("store is closed");
  VIGIL_ASSIGN_OR_RETURN(Answer v, QueryText(db_, "PRAGMA user_version"));
  if (!v.has_row) return Status::Internal("PRAGMA user_version answered nothing");
  return std::atoi(v.text.c_str());
}

Status Db::Migrate(const std::vector<std::string_view>& migrations) {
  const int latest = static_cast<int>(migrations.size());
  auto check = [latest](int version) -> Status {
    if (version > latest) {
      return Status::Unimplemented("store was written by a newer Vigil; upgrade Vigil");
    }
    if (version < 0) return Status::DataLoss("store has an invalid schema version");
    return Status::Ok();
  };
  VIGIL_ASSIGN_OR_RETURN(int version, UserVersion());
  VIGIL_RETURN_IF_ERROR(check(version));
  while (version < latest) {
    VIGIL_ASSIGN_OR_RETURN(Txn txn, Txn::Begin(*this));
    // Read again under the write lock: another process may have migrated.
    VIGIL_ASSIGN_OR_RETURN(version, UserVersion());
    VIGIL_RETURN_IF_ERROR(check(version));
    if (version == latest) break;  // txn rolls back: nothing to do
    const std::string step = "schema migration " + std::to_string(version + 1);
    Status s = Exec(migrations[static_cast<size_t>(version)]);
    if (!s.ok()) return s.WithContext(step);
    VIGIL_RETURN_IF_ERROR(Exec("PRAGMA user_version = " + std::to_string(version + 1)));
    s = txn.Commit();
    if (!s.ok()) return s.WithContext(step);
    ++version;
  }
  return Status::Ok();
}

int64_t Db::LastInsertRowId() const {
  return db_ != nullptr ? sqlite3_last_insert_rowid(db_) : 0;
}

int Db::Changes() const { return db_ != nullptr ? sqlite3_changes(db_) : 0; }

int64_t Db::TotalChanges() const { return db_ != nullptr ? sqlite3_total_changes(db_) : 0; }

StatusOr<int64_t> Db::DataVersion() {
  if (db_ == nullptr) return Status::FailedPrecondition("store is closed");
  VIGIL_ASSIGN_OR_RETURN(Answer v, QueryText(db_, "PRAGMA data_version"));
  if (!v.has_row) return Status::Internal("PRAGMA data_version answered nothing");
  return static_cast<int64_t>(std::atoll(v.text.c_str()));
}

Status Db::IntegrityCheck() {
  if (db_ == nullptr) return Status::FailedPrecondition("store is closed");
  auto answer = QueryText(db_, "PRAGMA integrity_check");
  if (!answer.ok()) return answer.status();
  const Answer& v = *answer;
  if (!v.has_row) return Status::DataLoss("integrity check answered nothing");
  if (v.text != "ok") {
    // Page numbers and index names only; keep the start of the first finding.
    return Status::DataLoss("integrity check failed: " + v.text.substr(0, 200));
  }
  return Status::Ok();
}

bool Db::InTransaction() const { return db_ != nullptr && sqlite3_get_autocommit(db_) == 0; }

// --- Statement ---

Statement::Statement(Statement&& other) noexcept
    : db_(other.db_), stmt_(other.stmt_), bind_status_(std::move(other.bind_status_)) {
  other.db_ = nullptr;
  other.stmt_ = nullptr;
}

Statement& Statement::operator=(Statement&& other) noexcept {
  if (this != &other) {
    if (stmt_ != nullptr) sqlite3_finalize(stmt_);
    db_ = other.db_;
    stmt_ = other.stmt_;
    bind_status_ = std::move(other.bind_status_);
    other.db_ = nullptr;
    other.stmt_ = nullptr;
  }
  return *this;
}

Statement::~Statement() {
  if (stmt_ != nullptr) sqlite3_finalize(stmt_);
}

// Keeps the first bind error; Step() and Run() report it.
Status Statement::Record(int rc) {
  if (rc != SQLITE_OK && bind_status_.ok()) {
    bind_status_ = FromSqlite(db_, rc, "cannot bind parameter");
  }
  return bind_status_;
}

Statement& Statement::Bind(int index, int64_t value) {
  if (stmt_ == nullptr) return *this;
  Record(sqlite3_bind_int64(stmt_, index, value)).IgnoreError();
  return *this;
}

Statement& Statement::Bind(int index, std::string_view text) {
  if (stmt_ == nullptr) return *this;
  // A null pointer would bind NULL: an empty string stays an empty TEXT.
  const char* p = text.data() != nullptr ? text.data() : "";
  Record(sqlite3_bind_text64(stmt_, index, p, text.size(), SQLITE_TRANSIENT, SQLITE_UTF8))
      .IgnoreError();
  return *this;
}

Statement& Statement::BindBlob(int index, ByteSpan blob) {
  if (stmt_ == nullptr) return *this;
  // Likewise, an empty blob stays a (zero-length) BLOB, not NULL.
  static const uint8_t kEmpty = 0;
  const void* p = blob.data() != nullptr ? static_cast<const void*>(blob.data()) : &kEmpty;
  Record(sqlite3_bind_blob64(stmt_, index, p, blob.size(), SQLITE_TRANSIENT)).IgnoreError();
  return *this;
}

Statement& Statement::BindNull(int index) {
  if (stmt_ == nullptr) return *this;
  Record(sqlite3_bind_null(stmt_, index)).IgnoreError();
  return *this;
}

StatusOr<bool> Statement::Step() {
  if (stmt_ == nullptr) return Status::FailedPrecondition("statement is not prepared");
  if (!bind_status_.ok()) return bind_status_;
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return FromSqlite(db_, rc, "statement failed");
}

Status Statement::Run() {
  for (;;) {
    VIGIL_ASSIGN_OR_RETURN(bool row, Step());
    if (!row) return Status::Ok();
  }
}

Status Statement::Reset() {
  if (stmt_ == nullptr) return Status::FailedPrecondition("statement is not prepared");
  // sqlite3_reset repeats the last step's error, already reported by Step.
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
  bind_status_ = Status::Ok();
  return Status::Ok();
}

int64_t Statement::ColumnInt64(int col) const {
  return stmt_ != nullptr ? sqlite3_column_int64(stmt_, col) : 0;
}

std::string Statement::ColumnText(int col) const {
  if (stmt_ == nullptr) return std::string();
  const unsigned char* t = sqlite3_column_text(stmt_, col);
  int n = sqlite3_column_bytes(stmt_, col);  // after the conversion above
  if (t == nullptr || n <= 0) return std::string();
  return std::string(reinterpret_cast<const char*>(t), static_cast<size_t>(n));
}

Bytes Statement::ColumnBlob(int col) const {
  if (stmt_ == nullptr) return Bytes();
  const void* b = sqlite3_column_blob(stmt_, col);
  int n = sqlite3_column_bytes(stmt_, col);
  if (b == nullptr || n <= 0) return Bytes();
  const auto* p = static_cast<const uint8_t*>(b);
  return Bytes(p, p + n);
}

crypto::SecretBytes Statement::ColumnSecret(int col) const {
  if (stmt_ == nullptr) return crypto::SecretBytes();
  const void* b = sqlite3_column_blob(stmt_, col);
  int n = sqlite3_column_bytes(stmt_, col);
  if (b == nullptr || n <= 0) return crypto::SecretBytes();
  return crypto::SecretBytes::CopyOf(
      ByteSpan(static_cast<const uint8_t*>(b), static_cast<size_t>(n)));
}

bool Statement::ColumnIsNull(int col) const {
  return stmt_ == nullptr || sqlite3_column_type(stmt_, col) == SQLITE_NULL;
}

// --- Txn ---

StatusOr<Txn> Txn::Begin(Db& db) {
  VIGIL_RETURN_IF_ERROR(db.Exec("BEGIN IMMEDIATE"));
  return Txn(&db);
}

Txn::Txn(Txn&& other) noexcept : db_(other.db_) { other.db_ = nullptr; }

Txn::~Txn() {
  // SQLite may already have rolled back after an error (e.g. disk full).
  if (db_ != nullptr && db_->raw() != nullptr && sqlite3_get_autocommit(db_->raw()) == 0) {
    db_->Exec("ROLLBACK").IgnoreError();
  }
}

Status Txn::Commit() {
  if (db_ == nullptr) return Status::FailedPrecondition("transaction already finished");
  if (db_->raw() == nullptr || sqlite3_get_autocommit(db_->raw()) != 0) {
    db_ = nullptr;
    return Status::FailedPrecondition("transaction was rolled back after an earlier error");
  }
  Status s = db_->Exec("COMMIT");
  if (!s.ok()) return s;  // still open: the destructor rolls back
  db_ = nullptr;
  return Status::Ok();
}

}  // namespace vigil::storage
