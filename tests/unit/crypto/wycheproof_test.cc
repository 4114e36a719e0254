// Every case of the Wycheproof vectors in tests/vectors/wycheproof (converted
// by tests/vectors/convert_wycheproof.py; format documented at the top of each
// file), asserted against our wrappers. Valid cases must succeed with the
// expected output; invalid cases must be refused. X25519 "acceptable" cases:
// an all-zero shared secret (low-order public key) must be refused, every
// other one must be computed exactly.
#include <gtest/gtest.h>

#include <charconv>
#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "vigil/bytes.h"
#include "vigil/crypto.h"

namespace vigil::crypto {
namespace {

struct Case {
  int id = 0;
  std::string result;              // valid | invalid | acceptable
  std::vector<std::string> flags;  // Wycheproof flags
  std::vector<std::string> text;   // each data column as written
  std::vector<Bytes> bytes;        // hex columns decoded (empty for numbers)
  std::vector<size_t> numbers;     // numeric columns (0 for hex columns)

  bool HasFlag(std::string_view f) const {
    for (const auto& x : flags) {
      if (x == f) return true;
    }
    return false;
  }
  std::string Label() const {
    std::string s = "tcId " + std::to_string(id) + " (" + result;
    for (const auto& f : flags) s += " " + f;
    return s + ")";
  }
};

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    size_t end = s.find(sep, start);
    out.push_back(s.substr(start, end == std::string_view::npos ? end : end - start));
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return out;
}

bool ParseDecimal(std::string_view s, size_t* out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

// Reads a converted vector file. `fields` are the data columns expected after
// "tcId result flags" (checked against the '# fields:' header line);
// `numeric` names the decimal ones. Fails unless the file is complete: at
// least one case, exactly as many as its '# count:' line declares, every line
// well formed, ids unique.
::testing::AssertionResult LoadFile(const std::string& path,
                                    const std::vector<std::string>& fields,
                                    const std::set<std::string>& numeric,
                                    std::vector<Case>* cases) {
  cases->clear();
  std::ifstream in(path, std::ios::binary);
  if (!in) return ::testing::AssertionFailure() << "cannot open " << path;
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string content = buffer.str();
  // A file cut inside a line would otherwise parse as a shorter last field.
  if (content.empty() || content.back() != '\n') {
    return ::testing::AssertionFailure() << path << ": does not end with a newline";
  }
  std::string want_fields = "tcId result flags";
  for (const auto& f : fields) want_fields += " " + f;

  bool have_fields = false;
  bool have_count = false;
  size_t declared = 0;
  std::set<int> ids;
  int lineno = 0;
  std::vector<std::string_view> lines = Split(content, '\n');
  lines.pop_back();  // the empty remainder after the final newline
  for (std::string_view line : lines) {
    ++lineno;
    auto fail = [&]() {
      return ::testing::AssertionFailure() << path << ":" << lineno << ": ";
    };
    if (line.empty()) return fail() << "empty line";
    if (line[0] == '#') {
      std::string_view l = line;
      if (l.starts_with("# fields: ")) {
        if (l.substr(10) != want_fields) {
          return fail() << "columns are '" << l.substr(10) << "', expected '"
                        << want_fields << "'";
        }
        have_fields = true;
      } else if (l.starts_with("# count: ")) {
        if (!ParseDecimal(l.substr(9), &declared)) return fail() << "bad count";
        have_count = true;
      }
      continue;
    }
    if (!have_fields || !have_count) return fail() << "case before the header";
    std::vector<std::string_view> cols = Split(line, ' ');
    if (cols.size() != 3 + fields.size()) {
      return fail() << cols.size() << " columns, expected " << 3 + fields.size();
    }
    Case c;
    size_t id = 0;
    if (!ParseDecimal(cols[0], &id) || id > 1000000) return fail() << "bad tcId";
    c.id = static_cast<int>(id);
    if (!ids.insert(c.id).second) return fail() << "duplicate tcId " << c.id;
    c.result = std::string(cols[1]);
    if (c.result != "valid" && c.result != "invalid" && c.result != "acceptable") {
      return fail() << "bad result '" << c.result << "'";
    }
    if (cols[2] != "-") {
      for (auto f : Split(cols[2], ',')) c.flags.emplace_back(f);
    }
    for (size_t i = 0; i < fields.size(); ++i) {
      std::string_view v = cols[3 + i];
      if (v.empty()) return fail() << "empty column " << fields[i];
      c.text.emplace_back(v == "-" ? std::string_view() : v);
      if (numeric.count(fields[i]) != 0) {
        size_t n = 0;
        if (!ParseDecimal(v, &n)) return fail() << "bad number in " << fields[i];
        c.numbers.push_back(n);
        c.bytes.emplace_back();
      } else {
        auto b = HexDecode(c.text.back());
        if (!b.ok()) return fail() << "bad hex in " << fields[i];
        c.numbers.push_back(0);
        c.bytes.push_back(std::move(*b));
      }
    }
    cases->push_back(std::move(c));
  }
  if (!have_fields || !have_count) {
    return ::testing::AssertionFailure() << path << ": header is incomplete";
  }
  if (cases->empty()) return ::testing::AssertionFailure() << path << ": no cases";
  if (cases->size() != declared) {
    return ::testing::AssertionFailure()
           << path << ": read " << cases->size() << " cases, the header declares "
           << declared << " (truncated file?)";
  }
  return ::testing::AssertionSuccess();
}

std::string VectorPath(std::string_view name) {
  return std::string(VIGIL_TEST_VECTORS_DIR) + "/wycheproof/" + std::string(name) +
         ".txt";
}

Bytes Concat(const Bytes& a, const Bytes& b) {
  Bytes out = a;
  out.insert(out.end(), b.begin(), b.end());
  return out;
}

class WycheproofTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(InitCrypto().ok()); }
};

