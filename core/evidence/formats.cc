// The text formats of commitments, notary tokens, log checkpoints and
// inclusion tokens (see vigil/evidence.h). Strict parsers: exact keys in
// exact order, lower-case hex of exact length, bounded sizes.
#include <algorithm>
#include <charconv>
#include <ctime>

#include "vigil/crypto.h"
#include "vigil/evidence.h"

namespace vigil::evidence {
namespace {

constexpr char kCommitmentMagic[] = "vigil-commitment-v1";
constexpr char kNotaryMagic[] = "vigil-notary-v1";
constexpr char kCheckpointMagic[] = "vigil-tlog-checkpoint-v1";
constexpr char kInclusionMagic[] = "vigil-tlog-inclusion-v1";
constexpr char kConsistencyMagic[] = "vigil-tlog-consistency-v1";

// A cursor over "\n"-terminated lines.
class Lines {
 public:
  explicit Lines(std::string_view text) : text_(text) {}
  bool AtEnd() const { return pos_ == text_.size(); }
  size_t pos() const { return pos_; }
  // The next whole line (without "\n"), or nullopt at the end or when the
  // text does not end in "\n".
  std::optional<std::string_view> Next() {
    if (pos_ >= text_.size()) return std::nullopt;
    size_t nl = text_.find('\n', pos_);
    if (nl == std::string_view::npos) return std::nullopt;
    std::string_view line = text_.substr(pos_, nl - pos_);
    pos_ = nl + 1;
    return line;
  }
  std::optional<std::string_view> Peek() {
    size_t save = pos_;
    auto l = Next();
    pos_ = save;
    return l;
  }
  // "key value" -> value.
  StatusOr<std::string_view> Field(std::string_view key) {
    auto l = Next();
    if (!l || l->size() <= key.size() || l->substr(0, key.size()) != key || (*l)[key.size()] != ' ') {
      return Status::InvalidArgument("expected a '" + std::string(key) + "' line");
    }
    return l->substr(key.size() + 1);
  }
  Status Magic(std::string_view magic) {
    auto l = Next();
    if (!l || *l != magic) return Status::InvalidArgument("not a " + std::string(magic) + " text");
    return Status::Ok();
  }

 private:
  std::string_view text_;
  size_t pos_ = 0;
};

StatusOr<Bytes> Hex(std::string_view v, size_t size, std::string_view what) {
  if (v.size() != size * 2) return Status::InvalidArgument(std::string(what) + ": wrong length");
  for (char c : v) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return Status::InvalidArgument(std::string(what) + ": not lower-case hex");
    }
  }
  return HexDecode(v);
}

StatusOr<uint64_t> Number(std::string_view v, std::string_view what) {
  uint64_t n = 0;
  if (v.empty() || v.size() > 19 || (v.size() > 1 && v[0] == '0')) {
    return Status::InvalidArgument(std::string(what) + ": not a number");
  }
  auto r = std::from_chars(v.data(), v.data() + v.size(), n);
  if (r.ec != std::errc() || r.ptr != v.data() + v.size()) {
    return Status::InvalidArgument(std::string(what) + ": not a number");
  }
  return n;
}

// "<ms> <iso>" -> ms, and the ISO part must match.
StatusOr<int64_t> Time(std::string_view v) {
  size_t sp = v.find(' ');
  if (sp == std::string_view::npos) return Status::InvalidArgument("time: expected '<ms> <ISO 8601>'");
  VIGIL_ASSIGN_OR_RETURN(uint64_t ms, Number(v.substr(0, sp), "time"));
  if (ms > 253402300799999ULL) return Status::InvalidArgument("time: out of range");
  if (IsoUtc(static_cast<int64_t>(ms)) != v.substr(sp + 1)) {
    return Status::InvalidArgument("time: the ISO 8601 form does not match the milliseconds");
  }
  return static_cast<int64_t>(ms);
}

std::string TimeValue(int64_t ms) { return std::to_string(ms) + " " + IsoUtc(ms); }

