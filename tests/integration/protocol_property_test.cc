// A stateful property test of the whole path (issue #6): a real relay and
// real client::Client objects for a team of four members, one of them with
// a second, linked device, driven by seeded random operations:
//
//   send      SendText from a random device to another member (the sender's
//             other devices get a copy);
//   sync      Sync one device, then check its inbox;
//   drop      the relay loses one queued envelope (fetched and acknowledged
//             with the recipient device's transport keys, never processed);
//   capture / duplicate
//             queued envelopes are copied (fetched, not acknowledged) and
//             later sent again, byte for byte, through the relay with their
//             sender device's keys: a redelivery as after a lost ack; or
//             re-wrapped under a fresh message id (a replayed session
//             message, which must be refused);
//   reorder   several queued envelopes are taken out of a mailbox and sent
//             again in a random order;
//   restart   a Client object is destroyed and opened again from its store;
//   kill      `vigil sync` for a device is SIGKILLed at a random moment
//             (between fetch and ack, with luck);
//   relay     the relay is stopped (SIGTERM or SIGKILL), operations run
//             against it while it is down (sends queue in the outbox), then it
//             serves again on the same data directory;
//   revoke    a device is revoked by its owner (Vic revokes Vic's second
//             device) or by the relay administrator (vigil-relay revoke).
//
// Properties, after every sync and at the end, once every device has synced
// until nothing moves: every inbox message was sent, with that text, by that
// member from that device, to this device's member or from this member's
// other device; no message is shown twice; nothing a device sent after its
// revocation is shown; a device's sends after its revocation are refused; a
// replayed envelope is rejected; and every message acknowledged by the relay
// (or still queued at a device that was never revoked) reaches every
// intended device that was not revoked, except copies the relay "lost".
//
// Seeded: VIGIL_PROPERTY_SEED=<n> runs one seed, VIGIL_PROPERTY_STEPS=<n>
// changes the length, VIGIL_PROPERTY_LOG=1 prints the operations of passing
// runs; failures print the seed, the step and the operations.
#include <signal.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "client/lib/envelope.h"
#include "team_fixture.h"
#include "testing/property.h"
#include "vigil/wire.h"

namespace vigil {
namespace {

constexpr int kTimeoutMs = 5000;
constexpr int kDownTimeoutMs = 300;  // while the relay is down

struct Device {
  std::string label;   // "Vic2"
  std::string member;  // "Vic"
  std::unique_ptr<testing::ClientFixture> fixture;
  std::unique_ptr<client::Client> client;
  Bytes id;
  std::string id_hex;
  Bytes transport_public;
  crypto::SecretBytes transport_secret;
  std::unique_ptr<net::ClientConnection> raw;  // the device's keys, for the adversary
  bool revoked = false;
  bool offline = false;  // its Client saw the relay down (it then stays offline)
  std::set<std::string> baseline;  // inbox ids from before the run (the link archive)
  std::set<std::string> shown;
  int rejected = 0;        // envelopes the client quarantined
  int bogus_injected = 0;  // replays under a fresh id that the relay stored
};

struct Sent {
  size_t from = 0;
  std::string to;
  std::string text;
  bool acked = false;             // the relay acknowledged it
  bool after_revocation = false;  // sent by a device already revoked
  int step = 0;
};

struct Captured {
  Bytes message_id;
  Bytes from_device;
  Bytes blob;
};

class ProtocolPropertyTest : public TeamTest, public ::testing::WithParamInterface<uint32_t> {
 protected:
  bool Fail(const std::string& what) {
    ADD_FAILURE() << what << "\n" << log_->Context();
    return false;
  }

  // --- setup ---

