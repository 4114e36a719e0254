#include "client/lib/client.h"

#include "vigil/log.h"

#include <sys/stat.h>

#include <chrono>
#include <fstream>

#include "client/lib/directory.h"
#include "client/lib/envelope.h"
#include "client/lib/store_util.h"
#include "vigil/identity.h"
#include "vigil/storage_backup.h"
#include "vigil/store/v1/store.pb.h"
#include "vigil/wire.h"

namespace vigil::client {
namespace {

namespace v1 = wire::v1;

const std::vector<std::string_view> kMigrations = {
    R"sql(
CREATE TABLE config(key TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE contacts(
  name TEXT PRIMARY KEY,
  role TEXT NOT NULL,
  identity_key BLOB NOT NULL,
  first_seen INTEGER NOT NULL);
CREATE TABLE contact_devices(
  device_id BLOB PRIMARY KEY,
  name TEXT NOT NULL REFERENCES contacts(name),
  signing_key BLOB NOT NULL,
  dh_key BLOB NOT NULL,
  certificate BLOB NOT NULL,
  certificate_signature BLOB NOT NULL);
CREATE TABLE outbox(
  message_id BLOB PRIMARY KEY,
  created_at INTEGER NOT NULL,
  request BLOB NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  last_error TEXT);
CREATE TABLE messages(
  message_id BLOB PRIMARY KEY,
  direction TEXT NOT NULL,
  peer TEXT NOT NULL,
  peer_device BLOB,
  sent_at INTEGER NOT NULL,
  received_at INTEGER,
  body BLOB NOT NULL);
CREATE TABLE rejected(
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  from_device BLOB,
  received_at INTEGER NOT NULL,
  reason TEXT NOT NULL);
)sql",
    R"sql(
ALTER TABLE outbox ADD COLUMN recipients TEXT;
ALTER TABLE outbox ADD COLUMN payload BLOB;
CREATE TABLE visit_events(
  event_id BLOB PRIMARY KEY,
  visit_id BLOB NOT NULL,
  kind INTEGER NOT NULL,
  author TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  received_at INTEGER NOT NULL,
  body BLOB NOT NULL,
  signature BLOB NOT NULL,
  signer_device BLOB NOT NULL,
  status TEXT NOT NULL,
  problem TEXT);
CREATE INDEX visit_events_by_visit ON visit_events(visit_id);
CREATE TABLE note_versions(
  hash BLOB PRIMARY KEY,
  note_id BLOB NOT NULL,
  visit_id BLOB NOT NULL,
  number INTEGER NOT NULL,
  prev_hash BLOB,
  author TEXT NOT NULL,
  author_device BLOB NOT NULL,
  device_seq INTEGER NOT NULL,
  prev_device_hash BLOB,
  created_at INTEGER NOT NULL,
  received_at INTEGER NOT NULL,
  body BLOB NOT NULL,
  signature BLOB NOT NULL,
  status TEXT NOT NULL,
  problem TEXT);
CREATE INDEX note_versions_by_note ON note_versions(note_id, number);
CREATE INDEX note_versions_by_visit ON note_versions(visit_id);
CREATE INDEX note_versions_by_device ON note_versions(author_device, device_seq);
)sql",
    R"sql(
CREATE TABLE blob_outbox(
  blob_id BLOB NOT NULL,
  idx INTEGER NOT NULL,
  count INTEGER NOT NULL,
  data BLOB NOT NULL,
  PRIMARY KEY(blob_id, idx));
CREATE TABLE attachments(
  note_hash BLOB NOT NULL,
  idx INTEGER NOT NULL,
  name TEXT NOT NULL,
  size INTEGER NOT NULL,
  sha256 BLOB NOT NULL,
  blob_id BLOB NOT NULL,
  key BLOB NOT NULL,
  header BLOB NOT NULL,
  chunks INTEGER NOT NULL,
  data BLOB,
  status TEXT NOT NULL,
  problem TEXT,
  PRIMARY KEY(note_hash, idx));
)sql",
    // Evidence: timestamps of note versions (pending until obtained or
    // received from a teammate), and trusted RFC 3161 authorities.
    R"sql(
CREATE TABLE anchors(
  version_hash BLOB NOT NULL,
  source TEXT NOT NULL,
  plugin TEXT NOT NULL,
  token BLOB,
  trust_anchor BLOB,
  anchored_at INTEGER,
  status TEXT NOT NULL,
  problem TEXT,
  attempts INTEGER NOT NULL DEFAULT 0,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY(version_hash, source));
CREATE TABLE tsas(
  url TEXT PRIMARY KEY,
  ca_pem BLOB NOT NULL,
  added_at INTEGER NOT NULL);
)sql",
    // Sessions: this device's prekey secrets, the Double Ratchet state per
    // remote device (a few per device, newest used first), and the
    // envelopes already processed (so a re-fetched one is a duplicate,
    // never a replay alarm).
    R"sql(
CREATE TABLE prekey_secrets(
  kind TEXT NOT NULL,
  key_id INTEGER NOT NULL,
  public_key BLOB NOT NULL,
  secret_key BLOB NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY(kind, key_id));
CREATE TABLE sessions(
  remote_device BLOB NOT NULL,
  base_key BLOB NOT NULL,
  state BLOB NOT NULL,
  created_at INTEGER NOT NULL,
  last_used INTEGER NOT NULL);
CREATE INDEX sessions_by_device ON sessions(remote_device, last_used);
CREATE TABLE pending_links(
  link_id BLOB PRIMARY KEY,
  secret BLOB NOT NULL,
  eph_secret BLOB NOT NULL,
  eph_public BLOB NOT NULL,
  expires_at INTEGER NOT NULL);
CREATE TABLE link_requests(
  link_id BLOB PRIMARY KEY,
  device_id BLOB NOT NULL,
  request BLOB NOT NULL);
CREATE TABLE link_parts(
  part INTEGER PRIMARY KEY,
  parts INTEGER NOT NULL,
  nonce BLOB NOT NULL,
  data BLOB NOT NULL);
ALTER TABLE contacts ADD COLUMN verified_key BLOB;
ALTER TABLE contacts ADD COLUMN changed_key BLOB;
CREATE TABLE received_envelopes(
  message_id BLOB NOT NULL,
  sender_device BLOB NOT NULL,
  blob_sha256 BLOB NOT NULL,
  received_at INTEGER NOT NULL,
  PRIMARY KEY(message_id, sender_device));
)sql",
};

}  // namespace


Client::Client(std::string home, storage::Db db, crypto::SecretBytes key)
    : home_(std::move(home)), db_(std::move(db)), key_(std::move(key)) {}
Client::~Client() {
  conn_.reset();
  retired_.clear();
  ctx_.reset();
}