TEST_F(WycheproofTest, X25519) {
  std::vector<Case> cases;
  ASSERT_TRUE(LoadFile(VectorPath("x25519"), {"private", "public", "shared"}, {}, &cases));
  int computed = 0, refused_low_order = 0;
  for (const Case& c : cases) {
    const Bytes& priv = c.bytes[0];
    const Bytes& pub = c.bytes[1];
    const Bytes& shared = c.bytes[2];
    StatusOr<Bytes> out = X25519Raw(priv, pub);
    bool zero = shared == Bytes(kX25519KeySize, 0);
    EXPECT_EQ(zero, c.HasFlag("ZeroSharedSecret")) << c.Label();
    if (c.result == "invalid") {
      EXPECT_FALSE(out.ok()) << c.Label();
    } else if (zero) {
      // A low-order public key: never a usable shared secret.
      EXPECT_EQ(out.status().code(), Code::kInvalidArgument) << c.Label();
      ++refused_low_order;
    } else {
      // Valid, and acceptable (twist points, non-canonical public keys):
      // RFC 7748 defines the result, which must be exact.
      ASSERT_TRUE(out.ok()) << c.Label() << ": " << out.status().ToString();
      EXPECT_EQ(HexEncode(*out), c.text[2]) << c.Label();
      ++computed;
    }
  }
  EXPECT_GT(computed, 0);
  EXPECT_GT(refused_low_order, 0);
  EXPECT_EQ(static_cast<size_t>(computed + refused_low_order), cases.size());
}

