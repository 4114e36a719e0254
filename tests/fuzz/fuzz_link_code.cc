// Fuzz target: device link codes pasted by people (text, base64url,
// protobuf), and the link request / grant blobs that arrive by mail.
#include <cstddef>
#include <cstdint>
#include <string>

#include "vigil/crypto.h"
#include "vigil/identity.h"
#include "vigil/store/v1/store.pb.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool init = vigil::crypto::InitCrypto().ok();
  (void)init;
  std::string text(reinterpret_cast<const char*>(data), size);
  (void)vigil::identity::DecodeLink(text);
  (void)vigil::identity::DecodeLink(std::string(vigil::identity::kLinkPrefix) + text);
  vigil::store::v1::LinkRequest request;
  (void)request.ParseFromString(text);
  vigil::store::v1::LinkGrant grant;
  (void)grant.ParseFromString(text);
  return 0;
}
