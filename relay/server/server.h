// The relay's serving loop: one ROUTER socket (CurveZMQ server), a ZAP
// handler thread that admits enrolled devices and invite holders, and request
// handlers over the RelayStore. Sends are group-committed: every request
// drained in one poll round runs in one transaction, and no response leaves
// before that transaction has committed.
//
// Thread safety: Run() owns the calling thread and starts the ZAP thread; it
// returns when `stop` becomes true (after finishing the batch in flight).
#ifndef VIGIL_RELAY_SERVER_SERVER_H_
#define VIGIL_RELAY_SERVER_SERVER_H_

#include <atomic>
#include <string>

#include "relay/server/relay_store.h"
#include "vigil/status.h"

namespace vigil::relay {

struct ServerOptions {
  std::string data_dir;
  int max_batch = 256;          // requests per group commit
  int fetch_max_items = 200;
  size_t fetch_max_bytes = 4 * 1024 * 1024;
  // Mail older than this is deleted even if never fetched (retention cap).
  int64_t retention_ms = 30LL * 24 * 3600 * 1000;
  int64_t purge_interval_ms = 60 * 1000;
  int64_t default_invite_ttl_s = 72 * 3600;
  // Limits. A recipient device's queued mail may not exceed this many bytes.
  int64_t mailbox_quota_bytes = 256LL * 1024 * 1024;
  // Requests per second per device (token bucket, burst of twice the rate).
  double rate_limit_per_s = 500;
  // Below this much free disk, new sends and uploads are refused (fetch and
  // ack keep working so mailboxes can drain).
  int64_t min_free_disk_bytes = 256LL * 1024 * 1024;
  // New handshakes are refused beyond this many open connections.
  int max_connections = 2000;
  // Timestamp plugins: loaded from this absolute directory (empty: none).
  std::string plugin_dir;
  int plugin_timeout_ms = 15000;
};

// Serves until `stop` is set. Returns OK on a clean stop; an error when the
// relay must fail-stop (e.g. the store cannot commit).
Status Serve(RelayStore& store, const ServerOptions& options, const std::atomic<bool>& stop);

}  // namespace vigil::relay

#endif  // VIGIL_RELAY_SERVER_SERVER_H_
