// SQLCipher stores: keys, wrong passphrases, nothing in plaintext at rest,
// migrations, transactions.
#include "vigil/storage.h"

#include <sys/stat.h>

#include <gtest/gtest.h>

#include "testing/testing.h"

namespace vigil::storage {
namespace {

using testing::ReadFile;
using testing::TempDir;

constexpr char kCanary[] = "CANARY-Theo-Lacy-detainee-A123456789";
const crypto::Argon2Params kFast{1, 8192};

class StorageTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(crypto::InitCrypto().ok()); }
  std::string Base() const { return dir_.Sub("s"); }
  TempDir dir_;
};

TEST_F(StorageTest, CreateWriteReopenRead) {
  {
    auto db = CreateStore(dir_.path(), "s", AsBytes("pass"));
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    ASSERT_TRUE(db->Exec("CREATE TABLE t(x TEXT)").ok());
    auto st = db->Prepare("INSERT INTO t VALUES(?)");
    ASSERT_TRUE(st.ok());
    st->Bind(1, "hello");
    ASSERT_TRUE(st->Run().ok());
  }
  auto db = OpenStore(dir_.path(), "s", AsBytes("pass"));
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  auto st = db->Prepare("SELECT x FROM t");
  ASSERT_TRUE(st.ok());
  ASSERT_TRUE(*st->Step());
  EXPECT_EQ(st->ColumnText(0), "hello");
  EXPECT_TRUE(db->IntegrityCheck().ok());
  struct stat sb;
  ASSERT_EQ(stat((Base() + ".key").c_str(), &sb), 0);
  EXPECT_EQ(sb.st_mode & 0777, 0600u);
  ASSERT_EQ(stat((Base() + ".db").c_str(), &sb), 0);
  EXPECT_EQ(sb.st_mode & 0777, 0600u);
  EXPECT_EQ(CreateStore(dir_.path(), "s", AsBytes("pass")).status().code(), Code::kAlreadyExists);
}

TEST_F(StorageTest, WrongPassphraseIsOneClearErrorAndWritesNothing) {
  {
    auto db = CreateStore(dir_.path(), "s", AsBytes("right"));
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE(db->Exec("CREATE TABLE t(x); INSERT INTO t VALUES(1);").ok());
  }
  std::string db_before = ReadFile(Base() + ".db"), key_before = ReadFile(Base() + ".key");
  std::string wal_before = ReadFile(Base() + ".db-wal");
  struct stat before, after;
  ASSERT_EQ(stat((Base() + ".db").c_str(), &before), 0);
  auto db = OpenStore(dir_.path(), "s", AsBytes("wrong"));
  EXPECT_EQ(db.status().code(), Code::kUnauthenticated);
  EXPECT_EQ(db.status().message(), "wrong passphrase, or not a Vigil store");
  // A wrong raw key for the database itself.
  auto raw = Db::Open(Base() + ".db", crypto::SecretBytes::Random(32), true);
  EXPECT_EQ(raw.status().code(), Code::kUnauthenticated);
  EXPECT_EQ(raw.status().message(), "wrong passphrase, or not a Vigil store");
  EXPECT_EQ(ReadFile(Base() + ".db"), db_before);
  EXPECT_EQ(ReadFile(Base() + ".key"), key_before);
  EXPECT_EQ(ReadFile(Base() + ".db-wal"), wal_before);
  ASSERT_EQ(stat((Base() + ".db").c_str(), &after), 0);
  EXPECT_EQ(before.st_mtim.tv_sec, after.st_mtim.tv_sec);
  EXPECT_EQ(before.st_mtim.tv_nsec, after.st_mtim.tv_nsec);
}

