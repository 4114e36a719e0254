#include "relay/server/relay_store.h"

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstring>

#include "vigil/identity.h"
#include "vigil/storage_backup.h"

namespace vigil::relay {
namespace {

const std::vector<std::string_view> kMigrations = {
    R"sql(
CREATE TABLE config(key TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE invites(
  id BLOB PRIMARY KEY,
  role TEXT NOT NULL,
  name TEXT NOT NULL,
  transport_key BLOB NOT NULL UNIQUE,
  verifier BLOB NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  used_at INTEGER);
CREATE TABLE members(
  name TEXT PRIMARY KEY,
  role TEXT NOT NULL,
  identity_key BLOB NOT NULL,
  created_at INTEGER NOT NULL,
  revoked_at INTEGER);
CREATE TABLE devices(
  id BLOB PRIMARY KEY,
  member TEXT NOT NULL REFERENCES members(name),
  transport_key BLOB NOT NULL UNIQUE,
  certificate BLOB NOT NULL,
  certificate_signature BLOB NOT NULL,
  created_at INTEGER NOT NULL,
  revoked_at INTEGER);
CREATE TABLE mailbox(
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  device_id BLOB NOT NULL,
  message_id BLOB NOT NULL,
  from_device BLOB NOT NULL,
  received_at INTEGER NOT NULL,
  blob BLOB NOT NULL,
  UNIQUE(device_id, message_id));
CREATE INDEX mailbox_by_device ON mailbox(device_id, seq);
CREATE TABLE audit(
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  at INTEGER NOT NULL,
  event TEXT NOT NULL,
  detail TEXT NOT NULL);
)sql",
    R"sql(
CREATE TABLE blobs(
  blob_id BLOB NOT NULL,
  idx INTEGER NOT NULL,
  count INTEGER NOT NULL,
  data BLOB NOT NULL,
  created_at INTEGER NOT NULL,
  uploader BLOB NOT NULL,
  PRIMARY KEY(blob_id, idx));
)sql",
    R"sql(
CREATE TABLE runtime(key TEXT PRIMARY KEY, value INTEGER NOT NULL);
)sql",
    // Timestamp plugins' append-only records (the notary's statements, the
    // log's leaves). Never updated or deleted.
    R"sql(
CREATE TABLE plugin_records(
  plugin TEXT NOT NULL,
  idx INTEGER NOT NULL,
  data BLOB NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY(plugin, idx));
CREATE TABLE runtime_text(key TEXT PRIMARY KEY, value TEXT NOT NULL);
)sql",
    // Session prekeys: each device's signed prekeys and one-time prekeys
    // (public halves only; each one-time prekey is handed out once).
    R"sql(
CREATE TABLE prekeys(
  device_id BLOB NOT NULL,
  kind TEXT NOT NULL,
  key_id INTEGER NOT NULL,
  data BLOB NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY(device_id, kind, key_id));
)sql",
    // Bytes queued per device, kept by triggers in the same transaction as
    // the mailbox change, so that the quota check on every Send is one
    // lookup instead of a sum over the whole mailbox.
    R"sql(
CREATE TABLE mailbox_usage(device_id BLOB PRIMARY KEY, bytes INTEGER) WITHOUT ROWID;
INSERT INTO mailbox_usage(device_id, bytes)
  SELECT device_id, sum(length(blob)) FROM mailbox GROUP BY device_id;
CREATE TRIGGER mailbox_usage_insert AFTER INSERT ON mailbox BEGIN
  INSERT OR IGNORE INTO mailbox_usage(device_id, bytes) VALUES(NEW.device_id, 0);
  UPDATE mailbox_usage SET bytes = bytes + length(NEW.blob) WHERE device_id = NEW.device_id;
END;
CREATE TRIGGER mailbox_usage_delete AFTER DELETE ON mailbox BEGIN
  UPDATE mailbox_usage SET bytes = bytes - length(OLD.blob) WHERE device_id = OLD.device_id;
END;
CREATE TRIGGER mailbox_usage_update AFTER UPDATE OF device_id, blob ON mailbox BEGIN
  UPDATE mailbox_usage SET bytes = bytes - length(OLD.blob) WHERE device_id = OLD.device_id;
  INSERT OR IGNORE INTO mailbox_usage(device_id, bytes) VALUES(NEW.device_id, 0);
  UPDATE mailbox_usage SET bytes = bytes + length(NEW.blob) WHERE device_id = NEW.device_id;
END;
)sql",
};

Status PutConfig(storage::Db& db, const char* key, ByteSpan value) {
  VIGIL_ASSIGN_OR_RETURN(auto st, db.Prepare("INSERT OR REPLACE INTO config(key, value) VALUES(?, ?)"));
  st.Bind(1, key).BindBlob(2, value);
  return st.Run();
}

StatusOr<crypto::SecretBytes> GetConfig(storage::Db& db, const char* key) {
  VIGIL_ASSIGN_OR_RETURN(auto st, db.Prepare("SELECT value FROM config WHERE key = ?"));
  st.Bind(1, key);
  VIGIL_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return Status::DataLoss(std::string("relay store lacks ") + key + "; re-run init");
  return st.ColumnSecret(0);
}

DeviceRow ReadDevice(storage::Statement& st) {
  // Columns: id, member, role, transport_key, certificate, signature,
  //          created_at, device revoked_at, member revoked_at
  DeviceRow d;
  d.id = st.ColumnBlob(0);
  d.member = st.ColumnText(1);
  d.role = st.ColumnText(2);
  d.transport_key = st.ColumnBlob(3);
  d.certificate = st.ColumnBlob(4);
  d.certificate_signature = st.ColumnBlob(5);
  d.created_at_ms = st.ColumnInt64(6);
  d.revoked = !st.ColumnIsNull(7) || !st.ColumnIsNull(8);
  return d;
}

