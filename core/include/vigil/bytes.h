// Byte containers and encodings shared by every part of Vigil.
//
// Bytes holds public data (keys, ciphertext, hashes). Secrets live in
// SecretBytes (vigil/crypto.h), never in Bytes or std::string.
#ifndef VIGIL_BYTES_H_
#define VIGIL_BYTES_H_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "vigil/status.h"

namespace vigil {

using Bytes = std::vector<uint8_t>;
using ByteSpan = std::span<const uint8_t>;

inline ByteSpan AsBytes(std::string_view s) {
  return ByteSpan(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}
inline std::string ToString(ByteSpan b) {
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}
inline Bytes ToBytes(std::string_view s) {
  return Bytes(s.begin(), s.end());
}

// Lower-case hex.
std::string HexEncode(ByteSpan data);
StatusOr<Bytes> HexDecode(std::string_view hex);

// URL-safe base64 without padding (RFC 4648 section 5).
std::string Base64UrlEncode(ByteSpan data);
StatusOr<Bytes> Base64UrlDecode(std::string_view text);

// Standard base64 with padding (RFC 4648 section 4), as PEM and openssl use.
std::string Base64Encode(ByteSpan data);
StatusOr<Bytes> Base64Decode(std::string_view text);

}  // namespace vigil

#endif  // VIGIL_BYTES_H_