StatusOr<std::unique_ptr<Client>> Client::Init(const std::string& home, ByteSpan passphrase) {
  crypto::SecretBytes store_key;
  auto db_or = storage::CreateStore(home, kStoreName, passphrase, crypto::DefaultArgon2Params(), &store_key);
  if (!db_or.ok()) {
    if (db_or.status().code() == Code::kAlreadyExists) {
      return Status::AlreadyExists("a Vigil device store already exists in " + home);
    }
    return db_or.status();
  }
  storage::Db db = std::move(db_or).value();
  VIGIL_RETURN_IF_ERROR(db.Migrate(kMigrations));
  crypto::SigningKeyPair identity = crypto::GenerateSigningKeyPair();
  crypto::SigningKeyPair signing = crypto::GenerateSigningKeyPair();
  crypto::DhKeyPair dh = crypto::GenerateDhKeyPair();
  crypto::DhKeyPair transport = crypto::GenerateDhKeyPair();
  Bytes device_id = crypto::RandomBytes(16);
  VIGIL_ASSIGN_OR_RETURN(auto txn, storage::Txn::Begin(db));
  VIGIL_RETURN_IF_ERROR(PutConfig(db, "identity_public", identity.public_key));
  VIGIL_RETURN_IF_ERROR(PutConfig(db, "identity_secret", identity.secret_key.span()));
  VIGIL_RETURN_IF_ERROR(PutConfig(db, "device_id", device_id));
  VIGIL_RETURN_IF_ERROR(PutConfig(db, "signing_public", signing.public_key));
  VIGIL_RETURN_IF_ERROR(PutConfig(db, "signing_secret", signing.secret_key.span()));
  VIGIL_RETURN_IF_ERROR(PutConfig(db, "dh_public", dh.public_key));
  VIGIL_RETURN_IF_ERROR(PutConfig(db, "dh_secret", dh.secret_key.span()));
  VIGIL_RETURN_IF_ERROR(PutConfig(db, "transport_public", transport.public_key));
  VIGIL_RETURN_IF_ERROR(PutConfig(db, "transport_secret", transport.secret_key.span()));
  std::string created = std::to_string(NowMs());
  VIGIL_RETURN_IF_ERROR(PutConfig(db, "created_at", AsBytes(created)));
  VIGIL_RETURN_IF_ERROR(txn.Commit());
  return std::unique_ptr<Client>(new Client(home, std::move(db), std::move(store_key)));
}

StatusOr<std::unique_ptr<Client>> Client::Open(const std::string& home, ByteSpan passphrase) {
  struct stat sb;
  std::string header = home + "/" + kStoreName + ".key";
  if (stat(header.c_str(), &sb) != 0) {
    return Status::NotFound("no Vigil device store in " + home + "; run vigil init first");
  }
  VIGIL_ASSIGN_OR_RETURN(crypto::SecretBytes key, storage::UnlockKeyHeader(header, passphrase));
  VIGIL_ASSIGN_OR_RETURN(storage::Db db,
                         storage::Db::Open(home + "/" + kStoreName + ".db", key, /*must_exist=*/true));
  VIGIL_RETURN_IF_ERROR(db.Migrate(kMigrations));
  return std::unique_ptr<Client>(new Client(home, std::move(db), std::move(key)));
}

StatusOr<const Client::Keys*> Client::LoadKeys() {
  if (keys_) return keys_.get();
  auto loaded = std::make_unique<Keys>();
  Keys& k = *loaded;
  VIGIL_ASSIGN_OR_RETURN(auto ip, RequireConfig(db_, "identity_public"));
  k.identity_public = ToPublic(ip);
  VIGIL_ASSIGN_OR_RETURN(k.identity_secret, RequireConfig(db_, "identity_secret"));
  VIGIL_ASSIGN_OR_RETURN(auto id, RequireConfig(db_, "device_id"));
  k.device_id = ToPublic(id);
  VIGIL_ASSIGN_OR_RETURN(auto sp, RequireConfig(db_, "signing_public"));
  k.signing_public = ToPublic(sp);
  VIGIL_ASSIGN_OR_RETURN(k.signing_secret, RequireConfig(db_, "signing_secret"));
  VIGIL_ASSIGN_OR_RETURN(auto dp, RequireConfig(db_, "dh_public"));
  k.dh_public = ToPublic(dp);
  VIGIL_ASSIGN_OR_RETURN(k.dh_secret, RequireConfig(db_, "dh_secret"));
  VIGIL_ASSIGN_OR_RETURN(auto tp, RequireConfig(db_, "transport_public"));
  k.transport_public = ToPublic(tp);
  VIGIL_ASSIGN_OR_RETURN(k.transport_secret, RequireConfig(db_, "transport_secret"));
  keys_ = std::move(loaded);
  return keys_.get();
}

StatusOr<Client::TransportInfo> Client::Transport() {
  TransportInfo t;
  VIGIL_ASSIGN_OR_RETURN(auto ep, GetConfig(db_, "relay_endpoint"));
  if (!ep) return NotJoined();
  t.endpoint = ToString(ep->span());
  VIGIL_ASSIGN_OR_RETURN(auto rp, RequireConfig(db_, "relay_public"));
  t.relay_public = ToPublic(rp);
  VIGIL_ASSIGN_OR_RETURN(auto tp, RequireConfig(db_, "transport_public"));
  t.transport_public = ToPublic(tp);
  VIGIL_ASSIGN_OR_RETURN(t.transport_secret, RequireConfig(db_, "transport_secret"));
  VIGIL_ASSIGN_OR_RETURN(auto id, RequireConfig(db_, "device_id"));
  t.device_id = ToPublic(id);
  return t;
}

StatusOr<net::ClientConnection*> Client::Connection() {
  if (!offline_.ok()) return offline_;
  if (conn_) return conn_.get();
  VIGIL_ASSIGN_OR_RETURN(TransportInfo t, Transport());
  if (!ctx_) ctx_ = std::make_unique<net::Context>();
  VIGIL_ASSIGN_OR_RETURN(conn_, net::ClientConnection::Connect(*ctx_, t.endpoint, t.relay_public,
                                                               t.transport_public, t.transport_secret));
  return conn_.get();
}

StatusOr<v1::Response> Client::CallRelay(net::ClientConnection* conn, const v1::Request& req,
                                         int timeout_ms) {
  // Callers got `conn` from Connection(); after a key switch conn_ is newer.
  if (conn_) conn = conn_.get();
  auto r = conn->Call(req, timeout_ms);
  if (!r.ok() && r.status().code() == Code::kUnavailable &&
      r.status().message().find("not reachable") != std::string::npos) {
    // Perhaps the relay switched to the transport key it announced.
    if (TryNextRelayKey().ok()) return conn_->Call(req, timeout_ms);
    offline_ = r.status();
  }
  return r;
}