  void SetUpTeam() {
    const std::vector<std::pair<std::string, std::string>> members = {
        {"coordinator", "Cora"}, {"volunteer", "Vic"}, {"volunteer", "Val"}, {"legal", "Lex"}};
    for (const auto& [role, name] : members) {
      auto d = std::make_unique<Device>();
      d->label = name;
      d->member = name;
      d->fixture = Member(role, name, name + " pass");
      devices_.push_back(std::move(d));
      member_names_.push_back(name);
    }
    // Vic links a second device (cheap: two CLI runs and a sync).
    auto vic2 = std::make_unique<Device>();
    vic2->label = "Vic2";
    vic2->member = "Vic";
    vic2->fixture = std::make_unique<testing::ClientFixture>(dir_, "Vic2", "Vic2 pass");
    ASSERT_EQ(vic2->fixture->Run({"init"}).exit_code, 0);
    testing::CommandResult link = devices_[1]->fixture->Run({"device", "link"});
    ASSERT_EQ(link.exit_code, 0) << link.err;
    testing::CommandResult join = vic2->fixture->Run({"join", link.out.substr(0, link.out.find('\n'))});
    ASSERT_EQ(join.exit_code, 0) << join.err;
    ASSERT_EQ(devices_[1]->fixture->Run({"sync"}).exit_code, 0);  // certifies it, sends the archive
    devices_.push_back(std::move(vic2));
    for (auto& d : devices_) {
      d->client = OpenInProcess(*d->fixture);
      ASSERT_TRUE(d->client);
      auto t = d->client->Transport();
      ASSERT_TRUE(t.ok()) << t.status().ToString();
      d->id = t->device_id;
      d->id_hex = HexEncode(t->device_id);
      d->transport_public = t->transport_public;
      d->transport_secret = std::move(t->transport_secret);
      relay_public_ = t->relay_public;
      endpoint_ = t->endpoint;
      auto s = d->client->Sync();
      ASSERT_TRUE(s.ok()) << d->label << ": " << s.status().ToString();
      auto inbox = d->client->Inbox();
      ASSERT_TRUE(inbox.ok());
      for (const auto& m : *inbox) d->baseline.insert(m.id);
    }
  }

  net::ClientConnection* Raw(Device& d) {
    if (!d.raw) {
      auto conn = net::ClientConnection::Connect(ctx_, endpoint_, relay_public_, d.transport_public,
                                                 d.transport_secret);
      if (!conn.ok()) return nullptr;
      d.raw = std::move(*conn);
    }
    return d.raw.get();
  }

  Device* DeviceById(ByteSpan id) {
    for (auto& d : devices_) {
      if (d->id == Bytes(id.begin(), id.end())) return d.get();
    }
    return nullptr;
  }

  std::vector<size_t> Active() const {
    std::vector<size_t> out;
    for (size_t i = 0; i < devices_.size(); ++i) {
      if (!devices_[i]->revoked) out.push_back(i);
    }
    return out;
  }

  // Should device `d` receive `s`? (Revocation is checked by the callers.)
  bool Intended(const Sent& s, size_t d) const {
    if (d == s.from) return false;
    return devices_[d]->member == s.to || devices_[d]->member == devices_[s.from]->member;
  }

  uint32_t Pick(size_t n) { return static_cast<uint32_t>(rng_() % n); }

  bool Reopen(Device& d, int timeout_ms = kTimeoutMs) {
    d.client.reset();
    auto c = client::Client::Open(d.fixture->home(), AsBytes(d.fixture->passphrase()));
    if (!c.ok()) return Fail("reopening " + d.label + ": " + c.status().ToString());
    d.client = std::move(*c);
    d.client->set_timeout_ms(timeout_ms);
    d.offline = false;
    return true;
  }

  // --- checks ---

  bool CheckInbox(size_t di) {
    Device& d = *devices_[di];
    auto inbox = d.client->Inbox();
    if (!inbox.ok()) return Fail(d.label + ": inbox: " + inbox.status().ToString());
    std::set<std::string> seen;
    for (const auto& m : *inbox) {
      if (d.baseline.count(m.id)) continue;
      if (!seen.insert(m.id).second) return Fail(d.label + " shows message " + m.id + " twice");
      auto it = sent_.find(m.id);
      if (it == sent_.end()) return Fail(d.label + " shows message " + m.id + " that nobody sent: " + m.text);
      const Sent& s = it->second;
      const Device& from = *devices_[s.from];
      if (m.text != s.text) return Fail(d.label + " shows \"" + m.text + "\" for \"" + s.text + "\"");
      if (m.from != from.member || m.from_device != from.id_hex) {
        return Fail(d.label + " shows \"" + s.text + "\" as from " + m.from + " device " + m.from_device);
      }
      if (!Intended(s, di)) return Fail(d.label + " shows \"" + s.text + "\", which was not for it");
      if (s.after_revocation) return Fail(d.label + " shows \"" + s.text + "\", sent after its sender's revocation");
    }
    d.shown = std::move(seen);
    return true;
  }

  // --- operations ---

