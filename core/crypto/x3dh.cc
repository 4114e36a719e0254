// X3DH (Signal's "Extended Triple Diffie-Hellman") between two devices, and
// the signed/one-time prekeys it uses. See vigil/session.h for the API and
// docs/SESSIONS_DRAFT.md for the protocol text. Byte-exact definitions:
//
//   signed prekey signature:
//     Ed25519(device signing key, "vigil/signed-prekey/v1" || 0x00 ||
//             BE32(id) || SPK_pub || BE64(created_at_ms))
//   A = initiator, B = responder; IK_x_dh the X25519 identity keys, IK_x_sign
//   the Ed25519 device signing keys (both from device certificates), EK_A the
//   initiator's ephemeral ("base") key, SPK_B / OPK_B the responder's signed
//   and one-time prekeys:
//     DH1 = X25519(IK_A_dh, SPK_B)   DH2 = X25519(EK_A, IK_B_dh)
//     DH3 = X25519(EK_A, SPK_B)      DH4 = X25519(EK_A, OPK_B)  (only with an OPK)
//     SK  = HKDF-SHA-256(salt = 32 x 0x00,
//                        ikm  = 32 x 0xFF || DH1 || DH2 || DH3 [|| DH4],
//                        info = "vigil/x3dh/v1", L = 32)
//     AD  = "vigil/ad/v1" || IK_A_sign || IK_B_sign || IK_A_dh || IK_B_dh
//   Any all-zero DH output (a low-order public key) aborts the handshake.
//   The Double Ratchet then starts as in Signal's spec section 3.3: the
//   initiator's first ratchet key DHs_A and DHr = SPK_B,
//     (RK, CKs) = KDF_RK(SK, X25519(DHs_A, SPK_B));
//   the responder, on the first message, computes the same with its SPK
//   secret as its initial ratchet key (see ratchet.cc for KDF_RK).
#include <cstring>
#include <string>
#include <utility>

#include "session_state.h"
#include "vigil/crypto.h"
#include "vigil/session.h"

namespace vigil::session {
namespace {

using crypto::DhKeyPair;
using crypto::SecretBytes;

void AppendBe32(Bytes& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(v >> shift));
}

void AppendBe64(Bytes& out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(v >> shift));
}

bool SameBytes(ByteSpan a, ByteSpan b) {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size()) == 0);
}

Status CheckSelfSecret(const DeviceIdentity& self, const SecretBytes& self_dh_secret) {
  auto pub = crypto::DhPublicFromSecret(self_dh_secret);
  if (!pub.ok()) return Status::InvalidArgument("local X25519 identity secret must be 32 bytes");
  if (!crypto::ConstantTimeEqual(*pub, self.dh_public_key)) {
    return Status::InvalidArgument("local X25519 identity secret does not match its public key");
  }
  return Status::Ok();
}

StatusOr<SecretBytes> Dh(const SecretBytes& secret, ByteSpan peer, std::string_view what) {
  auto out = crypto::X25519(secret, peer);
  if (!out.ok()) return out.status().WithContext(what);
  return out;
}

Status CheckInitialAgainst(const InitialHeaderInfo& initial, const DeviceIdentity& remote,
                           const PrekeySecret& signed_prekey, const PrekeySecret* one_time_prekey) {
  if (!SameBytes(initial.identity_dh_public_key, remote.dh_public_key)) {
    return Status::Unauthenticated("initial message names another identity key than the sender's");
  }
  if (initial.signed_prekey_id != signed_prekey.id) {
    return Status::InvalidArgument("signed prekey id does not match the initial message");
  }
  if (initial.one_time_prekey_id.has_value() != (one_time_prekey != nullptr)) {
    return Status::InvalidArgument(initial.one_time_prekey_id
                                       ? "initial message needs its one-time prekey"
                                       : "initial message uses no one-time prekey");
  }
  if (one_time_prekey != nullptr && *initial.one_time_prekey_id != one_time_prekey->id) {
    return Status::InvalidArgument("one-time prekey id does not match the initial message");
  }
  return Status::Ok();
}

}  // namespace

// --- shared checks ---

Status CheckKeyPair(const DhKeyPair& kp, std::string_view what) {
  if (kp.public_key.size() != kKeySize || kp.secret_key.size() != kKeySize) {
    return Status::InvalidArgument(std::string(what) + " must be a 32-byte X25519 key pair");
  }
  auto pub = crypto::DhPublicFromSecret(kp.secret_key);
  if (!pub.ok() || !crypto::ConstantTimeEqual(*pub, kp.public_key)) {
    return Status::InvalidArgument(std::string(what) + ": public key does not match secret key");
  }
  return Status::Ok();
}

