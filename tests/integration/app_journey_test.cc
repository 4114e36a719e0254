// Journey 7 through the app's JSON API, with a real relay and one real
// `vigil app` process per member: the coordinator assigns a visit, the
// volunteer accepts and writes a note while the relay is down (queued), the
// background sync delivers it once the relay is back (the event stream says
// so), the volunteer amends it, and the legal adviser sees both signed
// versions and exports a zip that `vigil verify` accepts. SIGTERM stops an
// app with exit 0 and nothing lost.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <set>

#include "app_fixture.h"
#include "team_fixture.h"
#include "testing/testing.h"
#include "vigil/crypto.h"

namespace vigil {
namespace {

using nlohmann::json;

// Unzips with Python's zipfile (an independent reader), into `dir`.
bool Unzip(const std::string& zip, const std::string& dir) {
  testing::CommandResult r = testing::RunCommand(
      {"/usr/bin/python3", "-c", "import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])", zip, dir});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.exit_code == 0;
}

std::set<std::string> FilesUnder(const std::string& dir) {
  std::set<std::string> out;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) out.insert(std::filesystem::relative(e.path(), dir).string());
  }
  return out;
}

// The relay (and dir_) come from TeamTest.
class AppJourneyTest : public TeamTest {
 protected:
  std::unique_ptr<AppProcess> AppMember(const std::string& role, const std::string& name, const std::string& pass) {
    auto app = std::make_unique<AppProcess>(dir_, dir_.Sub(name + "-home"),
                                            std::vector<std::string>{"--sync-seconds", "2"});
    app->Start();
    std::string invite = relay_->Invite(role, name);
    app->InitAndJoin(pass, invite);
    return app;
  }
};