  bool OpSend() {
    std::vector<size_t> active = Active();
    size_t from = active[Pick(active.size())];
    Device& d = *devices_[from];
    std::string to;
    do {
      to = member_names_[Pick(member_names_.size())];
    } while (to == d.member);
    std::string text = "t" + std::to_string(next_text_++) + " " + d.label + ">" + to;
    if (relay_down_) d.offline = true;
    auto r = d.client->SendText(to, text);
    if (!r.ok()) {
      log_->Add("send " + d.label + " -> " + to + ": " + r.status().ToString());
      if (relay_down_ || r.status().code() == Code::kNotFound) return true;  // unreachable / revoked member
      return Fail("SendText with the relay up: " + r.status().ToString());
    }
    if (!relay_down_ && !r->delivered && !r->refused.ok()) {
      return Fail("the relay refused \"" + text + "\": " + r->refused.ToString());
    }
    sent_[r->message_id] = Sent{from, to, text, r->delivered, false, log_->step()};
    log_->Add("send \"" + text + "\" " + r->message_id.substr(0, 8) + (r->delivered ? " acked" : " queued"));
    return true;
  }

  bool OpSync(size_t di) {
    Device& d = *devices_[di];
    if (relay_down_) d.offline = true;
    auto r = d.client->Sync();
    if (!r.ok()) {
      log_->Add("sync " + d.label + ": " + r.status().ToString());
      if (relay_down_) return true;
      return Fail(d.label + ": sync with the relay up: " + r.status().ToString());
    }
    log_->Add("sync " + d.label + ": sent " + std::to_string(r->sent) + ", received " + std::to_string(r->received) +
              ", duplicates " + std::to_string(r->duplicates) + ", rejected " + std::to_string(r->rejected.size()) +
              ", outbox " + std::to_string(r->outbox_left));
    last_sync_moved_ = r->received > 0 || r->sent > 0 || r->outbox_left > 0;
    d.rejected += static_cast<int>(r->rejected.size());
    for (const auto& rej : r->rejected) log_->Add("  rejected from " + rej.from_device.substr(0, 8) + ": " + rej.reason);
    // Only forged envelopes may be quarantined; a legitimate one never.
    if (d.rejected > d.bogus_injected) {
      return Fail(d.label + " rejected " + std::to_string(d.rejected) + " envelopes; only " +
                  std::to_string(d.bogus_injected) + " were forged");
    }
    if (r->outbox_left == 0) {
      for (auto& [id, s] : sent_) {
        if (s.from == di) s.acked = true;
      }
    }
    return CheckInbox(di);
  }

  StatusOr<std::vector<wire::v1::MailItem>> FetchRaw(Device& d) {
    net::ClientConnection* conn = Raw(d);
    if (!conn) return Status::Internal("no raw connection");
    wire::v1::Request req;
    req.mutable_fetch()->set_after_seq(0);
    VIGIL_ASSIGN_OR_RETURN(wire::v1::Response resp, conn->Call(req, kTimeoutMs));
    return std::vector<wire::v1::MailItem>(resp.fetch().items().begin(), resp.fetch().items().end());
  }

  Status AckRaw(Device& d, const std::vector<uint64_t>& seqs) {
    wire::v1::Request req;
    for (uint64_t s : seqs) req.mutable_ack()->add_seqs(s);
    return Raw(d)->Call(req, kTimeoutMs).status();
  }

  // Sends `blob` to `to` through the relay as device `from`; the number of
  // deliveries the relay stored (0: it still had that message id queued).
  StatusOr<uint32_t> InjectRaw(Device& from, Device& to, ByteSpan message_id, ByteSpan blob) {
    wire::v1::Request req;
    req.mutable_send()->set_message_id(ToString(message_id));
    auto* d = req.mutable_send()->add_deliveries();
    d->set_device_id(ToString(to.id));
    d->set_blob(ToString(blob));
    net::ClientConnection* conn = Raw(from);
    if (!conn) return Status::Internal("no raw connection");
    VIGIL_ASSIGN_OR_RETURN(wire::v1::Response resp, conn->Call(req, kTimeoutMs));
    return resp.send().stored();
  }

  bool OpDrop(size_t di) {
    Device& d = *devices_[di];
    auto items = FetchRaw(d);
    if (!items.ok()) return Fail("raw fetch: " + items.status().ToString());
    if (items->empty()) return true;
    const auto& it = (*items)[Pick(items->size())];
    Status s = AckRaw(d, {it.seq()});
    if (!s.ok()) return Fail("raw ack: " + s.ToString());
    std::string id = HexEncode(AsBytes(it.message_id()));
    dropped_.insert({id, di});
    log_->Add("drop " + id.substr(0, 8) + " for " + d.label);
    return true;
  }