Status CheckSize(ByteSpan text) {
  if (text.size() > kMaxTokenText) return Status::InvalidArgument("evidence text too large");
  for (uint8_t c : text) {
    if (c == '\r' || c == 0 || c >= 0x80) return Status::InvalidArgument("evidence text has a bad character");
  }
  return Status::Ok();
}

// Parses a "signature <hex>" line and checks it over `statement`.
StatusOr<Bytes> SignatureLine(Lines& lines, std::string_view statement, ByteSpan key) {
  VIGIL_ASSIGN_OR_RETURN(auto sv, lines.Field("signature"));
  VIGIL_ASSIGN_OR_RETURN(Bytes sig, Hex(sv, 64, "signature"));
  Status v = crypto::Verify(key, AsBytes(statement), sig);
  if (!v.ok()) return Status::Unauthenticated("signature does not verify");
  return sig;
}

}  // namespace

std::string IsoUtc(int64_t ms) {
  time_t secs = static_cast<time_t>(ms / 1000);
  struct tm tm;
  gmtime_r(&secs, &tm);
  char buf[96];
  snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
           tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms % 1000));
  return buf;
}

// --- Commitments ---

std::string CommitmentText(const Commitment& c) {
  std::string t = std::string(kCommitmentMagic) + "\n";
  t += "note " + HexEncode(c.note_id) + "\n";
  t += "version " + std::to_string(c.version) + "\n";
  t += "signed-sha256 " + HexEncode(c.signed_sha256) + "\n";
  t += "salt " + HexEncode(c.salt) + "\n";
  t += "previous " + (c.previous.empty() ? std::string("none") : HexEncode(c.previous)) + "\n";
  return t;
}

Bytes CommitmentDigest(const Commitment& c) { return crypto::Sha256(AsBytes(CommitmentText(c))); }

StatusOr<Commitment> ParseCommitment(std::string_view text) {
  VIGIL_RETURN_IF_ERROR(CheckSize(AsBytes(text)));
  Lines l(text);
  Commitment c;
  VIGIL_RETURN_IF_ERROR(l.Magic(kCommitmentMagic));
  VIGIL_ASSIGN_OR_RETURN(auto note, l.Field("note"));
  VIGIL_ASSIGN_OR_RETURN(c.note_id, Hex(note, 16, "note"));
  VIGIL_ASSIGN_OR_RETURN(auto ver, l.Field("version"));
  VIGIL_ASSIGN_OR_RETURN(uint64_t v, Number(ver, "version"));
  if (v == 0 || v > 0xffffffffu) return Status::InvalidArgument("version: out of range");
  c.version = static_cast<uint32_t>(v);
  VIGIL_ASSIGN_OR_RETURN(auto sh, l.Field("signed-sha256"));
  VIGIL_ASSIGN_OR_RETURN(c.signed_sha256, Hex(sh, 32, "signed-sha256"));
  VIGIL_ASSIGN_OR_RETURN(auto salt, l.Field("salt"));
  VIGIL_ASSIGN_OR_RETURN(c.salt, Hex(salt, 32, "salt"));
  VIGIL_ASSIGN_OR_RETURN(auto prev, l.Field("previous"));
  if (prev != "none") {
    VIGIL_ASSIGN_OR_RETURN(c.previous, Hex(prev, 32, "previous"));
  }
  if (!l.AtEnd()) return Status::InvalidArgument("commitment: unexpected text after the last line");
  return c;
}

// --- Notary ---

std::string NotaryStatement(ByteSpan relay_key, ByteSpan digest, int64_t time_ms, uint64_t sequence) {
  std::string t = std::string(kNotaryMagic) + "\n";
  t += "relay " + HexEncode(relay_key) + "\n";
  t += "digest " + HexEncode(digest) + "\n";
  t += "time " + TimeValue(time_ms) + "\n";
  t += "sequence " + std::to_string(sequence) + "\n";
  return t;
}

