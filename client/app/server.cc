#include "client/app/server.h"

#include <sodium.h>

#include <cstring>

#include "client/app/assets.h"

namespace vigil::app {
namespace {

constexpr char kCsp[] =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'";
// The session cookie's name carries the port: cookies are shared by every
// port of a host, so two apps on one machine must not overwrite each
// other's session.
std::string CookieName(int port) { return "vigil_session_" + std::to_string(port); }
constexpr size_t kMaxSessions = 64;

crypto::SecretBytes RandomHex() {
  crypto::SecretBytes raw = crypto::SecretBytes::Random(32);
  crypto::SecretBytes hex(65);
  sodium_bin2hex(reinterpret_cast<char*>(hex.data()), hex.size(), raw.data(), raw.size());
  crypto::SecretBytes out = crypto::SecretBytes::CopyOf(ByteSpan(hex.data(), 64));
  return out;
}

bool EqualCt(const crypto::SecretBytes& secret, std::string_view presented) {
  if (presented.size() != secret.size()) return false;
  return sodium_memcmp(secret.data(), presented.data(), secret.size()) == 0;
}

// The media type of a Content-Type header, lower case, without parameters.
std::string MediaType(const std::string& header) {
  std::string t = header.substr(0, header.find(';'));
  while (!t.empty() && (t.back() == ' ' || t.back() == '\t')) t.pop_back();
  size_t i = 0;
  while (i < t.size() && (t[i] == ' ' || t[i] == '\t')) ++i;
  t = t.substr(i);
  for (char& c : t) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return t;
}

std::string CookieValue(const httplib::Request& req, std::string_view name) {
  for (size_t k = 0; k < req.get_header_value_count("Cookie"); ++k) {
    std::string all = req.get_header_value("Cookie", k);
    size_t pos = 0;
    while (pos < all.size()) {
      size_t end = all.find(';', pos);
      if (end == std::string::npos) end = all.size();
      std::string part = all.substr(pos, end - pos);
      size_t b = part.find_first_not_of(' ');
      if (b != std::string::npos) part = part.substr(b);
      if (part.size() > name.size() && part.compare(0, name.size(), name) == 0 && part[name.size()] == '=') {
        return part.substr(name.size() + 1);
      }
      pos = end + 1;
    }
  }
  return "";
}

// Reads a whole body of at most `limit` bytes; false if longer or cut short.
bool ReadBody(const httplib::ContentReader& reader, size_t limit, std::string* out, bool* too_big) {
  *too_big = false;
  bool ok = reader([&](const char* data, size_t n) {
    if (*too_big || out->size() + n > limit) {
      *too_big = true;
      return true;  // keep draining, so that the answer reaches the client
    }
    out->append(data, n);
    return true;
  });
  return ok && !*too_big;
}

}  // namespace

Server::Server(Service* service, Api* api) : service_(service), api_(api) {
  // Headers on every answer, errors included.
  http_.set_default_headers({{"Content-Security-Policy", kCsp},
                             {"X-Frame-Options", "DENY"},
                             {"Referrer-Policy", "no-referrer"},
                             {"X-Content-Type-Options", "nosniff"}});
  // Bodies above the largest route limit are refused (413) by the library
  // itself, which skips them; smaller ones are checked per route.
  http_.set_payload_max_length(kMaxVerifyBody + 1024 * 1024);
  http_.set_read_timeout(10, 0);
  http_.set_write_timeout(10, 0);
  // An idle kept-alive browser connection holds a pool thread this long at
  // shutdown; keep it short.
  http_.set_keep_alive_timeout(2);
  // Every thread in the pool can hold one request; event streams and long
  // polls hold one each (at most kMaxEventStreams), leaving the rest free.
  http_.new_task_queue = [] { return new httplib::ThreadPool(kMaxEventStreams + 8); };
  http_.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
    // Never the exception's text (it might quote input).
    WriteError(res, 500, "internal", "the app hit an internal error; the request was not completed");
  });
  auto plain = [this](const httplib::Request& req, httplib::Response& res) { Handle(req, res, nullptr); };
  auto with_body = [this](const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& r) {
    Handle(req, res, &r);
  };
  http_.Get(".*", plain);
  http_.Post(".*", with_body);
  http_.Put(".*", with_body);
  http_.Delete(".*", with_body);
  http_.Patch(".*", with_body);
  http_.Options(".*", plain);
}