  bool OpCapture(size_t di) {
    Device& d = *devices_[di];
    auto items = FetchRaw(d);
    if (!items.ok()) return Fail("raw fetch: " + items.status().ToString());
    auto& pool = captured_[di];
    for (const auto& it : *items) {
      pool.push_back({ToBytes(it.message_id()), ToBytes(it.from_device_id()), ToBytes(it.blob())});
    }
    if (pool.size() > 40) pool.erase(pool.begin(), pool.end() - 40);
    log_->Add("capture " + std::to_string(items->size()) + " for " + d.label);
    return true;
  }

  bool OpDuplicate(size_t di) {
    Device& d = *devices_[di];
    auto& pool = captured_[di];
    if (pool.empty()) return true;
    const int n = 1 + static_cast<int>(Pick(3));
    for (int k = 0; k < n; ++k) {
      const Captured& c = pool[Pick(pool.size())];
      Device* from = DeviceById(c.from_device);
      if (!from || from->revoked) continue;
      Bytes mid = c.message_id;
      Bytes blob = c.blob;
      const bool bogus = rng_() % 3 == 0;
      if (bogus) {
        // The same session message under a fresh message id.
        auto env = client::ParseEnvelope(blob);
        if (!env.ok()) return Fail("captured envelope does not parse: " + env.status().ToString());
        mid = crypto::RandomBytes(16);
        env->set_message_id(ToString(mid));
        blob = ToBytes(env->SerializeAsString());
      }
      auto stored = InjectRaw(*from, d, mid, blob);
      if (!stored.ok()) return Fail("raw send: " + stored.status().ToString());
      // A copy of a forged envelope (captured from the mailbox) is forged too.
      const bool forged = bogus || forged_ids_.count(HexEncode(c.message_id)) > 0;
      if (forged) d.bogus_injected += static_cast<int>(*stored);
      if (bogus) forged_ids_.insert(HexEncode(mid));
      log_->Add(std::string(bogus ? "replay under a new id " : "duplicate ") +
                HexEncode(c.message_id).substr(0, 8) + (bogus ? " as " + HexEncode(mid).substr(0, 8) : "") +
                " from " + from->label + " to " + d.label + ": stored " + std::to_string(*stored) +
                (forged && !bogus ? " (forged)" : ""));
    }
    return true;
  }

  bool OpReorder(size_t di) {
    Device& d = *devices_[di];
    auto items = FetchRaw(d);
    if (!items.ok()) return Fail("raw fetch: " + items.status().ToString());
    if (items->size() < 2) return true;
    std::vector<wire::v1::MailItem> take(items->begin(), items->begin() + std::min<size_t>(items->size(), 8));
    std::vector<uint64_t> seqs;
    for (const auto& it : take) seqs.push_back(it.seq());
    Status s = AckRaw(d, seqs);
    if (!s.ok()) return Fail("raw ack: " + s.ToString());
    std::shuffle(take.begin(), take.end(), rng_);
    std::string order;
    for (const auto& it : take) {
      std::string id = HexEncode(AsBytes(it.message_id()));
      Device* from = DeviceById(AsBytes(it.from_device_id()));
      if (!from || from->revoked) {
        dropped_.insert({id, di});
        order += " " + id.substr(0, 8) + "(lost)";
        continue;
      }
      auto stored = InjectRaw(*from, d, AsBytes(it.message_id()), AsBytes(it.blob()));
      if (!stored.ok()) return Fail("raw send: " + stored.status().ToString());
      if (*stored != 1) return Fail("the relay did not store a reordered envelope again");
      order += " " + id.substr(0, 8);
    }
    log_->Add("reorder for " + d.label + ":" + order);
    return true;
  }

  bool OpKillSync(size_t di) {
    Device& d = *devices_[di];
    const int after_ms = 20 + static_cast<int>(Pick(250));
    d.client.reset();
    {
      testing::BackgroundProcess sync({testing::BinPath("vigil"), "--home", d.fixture->home(), "sync"},
                                      {{"VIGIL_PASSPHRASE", d.fixture->passphrase()}}, dir_.path());
      std::this_thread::sleep_for(std::chrono::milliseconds(after_ms));  // the random moment of the crash
      sync.Signal(SIGKILL);
      sync.Wait(5000).status().IgnoreError();
    }
    log_->Add("kill `vigil sync` of " + d.label + " after " + std::to_string(after_ms) + " ms");
    if (!Reopen(d)) return false;
    return CheckInbox(di);
  }

