// A throwaway RFC 3161 time-stamping authority on 127.0.0.1 for tests.
//
// Start() makes a root CA and a TSA certificate (ECDSA P-256; the TSA's
// extendedKeyUsage is critical timeStamping, keyUsage digitalSignature and
// nonRepudiation) with the `openssl` command line in a fresh TempDir, writes
// an openssl TS config, and serves HTTP on a free loopback port from a
// thread: each POST body is answered by `openssl ts -reply -queryfile ...`
// with Content-Type application/timestamp-reply. A request without
// Content-Type application/timestamp-query gets 415. One request per
// connection; bodies are recorded for inspection. Needs nothing outside the
// source tree except the `openssl` binary.
//
//   LocalTsa tsa;                       // or LocalTsa(LocalTsa::Mode::kHttp500)
//   ASSERT_TRUE(tsa.Start().ok());
//   options.configs["rfc3161"] = tsa.PluginConfig();  // url=...\nca_pem=...\n
//
// Thread safety: requests() and request_count() may be called while the
// server thread runs; everything else from the owning test only.
#ifndef VIGIL_TESTS_TESTING_LOCAL_TSA_H_
#define VIGIL_TESTS_TESTING_LOCAL_TSA_H_

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "testing/testing.h"
#include "vigil/status.h"

namespace vigil::testing {

class LocalTsa {
 public:
  enum class Mode {
    kNormal,
    kDown,               // nothing listens on the port (connection refused)
    kHttp500,            // HTTP 500 to everything
    kWrongContentType,   // a real reply, served as text/html
    kGarbageBody,        // 200, right Content-Type, body not a TimeStampResp
    kReplayFirstReply,   // every request gets the first reply produced (nonce mismatch)
    kUntrustedCa,        // signs with a TSA of another CA than ca_pem_path()'s
    kReject,             // PKIStatus rejection (the TSA refuses SHA-256)
    kHang,               // reads the request, never answers
    kOversizeBody,       // 200, right Content-Type, a 70 000-byte body
    kRedirect,           // 307 to the same URL (a client must not follow)
  };

  explicit LocalTsa(Mode mode = Mode::kNormal);
  ~LocalTsa();  // stops the server and removes the directory
  LocalTsa(const LocalTsa&) = delete;
  LocalTsa& operator=(const LocalTsa&) = delete;

  // Makes the certificates and starts serving (kDown: reserves a port that
  // refuses connections).
  Status Start();

  std::string url() const;                       // http://127.0.0.1:<port>/tsa
  std::string ca_pem_path() const { return dir_.Sub("ca.pem"); }  // trust anchor
  std::string tsa_cert_path() const;             // the certificate that signs replies
  std::string ca_pem() const;                    // contents of ca_pem_path()
  // "url=<url>\nca_pem=<base64 of ca.pem>\n" for the rfc3161 plugin.
  std::string PluginConfig() const;
  const std::string& dir() const { return dir_.path(); }
  int port() const { return port_; }

  std::vector<std::string> requests() const;  // POST bodies received, in order
  size_t request_count() const;

  // The openssl binary used (first on $PATH, else /usr/bin/openssl).
  static std::string OpensslPath();

 private:
  Status MakeCa(const std::string& prefix, const std::string& cn);
  Status MakeTsaCert(const std::string& ca_prefix, const std::string& prefix, const std::string& cn);
  void Serve();
  void Handle(int fd);
  // A reply from `openssl ts -reply`; empty with *why on failure.
  std::string Reply(const std::string& query, std::string* why);

  const Mode mode_;
  TempDir dir_;
  std::string config_path_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  std::vector<std::string> requests_;
  std::vector<int> held_;  // kHang: connections never answered
  std::string first_reply_;
  int query_serial_ = 0;
};

}  // namespace vigil::testing

#endif  // VIGIL_TESTS_TESTING_LOCAL_TSA_H_
