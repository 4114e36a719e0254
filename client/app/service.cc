#include "client/app/service.h"

#include <sys/stat.h>

#include <cassert>
#include <chrono>

#include "client/lib/views.h"
#include "vigil/json.h"
#include "vigil/storage.h"

namespace vigil::app {

const char* StoreStateName(StoreState s) {
  switch (s) {
    case StoreState::kNone: return "none";
    case StoreState::kLocked: return "locked";
    case StoreState::kUnlocked: return "unlocked";
  }
  return "none";
}

Service::Service(ServiceOptions options)
    : options_(std::move(options)),
      idle_ms_(options_.idle_ms),
      throttle_(options_.free_failures, options_.failure_delays_ms) {
  if (!options_.now_ms) {
    options_.now_ms = [] {
      return std::chrono::duration_cast<std::chrono::milliseconds>(
                 std::chrono::steady_clock::now().time_since_epoch())
          .count();
    };
  }
  state_ = DiskState();
  last_activity_ms_ = Now();
}

Service::~Service() { Stop(); }

int64_t Service::Now() const { return options_.now_ms(); }

StoreState Service::DiskState() const {
  struct stat sb;
  std::string key = options_.home + "/" + client::kStoreName + ".key";
  return stat(key.c_str(), &sb) == 0 ? StoreState::kLocked : StoreState::kNone;
}

Status Service::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (running_) return Status::FailedPrecondition("the service is running already");
  stopping_ = false;
  running_ = true;
  owner_ = std::thread([this] { Loop(); });
  return Status::Ok();
}

void Service::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!running_ || stopping_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  owner_.join();
  {
    std::lock_guard<std::mutex> lock(mu_);
    running_ = false;
  }
  feed_.Close();
}

Status Service::Run(const std::function<void(Service&)>& job) {
  QueuedJob q{&job};
  std::unique_lock<std::mutex> lock(mu_);
  if (stopping_ || !running_) return Status::Unavailable("the app is shutting down");
  queue_.push_back(&q);
  cv_.notify_all();
  done_cv_.wait(lock, [&] { return q.done; });
  if (q.refused) return Status::Unavailable("the app is shutting down");
  return Status::Ok();
}

void Service::Touch() { last_activity_ms_ = Now(); }

void Service::Poke() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    wake_ = true;
  }
  cv_.notify_all();
}

void Service::set_idle_ms(int64_t ms) {
  idle_ms_ = ms;
  Poke();
}

void Service::Loop() {
  for (;;) {
    QueuedJob* q = nullptr;
    {
      std::unique_lock<std::mutex> lock(mu_);
      // Sleep until a job, a stop, a poke, or the next timer (at most 250 ms,
      // so the idle check and a fake clock are seen promptly).
      int64_t wait = 250;
      if (next_sync_at_ms_ > 0) wait = std::max<int64_t>(0, std::min(wait, next_sync_at_ms_ - Now()));
      cv_.wait_for(lock, std::chrono::milliseconds(wait), [&] { return stopping_ || wake_ || !queue_.empty(); });
      wake_ = false;
      if (stopping_) {
        for (QueuedJob* r : queue_) {
          r->refused = true;
          r->done = true;
        }
        queue_.clear();
        done_cv_.notify_all();
        break;
      }
      if (!queue_.empty()) {
        q = queue_.front();
        queue_.pop_front();
      }
    }
    if (q) {
      (*q->job)(*this);
      {
        std::lock_guard<std::mutex> lock(mu_);
        q->done = true;
      }
      done_cv_.notify_all();
      continue;  // jobs first; timers when the queue is empty
    }
    MaybeIdleLock();
    MaybeSync();
  }
  // Stopping: close the store (the running job, if any, has finished).
  if (client_) {
    client_.reset();
    for (auto& fn : on_lock_) fn();
  }
}

void Service::Opened(std::unique_ptr<client::Client> c) {
  client_ = std::move(c);
  client_->set_timeout_ms(options_.relay_timeout_ms);
  state_ = StoreState::kUnlocked;
  Touch();
  backoff_ms_ = 0;
  next_sync_at_ms_ = options_.background_sync ? Now() : 0;  // sync at once after unlock
  feed_.Changed(ChangeFeed::Everything());
}

Status Service::Init(ByteSpan passphrase) {
  if (client_ || DiskState() != StoreState::kNone) {
    return Status::AlreadyExists("a Vigil device store already exists in " + options_.home);
  }
  auto c = client::Client::Init(options_.home, passphrase);
  if (!c.ok()) return c.status();
  Opened(std::move(c).value());
  return Status::Ok();
}

Status Service::Unlock(ByteSpan passphrase, int64_t* retry_after_ms) {
  *retry_after_ms = 0;
  if (client_) return Status::AlreadyExists("the store is unlocked already");
  if (DiskState() == StoreState::kNone) {
    return Status::FailedPrecondition("there is no Vigil device store in " + options_.home + " yet");
  }
  if (int64_t w = throttle_.WaitMs(Now()); w > 0) {
    *retry_after_ms = w;
    return Status::ResourceExhausted("too many wrong passphrases; wait before trying again");
  }
  auto c = client::Client::Open(options_.home, passphrase);
  if (!c.ok()) {
    if (c.status().code() == Code::kUnauthenticated) throttle_.Failed(Now());
    return c.status();
  }
  throttle_.Succeeded();
  Opened(std::move(c).value());
  return Status::Ok();
}

