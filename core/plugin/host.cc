// The timestamp plugin host. See vigil/plugin.h for the contract.
#include "vigil/plugin.h"

#include <dirent.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sodium.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>

#include "vigil/log.h"
#include "vigil/ts_plugin.h"

namespace vigil::plugin {

StatusOr<Bytes> Services::Sign(ByteSpan, Bytes*) {
  return Status::Unavailable("this host has no signing key for plugins");
}
StatusOr<Bytes> Services::PublicKey() {
  return Status::Unavailable("this host has no signing key for plugins");
}
StatusOr<uint64_t> Services::Append(ByteSpan) {
  return Status::Unavailable("this host has no record store for plugins");
}
StatusOr<uint64_t> Services::Count() {
  return Status::Unavailable("this host has no record store for plugins");
}
StatusOr<Bytes> Services::Get(uint64_t) {
  return Status::Unavailable("this host has no record store for plugins");
}

namespace {

constexpr size_t kErrCap = 1024;
// The smallest plugin struct a major-1 host can use: everything up to `call`.
constexpr size_t kMinPluginSize = offsetof(vigil_ts_plugin, call) + sizeof(void*);

int64_t WallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// What one call produced, before the host checks it.
struct Out {
  int code = VIGIL_TS_ERR_INTERNAL;
  Bytes data;
  std::string err;
  int64_t time_ms = 0;
};

// Per-instance state behind vigil_ts_host::ctx.
struct HostCtx {
  std::string name;
  Services* services = nullptr;  // null in a child process
  std::mutex alloc_mu;
  std::map<void*, size_t> live;  // allocations handed to the plugin
};

void* HostAlloc(void* ctx, size_t size) {
  auto* c = static_cast<HostCtx*>(ctx);
  if (size == 0 || size > VIGIL_TS_MAX_TOKEN * 4) return nullptr;
  void* p = malloc(size);
  if (!p) return nullptr;
  std::lock_guard<std::mutex> l(c->alloc_mu);
  c->live[p] = size;
  return p;
}
void HostFree(void* ctx, void* ptr, size_t) {
  auto* c = static_cast<HostCtx*>(ctx);
  if (!ptr) return;
  std::lock_guard<std::mutex> l(c->alloc_mu);
  auto it = c->live.find(ptr);
  if (it == c->live.end()) return;  // not ours: never free foreign memory
  sodium_memzero(ptr, it->second);
  free(ptr);
  c->live.erase(it);
}
void FreeAll(HostCtx* c) {
  std::lock_guard<std::mutex> l(c->alloc_mu);
  for (auto& [p, n] : c->live) {
    sodium_memzero(p, n);
    free(p);
  }
  c->live.clear();
}
int64_t HostNow(void*) { return WallMs(); }
void HostLog(void* ctx, int level, const char* message) {
  auto* c = static_cast<HostCtx*>(ctx);
  std::string m = message ? std::string(message, strnlen(message, 512)) : "";
  for (char& ch : m) {
    if (static_cast<unsigned char>(ch) < 0x20 || static_cast<unsigned char>(ch) > 0x7e) ch = '?';
  }
  log::Level lv = level <= VIGIL_TS_LOG_DEBUG  ? log::Level::kDebug
                  : level == VIGIL_TS_LOG_INFO ? log::Level::kInfo
                  : level == VIGIL_TS_LOG_WARN ? log::Level::kWarn
                                               : log::Level::kError;
  log::Log(lv, "plugin_log", {{"plugin", c->name}, {"message", m}});
}
int HostSign(void* ctx, const uint8_t* msg, size_t len, uint8_t sig[64], uint8_t pk[32]) {
  auto* c = static_cast<HostCtx*>(ctx);
  if (!c->services) return VIGIL_TS_ERR_UNAVAILABLE;
  if (!msg && len == 0) {
    auto pub = c->services->PublicKey();
    if (!pub.ok() || pub->size() != 32 || !pk) return VIGIL_TS_ERR_UNAVAILABLE;
    memcpy(pk, pub->data(), 32);
    return VIGIL_TS_OK;
  }
  if (!msg || !sig) return VIGIL_TS_ERR_INVALID;
  Bytes pub;
  auto s = c->services->Sign(ByteSpan(msg, len), &pub);
  if (!s.ok() || s->size() != 64 || pub.size() != 32) return VIGIL_TS_ERR_UNAVAILABLE;
  memcpy(sig, s->data(), 64);
  if (pk) memcpy(pk, pub.data(), 32);
  return VIGIL_TS_OK;
}
int HostAppend(void* ctx, const uint8_t* data, size_t len, uint64_t* index) {
  auto* c = static_cast<HostCtx*>(ctx);
  if (!c->services || (!data && len) || len > VIGIL_TS_MAX_TOKEN) return VIGIL_TS_ERR_UNAVAILABLE;
  auto r = c->services->Append(ByteSpan(data, len));
  if (!r.ok()) return VIGIL_TS_ERR_UNAVAILABLE;
  if (index) *index = *r;
  return VIGIL_TS_OK;
}
int HostCount(void* ctx, uint64_t* count) {
  auto* c = static_cast<HostCtx*>(ctx);
  if (!c->services || !count) return VIGIL_TS_ERR_UNAVAILABLE;
  auto r = c->services->Count();
  if (!r.ok()) return VIGIL_TS_ERR_UNAVAILABLE;
  *count = *r;
  return VIGIL_TS_OK;
}
int HostGet(void* ctx, uint64_t index, vigil_ts_buf* out) {
  auto* c = static_cast<HostCtx*>(ctx);
  if (!c->services || !out) return VIGIL_TS_ERR_UNAVAILABLE;
  auto r = c->services->Get(index);
  if (!r.ok()) return r.status().code() == Code::kNotFound ? VIGIL_TS_ERR_INVALID : VIGIL_TS_ERR_UNAVAILABLE;
  out->len = r->size();
  out->data = nullptr;
  if (r->empty()) return VIGIL_TS_OK;
  out->data = static_cast<uint8_t*>(HostAlloc(ctx, r->size()));
  if (!out->data) return VIGIL_TS_ERR_INTERNAL;
  memcpy(out->data, r->data(), r->size());
  return VIGIL_TS_OK;
}

// Copies a plugin's error message: bounded, terminated, printable.
std::string CleanMessage(const char* err) {
  std::string m(err, strnlen(err, kErrCap - 1));
  for (char& ch : m) {
    if (static_cast<unsigned char>(ch) < 0x20 || static_cast<unsigned char>(ch) > 0x7e) ch = '?';
  }
  if (m.size() > 300) m.resize(300);
  return m;
}

// Takes a returned buffer only if the host allocated it, then releases
// everything the call allocated.
bool TakeBuffer(HostCtx* c, const vigil_ts_buf& buf, Bytes* out) {
  bool good = false;
  {
    std::lock_guard<std::mutex> l(c->alloc_mu);
    if (buf.len == 0) {
      good = true;
    } else if (buf.data && buf.len <= VIGIL_TS_MAX_TOKEN) {
      auto it = c->live.find(buf.data);
      if (it != c->live.end() && buf.len <= it->second) {
        out->assign(buf.data, buf.data + buf.len);
        good = true;
      }
    }
  }
  FreeAll(c);
  return good;
}

bool ValidName(const char* name) {
  if (!name) return false;
  size_t n = strnlen(name, 33);
  if (n == 0 || n > 32) return false;
  for (size_t i = 0; i < n; ++i) {
    char ch = name[i];
    if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-')) return false;
  }
  return true;
}

Status StatusFromCode(const std::string& name, int code, const std::string& err) {
  std::string m = "timestamp plugin '" + name + "': " + (err.empty() ? "no message" : err);
  switch (code) {
    case VIGIL_TS_ERR_INVALID: return Status::InvalidArgument(m);
    case VIGIL_TS_ERR_UNAVAILABLE: return Status::Unavailable(m);
    case VIGIL_TS_ERR_VERIFY: return Status::Unauthenticated(m);
    case VIGIL_TS_ERR_CONFIG: return Status::FailedPrecondition(m);
    case VIGIL_TS_ERR_UNSUPPORTED: return Status::Unimplemented(m);
    case VIGIL_TS_ERR_INTERNAL: return Status::Internal(m);
    default:
      return Status::Internal("timestamp plugin '" + name + "' returned an unknown result code " +
                              std::to_string(code));
  }
}

// Child-process result framing: code(4) time(8) len(4) data errlen(4) err.
void PutU32(Bytes* b, uint32_t v) { for (int i = 0; i < 4; ++i) b->push_back(uint8_t(v >> (8 * i))); }
void PutU64(Bytes* b, uint64_t v) { for (int i = 0; i < 8; ++i) b->push_back(uint8_t(v >> (8 * i))); }
bool GetU32(ByteSpan b, size_t* off, uint32_t* v) {
  if (b.size() - *off < 4) return false;
  *v = 0;
  for (int i = 0; i < 4; ++i) *v |= uint32_t(b[*off + i]) << (8 * i);
  *off += 4;
  return true;
}
bool GetU64(ByteSpan b, size_t* off, uint64_t* v) {
  if (b.size() - *off < 8) return false;
  *v = 0;
  for (int i = 0; i < 8; ++i) *v |= uint64_t(b[*off + i]) << (8 * i);
  *off += 8;
  return true;
}

struct Task {
  std::function<void(Out*)> fn;
  std::mutex m;
  std::condition_variable cv;
  bool done = false;
  Out out;
};

}  // namespace

struct Host::Instance {
  std::string name;
  const vigil_ts_plugin* p = nullptr;
  void* state = nullptr;
  bool isolate = false;
  int timeout_ms = 0;
  HostCtx ctx;
  vigil_ts_host host{};
  std::unique_ptr<Services> services;
  std::atomic<bool> hung{false};
  std::mutex call_mu;  // serialises calls in isolated (child process) mode