constexpr char kDeviceSelect[] =
    "SELECT d.id, d.member, m.role, d.transport_key, d.certificate, d.certificate_signature, "
    "d.created_at, d.revoked_at, m.revoked_at FROM devices d JOIN members m ON m.name = d.member ";

InviteRow ReadInvite(storage::Statement& st) {
  InviteRow r;
  r.id = st.ColumnBlob(0);
  r.role = st.ColumnText(1);
  r.name = st.ColumnText(2);
  r.verifier = st.ColumnBlob(3);
  r.expires_at_ms = st.ColumnInt64(4);
  if (!st.ColumnIsNull(5)) r.used_at_ms = st.ColumnInt64(5);
  return r;
}

constexpr char kInviteSelect[] =
    "SELECT id, role, name, verifier, expires_at, used_at FROM invites ";

}  // namespace

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool IsValidRole(std::string_view role) {
  return role == "coordinator" || role == "volunteer" || role == "legal";
}

Status CheckMemberName(std::string_view name) {
  if (name.empty() || name.size() > 64) return Status::InvalidArgument("a name has 1 to 64 characters");
  for (char c : name) {
    if (!(isalnum(static_cast<unsigned char>(c)) || c == ' ' || c == '.' || c == '-' || c == '_')) {
      return Status::InvalidArgument("a name may hold letters, digits, space, '.', '-' and '_'");
    }
  }
  return Status::Ok();
}

StatusOr<RelayStore> RelayStore::Create(const std::string& data_dir, ByteSpan passphrase,
                                        const std::string& listen) {
  VIGIL_RETURN_IF_ERROR(identity::CheckEndpoint(listen, false));
  crypto::SecretBytes key;
  auto db_or = storage::CreateStore(data_dir, kStoreName, passphrase, crypto::DefaultArgon2Params(), &key);
  if (!db_or.ok()) {
    if (db_or.status().code() == Code::kAlreadyExists) {
      return Status::AlreadyExists("a relay store already exists in " + data_dir);
    }
    return db_or.status();
  }
  storage::Db db = std::move(db_or).value();
  VIGIL_RETURN_IF_ERROR(db.Migrate(kMigrations));
  crypto::DhKeyPair transport = crypto::GenerateDhKeyPair();
  crypto::SigningKeyPair signing = crypto::GenerateSigningKeyPair();
  VIGIL_ASSIGN_OR_RETURN(auto txn, storage::Txn::Begin(db));
  VIGIL_RETURN_IF_ERROR(PutConfig(db, "listen", AsBytes(listen)));
  VIGIL_RETURN_IF_ERROR(PutConfig(db, "transport_public", transport.public_key));
  VIGIL_RETURN_IF_ERROR(PutConfig(db, "transport_secret", transport.secret_key.span()));
  VIGIL_RETURN_IF_ERROR(PutConfig(db, "signing_public", signing.public_key));
  VIGIL_RETURN_IF_ERROR(PutConfig(db, "signing_secret", signing.secret_key.span()));
  VIGIL_RETURN_IF_ERROR(txn.Commit());
  RelayStore store(std::move(db), std::move(key));
  store.Audit(NowMs(), "init", "listen=" + listen);
  return store;
}

StatusOr<RelayStore> RelayStore::Open(const std::string& data_dir, ByteSpan passphrase) {
  std::string header = data_dir + "/" + kStoreName + ".key";
  struct stat sb;
  if (stat(header.c_str(), &sb) != 0) {
    return Status::NotFound("no relay store in " + data_dir + "; run vigil-relay init first");
  }
  VIGIL_ASSIGN_OR_RETURN(crypto::SecretBytes key, storage::UnlockKeyHeader(header, passphrase));
  return OpenWithKey(data_dir, key);
}

StatusOr<RelayStore> RelayStore::OpenWithKey(const std::string& data_dir,
                                             const crypto::SecretBytes& key) {
  VIGIL_ASSIGN_OR_RETURN(storage::Db db,
                         storage::Db::Open(data_dir + "/" + kStoreName + ".db", key, true));
  VIGIL_RETURN_IF_ERROR(db.Migrate(kMigrations));
  // A group commit of a few hundred Sends dirties more pages than SQLite's
  // default 2 MB cache holds; a spill writes (encrypts) pages to the WAL in
  // the middle of the batch and again at commit. Pages are allocated only
  // as they are used.
  VIGIL_RETURN_IF_ERROR(db.Exec("PRAGMA cache_size = -16384"));
  return RelayStore(std::move(db), key.Clone());
}

StatusOr<RelayKeys> RelayStore::LoadKeys() {
  RelayKeys k;
  VIGIL_ASSIGN_OR_RETURN(auto listen, GetConfig(db_, "listen"));
  k.listen = ToString(listen.span());
  VIGIL_ASSIGN_OR_RETURN(auto tp, GetConfig(db_, "transport_public"));
  k.transport_public = Bytes(tp.span().begin(), tp.span().end());
  VIGIL_ASSIGN_OR_RETURN(k.transport_secret, GetConfig(db_, "transport_secret"));
  VIGIL_ASSIGN_OR_RETURN(auto sp, GetConfig(db_, "signing_public"));
  k.signing_public = Bytes(sp.span().begin(), sp.span().end());
  VIGIL_ASSIGN_OR_RETURN(k.signing_secret, GetConfig(db_, "signing_secret"));
  if (k.transport_public.size() != 32 || k.transport_secret.size() != 32 ||
      k.signing_public.size() != 32 || k.signing_secret.size() != 64) {
    return Status::DataLoss("relay keys in the store are damaged");
  }
  return k;
}

