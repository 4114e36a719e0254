// Fuzz target: MANIFEST.sha256 of an evidence bundle, as `vigil verify`
// reads it from a directory someone handed over.
#include <cstddef>
#include <cstdint>

#include "client/lib/bundle.h"
#include "vigil/bytes.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)vigil::client::ParseManifest(vigil::ToString(vigil::ByteSpan(data, size)));
  return 0;
}
