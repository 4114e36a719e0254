// SQLCipher database handles, statements, transactions and migrations.
// See core/include/vigil/storage.h for the contract.
#include <fcntl.h>
#include <sodium.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "vigil/storage.h"

namespace vigil::storage {
namespace {

// Maps an SQLite result code to a Status. Messages come from SQLite's
// error strings, which never contain bound values.
Status FromSqlite(sqlite3* db, int rc, std::string_view what) {
  std::string m(what);
  const char* detail = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  m += ": ";
  m += detail != nullptr ? detail : "unknown error";
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED: return Status::Unavailable("store is busy");
    case SQLITE_FULL: return Status::ResourceExhausted("disk full");
    case SQLITE_CORRUPT: return Status::DataLoss(m);
    case SQLITE_NOTADB: return Status::Unauthenticated(std::string(kWrongPassphrase));
    case SQLITE_CONSTRAINT: return Status::AlreadyExists(m);
    case SQLITE_IOERR: return Status::DataLoss(m);
    default: return Status::Internal(m);
  }
}

bool FileExists(const std::string& path) {
  struct stat sb;
  return stat(path.c_str(), &sb) == 0;
}

}  // namespace

StatusOr<Db> Db::Open(const std::string& path, const crypto::SecretBytes& key, bool must_exist) {
  if (key.size() != kStoreKeySize) return Status::InvalidArgument("store key must be 32 bytes");
  bool existed = FileExists(path);
  if (must_exist && !existed) return Status::NotFound("no store at " + path);
  if (!existed) {
    // Create the file ourselves so that its mode is 0600 whatever the umask.
    int fd = open(path.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
    if (fd < 0) return Status::Internal("cannot create " + path);
    close(fd);
  }
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    Status s = FromSqlite(raw, rc, "cannot open store");
    sqlite3_close(raw);
    return s;
  }
  Db db(raw);
  // PRAGMA key = "x'<64 hex>'" built in guarded memory and wiped.
  {
    constexpr size_t kLen = 9 + 64 + 3;  // PRAGMA key = "x' ... '";
    crypto::SecretBytes sql(kLen + 16);
    char* p = reinterpret_cast<char*>(sql.data());
    std::memcpy(p, "PRAGMA key = \"x'", 16);
    sodium_bin2hex(p + 16, 65, key.data(), key.size());
    std::memcpy(p + 16 + 64, "'\";", 4);  // includes NUL
    rc = sqlite3_exec(raw, p, nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) return FromSqlite(raw, rc, "cannot key store");
  }
  // Cipher settings, explicit rather than SQLCipher 3.4.1's defaults.
  VIGIL_RETURN_IF_ERROR(db.Exec(
      "PRAGMA cipher_page_size = 4096;"
      "PRAGMA cipher_use_hmac = ON;"));
  // A wrong key shows only on first read.
  rc = sqlite3_exec(raw, "SELECT count(*) FROM sqlite_master;", nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) {
    if ((rc & 0xff) == SQLITE_NOTADB || (rc & 0xff) == SQLITE_CORRUPT) {
      return Status::Unauthenticated(std::string(kWrongPassphrase));
    }
    return FromSqlite(raw, rc, "cannot read store");
  }
  sqlite3_busy_timeout(raw, 5000);
  {
    VIGIL_ASSIGN_OR_RETURN(auto st, db.Prepare("PRAGMA journal_mode = WAL"));
    VIGIL_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row || st.ColumnText(0) != "wal") return Status::Internal("store cannot use WAL mode");
  }
  VIGIL_RETURN_IF_ERROR(db.Exec(
      "PRAGMA synchronous = FULL;"
      "PRAGMA foreign_keys = ON;"
      "PRAGMA secure_delete = ON;"));
  return db;
}

Db::Db(Db&& other) noexcept : db_(other.db_) { other.db_ = nullptr; }

Db& Db::operator=(Db&& other) noexcept {
  if (this != &other) {
    if (db_ != nullptr) sqlite3_close_v2(db_);
    db_ = other.db_;
    other.db_ = nullptr;
  }
  return *this;
}

Db::~Db() {
  if (db_ != nullptr) sqlite3_close_v2(db_);
}

Status Db::Exec(std::string_view sql) {
  std::string s(sql);
  char* err = nullptr;
  int rc = sqlite3_exec(db_, s.c_str(), nullptr, nullptr, &err);
  if (err != nullptr) sqlite3_free(err);
  if (rc != SQLITE_OK) return FromSqlite(db_, rc, "statement failed");
  return Status::Ok();
}

StatusOr<Statement> Db::Prepare(std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr);
  if (rc != SQLITE_OK) {
    if (stmt != nullptr) sqlite3_finalize(stmt);
    return FromSqlite(db_, rc, "cannot prepare statement");
  }
  return Statement(db_, stmt);
}

StatusOr<int> Db::UserVersion() {
  VIGIL_ASSIGN_OR_RETURN(auto st, Prepare("PRAGMA user_version"));
  VIGIL_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return Status::Internal("no user_version");
  return static_cast<int>(st.ColumnInt64(0));
}

