// The Vigil client library: one device's store (SQLCipher, under
// <home>/device.db and <home>/device.key), its keys, enrollment with a relay,
// the member directory with pinned identities, the outbox and sync, and the
// visit and note records built on them. The CLI is a thin shell over this
// class.
//
// Durability order: anything a member writes (message, visit event, note
// version) is committed to the device store and the outbox before it goes to
// the relay; a received item is committed to the store before it is
// acknowledged (and so deleted) at the relay. The outbox keeps the plaintext
// payload and its recipients (inside the encrypted store) and seals it
// afresh on each attempt, so writing never needs the relay.
//
// Thread safety: a Client is used by one thread.
#ifndef VIGIL_CLIENT_LIB_CLIENT_H_
#define VIGIL_CLIENT_LIB_CLIENT_H_

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "vigil/bytes.h"
#include "client/lib/envelope.h"
#include "vigil/crypto.h"
#include "vigil/evidence.h"
#include "vigil/session.h"
#include "vigil/net.h"
#include "vigil/plugin.h"
#include "vigil/status.h"
#include "vigil/storage.h"
#include "vigil/store/v1/store.pb.h"

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
  int received = 0;      // new items stored
  int duplicates = 0;    // already had them
  std::vector<RejectedMessage> rejected;
  std::vector<std::string> problems;  // record-level problems found (gaps, bad chains)
  std::vector<std::string> notices;   // things to tell the user that are not problems (device linked)
};

struct DeviceInfo {
  std::string id;  // hex
  bool current = false;
  int64_t created_at_ms = 0;
  std::string fingerprint;
};

struct MemberInfo {
  std::string name;
  std::string role;
  std::string identity_fingerprint;  // of the identity this device pinned
  bool verified = false;             // compared out of band (vigil verify-member)
  int devices = 0;
  std::string warning;               // e.g. the relay showed another identity key
};

// A message this device sent (client/lib/app_support.cc).
struct SentMessage {
  std::string id;  // hex message id
  std::string to;
  int64_t sent_at_ms = 0;
  std::string text;
  bool delivered = false;  // false: still in the outbox
};

// A draft kept encrypted in the device store until it is saved as a note.
struct Draft {
  std::string key;
  std::string text;
  int64_t updated_ms = 0;
};

struct SendResult {
  std::string message_id;  // hex
  bool delivered = false;  // false: queued in the outbox (relay unreachable or refused)
  // Not OK when the relay answered with an error (disk full, a full mailbox):
  // the message stays queued and the next sync retries.
  Status refused;
};

struct VisitTeam {
  std::string coordinator;
  std::vector<std::string> volunteers;
  std::vector<std::string> legal;
};

struct VisitEventInfo {
  std::string id;
  std::string kind;  // assign | accept | decline | complete | cancel
  std::string author;
  int64_t created_at_ms = 0;
  std::string reason;
  std::string status;   // ok | rejected | pending
  std::string problem;  // why, when not ok
};

struct VisitInfo {
  std::string id;
  std::string status;  // assigned | accepted | declined | completed | cancelled
  VisitTeam team;
  std::string detainee;
  std::string a_number;
  std::string facility;
  std::string at;
  std::vector<VisitEventInfo> events;
};

struct AttachmentInfo {
  int index = 0;
  std::string name;
  uint64_t size = 0;
  std::string sha256;  // hex, as signed by the author
  std::string status;  // ok | pending (not downloaded yet) | rejected
  std::string problem;
};

struct AttachmentInput {
  std::string name;  // shown to readers; no path
  Bytes data;        // at most kMaxAttachmentSize
};
inline constexpr size_t kMaxAttachmentSize = 25 * 1024 * 1024;

// One timestamp of a note version.
struct AnchorInfo {
  std::string source;    // "notary" | "tlog" | "rfc3161 <url>"
  std::string plugin;    // "notary" | "tlog" | "rfc3161"
  std::string status;    // ok | pending | rejected
  int64_t time_ms = 0;   // the time the anchor asserts (ok only)
  std::string problem;   // why pending or rejected
};