// --- transport key rotation ---

namespace {
constexpr char kRotationLabel[] = "vigil/transport-rotation/v1";
}  // namespace

StatusOr<RelayStore::Rotation> RelayStore::AnnounceTransportKey() {
  VIGIL_ASSIGN_OR_RETURN(RelayKeys keys, LoadKeys());
  crypto::DhKeyPair next = crypto::GenerateDhKeyPair();
  Bytes msg = keys.transport_public;
  msg.insert(msg.end(), next.public_key.begin(), next.public_key.end());
  VIGIL_ASSIGN_OR_RETURN(Bytes sig, crypto::Sign(keys.signing_secret, identity::SignedBytes(kRotationLabel, msg)));
  VIGIL_ASSIGN_OR_RETURN(auto txn, storage::Txn::Begin(db_));
  VIGIL_RETURN_IF_ERROR(PutConfig(db_, "transport_next_public", next.public_key));
  VIGIL_RETURN_IF_ERROR(PutConfig(db_, "transport_next_secret", next.secret_key.span()));
  VIGIL_RETURN_IF_ERROR(PutConfig(db_, "transport_next_signature", sig));
  VIGIL_RETURN_IF_ERROR(txn.Commit());
  Audit(NowMs(), "rotate-transport-key", "announced " + crypto::Fingerprint("vigil/relay", next.public_key));
  return Rotation{next.public_key, sig};
}

StatusOr<std::optional<RelayStore::Rotation>> RelayStore::PendingRotation() {
  VIGIL_ASSIGN_OR_RETURN(auto st, db_.Prepare(
      "SELECT (SELECT value FROM config WHERE key = 'transport_next_public'), "
      "(SELECT value FROM config WHERE key = 'transport_next_signature')"));
  VIGIL_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row || st.ColumnIsNull(0) || st.ColumnIsNull(1)) return std::optional<Rotation>();
  return std::optional<Rotation>(Rotation{st.ColumnBlob(0), st.ColumnBlob(1)});
}

Status RelayStore::CommitTransportKey() {
  VIGIL_ASSIGN_OR_RETURN(auto pending, PendingRotation());
  if (!pending) return Status::FailedPrecondition("no transport key rotation was announced; run without --commit first");
  VIGIL_ASSIGN_OR_RETURN(crypto::SecretBytes next_secret, GetConfig(db_, "transport_next_secret"));
  VIGIL_ASSIGN_OR_RETURN(auto txn, storage::Txn::Begin(db_));
  VIGIL_RETURN_IF_ERROR(PutConfig(db_, "transport_public", pending->next_public));
  VIGIL_RETURN_IF_ERROR(PutConfig(db_, "transport_secret", next_secret.span()));
  VIGIL_RETURN_IF_ERROR(db_.Exec(
      "DELETE FROM config WHERE key IN ('transport_next_public', 'transport_next_secret', "
      "'transport_next_signature')"));
  VIGIL_RETURN_IF_ERROR(txn.Commit());
  Audit(NowMs(), "rotate-transport-key", "committed " + crypto::Fingerprint("vigil/relay", pending->next_public));
  return Status::Ok();
}

// --- invites ---

StatusOr<crypto::SecretBytes> RelayStore::CreateInvite(const std::string& role,
                                                       const std::string& name, int64_t now_ms,
                                                       int64_t expires_at_ms) {
  VIGIL_ASSIGN_OR_RETURN(auto txn, storage::Txn::Begin(db_));
  VIGIL_ASSIGN_OR_RETURN(crypto::SecretBytes secret, CreateInviteInTxn(role, name, now_ms, expires_at_ms));
  VIGIL_RETURN_IF_ERROR(txn.Commit());
  return secret;
}

StatusOr<crypto::SecretBytes> RelayStore::CreateInviteInTxn(const std::string& role,
                                                            const std::string& name, int64_t now_ms,
                                                            int64_t expires_at_ms) {
  if (!IsValidRole(role)) {
    return Status::InvalidArgument("role must be coordinator, volunteer or legal");
  }
  VIGIL_RETURN_IF_ERROR(CheckMemberName(name));
  {
    VIGIL_ASSIGN_OR_RETURN(auto st, db_.Prepare("SELECT 1 FROM members WHERE name = ?"));
    st.Bind(1, name);
    VIGIL_ASSIGN_OR_RETURN(bool exists, st.Step());
    if (exists) return Status::AlreadyExists("a member named " + name + " already exists");
  }
  {
    VIGIL_ASSIGN_OR_RETURN(
        auto st, db_.Prepare("SELECT 1 FROM invites WHERE name = ? AND used_at IS NULL AND expires_at > ?"));
    st.Bind(1, name).Bind(2, now_ms);
    VIGIL_ASSIGN_OR_RETURN(bool pending, st.Step());
    if (pending) {
      return Status::AlreadyExists("an unused invite for " + name + " is still pending");
    }
  }
  crypto::SecretBytes secret = crypto::SecretBytes::Random(identity::kInviteSecretSize);
  VIGIL_ASSIGN_OR_RETURN(crypto::DhKeyPair tk, identity::InviteTransportKey(secret));
  Bytes id = crypto::RandomBytes(16);
  VIGIL_ASSIGN_OR_RETURN(
      auto st, db_.Prepare("INSERT INTO invites(id, role, name, transport_key, verifier, "
                           "created_at, expires_at) VALUES(?,?,?,?,?,?,?)"));
  st.BindBlob(1, id).Bind(2, role).Bind(3, name).BindBlob(4, tk.public_key)
      .BindBlob(5, identity::InviteVerifier(secret)).Bind(6, now_ms).Bind(7, expires_at_ms);
  VIGIL_RETURN_IF_ERROR(st.Run());
  Audit(now_ms, "invite", "role=" + role + " name=" + name + " invite=" + HexEncode(id).substr(0, 8));
  return secret;
}