TEST_F(StorageTest, FilesThatAreNotOursGetTheSameError) {
  ASSERT_TRUE(testing::WriteFile(Base() + ".key", std::string(106, 'x')));
  EXPECT_EQ(UnlockKeyHeader(Base() + ".key", AsBytes("p")).status().message(),
            "wrong passphrase, or not a Vigil store");
  ASSERT_TRUE(testing::WriteFile(Base() + ".key", "VIGILKEY"));  // truncated
  EXPECT_EQ(UnlockKeyHeader(Base() + ".key", AsBytes("p")).status().code(), Code::kUnauthenticated);
  ASSERT_TRUE(testing::WriteFile(dir_.Sub("junk.db"), std::string(8192, 'j')));
  auto db = Db::Open(dir_.Sub("junk.db"), crypto::SecretBytes::Random(32), true);
  EXPECT_EQ(db.status().code(), Code::kUnauthenticated);
  EXPECT_EQ(UnlockKeyHeader(dir_.Sub("missing.key"), AsBytes("p")).status().code(), Code::kNotFound);
}

TEST_F(StorageTest, UnknownHeaderVersionIsRefusedClearly) {
  ASSERT_TRUE(CreateKeyHeader(Base() + ".key", AsBytes("p"), kFast).ok());
  std::string h = ReadFile(Base() + ".key");
  h[8] = 9;
  ASSERT_TRUE(testing::WriteFile(Base() + ".key", h));
  auto r = UnlockKeyHeader(Base() + ".key", AsBytes("p"));
  EXPECT_EQ(r.status().code(), Code::kUnimplemented);
  EXPECT_NE(r.status().message().find("version 9"), std::string::npos);
}

TEST_F(StorageTest, EveryHeaderByteIsAuthenticated) {
  ASSERT_TRUE(CreateKeyHeader(Base() + ".key", AsBytes("p"), kFast).ok());
  std::string h = ReadFile(Base() + ".key");
  for (size_t i = 0; i < h.size(); ++i) {
    if (i == 8) continue;  // version byte: its own error
    std::string t = h;
    t[i] ^= 0x01;
    ASSERT_TRUE(testing::WriteFile(Base() + ".key", t));
    EXPECT_FALSE(UnlockKeyHeader(Base() + ".key", AsBytes("p")).ok()) << "byte " << i;
  }
}

TEST_F(StorageTest, NoPlaintextAtRest) {
  auto key = CreateKeyHeader(Base() + ".key", AsBytes("pass"));
  ASSERT_TRUE(key.ok());
  auto db = Db::Open(Base() + ".db", *key);
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE(db->Exec("CREATE TABLE t(a TEXT, b BLOB)").ok());
  for (int i = 0; i < 200; ++i) {
    auto st = db->Prepare("INSERT INTO t VALUES(?, ?)");
    ASSERT_TRUE(st.ok());
    st->Bind(1, kCanary).BindBlob(2, AsBytes(kCanary));
    ASSERT_TRUE(st->Run().ok());
  }
  auto check = [&](const char* when) {
    for (const char* suffix : {".db", ".db-wal", ".key"}) {
      std::string bytes = ReadFile(Base() + suffix);
      EXPECT_EQ(testing::CountOccurrences(bytes, kCanary), 0u) << suffix << " " << when;
      EXPECT_NE(bytes.rfind("SQLite format 3", 0), 0u) << suffix << " " << when;
    }
  };
  EXPECT_FALSE(ReadFile(Base() + ".db-wal").empty()) << "expected a WAL while open";
  check("while open");
  db = Status::Internal("closed");  // close the handle (checkpoints the WAL)
  check("after close");
}

