// Fuzz target: a sealed envelope as fetched from a (possibly hostile) relay:
// parse, verify, decrypt with a fixed device key.
#include <cstddef>
#include <cstdint>

#include "client/lib/envelope.h"
#include "vigil/crypto.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool init = vigil::crypto::InitCrypto().ok();
  (void)init;
  static const vigil::crypto::DhKeyPair kDevice = vigil::crypto::GenerateDhKeyPair();
  static const vigil::crypto::SigningKeyPair kSender = vigil::crypto::GenerateSigningKeyPair();
  auto env = vigil::client::ParseEnvelope(vigil::ByteSpan(data, size));
  if (!env.ok()) return 0;
  (void)vigil::client::VerifyEnvelope(*env, kSender.public_key);
  auto plain = vigil::client::DecryptEnvelope(*env, vigil::AsBytes(env->sealed.recipient_device_id()),
                                              kDevice.secret_key);
  (void)plain;
  return 0;
}
