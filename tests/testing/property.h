// Seeds and operation logs for the stateful property tests
// (tests/unit/session_property_test.cc, tests/integration/protocol_property_test.cc).
//
// A run draws every operation from std::mt19937(seed), so the same seed
// replays the same sequence of operations. VIGIL_PROPERTY_SEED=<n> runs that
// one seed instead of the fixed list (and prints the whole operation log on
// failure); VIGIL_PROPERTY_STEPS=<n> overrides the number of steps;
// VIGIL_PROPERTY_LOG=1 prints the log of passing runs too.
//
// Thread safety: none; each run uses its own OpLog.
#ifndef VIGIL_TESTS_TESTING_PROPERTY_H_
#define VIGIL_TESTS_TESTING_PROPERTY_H_

#include <cstdint>
#include <string>
#include <vector>

namespace vigil::testing {

// True in the AddressSanitizer build (about 3x slower): runs fewer steps.
#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool kSanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
inline constexpr bool kSanitized = true;
#else
inline constexpr bool kSanitized = false;
#endif
#else
inline constexpr bool kSanitized = false;
#endif

// The seed named by VIGIL_PROPERTY_SEED, or `defaults`.
std::vector<uint32_t> PropertySeeds(const std::vector<uint32_t>& defaults);
// True when VIGIL_PROPERTY_SEED names a seed.
bool SingleSeedRequested();
// True when VIGIL_PROPERTY_LOG is set: print the operation log of passing
// runs too.
bool LogRequested();
// VIGIL_PROPERTY_STEPS, or `default_steps`.
int PropertySteps(int default_steps);

// What a run did, step by step, for failure messages.
class OpLog {
 public:
  // `rerun` is the command that runs this seed alone (the seed is appended
  // as VIGIL_PROPERTY_SEED=<seed> in front of it).
  OpLog(uint32_t seed, std::string rerun);
  void set_step(int step) { step_ = step; }
  int step() const { return step_; }
  void Add(const std::string& op);
  // "seed S, step N", how to rerun it, and the operations so far (all of
  // them when one seed was requested, else the last 150).
  std::string Context() const;

 private:
  uint32_t seed_;
  std::string rerun_;
  int step_ = 0;
  std::vector<std::string> ops_;
};

}  // namespace vigil::testing

#endif  // VIGIL_TESTS_TESTING_PROPERTY_H_
