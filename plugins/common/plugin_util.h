// Small helpers for Vigil's own timestamp plugins (not part of the ABI).
#ifndef VIGIL_PLUGINS_COMMON_PLUGIN_UTIL_H_
#define VIGIL_PLUGINS_COMMON_PLUGIN_UTIL_H_

#include <cstring>
#include <string>

#include "vigil/bytes.h"
#include "vigil/status.h"
#include "vigil/ts_plugin.h"

namespace vigil::plugins {

inline void SetError(char* err, size_t cap, const std::string& message) {
  if (!err || cap == 0) return;
  size_t n = std::min(cap - 1, message.size());
  memcpy(err, message.data(), n);
  err[n] = 0;
}

inline int CodeOf(const Status& s) {
  switch (s.code()) {
    case Code::kOk: return VIGIL_TS_OK;
    case Code::kInvalidArgument: return VIGIL_TS_ERR_INVALID;
    case Code::kUnauthenticated: return VIGIL_TS_ERR_VERIFY;
    case Code::kUnavailable: return VIGIL_TS_ERR_UNAVAILABLE;
    case Code::kFailedPrecondition: return VIGIL_TS_ERR_CONFIG;
    default: return VIGIL_TS_ERR_INTERNAL;
  }
}

inline int Fail(const Status& s, char* err, size_t cap) {
  SetError(err, cap, s.message());
  return CodeOf(s);
}

// Copies `data` into a host-allocated buffer.
inline int Output(const vigil_ts_host* host, ByteSpan data, vigil_ts_buf* out, char* err, size_t cap) {
  if (data.size() > VIGIL_TS_MAX_TOKEN) return Fail(Status::Internal("output too large"), err, cap);
  out->data = static_cast<uint8_t*>(host->alloc(host->ctx, data.size()));
  if (!out->data) return Fail(Status::Internal("out of memory"), err, cap);
  memcpy(out->data, data.data(), data.size());
  out->len = data.size();
  return VIGIL_TS_OK;
}

// The host must offer the services this plugin needs.
inline bool HostHasKeyAndStore(const vigil_ts_host* host) {
  return host && host->struct_size >= offsetof(vigil_ts_host, record_get) + sizeof(void*) && host->sign &&
         host->record_append && host->record_count && host->record_get && host->alloc && host->now_ms;
}

}  // namespace vigil::plugins

#endif  // VIGIL_PLUGINS_COMMON_PLUGIN_UTIL_H_