StatusOr<int> RelayStore::PurgeOlderThan(int64_t cutoff_ms) {
  VIGIL_ASSIGN_OR_RETURN(auto st, db_.Prepare("DELETE FROM mailbox WHERE received_at < ?"));
  st.Bind(1, cutoff_ms);
  VIGIL_RETURN_IF_ERROR(st.Run());
  int n = db_.Changes();
  VIGIL_ASSIGN_OR_RETURN(auto sb, db_.Prepare("DELETE FROM blobs WHERE created_at < ?"));
  sb.Bind(1, cutoff_ms);
  VIGIL_RETURN_IF_ERROR(sb.Run());
  return n + db_.Changes();
}

Status RelayStore::PutChunk(ByteSpan blob_id, uint32_t index, uint32_t count, ByteSpan data,
                            ByteSpan uploader, int64_t now_ms) {
  {
    // A blob's chunks all come from one device and agree on the count.
    VIGIL_ASSIGN_OR_RETURN(auto st, db_.PrepareCached("SELECT count, uploader FROM blobs WHERE blob_id = ? LIMIT 1"));
    st->BindBlob(1, blob_id);
    VIGIL_ASSIGN_OR_RETURN(bool row, st->Step());
    if (row && (st->ColumnInt64(0) != count || st->ColumnBlob(1) != Bytes(uploader.begin(), uploader.end()))) {
      return Status::PermissionDenied("this blob belongs to another upload");
    }
  }
  VIGIL_ASSIGN_OR_RETURN(auto st, db_.PrepareCached(
      "INSERT OR IGNORE INTO blobs(blob_id, idx, count, data, created_at, uploader) VALUES(?,?,?,?,?,?)"));
  st->BindBlob(1, blob_id).Bind(2, static_cast<int64_t>(index)).Bind(3, static_cast<int64_t>(count))
      .BindBlob(4, data).Bind(5, now_ms).BindBlob(6, uploader);
  return st->Run();
}

StatusOr<std::pair<uint32_t, Bytes>> RelayStore::GetChunk(ByteSpan blob_id, uint32_t index) {
  VIGIL_ASSIGN_OR_RETURN(auto st, db_.PrepareCached("SELECT count, data FROM blobs WHERE blob_id = ? AND idx = ?"));
  st->BindBlob(1, blob_id).Bind(2, static_cast<int64_t>(index));
  VIGIL_ASSIGN_OR_RETURN(bool row, st->Step());
  if (!row) return Status::NotFound("no such attachment chunk (not uploaded yet, or expired)");
  return std::make_pair(static_cast<uint32_t>(st->ColumnInt64(0)), st->ColumnBlob(1));
}

StatusOr<std::optional<InviteRow>> RelayStore::FindInviteByTransportKey(ByteSpan key) {
  VIGIL_ASSIGN_OR_RETURN(auto st, db_.PrepareCached(std::string(kInviteSelect) + "WHERE transport_key = ?"));
  st->BindBlob(1, key);
  VIGIL_ASSIGN_OR_RETURN(bool row, st->Step());
  if (!row) return std::optional<InviteRow>();
  return std::optional<InviteRow>(ReadInvite(*st));
}

StatusOr<std::optional<InviteRow>> RelayStore::FindInvite(ByteSpan id) {
  VIGIL_ASSIGN_OR_RETURN(auto st, db_.PrepareCached(std::string(kInviteSelect) + "WHERE id = ?"));
  st->BindBlob(1, id);
  VIGIL_ASSIGN_OR_RETURN(bool row, st->Step());
  if (!row) return std::optional<InviteRow>();
  return std::optional<InviteRow>(ReadInvite(*st));
}

// --- members and devices ---

StatusOr<std::optional<DeviceRow>> RelayStore::FindDeviceByTransportKey(ByteSpan key) {
  VIGIL_ASSIGN_OR_RETURN(auto st, db_.PrepareCached(std::string(kDeviceSelect) + "WHERE d.transport_key = ?"));
  st->BindBlob(1, key);
  VIGIL_ASSIGN_OR_RETURN(bool row, st->Step());
  if (!row) return std::optional<DeviceRow>();
  return std::optional<DeviceRow>(ReadDevice(*st));
}

StatusOr<std::optional<DeviceRow>> RelayStore::FindDevice(ByteSpan id) {
  VIGIL_ASSIGN_OR_RETURN(auto st, db_.PrepareCached(std::string(kDeviceSelect) + "WHERE d.id = ?"));
  st->BindBlob(1, id);
  VIGIL_ASSIGN_OR_RETURN(bool row, st->Step());
  if (!row) return std::optional<DeviceRow>();
  return std::optional<DeviceRow>(ReadDevice(*st));
}

