// Fuzz target: payloads from team members (authenticated, possibly
// malicious) as a device's sync handles them after decryption: visit
// events, note versions (hash and device chains, attachments), timestamp
// receipts and text, stored, judged or rejected, then the pending re-check,
// and every stored object read back and re-verified (visits, notes with
// their commitments and anchors, the inbox). See client_fixture.h for the
// input format; the signed objects are signed as the member whose device
// they name (unless the chunk asks to keep its signatures), so the fuzzer
// reaches the judging behind the signature check.
//
// One device store for the whole run (a temporary directory); each input
// runs in a transaction that is rolled back. Checked: a member's payload
// never makes the sync fail (that would let one member stop everyone's
// sync), and every note version stored as ok re-verifies when shown.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "client/lib/client.h"
#include "client_fixture.h"
#include "vigil/crypto.h"

namespace {

using namespace vigil;

std::string g_home;

struct Fixture {
  std::vector<fuzz::Member> members = fuzz::TeamMembers();
  std::unique_ptr<client::Client> client;

  Fixture() {
    char dir[] = "/tmp/vigil-fuzz-payload-XXXXXX";
    if (mkdtemp(dir) == nullptr) std::abort();
    g_home = dir;
    std::atexit([] { std::filesystem::remove_all(g_home); });
    auto c = client::Client::Init(g_home + "/home", AsBytes("fuzz"));
    if (!c.ok()) {
      std::fprintf(stderr, "fixture: %s\n", c.status().message().c_str());
      std::abort();
    }
    client = std::move(*c);
    for (const auto& m : members) {
      if (!client->AcceptMemberForTesting(fuzz::DirectoryEntry(m)).ok()) std::abort();
    }
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool init = crypto::InitCrypto().ok();
  (void)init;
  static Fixture* const f = new Fixture();
  std::vector<client::Client::ReceivedPayload> in;
  size_t pos = 0;
  while (pos + 3 <= size && in.size() < fuzz::kMaxChunks) {
    const fuzz::Member& sender = f->members[(data[pos] & 0x7f) % f->members.size()];
    const bool keep_signatures = (data[pos] & 0x80) != 0;
    size_t len = (static_cast<size_t>(data[pos + 1]) << 8) | data[pos + 2];
    pos += 3;
    len = std::min(len, size - pos);
    std::string bytes(reinterpret_cast<const char*>(data + pos), len);
    pos += len;
    client::Client::ReceivedPayload p;
    p.sender_name = sender.name;
    p.from_device = sender.device_id;
    store::v1::Payload payload;
    if (payload.ParseFromString(bytes)) {
      if (!keep_signatures) fuzz::ResignPayload(&payload, f->members);
      p.message_id = payload.message_id();
      bytes = payload.SerializeAsString();
    }
    p.plain = ToBytes(bytes);
    in.push_back(std::move(p));
  }
  auto r = f->client->ReceivePayloadsForTesting(in);
  if (!r.ok()) {
    std::fprintf(stderr, "a member's payload failed the sync: %s\n", r.status().ToString().c_str());
    std::abort();
  }
  if (std::getenv("VIGIL_FUZZ_VERBOSE") != nullptr) {  // to see where a seed gets
    for (const auto& p : r->sync.problems) std::fprintf(stderr, "problem: %s\n", p.c_str());
    for (const auto& j : r->sync.rejected) std::fprintf(stderr, "rejected: %s\n", j.reason.c_str());
    for (const auto& v : r->visits) {
      for (const auto& e : v.events) {
        std::fprintf(stderr, "visit %.8s %s by %s: %s %s\n", v.id.c_str(), e.kind.c_str(), e.author.c_str(),
                     e.status.c_str(), e.problem.c_str());
      }
    }
    for (const auto& n : r->notes) {
      for (const auto& v : n.versions) {
        std::fprintf(stderr, "note %.8s v%d by %s: %s %s (signature %s, %zu anchors)\n", n.id.c_str(), v.number,
                     v.author.c_str(), v.status.c_str(), v.problem.c_str(), v.signature_valid ? "ok" : "bad",
                     v.anchors.size());
      }
    }
    std::fprintf(stderr, "inbox: %zu\n", r->inbox.size());
  }
  for (const auto& n : r->notes) {
    for (const auto& v : n.versions) {
      if (v.status != "ok" && v.status != "rejected" && v.status != "pending") std::abort();
      if (v.status == "ok" && !v.signature_valid) {
        std::fprintf(stderr, "note %s v%d stored as ok does not re-verify\n", n.id.c_str(), v.number);
        std::abort();
      }
    }
  }
  for (const auto& v : r->visits) {
    for (const auto& e : v.events) {
      if (e.status != "ok" && e.status != "rejected" && e.status != "pending") std::abort();
    }
  }
  return 0;
}