Status Db::Migrate(const std::vector<std::string_view>& migrations) {
  VIGIL_ASSIGN_OR_RETURN(int version, UserVersion());
  if (version > static_cast<int>(migrations.size())) {
    return Status::Unimplemented("store was written by a newer Vigil; upgrade Vigil");
  }
  for (size_t i = static_cast<size_t>(version); i < migrations.size(); ++i) {
    VIGIL_ASSIGN_OR_RETURN(Txn txn, Txn::Begin(*this));
    VIGIL_RETURN_IF_ERROR(Exec(migrations[i]));
    VIGIL_RETURN_IF_ERROR(Exec("PRAGMA user_version = " + std::to_string(i + 1)));
    VIGIL_RETURN_IF_ERROR(txn.Commit());
  }
  return Status::Ok();
}

int64_t Db::LastInsertRowId() const { return sqlite3_last_insert_rowid(db_); }
int Db::Changes() const { return sqlite3_changes(db_); }

StatusOr<int64_t> Db::DataVersion() {
  VIGIL_ASSIGN_OR_RETURN(auto st, Prepare("PRAGMA data_version"));
  VIGIL_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return Status::Internal("no data_version");
  return st.ColumnInt64(0);
}

Status Db::IntegrityCheck() {
  VIGIL_ASSIGN_OR_RETURN(auto st, Prepare("PRAGMA integrity_check"));
  VIGIL_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return Status::DataLoss("integrity_check returned nothing");
  std::string result = st.ColumnText(0);
  if (result != "ok") return Status::DataLoss("integrity_check: " + result);
  return Status::Ok();
}

// --- Statement ---

Statement::Statement(Statement&& other) noexcept
    : db_(other.db_), stmt_(other.stmt_), bind_status_(std::move(other.bind_status_)) {
  other.stmt_ = nullptr;
}

Statement& Statement::operator=(Statement&& other) noexcept {
  if (this != &other) {
    if (stmt_ != nullptr) sqlite3_finalize(stmt_);
    db_ = other.db_;
    stmt_ = other.stmt_;
    bind_status_ = std::move(other.bind_status_);
    other.stmt_ = nullptr;
  }
  return *this;
}

Statement::~Statement() {
  if (stmt_ != nullptr) sqlite3_finalize(stmt_);
}

Status Statement::Record(int rc) {
  if (rc != SQLITE_OK && bind_status_.ok()) bind_status_ = FromSqlite(db_, rc, "cannot bind");
  return bind_status_;
}

Statement& Statement::Bind(int index, int64_t value) {
  Record(sqlite3_bind_int64(stmt_, index, value)).IgnoreError();
  return *this;
}

Statement& Statement::Bind(int index, std::string_view text) {
  Record(sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()),
                           SQLITE_TRANSIENT)).IgnoreError();
  return *this;
}

Statement& Statement::BindBlob(int index, ByteSpan blob) {
  // A zero-length blob with a null pointer would bind NULL: give SQLite a
  // valid pointer so that empty blobs stay blobs.
  static const uint8_t kEmpty = 0;
  const void* p = blob.empty() ? &kEmpty : blob.data();
  Record(sqlite3_bind_blob(stmt_, index, p, static_cast<int>(blob.size()), SQLITE_TRANSIENT))
      .IgnoreError();
  return *this;
}

Statement& Statement::BindNull(int index) {
  Record(sqlite3_bind_null(stmt_, index)).IgnoreError();
  return *this;
}

StatusOr<bool> Statement::Step() {
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
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
  bind_status_ = Status::Ok();
  return Status::Ok();
}

int64_t Statement::ColumnInt64(int col) const { return sqlite3_column_int64(stmt_, col); }

std::string Statement::ColumnText(int col) const {
  const unsigned char* t = sqlite3_column_text(stmt_, col);
  int n = sqlite3_column_bytes(stmt_, col);
  if (t == nullptr) return std::string();
  return std::string(reinterpret_cast<const char*>(t), static_cast<size_t>(n));
}

Bytes Statement::ColumnBlob(int col) const {
  const void* b = sqlite3_column_blob(stmt_, col);
  int n = sqlite3_column_bytes(stmt_, col);
  if (b == nullptr || n <= 0) return Bytes();
  const auto* p = static_cast<const uint8_t*>(b);
  return Bytes(p, p + n);
}

crypto::SecretBytes Statement::ColumnSecret(int col) const {
  const void* b = sqlite3_column_blob(stmt_, col);
  int n = sqlite3_column_bytes(stmt_, col);
  if (b == nullptr || n <= 0) return crypto::SecretBytes();
  return crypto::SecretBytes::CopyOf(ByteSpan(static_cast<const uint8_t*>(b), static_cast<size_t>(n)));
}

bool Statement::ColumnIsNull(int col) const {
  return sqlite3_column_type(stmt_, col) == SQLITE_NULL;
}

// --- Txn ---

StatusOr<Txn> Txn::Begin(Db& db) {
  VIGIL_RETURN_IF_ERROR(db.Exec("BEGIN IMMEDIATE"));
  return Txn(&db);
}

Txn::Txn(Txn&& other) noexcept : db_(other.db_) { other.db_ = nullptr; }

Txn::~Txn() {
  if (db_ != nullptr) db_->Exec("ROLLBACK").IgnoreError();
}

Status Txn::Commit() {
  if (db_ == nullptr) return Status::FailedPrecondition("transaction already finished");
  Status s = db_->Exec("COMMIT");
  if (!s.ok()) return s;  // destructor rolls back
  db_ = nullptr;
  return Status::Ok();
}

}  // namespace vigil::storage
