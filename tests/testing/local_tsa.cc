#include "testing/local_tsa.h"

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <cstdlib>
#include <cstring>

#include "vigil/bytes.h"

namespace vigil::testing {
namespace {

constexpr size_t kMaxHeader = 16 * 1024;
constexpr size_t kMaxBody = 64 * 1024;

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool SendAll(int fd, const std::string& data) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t w = send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    off += static_cast<size_t>(w);
  }
  return true;
}

std::string HttpResponse(int code, const std::string& reason, const std::string& content_type,
                         const std::string& body) {
  return "HTTP/1.1 " + std::to_string(code) + " " + reason + "\r\nContent-Type: " + content_type +
         "\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
}

// The config for `openssl req`, `x509 -extfile` and `ts -reply`. Section
// tsa_main signs with tsa.pem (tsa2.pem in kUntrustedCa); tsa_reject
// refuses SHA-256 imprints.
std::string OpensslConfig(const std::string& dir, const std::string& signer) {
  std::string tsa_common = "serial = " + dir + "/serial\ncrypto_device = builtin\nsigner_cert = " + dir +
                           "/" + signer + ".pem\nsigner_key = " + dir + "/" + signer +
                           ".key\nsigner_digest = sha256\ndefault_policy = 1.2.3.4.1\n"
                           "other_policies = 1.2.3.4.5\naccuracy = secs:1, millisecs:500\n"
                           "clock_precision_digits = 3\nordering = yes\ntsa_name = yes\n"
                           "ess_cert_id_chain = no\ness_cert_id_alg = sha256\n";
  return "[ req ]\ndistinguished_name = req_dn\nprompt = no\n"
         "[ req_dn ]\nCN = unused\n"
         "[ v3_ca ]\nbasicConstraints = critical,CA:TRUE\nkeyUsage = critical,keyCertSign,cRLSign\n"
         "subjectKeyIdentifier = hash\n"
         "[ tsa_ext ]\nbasicConstraints = critical,CA:FALSE\n"
         "keyUsage = critical,digitalSignature,nonRepudiation\n"
         "extendedKeyUsage = critical,timeStamping\nsubjectKeyIdentifier = hash\n"
         "authorityKeyIdentifier = keyid\n"
         "[ tsa ]\ndefault_tsa = tsa_main\n"
         "[ tsa_main ]\n" + tsa_common + "digests = sha256, sha384, sha512\n"
         "[ tsa_reject ]\n" + tsa_common + "digests = sha384, sha512\n";
}

}  // namespace

LocalTsa::LocalTsa(Mode mode) : mode_(mode) {}

LocalTsa::~LocalTsa() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  if (listen_fd_ >= 0) close(listen_fd_);
  for (int fd : held_) close(fd);
}

std::string LocalTsa::OpensslPath() {
  const char* path = std::getenv("PATH");
  std::string p = path ? path : "";
  size_t start = 0;
  while (start <= p.size()) {
    size_t end = p.find(':', start);
    if (end == std::string::npos) end = p.size();
    std::string candidate = p.substr(start, end - start) + "/openssl";
    if (end > start && access(candidate.c_str(), X_OK) == 0) return candidate;
    start = end + 1;
  }
  return "/usr/bin/openssl";
}

std::string LocalTsa::url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/tsa"; }

std::string LocalTsa::tsa_cert_path() const {
  return dir_.Sub(mode_ == Mode::kUntrustedCa ? "tsa2.pem" : "tsa.pem");
}

std::string LocalTsa::ca_pem() const { return ReadFile(ca_pem_path()); }

std::string LocalTsa::PluginConfig() const {
  return "url=" + url() + "\nca_pem=" + Base64Encode(AsBytes(ca_pem())) + "\n";
}

std::vector<std::string> LocalTsa::requests() const {
  std::lock_guard<std::mutex> l(mu_);
  return requests_;
}

size_t LocalTsa::request_count() const {
  std::lock_guard<std::mutex> l(mu_);
  return requests_.size();
}

