// SQLCipher storage: RAII database handles, prepared statements, transactions,
// schema migrations, and the passphrase-wrapped store key.
//
// Every Vigil store is a pair of files:
//   <name>.db    SQLCipher database keyed with a random raw 32-byte key
//                (PRAGMA key = "x'..'"; SQLCipher's own passphrase KDF is never
//                used). Cipher settings are set explicitly, WAL mode,
//                synchronous=FULL.
//   <name>.key   a small header holding that store key wrapped under
//                Argon2id(passphrase) with XChaCha20-Poly1305 (see
//                docs/PROTOCOL.md, "Store header").
//
// Thread safety: a Db is used by one thread at a time. Several Db objects
// (in one or several processes) may open the same file; writers serialise
// through SQLite's locks and wait up to the busy timeout.
#ifndef VIGIL_STORAGE_H_
#define VIGIL_STORAGE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "vigil/bytes.h"
#include "vigil/crypto.h"
#include "vigil/status.h"

struct sqlite3;
struct sqlite3_stmt;

namespace vigil::storage {

inline constexpr size_t kStoreKeySize = 32;

// The one message shown for a wrong passphrase or a file that is not ours.
inline constexpr std::string_view kWrongPassphrase =
    "wrong passphrase, or not a Vigil store";

// --- Store key header ---------------------------------------------------

// Creates <header_path> holding a fresh random store key wrapped under
// Argon2id(passphrase). Fails with AlreadyExists if the file exists. The file
// is written to a temporary name, fsync'd and renamed, mode 0600.
StatusOr<crypto::SecretBytes> CreateKeyHeader(const std::string& header_path,
                                              ByteSpan passphrase);
// Same with explicit Argon2 parameters (tests, benchmarks).
StatusOr<crypto::SecretBytes> CreateKeyHeader(const std::string& header_path,
                                              ByteSpan passphrase,
                                              const crypto::Argon2Params& params);

// Unwraps the store key. Unauthenticated(kWrongPassphrase) when the
// passphrase is wrong or the file is not a Vigil header; NotFound when the
// file does not exist; Unimplemented for an unknown header version.
StatusOr<crypto::SecretBytes> UnlockKeyHeader(const std::string& header_path,
                                              ByteSpan passphrase);

// Re-wraps the same store key under a new passphrase, atomically (write
// temp, fsync, rename, fsync dir). The database is not touched.
Status RewrapKeyHeader(const std::string& header_path, ByteSpan old_passphrase,
                       ByteSpan new_passphrase);

// --- Database -----------------------------------------------------------

class Db;
class CachedStatement;

// A prepared statement. Bind indexes are 1-based, column indexes 0-based.
class Statement {
 public:
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&& other) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement();

  Statement& Bind(int index, int64_t value);
  Statement& Bind(int index, std::string_view text);  // TEXT
  Statement& Bind(int index, const char* text) { return Bind(index, std::string_view(text)); }
  Statement& BindBlob(int index, ByteSpan blob);     // BLOB
  Statement& BindNull(int index);

  // true: a row is available; false: done. Errors (including bind errors
  // recorded above) come back as a Status.
  StatusOr<bool> Step();
  // Steps to completion, expecting no rows.
  Status Run();
  Status Reset();  // also clears bindings

  int64_t ColumnInt64(int col) const;
  std::string ColumnText(int col) const;
  Bytes ColumnBlob(int col) const;
  crypto::SecretBytes ColumnSecret(int col) const;
  bool ColumnIsNull(int col) const;

 private:
  friend class Db;
  Statement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  Status Record(int rc);
  sqlite3* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
  Status bind_status_;
};

class Db {
 public:
  // Opens (creating if absent, unless `must_exist`) the SQLCipher database at
  // `path` keyed with the raw 32-byte `key`. Reads sqlite_master right away,
  // so a wrong key fails here with Unauthenticated(kWrongPassphrase) and
  // nothing is written. Sets: cipher settings, journal_mode=WAL,
  // synchronous=FULL, foreign_keys=ON, busy_timeout.
  static StatusOr<Db> Open(const std::string& path, const crypto::SecretBytes& key,
                           bool must_exist = false);

  Db(Db&& other) noexcept;
  Db& operator=(Db&& other) noexcept;
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;
  ~Db();

