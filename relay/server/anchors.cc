#include "relay/server/anchors.h"

#include "vigil/evidence.h"
#include "vigil/log.h"

namespace vigil::relay {
namespace {

namespace v1 = wire::v1;

// One per plugin: the relay's key and the plugin's own record namespace,
// on a store connection of its own (used only on that plugin's thread).
class RelayServices : public plugin::Services {
 public:
  RelayServices(std::string plugin, std::unique_ptr<RelayStore> store, Bytes pub, crypto::SecretBytes secret)
      : plugin_(std::move(plugin)), store_(std::move(store)), pub_(std::move(pub)), secret_(std::move(secret)) {}
  StatusOr<Bytes> Sign(ByteSpan msg, Bytes* public_key) override {
    *public_key = pub_;
    return crypto::Sign(secret_, msg);
  }
  StatusOr<Bytes> PublicKey() override { return pub_; }
  StatusOr<uint64_t> Append(ByteSpan record) override {
    if (!store_) return Status::Unavailable("no store");
    return store_->PluginAppend(plugin_, record, NowMs());
  }
  StatusOr<uint64_t> Count() override {
    if (!store_) return Status::Unavailable("no store");
    return store_->PluginCount(plugin_);
  }
  StatusOr<Bytes> Get(uint64_t index) override {
    if (!store_) return Status::Unavailable("no store");
    return store_->PluginGet(plugin_, index);
  }

 private:
  std::string plugin_;
  std::unique_ptr<RelayStore> store_;
  Bytes pub_;
  crypto::SecretBytes secret_;
};

}  // namespace

StatusOr<std::unique_ptr<Anchors>> Anchors::Start(const AnchorOptions& options, const crypto::SecretBytes& store_key,
                                                  const RelayKeys& keys) {
  std::unique_ptr<Anchors> a(new Anchors());
  a->max_queue_ = options.max_queue;
  a->log_key_ = keys.signing_public;
  plugin::HostOptions ho;
  ho.dir = options.plugin_dir;
  ho.call_timeout_ms = options.call_timeout_ms;
  std::string data_dir = options.data_dir;
  crypto::SecretBytes key = store_key.Clone();
  Bytes pub = keys.signing_public;
  const crypto::SecretBytes* signing = &keys.signing_secret;
  ho.services = [&](const std::string& name) -> std::unique_ptr<plugin::Services> {
    auto st = RelayStore::OpenWithKey(data_dir, key);
    if (!st.ok()) {
      log::Error("plugin_store_unavailable", {{"plugin", name}, {"error", st.status().message()}});
      return std::make_unique<plugin::Services>();
    }
    return std::make_unique<RelayServices>(name, std::make_unique<RelayStore>(std::move(*st)), pub,
                                           signing->Clone());
  };
  VIGIL_ASSIGN_OR_RETURN(a->host_, plugin::Host::Load(ho));
  for (const auto& info : a->host_->Plugins()) {
    if (info.ok) {
      a->names_.push_back(info.name);
      log::Info("anchor_loaded", {{"plugin", info.name}});
    } else {
      log::Warn("anchor_unusable", {{"file", info.file}, {"reason", info.problem}});
    }
  }
  auto rt = RelayStore::OpenWithKey(data_dir, key);
  if (rt.ok()) a->runtime_ = std::make_unique<RelayStore>(std::move(*rt));
  if (a->runtime_ && a->host_->Has("tlog")) {
    auto cp = a->host_->Call("tlog", AsBytes("checkpoint\n"));
    if (cp.ok()) a->runtime_->SetRuntimeText("log_checkpoint", ToString(*cp)).IgnoreError();
  }
  Anchors* raw = a.get();
  a->worker_ = std::thread([raw] { raw->Run(); });
  return a;
}

Anchors::~Anchors() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (worker_.joinable()) worker_.join();
}

bool Anchors::Submit(Job job) {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (queue_.size() + in_flight_ >= max_queue_) return false;
    queue_.push_back(std::move(job));
  }
  cv_.notify_one();
  return true;
}

std::vector<Anchors::Done> Anchors::TakeDone() {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<Done> out;
  out.swap(done_);
  return out;
}

size_t Anchors::Outstanding() {
  std::lock_guard<std::mutex> l(mu_);
  return queue_.size() + in_flight_ + done_.size();
}

void Anchors::Run() {
  for (;;) {
    Job job;
    {
      std::unique_lock<std::mutex> l(mu_);
      cv_.wait(l, [&] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;  // unanswered jobs: clients time out and retry
      job = std::move(queue_.front());
      queue_.pop_front();
      ++in_flight_;
    }
    Done d{std::move(job.routing_id), Handle(job.request)};
    {
      std::lock_guard<std::mutex> l(mu_);
      --in_flight_;
      done_.push_back(std::move(d));
    }
  }
}

v1::Response Anchors::Handle(const v1::Request& req) {
  v1::Response resp;
  resp.set_version(wire::kProtocolVersion);
  resp.set_request_id(req.request_id());
  if (req.has_stamp()) {
    std::vector<std::string> want;
    for (const auto& p : req.stamp().plugins()) want.push_back(p);
    if (want.empty()) want = names_;
    auto* out = resp.mutable_stamp();
    for (const auto& name : want) {
      auto* r = out->add_results();
      r->set_plugin(name);
      auto token = host_->Stamp(name, AsBytes(req.stamp().digest()));
      if (!token.ok()) {
        log::Warn("stamp_failed", {{"plugin", name}, {"error", token.status().message()}});
        r->mutable_error()->set_code(static_cast<v1::ErrorCode>(token.status().code()));
        r->mutable_error()->set_message(token.status().message());
        continue;
      }
      r->set_token(ToString(*token));
      if (name == "tlog" && runtime_) {
        auto t = evidence::VerifyInclusionToken(*token, AsBytes(req.stamp().digest()), log_key_);
        if (t.ok()) runtime_->SetRuntimeText("log_checkpoint", evidence::CheckpointText(t->checkpoint)).IgnoreError();
      }
    }
    return resp;
  }
  if (req.has_plugin_call()) {
    auto r = host_->Call(req.plugin_call().plugin(), AsBytes(req.plugin_call().request()));
    if (!r.ok()) {
      wire::SetError(&resp, r.status());
    } else {
      resp.mutable_plugin_call()->set_response(ToString(*r));
    }
    return resp;
  }
  wire::SetError(&resp, Status::InvalidArgument("not an anchor request"));
  return resp;
}

}  // namespace vigil::relay