Status LocalTsa::MakeCa(const std::string& prefix, const std::string& cn) {
  CommandResult r = RunCommand({OpensslPath(), "req", "-config", config_path_, "-x509", "-new", "-newkey", "ec",
                                "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
                                dir_.Sub(prefix + ".key"), "-out", dir_.Sub(prefix + ".pem"), "-days", "3650",
                                "-subj", "/CN=" + cn, "-extensions", "v3_ca"},
                               {{"OPENSSL_CONF", config_path_}});
  if (r.exit_code != 0) return Status::Internal("openssl req (CA) failed: " + r.err);
  return Status::Ok();
}

Status LocalTsa::MakeTsaCert(const std::string& ca_prefix, const std::string& prefix, const std::string& cn) {
  CommandResult r = RunCommand({OpensslPath(), "req", "-config", config_path_, "-new", "-newkey", "ec",
                                "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
                                dir_.Sub(prefix + ".key"), "-out", dir_.Sub(prefix + ".csr"), "-subj", "/CN=" + cn},
                               {{"OPENSSL_CONF", config_path_}});
  if (r.exit_code != 0) return Status::Internal("openssl req (TSA) failed: " + r.err);
  r = RunCommand({OpensslPath(), "x509", "-req", "-in", dir_.Sub(prefix + ".csr"), "-CA",
                  dir_.Sub(ca_prefix + ".pem"), "-CAkey", dir_.Sub(ca_prefix + ".key"), "-set_serial", "0x7e57",
                  "-days", "3650", "-extfile", config_path_, "-extensions", "tsa_ext", "-out",
                  dir_.Sub(prefix + ".pem")},
                 {{"OPENSSL_CONF", config_path_}});
  if (r.exit_code != 0) return Status::Internal("openssl x509 (TSA) failed: " + r.err);
  return Status::Ok();
}

Status LocalTsa::Start() {
  config_path_ = dir_.Sub("openssl.cnf");
  const bool untrusted = mode_ == Mode::kUntrustedCa;
  if (!WriteFile(config_path_, OpensslConfig(dir_.path(), untrusted ? "tsa2" : "tsa")) ||
      !WriteFile(dir_.Sub("serial"), "01\n")) {
    return Status::Internal("cannot write the TSA config");
  }
  VIGIL_RETURN_IF_ERROR(MakeCa("ca", "Vigil Test Root CA"));
  VIGIL_RETURN_IF_ERROR(MakeTsaCert("ca", "tsa", "Vigil Test TSA"));
  if (untrusted) {
    VIGIL_RETURN_IF_ERROR(MakeCa("ca2", "Some Other Root CA"));
    VIGIL_RETURN_IF_ERROR(MakeTsaCert("ca2", "tsa2", "Some Other TSA"));
  }

  listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) return Status::Internal("socket failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;  // the kernel picks a free port; no race with other tests
  if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    return Status::Internal(std::string("bind failed: ") + strerror(errno));
  }
  socklen_t len = sizeof addr;
  getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  // kDown: bound (so nobody else gets the port) but not listening, so
  // connections are refused.
  if (mode_ == Mode::kDown) return Status::Ok();
  if (listen(listen_fd_, 16) != 0) return Status::Internal(std::string("listen failed: ") + strerror(errno));
  thread_ = std::thread([this] { Serve(); });
  return Status::Ok();
}

