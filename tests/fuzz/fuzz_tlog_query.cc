// Fuzz target: the relay's transparency-log plugin (plugins/tlog/tlog.cc)
// facing what members send it through the relay: log queries ("checkpoint",
// "consistency <first> <second>") and inclusion tokens to verify, at a log
// of kLeaves leaves (tlog_host.h). The first byte picks the call.
//
// Checked: a consistency proof the plugin hands out parses and proves the
// two roots of this log; a token verifies only for a digest in the log, at
// the log's clock.
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "tlog_host.h"
#include "vigil/crypto.h"
#include "vigil/evidence.h"

namespace {

bool ParseU64(std::string_view s, uint64_t* out) {
  auto r = std::from_chars(s.data(), s.data() + s.size(), *out);
  return !s.empty() && r.ec == std::errc() && r.ptr == s.data() + s.size();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vigil;
  static const bool init = crypto::InitCrypto().ok();
  (void)init;
  static fuzz::TlogHost* const host = new fuzz::TlogHost(fuzz::kLeaves);
  static const std::vector<Bytes> leaves = [] {
    std::vector<Bytes> l;
    for (uint64_t i = 0; i < fuzz::kLeaves; ++i) l.push_back(evidence::LeafHash(fuzz::LogDigest(i)));
    return l;
  }();
  if (size < 1) return 0;
  ByteSpan in(data + 1, size - 1);
  if (data[0] % 2 == 0) {
    std::string out;
    if (host->Call(in, &out) != VIGIL_TS_OK) return 0;
    std::string_view q(reinterpret_cast<const char*>(in.data()), in.size());
    if (q == "checkpoint\n") {
      if (!evidence::ParseCheckpoint(out, host->public_key()).ok()) std::abort();
      return 0;
    }
    // Anything else the plugin answers is "consistency <first> <second>\n".
    constexpr std::string_view kCons = "consistency ";
    if (q.substr(0, kCons.size()) != kCons || q.back() != '\n') std::abort();
    std::string_view rest = q.substr(kCons.size(), q.size() - kCons.size() - 1);
    size_t sp = rest.find(' ');
    uint64_t first = 0, second = 0;
    if (sp == std::string_view::npos || !ParseU64(rest.substr(0, sp), &first) ||
        !ParseU64(rest.substr(sp + 1), &second) || first > second || second > fuzz::kLeaves) {
      std::fprintf(stderr, "the log answered a query it should refuse\n");
      std::abort();
    }
    auto proof = evidence::ParseConsistency(out, first, second);
    if (!proof.ok()) std::abort();
    if (first > 0 && first < second &&
        !evidence::VerifyConsistency(first, second, evidence::MerkleRoot(leaves, first),
                                     evidence::MerkleRoot(leaves, second), *proof).ok()) {
      std::abort();
    }
    return 0;
  }
  // A token (from the third byte), checked against one of the log's
  // digests (the second byte picks; kLeaves: a digest not in the log).
  if (size < 2) return 0;
  uint64_t pick = data[1] % (fuzz::kLeaves + 1);
  Bytes digest = fuzz::LogDigest(pick);
  ByteSpan token(data + 2, size - 2);
  int64_t time_ms = 0;
  char err[256];
  int rc = host->plugin()->verify(host->state(), digest.data(), token.data(), token.size(), &time_ms, err, sizeof err);
  if (rc == VIGIL_TS_OK && (pick == fuzz::kLeaves || time_ms != fuzz::kLogTimeMs)) {
    std::abort();
  }
  return 0;
}
