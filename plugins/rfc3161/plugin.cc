// The "rfc3161" timestamp plugin: the C ABI shim over vigil::rfc3161::Tsa
// (tsa.h). Nothing thrown crosses the boundary: every entry point catches
// everything and reports VIGIL_TS_ERR_INTERNAL.
//
// call(): the request "describe:" followed by a token's DER bytes returns a
// one-line JSON description of that token (TSA subject and serial, genTime,
// policy OID); anything else is VIGIL_TS_ERR_UNSUPPORTED.
#include <curl/curl.h>

#include <algorithm>
#include <cstring>
#include <exception>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <vector>

#include "tsa.h"
#include "vigil/ts_plugin.h"

namespace {

struct State {
  const vigil_ts_host* host = nullptr;
  std::unique_ptr<vigil::rfc3161::Tsa> tsa;
};

void SetErr(char* err, size_t cap, const std::string& m) {
  if (!err || cap == 0) return;
  size_t n = std::min(m.size(), cap - 1);
  memcpy(err, m.data(), n);
  err[n] = 0;
}

int Report(const vigil::rfc3161::Error& e, char* err, size_t cap) {
  if (!e.ok()) SetErr(err, cap, e.message);
  return e.code;
}

// Copies `data` into a host-allocated buffer.
int ToHostBuf(const vigil_ts_host* host, const void* data, size_t len, vigil_ts_buf* out, char* err,
              size_t cap) {
  if (len == 0 || len > VIGIL_TS_MAX_TOKEN) {
    SetErr(err, cap, "output of unusable size");
    return VIGIL_TS_ERR_INTERNAL;
  }
  auto* p = static_cast<uint8_t*>(host->alloc(host->ctx, len));
  if (!p) {
    SetErr(err, cap, "host out of memory");
    return VIGIL_TS_ERR_INTERNAL;
  }
  memcpy(p, data, len);
  out->data = p;
  out->len = len;
  return VIGIL_TS_OK;
}

int Internal(char* err, size_t cap, const char* what) {
  SetErr(err, cap, std::string("rfc3161 plugin internal error: ") + what);
  return VIGIL_TS_ERR_INTERNAL;
}

int p_open(const vigil_ts_host* host, const char* config, void** state, char* err, size_t cap) {
  try {
    if (!host || !state) return Internal(err, cap, "no host");
    // Initialise libcurl here, in the host's process, before any call runs
    // in a forked child.
    static std::once_flag once;
    static CURLcode init = CURLE_OK;
    std::call_once(once, [] { init = curl_global_init(CURL_GLOBAL_DEFAULT); });
    if (init != CURLE_OK) return Internal(err, cap, "libcurl failed to initialise");
    vigil::rfc3161::Error e;
    auto tsa = vigil::rfc3161::Tsa::Open(config ? config : "", &e);
    if (!tsa) return Report(e, err, cap);
    auto* s = new State();
    s->host = host;
    s->tsa = std::move(tsa);
    *state = s;
    return VIGIL_TS_OK;
  } catch (const std::bad_alloc&) {
    return Internal(err, cap, "out of memory");
  } catch (...) {
    return Internal(err, cap, "unexpected exception in open");
  }
}

void p_close(void* state) {
  try {
    delete static_cast<State*>(state);
  } catch (...) {
  }
}

int p_stamp(void* state, const uint8_t digest[VIGIL_TS_DIGEST_SIZE], vigil_ts_buf* token, char* err,
            size_t cap) {
  try {
    auto* s = static_cast<State*>(state);
    if (!s || !digest || !token) return Internal(err, cap, "bad arguments");
    std::vector<uint8_t> der;
    vigil::rfc3161::Error e = s->tsa->Stamp(digest, s->host->timeout_ms, &der);
    if (!e.ok()) return Report(e, err, cap);
    return ToHostBuf(s->host, der.data(), der.size(), token, err, cap);
  } catch (const std::bad_alloc&) {
    return Internal(err, cap, "out of memory");
  } catch (...) {
    return Internal(err, cap, "unexpected exception in stamp");
  }
}

int p_verify(void* state, const uint8_t digest[VIGIL_TS_DIGEST_SIZE], const uint8_t* token, size_t token_len,
             int64_t* time_ms, char* err, size_t cap) {
  try {
    auto* s = static_cast<State*>(state);
    if (!s || !digest || !time_ms) return Internal(err, cap, "bad arguments");
    return Report(s->tsa->Verify(digest, token, token_len, time_ms), err, cap);
  } catch (const std::bad_alloc&) {
    return Internal(err, cap, "out of memory");
  } catch (...) {
    return Internal(err, cap, "unexpected exception in verify");
  }
}

int p_call(void* state, const uint8_t* request, size_t request_len, vigil_ts_buf* response, char* err,
           size_t cap) {
  try {
    auto* s = static_cast<State*>(state);
    if (!s || !response || (!request && request_len)) return Internal(err, cap, "bad arguments");
    static const char kDescribe[] = "describe:";
    const size_t prefix = sizeof kDescribe - 1;
    if (request_len < prefix || memcmp(request, kDescribe, prefix) != 0) {
      SetErr(err, cap, "rfc3161 knows one request: describe:<token DER>");
      return VIGIL_TS_ERR_UNSUPPORTED;
    }
    std::string json;
    vigil::rfc3161::Error e = s->tsa->Describe(request + prefix, request_len - prefix, &json);
    if (!e.ok()) return Report(e, err, cap);
    return ToHostBuf(s->host, json.data(), json.size(), response, err, cap);
  } catch (const std::bad_alloc&) {
    return Internal(err, cap, "out of memory");
  } catch (...) {
    return Internal(err, cap, "unexpected exception in call");
  }
}

const vigil_ts_plugin kPlugin = {
    sizeof(vigil_ts_plugin),
    VIGIL_TS_ABI_MAJOR,
    VIGIL_TS_ABI_MINOR,
    VIGIL_TS_FLAG_NETWORK,
    "rfc3161",
    "RFC 3161 trusted timestamps from a TSA over HTTP(S), verified against a configured CA",
    p_open,
    p_close,
    p_stamp,
    p_verify,
    p_call,
};

}  // namespace

extern "C" __attribute__((visibility("default"))) const vigil_ts_plugin* vigil_ts_plugin_v1(void) {
  return &kPlugin;
}
