// Fuzz target: EXPORT.txt of an evidence bundle (the exporter's signed
// statement), as `vigil verify` parses it from a directory someone handed
// over. A parsed statement must print back to the same text.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "vigil/bytes.h"
#include "vigil/evidence.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text = vigil::ToString(vigil::ByteSpan(data, size));
  auto s = vigil::evidence::ParseExportStatement(text);
  if (s.ok() && vigil::evidence::ExportStatementText(*s) != text) std::abort();
  return 0;
}