Status CheckIdentity(const DeviceIdentity& d, std::string_view what) {
  if (d.device_id.size() != kDeviceIdSize || d.signing_public_key.size() != kKeySize ||
      d.dh_public_key.size() != kKeySize) {
    return Status::InvalidArgument(std::string(what) + " has wrong key or id sizes");
  }
  return Status::Ok();
}

bool SameInitial(const InitialHeaderInfo& a, const InitialHeaderInfo& b) {
  return SameBytes(a.identity_dh_public_key, b.identity_dh_public_key) &&
         SameBytes(a.base_key, b.base_key) && a.signed_prekey_id == b.signed_prekey_id &&
         a.one_time_prekey_id == b.one_time_prekey_id;
}

// --- prekeys ---

Bytes SignedPrekeyMessage(uint32_t id, ByteSpan public_key, int64_t created_at_ms) {
  Bytes out(kSignedPrekeyLabel.begin(), kSignedPrekeyLabel.end());
  out.push_back(0);
  AppendBe32(out, id);
  out.insert(out.end(), public_key.begin(), public_key.end());
  AppendBe64(out, static_cast<uint64_t>(created_at_ms));
  return out;
}

StatusOr<SignedPrekey> SignPrekey(const SecretBytes& device_signing_secret, uint32_t id,
                                  const DhKeyPair& key_pair, int64_t created_at_ms) {
  VIGIL_RETURN_IF_ERROR(CheckKeyPair(key_pair, "signed prekey"));
  VIGIL_ASSIGN_OR_RETURN(
      Bytes sig, crypto::Sign(device_signing_secret,
                              SignedPrekeyMessage(id, key_pair.public_key, created_at_ms)));
  return SignedPrekey{id, key_pair.public_key, created_at_ms, std::move(sig)};
}

Status VerifyPrekeyBundle(const PrekeyBundle& bundle) {
  VIGIL_RETURN_IF_ERROR(CheckIdentity(bundle.device, "prekey bundle device"));
  const SignedPrekey& spk = bundle.signed_prekey;
  if (spk.public_key.size() != kKeySize || spk.signature.size() != crypto::kEd25519SignatureSize) {
    return Status::InvalidArgument("signed prekey has wrong sizes");
  }
  if (bundle.one_time_prekey && bundle.one_time_prekey->public_key.size() != kKeySize) {
    return Status::InvalidArgument("one-time prekey must be 32 bytes");
  }
  if (bundle.pq_kem_public.size() > kMaxPqKemPublicSize) {
    return Status::InvalidArgument("post-quantum prekey share too large");
  }
  Status s = crypto::Verify(bundle.device.signing_public_key,
                            SignedPrekeyMessage(spk.id, spk.public_key, spk.created_at_ms),
                            spk.signature);
  if (!s.ok()) return Status::Unauthenticated("signed prekey signature is invalid");
  return Status::Ok();
}

Bytes EncodePrekeyBundle(const PrekeyBundle& bundle) {
  store::v1::PrekeyBundle b;
  b.set_version(kSessionVersion);
  b.set_device_id(ToString(bundle.device.device_id));
  auto* spk = b.mutable_signed_prekey();
  spk->set_id(bundle.signed_prekey.id);
  spk->set_public_key(ToString(bundle.signed_prekey.public_key));
  spk->set_created_at_ms(bundle.signed_prekey.created_at_ms);
  spk->set_signature(ToString(bundle.signed_prekey.signature));
  if (bundle.one_time_prekey) {
    b.mutable_one_time_prekey()->set_id(bundle.one_time_prekey->id);
    b.mutable_one_time_prekey()->set_public_key(ToString(bundle.one_time_prekey->public_key));
  }
  b.set_pq_kem_public(ToString(bundle.pq_kem_public));
  return ToBytes(b.SerializeAsString());
}

StatusOr<PrekeyBundle> DecodePrekeyBundle(ByteSpan bytes, const DeviceIdentity& device) {
  if (bytes.size() > kMaxPrekeyBundleSize) return Status::InvalidArgument("prekey bundle too large");
  store::v1::PrekeyBundle b;
  if (!b.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return Status::InvalidArgument("malformed prekey bundle");
  }
  if (b.version() != kSessionVersion) {
    return Status::Unimplemented("prekey bundle version " + std::to_string(b.version()) +
                                 " is not supported");
  }
  if (!b.has_signed_prekey()) return Status::InvalidArgument("prekey bundle has no signed prekey");
  if (!SameBytes(AsBytes(b.device_id()), device.device_id)) {
    return Status::Unauthenticated("prekey bundle is for another device");
  }
  PrekeyBundle out;
  out.device = device;
  out.signed_prekey.id = b.signed_prekey().id();
  out.signed_prekey.public_key = ToBytes(b.signed_prekey().public_key());
  out.signed_prekey.created_at_ms = b.signed_prekey().created_at_ms();
  out.signed_prekey.signature = ToBytes(b.signed_prekey().signature());
  if (b.has_one_time_prekey()) {
    out.one_time_prekey =
        OneTimePrekey{b.one_time_prekey().id(), ToBytes(b.one_time_prekey().public_key())};
  }
  out.pq_kem_public = ToBytes(b.pq_kem_public());
  VIGIL_RETURN_IF_ERROR(VerifyPrekeyBundle(out));
  return out;
}

