// The Vigil client library: one device's store (SQLCipher, under
// <home>/device.db and <home>/device.key), its keys, enrollment with a relay,
// the member directory with pinned identities, the outbox and sync. The CLI
// is a thin shell over this class.
//
// Durability order: a sent message is committed to the outbox before it goes
// to the relay; a received message is committed to the store before it is
// acknowledged (and so deleted) at the relay.
//
// Thread safety: a Client is used by one thread.
#ifndef VIGIL_CLIENT_LIB_CLIENT_H_
#define VIGIL_CLIENT_LIB_CLIENT_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "vigil/bytes.h"
#include "vigil/crypto.h"
#include "vigil/net.h"
#include "vigil/status.h"
#include "vigil/storage.h"

namespace vigil::client {

inline constexpr char kStoreName[] = "device";

struct WhoAmI {
  std::string name;  // empty until joined
  std::string role;
  Bytes device_id;
  std::string identity_fingerprint;
  std::string device_fingerprint;
  std::string relay_endpoint;
  std::string relay_fingerprint;
};

struct InboxMessage {
  std::string id;  // hex message id
  std::string from;
  std::string from_device;  // hex
  int64_t sent_at_ms = 0;
  int64_t received_at_ms = 0;
  std::string text;
};

struct RejectedMessage {
  std::string from_device;  // hex, as the relay reported it
  int64_t received_at_ms = 0;
  std::string reason;
};

struct SyncResult {
  int sent = 0;          // outbox entries delivered to the relay
  int outbox_left = 0;   // still queued
  int received = 0;      // new messages stored
  int duplicates = 0;    // already had them
  std::vector<RejectedMessage> rejected;
};

struct SendResult {
  std::string message_id;  // hex
  bool delivered = false;  // false: queued in the outbox (relay unreachable)
};

class Client {
 public:
  // Creates <home> with a new store and fresh identity and device keys.
  static StatusOr<std::unique_ptr<Client>> Init(const std::string& home, ByteSpan passphrase);
  // Opens an existing device store. Wrong passphrase: Unauthenticated with
  // storage::kWrongPassphrase.
  static StatusOr<std::unique_ptr<Client>> Open(const std::string& home, ByteSpan passphrase);
  ~Client();

  // Enrolls this device with the relay named in the invite code.
  Status Join(std::string_view invite_code);
  StatusOr<WhoAmI> Whoami();

  // Encrypts `text` to every active device of member `to` (and this member's
  // other devices), commits it to the outbox, then tries to deliver it.
  StatusOr<SendResult> SendText(const std::string& to, const std::string& text);
  // Delivers the outbox, then fetches, verifies, decrypts, stores and acks.
  StatusOr<SyncResult> Sync();
  StatusOr<std::vector<InboxMessage>> Inbox();

  // Transport keys and relay details, for tests and tools.
  struct TransportInfo {
    std::string endpoint;
    Bytes relay_public;
    Bytes transport_public;
    crypto::SecretBytes transport_secret;
    Bytes device_id;
  };
  StatusOr<TransportInfo> Transport();

  // Request timeout towards the relay (ms).
  void set_timeout_ms(int ms) { timeout_ms_ = ms; }

 private:
  Client(std::string home, storage::Db db);
  struct Keys;
  StatusOr<Keys> LoadKeys();
  StatusOr<net::ClientConnection*> Connection();
  Status FlushOutbox(SyncResult* result);
  Status FetchAll(SyncResult* result);

  std::string home_;
  storage::Db db_;
  std::unique_ptr<net::Context> ctx_;
  std::unique_ptr<net::ClientConnection> conn_;
  int timeout_ms_ = 10000;
};

}  // namespace vigil::client

#endif  // VIGIL_CLIENT_LIB_CLIENT_H_