StatusOr<std::optional<MemberRow>> RelayStore::FindMember(const std::string& name,
                                                          bool with_devices) {
  VIGIL_ASSIGN_OR_RETURN(
      auto st, db_.PrepareCached("SELECT name, role, identity_key, created_at, revoked_at FROM members WHERE name = ?"));
  st->Bind(1, name);
  VIGIL_ASSIGN_OR_RETURN(bool row, st->Step());
  if (!row) return std::optional<MemberRow>();
  MemberRow m;
  m.name = st->ColumnText(0);
  m.role = st->ColumnText(1);
  m.identity_key = st->ColumnBlob(2);
  m.created_at_ms = st->ColumnInt64(3);
  m.revoked = !st->ColumnIsNull(4);
  if (with_devices) {
    VIGIL_ASSIGN_OR_RETURN(auto ds, db_.PrepareCached(std::string(kDeviceSelect) +
                                                "WHERE d.member = ? ORDER BY d.created_at, d.id"));
    ds->Bind(1, name);
    for (;;) {
      VIGIL_ASSIGN_OR_RETURN(bool more, ds->Step());
      if (!more) break;
      m.devices.push_back(ReadDevice(*ds));
    }
  }
  return std::optional<MemberRow>(std::move(m));
}

StatusOr<std::vector<MemberRow>> RelayStore::ListMembers() {
  std::vector<std::string> names;
  {
    VIGIL_ASSIGN_OR_RETURN(auto st, db_.Prepare("SELECT name FROM members ORDER BY created_at, name"));
    for (;;) {
      VIGIL_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      names.push_back(st.ColumnText(0));
    }
  }
  std::vector<MemberRow> out;
  for (const auto& n : names) {
    VIGIL_ASSIGN_OR_RETURN(auto m, FindMember(n, true));
    if (m) out.push_back(std::move(*m));
  }
  return out;
}

Status RelayStore::Enroll(const InviteRow& invite, ByteSpan identity_key,
                          const wire::v1::DirectoryDevice& device, ByteSpan transport_key,
                          int64_t now_ms) {
  {
    VIGIL_ASSIGN_OR_RETURN(auto st, db_.Prepare("SELECT 1 FROM members WHERE name = ?"));
    st.Bind(1, invite.name);
    VIGIL_ASSIGN_OR_RETURN(bool exists, st.Step());
    if (exists) return Status::AlreadyExists("a member named " + invite.name + " already exists");
  }
  {
    VIGIL_ASSIGN_OR_RETURN(auto st, db_.Prepare("SELECT 1 FROM devices WHERE transport_key = ? OR id = ?"));
    st.BindBlob(1, transport_key).BindBlob(2, AsBytes(device.device_id()));
    VIGIL_ASSIGN_OR_RETURN(bool exists, st.Step());
    if (exists) return Status::AlreadyExists("this device is already enrolled");
  }
  {
    VIGIL_ASSIGN_OR_RETURN(auto st, db_.Prepare(
        "INSERT INTO members(name, role, identity_key, created_at) VALUES(?,?,?,?)"));
    st.Bind(1, invite.name).Bind(2, invite.role).BindBlob(3, identity_key).Bind(4, now_ms);
    VIGIL_RETURN_IF_ERROR(st.Run());
  }
  {
    VIGIL_ASSIGN_OR_RETURN(auto st, db_.Prepare(
        "INSERT INTO devices(id, member, transport_key, certificate, certificate_signature, "
        "created_at) VALUES(?,?,?,?,?,?)"));
    st.BindBlob(1, AsBytes(device.device_id())).Bind(2, invite.name).BindBlob(3, transport_key)
        .BindBlob(4, AsBytes(device.certificate()))
        .BindBlob(5, AsBytes(device.certificate_signature())).Bind(6, now_ms);
    VIGIL_RETURN_IF_ERROR(st.Run());
  }
  {
    VIGIL_ASSIGN_OR_RETURN(auto st, db_.Prepare(
        "UPDATE invites SET used_at = ? WHERE id = ? AND used_at IS NULL"));
    st.Bind(1, now_ms).BindBlob(2, invite.id);
    VIGIL_RETURN_IF_ERROR(st.Run());
    if (db_.Changes() != 1) return Status::FailedPrecondition("this invite has already been used");
  }
  Audit(now_ms, "enroll", "name=" + invite.name + " role=" + invite.role +
                              " device=" + HexEncode(AsBytes(device.device_id())).substr(0, 8));
  return Status::Ok();
}

StatusOr<std::string> RelayStore::Revoke(const std::string& target, int64_t now_ms) {
  VIGIL_ASSIGN_OR_RETURN(auto txn, storage::Txn::Begin(db_));
  std::string what;
  VIGIL_ASSIGN_OR_RETURN(auto member, FindMember(target, false));
  if (member) {
    VIGIL_ASSIGN_OR_RETURN(auto st, db_.Prepare(
        "UPDATE members SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL"));
    st.Bind(1, now_ms).Bind(2, target);
    VIGIL_RETURN_IF_ERROR(st.Run());
    VIGIL_ASSIGN_OR_RETURN(auto sd, db_.Prepare(
        "UPDATE devices SET revoked_at = ? WHERE member = ? AND revoked_at IS NULL"));
    sd.Bind(1, now_ms).Bind(2, target);
    VIGIL_RETURN_IF_ERROR(sd.Run());
    what = "member " + target + " and all their devices";
  } else {
    std::string hex;
    for (char c : target) {
      if (isxdigit(static_cast<unsigned char>(c))) hex += static_cast<char>(tolower(c));
      else if (c != ' ' && c != '-' && c != ':') return Status::NotFound("no member or device " + target);
    }
    if (hex.size() < 8) return Status::NotFound("no member or device " + target +
                                                " (give a name or at least 8 hex digits of a device id)");
    VIGIL_ASSIGN_OR_RETURN(auto st, db_.Prepare("SELECT id FROM devices"));
    std::vector<Bytes> matches;
    for (;;) {
      VIGIL_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      Bytes id = st.ColumnBlob(0);
      if (HexEncode(id).compare(0, hex.size(), hex) == 0) matches.push_back(id);
    }
    if (matches.empty()) return Status::NotFound("no member or device " + target);
    if (matches.size() > 1) return Status::InvalidArgument("device id prefix " + target + " is ambiguous");
    VIGIL_RETURN_IF_ERROR(RevokeDeviceInTxn(matches[0], now_ms));
    what = "device " + HexEncode(matches[0]);
  }
  VIGIL_RETURN_IF_ERROR(txn.Commit());
  Audit(now_ms, "revoke", what);
  return what;
}

