// ACCEPTANCE.md journey 5 (relay notary and log; the RFC 3161 part is in
// evidence_tsa_test.cc): every note version is stamped on `note add`, the
// team receives the anchors, a legal adviser exports a bundle that `vigil
// verify` and the commands of its VERIFY.md (coreutils and openssl only)
// accept, and any changed byte is caught. Plus: only salted digests reach
// the relay, stamping never blocks a note, and a rewritten log raises the
// alarm.
#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <gtest/gtest.h>
#include <set>
#include <sstream>

#include "relay/server/relay_store.h"
#include "team_fixture.h"
#include "testing/local_tsa.h"
#include "vigil/evidence.h"
#include "vigil/identity.h"
#include "vigil/store/v1/store.pb.h"

namespace vigil {
namespace {

using testing::CommandResult;

constexpr char kNote1[] = "Arrived 09:50. Guard said interpreter unavailable.";
constexpr char kNote2[] = "Correction: arrived 09:55.";

std::string FirstLine(const std::string& s) { return s.substr(0, s.find('\n')); }

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void ListFiles(const std::string& root, const std::string& rel, std::vector<std::string>* out) {
  DIR* d = opendir((root + "/" + rel).c_str());
  if (!d) return;
  while (dirent* e = readdir(d)) {
    std::string n = e->d_name;
    if (n == "." || n == "..") continue;
    std::string r = rel.empty() ? n : rel + "/" + n;
    struct stat sb;
    stat((root + "/" + r).c_str(), &sb);
    if (S_ISDIR(sb.st_mode)) ListFiles(root, r, out);
    else out->push_back(r);
  }
  closedir(d);
}

// The ```sh blocks of VERIFY.md.
std::vector<std::string> ShellBlocks(const std::string& md) {
  std::vector<std::string> blocks;
  std::istringstream in(md);
  std::string line, cur;
  bool inside = false;
  while (std::getline(in, line)) {
    if (!inside && line == "```sh") {
      inside = true;
      cur.clear();
    } else if (inside && line == "```") {
      inside = false;
      blocks.push_back(cur);
    } else if (inside) {
      cur += line + "\n";
    }
  }
  return blocks;
}

// A directory of symlinks to bash, openssl and every coreutils program:
// the only tools VERIFY.md may rely on.
std::string StandardToolsDir(const testing::TempDir& dir) {
  std::string tools = dir.Sub("tools");
  mkdir(tools.c_str(), 0755);
  CommandResult r = testing::RunCommand({"/usr/bin/dpkg", "-L", "coreutils"}, {});
  std::istringstream in(r.out);
  std::string path;
  while (std::getline(in, path)) {
    if (path.rfind("/usr/bin/", 0) == 0 || path.rfind("/bin/", 0) == 0) {
      std::string name = path.substr(path.rfind('/') + 1);
      symlink(path.c_str(), (tools + "/" + name).c_str());
    }
  }
  symlink("/usr/bin/openssl", (tools + "/openssl").c_str());
  symlink("/bin/bash", (tools + "/bash").c_str());
  return tools;
}

// Writes MANIFEST.sha256 afresh for the files now in `bundle`, as anyone
// tampering with a bundle can (the exporter's EXPORT.* files are not listed).
void RewriteManifest(const std::string& bundle) {
  std::vector<std::string> files;
  ListFiles(bundle, "", &files);
  std::sort(files.begin(), files.end());
  std::string manifest;
  for (const auto& f : files) {
    if (f == "MANIFEST.sha256" || f.rfind("EXPORT.", 0) == 0) continue;  // the manifest lists neither
    manifest += HexEncode(crypto::Sha256(AsBytes(Slurp(bundle + "/" + f)))) + "  " + f + "\n";
  }
  std::ofstream(bundle + "/MANIFEST.sha256", std::ios::binary | std::ios::trunc) << manifest;
}

CommandResult Verify(const std::string& bundle, std::vector<std::string> extra = {}) {
  std::vector<std::string> argv = {std::string(VIGIL_BIN_DIR) + "/vigil", "verify", bundle};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return testing::RunCommand(argv, {}, "", 20000);
}

// The note version signed in `<stem>.signed` of a bundle.
store::v1::NoteVersion SignedVersion(const std::string& bundle, const std::string& stem) {
  std::string label = ToString(identity::SignedBytes("vigil/note-version/v1", {}));
  std::string signed_bytes = Slurp(bundle + "/" + stem + ".signed");
  store::v1::NoteVersion v;
  EXPECT_TRUE(signed_bytes.size() > label.size() && v.ParseFromString(signed_bytes.substr(label.size())));
  return v;
}

// The hash that names the version in `<stem>.signed` (SHA-256 of its body).
std::string SignedHash(const std::string& bundle, const std::string& stem) {
  size_t label = identity::SignedBytes("vigil/note-version/v1", {}).size();
  return ToString(crypto::Sha256(AsBytes(Slurp(bundle + "/" + stem + ".signed").substr(label))));
}

class EvidenceTest : public TeamTest {
 protected:
  void SetUp() override {
    TeamTest::SetUp();
    cora_ = Member("coordinator", "Cora", "cora pass");
    vic_ = Member("volunteer", "Vic", "vic pass");
    lee_ = Member("legal", "Lee", "lee pass");
    CommandResult r = cora_->Run({"visit", "assign", "--volunteer", "Vic", "--legal", "Lee", "--detainee",
                                  "D. Example", "--facility", "Theo Lacy Facility, Orange CA", "--at",
                                  "2026-12-01T10:00-08:00"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    visit_ = FirstLine(r.out);
    ASSERT_EQ(vic_->Run({"sync"}).exit_code, 0);
    ASSERT_EQ(vic_->Run({"visit", "accept", visit_}).exit_code, 0);
  }

  std::string AddNote(const std::string& text) {
    CommandResult r = vic_->Run({"note", "add", "--visit", visit_, "--text", text});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return FirstLine(r.out);
  }

  // Signs `v` with `who`'s device (whatever author it names) and writes it
  // into `bundle` as `<stem>.signed`, `.sig` and `.txt`, as a forger
  // holding that device could.
  void WriteForgedVersion(const testing::ClientFixture& who, store::v1::NoteVersion v, const std::string& bundle,
                          const std::string& stem) {
    auto cl = OpenInProcess(who);
    ASSERT_TRUE(cl);
    v.set_author_device_id(ToString(cl->Transport()->device_id));
    auto obj = cl->SignForTesting("vigil/note-version/v1", v.SerializeAsString());
    ASSERT_TRUE(obj.ok());
    std::ofstream(bundle + "/" + stem + ".signed", std::ios::binary | std::ios::trunc)
        << ToString(identity::SignedBytes("vigil/note-version/v1", AsBytes(obj->body())));
    std::ofstream(bundle + "/" + stem + ".sig", std::ios::binary | std::ios::trunc) << obj->signature();
    std::ofstream(bundle + "/" + stem + ".txt", std::ios::binary | std::ios::trunc) << v.body();
  }

  // A visit bundle exported by Lee holding Vic's note (two versions) and a
  // note of Cora's (so that her device's certificate is in it too).
  struct TwoNoteBundle {
    std::string dir, vic_note, cora_note;
  };
  TwoNoteBundle ExportTwoNotes() {
    TwoNoteBundle b;
    b.vic_note = AddNote(kNote1);
    EXPECT_EQ(vic_->Run({"note", "amend", b.vic_note, "--text", kNote2}).exit_code, 0);
    EXPECT_EQ(cora_->Run({"sync"}).exit_code, 0);
    CommandResult r = cora_->Run({"note", "add", "--visit", visit_, "--text", "Coordinator's note."});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    b.cora_note = FirstLine(r.out);
    EXPECT_EQ(lee_->Run({"sync"}).exit_code, 0);
    b.dir = dir_.Sub("two-notes");
    r = lee_->Run({"export", "--visit", visit_, "--out", b.dir});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(Verify(b.dir).exit_code, 0);
    return b;
  }

  std::unique_ptr<testing::ClientFixture> cora_, vic_, lee_;
  std::string visit_;
};

// #15: a contemporaneous record is amended only by its author.
TEST_F(EvidenceTest, OnlyTheAuthorAmendsANote) {
  testing::ClientFixture vic2(dir_, "Vic2", "vic pass 2");  // a second device of Vic's
  std::string link = FirstLine(vic_->Run({"device", "link"}).out);
  ASSERT_EQ(vic2.Run({"init"}).exit_code, 0);
  ASSERT_EQ(vic2.Run({"join", link}).exit_code, 0);
  std::string note = AddNote(kNote1);
  ASSERT_EQ(cora_->Run({"sync"}).exit_code, 0);
  CommandResult amend = cora_->Run({"note", "amend", note, "--text", "Coordinator's addition."});
  EXPECT_NE(amend.exit_code, 0);
  EXPECT_NE(amend.err.find("only the note's author, Vic, can amend note " + note.substr(0, 8)), std::string::npos)
      << amend.err;
  EXPECT_EQ(testing::CountOccurrences(amend.err, "\n"), 1u) << amend.err;

  // Cora's client would not, so she signs the amendment by hand and sends
  // it: the team quarantines it and says so at sync.
  ASSERT_EQ(lee_->Run({"sync"}).exit_code, 0);
  std::string bundle = dir_.Sub("b");
  ASSERT_EQ(lee_->Run({"export", note, "--out", bundle}).exit_code, 0);
  store::v1::NoteVersion v2 = SignedVersion(bundle, "note-" + note + "/v1");
  v2.set_number(2);
  v2.set_prev_version_hash(SignedHash(bundle, "note-" + note + "/v1"));
  v2.set_author("Cora");
  v2.set_device_seq(1);
  v2.clear_prev_device_hash();
  v2.set_body("Coordinator's addition.");
  {
    auto cl = OpenInProcess(*cora_);
    ASSERT_TRUE(cl);
    v2.set_author_device_id(ToString(cl->Transport()->device_id));
    auto obj = cl->SignForTesting("vigil/note-version/v1", v2.SerializeAsString());
    ASSERT_TRUE(obj.ok());
    cl.reset();
    Inject(*cora_, {"Lee", "Vic"}, *obj, true);
  }
  for (auto* member : {lee_.get(), vic_.get()}) {
    CommandResult sync = member->Run({"sync"});
    EXPECT_NE(sync.exit_code, 0);
    EXPECT_NE(sync.err.find("v2 rejected: only the note's author Vic may amend it; this version is by Cora"),
              std::string::npos)
        << sync.err;
    CommandResult show = member->Run({"note", "show", note, "--json"});
    EXPECT_EQ(testing::CountOccurrences(show.out, "\"status\": \"rejected\""), 1u) << show.out;
  }
  // What the team rejected is not exported.
  std::string after = dir_.Sub("after");
  ASSERT_EQ(lee_->Run({"export", note, "--out", after}).exit_code, 0);
  EXPECT_FALSE(std::ifstream(after + "/note-" + note + "/v2.signed").good());

  // Another device of the author may amend.
  vic2.Run({"sync"});  // reports the rejected forgery too
  CommandResult own = vic2.Run({"note", "amend", note, "--text", kNote2});
  ASSERT_EQ(own.exit_code, 0) << own.err;
  CommandResult lsync = lee_->Run({"sync"});
  EXPECT_EQ(lsync.err.find("rejected"), std::string::npos) << lsync.err;
  CommandResult show = lee_->Run({"note", "show", note, "--json"});
  EXPECT_NE(show.out.find(kNote2), std::string::npos) << show.out;
}

// #15: a bundle holding another member's amendment fails verify.
TEST_F(EvidenceTest, ANonAuthorsAmendmentInABundleFailsVerify) {
  TwoNoteBundle b = ExportTwoNotes();
  std::string dir = "note-" + b.vic_note;
  store::v1::NoteVersion v3 = SignedVersion(b.dir, dir + "/v2");
  v3.set_number(3);
  v3.set_prev_version_hash(SignedHash(b.dir, dir + "/v2"));
  v3.set_author("Cora");
  v3.set_body("Coordinator's addition.");
  v3.clear_commitment_salt();
  WriteForgedVersion(*cora_, v3, b.dir, dir + "/v3");
  RewriteManifest(b.dir);
  CommandResult r = Verify(b.dir);
  EXPECT_NE(r.exit_code, 0) << r.out;
  EXPECT_NE(r.err.find(dir + "/v3.signed: is signed under identity"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("only the author may amend a note"), std::string::npos) << r.err;
}

// #16: a file's name must say what its signed bytes say.
TEST_F(EvidenceTest, SwappedVersionFilesFailVerify) {
  std::string note = AddNote(kNote1);
  ASSERT_EQ(vic_->Run({"note", "amend", note, "--text", kNote2}).exit_code, 0);
  std::string bundle = dir_.Sub("bundle");
  ASSERT_EQ(vic_->Run({"export", note, "--out", bundle}).exit_code, 0);
  std::string dir = bundle + "/note-" + note + "/";
  std::vector<std::string> names;
  ListFiles(bundle, "note-" + note, &names);
  for (const auto& path : names) {
    std::string name = path.substr(path.rfind('/') + 1);
    if (name[1] != '1' && name[1] != '2') continue;
    ASSERT_EQ(rename((bundle + "/" + path).c_str(), (dir + "x" + name).c_str()), 0);
  }
  for (const auto& path : names) {
    std::string name = path.substr(path.rfind('/') + 1);
    std::string swapped = name;
    swapped[1] = name[1] == '1' ? '2' : '1';
    ASSERT_EQ(rename((dir + "x" + name).c_str(), (dir + swapped).c_str()), 0);
  }
  RewriteManifest(bundle);
  CommandResult r = Verify(bundle);
  EXPECT_NE(r.exit_code, 0) << r.out;
  EXPECT_NE(r.err.find("v1.signed: holds version 2, not the version 1 its name says"), std::string::npos) << r.err;
}

// #16: files outside the documented layout are refused, even when listed.
TEST_F(EvidenceTest, ExtraFilesListedInTheManifestFailVerify) {
  std::string note = AddNote(kNote1);
  std::string bundle = dir_.Sub("bundle");
  ASSERT_EQ(vic_->Run({"export", note, "--out", bundle}).exit_code, 0);
  for (const std::string& extra : std::vector<std::string>{"note-" + note + "/v1.extra.txt", "keys/planted.pem",
                                                           "README.txt", "note-" + note + "/v01.signed",
                                                           "note-0123/v1.txt"}) {
    SCOPED_TRACE(extra);
    std::string path = bundle + "/" + extra;
    mkdir(path.substr(0, path.rfind('/')).c_str(), 0755);
    std::ofstream(path) << "planted";
    RewriteManifest(bundle);
    CommandResult r = Verify(bundle);
    EXPECT_NE(r.exit_code, 0) << r.out;
    EXPECT_NE(r.err.find(extra + ": is not part of the documented bundle layout"), std::string::npos) << r.err;
    ASSERT_EQ(unlink(path.c_str()), 0);
  }
  RewriteManifest(bundle);
  EXPECT_EQ(Verify(bundle).exit_code, 0);
}

// #15: versions moved from one note to another, and repeated numbers.
TEST_F(EvidenceTest, MovedAndRepeatedVersionsFailVerify) {
  TwoNoteBundle b = ExportTwoNotes();
  std::string vic_dir = "note-" + b.vic_note, cora_dir = "note-" + b.cora_note;
  {
    // Vic's version 2 put into Cora's note, beside her version 1.
    testing::TempDir copy;
    ASSERT_EQ(testing::RunCommand({"/bin/cp", "-a", b.dir, copy.Sub("b")}).exit_code, 0);
    std::string c = copy.Sub("b");
    std::vector<std::string> names;
    ListFiles(c, vic_dir, &names);
    for (const auto& path : names) {
      std::string name = path.substr(path.rfind('/') + 1);
      if (name.rfind("v2.", 0) != 0) continue;
      ASSERT_EQ(rename((c + "/" + path).c_str(), (c + "/" + cora_dir + "/" + name).c_str()), 0);
    }
    RewriteManifest(c);
    CommandResult r = Verify(c);
    EXPECT_NE(r.exit_code, 0) << r.out;
    EXPECT_NE(r.err.find(cora_dir + "/v2.signed: belongs to another note than its directory says"),
              std::string::npos)
        << r.err;
  }
  // A second version 1 of Vic's note, signed by Vic's own device.
  store::v1::NoteVersion again = SignedVersion(b.dir, vic_dir + "/v1");
  again.set_body("A different first version.");
  auto cl = OpenInProcess(*vic_);
  ASSERT_TRUE(cl);
  auto obj = cl->SignForTesting("vigil/note-version/v1", again.SerializeAsString());
  ASSERT_TRUE(obj.ok());
  cl.reset();
  std::string stem = vic_dir + "/v1-" + HexEncode(crypto::Sha256(AsBytes(obj->body()))).substr(0, 8);
  WriteForgedVersion(*vic_, again, b.dir, stem);
  RewriteManifest(b.dir);
  CommandResult r = Verify(b.dir);
  EXPECT_NE(r.exit_code, 0) << r.out;
  EXPECT_NE(r.err.find(stem + ".signed: is a second version 1 of the note (version numbers repeat)"),
            std::string::npos)
      << r.err;
  // A version 3 that amends version 1 (a gap in the numbers).
  for (const char* ext : {".signed", ".sig", ".txt"}) unlink((b.dir + "/" + stem + ext).c_str());
  store::v1::NoteVersion v3 = SignedVersion(b.dir, vic_dir + "/v2");
  v3.set_number(3);
  WriteForgedVersion(*vic_, v3, b.dir, vic_dir + "/v3");
  RewriteManifest(b.dir);
  r = Verify(b.dir);
  EXPECT_NE(r.exit_code, 0) << r.out;
  EXPECT_NE(r.err.find(vic_dir + "/v3.signed: is version 3 but amends version 1"), std::string::npos) << r.err;
}

// #15: the exporter's signed statement shows that nothing was dropped.
TEST_F(EvidenceTest, ADroppedVersionOrTimestampFailsAgainstTheExportStatement) {
  std::string note = AddNote(kNote1);
  ASSERT_EQ(vic_->Run({"note", "amend", note, "--text", kNote2}).exit_code, 0);
  ASSERT_EQ(lee_->Run({"sync"}).exit_code, 0);
  std::string bundle = dir_.Sub("bundle");
  ASSERT_EQ(lee_->Run({"export", note, "--out", bundle}).exit_code, 0);
  std::string saved = dir_.Sub("saved");
  ASSERT_EQ(testing::RunCommand({"/bin/cp", "-a", bundle, saved}).exit_code, 0);
  std::string dir = "note-" + note;
  auto drop = [&](const std::string& prefix) {
    std::vector<std::string> names;
    ListFiles(bundle, dir, &names);
    for (const auto& path : names) {
      if (path.rfind(dir + "/" + prefix, 0) == 0) {
        ASSERT_EQ(unlink((bundle + "/" + path).c_str()), 0) << path;
      }
    }
  };
  auto restore = [&] {
    ASSERT_EQ(testing::RunCommand({"/bin/rm", "-rf", bundle}).exit_code, 0);
    ASSERT_EQ(testing::RunCommand({"/bin/cp", "-a", saved, bundle}).exit_code, 0);
  };

  // The correction (the last version) removed, with a manifest to match.
  drop("v2.");
  RewriteManifest(bundle);
  CommandResult r = Verify(bundle);
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.err.find(dir + "/v2.signed: version 2 of the note is listed in EXPORT.txt but missing from the bundle"),
            std::string::npos)
      << r.err;
  restore();

  // Version 1's timestamps removed, with a manifest to match.
  drop("v1.notary.");
  drop("v1.tlog.");
  RewriteManifest(bundle);
  r = Verify(bundle);
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.err.find(dir + "/v1.notary.txt: the notary timestamp of v1 listed in EXPORT.txt is missing"),
            std::string::npos)
      << r.err;
  restore();

  // Only the tlog timestamp removed.
  drop("v2.tlog.");
  RewriteManifest(bundle);
  r = Verify(bundle);
  EXPECT_NE(r.err.find(dir + "/v2.tlog.txt: the tlog timestamp of v2 listed in EXPORT.txt is missing"),
            std::string::npos)
      << r.err;
  restore();

  // Any other change to the manifest: not the one the exporter signed.
  RewriteManifest(bundle);
  EXPECT_EQ(Verify(bundle).exit_code, 0);  // the same files give the same manifest
  {
    std::string m = Slurp(bundle + "/MANIFEST.sha256");
    std::string reordered = m.substr(m.find('\n') + 1) + m.substr(0, m.find('\n') + 1);
    std::ofstream(bundle + "/MANIFEST.sha256", std::ios::trunc) << reordered;
  }
  r = Verify(bundle);
  EXPECT_NE(r.err.find("MANIFEST.sha256: is not the manifest the exporter signed in EXPORT.txt"), std::string::npos)
      << r.err;
  restore();

  // Without the statement, a bundle proves nothing about completeness.
  for (const char* name : {"EXPORT.txt", "EXPORT.signed", "EXPORT.sig"}) {
    ASSERT_EQ(unlink((bundle + "/" + name).c_str()), 0);
    r = Verify(bundle);
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find(std::string(name) + ": is missing: without the exporter's signed statement"),
              std::string::npos)
        << r.err;
    restore();
  }
  EXPECT_EQ(Verify(bundle).exit_code, 0);
}

// The digits after "identity fingerprint:" in `vigil whoami`.
std::string WhoamiFingerprint(const testing::ClientFixture& who) {
  std::string out = who.Run({"whoami"}).out;
  size_t at = out.find("identity fingerprint: ");
  EXPECT_NE(at, std::string::npos) << out;
  if (at == std::string::npos) return "";
  at += strlen("identity fingerprint: ");
  return out.substr(at, out.find('\n', at) - at);
}

// #15: trust anchors can be pinned; without pins the result says, in plain
// words, which keys came from the bundle itself.
TEST_F(EvidenceTest, PinnedTrustIsCheckedAndUnpinnedKeysAreNamed) {
  std::string note = AddNote(kNote1);
  ASSERT_EQ(lee_->Run({"sync"}).exit_code, 0);
  std::string bundle = dir_.Sub("bundle");
  ASSERT_EQ(lee_->Run({"export", note, "--out", bundle}).exit_code, 0);
  CommandResult r = Verify(bundle);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("verified: every claim in this bundle holds, provided the keys it carries are genuine."),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("NOT PINNED"), std::string::npos) << r.out;
  std::string vic_fp = WhoamiFingerprint(*vic_), lee_fp = WhoamiFingerprint(*lee_);
  EXPECT_NE(r.out.find("the identity key of Vic (fingerprint " + vic_fp + ")"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("the identity key of Lee (fingerprint " + lee_fp + ")"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("the relay's key (keys/relay.pem"), std::string::npos) << r.out;
  size_t at = r.out.find("relay key (notary and log): ");
  ASSERT_NE(at, std::string::npos);
  at += strlen("relay key (notary and log): ");
  std::string relay_fp = r.out.substr(at, r.out.find('\n', at) - at);

  // Everything pinned: no qualifier.
  std::string digits_only = vic_fp;
  digits_only.erase(std::remove(digits_only.begin(), digits_only.end(), ' '), digits_only.end());
  r = Verify(bundle, {"--relay-fingerprint", relay_fp, "--identity", "Vic=" + digits_only, "--identity",
                      "Lee=" + lee_fp, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("every claim in this bundle holds, checked against the keys you pinned"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("\"unpinned\": []"), std::string::npos) << r.out;

  // A pin that does not match fails.
  r = Verify(bundle, {"--relay-fingerprint", lee_fp});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("keys/relay.pem: its fingerprint " + relay_fp + " is not the relay fingerprint you pinned"),
            std::string::npos)
      << r.err;
  r = Verify(bundle, {"--identity", "Vic=" + lee_fp});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("is not the one you pinned for Vic"), std::string::npos) << r.err;
  r = Verify(bundle, {"--identity", "Val=" + vic_fp});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("nobody of that name signed in this bundle"), std::string::npos) << r.err;
  testing::LocalTsa other;
  ASSERT_TRUE(other.Start().ok());
  r = Verify(bundle, {"--tsa-ca", other.ca_pem_path()});
  EXPECT_EQ(r.exit_code, 0) << r.err;  // no authority in this bundle: nothing to compare
  EXPECT_NE(Verify(bundle, {"--identity", "Vic"}).exit_code, 0);
}

// #15: a version re-signed under another identity that names the author.
TEST_F(EvidenceTest, AVersionReSignedUnderAnotherIdentityNamingTheAuthorFails) {
  TwoNoteBundle b = ExportTwoNotes();
  std::string dir = "note-" + b.vic_note;
  // Cora re-signs Vic's whole note (still naming Vic), drops its
  // timestamps, and signs a new export statement as herself.
  std::vector<std::string> names;
  ListFiles(b.dir, dir, &names);
  for (const auto& path : names) {
    std::string name = path.substr(path.rfind('/') + 1);
    if (name.find(".commitment.") != std::string::npos || name.find(".notary.") != std::string::npos ||
        name.find(".tlog.") != std::string::npos) {
      ASSERT_EQ(unlink((b.dir + "/" + path).c_str()), 0);
    }
  }
  for (auto* member : {vic_.get(), lee_.get()}) {  // their keys are no longer used
    auto mc = OpenInProcess(*member);
    ASSERT_TRUE(mc);
    std::string dev = b.dir + "/keys/device-" + HexEncode(mc->Transport()->device_id);
    store::v1::DeviceCertificate c;
    ASSERT_TRUE(c.ParseFromString(Slurp(dev + ".cert")));
    for (const char* ext : {".pem", ".cert", ".cert.signed", ".cert.sig"}) unlink((dev + ext).c_str());
    unlink((b.dir + "/keys/identity-" + HexEncode(AsBytes(c.identity_public_key())).substr(0, 16) + ".pem").c_str());
  }
  auto statement = evidence::ParseExportStatement(Slurp(b.dir + "/EXPORT.txt"));
  ASSERT_TRUE(statement.ok());
  std::string prev;
  for (const char* stem : {"/v1", "/v2"}) {
    store::v1::NoteVersion v = SignedVersion(b.dir, dir + stem);
    if (!prev.empty()) v.set_prev_version_hash(prev);
    WriteForgedVersion(*cora_, v, b.dir, dir + stem);
    prev = SignedHash(b.dir, dir + stem);
  }
  auto cl = OpenInProcess(*cora_);
  ASSERT_TRUE(cl);
  Bytes cora_device = cl->Transport()->device_id;
  store::v1::DeviceCertificate cert;
  ASSERT_TRUE(cert.ParseFromString(Slurp(b.dir + "/keys/device-" + HexEncode(cora_device) + ".cert")));
  statement->exporter = "Cora";
  statement->identity_key = ToBytes(cert.identity_public_key());
  statement->device_id = cora_device;
  for (auto& n : statement->notes) {
    if (HexEncode(n.note_id) != b.vic_note) continue;
    for (auto& v : n.versions) {
      v.hash = ToBytes(SignedHash(b.dir, dir + "/" + v.stem));
      v.anchors.clear();
    }
  }
  RewriteManifest(b.dir);
  statement->manifest_sha256 = crypto::Sha256(AsBytes(Slurp(b.dir + "/MANIFEST.sha256")));
  std::string text = evidence::ExportStatementText(*statement);
  auto sig = cl->SignForTesting(evidence::kExportStatementLabel, text);
  ASSERT_TRUE(sig.ok());
  cl.reset();
  std::ofstream(b.dir + "/EXPORT.txt", std::ios::trunc) << text;
  std::ofstream(b.dir + "/EXPORT.signed", std::ios::binary | std::ios::trunc)
      << ToString(identity::SignedBytes(evidence::kExportStatementLabel, AsBytes(text)));
  std::ofstream(b.dir + "/EXPORT.sig", std::ios::binary | std::ios::trunc) << sig->signature();
  CommandResult r = Verify(b.dir);
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.err.find("signs as both Cora and Vic: a version names someone other than the member who signed it"),
            std::string::npos)
      << r.err;
}

// #15: a FIFO (or any special file) named in the manifest fails at once.
TEST_F(EvidenceTest, AFifoNamedInTheManifestFailsFast) {
  std::string note = AddNote(kNote1);
  std::string bundle = dir_.Sub("bundle");
  ASSERT_EQ(vic_->Run({"export", note, "--out", bundle}).exit_code, 0);
  std::string text = bundle + "/note-" + note + "/v1.txt";
  ASSERT_EQ(unlink(text.c_str()), 0);
  ASSERT_EQ(mkfifo(text.c_str(), 0644), 0);
  CommandResult r = Verify(bundle);
  EXPECT_EQ(r.exit_code, 1) << r.out;  // not -1: it did not hang
  EXPECT_NE(r.err.find("note-" + note + "/v1.txt: is not a regular file"), std::string::npos) << r.err;
  // Nor is one accepted under the manifest's own name.
  ASSERT_EQ(unlink(text.c_str()), 0);
  std::ofstream(text) << kNote1;
  ASSERT_EQ(Verify(bundle).exit_code, 0);
  std::string manifest = bundle + "/MANIFEST.sha256";
  ASSERT_EQ(unlink(manifest.c_str()), 0);
  ASSERT_EQ(mkfifo(manifest.c_str(), 0644), 0);
  r = Verify(bundle);
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.err.find("MANIFEST.sha256: is not a regular file"), std::string::npos) << r.err;
}