  std::thread worker;
  std::mutex m;
  std::condition_variable cv;
  std::deque<std::shared_ptr<Task>> queue;
  bool stopping = false;

  void WorkerLoop() {
    for (;;) {
      std::shared_ptr<Task> t;
      {
        std::unique_lock<std::mutex> l(m);
        cv.wait(l, [&] { return stopping || !queue.empty(); });
        if (queue.empty()) return;
        t = queue.front();
        queue.pop_front();
      }
      t->fn(&t->out);
      {
        std::lock_guard<std::mutex> l(t->m);
        t->done = true;
      }
      t->cv.notify_all();
    }
  }

  // Runs `fn` on the worker thread with the call timeout.
  StatusOr<Out> OnWorker(std::function<void(Out*)> fn) {
    if (hung.load()) {
      return Status::Unavailable("timestamp plugin '" + name +
                                 "' stopped answering earlier and is disabled until restart");
    }
    auto t = std::make_shared<Task>();
    t->fn = std::move(fn);
    {
      std::lock_guard<std::mutex> l(m);
      queue.push_back(t);
    }
    cv.notify_one();
    std::unique_lock<std::mutex> l(t->m);
    if (!t->cv.wait_for(l, std::chrono::milliseconds(timeout_ms), [&] { return t->done; })) {
      hung = true;
      log::Error("plugin_hung", {{"plugin", name}, {"timeout_ms", std::to_string(timeout_ms)}});
      return Status::DeadlineExceeded("timestamp plugin '" + name + "' did not answer within " +
                                      std::to_string(timeout_ms / 1000) + " s; it is disabled until restart");
    }
    return std::move(t->out);
  }