StatusOr<NotaryToken> ParseNotaryToken(ByteSpan token) {
  VIGIL_RETURN_IF_ERROR(CheckSize(token));
  std::string text = ToString(token);
  Lines l(text);
  NotaryToken t;
  VIGIL_RETURN_IF_ERROR(l.Magic(kNotaryMagic));
  VIGIL_ASSIGN_OR_RETURN(auto relay, l.Field("relay"));
  VIGIL_ASSIGN_OR_RETURN(t.relay_key, Hex(relay, 32, "relay"));
  VIGIL_ASSIGN_OR_RETURN(auto digest, l.Field("digest"));
  VIGIL_ASSIGN_OR_RETURN(t.digest, Hex(digest, 32, "digest"));
  VIGIL_ASSIGN_OR_RETURN(auto time, l.Field("time"));
  VIGIL_ASSIGN_OR_RETURN(t.time_ms, Time(time));
  VIGIL_ASSIGN_OR_RETURN(auto seq, l.Field("sequence"));
  VIGIL_ASSIGN_OR_RETURN(t.sequence, Number(seq, "sequence"));
  t.statement = text.substr(0, l.pos());
  VIGIL_ASSIGN_OR_RETURN(t.signature, SignatureLine(l, t.statement, t.relay_key));
  if (!l.AtEnd()) return Status::InvalidArgument("notary token: unexpected text after the signature");
  return t;
}

StatusOr<NotaryToken> VerifyNotaryToken(ByteSpan token, ByteSpan digest, ByteSpan relay_key) {
  auto t = ParseNotaryToken(token);
  if (!t.ok()) return t.status().WithContext("notary token");
  if (!crypto::ConstantTimeEqual(t->digest, digest)) {
    return Status::Unauthenticated("notary token is for another digest");
  }
  if (!relay_key.empty() && !crypto::ConstantTimeEqual(t->relay_key, relay_key)) {
    return Status::Unauthenticated("notary token was signed by another relay");
  }
  return t;
}

// --- Checkpoints ---

std::string CheckpointStatement(ByteSpan log_key, uint64_t size, ByteSpan root, int64_t time_ms) {
  std::string t = std::string(kCheckpointMagic) + "\n";
  t += "log " + HexEncode(log_key) + "\n";
  t += "size " + std::to_string(size) + "\n";
  t += "root " + HexEncode(root) + "\n";
  t += "time " + TimeValue(time_ms) + "\n";
  return t;
}

std::string CheckpointText(const Checkpoint& cp) {
  return cp.statement + "signature " + HexEncode(cp.signature) + "\n";
}

namespace {
StatusOr<Checkpoint> ParseCheckpointLines(std::string_view text, Lines& l, ByteSpan log_key) {
  size_t start = l.pos();
  Checkpoint cp;
  VIGIL_RETURN_IF_ERROR(l.Magic(kCheckpointMagic));
  VIGIL_ASSIGN_OR_RETURN(auto key, l.Field("log"));
  VIGIL_ASSIGN_OR_RETURN(cp.log_key, Hex(key, 32, "log"));
  VIGIL_ASSIGN_OR_RETURN(auto size, l.Field("size"));
  VIGIL_ASSIGN_OR_RETURN(cp.size, Number(size, "size"));
  VIGIL_ASSIGN_OR_RETURN(auto root, l.Field("root"));
  VIGIL_ASSIGN_OR_RETURN(cp.root, Hex(root, 32, "root"));
  VIGIL_ASSIGN_OR_RETURN(auto time, l.Field("time"));
  VIGIL_ASSIGN_OR_RETURN(cp.time_ms, Time(time));
  cp.statement = std::string(text.substr(start, l.pos() - start));
  if (!log_key.empty() && !crypto::ConstantTimeEqual(cp.log_key, log_key)) {
    return Status::Unauthenticated("checkpoint is from another log");
  }
  auto sig = SignatureLine(l, cp.statement, cp.log_key);
  if (!sig.ok()) return sig.status().WithContext("checkpoint");
  cp.signature = std::move(*sig);
  return cp;
}
}  // namespace

