// Device-to-device sessions: X3DH key agreement and the Double Ratchet, after
// Signal's specifications ("The X3DH Key Agreement Protocol", "The Double
// Ratchet Algorithm"), without header encryption. Exact labels and byte
// layouts are in docs/SESSIONS_DRAFT.md and in the comments of
// core/crypto/x3dh.cc and core/crypto/ratchet.cc.
//
// This is a pure protocol core: no I/O, no clock, no randomness. Callers pass
// in fresh key pairs (crypto::GenerateDhKeyPair()) and the current time, so
// every function is deterministic given its inputs.
//
// State changes only when a message authenticates: Decrypt and RespondX3dh
// are const/static and return the new Session next to the plaintext; the
// caller stores that new state in the same transaction as the plaintext
// (and, for RespondX3dh, the deletion of the used one-time prekey). A failed
// decryption, a replay, a duplicate or a tampered message leaves every state
// as it was. Encrypt changes the session only when it succeeds; the caller
// must store the new state before sending the message (a state rolled back
// after sending would reuse a message key).
//
// REQUIRES: crypto::InitCrypto() has returned OK.
// Thread safety: Session is a value type (move-only, explicit Clone()); no
// internal locking. Free functions are thread-safe.
// A moved-from Session may only be destroyed or assigned to.
#ifndef VIGIL_SESSION_H_
#define VIGIL_SESSION_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>

#include "vigil/bytes.h"
#include "vigil/crypto.h"
#include "vigil/status.h"

namespace vigil::session {

inline constexpr uint32_t kSessionVersion = 1;
inline constexpr size_t kDeviceIdSize = 16;
// At most this many message keys are derived and stored for one chain jump
// (a gap in message numbers); more fails with ResourceExhausted.
inline constexpr uint32_t kMaxSkip = 1000;
// At most this many skipped message keys are kept per session; when more
// are stored the oldest are evicted (those messages then fail to decrypt).
inline constexpr size_t kMaxSkippedKeys = 1000;
// Previous remote ratchet keys remembered to recognise replays of messages
// from finished receiving chains.
inline constexpr size_t kMaxPreviousRemoteRatchetKeys = 16;
// Bounds on untrusted or stored input.
inline constexpr size_t kMaxSessionMessageSize = 2 * 1024 * 1024;
inline constexpr size_t kMaxPlaintextSize = kMaxSessionMessageSize - 1024;
inline constexpr size_t kMaxSerializedSessionSize = 256 * 1024;
inline constexpr size_t kMaxPrekeyBundleSize = 4096;
inline constexpr size_t kMaxPqKemPublicSize = 2048;
// A suggested age for DropSkippedKeysOlderThan: 30 days.
inline constexpr int64_t kDefaultSkippedKeyMaxAgeMs = 30LL * 24 * 60 * 60 * 1000;

// The public keys of a device, taken from its verified DeviceCertificate
// (identity::VerifyDevice). Never from an unauthenticated source.
struct DeviceIdentity {
  Bytes device_id;           // 16
  Bytes signing_public_key;  // Ed25519, 32
  Bytes dh_public_key;       // X25519 identity key, 32
};

// --- Prekeys (core/crypto/x3dh.cc) ---

struct SignedPrekey {
  uint32_t id = 0;
  Bytes public_key;  // X25519, 32
  int64_t created_at_ms = 0;
  Bytes signature;   // Ed25519, 64, over SignedPrekeyMessage(...)
};

struct OneTimePrekey {
  uint32_t id = 0;
  Bytes public_key;  // X25519, 32
};

struct PrekeyBundle {
  DeviceIdentity device;  // from the device's verified certificate
  SignedPrekey signed_prekey;
  std::optional<OneTimePrekey> one_time_prekey;
  // Reserved for a future post-quantum KEM share; ignored in version 1.
  Bytes pq_kem_public;
};

// A prekey's secret half as the publishing device keeps it (looked up by id).
struct PrekeySecret {
  uint32_t id = 0;
  crypto::DhKeyPair key_pair;
};

// The bytes a signed prekey's signature covers:
// "vigil/signed-prekey/v1" || 0x00 || BE32(id) || public_key || BE64(created_at_ms).
Bytes SignedPrekeyMessage(uint32_t id, ByteSpan public_key, int64_t created_at_ms);

// Signs `key_pair`'s public key as signed prekey `id`. REQUIRES: the key pair
// is consistent (public = X25519 base point * secret), signing_secret is a
// 64-byte Ed25519 secret key; InvalidArgument otherwise.
StatusOr<SignedPrekey> SignPrekey(const crypto::SecretBytes& device_signing_secret,
                                  uint32_t id, const crypto::DhKeyPair& key_pair,
                                  int64_t created_at_ms);

// Checks sizes (device id 16, keys 32, signature 64, pq share <= 2048) and
// the signed prekey's signature by bundle.device.signing_public_key.
// InvalidArgument on sizes, Unauthenticated on a bad signature.
Status VerifyPrekeyBundle(const PrekeyBundle& bundle);

// serialize(vigil.store.v1.PrekeyBundle) without the device's identity keys.
Bytes EncodePrekeyBundle(const PrekeyBundle& bundle);
// Parses published bundle bytes (size-bounded, version 1), attaches `device`
// (from its verified certificate; its device id must match the bundle's) and
// verifies it with VerifyPrekeyBundle.
StatusOr<PrekeyBundle> DecodePrekeyBundle(ByteSpan bytes, const DeviceIdentity& device);

// --- Messages ---

// The X3DH part of an initiator's message, readable before any decryption so
// that the responder can look up its prekey secrets by id.
struct InitialHeaderInfo {
  Bytes identity_dh_public_key;  // initiator's X25519 identity key
  Bytes base_key;                // initiator's X3DH ephemeral key
  uint32_t signed_prekey_id = 0;
  std::optional<uint32_t> one_time_prekey_id;
};

// Parses (size-bounded, version 1) a SessionMessage and returns its initial
// header, or nullopt when it has none (a message of an established session).
// Nothing here is authenticated yet.
StatusOr<std::optional<InitialHeaderInfo>> PeekInitialHeader(ByteSpan message);

class Session;
struct DecryptResult;

// One Double Ratchet session with one remote device.
class Session {
 public:
  ~Session();
  Session(Session&&) noexcept;
  Session& operator=(Session&&) noexcept;
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // An explicit deep copy (secrets included).
  Session Clone() const;