Status Service::ChangePassphrase(ByteSpan old_pass, ByteSpan new_pass, int64_t* retry_after_ms) {
  *retry_after_ms = 0;
  if (int64_t w = throttle_.WaitMs(Now()); w > 0) {
    *retry_after_ms = w;
    return Status::ResourceExhausted("too many wrong passphrases; wait before trying again");
  }
  Status s = client::Client::ChangePassphrase(options_.home, old_pass, new_pass);
  if (s.code() == Code::kUnauthenticated) throttle_.Failed(Now());
  if (s.ok()) throttle_.Succeeded();
  return s;
}

void Service::Lock(const std::string& reason) {
  if (!client_) return;
  client_.reset();  // closes the store; the Client's SecretBytes wipe the keys
  for (auto& fn : on_lock_) fn();
  state_ = DiskState();
  next_sync_at_ms_ = 0;
  syncing_ = false;
  json::Writer j;
  j.BeginObject().Key("reason").String(reason).EndObject();
  feed_.Publish("locked", j.Take(), {"state"});
}

void Service::Wrote(const std::set<std::string>& what) {
  std::set<std::string> w = what;
  w.insert("status");
  feed_.Changed(w);
  if (!options_.background_sync || !client_) return;
  int64_t soon = Now() + options_.sync_after_write_ms;
  if (next_sync_at_ms_ == 0 || next_sync_at_ms_ > soon) next_sync_at_ms_ = soon;
}

void Service::AddProblem(const std::string& text) {
  for (const auto& p : problems_) {
    if (p.text == text) return;  // already shown
  }
  problems_.push_back(Problem{next_problem_id_++, text, Now()});
  if (problems_.size() > 200) problems_.erase(problems_.begin());
}

void Service::DismissProblems(const std::vector<int64_t>& ids) {
  if (ids.empty()) {
    problems_.clear();
  } else {
    std::erase_if(problems_, [&](const Problem& p) {
      for (int64_t id : ids) {
        if (id == p.id) return true;
      }
      return false;
    });
  }
  feed_.Changed({"problems", "status"});
}

SyncOutcome Service::SyncNow() {
  SyncOutcome out;
  if (!client_) return out;
  auto status = client_->GetStatus(false);
  if (!status.ok() || !status->joined) return out;
  syncing_ = true;
  client_->RetryRelay();  // a long-running program tries the relay afresh each time
  auto r = client_->Sync();
  syncing_ = false;
  out.ran = true;
  if (r.ok()) {
    out.reachable = true;
    out.result = *r;
  } else {
    out.error = r.status().message();
    // Unavailable: the relay did not answer. Anything else came from a relay
    // that answered (or from this device) and is a problem worth showing.
    out.reachable = r.status().code() != Code::kUnavailable;
    if (out.reachable) AddProblem(out.error);
  }
  for (const auto& rej : out.result.rejected) {
    AddProblem("rejected a message from device " + rej.from_device.substr(0, 8) + ": " + rej.reason);
  }
  for (const auto& p : out.result.problems) AddProblem(p);
  last_sync_ = out;
  json::Writer j;
  j.BeginObject();
  client::views::WriteSyncFields(j, out.result);
  j.Key("relay_reachable").Bool(out.reachable);
  if (!out.error.empty()) j.Key("error").String(out.error);
  j.EndObject();
  std::set<std::string> what{"status"};
  if (out.result.received > 0 || !out.result.notices.empty()) {
    what.insert({"visits", "notes", "messages", "members", "devices"});
  }
  if (out.result.sent > 0) what.insert({"messages", "notes", "visits"});
  if (!out.result.rejected.empty() || !out.result.problems.empty() || (!out.error.empty() && out.reachable)) {
    what.insert("problems");
  }
  feed_.Publish("sync", j.Take(), what);
  return out;
}

int64_t Service::next_sync_in_ms() const {
  if (next_sync_at_ms_ == 0) return -1;
  return std::max<int64_t>(0, next_sync_at_ms_ - Now());
}

void Service::MaybeSync() {
  if (!client_ || next_sync_at_ms_ == 0 || Now() < next_sync_at_ms_) return;
  SyncOutcome o = SyncNow();
  if (!o.ran) {
    next_sync_at_ms_ = 0;  // not joined: nothing to sync until a join
    return;
  }
  if (o.reachable) {
    backoff_ms_ = 0;
    next_sync_at_ms_ = Now() + options_.sync_interval_ms;
  } else {
    backoff_ms_ = backoff_ms_ == 0 ? options_.backoff_start_ms
                                   : std::min(backoff_ms_ * 2, options_.sync_interval_ms);
    next_sync_at_ms_ = Now() + backoff_ms_;
  }
}

void Service::MaybeIdleLock() {
  if (!client_) return;
  if (Now() - last_activity_ms_.load() >= idle_ms_.load()) Lock("idle");
}

}  // namespace vigil::app
