// A real relay plus helpers to enroll members and to reach their stores and
// transport keys in-process, shared by the integration tests.
#ifndef VIGIL_TESTS_INTEGRATION_TEAM_FIXTURE_H_
#define VIGIL_TESTS_INTEGRATION_TEAM_FIXTURE_H_

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "client/lib/client.h"
#include "testing/testing.h"
#include "vigil/crypto.h"
#include "vigil/net.h"
#include "vigil/store/v1/store.pb.h"

namespace vigil {

class TeamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(crypto::InitCrypto().ok());
    relay_ = std::make_unique<testing::RelayFixture>(dir_);
    Status s = relay_->Start();
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  // init + join a member with a fresh invite.
  std::unique_ptr<testing::ClientFixture> Member(const std::string& role, const std::string& name,
                                                 const std::string& pass) {
    auto c = std::make_unique<testing::ClientFixture>(dir_, name, pass);
    std::string invite = relay_->Invite(role, name);
    EXPECT_FALSE(invite.empty());
    testing::CommandResult r = c->Run({"init"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    r = c->Run({"join", invite});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return c;
  }

  // Opens a member's store in-process (the CLI must not be running then).
  std::unique_ptr<client::Client> OpenInProcess(const testing::ClientFixture& c) {
    auto cl = client::Client::Open(c.home(), AsBytes(c.passphrase()));
    EXPECT_TRUE(cl.ok()) << cl.status().ToString();
    if (!cl.ok()) return nullptr;
    (*cl)->set_timeout_ms(5000);
    return std::move(cl).value();
  }

  // Sends a hand-made signed record as `who` to `to` (names), past every
  // check `who`'s own client would make: for forgery tests.
  void Inject(const testing::ClientFixture& who, const std::vector<std::string>& to,
              const store::v1::SignedObject& obj, bool is_note) {
    auto cl = OpenInProcess(who);
    ASSERT_TRUE(cl);
    store::v1::Payload p;
    p.set_version(1);
    p.set_message_id(ToString(crypto::RandomBytes(16)));
    p.set_from_name(cl->name_for_testing());
    p.set_sent_at_ms(1);
    if (is_note) *p.mutable_note_version() = obj;
    else *p.mutable_visit_event() = obj;
    Status s = cl->SendPayloadForTesting(to, p);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  // A raw CURVE connection with a member's device keys.
  std::unique_ptr<net::ClientConnection> RawAs(const testing::ClientFixture& c, net::Context& ctx) {
    auto cl = OpenInProcess(c);
    if (!cl) return nullptr;
    auto t = cl->Transport();
    EXPECT_TRUE(t.ok());
    auto conn = net::ClientConnection::Connect(ctx, t->endpoint, t->relay_public,
                                               t->transport_public, t->transport_secret);
    EXPECT_TRUE(conn.ok());
    EXPECT_TRUE((*conn)->WaitConnected(5000)) << "no connection to the relay";
    return std::move(conn).value();
  }

  // The relay still answers a legitimate client.
  void ExpectRelayServes(const testing::ClientFixture& c) {
    testing::CommandResult r = c.Run({"sync"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
  }

  testing::TempDir dir_;
  std::unique_ptr<testing::RelayFixture> relay_;
};

}  // namespace vigil

#endif  // VIGIL_TESTS_INTEGRATION_TEAM_FIXTURE_H_
