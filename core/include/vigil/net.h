// The only code that touches ZeroMQ (cppzmq). CurveZMQ sockets for the relay
// (ROUTER + ZAP handler) and the client (DEALER), bounded receives, and every
// zmq error turned into a Status. Nothing here knows about requests beyond
// frames of bytes, except ClientConnection::Call.
//
// Thread safety: a Context may be shared by threads; each socket object is
// used by one thread only.
#ifndef VIGIL_NET_H_
#define VIGIL_NET_H_

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "vigil/bytes.h"
#include "vigil/crypto.h"
#include "vigil/status.h"
#include "vigil/wire.h"

namespace vigil::net {

inline constexpr char kZapDomain[] = "vigil";
inline constexpr int kMaxFramesPerMessage = 2;  // ROUTER side: routing id + body

// Must be called once per process before any socket exists: seeds libzmq's
// routing-id generator (rand()) so that peers cannot predict ids.
void PrepareProcess();

class Context {
 public:
  Context();
  ~Context();
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;
  void* raw();  // the zmq::context_t, for this module's sockets
  // Shuts the context down so blocking calls in other threads return.
  void Shutdown();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// One request received by the server.
struct Incoming {
  Bytes routing_id;     // return address only; never an identity
  Bytes body;           // the last frame
  std::string user_id;  // from ZAP: who the peer is
  int frames = 0;       // body frames (excluding routing id) in the message
};

// A ZAP request (RFC 27) as the handler sees it.
struct ZapRequest {
  std::string domain;
  std::string address;
  std::string mechanism;
  Bytes client_key;  // CURVE public key, 32 bytes (empty for other mechanisms)
};
// Returns the User-Id to admit the peer with, or nullopt to refuse.
using ZapAuthenticator = std::function<std::optional<std::string>(const ZapRequest&)>;

// Answers one ZAP request given as its frames (RFC 27: version, request id,
// domain, address, identity, mechanism, credentials...) with the six reply
// frames. Calls `auth` only for a well-formed CURVE request in kZapDomain;
// anything malformed gets status 500. ZapHandler::ServeOne is this plus the
// socket (and tests/fuzz/fuzz_zap_request.cc feeds it arbitrary frames).
std::vector<std::string> AnswerZap(const std::vector<std::string>& frames, const ZapAuthenticator& auth);

// The ZAP handler socket (REP on inproc://zeromq.zap.01). Bind it before any
// CURVE server socket binds.
class ZapHandler {
 public:
  static StatusOr<std::unique_ptr<ZapHandler>> Bind(Context& ctx);
  ~ZapHandler();
  // Waits up to timeout_ms for one ZAP request and answers it. Returns false
  // on timeout. Malformed requests are answered with status 500.
  StatusOr<bool> ServeOne(int timeout_ms, const ZapAuthenticator& auth);

 private:
  struct Impl;
  explicit ZapHandler(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// A ROUTER socket acting as CurveZMQ server, with ZMQ_ROUTER_MANDATORY,
// ZMQ_MAXMSGSIZE, ZAP domain enforcement, linger, handshake and heartbeat
// timeouts set.
class ServerSocket {
 public:
  static StatusOr<std::unique_ptr<ServerSocket>> Bind(
      Context& ctx, const std::string& endpoint, const crypto::SecretBytes& server_secret);
  ~ServerSocket();
  // Waits up to timeout_ms for input. Returns false on timeout or when a
  // signal interrupted the wait.
  StatusOr<bool> Poll(int timeout_ms);
  // Receives one whole message without blocking; nullopt when none waits.
  // Frames beyond kMaxFramesPerMessage are read and dropped (counted in
  // Incoming::frames) so that the caller can answer with an error.
  StatusOr<std::optional<Incoming>> TryReceive();
  // Sends without blocking. Unavailable when the peer is gone or its queue
  // is full (the message is dropped: pushes are hints, responses can be
  // re-requested).
  Status Send(ByteSpan routing_id, ByteSpan body);
  std::string endpoint() const;
  // Open TCP connections (accepted and not yet disconnected), from the
  // socket monitor; updated by Poll(). Safe to read from any thread.
  const std::atomic<int>& connections() const;

 private:
  struct Impl;
  explicit ServerSocket(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// A DEALER socket acting as CurveZMQ client of one relay.
class ClientConnection {
 public:
  // `server_public` is the relay's pinned CURVE key; `client` the device's
  // (or the invite's) CURVE key pair.
  static StatusOr<std::unique_ptr<ClientConnection>> Connect(
      Context& ctx, const std::string& endpoint, ByteSpan server_public,
      ByteSpan client_public, const crypto::SecretBytes& client_secret);
  ~ClientConnection();

  // Sends `request` (version and a fresh request_id are filled in) and waits
  // up to timeout_ms for its response, skipping notices. Unavailable when the
  // relay does not answer; the relay's error, if any, as the Status.
  StatusOr<wire::v1::Response> Call(wire::v1::Request request, int timeout_ms);

  // Waits until the connection (CurveZMQ handshake included) is up; false
  // on timeout. Call before SendFrames: sends fail fast while not connected.
  bool WaitConnected(int timeout_ms);

  // Raw access for tests and tools: send frames, receive one message.
  Status SendFrames(const std::vector<Bytes>& frames);
  StatusOr<std::optional<std::vector<Bytes>>> ReceiveFrames(int timeout_ms);

  // Notices (request_id 0) received while waiting in Call, oldest first.
  std::vector<wire::v1::Response> TakeNotices();

 private:
  struct Impl;
  explicit ClientConnection(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace vigil::net

#endif  // VIGIL_NET_H_