  bool OpRelayDown() {
    const bool kill = rng_() % 2 == 0;
    steps_down_ = 1 + static_cast<int>(Pick(4));
    log_->Add(std::string(kill ? "relay SIGKILL" : "relay SIGTERM") + " for " + std::to_string(steps_down_) + " steps");
    if (kill) {
      relay_->Kill();
    } else {
      Status s = relay_->Stop();
      if (!s.ok()) return Fail("relay stop: " + s.ToString());
    }
    relay_down_ = true;
    for (auto& d : devices_) {
      if (d->client) d->client->set_timeout_ms(kDownTimeoutMs);
    }
    return true;
  }

  bool OpRelayUp() {
    Status s = relay_->Restart();
    if (!s.ok()) return Fail("relay restart: " + s.ToString());
    relay_down_ = false;
    log_->Add("relay up");
    for (auto& d : devices_) {
      if (!d->client) continue;
      d->client->set_timeout_ms(kTimeoutMs);
      if (d->offline && !Reopen(*d)) return false;  // an unreachable relay is remembered per process
    }
    return true;
  }

  bool OpRevoke() {
    std::vector<size_t> candidates;
    for (size_t i = 1; i < devices_.size(); ++i) {  // never Cora, the coordinator
      if (!devices_[i]->revoked && devices_[i]->label != "Vic") candidates.push_back(i);
    }
    if (candidates.empty()) return true;
    // Mostly a device with mail still on its way: what it sent before the
    // revocation must still arrive.
    std::vector<size_t> busy;
    for (size_t c : candidates) {
      for (const auto& [id, s] : sent_) {
        bool pending = false;
        for (size_t di : Active()) {
          pending = pending || (di != c && s.from == c && s.acked && Intended(s, di) && !devices_[di]->shown.count(id));
        }
        if (pending) {
          busy.push_back(c);
          break;
        }
      }
    }
    if (!busy.empty() && rng_() % 4 != 0) candidates = busy;
    size_t ti = candidates[Pick(candidates.size())];
    // Half the time the owner's revocation of the linked device, if possible.
    for (size_t c : candidates) {
      if (devices_[c]->label == "Vic2" && rng_() % 2 == 0) ti = c;
    }
    Device& t = *devices_[ti];
    if (t.label == "Vic2" && !devices_[1]->revoked) {
      Status s = devices_[1]->client->RevokeDevice(t.id_hex);
      log_->Add("Vic revokes Vic2: " + s.ToString());
      if (!s.ok()) return Fail("Vic revoking Vic2: " + s.ToString());
    } else {
      testing::CommandResult r = relay_->Relay({"revoke", t.id_hex});
      log_->Add("admin revokes " + t.label + ": " + r.out + r.err);
      if (r.exit_code != 0) return Fail("vigil-relay revoke: " + r.err);
    }
    t.revoked = true;
    // Its sends are refused from now on (its connection is still open).
    t.client->set_timeout_ms(1000);
    std::string to = t.member == "Cora" ? "Vic" : "Cora";
    std::string text = "t" + std::to_string(next_text_++) + " " + t.label + ">" + to + " after revocation";
    auto r = t.client->SendText(to, text);
    if (r.ok()) {
      if (r->delivered) return Fail("a revoked device's message was acknowledged");
      sent_[r->message_id] = Sent{ti, to, text, false, true, log_->step()};
    }
    log_->Add("  revoked " + t.label + " sends: " + (r.ok() ? std::string("queued") : r.status().ToString()));
    auto sync = t.client->Sync();
    if (sync.ok()) return Fail("a revoked device could sync");
    t.client.reset();
    t.raw.reset();
    return true;
  }

  bool Step(int step, int steps) {
    std::vector<size_t> active = Active();
    size_t di = active[Pick(active.size())];
    if (relay_down_) {
      if (--steps_down_ < 0) return OpRelayUp();
      return rng_() % 2 == 0 ? OpSend() : OpSync(di);
    }
    const uint32_t op = Pick(100);
    if (op < 33) return OpSend();
    if (op < 63) return OpSync(di);
    if (op < 68) return OpDrop(di);
    if (op < 74) return OpCapture(di);
    if (op < 80) return OpDuplicate(di);
    if (op < 85) return OpReorder(di);
    if (op < 91) {
      log_->Add("restart " + devices_[di]->label);
      return Reopen(*devices_[di]);
    }
    if (op < 93) return OpKillSync(di);
    if (op < 96) return OpRelayDown();
    if (op < 98 && step > steps / 2 && revocations_ < 2) {
      ++revocations_;
      return OpRevoke();
    }
    return OpSync(di);
  }

