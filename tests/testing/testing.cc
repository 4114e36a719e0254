#include "testing/testing.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

extern char** environ;

namespace vigil::testing {
namespace {

using Clock = std::chrono::steady_clock;

int64_t MsSince(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count();
}

std::vector<std::string> BuildEnv(const Env& extra) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string kv = *e;
    std::string key = kv.substr(0, kv.find('='));
    if (key == "VIGIL_PASSPHRASE" || key == "VIGIL_RELAY_PASSPHRASE") continue;
    if (extra.count(key)) continue;
    env.push_back(kv);
  }
  for (const auto& [k, v] : extra) env.push_back(k + "=" + v);
  return env;
}

int DecodeWait(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

// fork + execve with the given fds for stdin/stdout/stderr.
pid_t Spawn(const std::vector<std::string>& argv, const Env& extra, int in_fd, int out_fd,
            int err_fd) {
  std::vector<std::string> env = BuildEnv(extra);
  std::vector<char*> cargv, cenv;
  for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  for (const auto& e : env) cenv.push_back(const_cast<char*>(e.c_str()));
  cenv.push_back(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(in_fd, 0);
    dup2(out_fd, 1);
    dup2(err_fd, 2);
    for (int fd = 3; fd < 1024; ++fd) close(fd);
    setpgid(0, 0);
    execve(cargv[0], cargv.data(), cenv.data());
    _exit(127);
  }
  return pid;
}

}  // namespace

// --- files and ports ---

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string templ = std::string(base && *base ? base : "/tmp") + "/vigil-test-XXXXXX";
  std::vector<char> buf(templ.begin(), templ.end());
  buf.push_back('\0');
  if (mkdtemp(buf.data()) == nullptr) {
    ADD_FAILURE() << "mkdtemp failed";
  }
  path_ = buf.data();
}

TempDir::~TempDir() {
  if (std::getenv("VIGIL_KEEP_TEST_DIRS") != nullptr) return;
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

Status RaiseOpenFileLimit(uint64_t need) {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return Status::Internal("getrlimit failed");
  if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= need) return Status::Ok();
  if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need) {
    return Status::FailedPrecondition("the hard open-file limit (" + std::to_string(rl.rlim_max) +
                                      ") is below " + std::to_string(need));
  }
  rl.rlim_cur = need;
  if (setrlimit(RLIMIT_NOFILE, &rl) != 0) return Status::Internal("setrlimit failed");
  return Status::Ok();
}

int FreeLoopbackPort() {
  static std::set<int> used;
  for (int attempt = 0; attempt < 100; ++attempt) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    int port = 0;
    if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
      socklen_t len = sizeof addr;
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
      port = ntohs(addr.sin_port);
    }
    close(fd);
    if (port != 0 && used.insert(port).second) return port;
  }
  ADD_FAILURE() << "no free loopback port";
  return 0;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::string();
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool WriteFile(const std::string& path, std::string_view data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
  return static_cast<bool>(out);
}

size_t CountOccurrences(std::string_view haystack, std::string_view needle) {
  if (needle.empty()) return 0;
  size_t n = 0;
  for (size_t pos = haystack.find(needle); pos != std::string_view::npos;
       pos = haystack.find(needle, pos + 1)) {
    ++n;
  }
  return n;
}

std::string BinPath(std::string_view name) { return std::string(VIGIL_BIN_DIR) + "/" + std::string(name); }

// --- RunCommand ---