// --- building blocks ---

namespace internal {

StatusOr<SecretBytes> X3dhKdf(ByteSpan dh1, ByteSpan dh2, ByteSpan dh3, ByteSpan dh4_or_empty) {
  if (dh1.size() != kKeySize || dh2.size() != kKeySize || dh3.size() != kKeySize ||
      (!dh4_or_empty.empty() && dh4_or_empty.size() != kKeySize)) {
    return Status::InvalidArgument("X3DH inputs must be 32 bytes");
  }
  // ikm = F || DH1 || DH2 || DH3 [|| DH4], F = 32 x 0xFF (X3DH section 2.2,
  // for curve X25519).
  SecretBytes ikm(kKeySize * (dh4_or_empty.empty() ? 4 : 5));
  std::memset(ikm.data(), 0xFF, kKeySize);
  size_t at = kKeySize;
  for (ByteSpan part : {dh1, dh2, dh3, dh4_or_empty}) {
    if (!part.empty()) std::memcpy(ikm.data() + at, part.data(), part.size());
    at += part.size();
  }
  const uint8_t zero_salt[kKeySize] = {0};
  return crypto::Hkdf(ByteSpan(zero_salt, sizeof zero_salt), ikm.span(), AsBytes(kX3dhInfo),
                      kKeySize);
}

Bytes AssociatedData(const DeviceIdentity& initiator, const DeviceIdentity& responder) {
  Bytes ad(kAdPrefix.begin(), kAdPrefix.end());
  for (const Bytes* part : {&initiator.signing_public_key, &responder.signing_public_key,
                            &initiator.dh_public_key, &responder.dh_public_key}) {
    ad.insert(ad.end(), part->begin(), part->end());
  }
  return ad;
}

}  // namespace internal

// --- handshake ---

StatusOr<Session> Session::InitiateX3dh(const DeviceIdentity& self, const SecretBytes& self_dh_secret,
                                        const PrekeyBundle& remote, DhKeyPair ephemeral,
                                        DhKeyPair first_ratchet_key) {
  VIGIL_RETURN_IF_ERROR(CheckIdentity(self, "local device"));
  VIGIL_RETURN_IF_ERROR(CheckSelfSecret(self, self_dh_secret));
  // The signature is checked before the bundle's keys are used at all.
  VIGIL_RETURN_IF_ERROR(VerifyPrekeyBundle(remote));
  if (SameBytes(self.device_id, remote.device.device_id)) {
    return Status::InvalidArgument("a device cannot start a session with itself");
  }
  VIGIL_RETURN_IF_ERROR(CheckKeyPair(ephemeral, "X3DH ephemeral key"));
  VIGIL_RETURN_IF_ERROR(CheckKeyPair(first_ratchet_key, "first ratchet key"));
  if (SameBytes(ephemeral.public_key, first_ratchet_key.public_key)) {
    return Status::InvalidArgument("X3DH ephemeral key and first ratchet key must differ");
  }
  const Bytes& spk = remote.signed_prekey.public_key;
  VIGIL_ASSIGN_OR_RETURN(SecretBytes dh1, Dh(self_dh_secret, spk, "signed prekey"));
  VIGIL_ASSIGN_OR_RETURN(SecretBytes dh2,
                         Dh(ephemeral.secret_key, remote.device.dh_public_key, "identity key"));
  VIGIL_ASSIGN_OR_RETURN(SecretBytes dh3, Dh(ephemeral.secret_key, spk, "signed prekey"));
  SecretBytes dh4;
  if (remote.one_time_prekey) {
    VIGIL_ASSIGN_OR_RETURN(dh4, Dh(ephemeral.secret_key, remote.one_time_prekey->public_key,
                                   "one-time prekey"));
  }
  VIGIL_ASSIGN_OR_RETURN(SecretBytes sk,
                         internal::X3dhKdf(dh1.span(), dh2.span(), dh3.span(), dh4.span()));

  auto s = std::make_unique<State>();
  s->initiator = true;
  s->local = self;
  s->remote = remote.device;
  s->ad = internal::AssociatedData(self, remote.device);
  VIGIL_ASSIGN_OR_RETURN(SecretBytes ratchet_dh, Dh(first_ratchet_key.secret_key, spk,
                                                    "signed prekey"));
  VIGIL_ASSIGN_OR_RETURN(internal::RootStep step, internal::KdfRoot(sk, ratchet_dh));
  s->root_key = std::move(step.root_key);
  s->send_chain_key = std::move(step.chain_key);
  s->send_ratchet_public = first_ratchet_key.public_key;
  s->send_ratchet_secret = std::move(first_ratchet_key.secret_key);
  s->remote_ratchet_public = spk;
  InitialHeaderInfo initial;
  initial.identity_dh_public_key = self.dh_public_key;
  initial.base_key = ephemeral.public_key;
  initial.signed_prekey_id = remote.signed_prekey.id;
  if (remote.one_time_prekey) initial.one_time_prekey_id = remote.one_time_prekey->id;
  s->initial = std::move(initial);
  return Session(std::move(s));
}

