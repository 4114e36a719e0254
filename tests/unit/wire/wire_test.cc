#include "vigil/wire.h"

#include <gtest/gtest.h>

#include "vigil/crypto.h"
#include "vigil/identity.h"

namespace vigil::wire {
namespace {

v1::Request Ping() {
  v1::Request r;
  r.set_version(kProtocolVersion);
  r.set_request_id(7);
  r.mutable_ping();
  return r;
}

TEST(WireTest, RoundTripsARequest) {
  auto decoded = DecodeRequest(EncodeRequest(Ping()));
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(decoded->request_id(), 7u);
  EXPECT_TRUE(decoded->has_ping());
}

TEST(WireTest, RejectsUnknownVersion) {
  v1::Request r = Ping();
  r.set_version(2);
  auto decoded = DecodeRequest(EncodeRequest(r));
  EXPECT_EQ(decoded.status().code(), Code::kUnimplemented);
  EXPECT_NE(decoded.status().message().find("unsupported protocol version 2"), std::string::npos);
}

TEST(WireTest, RejectsGarbage) {
  Bytes garbage = {0xff, 0xff, 0xff, 0xff, 0x0f, 0x12};
  EXPECT_EQ(DecodeRequest(garbage).status().code(), Code::kInvalidArgument);
}

TEST(WireTest, RejectsMissingBodyAndZeroId) {
  v1::Request r;
  r.set_version(kProtocolVersion);
  r.set_request_id(1);
  EXPECT_EQ(DecodeRequest(EncodeRequest(r)).status().code(), Code::kInvalidArgument);
  v1::Request z = Ping();
  z.set_request_id(0);
  EXPECT_EQ(DecodeRequest(EncodeRequest(z)).status().code(), Code::kInvalidArgument);
}

TEST(WireTest, RejectsOversizedFrame) {
  Bytes big(kMaxMessageSize + 1, 0);
  EXPECT_EQ(DecodeRequest(big).status().code(), Code::kResourceExhausted);
}

TEST(WireTest, BoundsSendDeliveries) {
  v1::Request r;
  r.set_version(kProtocolVersion);
  r.set_request_id(1);
  auto* s = r.mutable_send();
  s->set_message_id(std::string(16, 'm'));
  EXPECT_FALSE(DecodeRequest(EncodeRequest(r)).ok());  // no deliveries
  for (int i = 0; i < kMaxDeliveries + 1; ++i) {
    auto* d = s->add_deliveries();
    d->set_device_id(std::string(16, 'd'));
    d->set_blob("x");
  }
  EXPECT_EQ(DecodeRequest(EncodeRequest(r)).status().code(), Code::kInvalidArgument);
  s->mutable_deliveries()->DeleteSubrange(1, kMaxDeliveries);
  EXPECT_TRUE(DecodeRequest(EncodeRequest(r)).ok());
  s->mutable_deliveries(0)->set_device_id("short");
  EXPECT_FALSE(DecodeRequest(EncodeRequest(r)).ok());
}

TEST(WireTest, ErrorsRoundTripThroughResponses) {
  v1::Response resp;
  SetError(&resp, Status::PermissionDenied("an invite may only be used to enroll"));
  Status s = StatusFromResponse(resp);
  EXPECT_EQ(s.code(), Code::kPermissionDenied);
  EXPECT_EQ(s.message(), "an invite may only be used to enroll");
  v1::Response ok;
  EXPECT_TRUE(StatusFromResponse(ok).ok());
}

class InviteTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(crypto::InitCrypto().ok()); }
};

TEST_F(InviteTest, RoundTrips) {
  identity::Invite inv{"tcp://127.0.0.1:7459", crypto::RandomBytes(32),
                       crypto::SecretBytes::Random(32)};
  std::string code = identity::EncodeInvite(inv);
  EXPECT_EQ(code.rfind("vigil-invite-1.", 0), 0u);
  auto back = identity::DecodeInvite(code + "\n");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->endpoint, inv.endpoint);
  EXPECT_EQ(back->relay_public_key, inv.relay_public_key);
  EXPECT_TRUE(crypto::ConstantTimeEqual(back->secret.span(), inv.secret.span()));
}

