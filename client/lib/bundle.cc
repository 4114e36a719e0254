// Evidence bundles: export (a Client method) and verification (no store
// needed). See client/lib/bundle.h and docs/EVIDENCE.md.
#include "client/lib/bundle.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include "client/lib/client.h"
#include "client/lib/pem.h"
#include "client/lib/store_util.h"
#include "vigil/evidence.h"
#include "vigil/identity.h"
#include "vigil/plugin.h"

namespace vigil::client {
namespace {

namespace sv1 = store::v1;
namespace v1 = wire::v1;


std::string Hex8(ByteSpan b) { return HexEncode(b).substr(0, 8); }

// Offset of a length-delimited protobuf field's payload inside `msg`:
// finds tag, length and exactly `payload`. npos if absent.
size_t FieldOffset(ByteSpan msg, int field, ByteSpan payload) {
  Bytes prefix;
  prefix.push_back(static_cast<uint8_t>((field << 3) | 2));
  uint64_t n = payload.size();
  do {
    uint8_t b = n & 0x7f;
    n >>= 7;
    prefix.push_back(b | (n ? 0x80 : 0));
  } while (n);
  Bytes needle = prefix;
  needle.insert(needle.end(), payload.begin(), payload.end());
  auto it = std::search(msg.begin(), msg.end(), needle.begin(), needle.end());
  if (it == msg.end()) return std::string::npos;
  return static_cast<size_t>(it - msg.begin()) + prefix.size();
}

// Reads a regular file of at most `max` bytes. Anything else (a FIFO, a
// device, a socket, a symlink) is refused without being read, so it cannot
// block: lstat first, then open with O_NOFOLLOW | O_NONBLOCK and check the
// descriptor again (the path may have been swapped in between). The error
// says what is wrong, without the path (the caller names the file).
StatusOr<std::string> ReadFile(const std::string& path, size_t max) {
  struct stat sb;
  if (lstat(path.c_str(), &sb) != 0) return Status::NotFound("is missing");
  if (!S_ISREG(sb.st_mode)) return Status::InvalidArgument("is not a regular file (refused without reading it)");
  int fd = open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return Status::NotFound("cannot be opened");
  std::string data;
  Status s = Status::Ok();
  if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
    s = Status::InvalidArgument("is not a regular file (refused without reading it)");
  } else if (static_cast<size_t>(sb.st_size) > max) {
    s = Status::InvalidArgument("is too large");
  } else {
    data.resize(static_cast<size_t>(sb.st_size));
    size_t got = 0;
    while (got < data.size()) {
      ssize_t n = read(fd, data.data() + got, data.size() - got);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      got += static_cast<size_t>(n);
    }
    if (got != data.size()) s = Status::Internal("cannot be read completely");
  }
  close(fd);
  if (!s.ok()) return s;
  return data;
}

Status WriteFile(const std::string& path, std::string_view data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
  out.close();
  if (!out) return Status::Internal("cannot write " + path);
  return Status::Ok();
}

// od-style hex of a byte range of a file, as a shell expression.
std::string RangeHex(const std::string& file, size_t offset, size_t len) {
  return "$(tail -c +" + std::to_string(offset + 1) + " " + file + " | head -c " + std::to_string(len) +
         " | od -An -tx1 | tr -d ' \\n')";
}
std::string PemKeyHex(const std::string& pem) {
  return "$(openssl pkey -pubin -in " + pem + " -outform DER | tail -c 32 | od -An -tx1 | tr -d ' \\n')";
}
std::string Line(const std::string& file, size_t n) {
  return "$(head -n " + std::to_string(n) + " " + file + " | tail -n 1)";
}

struct VersionOut {
  std::string stem;  // note-<id>/v<N>
  int number = 0;
  Bytes hash;
  std::string author;
  int64_t created_at_ms = 0;
  std::vector<std::string> anchor_lines;  // for VERIFY.md's claims
  std::string checks;                     // shell commands
  int64_t earliest_anchor_ms = 0;
  bool notary = false, tlog = false;  // which anchor files it has
  int rfc3161 = 0;
};

}  // namespace

StatusOr<std::vector<std::pair<std::string, std::string>>> ParseManifest(std::string_view text) {
  std::vector<std::pair<std::string, std::string>> out;
  if (text.size() > kMaxBundleFiles * 300) return Status::InvalidArgument("MANIFEST.sha256 is too large");
  size_t pos = 0;
  std::set<std::string> seen;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) return Status::InvalidArgument("MANIFEST.sha256: last line is not complete");
    std::string_view line = text.substr(pos, nl - pos);
    pos = nl + 1;
    if (line.size() < 67 || line.substr(64, 2) != "  ") {
      return Status::InvalidArgument("MANIFEST.sha256: a line is not '<sha256>  <file>'");
    }
    std::string hash(line.substr(0, 64));
    for (char c : hash) {
      if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
        return Status::InvalidArgument("MANIFEST.sha256: a hash is not lower-case hex");
      }
    }
    std::string path(line.substr(66));
    if (path.size() > 200 || path[0] == '/' || path.find("..") != std::string::npos ||
        path.find_first_of("\\\r\t") != std::string::npos || path == kBundleManifest || path == kExportStatement ||
        path == kExportSigned || path == kExportSignature) {
      return Status::InvalidArgument("MANIFEST.sha256: bad file name '" + path.substr(0, 60) + "'");
    }
    if (!seen.insert(path).second) return Status::InvalidArgument("MANIFEST.sha256 lists " + path + " twice");
    if (out.size() >= kMaxBundleFiles) return Status::InvalidArgument("MANIFEST.sha256 lists too many files");
    out.emplace_back(hash, path);
  }
  if (out.empty()) return Status::InvalidArgument("MANIFEST.sha256 is empty");
  return out;
}