Status Client::TryNextRelayKey() {
  VIGIL_ASSIGN_OR_RETURN(auto next, GetConfig(db_, "relay_public_next"));
  if (!next) return Status::NotFound("no announced relay key");
  VIGIL_ASSIGN_OR_RETURN(TransportInfo t, Transport());
  if (!ctx_) ctx_ = std::make_unique<net::Context>();
  VIGIL_ASSIGN_OR_RETURN(auto conn, net::ClientConnection::Connect(*ctx_, t.endpoint, next->span(),
                                                                   t.transport_public, t.transport_secret));
  if (!conn->WaitConnected(2500)) return Status::Unavailable("the announced relay key does not answer either");
  // The relay proved it holds the announced key (CurveZMQ handshake): pin it.
  VIGIL_ASSIGN_OR_RETURN(auto txn, storage::Txn::Begin(db_));
  VIGIL_RETURN_IF_ERROR(PutConfig(db_, "relay_public", next->span()));
  VIGIL_RETURN_IF_ERROR(db_.Exec("DELETE FROM config WHERE key = 'relay_public_next'"));
  VIGIL_RETURN_IF_ERROR(txn.Commit());
  if (conn_) retired_.push_back(std::move(conn_));  // callers may still hold it
  conn_ = std::move(conn);
  return Status::Ok();
}

Status Client::LearnRelayRotation() {
  VIGIL_ASSIGN_OR_RETURN(net::ClientConnection * conn, Connection());
  v1::Request ping;
  ping.mutable_ping();
  VIGIL_ASSIGN_OR_RETURN(v1::Response resp, CallRelay(conn, ping, timeout_ms_));
  const auto& p = resp.ping();
  if (p.next_transport_key().empty()) return Status::Ok();
  VIGIL_ASSIGN_OR_RETURN(TransportInfo t, Transport());
  VIGIL_ASSIGN_OR_RETURN(auto signing, GetConfig(db_, "relay_signing_public"));
  if (!signing || p.next_transport_key().size() != 32) {
    return Status::Unauthenticated("the relay announced a malformed transport key; ignoring it");
  }
  Bytes msg = t.relay_public;
  msg.insert(msg.end(), p.next_transport_key().begin(), p.next_transport_key().end());
  if (!crypto::Verify(signing->span(), identity::SignedBytes("vigil/transport-rotation/v1", msg),
                      AsBytes(p.rotation_signature())).ok()) {
    return Status::Unauthenticated(
        "WARNING: the relay announced a new transport key that is not signed by the relay key "
        "pinned at enrollment; ignoring it");
  }
  return PutConfig(db_, "relay_public_next", AsBytes(p.next_transport_key()));
}

Status Client::Join(std::string_view invite_code) {
  VIGIL_ASSIGN_OR_RETURN(auto existing, GetConfig(db_, "relay_endpoint"));
  if (existing) return Status::AlreadyExists("this device has already joined a relay");
  VIGIL_ASSIGN_OR_RETURN(identity::Invite invite, identity::DecodeInvite(invite_code));
  VIGIL_ASSIGN_OR_RETURN(const Keys* k_keys, LoadKeys());
  const Keys& k = *k_keys;
  VIGIL_ASSIGN_OR_RETURN(crypto::DhKeyPair invite_key, identity::InviteTransportKey(invite.secret));

  VIGIL_ASSIGN_OR_RETURN(v1::DirectoryDevice device,
                         identity::CertifyDevice(k.identity_secret, k.identity_public, k.device_id,
                                                 k.signing_public, k.dh_public, NowMs()));
  v1::Request req;
  auto* e = req.mutable_enroll();
  e->set_invite_secret(ToString(invite.secret.span()));
  e->set_identity_public_key(ToString(k.identity_public));
  *e->mutable_device() = device;
  e->set_device_transport_key(ToString(k.transport_public));

  net::Context ctx;
  VIGIL_ASSIGN_OR_RETURN(auto conn, net::ClientConnection::Connect(ctx, invite.endpoint,
                                                                   invite.relay_public_key,
                                                                   invite_key.public_key,
                                                                   invite_key.secret_key));
  auto resp = conn->Call(req, timeout_ms_);
  crypto::Wipe(*e->mutable_invite_secret());
  conn.reset();
  if (!resp.ok()) {
    if (resp.status().code() == Code::kUnavailable) {
      return Status::Unavailable(
          "the relay did not accept this invite: it may be used, expired or revoked, or the "
          "relay is not running; ask for a new invite");
    }
    return resp.status();
  }
  const auto& er = resp->enroll();
  VIGIL_ASSIGN_OR_RETURN(auto txn, storage::Txn::Begin(db_));
  VIGIL_RETURN_IF_ERROR(PutConfig(db_, "relay_endpoint", AsBytes(invite.endpoint)));
  VIGIL_RETURN_IF_ERROR(PutConfig(db_, "relay_public", invite.relay_public_key));
  VIGIL_RETURN_IF_ERROR(PutConfig(db_, "relay_signing_public", AsBytes(er.relay_signing_public_key())));
  VIGIL_RETURN_IF_ERROR(PutConfig(db_, "name", AsBytes(er.name())));
  VIGIL_RETURN_IF_ERROR(PutConfig(db_, "role", AsBytes(er.role())));
  {
    VIGIL_ASSIGN_OR_RETURN(auto st_cached, db_.PrepareCached(
        "INSERT OR REPLACE INTO contacts(name, role, identity_key, first_seen) VALUES(?,?,?,?)"));
    auto& st = *st_cached;
    st.Bind(1, er.name()).Bind(2, er.role()).BindBlob(3, k.identity_public).Bind(4, NowMs());
    VIGIL_RETURN_IF_ERROR(st.Run());
  }
  VIGIL_RETURN_IF_ERROR(txn.Commit());
  // Prekeys, so that others can start sessions with this device at once.
  // If the relay is gone already, the next sync publishes them.
  auto conn2 = Connection();
  Status pk = conn2.ok() ? MaintainPrekeys(*conn2) : conn2.status();
  if (!pk.ok()) log::Warn("prekeys_not_published", {{"error", pk.message()}});
  return Status::Ok();
}

StatusOr<std::string> Client::CreateInvite(const std::string& role, const std::string& name,
                                           int64_t expires_in_s) {
  VIGIL_RETURN_IF_ERROR(MyName().status());
  VIGIL_ASSIGN_OR_RETURN(net::ClientConnection * conn, Connection());
  v1::Request req;
  auto* c = req.mutable_create_invite();
  c->set_role(role);
  c->set_name(name);
  c->set_expires_in_s(expires_in_s);
  VIGIL_ASSIGN_OR_RETURN(v1::Response resp, CallRelay(conn, req, timeout_ms_));
  std::string code = resp.create_invite().invite_code();
  crypto::Wipe(*resp.mutable_create_invite()->mutable_invite_code());
  return code;
}

