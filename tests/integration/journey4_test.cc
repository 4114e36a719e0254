// ACCEPTANCE.md journey 4: a second device for the same volunteer, linked
// with a one-time code; it gets full history with signatures that verify;
// devices are listed and revoked. Plus the link's bad inputs.
#include <gtest/gtest.h>

#include "team_fixture.h"
#include "vigil/identity.h"
#include "vigil/storage.h"
#include "vigil/store/v1/store.pb.h"
#include "vigil/wire.h"

namespace vigil {
namespace {

using testing::CommandResult;

std::string FirstLine(const std::string& s) { return s.substr(0, s.find('\n')); }

class Journey4Test : public TeamTest {
 protected:
  void SetUp() override {
    TeamTest::SetUp();
    cora_ = Member("coordinator", "Cora", "cora pass");
    vic_ = Member("volunteer", "Vic", "vic pass");
    vic2_ = std::make_unique<testing::ClientFixture>(dir_, "Vic2", "vic pass 2");
    CommandResult r = cora_->Run({"visit", "assign", "--volunteer", "Vic", "--detainee", "D. Example", "--facility",
                                  "Theo Lacy", "--at", "2026-12-01T10:00-08:00"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    visit_ = FirstLine(r.out);
    ASSERT_EQ(vic_->Run({"sync"}).exit_code, 0);
    ASSERT_EQ(vic_->Run({"visit", "accept", visit_}).exit_code, 0);
    r = vic_->Run({"note", "add", "--visit", visit_, "--text", "Arrived 09:50."});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    note_ = FirstLine(r.out);
    ASSERT_EQ(vic_->Run({"note", "amend", note_, "--text", "Correction: arrived 09:55."}).exit_code, 0);
    ASSERT_EQ(cora_->Run({"send", "--to", "Vic", "--text", "thanks for going"}).exit_code, 0);
    ASSERT_EQ(vic_->Run({"sync"}).exit_code, 0);
  }
  std::unique_ptr<testing::ClientFixture> cora_, vic_, vic2_;
  std::string visit_, note_;
};

TEST_F(Journey4Test, ASecondDeviceGetsFullHistoryAndCanBeRevoked) {
  CommandResult code = vic_->Run({"device", "link"});
  ASSERT_EQ(code.exit_code, 0) << code.err;
  std::string link = FirstLine(code.out);
  ASSERT_EQ(link.rfind(identity::kLinkPrefix, 0), 0u) << link;
  ASSERT_EQ(vic2_->Run({"init"}).exit_code, 0);
  CommandResult join = vic2_->Run({"join", link});
  ASSERT_EQ(join.exit_code, 0) << join.err;
  std::string marker = "shows the same code: ";
  ASSERT_NE(join.out.find(marker), std::string::npos) << join.out;
  std::string sas = join.out.substr(join.out.find(marker) + marker.size(), 7);

  CommandResult vs = vic_->Run({"sync"});
  ASSERT_EQ(vs.exit_code, 0) << vs.err;
  EXPECT_NE(vs.err.find("same code: " + sas), std::string::npos) << "both devices show one code: " << vs.err;
  ASSERT_EQ(vic2_->Run({"sync"}).exit_code, 0);

  // Every note the first device has, with full history and valid signatures.
  CommandResult notes = vic2_->Run({"note", "list", "--json"});
  ASSERT_EQ(notes.exit_code, 0) << notes.err;
  EXPECT_NE(notes.out.find("Arrived 09:50."), std::string::npos) << notes.out;
  EXPECT_NE(notes.out.find("Correction: arrived 09:55."), std::string::npos) << notes.out;
  EXPECT_EQ(testing::CountOccurrences(notes.out, "\"signature\": \"valid\""), 2u) << notes.out;
  EXPECT_EQ(testing::CountOccurrences(notes.out, "\"status\": \"rejected\""), 0u) << notes.out;
  EXPECT_NE(vic2_->Run({"inbox", "--json"}).out.find("thanks for going"), std::string::npos);
  // The same member: one identity.
  std::string id1 = vic_->Run({"whoami"}).out, id2 = vic2_->Run({"whoami"}).out;
  auto fp = [](const std::string& w) { return w.substr(w.find("identity")); };
  EXPECT_EQ(fp(id1).substr(0, 60), fp(id2).substr(0, 60));

  // New traffic reaches both devices; the new device's notes reach the team.
  ASSERT_EQ(cora_->Run({"send", "--to", "Vic", "--text", "to both"}).exit_code, 0);
  ASSERT_EQ(vic2_->Run({"sync"}).exit_code, 0);
  EXPECT_NE(vic2_->Run({"inbox", "--json"}).out.find("to both"), std::string::npos);
  CommandResult add = vic2_->Run({"note", "add", "--visit", visit_, "--text", "written on the second device"});
  ASSERT_EQ(add.exit_code, 0) << add.err;
  ASSERT_EQ(cora_->Run({"sync"}).exit_code, 0);
  CommandResult cnotes = cora_->Run({"note", "show", FirstLine(add.out), "--json"});
  EXPECT_NE(cnotes.out.find("\"signature\": \"valid\""), std::string::npos) << cnotes.out;
  ASSERT_EQ(vic_->Run({"sync"}).exit_code, 0);
  EXPECT_NE(vic_->Run({"note", "list", "--json"}).out.find("written on the second device"), std::string::npos);

  // Both devices are listed; the current one is marked.
  CommandResult list = vic_->Run({"device", "list", "--json"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_EQ(testing::CountOccurrences(list.out, "\"id\""), 2u) << list.out;
  EXPECT_EQ(testing::CountOccurrences(list.out, "\"current\": true"), 1u) << list.out;
  auto cl2 = OpenInProcess(*vic2_);
  ASSERT_TRUE(cl2);
  std::string id_v2 = HexEncode(cl2->Transport()->device_id);
  cl2.reset();
  EXPECT_NE(list.out.find(id_v2), std::string::npos);

  // Revoked: the relay refuses it from then on; nobody encrypts to it.
  CommandResult rev = vic_->Run({"device", "revoke", id_v2});
  ASSERT_EQ(rev.exit_code, 0) << rev.err;
  EXPECT_NE(vic2_->Run({"sync"}).exit_code, 0);
  list = vic_->Run({"device", "list", "--json"});
  EXPECT_EQ(testing::CountOccurrences(list.out, "\"id\""), 1u) << list.out;
  CommandResult after = cora_->Run({"send", "--to", "Vic", "--text", "after the revocation"});
  EXPECT_EQ(after.exit_code, 0) << after.err;
  // A device cannot revoke itself, and an unknown id is a clear error.
  EXPECT_NE(vic_->Run({"device", "revoke", HexEncode(OpenInProcess(*vic_)->Transport()->device_id)}).exit_code, 0);
  EXPECT_NE(vic_->Run({"device", "revoke", "0123456789abcdef"}).exit_code, 0);
}

TEST_F(Journey4Test, ALinkCodeWorksOnceAndGarbageCodesAreRefused) {
  std::string link = FirstLine(vic_->Run({"device", "link"}).out);
  ASSERT_EQ(vic2_->Run({"init"}).exit_code, 0);
  ASSERT_EQ(vic2_->Run({"join", link}).exit_code, 0);
  testing::ClientFixture vic3(dir_, "Vic3", "vic pass 3");
  ASSERT_EQ(vic3.Run({"init"}).exit_code, 0);
  CommandResult again = vic3.Run({"join", link});
  EXPECT_NE(again.exit_code, 0);
  EXPECT_FALSE(again.err.empty());
  CommandResult garbage = vic3.Run({"join", std::string(identity::kLinkPrefix) + "AAAA"});
  EXPECT_NE(garbage.exit_code, 0);
  EXPECT_NE(garbage.err.find("not a valid Vigil link code"), std::string::npos) << garbage.err;
}

TEST_F(Journey4Test, ALinkRequestThatDoesNotProveTheCodeIsNeverCertified) {
  std::string link = FirstLine(vic_->Run({"device", "link"}).out);
  auto code = identity::DecodeLink(link);
  ASSERT_TRUE(code.ok());
  // Someone with the link's transport key (as the relay could fake) but a
  // wrong MAC.
  auto tk = identity::InviteTransportKey(code->secret);
  ASSERT_TRUE(tk.ok());
  net::Context ctx;
  auto conn = net::ClientConnection::Connect(ctx, code->endpoint, code->relay_public_key, tk->public_key,
                                             tk->secret_key);
  ASSERT_TRUE(conn.ok());
  ASSERT_TRUE((*conn)->WaitConnected(5000));
  store::v1::LinkRequest lr;
  lr.set_version(1);
  Bytes device = crypto::RandomBytes(16);
  lr.set_device_id(ToString(device));
  lr.set_signing_public_key(ToString(crypto::GenerateSigningKeyPair().public_key));
  lr.set_dh_public_key(ToString(crypto::GenerateDhKeyPair().public_key));
  lr.set_ephemeral_public_key(ToString(crypto::GenerateDhKeyPair().public_key));
  lr.set_mac(std::string(32, 'x'));
  wire::v1::Request req;
  req.mutable_link_device()->set_device_id(ToString(device));
  req.mutable_link_device()->set_device_transport_key(ToString(crypto::GenerateDhKeyPair().public_key));
  req.mutable_link_device()->set_request("vigil-link-request-1\n" + lr.SerializeAsString());
  ASSERT_TRUE((*conn)->Call(req, 5000).ok());
  CommandResult vs = vic_->Run({"sync"});
  EXPECT_NE(vs.exit_code, 0);
  EXPECT_NE(vs.err.find("does not prove knowledge of the link code"), std::string::npos) << vs.err;
  CommandResult list = vic_->Run({"device", "list", "--json"});
  EXPECT_EQ(list.out.find(HexEncode(device)), std::string::npos) << list.out;
  EXPECT_EQ(testing::CountOccurrences(list.out, "\"id\""), 1u) << list.out;
}

TEST_F(Journey4Test, AnExpiredLinkCodeIsForgottenAndItsRequestNeverCertified) {
  std::string link = FirstLine(vic_->Run({"device", "link"}).out);
  auto count = [&](const char* table) -> int64_t {
    auto db = storage::OpenStore(vic_->home(), "device", AsBytes(vic_->passphrase()));
    EXPECT_TRUE(db.ok()) << db.status().ToString();
    if (!db.ok()) return -1;
    auto st = db->Prepare(std::string("SELECT count(*) FROM ") + table);
    EXPECT_TRUE(st.ok());
    auto row = st->Step();
    EXPECT_TRUE(row.ok() && *row);
    return st->ColumnInt64(0);
  };
  ASSERT_EQ(count("pending_links"), 1);
  // On Vic's device the code expired more than an hour ago (as if its clock
  // had moved on); the relay, by its own clock, still takes the request.
  {
    auto db = storage::OpenStore(vic_->home(), "device", AsBytes(vic_->passphrase()));
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE(db->Exec("UPDATE pending_links SET expires_at = expires_at - 3 * 3600 * 1000").ok());
  }
  ASSERT_EQ(vic2_->Run({"init"}).exit_code, 0);
  ASSERT_EQ(vic2_->Run({"join", link}).exit_code, 0);
  CommandResult vs = vic_->Run({"sync"});
  EXPECT_NE(vs.err.find("came after its link code expired"), std::string::npos) << vs.out << vs.err;
  // Its secrets are gone, and the new device was never certified.
  EXPECT_EQ(count("pending_links"), 0);
  EXPECT_EQ(count("link_requests"), 0);
  CommandResult list = vic_->Run({"device", "list", "--json"});
  EXPECT_EQ(testing::CountOccurrences(list.out, "\"id\""), 1u) << list.out;
}

}  // namespace
}  // namespace vigil
