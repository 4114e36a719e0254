// The relay's SQLCipher store: configuration and keys, invites, members,
// devices and per-device mailboxes. Holds only routing data and ciphertext.
//
// Files: <data>/relay.db and <data>/relay.key (the wrapped store key).
// Thread safety: one RelayStore per thread; several may open the same data
// directory (the server, its ZAP thread, admin commands in other processes).
#ifndef VIGIL_RELAY_SERVER_RELAY_STORE_H_
#define VIGIL_RELAY_SERVER_RELAY_STORE_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "vigil/bytes.h"
#include "vigil/crypto.h"
#include "vigil/status.h"
#include "vigil/storage.h"
#include "vigil/wire.h"

namespace vigil::relay {

inline constexpr char kStoreName[] = "relay";

struct InviteRow {
  Bytes id;
  std::string role;
  std::string name;
  Bytes verifier;
  int64_t expires_at_ms = 0;
  std::optional<int64_t> used_at_ms;
};

struct DeviceRow {
  Bytes id;
  std::string member;
  std::string role;
  Bytes transport_key;
  Bytes certificate;
  Bytes certificate_signature;
  int64_t created_at_ms = 0;
  bool revoked = false;
};

struct MemberRow {
  std::string name;
  std::string role;
  Bytes identity_key;
  int64_t created_at_ms = 0;
  bool revoked = false;
  std::vector<DeviceRow> devices;
};

// Relay-wide settings and keys kept in the store.
struct RelayKeys {
  std::string listen;
  Bytes transport_public;          // CURVE server key
  crypto::SecretBytes transport_secret;
  Bytes signing_public;            // Ed25519 (notary)
  crypto::SecretBytes signing_secret;
};

bool IsValidRole(std::string_view role);
// The invites table also holds device links, with this role.
inline constexpr char kLinkRole[] = "link";
// 1..64 bytes of letters, digits, space, '.', '-', '_' (no control chars).
Status CheckMemberName(std::string_view name);

class RelayStore {
 public:
  // Creates <data_dir> with a new store, keys and the listen address.
  static StatusOr<RelayStore> Create(const std::string& data_dir, ByteSpan passphrase,
                                     const std::string& listen);
  // Opens an existing relay store. Wrong passphrase: Unauthenticated with
  // storage::kWrongPassphrase; missing: NotFound with a hint to run init.
  static StatusOr<RelayStore> Open(const std::string& data_dir, ByteSpan passphrase);
  // Opens a second connection with an already unwrapped key (ZAP thread).
  static StatusOr<RelayStore> OpenWithKey(const std::string& data_dir,
                                          const crypto::SecretBytes& key);

  StatusOr<RelayKeys> LoadKeys();

  // Transport-key rotation. Announce: a next CURVE key, signed by the relay
  // signing key, served to clients in Ping. Commit: the next key becomes the
  // current one (takes effect when serve restarts).
  struct Rotation {
    Bytes next_public;
    Bytes signature;
  };
  StatusOr<Rotation> AnnounceTransportKey();
  StatusOr<std::optional<Rotation>> PendingRotation();
  Status CommitTransportKey();
  const crypto::SecretBytes& store_key() const { return key_; }
  storage::Db& db() { return db_; }

  // --- invites ---
  // Returns the invite secret (only ever shown once, in the code).
  StatusOr<crypto::SecretBytes> CreateInvite(const std::string& role, const std::string& name,
                                             int64_t now_ms, int64_t expires_at_ms);
  // The same inside the caller's transaction (the server's batch).
  StatusOr<crypto::SecretBytes> CreateInviteInTxn(const std::string& role, const std::string& name,
                                                  int64_t now_ms, int64_t expires_at_ms);
  // Attachment chunks (ciphertext), stored once for all recipients.
  Status PutChunk(ByteSpan blob_id, uint32_t index, uint32_t count, ByteSpan data,
                  ByteSpan uploader, int64_t now_ms);
  StatusOr<std::pair<uint32_t, Bytes>> GetChunk(ByteSpan blob_id, uint32_t index);
  // Deletes mailbox items and blobs older than `cutoff_ms`; returns how many.
  StatusOr<int> PurgeOlderThan(int64_t cutoff_ms);
  StatusOr<std::optional<InviteRow>> FindInviteByTransportKey(ByteSpan key);
  StatusOr<std::optional<InviteRow>> FindInvite(ByteSpan id);