TEST_F(EvidenceTest, Journey5NotesAreStampedExportedAndVerifiableWithStandardTools) {
  std::string note = AddNote(kNote1);
  ASSERT_EQ(vic_->Run({"note", "amend", note, "--text", kNote2}).exit_code, 0);

  // Stamped by the relay notary and log on note add, without being asked.
  CommandResult show = vic_->Run({"note", "show", note, "--json"});
  ASSERT_EQ(show.exit_code, 0) << show.err;
  EXPECT_EQ(testing::CountOccurrences(show.out, "\"source\": \"notary\""), 2u) << show.out;
  EXPECT_EQ(testing::CountOccurrences(show.out, "\"source\": \"tlog\""), 2u) << show.out;
  EXPECT_EQ(testing::CountOccurrences(show.out, "\"pending_anchors\": 0"), 2u) << show.out;
  EXPECT_EQ(testing::CountOccurrences(show.out, "\"status\": \"rejected\""), 0u) << show.out;

  // `note stamp` with nothing left to stamp succeeds.
  CommandResult stamp = vic_->Run({"note", "stamp", note});
  EXPECT_EQ(stamp.exit_code, 0) << stamp.err;

  // The legal adviser receives the anchors with the note and exports.
  ASSERT_EQ(lee_->Run({"sync"}).exit_code, 0);
  CommandResult lshow = lee_->Run({"note", "show", note, "--json"});
  EXPECT_EQ(testing::CountOccurrences(lshow.out, "\"plugin\": \"notary\""), 2u) << lshow.out;
  std::string bundle = dir_.Sub("bundle");
  CommandResult ex = lee_->Run({"export", note, "--out", bundle});
  ASSERT_EQ(ex.exit_code, 0) << ex.err;

  CommandResult v = testing::RunCommand({std::string(VIGIL_BIN_DIR) + "/vigil", "verify", bundle}, {});
  ASSERT_EQ(v.exit_code, 0) << v.err << v.out;
  EXPECT_NE(v.out.find("v1 by Vic"), std::string::npos) << v.out;
  EXPECT_NE(v.out.find("v2 by Vic"), std::string::npos) << v.out;
  EXPECT_EQ(testing::CountOccurrences(v.out, "timestamp notary"), 2u) << v.out;
  EXPECT_EQ(testing::CountOccurrences(v.out, "timestamp tlog"), 2u) << v.out;
  EXPECT_EQ(Slurp(bundle + "/" + "note-" + note + "/v1.txt"), kNote1);
  EXPECT_EQ(Slurp(bundle + "/" + "note-" + note + "/v2.txt"), kNote2);

  // Every command VERIFY.md prints works with only coreutils and openssl.
  std::string tools = StandardToolsDir(dir_);
  auto blocks = ShellBlocks(Slurp(bundle + "/VERIFY.md"));
  ASSERT_GE(blocks.size(), 4u);  // manifest, device, two versions
  int openssl_checks = 0;
  for (const auto& block : blocks) {
    std::string script = dir_.Sub("block.sh");
    std::ofstream(script) << "cd '" << bundle << "'\n" << block;
    CommandResult r = testing::RunCommand({tools + "/bash", "-eo", "pipefail", script},
                                          {{"PATH", tools}, {"LC_ALL", "C"}});
    EXPECT_EQ(r.exit_code, 0) << "VERIFY.md block failed:\n" << block << "\nstdout:\n" << r.out << "\nstderr:\n" << r.err;
    openssl_checks += static_cast<int>(testing::CountOccurrences(r.out, "Signature Verified Successfully"));
  }
  // Two device certificates (Vic's, and Lee's who exported), two version
  // signatures, two notary statements, two checkpoints, the export statement.
  EXPECT_EQ(openssl_checks, 9);
  EXPECT_NE(v.out.find("exported by Lee (identity "), std::string::npos) << v.out;
  EXPECT_NE(v.out.find("its signed statement lists 1 note, 2 versions and 4 timestamps: all present"),
            std::string::npos)
      << v.out;

  // The same commands fail on a changed bundle: the manifest check catches
  // a changed text even before any signature is looked at.
  {
    std::string text = bundle + "/note-" + note + "/v2.txt";
    std::string saved = Slurp(text);
    std::ofstream(text, std::ios::binary | std::ios::trunc) << "Correction: arrived 10:55.";
    std::string script = dir_.Sub("manifest.sh");
    std::ofstream(script) << "cd '" << bundle << "'\n" << blocks[0];
    CommandResult r = testing::RunCommand({tools + "/bash", "-eo", "pipefail", script}, {{"PATH", tools}});
    EXPECT_NE(r.exit_code, 0);
    std::ofstream(text, std::ios::binary | std::ios::trunc) << saved;
  }
}

