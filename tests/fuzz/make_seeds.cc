// Writes seed inputs for the fuzz corpora (valid objects the fuzzer mutates).
// Run once: build/bin/vigil_fuzz_seeds tests/fuzz/corpus
#include <fstream>
#include <string>
#include <vector>

#include "client/lib/envelope.h"
#include "session_fixture.h"
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
  return 0;
}