StatusOr<Checkpoint> ParseCheckpoint(std::string_view text, ByteSpan log_key) {
  VIGIL_RETURN_IF_ERROR(CheckSize(AsBytes(text)));
  Lines l(text);
  VIGIL_ASSIGN_OR_RETURN(Checkpoint cp, ParseCheckpointLines(text, l, log_key));
  if (!l.AtEnd()) return Status::InvalidArgument("checkpoint: unexpected text after the signature");
  return cp;
}

// --- Inclusion tokens ---

std::string InclusionTokenText(const InclusionToken& t) {
  std::string s = std::string(kInclusionMagic) + "\n";
  s += "digest " + HexEncode(t.digest) + "\n";
  s += "index " + std::to_string(t.index) + "\n";
  for (const Bytes& p : t.proof) s += "proof " + HexEncode(p) + "\n";
  s += CheckpointText(t.checkpoint);
  return s;
}

StatusOr<InclusionToken> VerifyInclusionToken(ByteSpan token, ByteSpan digest, ByteSpan log_key) {
  VIGIL_RETURN_IF_ERROR(CheckSize(token));
  std::string text = ToString(token);
  Lines l(text);
  InclusionToken t;
  auto bad = [](const Status& s) { return s.WithContext("log inclusion token"); };
  if (Status s = l.Magic(kInclusionMagic); !s.ok()) return bad(s);
  auto dv = l.Field("digest");
  if (!dv.ok()) return bad(dv.status());
  auto d = Hex(*dv, 32, "digest");
  if (!d.ok()) return bad(d.status());
  t.digest = std::move(*d);
  auto iv = l.Field("index");
  if (!iv.ok()) return bad(iv.status());
  auto idx = Number(*iv, "index");
  if (!idx.ok()) return bad(idx.status());
  t.index = *idx;
  while (true) {
    auto peek = l.Peek();
    if (!peek || peek->substr(0, 6) != "proof ") break;
    if (t.proof.size() >= kMaxProofHashes) return bad(Status::InvalidArgument("too many proof hashes"));
    auto pv = l.Field("proof");
    if (!pv.ok()) return bad(pv.status());
    auto p = Hex(*pv, 32, "proof");
    if (!p.ok()) return bad(p.status());
    t.proof.push_back(std::move(*p));
  }
  auto cp = ParseCheckpointLines(text, l, log_key);
  if (!cp.ok()) return bad(cp.status());
  t.checkpoint = std::move(*cp);
  if (!l.AtEnd()) return bad(Status::InvalidArgument("unexpected text after the checkpoint"));
  if (!crypto::ConstantTimeEqual(t.digest, digest)) {
    return Status::Unauthenticated("log inclusion token is for another digest");
  }
  Status inc = VerifyInclusion(LeafHash(t.digest), t.index, t.checkpoint.size, t.proof, t.checkpoint.root);
  if (!inc.ok()) return inc;
  return t;
}

std::string ConsistencyText(uint64_t first, uint64_t second, const std::vector<Bytes>& proof) {
  std::string s = std::string(kConsistencyMagic) + "\n";
  s += "first " + std::to_string(first) + "\nsecond " + std::to_string(second) + "\n";
  for (const Bytes& p : proof) s += "proof " + HexEncode(p) + "\n";
  return s;
}

StatusOr<std::vector<Bytes>> ParseConsistency(std::string_view text, uint64_t first, uint64_t second) {
  VIGIL_RETURN_IF_ERROR(CheckSize(AsBytes(text)));
  Lines l(text);
  VIGIL_RETURN_IF_ERROR(l.Magic(kConsistencyMagic));
  VIGIL_ASSIGN_OR_RETURN(auto fv, l.Field("first"));
  VIGIL_ASSIGN_OR_RETURN(uint64_t f, Number(fv, "first"));
  VIGIL_ASSIGN_OR_RETURN(auto sv, l.Field("second"));
  VIGIL_ASSIGN_OR_RETURN(uint64_t s, Number(sv, "second"));
  if (f != first || s != second) return Status::InvalidArgument("consistency proof for other tree sizes");
  std::vector<Bytes> proof;
  while (!l.AtEnd()) {
    if (proof.size() >= kMaxProofHashes) return Status::InvalidArgument("too many proof hashes");
    VIGIL_ASSIGN_OR_RETURN(auto pv, l.Field("proof"));
    VIGIL_ASSIGN_OR_RETURN(Bytes p, Hex(pv, 32, "proof"));
    proof.push_back(std::move(p));
  }
  return proof;
}

