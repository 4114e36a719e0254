#include <signal.h>

#include <atomic>
#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "relay/commands/commands.h"
#include "relay/server/server.h"
#include "vigil/log.h"

namespace vigil::relay {
namespace {

std::atomic<bool> g_stop{false};

void OnSignal(int) { g_stop.store(true); }

}  // namespace

int CmdServe(const ArgList& argv) {
  auto args = cli::Args::Parse(argv, {"data", "passphrase-file", "log-level", "retention", "mailbox-quota-mb",
                                        "rate-limit", "min-free-disk-mb", "max-connections"}, {});
  if (!args.ok()) return Fail(args.status());
  if (auto level = args->Get("log-level")) {
    log::Level l;
    if (!log::ParseLevel(*level, &l)) {
      return Fail(Status::InvalidArgument("--log-level must be debug, info, warn or error"));
    }
    log::SetLevel(l);
  }
  auto store = OpenRelayStore(*args);
  if (!store.ok()) return Fail(store.status());

  // Signals only set a flag; the loop finishes the batch in flight (whose
  // responses leave only after its commit) and exits 0.
  struct sigaction sa;
  std::memset(&sa, 0, sizeof sa);
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);

  ServerOptions opt;
  opt.data_dir = *args->Get("data");
  auto number = [&](const char* flag, int64_t lo, int64_t hi, int64_t* out) -> Status {
    auto v = args->Get(flag);
    if (!v) return Status::Ok();
    char* end = nullptr;
    long long n = std::strtoll(v->c_str(), &end, 10);
    if (v->empty() || *end != '\0' || n < lo || n > hi) {
      return Status::InvalidArgument(std::string("--") + flag + " must be a number from " +
                                     std::to_string(lo) + " to " + std::to_string(hi));
    }
    *out = n;
    return Status::Ok();
  };
  int64_t max_conn = opt.max_connections;
  if (Status st = number("max-connections", 1, 1000000, &max_conn); !st.ok()) return Fail(st);
  opt.max_connections = static_cast<int>(max_conn);
  int64_t quota_mb = opt.mailbox_quota_bytes >> 20, rate = static_cast<int64_t>(opt.rate_limit_per_s),
          floor_mb = opt.min_free_disk_bytes >> 20;
  for (Status st : {number("mailbox-quota-mb", 1, 1 << 20, &quota_mb), number("rate-limit", 1, 1000000, &rate),
                    number("min-free-disk-mb", 0, 1LL << 40, &floor_mb)}) {
    if (!st.ok()) return Fail(st);
  }
  opt.mailbox_quota_bytes = quota_mb << 20;
  opt.rate_limit_per_s = static_cast<double>(rate);
  opt.min_free_disk_bytes = floor_mb << 20;
  if (auto r = args->Get("retention")) {
    auto secs = cli::ParseDuration(*r);
    if (!secs.ok() || *secs <= 0) {
      return Fail(Status::InvalidArgument("--retention must be a duration such as 30d or 12h"));
    }
    opt.retention_ms = *secs * 1000;
    opt.purge_interval_ms = std::min<int64_t>(opt.purge_interval_ms, std::max<int64_t>(1000, opt.retention_ms / 4));
  }
  Status s = Serve(*store, opt, g_stop);
  if (!s.ok()) {
    log::Error("fatal", {{"error", s.message()}});
    return Fail(s);
  }
  log::Info("stopped");
  return 0;
}

}  // namespace vigil::relay
