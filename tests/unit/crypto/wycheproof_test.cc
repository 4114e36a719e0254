// Every case of the Wycheproof vectors in tests/vectors/wycheproof, asserted
// against our wrappers. Valid cases must pass with the expected output;
// invalid ones must be refused.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "vigil/crypto.h"

namespace vigil::crypto {
namespace {

struct Case {
  int id = 0;
  std::string result;  // valid | invalid | acceptable
  std::string flags;
  std::vector<std::string> fields;  // hex, or "" for empty
  Bytes B(size_t i) const { return *HexDecode(fields[i]); }
};

// Reads a converted vector file; checks the count line so that a truncated
// file fails.
std::vector<Case> Load(const std::string& name, size_t nfields) {
  std::ifstream in(std::string(VIGIL_TEST_VECTORS_DIR) + "/wycheproof/" + name + ".txt");
  EXPECT_TRUE(in) << "missing vector file " << name;
  std::vector<Case> cases;
  size_t declared = 0;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    if (line[0] == '#') {
      if (line.rfind("# count ", 0) == 0) declared = std::stoul(line.substr(8));
      continue;
    }
    std::istringstream ls(line);
    Case c;
    ls >> c.id >> c.result >> c.flags;
    std::string f;
    while (ls >> f) c.fields.push_back(f == "-" ? "" : f);
    EXPECT_EQ(c.fields.size(), nfields) << name << " case " << c.id;
    if (c.fields.size() == nfields) cases.push_back(std::move(c));
  }
  EXPECT_GT(cases.size(), 0u);
  EXPECT_EQ(cases.size(), declared) << name << ": file truncated?";
  return cases;
}

class WycheproofTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(InitCrypto().ok()); }
};

TEST_F(WycheproofTest, X25519) {
  auto cases = Load("x25519", 3);
  for (const auto& c : cases) {
    auto out = X25519Raw(c.B(0), c.B(1));
    Bytes want = c.B(2);
    bool zero = want == Bytes(32, 0);
    if (zero) {
      // Low-order public keys give an all-zero secret: always refused.
      EXPECT_FALSE(out.ok()) << "case " << c.id << " (" << c.flags << ")";
    } else if (c.result == "invalid") {
      EXPECT_TRUE(!out.ok() || *out != want) << "case " << c.id;
    } else {
      ASSERT_TRUE(out.ok()) << "case " << c.id << " (" << c.flags << ")";
      EXPECT_EQ(HexEncode(*out), c.fields[2]) << "case " << c.id;
    }
  }
}

TEST_F(WycheproofTest, Ed25519) {
  auto cases = Load("ed25519", 3);
  for (const auto& c : cases) {
    Status s = Verify(c.B(0), c.B(1), c.B(2));
    if (c.result == "valid") {
      EXPECT_TRUE(s.ok()) << "case " << c.id << " " << s.ToString();
    } else {
      EXPECT_FALSE(s.ok()) << "case " << c.id << " (" << c.flags << ")";
    }
  }
}

TEST_F(WycheproofTest, HkdfSha256) {
  auto cases = Load("hkdf_sha256", 5);
  for (const auto& c : cases) {
    size_t size = std::stoul(c.fields[3]);
    auto okm = Hkdf(c.B(1), c.B(0), c.B(2), size);
    if (c.result == "valid") {
      ASSERT_TRUE(okm.ok()) << "case " << c.id;
      EXPECT_EQ(HexEncode(okm->span()), c.fields[4]) << "case " << c.id;
    } else {
      EXPECT_FALSE(okm.ok()) << "case " << c.id << " (" << c.flags << ")";
    }
  }
}

TEST_F(WycheproofTest, HmacSha256) {
  auto cases = Load("hmac_sha256", 4);
  for (const auto& c : cases) {
    size_t tag_bytes = std::stoul(c.fields[0]) / 8;
    SecretBytes mac = HmacSha256(c.B(1), c.B(2));
    Bytes tag = c.B(3);
    bool match = tag.size() == tag_bytes && tag_bytes <= mac.size() &&
                 ConstantTimeEqual(ByteSpan(mac.data(), tag_bytes), tag);
    if (c.result == "valid") {
      EXPECT_TRUE(match) << "case " << c.id;
    } else {
      EXPECT_FALSE(match) << "case " << c.id << " (" << c.flags << ")";
    }
  }
}

TEST_F(WycheproofTest, XChaCha20Poly1305) {
  auto cases = Load("xchacha20_poly1305", 6);
  for (const auto& c : cases) {
    Bytes key = c.B(0), iv = c.B(1), aad = c.B(2), msg = c.B(3);
    Bytes ct_tag = c.B(4);
    Bytes tag = c.B(5);
    ct_tag.insert(ct_tag.end(), tag.begin(), tag.end());
    auto opened = AeadOpenRaw(key, iv, aad, ct_tag);
    auto sealed = AeadSealRaw(key, iv, aad, msg);
    if (c.result == "valid") {
      ASSERT_TRUE(opened.ok()) << "case " << c.id;
      EXPECT_EQ(*opened, msg) << "case " << c.id;
      ASSERT_TRUE(sealed.ok()) << "case " << c.id;
      EXPECT_EQ(*sealed, ct_tag) << "case " << c.id;
    } else {
      EXPECT_FALSE(opened.ok()) << "case " << c.id << " (" << c.flags << ")";
      if (iv.size() != kAeadNonceSize || key.size() != kAeadKeySize) {
        EXPECT_FALSE(sealed.ok()) << "case " << c.id;
      }
    }
  }
}

}  // namespace
}  // namespace vigil::crypto
