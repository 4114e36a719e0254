/*
 * The Vigil timestamp plugin ABI, major version 1. The only header a plugin
 * includes. Pure C: opaque handles, int result codes, messages in
 * caller-owned buffers; no exceptions and no C++ types cross it.
 *
 * A plugin is a shared object in the host's configured plugin directory
 * that exports exactly one symbol, VIGIL_TS_ENTRY_V1 ("vigil_ts_plugin_v1"),
 * returning a pointer to a static vigil_ts_plugin. A future incompatible
 * ABI gets a new symbol (vigil_ts_plugin_v2); compatible additions only grow
 * the structs at the end, and `struct_size` tells each side what the other
 * has (as sqlite3_vfs.iVersion and OpenSSL providers do).
 *
 * The host hands the plugin a table of services (vigil_ts_host): allocator,
 * clock, log, signing with the host's key, and an append-only record store.
 * The plugin links nothing from the host. Memory crossing the boundary is
 * allocated with host->alloc and released by the host, so it is never freed
 * on the wrong side.
 *
 * Calls: the host serialises calls to one plugin instance (never two at a
 * time) and runs them off its network thread, with host->timeout_ms as the
 * budget for network work. A plugin that sets VIGIL_TS_FLAG_NETWORK (it
 * parses bytes from the network) is run in a child process; the host
 * services `sign` and the record store are then unavailable (they return
 * VIGIL_TS_ERR_UNAVAILABLE).
 *
 * Errors: a call returns VIGIL_TS_OK or an error code, and on error writes
 * a short NUL-terminated, human-readable message (never a secret) into
 * `err` (capacity `err_cap`, always at least 256).
 */
#ifndef VIGIL_TS_PLUGIN_H_
#define VIGIL_TS_PLUGIN_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define VIGIL_TS_ABI_MAJOR 1
#define VIGIL_TS_ABI_MINOR 0
#define VIGIL_TS_ENTRY_V1 "vigil_ts_plugin_v1"

/* Result codes. Hosts treat any other value as VIGIL_TS_ERR_INTERNAL. */
enum {
  VIGIL_TS_OK = 0,
  VIGIL_TS_ERR_INVALID = 1,      /* bad argument or malformed token/request */
  VIGIL_TS_ERR_UNAVAILABLE = 2,  /* anchor unreachable or service missing: retry later */
  VIGIL_TS_ERR_VERIFY = 3,       /* the token does not prove the digest */
  VIGIL_TS_ERR_CONFIG = 4,       /* bad or missing configuration */
  VIGIL_TS_ERR_INTERNAL = 5,
  VIGIL_TS_ERR_UNSUPPORTED = 6   /* this plugin does not implement the call */
};

/* Log levels for host->log. */
enum { VIGIL_TS_LOG_DEBUG = 0, VIGIL_TS_LOG_INFO = 1, VIGIL_TS_LOG_WARN = 2, VIGIL_TS_LOG_ERROR = 3 };

/* Plugin flags. */
#define VIGIL_TS_FLAG_NETWORK 0x1u   /* talks to the network: run in a child process */
#define VIGIL_TS_FLAG_HOST_KEY 0x2u  /* needs host->sign (relay-hosted anchors) */
#define VIGIL_TS_FLAG_STORE 0x4u     /* needs the host's record store */

#define VIGIL_TS_DIGEST_SIZE 32
#define VIGIL_TS_SIGNATURE_SIZE 64
#define VIGIL_TS_MAX_TOKEN 65536     /* hosts refuse larger outputs */

/* A byte buffer allocated by host->alloc. The host frees it. */
typedef struct vigil_ts_buf {
  uint8_t *data;
  size_t len;
} vigil_ts_buf;

typedef struct vigil_ts_host {
  uint32_t struct_size; /* sizeof(vigil_ts_host) as the host knows it */
  uint32_t abi_minor;   /* VIGIL_TS_ABI_MINOR of the host */
  void *ctx;            /* passed back to every service */

  /* Memory for outputs. free wipes before releasing. */
  void *(*alloc)(void *ctx, size_t size);
  void (*free)(void *ctx, void *ptr, size_t size);
  /* Host clock: milliseconds since the Unix epoch (UTC). */
  int64_t (*now_ms)(void *ctx);
  /* One log line; never pass secrets or note content. */
  void (*log)(void *ctx, int level, const char *message);
  /* Budget for one network exchange, in milliseconds. */
  uint32_t timeout_ms;

  /* Ed25519 signature by the host's long-term key over `msg` exactly as
   * given; `public_key` receives the 32-byte key (may be NULL). With
   * msg == NULL and len == 0 nothing is signed and only `public_key` is
   * filled. Plugins must sign only messages that start with their own
   * domain line. */
  int (*sign)(void *ctx, const uint8_t *msg, size_t len, uint8_t sig[VIGIL_TS_SIGNATURE_SIZE],
              uint8_t public_key[32]);

  /* Append-only record store, private to this plugin and durable when the
   * call returns VIGIL_TS_OK. Records are numbered from 0. */
  int (*record_append)(void *ctx, const uint8_t *data, size_t len, uint64_t *index);
  int (*record_count)(void *ctx, uint64_t *count);
  /* Copies record `index` into a host->alloc'd buffer. */
  int (*record_get)(void *ctx, uint64_t index, vigil_ts_buf *out);
} vigil_ts_host;

typedef struct vigil_ts_plugin {
  uint32_t struct_size; /* sizeof(vigil_ts_plugin) as the plugin knows it */
  uint32_t abi_major;   /* VIGIL_TS_ABI_MAJOR */
  uint32_t abi_minor;
  uint32_t flags;       /* VIGIL_TS_FLAG_* */
  const char *name;     /* [a-z0-9-]{1,32}, e.g. "notary" */
  const char *description;

  /* Creates an instance. `config` is NUL-terminated "key=value" lines (may
   * be empty). The host keeps `host` alive until close returns. */
  int (*open)(const vigil_ts_host *host, const char *config, void **state, char *err, size_t err_cap);
  void (*close)(void *state);

  /* Anchors `digest` (32 bytes) and returns a token in *token. */
  int (*stamp)(void *state, const uint8_t digest[VIGIL_TS_DIGEST_SIZE], vigil_ts_buf *token,
               char *err, size_t err_cap);
  /* Checks that `token` anchors `digest`; on success *time_ms is the time
   * the anchor asserts (milliseconds since the epoch, UTC). */
  int (*verify)(void *state, const uint8_t digest[VIGIL_TS_DIGEST_SIZE], const uint8_t *token,
                size_t token_len, int64_t *time_ms, char *err, size_t err_cap);
  /* A plugin-specific query (e.g. the log's consistency proofs), or
   * VIGIL_TS_ERR_UNSUPPORTED. */
  int (*call)(void *state, const uint8_t *request, size_t request_len, vigil_ts_buf *response,
              char *err, size_t err_cap);
} vigil_ts_plugin;

/* The one exported symbol of a major-1 plugin. */
typedef const vigil_ts_plugin *(*vigil_ts_entry_v1_fn)(void);

#ifdef __cplusplus
}
#endif

#endif /* VIGIL_TS_PLUGIN_H_ */
