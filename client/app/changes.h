// The app's change feed: a counter that grows whenever something the page
// shows may have changed, with what changed, plus named events (sync
// results, lock) for the event stream (GET /api/events) and the long poll
// (GET /api/changes). docs/APP.md, "State and events".
//
// Thread safety: every method may be called from any thread (one mutex;
// waiters sleep on a condition variable). Publishers never block on
// readers: the feed keeps the last kMaxEvents events, and a reader that fell
// further behind is told "everything changed".
#ifndef VIGIL_CLIENT_APP_CHANGES_H_
#define VIGIL_CLIENT_APP_CHANGES_H_

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <set>
#include <string>
#include <vector>

namespace vigil::app {

struct FeedEvent {
  uint64_t seq = 0;
  std::string type;  // "changed" | "sync" | "locked"
  std::string data;  // JSON text
  std::set<std::string> what;  // for "changed"
};

struct FeedUpdate {
  uint64_t seq = 0;               // the feed's counter now
  std::set<std::string> what;     // union of what changed after `since`
  std::vector<FeedEvent> events;  // the events after `since` (may be cut short)
  bool truncated = false;         // `since` was older than the feed remembers
  bool closed = false;            // the feed is shutting down
};

class ChangeFeed {
 public:
  static constexpr size_t kMaxEvents = 256;
  // Everything the page may re-fetch.
  static const std::set<std::string>& Everything();

  ChangeFeed() = default;
  ChangeFeed(const ChangeFeed&) = delete;
  ChangeFeed& operator=(const ChangeFeed&) = delete;

  // A "changed" event for `what` (nothing happens when `what` is empty).
  void Changed(const std::set<std::string>& what);
  // Another named event; `what` (may be empty) also counts as changed.
  void Publish(const std::string& type, const std::string& data, const std::set<std::string>& what = {});

  uint64_t seq() const;
  // What happened after `since`: at once if anything did, else waits up to
  // `wait_ms` (0: does not wait) or until Close().
  FeedUpdate Since(uint64_t since, int64_t wait_ms) const;
  // Wakes every waiter; later Since calls do not wait.
  void Close();

 private:
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  uint64_t seq_ = 0;
  std::deque<FeedEvent> events_;
  bool closed_ = false;
};

}  // namespace vigil::app

#endif  // VIGIL_CLIENT_APP_CHANGES_H_