TEST_F(EvidenceTest, ChangingAnyByteOfAnyFileMakesVerifyFailNamingIt) {
  std::string note = AddNote(kNote1);
  ASSERT_EQ(vic_->Run({"note", "amend", note, "--text", kNote2}).exit_code, 0);
  std::string bundle = dir_.Sub("bundle");
  ASSERT_EQ(vic_->Run({"export", note, "--out", bundle}).exit_code, 0);
  std::string vigil = std::string(VIGIL_BIN_DIR) + "/vigil";
  ASSERT_EQ(testing::RunCommand({vigil, "verify", bundle}, {}).exit_code, 0);

  std::vector<std::string> files;
  ListFiles(bundle, "", &files);
  ASSERT_GE(files.size(), 20u);
  for (const auto& f : files) {
    std::string path = bundle + "/" + f;
    std::string original = Slurp(path);
    ASSERT_FALSE(original.empty()) << f;
    // One byte, in the middle of the file, flipped.
    std::string changed = original;
    changed[changed.size() / 2] ^= 0x01;
    std::ofstream(path, std::ios::binary | std::ios::trunc) << changed;
    CommandResult r = testing::RunCommand({vigil, "verify", bundle}, {});
    EXPECT_NE(r.exit_code, 0) << "a changed " << f << " was accepted";
    EXPECT_NE(r.err.find("FAILED"), std::string::npos) << r.err;
    std::string name = f.substr(f.rfind('/') + 1);
    EXPECT_TRUE(r.err.find(name) != std::string::npos || r.err.find("MANIFEST.sha256") != std::string::npos)
        << "the error does not name " << f << ": " << r.err;
    std::ofstream(path, std::ios::binary | std::ios::trunc) << original;
  }
  EXPECT_EQ(testing::RunCommand({vigil, "verify", bundle}, {}).exit_code, 0);

  // An added file is refused too.
  std::ofstream(bundle + "/extra.txt") << "planted";
  CommandResult r = testing::RunCommand({vigil, "verify", bundle}, {});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("extra.txt"), std::string::npos) << r.err;
}

