// SQLCipher stores: create and reopen, one clear error for a wrong passphrase
// with nothing written, nothing in plaintext at rest, the documented cipher
// settings, statements, error mapping, transactions, migrations and several
// connections to one store.
#include "vigil/storage.h"

#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <climits>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "testing/testing.h"

namespace vigil::storage {
namespace {

using ::vigil::testing::CountOccurrences;
using ::vigil::testing::ReadFile;
using ::vigil::testing::TempDir;
using ::vigil::testing::WriteFile;

constexpr char kPass[] = "correct horse battery";
constexpr char kCanary[] = "CANARY-Theo-Lacy-detainee-A123456789";
const crypto::Argon2Params kFast{1, 8192};
const std::string kWrong(kWrongPassphrase);

// Everything about a file that a write would change.
struct FileState {
  bool exists = false;
  std::string bytes;
  timespec mtime{};
  ino_t inode = 0;
};

FileState Snapshot(const std::string& path) {
  FileState s;
  struct stat sb;
  if (stat(path.c_str(), &sb) == 0) {
    s.exists = true;
    s.mtime = sb.st_mtim;
    s.inode = sb.st_ino;
    s.bytes = ReadFile(path);
  }
  return s;
}

void ExpectUnchanged(const FileState& before, const std::string& path) {
  FileState now = Snapshot(path);
  EXPECT_EQ(before.exists, now.exists) << path;
  EXPECT_TRUE(before.bytes == now.bytes) << path << " bytes changed";
  EXPECT_EQ(before.inode, now.inode) << path;
  EXPECT_EQ(before.mtime.tv_sec, now.mtime.tv_sec) << path;
  EXPECT_EQ(before.mtime.tv_nsec, now.mtime.tv_nsec) << path;
}

mode_t ModeOf(const std::string& path) {
  struct stat sb;
  if (stat(path.c_str(), &sb) != 0) return 0;
  return sb.st_mode & 07777;
}

bool Exists(const std::string& path) {
  struct stat sb;
  return lstat(path.c_str(), &sb) == 0;
}

void ExpectWrongPassphrase(const Status& s) {
  EXPECT_EQ(s.code(), Code::kUnauthenticated) << s.ToString();
  EXPECT_EQ(s.message(), "wrong passphrase, or not a Vigil store");
}

Status Insert(Db& db, std::string_view text) {
  VIGIL_ASSIGN_OR_RETURN(Statement st, db.Prepare("INSERT INTO t(x) VALUES(?)"));
  st.Bind(1, text);
  return st.Run();
}

// The first column of every row, as text.
std::vector<std::string> Column(Db& db, const char* sql) {
  std::vector<std::string> out;
  auto st = db.Prepare(sql);
  EXPECT_TRUE(st.ok()) << st.status().ToString();
  if (!st.ok()) return out;
  for (;;) {
    auto row = st->Step();
    EXPECT_TRUE(row.ok()) << row.status().ToString();
    if (!row.ok() || !*row) break;
    out.push_back(st->ColumnText(0));
  }
  return out;
}

std::string One(Db& db, const char* sql) {
  std::vector<std::string> rows = Column(db, sql);
  return rows.empty() ? std::string("<no row>") : rows[0];
}

// Sets the umask for one scope.
class ScopedUmask {
 public:
  explicit ScopedUmask(mode_t mask) : old_(umask(mask)) {}
  ~ScopedUmask() { umask(old_); }

 private:
  mode_t old_;
};

class StorageFixture : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(crypto::InitCrypto().ok()); }
  std::string Path(std::string_view suffix) const { return dir_.Sub("s") + std::string(suffix); }
  StatusOr<Db> Create() { return CreateStore(dir_.path(), "s", AsBytes(kPass), kFast); }
  StatusOr<Db> Open(std::string_view pass) { return OpenStore(dir_.path(), "s", AsBytes(pass)); }
  crypto::SecretBytes Key() {
    auto key = UnlockKeyHeader(Path(".key"), AsBytes(kPass));
    EXPECT_TRUE(key.ok()) << key.status().ToString();
    return key.ok() ? std::move(key).value() : crypto::SecretBytes();
  }
  // A store with table t(x TEXT) holding `rows` rows.
  void MakeStore(int rows) {
    auto db = Create();
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    ASSERT_TRUE(db->Exec("CREATE TABLE t(x TEXT)").ok());
    for (int i = 0; i < rows; ++i) ASSERT_TRUE(Insert(*db, "row " + std::to_string(i)).ok());
  }
  TempDir dir_;
};

// --- Stores: create, open, wrong passphrase, at rest ----------------------

class StorageStoreTest : public StorageFixture {};

