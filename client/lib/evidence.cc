// Evidence on the client: commitments of note versions, timestamps from
// the relay's notary and log and from RFC 3161 authorities, the log
// consistency alarm, and sharing anchors with the visit's team.
//
// Only SHA-256 of a salted commitment text ever leaves the device for
// stamping (docs/EVIDENCE.md). Stamping never blocks writing a note: a new
// version gets "pending" anchors in the same transaction, and anchors that
// cannot be reached are retried on the next note, stamp or sync.
#include <fstream>
#include <set>
#include <sstream>

#include "client/lib/client.h"
#include "client/lib/store_util.h"
#include "vigil/identity.h"
#include "vigil/log.h"
#include "vigil/plugin.h"
#include "vigil/wire.h"

namespace vigil::client {
namespace {

namespace v1 = wire::v1;
namespace sv1 = store::v1;

constexpr char kRfc3161[] = "rfc3161";
const char* const kRelayAnchors[] = {"notary", "tlog"};

std::string PluginDir() {
  if (const char* d = std::getenv("VIGIL_PLUGIN_DIR"); d && *d) return d;
  return plugin::DefaultPluginDir();
}

std::string TsaSource(const std::string& url) { return std::string(kRfc3161) + " " + url; }

// The rfc3161 plugin, opened for one authority.
StatusOr<std::unique_ptr<plugin::Host>> TsaHost(const std::string& url, ByteSpan ca_pem) {
  plugin::HostOptions o;
  o.dir = PluginDir();
  o.only = {kRfc3161};
  o.configs[kRfc3161] = "url=" + url + "\nca_pem=" + Base64Encode(ca_pem) + "\n";
  VIGIL_ASSIGN_OR_RETURN(auto host, plugin::Host::Load(o));
  if (!host->Has(kRfc3161)) {
    std::string why = "the rfc3161 plugin is not installed in " + o.dir;
    for (const auto& i : host->Plugins()) {
      if (i.name == kRfc3161 && !i.problem.empty()) why = i.problem;
    }
    return Status::FailedPrecondition(why);
  }
  return host;
}

}  // namespace

StatusOr<std::optional<evidence::Commitment>> Client::CommitmentFor(ByteSpan version_hash) {
  evidence::Commitment c;
  Bytes hash(version_hash.begin(), version_hash.end());
  // Walk back to the first version, then build forward: each commitment
  // names the digest of the one before.
  std::vector<std::pair<Bytes, sv1::NoteVersion>> chain;
  for (int depth = 0; depth < 10000 && !hash.empty(); ++depth) {
    VIGIL_ASSIGN_OR_RETURN(auto st_cached, db_.PrepareCached("SELECT body FROM note_versions WHERE hash = ?"));
    auto& st = *st_cached;
    st.BindBlob(1, hash);
    VIGIL_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) return Status::NotFound("note version " + HexEncode(hash).substr(0, 12) + " is not on this device");
    Bytes body = st.ColumnBlob(0);
    sv1::NoteVersion v;
    if (!v.ParseFromArray(body.data(), static_cast<int>(body.size()))) {
      return Status::DataLoss("a stored note version does not parse");
    }
    if (v.commitment_salt().size() != evidence::kSaltSize) return std::optional<evidence::Commitment>();
    Bytes signed_bytes = identity::SignedBytes(kNoteVersionLabel, body);
    c.note_id = ToBytes(v.note_id());
    chain.emplace_back(crypto::Sha256(signed_bytes), v);
    hash = ToBytes(v.prev_version_hash());
  }
  Bytes previous;
  for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
    c.version = it->second.number();
    c.signed_sha256 = it->first;
    c.salt = ToBytes(it->second.commitment_salt());
    c.previous = previous;
    previous = evidence::CommitmentDigest(c);
  }
  return std::optional<evidence::Commitment>(c);
}

