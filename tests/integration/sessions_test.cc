// Sessions between devices (issue #3): prekeys at the relay, X3DH
// fallbacks, and the relay's checks on what devices publish.
#include <gtest/gtest.h>

#include "team_fixture.h"
#include "vigil/session.h"
#include "vigil/store/v1/session.pb.h"
#include "vigil/wire.h"

namespace vigil {
namespace {

using testing::CommandResult;

class SessionsTest : public TeamTest {
 protected:
  void SetUp() override {
    TeamTest::SetUp();
    cora_ = Member("coordinator", "Cora", "cora pass");
    vic_ = Member("volunteer", "Vic", "vic pass");
  }
  Bytes DeviceId(const testing::ClientFixture& c) {
    auto cl = OpenInProcess(c);
    return cl ? cl->Transport()->device_id : Bytes();
  }
  std::unique_ptr<testing::ClientFixture> cora_, vic_;
};

TEST_F(SessionsTest, AnExhaustedOneTimePrekeyPoolFallsBackToTheSignedPrekeyAndIsRefilled) {
  Bytes vic_device = DeviceId(*vic_);
  net::Context ctx;
  auto raw = RawAs(*cora_, ctx);
  ASSERT_TRUE(raw);
  int with_one_time = 0;
  for (int i = 0; i < 60; ++i) {  // more than Vic published
    wire::v1::Request req;
    req.mutable_prekey_bundles()->add_device_ids(ToString(vic_device));
    auto r = raw->Call(req, 5000);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ASSERT_EQ(r->prekey_bundles().bundles_size(), 1);
    store::v1::PrekeyBundle b;
    ASSERT_TRUE(b.ParseFromString(r->prekey_bundles().bundles(0).bundle()));
    EXPECT_EQ(b.signed_prekey().public_key().size(), 32u);
    with_one_time += b.has_one_time_prekey();
  }
  EXPECT_EQ(with_one_time, 50);  // each one handed out once, then none

  CommandResult s = cora_->Run({"send", "--to", "Vic", "--text", "after the pool ran dry"});
  ASSERT_EQ(s.exit_code, 0) << s.err;
  ASSERT_EQ(vic_->Run({"sync"}).exit_code, 0);
  CommandResult inbox = vic_->Run({"inbox", "--json"});
  EXPECT_NE(inbox.out.find("after the pool ran dry"), std::string::npos) << inbox.out;

  // Vic's sync published a fresh batch.
  wire::v1::Request req;
  req.mutable_prekey_bundles()->add_device_ids(ToString(vic_device));
  auto r = raw->Call(req, 5000);
  ASSERT_TRUE(r.ok());
  store::v1::PrekeyBundle b;
  ASSERT_TRUE(b.ParseFromString(r->prekey_bundles().bundles(0).bundle()));
  EXPECT_TRUE(b.has_one_time_prekey());
}

TEST_F(SessionsTest, TheRelayRefusesASignedPrekeyNotSignedByTheDevice) {
  net::Context ctx;
  auto raw = RawAs(*vic_, ctx);
  ASSERT_TRUE(raw);
  auto other = crypto::GenerateSigningKeyPair();
  auto kp = crypto::GenerateDhKeyPair();
  auto spk = session::SignPrekey(other.secret_key, 99, kp, 1);
  ASSERT_TRUE(spk.ok());
  store::v1::SignedPrekey p;
  p.set_id(99);
  p.set_public_key(ToString(spk->public_key));
  p.set_created_at_ms(1);
  p.set_signature(ToString(spk->signature));
  wire::v1::Request req;
  req.mutable_publish_prekeys()->set_signed_prekey(p.SerializeAsString());
  auto r = raw->Call(req, 5000);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kUnauthenticated);
  // Garbage one-time prekeys too, and too many of them.
  wire::v1::Request junk;
  junk.mutable_publish_prekeys()->add_one_time_prekeys("junk");
  EXPECT_EQ(raw->Call(junk, 5000).status().code(), Code::kInvalidArgument);
  // Messages still flow.
  ASSERT_EQ(vic_->Run({"send", "--to", "Cora", "--text", "still fine"}).exit_code, 0);
  ASSERT_EQ(cora_->Run({"sync"}).exit_code, 0);
  EXPECT_NE(cora_->Run({"inbox", "--json"}).out.find("still fine"), std::string::npos);
}

TEST_F(SessionsTest, ManyMessagesBothWaysKeepTheRatchetInStep) {
  for (int i = 0; i < 4; ++i) {
    ASSERT_EQ(vic_->Run({"send", "--to", "Cora", "--text", "v" + std::to_string(i)}).exit_code, 0);
    ASSERT_EQ(vic_->Run({"send", "--to", "Cora", "--text", "w" + std::to_string(i)}).exit_code, 0);
    ASSERT_EQ(cora_->Run({"sync"}).exit_code, 0);
    ASSERT_EQ(cora_->Run({"send", "--to", "Vic", "--text", "c" + std::to_string(i)}).exit_code, 0);
    ASSERT_EQ(vic_->Run({"sync"}).exit_code, 0);
  }
  CommandResult ci = cora_->Run({"inbox", "--json"}), vi = vic_->Run({"inbox", "--json"});
  for (int i = 0; i < 4; ++i) {
    EXPECT_NE(ci.out.find("\"v" + std::to_string(i) + "\""), std::string::npos) << ci.out;
    EXPECT_NE(ci.out.find("\"w" + std::to_string(i) + "\""), std::string::npos) << ci.out;
    EXPECT_NE(vi.out.find("\"c" + std::to_string(i) + "\""), std::string::npos) << vi.out;
  }
  EXPECT_EQ(testing::CountOccurrences(cora_->Run({"sync"}).err, "rejected"), 0u);
}

}  // namespace
}  // namespace vigil
