// Envelopes v2: content sealed once and signed by the sender device; the key
// package travels through a pairwise session (here: real X3DH sessions).
#include "client/lib/envelope.h"

#include <gtest/gtest.h>

#include "vigil/session.h"

namespace vigil::client {
namespace {

struct Device {
  Bytes id = crypto::RandomBytes(16);
  crypto::SigningKeyPair signing = crypto::GenerateSigningKeyPair();
  crypto::DhKeyPair dh = crypto::GenerateDhKeyPair();
  session::DeviceIdentity identity() const { return {id, signing.public_key, dh.public_key}; }
};

class EnvelopeTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(crypto::InitCrypto().ok()); }

  // A session from sender_ to `to`, and the responder's side after the
  // first message.
  session::Session Start(const Device& to, session::PrekeySecret* spk_out) {
    spk_out->id = 7;
    spk_out->key_pair = crypto::GenerateDhKeyPair();
    auto spk = session::SignPrekey(to.signing.secret_key, 7, spk_out->key_pair, 1000);
    EXPECT_TRUE(spk.ok());
    session::PrekeyBundle b{to.identity(), *spk, std::nullopt, {}};
    auto s = session::Session::InitiateX3dh(sender_.identity(), sender_.dh.secret_key, b,
                                            crypto::GenerateDhKeyPair(), crypto::GenerateDhKeyPair());
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return std::move(*s);
  }

  Device sender_, r1_, r2_;
  Bytes message_id_ = crypto::RandomBytes(16);
  Bytes payload_ = ToBytes("Met D. at 10:05, asked for a Russian interpreter");
};

TEST_F(EnvelopeTest, ContentIsSealedOnceAndEachRecipientOpensItThroughItsSession) {
  auto content = SealContent(message_id_, sender_.id, sender_.signing.secret_key, payload_);
  ASSERT_TRUE(content.ok());
  for (const Device* r : {&r1_, &r2_}) {
    session::PrekeySecret spk;
    auto s = Start(*r, &spk);
    auto msg = s.Encrypt(content->key_package.span(), crypto::GenerateDhKeyPair());
    ASSERT_TRUE(msg.ok());
    Bytes blob = BuildEnvelope(message_id_, sender_.id, r->id, *msg, *content);
    auto env = ParseEnvelope(blob);
    ASSERT_TRUE(env.ok()) << env.status().ToString();
    EXPECT_EQ(env->content_ciphertext(), ToString(content->ciphertext));  // the same for everyone
    auto opened = session::Session::RespondX3dh(r->identity(), r->dh.secret_key, sender_.identity(), spk,
                                                nullptr, AsBytes(env->session_message()), 2000);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    auto plain = OpenContent(*env, opened->plaintext.span(), sender_.signing.public_key);
    ASSERT_TRUE(plain.ok()) << plain.status().ToString();
    EXPECT_EQ(ToString(plain->span()), ToString(payload_));
  }
}

TEST_F(EnvelopeTest, CiphertextHoldsNoPlaintext) {
  auto content = SealContent(message_id_, sender_.id, sender_.signing.secret_key, payload_);
  ASSERT_TRUE(content.ok());
  std::string ct = ToString(content->ciphertext);
  EXPECT_EQ(ct.find("Russian"), std::string::npos);
}

TEST_F(EnvelopeTest, EveryFlippedByteOfTheContentIsRejected) {
  auto content = SealContent(message_id_, sender_.id, sender_.signing.secret_key, payload_);
  ASSERT_TRUE(content.ok());
  Bytes blob = BuildEnvelope(message_id_, sender_.id, r1_.id, ToBytes("session"), *content);
  auto env = ParseEnvelope(blob);
  ASSERT_TRUE(env.ok());
  ASSERT_TRUE(OpenContent(*env, content->key_package.span(), sender_.signing.public_key).ok());
  for (size_t i = 0; i < env->content_ciphertext().size(); ++i) {
    auto bad = *env;
    (*bad.mutable_content_ciphertext())[i] ^= 0x01;
    EXPECT_FALSE(OpenContent(bad, content->key_package.span(), sender_.signing.public_key).ok()) << i;
  }
  auto other_id = *env;
  other_id.set_message_id(ToString(crypto::RandomBytes(16)));
  EXPECT_FALSE(OpenContent(other_id, content->key_package.span(), sender_.signing.public_key).ok());
  for (size_t i = 0; i < content->key_package.size(); ++i) {
    Bytes kp(content->key_package.span().begin(), content->key_package.span().end());
    kp[i] ^= 0x01;
    EXPECT_FALSE(OpenContent(*env, kp, sender_.signing.public_key).ok()) << i;
  }
}

TEST_F(EnvelopeTest, WrongSenderKeyFailsVerification) {
  auto content = SealContent(message_id_, sender_.id, sender_.signing.secret_key, payload_);
  ASSERT_TRUE(content.ok());
  auto env = ParseEnvelope(BuildEnvelope(message_id_, sender_.id, r1_.id, ToBytes("s"), *content));
  ASSERT_TRUE(env.ok());
  auto r = OpenContent(*env, content->key_package.span(), r1_.signing.public_key);
  EXPECT_EQ(r.status().code(), Code::kUnauthenticated);
}

TEST_F(EnvelopeTest, RejectsGarbageOversizeAndOtherVersions) {
  EXPECT_FALSE(ParseEnvelope(ToBytes("garbage")).ok());
  EXPECT_FALSE(ParseEnvelope(Bytes(kMaxEnvelopeSize + 1, 0)).ok());
  auto content = SealContent(message_id_, sender_.id, sender_.signing.secret_key, payload_);
  store::v1::SessionEnvelope e;
  ASSERT_TRUE(e.ParseFromString(ToString(BuildEnvelope(message_id_, sender_.id, r1_.id, ToBytes("s"), *content))));
  e.set_version(1);  // the interim envelope of the Spine work
  auto r = ParseEnvelope(ToBytes(e.SerializeAsString()));
  EXPECT_EQ(r.status().code(), Code::kUnimplemented);
  EXPECT_NE(r.status().message().find("upgrade"), std::string::npos);
}

}  // namespace
}  // namespace vigil::client
