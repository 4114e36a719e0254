#include "client/lib/envelope.h"

#include <gtest/gtest.h>

namespace vigil::client {
namespace {

struct Device {
  Bytes id = crypto::RandomBytes(16);
  crypto::SigningKeyPair signing = crypto::GenerateSigningKeyPair();
  crypto::DhKeyPair dh = crypto::GenerateDhKeyPair();
};

class EnvelopeTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(crypto::InitCrypto().ok()); }
  Device sender_, r1_, r2_;
  Bytes message_id_ = crypto::RandomBytes(16);
  Bytes payload_ = ToBytes("Met D. at 10:05, asked for a Russian interpreter");

  std::vector<SealedForDevice> Seal() {
    auto sealed = SealEnvelope(message_id_, sender_.id, sender_.signing.secret_key,
                               {{r1_.id, r1_.dh.public_key}, {r2_.id, r2_.dh.public_key}}, payload_);
    EXPECT_TRUE(sealed.ok());
    return *sealed;
  }
};

TEST_F(EnvelopeTest, EachRecipientOpensItsOwn) {
  auto sealed = Seal();
  ASSERT_EQ(sealed.size(), 2u);
  for (int i = 0; i < 2; ++i) {
    const Device& r = i == 0 ? r1_ : r2_;
    auto env = ParseEnvelope(sealed[i].blob);
    ASSERT_TRUE(env.ok());
    ASSERT_TRUE(VerifyEnvelope(*env, sender_.signing.public_key).ok());
    auto plain = DecryptEnvelope(*env, r.id, r.dh.secret_key);
    ASSERT_TRUE(plain.ok()) << plain.status().ToString();
    EXPECT_EQ(Bytes(plain->span().begin(), plain->span().end()), payload_);
  }
  // r2 cannot open r1's envelope.
  auto env = ParseEnvelope(sealed[0].blob);
  EXPECT_FALSE(DecryptEnvelope(*env, r2_.id, r2_.dh.secret_key).ok());
}

TEST_F(EnvelopeTest, CiphertextHoldsNoPlaintext) {
  for (const auto& s : Seal()) {
    std::string blob = ToString(s.blob);
    EXPECT_EQ(blob.find("Russian"), std::string::npos);
  }
}

TEST_F(EnvelopeTest, EveryFlippedByteIsRejected) {
  Bytes blob = Seal()[0].blob;
  for (size_t i = 0; i < blob.size(); ++i) {
    Bytes t = blob;
    t[i] ^= 0x01;
    auto env = ParseEnvelope(t);
    if (!env.ok()) continue;  // structurally broken: rejected
    bool verified = VerifyEnvelope(*env, sender_.signing.public_key).ok();
    bool opened = DecryptEnvelope(*env, r1_.id, r1_.dh.secret_key).ok();
    EXPECT_FALSE(verified && opened) << "byte " << i << " flipped and still accepted";
    EXPECT_FALSE(verified) << "signature still valid after flipping byte " << i;
  }
}

TEST_F(EnvelopeTest, WrongSenderKeyFailsVerification) {
  auto env = ParseEnvelope(Seal()[0].blob);
  ASSERT_TRUE(env.ok());
  EXPECT_EQ(VerifyEnvelope(*env, r1_.signing.public_key).code(), Code::kUnauthenticated);
}

TEST_F(EnvelopeTest, RejectsGarbageAndOversize) {
  EXPECT_FALSE(ParseEnvelope(ToBytes("not an envelope at all")).ok());
  EXPECT_FALSE(ParseEnvelope(Bytes(kMaxEnvelopeSize + 1, 0)).ok());
  EXPECT_FALSE(ParseEnvelope(Bytes()).ok());
}

TEST_F(EnvelopeTest, RejectsLowOrderEphemeralKey) {
  auto env = ParseEnvelope(Seal()[0].blob);
  ASSERT_TRUE(env.ok());
  env->sealed.set_ephemeral_public_key(std::string(32, '\0'));
  EXPECT_EQ(DecryptEnvelope(*env, r1_.id, r1_.dh.secret_key).status().code(), Code::kUnauthenticated);
}

}  // namespace
}  // namespace vigil::client