TEST_F(StorageStoreTest, CreateWriteCloseReopenRead) {
  {
    auto db = Create();
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    ASSERT_TRUE(db->Exec("CREATE TABLE t(id INTEGER PRIMARY KEY, s TEXT, b BLOB, n INTEGER)").ok());
    auto st = db->Prepare("INSERT INTO t(s, b, n) VALUES(?, ?, ?)");
    ASSERT_TRUE(st.ok());
    const Bytes blob = {0, 1, 2, 0xff};
    st->Bind(1, "hello").BindBlob(2, blob).Bind(3, int64_t{INT64_MIN});
    ASSERT_TRUE(st->Run().ok());
    EXPECT_EQ(db->LastInsertRowId(), 1);
    EXPECT_EQ(db->Changes(), 1);
    ASSERT_TRUE(st->Reset().ok());
    st->Bind(1, "").BindBlob(2, ByteSpan()).BindNull(3);
    ASSERT_TRUE(st->Run().ok());
  }
  auto db = Open(kPass);
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  auto st = db->Prepare("SELECT s, b, n, typeof(s), typeof(b), typeof(n) FROM t ORDER BY id");
  ASSERT_TRUE(st.ok());
  ASSERT_TRUE(*st->Step());
  EXPECT_EQ(st->ColumnText(0), "hello");
  EXPECT_EQ(st->ColumnBlob(1), (Bytes{0, 1, 2, 0xff}));
  EXPECT_EQ(st->ColumnInt64(2), INT64_MIN);
  ASSERT_TRUE(*st->Step());
  EXPECT_EQ(st->ColumnText(0), "");
  EXPECT_EQ(st->ColumnText(3), "text");  // empty string is not NULL
  EXPECT_EQ(st->ColumnText(4), "blob");  // empty blob is not NULL
  EXPECT_TRUE(st->ColumnIsNull(2));
  EXPECT_FALSE(*st->Step());
  EXPECT_TRUE(db->IntegrityCheck().ok());
}

TEST_F(StorageStoreTest, FilesAreOwnerOnlyWhateverTheUmask) {
  for (mode_t mask : {mode_t{0277}, mode_t{0}}) {
    ScopedUmask scoped(mask);
    const std::string home = dir_.Sub("home" + std::to_string(mask));
    auto db = CreateStore(home, "s", AsBytes(kPass), kFast);
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    ASSERT_TRUE(db->Exec("CREATE TABLE t(x TEXT); INSERT INTO t VALUES('x');").ok());
    EXPECT_EQ(ModeOf(home), 0700u) << "umask " << mask;
    for (const char* suffix : {".key", ".db", ".db-wal", ".db-shm"}) {
      ASSERT_TRUE(Exists(home + "/s" + suffix)) << suffix;
      EXPECT_EQ(ModeOf(home + "/s" + suffix), 0600u) << suffix << " umask " << mask;
    }
  }
}

TEST_F(StorageStoreTest, CreateRefusesExistingFiles) {
  MakeStore(1);
  FileState db = Snapshot(Path(".db")), key = Snapshot(Path(".key"));
  EXPECT_EQ(Create().status().code(), Code::kAlreadyExists);
  ExpectUnchanged(db, Path(".db"));
  ExpectUnchanged(key, Path(".key"));

  // Only the header, or only the database, is enough to refuse.
  ASSERT_TRUE(CreateKeyHeader(dir_.Sub("k.key"), AsBytes(kPass), kFast).ok());
  EXPECT_EQ(CreateStore(dir_.path(), "k", AsBytes(kPass), kFast).status().code(),
            Code::kAlreadyExists);
  EXPECT_FALSE(Exists(dir_.Sub("k.db")));
  ASSERT_TRUE(WriteFile(dir_.Sub("j.db"), "someone's database"));
  EXPECT_EQ(CreateStore(dir_.path(), "j", AsBytes(kPass), kFast).status().code(),
            Code::kAlreadyExists);
  EXPECT_FALSE(Exists(dir_.Sub("j.key")));
  EXPECT_EQ(ReadFile(dir_.Sub("j.db")), "someone's database");
}

TEST_F(StorageStoreTest, StoreNamesAreCheckedAndMissingStoresAreNotFound) {
  for (const char* bad : {"", ".", "..", "a/b", "/abs"}) {
    EXPECT_EQ(CreateStore(dir_.path(), bad, AsBytes(kPass), kFast).status().code(),
              Code::kInvalidArgument) << bad;
    EXPECT_EQ(OpenStore(dir_.path(), bad, AsBytes(kPass)).status().code(),
              Code::kInvalidArgument) << bad;
  }
  EXPECT_EQ(Open(kPass).status().code(), Code::kNotFound);
  // A header without its database: NotFound, and no database is created.
  ASSERT_TRUE(CreateKeyHeader(Path(".key"), AsBytes(kPass), kFast).ok());
  EXPECT_EQ(Open(kPass).status().code(), Code::kNotFound);
  EXPECT_FALSE(Exists(Path(".db")));
}

TEST_F(StorageStoreTest, WrongPassphraseIsOneClearErrorAndWritesNothing) {
  MakeStore(20);
  const std::vector<std::string> files = {Path(".db"), Path(".db-wal"), Path(".db-shm"),
                                          Path(".key")};
  std::vector<FileState> before;
  for (const auto& f : files) before.push_back(Snapshot(f));
  ASSERT_TRUE(before[0].exists && before[3].exists);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // so a write shows in mtime

  ExpectWrongPassphrase(Open("correct horse battery ").status());
  ExpectWrongPassphrase(Open("").status());
  // A wrong raw key given to the database directly.
  ExpectWrongPassphrase(Db::Open(Path(".db"), crypto::SecretBytes::Random(32), true).status());
  ExpectWrongPassphrase(Db::Open(Path(".db"), crypto::SecretBytes::Random(32), false).status());
  for (size_t i = 0; i < files.size(); ++i) ExpectUnchanged(before[i], files[i]);

  auto db = Open(kPass);
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  EXPECT_EQ(One(*db, "SELECT count(*) FROM t"), "20");
}

