// vigil app: serves the interface on 127.0.0.1 (docs/APP.md). Parses flags,
// wires Service, Api and Server together, prints the URL, opens a browser,
// and stops cleanly on SIGINT/SIGTERM.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <iostream>
#include <thread>

#include "client/app/api.h"
#include "client/app/server.h"
#include "client/app/service.h"
#include "client/cli/commands.h"

extern char** environ;

namespace vigil::cli_client {
namespace {

StatusOr<int64_t> Number(const cli::Args& args, const char* flag, int64_t lo, int64_t hi) {
  auto v = args.Get(flag);
  if (!v) return int64_t{-1};
  char* end = nullptr;
  long long n = std::strtoll(v->c_str(), &end, 10);
  if (v->empty() || *end != '\0' || n < lo || n > hi) {
    return Status::InvalidArgument(std::string("--") + flag + " takes a number from " + std::to_string(lo) +
                                   " to " + std::to_string(hi));
  }
  return static_cast<int64_t>(n);
}

// Opens the URL in the desktop's browser without putting the token on a
// command line (other local users can read those): a 0600 redirect file in
// a private directory is opened instead, and removed a little later.
// Returns the file to remove ("" if none). Failure is not fatal.
std::string OpenBrowser(const crypto::SecretBytes& url, const std::string& home) {
  std::string dir;
  if (const char* x = std::getenv("XDG_RUNTIME_DIR")) dir = x;
  struct stat sb;
  if (dir.empty() || stat(dir.c_str(), &sb) != 0) dir = home;
  if (stat(dir.c_str(), &sb) != 0 || (sb.st_mode & 077) != 0) {
    std::cerr << "vigil: open the address above in your browser" << std::endl;
    return "";
  }
  std::string file = dir + "/vigil-app-open.html";
  unlink(file.c_str());
  int fd = open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    std::cerr << "vigil: open the address above in your browser" << std::endl;
    return "";
  }
  std::string u(reinterpret_cast<const char*>(url.data()), url.size());
  std::string html = "<!doctype html><meta charset=utf-8><meta name=referrer content=no-referrer>"
                     "<meta http-equiv=refresh content=\"0;url=" + u + "\"><title>Vigil</title>\n";
  bool ok = write(fd, html.data(), html.size()) == static_cast<ssize_t>(html.size());
  close(fd);
  crypto::Wipe(u);
  crypto::Wipe(html);
  if (!ok) {
    unlink(file.c_str());
    return "";
  }
  std::string arg = "file://" + file;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  char* argv[] = {const_cast<char*>("xdg-open"), arg.data(), nullptr};
  pid_t pid = -1;
  int rc = posix_spawnp(&pid, "xdg-open", &fa, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) std::cerr << "vigil: could not start xdg-open; open the address above in your browser" << std::endl;
  return file;
}

}  // namespace

int CmdApp(const Context& ctx, const ArgList& argv) {
  auto args = cli::Args::Parse(argv, {"home", "port", "idle-minutes", "idle-seconds", "sync-seconds"},
                               {"no-browser"});
  if (!args.ok()) return Fail(args.status());
  if (!args->positional().empty()) {
    return Fail(Status::InvalidArgument(
        "usage: vigil app [--home DIR] [--port N] [--no-browser] [--idle-minutes M]"));
  }
  auto port = Number(*args, "port", 1, 65535);
  auto idle_min = Number(*args, "idle-minutes", 1, 720);
  auto idle_s = Number(*args, "idle-seconds", 1, 720 * 60);
  auto sync_s = Number(*args, "sync-seconds", 1, 3600);
  for (const auto* s : {&port, &idle_min, &idle_s, &sync_s}) {
    if (!s->ok()) return Fail(s->status());
  }
  app::ServiceOptions opts;
  opts.home = args->Get("home").value_or(ctx.home);
  if (*sync_s > 0) opts.sync_interval_ms = *sync_s * 1000;
  int64_t idle_override = *idle_s > 0 ? *idle_s * 1000 : (*idle_min > 0 ? *idle_min * 60000 : 0);

  // SIGINT/SIGTERM go to the watcher thread only (blocked before any thread starts).
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  app::Service service(opts);
  app::Api api(&service, idle_override);
  app::Server server(&service, &api);
  Status bound = server.Bind(*port > 0 ? static_cast<int>(*port) : 0);
  if (!bound.ok()) return Fail(bound);
  Status started = service.Start();
  if (!started.ok()) return Fail(started);

  crypto::SecretBytes url = server.Url();
  std::fwrite(url.data(), 1, url.size(), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
  std::string open_file;
  if (!args->Has("no-browser")) open_file = OpenBrowser(url, opts.home);
  std::cerr << "vigil: the app is serving on 127.0.0.1:" << server.port() << "; Ctrl-C stops it" << std::endl;

  std::atomic<bool> done{false};
  std::thread watcher([&] {
    timespec tick{0, 200 * 1000 * 1000};
    time_t started_at = std::time(nullptr);
    while (!done.load()) {
      int sig = sigtimedwait(&stop_signals, nullptr, &tick);
      while (waitpid(-1, nullptr, WNOHANG) > 0) {
      }
      if (!open_file.empty() && std::time(nullptr) - started_at > 30) {
        unlink(open_file.c_str());
        open_file.clear();
      }
      if (sig == SIGINT || sig == SIGTERM) {
        std::cerr << "vigil: stopping" << std::endl;
        // Running requests finish (and with them their jobs). Stop() does
        // nothing if Serve() has not started listening yet (a signal right
        // after the URL line), so repeat it until Serve() has returned.
        while (!done.load()) {
          server.Stop();
          std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        break;
      }
    }
  });
  server.Serve();
  done = true;
  watcher.join();
  server.Stop();
  service.Stop();  // the store is closed here, after the last job
  if (!open_file.empty()) unlink(open_file.c_str());
  std::cerr << "vigil: stopped" << std::endl;
  return 0;
}

}  // namespace vigil::cli_client
