// Writes seed inputs for the fuzz corpora (valid objects the fuzzer mutates).
// Run once: build/bin/vigil_fuzz_seeds tests/fuzz/corpus
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "client/lib/envelope.h"
#include "client_fixture.h"
#include "session_fixture.h"
#include "tlog_host.h"
#include "vigil/evidence.h"
#include "vigil/crypto.h"
#include "vigil/identity.h"
#include "vigil/session.h"
#include "vigil/wire.h"

namespace {
void Write(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

// fuzz_zap_request's input: each frame a length byte, then the frame.
std::string ZapFrames(const std::vector<std::string>& frames) {
  std::string out;
  for (const auto& f : frames) {
    out.push_back(static_cast<char>(f.size()));
    out += f;
  }
  return out;
}

std::string Id16(const std::string& label) {
  vigil::Bytes h = vigil::crypto::Sha256(vigil::AsBytes(label));
  return std::string(h.begin(), h.begin() + 16);
}

// A payload of `from` carrying `obj` as a visit event or note version
// (signed as `from`'s device), as fuzz_received_payload reads it.
std::string RecordChunk(const std::vector<vigil::fuzz::Member>& team, size_t from, const std::string& body,
                        bool is_note, const std::string& message_label) {
  using namespace vigil;
  store::v1::Payload p;
  p.set_version(1);
  p.set_message_id(Id16(message_label));
  p.set_from_name(team[from].name);
  p.set_sent_at_ms(1764460800000);
  store::v1::SignedObject* obj = is_note ? p.mutable_note_version() : p.mutable_visit_event();
  obj->set_body(body);
  obj->set_signer_device_id(ToString(team[from].device_id));
  fuzz::ResignPayload(&p, team);
  return fuzz::Chunk(static_cast<uint8_t>(from), p.SerializeAsString());
}

void WritePayloadSeeds(const std::string& dir) {
  using namespace vigil;
  namespace sv1 = store::v1;
  const auto team = fuzz::TeamMembers();  // 0 cora (coordinator), 1 vic, 2 val, 3 lee (legal), 4 otto
  const std::string visit = Id16("visit-1"), note = Id16("note-1");
  sv1::VisitEvent assign;
  assign.set_version(1);
  assign.set_visit_id(visit);
  assign.set_event_id(Id16("event-assign"));
  assign.set_kind(sv1::ASSIGN);
  assign.set_author("cora");
  assign.set_created_at_ms(1764460800000);
  auto* d = assign.mutable_details();
  d->set_coordinator("cora");
  d->add_volunteers("vic");
  d->add_volunteers("val");
  d->add_legal("lee");
  d->set_detainee("J. Doe");
  d->set_facility("Facility");
  d->set_at("2026-12-01T10:00-08:00");
  sv1::VisitEvent accept;
  accept.set_version(1);
  accept.set_visit_id(visit);
  accept.set_event_id(Id16("event-accept"));
  accept.set_kind(sv1::ACCEPT);
  accept.set_author("vic");
  accept.set_created_at_ms(1764460900000);
  sv1::NoteVersion v1;
  v1.set_version(1);
  v1.set_note_id(note);
  v1.set_visit_id(visit);
  v1.set_number(1);
  v1.set_author("vic");
  v1.set_author_device_id(ToString(team[1].device_id));
  v1.set_device_seq(1);
  v1.set_created_at_ms(1764461000000);
  v1.set_body("first version");
  v1.set_commitment_salt(std::string(32, 's'));
  const std::string v1_body = v1.SerializeAsString();
  const Bytes v1_hash = crypto::Sha256(AsBytes(v1_body));
  sv1::NoteVersion v2 = v1;
  v2.set_number(2);
  v2.set_prev_version_hash(ToString(v1_hash));
  v2.set_device_seq(2);
  v2.set_prev_device_hash(ToString(v1_hash));
  v2.set_body("amended");
  auto* a = v2.add_attachments();
  a->set_name("photo.jpg");
  a->set_size(1000);
  a->set_sha256(std::string(32, 'h'));
  a->set_blob_id(Id16("blob-1"));
  a->set_key(std::string(32, 'k'));
  a->set_stream_header(std::string(crypto::kStreamHeaderSize, 'x'));
  a->set_chunks(1);
  sv1::Payload anchor;
  anchor.set_version(1);
  anchor.set_message_id(Id16("msg-anchor"));
  anchor.set_from_name("lee");
  auto* r = anchor.mutable_anchor_receipt();
  r->set_version(1);
  r->set_note_id(note);
  r->set_version_hash(ToString(v1_hash));
  r->set_source("notary");
  r->set_plugin("notary");
  r->set_token("vigil-notary-v1\n");
  sv1::Payload text;
  text.set_version(1);
  text.set_message_id(Id16("msg-text"));
  text.set_from_name("lee");
  text.mutable_text()->set_text("hello team");

  const std::string c_assign = RecordChunk(team, 0, assign.SerializeAsString(), false, "msg-assign");
  const std::string c_accept = RecordChunk(team, 1, accept.SerializeAsString(), false, "msg-accept");
  const std::string c_v1 = RecordChunk(team, 1, v1_body, true, "msg-v1");
  const std::string c_v2 = RecordChunk(team, 1, v2.SerializeAsString(), true, "msg-v2");
  Write(dir + "/received_payload/visit_and_notes", c_assign + c_accept + c_v1 + c_v2 +
                                                       fuzz::Chunk(3, anchor.SerializeAsString()));
  // Before the assignment: pending, then judged by the re-check.
  Write(dir + "/received_payload/out_of_order", c_v2 + c_v1 + c_accept + c_assign);
  Write(dir + "/received_payload/text", fuzz::Chunk(3, text.SerializeAsString()));
  // A volunteer assigning, and a note from someone off the team.
  sv1::VisitEvent bad = assign;
  bad.set_event_id(Id16("event-bad"));
  bad.set_author("vic");
  bad.mutable_details()->set_coordinator("vic");
  sv1::NoteVersion off = v1;
  off.set_author("otto");
  off.set_author_device_id(ToString(team[4].device_id));
  Write(dir + "/received_payload/refused", RecordChunk(team, 1, bad.SerializeAsString(), false, "msg-bad") + c_assign +
                                               RecordChunk(team, 4, off.SerializeAsString(), true, "msg-off"));
}

// A note version from `vic` whose signature does not verify, sent with the
// sender byte's high bit set so the fuzz target keeps it as it came.
void WriteForgedSeed(const std::string& dir) {
  using namespace vigil;
  const auto team = fuzz::TeamMembers();
  store::v1::NoteVersion v;
  v.set_version(1);
  v.set_note_id(Id16("note-forged"));
  v.set_visit_id(Id16("visit-1"));
  v.set_number(1);
  v.set_author("vic");
  v.set_author_device_id(ToString(team[1].device_id));
  v.set_device_seq(1);
  v.set_body("not what vic wrote");
  store::v1::Payload p;
  p.set_version(1);
  p.set_message_id(Id16("msg-forged"));
  p.set_from_name("vic");
  p.mutable_note_version()->set_body(v.SerializeAsString());
  p.mutable_note_version()->set_signature(std::string(64, 'f'));
  p.mutable_note_version()->set_signer_device_id(ToString(team[1].device_id));
  Write(dir + "/received_payload/forged_signature", fuzz::Chunk(0x81, p.SerializeAsString()));
}

void WriteTlogSeeds(const std::string& dir) {
  using namespace vigil;
  Write(dir + "/tlog_query/checkpoint", std::string(1, '\0') + "checkpoint\n");
  Write(dir + "/tlog_query/consistency", std::string(1, '\0') + "consistency 5 13\n");
  Write(dir + "/tlog_query/consistency_whole", std::string(1, '\0') + "consistency 0 13\n");
  // A token for the log's last digest, stamped by a log one leaf shorter
  // (so that after the stamp it is the fuzz target's log).
  fuzz::TlogHost host(fuzz::kLeaves - 1);
  std::string token;
  if (host.Stamp(fuzz::LogDigest(fuzz::kLeaves - 1), &token) != VIGIL_TS_OK) std::abort();
  Write(dir + "/tlog_query/token", std::string(1, '\1') + static_cast<char>(fuzz::kLeaves - 1) + token);
}
}  // namespace

int main(int argc, char** argv) {
  using namespace vigil;
  if (argc != 2 || !crypto::InitCrypto().ok()) return 2;
  std::string dir = argv[1];
  wire::v1::Request ping;
  ping.set_version(1);
  ping.set_request_id(1);
  ping.mutable_ping();
  Write(dir + "/wire_request/ping", ToString(wire::EncodeRequest(ping)));
  wire::v1::Request send;
  send.set_version(1);
  send.set_request_id(2);
  send.mutable_send()->set_message_id(std::string(16, 'm'));
  auto* d = send.mutable_send()->add_deliveries();
  d->set_device_id(std::string(16, 'd'));
  d->set_blob("blob");
  Write(dir + "/wire_request/send", ToString(wire::EncodeRequest(send)));
  identity::Invite inv{"tcp://127.0.0.1:7450", crypto::RandomBytes(32), crypto::SecretBytes::Random(32)};
  Write(dir + "/invite_code/valid", identity::EncodeInvite(inv));
  identity::LinkCode link{"tcp://127.0.0.1:7450", crypto::RandomBytes(32), crypto::SecretBytes::Random(32),
                          crypto::RandomBytes(32)};
  std::string link_text = identity::EncodeLink(link);
  Write(dir + "/link_code/valid", link_text);
  Write(dir + "/link_code/body", link_text.substr(std::string(identity::kLinkPrefix).size()));
  auto sender = crypto::GenerateSigningKeyPair();
  Bytes mid = crypto::RandomBytes(16);
  auto content = client::SealContent(mid, crypto::RandomBytes(16), sender.secret_key, ToBytes("payload"));
  Write(dir + "/envelope/valid", ToString(client::BuildEnvelope(mid, crypto::RandomBytes(16), crypto::RandomBytes(16),
                                                                content->key_package.span(), *content)));
  auto id = crypto::GenerateSigningKeyPair();
  auto dev = identity::CertifyDevice(id.secret_key, id.public_key, crypto::RandomBytes(16),
                                     crypto::RandomBytes(32), crypto::RandomBytes(32), 1);
  wire::v1::DirectoryMember m;
  m.set_name("Vic");
  m.set_role("volunteer");
  m.set_identity_public_key(ToString(id.public_key));
  *m.add_devices() = *dev;
  Write(dir + "/device_certificate/valid", m.SerializeAsString());
  // Session messages and states that the fuzz target's fixed sessions accept.
  fuzz::SessionFixture f;
  Write(dir + "/session_message/initial_0", ToString(f.initial_0));
  Write(dir + "/session_message/initial_1", ToString(f.initial_1));
  Write(dir + "/session_message/reply_0", ToString(f.reply_0));
  Write(dir + "/session_message/state_alice", ToString(f.alice_session->Serialize().span()));
  Write(dir + "/session_message/state_bob", ToString(f.bob_session->Serialize().span()));
  Write(dir + "/session_message/prekey_bundle", ToString(session::EncodePrekeyBundle(f.bundle)));
  // ZAP requests: a device's CURVE handshake, another mechanism, a wrong
  // version, the CURVE frame short.
  const std::string key(32, 'K');
  Write(dir + "/zap_request/curve", ZapFrames({"1.0", "1", "vigil", "127.0.0.1", "", "CURVE", key}));
  Write(dir + "/zap_request/curve_refused",
        ZapFrames({"1.0", "2", "vigil", "10.0.0.1", "", "CURVE", std::string(1, '\x01') + key.substr(1)}));
  Write(dir + "/zap_request/null", ZapFrames({"1.0", "3", "vigil", "127.0.0.1", "", "NULL"}));
  Write(dir + "/zap_request/plain", ZapFrames({"1.0", "4", "", "127.0.0.1", "", "PLAIN", "user", "pass"}));
  Write(dir + "/zap_request/version", ZapFrames({"2.0", "5", "vigil", "127.0.0.1", "", "CURVE", key}));
  Write(dir + "/zap_request/short_key", ZapFrames({"1.0", "6", "vigil", "127.0.0.1", "", "CURVE", key.substr(0, 31)}));
  WritePayloadSeeds(dir);
  WriteForgedSeed(dir);
  WriteTlogSeeds(dir);
  return 0;
}