Server::~Server() { Stop(); }

Status Server::Bind(int port) {
  token_hex_ = RandomHex();
  if (port == 0) {
    port_ = http_.bind_to_any_port("127.0.0.1");
    if (port_ <= 0) return Status::Unavailable("cannot listen on 127.0.0.1");
  } else {
    if (!http_.bind_to_port("127.0.0.1", port)) {
      return Status::Unavailable("cannot listen on 127.0.0.1:" + std::to_string(port) + " (in use?)");
    }
    port_ = port;
  }
  return Status::Ok();
}

crypto::SecretBytes Server::Url() const {
  std::string prefix = "http://127.0.0.1:" + std::to_string(port_) + "/#k=";
  crypto::SecretBytes out(prefix.size() + token_hex_.size());
  std::memcpy(out.data(), prefix.data(), prefix.size());
  std::memcpy(out.data() + prefix.size(), token_hex_.data(), token_hex_.size());
  return out;
}

void Server::Serve() { http_.listen_after_bind(); }

void Server::Stop() {
  api_->Close();  // event streams end, so the pool can drain
  http_.stop();
}

bool Server::HostOk(const httplib::Request& req) const {
  if (req.get_header_value_count("Host") != 1) return false;
  std::string host = req.get_header_value("Host");
  std::string port = ":" + std::to_string(port_);
  return host == "127.0.0.1" + port || host == "localhost" + port;
}

bool Server::OriginOk(const httplib::Request& req) const {
  size_t n = req.get_header_value_count("Origin");
  if (n == 0) return true;
  if (n > 1) return false;
  std::string origin = req.get_header_value("Origin");
  std::string port = ":" + std::to_string(port_);
  return origin == "http://127.0.0.1" + port || origin == "http://localhost" + port;
}

bool Server::TokenMatches(const std::string& presented) const { return EqualCt(token_hex_, presented); }

bool Server::Authorised(const httplib::Request& req) const {
  if (req.has_header("X-Vigil-Token") && TokenMatches(req.get_header_value("X-Vigil-Token"))) return true;
  std::string cookie = CookieValue(req, CookieName(port_));
  if (cookie.empty()) return false;
  std::lock_guard<std::mutex> lock(mu_);
  bool found = false;
  for (const auto& s : sessions_) found |= EqualCt(s, cookie);  // no early exit
  return found;
}

void Server::NewSession(httplib::Response& res) {
  crypto::SecretBytes id = RandomHex();
  std::string header = CookieName(port_) + "=" +
                       std::string(reinterpret_cast<const char*>(id.data()), id.size()) +
                       "; HttpOnly; SameSite=Strict; Path=/";
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (sessions_.size() >= kMaxSessions) sessions_.erase(sessions_.begin());
    sessions_.push_back(std::move(id));
  }
  res.set_header("Set-Cookie", header);
  crypto::Wipe(header);
  res.status = 204;
}

void Server::Static(const httplib::Request& req, httplib::Response& res) {
  std::string path = req.path == "/" ? "/index.html" : req.path;
  const Asset* a = FindAsset(path);
  if (!a) return WriteError(res, 404, "not_found", "no such page");
  res.status = 200;
  res.set_content(reinterpret_cast<const char*>(a->data), a->size, ContentTypeFor(path));
  res.set_header("Cache-Control", "no-cache");
}