TEST_F(StorageStoreTest, WrongKeyWritesNothingWhileAnotherConnectionHasAWal) {
  MakeStore(0);
  auto writer = Open(kPass);
  ASSERT_TRUE(writer.ok());
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(Insert(*writer, kCanary).ok());
  FileState db = Snapshot(Path(".db")), wal = Snapshot(Path(".db-wal"));
  ASSERT_FALSE(wal.bytes.empty());
  std::this_thread::sleep_for(std::chrono::milliseconds(20));

  ExpectWrongPassphrase(Db::Open(Path(".db"), crypto::SecretBytes::Random(32)).status());
  ExpectWrongPassphrase(Open("nope").status());
  ExpectUnchanged(db, Path(".db"));
  ExpectUnchanged(wal, Path(".db-wal"));
  ASSERT_TRUE(Insert(*writer, "still works").ok());
}

// After a crash the -wal holds committed data not yet in the .db. A wrong
// key must not checkpoint it (SQLite does so when the last read-write
// connection closes, even after a failed read).
TEST_F(StorageStoreTest, WrongKeyWritesNothingAfterACrash) {
  MakeStore(0);
  {
    auto writer = Open(kPass);
    ASSERT_TRUE(writer.ok());
    for (int i = 0; i < 50; ++i) ASSERT_TRUE(Insert(*writer, "row").ok());
    // What a crash now would leave on disk.
    ASSERT_TRUE(WriteFile(dir_.Sub("c.db"), ReadFile(Path(".db"))));
    ASSERT_TRUE(WriteFile(dir_.Sub("c.db-wal"), ReadFile(Path(".db-wal"))));
  }
  FileState db = Snapshot(dir_.Sub("c.db")), wal = Snapshot(dir_.Sub("c.db-wal"));
  ASSERT_FALSE(wal.bytes.empty());
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ExpectWrongPassphrase(Db::Open(dir_.Sub("c.db"), crypto::SecretBytes::Random(32)).status());
  ExpectWrongPassphrase(
      Db::Open(dir_.Sub("c.db"), crypto::SecretBytes::Random(32), true).status());
  ExpectUnchanged(db, dir_.Sub("c.db"));
  ExpectUnchanged(wal, dir_.Sub("c.db-wal"));

  auto recovered = Db::Open(dir_.Sub("c.db"), Key(), true);
  ASSERT_TRUE(recovered.ok()) << recovered.status().ToString();
  EXPECT_EQ(One(*recovered, "SELECT count(*) FROM t"), "50");
}

TEST_F(StorageStoreTest, FilesThatAreNotOursGetTheSameError) {
  MakeStore(3);
  const crypto::SecretBytes key = Key();
  // A foreign .key beside a real .db.
  const std::string real_key = ReadFile(Path(".key"));
  for (const std::string& junk : {ToString(crypto::RandomBytes(106)), std::string(),
                                  ToString(crypto::RandomBytes(4096))}) {
    ASSERT_TRUE(WriteFile(Path(".key"), junk));
    ExpectWrongPassphrase(Open(kPass).status());
  }
  // Another store's header (valid for this passphrase, wrong key for the db).
  ASSERT_TRUE(CreateKeyHeader(dir_.Sub("other.key"), AsBytes(kPass), kFast).ok());
  ASSERT_TRUE(WriteFile(Path(".key"), ReadFile(dir_.Sub("other.key"))));
  ExpectWrongPassphrase(Open(kPass).status());
  ASSERT_TRUE(WriteFile(Path(".key"), real_key));

  // Foreign .db files: random bytes of several sizes, and a plaintext SQLite
  // database (SQLCipher without a key is plain SQLite).
  const std::string plain = dir_.Sub("plain.db");
  {
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open_v2(plain.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                              nullptr),
              SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(raw, "CREATE TABLE p(x); INSERT INTO p VALUES(1);", nullptr, nullptr,
                           nullptr),
              SQLITE_OK);
    sqlite3_close(raw);
    ASSERT_EQ(ReadFile(plain).rfind("SQLite format 3", 0), 0u);
  }
  std::vector<std::string> foreign = {plain};
  for (size_t size : {size_t{1}, size_t{16}, size_t{100}, size_t{4095}, size_t{4096},
                      size_t{4097}, size_t{8192}, size_t{65536}}) {
    foreign.push_back(dir_.Sub("junk" + std::to_string(size) + ".db"));
    ASSERT_TRUE(WriteFile(foreign.back(), ToString(crypto::RandomBytes(size))));
  }
  // SQLCipher skips decrypting a page that is all zero after its 16-byte
  // salt (it takes it for a short read): such files must not pass as stores.
  foreign.push_back(dir_.Sub("zeros.db"));
  ASSERT_TRUE(WriteFile(foreign.back(), std::string(8192, '\0')));
  foreign.push_back(dir_.Sub("salt-only.db"));
  ASSERT_TRUE(WriteFile(foreign.back(),
                        ToString(crypto::RandomBytes(16)) + std::string(4096 - 16, '\0')));
  for (const std::string& path : foreign) {
    FileState before = Snapshot(path);
    ExpectWrongPassphrase(Db::Open(path, key, true).status());
    ExpectWrongPassphrase(Db::Open(path, key, false).status());
    ExpectUnchanged(before, path);
  }
  auto db = Open(kPass);
  ASSERT_TRUE(db.ok()) << db.status().ToString();
}