Status Client::Export(const std::string& id, bool is_visit, const std::string& out_dir) {
  std::vector<std::string> note_ids;
  if (is_visit) {
    VIGIL_ASSIGN_OR_RETURN(auto notes, ListNotes(id));
    for (const auto& n : notes) note_ids.push_back(n.id);
    if (note_ids.empty()) return Status::NotFound("visit " + id + " has no notes on this device");
  } else {
    VIGIL_ASSIGN_OR_RETURN(std::string nid, ResolveNoteId(id));
    note_ids.push_back(nid);
  }
  std::sort(note_ids.begin(), note_ids.end());
  // The directory must be new (or empty): a bundle is never mixed with other files.
  if (DIR* d = opendir(out_dir.c_str())) {
    int entries = 0;
    while (dirent* e = readdir(d)) {
      if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) ++entries;
    }
    closedir(d);
    if (entries > 0) return Status::AlreadyExists(out_dir + " is not empty; export into a new directory");
  } else if (mkdir(out_dir.c_str(), 0755) != 0) {
    return Status::Internal("cannot create " + out_dir);
  }

  std::map<std::string, std::string> files;  // relative path -> content
  VIGIL_ASSIGN_OR_RETURN(auto relay_key, RequireConfig(db_, "relay_signing_public"));
  VIGIL_ASSIGN_OR_RETURN(files["keys/relay.pem"], Ed25519PublicPem(relay_key.span()));
  VIGIL_ASSIGN_OR_RETURN(const Keys* me_keys, LoadKeys());
  const Keys& me = *me_keys;
  std::map<std::string, std::string> tsa_files;  // CA PEM -> keys/tsa-N-ca.pem
  // What this device signs as exported (EXPORT.txt): who, when, and every
  // version and timestamp, so that nothing can be dropped unnoticed.
  evidence::ExportStatement statement;
  VIGIL_ASSIGN_OR_RETURN(statement.exporter, MyName());
  statement.identity_key = me.identity_public;
  statement.device_id = me.device_id;
  statement.time_ms = NowMs();
  std::string md_notes, md_checks;
  std::set<std::string> md_authors;

  // A device's key and its certificate by its member's identity key, with
  // VERIFY.md's check of it (once per device).
  auto add_device = [&](const Bytes& device, const std::string& owner) -> Status {
    std::string dev_hex = HexEncode(device);
    std::string dev_stem = "keys/device-" + dev_hex;
    Bytes cert, cert_sig;
    {
      VIGIL_ASSIGN_OR_RETURN(auto cs, db_.Prepare(
          "SELECT certificate, certificate_signature FROM contact_devices WHERE device_id = ?"));
      cs.BindBlob(1, device);
      VIGIL_ASSIGN_OR_RETURN(bool have, cs.Step());
      if (have) {
        cert = cs.ColumnBlob(0);
        cert_sig = cs.ColumnBlob(1);
      } else if (device == me.device_id) {
        VIGIL_ASSIGN_OR_RETURN(auto dd, identity::CertifyDevice(me.identity_secret, me.identity_public,
                                                                me.device_id, me.signing_public, me.dh_public,
                                                                NowMs()));
        cert = ToBytes(dd.certificate());
        cert_sig = ToBytes(dd.certificate_signature());
      } else {
        return Status::NotFound("the certificate of device " + Hex8(device) + " is not on this device; sync first");
      }
    }
    sv1::DeviceCertificate parsed_cert;
    if (!parsed_cert.ParseFromArray(cert.data(), static_cast<int>(cert.size()))) {
      return Status::DataLoss("a stored device certificate does not parse");
    }
    std::string id_pem = "keys/identity-" + HexEncode(AsBytes(parsed_cert.identity_public_key())).substr(0, 16) + ".pem";
    VIGIL_ASSIGN_OR_RETURN(files[id_pem], Ed25519PublicPem(AsBytes(parsed_cert.identity_public_key())));
    VIGIL_ASSIGN_OR_RETURN(files[dev_stem + ".pem"], Ed25519PublicPem(AsBytes(parsed_cert.signing_public_key())));
    files[dev_stem + ".cert"] = ToString(cert);
    files[dev_stem + ".cert.signed"] = ToString(identity::SignedBytes(identity::kDeviceCertLabel, cert));
    files[dev_stem + ".cert.sig"] = ToString(cert_sig);
    if (md_authors.insert(dev_hex).second) {
      size_t id_off = FieldOffset(cert, 2, AsBytes(parsed_cert.identity_public_key()));
      size_t key_off = FieldOffset(cert, 4, AsBytes(parsed_cert.signing_public_key()));
      md_checks += "\n### Device " + dev_hex.substr(0, 8) + " of " + owner +
                   " is certified by " + owner + "'s identity key\n\n```sh\n" +
                   "openssl pkeyutl -verify -pubin -inkey " + id_pem + " -rawin -in " + dev_stem +
                   ".cert.signed -sigfile " + dev_stem + ".cert.sig\n" +
                   "test \"$(tail -c +" + std::to_string(identity::SignedBytes(identity::kDeviceCertLabel, {}).size() + 1) +
                   " " + dev_stem + ".cert.signed | sha256sum)\" = \"$(sha256sum < " + dev_stem + ".cert)\"\n" +
                   "test \"" + RangeHex(dev_stem + ".cert", id_off, 32) + "\" = \"" + PemKeyHex(id_pem) + "\"\n" +
                   "test \"" + RangeHex(dev_stem + ".cert", key_off, 32) + "\" = \"" + PemKeyHex(dev_stem + ".pem") +
                   "\"\necho \"OK: device " + dev_hex.substr(0, 8) + " belongs to identity " +
                   id_pem.substr(14, 16) + "\"\n```\n";
    }

    return Status::Ok();
  };

  for (const auto& nid_hex : note_ids) {
    VIGIL_ASSIGN_OR_RETURN(Bytes nid, HexDecode(nid_hex));
    std::string dir = "note-" + nid_hex;
    VIGIL_ASSIGN_OR_RETURN(auto st, db_.Prepare(
        "SELECT hash, body, signature, author_device, number, author, created_at, visit_id FROM note_versions "
        "WHERE note_id = ? AND status = 'ok' ORDER BY number, created_at, hash"));
    st.BindBlob(1, nid);
    std::vector<VersionOut> versions;
    std::map<int, int> per_number;
    std::map<Bytes, std::string> stem_of_hash;
    std::string visit_hex;
    for (;;) {
      VIGIL_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      VersionOut vo;
      vo.hash = st.ColumnBlob(0);
      Bytes body = st.ColumnBlob(1);
      Bytes sig = st.ColumnBlob(2);
      Bytes device = st.ColumnBlob(3);
      vo.number = static_cast<int>(st.ColumnInt64(4));
      vo.author = st.ColumnText(5);
      vo.created_at_ms = st.ColumnInt64(6);
      visit_hex = HexEncode(st.ColumnBlob(7));
      sv1::NoteVersion v;
      if (!v.ParseFromArray(body.data(), static_cast<int>(body.size()))) {
        return Status::DataLoss("a stored note version does not parse");
      }
      vo.stem = dir + "/v" + std::to_string(vo.number);
      if (per_number[vo.number]++ > 0) vo.stem += "-" + Hex8(vo.hash);  // a concurrent branch
      stem_of_hash[vo.hash] = vo.stem;
      Bytes signed_bytes = identity::SignedBytes(kNoteVersionLabel, body);
      files[vo.stem + ".txt"] = v.body();
      files[vo.stem + ".signed"] = ToString(signed_bytes);
      files[vo.stem + ".sig"] = ToString(sig);

      // The author's device key and its certificate by their identity key.
      std::string dev_hex = HexEncode(device);
      std::string dev_stem = "keys/device-" + dev_hex;
      VIGIL_RETURN_IF_ERROR(add_device(device, vo.author));

      // Signature, text, and commitment checks.
      std::string S = vo.stem + ".signed";
      std::string& c = vo.checks;
      c += "openssl pkeyutl -verify -pubin -inkey " + dev_stem + ".pem -rawin -in " + S + " -sigfile " + vo.stem +
           ".sig\n";
      size_t label_len = std::string(kNoteVersionLabel).size() + 1;
      if (!v.body().empty()) {
        size_t text_off = FieldOffset(body, 11, AsBytes(v.body()));
        if (text_off != std::string::npos) {
          c += "test \"$(tail -c +" + std::to_string(label_len + text_off + 1) + " " + S + " | head -c " +
               std::to_string(v.body().size()) + " | sha256sum)\" = \"$(sha256sum < " + vo.stem + ".txt)\"\n";
        }
      }
      VIGIL_ASSIGN_OR_RETURN(auto commitment, CommitmentFor(vo.hash));
      if (commitment) {
        std::string C = vo.stem + ".commitment.txt";
        files[C] = evidence::CommitmentText(*commitment);
        Bytes digest = evidence::CommitmentDigest(*commitment);
        size_t salt_off = FieldOffset(body, 13, AsBytes(v.commitment_salt()));
        c += "test \"" + Line(C, 4) + "\" = \"signed-sha256 $(sha256sum < " + S + " | cut -c1-64)\"\n";
        c += "test \"" + Line(C, 5) + "\" = \"salt " + RangeHex(S, label_len + salt_off, 32) + "\"\n";
        if (v.prev_version_hash().empty()) {
          c += "test \"" + Line(C, 6) + "\" = \"previous none\"\n";
        } else {
          auto prev = stem_of_hash.find(ToBytes(v.prev_version_hash()));
          if (prev != stem_of_hash.end()) {
            c += "test \"" + Line(C, 6) + "\" = \"previous $(sha256sum < " + prev->second +
                 ".commitment.txt | cut -c1-64)\"\n";
          }
        }
        c += "D=$(sha256sum < " + C + " | cut -c1-64)\n";
        c += "echo \"OK: " + vo.stem + " is signed by device " + dev_hex.substr(0, 8) +
             ", holds the text, and its commitment digest is $D\"\n";

        // Anchors: re-verified now; only those that hold are exported.
        VIGIL_ASSIGN_OR_RETURN(auto as, db_.Prepare(
            "SELECT source, plugin, token, trust_anchor FROM anchors WHERE version_hash = ? AND status = 'ok' "
            "ORDER BY plugin, source"));
        as.BindBlob(1, vo.hash);
        int tsa_n = 0;
        for (;;) {
          VIGIL_ASSIGN_OR_RETURN(bool arow, as.Step());
          if (!arow) break;
          std::string source = as.ColumnText(0), plugin = as.ColumnText(1);
          Bytes token = as.ColumnBlob(2), trust = as.ColumnBlob(3);
          auto t = VerifyAnchor(plugin, source, digest, token, trust);
          if (!t.ok()) continue;
          if (vo.earliest_anchor_ms == 0 || *t < vo.earliest_anchor_ms) vo.earliest_anchor_ms = *t;
          if (plugin == "notary") {
            auto nt = evidence::ParseNotaryToken(token);
            if (!nt.ok()) continue;
            std::string N = vo.stem + ".notary";
            files[N + ".txt"] = ToString(token);
            vo.notary = true;
            files[N + ".signed"] = nt->statement;
            files[N + ".sig"] = ToString(nt->signature);
            vo.anchor_lines.push_back("the relay notary signed its digest at " + evidence::IsoUtc(*t) +
                                      " (statement " + std::to_string(nt->sequence) + ")");
            c += "test \"" + Line(N + ".txt", 3) + "\" = \"digest $D\"\n";
            c += "test \"" + Line(N + ".txt", 2) + "\" = \"relay " + PemKeyHex("keys/relay.pem") + "\"\n";
            c += "test \"$(head -n 5 " + N + ".txt | sha256sum)\" = \"$(sha256sum < " + N + ".signed)\"\n";
            c += "openssl pkeyutl -verify -pubin -inkey keys/relay.pem -rawin -in " + N + ".signed -sigfile " + N +
                 ".sig\n";
            c += "echo \"OK: notary: " + Line(N + ".txt", 4) + "\"\n";
          } else if (plugin == "tlog") {
            auto it = evidence::VerifyInclusionToken(token, digest, relay_key.span());
            if (!it.ok()) continue;
            std::string T = vo.stem + ".tlog";
            files[T + ".txt"] = ToString(token);
            vo.tlog = true;
            files[T + ".checkpoint.signed"] = it->checkpoint.statement;
            files[T + ".checkpoint.sig"] = ToString(it->checkpoint.signature);
            vo.anchor_lines.push_back("the relay's transparency log holds its digest as entry " +
                                      std::to_string(it->index + 1) + " of " + std::to_string(it->checkpoint.size) +
                                      ", in a checkpoint signed at " + evidence::IsoUtc(*t));
            size_t p = it->proof.size();
            auto sides = evidence::InclusionSides(it->index, it->checkpoint.size, p);
            c += "test \"" + Line(T + ".txt", 2) + "\" = \"digest $D\"\n";
            c += "# Merkle inclusion (RFC 9162): leaf = SHA-256(0x00 || digest), then one step per proof line\n";
            c += "h=$( (printf '\\000'; printf '%s' \"$D\" | tr a-f A-F | basenc --base16 -d) | sha256sum | cut -c1-64)\n";
            for (size_t i = 0; i < p; ++i) {
              c += "P=$(head -n " + std::to_string(4 + i) + " " + T + ".txt | tail -n 1 | cut -c7-)\n";
              c += std::string("h=$(printf '01%s%s' ") + (sides[i] ? "\"$P\" \"$h\"" : "\"$h\" \"$P\"") +
                   " | tr a-f A-F | basenc --base16 -d | sha256sum | cut -c1-64)\n";
            }
            c += "test \"" + Line(T + ".txt", 3 + p + 4) + "\" = \"root $h\"\n";
            c += "test \"$(head -n " + std::to_string(3 + p + 5) + " " + T + ".txt | tail -n 5 | sha256sum)\" = \"$(sha256sum < " +
                 T + ".checkpoint.signed)\"\n";
            c += "test \"" + Line(T + ".checkpoint.signed", 2) + "\" = \"log " + PemKeyHex("keys/relay.pem") + "\"\n";
            c += "openssl pkeyutl -verify -pubin -inkey keys/relay.pem -rawin -in " + T +
                 ".checkpoint.signed -sigfile " + T + ".checkpoint.sig\n";
            c += "echo \"OK: log entry " + std::to_string(it->index + 1) + ", checkpoint " +
                 Line(T + ".checkpoint.signed", 5) + "\"\n";
          } else if (plugin == "rfc3161") {
            std::string pem = ToString(trust);
            auto tf = tsa_files.find(pem);
            if (tf == tsa_files.end()) {
              std::string name = "keys/tsa-" + std::to_string(tsa_files.size() + 1) + "-ca.pem";
              tf = tsa_files.emplace(pem, name).first;
              files[name] = pem;
            }
            std::string R = vo.stem + ".rfc3161-" + std::to_string(++tsa_n) + ".tsr";
            vo.rfc3161 = tsa_n;
            files[R] = ToString(token);
            std::string url = source.substr(std::min<size_t>(source.size(), 8));
            vo.anchor_lines.push_back("the time-stamping authority " + url + " (trust anchor " + tf->second +
                                      ") signed its digest at " + evidence::IsoUtc(*t));
            c += "openssl ts -verify -digest \"$D\" -in " + R + " -CAfile " + tf->second + " -attime " +
                 std::to_string(*t / 1000 + 1) + "\n";
          }
        }
      }
      versions.push_back(std::move(vo));
    }
    if (versions.empty()) continue;
    evidence::ExportNote& en = statement.notes.emplace_back();
    en.note_id = nid;
    for (const auto& vo : versions) {
      evidence::ExportVersion& ev = en.versions.emplace_back();
      ev.number = static_cast<uint32_t>(vo.number);
      ev.stem = vo.stem.substr(dir.size() + 1);
      ev.hash = vo.hash;
      if (vo.notary) ev.anchors.push_back("notary");
      if (vo.tlog) ev.anchors.push_back("tlog");
      for (int k = 1; k <= vo.rfc3161; ++k) ev.anchors.push_back("rfc3161-" + std::to_string(k));
      en.head = std::max(en.head, ev.number);
    }
    std::sort(en.versions.begin(), en.versions.end(), [](const auto& a, const auto& b) {
      return a.number != b.number ? a.number < b.number : a.stem < b.stem;
    });
    md_notes += "\n## Note " + nid_hex + " (visit " + visit_hex + ")\n\n";
    for (const auto& vo : versions) {
      md_notes += "- **Version " + std::to_string(vo.number) + "** (`" + vo.stem + ".txt`): written by **" +
                  vo.author + "**, whose device clock said " + evidence::IsoUtc(vo.created_at_ms) +
                  " (the author's own claim). ";
      if (vo.earliest_anchor_ms > 0) {
        md_notes += "It existed, exactly as in this bundle, **no later than " + evidence::IsoUtc(vo.earliest_anchor_ms) +
                    "**:\n";
        for (const auto& a : vo.anchor_lines) md_notes += "  - " + a + ";\n";
      } else {
        md_notes += "No independent timestamp was available when this bundle was made.\n";
      }
      md_checks += "\n### " + vo.stem + "\n\n```sh\n" + vo.checks + "```\n";
    }
  }
  if (statement.notes.empty()) return Status::NotFound("no verified note versions to export");

  // The exporting device, and VERIFY.md's check of its statement: the
  // signature, the manifest digest, and each listed version and timestamp
  // (line by line, so that a missing one fails).
  VIGIL_RETURN_IF_ERROR(add_device(me.device_id, statement.exporter));
  {
    std::string me_dev = "keys/device-" + HexEncode(me.device_id);
    std::string me_id = "keys/identity-" + HexEncode(me.identity_public).substr(0, 16) + ".pem";
    size_t label_len = identity::SignedBytes(evidence::kExportStatementLabel, {}).size();
    size_t note_label_len = identity::SignedBytes(kNoteVersionLabel, {}).size();
    std::string& c = md_checks;
    c += "\n### The exporter's signed statement lists every version and timestamp\n\n```sh\n";
    c += "openssl pkeyutl -verify -pubin -inkey " + me_dev + ".pem -rawin -in EXPORT.signed -sigfile EXPORT.sig\n";
    c += "test \"$(tail -c +" + std::to_string(label_len + 1) + " EXPORT.signed | sha256sum)\" = \"$(sha256sum < EXPORT.txt)\"\n";
    c += "test \"" + Line("EXPORT.txt", 3) + "\" = \"identity " + PemKeyHex(me_id) + "\"\n";
    c += "test \"" + Line("EXPORT.txt", 4) + "\" = \"device " + HexEncode(me.device_id) + "\"\n";
    c += "test \"" + Line("EXPORT.txt", 6) + "\" = \"manifest $(sha256sum < MANIFEST.sha256 | cut -c1-64)\"\n";
    c += "test \"" + Line("EXPORT.txt", 7) + "\" = \"notes " + std::to_string(statement.notes.size()) + "\"\n";
    size_t line = 7;
    for (const auto& n : statement.notes) {
      std::string nd = "note-" + HexEncode(n.note_id);
      c += "test \"" + Line("EXPORT.txt", ++line) + "\" = \"note " + HexEncode(n.note_id) + " versions " +
           std::to_string(n.versions.size()) + " head " + std::to_string(n.head) + "\"\n";
      for (const auto& v : n.versions) {
        std::string stem = nd + "/" + v.stem;
        std::string anchors;
        for (const auto& a : v.anchors) anchors += (anchors.empty() ? "" : ",") + a;
        c += "test \"" + Line("EXPORT.txt", ++line) + "\" = \"version " + std::to_string(v.number) + " " + v.stem +
             " $(tail -c +" + std::to_string(note_label_len + 1) + " " + stem + ".signed | sha256sum | cut -c1-64)" +
             " anchors " + (anchors.empty() ? std::string("none") : anchors) + "\"\n";
        for (const auto& a : v.anchors) {
          c += "test -f " + stem + (a == "notary" ? ".notary.txt" : a == "tlog" ? ".tlog.txt" : "." + a + ".tsr") + "\n";
        }
      }
    }
    c += "test \"$(wc -l < EXPORT.txt)\" = \"" + std::to_string(line) + "\"\n";
    c += "echo \"OK: " + Line("EXPORT.txt", 2) + ", " + Line("EXPORT.txt", 5) + "\"\n```\n";
  }

  std::string md =
      "# Evidence bundle\n\n"
      "Exported by " + statement.exporter + " with Vigil on " + evidence::IsoUtc(statement.time_ms) +
      " (the exporting device's clock).\nEvery file is listed with its SHA-256 in `MANIFEST.sha256`; the exporter's device signed\n"
      "`EXPORT.txt`, which holds that file's SHA-256 and lists every note version and timestamp exported,\n"
      "so a version or timestamp removed later is detected. Each claim below can be checked without Vigil, with `sha256sum` (GNU coreutils)\n"
      "and `openssl` (3.0 or later); `vigil verify DIR` checks all of them at once.\n\n"
      "## What this bundle shows\n\n"
      "For each note version: who wrote it (an Ed25519 signature by the author's device, whose key is\n"
      "certified by the author's identity key), that the text is exactly what was signed, and the latest\n"
      "time at which it already existed (independent timestamps over a salted commitment to the signed\n"
      "bytes, chained to the previous version's commitment). An amendment never replaces a version: each\n"
      "version points at the one before.\n\n"
      "What it does not show: that the author's device clock was right (the author's own claim), or\n"
      "anything about a version *before* its earliest timestamp. The relay's key (`keys/relay.pem`) and any\n"
      "time-stamping authority's certificate (`keys/tsa-*-ca.pem`) are trust anchors: compare their\n"
      "fingerprints with ones obtained independently (`openssl pkey -pubin -in keys/relay.pem -outform DER |\n"
      "sha256sum`, `openssl x509 -in keys/tsa-1-ca.pem -noout -fingerprint -sha256`).\n" +
      md_notes +
      "\n## How to check each claim\n\n"
      "Run each block from this directory with `bash`. Every command must succeed (exit 0);\n"
      "`openssl pkeyutl` prints \"Signature Verified Successfully\", `openssl ts` prints\n"
      "\"Verification: OK\", and each block ends with a line starting \"OK:\".\n\n"
      "### Every file is as exported\n\n```sh\nsha256sum -c MANIFEST.sha256\n```\n" +
      md_checks;
  files["VERIFY.md"] = md;

  std::set<std::string> dirs;
  for (const auto& [path, _] : files) {
    size_t slash = path.find('/');
    if (slash != std::string::npos) dirs.insert(path.substr(0, slash));
  }
  for (const auto& d : dirs) {
    if (mkdir((out_dir + "/" + d).c_str(), 0755) != 0 && errno != EEXIST) {
      return Status::Internal("cannot create " + out_dir + "/" + d);
    }
  }
  std::string manifest;
  for (const auto& [path, content] : files) {
    VIGIL_RETURN_IF_ERROR(WriteFile(out_dir + "/" + path, content));
    manifest += HexEncode(crypto::Sha256(AsBytes(content))) + "  " + path + "\n";
  }
  VIGIL_RETURN_IF_ERROR(WriteFile(out_dir + "/" + kBundleManifest, manifest));
  statement.manifest_sha256 = crypto::Sha256(AsBytes(manifest));
  std::string text = evidence::ExportStatementText(statement);
  Bytes signed_bytes = identity::SignedBytes(evidence::kExportStatementLabel, AsBytes(text));
  VIGIL_ASSIGN_OR_RETURN(Bytes sig, crypto::Sign(me.signing_secret, signed_bytes));
  VIGIL_RETURN_IF_ERROR(WriteFile(out_dir + "/" + kExportStatement, text));
  VIGIL_RETURN_IF_ERROR(WriteFile(out_dir + "/" + kExportSigned, ToString(signed_bytes)));
  return WriteFile(out_dir + "/" + kExportSignature, ToString(sig));
}

