// An in-memory host for the tlog plugin (plugins/tlog/tlog.cc, compiled
// into the fuzz target and the seed writer): a fixed signing key and clock
// and a record store preloaded with kLeaves digests, so the committed seed
// tokens and proofs hold at the fuzz target's log.
#ifndef VIGIL_TESTS_FUZZ_TLOG_HOST_H_
#define VIGIL_TESTS_FUZZ_TLOG_HOST_H_

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "vigil/bytes.h"
#include "vigil/crypto.h"
#include "vigil/ts_plugin.h"

extern "C" const vigil_ts_plugin* vigil_ts_plugin_v1(void);

namespace vigil::fuzz {

inline constexpr uint64_t kLeaves = 13;
inline constexpr int64_t kLogTimeMs = 1764460800000;

inline Bytes LogDigest(uint64_t i) { return crypto::Sha256(AsBytes("tlog-leaf:" + std::to_string(i))); }

class TlogHost {
 public:
  // `preload` digests LogDigest(0..preload-1) in the store.
  explicit TlogHost(uint64_t preload) {
    auto k = crypto::SigningKeyPairFromSeed(crypto::Sha256(AsBytes("tlog-host-key")));
    if (!k.ok()) std::abort();
    key_ = std::move(*k);
    for (uint64_t i = 0; i < preload; ++i) records_.push_back(LogDigest(i));
    host_.struct_size = sizeof host_;
    host_.abi_minor = VIGIL_TS_ABI_MINOR;
    host_.ctx = this;
    host_.alloc = [](void*, size_t n) -> void* { return std::malloc(n == 0 ? 1 : n); };
    host_.free = [](void*, void* p, size_t) { std::free(p); };
    host_.now_ms = [](void*) -> int64_t { return kLogTimeMs; };
    host_.log = [](void*, int, const char*) {};
    host_.timeout_ms = 1000;
    host_.sign = [](void* ctx, const uint8_t* msg, size_t len, uint8_t sig[64], uint8_t pub[32]) -> int {
      auto* h = static_cast<TlogHost*>(ctx);
      if (pub) std::memcpy(pub, h->key_.public_key.data(), 32);
      if (msg == nullptr && len == 0) return VIGIL_TS_OK;
      auto s = crypto::Sign(h->key_.secret_key, ByteSpan(msg, len));
      if (!s.ok()) return VIGIL_TS_ERR_INTERNAL;
      std::memcpy(sig, s->data(), 64);
      return VIGIL_TS_OK;
    };
    host_.record_append = [](void* ctx, const uint8_t* data, size_t len, uint64_t* index) -> int {
      auto* h = static_cast<TlogHost*>(ctx);
      *index = h->records_.size();
      h->records_.emplace_back(data, data + len);
      return VIGIL_TS_OK;
    };
    host_.record_count = [](void* ctx, uint64_t* count) -> int {
      *count = static_cast<TlogHost*>(ctx)->records_.size();
      return VIGIL_TS_OK;
    };
    host_.record_get = [](void* ctx, uint64_t index, vigil_ts_buf* out) -> int {
      auto* h = static_cast<TlogHost*>(ctx);
      if (index >= h->records_.size()) return VIGIL_TS_ERR_INVALID;
      const Bytes& r = h->records_[index];
      out->data = static_cast<uint8_t*>(std::malloc(r.size() == 0 ? 1 : r.size()));
      std::memcpy(out->data, r.data(), r.size());
      out->len = r.size();
      return VIGIL_TS_OK;
    };
    plugin_ = vigil_ts_plugin_v1();
    char err[256] = {0};
    if (plugin_->open(&host_, "", &state_, err, sizeof err) != VIGIL_TS_OK) std::abort();
  }
  ~TlogHost() { plugin_->close(state_); }
  TlogHost(const TlogHost&) = delete;
  TlogHost& operator=(const TlogHost&) = delete;

  const vigil_ts_plugin* plugin() const { return plugin_; }
  void* state() const { return state_; }
  const Bytes& public_key() const { return key_.public_key; }

  // The plugin's output as a string (and freed), or the error code.
  int Call(ByteSpan request, std::string* out) { return Take(plugin_->call(state_, request.data(), request.size(), &buf_, err_, sizeof err_), out); }
  int Stamp(ByteSpan digest, std::string* out) { return Take(plugin_->stamp(state_, digest.data(), &buf_, err_, sizeof err_), out); }
  const char* error() const { return err_; }

 private:
  int Take(int rc, std::string* out) {
    if (rc == VIGIL_TS_OK) {
      out->assign(reinterpret_cast<const char*>(buf_.data), buf_.len);
      std::free(buf_.data);
    }
    buf_ = {nullptr, 0};
    return rc;
  }

  crypto::SigningKeyPair key_;
  std::vector<Bytes> records_;
  vigil_ts_host host_{};
  const vigil_ts_plugin* plugin_ = nullptr;
  void* state_ = nullptr;
  vigil_ts_buf buf_{nullptr, 0};
  char err_[256] = {0};
};

}  // namespace vigil::fuzz

#endif  // VIGIL_TESTS_FUZZ_TLOG_HOST_H_
