// Fuzz target: an RFC 3161 token (a DER TimeStampResp) as a plugin peer or
// an evidence bundle hands it over: verify against a fixed digest and CA,
// and describe. The seed corpus/rfc3161_token/granted is a real token from
// tests/testing/local_tsa.h for kDigest, signed by a TSA under kCaPem (see
// LocalTsaTest.DISABLED_WriteFuzzSeed); it verifies at its genTime forever.
#include <openssl/evp.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

#include "tsa.h"

namespace {

const char kCaPem[] = R"(-----BEGIN CERTIFICATE-----
MIIBfzCCASSgAwIBAgIUVqPJV3DYlWsRtapnOkXmQTRHjVswCgYIKoZIzj0EAwIw
HTEbMBkGA1UEAwwSVmlnaWwgVGVzdCBSb290IENBMB4XDTI2MTEyOTIzMDc0NFoX
DTM2MTEyNjIzMDc0NFowHTEbMBkGA1UEAwwSVmlnaWwgVGVzdCBSb290IENBMFkw
EwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE7P/KwsCqupul3qtr/zSZhaWFxIGxU3sd
KCq4VmlJEUiWVgaGUnNCulHfh9VgZJpMehEwZ0IBB9+fquAQk8gC1qNCMEAwDwYD
VR0TAQH/BAUwAwEB/zAOBgNVHQ8BAf8EBAMCAQYwHQYDVR0OBBYEFJrQGQnAHrO2
tCcTxfcukdDb500GMAoGCCqGSM49BAMCA0kAMEYCIQCq6V26XWVZYnuDXiYwfsUH
ECrInsWXP5d2vw4YptzPpgIhALAHFn/b74lbtdmE+dd5vom3rXQFK9DjlcplN5aw
4us5
-----END CERTIFICATE-----
)";

const uint8_t kDigest[32] = {
    0x9e, 0x32, 0x08, 0xa0, 0x24, 0x24, 0xb4, 0xdf, 0x0e, 0x7c, 0x3c, 0x8c, 0x74, 0x2e, 0x49, 0xaf,
    0x2f, 0x61, 0xf8, 0x1d, 0xc5, 0xe3, 0xf7, 0xec, 0x2a, 0xe7, 0x12, 0x89, 0xd7, 0x82, 0x2c, 0x5c,
};

std::unique_ptr<vigil::rfc3161::Tsa> MakeTsa() {
  std::string b64(4 * ((sizeof kCaPem + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(b64.data()),
                          reinterpret_cast<const unsigned char*>(kCaPem), sizeof kCaPem - 1);
  b64.resize(static_cast<size_t>(n));
  vigil::rfc3161::Error e;
  auto tsa = vigil::rfc3161::Tsa::Open("url=http://127.0.0.1:9/\nca_pem=" + b64 + "\n", &e);
  if (!tsa) abort();
  return tsa;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::unique_ptr<vigil::rfc3161::Tsa> tsa = MakeTsa();
  int64_t time_ms = 0;
  vigil::rfc3161::Error verified = tsa->Verify(kDigest, data, size, &time_ms);
  std::string json;
  vigil::rfc3161::Error described = tsa->Describe(data, size, &json);
  // A token that verifies is signed by a TSA under the CA: describable.
  if (verified.ok() && (!described.ok() || json.empty() || time_ms <= 0)) abort();
  if (!verified.ok() && verified.message.empty()) abort();
  return 0;
}
