// Sessions between devices (issue #3): prekeys at the relay, X3DH
// fallbacks, and the relay's checks on what devices publish.
#include <gtest/gtest.h>

#include "relay/server/relay_store.h"
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

namespace vigil {
namespace {

std::string FingerprintOf(const testing::ClientFixture& c) {
  std::string out = c.Run({"whoami", "--json"}).out;
  std::string key = "\"identity_fingerprint\": \"";
  size_t at = out.find(key);
  if (at == std::string::npos) return "";
  at += key.size();
  return out.substr(at, out.find('"', at) - at);
}

TEST_F(SessionsTest, MembersShowFingerprintsAndVerifiedMembersStayVerifiedAcrossNewDevices) {
  CommandResult m = cora_->Run({"members", "--json"});
  ASSERT_EQ(m.exit_code, 0) << m.err;
  std::string vic_fp = FingerprintOf(*vic_);
  ASSERT_FALSE(vic_fp.empty());
  EXPECT_NE(m.out.find(vic_fp), std::string::npos) << m.out;
  EXPECT_NE(m.out.find("\"verified\": false"), std::string::npos) << m.out;

  CommandResult wrong = cora_->Run({"verify-member", "Vic", "12345 67890 12345 67890 12345 67890"});
  EXPECT_NE(wrong.exit_code, 0);
  EXPECT_NE(wrong.err.find("does not match"), std::string::npos) << wrong.err;
  CommandResult right = cora_->Run({"verify-member", "Vic", vic_fp});
  ASSERT_EQ(right.exit_code, 0) << right.err;

  // A new device of Vic, certified by the same identity: still verified, no warning.
  testing::ClientFixture vic2(dir_, "Vic2", "vic pass 2");
  ASSERT_EQ(vic2.Run({"init"}).exit_code, 0);
  std::string link = vic_->Run({"device", "link"}).out;
  ASSERT_EQ(vic2.Run({"join", link.substr(0, link.find('\n'))}).exit_code, 0);
  ASSERT_EQ(vic_->Run({"sync"}).exit_code, 0);
  m = cora_->Run({"members", "--json"});
  EXPECT_EQ(m.exit_code, 0) << m.err;
  EXPECT_NE(m.out.find("\"verified\": true"), std::string::npos) << m.out;
  EXPECT_NE(m.out.find("\"devices\": 2"), std::string::npos) << m.out;
  EXPECT_EQ(m.out.find("warning"), std::string::npos) << m.out;

  // The relay then shows another identity key for Vic: loud, and refused.
  ASSERT_TRUE(relay_->Stop().ok());
  {
    auto store = relay::RelayStore::Open(relay_->data_dir(), AsBytes("relay pass"));
    ASSERT_TRUE(store.ok());
    auto st = store->db().Prepare("UPDATE members SET identity_key = ? WHERE name = 'Vic'");
    ASSERT_TRUE(st.ok());
    st->BindBlob(1, crypto::GenerateSigningKeyPair().public_key);
    ASSERT_TRUE(st->Run().ok());
  }
  ASSERT_TRUE(relay_->Restart().ok());
  m = cora_->Run({"members", "--json"});
  EXPECT_EQ(m.exit_code, 5) << m.out << m.err;
  EXPECT_NE(m.err.find("IDENTITY CHANGED for a VERIFIED member"), std::string::npos) << m.err;
  EXPECT_NE(m.out.find(vic_fp), std::string::npos) << "the pinned identity is kept: " << m.out;
  CommandResult send = cora_->Run({"send", "--to", "Vic", "--text", "must not go to a new identity"});
  EXPECT_NE(send.exit_code, 0);
}

}  // namespace
}  // namespace vigil