Status Client::QueueAnchors(ByteSpan version_hash, int64_t now_ms) {
  std::vector<std::pair<std::string, std::string>> sources;  // source, plugin
  for (const char* a : kRelayAnchors) sources.emplace_back(a, a);
  VIGIL_ASSIGN_OR_RETURN(auto ts_cached, db_.PrepareCached("SELECT url FROM tsas ORDER BY added_at"));
  auto& ts = *ts_cached;
  for (;;) {
    VIGIL_ASSIGN_OR_RETURN(bool row, ts.Step());
    if (!row) break;
    sources.emplace_back(TsaSource(ts.ColumnText(0)), kRfc3161);
  }
  for (const auto& [source, plugin] : sources) {
    VIGIL_ASSIGN_OR_RETURN(auto ins_cached, db_.PrepareCached(
        "INSERT OR IGNORE INTO anchors(version_hash, source, plugin, status, updated_at) "
        "VALUES(?, ?, ?, 'pending', ?)"));
    auto& ins = *ins_cached;
    ins.BindBlob(1, version_hash).Bind(2, source).Bind(3, plugin).Bind(4, now_ms);
    VIGIL_RETURN_IF_ERROR(ins.Run());
  }
  return Status::Ok();
}

StatusOr<int64_t> Client::VerifyAnchor(const std::string& plugin, const std::string& source, ByteSpan digest,
                                       ByteSpan token, ByteSpan trust_anchor) {
  if (plugin == "notary" || plugin == "tlog") {
    VIGIL_ASSIGN_OR_RETURN(auto relay_key, RequireConfig(db_, "relay_signing_public"));
    if (plugin == "notary") {
      VIGIL_ASSIGN_OR_RETURN(auto t, evidence::VerifyNotaryToken(token, digest, relay_key.span()));
      return t.time_ms;
    }
    VIGIL_ASSIGN_OR_RETURN(auto t, evidence::VerifyInclusionToken(token, digest, relay_key.span()));
    return t.checkpoint.time_ms;
  }
  if (plugin == kRfc3161) {
    std::string url = source.substr(std::min(source.size(), sizeof(kRfc3161)));
    // Loaded once per authority and trust anchor (showing a note list
    // re-verifies every token).
    std::string cache_key = url + '\n' + ToString(trust_anchor);
    auto it = tsa_hosts_.find(cache_key);
    if (it == tsa_hosts_.end()) {
      VIGIL_ASSIGN_OR_RETURN(auto host, TsaHost(url, trust_anchor));
      it = tsa_hosts_.emplace(cache_key, std::move(host)).first;
    }
    return it->second->Verify(kRfc3161, digest, token);
  }
  return Status::Unimplemented("unknown timestamp plugin '" + plugin + "'");
}

Status Client::CheckpointSeen(const evidence::Checkpoint& cp, net::ClientConnection* conn) {
  VIGIL_ASSIGN_OR_RETURN(auto relay_key, RequireConfig(db_, "relay_signing_public"));
  VIGIL_ASSIGN_OR_RETURN(auto kept_text, GetConfig(db_, "log_checkpoint"));
  if (kept_text) {
    VIGIL_ASSIGN_OR_RETURN(auto kept, evidence::ParseCheckpoint(ToString(kept_text->span()), relay_key.span()));
    const evidence::Checkpoint& older = kept.size <= cp.size ? kept : cp;
    const evidence::Checkpoint& newer = kept.size <= cp.size ? cp : kept;
    Status consistent;
    if (older.size == newer.size) {
      consistent = evidence::VerifyConsistency(older.size, newer.size, older.root, newer.root, {});
    } else {
      v1::Request req;
      req.mutable_plugin_call()->set_plugin("tlog");
      req.mutable_plugin_call()->set_request("consistency " + std::to_string(older.size) + " " +
                                             std::to_string(newer.size) + "\n");
      VIGIL_ASSIGN_OR_RETURN(v1::Response resp, CallRelay(conn, req, timeout_ms_));
      auto proof = evidence::ParseConsistency(resp.plugin_call().response(), older.size, newer.size);
      consistent = proof.ok() ? evidence::VerifyConsistency(older.size, newer.size, older.root, newer.root, *proof)
                              : proof.status();
    }
    if (!consistent.ok()) {
      std::string alarm = "the relay's log is not consistent with the checkpoint this device kept (size " +
                          std::to_string(kept.size) + ", root " + HexEncode(kept.root).substr(0, 16) +
                          "): its history forked or shrank. Keep this device's store as evidence and tell "
                          "your coordinator.";
      log::Error("log_alarm", {{"kept_size", std::to_string(kept.size)}, {"seen_size", std::to_string(cp.size)}});
      VIGIL_RETURN_IF_ERROR(PutConfig(db_, "log_alarm", AsBytes(alarm)));
      return Status::DataLoss(alarm);
    }
    if (kept.size >= cp.size) return Status::Ok();
  }
  return PutConfig(db_, "log_checkpoint", AsBytes(evidence::CheckpointText(cp)));
}

