#include "testing/property.h"

#include <cstdlib>
#include <sstream>
#include <utility>

namespace vigil::testing {
namespace {

const char* EnvOrNull(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? v : nullptr;
}

}  // namespace

std::vector<uint32_t> PropertySeeds(const std::vector<uint32_t>& defaults) {
  if (const char* s = EnvOrNull("VIGIL_PROPERTY_SEED")) {
    return {static_cast<uint32_t>(std::strtoul(s, nullptr, 10))};
  }
  return defaults;
}

bool SingleSeedRequested() { return EnvOrNull("VIGIL_PROPERTY_SEED") != nullptr; }

bool LogRequested() { return EnvOrNull("VIGIL_PROPERTY_LOG") != nullptr; }

int PropertySteps(int default_steps) {
  if (const char* s = EnvOrNull("VIGIL_PROPERTY_STEPS")) return std::atoi(s);
  return default_steps;
}

OpLog::OpLog(uint32_t seed, std::string rerun) : seed_(seed), rerun_(std::move(rerun)) {}

void OpLog::Add(const std::string& op) { ops_.push_back(std::to_string(step_) + ": " + op); }

std::string OpLog::Context() const {
  std::ostringstream out;
  out << "seed " << seed_ << ", step " << step_ << "\n  rerun: VIGIL_PROPERTY_SEED=" << seed_ << " "
      << rerun_ << "\n";
  size_t from = 0;
  if (!SingleSeedRequested() && ops_.size() > 150) {
    from = ops_.size() - 150;
    out << "  operations (the last 150 of " << ops_.size() << "; rerun the seed for all):\n";
  } else {
    out << "  operations:\n";
  }
  for (size_t i = from; i < ops_.size(); ++i) out << "    " << ops_[i] << "\n";
  return out.str();
}

}  // namespace vigil::testing