// --- Export statements ---

namespace {
constexpr char kExportMagic[] = "vigil-export-v1";

// "notary", "tlog", "rfc3161-<k>" -> rank for ordering (rfc3161-k after tlog).
std::optional<uint64_t> AnchorRank(std::string_view a) {
  if (a == "notary") return 0;
  if (a == "tlog") return 1;
  if (a.substr(0, 8) != "rfc3161-") return std::nullopt;
  auto k = Number(a.substr(8), "anchor");
  if (!k.ok() || *k == 0 || *k > 16) return std::nullopt;
  return 1 + *k;
}

// Splits "a b c" on single spaces into exactly `n` parts.
std::optional<std::vector<std::string_view>> Words(std::string_view line, size_t n) {
  std::vector<std::string_view> out;
  size_t pos = 0;
  while (out.size() + 1 < n) {
    size_t sp = line.find(' ', pos);
    if (sp == std::string_view::npos) return std::nullopt;
    out.push_back(line.substr(pos, sp - pos));
    pos = sp + 1;
  }
  out.push_back(line.substr(pos));
  for (auto w : out) {
    if (w.empty() || w.find(' ') != std::string_view::npos) return std::nullopt;
  }
  return out;
}
}  // namespace

std::string ExportStatementText(const ExportStatement& s) {
  std::string t = std::string(kExportMagic) + "\n";
  t += "exporter " + s.exporter + "\n";
  t += "identity " + HexEncode(s.identity_key) + "\n";
  t += "device " + HexEncode(s.device_id) + "\n";
  t += "time " + TimeValue(s.time_ms) + "\n";
  t += "manifest " + HexEncode(s.manifest_sha256) + "\n";
  t += "notes " + std::to_string(s.notes.size()) + "\n";
  for (const auto& n : s.notes) {
    t += "note " + HexEncode(n.note_id) + " versions " + std::to_string(n.versions.size()) + " head " +
         std::to_string(n.head) + "\n";
    for (const auto& v : n.versions) {
      std::string anchors;
      for (const auto& a : v.anchors) anchors += (anchors.empty() ? "" : ",") + a;
      t += "version " + std::to_string(v.number) + " " + v.stem + " " + HexEncode(v.hash) + " anchors " +
           (anchors.empty() ? std::string("none") : anchors) + "\n";
    }
  }
  return t;
}

