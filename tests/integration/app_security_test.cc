// vigil app's security rules and bad input (docs/APP.md, "Security model"),
// each against a real `vigil app --no-browser` process: the answer is a
// clear error, the app keeps serving, nothing is lost.
#include <gtest/gtest.h>

#include "app_fixture.h"
#include "testing/testing.h"
#include "vigil/storage.h"

namespace vigil {
namespace {

using nlohmann::json;

class AppSecurityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(StartApp("600"));
  }
  void StartApp(const std::string& idle_seconds) {
    if (app_) {
      EXPECT_EQ(app_->Stop(), 0);
    }
    app_ = std::make_unique<AppProcess>(dir_, dir_.Sub("home"),
                                        std::vector<std::string>{"--idle-seconds", idle_seconds, "--sync-seconds", "60"});
    ASSERT_NO_FATAL_FAILURE(app_->Start());
  }
  void InitStore() {
    ApiAnswer a = app_->Post("/api/init", {{"passphrase", "cora pass"}});
    ASSERT_EQ(a.status, 201) << a.body;
  }
  // The app still answers and the store still holds `key`'s draft.
  void ExpectServingAndKept(const std::string& key, const std::string& text) {
    ApiAnswer a = app_->Get("/api/drafts/" + key);
    ASSERT_EQ(a.status, 200) << a.body;
    EXPECT_EQ(a.json.value("text", ""), text);
  }

  testing::TempDir dir_;
  std::unique_ptr<AppProcess> app_;
};

TEST_F(AppSecurityTest, PrintsExactlyOneUrlLine) {
  EXPECT_EQ(testing::CountOccurrences(app_->process()->Stdout(), "\n"), 1u);
  EXPECT_EQ(app_->process()->Stdout(), app_->url_line());
  // The token never reaches stderr (the log).
  EXPECT_EQ(app_->process()->Stderr().find(app_->token()), std::string::npos);
}

// A signal that arrives right after the URL line, before the server has
// started listening, still stops the app (it once hung there: the stop was
// lost). Probabilistic: the window is short, so it is tried several times.
TEST_F(AppSecurityTest, StopsOnASignalRightAfterTheUrlLine) {
  for (int i = 0; i < 8; ++i) {
    ASSERT_NO_FATAL_FAILURE(StartApp("600"));  // stops the previous one: exit 0
  }
  EXPECT_EQ(app_->Stop(), 0);
}

TEST_F(AppSecurityTest, MissingOrWrongTokenIs401AndTheCookieWorks) {
  auto bare = app_->Client(false);
  ApiAnswer a = AppProcess::From(bare->Get("/api/state"));
  EXPECT_EQ(a.status, 401);
  EXPECT_EQ(a.json.value("code", ""), "unauthorized");
  std::string wrong = app_->token();
  wrong[0] = wrong[0] == 'a' ? 'b' : 'a';
  a = AppProcess::From(bare->Get("/api/state", {{"X-Vigil-Token", wrong}}));
  EXPECT_EQ(a.status, 401);
  a = AppProcess::From(bare->Get(
      "/api/state", {{"Cookie", "vigil_session_" + std::to_string(app_->port()) + "=" + app_->token()}}));
  EXPECT_EQ(a.status, 401) << "the start token is not a session cookie";
  // The page's exchange: token -> HttpOnly, SameSite=Strict cookie.
  a = AppProcess::From(bare->Post("/api/session", {{"X-Vigil-Token", app_->token()}}, "{}", "application/json"));
  ASSERT_EQ(a.status, 204);
  std::string cookie = a.header("Set-Cookie");
  EXPECT_NE(cookie.find("HttpOnly"), std::string::npos);
  EXPECT_NE(cookie.find("SameSite=Strict"), std::string::npos);
  // Named for this app's port: cookies are shared by every port of a host,
  // and a second app on the machine must not overwrite this one's.
  EXPECT_EQ(cookie.rfind("vigil_session_" + std::to_string(app_->port()) + "=", 0), 0u) << cookie;
  std::string value = cookie.substr(0, cookie.find(';'));
  a = AppProcess::From(bare->Get("/api/state", {{"Cookie", "theme=dark; " + value}}));
  EXPECT_EQ(a.status, 200) << a.body;
  // A cookie cannot open another session: only the token can.
  a = AppProcess::From(bare->Post("/api/session", {{"Cookie", value}}, "{}", "application/json"));
  EXPECT_EQ(a.status, 401);
  // Static files need no token and hold no data.
  a = AppProcess::From(bare->Get("/"));
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(a.header("Content-Type"), "text/html; charset=utf-8");
}

