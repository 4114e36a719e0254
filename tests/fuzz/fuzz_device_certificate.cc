// Fuzz target: device certificates from the relay's directory (a stored,
// signed object every client checks before encrypting to a device).
#include <cstddef>
#include <cstdint>

#include "vigil/crypto.h"
#include "vigil/identity.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool init = vigil::crypto::InitCrypto().ok();
  (void)init;
  vigil::wire::v1::DirectoryMember m;
  if (!m.ParseFromArray(data, static_cast<int>(size))) return 0;
  for (const auto& d : m.devices()) {
    auto cert = vigil::identity::VerifyDevice(d, vigil::AsBytes(m.identity_public_key()));
    (void)cert;
  }
  return 0;
}