TEST_F(WycheproofTest, Ed25519) {
  std::vector<Case> cases;
  ASSERT_TRUE(LoadFile(VectorPath("ed25519"), {"publicKey", "msg", "sig"}, {}, &cases));
  int valid = 0, invalid = 0;
  for (const Case& c : cases) {
    Status s = Verify(c.bytes[0], c.bytes[1], c.bytes[2]);
    if (c.result == "valid") {
      EXPECT_TRUE(s.ok()) << c.Label() << ": " << s.ToString();
      ++valid;
    } else if (c.result == "invalid") {
      EXPECT_FALSE(s.ok()) << c.Label();
      EXPECT_TRUE(s.code() == Code::kUnauthenticated ||
                  s.code() == Code::kInvalidArgument)
          << c.Label() << ": " << s.ToString();
      ++invalid;
    } else {
      ADD_FAILURE() << c.Label() << ": no policy for acceptable Ed25519 cases";
    }
  }
  EXPECT_GT(valid, 0);
  EXPECT_GT(invalid, 0);
}

TEST_F(WycheproofTest, XChaCha20Poly1305) {
  std::vector<Case> cases;
  ASSERT_TRUE(LoadFile(VectorPath("xchacha20_poly1305"),
                       {"key", "iv", "aad", "msg", "ct", "tag"}, {}, &cases));
  int valid = 0, bad_tag = 0, bad_size = 0;
  for (const Case& c : cases) {
    const Bytes& key = c.bytes[0];
    const Bytes& iv = c.bytes[1];
    const Bytes& aad = c.bytes[2];
    const Bytes& msg = c.bytes[3];
    Bytes ct_tag = Concat(c.bytes[4], c.bytes[5]);  // our API: ciphertext||tag
    bool sizes_ok = key.size() == kAeadKeySize && iv.size() == kAeadNonceSize;
    StatusOr<Bytes> sealed = AeadSealRaw(key, iv, aad, msg);
    StatusOr<Bytes> opened = AeadOpenRaw(key, iv, aad, ct_tag);
    if (c.result == "valid") {
      EXPECT_TRUE(sizes_ok) << c.Label();
      EXPECT_EQ(c.bytes[5].size(), kAeadTagSize) << c.Label();
      ASSERT_TRUE(sealed.ok()) << c.Label() << ": " << sealed.status().ToString();
      EXPECT_EQ(HexEncode(*sealed), HexEncode(ct_tag)) << c.Label();
      ASSERT_TRUE(opened.ok()) << c.Label() << ": " << opened.status().ToString();
      EXPECT_EQ(HexEncode(*opened), c.text[3]) << c.Label();
      ++valid;
    } else if (c.result == "invalid" && !sizes_ok) {
      // Key or nonce of the wrong size: an error from both directions.
      EXPECT_EQ(sealed.status().code(), Code::kInvalidArgument) << c.Label();
      EXPECT_EQ(opened.status().code(), Code::kInvalidArgument) << c.Label();
      ++bad_size;
    } else if (c.result == "invalid") {
      EXPECT_EQ(opened.status().code(), Code::kUnauthenticated) << c.Label();
      // Sealing the same inputs gives the genuine ciphertext, never the forgery.
      ASSERT_TRUE(sealed.ok()) << c.Label();
      EXPECT_NE(*sealed, ct_tag) << c.Label();
      ++bad_tag;
    } else {
      ADD_FAILURE() << c.Label() << ": no policy for acceptable AEAD cases";
    }
  }
  EXPECT_GT(valid, 0);
  EXPECT_GT(bad_tag, 0);
  EXPECT_GT(bad_size, 0);
}

TEST_F(WycheproofTest, HkdfSha256) {
  std::vector<Case> cases;
  ASSERT_TRUE(LoadFile(VectorPath("hkdf_sha256"), {"ikm", "salt", "info", "size", "okm"},
                       {"size"}, &cases));
  int valid = 0, invalid = 0;
  for (const Case& c : cases) {
    size_t size = c.numbers[3];
    StatusOr<SecretBytes> okm = Hkdf(c.bytes[1], c.bytes[0], c.bytes[2], size);
    if (c.result == "valid") {
      ASSERT_TRUE(okm.ok()) << c.Label() << ": " << okm.status().ToString();
      EXPECT_EQ(okm->size(), size) << c.Label();
      EXPECT_EQ(HexEncode(okm->span()), c.text[4]) << c.Label();
      ++valid;
    } else if (c.result == "invalid") {
      EXPECT_GT(size, 255u * kSha256Size) << c.Label();
      EXPECT_EQ(okm.status().code(), Code::kInvalidArgument) << c.Label();
      ++invalid;
    } else {
      ADD_FAILURE() << c.Label() << ": no policy for acceptable HKDF cases";
    }
  }
  EXPECT_GT(valid, 0);
  EXPECT_GT(invalid, 0);
}