TEST_F(StorageStoreTest, NoPlaintextAtRest) {
  auto db = Create();
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  const crypto::SecretBytes key = Key();
  ASSERT_TRUE(db->Exec("CREATE TABLE t(a TEXT, b BLOB)").ok());
  for (int i = 0; i < 300; ++i) {
    auto st = db->Prepare("INSERT INTO t VALUES(?, ?)");
    ASSERT_TRUE(st.ok());
    st->Bind(1, kCanary).BindBlob(2, AsBytes(kCanary));
    ASSERT_TRUE(st->Run().ok());
  }
  ASSERT_TRUE(db->Exec("DELETE FROM t WHERE rowid % 2 = 0").ok());
  const std::string raw_key = ToString(key.span());
  const std::string hex_key = HexEncode(key.span());
  auto check = [&](const char* when) {
    for (const char* suffix : {".db", ".db-wal", ".db-shm", ".key"}) {
      const std::string bytes = ReadFile(Path(suffix));
      EXPECT_EQ(CountOccurrences(bytes, kCanary), 0u) << suffix << " " << when;
      EXPECT_EQ(CountOccurrences(bytes, raw_key), 0u) << suffix << " " << when;
      EXPECT_EQ(CountOccurrences(bytes, hex_key), 0u) << suffix << " " << when;
      EXPECT_NE(bytes.rfind("SQLite format 3", 0), 0u) << suffix << " " << when;
    }
  };
  EXPECT_FALSE(ReadFile(Path(".db-wal")).empty()) << "expected a WAL while open";
  check("while open");
  db = Status::Internal("closed");  // closes the handle (checkpoints the WAL)
  EXPECT_GT(ReadFile(Path(".db")).size(), 4096u * 4);
  check("after close");
}

TEST_F(StorageStoreTest, RewrapChangesThePassphraseOnly) {
  MakeStore(0);
  {
    auto db = Open(kPass);
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE(Insert(*db, "kept").ok());
  }
  FileState db_before = Snapshot(Path(".db"));
  FileState key_before = Snapshot(Path(".key"));
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ExpectWrongPassphrase(RewrapKeyHeader(Path(".key"), AsBytes("nope"), AsBytes("new")));
  ExpectUnchanged(key_before, Path(".key"));

  ASSERT_TRUE(RewrapKeyHeader(Path(".key"), AsBytes(kPass), AsBytes("new")).ok());
  ExpectUnchanged(db_before, Path(".db"));
  EXPECT_NE(ReadFile(Path(".key")), key_before.bytes);
  EXPECT_EQ(ModeOf(Path(".key")), 0600u);
  EXPECT_FALSE(Exists(Path(".key.tmp")));
  ExpectWrongPassphrase(Open(kPass).status());
  auto db = Open("new");
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  EXPECT_EQ(Column(*db, "SELECT x FROM t"), std::vector<std::string>{"kept"});
}

// --- The database file format ----------------------------------------------

class StorageFormatTest : public StorageFixture {};