  // Runs `fn` in a forked child with the call timeout; the child's result
  // comes back through a pipe and is bounded.
  StatusOr<Out> InChild(const std::function<void(Out*)>& fn) {
    std::lock_guard<std::mutex> guard(call_mu);
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) return Status::Internal("cannot create a pipe for a plugin call");
    pid_t pid = fork();
    if (pid < 0) {
      close(fds[0]);
      close(fds[1]);
      return Status::Unavailable("cannot start a process for a plugin call");
    }
    if (pid == 0) {
      close(fds[0]);
      ctx.services = nullptr;  // no signing or store in a child
      Out out;
      fn(&out);
      Bytes msg;
      PutU32(&msg, static_cast<uint32_t>(out.code));
      PutU64(&msg, static_cast<uint64_t>(out.time_ms));
      PutU32(&msg, static_cast<uint32_t>(out.data.size()));
      msg.insert(msg.end(), out.data.begin(), out.data.end());
      PutU32(&msg, static_cast<uint32_t>(out.err.size()));
      msg.insert(msg.end(), out.err.begin(), out.err.end());
      size_t off = 0;
      while (off < msg.size()) {
        ssize_t w = write(fds[1], msg.data() + off, msg.size() - off);
        if (w <= 0) break;
        off += static_cast<size_t>(w);
      }
      _exit(0);
    }
    close(fds[1]);
    Bytes buf;
    bool timed_out = false;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    const size_t cap = VIGIL_TS_MAX_TOKEN + kErrCap + 64;
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
      if (left <= 0) {
        timed_out = true;
        break;
      }
      pollfd pfd{fds[0], POLLIN, 0};
      int pr = poll(&pfd, 1, static_cast<int>(left));
      if (pr < 0 && errno == EINTR) continue;
      if (pr <= 0) continue;
      uint8_t chunk[8192];
      ssize_t r = read(fds[0], chunk, sizeof chunk);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) break;
      buf.insert(buf.end(), chunk, chunk + r);
      if (buf.size() > cap) break;
    }
    close(fds[0]);
    if (timed_out || buf.size() > cap) kill(pid, SIGKILL);
    int wstatus = 0;
    while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {}
    if (timed_out) {
      log::Error("plugin_timeout", {{"plugin", name}, {"timeout_ms", std::to_string(timeout_ms)}});
      return Status::DeadlineExceeded("timestamp plugin '" + name + "' did not answer within " +
                                      std::to_string(timeout_ms / 1000) + " s");
    }
    if (WIFSIGNALED(wstatus)) {
      log::Error("plugin_crashed", {{"plugin", name}, {"signal", std::to_string(WTERMSIG(wstatus))}});
      return Status::Internal("timestamp plugin '" + name + "' crashed (signal " +
                              std::to_string(WTERMSIG(wstatus)) + ")");
    }
    Out out;
    size_t off = 0;
    uint32_t code = 0, dlen = 0, elen = 0;
    uint64_t t = 0;
    if (!GetU32(buf, &off, &code) || !GetU64(buf, &off, &t) || !GetU32(buf, &off, &dlen) ||
        dlen > VIGIL_TS_MAX_TOKEN || buf.size() - off < dlen) {
      return Status::Internal("timestamp plugin '" + name + "' gave no usable answer");
    }
    out.data.assign(buf.begin() + off, buf.begin() + off + dlen);
    off += dlen;
    if (!GetU32(buf, &off, &elen) || elen > kErrCap || buf.size() - off < elen) {
      return Status::Internal("timestamp plugin '" + name + "' gave no usable answer");
    }
    out.err.assign(buf.begin() + off, buf.begin() + off + elen);
    out.code = static_cast<int>(code);
    out.time_ms = static_cast<int64_t>(t);
    return out;
  }

  StatusOr<Out> Run(std::function<void(Out*)> fn) {
    if (isolate) {
      if (hung.load()) return Status::Unavailable("timestamp plugin '" + name + "' is disabled");
      return InChild(fn);
    }
    return OnWorker(std::move(fn));
  }

  void Stop() {
    if (!worker.joinable()) return;
    if (hung.load()) {
      worker.detach();  // stuck inside the plugin: leave it (and its state) alone
      return;
    }
    auto t = std::make_shared<Task>();
    void* s = state;
    const vigil_ts_plugin* pl = p;
    t->fn = [s, pl](Out*) {
      if (s && pl->close) pl->close(s);
    };
    {
      std::lock_guard<std::mutex> l(m);
      queue.push_back(t);
      stopping = true;
    }
    cv.notify_one();
    worker.join();
  }
};