Status RelayStore::RevokeDeviceInTxn(ByteSpan device_id, int64_t now_ms) {
  VIGIL_ASSIGN_OR_RETURN(auto up, db_.Prepare("UPDATE devices SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL"));
  up.Bind(1, now_ms).BindBlob(2, device_id);
  VIGIL_RETURN_IF_ERROR(up.Run());
  // Nothing queued for a revoked device will ever be fetched.
  VIGIL_ASSIGN_OR_RETURN(auto del, db_.Prepare("DELETE FROM mailbox WHERE device_id = ?"));
  del.BindBlob(1, device_id);
  VIGIL_RETURN_IF_ERROR(del.Run());
  VIGIL_ASSIGN_OR_RETURN(auto pk, db_.Prepare("DELETE FROM prekeys WHERE device_id = ?"));
  pk.BindBlob(1, device_id);
  return pk.Run();
}

// --- mailboxes ---

StatusOr<bool> RelayStore::StoreDelivery(ByteSpan device_id, ByteSpan message_id,
                                         ByteSpan from_device, int64_t now_ms, ByteSpan blob) {
  VIGIL_ASSIGN_OR_RETURN(auto st, db_.PrepareCached(
      "INSERT OR IGNORE INTO mailbox(device_id, message_id, from_device, received_at, blob) "
      "VALUES(?,?,?,?,?)"));
  st->BindBlob(1, device_id).BindBlob(2, message_id).BindBlob(3, from_device).Bind(4, now_ms)
      .BindBlob(5, blob);
  VIGIL_RETURN_IF_ERROR(st->Run());
  return db_.Changes() == 1;
}

Status RelayStore::Fetch(ByteSpan device_id, uint64_t after_seq, int max_items,
                         size_t max_bytes, wire::v1::FetchResponse* out) {
  VIGIL_ASSIGN_OR_RETURN(auto st, db_.PrepareCached(
      "SELECT seq, message_id, from_device, received_at, blob FROM mailbox "
      "WHERE device_id = ? AND seq > ? ORDER BY seq LIMIT ?"));
  st->BindBlob(1, device_id).Bind(2, static_cast<int64_t>(after_seq)).Bind(3, max_items + 1);
  size_t bytes = 0;
  for (;;) {
    VIGIL_ASSIGN_OR_RETURN(bool row, st->Step());
    if (!row) break;
    Bytes blob = st->ColumnBlob(4);
    if (out->items_size() >= max_items || (out->items_size() > 0 && bytes + blob.size() > max_bytes)) {
      out->set_more(true);
      break;
    }
    bytes += blob.size();
    auto* item = out->add_items();
    item->set_seq(static_cast<uint64_t>(st->ColumnInt64(0)));
    item->set_message_id(ToString(st->ColumnBlob(1)));
    item->set_from_device_id(ToString(st->ColumnBlob(2)));
    item->set_received_at_ms(st->ColumnInt64(3));
    item->set_blob(ToString(blob));
  }
  return Status::Ok();
}

StatusOr<int> RelayStore::Ack(ByteSpan device_id, const std::vector<uint64_t>& seqs) {
  // The acked seqs in order, once each; a seq SQLite cannot hold names no
  // item.
  std::vector<int64_t> acked;
  acked.reserve(seqs.size());
  for (uint64_t seq : seqs) {
    if (seq > 0 && seq <= static_cast<uint64_t>(INT64_MAX)) acked.push_back(static_cast<int64_t>(seq));
  }
  std::sort(acked.begin(), acked.end());
  acked.erase(std::unique(acked.begin(), acked.end()), acked.end());
  if (acked.empty()) return 0;
  // Runs of the device's queued items that are all acked: the device's
  // items between the first and the last acked seq (read from the index
  // alone), cut wherever one of them was not acked. A device acks what it
  // fetched, a contiguous stretch of its mailbox: usually one run, deleted
  // by one statement instead of one per item.
  std::vector<std::pair<int64_t, int64_t>> runs;
  {
    VIGIL_ASSIGN_OR_RETURN(auto st, db_.PrepareCached(
        "SELECT seq FROM mailbox WHERE device_id = ? AND seq BETWEEN ? AND ? ORDER BY seq"));
    st->BindBlob(1, device_id).Bind(2, acked.front()).Bind(3, acked.back());
    size_t next = 0;  // acked[next] is the first acked seq not yet passed
    bool open = false;
    for (;;) {
      VIGIL_ASSIGN_OR_RETURN(bool row, st->Step());
      if (!row) break;
      const int64_t seq = st->ColumnInt64(0);
      while (next < acked.size() && acked[next] < seq) ++next;
      if (next < acked.size() && acked[next] == seq) {
        if (open) {
          runs.back().second = seq;
        } else {
          runs.emplace_back(seq, seq);
          open = true;
        }
      } else {
        open = false;  // queued but not acked: stays
      }
    }
  }
  VIGIL_ASSIGN_OR_RETURN(auto del, db_.PrepareCached(
      "DELETE FROM mailbox WHERE device_id = ? AND seq BETWEEN ? AND ?"));
  int deleted = 0;
  for (const auto& [first, last] : runs) {
    VIGIL_RETURN_IF_ERROR(del->Reset());
    del->BindBlob(1, device_id).Bind(2, first).Bind(3, last);
    VIGIL_RETURN_IF_ERROR(del->Run());
    deleted += db_.Changes();
  }
  return deleted;
}