void Server::Handle(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader* reader) {
  // Whatever is refused, a body the client sent is drained (bounded by the
  // payload limit) so that the answer reaches it on a kept-alive connection.
  auto drain = [&] {
    if (reader) (*reader)([](const char*, size_t) { return true; });
  };
  bool api = req.path == "/api" || req.path.rfind("/api/", 0) == 0;
  if (api) res.set_header("Cache-Control", "no-store");
  if (!HostOk(req)) {
    drain();
    return WriteError(res, 403, "forbidden", "this address is not the app's (wrong Host header)");
  }
  if (!OriginOk(req)) {
    drain();
    return WriteError(res, 403, "forbidden", "requests from other sites are refused (foreign Origin)");
  }
  if (req.method == "OPTIONS") {
    return WriteError(res, 405, "method_not_allowed", "cross-origin requests are not supported");
  }
  if (!api) {
    drain();
    if (req.method != "GET" && req.method != "HEAD") {
      return WriteError(res, 405, "method_not_allowed", "the page is read-only");
    }
    return Static(req, res);
  }
  if (!Authorised(req)) {
    drain();
    return WriteError(res, 401, "unauthorized", "open the app with the address vigil app printed (the token is missing or wrong)");
  }
  RequestBody body;
  body.json = nlohmann::json::object();
  if (reader) {
    BodyKind kind = Api::BodyKindFor(req.method, req.path);
    std::string type = MediaType(req.get_header_value("Content-Type"));
    const char* want = kind == BodyKind::kJson ? "application/json"
                       : kind == BodyKind::kUpload ? "application/octet-stream"
                                                   : "application/zip";
    if (type != want) {
      drain();
      return WriteError(res, 415, "unsupported_media", std::string("send this request with Content-Type: ") + want);
    }
    size_t limit = kind == BodyKind::kJson ? kMaxJsonBody : kind == BodyKind::kUpload ? kMaxUploadBody : kMaxVerifyBody;
    if (req.has_header("Content-Length")) {
      unsigned long long len = std::strtoull(req.get_header_value("Content-Length").c_str(), nullptr, 10);
      if (len > limit) {
        drain();
        return WriteError(res, 413, "too_large",
                          "the request body is larger than this endpoint accepts (" + std::to_string(limit) + " bytes)");
      }
    }
    if (kind == BodyKind::kJson) {
      std::string raw;
      if (req.has_header("Content-Length")) {
        raw.reserve(std::strtoull(req.get_header_value("Content-Length").c_str(), nullptr, 10));
      }
      bool too_big = false;
      bool ok = ReadBody(*reader, limit, &raw, &too_big);
      if (too_big) {
        crypto::Wipe(raw);
        return WriteError(res, 413, "too_large", "the request body is larger than 1 MiB");
      }
      if (!ok) {
        crypto::Wipe(raw);
        return WriteError(res, 400, "bad_request", "the request body was cut short");
      }
      if (!raw.empty()) {
        // Depth is bounded; the parser never throws here.
        bool too_deep = false;
        nlohmann::json::parser_callback_t cb = [&](int depth, nlohmann::json::parse_event_t, nlohmann::json&) {
          if (depth > 32) too_deep = true;
          return !too_deep;
        };
        body.json = nlohmann::json::parse(raw, cb, false);
        crypto::Wipe(raw);  // it may hold a passphrase
        if (too_deep || body.json.is_discarded() || !body.json.is_object()) {
          return WriteError(res, 400, "bad_request", "the request body is not a JSON object");
        }
      }
    } else {
      body.reader = reader;
      body.limit = limit;
    }
  }
  if (Api::IsActivity(req.method, req.path, req.get_header_value("X-Vigil-Background") == "1")) {
    service_->Touch();
  }
  if (req.method == "POST" && req.path == "/api/session") {
    // Only the start token itself opens a session (not another cookie).
    if (!req.has_header("X-Vigil-Token") || !TokenMatches(req.get_header_value("X-Vigil-Token"))) {
      return WriteError(res, 401, "unauthorized", "a session needs the start token (X-Vigil-Token)");
    }
    return NewSession(res);
  }
  api_->Handle(req, body, res);
}

}  // namespace vigil::app
