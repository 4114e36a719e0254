#include "vigil/net.h"

#include <sodium.h>
#include <zmq.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <zmq.hpp>

namespace vigil::net {
namespace {

Status FromZmq(const zmq::error_t& e, const char* what) {
  std::string m = std::string(what) + ": " + e.what();
  if (e.num() == ETERM) return Status::Unavailable(m);
  return Status::Internal(m);
}

Status SetIntOpt(zmq::socket_t& s, int opt, int value) {
  if (zmq_setsockopt(s.handle(), opt, &value, sizeof value) != 0) {
    return Status::Internal("zmq_setsockopt " + std::to_string(opt) + ": " +
                            zmq_strerror(zmq_errno()));
  }
  return Status::Ok();
}

Status SetInt64Opt(zmq::socket_t& s, int opt, int64_t value) {
  if (zmq_setsockopt(s.handle(), opt, &value, sizeof value) != 0) {
    return Status::Internal("zmq_setsockopt " + std::to_string(opt) + ": " +
                            zmq_strerror(zmq_errno()));
  }
  return Status::Ok();
}

Status SetBytesOpt(zmq::socket_t& s, int opt, const void* data, size_t len) {
  if (zmq_setsockopt(s.handle(), opt, data, len) != 0) {
    return Status::Internal("zmq_setsockopt " + std::to_string(opt) + ": " +
                            zmq_strerror(zmq_errno()));
  }
  return Status::Ok();
}

// Options both sides set: no lingering unsent data at close, bounded
// handshakes, heartbeats so dead peers are noticed, bounded frames.
Status CommonOptions(zmq::socket_t& s) {
  VIGIL_RETURN_IF_ERROR(SetIntOpt(s, ZMQ_LINGER, 0));
  VIGIL_RETURN_IF_ERROR(SetIntOpt(s, ZMQ_HANDSHAKE_IVL, 5000));
  VIGIL_RETURN_IF_ERROR(SetIntOpt(s, ZMQ_HEARTBEAT_IVL, 10000));
  VIGIL_RETURN_IF_ERROR(SetIntOpt(s, ZMQ_HEARTBEAT_TIMEOUT, 30000));
  VIGIL_RETURN_IF_ERROR(SetInt64Opt(s, ZMQ_MAXMSGSIZE,
                                    static_cast<int64_t>(wire::kMaxMessageSize)));
  return Status::Ok();
}

constexpr int kZapEnforceDomain = 93;
constexpr int kConnectTimeoutMs = 2500;  // ZMQ_ZAP_ENFORCE_DOMAIN (draft in 4.3.4)

}  // namespace

void PrepareProcess() {
  // libzmq draws auto-generated routing ids from rand(); an unseeded rand()
  // lets a peer squat the next id (which aborts libzmq). Seed it.
  std::srand(randombytes_random());
}

// --- Context ---

struct Context::Impl {
  zmq::context_t ctx{1};
};
Context::Context() : impl_(std::make_unique<Impl>()) {}
Context::~Context() = default;
void* Context::raw() { return &impl_->ctx; }
void Context::Shutdown() {
  try {
    impl_->ctx.shutdown();
  } catch (const zmq::error_t&) {
  }
}

static zmq::context_t& Ctx(Context& c) { return *static_cast<zmq::context_t*>(c.raw()); }

// --- ZapHandler ---

struct ZapHandler::Impl {
  explicit Impl(zmq::context_t& c) : sock(c, zmq::socket_type::rep) {}
  zmq::socket_t sock;
};
ZapHandler::ZapHandler(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ZapHandler::~ZapHandler() = default;

StatusOr<std::unique_ptr<ZapHandler>> ZapHandler::Bind(Context& ctx) {
  try {
    auto impl = std::make_unique<Impl>(Ctx(ctx));
    VIGIL_RETURN_IF_ERROR(SetIntOpt(impl->sock, ZMQ_LINGER, 0));
    impl->sock.bind("inproc://zeromq.zap.01");
    return std::unique_ptr<ZapHandler>(new ZapHandler(std::move(impl)));
  } catch (const zmq::error_t& e) {
    return FromZmq(e, "cannot bind the ZAP handler");
  }
}

std::vector<std::string> AnswerZap(const std::vector<std::string>& frames, const ZapAuthenticator& auth) {
  // RFC 27: version, request id, domain, address, identity, mechanism, credentials...
  std::string version = frames.size() > 0 ? frames[0] : "";
  std::string request_id = frames.size() > 1 ? frames[1] : "";
  std::string status = "500", text = "malformed ZAP request", user_id;
  if (frames.size() >= 6 && version == "1.0") {
    ZapRequest req;
    req.domain = frames[2];
    req.address = frames[3];
    req.mechanism = frames[5];
    if (req.mechanism == "CURVE" && frames.size() == 7 && frames[6].size() == 32) {
      req.client_key = ToBytes(frames[6]);
    }
    std::optional<std::string> uid;
    if (req.domain == kZapDomain && req.mechanism == "CURVE" && req.client_key.size() == 32) {
      uid = auth(req);
    }
    if (uid && !uid->empty()) {
      status = "200";
      text = "OK";
      user_id = *uid;
    } else {
      status = "400";
      text = "not enrolled";
    }
  }
  return {"1.0", request_id, status, text, user_id, ""};
}

StatusOr<bool> ZapHandler::ServeOne(int timeout_ms, const ZapAuthenticator& auth) {
  try {
    zmq::pollitem_t items[] = {{impl_->sock.handle(), 0, ZMQ_POLLIN, 0}};
    int n = zmq::poll(items, 1, std::chrono::milliseconds(timeout_ms));
    if (n == 0 || !(items[0].revents & ZMQ_POLLIN)) return false;
    std::vector<zmq::message_t> frames;
    bool more = true;
    while (more) {
      zmq::message_t m;
      if (!impl_->sock.recv(m, zmq::recv_flags::dontwait)) break;
      more = m.more();
      if (frames.size() < 16) frames.push_back(std::move(m));
    }
    std::vector<std::string> request;
    request.reserve(frames.size());
    for (const auto& f : frames) request.push_back(f.to_string());
    std::vector<std::string> reply = AnswerZap(request, auth);
    for (size_t i = 0; i < reply.size(); ++i) {
      impl_->sock.send(zmq::buffer(reply[i]),
                       i + 1 < reply.size() ? zmq::send_flags::sndmore : zmq::send_flags::none);
    }
    return true;
  } catch (const zmq::error_t& e) {
    if (e.num() == EINTR) return false;
    return FromZmq(e, "ZAP handler");
  }
}

// --- ServerSocket ---

struct ServerSocket::Impl {
  explicit Impl(zmq::context_t& c) : sock(c, zmq::socket_type::router), monitor(c, zmq::socket_type::pair) {}
  zmq::socket_t sock;
  zmq::socket_t monitor;
  std::string endpoint;
  std::atomic<int> connections{0};

  void DrainMonitor() {
    for (;;) {
      zmq::message_t ev;
      if (!monitor.recv(ev, zmq::recv_flags::dontwait)) return;
      bool more = ev.more();
      while (more) {  // the address frame
        zmq::message_t addr;
        if (!monitor.recv(addr, zmq::recv_flags::dontwait)) break;
        more = addr.more();
      }
      if (ev.size() < 2) continue;
      uint16_t id;
      std::memcpy(&id, ev.data(), 2);
      if (id == ZMQ_EVENT_ACCEPTED) ++connections;
      if (id == ZMQ_EVENT_DISCONNECTED && connections > 0) --connections;
    }
  }
};
ServerSocket::ServerSocket(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ServerSocket::~ServerSocket() {
  if (impl_) zmq_socket_monitor(impl_->sock.handle(), nullptr, 0);
}

StatusOr<std::unique_ptr<ServerSocket>> ServerSocket::Bind(
    Context& ctx, const std::string& endpoint, const crypto::SecretBytes& server_secret) {
  if (server_secret.size() != 32) return Status::InvalidArgument("CURVE secret key must be 32 bytes");
  try {
    auto impl = std::make_unique<Impl>(Ctx(ctx));
    zmq::socket_t& s = impl->sock;
    VIGIL_RETURN_IF_ERROR(CommonOptions(s));
    VIGIL_RETURN_IF_ERROR(SetIntOpt(s, ZMQ_ROUTER_MANDATORY, 1));
    VIGIL_RETURN_IF_ERROR(SetIntOpt(s, ZMQ_SNDHWM, 10000));
    VIGIL_RETURN_IF_ERROR(SetIntOpt(s, ZMQ_RCVHWM, 10000));
    VIGIL_RETURN_IF_ERROR(SetIntOpt(s, ZMQ_CURVE_SERVER, 1));
    VIGIL_RETURN_IF_ERROR(SetBytesOpt(s, ZMQ_CURVE_SECRETKEY, server_secret.data(), 32));
    VIGIL_RETURN_IF_ERROR(SetBytesOpt(s, ZMQ_ZAP_DOMAIN, kZapDomain, strlen(kZapDomain)));
    VIGIL_RETURN_IF_ERROR(SetIntOpt(s, kZapEnforceDomain, 1));
    static std::atomic<int> monitor_serial{0};
    std::string monitor_ep = "inproc://vigil-monitor-" + std::to_string(++monitor_serial);
    if (zmq_socket_monitor(s.handle(), monitor_ep.c_str(), ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_DISCONNECTED) != 0) {
      return Status::Internal("cannot monitor the relay socket");
    }
    impl->monitor.set(zmq::sockopt::linger, 0);
    impl->monitor.connect(monitor_ep);
    s.bind(endpoint);
    impl->endpoint = s.get(zmq::sockopt::last_endpoint);
    return std::unique_ptr<ServerSocket>(new ServerSocket(std::move(impl)));
  } catch (const zmq::error_t& e) {
    if (e.num() == EADDRINUSE) return Status::Unavailable("address in use: " + endpoint);
    return FromZmq(e, ("cannot listen on " + endpoint).c_str());
  }
}

std::string ServerSocket::endpoint() const { return impl_->endpoint; }

const std::atomic<int>& ServerSocket::connections() const { return impl_->connections; }

StatusOr<bool> ServerSocket::Poll(int timeout_ms) {
  try {
    zmq::pollitem_t items[] = {{impl_->sock.handle(), 0, ZMQ_POLLIN, 0},
                               {impl_->monitor.handle(), 0, ZMQ_POLLIN, 0}};
    int n = zmq::poll(items, 2, std::chrono::milliseconds(timeout_ms));
    if (items[1].revents & ZMQ_POLLIN) impl_->DrainMonitor();
    return n > 0 && (items[0].revents & ZMQ_POLLIN);
  } catch (const zmq::error_t& e) {
    if (e.num() == EINTR) return false;
    return FromZmq(e, "poll");
  }
}

StatusOr<std::optional<Incoming>> ServerSocket::TryReceive() {
  try {
    zmq::message_t first;
    if (!impl_->sock.recv(first, zmq::recv_flags::dontwait)) return std::optional<Incoming>();
    Incoming in;
    const auto* rid = static_cast<const uint8_t*>(first.data());
    in.routing_id.assign(rid, rid + first.size());
    bool more = first.more();
    while (more) {
      zmq::message_t m;
      // The rest of a multipart message is already here (atomic delivery).
      if (!impl_->sock.recv(m, zmq::recv_flags::dontwait)) break;
      more = m.more();
      ++in.frames;
      if (in.frames == 1) {
        const char* uid = zmq_msg_gets(m.handle(), "User-Id");
        in.user_id = uid != nullptr ? uid : "";
      }
      if (in.frames <= kMaxFramesPerMessage - 1) {
        const auto* d = static_cast<const uint8_t*>(m.data());
        in.body.assign(d, d + m.size());
      }
    }
    return std::optional<Incoming>(std::move(in));
  } catch (const zmq::error_t& e) {
    if (e.num() == EINTR) return std::optional<Incoming>();
    return FromZmq(e, "receive");
  }
}

Status ServerSocket::Send(ByteSpan routing_id, ByteSpan body) {
  try {
    auto r = impl_->sock.send(zmq::const_buffer(routing_id.data(), routing_id.size()),
                              zmq::send_flags::sndmore | zmq::send_flags::dontwait);
    if (!r) return Status::Unavailable("peer queue full");
    r = impl_->sock.send(zmq::const_buffer(body.data(), body.size()),
                         zmq::send_flags::dontwait);
    if (!r) return Status::Unavailable("peer queue full");
    return Status::Ok();
  } catch (const zmq::error_t& e) {
    if (e.num() == EHOSTUNREACH) return Status::Unavailable("peer is gone");
    return FromZmq(e, "send");
  }
}

// --- ClientConnection ---

struct ClientConnection::Impl {
  explicit Impl(zmq::context_t& c) : sock(c, zmq::socket_type::dealer) {}
  zmq::socket_t sock;
  uint64_t next_id = 0;
  std::vector<wire::v1::Response> notices;
};
ClientConnection::ClientConnection(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ClientConnection::~ClientConnection() = default;

StatusOr<std::unique_ptr<ClientConnection>> ClientConnection::Connect(
    Context& ctx, const std::string& endpoint, ByteSpan server_public,
    ByteSpan client_public, const crypto::SecretBytes& client_secret) {
  if (server_public.size() != 32 || client_public.size() != 32 || client_secret.size() != 32) {
    return Status::InvalidArgument("CURVE keys must be 32 bytes");
  }
  try {
    auto impl = std::make_unique<Impl>(Ctx(ctx));
    zmq::socket_t& s = impl->sock;
    VIGIL_RETURN_IF_ERROR(CommonOptions(s));
    VIGIL_RETURN_IF_ERROR(SetBytesOpt(s, ZMQ_CURVE_SERVERKEY, server_public.data(), 32));
    VIGIL_RETURN_IF_ERROR(SetBytesOpt(s, ZMQ_CURVE_PUBLICKEY, client_public.data(), 32));
    VIGIL_RETURN_IF_ERROR(SetBytesOpt(s, ZMQ_CURVE_SECRETKEY, client_secret.data(), 32));
    // Queue only to a completed connection, so that an unreachable relay is
    // noticed in seconds (POLLOUT never comes) instead of at the timeout.
    VIGIL_RETURN_IF_ERROR(SetIntOpt(s, ZMQ_IMMEDIATE, 1));
    s.connect(endpoint);
    // Request ids start at a random point so that responses to an earlier
    // process's requests are never mistaken for ours.
    impl->next_id = (crypto::RandomUint64() >> 2) + 1;
    return std::unique_ptr<ClientConnection>(new ClientConnection(std::move(impl)));
  } catch (const zmq::error_t& e) {
    return FromZmq(e, ("cannot connect to " + endpoint).c_str());
  }
}

bool ClientConnection::WaitConnected(int timeout_ms) {
  try {
    zmq::pollitem_t item[] = {{impl_->sock.handle(), 0, ZMQ_POLLOUT, 0}};
    zmq::poll(item, 1, std::chrono::milliseconds(timeout_ms));
    return (item[0].revents & ZMQ_POLLOUT) != 0;
  } catch (const zmq::error_t&) {
    return false;
  }
}

Status ClientConnection::SendFrames(const std::vector<Bytes>& frames) {
  try {
    for (size_t i = 0; i < frames.size(); ++i) {
      auto flags = i + 1 < frames.size() ? zmq::send_flags::sndmore : zmq::send_flags::none;
      if (!impl_->sock.send(zmq::const_buffer(frames[i].data(), frames[i].size()),
                            flags | zmq::send_flags::dontwait)) {
        return Status::Unavailable("relay is not reachable");
      }
    }
    return Status::Ok();
  } catch (const zmq::error_t& e) {
    return FromZmq(e, "send");
  }
}

StatusOr<std::optional<std::vector<Bytes>>> ClientConnection::ReceiveFrames(int timeout_ms) {
  try {
    zmq::pollitem_t items[] = {{impl_->sock.handle(), 0, ZMQ_POLLIN, 0}};
    int n = zmq::poll(items, 1, std::chrono::milliseconds(timeout_ms));
    if (n == 0 || !(items[0].revents & ZMQ_POLLIN)) return std::optional<std::vector<Bytes>>();
    std::vector<Bytes> frames;
    bool more = true;
    while (more) {
      zmq::message_t m;
      if (!impl_->sock.recv(m, zmq::recv_flags::dontwait)) break;
      more = m.more();
      if (frames.size() < 8) {
        const auto* d = static_cast<const uint8_t*>(m.data());
        frames.emplace_back(d, d + m.size());
      }
    }
    return std::optional<std::vector<Bytes>>(std::move(frames));
  } catch (const zmq::error_t& e) {
    if (e.num() == EINTR) return std::optional<std::vector<Bytes>>();
    return FromZmq(e, "receive");
  }
}

StatusOr<wire::v1::Response> ClientConnection::Call(wire::v1::Request request, int timeout_ms) {
  uint64_t id = impl_->next_id++;
  request.set_version(wire::kProtocolVersion);
  request.set_request_id(id);
  Bytes body = wire::EncodeRequest(request);
  if (body.size() > wire::kMaxMessageSize) {
    return Status::ResourceExhausted("request too large for the relay");
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  // Wait (briefly) for the CurveZMQ handshake: with ZMQ_IMMEDIATE the socket
  // is writable only once a connection is up.
  if (!WaitConnected(std::min(timeout_ms, kConnectTimeoutMs))) {
    return Status::Unavailable(
        "the relay is not reachable (no connection within a few seconds); is it running, and is "
        "this device enrolled?");
  }
  VIGIL_RETURN_IF_ERROR(SendFrames({body}));
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - std::chrono::steady_clock::now()).count();
    if (left <= 0) {
      return Status::Unavailable(
          "the relay did not answer; is it running, and is this device enrolled?");
    }
    VIGIL_ASSIGN_OR_RETURN(auto frames, ReceiveFrames(static_cast<int>(left)));
    if (!frames || frames->empty()) continue;
    auto decoded = wire::DecodeResponse(frames->back());
    if (!decoded.ok()) return decoded.status();
    wire::v1::Response r = std::move(decoded).value();
    if (r.request_id() == 0) {
      if (impl_->notices.size() < 64) impl_->notices.push_back(std::move(r));
      continue;
    }
    if (r.request_id() != id) continue;  // a late answer to an abandoned call
    VIGIL_RETURN_IF_ERROR(wire::StatusFromResponse(r));
    return r;
  }
}

std::vector<wire::v1::Response> ClientConnection::TakeNotices() {
  std::vector<wire::v1::Response> out;
  out.swap(impl_->notices);
  return out;
}

}  // namespace vigil::net