// --- verification ---

namespace {

// Lists regular files under `root` (relative paths), refusing symlinks.
Status ListFiles(const std::string& root, const std::string& rel, std::vector<std::string>* out, int depth) {
  if (depth > 3) return Status::InvalidArgument("the bundle is nested too deeply");
  DIR* d = opendir((root + (rel.empty() ? "" : "/" + rel)).c_str());
  if (!d) return Status::NotFound("cannot read the bundle directory " + root);
  std::vector<std::string> names;
  while (dirent* e = readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") names.push_back(n);
  }
  closedir(d);
  for (const auto& n : names) {
    std::string r = rel.empty() ? n : rel + "/" + n;
    struct stat sb;
    if (lstat((root + "/" + r).c_str(), &sb) != 0) continue;
    if (S_ISDIR(sb.st_mode)) {
      VIGIL_RETURN_IF_ERROR(ListFiles(root, r, out, depth + 1));
    } else if (S_ISREG(sb.st_mode)) {
      if (out->size() >= kMaxBundleFiles) return Status::InvalidArgument("the bundle holds too many files");
      out->push_back(r);
    } else {
      return Status::InvalidArgument(r + " is not a regular file (symlinks are refused)");
    }
  }
  return Status::Ok();
}

// The decimal digits of a fingerprint, without the spaces between groups.
std::string Digits(std::string_view fp) {
  std::string d;
  for (char c : fp) {
    if (c != ' ') d += c;
  }
  return d;
}

bool IsLowerHex(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// A decimal number from 1 without leading zeros or signs.
std::optional<uint32_t> PositiveDecimal(std::string_view s) {
  if (s.empty() || s.size() > 9 || s[0] < '1' || s[0] > '9') return std::nullopt;
  uint32_t n = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + static_cast<uint32_t>(c - '0');
  }
  return n;
}

// "v<N>" -> (N, ""), "v<N>-<hash8>" -> (N, hash8).
std::optional<std::pair<uint32_t, std::string>> ParseStemName(std::string_view name) {
  if (name.size() < 2 || name[0] != 'v') return std::nullopt;
  size_t dash = name.find('-');
  auto n = PositiveDecimal(name.substr(1, dash == std::string_view::npos ? std::string_view::npos : dash - 1));
  if (!n) return std::nullopt;
  if (dash == std::string_view::npos) return std::make_pair(*n, std::string());
  std::string_view h = name.substr(dash + 1);
  if (h.size() != 8 || !IsLowerHex(h)) return std::nullopt;
  return std::make_pair(*n, std::string(h));
}

bool ParseTsaName(std::string_view path) {
  constexpr std::string_view kPrefix = "keys/tsa-", kSuffix = "-ca.pem";
  if (path.size() <= kPrefix.size() + kSuffix.size() || path.substr(0, kPrefix.size()) != kPrefix ||
      path.substr(path.size() - kSuffix.size()) != kSuffix) {
    return false;
  }
  return PositiveDecimal(path.substr(kPrefix.size(), path.size() - kPrefix.size() - kSuffix.size())).has_value();
}

Status Fail(const std::string& file, const std::string& what) {
  return Status::Unauthenticated(file + ": " + what);
}

}  // namespace

