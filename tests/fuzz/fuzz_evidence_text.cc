// Fuzz target: the evidence text parsers (commitments, notary tokens, log
// checkpoints, inclusion tokens, consistency proofs). These read bytes from
// the relay, from teammates and from bundles. The first byte picks the
// parser; nothing may crash, hang or allocate without bound.
#include <cstddef>
#include <cstdint>

#include "vigil/crypto.h"
#include "vigil/evidence.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static bool init = vigil::crypto::InitCrypto().ok();
  (void)init;
  if (size < 1) return 0;
  vigil::ByteSpan in(data + 1, size - 1);
  std::string text = vigil::ToString(in);
  vigil::Bytes digest(32, 0x42);
  switch (data[0] % 5) {
    case 0: (void)vigil::evidence::ParseCommitment(text); break;
    case 1: (void)vigil::evidence::VerifyNotaryToken(in, digest, {}); break;
    case 2: (void)vigil::evidence::ParseCheckpoint(text, {}); break;
    case 3: (void)vigil::evidence::VerifyInclusionToken(in, digest, {}); break;
    case 4: (void)vigil::evidence::ParseConsistency(text, 3, 7); break;
  }
  return 0;
}