// Any SQLCipher 3.4.1 reads a store given the documented settings, the key as
// a raw blob literal, and nothing else; the settings are not the defaults.
TEST_F(StorageFormatTest, DocumentedPragmasOpenTheDatabase) {
  const crypto::SecretBytes key = crypto::SecretBytes::Random(32);
  {
    auto db = Db::Open(Path(".db"), key);
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    ASSERT_TRUE(db->Exec("CREATE TABLE t(x TEXT); INSERT INTO t VALUES('interop');").ok());
  }
  const std::string hex = HexEncode(key.span());
  auto read = [&](const std::string& setup) -> std::string {
    sqlite3* raw = nullptr;
    EXPECT_EQ(sqlite3_open_v2(Path(".db").c_str(), &raw, SQLITE_OPEN_READONLY, nullptr),
              SQLITE_OK);
    std::string out = "<error>";
    if (sqlite3_exec(raw, setup.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK) {
      sqlite3_stmt* st = nullptr;
      if (sqlite3_prepare_v2(raw, "SELECT x FROM t", -1, &st, nullptr) == SQLITE_OK &&
          sqlite3_step(st) == SQLITE_ROW) {
        out = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
      }
      sqlite3_finalize(st);
    }
    sqlite3_close(raw);
    return out;
  };
  const std::string key_pragma = "PRAGMA key = \"x'" + hex + "'\";";
  EXPECT_EQ(read(key_pragma +
                 "PRAGMA cipher_use_hmac = ON; PRAGMA cipher_hmac_pgno = 'le';"
                 "PRAGMA fast_kdf_iter = 2; PRAGMA cipher_page_size = 4096;"),
            "interop");
  // 3.4.1's default page size is 1024: the explicit 4096 matters.
  EXPECT_EQ(read(key_pragma), "<error>");
  // The hex as a passphrase (through PBKDF2) is a different key.
  EXPECT_EQ(read("PRAGMA key = '" + hex + "'; PRAGMA cipher_page_size = 4096;"), "<error>");
}

TEST_F(StorageFormatTest, OpenAppliesAndVerifiesTheSettings) {
  auto db = Db::Open(Path(".db"), crypto::SecretBytes::Random(32));
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  EXPECT_FALSE(One(*db, "PRAGMA cipher_version").empty());
  EXPECT_EQ(One(*db, "PRAGMA cipher"), "AES-256-CBC");
  EXPECT_EQ(One(*db, "PRAGMA cipher_use_hmac"), "1");
  EXPECT_EQ(One(*db, "PRAGMA cipher_hmac_pgno"), "le");
  EXPECT_EQ(One(*db, "PRAGMA fast_kdf_iter"), "2");
  EXPECT_EQ(One(*db, "PRAGMA cipher_page_size"), "4096");
  EXPECT_EQ(One(*db, "PRAGMA page_size"), "4096");
  EXPECT_EQ(One(*db, "PRAGMA journal_mode"), "wal");
  EXPECT_EQ(One(*db, "PRAGMA synchronous"), "2");  // FULL
  EXPECT_EQ(One(*db, "PRAGMA foreign_keys"), "1");
  EXPECT_EQ(One(*db, "PRAGMA secure_delete"), "1");
  EXPECT_EQ(One(*db, "PRAGMA busy_timeout"), "5000");
  EXPECT_TRUE(db->IntegrityCheck().ok());
}

TEST_F(StorageFormatTest, OpenChecksItsArguments) {
  EXPECT_EQ(Db::Open(Path(".db"), crypto::SecretBytes::Random(31)).status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(Db::Open(Path(".db"), crypto::SecretBytes::Random(32), true).status().code(),
            Code::kNotFound);
  EXPECT_FALSE(Exists(Path(".db")));
}

// --- Statements and error mapping --------------------------------------------

class StorageDbTest : public StorageFixture {
 protected:
  void SetUp() override {
    StorageFixture::SetUp();
    key_ = crypto::SecretBytes::Random(32);
    auto db = Db::Open(Path(".db"), key_);
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_.emplace(std::move(db).value());
  }
  Db& db() { return *db_; }
  StatusOr<Db> Second() { return Db::Open(Path(".db"), key_, true); }
  crypto::SecretBytes key_;
  std::optional<Db> db_;
};

TEST_F(StorageDbTest, StatementsBindAndReadEveryType) {
  ASSERT_TRUE(db().Exec("CREATE TABLE v(i INTEGER, s TEXT, b BLOB)").ok());
  auto ins = db().Prepare("INSERT INTO v VALUES(?, ?, ?)");
  ASSERT_TRUE(ins.ok());
  const std::string with_nul("a\0b", 3);
  ins->Bind(1, int64_t{INT64_MAX}).Bind(2, with_nul).BindBlob(3, AsBytes("secret"));
  ASSERT_TRUE(ins->Run().ok());
  ASSERT_TRUE(ins->Reset().ok());  // also clears the bindings: all NULL now
  ASSERT_TRUE(ins->Run().ok());

  auto sel = db().Prepare("SELECT i, s, b FROM v ORDER BY rowid");
  ASSERT_TRUE(sel.ok());
  ASSERT_TRUE(*sel->Step());
  EXPECT_EQ(sel->ColumnInt64(0), INT64_MAX);
  EXPECT_EQ(sel->ColumnText(1), with_nul);
  crypto::SecretBytes secret = sel->ColumnSecret(2);
  EXPECT_EQ(ToString(secret.span()), "secret");
  ASSERT_TRUE(*sel->Step());
  EXPECT_TRUE(sel->ColumnIsNull(0));
  EXPECT_TRUE(sel->ColumnIsNull(1));
  EXPECT_TRUE(sel->ColumnIsNull(2));
  EXPECT_TRUE(sel->ColumnBlob(2).empty());
  EXPECT_TRUE(sel->ColumnSecret(2).empty());
  EXPECT_FALSE(*sel->Step());
  // Stepping again after the end starts over.
  ASSERT_TRUE(sel->Reset().ok());
  EXPECT_TRUE(*sel->Step());
}

TEST_F(StorageDbTest, BindErrorsAreReportedByStepAndRun) {
  ASSERT_TRUE(db().Exec("CREATE TABLE t(x TEXT)").ok());
  auto st = db().Prepare("INSERT INTO t VALUES(?)");
  ASSERT_TRUE(st.ok());
  st->Bind(2, kCanary).Bind(1, "fine");  // index 2 does not exist
  Status s = st->Run();
  EXPECT_EQ(s.code(), Code::kInternal);
  EXPECT_EQ(s.message().find(kCanary), std::string::npos);
  EXPECT_EQ(st->Step().status().code(), Code::kInternal);  // still reported
  EXPECT_EQ(One(db(), "SELECT count(*) FROM t"), "0");
  ASSERT_TRUE(st->Reset().ok());
  st->Bind(1, "fine");
  EXPECT_TRUE(st->Run().ok());
  EXPECT_EQ(One(db(), "SELECT count(*) FROM t"), "1");
}

TEST_F(StorageDbTest, PrepareTakesExactlyOneStatement) {
  EXPECT_TRUE(db().Prepare("SELECT 1;").ok());
  EXPECT_TRUE(db().Prepare("SELECT 1 ; \n").ok());
  EXPECT_EQ(db().Prepare("SELECT 1; SELECT 2").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(db().Prepare("").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(db().Prepare("SELEKT 1").status().code(), Code::kInternal);
  EXPECT_EQ(db().Prepare("SELECT * FROM missing").status().code(), Code::kInternal);
}

TEST_F(StorageDbTest, ConstraintViolationsAreAlreadyExistsWithoutValues) {
  ASSERT_TRUE(db().Exec("CREATE TABLE p(id TEXT PRIMARY KEY);"
                        "CREATE TABLE c(pid TEXT NOT NULL REFERENCES p(id));")
                  .ok());
  auto ins = db().Prepare("INSERT INTO p VALUES(?)");
  ASSERT_TRUE(ins.ok());
  ins->Bind(1, kCanary);
  ASSERT_TRUE(ins->Run().ok());
  ASSERT_TRUE(ins->Reset().ok());
  ins->Bind(1, kCanary);
  Status dup = ins->Run();
  EXPECT_EQ(dup.code(), Code::kAlreadyExists);
  EXPECT_NE(dup.message().find("UNIQUE constraint failed"), std::string::npos) << dup.message();
  EXPECT_EQ(dup.message().find(kCanary), std::string::npos);

  auto child = db().Prepare("INSERT INTO c VALUES(?)");
  ASSERT_TRUE(child.ok());
  child->Bind(1, std::string(kCanary) + "-orphan");  // foreign_keys is ON
  Status fk = child->Run();
  EXPECT_EQ(fk.code(), Code::kAlreadyExists);
  EXPECT_EQ(fk.message().find(kCanary), std::string::npos);
  ASSERT_TRUE(child->Reset().ok());
  child->BindNull(1);
  Status nn = child->Run();
  EXPECT_EQ(nn.code(), Code::kAlreadyExists);
  EXPECT_EQ(One(db(), "SELECT count(*) FROM c"), "0");
}

TEST_F(StorageDbTest, FullIsResourceExhausted) {
  ASSERT_TRUE(db().Exec("CREATE TABLE big(b BLOB)").ok());
  ASSERT_TRUE(db().Exec("PRAGMA max_page_count = 8").ok());
  auto st = db().Prepare("INSERT INTO big VALUES(?)");
  ASSERT_TRUE(st.ok());
  st->BindBlob(1, Bytes(64 * 1024, 0x5a));
  Status s = st->Run();
  EXPECT_EQ(s.code(), Code::kResourceExhausted);
  EXPECT_EQ(s.message(), "disk full");
}

TEST_F(StorageDbTest, CachedStatementsAreReusedAndComeBackReset) {
  ASSERT_TRUE(db().Exec("CREATE TABLE t(x INTEGER); INSERT INTO t VALUES(1), (2), (3)").ok());
  const char* kSelect = "SELECT x FROM t ORDER BY x";
  {
    auto a = db().PrepareCached(kSelect);
    ASSERT_TRUE(a.ok());
    ASSERT_TRUE(*(*a)->Step());
    EXPECT_EQ((*a)->ColumnInt64(0), 1);  // left in the middle of its rows
    // The same SQL while the first is in use: a statement of its own.
    auto b = db().PrepareCached(kSelect);
    ASSERT_TRUE(b.ok());
    ASSERT_TRUE(*(*b)->Step());
    EXPECT_EQ((*b)->ColumnInt64(0), 1);
    ASSERT_TRUE(*(*a)->Step());
    EXPECT_EQ((*a)->ColumnInt64(0), 2);
  }
  {
    auto c = db().PrepareCached(kSelect);  // back from the start
    ASSERT_TRUE(c.ok());
    ASSERT_TRUE(*(*c)->Step());
    EXPECT_EQ((*c)->ColumnInt64(0), 1);
  }
  {
    auto p = db().PrepareCached("SELECT ?");
    ASSERT_TRUE(p.ok());
    (*p)->Bind(1, int64_t{5});
    ASSERT_TRUE(*(*p)->Step());
    EXPECT_EQ((*p)->ColumnInt64(0), 5);
  }
  {
    auto p = db().PrepareCached("SELECT ?");  // bindings cleared
    ASSERT_TRUE(p.ok());
    ASSERT_TRUE(*(*p)->Step());
    EXPECT_TRUE((*p)->ColumnIsNull(0));
  }
  // No cached statement still reads t: it can be dropped.
  Status drop = db().Exec("DROP TABLE t");
  EXPECT_TRUE(drop.ok()) << drop.ToString();
  // Moving the Db keeps its cache usable.
  Db moved = std::move(*db_);
  db_.reset();
  auto p = moved.PrepareCached("SELECT ?");
  ASSERT_TRUE(p.ok());
  (*p)->Bind(1, int64_t{7});
  ASSERT_TRUE(*(*p)->Step());
  EXPECT_EQ((*p)->ColumnInt64(0), 7);
}

// SQLite may roll a whole transaction back by itself when a statement hits
// a full disk; InTransaction() tells (the relay then answers "disk full" for
// the whole batch instead of committing the rest outside any transaction).
TEST_F(StorageDbTest, InTransactionTellsWhenSqliteRolledBackByItself) {
  ASSERT_TRUE(db().Exec("CREATE TABLE big(b BLOB)").ok());
  EXPECT_FALSE(db().InTransaction());
  {
    auto txn = Txn::Begin(db());
    ASSERT_TRUE(txn.ok());
    EXPECT_TRUE(db().InTransaction());
    ASSERT_TRUE(txn->Commit().ok());
    EXPECT_FALSE(db().InTransaction());
  }
  ASSERT_TRUE(db().Exec("PRAGMA max_page_count = 8").ok());
  auto txn = Txn::Begin(db());
  ASSERT_TRUE(txn.ok());
  ASSERT_TRUE(db().Exec("INSERT INTO big VALUES(x'01')").ok());
  auto st = db().Prepare("INSERT INTO big VALUES(?)");
  ASSERT_TRUE(st.ok());
  st->BindBlob(1, Bytes(64 * 1024, 0x5a));
  EXPECT_EQ(st->Run().code(), Code::kResourceExhausted);
  EXPECT_FALSE(db().InTransaction());
  EXPECT_EQ(txn->Commit().code(), Code::kFailedPrecondition);
  EXPECT_EQ(One(db(), "SELECT count(*) FROM big"), "0");
}

TEST_F(StorageDbTest, TamperedPagesAreDataLoss) {
  ASSERT_TRUE(db().Exec("CREATE TABLE t(x BLOB);"
                        "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c"
                        " WHERE i < 2000) INSERT INTO t SELECT randomblob(100) FROM c;")
                  .ok());
  db_.reset();  // close: everything checkpointed into the .db
  std::string bytes = ReadFile(Path(".db"));
  ASSERT_GT(bytes.size(), 4096u * 20);
  bytes[4096 * 10 + 500] ^= 0x55;  // page 11
  ASSERT_TRUE(WriteFile(Path(".db"), bytes));

  auto db = Db::Open(Path(".db"), key_, true);  // page 1 is intact
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  EXPECT_EQ(db->IntegrityCheck().code(), Code::kDataLoss);
  auto again = Db::Open(Path(".db"), key_, true);
  ASSERT_TRUE(again.ok());
  auto st = again->Prepare("SELECT sum(length(x)) FROM t");
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->Step().status().code(), Code::kDataLoss);
}

TEST_F(StorageDbTest, TxnRollsBackUnlessCommitted) {
  ASSERT_TRUE(db().Exec("CREATE TABLE t(x INTEGER PRIMARY KEY)").ok());
  {
    auto txn = Txn::Begin(db());
    ASSERT_TRUE(txn.ok());
    ASSERT_TRUE(db().Exec("INSERT INTO t VALUES(1)").ok());
  }  // rolled back
  EXPECT_EQ(One(db(), "SELECT count(*) FROM t"), "0");
  {
    auto txn = Txn::Begin(db());
    ASSERT_TRUE(txn.ok());
    ASSERT_TRUE(db().Exec("INSERT INTO t VALUES(2)").ok());
    ASSERT_TRUE(txn->Commit().ok());
    EXPECT_EQ(txn->Commit().code(), Code::kFailedPrecondition);
  }
  // A transaction moved elsewhere still rolls back exactly once.
  {
    auto txn = Txn::Begin(db());
    ASSERT_TRUE(txn.ok());
    ASSERT_TRUE(db().Exec("INSERT INTO t VALUES(3)").ok());
    Txn moved(std::move(*txn));
  }
  EXPECT_EQ(One(db(), "SELECT group_concat(x) FROM t"), "2");
  auto other = Second();
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(One(*other, "SELECT group_concat(x) FROM t"), "2");
  EXPECT_EQ(db().Exec("INSERT INTO t VALUES(2)").code(), Code::kAlreadyExists);
  // No transaction left open.
  EXPECT_TRUE(db().Exec("BEGIN; COMMIT;").ok());
}

TEST_F(StorageDbTest, BusyStoreIsUnavailable) {
  ASSERT_TRUE(db().Exec("CREATE TABLE t(x)").ok());
  auto other = Second();
  ASSERT_TRUE(other.ok());
  sqlite3_busy_timeout(other->raw(), 50);  // keep the test fast
  auto txn = Txn::Begin(db());
  ASSERT_TRUE(txn.ok());
  auto blocked = Txn::Begin(*other);
  EXPECT_EQ(blocked.status().code(), Code::kUnavailable);
  EXPECT_EQ(blocked.status().message(), "store is busy");
  EXPECT_EQ(other->Exec("INSERT INTO t VALUES(1)").code(), Code::kUnavailable);
  // Readers are not blocked by a writer (WAL).
  EXPECT_EQ(One(*other, "SELECT count(*) FROM t"), "0");
  ASSERT_TRUE(txn->Commit().ok());
  EXPECT_TRUE(other->Exec("INSERT INTO t VALUES(1)").ok());
}

TEST_F(StorageDbTest, WritersWaitForEachOtherUpToTheBusyTimeout) {
  ASSERT_TRUE(db().Exec("CREATE TABLE t(x)").ok());
  auto other = Second();
  ASSERT_TRUE(other.ok());
  auto txn = Txn::Begin(db());
  ASSERT_TRUE(txn.ok());
  ASSERT_TRUE(db().Exec("INSERT INTO t VALUES('first')").ok());
  // From here on only the helper thread touches db() and txn.
  std::thread committer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    EXPECT_TRUE(txn->Commit().ok());
  });
  auto start = std::chrono::steady_clock::now();
  Status s = other->Exec("INSERT INTO t VALUES('second')");  // waits for the commit
  auto waited = std::chrono::steady_clock::now() - start;
  committer.join();
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_GE(waited, std::chrono::milliseconds(200));
  EXPECT_EQ(One(db(), "SELECT group_concat(x) FROM t"), "first,second");
}

TEST_F(StorageDbTest, TwoHandlesOnOneFileBothWrite) {
  ASSERT_TRUE(db().Exec("CREATE TABLE t(who TEXT)").ok());
  auto other = Second();
  ASSERT_TRUE(other.ok());
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(db().Exec("INSERT INTO t VALUES('a')").ok());
    ASSERT_TRUE(other->Exec("INSERT INTO t VALUES('b')").ok());
  }
  EXPECT_EQ(One(db(), "SELECT count(*) FROM t"), "20");
  EXPECT_EQ(One(*other, "SELECT count(*) FROM t WHERE who = 'a'"), "10");
  EXPECT_TRUE(db().IntegrityCheck().ok());
}

