// vigil/bytes.h: hex and base64 encodings (RFC 4648 section 10 vectors),
// round trips, and refusal of malformed input.
#include "vigil/bytes.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace vigil {
namespace {

Bytes AllByteValues() {
  Bytes b;
  for (int i = 0; i < 256; ++i) b.push_back(static_cast<uint8_t>(i));
  return b;
}

// Deterministic pseudo-random bytes (no crypto dependency in this file).
Bytes Pattern(size_t n, uint32_t seed) {
  Bytes b(n);
  for (size_t i = 0; i < n; ++i) {
    seed = seed * 1664525u + 1013904223u;
    b[i] = static_cast<uint8_t>(seed >> 24);
  }
  return b;
}

struct Rfc4648Vector {
  const char* plain;
  const char* base16;
  const char* base64;
  const char* base64url;  // no padding
};

// RFC 4648 section 10.
const Rfc4648Vector kRfc4648[] = {
    {"", "", "", ""},
    {"f", "66", "Zg==", "Zg"},
    {"fo", "666f", "Zm8=", "Zm8"},
    {"foo", "666f6f", "Zm9v", "Zm9v"},
    {"foob", "666f6f62", "Zm9vYg==", "Zm9vYg"},
    {"fooba", "666f6f6261", "Zm9vYmE=", "Zm9vYmE"},
    {"foobar", "666f6f626172", "Zm9vYmFy", "Zm9vYmFy"},
};

TEST(BytesTest, Rfc4648Vectors) {
  for (const auto& v : kRfc4648) {
    SCOPED_TRACE(v.plain);
    Bytes plain = ToBytes(v.plain);
    EXPECT_EQ(HexEncode(plain), v.base16);
    EXPECT_EQ(Base64Encode(plain), v.base64);
    EXPECT_EQ(Base64UrlEncode(plain), v.base64url);
    auto h = HexDecode(v.base16);
    ASSERT_TRUE(h.ok());
    EXPECT_EQ(*h, plain);
    auto b = Base64Decode(v.base64);
    ASSERT_TRUE(b.ok());
    EXPECT_EQ(*b, plain);
    auto u = Base64UrlDecode(v.base64url);
    ASSERT_TRUE(u.ok());
    EXPECT_EQ(*u, plain);
  }
}

TEST(BytesTest, HexEncodesLowerCaseAndDecodesEitherCase) {
  Bytes b = {0x00, 0x01, 0xab, 0xcd, 0xef, 0xfe, 0xff, 0x10};
  EXPECT_EQ(HexEncode(b), "0001abcdeffeff10");
  EXPECT_EQ(*HexDecode("0001ABCDEFFEFF10"), b);
  EXPECT_EQ(*HexDecode("0001AbCdEfFeFf10"), b);
  Bytes all = AllByteValues();
  std::string hex = HexEncode(all);
  ASSERT_EQ(hex.size(), 512u);
  EXPECT_EQ(hex.substr(0, 8), "00010203");
  EXPECT_EQ(hex.substr(504), "fcfdfeff");
  EXPECT_EQ(*HexDecode(hex), all);
}

TEST(BytesTest, RoundTripsAtEveryLength) {
  for (size_t n = 0; n <= 70; ++n) {
    Bytes b = Pattern(n, static_cast<uint32_t>(n));
    SCOPED_TRACE(n);
    auto h = HexDecode(HexEncode(b));
    ASSERT_TRUE(h.ok());
    EXPECT_EQ(*h, b);
    std::string std64 = Base64Encode(b);
    EXPECT_EQ(std64.size() % 4, 0u);
    auto s = Base64Decode(std64);
    ASSERT_TRUE(s.ok());
    EXPECT_EQ(*s, b);
    std::string url = Base64UrlEncode(b);
    EXPECT_EQ(url.find_first_of("+/="), std::string::npos) << url;
    auto u = Base64UrlDecode(url);
    ASSERT_TRUE(u.ok());
    EXPECT_EQ(*u, b);
  }
  Bytes all = AllByteValues();
  EXPECT_EQ(*Base64Decode(Base64Encode(all)), all);
  EXPECT_EQ(*Base64UrlDecode(Base64UrlEncode(all)), all);
}

TEST(BytesTest, Base64Alphabets) {
  // 0xfb 0xff 0xbf encodes to sextets 62 63 62 63.
  Bytes b = {0xfb, 0xff, 0xbf};
  EXPECT_EQ(Base64Encode(b), "+/+/");
  EXPECT_EQ(Base64UrlEncode(b), "-_-_");
  EXPECT_EQ(*Base64Decode("+/+/"), b);
  EXPECT_EQ(*Base64UrlDecode("-_-_"), b);
  // Each decoder refuses the other alphabet.
  EXPECT_FALSE(Base64Decode("-_-_").ok());
  EXPECT_FALSE(Base64UrlDecode("+/+/").ok());
  EXPECT_EQ(Base64Encode(ToBytes("hello")), "aGVsbG8=");
  EXPECT_EQ(Base64UrlEncode(ToBytes("hello")), "aGVsbG8");
}

TEST(BytesTest, HexRejectsInvalidInput) {
  for (std::string_view bad : {"0", "abc", "00112", "zz", "0g", "g0", "00zz", " 00", "00 ",
                               "0 0", "0x00", "00\n", "-1", "+1", "\xff\xff"}) {
    EXPECT_EQ(HexDecode(bad).status().code(), Code::kInvalidArgument) << "'" << bad << "'";
  }
  // An embedded NUL is not the end of the input.
  EXPECT_FALSE(HexDecode(std::string_view("00\0" "0", 4)).ok());
  EXPECT_FALSE(HexDecode(std::string_view("0\0", 2)).ok());
  auto empty = HexDecode("");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

TEST(BytesTest, Base64RejectsInvalidInput) {
  for (std::string_view bad : {
           "Z",           // too short for a byte
           "Zg",          // missing padding
           "Zg=",         // incomplete padding
           "Zm8==",       // too much padding
           "Zg===",       // too much padding
           "=",           // padding only
           "Zh==",        // non-zero trailing bits (non-canonical)
           "Zm9=",        // non-zero trailing bits
           "Zm9v!",       // trailing garbage
           "aGVsbG8=!",   // trailing garbage after padding
           "Zg==Zg==",    // data after padding
           "Zm9v\n",      // whitespace
           " Zm9v",       // whitespace
           "Zm 9v",       // whitespace
           "Zm9v-_",      // URL-safe alphabet
           "Zm9\xff",     // not ASCII
       }) {
    EXPECT_EQ(Base64Decode(bad).status().code(), Code::kInvalidArgument) << "'" << bad << "'";
  }
  EXPECT_FALSE(Base64Decode(std::string_view("Zm9v\0", 5)).ok());
  auto empty = Base64Decode("");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

TEST(BytesTest, Base64UrlRejectsInvalidInput) {
  for (std::string_view bad : {
           "Z",         // too short for a byte
           "Zg==",      // padding is not used
           "Zg=",       // padding is not used
           "Zm8=",      // padding is not used
           "Zh",        // non-zero trailing bits (non-canonical)
           "Zm9",       // non-zero trailing bits
           "Zm9vY",     // a lone sextet
           "Zm9v!",     // trailing garbage
           "Zm9v.",     // trailing garbage
           "Zm9v\n",    // whitespace
           "Zm 9v",     // whitespace
           "Zm9v+/",    // standard alphabet
           "Zm9\xff",   // not ASCII
       }) {
    EXPECT_EQ(Base64UrlDecode(bad).status().code(), Code::kInvalidArgument)
        << "'" << bad << "'";
  }
  EXPECT_FALSE(Base64UrlDecode(std::string_view("Zm9v\0", 5)).ok());
  auto empty = Base64UrlDecode("");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

// Exactly the 64 alphabet characters are accepted in a data position; in
// particular no byte >= 0x80 (libsodium 1.0.18 alone decodes those as 63).
TEST(BytesTest, Base64AcceptsOnlyItsAlphabet) {
  const std::string kStd =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const std::string kUrl =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  for (int c = 0; c < 256; ++c) {
    const char ch = static_cast<char>(c);
    for (size_t pos = 0; pos < 4; ++pos) {
      std::string text = "Zm9v";
      text[pos] = ch;
      auto s = Base64Decode(text);
      auto u = Base64UrlDecode(text);
      EXPECT_EQ(s.ok(), kStd.find(ch) != std::string::npos) << "byte " << c << " at " << pos;
      EXPECT_EQ(u.ok(), kUrl.find(ch) != std::string::npos) << "byte " << c << " at " << pos;
      if (s.ok()) {
        EXPECT_EQ(Base64Encode(*s), text);
      }
      if (u.ok()) {
        EXPECT_EQ(Base64UrlEncode(*u), text);
      }
    }
  }
}

TEST(BytesTest, StringHelpers) {
  std::string s("a\0b", 3);
  Bytes b = ToBytes(s);
  ASSERT_EQ(b.size(), 3u);
  EXPECT_EQ(b[1], 0);
  EXPECT_EQ(ToString(b), s);
  ByteSpan span = AsBytes(s);
  EXPECT_EQ(span.size(), 3u);
  EXPECT_EQ(static_cast<const void*>(span.data()), static_cast<const void*>(s.data()));
}

}  // namespace
}  // namespace vigil
