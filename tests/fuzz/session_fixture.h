// A fixed, deterministic pair of sessions for fuzz_session_message.cc and
// its seeds (make_seeds.cc): every key comes from SHA-256 of a label, so the
// committed seed messages decrypt at the fuzz target's sessions.
#ifndef VIGIL_TESTS_FUZZ_SESSION_FIXTURE_H_
#define VIGIL_TESTS_FUZZ_SESSION_FIXTURE_H_

#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "vigil/crypto.h"
#include "vigil/session.h"

namespace vigil::fuzz {

inline crypto::DhKeyPair DhFromLabel(std::string_view label) {
  crypto::SecretBytes sk = crypto::SecretBytes::CopyOf(crypto::Sha256(AsBytes(label)));
  auto pk = crypto::DhPublicFromSecret(sk);
  if (!pk.ok()) std::abort();
  return crypto::DhKeyPair{std::move(*pk), std::move(sk)};
}

struct FuzzDevice {
  session::DeviceIdentity id;
  crypto::SigningKeyPair signing;
  crypto::DhKeyPair dh;
};

inline FuzzDevice MakeFuzzDevice(const std::string& name) {
  FuzzDevice d;
  Bytes h = crypto::Sha256(AsBytes("device-id:" + name));
  d.id.device_id = Bytes(h.begin(), h.begin() + 16);
  auto signing = crypto::SigningKeyPairFromSeed(crypto::Sha256(AsBytes("signing:" + name)));
  if (!signing.ok()) std::abort();
  d.signing = std::move(*signing);
  d.dh = DhFromLabel("identity-dh:" + name);
  d.id.signing_public_key = d.signing.public_key;
  d.id.dh_public_key = d.dh.public_key;
  return d;
}

// Alice has sent initial_0 and initial_1 (both carrying the initial header);
// Bob has answered initial_0 with reply_0, which Alice has not read yet.
struct SessionFixture {
  FuzzDevice alice = MakeFuzzDevice("alice");
  FuzzDevice bob = MakeFuzzDevice("bob");
  session::PrekeySecret spk{7, DhFromLabel("spk:bob")};
  session::PrekeySecret opk{42, DhFromLabel("opk:bob")};
  session::PrekeyBundle bundle;
  Bytes initial_0, initial_1, reply_0;
  std::optional<session::Session> alice_session, bob_session;

  SessionFixture() {
    auto spk_signed = session::SignPrekey(bob.signing.secret_key, spk.id, spk.key_pair, 1700000000000);
    if (!spk_signed.ok()) std::abort();
    bundle.device = bob.id;
    bundle.signed_prekey = std::move(*spk_signed);
    bundle.one_time_prekey = session::OneTimePrekey{opk.id, opk.key_pair.public_key};
    auto a = session::Session::InitiateX3dh(alice.id, alice.dh.secret_key, bundle,
                                            DhFromLabel("ek:alice"), DhFromLabel("ratchet-1:alice"));
    if (!a.ok()) std::abort();
    auto m0 = a->Encrypt(AsBytes("fuzz seed 0"), DhFromLabel("unused"));
    auto m1 = a->Encrypt(AsBytes("fuzz seed 1"), DhFromLabel("unused"));
    if (!m0.ok() || !m1.ok()) std::abort();
    auto b = session::Session::RespondX3dh(bob.id, bob.dh.secret_key, alice.id, spk, &opk, *m0, 0);
    if (!b.ok()) std::abort();
    auto r0 = b->session.Encrypt(AsBytes("fuzz reply 0"), DhFromLabel("ratchet-1:bob"));
    if (!r0.ok()) std::abort();
    initial_0 = std::move(*m0);
    initial_1 = std::move(*m1);
    reply_0 = std::move(*r0);
    alice_session = std::move(*a);
    bob_session = std::move(b->session);
  }
};

}  // namespace vigil::fuzz

#endif  // VIGIL_TESTS_FUZZ_SESSION_FIXTURE_H_