TEST_F(StorageDbTest, DataVersionChangesWhenAnotherConnectionCommits) {
  ASSERT_TRUE(db().Exec("CREATE TABLE t(x)").ok());
  auto other = Second();
  ASSERT_TRUE(other.ok());
  auto v1 = db().DataVersion();
  ASSERT_TRUE(v1.ok());
  ASSERT_TRUE(db().Exec("INSERT INTO t VALUES(1)").ok());  // our own commit
  auto v2 = db().DataVersion();
  ASSERT_TRUE(v2.ok());
  EXPECT_EQ(*v1, *v2);
  ASSERT_TRUE(other->Exec("INSERT INTO t VALUES(2)").ok());
  auto v3 = db().DataVersion();
  ASSERT_TRUE(v3.ok());
  EXPECT_NE(*v2, *v3);
}

TEST_F(StorageDbTest, IntegrityCheckPassesOnAFreshStore) {
  EXPECT_TRUE(db().IntegrityCheck().ok());
  ASSERT_TRUE(db().Exec("CREATE TABLE t(x); CREATE INDEX t_x ON t(x);"
                        "INSERT INTO t VALUES(1), (2), (3);")
                  .ok());
  EXPECT_TRUE(db().IntegrityCheck().ok());
}

TEST_F(StorageDbTest, ClosedHandlesFailCleanly) {
  Db moved = std::move(db());
  EXPECT_EQ(db().Exec("SELECT 1").code(), Code::kFailedPrecondition);
  EXPECT_EQ(db().Prepare("SELECT 1").status().code(), Code::kFailedPrecondition);
  EXPECT_EQ(db().UserVersion().status().code(), Code::kFailedPrecondition);
  EXPECT_TRUE(moved.Exec("SELECT 1").ok());
}