CommandResult RunCommand(const std::vector<std::string>& argv, const Env& extra_env,
                         const std::string& stdin_data, int timeout_ms) {
  CommandResult r;
  int in_p[2], out_p[2], err_p[2];
  if (pipe2(in_p, O_CLOEXEC) != 0 || pipe2(out_p, O_CLOEXEC) != 0 || pipe2(err_p, O_CLOEXEC) != 0) {
    r.err = "pipe failed";
    return r;
  }
  pid_t pid = Spawn(argv, extra_env, in_p[0], out_p[1], err_p[1]);
  close(in_p[0]);
  close(out_p[1]);
  close(err_p[1]);
  // Feed stdin (small inputs; then close so the child sees EOF).
  size_t written = 0;
  fcntl(in_p[1], F_SETFL, O_NONBLOCK);
  int in_fd = in_p[1];
  if (stdin_data.empty()) {
    close(in_fd);
    in_fd = -1;
  }
  int fds_open = 2;
  auto start = Clock::now();
  bool timed_out = false;
  std::string* sinks[2] = {&r.out, &r.err};
  int fds[2] = {out_p[0], err_p[0]};
  while (fds_open > 0) {
    pollfd pfd[3];
    int n = 0;
    int map[3];
    for (int i = 0; i < 2; ++i) {
      if (fds[i] >= 0) {
        pfd[n] = {fds[i], POLLIN, 0};
        map[n++] = i;
      }
    }
    if (in_fd >= 0) {
      pfd[n] = {in_fd, POLLOUT, 0};
      map[n++] = 2;
    }
    int left = timeout_ms - static_cast<int>(MsSince(start));
    if (left <= 0) {
      timed_out = true;
      break;
    }
    if (poll(pfd, n, std::min(left, 200)) < 0 && errno != EINTR) break;
    for (int i = 0; i < n; ++i) {
      if (pfd[i].revents == 0) continue;
      if (map[i] == 2) {
        ssize_t w = write(in_fd, stdin_data.data() + written, stdin_data.size() - written);
        if (w > 0) written += static_cast<size_t>(w);
        if (w < 0 || written == stdin_data.size()) {
          close(in_fd);
          in_fd = -1;
        }
        continue;
      }
      char buf[65536];
      ssize_t got = read(pfd[i].fd, buf, sizeof buf);
      if (got > 0) {
        sinks[map[i]]->append(buf, static_cast<size_t>(got));
      } else {
        close(fds[map[i]]);
        fds[map[i]] = -1;
        --fds_open;
      }
    }
  }
  if (in_fd >= 0) close(in_fd);
  for (int fd : fds) {
    if (fd >= 0) close(fd);
  }
  if (timed_out) {
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    r.exit_code = -1;
    r.err += "timeout";
    return r;
  }
  int status = 0;
  waitpid(pid, &status, 0);
  r.exit_code = DecodeWait(status);
  return r;
}

// --- BackgroundProcess ---

BackgroundProcess::BackgroundProcess(const std::vector<std::string>& argv, const Env& extra_env,
                                     const std::string& log_dir) {
  static int counter = 0;
  std::string base = log_dir + "/proc-" + std::to_string(getpid()) + "-" + std::to_string(++counter);
  out_path_ = base + ".out";
  err_path_ = base + ".err";
  int in_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  int out_fd = open(out_path_.c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0600);
  int err_fd = open(err_path_.c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0600);
  pid_ = Spawn(argv, extra_env, in_fd, out_fd, err_fd);
  close(in_fd);
  close(out_fd);
  close(err_fd);
}

BackgroundProcess::~BackgroundProcess() {
  if (pid_ > 0 && !reaped_) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
}

bool BackgroundProcess::running() {
  if (reaped_) return false;
  int status = 0;
  pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    reaped_ = true;
    exit_code_ = DecodeWait(status);
    return false;
  }
  return true;
}

