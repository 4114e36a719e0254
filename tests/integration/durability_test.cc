// Acknowledged means durable: the relay is killed with SIGKILL at random
// moments while several clients send; after each restart every acknowledged
// envelope is still there, delivered exactly once, and every store passes
// integrity_check. Also: killing a client mid-outbox loses nothing.
#include <signal.h>
#include <sys/resource.h>

#include <gtest/gtest.h>

#include <atomic>
#include <random>
#include <set>
#include <thread>

#include "relay/server/relay_store.h"
#include "team_fixture.h"

namespace vigil {
namespace {

using testing::CommandResult;

class DurabilityTest : public TeamTest {};

TEST_F(DurabilityTest, EveryAcknowledgedSendSurvivesRepeatedSigkill) {
  auto cora = Member("coordinator", "Cora", "cora pass");
  std::vector<std::unique_ptr<testing::ClientFixture>> senders;
  for (int i = 0; i < 3; ++i) senders.push_back(Member("volunteer", "V" + std::to_string(i), "v pass"));

  std::mutex mu;
  std::set<std::string> acked;  // message ids the relay acknowledged
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  for (int i = 0; i < 3; ++i) {
    threads.emplace_back([&, i] {
      auto cl = OpenInProcess(*senders[i]);
      if (!cl) return;
      cl->set_timeout_ms(1000);
      int n = 0;
      while (!stop.load()) {
        auto r = cl->SendText("Cora", "s" + std::to_string(i) + "-" + std::to_string(n++));
        if (r.ok() && r->delivered) {
          std::lock_guard<std::mutex> lock(mu);
          acked.insert(r->message_id);
        }
      }
    });
  }
  std::mt19937 rng(12345);
  const int kKills = 50;
  for (int k = 0; k < kKills; ++k) {
    size_t before = 0;
    {
      std::lock_guard<std::mutex> lock(mu);
      before = acked.size();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20 + rng() % 120));
    // On a loaded machine a restarted relay may not have finished one send
    // by then: wait (a bounded time) for one more acknowledgement, so that
    // every kill lands on a relay in the middle of real work.
    for (int wait = 0; wait < 250; ++wait) {
      {
        std::lock_guard<std::mutex> lock(mu);
        if (acked.size() > before) break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    relay_->Kill();
    Status s = relay_->Restart();
    ASSERT_TRUE(s.ok()) << "restart " << k << ": " << s.ToString();
  }
  stop = true;
  for (auto& t : threads) t.join();
  ASSERT_GT(acked.size(), 20u) << "the load should have made progress";

  // Drain everything to Cora and check: every acknowledged id arrived, once.
  for (int i = 0; i < 3; ++i) ASSERT_EQ(senders[i]->Run({"sync"}).exit_code, 0);  // flush leftovers
  ASSERT_EQ(cora->Run({"sync"}).exit_code, 0);
  auto cl = OpenInProcess(*cora);
  auto inbox = cl->Inbox();
  ASSERT_TRUE(inbox.ok());
  std::multiset<std::string> got;
  for (const auto& m : *inbox) got.insert(m.id);
  for (const auto& id : acked) EXPECT_EQ(got.count(id), 1u) << "acknowledged " << id;
  for (const auto& id : got) EXPECT_EQ(got.count(id), 1u) << "duplicate " << id;
  cl.reset();

  ASSERT_TRUE(relay_->Stop().ok());
  auto store = relay::RelayStore::Open(relay_->data_dir(), AsBytes(testing::RelayFixture::kPassphrase));
  ASSERT_TRUE(store.ok());
  EXPECT_TRUE(store->db().IntegrityCheck().ok());
  for (auto* m : {cora.get(), senders[0].get(), senders[1].get(), senders[2].get()}) {
    auto db = storage::OpenStore(m->home(), "device", AsBytes(m->passphrase()));
    ASSERT_TRUE(db.ok());
    EXPECT_TRUE(db->IntegrityCheck().ok()) << m->home();
  }
}

TEST_F(DurabilityTest, AClientKilledMidOutboxLosesNothing) {
  auto cora = Member("coordinator", "Cora", "cora pass");
  auto vic = Member("volunteer", "Vic", "vic pass");
  // Queue notes with the relay down, then kill `vigil sync` as it delivers.
  ASSERT_EQ(vic->Run({"send", "--to", "Cora", "--text", "warm-up"}).exit_code, 0);
  ASSERT_TRUE(relay_->Stop().ok());
  for (int i = 0; i < 8; ++i) {
    ASSERT_EQ(vic->Run({"send", "--to", "Cora", "--text", "queued-" + std::to_string(i)}).exit_code, 0);
  }
  ASSERT_TRUE(relay_->Restart().ok());
  for (int attempt = 0; attempt < 5; ++attempt) {
    testing::BackgroundProcess sync({testing::BinPath("vigil"), "--home", vic->home(), "sync"},
                                    {{"VIGIL_PASSPHRASE", vic->passphrase()}}, dir_.path());
    std::this_thread::sleep_for(std::chrono::milliseconds(80 + 40 * attempt));
    sync.Signal(SIGKILL);
    sync.Wait(5000).status().IgnoreError();
  }
  ASSERT_EQ(vic->Run({"sync"}).exit_code, 0);
  ASSERT_EQ(cora->Run({"sync"}).exit_code, 0);
  CommandResult r = cora->Run({"inbox", "--json"});
  for (int i = 0; i < 8; ++i) {
    std::string text = "\"queued-" + std::to_string(i) + "\"";
    EXPECT_EQ(testing::CountOccurrences(r.out, text), 1u) << text;
  }
  auto db = storage::OpenStore(vic->home(), "device", AsBytes(vic->passphrase()));
  ASSERT_TRUE(db.ok());
  EXPECT_TRUE(db->IntegrityCheck().ok());
}

TEST_F(DurabilityTest, CoreDumpsAreDisabledAndNoPlainSqliteIsLoaded) {
  // The running relay refuses core dumps (RLIMIT_CORE 0).
  std::string limits = testing::ReadFile("/proc/" + std::to_string(relay_->process()->pid()) + "/limits");
  size_t pos = limits.find("Max core file size");
  ASSERT_NE(pos, std::string::npos);
  std::string line = limits.substr(pos, limits.find('\n', pos) - pos);
  EXPECT_NE(line.find(" 0 "), std::string::npos) << line;
  // Neither binary links libsqlite3 beside libsqlcipher (228 clashing symbols).
  for (const char* bin : {"vigil", "vigil-relay"}) {
    CommandResult r = testing::RunCommand({"/usr/bin/ldd", testing::BinPath(bin)});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out.find("libsqlite3"), std::string::npos) << bin << ":\n" << r.out;
    EXPECT_NE(r.out.find("libsqlcipher"), std::string::npos) << bin;
  }
  std::string maps = testing::ReadFile("/proc/" + std::to_string(relay_->process()->pid()) + "/maps");
  EXPECT_EQ(maps.find("libsqlite3"), std::string::npos);
}

}  // namespace
}  // namespace vigil
