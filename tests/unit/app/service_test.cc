// The app's Service: one owner thread runs every job (hammered from several
// threads), lock and idle timeout drop the Client, wrong passphrases slow
// down, Stop refuses new jobs. A fake clock drives the timers.
#include "client/app/service.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "testing/testing.h"
#include "vigil/crypto.h"
#include "vigil/storage.h"

namespace vigil::app {
namespace {

class ServiceTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(crypto::InitCrypto().ok()); }

  std::unique_ptr<Service> Make(int64_t idle_ms = 60000) {
    ServiceOptions o;
    o.home = dir_.Sub("home");
    o.idle_ms = idle_ms;
    o.background_sync = false;
    o.free_failures = 2;
    o.failure_delays_ms = {1000, 4000};
    o.now_ms = [this] { return now_.load(); };
    auto s = std::make_unique<Service>(o);
    EXPECT_TRUE(s->Start().ok());
    return s;
  }

  void InitStore(Service& s) {
    Status result;
    ASSERT_TRUE(s.Run([&](Service& sv) { result = sv.Init(AsBytes(std::string("pass"))); }).ok());
    ASSERT_TRUE(result.ok()) << result.ToString();
  }

  // Waits (on the feed, not the clock) for an event of `type`.
  bool WaitForEvent(Service& s, const std::string& type, uint64_t since) {
    for (int i = 0; i < 50; ++i) {
      FeedUpdate u = s.feed().Since(since, 100);
      for (const auto& e : u.events) {
        if (e.type == type) return true;
      }
      since = u.seq;
      s.Poke();
    }
    return false;
  }

  testing::TempDir dir_;
  std::atomic<int64_t> now_{1000000};
};

TEST_F(ServiceTest, JobsFromManyThreadsRunOneAtATimeOnTheOwnerThread) {
  auto s = Make();
  InitStore(*s);
  constexpr int kThreads = 6, kJobs = 40;
  int counter = 0;  // deliberately not atomic: only the owner thread touches it
  std::thread::id owner;
  std::atomic<int> wrong_thread{0}, failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kJobs; ++i) {
        std::string key = "t" + std::to_string(t) + ":" + std::to_string(i % 5);
        std::string text = "draft " + std::to_string(t) + "/" + std::to_string(i);
        Status ran = s->Run([&](Service& sv) {
          if (owner == std::thread::id()) owner = std::this_thread::get_id();
          if (owner != std::this_thread::get_id()) wrong_thread++;
          ++counter;
          if (!sv.client()->PutDraft(key, text).ok()) failures++;
          auto d = sv.client()->GetDraft(key);
          if (!d.ok() || d->text != text) failures++;
        });
        if (!ran.ok()) failures++;
        s->Touch();
        (void)s->state();
        (void)s->feed().Since(0, 0);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong_thread.load(), 0);
  EXPECT_EQ(failures.load(), 0);
  Status ran = s->Run([&](Service& sv) {
    EXPECT_EQ(counter, kThreads * kJobs);
    auto l = sv.client()->ListDrafts();
    ASSERT_TRUE(l.ok());
    EXPECT_EQ(l->size(), static_cast<size_t>(kThreads * 5));
  });
  EXPECT_TRUE(ran.ok());
}

TEST_F(ServiceTest, LockDropsTheClientAndPublishesLocked) {
  auto s = Make();
  InitStore(*s);
  EXPECT_EQ(s->state(), StoreState::kUnlocked);
  uint64_t seq = s->feed().seq();
  ASSERT_TRUE(s->Run([](Service& sv) { sv.Lock("lock"); }).ok());
  EXPECT_EQ(s->state(), StoreState::kLocked);
  EXPECT_TRUE(WaitForEvent(*s, "locked", seq));
  bool has_client = true;
  ASSERT_TRUE(s->Run([&](Service& sv) { has_client = sv.client() != nullptr; }).ok());
  EXPECT_FALSE(has_client);
  // Unlocking again opens the same store.
  Status st;
  int64_t retry = 0;
  ASSERT_TRUE(s->Run([&](Service& sv) { st = sv.Unlock(AsBytes(std::string("pass")), &retry); }).ok());
  EXPECT_TRUE(st.ok()) << st.ToString();
}

TEST_F(ServiceTest, IdleTimeoutLocksOnlyAfterNoActivity) {
  auto s = Make(/*idle_ms=*/5000);
  InitStore(*s);
  uint64_t seq = s->feed().seq();
  now_ += 4000;
  s->Touch();  // activity resets the timer
  now_ += 4000;
  s->Poke();
  // Not idle for 5 s yet: a job still sees the Client.
  bool has_client = false;
  ASSERT_TRUE(s->Run([&](Service& sv) { has_client = sv.client() != nullptr; }).ok());
  EXPECT_TRUE(has_client);
  now_ += 1500;
  EXPECT_TRUE(WaitForEvent(*s, "locked", seq));
  EXPECT_EQ(s->state(), StoreState::kLocked);
}

TEST_F(ServiceTest, WrongPassphrasesSlowDownWithAGrowingDelay) {
  auto s = Make();
  InitStore(*s);
  ASSERT_TRUE(s->Run([](Service& sv) { sv.Lock("lock"); }).ok());
  auto unlock = [&](const std::string& pass, int64_t* retry) {
    Status st;
    EXPECT_TRUE(s->Run([&](Service& sv) { st = sv.Unlock(AsBytes(pass), retry); }).ok());
    return st;
  };
  int64_t retry = 0;
  for (int i = 0; i < 2; ++i) {
    Status st = unlock("wrong", &retry);
    EXPECT_EQ(st.code(), Code::kUnauthenticated);
    EXPECT_EQ(st.message(), storage::kWrongPassphrase);  // the CLI's words
  }
  EXPECT_EQ(unlock("wrong", &retry).code(), Code::kResourceExhausted);
  EXPECT_EQ(retry, 1000);
  now_ += 1000;
  EXPECT_EQ(unlock("wrong", &retry).code(), Code::kUnauthenticated);  // the third failure
  EXPECT_EQ(unlock("pass", &retry).code(), Code::kResourceExhausted);  // even the right one waits
  EXPECT_EQ(retry, 4000);                                               // and the delay grew
  now_ += 4000;
  EXPECT_TRUE(unlock("pass", &retry).ok());
  EXPECT_EQ(s->state(), StoreState::kUnlocked);
}

TEST_F(ServiceTest, StopFinishesAndRefusesLaterJobs) {
  auto s = Make();
  InitStore(*s);
  s->Stop();
  EXPECT_EQ(s->Run([](Service&) {}).code(), Code::kUnavailable);
  // The store was closed: it opens again in another service.
  auto t = Make();
  Status st;
  int64_t retry = 0;
  ASSERT_TRUE(t->Run([&](Service& sv) { st = sv.Unlock(AsBytes(std::string("pass")), &retry); }).ok());
  EXPECT_TRUE(st.ok()) << st.ToString();
}

TEST_F(ServiceTest, InitRefusesAnExistingStore) {
  auto s = Make();
  InitStore(*s);
  Status st;
  ASSERT_TRUE(s->Run([&](Service& sv) { st = sv.Init(AsBytes(std::string("x"))); }).ok());
  EXPECT_EQ(st.code(), Code::kAlreadyExists);
}

}  // namespace
}  // namespace vigil::app
