// Status and StatusOr: Vigil's error values. Our code throws nothing; every
// fallible function returns one of these. Messages are static words plus
// non-secret identifiers (a fingerprint, a note id) — never a key, a
// passphrase, plaintext, a token or an invite code.
//
// Thread safety: values; safe to copy between threads.
#ifndef VIGIL_STATUS_H_
#define VIGIL_STATUS_H_

#include <cassert>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace vigil {

// Few codes, chosen so that a caller can decide what to do (retry, re-prompt,
// give up). Numeric values appear on the wire (ErrorCode in wire.proto): only
// append, never renumber.
enum class Code : int {
  kOk = 0,
  kInvalidArgument = 1,     // caller or peer sent something malformed
  kNotFound = 2,
  kAlreadyExists = 3,
  kPermissionDenied = 4,    // authenticated, but not allowed
  kUnauthenticated = 5,     // wrong key, wrong passphrase, bad signature/MAC
  kFailedPrecondition = 6,  // state does not allow it (e.g. invite used)
  kResourceExhausted = 7,   // size, quota, disk full
  kUnavailable = 8,         // relay unreachable; try again later
  kDataLoss = 9,            // corrupted store or integrity failure
  kInternal = 10,
  kUnimplemented = 11,      // e.g. unknown protocol or object version
  kDeadlineExceeded = 12,
};

std::string_view CodeName(Code code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(Code code, std::string message)
      : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }
  static Status InvalidArgument(std::string m) { return {Code::kInvalidArgument, std::move(m)}; }
  static Status NotFound(std::string m) { return {Code::kNotFound, std::move(m)}; }
  static Status AlreadyExists(std::string m) { return {Code::kAlreadyExists, std::move(m)}; }
  static Status PermissionDenied(std::string m) { return {Code::kPermissionDenied, std::move(m)}; }
  static Status Unauthenticated(std::string m) { return {Code::kUnauthenticated, std::move(m)}; }
  static Status FailedPrecondition(std::string m) { return {Code::kFailedPrecondition, std::move(m)}; }
  static Status ResourceExhausted(std::string m) { return {Code::kResourceExhausted, std::move(m)}; }
  static Status Unavailable(std::string m) { return {Code::kUnavailable, std::move(m)}; }
  static Status DataLoss(std::string m) { return {Code::kDataLoss, std::move(m)}; }
  static Status Internal(std::string m) { return {Code::kInternal, std::move(m)}; }
  static Status Unimplemented(std::string m) { return {Code::kUnimplemented, std::move(m)}; }
  static Status DeadlineExceeded(std::string m) { return {Code::kDeadlineExceeded, std::move(m)}; }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }

  // "NotFound: no member named Vic"
  std::string ToString() const;

  // Returns a copy whose message is "<prefix>: <message>".
  Status WithContext(std::string_view prefix) const;

  // Does nothing; documents that an error is deliberately dropped.
  void IgnoreError() const {}

 private:
  Code code_ = Code::kOk;
  std::string message_;
};

// An expected-like holder of either a T or a non-OK Status.
template <typename T>
class [[nodiscard]] StatusOr {
 public:
  StatusOr(const Status& status) : status_(status) {  // NOLINT: implicit by design
    assert(!status_.ok() && "StatusOr needs a value or a non-OK status");
    if (status_.ok()) status_ = Status::Internal("StatusOr built from OK status");
  }
  StatusOr(Status&& status) : status_(std::move(status)) {  // NOLINT
    assert(!status_.ok() && "StatusOr needs a value or a non-OK status");
    if (status_.ok()) status_ = Status::Internal("StatusOr built from OK status");
  }
  StatusOr(T&& value) : value_(std::move(value)) {}  // NOLINT
  StatusOr(const T& value) : value_(value) {}        // NOLINT

  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }

  // REQUIRES: ok().
  T& value() & { assert(ok()); return *value_; }
  const T& value() const& { assert(ok()); return *value_; }
  T&& value() && { assert(ok()); return std::move(*value_); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  Status status_;
  std::optional<T> value_;
};

}  // namespace vigil

#define VIGIL_STATUS_CONCAT_INNER_(a, b) a##b
#define VIGIL_STATUS_CONCAT_(a, b) VIGIL_STATUS_CONCAT_INNER_(a, b)

#define VIGIL_RETURN_IF_ERROR(expr)                  \
  do {                                               \
    ::vigil::Status vigil_status_ = (expr);          \
    if (!vigil_status_.ok()) return vigil_status_;   \
  } while (0)

#define VIGIL_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                 \
  if (!tmp.ok()) return tmp.status();                \
  lhs = std::move(tmp).value()

// VIGIL_ASSIGN_OR_RETURN(auto x, Foo()); — returns Foo()'s status on error.
#define VIGIL_ASSIGN_OR_RETURN(lhs, expr) \
  VIGIL_ASSIGN_OR_RETURN_IMPL_(VIGIL_STATUS_CONCAT_(vigil_statusor_, __LINE__), lhs, expr)

#endif  // VIGIL_STATUS_H_
