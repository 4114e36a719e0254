#include "client/app/api.h"

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "client/app/bundle_zip.h"
#include "client/lib/bundle.h"
#include "client/lib/views.h"
#include "vigil/crypto.h"
#include "vigil/identity.h"
#include "vigil/json.h"

namespace vigil::app {
namespace {

using nlohmann::json;

int64_t WallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void Send(httplib::Response& res, int status, std::string body) {
  res.status = status;
  res.set_content(std::move(body), "application/json");
}

void NoContent(httplib::Response& res) {
  res.status = 204;
  res.body.clear();
}

std::string Object(const std::function<void(vigil::json::Writer&)>& fields) {
  vigil::json::Writer j;
  j.BeginObject();
  fields(j);
  j.EndObject();
  return j.Take();
}

std::vector<std::string> Split(const std::string& path) {
  std::vector<std::string> parts;
  std::string cur;
  for (char c : path) {
    if (c == '/') {
      if (!cur.empty()) parts.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!cur.empty()) parts.push_back(cur);
  return parts;
}

// Body fields. Each returns false after writing a 400.
bool GetString(const json& b, const char* key, bool required, std::string* out, httplib::Response& res) {
  auto it = b.find(key);
  if (it == b.end() || it->is_null()) {
    if (required) WriteError(res, 400, "bad_request", std::string("missing field \"") + key + "\"");
    return !required;
  }
  if (!it->is_string()) {
    WriteError(res, 400, "bad_request", std::string("field \"") + key + "\" must be a string");
    return false;
  }
  *out = it->get<std::string>();
  return true;
}

bool GetStrings(const json& b, const char* key, std::vector<std::string>* out, httplib::Response& res) {
  auto it = b.find(key);
  if (it == b.end() || it->is_null()) return true;
  if (!it->is_array() || it->size() > 1000) {
    WriteError(res, 400, "bad_request", std::string("field \"") + key + "\" must be a list of strings");
    return false;
  }
  for (const auto& v : *it) {
    if (!v.is_string()) {
      WriteError(res, 400, "bad_request", std::string("field \"") + key + "\" must be a list of strings");
      return false;
    }
    out->push_back(v.get<std::string>());
  }
  return true;
}

bool GetInt(const json& b, const char* key, int64_t lo, int64_t hi, std::optional<int64_t>* out,
            httplib::Response& res) {
  auto it = b.find(key);
  if (it == b.end() || it->is_null()) return true;
  if (!it->is_number_integer() || it->get<int64_t>() < lo || it->get<int64_t>() > hi) {
    WriteError(res, 400, "bad_request",
               std::string("field \"") + key + "\" must be a whole number from " + std::to_string(lo) + " to " +
                   std::to_string(hi));
    return false;
  }
  *out = it->get<int64_t>();
  return true;
}

// The passphrase fields are wiped in the parsed body after use.
void WipeField(json& b, const char* key) {
  auto it = b.find(key);
  if (it != b.end() && it->is_string()) crypto::Wipe(it->get_ref<std::string&>());
}

void LockedError(httplib::Response& res, StoreState st) {
  res.status = 423;
  res.set_content(Object([&](vigil::json::Writer& j) {
                    j.Key("error").String(st == StoreState::kNone
                                              ? "there is no Vigil device store here yet; create one first"
                                              : "the store is locked; unlock it with your passphrase");
                    j.Key("code").String("locked");
                    j.Key("store").String(StoreStateName(st));
                  }),
                  "application/json");
}

std::string SafeFilename(const std::string& name) {
  std::string out;
  for (char c : name) {
    unsigned char u = static_cast<unsigned char>(c);
    out += (u < 0x20 || u >= 0x7f || c == '"' || c == '\\' || c == '/' || c == ';') ? '_' : c;
  }
  return out.empty() ? "attachment" : out;
}

// A wrong passphrase (401, the CLI's words) or the slow-down after several
// (429 with retry_after_s); false when `st` is neither.
bool PassphraseRefused(httplib::Response& res, const Status& st, int64_t retry_ms) {
  if (st.code() == Code::kResourceExhausted && retry_ms > 0) {
    int64_t secs = (retry_ms + 999) / 1000;
    res.set_header("Retry-After", std::to_string(secs));
    res.status = 429;
    res.set_content(Object([&](vigil::json::Writer& j) {
                      j.Key("error").String(st.message()).Key("code").String("slow_down");
                      j.Key("retry_after_s").Int(secs);
                    }),
                    "application/json");
    return true;
  }
  if (st.code() == Code::kUnauthenticated) {
    WriteError(res, 401, "wrong_passphrase", st.message());
    return true;
  }
  return false;
}

std::string SyncJson(const SyncOutcome& o) {
  return Object([&](vigil::json::Writer& j) {
    client::views::WriteSyncFields(j, o.result);
    j.Key("rejected_items").BeginArray();
    for (const auto& r : o.result.rejected) {
      j.BeginObject().Key("from_device").String(r.from_device).Key("reason").String(r.reason);
      j.Key("received_at_ms").Int(r.received_at_ms).EndObject();
    }
    j.EndArray();
    j.Key("problems");
    client::views::WriteNames(j, o.result.problems);
    j.Key("notices");
    client::views::WriteNames(j, o.result.notices);
    j.Key("relay_reachable").Bool(o.reachable);
    if (!o.error.empty()) j.Key("error").String(o.error);
  });
}

}  // namespace

void WriteError(httplib::Response& res, int status, const std::string& code, const std::string& message) {
  res.status = status;
  res.set_content(Object([&](vigil::json::Writer& j) { j.Key("error").String(message).Key("code").String(code); }),
                  "application/json");
}

void WriteStatusError(httplib::Response& res, const Status& s) {
  int status = 500;
  const char* code = "internal";
  switch (s.code()) {
    case Code::kInvalidArgument: status = 400; code = "bad_request"; break;
    case Code::kNotFound: status = 404; code = "not_found"; break;
    case Code::kAlreadyExists: status = 409; code = "conflict"; break;
    case Code::kFailedPrecondition: status = 409; code = "conflict"; break;
    case Code::kPermissionDenied: status = 403; code = "forbidden"; break;
    case Code::kUnauthenticated: status = 403; code = "forbidden"; break;
    case Code::kResourceExhausted: status = 413; code = "too_large"; break;
    case Code::kUnavailable:
    case Code::kDeadlineExceeded: status = 503; code = "unavailable"; break;
    default: break;
  }
  WriteError(res, status, code, s.message());
}

Api::Api(Service* service, int64_t idle_override_ms)
    : service_(service), uploads_(service->home() + "/app-uploads"), idle_override_ms_(idle_override_ms) {
  LoadSettings();
  service_->set_idle_ms(idle_override_ms_ > 0 ? idle_override_ms_ : settings_.idle_minutes * 60000LL);
  service_->OnLock([this] { uploads_.Clear(); });
}

BodyKind Api::BodyKindFor(const std::string& method, const std::string& path) {
  if (method == "POST" && path == "/api/uploads") return BodyKind::kUpload;
  if (method == "POST" && path == "/api/verify") return BodyKind::kZip;
  return BodyKind::kJson;
}

bool Api::IsActivity(const std::string& method, const std::string& path, bool background) {
  if (method != "GET") return true;
  if (background) return false;  // the page re-reading after an event
  return path != "/api/events" && path != "/api/changes" && path != "/api/state" && path != "/api/status";
}

void Api::LoadSettings() {
  std::ifstream in(service_->home() + "/app-settings.json");
  if (!in) return;
  std::stringstream ss;
  ss << in.rdbuf();
  json j = json::parse(ss.str(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) return;
  if (j.contains("idle_minutes") && j["idle_minutes"].is_number_integer()) {
    int m = j["idle_minutes"].get<int>();
    if (m >= 1 && m <= 720) settings_.idle_minutes = m;
  }
  if (j.contains("language") && j["language"].is_string()) {
    std::string l = j["language"].get<std::string>();
    if (l == "en" || l == "es") settings_.language = l;
  }
}

Status Api::SaveSettings(const Settings& s) {
  struct stat sb;
  if (stat(service_->home().c_str(), &sb) != 0) return Status::Ok();  // kept in memory until the store exists
  std::string path = service_->home() + "/app-settings.json";
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << json{{"idle_minutes", s.idle_minutes}, {"language", s.language}}.dump() << "\n";
    if (!out) return Status::Internal("cannot write " + path);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) return Status::Internal("cannot write " + path);
  return Status::Ok();
}

void Api::WithClient(httplib::Response& res, const std::function<void(client::Client&, Service&)>& fn) {
  Status ran = service_->Run([&](Service& s) {
    if (!s.client()) {
      LockedError(res, s.state());
      return;
    }
    fn(*s.client(), s);
  });
  if (!ran.ok()) WriteStatusError(res, ran);
}

void Api::State(httplib::Response& res) {
  Settings st;
  {
    std::lock_guard<std::mutex> lock(settings_mu_);
    st = settings_;
  }
  std::string body;
  Status ran = service_->Run([&](Service& s) {
    body = Object([&](vigil::json::Writer& j) {
      j.Key("store").String(StoreStateName(s.state()));
      if (s.client()) {
        auto w = s.client()->Whoami();
        j.Key("joined").Bool(w.ok() && !w->name.empty());
        if (w.ok()) j.Key("name").String(w->name).Key("role").String(w->role);
      } else {
        j.Key("joined").Bool(false);
      }
      j.Key("idle_minutes").Int(s.idle_ms() / 60000);
      j.Key("idle_seconds").Int(s.idle_ms() / 1000);
      j.Key("language").String(st.language);
      j.Key("seq").Uint(s.feed().seq());
    });
  });
  if (!ran.ok()) return WriteStatusError(res, ran);
  Send(res, 200, body);
}

void Api::Events(const httplib::Request& req, httplib::Response& res) {
  if (streams_.fetch_add(1) >= kMaxEventStreams) {
    streams_.fetch_sub(1);
    return WriteError(res, 503, "unavailable", "too many event streams are open; close another tab");
  }
  uint64_t since = service_->feed().seq();
  if (req.has_header("Last-Event-ID")) {
    since = std::strtoull(req.get_header_value("Last-Event-ID").c_str(), nullptr, 10);
  }
  auto first = std::make_shared<bool>(true);
  auto seq = std::make_shared<uint64_t>(since);
  res.status = 200;
  res.set_chunked_content_provider(
      "text/event-stream",
      [this, first, seq](size_t, httplib::DataSink& sink) {
        if (*first) {
          *first = false;
          std::string hello = "retry: 2000\n: connected\n\n";
          return sink.write(hello.data(), hello.size());
        }
        FeedUpdate u = service_->feed().Since(*seq, 15000);
        if (u.closed) {
          sink.done();
          return true;
        }
        std::string out;
        if (u.truncated) {
          out += "id: " + std::to_string(u.seq) + "\nevent: changed\ndata: {\"seq\":" + std::to_string(u.seq) +
                 ",\"what\":[\"visits\",\"notes\",\"messages\",\"members\",\"devices\",\"status\",\"settings\","
                 "\"problems\",\"state\",\"drafts\"]}\n\n";
        }
        for (const auto& e : u.events) {
          out += "id: " + std::to_string(e.seq) + "\nevent: " + e.type + "\ndata: " + e.data + "\n\n";
        }
        if (out.empty()) out = ": ping\n\n";
        *seq = u.seq;
        return sink.write(out.data(), out.size());
      },
      [this](bool) { streams_.fetch_sub(1); });
}

void Api::Changes(const httplib::Request& req, httplib::Response& res) {
  uint64_t since = req.has_param("since") ? std::strtoull(req.get_param_value("since").c_str(), nullptr, 10) : 0;
  int64_t wait_s = req.has_param("wait_s") ? std::strtoll(req.get_param_value("wait_s").c_str(), nullptr, 10) : 25;
  wait_s = std::clamp<int64_t>(wait_s, 0, 30);
  if (streams_.fetch_add(1) >= kMaxEventStreams) {
    streams_.fetch_sub(1);
    return WriteError(res, 503, "unavailable", "too many waiting requests; close another tab");
  }
  FeedUpdate u = service_->feed().Since(since, wait_s * 1000);
  streams_.fetch_sub(1);
  Send(res, 200, Object([&](vigil::json::Writer& j) {
         j.Key("seq").Uint(u.seq);
         j.Key("what").BeginArray();
         for (const auto& w : u.what) j.String(w);
         j.EndArray();
         j.Key("locked").Bool(service_->state() != StoreState::kUnlocked);
       }));
}

void Api::Settings_(const httplib::Request& req, RequestBody& body, httplib::Response& res) {
  std::lock_guard<std::mutex> lock(settings_mu_);
  if (req.method == "PUT") {
    std::optional<int64_t> idle;
    std::string lang;
    if (!GetInt(body.json, "idle_minutes", 1, 720, &idle, res)) return;
    if (!GetString(body.json, "language", false, &lang, res)) return;
    if (!lang.empty() && lang != "en" && lang != "es") {
      return WriteError(res, 400, "bad_request", "language must be \"en\" or \"es\"");
    }
    Settings next = settings_;
    if (idle) next.idle_minutes = static_cast<int>(*idle);
    if (!lang.empty()) next.language = lang;
    Status s = SaveSettings(next);
    if (!s.ok()) return WriteStatusError(res, s);
    settings_ = next;
    if (idle_override_ms_ <= 0) service_->set_idle_ms(settings_.idle_minutes * 60000LL);
    service_->feed().Changed({"settings"});
  } else if (req.method != "GET") {
    return WriteError(res, 405, "method_not_allowed", "use GET or PUT");
  }
  Send(res, 200, Object([&](vigil::json::Writer& j) {
         j.Key("idle_minutes").Int(settings_.idle_minutes).Key("language").String(settings_.language);
       }));
}

void Api::Upload(const httplib::Request& req, RequestBody& body, httplib::Response& res) {
  std::string name = req.get_param_value("name");
  auto w = uploads_.Begin(name, body.limit);
  if (!w.ok()) {
    // Drain what the browser sends, so the answer reaches it.
    (*body.reader)([](const char*, size_t) { return true; });
    return WriteStatusError(res, w.status());
  }
  Status appended = Status::Ok();
  bool read = (*body.reader)([&](const char* data, size_t n) {
    if (!appended.ok()) return true;  // keep draining after an error
    appended = (*w)->Append(data, n);
    return true;
  });
  if (!read) return WriteError(res, 400, "bad_request", "the upload was cut short");
  if (!appended.ok()) return WriteStatusError(res, appended);
  auto info = (*w)->Finish();
  if (!info.ok()) return WriteStatusError(res, info.status());
  Send(res, 201, Object([&](vigil::json::Writer& j) {
         j.Key("upload").String(info->id).Key("name").String(info->name);
         j.Key("size").Uint(info->size).Key("sha256").String(info->sha256);
       }));
}

void Api::Verify(RequestBody& body, httplib::Response& res) {
  std::string zip;
  bool too_big = false;
  bool read = (*body.reader)([&](const char* data, size_t n) {
    if (too_big || zip.size() + n > body.limit) {
      too_big = true;
      return true;  // drain
    }
    zip.append(data, n);
    return true;
  });
  if (!read) return WriteError(res, 400, "bad_request", "the upload was cut short");
  if (too_big) return WriteError(res, 413, "too_large", "a bundle upload is at most 64 MiB");
  auto dir = UnzipBundle(zip, service_->home());
  if (!dir.ok()) return WriteError(res, 400, "bad_request", dir.status().message());
  auto report = client::VerifyBundle(dir->bundle_dir());
  std::string out = Object([&](vigil::json::Writer& j) {
    j.Key("ok").Bool(report.ok());
    j.Key("lines").BeginArray();
    if (report.ok()) {
      for (const auto& l : report->lines) j.BeginObject().Key("ok").Bool(true).Key("text").String(l).EndObject();
    } else {
      j.BeginObject().Key("ok").Bool(false).Key("text").String("verification FAILED: " + report.status().message()).EndObject();
    }
    j.EndArray();
  });
  Send(res, 200, out);
}

void Api::Export(const httplib::Request& req, httplib::Response& res) {
  bool is_visit = req.has_param("visit");
  if (is_visit == req.has_param("note")) {
    return WriteError(res, 400, "bad_request", "give exactly one of ?note=ID or ?visit=ID");
  }
  std::string id = is_visit ? req.get_param_value("visit") : req.get_param_value("note");
  std::string top;
  for (char c : id.substr(0, 8)) {
    if (!std::isxdigit(static_cast<unsigned char>(c))) return WriteError(res, 404, "not_found", "no such id");
  }
  top = std::string(is_visit ? "vigil-visit-" : "vigil-note-") + id.substr(0, 8);
  auto tmp = TempDir::Create(service_->home() + "/app-export-");
  if (!tmp.ok()) return WriteStatusError(res, tmp.status());
  Status exported = Status::Ok();
  bool ran = false;
  WithClient(res, [&](client::Client& c, Service& s) {
    ran = true;
    s.SyncNow();  // bring in the team's latest versions first (best effort, like the CLI)
    exported = c.Export(id, is_visit, (*tmp)->path() + "/" + top);
  });
  if (!ran) return;
  if (!exported.ok()) return WriteStatusError(res, exported);
  auto zip = ZipDirectory((*tmp)->path(), top);
  if (!zip.ok()) return WriteStatusError(res, zip.status());
  res.status = 200;
  res.set_header("Content-Disposition", "attachment; filename=\"" + top + ".zip\"");
  res.set_content(std::move(*zip), "application/zip");
}

void Api::Handle(const httplib::Request& req, RequestBody& body, httplib::Response& res) {
  const std::string& m = req.method;
  std::vector<std::string> p = Split(req.path);  // p[0] == "api"
  auto route = [&](const char* method, std::initializer_list<const char*> parts) {
    if (m != method || p.size() != parts.size() + 1) return false;
    size_t i = 1;
    for (const char* part : parts) {
      if (std::string_view(part) != "*" && p[i] != part) return false;
      ++i;
    }
    return true;
  };
  const json& b = body.json;

  if (route("GET", {"state"})) return State(res);
  if (route("GET", {"events"})) return Events(req, res);
  if (route("GET", {"changes"})) return Changes(req, res);
  if (route("GET", {"settings"}) || route("PUT", {"settings"})) return Settings_(req, body, res);
  if (route("POST", {"uploads"})) return Upload(req, body, res);
  if (route("POST", {"verify"})) return Verify(body, res);
  if (route("GET", {"export"})) return Export(req, res);

  if (route("POST", {"init"})) {
    std::string pass;
    if (!GetString(b, "passphrase", true, &pass, res)) return;
    if (pass.empty()) return WriteError(res, 400, "bad_request", "the passphrase is empty");
    Status ran = service_->Run([&](Service& s) {
      Status st = s.Init(AsBytes(pass));
      if (!st.ok()) return WriteStatusError(res, st);
      auto w = s.client()->Whoami();
      Send(res, 201, Object([&](vigil::json::Writer& j) {
             j.Key("identity_fingerprint").String(w.ok() ? w->identity_fingerprint : "");
           }));
    });
    crypto::Wipe(pass);
    WipeField(body.json, "passphrase");
    if (!ran.ok()) WriteStatusError(res, ran);
    if (ran.ok() && res.status == 201) {
      std::lock_guard<std::mutex> lock(settings_mu_);
      (void)SaveSettings(settings_);
    }
    return;
  }
  if (route("POST", {"unlock"})) {
    std::string pass;
    if (!GetString(b, "passphrase", true, &pass, res)) return;
    Status ran = service_->Run([&](Service& s) {
      int64_t retry_ms = 0;
      Status st = s.Unlock(AsBytes(pass), &retry_ms);
      if (PassphraseRefused(res, st, retry_ms)) return;
      if (st.code() == Code::kFailedPrecondition) return LockedError(res, StoreState::kNone);
      if (!st.ok()) return WriteStatusError(res, st);
      auto w = s.client()->Whoami();
      Send(res, 200, Object([&](vigil::json::Writer& j) {
             j.Key("name").String(w.ok() ? w->name : "").Key("role").String(w.ok() ? w->role : "");
             j.Key("joined").Bool(w.ok() && !w->name.empty());
           }));
    });
    crypto::Wipe(pass);
    WipeField(body.json, "passphrase");
    if (!ran.ok()) WriteStatusError(res, ran);
    return;
  }
  if (route("POST", {"lock"})) {
    Status ran = service_->Run([&](Service& s) { s.Lock("lock"); });
    if (!ran.ok()) return WriteStatusError(res, ran);
    return NoContent(res);
  }
  if (route("POST", {"passphrase"})) {
    std::string old_pass, new_pass;
    if (!GetString(b, "old", true, &old_pass, res) || !GetString(b, "new", true, &new_pass, res)) return;
    if (new_pass.empty()) return WriteError(res, 400, "bad_request", "the new passphrase is empty");
    Status ran = service_->Run([&](Service& s) {
      int64_t retry_ms = 0;
      Status st = s.ChangePassphrase(AsBytes(old_pass), AsBytes(new_pass), &retry_ms);
      if (PassphraseRefused(res, st, retry_ms)) return;
      if (!st.ok()) return WriteStatusError(res, st);
      NoContent(res);
    });
    crypto::Wipe(old_pass);
    crypto::Wipe(new_pass);
    WipeField(body.json, "old");
    WipeField(body.json, "new");
    if (!ran.ok()) WriteStatusError(res, ran);
    return;
  }
  if (route("POST", {"join"})) {
    std::string code;
    if (!GetString(b, "code", true, &code, res)) return;
    WithClient(res, [&](client::Client& c, Service& s) {
      bool link = code.find(identity::kLinkPrefix) != std::string::npos;
      std::string sas;
      if (link) {
        auto r = c.JoinLink(code);
        if (!r.ok()) return WriteStatusError(res, r.status());
        sas = *r;
      } else {
        Status st = c.Join(code);
        if (!st.ok()) return WriteStatusError(res, st);
      }
      auto w = c.Whoami();
      if (!w.ok()) return WriteStatusError(res, w.status());
      s.Wrote({"state", "members", "devices"});
      Send(res, 200, Object([&](vigil::json::Writer& j) {
             j.Key("name").String(w->name).Key("role").String(w->role);
             j.Key("relay_fingerprint").String(w->relay_fingerprint);
             j.Key("safety_number").String(w->identity_fingerprint);
             j.Key("linking").Bool(link);
             if (link) j.Key("sas").String(sas);
           }));
    });
    crypto::Wipe(code);
    WipeField(body.json, "code");
    return;
  }
  if (route("GET", {"status"})) {
    return WithClient(res, [&](client::Client& c, Service& s) {
      auto st = c.GetStatus(false);
      if (!st.ok()) return WriteStatusError(res, st.status());
      const SyncOutcome& last = s.last_sync();
      st->relay_reachable = last.ran && last.reachable;
      if (last.ran && !last.reachable) st->relay_error = last.error;
      Send(res, 200, Object([&](vigil::json::Writer& j) {
             client::views::WriteStatusFields(j, *st);
             j.Key("syncing").Bool(s.syncing());
             int64_t next = s.next_sync_in_ms();
             j.Key("next_sync_in_s").Int(next < 0 ? -1 : (next + 999) / 1000);
             j.Key("problems").BeginArray();
             for (const auto& pr : s.problems()) {
               j.BeginObject().Key("id").Int(pr.id).Key("text").String(pr.text).Key("at_ms").Int(pr.at_ms).EndObject();
             }
             j.EndArray();
           }));
    });
  }
  if (route("POST", {"problems", "dismiss"})) {
    std::vector<int64_t> ids;
    if (b.contains("ids")) {
      if (!b["ids"].is_array()) return WriteError(res, 400, "bad_request", "field \"ids\" must be a list of numbers");
      for (const auto& v : b["ids"]) {
        if (!v.is_number_integer()) return WriteError(res, 400, "bad_request", "field \"ids\" must be a list of numbers");
        ids.push_back(v.get<int64_t>());
      }
    }
    return WithClient(res, [&](client::Client&, Service& s) {
      s.DismissProblems(ids);
      NoContent(res);
    });
  }
  if (route("POST", {"sync"})) {
    return WithClient(res, [&](client::Client&, Service& s) {
      SyncOutcome o = s.SyncNow();
      if (!o.ran) return WriteStatusError(res, Status::FailedPrecondition("this device has not joined a relay yet"));
      Send(res, 200, SyncJson(o));
    });
  }
  if (route("GET", {"whoami"})) {
    return WithClient(res, [&](client::Client& c, Service&) {
      auto w = c.Whoami();
      if (!w.ok()) return WriteStatusError(res, w.status());
      vigil::json::Writer j;
      client::views::WriteWhoami(j, *w);
      Send(res, 200, j.Take());
    });
  }
  if (route("GET", {"members"})) {
    return WithClient(res, [&](client::Client& c, Service&) {
      auto l = c.ListMembers();
      if (!l.ok()) return WriteStatusError(res, l.status());
      vigil::json::Writer j;
      client::views::WriteMembers(j, *l);
      Send(res, 200, j.Take());
    });
  }
  if (route("POST", {"members", "verify"})) {
    std::string name, fp;
    if (!GetString(b, "name", true, &name, res) || !GetString(b, "fingerprint", true, &fp, res)) return;
    return WithClient(res, [&](client::Client& c, Service& s) {
      Status st = c.VerifyMember(name, fp);
      // A fingerprint that does not match is the member's mistake to see, not a refusal.
      if (st.code() == Code::kUnauthenticated) return WriteError(res, 400, "bad_request", st.message());
      if (!st.ok()) return WriteStatusError(res, st);
      s.feed().Changed({"members"});
      NoContent(res);
    });
  }
  if (route("POST", {"invites"})) {
    std::string role, name;
    std::optional<int64_t> hours;
    if (!GetString(b, "role", true, &role, res) || !GetString(b, "name", true, &name, res)) return;
    if (!GetInt(b, "expires_hours", 1, 24 * 30, &hours, res)) return;
    return WithClient(res, [&](client::Client& c, Service&) {
      c.RetryRelay();
      auto code = c.CreateInvite(role, name, hours ? *hours * 3600 : 0);
      if (!code.ok()) return WriteStatusError(res, code.status());
      Send(res, 201, Object([&](vigil::json::Writer& j) { j.Key("code").String(*code); }));
      crypto::Wipe(*code);
    });
  }
  if (route("GET", {"devices"})) {
    return WithClient(res, [&](client::Client& c, Service&) {
      auto l = c.ListDevices();
      if (!l.ok()) return WriteStatusError(res, l.status());
      vigil::json::Writer j;
      client::views::WriteDevices(j, *l);
      Send(res, 200, j.Take());
    });
  }
  if (route("POST", {"devices", "link"})) {
    return WithClient(res, [&](client::Client& c, Service&) {
      c.RetryRelay();
      auto code = c.CreateLinkCode();
      if (!code.ok()) return WriteStatusError(res, code.status());
      Send(res, 201, Object([&](vigil::json::Writer& j) {
             j.Key("code").String(*code).Key("expires_ms").Int(WallMs() + 10 * 60 * 1000);
           }));
      crypto::Wipe(*code);
    });
  }
  if (route("POST", {"devices", "*", "revoke"})) {
    return WithClient(res, [&](client::Client& c, Service& s) {
      c.RetryRelay();
      Status st = c.RevokeDevice(p[2]);
      if (!st.ok()) return WriteStatusError(res, st);
      s.feed().Changed({"devices"});
      NoContent(res);
    });
  }
  if (route("GET", {"visits"})) {
    return WithClient(res, [&](client::Client& c, Service&) {
      auto l = c.ListVisits();
      if (!l.ok()) return WriteStatusError(res, l.status());
      vigil::json::Writer j;
      j.BeginArray();
      for (const auto& v : *l) client::views::WriteVisit(j, v, false);
      j.EndArray();
      Send(res, 200, j.Take());
    });
  }
  if (route("GET", {"visits", "*"})) {
    return WithClient(res, [&](client::Client& c, Service&) {
      auto v = c.ShowVisit(p[2]);
      if (!v.ok()) return WriteStatusError(res, v.status());
      vigil::json::Writer j;
      client::views::WriteVisit(j, *v, true);
      Send(res, 200, j.Take());
    });
  }
  if (route("POST", {"visits"})) {
    client::Client::AssignRequest a;
    if (!GetStrings(b, "volunteers", &a.volunteers, res) || !GetStrings(b, "legal", &a.legal, res) ||
        !GetString(b, "detainee", true, &a.detainee, res) || !GetString(b, "a_number", false, &a.a_number, res) ||
        !GetString(b, "facility", true, &a.facility, res) || !GetString(b, "at", true, &a.at, res)) {
      return;
    }
    return WithClient(res, [&](client::Client& c, Service& s) {
      auto id = c.AssignVisit(a);
      if (!id.ok()) return WriteStatusError(res, id.status());
      auto left = c.OutboxSize();
      s.Wrote({"visits"});
      Send(res, 201, Object([&](vigil::json::Writer& j) {
             j.Key("id").String(*id).Key("queued").Bool(!left.ok() || *left > 0);
           }));
    });
  }
  if (m == "POST" && p.size() == 4 && p[1] == "visits") {
    store::v1::VisitEventKind kind;
    if (p[3] == "accept") kind = store::v1::ACCEPT;
    else if (p[3] == "decline") kind = store::v1::DECLINE;
    else if (p[3] == "complete") kind = store::v1::COMPLETE;
    else if (p[3] == "cancel") kind = store::v1::CANCEL;
    else return WriteError(res, 404, "not_found", "unknown visit action '" + p[3] + "'");
    std::string reason;
    if (!GetString(b, "reason", false, &reason, res)) return;
    if (kind == store::v1::DECLINE && reason.empty()) {
      return WriteError(res, 400, "bad_request", "say why with a reason");
    }
    return WithClient(res, [&](client::Client& c, Service& s) {
      Status st = c.VisitAction(p[2], kind, reason);
      if (!st.ok()) return WriteStatusError(res, st);
      auto left = c.OutboxSize();
      s.Wrote({"visits"});
      Send(res, 200, Object([&](vigil::json::Writer& j) { j.Key("queued").Bool(!left.ok() || *left > 0); }));
    });
  }
  if (route("GET", {"notes"})) {
    std::optional<std::string> visit;
    if (req.has_param("visit")) visit = req.get_param_value("visit");
    return WithClient(res, [&](client::Client& c, Service&) {
      auto l = c.ListNotes(visit);
      if (!l.ok()) return WriteStatusError(res, l.status());
      vigil::json::Writer j;
      j.BeginArray();
      for (const auto& n : *l) client::views::WriteNote(j, n);
      j.EndArray();
      Send(res, 200, j.Take());
    });
  }
  if (route("GET", {"notes", "*"})) {
    return WithClient(res, [&](client::Client& c, Service&) {
      auto n = c.ShowNote(p[2]);
      if (!n.ok()) return WriteStatusError(res, n.status());
      vigil::json::Writer j;
      client::views::WriteNote(j, *n);
      Send(res, 200, j.Take());
    });
  }
  if (route("POST", {"notes"}) || route("POST", {"notes", "*", "amend"})) {
    bool amend = p.size() == 4;
    std::string visit, text;
    std::vector<std::string> upload_ids;
    if (!amend && !GetString(b, "visit", true, &visit, res)) return;
    if (!GetString(b, "text", true, &text, res) || !GetStrings(b, "attachments", &upload_ids, res)) return;
    std::vector<client::AttachmentInput> attachments;
    for (const auto& id : upload_ids) {
      auto a = uploads_.Take(id);
      if (!a.ok()) {
        for (auto& x : attachments) crypto::Wipe(std::span<uint8_t>(x.data));
        return WriteStatusError(res, a.status());
      }
      attachments.push_back(std::move(*a));
    }
    WithClient(res, [&](client::Client& c, Service& s) {
      if (amend) {
        auto v = c.AmendNote(p[2], text, attachments);
        if (!v.ok()) return WriteStatusError(res, v.status());
        auto left = c.OutboxSize();
        s.Wrote({"notes"});
        Send(res, 201, Object([&](vigil::json::Writer& j) {
               j.Key("hash").String(v->hash).Key("version").Int(v->number);
               j.Key("delivered").Bool(left.ok() && *left == 0);
             }));
      } else {
        auto id = c.AddNote(visit, text, attachments);
        if (!id.ok()) return WriteStatusError(res, id.status());
        auto left = c.OutboxSize();
        s.Wrote({"notes"});
        Send(res, 201, Object([&](vigil::json::Writer& j) {
               j.Key("id").String(*id).Key("delivered").Bool(left.ok() && *left == 0);
             }));
      }
    });
    crypto::Wipe(text);
    for (auto& x : attachments) crypto::Wipe(std::span<uint8_t>(x.data));
    return;
  }
  if (route("POST", {"notes", "*", "stamp"})) {
    std::vector<std::string> plugins;
    if (!GetStrings(b, "plugins", &plugins, res)) return;
    return WithClient(res, [&](client::Client& c, Service& s) {
      c.RetryRelay();
      auto r = c.StampNote(p[2], plugins);
      if (!r.ok()) return WriteStatusError(res, r.status());
      s.feed().Changed({"notes", "status"});
      vigil::json::Writer j;
      client::views::WriteStamp(j, *r);
      Send(res, 200, j.Take());
    });
  }
  if (route("GET", {"notes", "*", "versions", "*", "attachments", "*"})) {
    char* end = nullptr;
    long number = std::strtol(p[4].c_str(), &end, 10);
    bool bad = *end != '\0' || number < 0 || number > 100000;
    long index = std::strtol(p[6].c_str(), &end, 10);
    bad = bad || *end != '\0' || index < 0 || index > 100000;
    if (bad) return WriteError(res, 404, "not_found", "no such attachment");
    return WithClient(res, [&](client::Client& c, Service&) {
      auto n = c.ShowNote(p[2]);
      if (!n.ok()) return WriteStatusError(res, n.status());
      const client::NoteVersionInfo* v = nullptr;
      for (const auto& x : n->versions) {
        if (number == 0 ? (!v || x.number >= v->number) : x.number == number) v = &x;
      }
      if (!v || index >= static_cast<long>(v->attachments.size())) {
        return WriteError(res, 404, "not_found", "no such attachment");
      }
      auto data = c.AttachmentData(p[2], static_cast<int>(number), static_cast<int>(index));
      if (!data.ok()) return WriteStatusError(res, data.status());
      res.status = 200;
      res.set_header("Content-Disposition",
                     "attachment; filename=\"" + SafeFilename(v->attachments[static_cast<size_t>(index)].name) + "\"");
      res.set_content(std::string(data->begin(), data->end()), "application/octet-stream");
      crypto::Wipe(std::span<uint8_t>(*data));
    });
  }
  if (route("GET", {"drafts"})) {
    return WithClient(res, [&](client::Client& c, Service&) {
      auto l = c.ListDrafts();
      if (!l.ok()) return WriteStatusError(res, l.status());
      vigil::json::Writer j;
      j.BeginArray();
      for (const auto& d : *l) j.BeginObject().Key("key").String(d.key).Key("updated_ms").Int(d.updated_ms).EndObject();
      j.EndArray();
      Send(res, 200, j.Take());
    });
  }
  if (p.size() == 3 && p[1] == "drafts" && (m == "GET" || m == "PUT" || m == "DELETE")) {
    std::string text;
    if (m == "PUT" && !GetString(b, "text", true, &text, res)) return;
    WithClient(res, [&](client::Client& c, Service&) {
      if (m == "GET") {
        auto d = c.GetDraft(p[2]);
        if (!d.ok()) return WriteStatusError(res, d.status());
        Send(res, 200, Object([&](vigil::json::Writer& j) {
               j.Key("key").String(d->key).Key("text").String(d->text).Key("updated_ms").Int(d->updated_ms);
             }));
        crypto::Wipe(d->text);
        return;
      }
      Status st = m == "PUT" ? c.PutDraft(p[2], text) : c.DeleteDraft(p[2]);
      if (!st.ok()) return WriteStatusError(res, st);
      NoContent(res);
    });
    crypto::Wipe(text);
    return;
  }
  if (route("GET", {"messages"})) {
    return WithClient(res, [&](client::Client& c, Service&) {
      auto in = c.Inbox();
      if (!in.ok()) return WriteStatusError(res, in.status());
      auto sent = c.SentMessages();
      if (!sent.ok()) return WriteStatusError(res, sent.status());
      Send(res, 200, Object([&](vigil::json::Writer& j) {
             j.Key("inbox");
             client::views::WriteInbox(j, *in);
             j.Key("sent").BeginArray();
             for (const auto& x : *sent) {
               j.BeginObject().Key("id").String(x.id).Key("to").String(x.to).Key("sent_at_ms").Int(x.sent_at_ms);
               j.Key("text").String(x.text).Key("delivered").Bool(x.delivered).EndObject();
             }
             j.EndArray();
           }));
    });
  }
  if (route("POST", {"messages"})) {
    std::string to, text;
    if (!GetString(b, "to", true, &to, res) || !GetString(b, "text", true, &text, res)) return;
    WithClient(res, [&](client::Client& c, Service& s) {
      auto r = c.SendText(to, text);
      if (!r.ok()) return WriteStatusError(res, r.status());
      s.Wrote({"messages"});
      Send(res, 201, Object([&](vigil::json::Writer& j) {
             j.Key("id").String(r->message_id).Key("delivered").Bool(r->delivered);
             if (!r->refused.ok()) j.Key("refused").String(r->refused.message());
           }));
    });
    crypto::Wipe(text);
    return;
  }
  if (route("GET", {"tsas"})) {
    return WithClient(res, [&](client::Client& c, Service&) {
      auto l = c.ListTsas();
      if (!l.ok()) return WriteStatusError(res, l.status());
      vigil::json::Writer j;
      client::views::WriteTsas(j, *l);
      Send(res, 200, j.Take());
    });
  }
  if (route("POST", {"tsas"})) {
    std::string url, pem;
    if (!GetString(b, "url", true, &url, res) || !GetString(b, "ca_pem", true, &pem, res)) return;
    return WithClient(res, [&](client::Client& c, Service& s) {
      // AddTsa reads the CA certificates from a file (public data).
      std::string path = s.home() + "/app-tsa-ca-" + HexEncode(crypto::RandomBytes(8)) + ".pem";
      {
        std::ofstream out(path, std::ios::trunc);
        out << pem;
        if (!out) return WriteStatusError(res, Status::Internal("cannot write a temporary file in " + s.home()));
      }
      Status st = c.AddTsa(url, path);
      unlink(path.c_str());
      if (!st.ok()) return WriteStatusError(res, st);
      s.feed().Changed({"settings"});
      Send(res, 201, "{}");
    });
  }
  if (route("POST", {"backup"})) {
    std::string out;
    if (!GetString(b, "out", true, &out, res)) return;
    if (out.empty() || out[0] != '/') return WriteError(res, 400, "bad_request", "give the backup file as an absolute path");
    return WithClient(res, [&](client::Client& c, Service&) {
      Status st = c.Backup(out);
      if (!st.ok()) return WriteStatusError(res, st);
      Send(res, 200, Object([&](vigil::json::Writer& j) {
             j.Key("files");
             client::views::WriteNames(j, {out, out + ".key"});
           }));
    });
  }
  WriteError(res, 404, "not_found", "no such API endpoint: " + m + " " + req.path.substr(0, 100));
}

}  // namespace vigil::app
