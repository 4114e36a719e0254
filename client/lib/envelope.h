// The interim end-to-end envelope (Spine): a payload encrypted once under a
// random content key, the key wrapped for each recipient device with
// ephemeral-static X25519 + HKDF-SHA-256, and the whole signed by the sending
// device's Ed25519 key. Exact bytes: docs/PROTOCOL.md, "Envelopes".
//
// Pure functions: no I/O, no storage; randomness comes from libsodium.
// Thread safety: thread-safe.
#ifndef VIGIL_CLIENT_LIB_ENVELOPE_H_
#define VIGIL_CLIENT_LIB_ENVELOPE_H_

#include <string>
#include <vector>

#include "vigil/bytes.h"
#include "vigil/crypto.h"
#include "vigil/status.h"
#include "vigil/store/v1/store.pb.h"

namespace vigil::client {

inline constexpr size_t kMaxEnvelopeSize = 2 * 1024 * 1024;

struct RecipientDevice {
  Bytes device_id;  // 16
  Bytes dh_public;  // X25519, 32 (from a verified certificate)
};

struct SealedForDevice {
  Bytes device_id;
  Bytes blob;  // serialized SignedEnvelope
};

// Seals `payload` for every recipient. REQUIRES: ids 16 bytes, keys 32.
StatusOr<std::vector<SealedForDevice>> SealEnvelope(
    ByteSpan message_id, ByteSpan sender_device_id, const crypto::SecretBytes& sender_signing_secret,
    const std::vector<RecipientDevice>& recipients, ByteSpan payload);

// A parsed, not yet verified envelope.
struct ParsedEnvelope {
  store::v1::SealedEnvelope sealed;
  std::string sealed_bytes;  // exactly what was signed
  std::string signature;
};

// Bounds, protobuf and version checks only.
StatusOr<ParsedEnvelope> ParseEnvelope(ByteSpan blob);
// Checks the sender device's signature (Unauthenticated on failure).
Status VerifyEnvelope(const ParsedEnvelope& env, ByteSpan sender_signing_public);
// Unwraps and decrypts for our device. Unauthenticated on any tampering.
StatusOr<crypto::SecretBytes> DecryptEnvelope(const ParsedEnvelope& env, ByteSpan my_device_id,
                                              const crypto::SecretBytes& my_dh_secret);

}  // namespace vigil::client

#endif  // VIGIL_CLIENT_LIB_ENVELOPE_H_
