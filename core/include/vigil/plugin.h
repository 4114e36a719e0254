// The timestamp plugin host: loads plugins (plugins/include/vigil/ts_plugin.h)
// from one configured directory and calls them safely.
//
// Loading: only regular files named *.so directly in the directory, not
// symlinks, not group- or world-writable, owned by root or this user;
// dlopen(RTLD_NOW | RTLD_LOCAL); the entry symbol vigil_ts_plugin_v1 must
// exist and the plugin struct must be large enough, of ABI major 1, with a
// valid name and every function. A file that fails a check is listed with
// the reason and never called; it does not stop the others from loading.
// The ABI check is for compatibility, not security: the directory must be
// trusted (constructors run inside dlopen). Plugins are never dlclose'd.
//
// Calling: each plugin instance has its own worker thread, so calls never
// run on the caller's thread and calls to one plugin never overlap. A call
// that does not finish within the call timeout returns DeadlineExceeded and
// disables that plugin until the host is destroyed (its thread is left
// behind, never joined). A plugin flagged VIGIL_TS_FLAG_NETWORK runs each
// call in a forked child process that is killed on timeout, so a crash or a
// hang in network parsing cannot take the host down. Outputs are checked:
// unknown result codes, tokens larger than VIGIL_TS_MAX_TOKEN or not
// allocated through the host, and unterminated messages are errors.
//
// Thread safety: all Host methods may be called from any thread.
#ifndef VIGIL_PLUGIN_H_
#define VIGIL_PLUGIN_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "vigil/bytes.h"
#include "vigil/status.h"

namespace vigil::plugin {

// What the embedding program offers plugins: a signing key and a durable
// record store (the relay), or nothing (the client). Called on the plugin's
// worker thread; one Services object per plugin.
class Services {
 public:
  virtual ~Services() = default;
  // Ed25519 signature over `msg`; fills *public_key (32 bytes).
  virtual StatusOr<Bytes> Sign(ByteSpan msg, Bytes* public_key);
  virtual StatusOr<Bytes> PublicKey();
  virtual StatusOr<uint64_t> Append(ByteSpan record);
  virtual StatusOr<uint64_t> Count();
  virtual StatusOr<Bytes> Get(uint64_t index);
};
using ServicesFactory = std::function<std::unique_ptr<Services>(const std::string& plugin_name)>;

struct HostOptions {
  std::string dir;                      // absolute path of the plugin directory
  int call_timeout_ms = 15000;          // whole call budget
  uint32_t network_timeout_ms = 10000;  // passed to plugins for one exchange
  ServicesFactory services;             // null: no signing key, no record store
  std::map<std::string, std::string> configs;  // plugin name -> config text
  std::vector<std::string> only;        // load only plugins of these names (empty: all)
};

struct PluginInfo {
  std::string name;  // empty if the file could not be loaded
  std::string file;
  std::string description;
  uint32_t abi_major = 0;
  uint32_t abi_minor = 0;
  uint32_t flags = 0;
  bool ok = false;
  std::string problem;  // why not ok
};

class Host {
 public:
  // Loads every plugin in options.dir. A missing directory loads nothing
  // (and is listed as a problem); individual bad files are listed too.
  static StatusOr<std::unique_ptr<Host>> Load(const HostOptions& options);
  ~Host();
  Host(const Host&) = delete;
  Host& operator=(const Host&) = delete;

  std::vector<PluginInfo> Plugins() const;
  // True if a plugin of this name loaded and is usable.
  bool Has(const std::string& name) const;

  // REQUIRES: digest is 32 bytes. Unavailable when the anchor cannot be
  // reached (retry later); NotFound for an unknown plugin.
  StatusOr<Bytes> Stamp(const std::string& name, ByteSpan digest);
  // The anchored time (ms since the epoch) if `token` anchors `digest`;
  // Unauthenticated if it does not.
  StatusOr<int64_t> Verify(const std::string& name, ByteSpan digest, ByteSpan token);
  StatusOr<Bytes> Call(const std::string& name, ByteSpan request);

  struct Instance;

 private:
  Host() = default;
  StatusOr<Instance*> Find(const std::string& name) const;
  std::vector<PluginInfo> infos_;
  std::vector<std::unique_ptr<Instance>> instances_;
};

// The plugin directory that ships beside a binary: <dir of exe>/../lib/vigil/plugins.
std::string DefaultPluginDir();

}  // namespace vigil::plugin

#endif  // VIGIL_PLUGIN_H_