namespace {
// Instances whose plugin never returned: kept (and reachable) for the life
// of the process, because their detached thread may still use them.
void Abandon(std::unique_ptr<Host::Instance> inst) {
  static std::mutex mu;
  static auto* abandoned = new std::vector<std::unique_ptr<Host::Instance>>();
  std::lock_guard<std::mutex> l(mu);
  abandoned->push_back(std::move(inst));
}
}  // namespace

std::string DefaultPluginDir() {
  char buf[4096];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return "";
  buf[n] = 0;
  std::string exe(buf);
  std::string dir = exe.substr(0, exe.rfind('/'));
  std::string candidate = dir + "/../lib/vigil/plugins";
  char real[4096];
  if (realpath(candidate.c_str(), real)) return real;
  return candidate;
}

StatusOr<std::unique_ptr<Host>> Host::Load(const HostOptions& options) {
  std::unique_ptr<Host> host(new Host());
  if (options.dir.empty() || options.dir[0] != '/') {
    return Status::InvalidArgument("the plugin directory must be an absolute path");
  }
  DIR* d = opendir(options.dir.c_str());
  if (!d) {
    PluginInfo info;
    info.file = options.dir;
    info.problem = "plugin directory not found";
    host->infos_.push_back(info);
    return host;
  }
  std::vector<std::string> files;
  while (dirent* e = readdir(d)) {
    std::string f = e->d_name;
    if (f.size() > 3 && f.compare(f.size() - 3, 3, ".so") == 0) files.push_back(f);
  }
  closedir(d);
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    PluginInfo info;
    info.file = options.dir + "/" + f;
    struct stat st;
    if (lstat(info.file.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
      info.problem = "not a regular file (symlinks are refused)";
    } else if (st.st_mode & (S_IWGRP | S_IWOTH)) {
      info.problem = "writable by group or others";
    } else if (st.st_uid != 0 && st.st_uid != geteuid()) {
      info.problem = "owned by another user";
    }
    if (!info.problem.empty()) {
      log::Warn("plugin_refused", {{"file", f}, {"reason", info.problem}});
      host->infos_.push_back(info);
      continue;
    }
    void* h = dlopen(info.file.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!h) {
      info.problem = "cannot be loaded";
      log::Warn("plugin_refused", {{"file", f}, {"reason", info.problem}});
      host->infos_.push_back(info);
      continue;
    }
    auto entry = reinterpret_cast<vigil_ts_entry_v1_fn>(dlsym(h, VIGIL_TS_ENTRY_V1));
    const vigil_ts_plugin* p = entry ? entry() : nullptr;
    if (!entry) {
      info.problem = "no vigil_ts_plugin_v1 entry point (not a Vigil ABI 1 plugin)";
    } else if (!p) {
      info.problem = "entry point returned nothing";
    } else if (p->abi_major != VIGIL_TS_ABI_MAJOR) {
      info.problem = "ABI major " + std::to_string(p->abi_major) + " (this host speaks 1)";
    } else if (p->struct_size < kMinPluginSize) {
      info.problem = "plugin struct too small for ABI 1";
    } else if (!ValidName(p->name)) {
      info.problem = "invalid plugin name";
    } else if (!p->open || !p->close || !p->stamp || !p->verify) {
      info.problem = "missing functions";
    }
    if (info.problem.empty() && !options.only.empty() &&
        std::find(options.only.begin(), options.only.end(), std::string(p->name)) == options.only.end()) {
      continue;  // not asked for: neither listed nor opened
    }
    if (info.problem.empty()) {
      info.name = p->name;
      for (const auto& other : host->instances_) {
        if (other->name == info.name) info.problem = "a plugin named '" + info.name + "' is already loaded";
      }
    }
    if (!info.problem.empty()) {
      // Never dlclose: the library may have started threads in a constructor.
      log::Warn("plugin_refused", {{"file", f}, {"reason", info.problem}});
      host->infos_.push_back(info);
      continue;
    }
    info.description = p->description ? std::string(p->description, strnlen(p->description, 200)) : "";
    info.abi_major = p->abi_major;
    info.abi_minor = p->abi_minor;
    info.flags = p->flags;

    auto inst = std::make_unique<Instance>();
    inst->name = info.name;
    inst->p = p;
    inst->isolate = (p->flags & VIGIL_TS_FLAG_NETWORK) != 0;
    inst->timeout_ms = options.call_timeout_ms;
    inst->ctx.name = info.name;
    if (options.services) inst->services = options.services(info.name);
    inst->ctx.services = inst->services.get();
    vigil_ts_host& hs = inst->host;
    hs.struct_size = sizeof(vigil_ts_host);
    hs.abi_minor = VIGIL_TS_ABI_MINOR;
    hs.ctx = &inst->ctx;
    hs.alloc = HostAlloc;
    hs.free = HostFree;
    hs.now_ms = HostNow;
    hs.log = HostLog;
    hs.timeout_ms = options.network_timeout_ms;
    hs.sign = HostSign;
    hs.record_append = HostAppend;
    hs.record_count = HostCount;
    hs.record_get = HostGet;
    Instance* raw = inst.get();
    inst->worker = std::thread([raw] { raw->WorkerLoop(); });

    std::string config;
    if (auto it = options.configs.find(info.name); it != options.configs.end()) config = it->second;
    auto opened = raw->OnWorker([raw, config](Out* out) {
      char err[kErrCap] = {0};
      void* state = nullptr;
      out->code = raw->p->open(&raw->host, config.c_str(), &state, err, kErrCap);
      err[kErrCap - 1] = 0;
      out->err = CleanMessage(err);
      if (out->code == VIGIL_TS_OK) raw->state = state;
    });
    if (!opened.ok()) {
      info.problem = opened.status().message();
    } else if (opened->code != VIGIL_TS_OK) {
      info.problem = StatusFromCode(info.name, opened->code, opened->err).message();
    } else {
      info.ok = true;
    }
    if (!info.ok) log::Warn("plugin_not_opened", {{"plugin", info.name}, {"reason", info.problem}});
    host->infos_.push_back(info);
    if (info.ok) {
      host->instances_.push_back(std::move(inst));
    } else {
      inst->state = nullptr;
      inst->Stop();
      // The instance must outlive a detached worker; keep it (never freed).
      if (inst->hung.load()) Abandon(std::move(inst));
    }
  }
  return host;
}