Status Client::CheckLog(std::vector<std::string>* problems) {
  VIGIL_ASSIGN_OR_RETURN(net::ClientConnection * conn, Connection());
  v1::Request req;
  req.mutable_plugin_call()->set_plugin("tlog");
  req.mutable_plugin_call()->set_request("checkpoint\n");
  auto resp = CallRelay(conn, req, timeout_ms_);
  if (!resp.ok()) {
    if (resp.status().code() == Code::kUnavailable && !offline_.ok()) return resp.status();
    // A relay that never had a log is not news; one that stops showing the
    // log this device has seen is.
    VIGIL_ASSIGN_OR_RETURN(auto kept, GetConfig(db_, "log_checkpoint"));
    if (kept) problems->push_back("log checkpoint: " + resp.status().message());
    return Status::Ok();
  }
  VIGIL_ASSIGN_OR_RETURN(auto relay_key, RequireConfig(db_, "relay_signing_public"));
  auto cp = evidence::ParseCheckpoint(resp->plugin_call().response(), relay_key.span());
  if (!cp.ok()) {
    problems->push_back("the relay's log checkpoint does not verify: " + cp.status().message());
    return Status::Ok();
  }
  Status seen = CheckpointSeen(*cp, conn);
  if (!seen.ok()) problems->push_back(seen.message());
  return Status::Ok();
}