StatusOr<DecryptResult> Session::RespondX3dh(const DeviceIdentity& self,
                                             const SecretBytes& self_dh_secret,
                                             const DeviceIdentity& remote,
                                             const PrekeySecret& signed_prekey,
                                             const PrekeySecret* one_time_prekey,
                                             ByteSpan first_message, int64_t now_ms) {
  VIGIL_RETURN_IF_ERROR(CheckIdentity(self, "local device"));
  VIGIL_RETURN_IF_ERROR(CheckIdentity(remote, "remote device"));
  VIGIL_RETURN_IF_ERROR(CheckSelfSecret(self, self_dh_secret));
  if (SameBytes(self.device_id, remote.device_id)) {
    return Status::InvalidArgument("a device cannot start a session with itself");
  }
  VIGIL_RETURN_IF_ERROR(CheckKeyPair(signed_prekey.key_pair, "signed prekey"));
  if (one_time_prekey != nullptr) {
    VIGIL_RETURN_IF_ERROR(CheckKeyPair(one_time_prekey->key_pair, "one-time prekey"));
  }
  VIGIL_ASSIGN_OR_RETURN(ParsedMessage m, ParseMessage(first_message));
  if (!m.initial) {
    return Status::FailedPrecondition("message does not start a session (no initial header)");
  }
  const InitialHeaderInfo& initial = *m.initial;
  VIGIL_RETURN_IF_ERROR(CheckInitialAgainst(initial, remote, signed_prekey, one_time_prekey));

  const SecretBytes& spk = signed_prekey.key_pair.secret_key;
  VIGIL_ASSIGN_OR_RETURN(SecretBytes dh1, Dh(spk, remote.dh_public_key, "identity key"));
  VIGIL_ASSIGN_OR_RETURN(SecretBytes dh2, Dh(self_dh_secret, initial.base_key, "base key"));
  VIGIL_ASSIGN_OR_RETURN(SecretBytes dh3, Dh(spk, initial.base_key, "base key"));
  SecretBytes dh4;
  if (one_time_prekey != nullptr) {
    VIGIL_ASSIGN_OR_RETURN(dh4, Dh(one_time_prekey->key_pair.secret_key, initial.base_key,
                                   "base key"));
  }
  VIGIL_ASSIGN_OR_RETURN(SecretBytes sk,
                         internal::X3dhKdf(dh1.span(), dh2.span(), dh3.span(), dh4.span()));

  auto s = std::make_unique<State>();
  s->initiator = false;
  s->local = self;
  s->remote = remote;
  s->ad = internal::AssociatedData(remote, self);
  // The signed prekey is the responder's first ratchet key: the first
  // receiving chain is KDF_RK(SK, X25519(SPK_B, DHs_A)). It is used only
  // here; the responder's first sending chain uses a fresh key (Encrypt).
  const Bytes remote_ratchet(m.header.ratchet_public_key().begin(),
                             m.header.ratchet_public_key().end());
  VIGIL_ASSIGN_OR_RETURN(SecretBytes ratchet_dh, Dh(spk, remote_ratchet, "ratchet key"));
  VIGIL_ASSIGN_OR_RETURN(internal::RootStep step, internal::KdfRoot(sk, ratchet_dh));
  s->root_key = std::move(step.root_key);
  s->recv_chain_key = std::move(step.chain_key);
  s->remote_ratchet_public = remote_ratchet;
  s->initial_remote_ratchet = remote_ratchet;
  s->initial = initial;

  VIGIL_ASSIGN_OR_RETURN(SecretBytes plaintext, DecryptWithState(*s, m, now_ms));
  DecryptResult result{Session(std::move(s)), std::move(plaintext), std::nullopt};
  if (one_time_prekey != nullptr) result.used_one_time_prekey_id = one_time_prekey->id;
  return result;
}

}  // namespace vigil::session