TEST_F(EvidenceTest, AVisitExportsEveryNoteInOneBundle) {
  std::string a = AddNote("first note of the visit");
  std::string b = AddNote("second note of the visit");
  ASSERT_EQ(vic_->Run({"note", "amend", b, "--text", "second note, amended"}).exit_code, 0);
  ASSERT_EQ(lee_->Run({"sync"}).exit_code, 0);
  std::string bundle = dir_.Sub("visit-bundle");
  CommandResult ex = lee_->Run({"export", "--visit", visit_, "--out", bundle});
  ASSERT_EQ(ex.exit_code, 0) << ex.err;
  CommandResult v = testing::RunCommand({std::string(VIGIL_BIN_DIR) + "/vigil", "verify", bundle}, {});
  ASSERT_EQ(v.exit_code, 0) << v.err;
  EXPECT_NE(v.out.find("note " + a), std::string::npos) << v.out;
  EXPECT_NE(v.out.find("note " + b), std::string::npos) << v.out;
  EXPECT_EQ(testing::CountOccurrences(v.out, "timestamp notary"), 3u) << v.out;
  // Exporting into a directory that holds something else is refused.
  CommandResult again = lee_->Run({"export", "--visit", visit_, "--out", bundle});
  EXPECT_NE(again.exit_code, 0);
  EXPECT_NE(again.err.find("not empty"), std::string::npos) << again.err;
}

