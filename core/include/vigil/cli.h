// Helpers shared by the two command-line programs: a small flag parser,
// passphrase input, and the one-line error convention ("vigil: <what went
// wrong and what to do>" on stderr, non-zero exit).
//
// Thread safety: not thread-safe (command-line programs call these from main).
#ifndef VIGIL_CLI_H_
#define VIGIL_CLI_H_

#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "vigil/crypto.h"
#include "vigil/status.h"

namespace vigil::cli {

// Parsed "--flag value", "--flag=value", "--switch" and positional words.
class Args {
 public:
  // `value_flags` take a value; `switch_flags` do not. Anything else that
  // starts with "--" is an error naming the flag. A lone "--" ends flags.
  static StatusOr<Args> Parse(const std::vector<std::string>& argv,
                              const std::set<std::string>& value_flags,
                              const std::set<std::string>& switch_flags);

  bool Has(std::string_view flag) const;
  // The last value given for `flag`, if any.
  std::optional<std::string> Get(std::string_view flag) const;
  // Every value given for a repeatable flag, in order.
  std::vector<std::string> GetAll(std::string_view flag) const;
  // InvalidArgument("missing --flag") when absent.
  StatusOr<std::string> Require(std::string_view flag) const;
  const std::vector<std::string>& positional() const { return positional_; }

 private:
  std::map<std::string, std::vector<std::string>, std::less<>> values_;
  std::vector<std::string> positional_;
};

// Reads a passphrase: from the environment variable `env_var` (then wiped in
// place), else from `passphrase_file` (trailing newline removed), else by a
// no-echo prompt on the terminal (asked twice when `confirm`). Never from a
// flag. FailedPrecondition when none is available; InvalidArgument when empty.
StatusOr<crypto::SecretBytes> ReadPassphrase(
    const char* env_var, const std::optional<std::string>& passphrase_file,
    std::string_view prompt, bool confirm);

// Parses "90s", "10m", "72h", "7d" (or a bare number of seconds) into
// seconds. InvalidArgument otherwise.
StatusOr<int64_t> ParseDuration(std::string_view text);

// Prints "<program>: <message>" on stderr, where message is the status'
// message (never its code name, which users do not need).
void PrintError(std::string_view program, const Status& status);

// Exit codes shared by both programs.
inline constexpr int kExitOk = 0;
inline constexpr int kExitError = 1;     // operation failed
inline constexpr int kExitUsage = 2;     // bad command line
inline constexpr int kExitAuth = 3;      // wrong passphrase / not authorised
inline constexpr int kExitUnavailable = 4;  // relay unreachable
int ExitCodeFor(const Status& status);

// The outer edge of both programs: disables core dumps, initialises
// libsodium, and runs `main_fn`, turning any exception a library might throw
// (cppzmq, protobuf, allocation failure) into one line on stderr and exit 1.
int RunProgram(const char* program, int (*main_fn)(int, char**), int argc, char** argv);

// Disables core dumps for this process (RLIMIT_CORE = 0, PR_SET_DUMPABLE 0)
// so that secrets in memory never reach a core file.
void DisableCoreDumps();

}  // namespace vigil::cli

#endif  // VIGIL_CLI_H_
