#include "client/app/changes.h"

#include <chrono>

namespace vigil::app {

const std::set<std::string>& ChangeFeed::Everything() {
  static const std::set<std::string>* all = new std::set<std::string>{
      "visits", "notes", "messages", "members", "devices", "status", "settings", "problems", "state", "drafts"};
  return *all;
}

void ChangeFeed::Changed(const std::set<std::string>& what) {
  if (what.empty()) return;
  std::string data = "{\"what\":[";
  bool first = true;
  for (const auto& w : what) {
    data += (first ? "\"" : ",\"") + w + "\"";
    first = false;
  }
  data += "]}";
  Publish("changed", data, what);
}

void ChangeFeed::Publish(const std::string& type, const std::string& data, const std::set<std::string>& what) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    FeedEvent e;
    e.seq = ++seq_;
    e.type = type;
    e.data = data;
    e.what = what;
    events_.push_back(std::move(e));
    while (events_.size() > kMaxEvents) events_.pop_front();
  }
  cv_.notify_all();
}

uint64_t ChangeFeed::seq() const {
  std::lock_guard<std::mutex> lock(mu_);
  return seq_;
}

FeedUpdate ChangeFeed::Since(uint64_t since, int64_t wait_ms) const {
  std::unique_lock<std::mutex> lock(mu_);
  if (wait_ms > 0) {
    cv_.wait_for(lock, std::chrono::milliseconds(wait_ms), [&] { return seq_ > since || closed_; });
  }
  FeedUpdate u;
  u.seq = seq_;
  u.closed = closed_;
  if (since >= seq_) return u;
  if (events_.empty() || events_.front().seq > since + 1) {
    u.truncated = true;
    u.what = Everything();
  }
  for (const auto& e : events_) {
    if (e.seq <= since) continue;
    u.events.push_back(e);
    u.what.insert(e.what.begin(), e.what.end());
  }
  return u;
}

void ChangeFeed::Close() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
  }
  cv_.notify_all();
}

}  // namespace vigil::app
