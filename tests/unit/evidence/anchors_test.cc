// Commitments, the notary and the transparency log, through the real
// plugins (build/lib/vigil/plugins) loaded by the plugin host with an
// in-memory signing key and record store.
#include <gtest/gtest.h>

#include "vigil/crypto.h"
#include "vigil/evidence.h"
#include "vigil/plugin.h"

namespace vigil::evidence {
namespace {

class KeyAndRecords : public plugin::Services {
 public:
  explicit KeyAndRecords(const crypto::SigningKeyPair* key, std::vector<Bytes>* records)
      : key_(key), records_(records) {}
  StatusOr<Bytes> Sign(ByteSpan msg, Bytes* pub) override {
    *pub = key_->public_key;
    return crypto::Sign(key_->secret_key, msg);
  }
  StatusOr<Bytes> PublicKey() override { return key_->public_key; }
  StatusOr<uint64_t> Append(ByteSpan r) override {
    records_->emplace_back(r.begin(), r.end());
    return records_->size() - 1;
  }
  StatusOr<uint64_t> Count() override { return records_->size(); }
  StatusOr<Bytes> Get(uint64_t i) override {
    if (i >= records_->size()) return Status::NotFound("no record");
    return (*records_)[i];
  }

 private:
  const crypto::SigningKeyPair* key_;
  std::vector<Bytes>* records_;
};

class AnchorsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(crypto::InitCrypto().ok());
    key_ = crypto::GenerateSigningKeyPair();
    Reload();
  }
  void Reload() {
    host_.reset();
    plugin::HostOptions o;
    o.dir = VIGIL_PLUGIN_BUILD_DIR;
    o.only = {"notary", "tlog"};
    o.services = [this](const std::string& name) {
      return std::make_unique<KeyAndRecords>(&key_, &records_[name]);
    };
    auto h = plugin::Host::Load(o);
    ASSERT_TRUE(h.ok());
    host_ = std::move(*h);
    ASSERT_TRUE(host_->Has("notary"));
    ASSERT_TRUE(host_->Has("tlog"));
  }
  Bytes Digest(int i) { return crypto::Sha256(AsBytes("commitment " + std::to_string(i))); }

  crypto::SigningKeyPair key_;
  std::map<std::string, std::vector<Bytes>> records_;
  std::unique_ptr<plugin::Host> host_;
};

TEST(CommitmentTest, TextIsStableAndRoundTrips) {
  ASSERT_TRUE(crypto::InitCrypto().ok());
  Commitment c;
  c.note_id = Bytes(16, 0xab);
  c.version = 2;
  c.signed_sha256 = Bytes(32, 0x01);
  c.salt = Bytes(32, 0x02);
  c.previous = Bytes(32, 0x03);
  std::string text = CommitmentText(c);
  EXPECT_EQ(text,
            "vigil-commitment-v1\n"
            "note abababababababababababababababab\n"
            "version 2\n"
            "signed-sha256 0101010101010101010101010101010101010101010101010101010101010101\n"
            "salt 0202020202020202020202020202020202020202020202020202020202020202\n"
            "previous 0303030303030303030303030303030303030303030303030303030303030303\n");
  // Frozen: the digest that is stamped (sha256sum of the text above).
  EXPECT_EQ(HexEncode(CommitmentDigest(c)), HexEncode(crypto::Sha256(AsBytes(text))));
  auto back = ParseCommitment(text);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->salt, c.salt);
  EXPECT_EQ(back->previous, c.previous);
  c.previous.clear();
  EXPECT_NE(CommitmentText(c).find("previous none\n"), std::string::npos);
  EXPECT_TRUE(ParseCommitment(CommitmentText(c)).ok());
  // Strict: upper-case hex, missing lines, trailing text, CR are refused.
  std::string upper = text;
  upper.replace(upper.find("abab"), 4, "ABAB");
  EXPECT_FALSE(ParseCommitment(upper).ok());
  EXPECT_FALSE(ParseCommitment(text.substr(0, text.size() - 1)).ok());
  EXPECT_FALSE(ParseCommitment(text + "x\n").ok());
  std::string cr = text;
  cr.insert(cr.find('\n'), "\r");
  EXPECT_FALSE(ParseCommitment(cr).ok());
  // The salt hides the note: two salts, two unrelated digests.
  Commitment other = c;
  other.salt[0] ^= 1;
  EXPECT_NE(CommitmentDigest(c), CommitmentDigest(other));
}