TEST_F(InviteTest, RejectsMalformedCodes) {
  identity::Invite inv{"tcp://127.0.0.1:7459", crypto::RandomBytes(32),
                       crypto::SecretBytes::Random(32)};
  std::string code = identity::EncodeInvite(inv);
  for (const std::string& bad :
       {std::string(""), std::string("hello"), std::string("vigil-invite-1."),
        std::string("vigil-invite-1.!!!!"), code.substr(0, code.size() - 5),
        std::string("vigil-invite-2.") + code.substr(15), code + "AAAA",
        std::string(5000, 'a')}) {
    auto r = identity::DecodeInvite(bad);
    EXPECT_FALSE(r.ok()) << bad;
  }
  identity::Invite bad_ep{"http://evil", crypto::RandomBytes(32), crypto::SecretBytes::Random(32)};
  EXPECT_FALSE(identity::DecodeInvite(identity::EncodeInvite(bad_ep)).ok());
}

TEST_F(InviteTest, TransportKeyIsDeterministicAndVerifierDiffers) {
  auto s = crypto::SecretBytes::Random(32);
  auto a = identity::InviteTransportKey(s);
  auto b = identity::InviteTransportKey(s);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->public_key, b->public_key);
  Bytes v = identity::InviteVerifier(s);
  EXPECT_EQ(v.size(), 32u);
  EXPECT_NE(v, a->public_key);
}

TEST_F(InviteTest, EndpointChecks) {
  EXPECT_TRUE(identity::CheckEndpoint("tcp://127.0.0.1:7450", false).ok());
  EXPECT_TRUE(identity::CheckEndpoint("tcp://[::1]:7450", false).ok());
  EXPECT_FALSE(identity::CheckEndpoint("tcp://127.0.0.1:0", false).ok());
  EXPECT_FALSE(identity::CheckEndpoint("tcp://127.0.0.1:70000", false).ok());
  EXPECT_FALSE(identity::CheckEndpoint("ipc:///tmp/x", false).ok());
  EXPECT_FALSE(identity::CheckEndpoint("tcp://127.0.0.1", false).ok());
}

TEST_F(InviteTest, DeviceCertificatesVerify) {
  auto id = crypto::GenerateSigningKeyPair();
  auto other = crypto::GenerateSigningKeyPair();
  Bytes dev_id = crypto::RandomBytes(16);
  auto dev = identity::CertifyDevice(id.secret_key, id.public_key, dev_id, crypto::RandomBytes(32),
                                     crypto::RandomBytes(32), 1234);
  ASSERT_TRUE(dev.ok());
  EXPECT_TRUE(identity::VerifyDevice(*dev, id.public_key).ok());
  EXPECT_TRUE(identity::VerifyDevice(*dev, {}).ok());
  EXPECT_EQ(identity::VerifyDevice(*dev, other.public_key).status().code(), Code::kUnauthenticated);
  // A forged certificate: same bytes, signature by another identity.
  auto forged = *dev;
  auto sig = crypto::Sign(other.secret_key,
                          identity::SignedBytes(identity::kDeviceCertLabel, AsBytes(forged.certificate())));
  forged.set_certificate_signature(ToString(*sig));
  EXPECT_FALSE(identity::VerifyDevice(forged, {}).ok());
  // Flip a certificate byte.
  auto tampered = *dev;
  std::string c = tampered.certificate();
  c[c.size() - 1] ^= 1;
  tampered.set_certificate(c);
  EXPECT_FALSE(identity::VerifyDevice(tampered, id.public_key).ok());
  // Certificate for another device id.
  auto moved = *dev;
  moved.set_device_id(std::string(16, 'x'));
  EXPECT_FALSE(identity::VerifyDevice(moved, id.public_key).ok());
}

}  // namespace
}  // namespace vigil::wire
