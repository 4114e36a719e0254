// ACCEPTANCE.md journey 3: a coordinator assigns a visit, the volunteer
// writes and amends notes, and the visit's team - only that team - receives
// every version. Plus the bad inputs of the Visits-and-notes work, each
// visible in `note show` / `visit show`, and the relay-dump privacy check.
#include <signal.h>

#include <gtest/gtest.h>

#include "relay/server/relay_store.h"
#include "vigil/storage.h"
#include "team_fixture.h"
#include "vigil/identity.h"
#include "vigil/store/v1/store.pb.h"

namespace vigil {
namespace {

using testing::CommandResult;
using testing::CountOccurrences;

constexpr char kDetainee[] = "D. Example";
constexpr char kFacility[] = "Theo Lacy Facility, Orange CA";
constexpr char kNote1[] = "Arrived 09:50. Guard said interpreter unavailable.";
constexpr char kNote2[] = "Correction: arrived 09:55.";

std::string FirstLine(const std::string& s) { return s.substr(0, s.find('\n')); }

class Journey3Test : public TeamTest {
 protected:
  void SetUp() override {
    TeamTest::SetUp();
    cora_ = Member("coordinator", "Cora", "cora pass");
    vic_ = Member("volunteer", "Vic", "vic pass");
    lee_ = Member("legal", "Lee", "lee pass");
  }