struct NoteVersionInfo {
  std::string hash;  // hex SHA-256 of the signed body bytes
  int number = 0;
  std::string prev_hash;
  std::string author;
  std::string author_device;
  uint64_t device_seq = 0;
  int64_t created_at_ms = 0;   // author's device clock (signed)
  int64_t received_at_ms = 0;  // when this device stored it
  std::string text;
  std::vector<AttachmentInfo> attachments;
  bool signature_valid = false;
  std::string status;   // ok | rejected | pending
  std::string problem;
  std::string commitment;  // hex SHA-256 of the commitment text (what was stamped); empty if none
  std::vector<AnchorInfo> anchors;
};

struct StampSummary {
  int stamped = 0;   // new timestamps obtained and verified
  int pending = 0;   // still waiting (anchor unreachable: retried on sync)
  std::vector<std::string> problems;
};

struct TsaInfo {
  std::string url;
  std::string ca_subject;  // first certificate's subject line, as given
  int64_t added_at_ms = 0;
};

struct NoteInfo {
  std::string id;
  std::string visit_id;
  std::vector<NoteVersionInfo> versions;  // by number, then time
  std::vector<std::string> problems;      // branches, gaps
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
  // Coordinators only (the relay checks): a one-time invite code for a
  // volunteer or legal adviser. The code is a secret; show it once.
  StatusOr<std::string> CreateInvite(const std::string& role, const std::string& name,
                                     int64_t expires_in_s);

  // Encrypts `text` to every active device of member `to` (and this member's
  // other devices), commits it to the outbox, then tries to deliver it.
  StatusOr<SendResult> SendText(const std::string& to, const std::string& text);
  // Delivers the outbox, then fetches, verifies, decrypts, stores and acks.
  StatusOr<SyncResult> Sync();
  StatusOr<std::vector<InboxMessage>> Inbox();
  // Messages this device sent, oldest first, each delivered or still queued.
  StatusOr<std::vector<SentMessage>> SentMessages();

  // --- drafts (client/lib/app_support.cc): text kept encrypted in the
  //     device store; `key` is 1..100 of [A-Za-z0-9:._-] ---
  Status PutDraft(const std::string& key, const std::string& text);
  // NotFound when there is none.
  StatusOr<Draft> GetDraft(const std::string& key);
  Status DeleteDraft(const std::string& key);
  // Every draft's key and time (texts left out).
  StatusOr<std::vector<Draft>> ListDrafts();

  // For long-running programs (vigil app): forget that the relay proved
  // unreachable earlier in this process and drop the connection, so that the
  // next call tries the relay again.
  void RetryRelay();

  // --- visits (coordinators assign and cancel; the visit's volunteers
  //     accept, decline and complete) ---
  struct AssignRequest {
    std::vector<std::string> volunteers;
    std::vector<std::string> legal;
    std::string detainee;
    std::string a_number;
    std::string facility;
    std::string at;
  };
  // Returns the new visit id (hex).
  StatusOr<std::string> AssignVisit(const AssignRequest& request);
  Status VisitAction(const std::string& visit_id, store::v1::VisitEventKind kind,
                     const std::string& reason);
  StatusOr<std::vector<VisitInfo>> ListVisits();
  StatusOr<VisitInfo> ShowVisit(const std::string& visit_id);

  // --- notes ---
  // Returns the new note id (hex).
  StatusOr<std::string> AddNote(const std::string& visit_id, const std::string& text,
                                const std::vector<AttachmentInput>& attachments = {});
  // A new version of the note's latest version; returns it.
  StatusOr<NoteVersionInfo> AmendNote(const std::string& note_id, const std::string& text,
                                      const std::vector<AttachmentInput>& attachments = {});
  // The plaintext of attachment `index` of version `number` (0: latest).
  StatusOr<Bytes> AttachmentData(const std::string& note_id, int number, int index);
  StatusOr<std::vector<NoteInfo>> ListNotes(const std::optional<std::string>& visit_id);
  StatusOr<NoteInfo> ShowNote(const std::string& note_id);

  // --- members (client/lib/devices.cc) ---
  // Every member this device knows (refreshed from the relay's directory
  // when reachable), with the identity fingerprint pinned on first sight.
  StatusOr<std::vector<MemberInfo>> ListMembers();
  // Marks NAME verified if FINGERPRINT (digits; spaces ignored) is the
  // fingerprint of the identity this device pinned for them.
  Status VerifyMember(const std::string& name, const std::string& fingerprint);