TEST_F(AppSecurityTest, WrongHostIs403) {
  for (const std::string& host : {std::string("evil.example"), "evil.example:" + std::to_string(app_->port()),
                                  std::string("127.0.0.1:1"), "127.0.0.2:" + std::to_string(app_->port())}) {
    ApiAnswer a = app_->Get("/api/state", {{"Host", host}});
    EXPECT_EQ(a.status, 403) << host;
    EXPECT_EQ(a.json.value("code", ""), "forbidden");
    a = AppProcess::From(app_->Client(false)->Get("/", {{"Host", host}}));
    EXPECT_EQ(a.status, 403) << "static files too: " << host;
  }
  EXPECT_EQ(app_->Get("/api/state", {{"Host", "localhost:" + std::to_string(app_->port())}}).status, 200);
}

TEST_F(AppSecurityTest, ForeignOriginIs403) {
  ApiAnswer a = app_->Post("/api/init", {{"passphrase", "p"}}, {{"Origin", "http://evil.example"}});
  EXPECT_EQ(a.status, 403);
  a = app_->Get("/api/state", {{"Origin", "http://127.0.0.1:" + std::to_string(app_->port() + 1)}});
  EXPECT_EQ(a.status, 403);
  a = app_->Get("/api/state", {{"Origin", "null"}});
  EXPECT_EQ(a.status, 403);
  // Nothing was created by the refused init.
  a = app_->Get("/api/state", {{"Origin", "http://127.0.0.1:" + std::to_string(app_->port())}});
  ASSERT_EQ(a.status, 200);
  EXPECT_EQ(a.json.value("store", ""), "none");
}

TEST_F(AppSecurityTest, CorsSimplePostsAreRefused) {
  for (const char* type : {"text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"}) {
    ApiAnswer a = app_->Raw("POST", "/api/init", "{\"passphrase\":\"p\"}", type);
    EXPECT_EQ(a.status, 415) << type;
    EXPECT_EQ(a.json.value("code", ""), "unsupported_media");
  }
  EXPECT_EQ(app_->Get("/api/state").json.value("store", ""), "none");
}

TEST_F(AppSecurityTest, SecurityHeadersEverywhereAndNoCors) {
  std::vector<ApiAnswer> answers = {app_->Get("/api/state"), app_->Get("/"), app_->Get("/nope.js"),
                                    AppProcess::From(app_->Client(false)->Get("/api/state")),
                                    AppProcess::From(app_->Client()->Options("/api/state"))};
  for (size_t i = 0; i < answers.size(); ++i) {
    const ApiAnswer& a = answers[i];
    ASSERT_NE(a.status, 0) << i;
    EXPECT_NE(a.header("Content-Security-Policy").find("default-src 'self'"), std::string::npos) << i;
    EXPECT_NE(a.header("Content-Security-Policy").find("frame-ancestors 'none'"), std::string::npos) << i;
    EXPECT_EQ(a.header("X-Frame-Options"), "DENY") << i;
    EXPECT_EQ(a.header("Referrer-Policy"), "no-referrer") << i;
    EXPECT_EQ(a.header("X-Content-Type-Options"), "nosniff") << i;
    for (const auto& [k, v] : a.headers) {
      EXPECT_EQ(k.rfind("Access-Control-", 0), std::string::npos) << i << ": " << k;
    }
  }
  EXPECT_EQ(answers[0].header("Cache-Control"), "no-store");
  EXPECT_EQ(answers[3].header("Cache-Control"), "no-store");
  EXPECT_EQ(answers[2].status, 404);
  EXPECT_EQ(answers[4].status, 405);
}

