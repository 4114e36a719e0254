// Pairwise sessions on the client: prekeys (published to the relay and
// replenished), X3DH and the Double Ratchet per device pair
// (vigil/session.h), and the fan-out of one sealed content to every
// recipient device.
//
// Durability order: a sending session state is committed before the
// envelopes leave (a message key is never used twice); a receiving session
// state is written in the caller's transaction, the same one that stores
// the decrypted payload (FetchAll), so a crash never loses one without the
// other.
#include <algorithm>

#include "client/lib/client.h"
#include "client/lib/envelope.h"
#include "client/lib/store_util.h"
#include "vigil/log.h"
#include "vigil/session.h"
#include "vigil/store/v1/session.pb.h"
#include "vigil/wire.h"

namespace vigil::client {
namespace {

namespace v1 = wire::v1;

constexpr int64_t kSignedPrekeyMaxAgeMs = 7LL * 24 * 3600 * 1000;    // rotated weekly
constexpr int64_t kSignedPrekeyKeepMs = 37LL * 24 * 3600 * 1000;     // old ones kept for late messages
constexpr int kOneTimeLow = 25;
constexpr int kOneTimeBatch = 50;
constexpr int kMaxSessionsPerDevice = 5;

session::DeviceIdentity Identity(const RecipientDevice& d) {
  return session::DeviceIdentity{d.device_id, d.signing_public, d.dh_public};
}

}  // namespace

session::DeviceIdentity Client::SelfIdentity(const Keys& k) {
  return session::DeviceIdentity{k.device_id, k.signing_public, k.dh_public};
}

Status Client::MaintainPrekeys(net::ClientConnection* conn) {
  VIGIL_ASSIGN_OR_RETURN(const Keys* k_keys, LoadKeys());
  const Keys& k = *k_keys;
  int64_t now = NowMs();
  v1::Request req;
  auto* pub = req.mutable_publish_prekeys();
  std::vector<std::pair<uint32_t, crypto::DhKeyPair>> new_one_time;
  crypto::DhKeyPair new_spk;
  uint32_t new_spk_id = 0;
  {
    VIGIL_ASSIGN_OR_RETURN(auto st_cached, db_.PrepareCached(
        "SELECT max(key_id), max(created_at) FROM prekey_secrets WHERE kind = 'signed'"));
    auto& st = *st_cached;
    VIGIL_ASSIGN_OR_RETURN(bool row, st.Step());
    bool have = row && !st.ColumnIsNull(0);
    int64_t newest = have ? st.ColumnInt64(1) : 0;
    if (!have || now - newest > kSignedPrekeyMaxAgeMs) {
      new_spk_id = have ? static_cast<uint32_t>(st.ColumnInt64(0)) + 1 : 1;
      new_spk = crypto::GenerateDhKeyPair();
      VIGIL_ASSIGN_OR_RETURN(auto spk, session::SignPrekey(k.signing_secret, new_spk_id, new_spk, now));
      store::v1::SignedPrekey p;
      p.set_id(spk.id);
      p.set_public_key(ToString(spk.public_key));
      p.set_created_at_ms(spk.created_at_ms);
      p.set_signature(ToString(spk.signature));
      pub->set_signed_prekey(p.SerializeAsString());
    }
  }
  // How many one-time prekeys are left at the relay: others take them
  // without telling us, so ask (an empty publish answers with the count).
  int known_left = 0;
  {
    VIGIL_ASSIGN_OR_RETURN(auto any_cached, db_.PrepareCached("SELECT count(*) FROM prekey_secrets WHERE kind = 'one'"));
    auto& any = *any_cached;
    VIGIL_ASSIGN_OR_RETURN(bool row, any.Step());
    if (row && any.ColumnInt64(0) > 0 && pub->signed_prekey().empty()) {
      v1::Request ask;
      ask.mutable_publish_prekeys();
      VIGIL_ASSIGN_OR_RETURN(v1::Response r, CallRelay(conn, ask, timeout_ms_));
      known_left = static_cast<int>(r.publish_prekeys().one_time_left());
    }
  }
  if (known_left < kOneTimeLow) {
    VIGIL_ASSIGN_OR_RETURN(auto st_cached, db_.PrepareCached("SELECT coalesce(max(key_id), 0) FROM prekey_secrets WHERE kind = 'one'"));
    auto& st = *st_cached;
    VIGIL_ASSIGN_OR_RETURN(bool row, st.Step());
    uint32_t next = row ? static_cast<uint32_t>(st.ColumnInt64(0)) + 1 : 1;
    for (int i = 0; i < kOneTimeBatch; ++i) {
      crypto::DhKeyPair kp = crypto::GenerateDhKeyPair();
      store::v1::OneTimePrekey o;
      o.set_id(next + static_cast<uint32_t>(i));
      o.set_public_key(ToString(kp.public_key));
      pub->add_one_time_prekeys(o.SerializeAsString());
      new_one_time.emplace_back(next + static_cast<uint32_t>(i), std::move(kp));
    }
  }
  // The secrets are committed before the public halves are published: a
  // bundle the relay hands out can always be answered.
  if (new_spk_id != 0 || !new_one_time.empty()) {
    VIGIL_ASSIGN_OR_RETURN(auto txn, storage::Txn::Begin(db_));
    auto put = [&](const char* kind, uint32_t id, const crypto::DhKeyPair& kp) -> Status {
      VIGIL_ASSIGN_OR_RETURN(auto ins_cached, db_.PrepareCached(
          "INSERT OR REPLACE INTO prekey_secrets(kind, key_id, public_key, secret_key, created_at) VALUES(?,?,?,?,?)"));
      auto& ins = *ins_cached;
      ins.Bind(1, kind).Bind(2, static_cast<int64_t>(id)).BindBlob(3, kp.public_key)
          .BindBlob(4, kp.secret_key.span()).Bind(5, now);
      return ins.Run();
    };
    if (new_spk_id != 0) VIGIL_RETURN_IF_ERROR(put("signed", new_spk_id, new_spk));
    for (const auto& [id, kp] : new_one_time) VIGIL_RETURN_IF_ERROR(put("one", id, kp));
    VIGIL_RETURN_IF_ERROR(txn.Commit());
  }
  if (!pub->signed_prekey().empty() || pub->one_time_prekeys_size() > 0) {
    VIGIL_RETURN_IF_ERROR(CallRelay(conn, req, timeout_ms_).status());
  }
  // Signed prekeys older than a month, except the newest, are forgotten.
  VIGIL_ASSIGN_OR_RETURN(auto del_cached, db_.PrepareCached(
      "DELETE FROM prekey_secrets WHERE kind = 'signed' AND created_at < ? AND key_id < "
      "(SELECT max(key_id) FROM prekey_secrets WHERE kind = 'signed')"));
  auto& del = *del_cached;
  del.Bind(1, now - kSignedPrekeyKeepMs);
  return del.Run();
}

StatusOr<std::vector<SealedForDevice>> Client::SealForDevices(const std::vector<RecipientDevice>& recipients,
                                                              ByteSpan message_id, ByteSpan payload,
                                                              std::vector<std::string>* problems) {
  VIGIL_ASSIGN_OR_RETURN(const Keys* k_keys, LoadKeys());
  const Keys& k = *k_keys;
  session::DeviceIdentity self = SelfIdentity(k);
  VIGIL_ASSIGN_OR_RETURN(SealedContent content, SealContent(message_id, k.device_id, k.signing_secret, payload));

  struct Slot {
    const RecipientDevice* device;
    int64_t row_id = 0;  // 0: new session
    std::optional<session::Session> session;
  };
  std::vector<Slot> slots;
  std::vector<Slot*> missing;
  slots.reserve(recipients.size());
  for (const auto& r : recipients) {
    Slot s{&r, 0, std::nullopt};
    VIGIL_ASSIGN_OR_RETURN(auto st_cached, db_.PrepareCached(
        "SELECT rowid, state FROM sessions WHERE remote_device = ? ORDER BY last_used DESC, rowid DESC LIMIT 1"));
    auto& st = *st_cached;
    st.BindBlob(1, r.device_id);
    VIGIL_ASSIGN_OR_RETURN(bool row, st.Step());
    if (row) {
      crypto::SecretBytes state = st.ColumnSecret(1);
      auto parsed = session::Session::Parse(state.span());
      if (parsed.ok()) {
        s.row_id = st.ColumnInt64(0);
        s.session = std::move(*parsed);
      } else {
        log::Warn("session_unreadable", {{"device", HexEncode(r.device_id).substr(0, 8)}});
      }
    }
    slots.push_back(std::move(s));
  }
  for (auto& s : slots) {
    if (!s.session) missing.push_back(&s);
  }
  // New sessions: X3DH with prekey bundles from the relay, checked against
  // the certified device keys (the relay's word is never enough).
  if (!missing.empty()) {
    VIGIL_ASSIGN_OR_RETURN(net::ClientConnection * conn, Connection());
    for (size_t i = 0; i < missing.size(); i += 64) {
      v1::Request req;
      for (size_t j = i; j < std::min(missing.size(), i + 64); ++j) {
        req.mutable_prekey_bundles()->add_device_ids(ToString(missing[j]->device->device_id));
      }
      VIGIL_ASSIGN_OR_RETURN(v1::Response resp, CallRelay(conn, req, timeout_ms_));
      for (const auto& item : resp.prekey_bundles().bundles()) {
        Slot* slot = nullptr;
        for (Slot* m : missing) {
          if (ToString(m->device->device_id) == item.device_id()) slot = m;
        }
        if (!slot || item.bundle().empty()) continue;
        auto bundle = session::DecodePrekeyBundle(AsBytes(item.bundle()), Identity(*slot->device));
        if (!bundle.ok()) {
          problems->push_back("device " + HexEncode(slot->device->device_id).substr(0, 8) +
                              " published a bad prekey bundle: " + bundle.status().message());
          continue;
        }
        auto s = session::Session::InitiateX3dh(self, k.dh_secret, *bundle, crypto::GenerateDhKeyPair(),
                                                crypto::GenerateDhKeyPair());
        if (!s.ok()) {
          problems->push_back("device " + HexEncode(slot->device->device_id).substr(0, 8) + ": " +
                              s.status().message());
          continue;
        }
        slot->session = std::move(*s);
      }
    }
  }
  std::vector<SealedForDevice> out;
  VIGIL_ASSIGN_OR_RETURN(auto txn, storage::Txn::Begin(db_));
  int64_t now = NowMs();
  for (auto& s : slots) {
    if (!s.session) {
      problems->push_back("device " + HexEncode(s.device->device_id).substr(0, 8) +
                          " has no session and no prekeys at the relay; it will not receive this message");
      continue;
    }
    VIGIL_ASSIGN_OR_RETURN(Bytes msg, s.session->Encrypt(content.key_package.span(), crypto::GenerateDhKeyPair()));
    crypto::SecretBytes state = s.session->Serialize();
    if (s.row_id != 0) {
      VIGIL_ASSIGN_OR_RETURN(auto up_cached, db_.PrepareCached("UPDATE sessions SET state = ?, last_used = ? WHERE rowid = ?"));
      auto& up = *up_cached;
      up.BindBlob(1, state.span()).Bind(2, now).Bind(3, s.row_id);
      VIGIL_RETURN_IF_ERROR(up.Run());
    } else {
      VIGIL_ASSIGN_OR_RETURN(auto ins_cached, db_.PrepareCached(
          "INSERT INTO sessions(remote_device, base_key, state, created_at, last_used) VALUES(?, ?, ?, ?, ?)"));
      auto& ins = *ins_cached;
      ins.BindBlob(1, s.device->device_id).BindBlob(2, Bytes()).BindBlob(3, state.span()).Bind(4, now).Bind(5, now);
      VIGIL_RETURN_IF_ERROR(ins.Run());
    }
    out.push_back({s.device->device_id, BuildEnvelope(message_id, k.device_id, s.device->device_id, msg, content)});
  }
  VIGIL_RETURN_IF_ERROR(txn.Commit());
  return out;
}

StatusOr<crypto::SecretBytes> Client::DecryptFromDevice(const RecipientDevice& sender, ByteSpan session_message,
                                                        int64_t now, PendingSession* pending) {
  VIGIL_ASSIGN_OR_RETURN(const Keys* k_keys, LoadKeys());
  const Keys& k = *k_keys;
  // (Copied out of the optional: GCC 12 warns spuriously on the optional.)
  bool has_initial = false;
  session::InitialHeaderInfo header{};
  {
    auto peek = session::PeekInitialHeader(session_message);
    if (!peek.ok()) return peek.status();
    if (peek->has_value()) {
      has_initial = true;
      header = std::move(**peek);
    }
  }
  const session::InitialHeaderInfo* initial = has_initial ? &header : nullptr;
  pending->remote_device = sender.device_id;
  std::vector<std::pair<int64_t, crypto::SecretBytes>> candidates;
  {
    std::string sql = "SELECT rowid, state FROM sessions WHERE remote_device = ?";
    if (initial) sql += " AND base_key = ?";
    sql += " ORDER BY last_used DESC, rowid DESC LIMIT " + std::to_string(kMaxSessionsPerDevice);
    VIGIL_ASSIGN_OR_RETURN(auto st_cached, db_.PrepareCached(sql));
    auto& st = *st_cached;
    st.BindBlob(1, sender.device_id);
    if (initial) st.BindBlob(2, initial->base_key);
    for (;;) {
      VIGIL_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      candidates.emplace_back(st.ColumnInt64(0), st.ColumnSecret(1));
    }
  }
  Status last = Status::Unauthenticated("no session with this device can decrypt the message");
  for (auto& [row_id, state] : candidates) {
    auto s = session::Session::Parse(state.span());
    if (!s.ok()) continue;
    auto r = s->Decrypt(session_message, now);
    if (r.ok()) {
      r->session.DropSkippedKeysOlderThan(now, session::kDefaultSkippedKeyMaxAgeMs);
      pending->row_id = row_id;
      pending->state = r->session.Serialize();
      return std::move(r->plaintext);
    }
    last = r.status();
  }
  if (!initial) return last;
  if (!candidates.empty()) return last;  // a known handshake that does not decrypt: a replay or tampering
  // A new session started by the sender (X3DH responder).
  auto load = [&](const char* kind, uint32_t id) -> StatusOr<std::optional<session::PrekeySecret>> {
    VIGIL_ASSIGN_OR_RETURN(auto st_cached, db_.PrepareCached(
        "SELECT public_key, secret_key FROM prekey_secrets WHERE kind = ? AND key_id = ?"));
    auto& st = *st_cached;
    st.Bind(1, kind).Bind(2, static_cast<int64_t>(id));
    VIGIL_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) return std::optional<session::PrekeySecret>();
    session::PrekeySecret p;
    p.id = id;
    p.key_pair.public_key = st.ColumnBlob(0);
    p.key_pair.secret_key = st.ColumnSecret(1);
    return std::optional<session::PrekeySecret>(std::move(p));
  };
  VIGIL_ASSIGN_OR_RETURN(auto spk, load("signed", initial->signed_prekey_id));
  if (!spk) return Status::Unauthenticated("the message names a signed prekey this device does not have (too old?)");
  std::optional<session::PrekeySecret> otp;
  if (initial->one_time_prekey_id) {
    VIGIL_ASSIGN_OR_RETURN(otp, load("one", *initial->one_time_prekey_id));
    if (!otp) {
      return Status::Unauthenticated(
          "the message uses a one-time prekey that was already used (a replayed handshake?)");
    }
  }
  VIGIL_ASSIGN_OR_RETURN(auto r, session::Session::RespondX3dh(SelfIdentity(k), k.dh_secret, Identity(sender), *spk,
                                                               otp ? &*otp : nullptr, session_message, now));
  pending->row_id = 0;
  pending->base_key = initial->base_key;
  pending->state = r.session.Serialize();
  pending->used_one_time_prekey = r.used_one_time_prekey_id;
  return std::move(r.plaintext);
}