StatusOr<Client::DeviceStatus> Client::GetStatus(bool ask_relay) {
  DeviceStatus d;
  VIGIL_ASSIGN_OR_RETURN(auto ep, GetConfig(db_, "relay_endpoint"));
  d.joined = ep.has_value();
  if (ep) d.relay_endpoint = ToString(ep->span());
  VIGIL_ASSIGN_OR_RETURN(auto rp, GetConfig(db_, "relay_public"));
  if (rp) d.relay_fingerprint = crypto::Fingerprint("vigil/relay", rp->span());
  VIGIL_ASSIGN_OR_RETURN(auto last, GetConfig(db_, "last_sync_ms"));
  if (last) d.last_sync_ms = std::stoll(ToString(last->span()));
  for (auto [sql, out] : {std::pair<const char*, int*>{"SELECT count(*) FROM outbox", &d.outbox},
                          {"SELECT count(*) FROM blob_outbox", &d.pending_uploads},
                          {"SELECT count(*) FROM anchors WHERE status != 'ok'", &d.pending_timestamps}}) {
    VIGIL_ASSIGN_OR_RETURN(auto st_cached, db_.PrepareCached(sql));
    auto& st = *st_cached;
    VIGIL_ASSIGN_OR_RETURN(bool row, st.Step());
    *out = row ? static_cast<int>(st.ColumnInt64(0)) : 0;
  }
  VIGIL_ASSIGN_OR_RETURN(auto alarm, GetConfig(db_, "log_alarm"));
  if (alarm) {
    d.log_alarm = true;
    d.log_alarm_reason = ToString(alarm->span());
  }
  if (d.joined && ask_relay) {
    auto conn = Connection();
    if (conn.ok()) {
      v1::Request ping;
      ping.mutable_ping();
      // The pinned relay key authenticates the answer (CurveZMQ).
      auto r = CallRelay(*conn, ping, std::min(timeout_ms_, 5000));
      d.relay_reachable = r.ok();
      if (!r.ok()) d.relay_error = r.status().message();
    } else {
      d.relay_error = conn.status().message();
    }
  }
  return d;
}

Status Client::ChangePassphrase(const std::string& home, ByteSpan old_passphrase,
                                         ByteSpan new_passphrase) {
  return storage::RewrapKeyHeader(home + "/" + kStoreName + ".key", old_passphrase, new_passphrase);
}

Status Client::Backup(const std::string& out) {
  struct stat sb;
  if (stat(out.c_str(), &sb) == 0 || stat((out + ".key").c_str(), &sb) == 0) {
    return Status::AlreadyExists(out + " already exists; choose a new name");
  }
  VIGIL_RETURN_IF_ERROR(storage::ExportEncryptedCopy(db_, key_, out));
  std::ifstream in(home_ + "/" + kStoreName + ".key", std::ios::binary);
  std::ofstream o(out + ".key", std::ios::binary | std::ios::trunc);
  o << in.rdbuf();
  o.close();
  if (!o) return Status::Internal("cannot write " + out + ".key");
  chmod(out.c_str(), 0600);
  chmod((out + ".key").c_str(), 0600);
  return Status::Ok();
}

Status Client::Restore(const std::string& from, const std::string& home, ByteSpan passphrase) {
  struct stat sb;
  if (stat((home + "/" + kStoreName + ".db").c_str(), &sb) == 0 ||
      stat((home + "/" + kStoreName + ".key").c_str(), &sb) == 0) {
    return Status::AlreadyExists(home + " already holds a device store; restore into an empty home");
  }
  {
    VIGIL_ASSIGN_OR_RETURN(crypto::SecretBytes key, storage::UnlockKeyHeader(from + ".key", passphrase));
    VIGIL_ASSIGN_OR_RETURN(storage::Db db, storage::Db::Open(from, key, /*must_exist=*/true));
    VIGIL_RETURN_IF_ERROR(db.IntegrityCheck());
  }
  mkdir(home.c_str(), 0700);
  for (auto [src, dst] : {std::pair<std::string, std::string>{from + ".key", home + "/" + kStoreName + ".key"},
                          {from, home + "/" + kStoreName + ".db"}}) {
    std::ifstream in(src, std::ios::binary);
    std::ofstream o(dst + ".tmp", std::ios::binary | std::ios::trunc);
    o << in.rdbuf();
    o.close();
    if (!o || rename((dst + ".tmp").c_str(), dst.c_str()) != 0) {
      return Status::Internal("cannot write " + dst);
    }
    chmod(dst.c_str(), 0600);
  }
  return Status::Ok();
}

StatusOr<WhoAmI> Client::Whoami() {
  WhoAmI w;
  VIGIL_ASSIGN_OR_RETURN(const Keys* k_keys, LoadKeys());
  const Keys& k = *k_keys;
  w.device_id = k.device_id;
  w.identity_fingerprint = crypto::Fingerprint("vigil/identity", k.identity_public);
  w.device_fingerprint = crypto::Fingerprint("vigil/device", k.transport_public);
  VIGIL_ASSIGN_OR_RETURN(auto name, GetConfig(db_, "name"));
  if (name) w.name = ToString(name->span());
  VIGIL_ASSIGN_OR_RETURN(auto role, GetConfig(db_, "role"));
  if (role) w.role = ToString(role->span());
  VIGIL_ASSIGN_OR_RETURN(auto ep, GetConfig(db_, "relay_endpoint"));
  if (ep) w.relay_endpoint = ToString(ep->span());
  VIGIL_ASSIGN_OR_RETURN(auto rp, GetConfig(db_, "relay_public"));
  if (rp) w.relay_fingerprint = crypto::Fingerprint("vigil/relay", rp->span());
  return w;
}

namespace {

// Checks a directory member against our pinned identity for that name
// (trust on first use; a changed identity is refused loudly), verifies every
// device certificate, and caches the verified devices.
}  // namespace