TEST_F(AppSecurityTest, WrongPassphraseHasTheCliWordsAndRepeatedFailuresSlowDown) {
  ASSERT_NO_FATAL_FAILURE(InitStore());
  ASSERT_EQ(app_->Post("/api/lock").status, 204);
  // The CLI's sentence for the same mistake.
  testing::CommandResult cli = testing::RunCommand({testing::BinPath("vigil"), "--home", app_->home(), "whoami"},
                                                   {{"VIGIL_PASSPHRASE", "not it"}});
  ASSERT_NE(cli.exit_code, 0);
  std::string cli_words = cli.err.substr(std::string("vigil: ").size());
  while (!cli_words.empty() && cli_words.back() == '\n') cli_words.pop_back();
  EXPECT_EQ(cli_words, std::string(storage::kWrongPassphrase));
  for (int i = 0; i < 2; ++i) {
    ApiAnswer a = app_->Post("/api/unlock", {{"passphrase", "not it"}});
    ASSERT_EQ(a.status, 401) << a.body;
    EXPECT_EQ(a.json.value("code", ""), "wrong_passphrase");
    EXPECT_EQ(a.json.value("error", ""), cli_words);
  }
  ApiAnswer slow = app_->Post("/api/unlock", {{"passphrase", "cora pass"}});
  ASSERT_EQ(slow.status, 429) << slow.body;
  EXPECT_EQ(slow.json.value("code", ""), "slow_down");
  EXPECT_EQ(slow.json.value("retry_after_s", 0), 1);
  EXPECT_EQ(slow.header("Retry-After"), "1");
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  EXPECT_EQ(app_->Post("/api/unlock", {{"passphrase", "still not it"}}).status, 401);
  slow = app_->Post("/api/unlock", {{"passphrase", "cora pass"}});
  ASSERT_EQ(slow.status, 429);
  EXPECT_EQ(slow.json.value("retry_after_s", 0), 2) << "the delay grows";
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));
  EXPECT_EQ(app_->Post("/api/unlock", {{"passphrase", "cora pass"}}).status, 200);
  // The passphrases never reached the log.
  EXPECT_EQ(app_->process()->Stderr().find("not it"), std::string::npos);
  EXPECT_EQ(app_->process()->Stderr().find("cora pass"), std::string::npos);
}

TEST_F(AppSecurityTest, LockAndIdleTimeoutDropTheStore) {
  ASSERT_NO_FATAL_FAILURE(StartApp("3"));  // a short idle timeout for this test
  ASSERT_NO_FATAL_FAILURE(InitStore());
  ASSERT_EQ(app_->Put("/api/drafts/new:x", {{"text", "kept"}}).status, 204);
  ASSERT_EQ(app_->Post("/api/lock").status, 204);
  ApiAnswer a = app_->Get("/api/drafts/new:x");
  EXPECT_EQ(a.status, 423);
  EXPECT_EQ(a.json.value("code", ""), "locked");
  EXPECT_EQ(app_->Get("/api/state").json.value("store", ""), "locked");
  ASSERT_EQ(app_->Post("/api/unlock", {{"passphrase", "cora pass"}}).status, 200);
  ExpectServingAndKept("new:x", "kept");
  // Idle (3 s here): the page's own polling does not count as activity, nor
  // do the re-reads it marks as background after a live update.
  uint64_t seq = app_->Get("/api/state").json.value("seq", 0ull);
  bool locked = false;
  for (int i = 0; i < 20 && !locked; ++i) {
    ApiAnswer bg = app_->Get("/api/visits", {{"X-Vigil-Background", "1"}});
    ASSERT_TRUE(bg.status == 200 || bg.status == 423) << bg.body;
    ApiAnswer c = app_->Get("/api/changes?since=" + std::to_string(seq) + "&wait_s=1");
    ASSERT_EQ(c.status, 200) << c.body;
    locked = c.json.value("locked", false);
    seq = c.json.value("seq", seq);
  }
  EXPECT_TRUE(locked);
  EXPECT_EQ(app_->Get("/api/drafts/new:x").status, 423);
  ASSERT_EQ(app_->Post("/api/unlock", {{"passphrase", "cora pass"}}).status, 200);
  ExpectServingAndKept("new:x", "kept");
}

