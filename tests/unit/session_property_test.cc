// A stateful property test of the session core (vigil/session.h) as the
// client uses it (client/lib/sessions.cc): three devices, each with a
// session table (several sessions per remote device, the most recently used
// one sends, all are tried on receipt, X3DH answers a message that starts a
// new session), prekeys handed out once by a model relay, over an in-memory
// network that loses, duplicates, reorders and corrupts messages, and
// devices that restart (every session reloaded from its stored bytes,
// Session::Serialize / Session::Parse, as the device store keeps them) or
// crash after decrypting but before committing.
//
// Properties, checked at every delivery: a message delivered for the first
// time decrypts to exactly what was sent (even after losses: gaps stay well
// inside kMaxSkip and kMaxSkippedKeys); a message already accepted, or a
// corrupted one, is refused with an error and never decrypts (twice);
// nothing decrypts to another message's text. At the end everything still in
// flight arrives, then every accepted message is replayed and refused.
//
// Seeded: VIGIL_PROPERTY_SEED=<n> reruns one seed, VIGIL_PROPERTY_STEPS=<n>
// changes the length, VIGIL_PROPERTY_LOG=1 prints the operations of passing
// runs; failures print the seed, the step and the operations.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "testing/property.h"
#include "vigil/crypto.h"
#include "vigil/session.h"

namespace vigil::session {
namespace {

using crypto::DhKeyPair;
using crypto::SecretBytes;

constexpr int kMaxSessionsPerDevice = 5;  // as client/lib/sessions.cc
constexpr size_t kOneTimePool = 3;        // small, so that bundles also run dry
constexpr size_t kMaxInFlightPerLink = 100;  // keeps every gap far below kMaxSkip
constexpr int64_t kStart = 1750000000000;
constexpr int64_t kHourMs = 3600LL * 1000;

Bytes ToVec(const SecretBytes& s) { return Bytes(s.span().begin(), s.span().end()); }

class Model;

// One device: its keys, the prekey secrets and sessions its store holds,
// and the live Session objects a running client would keep in memory.
struct Device {
  std::string name;
  DeviceIdentity id;
  crypto::SigningKeyPair signing;
  DhKeyPair dh;
  std::map<uint32_t, DhKeyPair> signed_secrets;
  std::map<uint32_t, DhKeyPair> one_time_secrets;
  // What the relay holds for this device.
  SignedPrekey published_signed;
  std::vector<OneTimePrekey> published_one_time;
  uint32_t next_prekey_id = 1;
  struct Row {
    int64_t row_id = 0;
    size_t remote = 0;
    Bytes base_key;  // empty for sessions this device initiated
    Bytes stored;    // Session::Serialize(), as in the sessions table
    int64_t last_used = 0;
  };
  std::vector<Row> rows;
  std::map<int64_t, Session> live;
  int64_t next_row_id = 1;
};

struct Message {
  size_t from = 0, to = 0;
  std::string text;
  Bytes wire;
  bool accepted = false;
  bool lost = false;
};

class Model {
 public:
  explicit Model(uint32_t seed, int devices)
      : rng_(seed), log_(seed, "build/bin/vigil_unit_tests --gtest_filter='SessionPropertyTest.*'") {
    for (int i = 0; i < devices; ++i) devices_.push_back(MakeDevice(std::string(1, static_cast<char>('A' + i))));
  }

  // Runs `steps` random operations, then drains the network. Returns false
  // (after ADD_FAILURE with the context) on the first broken property.
  bool Run(int steps) {
    for (int step = 1; step <= steps; ++step) {
      log_.set_step(step);
      now_ += static_cast<int64_t>(rng_() % 50);
      if (!Step()) return false;
    }
    log_.set_step(steps + 1);
    log_.Add("drain");
    // Everything still in flight arrives, in random order.
    std::vector<size_t> rest = InFlight();
    std::shuffle(rest.begin(), rest.end(), rng_);
    for (size_t i : rest) {
      if (!Deliver(i, /*commit=*/true)) return false;
    }
    // Accepted messages again (a sample, old and new): all refused.
    for (size_t i = 0; i < messages_.size(); ++i) {
      if (messages_[i].accepted && rng_() % 8 == 0 && !Deliver(i, true)) return false;
    }
    if (testing::LogRequested()) std::cout << log_.Context();
    return true;
  }

