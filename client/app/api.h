// The app's JSON API (docs/APP.md, "JSON API"): routes -> Service jobs ->
// JSON answers. Security checks, body limits and headers are Server's job
// (client/app/server.h); by the time Handle runs, the request is authorised
// and its JSON body (if any) parsed.
//
// Thread safety: Handle may be called from many HTTP threads at once. It
// touches the Client only inside Service::Run jobs (the owner thread);
// uploads and settings have their own locks.
#ifndef VIGIL_CLIENT_APP_API_H_
#define VIGIL_CLIENT_APP_API_H_

#include <httplib.h>

#include <atomic>
#include <cstddef>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>

#include "client/app/service.h"
#include "client/app/uploads.h"
#include "vigil/status.h"

namespace vigil::app {

inline constexpr size_t kMaxJsonBody = 1024 * 1024;
inline constexpr size_t kMaxUploadBody = 25 * 1024 * 1024;
inline constexpr size_t kMaxVerifyBody = 64 * 1024 * 1024;
inline constexpr int kMaxEventStreams = 8;

// What a route reads from the request body.
enum class BodyKind { kJson, kUpload, kZip };

struct RequestBody {
  nlohmann::json json;                          // kJson: the parsed body ({} when empty)
  const httplib::ContentReader* reader = nullptr;  // kUpload, kZip: the body, not read yet
  size_t limit = 0;                             // kUpload, kZip: the most to read
};

// Writes {"error","code"} with the HTTP status.
void WriteError(httplib::Response& res, int status, const std::string& code, const std::string& message);
// The HTTP status and code for a Status from client/lib.
void WriteStatusError(httplib::Response& res, const Status& s);

struct Settings {
  int idle_minutes = 10;
  std::string language = "en";
};

class Api {
 public:
  // `idle_override_ms` > 0: the --idle-minutes (or test) value wins over the
  // settings file for this process.
  Api(Service* service, int64_t idle_override_ms);

  static BodyKind BodyKindFor(const std::string& method, const std::string& path);
  // Whether a request counts as user activity for the idle timeout. The
  // page's own polling does not, nor a GET it marks `background` (header
  // X-Vigil-Background: 1: a re-read after an event, not the member's doing),
  // so that a busy team's updates never keep an unattended store open.
  static bool IsActivity(const std::string& method, const std::string& path, bool background);

  void Handle(const httplib::Request& req, RequestBody& body, httplib::Response& res);
  // Unblocks event streams (shutdown).
  void Close() { service_->feed().Close(); }

 private:
  void Events(const httplib::Request& req, httplib::Response& res);
  void Changes(const httplib::Request& req, httplib::Response& res);
  void State(httplib::Response& res);
  void Settings_(const httplib::Request& req, RequestBody& body, httplib::Response& res);
  void Upload(const httplib::Request& req, RequestBody& body, httplib::Response& res);
  void Verify(RequestBody& body, httplib::Response& res);
  void Export(const httplib::Request& req, httplib::Response& res);
  // Runs `fn` on the owner thread with the open Client; 423 when locked.
  void WithClient(httplib::Response& res, const std::function<void(client::Client&, Service&)>& fn);
  Status SaveSettings(const Settings& s);
  void LoadSettings();

  Service* service_;
  Uploads uploads_;
  int64_t idle_override_ms_;
  std::mutex settings_mu_;
  Settings settings_;  // guarded by settings_mu_
  std::atomic<int> streams_{0};
};

}  // namespace vigil::app

#endif  // VIGIL_CLIENT_APP_API_H_