  // Initiator side of X3DH. Verifies `remote` first (VerifyPrekeyBundle),
  // then derives the shared secret and the first sending chain.
  // `ephemeral` is the X3DH base key, `first_ratchet_key` the first ratchet
  // key: two distinct fresh key pairs. The session's messages carry an
  // initial header until the first reply has been decrypted.
  // Errors: InvalidArgument (sizes, inconsistent key pairs, a low-order
  // remote key), Unauthenticated (bad signed-prekey signature).
  static StatusOr<Session> InitiateX3dh(const DeviceIdentity& self,
                                        const crypto::SecretBytes& self_dh_secret,
                                        const PrekeyBundle& remote,
                                        crypto::DhKeyPair ephemeral,
                                        crypto::DhKeyPair first_ratchet_key);

  // Responder side: builds the session from an initiator's message (any of
  // the messages carrying an initial header) and decrypts it. `remote` is the
  // sending device's certified identity (the relay authenticates the sender
  // device); its X25519 identity key must equal the one in the header.
  // `signed_prekey` and `one_time_prekey` are the secrets whose ids the
  // header names (PeekInitialHeader); `one_time_prekey` must be non-null
  // exactly when the header names one. Nothing is changed on failure.
  // On success the result's used_one_time_prekey_id is set when a one-time
  // prekey was used: the caller MUST delete that one-time prekey secret in
  // the same transaction that stores the new session and the plaintext.
  //
  // NOTE: X3DH's first message can be replayed to create a second copy of
  // the session when no one-time prekey was used. A caller that already has
  // a session with this device tries its Decrypt first (which accepts the
  // initiator's messages with the matching initial header and rejects their
  // replays) and calls RespondX3dh only when Decrypt answers
  // FailedPrecondition (the message starts another session).
  static StatusOr<DecryptResult> RespondX3dh(const DeviceIdentity& self,
                                             const crypto::SecretBytes& self_dh_secret,
                                             const DeviceIdentity& remote,
                                             const PrekeySecret& signed_prekey,
                                             const PrekeySecret* one_time_prekey,
                                             ByteSpan first_message, int64_t now_ms);

  // Encrypts one message (serialized SessionMessage). When a new sending
  // chain is due (NeedsFreshRatchetKey()), `fresh_ratchet_key` becomes the
  // new ratchet key; otherwise it is ignored (and wiped on destruction).
  // Changes the session only on success. Errors: InvalidArgument
  // (plaintext larger than kMaxPlaintextSize, inconsistent fresh key pair),
  // ResourceExhausted (2^32 - 1 messages in one chain).
  StatusOr<Bytes> Encrypt(ByteSpan plaintext, crypto::DhKeyPair fresh_ratchet_key);