  int accepted() const { return accepted_; }
  int refused_replays() const { return refused_replays_; }
  int sessions_started() const { return sessions_started_; }
  int second_sessions() const { return second_sessions_; }

 private:
  uint32_t Pick(size_t n) { return static_cast<uint32_t>(rng_() % n); }

  DhKeyPair FreshKey() {
    SecretBytes sk(32);
    for (size_t i = 0; i < 32; ++i) sk.data()[i] = static_cast<uint8_t>(rng_());
    auto pk = crypto::DhPublicFromSecret(sk);
    EXPECT_TRUE(pk.ok());
    return DhKeyPair{pk.ok() ? *pk : Bytes(32), std::move(sk)};
  }

  Device MakeDevice(const std::string& name) {
    Device d;
    d.name = name;
    Bytes seed(32);
    for (auto& b : seed) b = static_cast<uint8_t>(rng_());
    auto signing = crypto::SigningKeyPairFromSeed(seed);
    EXPECT_TRUE(signing.ok());
    d.signing = std::move(*signing);
    d.dh = FreshKey();
    d.id.device_id = Bytes(16);
    for (auto& b : d.id.device_id) b = static_cast<uint8_t>(rng_());
    d.id.signing_public_key = d.signing.public_key;
    d.id.dh_public_key = d.dh.public_key;
    RotateSignedPrekey(d);
    Replenish(d);
    return d;
  }

  void RotateSignedPrekey(Device& d) {
    uint32_t id = d.next_prekey_id++;
    DhKeyPair kp = FreshKey();
    auto spk = SignPrekey(d.signing.secret_key, id, kp, now_);
    EXPECT_TRUE(spk.ok());
    d.published_signed = *spk;
    d.signed_secrets[id] = std::move(kp);  // old ones are kept (37 days in the client)
  }

  void Replenish(Device& d) {
    while (d.published_one_time.size() < kOneTimePool) {
      uint32_t id = d.next_prekey_id++;
      DhKeyPair kp = FreshKey();
      d.published_one_time.push_back(OneTimePrekey{id, kp.public_key});
      d.one_time_secrets[id] = std::move(kp);
    }
  }

  // The relay's answer to PrekeyBundles: each one-time prekey handed out once.
  PrekeyBundle BundleOf(Device& d) {
    PrekeyBundle b;
    b.device = d.id;
    b.signed_prekey = d.published_signed;
    if (!d.published_one_time.empty()) {
      b.one_time_prekey = d.published_one_time.front();
      d.published_one_time.erase(d.published_one_time.begin());
    }
    return b;
  }

  // Rows for `remote`, most recently used first (the client's ORDER BY).
  std::vector<Device::Row*> RowsFor(Device& d, size_t remote) {
    std::vector<Device::Row*> out;
    for (auto& r : d.rows) {
      if (r.remote == remote) out.push_back(&r);
    }
    std::sort(out.begin(), out.end(), [](const Device::Row* a, const Device::Row* b) {
      return a->last_used != b->last_used ? a->last_used > b->last_used : a->row_id > b->row_id;
    });
    return out;
  }

  void Commit(Device& d, int64_t row_id, Session s) {
    for (auto& r : d.rows) {
      if (r.row_id == row_id) {
        r.stored = ToVec(s.Serialize());
        r.last_used = now_;
      }
    }
    d.live.insert_or_assign(row_id, std::move(s));
  }