StatusOr<std::vector<VerifiedDevice>> AcceptMember(storage::Db& db, const v1::DirectoryMember& m) {
  if (m.identity_public_key().size() != 32) {
    return Status::InvalidArgument("directory entry has a malformed identity key");
  }
  {
    VIGIL_ASSIGN_OR_RETURN(auto st_cached, db.PrepareCached("SELECT identity_key FROM contacts WHERE name = ?"));
    auto& st = *st_cached;
    st.Bind(1, m.name());
    VIGIL_ASSIGN_OR_RETURN(bool row, st.Step());
    if (row) {
      Bytes pinned = st.ColumnBlob(0);
      if (!crypto::ConstantTimeEqual(pinned, AsBytes(m.identity_public_key()))) {
        // Remembered, so that `vigil members` shows it until resolved.
        VIGIL_ASSIGN_OR_RETURN(auto mark_cached, db.PrepareCached("UPDATE contacts SET changed_key = ? WHERE name = ?"));
        auto& mark = *mark_cached;
        mark.BindBlob(1, AsBytes(m.identity_public_key())).Bind(2, m.name());
        VIGIL_RETURN_IF_ERROR(mark.Run());
        return Status::Unauthenticated(
            "WARNING: the identity key of " + m.name() +
            " has changed since this device first saw it; refusing. Verify their fingerprint in "
            "person before trusting it.");
      }
    } else {
      VIGIL_ASSIGN_OR_RETURN(auto ins_cached, db.PrepareCached(
          "INSERT INTO contacts(name, role, identity_key, first_seen) VALUES(?,?,?,?)"));
      auto& ins = *ins_cached;
      ins.Bind(1, m.name()).Bind(2, m.role()).BindBlob(3, AsBytes(m.identity_public_key()))
          .Bind(4, NowMs());
      VIGIL_RETURN_IF_ERROR(ins.Run());
    }
  }
  std::vector<VerifiedDevice> out;
  for (const auto& d : m.devices()) {
    VIGIL_ASSIGN_OR_RETURN(auto cert, identity::VerifyDevice(d, AsBytes(m.identity_public_key())));
    VerifiedDevice v{m.name(), ToBytes(cert.device_id()), ToBytes(cert.signing_public_key()),
                     ToBytes(cert.dh_public_key())};
    VIGIL_ASSIGN_OR_RETURN(auto st_cached, db.PrepareCached(
        "INSERT OR REPLACE INTO contact_devices(device_id, name, signing_key, dh_key, certificate, "
        "certificate_signature) VALUES(?,?,?,?,?,?)"));
    auto& st = *st_cached;
    st.BindBlob(1, v.device_id).Bind(2, v.name).BindBlob(3, v.signing_public).BindBlob(4, v.dh_public)
        .BindBlob(5, AsBytes(d.certificate())).BindBlob(6, AsBytes(d.certificate_signature()));
    VIGIL_RETURN_IF_ERROR(st.Run());
    out.push_back(std::move(v));
  }
  return out;
}

StatusOr<std::string> Client::MyName() {
  VIGIL_ASSIGN_OR_RETURN(auto name, GetConfig(db_, "name"));
  if (!name) return NotJoined();
  return ToString(name->span());
}

Status Client::Enqueue(const std::vector<std::string>& recipients, const store::v1::Payload& payload,
                       int64_t now_ms) {
  std::string names;
  for (const auto& n : recipients) {
    if (!names.empty()) names += '\n';
    names += n;
  }
  std::string bytes = payload.SerializeAsString();
  VIGIL_ASSIGN_OR_RETURN(auto ob_cached, db_.PrepareCached(
      "INSERT INTO outbox(message_id, created_at, request, recipients, payload) VALUES(?,?,?,?,?)"));
  auto& ob = *ob_cached;
  ob.BindBlob(1, AsBytes(payload.message_id())).Bind(2, now_ms).BindBlob(3, Bytes())
      .Bind(4, names).BindBlob(5, AsBytes(bytes));
  Status s = ob.Run();
  crypto::Wipe(bytes);
  return s;
}

Status Client::SendPayloadForTesting(const std::vector<std::string>& recipients,
                                     const store::v1::Payload& payload) {
  {
    VIGIL_ASSIGN_OR_RETURN(auto txn, storage::Txn::Begin(db_));
    VIGIL_RETURN_IF_ERROR(Enqueue(recipients, payload, NowMs()));
    VIGIL_RETURN_IF_ERROR(txn.Commit());
  }
  SyncResult sr;
  return FlushOutbox(&sr);
}

void Client::TryFlush(bool* delivered, Status* refused) {
  SyncResult sr;
  Status flushed = FlushOutbox(&sr);
  *delivered = flushed.ok() && sr.outbox_left == 0;
  if (refused != nullptr && !flushed.ok() && flushed.code() != Code::kUnavailable) *refused = flushed;
}

StatusOr<SendResult> Client::SendText(const std::string& to, const std::string& text) {
  if (text.empty()) return Status::InvalidArgument("the message is empty");
  if (text.size() > 1024 * 1024) return Status::InvalidArgument("the message is larger than 1 MiB");
  VIGIL_ASSIGN_OR_RETURN(std::string my_name, MyName());

  // Check the recipient now when the relay is reachable; offline, a member
  // this device has already verified is enough.
  bool known = false;
  auto conn = Connection();
  if (!conn.ok()) return conn.status();
  v1::Request dreq;
  dreq.mutable_directory()->add_names(to);
  auto dresp = CallRelay(*conn, dreq, timeout_ms_);
  if (dresp.ok()) {
    VIGIL_ASSIGN_OR_RETURN(auto txn, storage::Txn::Begin(db_));
    for (const auto& m : dresp->directory().members()) {
      if (m.name() != to) continue;
      VIGIL_RETURN_IF_ERROR(AcceptMember(db_, m).status());
      known = true;
    }
    VIGIL_RETURN_IF_ERROR(txn.Commit());
    if (!known) return Status::NotFound("no member named " + to);
  } else if (dresp.status().code() == Code::kUnavailable) {
    VIGIL_ASSIGN_OR_RETURN(auto st_cached, db_.PrepareCached("SELECT 1 FROM contact_devices WHERE name = ?"));
    auto& st = *st_cached;
    st.Bind(1, to);
    VIGIL_ASSIGN_OR_RETURN(known, st.Step());
    if (!known) {
      return Status::Unavailable("the relay is unreachable and " + to +
                                 " has no known devices yet; try again when online");
    }
  } else {
    return dresp.status();
  }

  Bytes message_id = crypto::RandomBytes(16);
  int64_t now = NowMs();
  store::v1::Payload payload;
  payload.set_version(1);
  payload.set_message_id(ToString(message_id));
  payload.set_from_name(my_name);
  payload.set_sent_at_ms(now);
  payload.mutable_text()->set_text(text);
  {
    VIGIL_ASSIGN_OR_RETURN(auto txn, storage::Txn::Begin(db_));
    VIGIL_RETURN_IF_ERROR(Enqueue({to, my_name}, payload, now));
    VIGIL_ASSIGN_OR_RETURN(auto msg_cached, db_.PrepareCached(
        "INSERT INTO messages(message_id, direction, peer, sent_at, body) VALUES(?,?,?,?,?)"));
    auto& msg = *msg_cached;
    msg.BindBlob(1, message_id).Bind(2, "out").Bind(3, to).Bind(4, now).BindBlob(5, AsBytes(text));
    VIGIL_RETURN_IF_ERROR(msg.Run());
    VIGIL_RETURN_IF_ERROR(txn.Commit());
  }
  crypto::Wipe(*payload.mutable_text()->mutable_text());
  SendResult result{HexEncode(message_id), false};
  if (dresp.ok()) TryFlush(&result.delivered, &result.refused);
  return result;
}

