// The relay's timestamp anchors: the plugin host loaded with the relay's
// services (its Ed25519 signing key and an append-only record store per
// plugin, each on its own store connection), and one worker thread that
// runs Stamp and PluginCall requests so the ROUTER thread never waits on a
// plugin. The ROUTER loop submits jobs and collects finished responses.
//
// Thread safety: Submit, TakeDone and Outstanding may be called from any
// thread; the worker is internal.
#ifndef VIGIL_RELAY_SERVER_ANCHORS_H_
#define VIGIL_RELAY_SERVER_ANCHORS_H_

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "relay/server/relay_store.h"
#include "vigil/plugin.h"
#include "vigil/wire.h"

namespace vigil::relay {

struct AnchorOptions {
  std::string plugin_dir;  // absolute
  std::string data_dir;
  int call_timeout_ms = 15000;
  size_t max_queue = 1024;
};

class Anchors {
 public:
  static StatusOr<std::unique_ptr<Anchors>> Start(const AnchorOptions& options, const crypto::SecretBytes& store_key,
                                                  const RelayKeys& keys);
  ~Anchors();
  Anchors(const Anchors&) = delete;
  Anchors& operator=(const Anchors&) = delete;

  // Usable anchors, by name.
  const std::vector<std::string>& names() const { return names_; }
  std::vector<plugin::PluginInfo> Infos() const { return host_->Plugins(); }

  struct Job {
    Bytes routing_id;
    wire::v1::Request request;  // stamp or plugin_call
  };
  struct Done {
    Bytes routing_id;
    wire::v1::Response response;
  };
  // False when the queue is full (the caller answers "busy").
  bool Submit(Job job);
  std::vector<Done> TakeDone();
  size_t Outstanding();

 private:
  Anchors() = default;
  void Run();
  wire::v1::Response Handle(const wire::v1::Request& req);

  std::unique_ptr<plugin::Host> host_;
  std::vector<std::string> names_;
  std::unique_ptr<RelayStore> runtime_;  // worker thread only: publishes the latest checkpoint
  Bytes log_key_;
  size_t max_queue_ = 1024;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> queue_;
  std::vector<Done> done_;
  size_t in_flight_ = 0;
  bool stopping_ = false;
  std::thread worker_;
};

}  // namespace vigil::relay

#endif  // VIGIL_RELAY_SERVER_ANCHORS_H_