TEST_F(AppJourneyTest, AssignAcceptNoteOfflineDeliverAmendExportVerify) {
  auto cora = AppMember("coordinator", "Cora", "cora pass");
  auto vic = AppMember("volunteer", "Vic", "vic pass");
  auto lee = AppMember("legal", "Lee", "lee pass");
  ASSERT_FALSE(HasFatalFailure());
  EXPECT_EQ(cora->Get("/api/state").json.value("role", ""), "coordinator");

  // The coordinator assigns a visit.
  ApiAnswer a = cora->Post("/api/visits", {{"volunteers", {"Vic"}},
                                           {"legal", {"Lee"}},
                                           {"detainee", "D. Example"},
                                           {"facility", "Theo Lacy Facility, Orange CA"},
                                           {"at", "2026-12-01T10:00-08:00"}});
  ASSERT_EQ(a.status, 201) << a.body;
  std::string visit = a.json.value("id", "");
  EXPECT_FALSE(a.json.value("queued", true));

  // The volunteer syncs, sees it assigned, accepts.
  ASSERT_EQ(vic->Post("/api/sync").status, 200);
  a = vic->Get("/api/visits");
  ASSERT_EQ(a.status, 200) << a.body;
  ASSERT_EQ(a.json.size(), 1u);
  EXPECT_EQ(a.json[0].value("status", ""), "assigned");
  EXPECT_EQ(a.json[0].value("id", ""), visit);
  a = vic->Post("/api/visits/" + visit + "/accept");
  ASSERT_EQ(a.status, 200) << a.body;
  EXPECT_FALSE(a.json.value("queued", true));
  EXPECT_EQ(vic->Get("/api/visits/" + visit).json.value("status", ""), "accepted");
  // Unknown ids: 404, and the app goes on.
  EXPECT_EQ(vic->Post("/api/visits/" + std::string(32, 'f') + "/accept").status, 404);
  EXPECT_EQ(vic->Post("/api/visits/" + visit + "/fly").status, 404);

  // Vic's event stream, read in the background from here on.
  std::atomic<bool> sync_sent_seen{false};
  std::string events;
  std::mutex events_mu;
  std::thread stream([&] {
    auto c = vic->Client();
    c->set_read_timeout(40, 0);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(40);
    c->Get("/api/events", [&](const char* data, size_t n) {
      std::lock_guard<std::mutex> lock(events_mu);
      events.append(data, n);
      // A sync event that sent something (the queued note).
      size_t at = events.find("event: sync\ndata: {\"sent\":");
      while (at != std::string::npos) {
        size_t v = at + std::strlen("event: sync\ndata: {\"sent\":");
        if (v < events.size() && events[v] != '0') sync_sent_seen = true;
        at = events.find("event: sync\ndata: {\"sent\":", v);
      }
      return !sync_sent_seen && std::chrono::steady_clock::now() < deadline;
    });
  });

  // Offline: the note is saved on the device and queued.
  ASSERT_TRUE(relay_->Stop().ok());
  a = vic->Post("/api/notes", {{"visit", visit}, {"text", "Arrived 09:50. Guard said interpreter unavailable."}});
  ASSERT_EQ(a.status, 201) << a.body;
  std::string note = a.json.value("id", "");
  EXPECT_FALSE(a.json.value("delivered", true)) << "the relay is down: queued";
  a = vic->Get("/api/status");
  EXPECT_GT(a.json.value("outbox", 0), 0);
  EXPECT_EQ(vic->Get("/api/notes/" + note).json["versions"].size(), 1u);

  // Back online: the background sync delivers it, and the stream says so.
  ASSERT_TRUE(relay_->Restart().ok());
  EXPECT_TRUE(vic->WaitOutboxEmpty(20000)) << vic->Get("/api/status").body;
  stream.join();
  EXPECT_TRUE(sync_sent_seen.load()) << events;
  {
    std::lock_guard<std::mutex> lock(events_mu);
    EXPECT_NE(events.find("event: changed"), std::string::npos) << events;
  }

  // Amend: a new signed version.
  a = vic->Post("/api/notes/" + note + "/amend", {{"text", "Correction: arrived 09:55."}});
  ASSERT_EQ(a.status, 201) << a.body;
  EXPECT_EQ(a.json.value("version", 0), 2);
  EXPECT_TRUE(a.json.value("delivered", false));

  // The legal adviser sees both versions, signed by Vic.
  ASSERT_EQ(lee->Post("/api/sync").status, 200);
  a = lee->Get("/api/notes/" + note);
  ASSERT_EQ(a.status, 200) << a.body;
  ASSERT_EQ(a.json["versions"].size(), 2u) << a.body;
  for (const auto& v : a.json["versions"]) {
    EXPECT_EQ(v.value("author", ""), "Vic");
    EXPECT_EQ(v.value("signature", ""), "valid");
  }
  EXPECT_EQ(a.json["versions"][1].value("text", ""), "Correction: arrived 09:55.");

  // Export as a zip; unzipped, `vigil verify` accepts it.
  auto r = lee->Client()->Get("/api/export?note=" + note);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(r->get_header_value("Content-Type"), "application/zip");
  std::string top = "vigil-note-" + note.substr(0, 8);
  EXPECT_NE(r->get_header_value("Content-Disposition").find(top + ".zip"), std::string::npos);
  ASSERT_TRUE(testing::WriteFile(dir_.Sub("bundle.zip"), r->body));
  ASSERT_TRUE(Unzip(dir_.Sub("bundle.zip"), dir_.Sub("unzipped")));
  testing::CommandResult v = testing::RunCommand({testing::BinPath("vigil"), "verify", dir_.Sub("unzipped/" + top)});
  EXPECT_EQ(v.exit_code, 0) << v.out << v.err;

  // The same zip through the app's verify: every claim ok; a changed byte fails.
  a = lee->Raw("POST", "/api/verify", r->body, "application/zip");
  ASSERT_EQ(a.status, 200) << a.body;
  EXPECT_TRUE(a.json.value("ok", false)) << a.body;
  EXPECT_GT(a.json["lines"].size(), 2u);
  std::string text_file;
  for (const auto& f : FilesUnder(dir_.Sub("unzipped/" + top))) {
    // The first version's text (".../v1.txt").
    if (f.size() >= 6 && f.compare(f.size() - 6, 6, "v1.txt") == 0 && text_file.empty()) text_file = f;
  }
  ASSERT_FALSE(text_file.empty());
  std::string content = testing::ReadFile(dir_.Sub("unzipped/" + top + "/" + text_file));
  content[0] ^= 1;
  ASSERT_TRUE(testing::WriteFile(dir_.Sub("unzipped/" + top + "/" + text_file), content));
  testing::CommandResult rezip = testing::RunCommand(
      {"/usr/bin/python3", "-c",
       "import os, sys, zipfile\nz = zipfile.ZipFile(sys.argv[1], 'w')\nfor d, _, fs in os.walk(sys.argv[2]):\n"
       "  for f in fs:\n    p = os.path.join(d, f); z.write(p, os.path.relpath(p, os.path.dirname(sys.argv[2])))\nz.close()",
       dir_.Sub("tampered.zip"), dir_.Sub("unzipped/" + top)});
  ASSERT_EQ(rezip.exit_code, 0) << rezip.err;
  a = lee->Raw("POST", "/api/verify", testing::ReadFile(dir_.Sub("tampered.zip")), "application/zip");
  ASSERT_EQ(a.status, 200) << a.body;
  EXPECT_FALSE(a.json.value("ok", true));
  ASSERT_FALSE(a.json["lines"].empty());
  EXPECT_FALSE(a.json["lines"].back().value("ok", true));

  // SIGTERM: exit 0; the store keeps everything; the CLI's own export of the
  // same note has exactly the files the zip had.
  EXPECT_EQ(lee->Stop(), 0) << lee->process()->Stderr();
  EXPECT_EQ(vic->Stop(), 0) << vic->process()->Stderr();
  testing::ClientFixture lee_cli(dir_, "Lee", "lee pass");
  testing::CommandResult ex = testing::RunCommand(
      {testing::BinPath("vigil"), "--home", lee->home(), "export", note, "--out", dir_.Sub("cli-export"), "--no-sync"},
      {{"VIGIL_PASSPHRASE", "lee pass"}});
  ASSERT_EQ(ex.exit_code, 0) << ex.err;
  std::filesystem::remove_all(dir_.Sub("unzipped"));
  ASSERT_TRUE(Unzip(dir_.Sub("bundle.zip"), dir_.Sub("unzipped")));
  EXPECT_EQ(FilesUnder(dir_.Sub("unzipped/" + top)), FilesUnder(dir_.Sub("cli-export")));
  testing::CommandResult notes = testing::RunCommand(
      {testing::BinPath("vigil"), "--home", vic->home(), "note", "show", note, "--json"},
      {{"VIGIL_PASSPHRASE", "vic pass"}});
  ASSERT_EQ(notes.exit_code, 0) << notes.err;
  EXPECT_NE(notes.out.find("Correction: arrived 09:55."), std::string::npos);
  EXPECT_EQ(cora->Stop(), 0);
}

