// Network hostility: peers without CURVE, with PLAIN, squatting routing ids,
// and hundreds of raw TCP connections sending garbage or stalling
// mid-handshake. None reaches the application; the relay keeps serving
// legitimate clients with bounded file descriptors.
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <thread>
#include <zmq.hpp>

#include "team_fixture.h"
#include "vigil/wire.h"

namespace vigil {
namespace {

using testing::CommandResult;

int CountFds(pid_t pid) {
  int n = 0;
  DIR* d = opendir(("/proc/" + std::to_string(pid) + "/fd").c_str());
  if (d == nullptr) return -1;
  while (readdir(d) != nullptr) ++n;
  closedir(d);
  return n - 2;
}

class HostileTest : public TeamTest {
 protected:
  // Sends a valid ping over a socket configured by `setup`; true if any
  // answer came back within `ms`.
  bool AnswersTo(const std::function<void(zmq::socket_t&)>& setup, int ms) {
    zmq::context_t ctx;
    zmq::socket_t s(ctx, zmq::socket_type::dealer);
    s.set(zmq::sockopt::linger, 0);
    setup(s);
    s.connect(relay_->endpoint());
    wire::v1::Request ping;
    ping.set_version(1);
    ping.set_request_id(9);
    ping.mutable_ping();
    Bytes body = wire::EncodeRequest(ping);
    s.send(zmq::buffer(body.data(), body.size()), zmq::send_flags::dontwait);
    zmq::pollitem_t item[] = {{s.handle(), 0, ZMQ_POLLIN, 0}};
    zmq::poll(item, 1, std::chrono::milliseconds(ms));
    return item[0].revents & ZMQ_POLLIN;
  }
};

TEST_F(HostileTest, NullAndPlainMechanismsGetNothing) {
  auto cora = Member("coordinator", "Cora", "cora pass");
  EXPECT_FALSE(AnswersTo([](zmq::socket_t&) {}, 1500)) << "NULL mechanism";
  EXPECT_FALSE(AnswersTo(
      [](zmq::socket_t& s) {
        s.set(zmq::sockopt::plain_username, "Cora");
        s.set(zmq::sockopt::plain_password, "cora pass");
      },
      1500))
      << "PLAIN mechanism";
  ExpectRelayServes(*cora);
}

TEST_F(HostileTest, ARoutingIdSquatterDoesNotCrashTheRelay) {
  auto cora = Member("coordinator", "Cora", "cora pass");
  auto vic = Member("volunteer", "Vic", "vic pass");
  auto t = OpenInProcess(*vic)->Transport();
  ASSERT_TRUE(t.ok());
  // An enrolled device that picks the ids an unseeded rand() would give the
  // ROUTER's next anonymous peers (libzmq: 0x00 + 4 bytes of rand()).
  std::vector<std::string> squats;
  std::srand(1);
  for (int i = 0; i < 4; ++i) {
    uint32_t r = static_cast<uint32_t>(std::rand());
    std::string id(1, '\0');
    for (int b = 3; b >= 0; --b) id.push_back(static_cast<char>((r >> (8 * b)) & 0xff));
    squats.push_back(id);
  }
  zmq::context_t ctx;
  std::vector<std::unique_ptr<zmq::socket_t>> socks;
  for (const auto& id : squats) {
    auto s = std::make_unique<zmq::socket_t>(ctx, zmq::socket_type::dealer);
    s->set(zmq::sockopt::linger, 0);
    s->set(zmq::sockopt::routing_id, id);
    s->set(zmq::sockopt::curve_serverkey, zmq::const_buffer(t->relay_public.data(), 32));
    s->set(zmq::sockopt::curve_publickey, zmq::const_buffer(t->transport_public.data(), 32));
    s->set(zmq::sockopt::curve_secretkey, zmq::const_buffer(t->transport_secret.data(), 32));
    s->connect(t->endpoint);
    socks.push_back(std::move(s));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  // Fresh, id-less peers keep arriving and being served.
  for (int i = 0; i < 3; ++i) ExpectRelayServes(*cora);
  EXPECT_TRUE(relay_->process()->running()) << relay_->process()->Stderr();
}

TEST_F(HostileTest, GarbageAndStalledTcpConnectionsLeaveTheRelayServing) {
  auto cora = Member("coordinator", "Cora", "cora pass");
  pid_t pid = relay_->process()->pid();
  int fds_before = CountFds(pid);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(relay_->port()));
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  std::vector<int> open_fds;
  const int kConnections = 1000;
  // This process holds all of them at once: raise its own soft limit.
  if (Status s = testing::RaiseOpenFileLimit(kConnections + 256); !s.ok()) GTEST_SKIP() << s.message();
  for (int i = 0; i < kConnections; ++i) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      close(fd);
      continue;
    }
    if (i % 3 == 0) {
      // A ZMTP greeting announcing CURVE, then a frame header claiming 1 GiB.
      unsigned char greeting[64] = {0xff, 0, 0, 0, 0, 0, 0, 0, 1, 0x7f, 3, 0, 'C', 'U', 'R', 'V', 'E'};
      (void)!write(fd, greeting, sizeof greeting);
      unsigned char big[9] = {0x06, 0, 0, 0, 0, 0x40, 0, 0, 0};
      (void)!write(fd, big, sizeof big);
    } else if (i % 3 == 1) {
      std::string junk(4096, static_cast<char>(i));
      (void)!write(fd, junk.data(), junk.size());
    }  // else: stall, sending nothing
    open_fds.push_back(fd);
  }
  ExpectRelayServes(*cora);
  for (int fd : open_fds) close(fd);
  // The relay's handshake timeout (5 s) reclaims stalled peers.
  int fds_after = -1;
  for (int i = 0; i < 100; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    fds_after = CountFds(pid);
    if (fds_after <= fds_before + 5) break;
  }
  EXPECT_LE(fds_after, fds_before + 5) << "descriptors leak: " << fds_before << " -> " << fds_after;
  std::string status = testing::ReadFile("/proc/" + std::to_string(pid) + "/status");
  size_t pos = status.find("VmHWM:");
  ASSERT_NE(pos, std::string::npos);
  EXPECT_LT(std::atoll(status.c_str() + pos + 6), 200 * 1024) << "peak RSS must stay bounded (KiB)";
  ExpectRelayServes(*cora);
}

TEST_F(HostileTest, AMessageOfManyFramesFromAnEnrolledDeviceIsRefused) {
  auto cora = Member("coordinator", "Cora", "cora pass");
  net::Context ctx;
  auto raw = RawAs(*cora, ctx);
  ASSERT_TRUE(raw);
  std::vector<Bytes> frames(100000, Bytes{1});
  ASSERT_TRUE(raw->SendFrames(frames).ok());
  auto got = raw->ReceiveFrames(10000);
  ASSERT_TRUE(got.ok());
  ASSERT_TRUE(got->has_value());
  auto resp = wire::DecodeResponse((*got)->back());
  ASSERT_TRUE(resp.ok());
  EXPECT_EQ(resp->error().code(), wire::v1::INVALID_ARGUMENT);
  ExpectRelayServes(*cora);
}

}  // namespace
}  // namespace vigil