  int64_t Insert(Device& d, size_t remote, Bytes base_key, Session s) {
    int64_t row_id = d.next_row_id++;
    d.rows.push_back(Device::Row{row_id, remote, std::move(base_key), ToVec(s.Serialize()), now_});
    d.live.insert_or_assign(row_id, std::move(s));
    // Keep only the newest few sessions per remote device.
    std::vector<Device::Row*> mine = RowsFor(d, remote);
    std::vector<int64_t> drop;
    for (size_t i = kMaxSessionsPerDevice; i < mine.size(); ++i) drop.push_back(mine[i]->row_id);
    for (int64_t id : drop) {
      d.live.erase(id);
      d.rows.erase(std::remove_if(d.rows.begin(), d.rows.end(), [&](const Device::Row& r) { return r.row_id == id; }),
                   d.rows.end());
    }
    return row_id;
  }

  std::vector<size_t> InFlight() const {
    std::vector<size_t> out;
    for (size_t i = 0; i < messages_.size(); ++i) {
      if (!messages_[i].accepted && !messages_[i].lost) out.push_back(i);
    }
    return out;
  }

  bool Fail(const std::string& what) {
    ADD_FAILURE() << what << "\n" << log_.Context();
    return false;
  }

  bool Send(size_t from, size_t to) {
    size_t in_flight = 0;
    for (const auto& m : messages_) in_flight += (m.from == from && m.to == to && !m.accepted) ? 1 : 0;
    if (in_flight >= kMaxInFlightPerLink) return true;
    Device& d = devices_[from];
    std::string text = "m" + std::to_string(messages_.size()) + " " + d.name + ">" + devices_[to].name;
    std::vector<Device::Row*> rows = RowsFor(d, to);
    int64_t row_id = 0;
    std::optional<Session> s;
    if (!rows.empty()) {
      row_id = rows.front()->row_id;
      s = std::move(d.live.at(row_id));
      d.live.erase(row_id);
    } else {
      PrekeyBundle bundle = BundleOf(devices_[to]);
      const bool with_one_time = bundle.one_time_prekey.has_value();
      auto started = Session::InitiateX3dh(d.id, d.dh.secret_key, bundle, FreshKey(), FreshKey());
      if (!started.ok()) return Fail("InitiateX3dh: " + started.status().ToString());
      s = std::move(*started);
      ++sessions_started_;
      log_.Add("  " + d.name + " starts a session with " + devices_[to].name +
               (with_one_time ? " (one-time prekey)" : " (signed prekey only)"));
    }
    auto wire = s->Encrypt(AsBytes(text), FreshKey());
    if (!wire.ok()) return Fail("Encrypt: " + wire.status().ToString());
    // Committed before the message leaves.
    if (row_id != 0) Commit(d, row_id, std::move(*s));
    else Insert(d, to, Bytes(), std::move(*s));
    messages_.push_back(Message{from, to, text, std::move(*wire)});
    log_.Add("send #" + std::to_string(messages_.size() - 1) + " " + text);
    return true;
  }

