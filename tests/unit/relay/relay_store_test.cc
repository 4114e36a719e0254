// RelayStore: the per-device byte count behind the mailbox quota follows
// every change to the mailbox, in the same transaction.
#include "relay/server/relay_store.h"

#include <gtest/gtest.h>

#include "testing/testing.h"
#include "vigil/crypto.h"

namespace vigil::relay {
namespace {

class RelayStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(crypto::InitCrypto().ok());
    data_ = dir_.Sub("relay");
    auto s = RelayStore::Create(data_, AsBytes("relay pass"), "tcp://127.0.0.1:7000");
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_.emplace(std::move(s).value());
  }
  RelayStore& store() { return *store_; }

  // What MailboxBytes must answer: the sum over the mailbox itself.
  int64_t Summed(const Bytes& device) {
    auto st = store().db().Prepare("SELECT coalesce(sum(length(blob)), 0) FROM mailbox WHERE device_id = ?");
    EXPECT_TRUE(st.ok());
    st->BindBlob(1, device);
    auto row = st->Step();
    EXPECT_TRUE(row.ok() && *row);
    return st->ColumnInt64(0);
  }
  void ExpectConsistent(const Bytes& device, int64_t want) {
    auto got = store().MailboxBytes(device);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    EXPECT_EQ(*got, want);
    EXPECT_EQ(Summed(device), want);
  }
  std::vector<uint64_t> Seqs(const Bytes& device) {
    wire::v1::FetchResponse f;
    EXPECT_TRUE(store().Fetch(device, 0, 100, 1 << 20, &f).ok());
    std::vector<uint64_t> out;
    for (const auto& it : f.items()) out.push_back(it.seq());
    return out;
  }

  testing::TempDir dir_;
  std::string data_;
  std::optional<RelayStore> store_;
  const Bytes a_ = Bytes(16, 0xa1), b_ = Bytes(16, 0xb2), from_ = Bytes(16, 0xf0);
};

TEST_F(RelayStoreTest, MailboxBytesFollowsInsertsAcksAndPurges) {
  ExpectConsistent(a_, 0);
  auto fresh = store().StoreDelivery(a_, Bytes(16, 1), from_, 1000, Bytes(100, 7));
  ASSERT_TRUE(fresh.ok() && *fresh);
  ExpectConsistent(a_, 100);
  fresh = store().StoreDelivery(a_, Bytes(16, 1), from_, 1000, Bytes(100, 7));  // duplicate
  ASSERT_TRUE(fresh.ok());
  EXPECT_FALSE(*fresh);
  ExpectConsistent(a_, 100);
  ASSERT_TRUE(store().StoreDelivery(a_, Bytes(16, 2), from_, 2000, Bytes(50, 7)).ok());
  ASSERT_TRUE(store().StoreDelivery(b_, Bytes(16, 1), from_, 2000, Bytes(70, 7)).ok());
  ExpectConsistent(a_, 150);
  ExpectConsistent(b_, 70);

  // Acks delete only the device's own items.
  std::vector<uint64_t> a_seqs = Seqs(a_), b_seqs = Seqs(b_);
  ASSERT_EQ(a_seqs.size(), 2u);
  ASSERT_EQ(b_seqs.size(), 1u);
  auto n = store().Ack(a_, {a_seqs[0], b_seqs[0]});
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 1);
  ExpectConsistent(a_, 50);
  ExpectConsistent(b_, 70);

  // A rolled-back transaction leaves the count alone.
  {
    auto txn = storage::Txn::Begin(store().db());
    ASSERT_TRUE(txn.ok());
    ASSERT_TRUE(store().StoreDelivery(a_, Bytes(16, 3), from_, 3000, Bytes(999, 7)).ok());
    ASSERT_TRUE(store().Ack(b_, b_seqs).ok());
  }
  ExpectConsistent(a_, 50);
  ExpectConsistent(b_, 70);

  // Retention: everything received before t=2500 goes.
  auto purged = store().PurgeOlderThan(2500);
  ASSERT_TRUE(purged.ok());
  ExpectConsistent(a_, 0);
  ExpectConsistent(b_, 0);
}

TEST_F(RelayStoreTest, TheMigrationCountsWhatIsAlreadyQueued) {
  // A store as schema version 5 left it: mail queued, no byte counts.
  ASSERT_TRUE(store().StoreDelivery(a_, Bytes(16, 1), from_, 1000, Bytes(300, 7)).ok());
  ASSERT_TRUE(store().StoreDelivery(a_, Bytes(16, 2), from_, 1000, Bytes(200, 7)).ok());
  ASSERT_TRUE(store().StoreDelivery(b_, Bytes(16, 1), from_, 1000, Bytes(40, 7)).ok());
  ASSERT_TRUE(store().db().Exec("DROP TRIGGER mailbox_usage_insert; DROP TRIGGER mailbox_usage_delete;"
                                "DROP TRIGGER mailbox_usage_update; DROP TABLE mailbox_usage;"
                                "PRAGMA user_version = 5").ok());
  store_.reset();
  auto reopened = RelayStore::Open(data_, AsBytes("relay pass"));
  ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
  store_.emplace(std::move(reopened).value());
  ExpectConsistent(a_, 500);
  ExpectConsistent(b_, 40);
}

}  // namespace
}  // namespace vigil::relay