TEST_F(AnchorsTest, NotarySignsDigestTimeAndSequence) {
  Bytes d = Digest(1);
  auto token = host_->Stamp("notary", d);
  ASSERT_TRUE(token.ok()) << token.status().ToString();
  auto t = VerifyNotaryToken(*token, d, key_.public_key);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->sequence, 1u);
  EXPECT_NEAR(static_cast<double>(t->time_ms), static_cast<double>(time(nullptr)) * 1000, 60000);
  // The signature is plain Ed25519 over the statement text.
  EXPECT_TRUE(crypto::Verify(key_.public_key, AsBytes(t->statement), t->signature).ok());
  EXPECT_EQ(host_->Verify("notary", d, *token).value(), t->time_ms);

  auto second = host_->Stamp("notary", Digest(2));
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(ParseNotaryToken(*second)->sequence, 2u);

  EXPECT_FALSE(VerifyNotaryToken(*token, Digest(2), key_.public_key).ok());             // other digest
  EXPECT_FALSE(VerifyNotaryToken(*token, d, crypto::GenerateSigningKeyPair().public_key).ok());  // other relay
  for (size_t i = 0; i < token->size(); ++i) {  // every byte matters
    Bytes bad = *token;
    bad[i] ^= 0x01;
    EXPECT_FALSE(VerifyNotaryToken(bad, d, key_.public_key).ok()) << "byte " << i;
  }
}

TEST_F(AnchorsTest, LogIncludesEveryDigestAndStaysConsistentAcrossRestarts) {
  std::vector<Bytes> tokens;
  for (int i = 0; i < 5; ++i) {
    auto t = host_->Stamp("tlog", Digest(i));
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    tokens.push_back(*t);
  }
  auto first = VerifyInclusionToken(tokens[1], Digest(1), key_.public_key);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->index, 1u);
  EXPECT_EQ(first->checkpoint.size, 2u);
  EXPECT_TRUE(host_->Verify("tlog", Digest(1), tokens[1]).ok());
  EXPECT_FALSE(VerifyInclusionToken(tokens[1], Digest(2), key_.public_key).ok());
  for (size_t i = 0; i < tokens[3].size(); i += 7) {
    Bytes bad = tokens[3];
    bad[i] ^= 0x01;
    EXPECT_FALSE(VerifyInclusionToken(bad, Digest(3), key_.public_key).ok()) << "byte " << i;
  }

  // A restarted log rebuilds the same tree from its records.
  Reload();
  auto cp_text = host_->Call("tlog", AsBytes("checkpoint\n"));
  ASSERT_TRUE(cp_text.ok()) << cp_text.status().ToString();
  auto cp = ParseCheckpoint(ToString(*cp_text), key_.public_key);
  ASSERT_TRUE(cp.ok()) << cp.status().ToString();
  EXPECT_EQ(cp->size, 5u);

  // Consistency from what a client saw earlier (size 2) to now.
  auto proof_text = host_->Call("tlog", AsBytes("consistency 2 5\n"));
  ASSERT_TRUE(proof_text.ok()) << proof_text.status().ToString();
  auto proof = ParseConsistency(ToString(*proof_text), 2, 5);
  ASSERT_TRUE(proof.ok()) << proof.status().ToString();
  EXPECT_TRUE(VerifyConsistency(2, 5, first->checkpoint.root, cp->root, *proof).ok());

  EXPECT_EQ(host_->Call("tlog", AsBytes("consistency 2 9\n")).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(host_->Call("tlog", AsBytes("drop table\n")).status().code(), Code::kInvalidArgument);
}

TEST_F(AnchorsTest, ARewrittenLogIsCaughtByConsistency) {
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(host_->Stamp("tlog", Digest(i)).ok());
  auto old_cp = ParseCheckpoint(ToString(*host_->Call("tlog", AsBytes("checkpoint\n"))), key_.public_key);
  ASSERT_TRUE(old_cp.ok());
  // The operator rewrites history: entry 2 replaced, then the log grows.
  records_["tlog"][2] = Digest(99);
  Reload();
  ASSERT_TRUE(host_->Stamp("tlog", Digest(4)).ok());
  auto new_cp = ParseCheckpoint(ToString(*host_->Call("tlog", AsBytes("checkpoint\n"))), key_.public_key);
  auto proof = ParseConsistency(ToString(*host_->Call("tlog", AsBytes("consistency 4 5\n"))), 4, 5);
  ASSERT_TRUE(proof.ok());
  EXPECT_FALSE(VerifyConsistency(4, 5, old_cp->root, new_cp->root, *proof).ok());
}

TEST_F(AnchorsTest, AnchorsNeedTheRelaysServices) {
  plugin::HostOptions o;
  o.dir = VIGIL_PLUGIN_BUILD_DIR;
  o.only = {"notary", "tlog"};
  auto h = plugin::Host::Load(o);  // no services: a client
  ASSERT_TRUE(h.ok());
  EXPECT_FALSE((*h)->Has("notary"));
  for (const auto& i : (*h)->Plugins()) {
    EXPECT_FALSE(i.ok);
    EXPECT_NE(i.problem.find("signing key"), std::string::npos) << i.problem;
  }
}

}  // namespace
}  // namespace vigil::evidence