TEST_F(StorageTest, MigrationsApplyOnceInOrderAndRefuseNewerStores) {
  auto key = CreateKeyHeader(Base() + ".key", AsBytes("p"), kFast);
  ASSERT_TRUE(key.ok());
  std::vector<std::string_view> m = {"CREATE TABLE a(x)", "CREATE TABLE b(y)"};
  {
    auto db = Db::Open(Base() + ".db", *key);
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE(db->Migrate(m).ok());
    EXPECT_EQ(*db->UserVersion(), 2);
    ASSERT_TRUE(db->Migrate(m).ok());  // idempotent
    // A failing migration changes nothing.
    std::vector<std::string_view> bad = {m[0], m[1], "CREATE TABLE c(z); THIS IS NOT SQL"};
    EXPECT_FALSE(db->Migrate(bad).ok());
    EXPECT_EQ(*db->UserVersion(), 2);
    EXPECT_FALSE(db->Exec("SELECT * FROM c").ok());
  }
  auto db = Db::Open(Base() + ".db", *key);
  ASSERT_TRUE(db.ok());
  EXPECT_EQ(db->Migrate({m[0]}).code(), Code::kUnimplemented);
}

TEST_F(StorageTest, TransactionsRollBackUnlessCommitted) {
  auto key = CreateKeyHeader(Base() + ".key", AsBytes("p"), kFast);
  auto db = Db::Open(Base() + ".db", *key);
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE(db->Exec("CREATE TABLE t(x INTEGER PRIMARY KEY)").ok());
  {
    auto txn = Txn::Begin(*db);
    ASSERT_TRUE(txn.ok());
    ASSERT_TRUE(db->Exec("INSERT INTO t VALUES(1)").ok());
  }  // rolled back
  {
    auto txn = Txn::Begin(*db);
    ASSERT_TRUE(db->Exec("INSERT INTO t VALUES(2)").ok());
    ASSERT_TRUE(txn->Commit().ok());
  }
  auto st = db->Prepare("SELECT group_concat(x) FROM t");
  ASSERT_TRUE(*st->Step());
  EXPECT_EQ(st->ColumnText(0), "2");
  EXPECT_EQ(db->Exec("INSERT INTO t VALUES(2)").code(), Code::kAlreadyExists);
}

TEST_F(StorageTest, RewrapChangesThePassphraseOnly) {
  {
    auto db = CreateStore(dir_.path(), "s", AsBytes("old"));
    ASSERT_TRUE(db->Exec("CREATE TABLE t(x); INSERT INTO t VALUES('kept');").ok());
  }
  std::string before = ReadFile(Base() + ".key");
  EXPECT_EQ(RewrapKeyHeader(Base() + ".key", AsBytes("nope"), AsBytes("new")).code(),
            Code::kUnauthenticated);
  EXPECT_EQ(ReadFile(Base() + ".key"), before);
  ASSERT_TRUE(RewrapKeyHeader(Base() + ".key", AsBytes("old"), AsBytes("new")).ok());
  EXPECT_FALSE(OpenStore(dir_.path(), "s", AsBytes("old")).ok());
  auto db = OpenStore(dir_.path(), "s", AsBytes("new"));
  ASSERT_TRUE(db.ok());
  auto st = db->Prepare("SELECT x FROM t");
  ASSERT_TRUE(*st->Step());
  EXPECT_EQ(st->ColumnText(0), "kept");
}

TEST_F(StorageTest, TwoConnectionsShareTheStore) {
  auto key = CreateKeyHeader(Base() + ".key", AsBytes("p"), kFast);
  auto a = Db::Open(Base() + ".db", *key);
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(a->Exec("CREATE TABLE t(x)").ok());
  auto b = Db::Open(Base() + ".db", *key, true);
  ASSERT_TRUE(b.ok());
  auto v1 = a->DataVersion();
  ASSERT_TRUE(b->Exec("INSERT INTO t VALUES(1)").ok());
  auto v2 = a->DataVersion();
  ASSERT_TRUE(v1.ok() && v2.ok());
  EXPECT_NE(*v1, *v2);
  ASSERT_TRUE(a->Exec("INSERT INTO t VALUES(2)").ok());
  auto st = b->Prepare("SELECT count(*) FROM t");
  ASSERT_TRUE(*st->Step());
  EXPECT_EQ(st->ColumnInt64(0), 2);
}

}  // namespace
}  // namespace vigil::storage