TEST_F(EvidenceTest, OnlySaltedDigestsReachTheRelay) {
  std::string note = AddNote(kNote1);
  ASSERT_EQ(vic_->Run({"note", "amend", note, "--text", kNote2}).exit_code, 0);
  ASSERT_TRUE(relay_->Stop().ok());

  // What the notary and the log stored.
  std::set<Bytes> stamped;
  {
    auto store = relay::RelayStore::Open(relay_->data_dir(), AsBytes("relay pass"));
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    for (const char* plugin : {"notary", "tlog"}) {
      auto n = store->PluginCount(plugin);
      ASSERT_TRUE(n.ok());
      ASSERT_EQ(*n, 2u) << plugin;
      for (uint64_t i = 0; i < *n; ++i) {
        Bytes rec = *store->PluginGet(plugin, i);
        ASSERT_GE(rec.size(), 32u);
        stamped.insert(Bytes(rec.begin(), rec.begin() + 32));
        std::string text = ToString(rec);
        EXPECT_EQ(text.find("Arrived"), std::string::npos);
      }
    }
  }
  EXPECT_EQ(stamped.size(), 2u);  // one digest per version, shared by both anchors

  // Those digests are the salted commitments, never a hash of the note.
  auto cl = OpenInProcess(*vic_);
  ASSERT_TRUE(cl);
  auto info = cl->ShowNote(note);
  ASSERT_TRUE(info.ok());
  std::set<Bytes> commitments, unsalted;
  for (const auto& v : info->versions) {
    commitments.insert(*HexDecode(v.commitment));
    unsalted.insert(*HexDecode(v.hash));  // SHA-256 of the body
    unsalted.insert(crypto::Sha256(AsBytes(v.text)));
  }
  EXPECT_EQ(stamped, commitments);
  for (const auto& u : unsalted) EXPECT_EQ(stamped.count(u), 0u);

  // Nor does the relay's log file mention them.
  std::string log = relay_->process() ? relay_->process()->Stderr() : "";
  for (const auto& u : unsalted) EXPECT_EQ(log.find(HexEncode(u)), std::string::npos);
}