Status Client::StampPending(const std::optional<Bytes>& note_id, const std::vector<std::string>& plugins,
                            StampSummary* out) {
  struct Row {
    Bytes version_hash;
    std::string source, plugin;
    Bytes note_id, visit_id;
  };
  std::vector<Row> rows;
  {
    std::string sql =
        "SELECT a.version_hash, a.source, a.plugin, n.note_id, n.visit_id FROM anchors a "
        "JOIN note_versions n ON n.hash = a.version_hash WHERE a.status != 'ok' AND n.status != 'rejected'";
    if (note_id) sql += " AND n.note_id = ?";
    sql += " ORDER BY n.created_at LIMIT 200";
    VIGIL_ASSIGN_OR_RETURN(auto st_cached, db_.PrepareCached(sql));
    auto& st = *st_cached;
    if (note_id) st.BindBlob(1, *note_id);
    for (;;) {
      VIGIL_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      Row r{st.ColumnBlob(0), st.ColumnText(1), st.ColumnText(2), st.ColumnBlob(3), st.ColumnBlob(4)};
      if (!plugins.empty() && std::find(plugins.begin(), plugins.end(), r.plugin) == plugins.end()) continue;
      rows.push_back(std::move(r));
    }
  }
  if (rows.empty()) return Status::Ok();
  VIGIL_ASSIGN_OR_RETURN(std::string me, MyName());

  // Stores a verified token (or why it failed) and shares it with the team.
  auto record = [&](const Row& r, const StatusOr<Bytes>& token, ByteSpan digest, ByteSpan trust) -> Status {
    int64_t now = NowMs();
    std::optional<int64_t> time;
    std::string problem;
    bool hard = false;
    if (token.ok()) {
      auto t = VerifyAnchor(r.plugin, r.source, digest, *token, trust);
      if (t.ok()) {
        time = *t;
      } else {
        problem = "the anchor's token did not verify: " + t.status().message();
        hard = true;
      }
    } else {
      problem = token.status().message();
    }
    VIGIL_ASSIGN_OR_RETURN(auto txn, storage::Txn::Begin(db_));
    VIGIL_ASSIGN_OR_RETURN(auto up_cached, db_.PrepareCached(
        "UPDATE anchors SET status = ?, token = ?, anchored_at = ?, problem = ?, trust_anchor = ?, "
        "attempts = attempts + 1, updated_at = ? WHERE version_hash = ? AND source = ?"));
    auto& up = *up_cached;
    up.Bind(1, time ? "ok" : "pending");
    if (time) {
      up.BindBlob(2, *token).Bind(3, *time).BindNull(4);
    } else {
      up.BindNull(2).BindNull(3).Bind(4, problem);
    }
    up.BindBlob(5, trust).Bind(6, now).BindBlob(7, r.version_hash).Bind(8, r.source);
    VIGIL_RETURN_IF_ERROR(up.Run());
    if (time) {
      sv1::Payload p;
      p.set_version(1);
      p.set_message_id(ToString(crypto::RandomBytes(16)));
      p.set_from_name(me);
      p.set_sent_at_ms(now);
      auto* a = p.mutable_anchor_receipt();
      a->set_version(1);
      a->set_note_id(ToString(r.note_id));
      a->set_version_hash(ToString(r.version_hash));
      a->set_source(r.source);
      a->set_plugin(r.plugin);
      a->set_token(ToString(*token));
      a->set_trust_anchor(ToString(trust));
      auto recipients = VisitRecipients(HexEncode(r.visit_id));
      if (recipients.ok()) VIGIL_RETURN_IF_ERROR(Enqueue(*recipients, p, now));
      ++out->stamped;
    } else {
      ++out->pending;
      out->problems.push_back(r.source + ": " + problem);
      if (hard) log::Warn("anchor_rejected", {{"source", r.source}});
    }
    return txn.Commit();
  };

  std::map<Bytes, std::optional<Bytes>> digests;  // version hash -> digest
  auto digest_of = [&](const Bytes& vh) -> StatusOr<std::optional<Bytes>> {
    auto it = digests.find(vh);
    if (it != digests.end()) return it->second;
    VIGIL_ASSIGN_OR_RETURN(auto c, CommitmentFor(vh));
    std::optional<Bytes> d;
    if (c) d = evidence::CommitmentDigest(*c);
    digests[vh] = d;
    return d;
  };

  // Relay anchors: one Stamp request per version for all of its pending ones.
  std::map<Bytes, std::vector<const Row*>> relay_rows;
  std::map<std::string, std::vector<const Row*>> tsa_rows;
  for (const auto& r : rows) {
    if (r.plugin == kRfc3161) {
      tsa_rows[r.source].push_back(&r);
    } else {
      relay_rows[r.version_hash].push_back(&r);
    }
  }
  bool relay_down = false;
  for (const auto& [vh, list] : relay_rows) {
    VIGIL_ASSIGN_OR_RETURN(auto digest, digest_of(vh));
    if (!digest) {
      out->problems.push_back("version " + HexEncode(vh).substr(0, 12) + " was written before commitments existed");
      continue;
    }
    if (relay_down) {
      out->pending += static_cast<int>(list.size());
      continue;
    }
    v1::Request req;
    req.mutable_stamp()->set_digest(ToString(*digest));
    for (const Row* r : list) req.mutable_stamp()->add_plugins(r->plugin);
    auto conn = Connection();
    StatusOr<v1::Response> resp = conn.ok() ? CallRelay(*conn, req, timeout_ms_) : StatusOr<v1::Response>(conn.status());
    if (!resp.ok()) {
      relay_down = resp.status().code() == Code::kUnavailable || resp.status().code() == Code::kDeadlineExceeded;
      for (const Row* r : list) VIGIL_RETURN_IF_ERROR(record(*r, resp.status(), *digest, {}));
      continue;
    }
    for (const Row* r : list) {
      StatusOr<Bytes> token = Status::Unavailable("the relay did not answer for " + r->plugin);
      for (const auto& res : resp->stamp().results()) {
        if (res.plugin() != r->plugin) continue;
        if (res.has_error() && res.error().code() != v1::OK) {
          token = Status(static_cast<Code>(res.error().code()), res.error().message());
        } else {
          token = ToBytes(res.token());
        }
      }
      if (token.ok() && r->plugin == "tlog") {
        // Every checkpoint the relay shows must extend the one we kept.
        VIGIL_ASSIGN_OR_RETURN(auto relay_key, RequireConfig(db_, "relay_signing_public"));
        auto t = evidence::VerifyInclusionToken(*token, *digest, relay_key.span());
        if (t.ok()) {
          Status seen = CheckpointSeen(t->checkpoint, *conn);
          if (!seen.ok()) out->problems.push_back(seen.message());
        }
      }
      VIGIL_RETURN_IF_ERROR(record(*r, token, *digest, {}));
    }
  }

  // RFC 3161 authorities: one plugin instance (child process per call) each.
  for (const auto& [source, list] : tsa_rows) {
    std::string url = source.substr(sizeof(kRfc3161));
    VIGIL_ASSIGN_OR_RETURN(auto ca_cached, db_.PrepareCached("SELECT ca_pem FROM tsas WHERE url = ?"));
    auto& ca = *ca_cached;
    ca.Bind(1, url);
    VIGIL_ASSIGN_OR_RETURN(bool have, ca.Step());
    if (!have) continue;  // the authority was removed
    Bytes ca_pem = ca.ColumnBlob(0);
    auto host = TsaHost(url, ca_pem);
    for (const Row* r : list) {
      VIGIL_ASSIGN_OR_RETURN(auto digest, digest_of(r->version_hash));
      if (!digest) continue;
      StatusOr<Bytes> token = host.ok() ? (*host)->Stamp(kRfc3161, *digest) : StatusOr<Bytes>(host.status());
      VIGIL_RETURN_IF_ERROR(record(*r, token, *digest, ca_pem));
    }
  }
  return Status::Ok();
}