TEST_F(AppJourneyTest, MessagesShowDeliveredOrQueued) {
  auto cora = AppMember("coordinator", "Cora", "cora pass");
  auto vic = AppMember("volunteer", "Vic", "vic pass");
  ASSERT_FALSE(HasFatalFailure());
  ApiAnswer a = vic->Post("/api/messages", {{"to", "Cora"}, {"text", "Met D. at 10:05"}});
  ASSERT_EQ(a.status, 201) << a.body;
  EXPECT_TRUE(a.json.value("delivered", false));
  ASSERT_TRUE(relay_->Stop().ok());
  a = vic->Post("/api/messages", {{"to", "Cora"}, {"text", "Asked for a Russian interpreter"}});
  ASSERT_EQ(a.status, 201) << a.body;
  EXPECT_FALSE(a.json.value("delivered", true));
  a = vic->Get("/api/messages");
  ASSERT_EQ(a.status, 200) << a.body;
  ASSERT_EQ(a.json["sent"].size(), 2u);
  EXPECT_TRUE(a.json["sent"][0].value("delivered", false));
  EXPECT_FALSE(a.json["sent"][1].value("delivered", true));
  ASSERT_TRUE(relay_->Restart().ok());
  EXPECT_TRUE(vic->WaitOutboxEmpty(20000));
  EXPECT_TRUE(vic->Get("/api/messages").json["sent"][1].value("delivered", false));
  ASSERT_EQ(cora->Post("/api/sync").status, 200);
  a = cora->Get("/api/messages");
  ASSERT_EQ(a.json["inbox"].size(), 2u) << a.body;
  EXPECT_EQ(a.json["inbox"][0].value("from", ""), "Vic");
  // Members and whoami follow the CLI's --json fields.
  a = cora->Get("/api/members");
  ASSERT_EQ(a.status, 200);
  bool saw_vic = false;
  for (const auto& m : a.json) saw_vic |= m.value("name", "") == "Vic" && m.contains("identity_fingerprint");
  EXPECT_TRUE(saw_vic) << a.body;
  EXPECT_EQ(cora->Get("/api/whoami").json.value("name", ""), "Cora");
}

}  // namespace
}  // namespace vigil

