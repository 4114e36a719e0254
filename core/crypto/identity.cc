#include "vigil/identity.h"

#include <cstring>

namespace vigil::identity {

Bytes SignedBytes(std::string_view label, ByteSpan message) {
  Bytes out(label.begin(), label.end());
  out.push_back(0);
  out.insert(out.end(), message.begin(), message.end());
  return out;
}

StatusOr<wire::v1::DirectoryDevice> CertifyDevice(
    const crypto::SecretBytes& identity_secret, ByteSpan identity_public,
    ByteSpan device_id, ByteSpan signing_public, ByteSpan dh_public,
    int64_t created_at_ms) {
  store::v1::DeviceCertificate cert;
  cert.set_version(1);
  cert.set_identity_public_key(ToString(identity_public));
  cert.set_device_id(ToString(device_id));
  cert.set_signing_public_key(ToString(signing_public));
  cert.set_dh_public_key(ToString(dh_public));
  cert.set_created_at_ms(created_at_ms);
  std::string bytes = cert.SerializeAsString();
  VIGIL_ASSIGN_OR_RETURN(Bytes sig,
                         crypto::Sign(identity_secret, SignedBytes(kDeviceCertLabel, AsBytes(bytes))));
  wire::v1::DirectoryDevice d;
  d.set_device_id(ToString(device_id));
  d.set_certificate(bytes);
  d.set_certificate_signature(ToString(sig));
  return d;
}

StatusOr<store::v1::DeviceCertificate> VerifyDevice(const wire::v1::DirectoryDevice& device,
                                                    ByteSpan expected_identity) {
  if (device.certificate().size() > kMaxCertificateSize) {
    return Status::InvalidArgument("device certificate too large");
  }
  store::v1::DeviceCertificate cert;
  if (!cert.ParseFromString(device.certificate())) {
    return Status::InvalidArgument("malformed device certificate");
  }
  if (cert.version() != 1) {
    return Status::Unimplemented("device certificate version " + std::to_string(cert.version()) +
                                 " is not supported");
  }
  if (cert.identity_public_key().size() != 32 || cert.signing_public_key().size() != 32 ||
      cert.dh_public_key().size() != 32 || cert.device_id().size() != 16) {
    return Status::InvalidArgument("device certificate has wrong key sizes");
  }
  if (cert.device_id() != device.device_id()) {
    return Status::Unauthenticated("device certificate is for another device");
  }
  if (!expected_identity.empty() &&
      !crypto::ConstantTimeEqual(AsBytes(cert.identity_public_key()), expected_identity)) {
    return Status::Unauthenticated("device certificate is signed by another identity");
  }
  Status s = crypto::Verify(AsBytes(cert.identity_public_key()),
                            SignedBytes(kDeviceCertLabel, AsBytes(device.certificate())),
                            AsBytes(device.certificate_signature()));
  if (!s.ok()) return Status::Unauthenticated("device certificate signature is invalid");
  return cert;
}

// --- Invites ---

namespace {
constexpr char kInviteTransportInfo[] = "vigil/invite-transport/v1";
constexpr char kInviteVerifierLabel[] = "vigil/invite-verifier/v1";
constexpr size_t kMaxInviteText = 1024;

Status BadInvite() { return Status::InvalidArgument("this is not a valid Vigil invite code"); }
}  // namespace

Status CheckEndpoint(std::string_view endpoint, bool allow_wildcard) {
  constexpr std::string_view kTcp = "tcp://";
  if (endpoint.size() > 255 || endpoint.substr(0, kTcp.size()) != kTcp) {
    return Status::InvalidArgument("endpoint must look like tcp://HOST:PORT");
  }
  std::string_view rest = endpoint.substr(kTcp.size());
  size_t colon = rest.rfind(':');
  if (colon == std::string_view::npos || colon == 0) {
    return Status::InvalidArgument("endpoint must look like tcp://HOST:PORT");
  }
  std::string_view host = rest.substr(0, colon), port = rest.substr(colon + 1);
  for (char c : host) {
    if (!(isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '[' ||
          c == ']' || c == ':' || c == '*')) {
      return Status::InvalidArgument("endpoint host has invalid characters");
    }
  }
  if (allow_wildcard && port == "*") return Status::Ok();
  if (port.empty() || port.size() > 5) return Status::InvalidArgument("endpoint port is invalid");
  int p = 0;
  for (char c : port) {
    if (c < '0' || c > '9') return Status::InvalidArgument("endpoint port is invalid");
    p = p * 10 + (c - '0');
  }
  if (p < 1 || p > 65535) return Status::InvalidArgument("endpoint port is invalid");
  return Status::Ok();
}

std::string EncodeInvite(const Invite& invite) {
  wire::v1::InviteCode code;
  code.set_version(1);
  code.set_endpoint(invite.endpoint);
  code.set_relay_public_key(ToString(invite.relay_public_key));
  code.set_invite_secret(ToString(invite.secret.span()));
  std::string bytes = code.SerializeAsString();
  std::string out = kInvitePrefix + Base64UrlEncode(AsBytes(bytes));
  crypto::Wipe(bytes);
  code.mutable_invite_secret()->assign(32, '\0');
  return out;
}

StatusOr<Invite> DecodeInvite(std::string_view text) {
  while (!text.empty() && isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
  while (!text.empty() && isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
  std::string_view prefix = kInvitePrefix;
  if (text.size() > kMaxInviteText || text.substr(0, prefix.size()) != prefix) return BadInvite();
  auto raw = Base64UrlDecode(text.substr(prefix.size()));
  if (!raw.ok()) return BadInvite();
  wire::v1::InviteCode code;
  bool parsed = code.ParseFromArray(raw->data(), static_cast<int>(raw->size()));
  crypto::Wipe(std::span<uint8_t>(*raw));
  if (!parsed) return BadInvite();
  if (code.version() != 1) {
    return Status::Unimplemented("this invite was made by a newer Vigil; upgrade Vigil");
  }
  if (code.relay_public_key().size() != 32 || code.invite_secret().size() != kInviteSecretSize) {
    return BadInvite();
  }
  if (!CheckEndpoint(code.endpoint(), false).ok()) return BadInvite();
  Invite inv;
  inv.endpoint = code.endpoint();
  inv.relay_public_key = ToBytes(code.relay_public_key());
  inv.secret = crypto::SecretBytes::CopyOf(AsBytes(code.invite_secret()));
  crypto::Wipe(*code.mutable_invite_secret());
  return inv;
}

StatusOr<crypto::DhKeyPair> InviteTransportKey(const crypto::SecretBytes& secret) {
  VIGIL_ASSIGN_OR_RETURN(crypto::SecretBytes sk,
                         crypto::Hkdf({}, secret.span(), AsBytes(kInviteTransportInfo), 32));
  VIGIL_ASSIGN_OR_RETURN(Bytes pk, crypto::DhPublicFromSecret(sk));
  return crypto::DhKeyPair{std::move(pk), std::move(sk)};
}

Bytes InviteVerifier(const crypto::SecretBytes& secret) {
  Bytes in = SignedBytes(kInviteVerifierLabel, secret.span());
  Bytes out = crypto::Sha256(in);
  crypto::Wipe(std::span<uint8_t>(in));
  return out;
}

std::string EncodeLink(const LinkCode& link) {
  wire::v1::LinkCode code;
  code.set_version(1);
  code.set_endpoint(link.endpoint);
  code.set_relay_public_key(ToString(link.relay_public_key));
  code.set_link_secret(ToString(link.secret.span()));
  code.set_ephemeral_public_key(ToString(link.ephemeral_public_key));
  std::string bytes = code.SerializeAsString();
  std::string out = kLinkPrefix + Base64UrlEncode(AsBytes(bytes));
  crypto::Wipe(bytes);
  crypto::Wipe(*code.mutable_link_secret());
  return out;
}

StatusOr<LinkCode> DecodeLink(std::string_view text) {
  auto bad = [] { return Status::InvalidArgument("this is not a valid Vigil link code"); };
  while (!text.empty() && isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
  while (!text.empty() && isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
  std::string_view prefix = kLinkPrefix;
  if (text.size() > kMaxInviteText || text.substr(0, prefix.size()) != prefix) return bad();
  auto raw = Base64UrlDecode(text.substr(prefix.size()));
  if (!raw.ok()) return bad();
  wire::v1::LinkCode code;
  bool parsed = code.ParseFromArray(raw->data(), static_cast<int>(raw->size()));
  crypto::Wipe(std::span<uint8_t>(*raw));
  if (!parsed) return bad();
  if (code.version() != 1) return Status::Unimplemented("this link code was made by a newer Vigil; upgrade Vigil");
  if (code.relay_public_key().size() != 32 || code.link_secret().size() != 32 ||
      code.ephemeral_public_key().size() != 32 || !CheckEndpoint(code.endpoint(), false).ok()) {
    crypto::Wipe(*code.mutable_link_secret());
    return bad();
  }
  LinkCode out;
  out.endpoint = code.endpoint();
  out.relay_public_key = ToBytes(code.relay_public_key());
  out.secret = crypto::SecretBytes::CopyOf(AsBytes(code.link_secret()));
  out.ephemeral_public_key = ToBytes(code.ephemeral_public_key());
  crypto::Wipe(*code.mutable_link_secret());
  return out;
}

}  // namespace vigil::identity
