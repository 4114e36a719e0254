// Operations: relay status, backup under load and restore, rekey (also after
// a crash mid-way), purge, export-state; client status, passphrase, backup.
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <thread>

#include "relay/server/relay_store.h"
#include "team_fixture.h"
#include "vigil/storage.h"

namespace vigil {
namespace {

using testing::CommandResult;
using testing::CountOccurrences;

class OperationsTest : public TeamTest {};

TEST_F(OperationsTest, RelayStatusReportsHealth) {
  auto cora = Member("coordinator", "Cora", "cora pass");
  auto vic = Member("volunteer", "Vic", "vic pass");
  ASSERT_EQ(vic->Run({"send", "--to", "Cora", "--text", "hello"}).exit_code, 0);
  // Let the relay publish its figures.
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  CommandResult r = relay_->Relay({"status", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("\"running\": true"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"members\": 2"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"items\": 1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"free_disk_bytes\""), std::string::npos);
  EXPECT_EQ(r.out.find("\"connected_devices\": 0"), std::string::npos) << r.out;
  ASSERT_TRUE(relay_->Stop().ok());
  r = relay_->Relay({"status", "--json"});
  EXPECT_NE(r.out.find("\"running\": false"), std::string::npos) << r.out;
}

TEST_F(OperationsTest, BackupUnderLoadRestoresWithNothingMissing) {
  auto cora = Member("coordinator", "Cora", "cora pass");
  auto vic = Member("volunteer", "Vic", "vic pass");
  auto vic_client = OpenInProcess(*vic);
  ASSERT_TRUE(vic_client);
  std::vector<std::string> acked;
  for (int i = 0; i < 10; ++i) {
    auto r = vic_client->SendText("Cora", "before " + std::to_string(i));
    ASSERT_TRUE(r.ok() && r->delivered);
    acked.push_back(r->message_id);
  }
  std::atomic<bool> stop{false};
  std::atomic<int> during{0};
  std::thread load([&] {
    while (!stop.load()) {
      auto r = vic_client->SendText("Cora", "during");
      if (r.ok() && r->delivered) ++during;
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  std::string out = dir_.Sub("relay-backup.db");
  CommandResult r = relay_->Relay({"backup", "--out", out});
  stop = true;
  load.join();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_GT(during.load(), 0);
  // The backup opens only with the relay's passphrase, passes integrity_check
  // and holds every message acknowledged before it started.
  std::string restored = dir_.Sub("restored");
  r = testing::RunCommand({testing::BinPath("vigil-relay"), "restore", "--data", restored, "--from", out},
                          {{"VIGIL_RELAY_PASSPHRASE", "wrong"}});
  EXPECT_NE(r.exit_code, 0);
  r = testing::RunCommand({testing::BinPath("vigil-relay"), "restore", "--data", restored, "--from", out},
                          {{"VIGIL_RELAY_PASSPHRASE", testing::RelayFixture::kPassphrase}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto store = relay::RelayStore::Open(restored, AsBytes(testing::RelayFixture::kPassphrase));
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_TRUE(store->db().IntegrityCheck().ok());
  for (const auto& id : acked) {
    auto st = store->db().Prepare("SELECT count(*) FROM mailbox WHERE message_id = ?");
    st->BindBlob(1, *HexDecode(id));
    ASSERT_TRUE(*st->Step());
    EXPECT_EQ(st->ColumnInt64(0), 1) << id;
  }
  // Restoring over a running relay is refused.
  r = relay_->Relay({"restore", "--from", out});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("stop it before restoring"), std::string::npos) << r.err;
}

TEST_F(OperationsTest, RekeyIsAtomicEvenAfterACrashMidway) {
  ASSERT_TRUE(relay_->Stop().ok());
  std::string header = relay_->data_dir() + "/relay.key";
  auto opens = [&](const char* pass) {
    return relay::RelayStore::Open(relay_->data_dir(), AsBytes(pass)).ok();
  };
  // A crash after the new header was written to its temporary file but
  // before the rename: the store still opens with the old passphrase only.
  ASSERT_TRUE(storage::CreateKeyHeader(header + ".tmp", AsBytes("new pass")).ok());
  EXPECT_TRUE(opens(testing::RelayFixture::kPassphrase));
  EXPECT_FALSE(opens("new pass"));
  CommandResult r = testing::RunCommand(
      {testing::BinPath("vigil-relay"), "rekey", "--data", relay_->data_dir()},
      {{"VIGIL_RELAY_PASSPHRASE", testing::RelayFixture::kPassphrase},
       {"VIGIL_RELAY_NEW_PASSPHRASE", "new pass"}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(opens(testing::RelayFixture::kPassphrase));
  EXPECT_TRUE(opens("new pass"));
  r = testing::RunCommand({testing::BinPath("vigil-relay"), "members", "--data", relay_->data_dir()},
                          {{"VIGIL_RELAY_PASSPHRASE", "new pass"}});
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST_F(OperationsTest, PurgeAppliesRetentionNow) {
  auto cora = Member("coordinator", "Cora", "cora pass");
  auto vic = Member("volunteer", "Vic", "vic pass");
  ASSERT_EQ(vic->Run({"send", "--to", "Cora", "--text", "old news"}).exit_code, 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  CommandResult r = relay_->Relay({"purge", "--older-than", "1s"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("purged 1"), std::string::npos) << r.out;
  ASSERT_EQ(cora->Run({"sync"}).exit_code, 0);
  EXPECT_EQ(cora->Run({"inbox", "--json"}).out.find("old news"), std::string::npos);
}

TEST_F(OperationsTest, ExportStateShowsWhatTheRelayHoldsAndNoContent) {
  auto cora = Member("coordinator", "Cora", "cora pass");
  auto vic = Member("volunteer", "Vic", "vic pass");
  CommandResult r = cora->Run({"visit", "assign", "--volunteer", "Vic", "--detainee", "D. Example",
                               "--facility", "Theo Lacy Facility", "--at", "2026-12-01T10:00-08:00"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string visit = r.out.substr(0, r.out.find('\n'));
  ASSERT_EQ(vic->Run({"send", "--to", "Cora", "--text", "message text canary"}).exit_code, 0);
  ASSERT_EQ(vic->Run({"sync"}).exit_code, 0);
  r = vic->Run({"note", "add", "--visit", visit, "--text", "note text canary"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = relay_->Relay({"export-state"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* want : {"\"members\"", "\"Cora\"", "\"Vic\"", "\"mailboxes\"", "\"audit\"",
                           "\"invites\"", "\"fingerprint\""}) {
    EXPECT_NE(r.out.find(want), std::string::npos) << want;
  }
  for (const char* secret : {"D. Example", "Theo Lacy", "message text canary", "note text canary",
                             "vigil-invite-1."}) {
    EXPECT_EQ(r.out.find(secret), std::string::npos) << secret;
  }
}

TEST_F(OperationsTest, ClientStatusPassphraseBackupAndRestore) {
  auto cora = Member("coordinator", "Cora", "cora pass");
  auto vic = Member("volunteer", "Vic", "vic pass");
  ASSERT_EQ(vic->Run({"send", "--to", "Cora", "--text", "keep me"}).exit_code, 0);
  ASSERT_EQ(cora->Run({"sync"}).exit_code, 0);
  CommandResult r = cora->Run({"status", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("\"relay_reachable\": true"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(relay_->fingerprint()), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"outbox\": 0"), std::string::npos) << r.out;

  // Backup, then restore into a fresh home: the message is there.
  std::string out = dir_.Sub("cora-backup.db");
  r = cora->Run({"backup", "--out", out});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(CountOccurrences(testing::ReadFile(out), "keep me"), 0u);
  testing::ClientFixture again(dir_, "cora-restored", "cora pass");
  r = again.Run({"restore", "--from", out});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(again.Run({"inbox", "--json"}).out.find("keep me"), std::string::npos);

  // Passphrase change: the old one stops working.
  r = cora->RunWithEnv({"passphrase"}, {{"VIGIL_PASSPHRASE", "cora pass"},
                                        {"VIGIL_NEW_PASSPHRASE", "cora new pass"}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(cora->Run({"inbox"}).exit_code, 0);
  r = cora->RunWithEnv({"inbox", "--json"}, {{"VIGIL_PASSPHRASE", "cora new pass"}});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("keep me"), std::string::npos);

  // Relay down: status says so in its exit code.
  ASSERT_TRUE(relay_->Stop().ok());
  r = vic->Run({"status", "--json"});
  EXPECT_EQ(r.exit_code, 4) << r.out;
  EXPECT_NE(r.out.find("\"relay_reachable\": false"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace vigil

namespace vigil {
namespace {

class LimitsTest : public ::testing::Test {
 protected:
  void StartRelay(std::vector<std::string> serve_args) {
    ASSERT_TRUE(crypto::InitCrypto().ok());
    relay_ = std::make_unique<testing::RelayFixture>(dir_);
    relay_->set_serve_args(std::move(serve_args));
    ASSERT_TRUE(relay_->Start().ok());
  }
  std::unique_ptr<testing::ClientFixture> Member(const std::string& role, const std::string& name) {
    auto c = std::make_unique<testing::ClientFixture>(dir_, name, name + " pass");
    std::string invite = relay_->Invite(role, name);
    EXPECT_EQ(c->Run({"init"}).exit_code, 0);
    EXPECT_EQ(c->Run({"join", invite}).exit_code, 0);
    return c;
  }
  testing::TempDir dir_;
  std::unique_ptr<testing::RelayFixture> relay_;
};

TEST_F(LimitsTest, AFullMailboxRefusesNewMailUntilItDrains) {
  StartRelay({"--mailbox-quota-mb", "1"});
  auto cora = Member("coordinator", "Cora");
  auto vic = Member("volunteer", "Vic");
  std::string big = "MSG-START" + std::string(600 * 1024, 'x');
  std::string path = dir_.Sub("big.txt");
  ASSERT_TRUE(testing::WriteFile(path, big));
  ASSERT_EQ(vic->Run({"send", "--to", "Cora", "--file", path}).exit_code, 0);
  CommandResult r = vic->Run({"send", "--to", "Cora", "--file", path});
  EXPECT_NE(r.err.find("queued"), std::string::npos) << "refused sends stay in the outbox: " << r.err;
  r = vic->Run({"sync"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("is full"), std::string::npos) << r.err;
  ASSERT_EQ(cora->Run({"sync"}).exit_code, 0);  // drains
  ASSERT_EQ(vic->Run({"sync"}).exit_code, 0);   // the queued one goes now
  ASSERT_EQ(cora->Run({"sync"}).exit_code, 0);
  EXPECT_EQ(CountOccurrences(cora->Run({"inbox", "--json"}).out, "MSG-START"), 2u);
}

TEST_F(LimitsTest, BelowTheFreeDiskFloorSendsAreRefusedAndFetchStillWorks) {
  StartRelay({"--min-free-disk-mb", "1099511627776"});
  auto cora = Member("coordinator", "Cora");
  auto vic = Member("volunteer", "Vic");
  CommandResult r = vic->Run({"send", "--to", "Cora", "--text", "hello"});
  EXPECT_NE(r.err.find("queued"), std::string::npos) << r.err;
  r = vic->Run({"sync"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("disk is nearly full"), std::string::npos) << r.err;
  r = cora->Run({"sync"});
  EXPECT_EQ(r.exit_code, 0) << "fetch and ack keep working: " << r.err;
  r = vic->Run({"status", "--json"});
  EXPECT_NE(r.out.find("\"outbox\": 1"), std::string::npos) << "nothing is lost: " << r.out;
}

TEST_F(LimitsTest, ARequestFloodIsRateLimitedAndTheRelayKeepsServing) {
  StartRelay({"--rate-limit", "5"});
  auto cora = Member("coordinator", "Cora");
  auto cl = client::Client::Open(cora->home(), AsBytes(cora->passphrase()));
  ASSERT_TRUE(cl.ok());
  auto t = (*cl)->Transport();
  cl->reset();
  net::Context ctx;
  auto conn = net::ClientConnection::Connect(ctx, t->endpoint, t->relay_public, t->transport_public,
                                             t->transport_secret);
  ASSERT_TRUE(conn.ok());
  int refused = 0;
  for (int i = 0; i < 40; ++i) {
    wire::v1::Request ping;
    ping.mutable_ping();
    auto r = (*conn)->Call(ping, 5000);
    if (!r.ok() && r.status().code() == Code::kResourceExhausted) ++refused;
  }
  EXPECT_GT(refused, 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  EXPECT_EQ(cora->Run({"status"}).exit_code, 0) << "served again after slowing down";
}

}  // namespace
}  // namespace vigil

namespace vigil {
namespace {

class RotationTest : public TeamTest {};

TEST_F(RotationTest, PinnedClientsMoveToAnAnnouncedTransportKeyWithoutReEnrolling) {
  auto cora = Member("coordinator", "Cora", "cora pass");
  auto vic = Member("volunteer", "Vic", "vic pass");
  std::string old_fp = relay_->fingerprint();
  CommandResult r = relay_->Relay({"rotate-transport-key"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string new_fp = r.out.substr(0, r.out.find('\n'));
  ASSERT_NE(new_fp, old_fp);
  // Both learn the signed announcement at their next sync.
  ASSERT_EQ(cora->Run({"sync"}).exit_code, 0);
  ASSERT_EQ(vic->Run({"sync"}).exit_code, 0);
  ASSERT_TRUE(relay_->Stop().ok());
  r = relay_->Relay({"rotate-transport-key", "--commit"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_TRUE(relay_->Restart().ok());
  // Vic sends with the new key; Cora receives; both now pin the new key.
  r = vic->Run({"send", "--to", "Cora", "--text", "after rotation"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err.find("queued"), std::string::npos) << r.err;
  ASSERT_EQ(cora->Run({"sync"}).exit_code, 0);
  EXPECT_NE(cora->Run({"inbox", "--json"}).out.find("after rotation"), std::string::npos);
  r = cora->Run({"status", "--json"});
  EXPECT_NE(r.out.find(new_fp), std::string::npos) << r.out;
}

TEST_F(RotationTest, AnUnsignedKeyAnnouncementIsIgnored) {
  auto cora = Member("coordinator", "Cora", "cora pass");
  // Tamper with the stored signature: clients must refuse the announcement.
  ASSERT_EQ(relay_->Relay({"rotate-transport-key"}).exit_code, 0);
  ASSERT_TRUE(relay_->Stop().ok());
  {
    auto store = relay::RelayStore::Open(relay_->data_dir(), AsBytes(testing::RelayFixture::kPassphrase));
    ASSERT_TRUE(store.ok());
    auto st = store->db().Prepare("UPDATE config SET value = ? WHERE key = 'transport_next_signature'");
    st->BindBlob(1, Bytes(64, 7));
    ASSERT_TRUE(st->Run().ok());
  }
  ASSERT_TRUE(relay_->Restart().ok());
  CommandResult r = cora->Run({"sync"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("not signed by the relay key pinned at enrollment"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace vigil

namespace vigil {
namespace {

// Soft open-file limit (from /proc/PID/limits), or -1.
long long SoftOpenFileLimit(pid_t pid) {
  std::string limits = testing::ReadFile("/proc/" + std::to_string(pid) + "/limits");
  size_t pos = limits.find("Max open files");
  if (pos == std::string::npos) return -1;
  return std::atoll(limits.c_str() + pos + std::strlen("Max open files"));
}

TEST_F(LimitsTest, TheOpenFileLimitIsRaisedForTheConnectionsOrTheyAreLowered) {
  if (access("/usr/bin/prlimit", X_OK) != 0) GTEST_SKIP() << "needs /usr/bin/prlimit (util-linux)";
  ASSERT_TRUE(crypto::InitCrypto().ok());
  relay_ = std::make_unique<testing::RelayFixture>(dir_);
  // A soft limit of 256 (below the 2,000 default connections) and room to
  // raise it: raised to 2,000 + 128 spare.
  relay_->set_serve_wrapper({"/usr/bin/prlimit", "--nofile=256:4096", "--"});
  ASSERT_TRUE(relay_->Start().ok());
  EXPECT_EQ(SoftOpenFileLimit(relay_->process()->pid()), 2128);
  EXPECT_EQ(relay_->process()->Stderr().find("max_connections_lowered"), std::string::npos);
  // No room: the connection limit comes down to what fits, and the log says so.
  relay_->set_serve_wrapper({"/usr/bin/prlimit", "--nofile=300:300", "--"});
  ASSERT_TRUE(relay_->Restart().ok());
  EXPECT_TRUE(relay_->process()->WaitForStderr("event=max_connections_lowered", 5000))
      << relay_->process()->Stderr();
  EXPECT_NE(relay_->process()->Stderr().find("max_connections=172"), std::string::npos)
      << relay_->process()->Stderr();
  auto cora = Member("coordinator", "Cora");
  EXPECT_EQ(cora->Run({"sync"}).exit_code, 0);
}

TEST_F(LimitsTest, NewHandshakesAreRefusedAtTheConnectionLimit) {
  StartRelay({"--max-connections", "3"});
  auto cora = Member("coordinator", "Cora");
  auto cl = client::Client::Open(cora->home(), AsBytes(cora->passphrase()));
  ASSERT_TRUE(cl.ok());
  auto t = (*cl)->Transport();
  cl->reset();
  net::Context ctx;
  std::vector<std::unique_ptr<net::ClientConnection>> held;
  for (int i = 0; i < 3; ++i) {
    auto c = net::ClientConnection::Connect(ctx, t->endpoint, t->relay_public, t->transport_public,
                                            t->transport_secret);
    ASSERT_TRUE(c.ok());
    ASSERT_TRUE((*c)->WaitConnected(5000)) << "connection " << i;
    held.push_back(std::move(*c));
  }
  // The relay counts connections as its monitor reports them, a moment after
  // the handshakes: ask until it has (bounded), instead of guessing a delay
  // that a loaded machine overruns.
  auto status_until = [&](int want) {
    CommandResult r;
    for (int i = 0; i < 20; ++i) {
      r = cora->Run({"status", "--json"});
      if (r.exit_code == want) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
    return r;
  };
  CommandResult r = status_until(4);
  EXPECT_EQ(r.exit_code, 4) << "a fourth connection is refused: " << r.out << r.err;
  held.clear();
  r = status_until(0);
  EXPECT_EQ(r.exit_code, 0) << "served again once connections close: " << r.out << r.err;
}

}  // namespace
}  // namespace vigil

namespace vigil {
namespace {

TEST_F(LimitsTest, TheConfigFileSetsLimitsAndRejectsUnknownSettings) {
  std::string conf = dir_.Sub("relay.conf");
  ASSERT_TRUE(testing::WriteFile(conf, "# test\nmailbox_quota_mb = 1   # tiny\nlog_level = debug\n"));
  StartRelay({"--config", conf});
  auto cora = Member("coordinator", "Cora");
  auto vic = Member("volunteer", "Vic");
  std::string big = "MSG-START" + std::string(600 * 1024, 'x');
  std::string path = dir_.Sub("big.txt");
  ASSERT_TRUE(testing::WriteFile(path, big));
  ASSERT_EQ(vic->Run({"send", "--to", "Cora", "--file", path}).exit_code, 0);
  CommandResult r = vic->Run({"send", "--to", "Cora", "--file", path});
  EXPECT_NE(r.err.find("queued"), std::string::npos) << "quota from the file applies: " << r.err;
  EXPECT_NE(relay_->process()->Stderr().find("level=debug"), std::string::npos);

  std::string bad = dir_.Sub("bad.conf");
  ASSERT_TRUE(testing::WriteFile(bad, "retention = 30d\nmailbox_qouta_mb = 5\n"));
  r = testing::RunCommand({testing::BinPath("vigil-relay"), "serve", "--config", bad, "--data",
                           relay_->data_dir()},
                          {{"VIGIL_RELAY_PASSPHRASE", testing::RelayFixture::kPassphrase}});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("bad.conf:2: unknown setting 'mailbox_qouta_mb'"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace vigil