void LocalTsa::Serve() {
  while (!stop_.load()) {
    pollfd pfd{listen_fd_, POLLIN, 0};
    int pr = poll(&pfd, 1, 50);
    if (pr <= 0) continue;
    int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    timeval tv{5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    Handle(fd);
  }
}

void LocalTsa::Handle(int fd) {
  // Headers.
  std::string in;
  size_t header_end = std::string::npos;
  char buf[4096];
  while (header_end == std::string::npos && in.size() < kMaxHeader) {
    ssize_t r = recv(fd, buf, sizeof buf, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    in.append(buf, static_cast<size_t>(r));
    header_end = in.find("\r\n\r\n");
  }
  auto finish = [&](const std::string& response) {
    SendAll(fd, response);
    shutdown(fd, SHUT_WR);
    close(fd);
  };
  if (header_end == std::string::npos) {
    finish(HttpResponse(400, "Bad Request", "text/plain", "no complete header\n"));
    return;
  }
  std::string head = in.substr(0, header_end);
  std::string body = in.substr(header_end + 4);
  if (head.rfind("POST ", 0) != 0) {
    finish(HttpResponse(405, "Method Not Allowed", "text/plain", "POST only\n"));
    return;
  }
  size_t content_length = 0;
  bool have_length = false;
  std::string content_type;
  size_t pos = head.find("\r\n");
  while (pos != std::string::npos && pos < head.size()) {
    size_t next = head.find("\r\n", pos + 2);
    std::string line = head.substr(pos + 2, (next == std::string::npos ? head.size() : next) - pos - 2);
    size_t colon = line.find(':');
    if (colon != std::string::npos && Lower(line.substr(0, colon)) == "content-length") {
      content_length = std::strtoul(line.c_str() + colon + 1, nullptr, 10);
      have_length = true;
    } else if (colon != std::string::npos && Lower(line.substr(0, colon)) == "content-type") {
      content_type = line.substr(colon + 1);
      content_type.erase(0, content_type.find_first_not_of(" \t"));
    }
    pos = next;
  }
  if (!have_length || content_length > kMaxBody) {
    finish(HttpResponse(411, "Length Required", "text/plain", "Content-Length up to 64 KiB required\n"));
    return;
  }
  while (body.size() < content_length) {
    ssize_t r = recv(fd, buf, std::min(sizeof buf, content_length - body.size()), 0);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    body.append(buf, static_cast<size_t>(r));
  }
  if (body.size() != content_length) {
    close(fd);
    return;
  }
  body.resize(content_length);
  {
    std::lock_guard<std::mutex> l(mu_);
    requests_.push_back(body);
  }

  if (content_type != "application/timestamp-query") {
    finish(HttpResponse(415, "Unsupported Media Type", "text/plain", "send application/timestamp-query\n"));
    return;
  }
  const std::string kReplyType = "application/timestamp-reply";
  std::string why;
  switch (mode_) {
    case Mode::kHang: {
      std::lock_guard<std::mutex> l(mu_);
      held_.push_back(fd);  // closed by the destructor
      return;
    }
    case Mode::kHttp500:
      finish(HttpResponse(500, "Internal Server Error", "text/plain", "the TSA is broken\n"));
      return;
    case Mode::kGarbageBody:
      finish(HttpResponse(200, "OK", kReplyType, std::string("\x30\x03\x02\x01\x63 this is not a TimeStampResp", 33)));
      return;
    case Mode::kRedirect:
      finish("HTTP/1.1 307 Temporary Redirect\r\nLocation: " + url() +
             "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
      return;
    case Mode::kOversizeBody:
      finish(HttpResponse(200, "OK", kReplyType, std::string(70000, '\x30')));
      return;
    case Mode::kReplayFirstReply:
      if (!first_reply_.empty()) {
        finish(HttpResponse(200, "OK", kReplyType, first_reply_));
        return;
      }
      break;
    default:
      break;
  }
  std::string reply = Reply(body, &why);
  if (reply.empty()) {
    finish(HttpResponse(500, "Internal Server Error", "text/plain", why));
    return;
  }
  if (first_reply_.empty()) first_reply_ = reply;
  finish(HttpResponse(200, "OK", mode_ == Mode::kWrongContentType ? "text/html; charset=utf-8" : kReplyType,
                      reply));
}

std::string LocalTsa::Reply(const std::string& query, std::string* why) {
  int n = ++query_serial_;
  std::string q = dir_.Sub("query-" + std::to_string(n) + ".tsq");
  std::string r = dir_.Sub("reply-" + std::to_string(n) + ".tsr");
  if (!WriteFile(q, query)) {
    *why = "cannot write the query file\n";
    return "";
  }
  std::vector<std::string> argv = {OpensslPath(), "ts", "-reply", "-config", config_path_, "-queryfile", q,
                                   "-out", r};
  if (mode_ == Mode::kReject) {
    argv.push_back("-section");
    argv.push_back("tsa_reject");
  }
  CommandResult res = RunCommand(argv, {{"OPENSSL_CONF", config_path_}}, "", 20000);
  std::string reply = ReadFile(r);
  if (reply.empty()) *why = "openssl ts -reply failed (" + std::to_string(res.exit_code) + "): " + res.err;
  return reply;
}

}  // namespace vigil::testing
