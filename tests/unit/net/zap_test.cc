// Nothing reaches the application unless the ZAP handler admitted the peer
// (issue #6 item 6): with no handler bound, a handler that is gone, one
// that refuses (as the relay's does when its store fails), or one that
// never answers, a CURVE client's messages never arrive. The first test is
// the control: the same client with a handler that admits it gets through.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "testing/testing.h"
#include "vigil/net.h"

namespace vigil::net {
namespace {

using Clock = std::chrono::steady_clock;

class ZapTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ASSERT_TRUE(crypto::InitCrypto().ok());
    PrepareProcess();
  }

  std::unique_ptr<ServerSocket> BindServer() {
    auto s = ServerSocket::Bind(ctx_, "tcp://127.0.0.1:" + std::to_string(testing::FreeLoopbackPort()),
                                server_.secret_key);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::move(*s) : nullptr;
  }

  // Answers ZAP requests with `auth` on a thread until the test ends.
  void Serve(std::unique_ptr<ZapHandler> zap, ZapAuthenticator auth) {
    zap_thread_ = std::thread([this, zap = std::move(zap), auth = std::move(auth)] {
      while (!stop_.load()) zap->ServeOne(50, auth).status().IgnoreError();
    });
  }

  void TearDown() override {
    stop_ = true;
    if (zap_thread_.joinable()) zap_thread_.join();
  }

  // A client with a fresh key connects and sends one frame ("hi"); what the
  // server's application receives within `wait_ms`, if anything.
  std::optional<Incoming> Deliver(ServerSocket& server, int wait_ms) {
    crypto::DhKeyPair client = crypto::GenerateDhKeyPair();
    auto conn = ClientConnection::Connect(ctx_, server.endpoint(), server_.public_key, client.public_key,
                                          client.secret_key);
    EXPECT_TRUE(conn.ok());
    if (!conn.ok()) return std::nullopt;
    auto deadline = Clock::now() + std::chrono::milliseconds(wait_ms);
    bool sent = false;
    while (Clock::now() < deadline) {
      if (!sent && (*conn)->WaitConnected(50)) sent = (*conn)->SendFrames({Bytes{0x68, 0x69}}).ok();
      auto ready = server.Poll(50);
      EXPECT_TRUE(ready.ok());
      auto in = server.TryReceive();
      EXPECT_TRUE(in.ok());
      if (in.ok() && *in) return std::move(**in);
    }
    return std::nullopt;
  }

  Context ctx_;
  crypto::DhKeyPair server_ = crypto::GenerateDhKeyPair();
  std::atomic<bool> stop_{false};
  std::thread zap_thread_;
};

TEST_F(ZapTest, AnAdmittedClientGetsThroughWithItsUserId) {
  auto zap = ZapHandler::Bind(ctx_);
  ASSERT_TRUE(zap.ok());
  auto server = BindServer();
  ASSERT_NE(server, nullptr);
  Serve(std::move(*zap), [](const ZapRequest& r) -> std::optional<std::string> {
    if (r.mechanism != "CURVE" || r.client_key.size() != 32) return std::nullopt;
    return "d:admitted";
  });
  auto in = Deliver(*server, 5000);
  ASSERT_TRUE(in.has_value()) << "the control case must get through";
  EXPECT_EQ(in->user_id, "d:admitted");
  EXPECT_EQ(in->body, (Bytes{0x68, 0x69}));
}

TEST_F(ZapTest, WithNoHandlerBoundNothingGetsThrough) {
  auto server = BindServer();
  ASSERT_NE(server, nullptr);
  EXPECT_FALSE(Deliver(*server, 1500).has_value());
}

TEST_F(ZapTest, WhenTheHandlerIsGoneNothingGetsThrough) {
  auto zap = ZapHandler::Bind(ctx_);
  ASSERT_TRUE(zap.ok());
  auto server = BindServer();
  ASSERT_NE(server, nullptr);
  zap->reset();  // the handler failed and its socket closed
  EXPECT_FALSE(Deliver(*server, 1500).has_value());
}

TEST_F(ZapTest, WhenTheHandlerRefusesNothingGetsThrough) {
  auto zap = ZapHandler::Bind(ctx_);
  ASSERT_TRUE(zap.ok());
  auto server = BindServer();
  ASSERT_NE(server, nullptr);
  std::atomic<int> asked{0};
  Serve(std::move(*zap), [&asked](const ZapRequest&) -> std::optional<std::string> {
    ++asked;
    return std::nullopt;  // e.g. the relay's store could not be read
  });
  EXPECT_FALSE(Deliver(*server, 1500).has_value());
  EXPECT_GT(asked.load(), 0) << "the handler should have been asked";
}

TEST_F(ZapTest, WhenTheHandlerNeverAnswersNothingGetsThrough) {
  auto zap = ZapHandler::Bind(ctx_);  // bound, but nobody serves it
  ASSERT_TRUE(zap.ok());
  auto server = BindServer();
  ASSERT_NE(server, nullptr);
  EXPECT_FALSE(Deliver(*server, 1500).has_value());
}

}  // namespace
}  // namespace vigil::net