// --- Migrations ---------------------------------------------------------------

class StorageMigrationTest : public StorageDbTest {
 protected:
  // Each step depends on the one before, so order matters.
  const std::vector<std::string_view> m_ = {
      "CREATE TABLE a(x)",
      "ALTER TABLE a ADD COLUMN y",
      "CREATE INDEX a_y ON a(y)",
  };
};

TEST_F(StorageMigrationTest, AppliedInOrderOnceAndIdempotentOnReopen) {
  EXPECT_EQ(*db().UserVersion(), 0);
  ASSERT_TRUE(db().Migrate({m_[0]}).ok());
  EXPECT_EQ(*db().UserVersion(), 1);
  ASSERT_TRUE(db().Migrate(m_).ok());  // applies 2 and 3 only
  EXPECT_EQ(*db().UserVersion(), 3);
  ASSERT_TRUE(db().Migrate(m_).ok());
  EXPECT_EQ(*db().UserVersion(), 3);
  db_.reset();
  auto db = Db::Open(Path(".db"), key_, true);
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE(db->Migrate(m_).ok());  // nothing to do, nothing re-run
  EXPECT_EQ(*db->UserVersion(), 3);
  EXPECT_TRUE(db->Exec("INSERT INTO a(x, y) VALUES(1, 2)").ok());
  EXPECT_EQ(One(*db, "SELECT count(*) FROM sqlite_master WHERE name = 'a_y'"), "1");
}