Host::~Host() {
  for (auto& inst : instances_) {
    inst->Stop();
    if (inst->hung.load()) Abandon(std::move(inst));  // its thread may still touch it
  }
}

std::vector<PluginInfo> Host::Plugins() const { return infos_; }

bool Host::Has(const std::string& name) const {
  for (const auto& i : instances_) {
    if (i->name == name) return !i->hung.load();
  }
  return false;
}

StatusOr<Host::Instance*> Host::Find(const std::string& name) const {
  for (const auto& i : instances_) {
    if (i->name == name) return i.get();
  }
  return Status::NotFound("no timestamp plugin named '" + name + "' is loaded");
}

StatusOr<Bytes> Host::Stamp(const std::string& name, ByteSpan digest) {
  if (digest.size() != VIGIL_TS_DIGEST_SIZE) return Status::InvalidArgument("a digest is 32 bytes");
  VIGIL_ASSIGN_OR_RETURN(Instance * inst, Find(name));
  Bytes d(digest.begin(), digest.end());
  VIGIL_ASSIGN_OR_RETURN(Out out, inst->Run([inst, d](Out* o) {
    char err[kErrCap] = {0};
    vigil_ts_buf token{nullptr, 0};
    o->code = inst->p->stamp(inst->state, d.data(), &token, err, kErrCap);
    err[kErrCap - 1] = 0;
    o->err = CleanMessage(err);
    if (o->code == VIGIL_TS_OK && !TakeBuffer(&inst->ctx, token, &o->data)) {
      o->code = -1;
      o->err = "returned a token the host did not allocate or of bad size";
    }
    FreeAll(&inst->ctx);
  }));
  if (out.code == -1) return Status::Internal("timestamp plugin '" + name + "' " + out.err);
  if (out.code != VIGIL_TS_OK) return StatusFromCode(name, out.code, out.err);
  if (out.data.empty()) return Status::Internal("timestamp plugin '" + name + "' returned an empty token");
  return std::move(out.data);
}