void Client::TryStamp(std::vector<std::string>* problems) {
  StampSummary s;
  Status st = StampPending(std::nullopt, {}, &s);
  if (!st.ok()) problems->push_back("timestamps: " + st.message());
  if (s.stamped > 0) {
    bool delivered = false;
    TryFlush(&delivered);  // share the new anchors with the team
  }
}

StatusOr<StampSummary> Client::StampNote(const std::string& note_id, const std::vector<std::string>& plugins) {
  VIGIL_ASSIGN_OR_RETURN(auto name, GetConfig(db_, "name"));
  if (!name) return NotJoined();
  for (const auto& p : plugins) {
    if (p != "notary" && p != "tlog" && p != kRfc3161) {
      return Status::InvalidArgument("unknown timestamp plugin '" + p + "' (notary, tlog or rfc3161)");
    }
  }
  VIGIL_ASSIGN_OR_RETURN(std::string nid_hex, ResolveNoteId(note_id));
  VIGIL_ASSIGN_OR_RETURN(Bytes nid, HexDecode(nid_hex));
  if (std::find(plugins.begin(), plugins.end(), kRfc3161) != plugins.end()) {
    VIGIL_ASSIGN_OR_RETURN(auto n_cached, db_.PrepareCached("SELECT count(*) FROM tsas"));
    auto& n = *n_cached;
    VIGIL_ASSIGN_OR_RETURN(bool row, n.Step());
    if (!row || n.ColumnInt64(0) == 0) {
      return Status::FailedPrecondition("no time-stamping authority is configured; add one with vigil tsa add URL --ca FILE");
    }
  }
  // Every version of the note gets a pending anchor for each source that
  // it lacks (e.g. an authority added after the note was written).
  {
    VIGIL_ASSIGN_OR_RETURN(auto txn, storage::Txn::Begin(db_));
    VIGIL_ASSIGN_OR_RETURN(auto st_cached, db_.PrepareCached(
        "SELECT hash FROM note_versions WHERE note_id = ? AND status != 'rejected'"));
    auto& st = *st_cached;
    st.BindBlob(1, nid);
    std::vector<Bytes> versions;
    for (;;) {
      VIGIL_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      versions.push_back(st.ColumnBlob(0));
    }
    for (const auto& v : versions) VIGIL_RETURN_IF_ERROR(QueueAnchors(v, NowMs()));
    VIGIL_RETURN_IF_ERROR(txn.Commit());
  }
  StampSummary summary;
  VIGIL_RETURN_IF_ERROR(StampPending(nid, plugins, &summary));
  if (summary.stamped > 0) {
    bool delivered = false;
    TryFlush(&delivered);
  }
  return summary;
}

Status Client::AddTsa(const std::string& url, const std::string& ca_pem_file) {
  if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) {
    return Status::InvalidArgument("a time-stamping authority URL starts with http:// or https://");
  }
  if (url.size() > 512 || url.find_first_of(" \n\r\t") != std::string::npos) {
    return Status::InvalidArgument("the URL is too long or has spaces");
  }
  std::ifstream in(ca_pem_file, std::ios::binary);
  if (!in) return Status::NotFound("cannot read " + ca_pem_file);
  std::ostringstream ss;
  ss << in.rdbuf();
  std::string pem = ss.str();
  if (pem.size() > 64 * 1024 || pem.find("-----BEGIN CERTIFICATE-----") == std::string::npos) {
    return Status::InvalidArgument(ca_pem_file + " does not hold a PEM certificate");
  }
  // The plugin checks the configuration (parses the certificates) at open.
  VIGIL_ASSIGN_OR_RETURN(auto host, TsaHost(url, AsBytes(pem)));
  (void)host;
  VIGIL_ASSIGN_OR_RETURN(auto st_cached, db_.PrepareCached("INSERT OR REPLACE INTO tsas(url, ca_pem, added_at) VALUES(?, ?, ?)"));
  auto& st = *st_cached;
  st.Bind(1, url).BindBlob(2, AsBytes(pem)).Bind(3, NowMs());
  return st.Run();
}