TEST_F(EvidenceTest, StampingNeverBlocksANoteAndPendingAnchorsAreRetriedOnSync) {
  ASSERT_TRUE(relay_->Stop().ok());
  CommandResult add = vic_->Run({"note", "add", "--visit", visit_, "--text", kNote1});
  ASSERT_EQ(add.exit_code, 0) << add.err;  // saved offline
  std::string note = FirstLine(add.out);
  CommandResult show = vic_->Run({"note", "show", note, "--json"});
  EXPECT_NE(show.out.find("\"pending_anchors\": 2"), std::string::npos) << show.out;
  CommandResult status = vic_->Run({"status", "--json"});
  EXPECT_NE(status.out.find("\"pending_timestamps\": 2"), std::string::npos) << status.out;
  CommandResult stamp = vic_->Run({"note", "stamp", note});
  EXPECT_EQ(stamp.exit_code, 4) << stamp.out << stamp.err;  // unreachable: still pending

  ASSERT_TRUE(relay_->Restart().ok());
  ASSERT_EQ(vic_->Run({"sync"}).exit_code, 0);
  show = vic_->Run({"note", "show", note, "--json"});
  EXPECT_NE(show.out.find("\"pending_anchors\": 0"), std::string::npos) << show.out;
  EXPECT_EQ(testing::CountOccurrences(show.out, "\"status\": \"ok\""), 3u) << show.out;  // version + 2 anchors
}

