// The app's HTTP server (cpp-httplib) on 127.0.0.1 only: the security rules
// of docs/APP.md ("Security model") — the start token and session cookies,
// Host and Origin checks, Content-Type on writes, body limits, headers on
// every answer — then the static page (assets.h) or the JSON API (api.h).
//
// Thread safety: cpp-httplib serves each connection on a pool thread; the
// token and cookie table are guarded by a mutex; Stop() may be called from
// any thread (e.g. the signal watcher).
#ifndef VIGIL_CLIENT_APP_SERVER_H_
#define VIGIL_CLIENT_APP_SERVER_H_

#include <httplib.h>

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "client/app/api.h"
#include "client/app/service.h"
#include "vigil/crypto.h"
#include "vigil/status.h"

namespace vigil::app {

class Server {
 public:
  Server(Service* service, Api* api);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds 127.0.0.1:`port` (0: a free port) and makes the start token.
  Status Bind(int port);
  int port() const { return port_; }
  // http://127.0.0.1:PORT/#k=TOKEN (the caller prints it; it is a secret).
  crypto::SecretBytes Url() const;
  // Serves until Stop().
  void Serve();
  void Stop();

 private:
  void Handle(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader* reader);
  bool HostOk(const httplib::Request& req) const;
  bool OriginOk(const httplib::Request& req) const;
  bool Authorised(const httplib::Request& req) const;
  bool TokenMatches(const std::string& presented) const;
  void NewSession(httplib::Response& res);
  void Static(const httplib::Request& req, httplib::Response& res);

  Service* service_;
  Api* api_;
  httplib::Server http_;
  int port_ = 0;
  crypto::SecretBytes token_hex_;  // 64 hex characters
  mutable std::mutex mu_;
  std::vector<crypto::SecretBytes> sessions_;  // guarded by mu_; 64 hex each
};

}  // namespace vigil::app

#endif  // VIGIL_CLIENT_APP_SERVER_H_