Status Client::FlushOutbox(SyncResult* result) {
  VIGIL_ASSIGN_OR_RETURN(net::ClientConnection * conn, Connection());
  VIGIL_ASSIGN_OR_RETURN(const Keys* k_keys, LoadKeys());
  const Keys& k = *k_keys;
  struct Entry {
    Bytes id;
    std::string recipients;
    crypto::SecretBytes payload;
  };
  std::vector<Entry> entries;
  {
    VIGIL_ASSIGN_OR_RETURN(auto st_cached, db_.PrepareCached(
        "SELECT message_id, recipients, payload FROM outbox ORDER BY created_at, rowid"));
    auto& st = *st_cached;
    for (;;) {
      VIGIL_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      entries.push_back({st.ColumnBlob(0), st.ColumnText(1), st.ColumnSecret(2)});
    }
  }
  auto record_error = [&](const Bytes& id, const Status& s) {
    auto up = db_.Prepare("UPDATE outbox SET attempts = attempts + 1, last_error = ? WHERE message_id = ?");
    if (up.ok()) {
      up->Bind(1, s.message()).BindBlob(2, id);
      up->Run().IgnoreError();
    }
  };
  // Attachment chunks go first, so that a note never arrives before its
  // attachment can be fetched.
  {
    struct Chunk {
      Bytes blob_id;
      int64_t idx, count;
      Bytes data;
    };
    std::vector<Chunk> chunks;
    VIGIL_ASSIGN_OR_RETURN(auto st_cached, db_.PrepareCached("SELECT blob_id, idx, count, data FROM blob_outbox ORDER BY blob_id, idx"));
    auto& st = *st_cached;
    for (;;) {
      VIGIL_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      chunks.push_back({st.ColumnBlob(0), st.ColumnInt64(1), st.ColumnInt64(2), st.ColumnBlob(3)});
    }
    for (const auto& c : chunks) {
      v1::Request req;
      auto* p = req.mutable_put_chunk();
      p->set_blob_id(ToString(c.blob_id));
      p->set_index(static_cast<uint32_t>(c.idx));
      p->set_count(static_cast<uint32_t>(c.count));
      p->set_data(ToString(c.data));
      VIGIL_RETURN_IF_ERROR(CallRelay(conn, req, timeout_ms_).status());
      VIGIL_ASSIGN_OR_RETURN(auto del_cached, db_.PrepareCached("DELETE FROM blob_outbox WHERE blob_id = ? AND idx = ?"));
      auto& del = *del_cached;
      del.BindBlob(1, c.blob_id).Bind(2, c.idx);
      VIGIL_RETURN_IF_ERROR(del.Run());
    }
  }
  Status first_error;
  // The verified devices of each recipient list, looked up once per flush:
  // a queue of records for one visit's team all go to the same members.
  struct Resolved {
    std::vector<RecipientDevice> devices;
    Status accept_error;
  };
  std::map<std::string, Resolved> resolved;
  for (const auto& e : entries) {
    auto known = resolved.find(e.recipients);
    if (known == resolved.end()) {
      std::vector<std::string> names;
      size_t start = 0;
      while (start <= e.recipients.size()) {
        size_t nl = e.recipients.find('\n', start);
        if (nl == std::string::npos) nl = e.recipients.size();
        if (nl > start) names.push_back(e.recipients.substr(start, nl - start));
        start = nl + 1;
      }
      v1::Request dreq;
      for (const auto& n : names) dreq.mutable_directory()->add_names(n);
      auto dresp = CallRelay(conn, dreq, timeout_ms_);
      if (!dresp.ok()) {
        record_error(e.id, dresp.status());
        if (first_error.ok()) first_error = dresp.status();
        if (dresp.status().code() == Code::kUnavailable) break;
        continue;
      }
      Resolved r;
      VIGIL_ASSIGN_OR_RETURN(auto txn, storage::Txn::Begin(db_));
      for (const auto& m : dresp->directory().members()) {
        auto devices = AcceptMember(db_, m);
        if (!devices.ok()) {
          // A changed identity: never encrypt to it; tell the user.
          r.accept_error = devices.status();
          continue;
        }
        for (auto& d : *devices) {
          if (d.device_id != k.device_id) r.devices.push_back({d.device_id, d.signing_public, d.dh_public});
        }
      }
      VIGIL_RETURN_IF_ERROR(txn.Commit());
      known = resolved.emplace(e.recipients, std::move(r)).first;
    }
    const std::vector<RecipientDevice>& recipients = known->second.devices;
    const Status& accept_error = known->second.accept_error;
    if (!accept_error.ok() && first_error.ok()) first_error = accept_error;
    if (!recipients.empty()) {
      store::v1::Payload payload;
      if (!payload.ParseFromArray(e.payload.data(), static_cast<int>(e.payload.size()))) {
        return Status::DataLoss("an outbox entry is damaged");
      }
      auto sealed = SealForDevices(recipients, AsBytes(payload.message_id()), e.payload.span(), &result->problems);
      if (!sealed.ok()) {
        record_error(e.id, sealed.status());
        if (first_error.ok()) first_error = sealed.status();
        if (sealed.status().code() == Code::kUnavailable) break;
        continue;
      }
      v1::Request req;
      auto* send = req.mutable_send();
      send->set_message_id(payload.message_id());
      for (const auto& s : *sealed) {
        auto* d = send->add_deliveries();
        d->set_device_id(ToString(s.device_id));
        d->set_blob(ToString(s.blob));
      }
      auto resp = CallRelay(conn, req, timeout_ms_);
      if (!resp.ok()) {
        record_error(e.id, resp.status());
        if (first_error.ok()) first_error = resp.status();
        if (resp.status().code() == Code::kUnavailable) break;
        continue;
      }
    }
    // Acknowledged by the relay (committed there), or nobody else to tell:
    // now it can leave the outbox.
    VIGIL_ASSIGN_OR_RETURN(auto del_cached, db_.PrepareCached("DELETE FROM outbox WHERE message_id = ?"));
    auto& del = *del_cached;
    del.BindBlob(1, e.id);
    VIGIL_RETURN_IF_ERROR(del.Run());
    ++result->sent;
  }
  VIGIL_ASSIGN_OR_RETURN(auto cnt_cached, db_.PrepareCached("SELECT count(*) FROM outbox"));
  auto& cnt = *cnt_cached;
  VIGIL_ASSIGN_OR_RETURN(bool row, cnt.Step());
  result->outbox_left = row ? static_cast<int>(cnt.ColumnInt64(0)) : 0;
  return first_error;
}