namespace vigil {
namespace {

// The rest of the API on a joined team: invites, devices (link a second
// device), members verify, attachments, stamp, TSAs, drafts, settings,
// backup, passphrase change.
TEST_F(AppJourneyTest, DevicesInvitesAttachmentsSettingsBackupPassphrase) {
  auto cora = AppMember("coordinator", "Cora", "cora pass");
  ASSERT_FALSE(HasFatalFailure());
  // A coordinator's invite, shown once, works for a new member's app.
  ApiAnswer a = cora->Post("/api/invites", {{"role", "volunteer"}, {"name", "Vic"}, {"expires_hours", 2}});
  ASSERT_EQ(a.status, 201) << a.body;
  std::string invite = a.json.value("code", "");
  EXPECT_EQ(cora->Post("/api/invites", {{"role", "volunteer"}, {"name", 5}}).status, 400);
  auto vic = std::make_unique<AppProcess>(dir_, dir_.Sub("Vic-home"), std::vector<std::string>{"--sync-seconds", "2"});
  ASSERT_NO_FATAL_FAILURE(vic->Start());
  EXPECT_EQ(vic->Post("/api/join", {{"code", invite}}).status, 423) << "join needs a store";
  ASSERT_NO_FATAL_FAILURE(vic->InitAndJoin("vic pass", invite));
  EXPECT_EQ(vic->Get("/api/whoami").json.value("role", ""), "volunteer");

  // Members: verify in person (a wrong fingerprint is refused and says so).
  std::string vic_fp = vic->Get("/api/whoami").json.value("identity_fingerprint", "");
  ASSERT_EQ(cora->Get("/api/members").status, 200);
  a = cora->Post("/api/members/verify", {{"name", "Vic"}, {"fingerprint", "12345 67890"}});
  EXPECT_EQ(a.status, 400) << a.body;
  EXPECT_EQ(cora->Post("/api/members/verify", {{"name", "Vic"}, {"fingerprint", vic_fp}}).status, 204);
  bool verified = false;
  for (const auto& m : cora->Get("/api/members").json) verified |= m.value("name", "") == "Vic" && m.value("verified", false);
  EXPECT_TRUE(verified);

  // Devices: list, link a second device of Vic's, see the 6-digit code.
  a = vic->Get("/api/devices");
  ASSERT_EQ(a.status, 200);
  ASSERT_EQ(a.json.size(), 1u);
  EXPECT_TRUE(a.json[0].value("current", false));
  a = vic->Post("/api/devices/link");
  ASSERT_EQ(a.status, 201) << a.body;
  std::string link = a.json.value("code", "");
  auto vic2 = std::make_unique<AppProcess>(dir_, dir_.Sub("Vic2-home"), std::vector<std::string>{"--sync-seconds", "2"});
  ASSERT_NO_FATAL_FAILURE(vic2->Start());
  ASSERT_EQ(vic2->Post("/api/init", {{"passphrase", "vic pass 2"}}).status, 201);
  a = vic2->Post("/api/join", {{"code", link}});
  ASSERT_EQ(a.status, 200) << a.body;
  EXPECT_TRUE(a.json.value("linking", false));
  std::string sas = a.json.value("sas", "");
  EXPECT_EQ(std::count_if(sas.begin(), sas.end(), [](char c) { return c >= '0' && c <= '9'; }), 6) << sas;
  EXPECT_EQ(vic->Post("/api/devices/" + std::string(16, '0') + "/revoke").status, 404);

  // A visit, a note with an attachment (uploaded, streamed), its download.
  a = cora->Post("/api/visits", {{"volunteers", {"Vic"}}, {"detainee", "D. Example"},
                                 {"facility", "Adelanto"}, {"at", "2026-12-02T09:00-08:00"}});
  ASSERT_EQ(a.status, 201) << a.body;
  std::string visit = a.json.value("id", "");
  ASSERT_EQ(vic->Post("/api/sync").status, 200);
  std::string photo(300 * 1024, '\0');
  for (size_t i = 0; i < photo.size(); ++i) photo[i] = static_cast<char>(i * 7);
  a = vic->Raw("POST", "/api/uploads?name=intake%20form.png", photo, "application/octet-stream");
  ASSERT_EQ(a.status, 201) << a.body;
  std::string upload = a.json.value("upload", "");
  ASSERT_EQ(vic->Put("/api/drafts/new:" + visit, {{"text", "Intake form"}}).status, 204);
  EXPECT_EQ(vic->Get("/api/drafts").json.size(), 1u);
  a = vic->Post("/api/notes", {{"visit", visit}, {"text", "Intake form attached"}, {"attachments", {upload}}});
  ASSERT_EQ(a.status, 201) << a.body;
  std::string note = a.json.value("id", "");
  EXPECT_EQ(vic->Post("/api/notes", {{"visit", visit}, {"text", "again"}, {"attachments", {upload}}}).status, 404)
      << "an upload is used once";
  auto r = vic->Client()->Get("/api/notes/" + note + "/versions/1/attachments/0");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(r->body, photo);
  EXPECT_EQ(r->get_header_value("Content-Disposition"), "attachment; filename=\"intake form.png\"");
  EXPECT_EQ(vic->Get("/api/notes/" + note + "/versions/1/attachments/1").status, 404);
  a = vic->Get("/api/notes?visit=" + visit);
  ASSERT_EQ(a.status, 200);
  ASSERT_EQ(a.json.size(), 1u);
  EXPECT_EQ(a.json[0]["versions"][0]["attachments"][0].value("size", 0), static_cast<int>(photo.size()));
  EXPECT_EQ(vic->Raw("DELETE", "/api/drafts/new:" + visit, "", "application/json").status, 204);
  EXPECT_EQ(vic->Get("/api/drafts/new:" + visit).status, 404);
  // Stamp and TSAs.
  a = vic->Post("/api/notes/" + note + "/stamp");
  ASSERT_EQ(a.status, 200) << a.body;
  EXPECT_TRUE(a.json.contains("stamped"));
  a = vic->Get("/api/tsas");
  ASSERT_EQ(a.status, 200);
  EXPECT_TRUE(a.json.is_array());
  EXPECT_EQ(vic->Post("/api/tsas", {{"url", "http://127.0.0.1:1/tsr"}, {"ca_pem", "not a certificate"}}).status, 400);

  // Settings: kept in the home, validated.
  a = vic->Put("/api/settings", {{"idle_minutes", 5}, {"language", "es"}});
  ASSERT_EQ(a.status, 200) << a.body;
  EXPECT_EQ(vic->Get("/api/settings").json.value("language", ""), "es");
  EXPECT_EQ(vic->Get("/api/state").json.value("idle_minutes", 0), 5);
  EXPECT_NE(testing::ReadFile(vic->home() + "/app-settings.json").find("\"es\""), std::string::npos);
  EXPECT_EQ(vic->Put("/api/settings", {{"language", "fr"}}).status, 400);
  EXPECT_EQ(vic->Put("/api/settings", {{"idle_minutes", 0}}).status, 400);

  // Backup, then a passphrase change (the old one must be right).
  a = vic->Post("/api/backup", {{"out", dir_.Sub("vic-backup")}});
  ASSERT_EQ(a.status, 200) << a.body;
  EXPECT_FALSE(testing::ReadFile(dir_.Sub("vic-backup.key")).empty());
  EXPECT_EQ(vic->Post("/api/backup", {{"out", "relative/path"}}).status, 400);
  EXPECT_EQ(vic->Post("/api/passphrase", {{"old", "nope"}, {"new", "vic new pass"}}).status, 401);
  EXPECT_EQ(vic->Post("/api/passphrase", {{"old", "vic pass"}, {"new", "vic new pass"}}).status, 204);
  ASSERT_EQ(vic->Post("/api/lock").status, 204);
  EXPECT_EQ(vic->Post("/api/unlock", {{"passphrase", "vic pass"}}).status, 401);
  EXPECT_EQ(vic->Post("/api/unlock", {{"passphrase", "vic new pass"}}).status, 200);
  EXPECT_EQ(vic->Get("/api/notes/" + note).status, 200);
}

}  // namespace
}  // namespace vigil
