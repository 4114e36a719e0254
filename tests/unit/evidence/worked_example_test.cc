// The worked example of docs/EVIDENCE.md: the committed bundle under
// tests/vectors/evidence/bundle verifies, and every value the doc lists is
// what Vigil derives from it (so the doc cannot silently drift).
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "client/lib/bundle.h"
#include "client/lib/pem.h"
#include "vigil/crypto.h"
#include "vigil/evidence.h"
#include "vigil/identity.h"

namespace vigil {
namespace {

const std::string kBundle = std::string(VIGIL_TEST_VECTORS_DIR) + "/evidence/bundle";

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Bytes PemKey(const std::string& rel) {
  auto k = client::Ed25519FromPem(Slurp(kBundle + "/" + rel));
  EXPECT_TRUE(k.ok()) << rel;
  return k.ok() ? *k : Bytes();
}

// "<key> <value>" lines of the ```worked-example block.
std::vector<std::pair<std::string, std::string>> DocValues() {
  std::istringstream in(Slurp(std::string(VIGIL_TEST_VECTORS_DIR) + "/../../docs/EVIDENCE.md"));
  std::vector<std::pair<std::string, std::string>> out;
  std::string line;
  bool inside = false;
  while (std::getline(in, line)) {
    if (line == "```worked-example") {
      inside = true;
    } else if (inside && line == "```") {
      break;
    } else if (inside) {
      size_t sp = line.find(' ');
      out.emplace_back(line.substr(0, sp), sp == std::string::npos ? "" : line.substr(sp + 1));
    }
  }
  return out;
}

TEST(WorkedExampleTest, TheCommittedBundleVerifies) {
  ASSERT_TRUE(crypto::InitCrypto().ok());
  auto r = client::VerifyBundle(kBundle);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
}

TEST(WorkedExampleTest, EveryValueTheDocListsIsWhatVigilDerives) {
  ASSERT_TRUE(crypto::InitCrypto().ok());
  auto values = DocValues();
  ASSERT_GE(values.size(), 12u) << "the worked-example block of docs/EVIDENCE.md is missing or short";
  Bytes relay_key = PemKey("keys/relay.pem");
  size_t label = identity::SignedBytes("vigil/note-version/v1", {}).size();
  std::map<std::string, int> seen;
  for (const auto& [key, value] : values) {
    SCOPED_TRACE(key + " " + value);
    ++seen[key];
    size_t sp = value.find(' ');
    std::string subject = value.substr(0, sp), rest = sp == std::string::npos ? "" : value.substr(sp + 1);
    if (key == "relay-key-fingerprint") {
      EXPECT_EQ(value, crypto::Fingerprint("vigil/relay-signing", relay_key));
    } else if (key == "identity-fingerprint") {
      EXPECT_EQ(rest, crypto::Fingerprint("vigil/identity", PemKey("keys/identity-" + subject + ".pem")));
    } else if (key == "version-hash") {
      EXPECT_EQ(rest, HexEncode(crypto::Sha256(AsBytes(Slurp(kBundle + "/" + subject + ".signed").substr(label)))));
    } else if (key == "commitment-digest") {
      EXPECT_EQ(rest, HexEncode(crypto::Sha256(AsBytes(Slurp(kBundle + "/" + subject + ".commitment.txt")))));
    } else if (key == "tlog-leaf" || key == "tlog-root") {
      Bytes digest = crypto::Sha256(AsBytes(Slurp(kBundle + "/" + subject + ".commitment.txt")));
      auto t = evidence::VerifyInclusionToken(AsBytes(Slurp(kBundle + "/" + subject + ".tlog.txt")), digest,
                                              relay_key);
      ASSERT_TRUE(t.ok()) << t.status().ToString();
      EXPECT_EQ(rest, HexEncode(key == "tlog-leaf" ? evidence::LeafHash(digest) : t->checkpoint.root));
    } else if (key == "manifest-sha256") {
      EXPECT_EQ(value, HexEncode(crypto::Sha256(AsBytes(Slurp(kBundle + "/MANIFEST.sha256")))));
      auto st = evidence::ParseExportStatement(Slurp(kBundle + "/EXPORT.txt"));
      ASSERT_TRUE(st.ok());
      EXPECT_EQ(value, HexEncode(st->manifest_sha256));
    } else {
      ADD_FAILURE() << "unknown key in the worked example";
    }
  }
  // Every kind of value is listed, for both versions.
  EXPECT_EQ(seen["relay-key-fingerprint"], 1);
  EXPECT_EQ(seen["identity-fingerprint"], 2);
  for (const char* k : {"version-hash", "commitment-digest", "tlog-leaf", "tlog-root"}) EXPECT_EQ(seen[k], 2) << k;
  EXPECT_EQ(seen["manifest-sha256"], 1);
}

}  // namespace
}  // namespace vigil