  // --- devices (client/lib/devices.cc) ---
  // A one-time code (10 minutes) for linking a new device of this member.
  StatusOr<std::string> CreateLinkCode();
  // Joins with a link code made on another device of the member; returns
  // the short authentication string both devices show. The other device
  // certifies this one (and sends its archive) when it next syncs.
  StatusOr<std::string> JoinLink(std::string_view code);
  StatusOr<std::vector<DeviceInfo>> ListDevices();
  // Revokes another device of this member (id or a prefix of >= 8 hex).
  Status RevokeDevice(const std::string& id_or_prefix);

  // --- evidence (client/lib/evidence.cc, client/lib/bundle.cc) ---
  // Stamps every version of the note that lacks a timestamp from the given
  // plugins ("notary", "tlog", "rfc3161"; empty: all configured). Never
  // fails because an anchor is unreachable: those stay pending.
  StatusOr<StampSummary> StampNote(const std::string& note_id, const std::vector<std::string>& plugins);
  // Adds an RFC 3161 time-stamping authority (http or https URL) trusted
  // through the CA certificates in `ca_pem_file`.
  Status AddTsa(const std::string& url, const std::string& ca_pem_file);
  StatusOr<std::vector<TsaInfo>> ListTsas();
  // Writes an evidence bundle (docs/EVIDENCE.md) for one note, or for every
  // note of a visit, into `out_dir` (created; must not exist or be empty).
  Status Export(const std::string& id, bool is_visit, const std::string& out_dir);

  // --- device care ---
  struct DeviceStatus {
    bool joined = false;
    bool relay_reachable = false;
    std::string relay_endpoint;
    std::string relay_fingerprint;  // pinned at join; never changes silently
    int outbox = 0;                 // queued messages and records
    int pending_uploads = 0;        // attachment chunks not yet at the relay
    int64_t last_sync_ms = 0;       // 0: never
    bool log_alarm = false;         // the relay's log forked or shrank (never cleared silently)
    std::string log_alarm_reason;
    int pending_timestamps = 0;     // anchors not obtained yet (retried on sync)
    std::string relay_error;        // why unreachable
  };
  // `ask_relay`: ask the relay whether it is reachable (waits up to 5 s); when
  // false, relay_reachable is false and only the device's own state is read.
  StatusOr<DeviceStatus> GetStatus(bool ask_relay = true);
  // Messages and records still in the outbox (no relay needed).
  StatusOr<int> OutboxSize();
  // Re-wraps the store key under a new passphrase (the database is not
  // rewritten). Static: works on a closed store.
  static Status ChangePassphrase(const std::string& home, ByteSpan old_passphrase,
                                          ByteSpan new_passphrase);
  // An encrypted, consistent copy of this device's store (FILE and
  // FILE.key; the same passphrase opens it).
  Status Backup(const std::string& out);
  // Puts a backup in place as <home> (which must not hold a store yet).
  static Status Restore(const std::string& from, const std::string& home,
                                 ByteSpan passphrase);

  // Transport keys and relay details, for tests and tools.
  struct TransportInfo {
    std::string endpoint;
    Bytes relay_public;
    Bytes transport_public;
    crypto::SecretBytes transport_secret;
    Bytes device_id;
  };
  StatusOr<TransportInfo> Transport();

  // Low level, for tests that play a misbehaving member: signs `body` under
  // `label` with this device's key, and queues `payload` for `recipients`
  // (then tries to send). Receivers validate everything, so this bypasses
  // only this device's own courtesy checks.
  StatusOr<store::v1::SignedObject> SignForTesting(const char* label, const std::string& body) {
    return SignObject(label, body);
  }
  Status SendPayloadForTesting(const std::vector<std::string>& recipients,
                               const store::v1::Payload& payload);
  std::string name_for_testing() { auto n = MyName(); return n.ok() ? *n : ""; }

  // For fuzzing (tests/fuzz/fuzz_received_payload.cc): what Sync does with
  // payloads that decrypted and authenticated as from `sender_name`'s device
  // `from_device` in an envelope with `message_id` (store, reject or judge
  // the record), then the pending re-check and reading every visit, note
  // and message back. All in one transaction that is rolled back: the store
  // is left as it was.
  struct ReceivedPayload {
    Bytes plain;
    std::string message_id;
    std::string sender_name;
    Bytes from_device;
  };
  struct ReceivedForTesting {
    SyncResult sync;
    std::vector<VisitInfo> visits;
    std::vector<NoteInfo> notes;
    std::vector<InboxMessage> inbox;
  };
  StatusOr<ReceivedForTesting> ReceivePayloadsForTesting(const std::vector<ReceivedPayload>& payloads);
  // Pins a directory entry as the relay's directory would have it (fuzzing).
  Status AcceptMemberForTesting(const wire::v1::DirectoryMember& member);

