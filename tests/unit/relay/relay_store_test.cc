// RelayStore: the per-device byte count behind the mailbox quota follows
// every change to the mailbox, in the same transaction.
#include "relay/server/relay_store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <cstring>

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

  // Counts the statements the store starts whose SQL begins with `prefix`.
  struct StatementCounter {
    StatementCounter(storage::Db& db, const char* prefix) : db_(db), prefix_(prefix) {
      sqlite3_trace_v2(db_.raw(), SQLITE_TRACE_STMT, &StatementCounter::Trace, this);
    }
    ~StatementCounter() { sqlite3_trace_v2(db_.raw(), 0, nullptr, nullptr); }
    // `text` is the statement's SQL, or "-- TRIGGER name" when a trigger
    // starts within it.
    static int Trace(unsigned, void* self, void*, void* text) {
      auto* c = static_cast<StatementCounter*>(self);
      const char* sql = static_cast<const char*>(text);
      if (sql != nullptr && std::strncmp(sql, c->prefix_, std::strlen(c->prefix_)) == 0) ++c->count;
      return 0;
    }
    storage::Db& db_;
    const char* prefix_;
    int count = 0;
  };

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

// Acks delete by ranges of seqs: exactly the acked items of the acking
// device go, whatever lies between them (another device's mail, items not
// acked), in whatever order and with repeats or unknown seqs.
TEST_F(RelayStoreTest, AcksDeleteExactlyTheAckedItemsOfTheDevice) {
  // Mailbox, in seq order: a1 a2 b1 a3 a4 a5 b2 a6 a7 a8 (a's items 100 bytes
  // each and b's 10), so a's items form stretches broken by b's.
  std::vector<std::pair<const Bytes*, int>> order = {{&a_, 1}, {&a_, 2}, {&b_, 1}, {&a_, 3}, {&a_, 4},
                                                     {&a_, 5}, {&b_, 2}, {&a_, 6}, {&a_, 7}, {&a_, 8}};
  for (const auto& [dev, n] : order) {
    auto fresh = store().StoreDelivery(*dev, Bytes(16, static_cast<uint8_t>(n)), from_, 1000,
                                       Bytes(dev == &a_ ? 100 : 10, 7));
    ASSERT_TRUE(fresh.ok() && *fresh);
  }
  std::vector<uint64_t> a = Seqs(a_), b = Seqs(b_);
  ASSERT_EQ(a.size(), 8u);
  ASSERT_EQ(b.size(), 2u);
  auto message_numbers = [&](const Bytes& device) {
    wire::v1::FetchResponse f;
    EXPECT_TRUE(store().Fetch(device, 0, 100, 1 << 20, &f).ok());
    std::vector<int> out;
    for (const auto& it : f.items()) out.push_back(static_cast<uint8_t>(it.message_id()[0]));
    return out;
  };

  // a1, a2, a4, a5 and a7 (a3 and a6 are not acked), given out of order,
  // with a repeat, b's seqs, an unknown seq and one SQLite cannot hold:
  // three stretches of a's mailbox, one DELETE each.
  StatementCounter deletes(store().db(), "DELETE FROM mailbox");
  auto n = store().Ack(a_, {a[4], a[0], b[0], a[1], a[3], a[6], a[0], b[1], a[7] + 1000,
                            UINT64_MAX});
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(*n, 5);
  EXPECT_EQ(deletes.count, 3);
  EXPECT_EQ(message_numbers(a_), (std::vector<int>{3, 6, 8}));
  EXPECT_EQ(message_numbers(b_), (std::vector<int>{1, 2}));
  ExpectConsistent(a_, 300);
  ExpectConsistent(b_, 20);

  // Acking again deletes nothing more; then the rest, in one stretch.
  n = store().Ack(a_, {a[0], a[1]});
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 0);
  // a3, a6 and a8 are all a's mailbox still holds (b2 between them is
  // b's): one stretch, one DELETE.
  deletes.count = 0;
  n = store().Ack(a_, {a[2], a[5], a[7]});
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 3);
  EXPECT_EQ(deletes.count, 1);
  EXPECT_TRUE(message_numbers(a_).empty());
  ExpectConsistent(a_, 0);
  EXPECT_EQ(message_numbers(b_), (std::vector<int>{1, 2}));
  n = store().Ack(b_, {});
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 0);
  n = store().Ack(b_, b);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 2);
  ExpectConsistent(b_, 0);
}

// The range queries behind Ack use the per-device index, so that an ack
// reads only the acking device's entries, never the whole table.
TEST_F(RelayStoreTest, AckRangesUseTheDeviceIndex) {
  for (const char* sql : {"SELECT seq FROM mailbox WHERE device_id = ? AND seq BETWEEN ? AND ? ORDER BY seq",
                          "DELETE FROM mailbox WHERE device_id = ? AND seq BETWEEN ? AND ?"}) {
    auto st = store().db().Prepare(std::string("EXPLAIN QUERY PLAN ") + sql);
    ASSERT_TRUE(st.ok()) << st.status().ToString();
    std::string plan;
    for (;;) {
      auto row = st->Step();
      ASSERT_TRUE(row.ok());
      if (!*row) break;
      plan += st->ColumnText(3) + "\n";
    }
    EXPECT_NE(plan.find("INDEX mailbox_by_device (device_id=? AND seq>? AND seq<?)"), std::string::npos)
        << sql << ":\n" << plan;
  }
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