  // Everyone syncs until nothing moves; then every message that must arrive
  // has arrived at every intended device.
  bool Quiesce() {
    log_->Add("quiesce");
    if (relay_down_ && !OpRelayUp()) return false;
    for (auto& d : devices_) {
      if (!d->revoked && !Reopen(*d)) return false;
    }
    bool moved = true;
    for (int round = 0; round < 8 && moved; ++round) {
      moved = false;
      for (size_t di : Active()) {
        if (!OpSync(di)) return false;
        moved = moved || last_sync_moved_;
      }
    }
    if (moved) return Fail("the team did not settle after 8 rounds of syncs");
    int missing = 0;
    std::string report;
    for (const auto& [id, s] : sent_) {
      if (!s.acked && devices_[s.from]->revoked) continue;  // may or may not have left before
      for (size_t di : Active()) {
        if (!Intended(s, di) || dropped_.count({id, di})) continue;
        if (!devices_[di]->shown.count(id)) {
          ++missing;
          if (missing <= 20) report += "\n  \"" + s.text + "\" (" + id.substr(0, 8) + ", step " +
                                       std::to_string(s.step) + (s.acked ? ", acked" : "") + ") never reached " +
                                       devices_[di]->label;
        }
        ++checked_deliveries_;
      }
    }
    if (missing > 0) return Fail(std::to_string(missing) + " deliveries missing:" + report);
    return true;
  }

  net::Context ctx_;
  std::vector<std::unique_ptr<Device>> devices_;
  std::vector<std::string> member_names_;
  Bytes relay_public_;
  std::string endpoint_;
  std::unique_ptr<testing::OpLog> log_;
  std::mt19937 rng_;
  std::map<std::string, Sent> sent_;
  std::set<std::pair<std::string, size_t>> dropped_;
  std::set<std::string> forged_ids_;  // message ids of replays under a fresh id
  std::map<size_t, std::vector<Captured>> captured_;
  bool relay_down_ = false;
  int steps_down_ = 0;
  int next_text_ = 0;
  int revocations_ = 0;
  bool last_sync_moved_ = false;
  int checked_deliveries_ = 0;
};

TEST_P(ProtocolPropertyTest, RandomOperationsDeliverEveryMessageOnceAndNothingElse) {
  const uint32_t seed = GetParam();
  ASSERT_NO_FATAL_FAILURE(SetUpTeam());
  log_ = std::make_unique<testing::OpLog>(
      seed, "build/bin/vigil_integration_tests --gtest_filter='Seeds/ProtocolPropertyTest.*'");
  const int steps = testing::PropertySteps(testing::kSanitized ? 80 : 200);
  auto t0 = std::chrono::steady_clock::now();
  bool ok = true;
  // One draw of the seed's sequence per step seeds that step's choices, so
  // that the sequence of operations does not depend on what earlier ones
  // found (a killed sync gets further on some runs than on others).
  std::mt19937 sequence(seed);
  for (int step = 1; ok && step <= steps; ++step) {
    log_->set_step(step);
    rng_.seed(sequence());
    ok = Step(step, steps);
  }
  log_->set_step(steps + 1);
  if (ok) ok = Quiesce();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
  int acked = 0;
  for (const auto& [id, s] : sent_) acked += s.acked ? 1 : 0;
  std::cout << "seed " << seed << ": " << steps << " steps in " << ms << " ms; " << sent_.size() << " messages ("
            << acked << " acknowledged), " << checked_deliveries_ << " deliveries checked, " << dropped_.size()
            << " dropped, " << revocations_ << " revocations" << std::endl;
  if (testing::LogRequested()) std::cout << log_->Context();
  if (ok && !testing::SingleSeedRequested()) {
    EXPECT_GT(checked_deliveries_, steps / 4) << "the generator should deliver something";
  }
}

std::vector<uint32_t> Seeds() {
  return testing::PropertySeeds(testing::kSanitized ? std::vector<uint32_t>{1} : std::vector<uint32_t>{1, 2, 3});
}

INSTANTIATE_TEST_SUITE_P(Seeds, ProtocolPropertyTest, ::testing::ValuesIn(Seeds()));

}  // namespace
}  // namespace vigil