  // DecryptFromDevice of client/lib/sessions.cc: nullopt and the error when
  // refused. With `commit`, the new state is stored as SaveSession does.
  StatusOr<std::string> Receive(size_t to, size_t from, ByteSpan wire, bool commit) {
    Device& d = devices_[to];
    auto peek = PeekInitialHeader(wire);
    if (!peek.ok()) return peek.status();
    const std::optional<InitialHeaderInfo>& initial = *peek;
    std::vector<Device::Row*> candidates;
    for (Device::Row* r : RowsFor(d, from)) {
      if (initial && r->base_key != initial->base_key) continue;
      if (candidates.size() < kMaxSessionsPerDevice) candidates.push_back(r);
    }
    Status last = Status::Unauthenticated("no session with this device can decrypt the message");
    for (Device::Row* r : candidates) {
      auto result = d.live.at(r->row_id).Decrypt(wire, now_);
      if (result.ok()) {
        std::string text = ToString(result->plaintext.span());
        result->session.DropSkippedKeysOlderThan(now_, kDefaultSkippedKeyMaxAgeMs);
        if (commit) Commit(d, r->row_id, std::move(result->session));
        return text;
      }
      last = result.status();
    }
    if (!initial || !candidates.empty()) return last;
    auto spk = d.signed_secrets.find(initial->signed_prekey_id);
    if (spk == d.signed_secrets.end()) return Status::Unauthenticated("unknown signed prekey");
    PrekeySecret signed_secret{spk->first, DhKeyPair{spk->second.public_key, spk->second.secret_key.Clone()}};
    std::optional<PrekeySecret> one_time;
    if (initial->one_time_prekey_id) {
      auto opk = d.one_time_secrets.find(*initial->one_time_prekey_id);
      if (opk == d.one_time_secrets.end()) return Status::Unauthenticated("one-time prekey already used");
      one_time = PrekeySecret{opk->first, DhKeyPair{opk->second.public_key, opk->second.secret_key.Clone()}};
    }
    const bool had_session = !RowsFor(d, from).empty();
    auto result = Session::RespondX3dh(d.id, d.dh.secret_key, devices_[from].id, signed_secret,
                                       one_time ? &*one_time : nullptr, wire, now_);
    if (!result.ok()) return result.status();
    std::string text = ToString(result->plaintext.span());
    if (commit) {
      if (result->used_one_time_prekey_id) d.one_time_secrets.erase(*result->used_one_time_prekey_id);
      if (had_session) ++second_sessions_;
      Insert(d, from, initial->base_key, std::move(result->session));
    }
    return text;
  }

  bool Deliver(size_t i, bool commit) {
    Message& m = messages_[i];
    const bool replay = m.accepted;
    log_.Add(std::string(replay ? "replay" : commit ? "deliver" : "deliver, crash before commit") + " #" +
             std::to_string(i) + " " + m.text);
    auto text = Receive(m.to, m.from, m.wire, commit);
    if (replay) {
      if (text.ok()) return Fail("message #" + std::to_string(i) + " decrypted a second time");
      ++refused_replays_;
      return true;
    }
    if (!text.ok()) {
      return Fail("message #" + std::to_string(i) + " (" + m.text + "), sent and never accepted, was refused: " +
                  text.status().ToString());
    }
    if (*text != m.text) return Fail("message #" + std::to_string(i) + " decrypted to \"" + *text + "\"");
    if (commit) {
      m.accepted = true;
      ++accepted_;
    }
    return true;
  }

  bool Corrupt() {
    if (messages_.empty()) return true;
    size_t i = Pick(messages_.size());
    Bytes bad = messages_[i].wire;
    size_t at = Pick(bad.size());
    bad[at] ^= static_cast<uint8_t>(1u << Pick(8));
    log_.Add("corrupt #" + std::to_string(i) + " at byte " + std::to_string(at));
    auto text = Receive(messages_[i].to, messages_[i].from, bad, true);
    if (text.ok()) return Fail("a corrupted copy of message #" + std::to_string(i) + " decrypted");
    return true;
  }

  bool Restart(size_t who) {
    Device& d = devices_[who];
    log_.Add("restart " + d.name);
    d.live.clear();
    for (const auto& r : d.rows) {
      auto s = Session::Parse(r.stored);
      if (!s.ok()) return Fail("stored session of " + d.name + " does not load: " + s.status().ToString());
      if (ToVec(s->Serialize()) != r.stored) return Fail("a reloaded session serializes differently");
      d.live.insert_or_assign(r.row_id, std::move(*s));
    }
    return true;
  }