StatusOr<int64_t> Host::Verify(const std::string& name, ByteSpan digest, ByteSpan token) {
  if (digest.size() != VIGIL_TS_DIGEST_SIZE) return Status::InvalidArgument("a digest is 32 bytes");
  if (token.size() > VIGIL_TS_MAX_TOKEN) return Status::InvalidArgument("token too large");
  VIGIL_ASSIGN_OR_RETURN(Instance * inst, Find(name));
  Bytes d(digest.begin(), digest.end());
  Bytes t(token.begin(), token.end());
  VIGIL_ASSIGN_OR_RETURN(Out out, inst->Run([inst, d, t](Out* o) {
    char err[kErrCap] = {0};
    int64_t time_ms = 0;
    o->code = inst->p->verify(inst->state, d.data(), t.data(), t.size(), &time_ms, err, kErrCap);
    err[kErrCap - 1] = 0;
    o->err = CleanMessage(err);
    o->time_ms = time_ms;
    FreeAll(&inst->ctx);
  }));
  if (out.code != VIGIL_TS_OK) return StatusFromCode(name, out.code, out.err);
  return out.time_ms;
}

StatusOr<Bytes> Host::Call(const std::string& name, ByteSpan request) {
  if (request.size() > VIGIL_TS_MAX_TOKEN) return Status::InvalidArgument("plugin request too large");
  VIGIL_ASSIGN_OR_RETURN(Instance * inst, Find(name));
  if (inst->p->struct_size < kMinPluginSize || !inst->p->call) {
    return Status::Unimplemented("timestamp plugin '" + name + "' has no queries");
  }
  Bytes r(request.begin(), request.end());
  VIGIL_ASSIGN_OR_RETURN(Out out, inst->Run([inst, r](Out* o) {
    char err[kErrCap] = {0};
    vigil_ts_buf resp{nullptr, 0};
    o->code = inst->p->call(inst->state, r.data(), r.size(), &resp, err, kErrCap);
    err[kErrCap - 1] = 0;
    o->err = CleanMessage(err);
    if (o->code == VIGIL_TS_OK && !TakeBuffer(&inst->ctx, resp, &o->data)) {
      o->code = -1;
      o->err = "returned a response the host did not allocate or of bad size";
    }
    FreeAll(&inst->ctx);
  }));
  if (out.code == -1) return Status::Internal("timestamp plugin '" + name + "' " + out.err);
  if (out.code != VIGIL_TS_OK) return StatusFromCode(name, out.code, out.err);
  return std::move(out.data);
}

}  // namespace vigil::plugin
