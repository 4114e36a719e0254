// Private to core/crypto/x3dh.cc and core/crypto/ratchet.cc: the in-memory
// Double Ratchet state behind vigil::session::Session, and the helpers both
// files share. Not part of the public API (see vigil/session.h).
#ifndef VIGIL_CORE_CRYPTO_SESSION_STATE_H_
#define VIGIL_CORE_CRYPTO_SESSION_STATE_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "vigil/bytes.h"
#include "vigil/crypto.h"
#include "vigil/session.h"
#include "vigil/status.h"
#include "vigil/store/v1/session.pb.h"

namespace vigil::session {

// Labels (see docs/SESSIONS_DRAFT.md). None of the HKDF infos or the AD
// prefix carries a trailing zero byte; the signed-prekey label does
// (it is a signature domain label, written with identity::SignedBytes' L()).
inline constexpr std::string_view kSignedPrekeyLabel = "vigil/signed-prekey/v1";  // + 0x00
inline constexpr std::string_view kX3dhInfo = "vigil/x3dh/v1";
inline constexpr std::string_view kAdPrefix = "vigil/ad/v1";
inline constexpr std::string_view kRootInfo = "vigil/ratchet/root/v1";
inline constexpr std::string_view kMessageInfo = "vigil/ratchet/msg/v1";
inline constexpr std::string_view kStateDigestLabel = "vigil/session-state/v1";  // + 0x00

inline constexpr size_t kKeySize = 32;
inline constexpr size_t kMaxHeaderSize = 128;

// Skipped message keys, oldest first. The key material of all entries lives
// in one sodium_malloc'd buffer (32 bytes per entry, same order) so that a
// session with a full store is cheap to copy.
class SkippedKeys {
 public:
  struct Entry {
    std::array<uint8_t, kKeySize> ratchet_public{};
    uint32_t message_number = 0;
    int64_t received_at_ms = 0;
  };

  size_t size() const { return entries_.size(); }
  const std::vector<Entry>& entries() const { return entries_; }
  ByteSpan key(size_t i) const { return keys_.span().subspan(i * kKeySize, kKeySize); }

  std::optional<size_t> Find(ByteSpan ratchet_public, uint32_t message_number) const;
  // Removes entry i and returns its key.
  crypto::SecretBytes Take(size_t i);
  // Appends entries (keys: 32 bytes each, same order), then evicts the
  // oldest entries beyond kMaxSkippedKeys.
  void Append(const std::vector<Entry>& entries, const crypto::SecretBytes& keys);
  // Drops entries with received_at_ms < cutoff_ms; returns how many.
  size_t DropOlderThan(int64_t cutoff_ms);
  SkippedKeys Clone() const;

 private:
  // Keeps the entries whose keep[i] is true.
  void Filter(const std::vector<bool>& keep);

  std::vector<Entry> entries_;
  crypto::SecretBytes keys_;  // kKeySize * entries_.size()
};

struct Session::State {
  bool initiator = false;
  DeviceIdentity local;
  DeviceIdentity remote;
  Bytes ad;  // AssociatedData(initiator identity, responder identity)

  crypto::SecretBytes root_key;
  // Sending chain: all three set, or all three empty (the next Encrypt
  // starts a new chain with a fresh ratchet key).
  Bytes send_ratchet_public;
  crypto::SecretBytes send_ratchet_secret;
  crypto::SecretBytes send_chain_key;
  uint32_t send_n = 0;       // Ns
  uint32_t previous_n = 0;   // PN, sent in headers of the current chain
  Bytes remote_ratchet_public;  // DHr
  crypto::SecretBytes recv_chain_key;  // empty until the first receiving chain
  uint32_t recv_n = 0;       // Nr
  SkippedKeys skipped;
  std::vector<Bytes> previous_remote_ratchet;  // newest last
  // Initiator: the initial header sent until the first reply. Responder: the
  // one the session was created from.
  std::optional<InitialHeaderInfo> initial;
  // Responder: the initiator's first ratchet key (the chain whose messages
  // carry the initial header).
  Bytes initial_remote_ratchet;

  State Clone() const;
  bool has_sending_chain() const { return !send_chain_key.empty(); }
};

// A size-checked, parsed SessionMessage.
struct ParsedMessage {
  store::v1::SessionMessage message;
  store::v1::MessageHeader header;
  std::optional<InitialHeaderInfo> initial;
};
StatusOr<ParsedMessage> ParseMessage(ByteSpan bytes);

// Decrypts `m` with `s`, advancing `s`. Used on a copy: on error `s` is in
// an unspecified state and must be discarded.
StatusOr<crypto::SecretBytes> DecryptWithState(Session::State& s, const ParsedMessage& m,
                                               int64_t now_ms);

// A caller-supplied key pair must be 32+32 bytes and consistent.
Status CheckKeyPair(const crypto::DhKeyPair& kp, std::string_view what);
Status CheckIdentity(const DeviceIdentity& d, std::string_view what);
bool SameInitial(const InitialHeaderInfo& a, const InitialHeaderInfo& b);

}  // namespace vigil::session

#endif  // VIGIL_CORE_CRYPTO_SESSION_STATE_H_