  bool Step() {
    const size_t n = devices_.size();
    const uint32_t op = Pick(100);
    if (op < 30) {
      size_t from = Pick(n), to = (from + 1 + Pick(n - 1)) % n;
      return Send(from, to);
    }
    std::vector<size_t> flying = InFlight();
    if (op < 65) {
      if (flying.empty()) return true;
      // Half the time the oldest message for a random receiver, else any.
      size_t i = flying[Pick(flying.size())];
      if (rng_() % 2 == 0) {
        size_t to = messages_[i].to;
        for (size_t j : flying) {
          if (messages_[j].to == to) { i = j; break; }
        }
      }
      return Deliver(i, true);
    }
    if (op < 70) {
      if (flying.empty()) return true;
      return Deliver(flying[Pick(flying.size())], false);
    }
    if (op < 72) {
      if (flying.empty()) return true;
      size_t i = flying[Pick(flying.size())];
      messages_[i].lost = true;
      log_.Add("drop #" + std::to_string(i) + " " + messages_[i].text);
      return true;
    }
    if (op < 80) {
      std::vector<size_t> done;
      for (size_t i = 0; i < messages_.size(); ++i) {
        if (messages_[i].accepted) done.push_back(i);
      }
      if (done.empty()) return true;
      // Recent duplicates mostly, sometimes a very old one.
      size_t k = rng_() % 4 == 0 ? Pick(done.size()) : done.size() - 1 - Pick(std::min<size_t>(done.size(), 8));
      return Deliver(done[k], true);
    }
    if (op < 85) return Corrupt();
    if (op < 93) return Restart(Pick(n));
    if (op < 97) {
      Device& d = devices_[Pick(n)];
      log_.Add("replenish " + d.name);
      Replenish(d);
      return true;
    }
    if (op < 99) {
      Device& d = devices_[Pick(n)];
      log_.Add("rotate signed prekey of " + d.name);
      RotateSignedPrekey(d);
      return true;
    }
    now_ += static_cast<int64_t>(Pick(6)) * kHourMs;  // well inside the 30 days of skipped keys
    log_.Add("clock +hours");
    return true;
  }

  std::mt19937 rng_;
  testing::OpLog log_;
  std::vector<Device> devices_;
  std::vector<Message> messages_;
  int64_t now_ = kStart;
  int accepted_ = 0;
  int refused_replays_ = 0;
  int sessions_started_ = 0;
  int second_sessions_ = 0;  // X3DH answered while a session with that device existed
};

class SessionPropertyTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(crypto::InitCrypto().ok()); }
};

TEST_F(SessionPropertyTest, RandomLossDuplicationReorderingAndRestartsDeliverEachMessageOnce) {
  const int steps = testing::PropertySteps(testing::kSanitized ? 400 : 1000);
  std::vector<uint32_t> defaults;
  for (uint32_t s = 1; s <= (testing::kSanitized ? 3u : 8u); ++s) defaults.push_back(s);
  int accepted = 0, replays = 0, started = 0, second = 0;
  auto t0 = std::chrono::steady_clock::now();
  for (uint32_t seed : testing::PropertySeeds(defaults)) {
    Model model(seed, seed % 4 == 0 ? 2 : 3);
    if (!model.Run(steps)) break;
    accepted += model.accepted();
    replays += model.refused_replays();
    started += model.sessions_started();
    second += model.second_sessions();
  }
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
  std::cout << steps << " steps per seed in " << ms << " ms: " << accepted << " messages accepted, " << replays
            << " replays refused, " << started << " sessions started (" << second
            << " beside an existing one)" << std::endl;
  if (!HasFailure() && !testing::SingleSeedRequested()) {
    // The generator must actually reach the interesting states (in
    // proportion to the steps: sanitizer builds run fewer).
    const int runs = static_cast<int>(defaults.size());
    EXPECT_GT(accepted, steps / 5 * runs);
    EXPECT_GT(replays, steps * 3 / 100 * runs);
    EXPECT_GE(started, 2 * static_cast<int>(defaults.size()));
    EXPECT_GT(second, 0) << "no simultaneous session starts";
  }
}

}  // namespace
}  // namespace vigil::session
