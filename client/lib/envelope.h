// End-to-end envelopes (version 2): a payload encrypted once under a random
// content key, signed by the sending device, with the content key and the
// signature carried to each recipient device inside its pairwise session
// (vigil/session.h). Exact bytes: docs/PROTOCOL.md section 5.
//
// Pure functions: no I/O, no storage and no sessions here (the client
// passes the session message in and out); randomness from libsodium.
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
inline constexpr uint32_t kEnvelopeVersion = 2;

// A recipient device, from a verified certificate.
struct RecipientDevice {
  Bytes device_id;       // 16
  Bytes signing_public;  // Ed25519, 32
  Bytes dh_public;       // X25519 identity key, 32
};

struct SealedForDevice {
  Bytes device_id;
  Bytes blob;  // serialized SessionEnvelope
};

// The content of one message, sealed once for all its recipients.
struct SealedContent {
  crypto::SecretBytes key_package;  // serialized ContentKey: goes through each session
  Bytes nonce;
  Bytes ciphertext;
};

// REQUIRES: ids are 16 bytes; the signing secret is 64 bytes.
StatusOr<SealedContent> SealContent(ByteSpan message_id, ByteSpan sender_device_id,
                                    const crypto::SecretBytes& sender_signing_secret, ByteSpan payload);
// One recipient's envelope around the shared content.
Bytes BuildEnvelope(ByteSpan message_id, ByteSpan sender_device_id, ByteSpan recipient_device_id,
                    ByteSpan session_message, const SealedContent& content);

// Bounds, protobuf and version checks only.
StatusOr<store::v1::SessionEnvelope> ParseEnvelope(ByteSpan blob);
// With the key package the session decrypted: checks the sender device's
// signature over the content (Unauthenticated on failure), then decrypts.
StatusOr<crypto::SecretBytes> OpenContent(const store::v1::SessionEnvelope& env, ByteSpan key_package,
                                          ByteSpan sender_signing_public);

}  // namespace vigil::client

#endif  // VIGIL_CLIENT_LIB_ENVELOPE_H_
