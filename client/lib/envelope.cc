#include "client/lib/envelope.h"

#include "vigil/identity.h"

namespace vigil::client {
namespace {

constexpr char kEnvelopeSigLabel[] = "vigil/envelope/v1";
constexpr char kPayloadAadLabel[] = "vigil/payload/v1";
constexpr char kWrapAadLabel[] = "vigil/wrap/v1";
constexpr char kWrapInfo[] = "vigil/envelope-wrap/v1";

Bytes Concat(std::initializer_list<ByteSpan> parts) {
  Bytes out;
  for (auto p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

Bytes PayloadAad(ByteSpan message_id, ByteSpan sender) {
  return identity::SignedBytes(kPayloadAadLabel, Concat({message_id, sender}));
}

Bytes WrapAad(ByteSpan message_id, ByteSpan sender, ByteSpan recipient, ByteSpan eph) {
  return identity::SignedBytes(kWrapAadLabel, Concat({message_id, sender, recipient, eph}));
}

// wrap key = HKDF-SHA-256(salt = eph_pub || recipient_pub, ikm = X25519, info).
StatusOr<crypto::SecretBytes> WrapKey(const crypto::SecretBytes& shared, ByteSpan eph_pub,
                                      ByteSpan recipient_pub) {
  Bytes salt = Concat({eph_pub, recipient_pub});
  return crypto::Hkdf(salt, shared.span(), AsBytes(kWrapInfo), crypto::kAeadKeySize);
}

}  // namespace

StatusOr<std::vector<SealedForDevice>> SealEnvelope(
    ByteSpan message_id, ByteSpan sender_device_id, const crypto::SecretBytes& sender_signing_secret,
    const std::vector<RecipientDevice>& recipients, ByteSpan payload) {
  if (message_id.size() != 16 || sender_device_id.size() != 16) {
    return Status::InvalidArgument("ids must be 16 bytes");
  }
  crypto::SecretBytes content_key = crypto::SecretBytes::Random(crypto::kAeadKeySize);
  Bytes payload_nonce = crypto::RandomBytes(crypto::kAeadNonceSize);
  VIGIL_ASSIGN_OR_RETURN(Bytes payload_ct,
                         crypto::AeadSeal(content_key, payload_nonce,
                                          PayloadAad(message_id, sender_device_id), payload));
  std::vector<SealedForDevice> out;
  for (const auto& r : recipients) {
    if (r.device_id.size() != 16 || r.dh_public.size() != 32) {
      return Status::InvalidArgument("recipient device keys have wrong sizes");
    }
    crypto::DhKeyPair eph = crypto::GenerateDhKeyPair();
    VIGIL_ASSIGN_OR_RETURN(crypto::SecretBytes shared, crypto::X25519(eph.secret_key, r.dh_public));
    VIGIL_ASSIGN_OR_RETURN(crypto::SecretBytes wrap, WrapKey(shared, eph.public_key, r.dh_public));
    Bytes wrap_nonce = crypto::RandomBytes(crypto::kAeadNonceSize);
    VIGIL_ASSIGN_OR_RETURN(
        Bytes wrapped,
        crypto::AeadSeal(wrap, wrap_nonce,
                         WrapAad(message_id, sender_device_id, r.device_id, eph.public_key),
                         content_key.span()));
    store::v1::SealedEnvelope s;
    s.set_version(1);
    s.set_message_id(ToString(message_id));
    s.set_sender_device_id(ToString(sender_device_id));
    s.set_recipient_device_id(ToString(r.device_id));
    s.set_ephemeral_public_key(ToString(eph.public_key));
    s.set_wrapped_key_nonce(ToString(wrap_nonce));
    s.set_wrapped_key(ToString(wrapped));
    s.set_payload_nonce(ToString(payload_nonce));
    s.set_payload_ciphertext(ToString(payload_ct));
    std::string sealed = s.SerializeAsString();
    VIGIL_ASSIGN_OR_RETURN(Bytes sig, crypto::Sign(sender_signing_secret,
                                                   identity::SignedBytes(kEnvelopeSigLabel, AsBytes(sealed))));
    store::v1::SignedEnvelope signed_env;
    signed_env.set_sealed(sealed);
    signed_env.set_signature(ToString(sig));
    out.push_back({r.device_id, ToBytes(signed_env.SerializeAsString())});
  }
  return out;
}

StatusOr<ParsedEnvelope> ParseEnvelope(ByteSpan blob) {
  if (blob.size() > kMaxEnvelopeSize) return Status::InvalidArgument("envelope too large");
  store::v1::SignedEnvelope signed_env;
  if (!signed_env.ParseFromArray(blob.data(), static_cast<int>(blob.size()))) {
    return Status::InvalidArgument("malformed envelope");
  }
  ParsedEnvelope env;
  env.sealed_bytes = signed_env.sealed();
  env.signature = signed_env.signature();
  if (!env.sealed.ParseFromString(env.sealed_bytes)) {
    return Status::InvalidArgument("malformed envelope");
  }
  const auto& s = env.sealed;
  if (s.version() != 1) {
    return Status::Unimplemented("envelope version " + std::to_string(s.version()) +
                                 " is not supported; upgrade Vigil");
  }
  if (s.message_id().size() != 16 || s.sender_device_id().size() != 16 ||
      s.recipient_device_id().size() != 16 || s.ephemeral_public_key().size() != 32 ||
      s.wrapped_key_nonce().size() != crypto::kAeadNonceSize ||
      s.wrapped_key().size() != crypto::kAeadKeySize + crypto::kAeadTagSize ||
      s.payload_nonce().size() != crypto::kAeadNonceSize ||
      s.payload_ciphertext().size() < crypto::kAeadTagSize ||
      env.signature.size() != crypto::kEd25519SignatureSize) {
    return Status::InvalidArgument("envelope fields have wrong sizes");
  }
  return env;
}

Status VerifyEnvelope(const ParsedEnvelope& env, ByteSpan sender_signing_public) {
  Status s = crypto::Verify(sender_signing_public,
                            identity::SignedBytes(kEnvelopeSigLabel, AsBytes(env.sealed_bytes)),
                            AsBytes(env.signature));
  if (!s.ok()) return Status::Unauthenticated("envelope signature is invalid");
  return Status::Ok();
}

StatusOr<crypto::SecretBytes> DecryptEnvelope(const ParsedEnvelope& env, ByteSpan my_device_id,
                                              const crypto::SecretBytes& my_dh_secret) {
  const auto& s = env.sealed;
  if (!crypto::ConstantTimeEqual(AsBytes(s.recipient_device_id()), my_device_id)) {
    return Status::InvalidArgument("envelope is addressed to another device");
  }
  VIGIL_ASSIGN_OR_RETURN(Bytes my_pub, crypto::DhPublicFromSecret(my_dh_secret));
  auto shared = crypto::X25519(my_dh_secret, AsBytes(s.ephemeral_public_key()));
  if (!shared.ok()) return Status::Unauthenticated("envelope key exchange failed");
  VIGIL_ASSIGN_OR_RETURN(crypto::SecretBytes wrap,
                         WrapKey(*shared, AsBytes(s.ephemeral_public_key()), my_pub));
  auto content_key = crypto::AeadOpen(
      wrap, AsBytes(s.wrapped_key_nonce()),
      WrapAad(AsBytes(s.message_id()), AsBytes(s.sender_device_id()), my_device_id,
              AsBytes(s.ephemeral_public_key())),
      AsBytes(s.wrapped_key()));
  if (!content_key.ok()) return Status::Unauthenticated("envelope could not be decrypted");
  auto payload = crypto::AeadOpen(*content_key, AsBytes(s.payload_nonce()),
                                  PayloadAad(AsBytes(s.message_id()), AsBytes(s.sender_device_id())),
                                  AsBytes(s.payload_ciphertext()));
  if (!payload.ok()) return Status::Unauthenticated("envelope could not be decrypted");
  return std::move(payload).value();
}

}  // namespace vigil::client
