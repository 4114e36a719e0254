// Slows down repeated wrong passphrases: after `free_failures` failures in a
// row, each further attempt must wait delays_ms[i] (the last one repeats)
// since the previous failure. A success resets it.
//
// Thread safety: not thread-safe; the app's owner thread uses it (one per
// Service).
#ifndef VIGIL_CLIENT_APP_THROTTLE_H_
#define VIGIL_CLIENT_APP_THROTTLE_H_

#include <cstdint>
#include <vector>

namespace vigil::app {

class Throttle {
 public:
  Throttle(int free_failures, std::vector<int64_t> delays_ms)
      : free_failures_(free_failures), delays_ms_(std::move(delays_ms)) {}

  // 0 when an attempt may be made at `now_ms`, else how long to wait (ms).
  int64_t WaitMs(int64_t now_ms) const;
  void Failed(int64_t now_ms);
  void Succeeded() { failures_ = 0; }
  int failures() const { return failures_; }

 private:
  int free_failures_;
  std::vector<int64_t> delays_ms_;
  int failures_ = 0;
  int64_t last_failure_ms_ = 0;
};

}  // namespace vigil::app

#endif  // VIGIL_CLIENT_APP_THROTTLE_H_