TEST_F(AppSecurityTest, BadInputGetsClearErrorsAndTheAppKeepsServing) {
  ASSERT_NO_FATAL_FAILURE(InitStore());
  ASSERT_EQ(app_->Put("/api/drafts/new:x", {{"text", "kept"}}).status, 204);
  // Oversized JSON body.
  std::string big = "{\"text\":\"" + std::string(1024 * 1024 + 10, 'a') + "\"}";
  ApiAnswer a = app_->Raw("PUT", "/api/drafts/new:x", big, "application/json");
  EXPECT_EQ(a.status, 413);
  EXPECT_EQ(a.json.value("code", ""), "too_large");
  // An upload over 25 MiB.
  a = app_->Raw("POST", "/api/uploads?name=big.bin", std::string(25 * 1024 * 1024 + 1, 'x'), "application/octet-stream");
  EXPECT_EQ(a.status, 413);
  // Malformed JSON, a non-object, a deeply nested one, a missing or mistyped field.
  for (const std::string& bad : std::vector<std::string>{"{\"text\":", "[1,2]", "\"x\"",
                                                         std::string(100, '[') + std::string(100, ']'),
                                                         "{\"text\": 5}", "{}"}) {
    a = app_->Raw("PUT", "/api/drafts/new:x", bad, "application/json");
    EXPECT_EQ(a.status, 400) << bad.substr(0, 20);
    EXPECT_EQ(a.json.value("code", ""), "bad_request");
    EXPECT_FALSE(a.json.value("error", "").empty());
  }
  // Unknown ids and routes.
  std::string unknown(32, 'f');
  for (const std::string& path : std::vector<std::string>{"/api/visits/" + unknown, "/api/notes/" + unknown,
                                                          "/api/drafts/none", "/api/no-such-thing"}) {
    a = app_->Get(path);
    EXPECT_EQ(a.status, 404) << path;
    EXPECT_EQ(a.json.value("code", ""), "not_found");
  }
  EXPECT_EQ(app_->Post("/api/notes/" + unknown + "/amend", {{"text", "x"}}).status, 404);
  EXPECT_EQ(app_->Post("/api/notes", {{"visit", unknown}, {"text", "x"}, {"attachments", {"nope"}}}).status, 404);
  ExpectServingAndKept("new:x", "kept");
}

TEST_F(AppSecurityTest, UploadIsEncryptedOnDiskAndInitOnExistingStoreConflicts) {
  ASSERT_NO_FATAL_FAILURE(InitStore());
  EXPECT_EQ(app_->Post("/api/init", {{"passphrase", "again"}}).status, 409);
  ApiAnswer a = app_->Raw("POST", "/api/uploads?name=scan.txt", "Detainee asked for a Russian interpreter",
                          "application/octet-stream");
  ASSERT_EQ(a.status, 201) << a.body;
  EXPECT_EQ(a.json.value("size", 0), 40);
  EXPECT_EQ(a.json.value("sha256", "").size(), 64u);
  std::string file = testing::ReadFile(app_->home() + "/app-uploads/" + a.json.value("upload", ""));
  EXPECT_FALSE(file.empty());
  EXPECT_EQ(file.find("Russian"), std::string::npos);
  // A name with a path is refused.
  EXPECT_EQ(app_->Raw("POST", "/api/uploads?name=../x", "x", "application/octet-stream").status, 400);
}

}  // namespace
}  // namespace vigil