Status Client::SaveSession(const PendingSession& p, int64_t now) {
  if (p.row_id != 0) {
    VIGIL_ASSIGN_OR_RETURN(auto up_cached, db_.PrepareCached("UPDATE sessions SET state = ?, last_used = ? WHERE rowid = ?"));
    auto& up = *up_cached;
    up.BindBlob(1, p.state.span()).Bind(2, now).Bind(3, p.row_id);
    return up.Run();
  }
  VIGIL_ASSIGN_OR_RETURN(auto ins_cached, db_.PrepareCached(
      "INSERT INTO sessions(remote_device, base_key, state, created_at, last_used) VALUES(?, ?, ?, ?, ?)"));
  auto& ins = *ins_cached;
  ins.BindBlob(1, p.remote_device).BindBlob(2, p.base_key).BindBlob(3, p.state.span()).Bind(4, now).Bind(5, now);
  VIGIL_RETURN_IF_ERROR(ins.Run());
  if (p.used_one_time_prekey) {
    VIGIL_ASSIGN_OR_RETURN(auto del_cached, db_.PrepareCached("DELETE FROM prekey_secrets WHERE kind = 'one' AND key_id = ?"));
    auto& del = *del_cached;
    del.Bind(1, static_cast<int64_t>(*p.used_one_time_prekey));
    VIGIL_RETURN_IF_ERROR(del.Run());
  }
  // Keep only the newest few sessions per device.
  VIGIL_ASSIGN_OR_RETURN(auto trim_cached, db_.PrepareCached(
      "DELETE FROM sessions WHERE remote_device = ? AND rowid NOT IN (SELECT rowid FROM sessions WHERE "
      "remote_device = ? ORDER BY last_used DESC, rowid DESC LIMIT ?)"));
  auto& trim = *trim_cached;
  trim.BindBlob(1, p.remote_device).BindBlob(2, p.remote_device).Bind(3, static_cast<int64_t>(kMaxSessionsPerDevice));
  return trim.Run();
}

}  // namespace vigil::client
