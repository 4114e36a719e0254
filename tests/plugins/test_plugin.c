/* Deliberately good and broken timestamp plugins for the host's tests.
 * Built once per VARIANT into build/lib/vigil/test-plugins/. Never shipped. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vigil/ts_plugin.h"

#define EXPORT __attribute__((visibility("default")))

typedef struct state {
  const vigil_ts_host *host;
  int stamps;
} state;

static void set_err(char *err, size_t cap, const char *m) {
  if (cap == 0) return;
  strncpy(err, m, cap - 1);
  err[cap - 1] = 0;
}

static int p_open(const vigil_ts_host *host, const char *config, void **out, char *err, size_t cap) {
  (void)config;
#if defined(VARIANT_BADOPEN)
  (void)host; (void)out;
  set_err(err, cap, "missing setting url=");
  return VIGIL_TS_ERR_CONFIG;
#else
  (void)err; (void)cap;
  state *s = calloc(1, sizeof *s);
  if (!s) return VIGIL_TS_ERR_INTERNAL;
  s->host = host;
  *out = s;
  return VIGIL_TS_OK;
#endif
}

static void p_close(void *st) { free(st); }

static int p_stamp(void *st, const uint8_t digest[32], vigil_ts_buf *token, char *err, size_t cap) {
  state *s = st;
  s->stamps++;
#if defined(VARIANT_FAILING)
  (void)digest; (void)token;
  set_err(err, cap, "anchor unreachable");
  return VIGIL_TS_ERR_UNAVAILABLE;
#elif defined(VARIANT_HANG)
  (void)digest; (void)token; (void)err; (void)cap;
  sleep(3600);
  return VIGIL_TS_OK;
#elif defined(VARIANT_GARBAGE)
  static uint8_t not_from_host[16];
  (void)digest; (void)err; (void)cap;
  token->data = not_from_host; /* not allocated by the host */
  token->len = sizeof not_from_host;
  return VIGIL_TS_OK;
#elif defined(VARIANT_CRASH)
  (void)digest; (void)token; (void)err; (void)cap;
  abort();
#else
  (void)err; (void)cap;
  token->data = s->host->alloc(s->host->ctx, 37);
  if (!token->data) return VIGIL_TS_ERR_INTERNAL;
  memcpy(token->data, "echo:", 5);
  memcpy(token->data + 5, digest, 32);
  token->len = 37;
  return VIGIL_TS_OK;
#endif
}

static int p_verify(void *st, const uint8_t digest[32], const uint8_t *token, size_t len, int64_t *time_ms,
                    char *err, size_t cap) {
  state *s = st;
#if defined(VARIANT_GARBAGE)
  (void)s; (void)digest; (void)token; (void)len; (void)time_ms;
  memset(err, 'A', cap); /* no terminator */
  return 99;             /* no such code */
#elif defined(VARIANT_CRASH)
  (void)s; (void)digest; (void)token; (void)len; (void)time_ms; (void)err; (void)cap;
  sleep(3600); /* a hang in a child process: killed on timeout */
  return VIGIL_TS_OK;
#else
  if (len != 37 || memcmp(token, "echo:", 5) != 0 || memcmp(token + 5, digest, 32) != 0) {
    set_err(err, cap, "token does not match the digest");
    return VIGIL_TS_ERR_VERIFY;
  }
  *time_ms = s->host->now_ms(s->host->ctx);
  return VIGIL_TS_OK;
#endif
}

static int p_call(void *st, const uint8_t *req, size_t len, vigil_ts_buf *resp, char *err, size_t cap) {
  state *s = st;
  (void)err; (void)cap;
#if defined(VARIANT_GARBAGE)
  resp->data = s->host->alloc(s->host->ctx, 4);
  resp->len = 1u << 30; /* larger than what was allocated */
  (void)req; (void)len;
  return VIGIL_TS_OK;
#else
  /* Echo, plus a record-store round trip when the host has one. */
  uint64_t idx = 0;
  int rc = s->host->record_append(s->host->ctx, req, len, &idx);
  resp->len = len + 1;
  resp->data = s->host->alloc(s->host->ctx, len + 1);
  if (!resp->data) return VIGIL_TS_ERR_INTERNAL;
  resp->data[0] = (uint8_t)(rc == VIGIL_TS_OK ? 'S' : 'N');
  memcpy(resp->data + 1, req, len);
  return VIGIL_TS_OK;
#endif
}

#if defined(VARIANT_CRASH)
#define FLAGS VIGIL_TS_FLAG_NETWORK
#else
#define FLAGS 0u
#endif

static const vigil_ts_plugin plugin = {
#if defined(VARIANT_SMALL)
    8,
#else
    sizeof(vigil_ts_plugin),
#endif
#if defined(VARIANT_ABI2)
    2,
#else
    VIGIL_TS_ABI_MAJOR,
#endif
    VIGIL_TS_ABI_MINOR, FLAGS, PLUGIN_NAME, "test plugin", p_open, p_close, p_stamp, p_verify, p_call};

#if !defined(VARIANT_NOSYM)
EXPORT const vigil_ts_plugin *vigil_ts_plugin_v1(void) { return &plugin; }
#else
EXPORT const vigil_ts_plugin *vigil_ts_plugin_v0(void) { return &plugin; }
#endif