  // Request timeout towards the relay (ms).
  void set_timeout_ms(int ms) { timeout_ms_ = ms; }
  // When false, AddNote and AmendNote only commit: the version goes into the
  // store and the outbox with its timestamps pending, exactly as when the
  // relay is unreachable, and the next Sync() delivers it and stamps it
  // (Sync obtains at most 200 timestamps a call, i.e. 100 versions with the
  // relay's notary and log; the rest stay pending for the next one). For tools that write many notes in a row, e.g. the sync
  // benchmark. Default true: each note is delivered and stamped at once.
  void set_deliver_notes_on_write(bool on) { deliver_notes_on_write_ = on; }

 private:
  Client(std::string home, storage::Db db, crypto::SecretBytes key);
  struct Keys {
    Bytes identity_public;
    crypto::SecretBytes identity_secret;
    Bytes device_id;
    Bytes signing_public;
    crypto::SecretBytes signing_secret;
    Bytes dh_public;
    crypto::SecretBytes dh_secret;
    Bytes transport_public;
    crypto::SecretBytes transport_secret;
  };
  // The device's keys, read from the store once and kept (in guarded,
  // locked memory) for the Client's lifetime; only linking changes them
  // (ImportLinkArchive drops the copy). Valid until that happens.
  StatusOr<const Keys*> LoadKeys();

  // Sessions (client/lib/sessions.cc).
  static session::DeviceIdentity SelfIdentity(const Keys& k);
  // Publishes a signed prekey (rotated weekly) and tops up one-time prekeys.
  Status MaintainPrekeys(net::ClientConnection* conn);
  // Seals `payload` once and carries its key to each device through the
  // pairwise session (started with X3DH when there is none). Session states
  // are committed before this returns.
  StatusOr<std::vector<SealedForDevice>> SealForDevices(const std::vector<RecipientDevice>& recipients,
                                                        ByteSpan message_id, ByteSpan payload,
                                                        std::vector<std::string>* problems);
  // A session state to store together with the payload it decrypted.
  struct PendingSession {
    int64_t row_id = 0;  // 0: a new session (X3DH responder)
    Bytes remote_device;
    Bytes base_key;
    crypto::SecretBytes state;
    std::optional<uint32_t> used_one_time_prekey;
  };
  // Decrypts a session message from `sender` without changing any state;
  // *pending holds what SaveSession must commit if the payload is kept.
  StatusOr<crypto::SecretBytes> DecryptFromDevice(const RecipientDevice& sender, ByteSpan session_message,
                                                  int64_t now, PendingSession* pending);
  Status SaveSession(const PendingSession& p, int64_t now);
  StatusOr<std::string> MyName();
  StatusOr<net::ClientConnection*> Connection();
  // After a relay transport-key rotation: connects with the announced next
  // key (verified at an earlier sync) and, if that works, pins it.
  Status TryNextRelayKey();
  // Learns an announced next relay key from a Ping, if its signature
  // verifies against the relay signing key pinned at enrollment.
  Status LearnRelayRotation();
  // conn->Call, remembering an unreachable relay for the rest of the process.
  StatusOr<wire::v1::Response> CallRelay(net::ClientConnection* conn, const wire::v1::Request& req,
                                         int timeout_ms);
  // Commits a payload for `recipients` (member names) to the outbox, in the
  // caller's transaction.
  Status Enqueue(const std::vector<std::string>& recipients, const store::v1::Payload& payload,
                 int64_t now_ms);
  Status FlushOutbox(SyncResult* result);
  Status FetchAll(SyncResult* result);
  // Quarantines an item from `from_device` (the rejected table and result).
  Status RecordRejected(ByteSpan from_device, const std::string& reason, SyncResult* result);
  // Stores, judges or rejects a decrypted, authenticated payload, in the
  // caller's transaction (FetchAll's, per fetched item).
  Status ReceivePayload(ByteSpan plain, const std::string& envelope_message_id, const std::string& sender_name,
                        ByteSpan from_device, SyncResult* result);
  // Sends what Enqueue queued; never fails because the relay is down.
  // `refused`, if given, gets the relay's error when it answered but did not
  // take everything (unreachable is not a refusal).
  void TryFlush(bool* delivered, Status* refused = nullptr);