Status Client::FetchAll(SyncResult* result) {
  VIGIL_ASSIGN_OR_RETURN(net::ClientConnection * conn, Connection());
  VIGIL_ASSIGN_OR_RETURN(const Keys* k_keys, LoadKeys());
  const Keys& k = *k_keys;
  uint64_t cursor = 0;
  for (int round = 0; round < 10000; ++round) {
    v1::Request freq;
    freq.mutable_fetch()->set_after_seq(cursor);
    VIGIL_ASSIGN_OR_RETURN(v1::Response fresp, CallRelay(conn, freq, timeout_ms_));
    const auto& items = fresp.fetch().items();
    if (items.empty()) break;

    // Resolve unknown sender devices through the directory, verifying
    // certificates against pinned identities.
    v1::Request dreq;
    for (const auto& it : items) {
      VIGIL_ASSIGN_OR_RETURN(auto st_cached, db_.PrepareCached("SELECT 1 FROM contact_devices WHERE device_id = ?"));
      auto& st = *st_cached;
      st.BindBlob(1, AsBytes(it.from_device_id()));
      VIGIL_ASSIGN_OR_RETURN(bool known, st.Step());
      if (!known && it.from_device_id().size() == 16) {
        dreq.mutable_directory()->add_device_ids(it.from_device_id());
      }
    }
    std::vector<std::string> directory_errors;
    if (dreq.directory().device_ids_size() > 0) {
      auto dresp = CallRelay(conn, dreq, timeout_ms_);
      if (dresp.ok()) {
        VIGIL_ASSIGN_OR_RETURN(auto txn, storage::Txn::Begin(db_));
        for (const auto& m : dresp->directory().members()) {
          auto accepted = AcceptMember(db_, m);
          if (!accepted.ok()) directory_errors.push_back(accepted.status().message());
        }
        VIGIL_RETURN_IF_ERROR(txn.Commit());
      } else if (dresp.status().code() == Code::kUnavailable) {
        return dresp.status();
      }
    }

    std::vector<uint64_t> acks;
    {
      VIGIL_ASSIGN_OR_RETURN(auto txn, storage::Txn::Begin(db_));
      for (const auto& it : items) {
        cursor = std::max<uint64_t>(cursor, it.seq());
        acks.push_back(it.seq());
        auto reject = [&](const std::string& reason) -> Status {
          return RecordRejected(AsBytes(it.from_device_id()), reason, result);
        };
        // Device linking travels outside sessions (the new device has none yet).
        {
          bool handled = false;
          VIGIL_RETURN_IF_ERROR(ReceiveLinkBlob(it.blob(), AsBytes(it.from_device_id()), AsBytes(it.message_id()),
                                                &handled));
          if (handled) continue;
        }
        auto env = ParseEnvelope(AsBytes(it.blob()));
        if (!env.ok()) {
          VIGIL_RETURN_IF_ERROR(reject(env.status().message()));
          continue;
        }
        // The relay says which authenticated device sent it; the envelope
        // must agree, be for this device, and come from a certified device.
        if (env->sender_device_id() != it.from_device_id()) {
          VIGIL_RETURN_IF_ERROR(reject("envelope sender does not match the sending device"));
          continue;
        }
        if (env->recipient_device_id() != ToString(k.device_id)) {
          VIGIL_RETURN_IF_ERROR(reject("envelope is addressed to another device"));
          continue;
        }
        VIGIL_ASSIGN_OR_RETURN(auto st_cached, db_.PrepareCached(
            "SELECT name, signing_key, dh_key FROM contact_devices WHERE device_id = ?"));
        auto& st = *st_cached;
        st.BindBlob(1, AsBytes(it.from_device_id()));
        VIGIL_ASSIGN_OR_RETURN(bool known, st.Step());
        if (!known) {
          VIGIL_RETURN_IF_ERROR(reject(directory_errors.empty()
                                           ? "sender device is not certified by any member"
                                           : directory_errors.front()));
          continue;
        }
        std::string sender_name = st.ColumnText(0);
        RecipientDevice sender{ToBytes(it.from_device_id()), st.ColumnBlob(1), st.ColumnBlob(2)};
        // Processed before: the very same bytes (an ack was lost) are a
        // duplicate at once; other bytes under the same id are either the
        // sender's outbox sealing it afresh (it authenticates: a duplicate
        // whose session step is kept) or tampering (it does not: rejected).
        Bytes blob_hash = crypto::Sha256(AsBytes(it.blob()));
        bool seen_before = false;
        {
          VIGIL_ASSIGN_OR_RETURN(auto seen_cached, db_.PrepareCached(
              "SELECT blob_sha256 FROM received_envelopes WHERE message_id = ? AND sender_device = ?"));
          auto& seen = *seen_cached;
          seen.BindBlob(1, AsBytes(env->message_id())).BindBlob(2, sender.device_id);
          VIGIL_ASSIGN_OR_RETURN(seen_before, seen.Step());
          if (seen_before && seen.ColumnBlob(0) == blob_hash) {
            ++result->duplicates;
            continue;
          }
        }
        // Authenticate (session, then the sender's signature over the
        // content) before any state changes.
        PendingSession pending;
        int64_t now_ms = NowMs();
        auto key_package = DecryptFromDevice(sender, AsBytes(env->session_message()), now_ms, &pending);
        if (!key_package.ok()) {
          VIGIL_RETURN_IF_ERROR(reject(key_package.status().message()));
          continue;
        }
        auto plain = OpenContent(*env, key_package->span(), sender.signing_public);
        if (!plain.ok()) {
          VIGIL_RETURN_IF_ERROR(reject(plain.status().message()));
          continue;
        }
        // The new session state commits with what it decrypted.
        VIGIL_RETURN_IF_ERROR(SaveSession(pending, now_ms));
        if (seen_before) {
          ++result->duplicates;
          continue;
        }
        {
          VIGIL_ASSIGN_OR_RETURN(auto ins_cached, db_.PrepareCached(
              "INSERT OR IGNORE INTO received_envelopes(message_id, sender_device, blob_sha256, received_at) "
              "VALUES(?,?,?,?)"));
          auto& ins = *ins_cached;
          ins.BindBlob(1, AsBytes(env->message_id())).BindBlob(2, sender.device_id).BindBlob(3, blob_hash)
              .Bind(4, now_ms);
          VIGIL_RETURN_IF_ERROR(ins.Run());
        }
        VIGIL_RETURN_IF_ERROR(ReceivePayload(plain->span(), env->message_id(), sender_name,
                                             AsBytes(it.from_device_id()), result));
      }
      // Stored (or quarantined) before acknowledged.
      VIGIL_RETURN_IF_ERROR(txn.Commit());
    }
    v1::Request areq;
    for (uint64_t s : acks) areq.mutable_ack()->add_seqs(s);
    VIGIL_RETURN_IF_ERROR(CallRelay(conn, areq, timeout_ms_).status());
    if (!fresp.fetch().more()) break;
  }
  return Status::Ok();
}

