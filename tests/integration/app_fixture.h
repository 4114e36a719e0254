// A real `vigil app --no-browser` process and an HTTP client for its JSON
// API, shared by the app_*_test.cc integration tests.
#ifndef VIGIL_TESTS_INTEGRATION_APP_FIXTURE_H_
#define VIGIL_TESTS_INTEGRATION_APP_FIXTURE_H_

#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>

#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "testing/testing.h"

namespace vigil {

struct ApiAnswer {
  int status = 0;  // 0: no answer
  nlohmann::json json;
  std::string body;
  httplib::Headers headers;
  std::string header(const std::string& k) const {
    auto it = headers.find(k);
    return it == headers.end() ? "" : it->second;
  }
};

class AppProcess {
 public:
  AppProcess(const testing::TempDir& dir, const std::string& home, std::vector<std::string> extra = {})
      : dir_(dir), home_(home), extra_(std::move(extra)) {}

  // Starts `vigil app --no-browser` and reads the one URL line.
  void Start() {
    std::vector<std::string> argv = {testing::BinPath("vigil"), "app", "--home", home_, "--no-browser"};
    argv.insert(argv.end(), extra_.begin(), extra_.end());
    proc_ = std::make_unique<testing::BackgroundProcess>(argv, testing::Env{}, dir_.path());
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    std::string out;
    while (std::chrono::steady_clock::now() < deadline) {
      out = proc_->Stdout();
      if (out.find('\n') != std::string::npos) break;
      ASSERT_TRUE(proc_->running()) << "vigil app exited: " << proc_->Stderr();
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    std::smatch m;
    std::regex re("^http://127\\.0\\.0\\.1:([0-9]+)/#k=([0-9a-f]{64})\n$");
    ASSERT_TRUE(std::regex_match(out, m, re)) << "stdout: " << out;
    port_ = std::stoi(m[1]);
    token_ = m[2];
    url_line_ = out;
  }

  // SIGTERM; the exit code (or -1 on timeout).
  int Stop(int timeout_ms = 10000) {
    if (!proc_) return -1;
    proc_->Signal(SIGTERM);
    auto code = proc_->Wait(timeout_ms);
    return code.ok() ? *code : -1;
  }

  std::unique_ptr<httplib::Client> Client(bool with_token = true) const {
    auto c = std::make_unique<httplib::Client>("127.0.0.1", port_);
    c->set_read_timeout(60, 0);
    c->set_write_timeout(60, 0);
    c->set_keep_alive(false);
    if (with_token) c->set_default_headers({{"X-Vigil-Token", token_}});
    return c;
  }

  static ApiAnswer From(const httplib::Result& r) {
    ApiAnswer a;
    if (!r) return a;
    a.status = r->status;
    a.body = r->body;
    a.headers = r->headers;
    a.json = nlohmann::json::parse(r->body, nullptr, false);
    return a;
  }

  ApiAnswer Get(const std::string& path, const httplib::Headers& h = {}) const {
    return From(Client()->Get(path, h));
  }
  ApiAnswer Post(const std::string& path, const nlohmann::json& body = nlohmann::json::object(),
                 const httplib::Headers& h = {}) const {
    return From(Client()->Post(path, h, body.dump(), "application/json"));
  }
  ApiAnswer Put(const std::string& path, const nlohmann::json& body) const {
    return From(Client()->Put(path, body.dump(), "application/json"));
  }
  ApiAnswer Raw(const std::string& method, const std::string& path, const std::string& body,
                const std::string& content_type, const httplib::Headers& h = {}, bool with_token = true) const {
    auto c = Client(with_token);
    httplib::Result r = method == "PUT"      ? c->Put(path, h, body, content_type.c_str())
                        : method == "DELETE" ? c->Delete(path, h, body, content_type.c_str())
                                             : c->Post(path, h, body, content_type.c_str());
    return From(r);
  }

  // init + join through the API.
  void InitAndJoin(const std::string& pass, const std::string& invite) {
    ApiAnswer a = Post("/api/init", {{"passphrase", pass}});
    ASSERT_EQ(a.status, 201) << a.body;
    a = Post("/api/join", {{"code", invite}});
    ASSERT_EQ(a.status, 200) << a.body;
  }

  // Waits until /api/status says the outbox is empty (background sync).
  bool WaitOutboxEmpty(int timeout_ms) const {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (std::chrono::steady_clock::now() < deadline) {
      ApiAnswer s = Get("/api/status");
      if (s.status == 200 && s.json.value("outbox", -1) == 0) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }

  int port() const { return port_; }
  const std::string& token() const { return token_; }
  const std::string& home() const { return home_; }
  const std::string& url_line() const { return url_line_; }
  testing::BackgroundProcess* process() { return proc_.get(); }

 private:
  const testing::TempDir& dir_;
  std::string home_;
  std::vector<std::string> extra_;
  std::unique_ptr<testing::BackgroundProcess> proc_;
  int port_ = 0;
  std::string token_, url_line_;
};

}  // namespace vigil

#endif  // VIGIL_TESTS_INTEGRATION_APP_FIXTURE_H_
