// Fuzz target: an envelope as fetched from a (possibly hostile) relay:
// parse, then check the content against a key package (as if the session
// had produced it) with a fixed sender key.
#include <cstddef>
#include <cstdint>

#include "client/lib/envelope.h"
#include "vigil/crypto.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool init = vigil::crypto::InitCrypto().ok();
  (void)init;
  static const vigil::crypto::SigningKeyPair kSender = vigil::crypto::GenerateSigningKeyPair();
  auto env = vigil::client::ParseEnvelope(vigil::ByteSpan(data, size));
  if (!env.ok()) return 0;
  // The session message doubles as a key package: both are untrusted here.
  auto plain = vigil::client::OpenContent(*env, vigil::AsBytes(env->session_message()), kSender.public_key);
  (void)plain;
  return 0;
}