bool BackgroundProcess::WaitForStderr(std::string_view needle, int timeout_ms) {
  auto start = Clock::now();
  while (MsSince(start) < timeout_ms) {
    if (Stderr().find(needle) != std::string::npos) return true;
    if (!running()) return Stderr().find(needle) != std::string::npos;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

int BackgroundProcess::Signal(int sig) { return reaped_ ? -1 : kill(pid_, sig); }

StatusOr<int> BackgroundProcess::Wait(int timeout_ms) {
  auto start = Clock::now();
  while (running()) {
    if (MsSince(start) > timeout_ms) return Status::DeadlineExceeded("process did not exit");
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return exit_code_;
}

std::string BackgroundProcess::Stderr() const { return ReadFile(err_path_); }
std::string BackgroundProcess::Stdout() const { return ReadFile(out_path_); }

// --- RelayFixture ---

RelayFixture::RelayFixture(const TempDir& dir) : dir_(dir), relay_binary_(BinPath("vigil-relay")) {}
RelayFixture::~RelayFixture() = default;

CommandResult RelayFixture::Relay(const std::vector<std::string>& args) const {
  std::vector<std::string> argv = {relay_binary_};
  if (!args.empty()) argv.push_back(args[0]);
  argv.push_back("--data");
  argv.push_back(data_dir_);
  for (size_t i = 1; i < args.size(); ++i) argv.push_back(args[i]);
  return RunCommand(argv, {{"VIGIL_RELAY_PASSPHRASE", kPassphrase}});
}

Status RelayFixture::Serve() {
  std::vector<std::string> argv = serve_wrapper_;
  argv.insert(argv.end(), {relay_binary_, "serve", "--data", data_dir_});
  argv.insert(argv.end(), serve_args_.begin(), serve_args_.end());
  process_ = std::make_unique<BackgroundProcess>(argv, Env{{"VIGIL_RELAY_PASSPHRASE", kPassphrase}},
                                                 dir_.path());
  if (process_->WaitForStderr("listening", start_timeout_ms_)) return Status::Ok();
  std::string err = process_->Stderr();
  if (err.find("address in use") != std::string::npos) return Status::Unavailable("address in use");
  return Status::Internal("relay did not start: " + err);
}

Status RelayFixture::Start() {
  for (int attempt = 0; attempt < 5; ++attempt) {
    port_ = FreeLoopbackPort();
    endpoint_ = "tcp://127.0.0.1:" + std::to_string(port_);
    data_dir_ = dir_.Sub("relay-" + std::to_string(++serial_));
    CommandResult init = RunCommand({relay_binary_, "init", "--data", data_dir_,
                                     "--listen", endpoint_},
                                    {{"VIGIL_RELAY_PASSPHRASE", kPassphrase}});
    if (init.exit_code != 0) return Status::Internal("vigil-relay init failed: " + init.err);
    fingerprint_ = init.out.substr(0, init.out.find('\n'));
    Status s = Serve();
    if (s.code() == Code::kUnavailable) continue;
    return s;
  }
  return Status::Unavailable("no free port for the relay");
}

Status RelayFixture::Stop() {
  if (!process_) return Status::Ok();
  process_->Signal(SIGTERM);
  auto code = process_->Wait(5000);
  if (!code.ok()) return Status::DeadlineExceeded("relay did not exit within 5 s of SIGTERM");
  if (*code != 0) {
    return Status::Internal("relay exited " + std::to_string(*code) + ": " + process_->Stderr());
  }
  return Status::Ok();
}

void RelayFixture::Kill() {
  if (!process_) return;
  process_->Signal(SIGKILL);
  process_->Wait(5000).status().IgnoreError();
}

Status RelayFixture::Restart() {
  if (process_ && process_->running()) VIGIL_RETURN_IF_ERROR(Stop());
  // The port was ours a moment ago; give the kernel a few tries.
  Status s;
  for (int i = 0; i < 20; ++i) {
    s = Serve();
    if (s.code() != Code::kUnavailable) return s;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return s;
}

std::string RelayFixture::Invite(const std::string& role, const std::string& name) {
  CommandResult r = Relay({"invite", "--role", role, "--name", name});
  if (r.exit_code != 0) {
    ADD_FAILURE() << "invite failed: " << r.err;
    return std::string();
  }
  return r.out.substr(0, r.out.find('\n'));
}

// --- ClientFixture ---

ClientFixture::ClientFixture(const TempDir& dir, const std::string& name,
                             const std::string& passphrase)
    : home_(dir.Sub(name + "-home")), passphrase_(passphrase) {}

CommandResult ClientFixture::Run(const std::vector<std::string>& args) const {
  return RunWithEnv(args, {{"VIGIL_PASSPHRASE", passphrase_}});
}

CommandResult ClientFixture::RunWithEnv(const std::vector<std::string>& args, const Env& env) const {
  std::vector<std::string> argv = {BinPath("vigil"), "--home", home_};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunCommand(argv, env);
}

}  // namespace vigil::testing
