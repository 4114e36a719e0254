// Ed25519 public keys as PEM (RFC 8410 SubjectPublicKeyInfo), through
// OpenSSL's libcrypto, so that `openssl pkeyutl -verify -rawin` can check
// Vigil's signatures in an evidence bundle.
#ifndef VIGIL_CLIENT_LIB_PEM_H_
#define VIGIL_CLIENT_LIB_PEM_H_

#include <string>

#include "vigil/bytes.h"
#include "vigil/status.h"

namespace vigil::client {

StatusOr<std::string> Ed25519PublicPem(ByteSpan raw_public_key);
// The raw 32-byte key of a PEM Ed25519 public key.
StatusOr<Bytes> Ed25519FromPem(std::string_view pem);
// SHA-256 fingerprints (hex) of the DER certificates in a PEM bundle, and
// the first certificate's subject; InvalidArgument if none parses.
StatusOr<std::pair<std::string, std::string>> CertificateSummary(std::string_view pem);

}  // namespace vigil::client

#endif  // VIGIL_CLIENT_LIB_PEM_H_