  // Runs one or more statements with no parameters and no results.
  Status Exec(std::string_view sql);
  StatusOr<Statement> Prepare(std::string_view sql);
  // The same, but prepared once per connection and reused (hot paths; SQL
  // text only, never values). The statement comes reset and unbound; the
  // handle resets it again (ending any read it left open) and clears its
  // bindings when it goes. If that SQL is in use already (nested), a fresh
  // statement is prepared for this handle. Handles must not outlive the Db.
  StatusOr<CachedStatement> PrepareCached(std::string_view sql);

  // Applies migrations[i] for every i >= PRAGMA user_version, each in its own
  // transaction that also bumps user_version to i+1. A database whose
  // user_version is newer than migrations.size() fails with Unimplemented
  // ("store was written by a newer Vigil").
  Status Migrate(const std::vector<std::string_view>& migrations);
  StatusOr<int> UserVersion();

  int64_t LastInsertRowId() const;
  int Changes() const;
  // Rows changed by completed statements since the connection opened
  // (triggers included).
  int64_t TotalChanges() const;

  // PRAGMA data_version: changes when another connection commits.
  StatusOr<int64_t> DataVersion();

  // Runs PRAGMA integrity_check; OK only if it answers "ok".
  Status IntegrityCheck();

  // True between BEGIN and COMMIT/ROLLBACK. False again after SQLite rolled
  // a transaction back by itself (disk full or an I/O error in the middle
  // of a statement, e.g. while spilling its page cache).
  bool InTransaction() const;

  sqlite3* raw() { return db_; }

 private:
  struct CacheEntry {
    explicit CacheEntry(Statement s) : st(std::move(s)) {}
    Statement st;
    bool in_use = false;
  };
  explicit Db(sqlite3* db) : db_(db) {}
  void Close();
  sqlite3* db_ = nullptr;
  // SQL text -> statement; entries keep their address when the Db moves.
  std::unordered_map<std::string, std::unique_ptr<CacheEntry>> cache_;
};

// A statement from Db::PrepareCached: use it like a Statement (*h, h->).
class CachedStatement {
 public:
  CachedStatement(CachedStatement&& other) noexcept;
  CachedStatement& operator=(CachedStatement&&) = delete;
  CachedStatement(const CachedStatement&) = delete;
  CachedStatement& operator=(const CachedStatement&) = delete;
  ~CachedStatement();
  Statement& operator*() { return *st_; }
  Statement* operator->() { return st_; }

 private:
  friend class Db;
  CachedStatement(Statement* st, bool* in_use, std::unique_ptr<Statement> owned);
  Statement* st_ = nullptr;
  bool* in_use_ = nullptr;           // the cache entry's flag, if borrowed
  std::unique_ptr<Statement> owned_;  // a fresh statement when the entry was busy
};

// BEGIN IMMEDIATE on construction (via Begin), ROLLBACK on destruction unless
// Commit() succeeded.
class Txn {
 public:
  static StatusOr<Txn> Begin(Db& db);
  Txn(Txn&& other) noexcept;
  Txn& operator=(Txn&&) = delete;
  Txn(const Txn&) = delete;
  ~Txn();
  Status Commit();

 private:
  explicit Txn(Db* db) : db_(db) {}
  Db* db_ = nullptr;
};

// Opens <dir>/<name>.db with the key unwrapped from <dir>/<name>.key.
// Convenience for the common "unlock then open" path; wrong passphrase gives
// Unauthenticated(kWrongPassphrase) and writes nothing.
StatusOr<Db> OpenStore(const std::string& dir, std::string_view name,
                       ByteSpan passphrase);
// Creates <dir>/<name>.key and <dir>/<name>.db. AlreadyExists if either exists.
StatusOr<Db> CreateStore(const std::string& dir, std::string_view name,
                         ByteSpan passphrase);
// Same with explicit Argon2 parameters for the key header (tests, benchmarks),
// and optionally handing back the new store key (for callers that keep it,
// e.g. to make encrypted backups) so that nobody runs Argon2id twice.
StatusOr<Db> CreateStore(const std::string& dir, std::string_view name,
                         ByteSpan passphrase, const crypto::Argon2Params& params,
                         crypto::SecretBytes* key_out = nullptr);

}  // namespace vigil::storage

#endif  // VIGIL_STORAGE_H_
