#include "vigil/cli.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <termios.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>

namespace vigil::cli {

StatusOr<Args> Args::Parse(const std::vector<std::string>& argv,
                           const std::set<std::string>& value_flags,
                           const std::set<std::string>& switch_flags) {
  Args args;
  bool flags_done = false;
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (flags_done || a.size() < 2 || a.compare(0, 2, "--") != 0) {
      args.positional_.push_back(a);
      continue;
    }
    if (a == "--") {
      flags_done = true;
      continue;
    }
    std::string name = a.substr(2);
    std::optional<std::string> inline_value;
    if (size_t eq = name.find('='); eq != std::string::npos) {
      inline_value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    if (value_flags.count(name)) {
      if (inline_value) {
        args.values_[name].push_back(*inline_value);
      } else if (i + 1 < argv.size()) {
        args.values_[name].push_back(argv[++i]);
      } else {
        return Status::InvalidArgument("--" + name + " needs a value");
      }
    } else if (switch_flags.count(name)) {
      if (inline_value) return Status::InvalidArgument("--" + name + " takes no value");
      args.values_[name].push_back("");
    } else {
      return Status::InvalidArgument("unknown option --" + name);
    }
  }
  return args;
}

bool Args::Has(std::string_view flag) const { return values_.find(flag) != values_.end(); }

std::optional<std::string> Args::Get(std::string_view flag) const {
  auto it = values_.find(flag);
  if (it == values_.end() || it->second.empty()) return std::nullopt;
  return it->second.back();
}

std::vector<std::string> Args::GetAll(std::string_view flag) const {
  auto it = values_.find(flag);
  if (it == values_.end()) return {};
  return it->second;
}

StatusOr<std::string> Args::Require(std::string_view flag) const {
  auto v = Get(flag);
  if (!v) return Status::InvalidArgument("missing --" + std::string(flag));
  return *v;
}

namespace {

StatusOr<crypto::SecretBytes> PromptNoEcho(std::string_view prompt) {
  int fd = open("/dev/tty", O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    return Status::FailedPrecondition(
        "no passphrase: set the passphrase environment variable, use "
        "--passphrase-file, or run in a terminal");
  }
  struct termios old_t;
  bool have_termios = tcgetattr(fd, &old_t) == 0;
  if (have_termios) {
    struct termios t = old_t;
    t.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    tcsetattr(fd, TCSAFLUSH, &t);
  }
  (void)!write(fd, prompt.data(), prompt.size());
  crypto::SecretBytes buf(1024);
  size_t len = 0;
  while (len < buf.size()) {
    char c;
    ssize_t n = read(fd, &c, 1);
    if (n <= 0 || c == '\n' || c == '\r') break;
    buf.data()[len++] = static_cast<uint8_t>(c);
  }
  if (have_termios) tcsetattr(fd, TCSAFLUSH, &old_t);
  (void)!write(fd, "\n", 1);
  close(fd);
  crypto::SecretBytes out = crypto::SecretBytes::CopyOf(ByteSpan(buf.data(), len));
  return out;
}

}  // namespace

StatusOr<crypto::SecretBytes> ReadPassphrase(
    const char* env_var, const std::optional<std::string>& passphrase_file,
    std::string_view prompt, bool confirm) {
  crypto::SecretBytes result;
  if (passphrase_file) {
    int fd = open(passphrase_file->c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      return Status::NotFound("cannot read passphrase file " + *passphrase_file);
    }
    crypto::SecretBytes buf(4096);
    size_t len = 0;
    for (;;) {
      ssize_t n = read(fd, buf.data() + len, buf.size() - len);
      if (n < 0) {
        close(fd);
        return Status::Internal("cannot read passphrase file " + *passphrase_file);
      }
      if (n == 0) break;
      len += static_cast<size_t>(n);
      if (len == buf.size()) {
        close(fd);
        return Status::InvalidArgument("passphrase file is too large");
      }
    }
    close(fd);
    while (len > 0 && (buf.data()[len - 1] == '\n' || buf.data()[len - 1] == '\r')) --len;
    result = crypto::SecretBytes::CopyOf(ByteSpan(buf.data(), len));
  } else if (char* env = getenv(env_var); env != nullptr) {
    size_t len = strlen(env);
    result = crypto::SecretBytes::CopyOf(ByteSpan(reinterpret_cast<uint8_t*>(env), len));
    sodium_memzero(env, len);  // do not leave it for children or core files
    unsetenv(env_var);
  } else {
    VIGIL_ASSIGN_OR_RETURN(result, PromptNoEcho(prompt));
    if (confirm) {
      VIGIL_ASSIGN_OR_RETURN(crypto::SecretBytes again, PromptNoEcho("Repeat passphrase: "));
      if (!crypto::ConstantTimeEqual(result.span(), again.span())) {
        return Status::InvalidArgument("the two passphrases differ");
      }
    }
  }
  if (result.empty()) return Status::InvalidArgument("the passphrase is empty");
  return result;
}

StatusOr<int64_t> ParseDuration(std::string_view text) {
  if (text.empty()) return Status::InvalidArgument("empty duration");
  int64_t mult = 1;
  char last = text.back();
  std::string_view digits = text;
  if (last == 's' || last == 'm' || last == 'h' || last == 'd') {
    mult = last == 's' ? 1 : last == 'm' ? 60 : last == 'h' ? 3600 : 86400;
    digits.remove_suffix(1);
  }
  if (digits.empty() || digits.size() > 9) {
    return Status::InvalidArgument("invalid duration (use e.g. 90s, 10m, 72h, 7d)");
  }
  int64_t v = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') {
      return Status::InvalidArgument("invalid duration (use e.g. 90s, 10m, 72h, 7d)");
    }
    v = v * 10 + (c - '0');
  }
  return v * mult;
}

void PrintError(std::string_view program, const Status& status) {
  std::cerr << program << ": " << status.message() << std::endl;
}

int ExitCodeFor(const Status& status) {
  switch (status.code()) {
    case Code::kOk: return kExitOk;
    case Code::kUnauthenticated:
    case Code::kPermissionDenied: return kExitAuth;
    case Code::kUnavailable:
    case Code::kDeadlineExceeded: return kExitUnavailable;
    default: return kExitError;
  }
}

int RunProgram(const char* program, int (*main_fn)(int, char**), int argc, char** argv) {
  DisableCoreDumps();
  if (!crypto::InitCrypto().ok()) {
    std::cerr << program << ": cannot initialise libsodium" << std::endl;
    return 1;
  }
  try {
    return main_fn(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << program << ": internal error: " << e.what() << std::endl;
  } catch (...) {
    std::cerr << program << ": internal error" << std::endl;
  }
  return 1;
}

void DisableCoreDumps() {
  struct rlimit rl = {0, 0};
  setrlimit(RLIMIT_CORE, &rl);
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}

}  // namespace vigil::cli
