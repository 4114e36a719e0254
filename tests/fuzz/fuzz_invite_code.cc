// Fuzz target: invite codes pasted by people (text, then base64url, then protobuf).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "vigil/crypto.h"
#include "vigil/identity.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool init = vigil::crypto::InitCrypto().ok();
  (void)init;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto inv = vigil::identity::DecodeInvite(text);
  if (inv.ok()) {
    auto key = vigil::identity::InviteTransportKey(inv->secret);
    (void)key;
  }
  // The prefixed form too, so the fuzzer reaches the decoder quickly.
  std::string prefixed = std::string(vigil::identity::kInvitePrefix) + std::string(text);
  auto inv2 = vigil::identity::DecodeInvite(prefixed);
  (void)inv2;
  return 0;
}
