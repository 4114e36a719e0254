// ACCEPTANCE.md journey 2 and the Spine's bad-input cases, driven through
// the real vigil-relay process and real vigil clients on loopback.
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include "client/lib/client.h"
#include "team_fixture.h"
#include "testing/testing.h"
#include "vigil/crypto.h"
#include "vigil/identity.h"
#include "vigil/net.h"
#include "vigil/wire.h"

namespace vigil {
namespace {

using testing::ClientFixture;
using testing::CommandResult;
using testing::RelayFixture;
using testing::TempDir;

constexpr char kText[] = "Met D. at 10:05, asked for a Russian interpreter";

class Journey2Test : public TeamTest {};

TEST_F(Journey2Test, TwoMembersExchangeAnEncryptedNote) {
  auto cora = Member("coordinator", "Cora", "cora pass");
  auto vic = Member("volunteer", "Vic", "vic pass");
  CommandResult r = vic->Run({"send", "--to", "Cora", "--text", kText});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = cora->Run({"sync"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = cora->Run({"inbox", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find(kText), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"from\": \"Vic\""), std::string::npos) << r.out;

  r = relay_->Relay({"members", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("\"Cora\""), std::string::npos);
  EXPECT_NE(r.out.find("\"Vic\""), std::string::npos);
  EXPECT_NE(r.out.find("\"coordinator\""), std::string::npos);
  EXPECT_NE(r.out.find("\"volunteer\""), std::string::npos);
  EXPECT_NE(r.out.find("\"fingerprint\""), std::string::npos);

  // The relay's store never holds the plaintext.
  for (const char* f : {"/relay.db", "/relay.db-wal", "/relay.key"}) {
    std::string bytes = testing::ReadFile(relay_->data_dir() + f);
    EXPECT_EQ(testing::CountOccurrences(bytes, "Russian interpreter"), 0u) << f;
  }

  // A second sync is a no-op (the message was acknowledged and deleted).
  r = cora->Run({"sync", "--json"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("\"received\": 0"), std::string::npos) << r.out;

  // SIGTERM: exit 0 within 5 seconds.
  Status s = relay_->Stop();
  EXPECT_TRUE(s.ok()) << s.ToString();
}

TEST_F(Journey2Test, WhoamiShowsTheRelayFingerprintPrintedByInit) {
  auto cora = Member("coordinator", "Cora", "cora pass");
  CommandResult r = cora->Run({"whoami", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("\"name\": \"Cora\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(relay_->fingerprint()), std::string::npos) << r.out;
}

TEST_F(Journey2Test, AcknowledgedMessagesSurviveARelayRestart) {
  auto cora = Member("coordinator", "Cora", "cora pass");
  auto vic = Member("volunteer", "Vic", "vic pass");
  ASSERT_EQ(vic->Run({"send", "--to", "Cora", "--text", kText}).exit_code, 0);
  ASSERT_TRUE(relay_->Restart().ok());
  ASSERT_EQ(cora->Run({"sync"}).exit_code, 0);
  EXPECT_NE(cora->Run({"inbox", "--json"}).out.find(kText), std::string::npos);
}

TEST_F(Journey2Test, OfflineSendIsQueuedAndDeliveredBySync) {
  auto cora = Member("coordinator", "Cora", "cora pass");
  auto vic = Member("volunteer", "Vic", "vic pass");
  ASSERT_EQ(vic->Run({"send", "--to", "Cora", "--text", "first"}).exit_code, 0);
  ASSERT_TRUE(relay_->Stop().ok());
  CommandResult r = vic->Run({"send", "--to", "Cora", "--text", "written offline"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("queued"), std::string::npos) << r.err;
  ASSERT_TRUE(relay_->Restart().ok());
  r = vic->Run({"sync", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("\"sent\": 1"), std::string::npos) << r.out;
  ASSERT_EQ(cora->Run({"sync"}).exit_code, 0);
  r = cora->Run({"inbox", "--json"});
  EXPECT_NE(r.out.find("written offline"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("first"), std::string::npos) << r.out;
}

TEST_F(Journey2Test, WrongPassphraseIsOneClearError) {
  auto cora = Member("coordinator", "Cora", "cora pass");
  std::string before = testing::ReadFile(cora->home() + "/device.db");
  CommandResult r = cora->RunWithEnv({"inbox"}, {{"VIGIL_PASSPHRASE", "not it"}});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("wrong passphrase, or not a Vigil store"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_EQ(testing::ReadFile(cora->home() + "/device.db"), before);

  r = testing::RunCommand({testing::BinPath("vigil-relay"), "members", "--data", relay_->data_dir()},
                          {{"VIGIL_RELAY_PASSPHRASE", "not it"}});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("wrong passphrase, or not a Vigil store"), std::string::npos) << r.err;
  ExpectRelayServes(*cora);
}

TEST_F(Journey2Test, InviteWorksOnce) {
  std::string invite = relay_->Invite("volunteer", "Vic");
  ClientFixture a(dir_, "a", "pass a"), b(dir_, "b", "pass b");
  ASSERT_EQ(a.Run({"init"}).exit_code, 0);
  ASSERT_EQ(b.Run({"init"}).exit_code, 0);
  ASSERT_EQ(a.Run({"join", invite}).exit_code, 0);
  CommandResult r = b.Run({"join", invite});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("this invite has already been used"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find(invite), std::string::npos) << "error must not echo the invite";
  ExpectRelayServes(a);
}

TEST_F(Journey2Test, ExpiredInviteIsRefused) {
  CommandResult inv = relay_->Relay({"invite", "--role", "volunteer", "--name", "Late", "--expires", "1s"});
  ASSERT_EQ(inv.exit_code, 0) << inv.err;
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  ClientFixture late(dir_, "late", "late pass");
  ASSERT_EQ(late.Run({"init"}).exit_code, 0);
  CommandResult r = late.Run({"join", inv.out.substr(0, inv.out.find('\n'))});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("this invite has expired"), std::string::npos) << r.err;
}

TEST_F(Journey2Test, GarbageInviteIsRefused) {
  ClientFixture x(dir_, "x", "pass x");
  ASSERT_EQ(x.Run({"init"}).exit_code, 0);
  CommandResult r = x.Run({"join", "vigil-invite-1.AAAAbogus"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("not a valid Vigil invite code"), std::string::npos) << r.err;
}

TEST_F(Journey2Test, UnknownCurveKeyGetsNoAnswer) {
  auto cora = Member("coordinator", "Cora", "cora pass");
  auto t = OpenInProcess(*cora)->Transport();
  ASSERT_TRUE(t.ok());
  net::Context ctx;
  crypto::DhKeyPair stranger = crypto::GenerateDhKeyPair();
  auto conn = net::ClientConnection::Connect(ctx, t->endpoint, t->relay_public, stranger.public_key,
                                             stranger.secret_key);
  ASSERT_TRUE(conn.ok());
  wire::v1::Request ping;
  ping.mutable_ping();
  auto resp = (*conn)->Call(ping, 1500);
  EXPECT_EQ(resp.status().code(), Code::kUnavailable);
  ExpectRelayServes(*cora);
}

TEST_F(Journey2Test, InviteHolderMayOnlyEnroll) {
  auto cora = Member("coordinator", "Cora", "cora pass");
  std::string code = relay_->Invite("volunteer", "Pending");
  auto inv = identity::DecodeInvite(code);
  ASSERT_TRUE(inv.ok());
  auto key = identity::InviteTransportKey(inv->secret);
  ASSERT_TRUE(key.ok());
  net::Context ctx;
  auto conn = net::ClientConnection::Connect(ctx, inv->endpoint, inv->relay_public_key,
                                             key->public_key, key->secret_key);
  ASSERT_TRUE(conn.ok());
  wire::v1::Request req;
  req.mutable_directory()->add_names("Cora");
  auto resp = (*conn)->Call(req, 5000);
  EXPECT_EQ(resp.status().code(), Code::kPermissionDenied) << resp.status().ToString();
  ExpectRelayServes(*cora);
}

TEST_F(Journey2Test, RevokedDeviceIsRefusedAtOnceEvenOnAnOpenConnection) {
  auto cora = Member("coordinator", "Cora", "cora pass");
  auto vic = Member("volunteer", "Vic", "vic pass");
  net::Context ctx;
  auto raw = RawAs(*vic, ctx);
  ASSERT_TRUE(raw);
  wire::v1::Request ping;
  ping.mutable_ping();
  ASSERT_TRUE(raw->Call(ping, 5000).ok());

  CommandResult r = relay_->Relay({"revoke", "Vic"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto resp = raw->Call(ping, 5000);
  EXPECT_EQ(resp.status().code(), Code::kPermissionDenied) << resp.status().ToString();
  // A new connection is refused at the handshake.
  r = vic->Run({"sync"});
  EXPECT_NE(r.exit_code, 0);
  // Cora can no longer address Vic.
  r = cora->Run({"send", "--to", "Vic", "--text", "hello"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("no member named Vic"), std::string::npos) << r.err;
  ExpectRelayServes(*cora);
}

TEST_F(Journey2Test, MalformedUnknownVersionAndMultiFrameRequestsGetClearErrors) {
  auto cora = Member("coordinator", "Cora", "cora pass");
  net::Context ctx;
  auto raw = RawAs(*cora, ctx);
  ASSERT_TRUE(raw);

  auto expect_error = [&](const std::vector<Bytes>& frames, wire::v1::ErrorCode code,
                          const std::string& words) {
    ASSERT_TRUE(raw->SendFrames(frames).ok());
    auto got = raw->ReceiveFrames(5000);
    ASSERT_TRUE(got.ok());
    ASSERT_TRUE(got->has_value()) << "no answer for " << words;
    auto resp = wire::DecodeResponse((*got)->back());
    ASSERT_TRUE(resp.ok());
    EXPECT_EQ(resp->error().code(), code) << resp->error().message();
    EXPECT_NE(resp->error().message().find(words), std::string::npos) << resp->error().message();
  };
  expect_error({ToBytes("\xff\xff\xff garbage \x01\x02")}, wire::v1::INVALID_ARGUMENT, "malformed");
  wire::v1::Request v9;
  v9.set_version(9);
  v9.set_request_id(5);
  v9.mutable_ping();
  expect_error({wire::EncodeRequest(v9)}, wire::v1::UNIMPLEMENTED, "unsupported protocol version 9");
  wire::v1::Request ok;
  ok.set_version(1);
  ok.set_request_id(6);
  ok.mutable_ping();
  expect_error({wire::EncodeRequest(ok), wire::EncodeRequest(ok), wire::EncodeRequest(ok)},
               wire::v1::INVALID_ARGUMENT, "exactly one frame");
  ExpectRelayServes(*cora);
}

TEST_F(Journey2Test, OversizedFrameIsDroppedAndTheRelayKeepsServing) {
  auto cora = Member("coordinator", "Cora", "cora pass");
  net::Context ctx;
  auto raw = RawAs(*cora, ctx);
  ASSERT_TRUE(raw);
  ASSERT_TRUE(raw->SendFrames({Bytes(wire::kMaxMessageSize + 1024, 0x41)}).ok());
  auto got = raw->ReceiveFrames(1500);
  ASSERT_TRUE(got.ok());
  EXPECT_FALSE(got->has_value()) << "the relay must drop, not answer, an oversized frame";
  ExpectRelayServes(*cora);
}

TEST_F(Journey2Test, TamperedCiphertextIsRejectedAndReported) {
  auto cora = Member("coordinator", "Cora", "cora pass");
  auto vic = Member("volunteer", "Vic", "vic pass");
  // Vic sends a real message; we intercept nothing, but replay its sealed
  // bytes with one flipped bit under a new message id, as a hostile relay or
  // a buggy client would.
  auto vic_client = OpenInProcess(*vic);
  ASSERT_TRUE(vic_client);
  ASSERT_TRUE(vic_client->SendText("Cora", kText).ok());
  vic_client.reset();
  // Take the message as Cora's device would see it.
  net::Context ctx;
  auto cora_raw = RawAs(*cora, ctx);
  wire::v1::Request fetch;
  fetch.mutable_fetch();
  auto fr = cora_raw->Call(fetch, 5000);
  ASSERT_TRUE(fr.ok());
  ASSERT_EQ(fr->fetch().items_size(), 1);
  std::string blob = fr->fetch().items(0).blob();
  blob[blob.size() / 2] ^= 0x01;

  auto vic_raw = RawAs(*vic, ctx);
  wire::v1::Request send;
  send.mutable_send()->set_message_id(std::string(16, '\x42'));
  auto* d = send.mutable_send()->add_deliveries();
  auto cora_client = OpenInProcess(*cora);
  d->set_device_id(ToString(cora_client->Transport()->device_id));
  cora_client.reset();
  d->set_blob(blob);
  ASSERT_TRUE(vic_raw->Call(send, 5000).ok());

  CommandResult r = cora->Run({"sync"});
  EXPECT_NE(r.exit_code, 0) << "a rejected message must be reported";
  EXPECT_NE(r.err.find("rejected a message"), std::string::npos) << r.err;
  r = cora->Run({"inbox", "--json"});
  EXPECT_EQ(testing::CountOccurrences(r.out, kText), 1u) << "only the genuine copy";
  ExpectRelayServes(*cora);
}

TEST_F(Journey2Test, MessagesAreNotDeliveredTwice) {
  auto cora = Member("coordinator", "Cora", "cora pass");
  auto vic = Member("volunteer", "Vic", "vic pass");
  ASSERT_EQ(vic->Run({"send", "--to", "Cora", "--text", kText}).exit_code, 0);
  // Replay the same Send (same message id) as a retrying client would.
  net::Context ctx;
  auto cora_raw = RawAs(*cora, ctx);
  wire::v1::Request fetch;
  fetch.mutable_fetch();
  auto fr = cora_raw->Call(fetch, 5000);
  ASSERT_TRUE(fr.ok());
  ASSERT_EQ(fr->fetch().items_size(), 1);
  ASSERT_EQ(cora->Run({"sync"}).exit_code, 0);
  auto vic_raw = RawAs(*vic, ctx);
  wire::v1::Request send;
  send.mutable_send()->set_message_id(fr->fetch().items(0).message_id());
  auto* d = send.mutable_send()->add_deliveries();
  auto cora_client = OpenInProcess(*cora);
  d->set_device_id(ToString(cora_client->Transport()->device_id));
  cora_client.reset();
  d->set_blob(fr->fetch().items(0).blob());
  ASSERT_TRUE(vic_raw->Call(send, 5000).ok());
  ASSERT_EQ(cora->Run({"sync"}).exit_code, 0);
  CommandResult r = cora->Run({"inbox", "--json"});
  EXPECT_EQ(testing::CountOccurrences(r.out, kText), 1u) << r.out;
}


TEST_F(Journey2Test, ConnectedRecipientsGetAPushNotice) {
  auto cora = Member("coordinator", "Cora", "cora pass");
  auto vic = Member("volunteer", "Vic", "vic pass");
  net::Context ctx;
  auto raw = RawAs(*cora, ctx);
  ASSERT_TRUE(raw);
  wire::v1::Request ping;
  ping.mutable_ping();
  ASSERT_TRUE(raw->Call(ping, 5000).ok());  // the relay now knows where Cora is
  ASSERT_EQ(vic->Run({"send", "--to", "Cora", "--text", kText}).exit_code, 0);
  auto got = raw->ReceiveFrames(5000);
  ASSERT_TRUE(got.ok());
  ASSERT_TRUE(got->has_value()) << "no push notice arrived";
  auto resp = wire::DecodeResponse((*got)->back());
  ASSERT_TRUE(resp.ok());
  EXPECT_EQ(resp->request_id(), 0u);
  EXPECT_TRUE(resp->has_notice());
}

}  // namespace
}  // namespace vigil
