// Device certificates and invite codes: the small signed or secret objects
// that both the relay and the client create or check. Exact formats are in
// docs/PROTOCOL.md ("Identity", "Invites").
//
// Thread safety: free functions, thread-safe.
#ifndef VIGIL_IDENTITY_H_
#define VIGIL_IDENTITY_H_

#include <string>
#include <string_view>

#include "vigil/bytes.h"
#include "vigil/crypto.h"
#include "vigil/status.h"
#include "vigil/store/v1/store.pb.h"
#include "vigil/wire/v1/wire.pb.h"

namespace vigil::identity {

inline constexpr char kDeviceCertLabel[] = "vigil/device-cert/v1";
inline constexpr size_t kMaxCertificateSize = 1024;

// Signs a certificate for a device with the member's identity key. Returns
// the DirectoryDevice (certificate bytes + signature) to publish.
StatusOr<wire::v1::DirectoryDevice> CertifyDevice(
    const crypto::SecretBytes& identity_secret, ByteSpan identity_public,
    ByteSpan device_id, ByteSpan signing_public, ByteSpan dh_public,
    int64_t created_at_ms);

// Parses and verifies a published device: size bounds, version 1, key sizes,
// the identity signature, device id matching, and (when non-empty) that it
// is signed by `expected_identity`. Returns the parsed certificate.
StatusOr<store::v1::DeviceCertificate> VerifyDevice(
    const wire::v1::DirectoryDevice& device, ByteSpan expected_identity);

// Bytes that a signature covers: label || 0x00 || message.
Bytes SignedBytes(std::string_view label, ByteSpan message);

// --- Invites ---

inline constexpr char kInvitePrefix[] = "vigil-invite-1.";
inline constexpr size_t kInviteSecretSize = 32;

struct Invite {
  std::string endpoint;
  Bytes relay_public_key;          // CURVE, 32
  crypto::SecretBytes secret;      // 32
};

// "vigil-invite-1." + base64url(InviteCode).
std::string EncodeInvite(const Invite& invite);
// Strict: prefix, size bounds, protobuf, version, key sizes, endpoint syntax
// (tcp://host:port). InvalidArgument("this is not a valid Vigil invite code")
// otherwise.
StatusOr<Invite> DecodeInvite(std::string_view text);

// The CURVE key pair an invite holder connects with, derived from the
// secret: secret key = HKDF(secret, info "vigil/invite-transport/v1").
StatusOr<crypto::DhKeyPair> InviteTransportKey(const crypto::SecretBytes& secret);
// What the relay stores to check a presented secret: SHA-256 of a label and
// the secret (the relay never stores the secret itself).
Bytes InviteVerifier(const crypto::SecretBytes& secret);

// --- Device link codes ---

inline constexpr char kLinkPrefix[] = "vigil-link-1.";

struct LinkCode {
  std::string endpoint;
  Bytes relay_public_key;      // CURVE, 32
  crypto::SecretBytes secret;  // 32
  Bytes ephemeral_public_key;  // X25519, 32 (the old device's link key)
};
// "vigil-link-1." + base64url(wire LinkCode).
std::string EncodeLink(const LinkCode& code);
// Strict, like DecodeInvite: InvalidArgument("this is not a valid Vigil link
// code") for anything malformed.
StatusOr<LinkCode> DecodeLink(std::string_view text);

// Checks "tcp://HOST:PORT" with a numeric port in 1..65535 (or "*" when
// `allow_wildcard`).
Status CheckEndpoint(std::string_view endpoint, bool allow_wildcard);

}  // namespace vigil::identity

#endif  // VIGIL_IDENTITY_H_
