// The app's service: owns the device's vigil::client::Client on ONE owner
// thread, runs the jobs HTTP handlers hand it, and syncs in the background.
//
// Threading model (docs/APP.md, "Threading model"):
// - The Client is created, used and destroyed only on the owner thread
//   (Client is single-threaded). Nothing else ever touches it.
// - Run(job) is callable from any thread: it queues `job`, wakes the owner
//   thread, and blocks until the job ran (or the service stopped). Jobs run
//   one at a time, in the order queued, so a job sees the effects of every
//   job before it. A job must not call Run (it would wait for itself).
// - Between jobs the owner thread syncs: once after unlock, every
//   sync_interval_ms, sync_after_write_ms after a local write (Wrote()), and
//   with a growing back-off (backoff_start_ms doubling up to
//   sync_interval_ms) while the relay is unreachable. A background sync is
//   one job like any other; a request waits while it runs.
// - The idle timeout is checked on the owner thread: when no user activity
//   (Touch()) was seen for idle_ms, the store is locked (the Client is
//   destroyed: store closed, keys wiped) and a "locked" event published.
// - feed() is thread-safe on its own (ChangeFeed); state() and the other
//   const accessors read atomics and may be called from any thread.
// - Stop() (any thread but the owner): the running job finishes, queued jobs
//   are refused (Unavailable), the store is closed, the thread joined.
#ifndef VIGIL_CLIENT_APP_SERVICE_H_
#define VIGIL_CLIENT_APP_SERVICE_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "client/app/changes.h"
#include "client/app/throttle.h"
#include "client/lib/client.h"
#include "vigil/bytes.h"
#include "vigil/status.h"

namespace vigil::app {

enum class StoreState { kNone, kLocked, kUnlocked };
const char* StoreStateName(StoreState s);

struct ServiceOptions {
  std::string home;
  int64_t idle_ms = 10 * 60 * 1000;
  int64_t sync_interval_ms = 30 * 1000;
  int64_t backoff_start_ms = 1000;
  int64_t sync_after_write_ms = 500;
  int relay_timeout_ms = 5000;
  bool background_sync = true;
  // Wrong passphrases: this many are free, then each attempt waits the next
  // delay since the last failure (the last delay repeats).
  int free_failures = 2;
  std::vector<int64_t> failure_delays_ms = {1000, 2000, 4000, 8000, 16000, 30000, 60000};
  // Monotonic milliseconds; tests pass a clock they control (and Poke()).
  std::function<int64_t()> now_ms;
};

// A problem found at sync, kept until dismissed.
struct Problem {
  int64_t id = 0;
  std::string text;
  int64_t at_ms = 0;
};

// What the last sync said.
struct SyncOutcome {
  bool ran = false;        // false: not joined (or locked)
  bool reachable = false;  // the relay answered
  client::SyncResult result;
  std::string error;       // why it failed, if it did
};

class Service {
 public:
  explicit Service(ServiceOptions options);
  ~Service();  // Stop()
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;

  // Starts the owner thread.
  Status Start();
  void Stop();

  // Runs `job` on the owner thread and waits for it. Unavailable when the
  // service is stopped or stopping (the job did not run).
  Status Run(const std::function<void(Service&)>& job);

  // --- any thread ---
  ChangeFeed& feed() { return feed_; }
  StoreState state() const { return state_.load(); }
  // User activity: resets the idle timer.
  void Touch();
  // Wakes the owner thread to re-check its timers (tests with a fake clock).
  void Poke();
  int64_t idle_ms() const { return idle_ms_.load(); }
  void set_idle_ms(int64_t ms);
  bool syncing() const { return syncing_.load(); }
  const std::string& home() const { return options_.home; }

  // --- REQUIRES: on the owner thread (inside a job) ---
  // The open Client, or nullptr unless unlocked.
  client::Client* client() { return client_.get(); }
  // Creates the store (AlreadyExists if there is one) and keeps it open.
  Status Init(ByteSpan passphrase);
  // Opens the store. Unauthenticated(kWrongPassphrase) on a wrong one;
  // ResourceExhausted with *retry_after_ms set while slowed down.
  Status Unlock(ByteSpan passphrase, int64_t* retry_after_ms);
  // Re-wraps the store key (counts towards the slow-down like Unlock).
  Status ChangePassphrase(ByteSpan old_pass, ByteSpan new_pass, int64_t* retry_after_ms);
  // Destroys the Client (store closed, keys wiped); publishes "locked".
  void Lock(const std::string& reason);
  // After a local write: tells the page and syncs soon.
  void Wrote(const std::set<std::string>& what);
  // Syncs now (also what the background loop does); publishes the result.
  SyncOutcome SyncNow();
  const SyncOutcome& last_sync() const { return last_sync_; }
  int64_t next_sync_in_ms() const;
  std::vector<Problem> problems() const { return problems_; }
  // Dismisses the given problems (all when empty).
  void DismissProblems(const std::vector<int64_t>& ids);
  // Called when the store is locked (uploads register one to wipe theirs).
  void OnLock(std::function<void()> fn) { on_lock_.push_back(std::move(fn)); }

 private:
  int64_t Now() const;
  void Loop();
  void Opened(std::unique_ptr<client::Client> c);
  StoreState DiskState() const;
  void AddProblem(const std::string& text);
  void MaybeSync();
  void MaybeIdleLock();

  ServiceOptions options_;
  ChangeFeed feed_;
  std::atomic<StoreState> state_{StoreState::kNone};
  std::atomic<int64_t> idle_ms_;
  std::atomic<int64_t> last_activity_ms_{0};
  std::atomic<bool> syncing_{false};

  // Guards queue_, stopping_, running_, wake_ (owner_ is started and joined
  // only by Start and Stop).
  std::mutex mu_;
  std::condition_variable cv_;
  struct QueuedJob {
    const std::function<void(Service&)>* job;
    bool done = false;
    bool refused = false;
  };
  std::deque<QueuedJob*> queue_;
  std::condition_variable done_cv_;
  bool stopping_ = false;
  bool running_ = false;
  bool wake_ = false;
  std::thread owner_;

  // Owner thread only.
  std::unique_ptr<client::Client> client_;
  Throttle throttle_;
  SyncOutcome last_sync_;
  int64_t next_sync_at_ms_ = 0;  // 0: none planned
  int64_t backoff_ms_ = 0;
  std::vector<Problem> problems_;
  int64_t next_problem_id_ = 1;
  std::vector<std::function<void()>> on_lock_;
};

}  // namespace vigil::app

#endif  // VIGIL_CLIENT_APP_SERVICE_H_
