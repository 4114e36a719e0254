// Test helpers: temporary directories, free loopback ports, running the real
// binaries as processes, and fixtures for a relay and its members.
//
// Thread safety: none; each test uses its own objects.
#ifndef VIGIL_TESTS_TESTING_TESTING_H_
#define VIGIL_TESTS_TESTING_TESTING_H_

#include <sys/types.h>

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "vigil/status.h"

namespace vigil::testing {

// A fresh directory under $TMPDIR (or /tmp), removed recursively on
// destruction unless VIGIL_KEEP_TEST_DIRS is set.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string Sub(std::string_view name) const { return path_ + "/" + std::string(name); }

 private:
  std::string path_;
};

// A TCP port on 127.0.0.1 that was free a moment ago (bind to port 0). Never
// the same port twice in one process.
int FreeLoopbackPort();

// Raises this process's soft open-file limit to at least `need`
// descriptors (tests that hold many connections at once); FailedPrecondition,
// naming the limit, when the hard limit does not allow it.
Status RaiseOpenFileLimit(uint64_t need);

std::string ReadFile(const std::string& path);  // empty if missing
bool WriteFile(const std::string& path, std::string_view data);
size_t CountOccurrences(std::string_view haystack, std::string_view needle);

// build/bin/<name>
std::string BinPath(std::string_view name);

struct CommandResult {
  int exit_code = -1;  // exit status; 128+signal if killed; -1 on timeout
  std::string out;
  std::string err;
};

using Env = std::map<std::string, std::string>;

// Runs argv (no shell) with the inherited environment minus VIGIL_PASSPHRASE
// and VIGIL_RELAY_PASSPHRASE, plus `extra_env`; feeds `stdin_data`; captures
// stdout and stderr; kills it after `timeout_ms`.
CommandResult RunCommand(const std::vector<std::string>& argv, const Env& extra_env = {},
                         const std::string& stdin_data = "", int timeout_ms = 60000);

// A process running in the background with stdout/stderr in files.
class BackgroundProcess {
 public:
  BackgroundProcess(const std::vector<std::string>& argv, const Env& extra_env,
                    const std::string& log_dir);
  ~BackgroundProcess();  // SIGKILLs and reaps if still running
  BackgroundProcess(const BackgroundProcess&) = delete;
  BackgroundProcess& operator=(const BackgroundProcess&) = delete;

  pid_t pid() const { return pid_; }
  bool running();
  // Polls the stderr file until a line contains `needle`; false on timeout
  // or if the process exited first.
  bool WaitForStderr(std::string_view needle, int timeout_ms);
  int Signal(int sig);
  // Exit code (128+signal when signalled), or DeadlineExceeded.
  StatusOr<int> Wait(int timeout_ms);
  std::string Stderr() const;
  std::string Stdout() const;

 private:
  pid_t pid_ = -1;
  bool reaped_ = false;
  int exit_code_ = -1;
  std::string out_path_, err_path_;
};

// A real vigil-relay on a free loopback port, data under <dir>/relay-N.
class RelayFixture {
 public:
  static constexpr char kPassphrase[] = "relay pass";
  explicit RelayFixture(const TempDir& dir);
  ~RelayFixture();

  // init (retrying on another port if taken) + serve, waiting for "listening".
  Status Start();
  // SIGTERM; OK if it exits 0 within 5 s.
  Status Stop();
  // SIGKILL, no questions asked.
  void Kill();
  // serve again on the same data directory.
  Status Restart();

  // vigil-relay invite ...; returns the code or "" (with a test failure).
  std::string Invite(const std::string& role, const std::string& name);
  // vigil-relay <args[0]> --data DIR <args[1..]> with the passphrase set.
  CommandResult Relay(const std::vector<std::string>& args) const;

  const std::string& data_dir() const { return data_dir_; }
  const std::string& endpoint() const { return endpoint_; }
  const std::string& fingerprint() const { return fingerprint_; }
  int port() const { return port_; }
  BackgroundProcess* process() { return process_.get(); }
  // Extra flags for `vigil-relay serve` (set before Start).
  void set_serve_args(std::vector<std::string> args) { serve_args_ = std::move(args); }
  // A command line that `vigil-relay serve ...` is appended to, e.g. strace
  // with fault injection (set before Start or Restart; empty: none).
  void set_serve_wrapper(std::vector<std::string> argv) { serve_wrapper_ = std::move(argv); }
  // Another vigil-relay binary for init, serve and admin commands (set
  // before Start; benchmarks compare builds with it). Default: this build's.
  void set_relay_binary(std::string path) { relay_binary_ = std::move(path); }
  // Milliseconds to wait for "listening" (a relay under valgrind starts slowly).
  void set_start_timeout_ms(int ms) { start_timeout_ms_ = ms; }

 private:
  Status Serve();
  const TempDir& dir_;
  std::string data_dir_, endpoint_, fingerprint_;
  int port_ = 0;
  int serial_ = 0;
  std::unique_ptr<BackgroundProcess> process_;
  std::vector<std::string> serve_args_;
  std::vector<std::string> serve_wrapper_;
  std::string relay_binary_;
  int start_timeout_ms_ = 15000;
};

// One member's device: vigil --home <dir>/<name>-home with its passphrase.
class ClientFixture {
 public:
  ClientFixture(const TempDir& dir, const std::string& name, const std::string& passphrase);
  CommandResult Run(const std::vector<std::string>& args) const;
  CommandResult RunWithEnv(const std::vector<std::string>& args, const Env& env) const;
  const std::string& home() const { return home_; }
  const std::string& passphrase() const { return passphrase_; }

 private:
  std::string home_, passphrase_;
};

}  // namespace vigil::testing

#endif  // VIGIL_TESTS_TESTING_TESTING_H_