TEST_F(EvidenceTest, ARewrittenRelayLogRaisesTheAlarm) {
  AddNote(kNote1);
  AddNote(kNote2);
  ASSERT_EQ(vic_->Run({"sync"}).exit_code, 0);
  CommandResult ok = vic_->Run({"status", "--json"});
  EXPECT_NE(ok.out.find("\"log_alarm\": false"), std::string::npos) << ok.out;

  // The operator rewrites the first log entry (and the tree grows).
  ASSERT_TRUE(relay_->Stop().ok());
  {
    auto store = relay::RelayStore::Open(relay_->data_dir(), AsBytes("relay pass"));
    ASSERT_TRUE(store.ok());
    auto st = store->db().Prepare("UPDATE plugin_records SET data = ? WHERE plugin = 'tlog' AND idx = 0");
    ASSERT_TRUE(st.ok());
    st->BindBlob(1, crypto::Sha256(AsBytes("forged")));
    ASSERT_TRUE(st->Run().ok());
  }
  ASSERT_TRUE(relay_->Restart().ok());
  AddNote("a third note");  // the relay shows a new checkpoint
  CommandResult sync = vic_->Run({"sync"});
  CommandResult status = vic_->Run({"status", "--json"});
  EXPECT_EQ(status.exit_code, 5) << status.out << status.err;
  EXPECT_NE(status.out.find("\"log_alarm\": true"), std::string::npos) << status.out;
  EXPECT_NE(status.err.find("forked or shrank"), std::string::npos) << status.err;
}