StatusOr<int64_t> RelayStore::MailboxBytes(ByteSpan device_id) {
  VIGIL_ASSIGN_OR_RETURN(auto st, db_.PrepareCached("SELECT bytes FROM mailbox_usage WHERE device_id = ?"));
  st->BindBlob(1, device_id);
  VIGIL_ASSIGN_OR_RETURN(bool row, st->Step());
  return row ? st->ColumnInt64(0) : 0;
}

StatusOr<uint64_t> RelayStore::LatestSeq(ByteSpan device_id) {
  VIGIL_ASSIGN_OR_RETURN(auto st, db_.PrepareCached("SELECT max(seq) FROM mailbox WHERE device_id = ?"));
  st->BindBlob(1, device_id);
  VIGIL_ASSIGN_OR_RETURN(bool row, st->Step());
  if (!row || st->ColumnIsNull(0)) return uint64_t{0};
  return static_cast<uint64_t>(st->ColumnInt64(0));
}

Status RelayStore::ExportTo(const std::string& path) {
  return storage::ExportEncryptedCopy(db_, key_, path);
}

Status RelayStore::SetRuntime(const std::string& key, int64_t value) {
  VIGIL_ASSIGN_OR_RETURN(auto st, db_.PrepareCached("INSERT OR REPLACE INTO runtime(key, value) VALUES(?, ?)"));
  st->Bind(1, key).Bind(2, value);
  return st->Run();
}

StatusOr<std::map<std::string, int64_t>> RelayStore::Runtime() {
  std::map<std::string, int64_t> out;
  VIGIL_ASSIGN_OR_RETURN(auto st, db_.Prepare("SELECT key, value FROM runtime"));
  for (;;) {
    VIGIL_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    out[st.ColumnText(0)] = st.ColumnInt64(1);
  }
  return out;
}

void RelayStore::Audit(int64_t now_ms, const std::string& event, const std::string& detail) {
  auto st = db_.Prepare("INSERT INTO audit(at, event, detail) VALUES(?,?,?)");
  if (!st.ok()) return;
  st->Bind(1, now_ms).Bind(2, event).Bind(3, detail);
  st->Run().IgnoreError();  // auditing never blocks the operation it records
}

// --- timestamp plugin records ---

StatusOr<uint64_t> RelayStore::PluginAppend(const std::string& plugin, ByteSpan data, int64_t now_ms) {
  VIGIL_ASSIGN_OR_RETURN(auto txn, storage::Txn::Begin(db_));
  VIGIL_ASSIGN_OR_RETURN(uint64_t n, PluginCount(plugin));
  VIGIL_ASSIGN_OR_RETURN(auto st, db_.Prepare("INSERT INTO plugin_records(plugin, idx, data, created_at) VALUES(?, ?, ?, ?)"));
  st.Bind(1, plugin).Bind(2, static_cast<int64_t>(n)).BindBlob(3, data).Bind(4, now_ms);
  VIGIL_RETURN_IF_ERROR(st.Run());
  VIGIL_RETURN_IF_ERROR(txn.Commit());
  return n;
}

StatusOr<uint64_t> RelayStore::PluginCount(const std::string& plugin) {
  VIGIL_ASSIGN_OR_RETURN(auto st, db_.Prepare("SELECT COUNT(*) FROM plugin_records WHERE plugin = ?"));
  st.Bind(1, plugin);
  VIGIL_ASSIGN_OR_RETURN(bool row, st.Step());
  return row ? static_cast<uint64_t>(st.ColumnInt64(0)) : 0;
}

StatusOr<Bytes> RelayStore::PluginGet(const std::string& plugin, uint64_t index) {
  VIGIL_ASSIGN_OR_RETURN(auto st, db_.Prepare("SELECT data FROM plugin_records WHERE plugin = ? AND idx = ?"));
  st.Bind(1, plugin).Bind(2, static_cast<int64_t>(index));
  VIGIL_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return Status::NotFound("no such plugin record");
  return st.ColumnBlob(0);
}

Status RelayStore::SetRuntimeText(const std::string& key, const std::string& value) {
  VIGIL_ASSIGN_OR_RETURN(auto st, db_.Prepare("INSERT OR REPLACE INTO runtime_text(key, value) VALUES(?, ?)"));
  st.Bind(1, key).Bind(2, value);
  return st.Run();
}

StatusOr<std::optional<std::string>> RelayStore::GetRuntimeText(const std::string& key) {
  VIGIL_ASSIGN_OR_RETURN(auto st, db_.Prepare("SELECT value FROM runtime_text WHERE key = ?"));
  st.Bind(1, key);
  VIGIL_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return std::optional<std::string>();
  return std::optional<std::string>(st.ColumnText(0));
}

// --- session prekeys ---

Status RelayStore::PutPrekey(ByteSpan device_id, const std::string& kind, uint32_t key_id, ByteSpan data,
                             int64_t now_ms) {
  VIGIL_ASSIGN_OR_RETURN(auto st, db_.Prepare(
      "INSERT OR REPLACE INTO prekeys(device_id, kind, key_id, data, created_at) VALUES(?, ?, ?, ?, ?)"));
  st.BindBlob(1, device_id).Bind(2, kind).Bind(3, static_cast<int64_t>(key_id)).BindBlob(4, data).Bind(5, now_ms);
  return st.Run();
}

