// Fixed team members for fuzz_received_payload.cc and its seeds
// (make_seeds.cc): every key comes from SHA-256 of a label, so the committed
// seeds name device ids the fuzz target knows, and the target can sign what
// the fuzzer made up as the member whose device it names (a malicious
// member signs whatever it likes; the fuzzer cannot forge Ed25519).
//
// Input format of the target (and of the seeds): up to 8 chunks, each one
// byte choosing the sending member (low 7 bits; the high bit set: keep the
// signatures as they came instead of signing), a two-byte big-endian
// length, then that many bytes of a store::v1::Payload as it decrypted.
#ifndef VIGIL_TESTS_FUZZ_CLIENT_FIXTURE_H_
#define VIGIL_TESTS_FUZZ_CLIENT_FIXTURE_H_

#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "vigil/crypto.h"
#include "vigil/identity.h"
#include "vigil/store/v1/store.pb.h"
#include "vigil/wire.h"

namespace vigil::fuzz {

inline constexpr char kVisitEventLabel[] = "vigil/visit-event/v1";
inline constexpr char kNoteVersionLabel[] = "vigil/note-version/v1";
inline constexpr size_t kMaxChunks = 8;

struct Member {
  std::string name, role;
  crypto::SigningKeyPair identity, signing;
  crypto::DhKeyPair dh;
  Bytes device_id;
};

inline crypto::SigningKeyPair SigningFromLabel(std::string_view label) {
  auto k = crypto::SigningKeyPairFromSeed(crypto::Sha256(AsBytes(label)));
  if (!k.ok()) std::abort();
  return std::move(*k);
}

inline Member MakeMember(const std::string& name, const std::string& role) {
  Member m;
  m.name = name;
  m.role = role;
  m.identity = SigningFromLabel("member-identity:" + name);
  m.signing = SigningFromLabel("member-signing:" + name);
  crypto::SecretBytes sk = crypto::SecretBytes::CopyOf(crypto::Sha256(AsBytes("member-dh:" + name)));
  auto pk = crypto::DhPublicFromSecret(sk);
  if (!pk.ok()) std::abort();
  m.dh = crypto::DhKeyPair{std::move(*pk), std::move(sk)};
  Bytes h = crypto::Sha256(AsBytes("member-device:" + name));
  m.device_id.assign(h.begin(), h.begin() + 16);
  return m;
}

// Index = the chunk's sender byte (low 7 bits) modulo the count.
inline std::vector<Member> TeamMembers() {
  std::vector<Member> out;
  out.push_back(MakeMember("cora", "coordinator"));
  out.push_back(MakeMember("vic", "volunteer"));
  out.push_back(MakeMember("val", "volunteer"));
  out.push_back(MakeMember("lee", "legal"));
  out.push_back(MakeMember("otto", "volunteer"));  // on no visit of the seeds
  return out;
}

// The member's directory entry (identity and one certified device).
inline wire::v1::DirectoryMember DirectoryEntry(const Member& m) {
  wire::v1::DirectoryMember e;
  e.set_name(m.name);
  e.set_role(m.role);
  e.set_identity_public_key(ToString(m.identity.public_key));
  auto dev = identity::CertifyDevice(m.identity.secret_key, m.identity.public_key, m.device_id, m.signing.public_key,
                                     m.dh.public_key, 1700000000000);
  if (!dev.ok()) std::abort();
  *e.add_devices() = std::move(*dev);
  return e;
}

// Signs `obj`'s body under `label` with the key of the member whose device
// it names, if any (otherwise the signature stays as it came).
inline void Resign(store::v1::SignedObject* obj, const char* label, const std::vector<Member>& members) {
  for (const auto& m : members) {
    if (ToBytes(obj->signer_device_id()) != m.device_id) continue;
    auto sig = crypto::Sign(m.signing.secret_key, identity::SignedBytes(label, AsBytes(obj->body())));
    if (!sig.ok()) std::abort();
    obj->set_signature(ToString(*sig));
    return;
  }
}

inline void ResignPayload(store::v1::Payload* p, const std::vector<Member>& members) {
  if (p->has_visit_event()) Resign(p->mutable_visit_event(), kVisitEventLabel, members);
  if (p->has_note_version()) Resign(p->mutable_note_version(), kNoteVersionLabel, members);
}

inline std::string Chunk(uint8_t sender, const std::string& payload) {
  std::string out;
  out.push_back(static_cast<char>(sender));
  out.push_back(static_cast<char>((payload.size() >> 8) & 0xff));
  out.push_back(static_cast<char>(payload.size() & 0xff));
  return out + payload.substr(0, 0xffff);
}

}  // namespace vigil::fuzz

#endif  // VIGIL_TESTS_FUZZ_CLIENT_FIXTURE_H_