StatusOr<BundleReport> VerifyBundle(const std::string& dir, const BundlePins& pins) {
  BundleReport report;
  auto& out = report.lines;
  // 1. Every file as listed, and nothing unlisted.
  auto manifest_text = ReadFile(dir + "/" + kBundleManifest, kMaxBundleFiles * 300);
  if (!manifest_text.ok()) return Fail(kBundleManifest, manifest_text.status().message());
  auto manifest = ParseManifest(*manifest_text);
  if (!manifest.ok()) return Fail(kBundleManifest, manifest.status().message());
  std::map<std::string, std::string> content;
  for (const auto& [hash, path] : *manifest) {
    auto data = ReadFile(dir + "/" + path, kMaxBundleFileSize);
    if (!data.ok()) return Fail(path, data.status().message() + " (MANIFEST.sha256 lists it)");
    if (HexEncode(crypto::Sha256(AsBytes(*data))) != hash) {
      return Fail(path, "changed since export (its SHA-256 does not match MANIFEST.sha256)");
    }
    content[path] = std::move(*data);
  }
  // The exporter's statement, outside the manifest (it signs the manifest's
  // digest).
  std::map<std::string, std::string> export_files;
  for (const char* name : {kExportStatement, kExportSigned, kExportSignature}) {
    auto d = ReadFile(dir + "/" + name, evidence::kMaxExportStatement + 64);
    if (!d.ok()) {
      return Fail(name, d.status().message() +
                            (d.status().code() == Code::kNotFound
                                 ? ": without the exporter's signed statement nothing shows that no version or "
                                   "timestamp was removed"
                                 : ""));
    }
    export_files[name] = std::move(*d);
  }
  std::vector<std::string> present;
  VIGIL_RETURN_IF_ERROR(ListFiles(dir, "", &present, 0));
  for (const auto& p : present) {
    if (p != kBundleManifest && !content.count(p) && !export_files.count(p)) {
      return Fail(p, "is not listed in MANIFEST.sha256");
    }
  }
  if (!content.count("VERIFY.md")) return Fail("VERIFY.md", "missing");
  out.push_back("files: " + std::to_string(content.size()) + " listed in MANIFEST.sha256, all unchanged");

  // Every file a check reads is marked used; at the end, a file no check
  // read is outside the documented layout and refused.
  std::set<std::string> used = {"VERIFY.md"};
  auto find = [&](const std::string& path) -> std::map<std::string, std::string>::const_iterator {
    auto it = content.find(path);
    if (it != content.end()) used.insert(path);
    return it;
  };
  auto get = [&](const std::string& path) -> StatusOr<const std::string*> {
    auto it = find(path);
    if (it == content.end()) return Fail(path, "missing");
    return &it->second;
  };
  auto key_of = [&](const std::string& path) -> StatusOr<Bytes> {
    VIGIL_ASSIGN_OR_RETURN(const std::string* pem, get(path));
    auto k = Ed25519FromPem(*pem);
    if (!k.ok()) return Fail(path, k.status().message());
    return *k;
  };
  // A device's key, checked against its certificate by an identity key.
  struct DeviceKeys {
    Bytes device_key, identity_key;
  };
  auto check_device = [&](const std::string& device_id) -> StatusOr<DeviceKeys> {
    std::string dev = "keys/device-" + HexEncode(AsBytes(device_id));
    VIGIL_ASSIGN_OR_RETURN(const std::string* cert, get(dev + ".cert"));
    VIGIL_ASSIGN_OR_RETURN(const std::string* cert_sig, get(dev + ".cert.sig"));
    VIGIL_ASSIGN_OR_RETURN(const std::string* cert_signed, get(dev + ".cert.signed"));
    if (AsBytes(*cert_signed).size() == 0 ||
        Bytes(cert_signed->begin(), cert_signed->end()) != identity::SignedBytes(identity::kDeviceCertLabel, AsBytes(*cert))) {
      return Fail(dev + ".cert.signed", "is not the certificate's signed bytes");
    }
    sv1::DeviceCertificate c;
    if (!c.ParseFromString(*cert) || c.identity_public_key().size() != 32) {
      return Fail(dev + ".cert", "is not a device certificate");
    }
    std::string id_pem = "keys/identity-" + HexEncode(AsBytes(c.identity_public_key())).substr(0, 16) + ".pem";
    DeviceKeys keys;
    VIGIL_ASSIGN_OR_RETURN(keys.identity_key, key_of(id_pem));
    if (keys.identity_key != ToBytes(c.identity_public_key())) {
      return Fail(id_pem, "is not the identity key named in " + dev + ".cert");
    }
    v1::DirectoryDevice dd;
    dd.set_device_id(device_id);
    dd.set_certificate(*cert);
    dd.set_certificate_signature(*cert_sig);
    auto vc = identity::VerifyDevice(dd, keys.identity_key);
    if (!vc.ok()) return Fail(dev + ".cert", "the identity signature does not verify: " + vc.status().message());
    VIGIL_ASSIGN_OR_RETURN(keys.device_key, key_of(dev + ".pem"));
    if (keys.device_key != ToBytes(vc->signing_public_key())) {
      return Fail(dev + ".pem", "is not the key certified in " + dev + ".cert");
    }
    return keys;
  };
  VIGIL_ASSIGN_OR_RETURN(Bytes relay_key, key_of("keys/relay.pem"));
  std::string relay_fp = crypto::Fingerprint("vigil/relay-signing", relay_key);
  out.push_back("relay key (notary and log): " + relay_fp);
  if (!pins.relay_fingerprint.empty()) {
    if (Digits(pins.relay_fingerprint) != Digits(relay_fp)) {
      return Fail("keys/relay.pem", "its fingerprint " + relay_fp + " is not the relay fingerprint you pinned");
    }
    out.push_back("  matches the relay fingerprint you pinned");
  } else {
    report.unpinned.push_back("the relay's key (keys/relay.pem, fingerprint " + relay_fp +
                              "), on which the relay's timestamps rest");
  }
  // Identity keys by the names they sign under, for the pins and the
  // closing summary.
  std::map<std::string, std::set<std::string>> identities_of_name;  // name -> fingerprints
  std::map<std::string, std::set<std::string>> names_of_identity;   // fingerprint -> names

  // 2. Note versions, by stem: "note-<32 hex>/v<N>" or, for a second version
  // with the same number (a fork), "note-<32 hex>/v<N>-<hash8>".
  std::map<std::string, std::vector<std::string>> stems_by_note;
  for (const auto& [path, _] : content) {
    if (path.rfind("note-", 0) != 0) continue;
    size_t slash = path.find('/');
    if (slash != 37 || !IsLowerHex(std::string_view(path).substr(5, 32)) ||
        path.find('/', slash + 1) != std::string::npos) {
      return Fail(path, "is not part of the documented bundle layout (note-<32 hex>/v<N>.*)");
    }
    std::string name = path.substr(slash + 1);
    if (name.size() > 7 && name.compare(name.size() - 7, 7, ".signed") == 0 && name.find('.') == name.size() - 7) {
      std::string stem_name = name.substr(0, name.size() - 7);
      if (!ParseStemName(stem_name)) {
        return Fail(path, "is not part of the documented bundle layout (v<N>.signed or v<N>-<hash8>.signed)");
      }
      stems_by_note[path.substr(0, slash)].push_back(path.substr(0, path.size() - 7));
    }
  }
  if (stems_by_note.empty()) return Fail("bundle", "holds no note versions");
  std::string trust_note;
  std::map<std::string, std::pair<Bytes, std::vector<std::string>>> found;  // stem -> hash, anchor files
  for (auto& [note_dir, stems] : stems_by_note) {
    std::map<Bytes, Bytes> digest_by_hash;  // version body hash -> commitment digest
    struct Parsed {
      std::string stem;
      sv1::NoteVersion v;
      Bytes hash;
    };
    std::vector<Parsed> parsed;
    for (const auto& stem : stems) {
      VIGIL_ASSIGN_OR_RETURN(const std::string* signed_text, get(stem + ".signed"));
      Bytes label = identity::SignedBytes(kNoteVersionLabel, {});
      if (signed_text->size() <= label.size() || signed_text->compare(0, label.size(), ToString(label)) != 0) {
        return Fail(stem + ".signed", "is not a signed Vigil note version");
      }
      std::string body = signed_text->substr(label.size());
      Parsed p;
      p.stem = stem;
      if (!p.v.ParseFromString(body) || p.v.version() != 1 || p.v.author_device_id().size() != 16 ||
          p.v.note_id().size() != 16) {
        return Fail(stem + ".signed", "does not hold a valid note version");
      }
      if ("note-" + HexEncode(AsBytes(p.v.note_id())) != note_dir) {
        return Fail(stem + ".signed", "belongs to another note than its directory says");
      }
      p.hash = crypto::Sha256(AsBytes(body));
      // The file's name must say what the signed bytes say.
      auto named = ParseStemName(stem.substr(stem.find('/') + 1));
      if (named->first != p.v.number()) {
        return Fail(stem + ".signed", "holds version " + std::to_string(p.v.number()) + ", not the version " +
                                          std::to_string(named->first) + " its name says");
      }
      if (!named->second.empty() && named->second != Hex8(p.hash)) {
        return Fail(stem + ".signed", "holds a version whose hash does not begin with " + named->second);
      }
      parsed.push_back(std::move(p));
    }
    std::sort(parsed.begin(), parsed.end(), [](const Parsed& a, const Parsed& b) {
      return a.v.number() != b.v.number() ? a.v.number() < b.v.number() : a.stem < b.stem;
    });
    out.push_back("note " + note_dir.substr(5) + " (visit " + HexEncode(AsBytes(parsed[0].v.visit_id())) + ")");
    Bytes author_identity;  // of the note's first version: only its author amends
    std::map<Bytes, uint32_t> number_of_hash;
    std::map<uint32_t, std::vector<std::string>> stems_of_number;
    for (const auto& p : parsed) {
      found[p.stem].first = p.hash;
      if (number_of_hash.count(p.hash)) return Fail(p.stem + ".signed", "is the same version as another file");
      number_of_hash[p.hash] = p.v.number();
      stems_of_number[p.v.number()].push_back(p.stem);
    }
    if (stems_of_number.begin()->first != 1) {
      return Fail(note_dir, "holds no version 1 (the bundle starts at version " +
                                std::to_string(stems_of_number.begin()->first) + ")");
    }
    if (stems_of_number[1].size() > 1) {
      return Fail(stems_of_number[1][1] + ".signed", "is a second version 1 of the note (version numbers repeat)");
    }
    for (const auto& p : parsed) {
      const std::string& stem = p.stem;
      const auto& v = p.v;
      // Author: device key certified by the identity key.
      VIGIL_ASSIGN_OR_RETURN(DeviceKeys keys, check_device(v.author_device_id()));
      const Bytes& identity_key = keys.identity_key;
      const Bytes& device_key = keys.device_key;
      if (author_identity.empty()) {
        author_identity = identity_key;
      } else if (identity_key != author_identity) {
        return Fail(stem + ".signed", "is signed under identity " +
                                          crypto::Fingerprint("vigil/identity", identity_key) +
                                          ", not the identity of the note's author (" +
                                          crypto::Fingerprint("vigil/identity", author_identity) +
                                          "): only the author may amend a note");
      }
      // Signature and text.
      VIGIL_ASSIGN_OR_RETURN(const std::string* sig, get(stem + ".sig"));
      VIGIL_ASSIGN_OR_RETURN(const std::string* signed_text, get(stem + ".signed"));
      if (!crypto::Verify(device_key, AsBytes(*signed_text), AsBytes(*sig)).ok()) {
        return Fail(stem + ".sig", "the author's signature does not verify");
      }
      VIGIL_ASSIGN_OR_RETURN(const std::string* text, get(stem + ".txt"));
      if (*text != v.body()) return Fail(stem + ".txt", "differs from the signed text");
      // Chain to the previous version.
      Bytes previous_digest;
      if (!v.prev_version_hash().empty()) {
        auto prev = digest_by_hash.find(ToBytes(v.prev_version_hash()));
        if (prev == digest_by_hash.end()) {
          return Fail(stem + ".signed", "amends a version that is not in the bundle");
        }
        if (number_of_hash[prev->first] + 1 != v.number()) {
          return Fail(stem + ".signed", "is version " + std::to_string(v.number()) + " but amends version " +
                                            std::to_string(number_of_hash[prev->first]) +
                                            " (version numbers must run on without gaps or repeats)");
        }
        previous_digest = prev->second;
      } else if (v.number() != 1) {
        return Fail(stem + ".signed", "is not version 1 but names no previous version");
      }
      identities_of_name[v.author()].insert(crypto::Fingerprint("vigil/identity", identity_key));
      names_of_identity[crypto::Fingerprint("vigil/identity", identity_key)].insert(v.author());
      std::string who = v.author() + " (identity " + crypto::Fingerprint("vigil/identity", identity_key) + ")";
      const auto& same_number = stems_of_number[v.number()];
      if (same_number.size() > 1 && same_number[0] == stem) {
        std::string list;
        for (const auto& other : same_number) list += (list.empty() ? "" : ", ") + other.substr(other.find('/') + 1);
        out.push_back("  fork: " + std::to_string(same_number.size()) + " versions " + std::to_string(v.number()) +
                      " (" + list + ") amend the note side by side; both are shown");
      }
      std::string line = "  " + stem.substr(stem.find('/') + 1) + " by " + who + ", device clock " +
                         evidence::IsoUtc(v.created_at_ms()) + ": signature OK, text OK";
      // Commitment and anchors.
      auto ctext = find(stem + ".commitment.txt");
      if (ctext == content.end()) {
        digest_by_hash[p.hash] = {};
        out.push_back(line + ", no commitment (made before timestamps existed)");
        continue;
      }
      auto cm = evidence::ParseCommitment(ctext->second);
      if (!cm.ok()) return Fail(ctext->first, cm.status().message());
      if (cm->note_id != ToBytes(v.note_id()) || cm->version != v.number() ||
          cm->signed_sha256 != crypto::Sha256(AsBytes(*signed_text)) || cm->salt != ToBytes(v.commitment_salt()) ||
          cm->previous != previous_digest) {
        return Fail(ctext->first, "does not match the signed version (or the previous version's commitment)");
      }
      Bytes digest = crypto::Sha256(AsBytes(ctext->second));
      digest_by_hash[p.hash] = digest;
      std::vector<std::string>& found_anchors = found[stem].second;
      out.push_back(line + ", commitment OK");
      int anchors = 0;
      if (auto n = find(stem + ".notary.txt"); n != content.end()) {
        auto t = evidence::VerifyNotaryToken(AsBytes(n->second), digest, relay_key);
        if (!t.ok()) return Fail(n->first, t.status().message());
        VIGIL_ASSIGN_OR_RETURN(const std::string* ns, get(stem + ".notary.signed"));
        VIGIL_ASSIGN_OR_RETURN(const std::string* nsig, get(stem + ".notary.sig"));
        if (*ns != t->statement || Bytes(nsig->begin(), nsig->end()) != t->signature) {
          return Fail(stem + ".notary.signed", "does not match the notary statement");
        }
        out.push_back("    timestamp notary (relay): " + evidence::IsoUtc(t->time_ms) + ", statement " +
                      std::to_string(t->sequence));
        found_anchors.push_back("notary");
        ++anchors;
      }
      if (auto n = find(stem + ".tlog.txt"); n != content.end()) {
        auto t = evidence::VerifyInclusionToken(AsBytes(n->second), digest, relay_key);
        if (!t.ok()) return Fail(n->first, t.status().message());
        VIGIL_ASSIGN_OR_RETURN(const std::string* cs, get(stem + ".tlog.checkpoint.signed"));
        VIGIL_ASSIGN_OR_RETURN(const std::string* csig, get(stem + ".tlog.checkpoint.sig"));
        if (*cs != t->checkpoint.statement || Bytes(csig->begin(), csig->end()) != t->checkpoint.signature) {
          return Fail(stem + ".tlog.checkpoint.signed", "does not match the log checkpoint");
        }
        out.push_back("    timestamp tlog (relay log entry " + std::to_string(t->index + 1) + " of " +
                      std::to_string(t->checkpoint.size) + "): " + evidence::IsoUtc(t->checkpoint.time_ms));
        found_anchors.push_back("tlog");
        ++anchors;
      }
      for (int k = 1; k <= 16; ++k) {
        auto r = find(stem + ".rfc3161-" + std::to_string(k) + ".tsr");
        if (r == content.end()) break;
        // Which trust anchor: the CA files are tried in turn; the token must
        // chain to one of them.
        Status last = Fail(r->first, "no time-stamping authority certificate in keys/ verifies it");
        bool ok = false;
        for (const auto& [path, pem] : content) {
          if (path.rfind("keys/tsa-", 0) != 0) continue;
          plugin::HostOptions o;
          const char* pd = std::getenv("VIGIL_PLUGIN_DIR");
          o.dir = pd && *pd ? pd : plugin::DefaultPluginDir();
          o.only = {"rfc3161"};
          o.configs["rfc3161"] = "url=http://verify-only.invalid/\nca_pem=" + Base64Encode(AsBytes(pem)) + "\n";
          auto host = plugin::Host::Load(o);
          if (!host.ok() || !(*host)->Has("rfc3161")) {
            return Fail(r->first, "cannot be checked: the rfc3161 plugin is not installed");
          }
          auto t = (*host)->Verify("rfc3161", digest, AsBytes(r->second));
          if (t.ok()) {
            auto summary = CertificateSummary(pem);
            out.push_back("    timestamp rfc3161 (authority certified by " + path +
                          (summary.ok() ? ", " + summary->second : std::string()) + "): " + evidence::IsoUtc(*t));
            ok = true;
            break;
          }
          last = Fail(r->first, t.status().message());
        }
        if (!ok) return last;
        found_anchors.push_back("rfc3161-" + std::to_string(k));
        ++anchors;
      }
      if (anchors == 0) out.push_back("    no independent timestamp");
    }
  }
  for (const auto& [path, pem] : content) {
    if (path.rfind("keys/tsa-", 0) != 0) continue;
    if (!ParseTsaName(path)) return Fail(path, "is not part of the documented bundle layout (keys/tsa-<k>-ca.pem)");
    used.insert(path);
    auto s = CertificateSummary(pem);
    if (!s.ok()) return Fail(path, s.status().message());
    out.push_back("trust anchor " + path + ": " + s->second + ", SHA-256 " + s->first.substr(0, 64));
    if (pins.tsa_ca_pems.empty()) {
      report.unpinned.push_back("the time-stamping authority's certificate (" + path + ", " + s->second + ")");
      continue;
    }
    bool pinned = false;
    for (const auto& pinned_pem : pins.tsa_ca_pems) {
      auto ps = CertificateSummary(pinned_pem);
      pinned = pinned || (ps.ok() && ps->first == s->first);
    }
    if (!pinned) return Fail(path, "is not one of the authority certificates you pinned (--tsa-ca)");
    out.push_back("  matches an authority certificate you pinned");
  }
  // 3. The exporter's statement: its signature, then the bundle against it
  // (what is missing is named), then the manifest it signed.
  std::string exported;
  Bytes exported_manifest;
  {
    const std::string& text = export_files[kExportStatement];
    auto st = evidence::ParseExportStatement(text);
    if (!st.ok()) return Fail(kExportStatement, st.status().message());
    if (export_files[kExportSigned] != ToString(identity::SignedBytes(evidence::kExportStatementLabel, AsBytes(text)))) {
      return Fail(kExportSigned, "is not the signed bytes of EXPORT.txt");
    }
    VIGIL_ASSIGN_OR_RETURN(DeviceKeys keys, check_device(ToString(st->device_id)));
    if (keys.identity_key != st->identity_key) {
      return Fail(kExportStatement, "names another identity than the one that certified its device");
    }
    if (!crypto::Verify(keys.device_key, AsBytes(export_files[kExportSigned]), AsBytes(export_files[kExportSignature]))
             .ok()) {
      return Fail(kExportSignature, "the exporting device's signature does not verify");
    }
    exported_manifest = st->manifest_sha256;
    identities_of_name[st->exporter].insert(crypto::Fingerprint("vigil/identity", keys.identity_key));
    names_of_identity[crypto::Fingerprint("vigil/identity", keys.identity_key)].insert(st->exporter);
    std::set<std::string> listed;
    size_t version_count = 0, anchor_count = 0;
    for (const auto& n : st->notes) {
      std::string nd = "note-" + HexEncode(n.note_id);
      if (!stems_by_note.count(nd)) {
        return Fail(nd, "is listed in EXPORT.txt (" + std::to_string(n.versions.size()) +
                            " versions) but missing from the bundle");
      }
      for (const auto& v : n.versions) {
        std::string stem = nd + "/" + v.stem;
        auto f = found.find(stem);
        if (f == found.end()) {
          return Fail(stem + ".signed", "version " + std::to_string(v.number) + " of the note is listed in EXPORT.txt "
                                        "but missing from the bundle");
        }
        if (f->second.first != v.hash) {
          return Fail(stem + ".signed", "is not the version EXPORT.txt lists under that name");
        }
        auto file_of = [&](const std::string& a) {
          return stem + (a == "notary" ? ".notary.txt" : a == "tlog" ? ".tlog.txt" : "." + a + ".tsr");
        };
        auto has = [](const std::vector<std::string>& l, const std::string& a) {
          return std::find(l.begin(), l.end(), a) != l.end();
        };
        for (const auto& a : v.anchors) {
          if (!has(f->second.second, a)) {
            return Fail(file_of(a), "the " + a + " timestamp of " + v.stem + " listed in EXPORT.txt is missing");
          }
        }
        for (const auto& a : f->second.second) {
          if (!has(v.anchors, a)) return Fail(file_of(a), "is a timestamp EXPORT.txt does not list");
        }
        listed.insert(stem);
        ++version_count;
        anchor_count += v.anchors.size();
      }
    }
    for (const auto& [stem, _] : found) {
      if (!listed.count(stem)) return Fail(stem + ".signed", "is a version EXPORT.txt does not list");
    }
    exported = "exported by " + st->exporter + " (identity " + crypto::Fingerprint("vigil/identity", keys.identity_key) +
               ", device " + HexEncode(st->device_id).substr(0, 8) + ") at " + evidence::IsoUtc(st->time_ms) +
               " (the exporting device's clock); its signed statement lists " + std::to_string(st->notes.size()) +
               (st->notes.size() == 1 ? " note, " : " notes, ") + std::to_string(version_count) + " versions and " +
               std::to_string(anchor_count) + " timestamps: all present";
  }
  for (const auto& [path, _] : content) {
    if (!used.count(path)) return Fail(path, "is not part of the documented bundle layout (no check uses it)");
  }
  if (!crypto::ConstantTimeEqual(crypto::Sha256(AsBytes(*manifest_text)), exported_manifest)) {
    return Fail(kBundleManifest, "is not the manifest the exporter signed in EXPORT.txt (files were added, "
                                 "removed or changed after export)");
  }
  out.push_back(exported);
  // A name belongs to one identity key and an identity key to one name: a
  // version signed under one identity that names another member is caught
  // whenever the bundle also shows that identity's own name.
  for (const auto& [fp, names] : names_of_identity) {
    if (names.size() > 1) {
      std::string list;
      for (const auto& n : names) list += (list.empty() ? "" : " and ") + n;
      return Fail("bundle", "the identity key " + fp + " signs as both " + list +
                                ": a version names someone other than the member who signed it");
    }
  }
  for (const auto& [name, fps] : identities_of_name) {
    std::string list;
    for (const auto& fp : fps) list += (list.empty() ? "" : ", ") + fp;
    if (fps.size() > 1) {
      return Fail("bundle", "versions by different identity keys all name " + name + " as author (" + list +
                                "): a name belongs to one identity, so at least one is signed under another's name");
    }
    auto pin = pins.identities.find(name);
    if (pin == pins.identities.end()) {
      report.unpinned.push_back("the identity key of " + name + " (fingerprint " + list + ")");
      continue;
    }
    for (const auto& fp : fps) {
      if (Digits(fp) != Digits(pin->second)) {
        return Fail("keys/identity-*.pem", "the identity key signing as " + name + " (fingerprint " + fp +
                                               ") is not the one you pinned for " + name);
      }
    }
    out.push_back("identity of " + name + ": matches the fingerprint you pinned");
  }
  for (const auto& [name, _] : pins.identities) {
    if (!identities_of_name.count(name)) {
      return Fail("bundle", "you pinned an identity for " + name + ", but nobody of that name signed in this bundle");
    }
  }
  if (report.unpinned.empty()) {
    out.push_back("verified: every claim in this bundle holds, checked against the keys you pinned");
  } else {
    out.push_back("verified: every claim in this bundle holds, provided the keys it carries are genuine.");
    out.push_back("NOT PINNED: the following were taken from the bundle itself. Someone who forged the whole bundle");
    out.push_back("could have put in their own; compare each fingerprint with one obtained independently (from the");
    out.push_back("relay operator, the person in person, or the authority), or give it to vigil verify to check:");
    for (const auto& u : report.unpinned) out.push_back("  - " + u);
  }
  return report;
}

}  // namespace vigil::client