  std::string Assign() {
    CommandResult r = cora_->Run({"visit", "assign", "--volunteer", "Vic", "--legal", "Lee",
                                  "--detainee", kDetainee, "--facility", kFacility, "--at",
                                  "2026-12-01T10:00-08:00"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return FirstLine(r.out);
  }

  // Vic (a volunteer) signs a CANCEL of `visit` with id `event_id` as
  // himself, and sends it to Lee.
  void SendForgedCancel(const std::string& visit, const std::string& event_id) {
    store::v1::VisitEvent e;
    e.set_version(1);
    e.set_visit_id(ToString(*HexDecode(visit)));
    e.set_event_id(event_id);
    e.set_kind(store::v1::CANCEL);
    e.set_author("Vic");
    e.set_created_at_ms(2);
    auto cl = OpenInProcess(*vic_);
    ASSERT_TRUE(cl);
    auto obj = cl->SignForTesting("vigil/visit-event/v1", e.SerializeAsString());
    ASSERT_TRUE(obj.ok());
    cl.reset();
    Inject(*vic_, {"Lee"}, *obj, false);
  }

  std::unique_ptr<testing::ClientFixture> cora_, vic_, lee_;
};

TEST_F(Journey3Test, TheTeamReceivesEveryVersion) {
  std::string visit = Assign();
  ASSERT_EQ(visit.size(), 32u);
  ASSERT_EQ(vic_->Run({"sync"}).exit_code, 0);
  CommandResult r = vic_->Run({"visit", "list", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find(visit), std::string::npos);
  EXPECT_NE(r.out.find("\"status\": \"assigned\""), std::string::npos) << r.out;
  ASSERT_EQ(vic_->Run({"visit", "accept", visit}).exit_code, 0);
  r = vic_->Run({"note", "add", "--visit", visit, "--text", kNote1});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string note = FirstLine(r.out);
  r = vic_->Run({"note", "amend", note, "--text", kNote2});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_EQ(vic_->Run({"visit", "complete", visit}).exit_code, 0);
  ASSERT_EQ(vic_->Run({"sync"}).exit_code, 0);

  ASSERT_EQ(cora_->Run({"sync"}).exit_code, 0);
  r = cora_->Run({"note", "list", "--visit", visit, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find(kNote1), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(kNote2), std::string::npos) << r.out;

  ASSERT_EQ(lee_->Run({"sync"}).exit_code, 0);
  r = lee_->Run({"note", "show", note, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find(kNote1), std::string::npos);
  EXPECT_NE(r.out.find(kNote2), std::string::npos);
  EXPECT_EQ(CountOccurrences(r.out, "\"author\": \"Vic\""), 2u) << r.out;
  EXPECT_EQ(CountOccurrences(r.out, "\"signature\": \"valid\""), 2u) << r.out;
  EXPECT_NE(r.out.find("\"timestamps\""), std::string::npos);
  EXPECT_NE(r.out.find("\"problems\": []"), std::string::npos) << r.out;

  // Every device converges on the same visit state.
  for (auto* m : {cora_.get(), vic_.get(), lee_.get()}) {
    r = m->Run({"visit", "show", visit});
    EXPECT_NE(r.out.find("\"status\": \"completed\""), std::string::npos) << r.out;
  }

  // Only the team: another volunteer receives nothing of this visit.
  auto val = Member("volunteer", "Val", "val pass");
  ASSERT_EQ(val->Run({"sync"}).exit_code, 0);
  r = val->Run({"note", "list", "--json"});
  EXPECT_EQ(r.out.find(kNote1), std::string::npos);
  r = val->Run({"visit", "list", "--json"});
  EXPECT_EQ(r.out.find(visit), std::string::npos);

  // The relay's decrypted store holds none of the content.
  ASSERT_TRUE(relay_->Stop().ok());
  auto store = relay::RelayStore::Open(relay_->data_dir(), AsBytes(testing::RelayFixture::kPassphrase));
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  std::string dump;
  for (const char* table : {"config", "invites", "members", "devices", "mailbox", "audit", "blobs"}) {
    auto st = store->db().Prepare(std::string("SELECT * FROM ") + table);
    ASSERT_TRUE(st.ok());
    while (*st->Step()) {
      for (int col = 0; col < 16; ++col) {
        Bytes b = st->ColumnBlob(col);
        dump.append(b.begin(), b.end());
        dump += '|';
      }
    }
  }
  EXPECT_GT(dump.size(), 100u);
  EXPECT_NE(dump.find("Vic"), std::string::npos) << "the dump reads the members table";
  for (const char* secret : {kDetainee, "Theo Lacy", kNote1, kNote2, "interpreter"}) {
    EXPECT_EQ(dump.find(secret), std::string::npos) << secret;
  }
}

TEST_F(Journey3Test, AttachmentsReachTheTeamEncryptedAndVerified) {
  std::string visit = Assign();
  ASSERT_EQ(vic_->Run({"sync"}).exit_code, 0);
  // A 3 MiB "photo" with a canary inside: several chunks.
  std::string photo(3 * 1024 * 1024 + 123, '\0');
  for (size_t i = 0; i < photo.size(); ++i) photo[i] = static_cast<char>((i * 2654435761u) >> 13);
  photo.replace(1000, 20, "ATTACHMENT-CANARY-42");
  std::string path = dir_.Sub("handwritten.jpg");
  ASSERT_TRUE(testing::WriteFile(path, photo));
  CommandResult r = vic_->Run({"note", "add", "--visit", visit, "--text", "photo of my notes", "--attach", path});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string note = FirstLine(r.out);
  ASSERT_EQ(lee_->Run({"sync"}).exit_code, 0);
  r = lee_->Run({"note", "show", note, "--json"});
  EXPECT_NE(r.out.find("\"name\": \"handwritten.jpg\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"sha256\": \"" + HexEncode(crypto::Sha256(AsBytes(photo))) + "\""), std::string::npos) << r.out;
  // The version, its attachment, and its two relay timestamps.
  EXPECT_EQ(CountOccurrences(r.out, "\"status\": \"ok\""), 4u) << r.out;
  std::string out = dir_.Sub("saved.jpg");
  r = lee_->Run({"note", "attachment", note, "--out", out});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(testing::ReadFile(out), photo);

  // The relay holds the attachment only as ciphertext.
  for (const char* f : {"/relay.db", "/relay.db-wal"}) {
    EXPECT_EQ(CountOccurrences(testing::ReadFile(relay_->data_dir() + f), "ATTACHMENT-CANARY"), 0u);
  }

  // A note whose signed hash does not match the attachment is flagged: Vic
  // signs a new note re-using the real blob, key and header but claiming
  // another hash.
  store::v1::NoteVersion original;
  Bytes original_body;
  {
    auto db = storage::OpenStore(vic_->home(), "device", AsBytes(vic_->passphrase()));
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    auto st = db->Prepare("SELECT body FROM note_versions WHERE note_id = ?");
    ASSERT_TRUE(st.ok());
    st->BindBlob(1, *HexDecode(note));
    ASSERT_TRUE(*st->Step());
    original_body = st->ColumnBlob(0);
    ASSERT_TRUE(original.ParseFromArray(original_body.data(), static_cast<int>(original_body.size())));
  }
  store::v1::NoteVersion forged = original;
  forged.set_note_id(ToString(crypto::RandomBytes(16)));
  forged.set_device_seq(original.device_seq() + 1);
  forged.set_prev_device_hash(ToString(crypto::Sha256(original_body)));
  forged.mutable_attachments(0)->set_sha256(ToString(crypto::Sha256(AsBytes("something else"))));
  {
    auto cl = OpenInProcess(*vic_);
    auto obj = cl->SignForTesting("vigil/note-version/v1", forged.SerializeAsString());
    ASSERT_TRUE(obj.ok());
    cl.reset();
    Inject(*vic_, {"Lee"}, *obj, true);
  }
  r = lee_->Run({"sync"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("does not match its signed hash"), std::string::npos) << r.err;
  std::string forged_id = HexEncode(AsBytes(forged.note_id()));
  r = lee_->Run({"note", "show", forged_id, "--json"});
  EXPECT_NE(r.out.find("attachment handwritten.jpg does not match its signed hash"), std::string::npos) << r.out;
  r = lee_->Run({"note", "attachment", forged_id, "--out", dir_.Sub("nope")});
  EXPECT_NE(r.exit_code, 0);
}

TEST_F(Journey3Test, OnlyCoordinatorsAssign) {
  CommandResult r = vic_->Run({"visit", "assign", "--volunteer", "Vic", "--detainee", "X",
                               "--facility", "F", "--at", "2026-12-01T10:00-08:00"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("only coordinators can assign visits"), std::string::npos) << r.err;
  r = lee_->Run({"visit", "assign", "--volunteer", "Vic", "--detainee", "X", "--facility", "F",
                 "--at", "2026-12-01T10:00-08:00"});
  EXPECT_NE(r.exit_code, 0);
  r = cora_->Run({"visit", "assign", "--volunteer", "Nobody", "--detainee", "X", "--facility", "F",
                  "--at", "2026-12-01T10:00-08:00"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("no member named Nobody"), std::string::npos) << r.err;
  r = cora_->Run({"visit", "assign", "--volunteer", "Vic", "--detainee", "X", "--facility", "F",
                  "--at", "tomorrow"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("--at"), std::string::npos) << r.err;
}

TEST_F(Journey3Test, AVolunteersForgedCancelIsRejectedVisibly) {
  std::string visit = Assign();
  ASSERT_EQ(vic_->Run({"sync"}).exit_code, 0);
  // Vic's client refuses to cancel...
  CommandResult r = vic_->Run({"visit", "cancel", visit});
  EXPECT_NE(r.exit_code, 0);
  // ...so Vic forges the event by hand.
  SendForgedCancel(visit, ToString(crypto::RandomBytes(16)));
  r = lee_->Run({"sync"});
  EXPECT_NE(r.err.find("only the visit's coordinator may cancel it"), std::string::npos) << r.err;
  r = lee_->Run({"visit", "show", visit});
  EXPECT_NE(r.out.find("\"status\": \"assigned\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"status\": \"rejected\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("only the visit's coordinator may cancel it"), std::string::npos) << r.out;
}

TEST_F(Journey3Test, AForgeryThatTakesAGenuineEventsIdDoesNotSuppressIt) {
  std::string visit = Assign();
  ASSERT_EQ(vic_->Run({"sync"}).exit_code, 0);
  ASSERT_EQ(lee_->Run({"sync"}).exit_code, 0);
  // Cora cancels while the relay is down: the event waits in her outbox.
  ASSERT_TRUE(relay_->Stop().ok());
  ASSERT_EQ(cora_->Run({"visit", "cancel", visit}).exit_code, 0);
  std::string event_id;
  {
    auto db = storage::OpenStore(cora_->home(), "device", AsBytes(cora_->passphrase()));
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    auto st = db->Prepare("SELECT event_id FROM visit_events WHERE kind = ?");
    ASSERT_TRUE(st.ok());
    st->Bind(1, static_cast<int64_t>(store::v1::CANCEL));
    auto row = st->Step();
    ASSERT_TRUE(row.ok() && *row);
    event_id = ToString(st->ColumnBlob(0));
  }
  ASSERT_TRUE(relay_->Restart().ok());
  // Vic (who has learnt the id) gets a forgery with the same id to Lee first.
  SendForgedCancel(visit, event_id);
  ASSERT_EQ(cora_->Run({"sync"}).exit_code, 0);  // the genuine cancel goes now
  CommandResult r = lee_->Run({"sync"});
  EXPECT_NE(r.err.find("only the visit's coordinator may cancel it"), std::string::npos) << r.err;
  r = lee_->Run({"visit", "show", visit});
  EXPECT_NE(r.out.find("\"status\": \"cancelled\""), std::string::npos) << "the genuine cancel counts: " << r.out;
}

TEST_F(Journey3Test, BadNotesAreRejectedWithAReasonShownInNoteShow) {
  std::string visit = Assign();
  ASSERT_EQ(vic_->Run({"sync"}).exit_code, 0);
  CommandResult r = vic_->Run({"note", "add", "--visit", visit, "--text", kNote1});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string good_note = FirstLine(r.out);
  ASSERT_EQ(lee_->Run({"sync"}).exit_code, 0);
  auto vid = *HexDecode(visit);

  auto base = [&](const char* author, uint64_t seq) {
    store::v1::NoteVersion v;
    v.set_version(1);
    v.set_note_id(ToString(crypto::RandomBytes(16)));
    v.set_visit_id(ToString(vid));
    v.set_number(1);
    v.set_author(author);
    v.set_device_seq(seq);
    v.set_created_at_ms(3);
    v.set_body("forged");
    return v;
  };
  auto sign_and_send = [&](testing::ClientFixture& who, store::v1::NoteVersion v) {
    auto cl = OpenInProcess(who);
    v.set_author_device_id(ToString(cl->Transport()->device_id));
    auto obj = cl->SignForTesting("vigil/note-version/v1", v.SerializeAsString());
    EXPECT_TRUE(obj.ok());
    cl.reset();
    Inject(who, {"Lee"}, *obj, true);
    return HexEncode(AsBytes(v.note_id()));
  };

  // 1. A note claiming another author than its signer (a non-member name).
  std::string n1 = sign_and_send(*vic_, base("Mallory", 100));
  // 2. A member who is not on the visit's team.
  auto val = Member("volunteer", "Val", "val pass");
  std::string n2 = sign_and_send(*val, base("Val", 1));
  // 3. A broken hash chain: version 2 pointing at another note's version.
  auto broken = base("Vic", 101);
  broken.set_number(2);
  {
    auto lee = OpenInProcess(*lee_);
    auto shown = lee->ShowNote(good_note);
    ASSERT_TRUE(shown.ok());
    broken.set_prev_version_hash(ToString(*HexDecode(shown->versions[0].hash)));
  }
  std::string n3 = sign_and_send(*vic_, broken);
  // 4. A note for a visit nobody assigned.
  auto unknown = base("Vic", 102);
  unknown.set_visit_id(ToString(crypto::RandomBytes(16)));
  std::string n4 = sign_and_send(*vic_, unknown);

  r = lee_->Run({"sync"});
  auto show = [&](const std::string& id) { return lee_->Run({"note", "show", id, "--json"}).out; };
  EXPECT_NE(show(n1).find("claims Mallory as author"), std::string::npos) << show(n1);
  EXPECT_NE(show(n2).find("not on this visit's team"), std::string::npos) << show(n2);
  EXPECT_NE(show(n3).find("broken hash chain"), std::string::npos) << show(n3);
  EXPECT_NE(show(n4).find("note for an unknown visit"), std::string::npos) << show(n4);
  for (const auto& id : {n1, n2, n3}) {
    EXPECT_NE(show(id).find("\"status\": \"rejected\""), std::string::npos) << show(id);
  }
  EXPECT_NE(show(n4).find("\"status\": \"pending\""), std::string::npos);
  // The genuine note is untouched.
  EXPECT_NE(show(good_note).find("\"signature\": \"valid\""), std::string::npos) << show(good_note);
  EXPECT_NE(show(good_note).find("\"status\": \"ok\""), std::string::npos) << show(good_note);
  EXPECT_NE(r.exit_code, 0) << "a sync that rejected records must say so";
  EXPECT_NE(r.err.find("rejected"), std::string::npos) << r.err;
}

TEST_F(Journey3Test, AWithheldNoteShowsAsAGapOnTeamDevices) {
  std::string visit = Assign();
  ASSERT_EQ(vic_->Run({"sync"}).exit_code, 0);
  ASSERT_EQ(lee_->Run({"sync"}).exit_code, 0);
  CommandResult r = vic_->Run({"note", "add", "--visit", visit, "--text", "first, to be withheld"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // The relay "drops" it: Lee's mailbox item is acknowledged unread.
  {
    net::Context ctx;
    auto raw = RawAs(*lee_, ctx);
    wire::v1::Request fetch;
    fetch.mutable_fetch();
    auto fr = raw->Call(fetch, 5000);
    ASSERT_TRUE(fr.ok());
    // The note version and the anchors (timestamp receipts) that follow it.
    ASSERT_EQ(fr->fetch().items_size(), 3);
    wire::v1::Request ack;
    for (const auto& item : fr->fetch().items()) ack.mutable_ack()->add_seqs(item.seq());
    ASSERT_TRUE(raw->Call(ack, 5000).ok());
  }
  r = vic_->Run({"note", "add", "--visit", visit, "--text", "second"});
  ASSERT_EQ(r.exit_code, 0);
  std::string second = FirstLine(r.out);
  ASSERT_EQ(lee_->Run({"sync"}).exit_code, 0);
  r = lee_->Run({"note", "show", second, "--json"});
  EXPECT_NE(r.out.find("gap"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("missing note versions 1..1"), std::string::npos) << r.out;
}

TEST_F(Journey3Test, ConcurrentAmendmentsBecomeVisibleBranches) {
  // Only the author amends a note, but from any of their devices: two of
  // Vic's amend version 1 before seeing each other's amendment.
  testing::ClientFixture vic2(dir_, "Vic2", "vic pass 2");
  std::string link = FirstLine(vic_->Run({"device", "link"}).out);
  ASSERT_EQ(vic2.Run({"init"}).exit_code, 0);
  ASSERT_EQ(vic2.Run({"join", link}).exit_code, 0);
  std::string visit = Assign();
  ASSERT_EQ(vic_->Run({"sync"}).exit_code, 0);
  CommandResult r = vic_->Run({"note", "add", "--visit", visit, "--text", kNote1});
  std::string note = FirstLine(r.out);
  ASSERT_EQ(vic2.Run({"sync"}).exit_code, 0);
  ASSERT_EQ(vic_->Run({"note", "amend", note, "--text", "Vic's correction"}).exit_code, 0);
  ASSERT_EQ(vic2.Run({"note", "amend", note, "--text", "Vic's other correction"}).exit_code, 0);
  ASSERT_EQ(lee_->Run({"sync"}).exit_code, 0);
  r = lee_->Run({"note", "show", note, "--json"});
  EXPECT_NE(r.out.find("Vic's correction"), std::string::npos);
  EXPECT_NE(r.out.find("Vic's other correction"), std::string::npos);
  // An exported bundle shows the fork as a fork.
  std::string bundle = dir_.Sub("bundle");
  ASSERT_EQ(lee_->Run({"export", note, "--out", bundle}).exit_code, 0);
  CommandResult v = testing::RunCommand({std::string(VIGIL_BIN_DIR) + "/vigil", "verify", bundle}, {});
  EXPECT_EQ(v.exit_code, 0) << v.err;
  EXPECT_NE(v.out.find("fork: 2 versions 2 (v2, v2-"), std::string::npos) << v.out;
  EXPECT_NE(r.out.find("branch: 2 concurrent amendments made version 2"), std::string::npos) << r.out;
}

TEST_F(Journey3Test, NotesAreWrittenOfflineAndSyncedLater) {
  std::string visit = Assign();
  ASSERT_EQ(vic_->Run({"sync"}).exit_code, 0);
  ASSERT_TRUE(relay_->Stop().ok());
  CommandResult r = vic_->Run({"note", "add", "--visit", visit, "--text", "written in the car park"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string note = FirstLine(r.out);
  r = vic_->Run({"note", "show", note, "--json"});
  EXPECT_NE(r.out.find("written in the car park"), std::string::npos);
  ASSERT_TRUE(relay_->Restart().ok());
  ASSERT_EQ(vic_->Run({"sync"}).exit_code, 0);
  ASSERT_EQ(vic_->Run({"sync"}).exit_code, 0);  // idempotent
  ASSERT_EQ(lee_->Run({"sync"}).exit_code, 0);
  r = lee_->Run({"note", "show", note, "--json"});
  EXPECT_EQ(CountOccurrences(r.out, "written in the car park"), 1u) << r.out;
}

}  // namespace
}  // namespace vigil

namespace vigil {
namespace {

class InviteFromClientTest : public TeamTest {};

TEST_F(InviteFromClientTest, OnlyCoordinatorsInviteAndOnlyVolunteersAndLegal) {
  auto cora = Member("coordinator", "Cora", "cora pass");
  auto vic = Member("volunteer", "Vic", "vic pass");
  CommandResult r = cora->Run({"invite", "--role", "legal", "--name", "Lee"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string code = r.out.substr(0, r.out.find('\n'));
  testing::ClientFixture lee(dir_, "Lee", "lee pass");
  ASSERT_EQ(lee.Run({"init"}).exit_code, 0);
  r = lee.Run({"join", code});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("joined as Lee (legal)"), std::string::npos) << r.out;

  r = vic->Run({"invite", "--role", "volunteer", "--name", "Val"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("only coordinators may invite members"), std::string::npos) << r.err;
  r = cora->Run({"invite", "--role", "coordinator", "--name", "Cal"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("ask the relay operator"), std::string::npos) << r.err;
  r = cora->Run({"invite", "--role", "volunteer", "--name", "Vic"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("already exists"), std::string::npos) << r.err;
  ExpectRelayServes(*cora);
}

TEST_F(InviteFromClientTest, TheRetentionCapDeletesUnfetchedMail) {
  ASSERT_TRUE(relay_->Stop().ok());
  // Restart with a two-second retention cap.
  testing::BackgroundProcess serve(
      {testing::BinPath("vigil-relay"), "serve", "--data", relay_->data_dir(), "--retention", "2s"},
      {{"VIGIL_RELAY_PASSPHRASE", testing::RelayFixture::kPassphrase}}, dir_.path());
  ASSERT_TRUE(serve.WaitForStderr("listening", 15000)) << serve.Stderr();
  auto cora = Member("coordinator", "Cora", "cora pass");
  auto vic = Member("volunteer", "Vic", "vic pass");
  ASSERT_EQ(vic->Run({"send", "--to", "Cora", "--text", "will expire unread"}).exit_code, 0);
  ASSERT_TRUE(serve.WaitForStderr("event=purged", 10000)) << serve.Stderr();
  ASSERT_EQ(cora->Run({"sync"}).exit_code, 0);
  EXPECT_EQ(cora->Run({"inbox", "--json"}).out.find("will expire unread"), std::string::npos);
  serve.Signal(SIGTERM);
  EXPECT_EQ(*serve.Wait(5000), 0);
}

}  // namespace
}  // namespace vigil