StatusOr<int64_t> RelayStore::CountPrekeys(ByteSpan device_id, const std::string& kind) {
  VIGIL_ASSIGN_OR_RETURN(auto st, db_.Prepare("SELECT count(*) FROM prekeys WHERE device_id = ? AND kind = ?"));
  st.BindBlob(1, device_id).Bind(2, kind);
  VIGIL_ASSIGN_OR_RETURN(bool row, st.Step());
  return row ? st.ColumnInt64(0) : 0;
}

StatusOr<std::optional<Bytes>> RelayStore::TakePrekey(ByteSpan device_id, const std::string& kind, bool remove) {
  VIGIL_ASSIGN_OR_RETURN(auto st, db_.Prepare(
      std::string("SELECT key_id, data FROM prekeys WHERE device_id = ? AND kind = ? ORDER BY ") +
      (remove ? "key_id ASC" : "created_at DESC, key_id DESC") + " LIMIT 1"));
  st.BindBlob(1, device_id).Bind(2, kind);
  VIGIL_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return std::optional<Bytes>();
  int64_t key_id = st.ColumnInt64(0);
  Bytes data = st.ColumnBlob(1);
  if (remove) {
    VIGIL_ASSIGN_OR_RETURN(auto del, db_.Prepare("DELETE FROM prekeys WHERE device_id = ? AND kind = ? AND key_id = ?"));
    del.BindBlob(1, device_id).Bind(2, kind).Bind(3, key_id);
    VIGIL_RETURN_IF_ERROR(del.Run());
  }
  return std::optional<Bytes>(std::move(data));
}

Status RelayStore::DropOldSignedPrekeys(ByteSpan device_id, size_t keep) {
  VIGIL_ASSIGN_OR_RETURN(auto st, db_.Prepare(
      "DELETE FROM prekeys WHERE device_id = ? AND kind = 'signed' AND key_id NOT IN "
      "(SELECT key_id FROM prekeys WHERE device_id = ? AND kind = 'signed' ORDER BY created_at DESC, key_id DESC LIMIT ?)"));
  st.BindBlob(1, device_id).BindBlob(2, device_id).Bind(3, static_cast<int64_t>(keep));
  return st.Run();
}

// --- device linking ---

StatusOr<Bytes> RelayStore::CreateLink(const std::string& member, ByteSpan transport_key, ByteSpan verifier,
                                       int64_t now_ms, int64_t expires_at_ms) {
  Bytes id = crypto::RandomBytes(16);
  VIGIL_ASSIGN_OR_RETURN(auto st, db_.Prepare(
      "INSERT INTO invites(id, role, name, transport_key, verifier, created_at, expires_at) VALUES(?,?,?,?,?,?,?)"));
  st.BindBlob(1, id).Bind(2, kLinkRole).Bind(3, member).BindBlob(4, transport_key).BindBlob(5, verifier)
      .Bind(6, now_ms).Bind(7, expires_at_ms);
  VIGIL_RETURN_IF_ERROR(st.Run());
  Audit(now_ms, "link_created", "name=" + member);
  return id;
}

Status RelayStore::AddLinkedDevice(const InviteRow& link, ByteSpan device_id, ByteSpan transport_key,
                                   int64_t now_ms) {
  {
    VIGIL_ASSIGN_OR_RETURN(auto st, db_.Prepare("SELECT 1 FROM devices WHERE transport_key = ? OR id = ?"));
    st.BindBlob(1, transport_key).BindBlob(2, device_id);
    VIGIL_ASSIGN_OR_RETURN(bool exists, st.Step());
    if (exists) return Status::AlreadyExists("this device is already enrolled");
  }
  {
    VIGIL_ASSIGN_OR_RETURN(auto st, db_.Prepare(
        "INSERT INTO devices(id, member, transport_key, certificate, certificate_signature, created_at) "
        "VALUES(?,?,?,?,?,?)"));
    st.BindBlob(1, device_id).Bind(2, link.name).BindBlob(3, transport_key).BindBlob(4, Bytes())
        .BindBlob(5, Bytes()).Bind(6, now_ms);
    VIGIL_RETURN_IF_ERROR(st.Run());
  }
  VIGIL_ASSIGN_OR_RETURN(auto up, db_.Prepare("UPDATE invites SET used_at = ? WHERE id = ? AND used_at IS NULL"));
  up.Bind(1, now_ms).BindBlob(2, link.id);
  VIGIL_RETURN_IF_ERROR(up.Run());
  if (db_.Changes() != 1) return Status::FailedPrecondition("this link code has already been used");
  Audit(now_ms, "device_linked", "name=" + link.name + " device=" + HexEncode(device_id).substr(0, 8));
  return Status::Ok();
}

Status RelayStore::SetCertificate(ByteSpan device_id, ByteSpan certificate, ByteSpan signature, int64_t now_ms) {
  VIGIL_ASSIGN_OR_RETURN(auto st, db_.Prepare(
      "UPDATE devices SET certificate = ?, certificate_signature = ? WHERE id = ? AND length(certificate) = 0 "
      "AND revoked_at IS NULL"));
  st.BindBlob(1, certificate).BindBlob(2, signature).BindBlob(3, device_id);
  VIGIL_RETURN_IF_ERROR(st.Run());
  if (db_.Changes() != 1) return Status::FailedPrecondition("that device is not waiting to be certified");
  Audit(now_ms, "device_certified", "device=" + HexEncode(device_id).substr(0, 8));
  return Status::Ok();
}

}  // namespace vigil::relay
