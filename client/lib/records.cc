// Visits and notes: signed, hash-chained records exchanged with a visit's
// team. Every record is a SignedObject whose body bytes are stored verbatim;
// receivers verify the signature against the author's certified device key,
// check the author's role and the chain links, and store what they find
// (ok, rejected with a reason, or pending until what it refers to arrives).
#include <algorithm>
#include <map>
#include <set>

#include "client/lib/client.h"
#include "client/lib/store_util.h"
#include "vigil/identity.h"
#include "vigil/wire.h"

namespace vigil::client {
namespace {

namespace sv1 = store::v1;
namespace v1 = wire::v1;

constexpr char kVisitEventLabel[] = "vigil/visit-event/v1";
constexpr size_t kMaxEventSize = 64 * 1024;
constexpr size_t kMaxNoteSize = 1024 * 1024;
constexpr size_t kMaxNoteText = 512 * 1024;

const char* KindName(sv1::VisitEventKind k) {
  switch (k) {
    case sv1::ASSIGN: return "assign";
    case sv1::ACCEPT: return "accept";
    case sv1::DECLINE: return "decline";
    case sv1::COMPLETE: return "complete";
    case sv1::CANCEL: return "cancel";
    default: return "unknown";
  }
}

struct Verdict {
  std::string status = "ok";  // ok | rejected | pending
  std::string problem;
  static Verdict Ok(std::string note = "") { return {"ok", std::move(note)}; }
  static Verdict Reject(std::string why) { return {"rejected", std::move(why)}; }
  static Verdict Pending(std::string why) { return {"pending", std::move(why)}; }
};

// The accepted assignment of a visit, if this device has it.
StatusOr<std::optional<sv1::VisitEvent>> LoadAssign(storage::Db& db, ByteSpan visit_id) {
  VIGIL_ASSIGN_OR_RETURN(auto st_cached, db.PrepareCached(
      "SELECT body FROM visit_events WHERE visit_id = ? AND kind = ? AND status = 'ok' "
      "ORDER BY created_at, event_id LIMIT 1"));
  auto& st = *st_cached;
  st.BindBlob(1, visit_id).Bind(2, static_cast<int64_t>(sv1::ASSIGN));
  VIGIL_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return std::optional<sv1::VisitEvent>();
  sv1::VisitEvent e;
  Bytes body = st.ColumnBlob(0);
  if (!e.ParseFromArray(body.data(), static_cast<int>(body.size()))) {
    return Status::DataLoss("a stored visit assignment is damaged");
  }
  return std::optional<sv1::VisitEvent>(std::move(e));
}

bool Contains(const google::protobuf::RepeatedPtrField<std::string>& list, const std::string& v) {
  return std::find(list.begin(), list.end(), v) != list.end();
}

bool OnTeam(const sv1::VisitDetails& d, const std::string& name) {
  return d.coordinator() == name || Contains(d.volunteers(), name) || Contains(d.legal(), name);
}

StatusOr<std::string> RoleOf(storage::Db& db, const std::string& name) {
  VIGIL_ASSIGN_OR_RETURN(auto st_cached, db.PrepareCached("SELECT role FROM contacts WHERE name = ?"));
  auto& st = *st_cached;
  st.Bind(1, name);
  VIGIL_ASSIGN_OR_RETURN(bool row, st.Step());
  return row ? st.ColumnText(0) : std::string();
}

StatusOr<Verdict> JudgeVisitEvent(storage::Db& db, const sv1::VisitEvent& e) {
  std::string author = e.author();
  VIGIL_ASSIGN_OR_RETURN(std::string role, RoleOf(db, author));
  if (e.kind() == sv1::ASSIGN) {
    if (role != "coordinator") {
      return Verdict::Reject("only a coordinator may assign a visit; " + author + " is " +
                             (role.empty() ? "unknown" : role));
    }
    if (e.details().coordinator() != author) {
      return Verdict::Reject("the assignment names another coordinator than its signer");
    }
    if (e.details().volunteers_size() == 0) return Verdict::Reject("the assignment has no volunteer");
    VIGIL_ASSIGN_OR_RETURN(auto existing, LoadAssign(db, AsBytes(e.visit_id())));
    if (existing && existing->event_id() != e.event_id()) {
      return Verdict::Reject("a different assignment of this visit already exists");
    }
    return Verdict::Ok();
  }
  VIGIL_ASSIGN_OR_RETURN(auto assign, LoadAssign(db, AsBytes(e.visit_id())));
  if (!assign) return Verdict::Pending("unknown visit (its assignment has not arrived)");
  const auto& d = assign->details();
  switch (e.kind()) {
    case sv1::CANCEL:
      if (author != d.coordinator()) {
        return Verdict::Reject("only the visit's coordinator may cancel it; " + author + " is not");
      }
      return Verdict::Ok();
    case sv1::ACCEPT:
    case sv1::DECLINE:
    case sv1::COMPLETE:
      if (!Contains(d.volunteers(), author)) {
        return Verdict::Reject(std::string("only the visit's volunteers may ") + KindName(e.kind()) +
                               " it; " + author + " is not one");
      }
      return Verdict::Ok();
    default:
      return Verdict::Reject("unknown visit event kind");
  }
}

struct ParsedNote {
  sv1::NoteVersion v;
  Bytes hash;
};

StatusOr<Verdict> JudgeNote(storage::Db& db, const ParsedNote& n) {
  const auto& v = n.v;
  VIGIL_ASSIGN_OR_RETURN(auto assign, LoadAssign(db, AsBytes(v.visit_id())));
  if (!assign) return Verdict::Pending("note for an unknown visit (its assignment has not arrived)");
  if (!OnTeam(assign->details(), v.author())) {
    return Verdict::Reject("the author " + v.author() + " is not on this visit's team");
  }
  std::vector<std::string> notes;
  // Version chain.
  if (v.number() == 1) {
    if (!v.prev_version_hash().empty()) return Verdict::Reject("broken hash chain: version 1 has a predecessor");
  } else {
    if (v.prev_version_hash().size() != 32) return Verdict::Reject("broken hash chain: no previous version hash");
    VIGIL_ASSIGN_OR_RETURN(auto st_cached, db.PrepareCached("SELECT note_id, number FROM note_versions WHERE hash = ?"));
    auto& st = *st_cached;
    st.BindBlob(1, AsBytes(v.prev_version_hash()));
    VIGIL_ASSIGN_OR_RETURN(bool row, st.Step());
    if (row) {
      if (st.ColumnBlob(0) != ToBytes(v.note_id()) ||
          st.ColumnInt64(1) != static_cast<int64_t>(v.number()) - 1) {
        return Verdict::Reject("broken hash chain: the previous version belongs elsewhere");
      }
    } else {
      notes.push_back("gap: the previous version of this note has not arrived");
    }
  }
  // Only the note's author amends (#15): every version must be by the
  // member who wrote the earliest version this device holds, on any of
  // their devices. CheckSignature has tied v.author() to the signing
  // device's member, and this device pins one identity key per name
  // (AcceptMember refuses a changed key), so the same name means the same
  // identity key.
  {
    VIGIL_ASSIGN_OR_RETURN(auto st_cached, db.PrepareCached(
        "SELECT author FROM note_versions WHERE note_id = ? AND hash != ? AND status != 'rejected' "
        "AND number <= ? ORDER BY number LIMIT 1"));
    auto& st = *st_cached;
    st.BindBlob(1, AsBytes(v.note_id())).BindBlob(2, n.hash).Bind(3, static_cast<int64_t>(v.number()));
    VIGIL_ASSIGN_OR_RETURN(bool row, st.Step());
    if (row && st.ColumnText(0) != v.author()) {
      return Verdict::Reject("only the note's author " + st.ColumnText(0) + " may amend it; this version is by " +
                             v.author());
    }
  }
  // Per-device sequence.
  {
    VIGIL_ASSIGN_OR_RETURN(auto st_cached, db.PrepareCached(
        "SELECT hash FROM note_versions WHERE author_device = ? AND device_seq = ? AND status != 'rejected'"));
    auto& st = *st_cached;
    st.BindBlob(1, AsBytes(v.author_device_id())).Bind(2, static_cast<int64_t>(v.device_seq()));
    VIGIL_ASSIGN_OR_RETURN(bool row, st.Step());
    if (row && st.ColumnBlob(0) != n.hash) {
      return Verdict::Reject("the author's device used sequence number " + std::to_string(v.device_seq()) +
                             " twice (equivocation)");
    }
  }
  if (v.device_seq() == 1) {
    if (!v.prev_device_hash().empty()) return Verdict::Reject("broken device chain");
  } else {
    VIGIL_ASSIGN_OR_RETURN(auto st_cached, db.PrepareCached(
        "SELECT hash FROM note_versions WHERE author_device = ? AND device_seq = ? AND status != 'rejected'"));
    auto& st = *st_cached;
    st.BindBlob(1, AsBytes(v.author_device_id())).Bind(2, static_cast<int64_t>(v.device_seq()) - 1);
    VIGIL_ASSIGN_OR_RETURN(bool row, st.Step());
    if (row) {
      if (st.ColumnBlob(0) != ToBytes(v.prev_device_hash())) {
        return Verdict::Reject("broken device chain: it does not follow the author's previous note");
      }
    }
  }
  std::string joined;
  for (const auto& s : notes) joined += (joined.empty() ? "" : "; ") + s;
  return Verdict::Ok(joined);
}

Status CheckId(const std::string& id, const char* what) {
  if (id.size() != 16) return Status::InvalidArgument(std::string(what) + " must be 16 bytes");
  return Status::Ok();
}

// Finds the one id (hex) among `ids` that starts with `prefix`.
StatusOr<std::string> MatchPrefix(const std::vector<std::string>& ids, std::string prefix,
                                  const char* what) {
  std::transform(prefix.begin(), prefix.end(), prefix.begin(), ::tolower);
  if (prefix.size() < 6) {
    return Status::InvalidArgument(std::string("give at least 6 characters of the ") + what + " id");
  }
  std::vector<std::string> found;
  for (const auto& id : ids) {
    if (id.compare(0, prefix.size(), prefix) == 0) found.push_back(id);
  }
  if (found.empty()) return Status::NotFound(std::string("no ") + what + " " + prefix + " on this device");
  if (found.size() > 1) return Status::InvalidArgument(std::string(what) + " id " + prefix + " is ambiguous");
  return found[0];
}

StatusOr<std::vector<std::string>> AllIds(storage::Db& db, const char* sql) {
  VIGIL_ASSIGN_OR_RETURN(auto st_cached, db.PrepareCached(sql));
  auto& st = *st_cached;
  std::vector<std::string> out;
  for (;;) {
    VIGIL_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    out.push_back(HexEncode(st.ColumnBlob(0)));
  }
  return out;
}

// 2026-12-01T10:00-08:00, with optional seconds, or ...Z.
bool LooksLikeLocalTimeWithOffset(const std::string& s) {
  auto digits = [&](size_t pos, size_t n) {
    if (pos + n > s.size()) return false;
    for (size_t i = pos; i < pos + n; ++i) {
      if (!isdigit(static_cast<unsigned char>(s[i]))) return false;
    }
    return true;
  };
  if (!(digits(0, 4) && s.size() > 16 && s[4] == '-' && digits(5, 2) && s[7] == '-' &&
        digits(8, 2) && s[10] == 'T' && digits(11, 2) && s[13] == ':' && digits(14, 2))) {
    return false;
  }
  size_t pos = 16;
  if (pos < s.size() && s[pos] == ':') {
    if (!digits(pos + 1, 2)) return false;
    pos += 3;
  }
  if (pos == s.size() - 1 && s[pos] == 'Z') return true;
  return pos + 6 == s.size() && (s[pos] == '+' || s[pos] == '-') && digits(pos + 1, 2) &&
         s[pos + 3] == ':' && digits(pos + 4, 2);
}

Status InsertNoteRow(storage::Db& db, const ParsedNote& n, const sv1::SignedObject& obj,
                     const Verdict& verdict, int64_t now) {
  const auto& v = n.v;
  VIGIL_ASSIGN_OR_RETURN(auto st_cached, db.PrepareCached(
      "INSERT OR IGNORE INTO note_versions(hash, note_id, visit_id, number, prev_hash, author, "
      "author_device, device_seq, prev_device_hash, created_at, received_at, body, signature, "
      "status, problem) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"));
  auto& st = *st_cached;
  st.BindBlob(1, n.hash).BindBlob(2, AsBytes(v.note_id())).BindBlob(3, AsBytes(v.visit_id()))
      .Bind(4, static_cast<int64_t>(v.number())).BindBlob(5, AsBytes(v.prev_version_hash()))
      .Bind(6, v.author()).BindBlob(7, AsBytes(v.author_device_id()))
      .Bind(8, static_cast<int64_t>(v.device_seq())).BindBlob(9, AsBytes(v.prev_device_hash()))
      .Bind(10, v.created_at_ms()).Bind(11, now).BindBlob(12, AsBytes(obj.body()))
      .BindBlob(13, AsBytes(obj.signature())).Bind(14, verdict.status).Bind(15, verdict.problem);
  VIGIL_RETURN_IF_ERROR(st.Run());
  if (db.Changes() == 0) return Status::AlreadyExists("already have this note version");
  return Status::Ok();
}

Status InsertEventRow(storage::Db& db, const sv1::VisitEvent& e, const sv1::SignedObject& obj,
                      const Verdict& verdict, int64_t now) {
  VIGIL_ASSIGN_OR_RETURN(auto st_cached, db.PrepareCached(
      "INSERT OR IGNORE INTO visit_events(event_id, visit_id, kind, author, created_at, received_at, "
      "body, signature, signer_device, status, problem) VALUES(?,?,?,?,?,?,?,?,?,?,?)"));
  auto& st = *st_cached;
  st.BindBlob(1, AsBytes(e.event_id())).BindBlob(2, AsBytes(e.visit_id()))
      .Bind(3, static_cast<int64_t>(e.kind())).Bind(4, e.author()).Bind(5, e.created_at_ms())
      .Bind(6, now).BindBlob(7, AsBytes(obj.body())).BindBlob(8, AsBytes(obj.signature()))
      .BindBlob(9, AsBytes(obj.signer_device_id())).Bind(10, verdict.status).Bind(11, verdict.problem);
  VIGIL_RETURN_IF_ERROR(st.Run());
  if (db.Changes() == 0) return Status::AlreadyExists("already have this visit event");
  return Status::Ok();
}

// Verifies `obj` was signed under `label` by a device certified for
// `expected_author`; returns the problem, or "" when it checks out.
StatusOr<std::string> CheckSignature(storage::Db& db, const sv1::SignedObject& obj, const char* label,
                                     const std::string& expected_author) {
  VIGIL_ASSIGN_OR_RETURN(auto st_cached, db.PrepareCached("SELECT name, signing_key FROM contact_devices WHERE device_id = ?"));
  auto& st = *st_cached;
  st.BindBlob(1, AsBytes(obj.signer_device_id()));
  VIGIL_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return std::string("signed by a device no member has certified");
  std::string name = st.ColumnText(0);
  Bytes key = st.ColumnBlob(1);
  if (!crypto::Verify(key, identity::SignedBytes(label, AsBytes(obj.body())), AsBytes(obj.signature())).ok()) {
    return std::string("the signature is invalid");
  }
  if (name != expected_author) {
    return "signed by " + name + "'s device but claims " + expected_author + " as author";
  }
  return std::string();
}

Status InsertAttachmentRow(storage::Db& db, ByteSpan note_hash, int idx, const sv1::Attachment& a,
                           const Bytes* data, const std::string& status, const std::string& problem) {
  VIGIL_ASSIGN_OR_RETURN(auto st_cached, db.PrepareCached(
      "INSERT OR IGNORE INTO attachments(note_hash, idx, name, size, sha256, blob_id, key, header, "
      "chunks, data, status, problem) VALUES(?,?,?,?,?,?,?,?,?,?,?,?)"));
  auto& st = *st_cached;
  st.BindBlob(1, note_hash).Bind(2, static_cast<int64_t>(idx)).Bind(3, a.name())
      .Bind(4, static_cast<int64_t>(a.size())).BindBlob(5, AsBytes(a.sha256()))
      .BindBlob(6, AsBytes(a.blob_id())).BindBlob(7, AsBytes(a.key()))
      .BindBlob(8, AsBytes(a.stream_header())).Bind(9, static_cast<int64_t>(a.chunks()));
  if (data != nullptr) st.BindBlob(10, *data); else st.BindNull(10);
  st.Bind(11, status).Bind(12, problem);
  return st.Run();
}

bool AttachmentWellFormed(const sv1::Attachment& a) {
  return !a.name().empty() && a.name().size() <= 255 && a.size() <= kMaxAttachmentSize &&
         a.sha256().size() == 32 && a.blob_id().size() == 16 && a.key().size() == 32 &&
         a.stream_header().size() == crypto::kStreamHeaderSize && a.chunks() >= 1 &&
         a.chunks() <= wire::kMaxChunksPerBlob;
}

}  // namespace

StatusOr<store::v1::SignedObject> Client::SignObject(const char* label, const std::string& body) {
  VIGIL_ASSIGN_OR_RETURN(const Keys* k_keys, LoadKeys());
  const Keys& k = *k_keys;
  VIGIL_ASSIGN_OR_RETURN(Bytes sig, crypto::Sign(k.signing_secret, identity::SignedBytes(label, AsBytes(body))));
  sv1::SignedObject obj;
  obj.set_body(body);
  obj.set_signature(ToString(sig));
  obj.set_signer_device_id(ToString(k.device_id));
  return obj;
}

StatusOr<std::string> Client::ResolveVisitId(const std::string& id) {
  VIGIL_ASSIGN_OR_RETURN(auto ids, AllIds(db_, "SELECT DISTINCT visit_id FROM visit_events"));
  return MatchPrefix(ids, id, "visit");
}

StatusOr<std::string> Client::ResolveNoteId(const std::string& id) {
  VIGIL_ASSIGN_OR_RETURN(auto ids, AllIds(db_, "SELECT DISTINCT note_id FROM note_versions"));
  return MatchPrefix(ids, id, "note");
}

Status Client::EnqueueRecord(const std::string& visit_hex, const std::string& me,
                             const sv1::SignedObject& obj, bool is_note, int64_t now) {
  VIGIL_ASSIGN_OR_RETURN(auto recipients, VisitRecipients(visit_hex));
  sv1::Payload p;
  p.set_version(1);
  p.set_message_id(ToString(crypto::RandomBytes(16)));
  p.set_from_name(me);
  p.set_sent_at_ms(now);
  *(is_note ? p.mutable_note_version() : p.mutable_visit_event()) = obj;
  return Enqueue(recipients, p, now);
}

StatusOr<std::vector<std::string>> Client::VisitRecipients(const std::string& visit_hex) {
  VIGIL_ASSIGN_OR_RETURN(Bytes vid, HexDecode(visit_hex));
  VIGIL_ASSIGN_OR_RETURN(auto assign, LoadAssign(db_, vid));
  if (!assign) return Status::NotFound("no visit " + visit_hex + " on this device");
  std::set<std::string> names;
  const auto& d = assign->details();
  names.insert(d.coordinator());
  for (const auto& n : d.volunteers()) names.insert(n);
  for (const auto& n : d.legal()) names.insert(n);
  VIGIL_ASSIGN_OR_RETURN(std::string me, MyName());
  names.insert(me);  // my other devices
  return std::vector<std::string>(names.begin(), names.end());
}

// --- visits ---

StatusOr<std::string> Client::AssignVisit(const AssignRequest& req) {
  VIGIL_ASSIGN_OR_RETURN(std::string me, MyName());
  VIGIL_ASSIGN_OR_RETURN(auto role, GetConfig(db_, "role"));
  if (!role || ToString(role->span()) != "coordinator") {
    return Status::PermissionDenied("only coordinators can assign visits");
  }
  if (req.volunteers.empty()) return Status::InvalidArgument("name at least one --volunteer");
  if (req.detainee.empty() || req.detainee.size() > 200) return Status::InvalidArgument("--detainee is required (at most 200 characters)");
  if (req.facility.empty() || req.facility.size() > 200) return Status::InvalidArgument("--facility is required (at most 200 characters)");
  if (req.a_number.size() > 32) return Status::InvalidArgument("--a-number is too long");
  if (!LooksLikeLocalTimeWithOffset(req.at)) {
    return Status::InvalidArgument("--at must be a local time with its offset, e.g. 2026-12-01T10:00-08:00");
  }
  // When the relay is reachable, check that the team exists with the right roles.
  auto conn = Connection();
  if (conn.ok()) {
    v1::Request dreq;
    for (const auto& n : req.volunteers) dreq.mutable_directory()->add_names(n);
    for (const auto& n : req.legal) dreq.mutable_directory()->add_names(n);
    auto dresp = CallRelay(*conn, dreq, timeout_ms_);
    if (dresp.ok()) {
      std::map<std::string, std::string> roles;
      for (const auto& m : dresp->directory().members()) roles[m.name()] = m.role();
      for (const auto& n : req.volunteers) {
        if (!roles.count(n)) return Status::NotFound("no member named " + n);
        if (roles[n] != "volunteer") return Status::InvalidArgument(n + " is not a volunteer");
      }
      for (const auto& n : req.legal) {
        if (!roles.count(n)) return Status::NotFound("no member named " + n);
        if (roles[n] != "legal") return Status::InvalidArgument(n + " is not a legal adviser");
      }
    } else if (dresp.status().code() != Code::kUnavailable) {
      return dresp.status();
    }
  }
  int64_t now = NowMs();
  sv1::VisitEvent e;
  e.set_version(1);
  Bytes visit_id = crypto::RandomBytes(16);
  e.set_visit_id(ToString(visit_id));
  e.set_event_id(ToString(crypto::RandomBytes(16)));
  e.set_kind(sv1::ASSIGN);
  e.set_author(me);
  e.set_created_at_ms(now);
  auto* d = e.mutable_details();
  d->set_coordinator(me);
  for (const auto& n : req.volunteers) d->add_volunteers(n);
  for (const auto& n : req.legal) d->add_legal(n);
  d->set_detainee(req.detainee);
  d->set_a_number(req.a_number);
  d->set_facility(req.facility);
  d->set_at(req.at);
  VIGIL_ASSIGN_OR_RETURN(sv1::SignedObject obj, SignObject(kVisitEventLabel, e.SerializeAsString()));
  {
    VIGIL_ASSIGN_OR_RETURN(auto txn, storage::Txn::Begin(db_));
    VIGIL_RETURN_IF_ERROR(InsertEventRow(db_, e, obj, Verdict::Ok(), now));
    VIGIL_RETURN_IF_ERROR(EnqueueRecord(HexEncode(visit_id), me, obj, /*is_note=*/false, now));
    VIGIL_RETURN_IF_ERROR(txn.Commit());
  }
  bool delivered = false;
  TryFlush(&delivered);
  return HexEncode(visit_id);
}

Status Client::VisitAction(const std::string& visit_id, sv1::VisitEventKind kind,
                           const std::string& reason) {
  VIGIL_ASSIGN_OR_RETURN(std::string me, MyName());
  VIGIL_ASSIGN_OR_RETURN(std::string vid_hex, ResolveVisitId(visit_id));
  VIGIL_ASSIGN_OR_RETURN(Bytes vid, HexDecode(vid_hex));
  VIGIL_ASSIGN_OR_RETURN(auto assign, LoadAssign(db_, vid));
  if (!assign) return Status::NotFound("visit " + vid_hex + " has not been assigned on this device yet; sync first");
  const auto& d = assign->details();
  if (kind == sv1::CANCEL && d.coordinator() != me) {
    return Status::PermissionDenied("only the visit's coordinator can cancel it");
  }
  if ((kind == sv1::ACCEPT || kind == sv1::DECLINE || kind == sv1::COMPLETE) &&
      !Contains(d.volunteers(), me)) {
    return Status::PermissionDenied(std::string("only the visit's volunteers can ") + KindName(kind) + " it");
  }
  if (reason.size() > 2000) return Status::InvalidArgument("the reason is too long");
  int64_t now = NowMs();
  sv1::VisitEvent e;
  e.set_version(1);
  e.set_visit_id(ToString(vid));
  e.set_event_id(ToString(crypto::RandomBytes(16)));
  e.set_kind(kind);
  e.set_author(me);
  e.set_created_at_ms(now);
  e.set_reason(reason);
  VIGIL_ASSIGN_OR_RETURN(sv1::SignedObject obj, SignObject(kVisitEventLabel, e.SerializeAsString()));
  {
    VIGIL_ASSIGN_OR_RETURN(auto txn, storage::Txn::Begin(db_));
    VIGIL_RETURN_IF_ERROR(InsertEventRow(db_, e, obj, Verdict::Ok(), now));
    VIGIL_RETURN_IF_ERROR(EnqueueRecord(vid_hex, me, obj, /*is_note=*/false, now));
    VIGIL_RETURN_IF_ERROR(txn.Commit());
  }
  bool delivered = false;
  TryFlush(&delivered);
  return Status::Ok();
}

Status Client::ReceiveVisitEvent(const sv1::SignedObject& obj, const std::string& sender,
                                 SyncResult* result) {
  (void)sender;
  int64_t now = NowMs();
  sv1::VisitEvent e;
  if (obj.body().size() > kMaxEventSize || !e.ParseFromString(obj.body()) || e.version() != 1 ||
      !CheckId(e.visit_id(), "visit id").ok() || !CheckId(e.event_id(), "event id").ok() ||
      obj.signer_device_id().size() != 16) {
    result->problems.push_back("a malformed visit event was rejected");
    return Status::Ok();
  }
  VIGIL_ASSIGN_OR_RETURN(std::string sig_problem, CheckSignature(db_, obj, kVisitEventLabel, e.author()));
  Verdict verdict;
  if (!sig_problem.empty()) {
    verdict = Verdict::Reject(sig_problem);
  } else {
    VIGIL_ASSIGN_OR_RETURN(verdict, JudgeVisitEvent(db_, e));
  }
  const std::string visit_short = HexEncode(AsBytes(e.visit_id())).substr(0, 8);
  if (verdict.status == "rejected") {
    result->problems.push_back(std::string("visit ") + visit_short + ": rejected a " + KindName(e.kind()) +
                               " event: " + verdict.problem);
  }
  Status inserted = InsertEventRow(db_, e, obj, verdict, now);
  if (inserted.code() != Code::kAlreadyExists) return inserted;
  // The event id is already held. By the same bytes: a duplicate. By
  // different ones: a rejected event yields to one that is not (a forgery
  // that arrives first must not make the genuine event look like its
  // duplicate); of two acceptable events with one id the first is kept,
  // and the clash is shown.
  VIGIL_ASSIGN_OR_RETURN(auto held, db_.Prepare("SELECT body, signature, status FROM visit_events WHERE event_id = ?"));
  held.BindBlob(1, AsBytes(e.event_id()));
  VIGIL_ASSIGN_OR_RETURN(bool have, held.Step());
  const bool clash =
      have && (ToString(held.ColumnBlob(0)) != obj.body() || ToString(held.ColumnBlob(1)) != obj.signature());
  const bool held_rejected = have && held.ColumnText(2) == "rejected";
  VIGIL_RETURN_IF_ERROR(held.Reset());
  if (!clash || verdict.status == "rejected") return inserted;
  if (!held_rejected) {
    result->problems.push_back(std::string("visit ") + visit_short + ": a " + KindName(e.kind()) +
                               " event reuses the id of a different event; the first one is kept");
    return inserted;
  }
  VIGIL_ASSIGN_OR_RETURN(auto del, db_.Prepare("DELETE FROM visit_events WHERE event_id = ?"));
  del.BindBlob(1, AsBytes(e.event_id()));
  VIGIL_RETURN_IF_ERROR(del.Run());
  return InsertEventRow(db_, e, obj, verdict, now);
}

StatusOr<std::vector<VisitInfo>> Client::ListVisits() {
  VIGIL_ASSIGN_OR_RETURN(auto ids, AllIds(db_,
      "SELECT visit_id FROM visit_events WHERE kind = 1 AND status = 'ok' GROUP BY visit_id "
      "ORDER BY min(created_at)"));
  std::vector<VisitInfo> out;
  for (const auto& id : ids) {
    VIGIL_ASSIGN_OR_RETURN(VisitInfo v, ShowVisit(id));
    out.push_back(std::move(v));
  }
  return out;
}

StatusOr<VisitInfo> Client::ShowVisit(const std::string& visit_id) {
  VIGIL_ASSIGN_OR_RETURN(std::string vid_hex, ResolveVisitId(visit_id));
  VIGIL_ASSIGN_OR_RETURN(Bytes vid, HexDecode(vid_hex));
  VisitInfo info;
  info.id = vid_hex;
  VIGIL_ASSIGN_OR_RETURN(auto assign, LoadAssign(db_, vid));
  if (assign) {
    const auto& d = assign->details();
    info.team.coordinator = d.coordinator();
    info.team.volunteers.assign(d.volunteers().begin(), d.volunteers().end());
    info.team.legal.assign(d.legal().begin(), d.legal().end());
    info.detainee = d.detainee();
    info.a_number = d.a_number();
    info.facility = d.facility();
    info.at = d.at();
  }
  VIGIL_ASSIGN_OR_RETURN(auto st_cached, db_.PrepareCached(
      "SELECT event_id, kind, author, created_at, body, status, problem FROM visit_events "
      "WHERE visit_id = ? ORDER BY created_at, event_id"));
  auto& st = *st_cached;
  st.BindBlob(1, vid);
  std::set<std::string> declined;
  bool accepted = false, completed = false, cancelled = false;
  for (;;) {
    VIGIL_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    VisitEventInfo ev;
    ev.id = HexEncode(st.ColumnBlob(0));
    auto kind = static_cast<sv1::VisitEventKind>(st.ColumnInt64(1));
    ev.kind = KindName(kind);
    ev.author = st.ColumnText(2);
    ev.created_at_ms = st.ColumnInt64(3);
    sv1::VisitEvent e;
    Bytes body = st.ColumnBlob(4);
    if (e.ParseFromArray(body.data(), static_cast<int>(body.size()))) ev.reason = e.reason();
    ev.status = st.ColumnText(5);
    ev.problem = st.ColumnText(6);
    if (ev.status == "ok") {
      // The state is a function of the set of accepted events, so every
      // device converges whatever order they arrived in.
      if (kind == sv1::CANCEL) cancelled = true;
      if (kind == sv1::COMPLETE) completed = true;
      if (kind == sv1::ACCEPT) accepted = true;
      if (kind == sv1::DECLINE) declined.insert(ev.author);
    }
    info.events.push_back(std::move(ev));
  }
  if (!assign) info.status = "unknown";
  else if (cancelled) info.status = "cancelled";
  else if (completed) info.status = "completed";
  else if (accepted) info.status = "accepted";
  else if (!info.team.volunteers.empty() && declined.size() >= info.team.volunteers.size()) info.status = "declined";
  else info.status = "assigned";
  return info;
}

// --- notes ---

namespace {

StatusOr<std::pair<uint64_t, Bytes>> LastDeviceNote(storage::Db& db) {
  VIGIL_ASSIGN_OR_RETURN(auto seq, GetConfig(db, "note_seq"));
  VIGIL_ASSIGN_OR_RETURN(auto hash, GetConfig(db, "note_last_hash"));
  uint64_t n = seq ? std::stoull(ToString(seq->span())) : 0;
  return std::make_pair(n, hash ? ToPublic(*hash) : Bytes());
}

}  // namespace

StatusOr<NoteVersionInfo> Client::WriteNoteVersion(ByteSpan note_id, const std::string& visit_hex,
                                                   uint32_t number, ByteSpan prev_hash,
                                                   const std::string& text,
                                                   const std::vector<AttachmentInput>& attachments) {
  VIGIL_ASSIGN_OR_RETURN(std::string me, MyName());
  VIGIL_ASSIGN_OR_RETURN(Bytes vid, HexDecode(visit_hex));
  VIGIL_ASSIGN_OR_RETURN(auto assign, LoadAssign(db_, vid));
  if (!assign) return Status::NotFound("visit " + visit_hex + " is not known on this device; sync first");
  if (!OnTeam(assign->details(), me)) return Status::PermissionDenied("you are not on this visit's team");
  if ((text.empty() && attachments.empty()) || text.size() > kMaxNoteText) {
    return Status::InvalidArgument("a note holds 1 byte to 512 KiB of text, or attachments");
  }
  if (attachments.size() > 16) return Status::InvalidArgument("at most 16 attachments per note");
  for (const auto& a : attachments) {
    if (a.data.size() > kMaxAttachmentSize) {
      return Status::InvalidArgument("attachment " + a.name + " is larger than 25 MB");
    }
    if (a.name.empty() || a.name.size() > 255 || a.name.find('/') != std::string::npos) {
      return Status::InvalidArgument("an attachment needs a plain file name");
    }
  }
  VIGIL_ASSIGN_OR_RETURN(const Keys* k_keys, LoadKeys());
  const Keys& k = *k_keys;
  int64_t now = NowMs();
  NoteVersionInfo info;
  {
    VIGIL_ASSIGN_OR_RETURN(auto txn, storage::Txn::Begin(db_));
    VIGIL_ASSIGN_OR_RETURN(auto last, LastDeviceNote(db_));
    sv1::NoteVersion v;
    v.set_version(1);
    v.set_note_id(ToString(note_id));
    v.set_visit_id(ToString(vid));
    v.set_number(number);
    v.set_prev_version_hash(ToString(prev_hash));
    v.set_author(me);
    v.set_author_device_id(ToString(k.device_id));
    v.set_device_seq(last.first + 1);
    v.set_prev_device_hash(ToString(last.second));
    v.set_created_at_ms(now);
    v.set_body(text);
    v.set_commitment_salt(ToString(crypto::RandomBytes(evidence::kSaltSize)));
    // Attachments: encrypt each in 1 MiB chunks under a fresh key; queue the
    // chunks for upload; the signed note carries name, size, plaintext hash,
    // blob id, key and stream header.
    std::vector<std::pair<sv1::Attachment, const Bytes*>> local;
    for (const auto& in : attachments) {
      sv1::Attachment* a = v.add_attachments();
      a->set_name(in.name);
      a->set_size(in.data.size());
      a->set_sha256(ToString(crypto::Sha256(in.data)));
      Bytes blob_id = crypto::RandomBytes(16);
      a->set_blob_id(ToString(blob_id));
      crypto::SecretBytes key = crypto::SecretBytes::Random(crypto::kStreamKeySize);
      a->set_key(ToString(key.span()));
      Bytes header;
      VIGIL_ASSIGN_OR_RETURN(auto enc, crypto::StreamEncryptor::Start(key, &header));
      a->set_stream_header(ToString(header));
      constexpr size_t kChunk = 1024 * 1024;
      uint32_t count = static_cast<uint32_t>(std::max<size_t>(1, (in.data.size() + kChunk - 1) / kChunk));
      a->set_chunks(count);
      for (uint32_t i = 0; i < count; ++i) {
        size_t off = static_cast<size_t>(i) * kChunk;
        size_t len = std::min(kChunk, in.data.size() - std::min(off, in.data.size()));
        VIGIL_ASSIGN_OR_RETURN(Bytes ct, enc.Push(ByteSpan(in.data.data() + off, len), i + 1 == count));
        VIGIL_ASSIGN_OR_RETURN(auto ins_cached, db_.PrepareCached(
            "INSERT INTO blob_outbox(blob_id, idx, count, data) VALUES(?,?,?,?)"));
        auto& ins = *ins_cached;
        ins.BindBlob(1, blob_id).Bind(2, static_cast<int64_t>(i)).Bind(3, static_cast<int64_t>(count)).BindBlob(4, ct);
        VIGIL_RETURN_IF_ERROR(ins.Run());
      }
      local.emplace_back(*a, &in.data);
    }
    std::string body = v.SerializeAsString();
    VIGIL_ASSIGN_OR_RETURN(sv1::SignedObject obj, SignObject(kNoteVersionLabel, body));
    ParsedNote pn{v, crypto::Sha256(AsBytes(body))};
    VIGIL_RETURN_IF_ERROR(InsertNoteRow(db_, pn, obj, Verdict::Ok(), now));
    for (size_t i = 0; i < local.size(); ++i) {
      VIGIL_RETURN_IF_ERROR(InsertAttachmentRow(db_, pn.hash, static_cast<int>(i), local[i].first,
                                                local[i].second, "ok", ""));
    }
    std::string seq = std::to_string(v.device_seq());
    VIGIL_RETURN_IF_ERROR(PutConfig(db_, "note_seq", AsBytes(seq)));
    VIGIL_RETURN_IF_ERROR(PutConfig(db_, "note_last_hash", pn.hash));
    VIGIL_RETURN_IF_ERROR(EnqueueRecord(visit_hex, me, obj, /*is_note=*/true, now));
    VIGIL_RETURN_IF_ERROR(QueueAnchors(pn.hash, now));
    VIGIL_RETURN_IF_ERROR(txn.Commit());
    info.hash = HexEncode(pn.hash);
    info.number = static_cast<int>(number);
    info.prev_hash = HexEncode(prev_hash);
    info.author = me;
    info.author_device = HexEncode(k.device_id);
    info.device_seq = v.device_seq();
    info.created_at_ms = now;
    info.received_at_ms = now;
    info.text = text;
    info.signature_valid = true;
    info.status = "ok";
  }
  if (!deliver_notes_on_write_) return info;  // queued and pending: the next Sync delivers and stamps
  bool delivered = false;
  TryFlush(&delivered);
  // Timestamps (notary, log, configured authorities): best effort, after
  // the note is safe; whatever cannot be reached now stays pending.
  if (offline_.ok()) {
    std::vector<std::string> problems;
    TryStamp(&problems);
  }
  return info;
}

StatusOr<std::string> Client::AddNote(const std::string& visit_id, const std::string& text,
                                      const std::vector<AttachmentInput>& attachments) {
  VIGIL_ASSIGN_OR_RETURN(std::string vid_hex, ResolveVisitId(visit_id));
  Bytes note_id = crypto::RandomBytes(16);
  VIGIL_RETURN_IF_ERROR(WriteNoteVersion(note_id, vid_hex, 1, {}, text, attachments).status());
  return HexEncode(note_id);
}

StatusOr<NoteVersionInfo> Client::AmendNote(const std::string& note_id, const std::string& text,
                                            const std::vector<AttachmentInput>& attachments) {
  VIGIL_ASSIGN_OR_RETURN(std::string nid_hex, ResolveNoteId(note_id));
  VIGIL_ASSIGN_OR_RETURN(Bytes nid, HexDecode(nid_hex));
  // Amend the latest version this device knows (highest number; among
  // concurrent branches, the newest).
  VIGIL_ASSIGN_OR_RETURN(auto st_cached, db_.PrepareCached(
      "SELECT hash, number, visit_id FROM note_versions WHERE note_id = ? AND status = 'ok' "
      "ORDER BY number DESC, created_at DESC LIMIT 1"));
  auto& st = *st_cached;
  st.BindBlob(1, nid);
  VIGIL_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return Status::NotFound("no note " + nid_hex + " on this device");
  Bytes prev = st.ColumnBlob(0);
  uint32_t number = static_cast<uint32_t>(st.ColumnInt64(1)) + 1;
  std::string visit_hex = HexEncode(st.ColumnBlob(2));
  // Only the note's author amends it (any of their devices): the team would
  // reject anyone else's version.
  {
    VIGIL_ASSIGN_OR_RETURN(std::string me, MyName());
    VIGIL_ASSIGN_OR_RETURN(auto au_cached, db_.PrepareCached(
        "SELECT author FROM note_versions WHERE note_id = ? AND status = 'ok' ORDER BY number LIMIT 1"));
    auto& au = *au_cached;
    au.BindBlob(1, nid);
    VIGIL_ASSIGN_OR_RETURN(bool have, au.Step());
    if (have && au.ColumnText(0) != me) {
      return Status::PermissionDenied("only the note's author, " + au.ColumnText(0) + ", can amend note " +
                                      nid_hex.substr(0, 8));
    }
  }
  return WriteNoteVersion(nid, visit_hex, number, prev, text, attachments);
}

Status Client::ReceiveNoteVersion(const sv1::SignedObject& obj, const std::string& sender,
                                  SyncResult* result) {
  (void)sender;
  int64_t now = NowMs();
  ParsedNote pn;
  auto& v = pn.v;
  if (obj.body().size() > kMaxNoteSize || !v.ParseFromString(obj.body()) || v.version() != 1 ||
      !CheckId(v.note_id(), "note id").ok() || !CheckId(v.visit_id(), "visit id").ok() ||
      v.author_device_id().size() != 16 || v.number() < 1 || v.device_seq() < 1 ||
      obj.signer_device_id().size() != 16) {
    result->problems.push_back("a malformed note version was rejected");
    return Status::Ok();
  }
  pn.hash = crypto::Sha256(AsBytes(obj.body()));
  VIGIL_ASSIGN_OR_RETURN(std::string sig_problem, CheckSignature(db_, obj, kNoteVersionLabel, v.author()));
  Verdict verdict;
  if (!sig_problem.empty()) {
    verdict = Verdict::Reject(sig_problem);
  } else if (obj.signer_device_id() != v.author_device_id()) {
    verdict = Verdict::Reject("the note names another device than the one that signed it");
  } else {
    VIGIL_ASSIGN_OR_RETURN(verdict, JudgeNote(db_, pn));
  }
  for (const auto& a : v.attachments()) {
    if (!AttachmentWellFormed(a) && verdict.status != "rejected") {
      verdict = Verdict::Reject("an attachment description is malformed");
    }
  }
  if (verdict.status == "rejected") {
    result->problems.push_back("note " + HexEncode(AsBytes(v.note_id())).substr(0, 8) + " v" +
                               std::to_string(v.number()) + " rejected: " + verdict.problem);
  }
  VIGIL_RETURN_IF_ERROR(InsertNoteRow(db_, pn, obj, verdict, now));
  if (verdict.status == "ok" && v.number() == 1) {
    // Version 1 arrived after later versions: those by anyone else than its
    // author are rejected now (only the author amends).
    VIGIL_RETURN_IF_ERROR(RejectOtherAuthors(ToBytes(v.note_id()), v.author(), result));
  }
  if (verdict.status != "rejected") {
    for (int i = 0; i < v.attachments_size(); ++i) {
      VIGIL_RETURN_IF_ERROR(InsertAttachmentRow(db_, pn.hash, i, v.attachments(i), nullptr, "pending",
                                                "not downloaded yet"));
    }
  }
  return Status::Ok();
}

Status Client::RejectOtherAuthors(ByteSpan note_id, const std::string& author, SyncResult* result) {
  VIGIL_ASSIGN_OR_RETURN(auto st, db_.PrepareCached(
      "SELECT hash, number, author FROM note_versions WHERE note_id = ? AND author != ? AND status != 'rejected'"));
  st->BindBlob(1, note_id).Bind(2, author);
  struct Row { Bytes hash; int64_t number; std::string author; };
  std::vector<Row> rows;
  for (;;) {
    VIGIL_ASSIGN_OR_RETURN(bool row, st->Step());
    if (!row) break;
    rows.push_back({st->ColumnBlob(0), st->ColumnInt64(1), st->ColumnText(2)});
  }
  for (const auto& r : rows) {
    std::string problem = "only the note's author " + author + " may amend it; this version is by " + r.author;
    VIGIL_ASSIGN_OR_RETURN(auto up, db_.PrepareCached(
        "UPDATE note_versions SET status = 'rejected', problem = ? WHERE hash = ?"));
    up->Bind(1, problem).BindBlob(2, r.hash);
    VIGIL_RETURN_IF_ERROR(up->Run());
    result->problems.push_back("note " + HexEncode(note_id).substr(0, 8) + " v" + std::to_string(r.number) +
                               " rejected: " + problem);
  }
  return Status::Ok();
}

Status Client::RecheckPending(SyncResult* result) {
  // Events first (an assignment may have arrived after what refers to it),
  // then notes.
  for (bool notes : {false, true}) {
    VIGIL_ASSIGN_OR_RETURN(auto txn, storage::Txn::Begin(db_));
    VIGIL_RETURN_IF_ERROR(RecheckPendingPass(notes, result));
    VIGIL_RETURN_IF_ERROR(txn.Commit());
  }
  return Status::Ok();
}

Status Client::RecheckPendingPass(bool notes, SyncResult* result) {
  VIGIL_ASSIGN_OR_RETURN(auto st, db_.PrepareCached(!notes
      ? "SELECT event_id, body FROM visit_events WHERE status = 'pending' ORDER BY created_at"
      : "SELECT hash, body FROM note_versions WHERE status = 'pending' ORDER BY device_seq"));
  struct Row { Bytes key; Bytes body; };
  std::vector<Row> rows;
  for (;;) {
    VIGIL_ASSIGN_OR_RETURN(bool row, st->Step());
    if (!row) break;
    rows.push_back({st->ColumnBlob(0), st->ColumnBlob(1)});
  }
  for (const auto& r : rows) {
    Verdict verdict;
    bool note_v1 = false;
    Bytes note_id;
    std::string note_author;
    if (!notes) {
      sv1::VisitEvent e;
      if (!e.ParseFromArray(r.body.data(), static_cast<int>(r.body.size()))) continue;
      VIGIL_ASSIGN_OR_RETURN(verdict, JudgeVisitEvent(db_, e));
    } else {
      ParsedNote pn;
      if (!pn.v.ParseFromArray(r.body.data(), static_cast<int>(r.body.size()))) continue;
      pn.hash = r.key;
      VIGIL_ASSIGN_OR_RETURN(verdict, JudgeNote(db_, pn));
      note_v1 = pn.v.number() == 1;
      note_id = ToBytes(pn.v.note_id());
      note_author = pn.v.author();
    }
    if (verdict.status == "pending") continue;
    VIGIL_ASSIGN_OR_RETURN(auto up, db_.PrepareCached(!notes
        ? "UPDATE visit_events SET status = ?, problem = ? WHERE event_id = ?"
        : "UPDATE note_versions SET status = ?, problem = ? WHERE hash = ?"));
    up->Bind(1, verdict.status).Bind(2, verdict.problem).BindBlob(3, r.key);
    VIGIL_RETURN_IF_ERROR(up->Run());
    if (verdict.status == "rejected") result->problems.push_back(verdict.problem);
    if (notes && verdict.status == "ok" && note_v1) {
      VIGIL_RETURN_IF_ERROR(RejectOtherAuthors(note_id, note_author, result));
    }
  }
  return Status::Ok();
}

StatusOr<std::vector<NoteInfo>> Client::ListNotes(const std::optional<std::string>& visit_id) {
  std::vector<std::string> ids;
  if (visit_id) {
    VIGIL_ASSIGN_OR_RETURN(std::string vid_hex, ResolveVisitId(*visit_id));
    VIGIL_ASSIGN_OR_RETURN(Bytes vid, HexDecode(vid_hex));
    VIGIL_ASSIGN_OR_RETURN(auto st_cached, db_.PrepareCached(
        "SELECT note_id FROM note_versions WHERE visit_id = ? GROUP BY note_id ORDER BY min(created_at)"));
    auto& st = *st_cached;
    st.BindBlob(1, vid);
    for (;;) {
      VIGIL_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      ids.push_back(HexEncode(st.ColumnBlob(0)));
    }
  } else {
    VIGIL_ASSIGN_OR_RETURN(ids, AllIds(db_,
        "SELECT note_id FROM note_versions GROUP BY note_id ORDER BY min(created_at)"));
  }
  std::vector<NoteInfo> out;
  for (const auto& id : ids) {
    VIGIL_ASSIGN_OR_RETURN(NoteInfo n, ShowNote(id));
    out.push_back(std::move(n));
  }
  return out;
}

StatusOr<NoteInfo> Client::ShowNote(const std::string& note_id) {
  VIGIL_ASSIGN_OR_RETURN(std::string nid_hex, ResolveNoteId(note_id));
  VIGIL_ASSIGN_OR_RETURN(Bytes nid, HexDecode(nid_hex));
  NoteInfo info;
  info.id = nid_hex;
  VIGIL_ASSIGN_OR_RETURN(auto st_cached, db_.PrepareCached(
      "SELECT hash, number, prev_hash, author, author_device, device_seq, created_at, received_at, "
      "body, signature, status, problem, visit_id FROM note_versions WHERE note_id = ? "
      "ORDER BY number, created_at, hash"));
  auto& st = *st_cached;
  st.BindBlob(1, nid);
  std::map<int, int> per_number;
  std::set<std::string> devices;
  for (;;) {
    VIGIL_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    NoteVersionInfo v;
    v.hash = HexEncode(st.ColumnBlob(0));
    v.number = static_cast<int>(st.ColumnInt64(1));
    v.prev_hash = HexEncode(st.ColumnBlob(2));
    v.author = st.ColumnText(3);
    Bytes author_device = st.ColumnBlob(4);
    v.author_device = HexEncode(author_device);
    v.device_seq = static_cast<uint64_t>(st.ColumnInt64(5));
    v.created_at_ms = st.ColumnInt64(6);
    v.received_at_ms = st.ColumnInt64(7);
    Bytes body = st.ColumnBlob(8);
    Bytes signature = st.ColumnBlob(9);
    v.status = st.ColumnText(10);
    v.problem = st.ColumnText(11);
    info.visit_id = HexEncode(st.ColumnBlob(12));
    sv1::NoteVersion parsed;
    if (parsed.ParseFromArray(body.data(), static_cast<int>(body.size()))) v.text = parsed.body();
    // Re-verify the stored bytes every time they are shown.
    VIGIL_ASSIGN_OR_RETURN(auto ks_cached, db_.PrepareCached("SELECT signing_key FROM contact_devices WHERE device_id = ?"));
    auto& ks = *ks_cached;
    ks.BindBlob(1, author_device);
    VIGIL_ASSIGN_OR_RETURN(bool have_key, ks.Step());
    Bytes key;
    if (have_key) {
      key = ks.ColumnBlob(0);
    } else {
      VIGIL_ASSIGN_OR_RETURN(const Keys* k_keys, LoadKeys());
      const Keys& k = *k_keys;
      if (k.device_id == author_device) key = k.signing_public;
    }
    {
      VIGIL_ASSIGN_OR_RETURN(auto as_cached, db_.PrepareCached(
          "SELECT idx, name, size, sha256, status, problem FROM attachments WHERE note_hash = ? ORDER BY idx"));
      auto& as = *as_cached;
      as.BindBlob(1, *HexDecode(v.hash));
      for (;;) {
        VIGIL_ASSIGN_OR_RETURN(bool arow, as.Step());
        if (!arow) break;
        AttachmentInfo a;
        a.index = static_cast<int>(as.ColumnInt64(0));
        a.name = as.ColumnText(1);
        a.size = static_cast<uint64_t>(as.ColumnInt64(2));
        a.sha256 = HexEncode(as.ColumnBlob(3));
        a.status = as.ColumnText(4);
        a.problem = as.ColumnText(5);
        v.attachments.push_back(std::move(a));
      }
    }
    v.signature_valid = !key.empty() &&
        crypto::Verify(key, identity::SignedBytes(kNoteVersionLabel, body), signature).ok() &&
        crypto::Sha256(body) == *HexDecode(v.hash);
    {
      Bytes vh = *HexDecode(v.hash);
      auto c = CommitmentFor(vh);
      Bytes digest;
      if (c.ok() && *c) {
        digest = evidence::CommitmentDigest(**c);
        v.commitment = HexEncode(digest);
      }
      VIGIL_ASSIGN_OR_RETURN(v.anchors, AnchorsOf(vh, digest));
    }
    if (v.status == "ok") {
      per_number[v.number]++;
      devices.insert(v.author_device);
    }
    info.versions.push_back(std::move(v));
  }
  if (info.versions.empty()) return Status::NotFound("no note " + nid_hex + " on this device");
  for (const auto& [number, count] : per_number) {
    if (count > 1) {
      info.problems.push_back("branch: " + std::to_string(count) + " concurrent amendments made version " +
                              std::to_string(number));
    }
  }
  for (const auto& v : info.versions) {
    if (!v.problem.empty()) info.problems.push_back("version " + std::to_string(v.number) + ": " + v.problem);
    for (const auto& a : v.attachments) {
      if (a.status == "rejected") {
        info.problems.push_back("version " + std::to_string(v.number) + ": " + a.problem);
      }
    }
  }
  // Gaps in each author device's sequence (a version withheld or dropped).
  for (const auto& dev : devices) {
    VIGIL_ASSIGN_OR_RETURN(Bytes d, HexDecode(dev));
    VIGIL_ASSIGN_OR_RETURN(auto gs_cached, db_.PrepareCached(
        "SELECT device_seq FROM note_versions WHERE author_device = ? AND status != 'rejected' "
        "ORDER BY device_seq"));
    auto& gs = *gs_cached;
    gs.BindBlob(1, d);
    uint64_t expect = 1;
    for (;;) {
      VIGIL_ASSIGN_OR_RETURN(bool row, gs.Step());
      if (!row) break;
      uint64_t seq = static_cast<uint64_t>(gs.ColumnInt64(0));
      if (seq > expect) {
        info.problems.push_back("gap: device " + dev.substr(0, 8) + " is missing note versions " +
                                std::to_string(expect) + ".." + std::to_string(seq - 1));
      }
      expect = seq + 1;
    }
  }
  return info;
}

Status Client::DownloadAttachments(SyncResult* result) {
  struct Pending {
    Bytes note_hash;
    int64_t idx;
    std::string name;
    uint64_t size;
    Bytes sha256, blob_id;
    crypto::SecretBytes key;
    Bytes header;
    uint32_t chunks;
  };
  std::vector<Pending> pending;
  {
    VIGIL_ASSIGN_OR_RETURN(auto st_cached, db_.PrepareCached(
        "SELECT note_hash, idx, name, size, sha256, blob_id, key, header, chunks FROM attachments "
        "WHERE status = 'pending'"));
    auto& st = *st_cached;
    for (;;) {
      VIGIL_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      pending.push_back({st.ColumnBlob(0), st.ColumnInt64(1), st.ColumnText(2),
                         static_cast<uint64_t>(st.ColumnInt64(3)), st.ColumnBlob(4), st.ColumnBlob(5),
                         st.ColumnSecret(6), st.ColumnBlob(7), static_cast<uint32_t>(st.ColumnInt64(8))});
    }
  }
  if (pending.empty()) return Status::Ok();
  VIGIL_ASSIGN_OR_RETURN(net::ClientConnection * conn, Connection());
  for (const auto& p : pending) {
    std::string problem;
    Bytes plain;
    VIGIL_ASSIGN_OR_RETURN(auto dec, crypto::StreamDecryptor::Start(p.key, p.header));
    bool ended = false, missing = false;
    for (uint32_t i = 0; i < p.chunks && problem.empty(); ++i) {
      v1::Request req;
      req.mutable_get_chunk()->set_blob_id(ToString(p.blob_id));
      req.mutable_get_chunk()->set_index(i);
      auto resp = CallRelay(conn, req, timeout_ms_);
      if (!resp.ok()) {
        if (resp.status().code() == Code::kUnavailable) return resp.status();
        missing = true;  // not uploaded yet, or expired: try again next sync
        break;
      }
      bool fin = false;
      auto chunk = dec.Pull(AsBytes(resp->get_chunk().data()), &fin);
      if (!chunk.ok()) {
        problem = "attachment " + p.name + " failed to decrypt (tampered or truncated)";
        break;
      }
      plain.insert(plain.end(), chunk->span().begin(), chunk->span().end());
      if (plain.size() > kMaxAttachmentSize) problem = "attachment " + p.name + " is larger than announced";
      if (fin) {
        ended = true;
        if (i + 1 != p.chunks) problem = "attachment " + p.name + " ended early";
      }
    }
    if (missing) continue;
    if (problem.empty() && !ended) problem = "attachment " + p.name + " is truncated";
    if (problem.empty() && (plain.size() != p.size || crypto::Sha256(plain) != p.sha256)) {
      problem = "attachment " + p.name + " does not match its signed hash";
    }
    VIGIL_ASSIGN_OR_RETURN(auto up_cached, db_.PrepareCached(
        "UPDATE attachments SET status = ?, problem = ?, data = ? WHERE note_hash = ? AND idx = ?"));
    auto& up = *up_cached;
    if (problem.empty()) {
      up.Bind(1, "ok").Bind(2, "").BindBlob(3, plain);
    } else {
      up.Bind(1, "rejected").Bind(2, problem).BindNull(3);
      result->problems.push_back(problem);
    }
    up.BindBlob(4, p.note_hash).Bind(5, p.idx);
    VIGIL_RETURN_IF_ERROR(up.Run());
    crypto::Wipe(std::span<uint8_t>(plain));
  }
  return Status::Ok();
}

StatusOr<Bytes> Client::AttachmentData(const std::string& note_id, int number, int index) {
  VIGIL_ASSIGN_OR_RETURN(NoteInfo n, ShowNote(note_id));
  const NoteVersionInfo* v = nullptr;
  for (const auto& ver : n.versions) {
    if (ver.status == "ok" && (number == 0 ? (!v || ver.number >= v->number) : ver.number == number)) v = &ver;
  }
  if (v == nullptr) return Status::NotFound("no such version of note " + n.id);
  VIGIL_ASSIGN_OR_RETURN(auto st_cached, db_.PrepareCached(
      "SELECT data, status, problem FROM attachments WHERE note_hash = ? AND idx = ?"));
  auto& st = *st_cached;
  st.BindBlob(1, *HexDecode(v->hash)).Bind(2, static_cast<int64_t>(index));
  VIGIL_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return Status::NotFound("version " + std::to_string(v->number) + " has no attachment " + std::to_string(index));
  std::string status = st.ColumnText(1);
  if (status != "ok") {
    return Status::FailedPrecondition(status == "pending" ? "the attachment is not downloaded yet; run vigil sync"
                                                          : st.ColumnText(2));
  }
  return st.ColumnBlob(0);
}

}  // namespace vigil::client