  // Records (client/lib/records.cc).
  StatusOr<std::string> ResolveVisitId(const std::string& id_or_prefix);
  StatusOr<std::string> ResolveNoteId(const std::string& id_or_prefix);
  StatusOr<store::v1::SignedObject> SignObject(const char* label, const std::string& body);
  Status ReceiveVisitEvent(const store::v1::SignedObject& obj, const std::string& sender,
                           SyncResult* result);
  Status ReceiveNoteVersion(const store::v1::SignedObject& obj, const std::string& sender,
                            SyncResult* result);
  Status RecheckPending(SyncResult* result);
  // One pass of RecheckPending (visit events, or note versions), in the
  // caller's transaction.
  Status RecheckPendingPass(bool notes, SyncResult* result);
  StatusOr<std::vector<std::string>> VisitRecipients(const std::string& visit_id_hex);
  // Queues a signed record for the visit's team, in the caller's transaction.
  Status EnqueueRecord(const std::string& visit_hex, const std::string& me,
                       const store::v1::SignedObject& obj, bool is_note, int64_t now);
  StatusOr<NoteVersionInfo> WriteNoteVersion(ByteSpan note_id, const std::string& visit_hex,
                                             uint32_t number, ByteSpan prev_hash,
                                             const std::string& text,
                                             const std::vector<AttachmentInput>& attachments);
  Status DownloadAttachments(SyncResult* result);

  // Linking (client/lib/devices.cc): link blobs in the mailbox, the old
  // device answering requests, the new device importing the archive.
  Status ReceiveLinkBlob(const std::string& blob, ByteSpan from_device, ByteSpan message_id, bool* handled);
  Status AnswerLinkRequests(SyncResult* result);
  Status ImportLinkArchive(SyncResult* result);

  // Evidence (client/lib/evidence.cc).
  // The commitment of a stored note version; nullopt for versions made
  // before commitments existed.
  StatusOr<std::optional<evidence::Commitment>> CommitmentFor(ByteSpan version_hash);
  // Queues pending timestamps for a new version, in the caller's transaction.
  Status QueueAnchors(ByteSpan version_hash, int64_t now_ms);
  Status StampPending(const std::optional<Bytes>& note_id, const std::vector<std::string>& plugins,
                      StampSummary* out);
  // Best effort, after writing a note or syncing.
  void TryStamp(std::vector<std::string>* problems);
  // Fetches the relay log's checkpoint and checks it extends the one this
  // device kept; raises the log alarm if it forked or shrank.
  Status CheckLog(std::vector<std::string>* problems);
  Status CheckpointSeen(const evidence::Checkpoint& cp, net::ClientConnection* conn);
  // The time `token` asserts for `digest`, or why it does not hold.
  StatusOr<int64_t> VerifyAnchor(const std::string& plugin, const std::string& source, ByteSpan digest,
                                 ByteSpan token, ByteSpan trust_anchor);
  Status ReceiveAnchor(const store::v1::AnchorReceipt& r, SyncResult* result);
  StatusOr<std::vector<AnchorInfo>> AnchorsOf(ByteSpan version_hash, ByteSpan digest);

  std::string home_;
  storage::Db db_;
  std::unique_ptr<Keys> keys_;  // LoadKeys
  crypto::SecretBytes key_;  // the store key, for encrypted backups
  // rfc3161 plugin hosts by authority URL and trust anchor (evidence.cc).
  std::map<std::string, std::unique_ptr<plugin::Host>> tsa_hosts_;
  std::unique_ptr<net::Context> ctx_;
  std::unique_ptr<net::ClientConnection> conn_;
  std::vector<std::unique_ptr<net::ClientConnection>> retired_;
  int timeout_ms_ = 10000;
  bool deliver_notes_on_write_ = true;
  // Set after the relay proved unreachable: later calls in this process
  // fail at once instead of waiting again.
  Status offline_;
};

}  // namespace vigil::client

#endif  // VIGIL_CLIENT_LIB_CLIENT_H_