  // --- members and devices ---
  StatusOr<std::optional<DeviceRow>> FindDeviceByTransportKey(ByteSpan key);
  StatusOr<std::optional<DeviceRow>> FindDevice(ByteSpan id);
  StatusOr<std::optional<MemberRow>> FindMember(const std::string& name, bool with_devices);
  StatusOr<std::vector<MemberRow>> ListMembers();
  // Enrolls a member's first device and burns the invite, in the caller's
  // transaction.
  Status Enroll(const InviteRow& invite, ByteSpan identity_key,
                const wire::v1::DirectoryDevice& device, ByteSpan transport_key, int64_t now_ms);
  // Revokes a device (by hex id or prefix of at least 8 hex digits) or a
  // member (by name, all their devices). Returns what was revoked.
  StatusOr<std::string> Revoke(const std::string& target, int64_t now_ms);
  // Revokes one device in the caller's transaction (its queued mail and
  // prekeys are deleted).
  Status RevokeDeviceInTxn(ByteSpan device_id, int64_t now_ms);

  // --- timestamp plugin records (append-only, numbered from 0 per plugin) ---
  // Appends in its own transaction: durable when it returns.
  StatusOr<uint64_t> PluginAppend(const std::string& plugin, ByteSpan data, int64_t now_ms);
  StatusOr<uint64_t> PluginCount(const std::string& plugin);
  StatusOr<Bytes> PluginGet(const std::string& plugin, uint64_t index);
  // Text facts published by `serve` for `status` (loaded plugins, latest
  // log checkpoint).
  Status SetRuntimeText(const std::string& key, const std::string& value);
  StatusOr<std::optional<std::string>> GetRuntimeText(const std::string& key);

  // --- device linking ---
  // A link is an invite of role kLinkRole for an existing member; the relay
  // stores only the transport key and verifier derived from its secret.
  StatusOr<Bytes> CreateLink(const std::string& member, ByteSpan transport_key, ByteSpan verifier,
                             int64_t now_ms, int64_t expires_at_ms);
  // Adds an uncertified device (empty certificate: it may only fetch, ack
  // and ping) and burns the link, in the caller's transaction.
  Status AddLinkedDevice(const InviteRow& link, ByteSpan device_id, ByteSpan transport_key, int64_t now_ms);
  Status SetCertificate(ByteSpan device_id, ByteSpan certificate, ByteSpan signature, int64_t now_ms);

  // --- session prekeys (kind "signed" or "one"), in the caller's transaction ---
  Status PutPrekey(ByteSpan device_id, const std::string& kind, uint32_t key_id, ByteSpan data, int64_t now_ms);
  StatusOr<int64_t> CountPrekeys(ByteSpan device_id, const std::string& kind);
  // The newest signed prekey (remove = false) or the oldest one-time
  // prekey, removed so that it is handed out only once (remove = true).
  StatusOr<std::optional<Bytes>> TakePrekey(ByteSpan device_id, const std::string& kind, bool remove);
  Status DropOldSignedPrekeys(ByteSpan device_id, size_t keep);

  // --- mailboxes ---
  // Stores a delivery unless (device, message id) is already queued.
  // Returns true if newly stored.
  StatusOr<bool> StoreDelivery(ByteSpan device_id, ByteSpan message_id, ByteSpan from_device,
                               int64_t now_ms, ByteSpan blob);
  Status Fetch(ByteSpan device_id, uint64_t after_seq, int max_items, size_t max_bytes,
               wire::v1::FetchResponse* out);
  StatusOr<int> Ack(ByteSpan device_id, const std::vector<uint64_t>& seqs);
  StatusOr<uint64_t> LatestSeq(ByteSpan device_id);
  StatusOr<int64_t> MailboxBytes(ByteSpan device_id);

  void Audit(int64_t now_ms, const std::string& event, const std::string& detail);

  // Writes a consistent, encrypted copy of the store (same key) to `path`.
  Status ExportTo(const std::string& path);

  // Figures the serving relay publishes for `status` (started_at_ms,
  // heartbeat_ms, connected_devices).
  Status SetRuntime(const std::string& key, int64_t value);
  StatusOr<std::map<std::string, int64_t>> Runtime();

 private:
  RelayStore(storage::Db db, crypto::SecretBytes key) : db_(std::move(db)), key_(std::move(key)) {}
  storage::Db db_;
  crypto::SecretBytes key_;
};

int64_t NowMs();

}  // namespace vigil::relay

#endif  // VIGIL_RELAY_SERVER_RELAY_STORE_H_