TEST_F(StorageMigrationTest, FailingMigrationRollsBackEntirely) {
  ASSERT_TRUE(db().Migrate(m_).ok());
  std::vector<std::string_view> more = m_;
  more.push_back("CREATE TABLE b(z)");
  more.push_back("CREATE TABLE c(z); INSERT INTO c VALUES(1); INSERT INTO nowhere VALUES(1)");
  more.push_back("CREATE TABLE d(z)");
  Status s = db().Migrate(more);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("schema migration 5"), std::string::npos) << s.message();
  EXPECT_EQ(*db().UserVersion(), 4);  // migration 4 committed on its own
  EXPECT_EQ(One(db(), "SELECT group_concat(name) FROM sqlite_master WHERE type = 'table'"
                      " AND name IN ('b', 'c', 'd')"),
            "b");
  // Nothing left open either.
  EXPECT_TRUE(db().Exec("BEGIN; COMMIT;").ok());
}

TEST_F(StorageMigrationTest, NewerStoreIsRefused) {
  ASSERT_TRUE(db().Migrate(m_).ok());
  ASSERT_TRUE(db().Exec("PRAGMA user_version = 7").ok());
  Status s = db().Migrate(m_);
  EXPECT_EQ(s.code(), Code::kUnimplemented);
  EXPECT_EQ(s.message(), "store was written by a newer Vigil; upgrade Vigil");
  EXPECT_EQ(*db().UserVersion(), 7);
}

// Migrate reads the version again under the write lock, so two processes
// opening an old store at once apply each migration exactly once.
TEST_F(StorageMigrationTest, ConcurrentMigrationsApplyEachStepOnce) {
  for (int round = 0; round < 10; ++round) {
    const std::string path = dir_.Sub("race" + std::to_string(round) + ".db");
    auto a = Db::Open(path, key_);
    ASSERT_TRUE(a.ok());
    auto b = Db::Open(path, key_, true);
    ASSERT_TRUE(b.ok());
    Status sa, sb;
    std::thread ta([&] { sa = a->Migrate(m_); });
    std::thread tb([&] { sb = b->Migrate(m_); });
    ta.join();
    tb.join();
    EXPECT_TRUE(sa.ok()) << sa.ToString();
    EXPECT_TRUE(sb.ok()) << sb.ToString();
    EXPECT_EQ(*a->UserVersion(), 3);
  }
}

}  // namespace
}  // namespace vigil::storage
