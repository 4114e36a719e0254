#include "vigil/bytes.h"

#include <sodium.h>

namespace vigil {

std::string HexEncode(ByteSpan data) {
  std::string out(data.size() * 2 + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), data.data(), data.size());
  out.resize(data.size() * 2);
  return out;
}

StatusOr<Bytes> HexDecode(std::string_view hex) {
  if (hex.size() % 2 != 0) return Status::InvalidArgument("odd-length hex");
  if (hex.empty()) return Bytes();
  Bytes out(hex.size() / 2);
  size_t len = 0;
  const char* end = nullptr;
  if (sodium_hex2bin(out.data(), out.size(), hex.data(), hex.size(), nullptr,
                     &len, &end) != 0 ||
      end != hex.data() + hex.size()) {
    return Status::InvalidArgument("invalid hex");
  }
  out.resize(len);
  return out;
}

namespace {

std::string B64Encode(ByteSpan data, int variant) {
  size_t cap = sodium_base64_encoded_len(data.size(), variant);
  std::string out(cap, '\0');
  sodium_bin2base64(out.data(), cap, data.data(), data.size(), variant);
  out.resize(std::char_traits<char>::length(out.c_str()));
  return out;
}

StatusOr<Bytes> B64Decode(std::string_view text, int variant) {
  if (text.empty()) return Bytes();
  // libsodium 1.0.18 reads the input through a signed char, so every byte
  // >= 0x80 decodes as the sextet 63 ('/' or '_'): "Zm9\xff" would decode
  // like "Zm9/". Refuse non-ASCII input before libsodium sees it, so each
  // byte string has exactly one accepted encoding.
  for (char c : text) {
    if (static_cast<unsigned char>(c) >= 0x80) {
      return Status::InvalidArgument("invalid base64");
    }
  }
  Bytes out(text.size() * 3 / 4 + 3);
  size_t len = 0;
  const char* end = nullptr;
  if (sodium_base642bin(out.data(), out.size(), text.data(), text.size(), nullptr,
                        &len, &end, variant) != 0 ||
      end != text.data() + text.size()) {
    return Status::InvalidArgument("invalid base64");
  }
  out.resize(len);
  return out;
}

}  // namespace

std::string Base64UrlEncode(ByteSpan data) {
  return B64Encode(data, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}
StatusOr<Bytes> Base64UrlDecode(std::string_view text) {
  return B64Decode(text, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}
std::string Base64Encode(ByteSpan data) {
  return B64Encode(data, sodium_base64_VARIANT_ORIGINAL);
}
StatusOr<Bytes> Base64Decode(std::string_view text) {
  return B64Decode(text, sodium_base64_VARIANT_ORIGINAL);
}

}  // namespace vigil