StatusOr<ExportStatement> ParseExportStatement(std::string_view text) {
  if (text.size() > kMaxExportStatement) return Status::InvalidArgument("export statement too large");
  for (char c : text) {
    if (static_cast<unsigned char>(c) < 0x20 && c != '\n') {  // names may be UTF-8
      return Status::InvalidArgument("export statement has a control character");
    }
  }
  Lines l(text);
  ExportStatement s;
  VIGIL_RETURN_IF_ERROR(l.Magic(kExportMagic));
  VIGIL_ASSIGN_OR_RETURN(auto exporter, l.Field("exporter"));
  if (exporter.size() > 64) return Status::InvalidArgument("exporter: name too long");
  s.exporter = std::string(exporter);
  VIGIL_ASSIGN_OR_RETURN(auto id, l.Field("identity"));
  VIGIL_ASSIGN_OR_RETURN(s.identity_key, Hex(id, 32, "identity"));
  VIGIL_ASSIGN_OR_RETURN(auto dev, l.Field("device"));
  VIGIL_ASSIGN_OR_RETURN(s.device_id, Hex(dev, 16, "device"));
  VIGIL_ASSIGN_OR_RETURN(auto time, l.Field("time"));
  VIGIL_ASSIGN_OR_RETURN(s.time_ms, Time(time));
  VIGIL_ASSIGN_OR_RETURN(auto man, l.Field("manifest"));
  VIGIL_ASSIGN_OR_RETURN(s.manifest_sha256, Hex(man, 32, "manifest"));
  VIGIL_ASSIGN_OR_RETURN(auto nv, l.Field("notes"));
  VIGIL_ASSIGN_OR_RETURN(uint64_t note_count, Number(nv, "notes"));
  if (note_count == 0 || note_count > 10000) return Status::InvalidArgument("notes: out of range");
  for (uint64_t i = 0; i < note_count; ++i) {
    VIGIL_ASSIGN_OR_RETURN(auto nl, l.Field("note"));
    auto w = Words(nl, 5);
    if (!w || (*w)[1] != "versions" || (*w)[3] != "head") {
      return Status::InvalidArgument("expected 'note <id> versions <n> head <n>'");
    }
    ExportNote n;
    VIGIL_ASSIGN_OR_RETURN(n.note_id, Hex((*w)[0], 16, "note"));
    if (!s.notes.empty() && !(s.notes.back().note_id < n.note_id)) {
      return Status::InvalidArgument("notes are not in ascending order of id");
    }
    VIGIL_ASSIGN_OR_RETURN(uint64_t count, Number((*w)[2], "versions"));
    VIGIL_ASSIGN_OR_RETURN(uint64_t head, Number((*w)[4], "head"));
    if (count == 0 || count > 10000 || head == 0 || head > 0xffffffffu) {
      return Status::InvalidArgument("note: versions or head out of range");
    }
    n.head = static_cast<uint32_t>(head);
    uint32_t highest = 0;
    for (uint64_t j = 0; j < count; ++j) {
      VIGIL_ASSIGN_OR_RETURN(auto vl, l.Field("version"));
      auto vw = Words(vl, 5);
      if (!vw || (*vw)[3] != "anchors") {
        return Status::InvalidArgument("expected 'version <n> <stem> <hash> anchors <list>'");
      }
      ExportVersion v;
      VIGIL_ASSIGN_OR_RETURN(uint64_t number, Number((*vw)[0], "version"));
      if (number == 0 || number > 0xffffffffu) return Status::InvalidArgument("version: out of range");
      v.number = static_cast<uint32_t>(number);
      v.stem = std::string((*vw)[1]);
      VIGIL_ASSIGN_OR_RETURN(v.hash, Hex((*vw)[2], 32, "version hash"));
      std::string plain = "v" + std::to_string(v.number);
      if (v.stem != plain && v.stem != plain + "-" + HexEncode(v.hash).substr(0, 8)) {
        return Status::InvalidArgument("version: the file stem does not match the number and hash");
      }
      if (!n.versions.empty() && (n.versions.back().number > v.number ||
                                  (n.versions.back().number == v.number && n.versions.back().stem >= v.stem))) {
        return Status::InvalidArgument("versions are not in bundle order");
      }
      std::string_view list = (*vw)[4];
      if (list != "none") {
        uint64_t last_rank = 0;
        size_t pos = 0;
        while (pos <= list.size()) {
          size_t comma = list.find(',', pos);
          std::string_view a = list.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos);
          auto rank = AnchorRank(a);
          if (!rank || (!v.anchors.empty() && *rank <= last_rank)) {
            return Status::InvalidArgument("anchors: unknown, repeated or out of order");
          }
          last_rank = *rank;
          v.anchors.emplace_back(a);
          if (comma == std::string_view::npos) break;
          pos = comma + 1;
        }
      }
      highest = std::max(highest, v.number);
      n.versions.push_back(std::move(v));
    }
    if (highest != n.head) return Status::InvalidArgument("note: head is not its highest version");
    s.notes.push_back(std::move(n));
  }
  if (!l.AtEnd()) return Status::InvalidArgument("export statement: unexpected text after the last note");
  return s;
}

}  // namespace vigil::evidence