TEST_F(WycheproofTest, HmacSha256) {
  std::vector<Case> cases;
  ASSERT_TRUE(LoadFile(VectorPath("hmac_sha256"), {"tagSize", "key", "msg", "tag"},
                       {"tagSize"}, &cases));
  int valid = 0, invalid = 0;
  for (const Case& c : cases) {
    size_t tag_bits = c.numbers[0];
    ASSERT_TRUE(tag_bits % 8 == 0 && tag_bits > 0 && tag_bits <= 8 * kSha256Size)
        << c.Label();
    size_t tag_len = tag_bits / 8;
    SecretBytes mac = HmacSha256(c.bytes[1], c.bytes[2]);
    ASSERT_EQ(mac.size(), kSha256Size);
    const Bytes& tag = c.bytes[3];
    bool match = tag.size() == tag_len && ConstantTimeEqual(mac.span().first(tag_len), tag);
    if (c.result == "valid") {
      EXPECT_EQ(HexEncode(mac.span().first(tag_len)), c.text[3]) << c.Label();
      EXPECT_TRUE(match) << c.Label();
      ++valid;
    } else if (c.result == "invalid") {
      EXPECT_FALSE(match) << c.Label();
      ++invalid;
    } else {
      ADD_FAILURE() << c.Label() << ": no policy for acceptable HMAC cases";
    }
  }
  EXPECT_GT(valid, 0);
  EXPECT_GT(invalid, 0);
}

// The loader itself: a truncated or damaged file must fail, not pass quietly
// with fewer cases.
TEST(WycheproofLoaderTest, RejectsTruncatedAndMalformedFiles) {
  std::ifstream in(VectorPath("hmac_sha256"), std::ios::binary);
  ASSERT_TRUE(in);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string full = ss.str();
  const std::vector<std::string> fields = {"tagSize", "key", "msg", "tag"};
  const std::set<std::string> numeric = {"tagSize"};
  const std::string path = ::testing::TempDir() + "/vigil_wycheproof_loader_test.txt";
  auto load = [&](const std::string& text) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
    out.close();
    std::vector<Case> cases;
    return LoadFile(path, fields, numeric, &cases);
  };

  EXPECT_TRUE(load(full));
  // Drop the last case.
  std::string truncated = full.substr(0, full.rfind('\n', full.size() - 2) + 1);
  EXPECT_FALSE(load(truncated));
  // Cut inside the last line, even where the rest still looks well formed.
  EXPECT_FALSE(load(full.substr(0, full.size() - 10)));
  EXPECT_FALSE(load(full.substr(0, full.size() - 11)));
  // Header only.
  EXPECT_FALSE(load(full.substr(0, full.find("\n1 ") + 1)));
  // Wrong column list.
  std::string renamed = full;
  renamed.replace(renamed.find("# fields: "), 10, "# fields: x ");
  EXPECT_FALSE(load(renamed));
  // A non-hex byte in a tag.
  std::string garbled = full;
  garbled[garbled.size() - 2] = 'z';
  EXPECT_FALSE(load(garbled));
  std::remove(path.c_str());
  std::vector<Case> none;
  EXPECT_FALSE(LoadFile(path, fields, numeric, &none));  // missing file
}

}  // namespace
}  // namespace vigil::crypto
