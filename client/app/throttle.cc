#include "client/app/throttle.h"

#include <algorithm>

namespace vigil::app {

int64_t Throttle::WaitMs(int64_t now_ms) const {
  if (failures_ < free_failures_ || delays_ms_.empty()) return 0;
  size_t i = std::min(static_cast<size_t>(failures_ - free_failures_), delays_ms_.size() - 1);
  int64_t until = last_failure_ms_ + delays_ms_[i];
  return until > now_ms ? until - now_ms : 0;
}

void Throttle::Failed(int64_t now_ms) {
  ++failures_;
  last_failure_ms_ = now_ms;
}

}  // namespace vigil::app
