#include "client/lib/envelope.h"

#include "vigil/identity.h"

namespace vigil::client {
namespace {

constexpr char kContentAadLabel[] = "vigil/content/v1";
constexpr char kContentSigLabel[] = "vigil/content-sig/v1";

Bytes Concat(std::initializer_list<ByteSpan> parts) {
  Bytes out;
  for (auto p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

Bytes ContentAad(ByteSpan message_id, ByteSpan sender) {
  return identity::SignedBytes(kContentAadLabel, Concat({message_id, sender}));
}

Bytes SignedContent(ByteSpan message_id, ByteSpan ciphertext) {
  Bytes digest = crypto::Sha256(ciphertext);
  return identity::SignedBytes(kContentSigLabel, Concat({message_id, digest}));
}

}  // namespace

StatusOr<SealedContent> SealContent(ByteSpan message_id, ByteSpan sender_device_id,
                                    const crypto::SecretBytes& sender_signing_secret, ByteSpan payload) {
  if (message_id.size() != 16 || sender_device_id.size() != 16) {
    return Status::InvalidArgument("ids must be 16 bytes");
  }
  crypto::SecretBytes key = crypto::SecretBytes::Random(crypto::kAeadKeySize);
  SealedContent out;
  out.nonce = crypto::RandomBytes(crypto::kAeadNonceSize);
  VIGIL_ASSIGN_OR_RETURN(out.ciphertext,
                         crypto::AeadSeal(key, out.nonce, ContentAad(message_id, sender_device_id), payload));
  VIGIL_ASSIGN_OR_RETURN(Bytes sig, crypto::Sign(sender_signing_secret, SignedContent(message_id, out.ciphertext)));
  store::v1::ContentKey ck;
  ck.set_key(ToString(key.span()));
  ck.set_signature(ToString(sig));
  std::string bytes = ck.SerializeAsString();
  out.key_package = crypto::SecretBytes::CopyOf(AsBytes(bytes));
  crypto::Wipe(bytes);
  crypto::Wipe(*ck.mutable_key());
  return out;
}

Bytes BuildEnvelope(ByteSpan message_id, ByteSpan sender_device_id, ByteSpan recipient_device_id,
                    ByteSpan session_message, const SealedContent& content) {
  store::v1::SessionEnvelope e;
  e.set_version(kEnvelopeVersion);
  e.set_message_id(ToString(message_id));
  e.set_sender_device_id(ToString(sender_device_id));
  e.set_recipient_device_id(ToString(recipient_device_id));
  e.set_session_message(ToString(session_message));
  e.set_content_nonce(ToString(content.nonce));
  e.set_content_ciphertext(ToString(content.ciphertext));
  return ToBytes(e.SerializeAsString());
}

StatusOr<store::v1::SessionEnvelope> ParseEnvelope(ByteSpan blob) {
  if (blob.size() > kMaxEnvelopeSize) return Status::InvalidArgument("envelope too large");
  store::v1::SessionEnvelope e;
  if (!e.ParseFromArray(blob.data(), static_cast<int>(blob.size()))) {
    return Status::InvalidArgument("envelope is not a valid protobuf");
  }
  if (e.version() != kEnvelopeVersion) {
    return Status::Unimplemented("envelope version " + std::to_string(e.version()) +
                                 " is not supported (this device speaks 2); upgrade Vigil");
  }
  if (e.message_id().size() != 16 || e.sender_device_id().size() != 16 || e.recipient_device_id().size() != 16 ||
      e.session_message().empty() || e.content_nonce().size() != crypto::kAeadNonceSize ||
      e.content_ciphertext().size() < crypto::kAeadTagSize) {
    return Status::InvalidArgument("envelope fields have wrong sizes");
  }
  return e;
}

StatusOr<crypto::SecretBytes> OpenContent(const store::v1::SessionEnvelope& env, ByteSpan key_package,
                                          ByteSpan sender_signing_public) {
  store::v1::ContentKey ck;
  if (key_package.size() > 256 || !ck.ParseFromArray(key_package.data(), static_cast<int>(key_package.size())) ||
      ck.key().size() != crypto::kAeadKeySize || ck.signature().size() != crypto::kEd25519SignatureSize) {
    return Status::Unauthenticated("the message key package is malformed");
  }
  crypto::SecretBytes key = crypto::SecretBytes::CopyOf(AsBytes(ck.key()));
  crypto::Wipe(*ck.mutable_key());
  if (!crypto::Verify(sender_signing_public,
                      SignedContent(AsBytes(env.message_id()), AsBytes(env.content_ciphertext())),
                      AsBytes(ck.signature()))
           .ok()) {
    return Status::Unauthenticated("the message is not signed by the sending device");
  }
  auto plain = crypto::AeadOpen(key, AsBytes(env.content_nonce()),
                                ContentAad(AsBytes(env.message_id()), AsBytes(env.sender_device_id())),
                                AsBytes(env.content_ciphertext()));
  if (!plain.ok()) return Status::Unauthenticated("the message content does not decrypt");
  return std::move(*plain);
}

}  // namespace vigil::client
