// Fuzz target: the relay's request decoder (every byte a peer can send).
#include <cstddef>
#include <cstdint>

#include "vigil/wire.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto r = vigil::wire::DecodeRequest(vigil::ByteSpan(data, size));
  if (r.ok()) {
    // Whatever decodes must re-encode without trouble.
    vigil::Bytes again = vigil::wire::EncodeRequest(*r);
    (void)again;
  }
  auto resp = vigil::wire::DecodeResponse(vigil::ByteSpan(data, size));
  (void)resp;
  return 0;
}
