#include <signal.h>
#include <sys/resource.h>

#include <atomic>
#include <algorithm>
#include <fstream>
#include <map>
#include <set>
#include <cstdlib>
#include <cstring>

#include "relay/commands/commands.h"
#include "relay/server/server.h"
#include "vigil/log.h"
#include "vigil/plugin.h"

namespace vigil::relay {
namespace {

std::atomic<bool> g_stop{false};

void OnSignal(int) { g_stop.store(true); }

// Descriptors kept free beside the connections: the store and its WAL on
// three connections, plugins, ZeroMQ's own pipes and signalers.
constexpr rlim_t kSpareDescriptors = 128;

// Every connection is a descriptor. Raises the soft open-file limit as far
// as the hard limit allows (the soft default, often 1024, is below the
// default of 2,000 connections); if even that is not enough, lowers
// max_connections to what fits and says so, so that the relay refuses
// handshakes at its own limit instead of failing accept() at the kernel's.
int FitOpenFileLimit(int max_connections) {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return max_connections;
  const rlim_t want = static_cast<rlim_t>(max_connections) + kSpareDescriptors;
  if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want) {
    rlimit raised = rl;
    raised.rlim_cur = rl.rlim_max == RLIM_INFINITY ? want : std::min(want, rl.rlim_max);
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) rl = raised;
  }
  if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= want) return max_connections;
  const int fit = rl.rlim_cur > kSpareDescriptors + 1 ? static_cast<int>(rl.rlim_cur - kSpareDescriptors) : 1;
  log::Warn("max_connections_lowered", {{"max_connections", std::to_string(fit)},
                                        {"open_file_limit", std::to_string(rl.rlim_cur)}});
  return fit;
}

}  // namespace

// Reads `key = value` lines (# comments) and turns them into the equivalent
// flags, placed before the command line's own so that flags win.
StatusOr<ArgList> ConfigAsFlags(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::NotFound("cannot read config file " + path);
  static const std::map<std::string, std::string> kFlags = {
      {"data_dir", "--data"},
      {"retention", "--retention"},
      {"mailbox_quota_mb", "--mailbox-quota-mb"},
      {"rate_limit_per_s", "--rate-limit"},
      {"min_free_disk_mb", "--min-free-disk-mb"},
      {"max_connections", "--max-connections"},
      {"log_level", "--log-level"},
      {"plugin_dir", "--plugin-dir"},
  };
  // Accepted for documentation; set elsewhere (listen: by init; TSAs: by
  // each client with `vigil tsa add`).
  static const std::set<std::string> kLater = {"listen", "tsa"};
  ArgList out;
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    size_t hash = line.find('#');
    if (hash != std::string::npos) line.resize(hash);
    auto trim = [](std::string v) {
      size_t a = v.find_first_not_of(" \t\r"), b = v.find_last_not_of(" \t\r");
      return a == std::string::npos ? std::string() : v.substr(a, b - a + 1);
    };
    line = trim(line);
    if (line.empty()) continue;
    size_t eq = line.find('=');
    if (eq == std::string::npos) {
      return Status::InvalidArgument(path + ":" + std::to_string(n) + ": expected key = value");
    }
    std::string key = trim(line.substr(0, eq)), value = trim(line.substr(eq + 1));
    auto it = kFlags.find(key);
    if (it != kFlags.end()) {
      out.push_back(it->second);
      out.push_back(value);
    } else if (kLater.count(key) == 0) {
      return Status::InvalidArgument(path + ":" + std::to_string(n) + ": unknown setting '" + key + "'");
    } else if (key == "listen") {
      log::Info("config_note", {{"setting", "listen"}, {"note", "the listen address is set by init"}});
    }
  }
  return out;
}

int CmdServe(const ArgList& argv_in) {
  ArgList argv = argv_in;
  for (size_t i = 0; i + 1 < argv_in.size(); ++i) {
    if (argv_in[i] == "--config") {
      auto from_file = ConfigAsFlags(argv_in[i + 1]);
      if (!from_file.ok()) return Fail(from_file.status());
      argv = *from_file;
      for (size_t j = 0; j < argv_in.size(); ++j) {
        if (j == i || j == i + 1) continue;
        argv.push_back(argv_in[j]);
      }
      break;
    }
  }
  auto args = cli::Args::Parse(argv, {"data", "passphrase-file", "log-level", "retention", "mailbox-quota-mb",
                                        "rate-limit", "min-free-disk-mb", "max-connections", "plugin-dir"}, {});
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
  // Timestamp plugins: --plugin-dir, else the directory shipped beside the
  // binary (build/lib/vigil/plugins, or /usr/lib/vigil/plugins when installed).
  opt.plugin_dir = args->Get("plugin-dir").value_or(plugin::DefaultPluginDir());
  if (!opt.plugin_dir.empty() && opt.plugin_dir[0] != '/') {
    return Fail(Status::InvalidArgument("--plugin-dir must be an absolute path"));
  }
  opt.max_connections = FitOpenFileLimit(opt.max_connections);
  Status s = Serve(*store, opt, g_stop);
  if (!s.ok()) {
    log::Error("fatal", {{"error", s.message()}});
    return Fail(s);
  }
  log::Info("stopped");
  return 0;
}

}  // namespace vigil::relay