  // Decrypts a message without changing this session: returns the plaintext
  // and the new state. `now_ms` timestamps message keys skipped by this
  // message (for DropSkippedKeysOlderThan).
  // Errors (never changing anything):
  //   InvalidArgument  malformed message, wrong sizes, low-order key;
  //   Unimplemented    unknown message or header version;
  //   Unauthenticated  authentication failed (tampered, wrong session);
  //   AlreadyExists    its message key was already used or discarded:
  //                    a replay, a duplicate, or a skipped key that expired
  //                    or was evicted;
  //   ResourceExhausted more than kMaxSkip messages skipped in one chain;
  //   FailedPrecondition the message starts a different session (its
  //                    initial header does not match this one): see
  //                    RespondX3dh.
  StatusOr<DecryptResult> Decrypt(ByteSpan message, int64_t now_ms) const;

  // Drops skipped message keys stored before now_ms - max_age_ms. Returns
  // how many were dropped.
  size_t DropSkippedKeysOlderThan(int64_t now_ms, int64_t max_age_ms);

  // The whole state as serialize(vigil.store.v1.SessionState). Contains
  // secrets: store it only inside the encrypted store.
  crypto::SecretBytes Serialize() const;
  // Strict parse of stored bytes: size <= kMaxSerializedSessionSize,
  // version 1 (Unimplemented otherwise), a digest over the state (so a
  // truncated record is refused), every key size, counts within caps,
  // consistent key pairs. DataLoss on anything damaged.
  static StatusOr<Session> Parse(ByteSpan bytes);

  bool is_initiator() const;
  const DeviceIdentity& local_device() const;
  const DeviceIdentity& remote_device() const;
  // True until the initiator has decrypted the first reply (its messages
  // carry the initial header until then).
  bool awaiting_first_reply() const;
  // True when the next Encrypt starts a new sending chain with its fresh key.
  bool NeedsFreshRatchetKey() const;
  size_t skipped_key_count() const;

  // Opaque; defined in core/crypto/session_state.h.
  struct State;

 private:
  explicit Session(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

struct DecryptResult {
  Session session;  // the new state: store it with the plaintext
  crypto::SecretBytes plaintext;
  // RespondX3dh only: the one-time prekey to delete now (see RespondX3dh).
  std::optional<uint32_t> used_one_time_prekey_id;
};

// --- Building blocks, exposed for test vectors and the protocol document.
// Applications use Session. ---
namespace internal {

// SK = HKDF(salt = 32 zero bytes, ikm = 32 x 0xFF || DH1 || DH2 || DH3 [|| DH4],
//           info = "vigil/x3dh/v1", 32)
StatusOr<crypto::SecretBytes> X3dhKdf(ByteSpan dh1, ByteSpan dh2, ByteSpan dh3,
                                      ByteSpan dh4_or_empty);
// AD = "vigil/ad/v1" || IK_A_sign || IK_B_sign || IK_A_dh || IK_B_dh
// (A = initiator, B = responder).
Bytes AssociatedData(const DeviceIdentity& initiator, const DeviceIdentity& responder);

struct RootStep {
  crypto::SecretBytes root_key;   // 32
  crypto::SecretBytes chain_key;  // 32
};
// KDF_RK: HKDF(salt = rk, ikm = dh_out, info = "vigil/ratchet/root/v1", 64).
StatusOr<RootStep> KdfRoot(const crypto::SecretBytes& root_key, const crypto::SecretBytes& dh_out);

struct ChainStep {
  crypto::SecretBytes message_key;     // HMAC-SHA-256(ck, 0x01)
  crypto::SecretBytes next_chain_key;  // HMAC-SHA-256(ck, 0x02)
};
ChainStep KdfChain(const crypto::SecretBytes& chain_key);

struct MessageKeys {
  crypto::SecretBytes aead_key;  // 32
  Bytes nonce;                   // 24
};
// HKDF(salt = 32 zero bytes, ikm = mk, info = "vigil/ratchet/msg/v1", 56):
// the first 32 bytes are the AEAD key, the last 24 the nonce.
StatusOr<MessageKeys> DeriveMessageKeys(const crypto::SecretBytes& message_key);

}  // namespace internal
}  // namespace vigil::session

#endif  // VIGIL_SESSION_H_