StatusOr<std::vector<TsaInfo>> Client::ListTsas() {
  std::vector<TsaInfo> out;
  VIGIL_ASSIGN_OR_RETURN(auto st_cached, db_.PrepareCached("SELECT url, added_at FROM tsas ORDER BY added_at"));
  auto& st = *st_cached;
  for (;;) {
    VIGIL_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    TsaInfo t;
    t.url = st.ColumnText(0);
    t.added_at_ms = st.ColumnInt64(1);
    out.push_back(std::move(t));
  }
  return out;
}

Status Client::ReceiveAnchor(const sv1::AnchorReceipt& r, SyncResult* result) {
  if (r.version() != 1 || r.version_hash().size() != 32 || r.source().empty() || r.source().size() > 600 ||
      r.token().empty() || r.token().size() > 65536 || r.trust_anchor().size() > 65536 ||
      (r.plugin() != "notary" && r.plugin() != "tlog" && r.plugin() != kRfc3161) ||
      (r.plugin() == kRfc3161) != (r.source().rfind(std::string(kRfc3161) + " ", 0) == 0) ||
      (r.plugin() != kRfc3161 && r.source() != r.plugin())) {
    result->problems.push_back("a malformed timestamp receipt was ignored");
    return Status::Ok();
  }
  // Kept as received; checked against this device's own copy of the note
  // whenever it is shown or exported.
  VIGIL_ASSIGN_OR_RETURN(auto have_cached, db_.PrepareCached(
      "SELECT status FROM anchors WHERE version_hash = ? AND source = ?"));
  auto& have = *have_cached;
  have.BindBlob(1, AsBytes(r.version_hash())).Bind(2, r.source());
  VIGIL_ASSIGN_OR_RETURN(bool exists, have.Step());
  if (exists && have.ColumnText(0) == "ok") return Status::AlreadyExists("anchor already known");
  VIGIL_ASSIGN_OR_RETURN(auto st_cached, db_.PrepareCached(
      "INSERT OR REPLACE INTO anchors(version_hash, source, plugin, token, trust_anchor, status, updated_at) "
      "VALUES(?, ?, ?, ?, ?, 'ok', ?)"));
  auto& st = *st_cached;
  st.BindBlob(1, AsBytes(r.version_hash())).Bind(2, r.source()).Bind(3, r.plugin())
      .BindBlob(4, AsBytes(r.token())).BindBlob(5, AsBytes(r.trust_anchor())).Bind(6, NowMs());
  return st.Run();
}

StatusOr<std::vector<AnchorInfo>> Client::AnchorsOf(ByteSpan version_hash, ByteSpan digest) {
  std::vector<AnchorInfo> out;
  struct Row {
    AnchorInfo info;
    Bytes token, trust;
  };
  std::vector<Row> rows;
  VIGIL_ASSIGN_OR_RETURN(auto st_cached, db_.PrepareCached(
      "SELECT source, plugin, status, token, trust_anchor, problem FROM anchors WHERE version_hash = ? "
      "ORDER BY source"));
  auto& st = *st_cached;
  st.BindBlob(1, version_hash);
  for (;;) {
    VIGIL_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    Row r;
    r.info.source = st.ColumnText(0);
    r.info.plugin = st.ColumnText(1);
    r.info.status = st.ColumnText(2);
    r.token = st.ColumnBlob(3);
    r.trust = st.ColumnBlob(4);
    r.info.problem = st.ColumnText(5);
    rows.push_back(std::move(r));
  }
  for (auto& r : rows) {
    if (r.info.status == "ok") {
      // Re-verified every time it is shown.
      auto t = digest.empty() ? StatusOr<int64_t>(Status::FailedPrecondition("no commitment"))
                              : VerifyAnchor(r.info.plugin, r.info.source, digest, r.token, r.trust);
      if (t.ok()) {
        r.info.time_ms = *t;
      } else {
        r.info.status = "rejected";
        r.info.problem = t.status().message();
      }
    }
    out.push_back(std::move(r.info));
  }
  return out;
}

}  // namespace vigil::client