Status Client::RecordRejected(ByteSpan from_device, const std::string& reason, SyncResult* result) {
  VIGIL_ASSIGN_OR_RETURN(auto st, db_.PrepareCached("INSERT INTO rejected(from_device, received_at, reason) VALUES(?,?,?)"));
  st->BindBlob(1, from_device).Bind(2, NowMs()).Bind(3, reason);
  VIGIL_RETURN_IF_ERROR(st->Run());
  result->rejected.push_back({HexEncode(from_device), NowMs(), reason});
  return Status::Ok();
}

Status Client::ReceivePayload(ByteSpan plain, const std::string& envelope_message_id, const std::string& sender_name,
                              ByteSpan from_device, SyncResult* result) {
  store::v1::Payload payload;
  if (!payload.ParseFromArray(plain.data(), static_cast<int>(plain.size())) || payload.version() != 1 ||
      payload.message_id() != envelope_message_id || payload.from_name() != sender_name) {
    return RecordRejected(from_device, "payload is malformed or does not match its envelope", result);
  }
  if (payload.has_visit_event() || payload.has_note_version() || payload.has_anchor_receipt()) {
    Status rs = payload.has_visit_event()    ? ReceiveVisitEvent(payload.visit_event(), sender_name, result)
                : payload.has_note_version() ? ReceiveNoteVersion(payload.note_version(), sender_name, result)
                                             : ReceiveAnchor(payload.anchor_receipt(), result);
    if (rs.code() == Code::kAlreadyExists) {
      ++result->duplicates;
    } else if (!rs.ok()) {
      return rs;
    } else {
      ++result->received;
    }
    return Status::Ok();
  }
  if (!payload.has_text()) return RecordRejected(from_device, "payload has an unknown kind; upgrade Vigil", result);
  VIGIL_ASSIGN_OR_RETURN(auto ins, db_.PrepareCached(
      "INSERT OR IGNORE INTO messages(message_id, direction, peer, peer_device, sent_at, "
      "received_at, body) VALUES(?,?,?,?,?,?,?)"));
  ins->BindBlob(1, AsBytes(payload.message_id())).Bind(2, "in").Bind(3, sender_name)
      .BindBlob(4, from_device).Bind(5, payload.sent_at_ms())
      .Bind(6, NowMs()).BindBlob(7, AsBytes(payload.text().text()));
  VIGIL_RETURN_IF_ERROR(ins->Run());
  crypto::Wipe(*payload.mutable_text()->mutable_text());
  if (db_.Changes() == 1) ++result->received; else ++result->duplicates;
  return Status::Ok();
}

StatusOr<Client::ReceivedForTesting> Client::ReceivePayloadsForTesting(const std::vector<ReceivedPayload>& payloads) {
  ReceivedForTesting out;
  VIGIL_ASSIGN_OR_RETURN(auto txn, storage::Txn::Begin(db_));
  for (const auto& p : payloads) {
    VIGIL_RETURN_IF_ERROR(ReceivePayload(p.plain, p.message_id, p.sender_name, p.from_device, &out.sync));
  }
  VIGIL_RETURN_IF_ERROR(RecheckPendingPass(/*notes=*/false, &out.sync));
  VIGIL_RETURN_IF_ERROR(RecheckPendingPass(/*notes=*/true, &out.sync));
  VIGIL_ASSIGN_OR_RETURN(out.visits, ListVisits());
  VIGIL_ASSIGN_OR_RETURN(out.notes, ListNotes(std::nullopt));
  VIGIL_ASSIGN_OR_RETURN(out.inbox, Inbox());
  return out;  // txn rolls back
}

Status Client::AcceptMemberForTesting(const wire::v1::DirectoryMember& member) {
  VIGIL_ASSIGN_OR_RETURN(auto txn, storage::Txn::Begin(db_));
  VIGIL_RETURN_IF_ERROR(AcceptMember(db_, member).status());
  return txn.Commit();
}

StatusOr<SyncResult> Client::Sync() {
  VIGIL_ASSIGN_OR_RETURN(auto name, GetConfig(db_, "name"));
  if (!name) return NotJoined();
  SyncResult result;
  Status flushed = FlushOutbox(&result);
  if (!flushed.ok() && flushed.code() == Code::kUnavailable) return flushed;
  VIGIL_RETURN_IF_ERROR(FetchAll(&result));
  VIGIL_RETURN_IF_ERROR(ImportLinkArchive(&result));
  VIGIL_RETURN_IF_ERROR(AnswerLinkRequests(&result));
  {
    // One-time prekeys used up by the messages just received are replaced.
    auto conn = Connection();
    Status pk = conn.ok() ? MaintainPrekeys(*conn) : conn.status();
    if (!pk.ok()) result.problems.push_back("prekeys: " + pk.message());
  }
  VIGIL_RETURN_IF_ERROR(RecheckPending(&result));
  VIGIL_RETURN_IF_ERROR(DownloadAttachments(&result));
  if (Status rot = LearnRelayRotation(); !rot.ok()) result.problems.push_back(rot.message());
  // Evidence: retry pending timestamps, and check the relay's log still
  // extends the checkpoint this device kept.
  TryStamp(&result.problems);
  if (Status lg = CheckLog(&result.problems); !lg.ok()) result.problems.push_back(lg.message());
  std::string now = std::to_string(NowMs());
  VIGIL_RETURN_IF_ERROR(PutConfig(db_, "last_sync_ms", AsBytes(now)));
  if (!flushed.ok()) return flushed.WithContext("some queued messages could not be sent");
  return result;
}

StatusOr<std::vector<InboxMessage>> Client::Inbox() {
  std::vector<InboxMessage> out;
  VIGIL_ASSIGN_OR_RETURN(auto st_cached, db_.PrepareCached(
      "SELECT message_id, peer, peer_device, sent_at, received_at, body FROM messages "
      "WHERE direction = 'in' ORDER BY received_at, sent_at"));
  auto& st = *st_cached;
  for (;;) {
    VIGIL_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    InboxMessage m;
    m.id = HexEncode(st.ColumnBlob(0));
    m.from = st.ColumnText(1);
    m.from_device = HexEncode(st.ColumnBlob(2));
    m.sent_at_ms = st.ColumnInt64(3);
    m.received_at_ms = st.ColumnInt64(4);
    Bytes body = st.ColumnBlob(5);
    m.text = ToString(body);
    crypto::Wipe(std::span<uint8_t>(body));
    out.push_back(std::move(m));
  }
  return out;
}

}  // namespace vigil::client