TEST_F(EvidenceTest, RelayStatusListsItsAnchorsAndTheLatestCheckpoint) {
  AddNote(kNote1);
  CommandResult r = relay_->Relay({"status", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("\"name\": \"notary\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"name\": \"tlog\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"size\": 1"), std::string::npos) << r.out;
}

TEST_F(EvidenceTest, Rfc3161AuthoritiesStampNotesAndBundlesCheckWithOpensslTs) {
  std::string early = AddNote("written before any authority was configured");
  testing::LocalTsa tsa;
  ASSERT_TRUE(tsa.Start().ok());
  CommandResult add = vic_->Run({"tsa", "add", tsa.url(), "--ca", tsa.ca_pem_path()});
  ASSERT_EQ(add.exit_code, 0) << add.err;
  EXPECT_NE(vic_->Run({"tsa", "add", "ftp://x/tsr", "--ca", tsa.ca_pem_path()}).exit_code, 0);

  // New notes are stamped by the authority too, without being asked.
  std::string note = AddNote(kNote1);
  CommandResult show = vic_->Run({"note", "show", note, "--json"});
  EXPECT_NE(show.out.find("\"source\": \"rfc3161 " + tsa.url() + "\""), std::string::npos) << show.out;
  EXPECT_NE(show.out.find("\"pending_anchors\": 0"), std::string::npos) << show.out;

  // Older notes get it on request.
  CommandResult stamp = vic_->Run({"note", "stamp", early, "--plugin", "rfc3161"});
  ASSERT_EQ(stamp.exit_code, 0) << stamp.out << stamp.err;
  EXPECT_NE(stamp.out.find("stamped: 1"), std::string::npos) << stamp.out;

  // The authority saw only small queries carrying salted commitment digests.
  auto cl = OpenInProcess(*vic_);
  ASSERT_TRUE(cl);
  auto info = cl->ShowNote(note);
  ASSERT_TRUE(info.ok());
  cl.reset();
  ASSERT_EQ(tsa.request_count(), 2u);
  Bytes commitment = *HexDecode(info->versions[0].commitment);
  bool seen = false;
  for (const auto& q : tsa.requests()) {
    EXPECT_LT(q.size(), 200u);
    EXPECT_EQ(q.find(ToString(*HexDecode(info->versions[0].hash))), std::string::npos);
    EXPECT_EQ(q.find("Arrived"), std::string::npos);
    seen = seen || q.find(ToString(commitment)) != std::string::npos;
  }
  EXPECT_TRUE(seen);

  // The legal adviser's bundle carries the token and its trust anchor.
  ASSERT_EQ(lee_->Run({"sync"}).exit_code, 0);
  std::string bundle = dir_.Sub("bundle");
  ASSERT_EQ(lee_->Run({"export", note, "--out", bundle}).exit_code, 0);
  CommandResult v = testing::RunCommand({std::string(VIGIL_BIN_DIR) + "/vigil", "verify", bundle}, {});
  ASSERT_EQ(v.exit_code, 0) << v.err;
  EXPECT_NE(v.out.find("timestamp rfc3161"), std::string::npos) << v.out;
  std::string tools = StandardToolsDir(dir_);
  int ts_ok = 0;
  for (const auto& block : ShellBlocks(Slurp(bundle + "/VERIFY.md"))) {
    std::string script = dir_.Sub("block.sh");
    std::ofstream(script) << "cd '" << bundle << "'\n" << block;
    CommandResult r = testing::RunCommand({tools + "/bash", "-eo", "pipefail", script}, {{"PATH", tools}});
    EXPECT_EQ(r.exit_code, 0) << block << r.out << r.err;
    ts_ok += static_cast<int>(testing::CountOccurrences(r.out + r.err, "Verification: OK"));
  }
  EXPECT_EQ(ts_ok, 1);

  // A token from an authority the bundle does not trust is refused.
  std::string ca = bundle + "/keys/tsa-1-ca.pem";
  testing::LocalTsa other;
  ASSERT_TRUE(other.Start().ok());
  std::ofstream(ca, std::ios::trunc) << other.ca_pem();
  CommandResult bad = testing::RunCommand({std::string(VIGIL_BIN_DIR) + "/vigil", "verify", bundle}, {});
  EXPECT_NE(bad.exit_code, 0);
}

TEST_F(EvidenceTest, AnUnreachableAuthorityLeavesTheTimestampPending) {
  testing::LocalTsa tsa(testing::LocalTsa::Mode::kDown);
  ASSERT_TRUE(tsa.Start().ok());
  ASSERT_EQ(vic_->Run({"tsa", "add", tsa.url(), "--ca", tsa.ca_pem_path()}).exit_code, 0);
  std::string note = AddNote(kNote1);  // saved, relay anchors obtained
  CommandResult stamp = vic_->Run({"note", "stamp", note, "--plugin", "rfc3161"});
  EXPECT_EQ(stamp.exit_code, 4) << stamp.out << stamp.err;
  EXPECT_NE(stamp.out.find(tsa.url()), std::string::npos) << stamp.out;
  CommandResult show = vic_->Run({"note", "show", note, "--json"});
  EXPECT_NE(show.out.find("\"pending_anchors\": 1"), std::string::npos) << show.out;
}

class BrokenPluginsTest : public TeamTest {};

TEST_F(BrokenPluginsTest, ARelayWithBrokenPluginsKeepsServingAndNotesStaySafe) {
  ASSERT_TRUE(relay_->Stop().ok());
  relay_->set_serve_args({"--plugin-dir", VIGIL_TEST_PLUGIN_DIR});
  ASSERT_TRUE(relay_->Restart().ok());
  auto cora = Member("coordinator", "Cora", "cora pass");
  auto vic = Member("volunteer", "Vic", "vic pass");
  CommandResult a = cora->Run({"visit", "assign", "--volunteer", "Vic", "--detainee", "D", "--facility", "F",
                               "--at", "2026-12-01T10:00-08:00"});
  ASSERT_EQ(a.exit_code, 0) << a.err;
  CommandResult sync = vic->Run({"sync"});
  ASSERT_EQ(sync.exit_code, 0) << sync.out << sync.err;
  CommandResult add = vic->Run({"note", "add", "--visit", FirstLine(a.out), "--text", "safe anyway"});
  ASSERT_EQ(add.exit_code, 0) << add.err;
  CommandResult show = vic->Run({"note", "show", FirstLine(add.out), "--json"});
  EXPECT_NE(show.out.find("\"pending_anchors\": 2"), std::string::npos) << show.out;
  ExpectRelayServes(*cora);
  CommandResult st = relay_->Relay({"status", "--json"});
  EXPECT_NE(st.out.find("\"state\": \"unusable\""), std::string::npos) << st.out;
  EXPECT_NE(st.out.find("ABI major 2"), std::string::npos) << st.out;
}

}  // namespace
}  // namespace vigil
