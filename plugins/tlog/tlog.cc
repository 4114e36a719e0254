// The relay's transparency log: an append-only RFC 9162 Merkle tree of
// digests. Each stamp appends a leaf (durably, through the host's record
// store), signs a checkpoint for the new tree size with the relay's key and
// returns an inclusion token (vigil/evidence.h). Queries (call):
//   "checkpoint\n"                      -> the current signed checkpoint
//   "consistency <first> <second>\n"    -> a consistency proof text
// The tree is rebuilt from the records at open and kept in memory (32 bytes
// per leaf); proofs are computed from the leaf hashes (O(n) per proof,
// fine for the notes of one organisation; see docs/EVIDENCE.md).
#include <charconv>
#include <new>
#include <vector>

#include "common/plugin_util.h"
#include "vigil/crypto.h"
#include "vigil/evidence.h"

namespace {

using vigil::Bytes;
using vigil::ByteSpan;
using vigil::Status;
using namespace vigil::plugins;
namespace ev = vigil::evidence;

struct Log {
  const vigil_ts_host* host = nullptr;
  Bytes key;
  std::vector<Bytes> leaves;  // leaf hashes
};

vigil::StatusOr<std::string> SignedCheckpoint(Log* log, uint64_t size) {
  const vigil_ts_host* h = log->host;
  ev::Checkpoint cp;
  cp.statement = ev::CheckpointStatement(log->key, size, ev::MerkleRoot(log->leaves, size), h->now_ms(h->ctx));
  uint8_t sig[64];
  if (h->sign(h->ctx, reinterpret_cast<const uint8_t*>(cp.statement.data()), cp.statement.size(), sig, nullptr) !=
      VIGIL_TS_OK) {
    return Status::Unavailable("the relay could not sign the checkpoint");
  }
  cp.signature.assign(sig, sig + 64);
  return ev::CheckpointText(cp);
}

int Open(const vigil_ts_host* host, const char*, void** state, char* err, size_t cap) {
  if (!vigil::crypto::InitCrypto().ok()) return Fail(Status::Internal("libsodium failed"), err, cap);
  if (!HostHasKeyAndStore(host)) {
    return Fail(Status::FailedPrecondition("the log needs a host with a signing key and a record store (the relay)"),
                err, cap);
  }
  auto* log = new (std::nothrow) Log();
  if (!log) return Fail(Status::Internal("out of memory"), err, cap);
  log->host = host;
  log->key.resize(32);
  uint64_t count = 0;
  if (host->sign(host->ctx, nullptr, 0, nullptr, log->key.data()) != VIGIL_TS_OK ||
      host->record_count(host->ctx, &count) != VIGIL_TS_OK) {
    delete log;
    return Fail(Status::FailedPrecondition("the log needs the relay's signing key and record store; this host has none"), err, cap);
  }
  log->leaves.reserve(count);
  for (uint64_t i = 0; i < count; ++i) {
    vigil_ts_buf rec{nullptr, 0};
    if (host->record_get(host->ctx, i, &rec) != VIGIL_TS_OK || rec.len != 32) {
      if (rec.data) host->free(host->ctx, rec.data, rec.len);
      delete log;
      return Fail(Status::Internal("the log's stored leaves are damaged"), err, cap);
    }
    log->leaves.push_back(ev::LeafHash(ByteSpan(rec.data, rec.len)));
    host->free(host->ctx, rec.data, rec.len);
  }
  *state = log;
  return VIGIL_TS_OK;
}

void Close(void* state) { delete static_cast<Log*>(state); }

int Stamp(void* state, const uint8_t digest[32], vigil_ts_buf* token, char* err, size_t cap) {
  auto* log = static_cast<Log*>(state);
  const vigil_ts_host* h = log->host;
  uint64_t index = 0;
  if (h->record_append(h->ctx, digest, 32, &index) != VIGIL_TS_OK) {
    return Fail(Status::Unavailable("the log could not record the digest"), err, cap);
  }
  if (index != log->leaves.size()) {
    return Fail(Status::Internal("the log's records and its tree disagree; restart the relay"), err, cap);
  }
  log->leaves.push_back(ev::LeafHash(ByteSpan(digest, 32)));
  uint64_t size = log->leaves.size();
  ev::InclusionToken t;
  t.digest.assign(digest, digest + 32);
  t.index = index;
  auto proof = ev::InclusionProof(log->leaves, index, size);
  if (!proof.ok()) return Fail(proof.status(), err, cap);
  t.proof = std::move(*proof);
  auto cp = SignedCheckpoint(log, size);
  if (!cp.ok()) return Fail(cp.status(), err, cap);
  auto parsed = ev::ParseCheckpoint(*cp, log->key);
  if (!parsed.ok()) return Fail(parsed.status(), err, cap);
  t.checkpoint = std::move(*parsed);
  return Output(h, vigil::AsBytes(ev::InclusionTokenText(t)), token, err, cap);
}

int Verify(void* state, const uint8_t digest[32], const uint8_t* token, size_t len, int64_t* time_ms, char* err,
           size_t cap) {
  auto* log = static_cast<Log*>(state);
  auto t = ev::VerifyInclusionToken(ByteSpan(token, len), ByteSpan(digest, 32), log->key);
  if (!t.ok()) return Fail(t.status(), err, cap);
  // The token's checkpoint must be a root of this very log.
  if (t->checkpoint.size > log->leaves.size() ||
      ev::MerkleRoot(log->leaves, t->checkpoint.size) != t->checkpoint.root) {
    return Fail(Status::Unauthenticated("the token's checkpoint is not in this log's history"), err, cap);
  }
  *time_ms = t->checkpoint.time_ms;
  return VIGIL_TS_OK;
}

bool ParseU64(std::string_view s, uint64_t* out) {
  auto r = std::from_chars(s.data(), s.data() + s.size(), *out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size() && !s.empty();
}

int Call(void* state, const uint8_t* request, size_t len, vigil_ts_buf* response, char* err, size_t cap) {
  auto* log = static_cast<Log*>(state);
  std::string_view req(reinterpret_cast<const char*>(request), len);
  if (req == "checkpoint\n") {
    auto cp = SignedCheckpoint(log, log->leaves.size());
    if (!cp.ok()) return Fail(cp.status(), err, cap);
    return Output(log->host, vigil::AsBytes(*cp), response, err, cap);
  }
  constexpr std::string_view kCons = "consistency ";
  if (req.size() < 64 && req.substr(0, kCons.size()) == kCons && req.back() == '\n') {
    std::string_view rest = req.substr(kCons.size(), req.size() - kCons.size() - 1);
    size_t sp = rest.find(' ');
    uint64_t first = 0, second = 0;
    if (sp == std::string_view::npos || !ParseU64(rest.substr(0, sp), &first) ||
        !ParseU64(rest.substr(sp + 1), &second)) {
      return Fail(Status::InvalidArgument("usage: consistency <first> <second>"), err, cap);
    }
    if (second > log->leaves.size() || first > second) {
      return Fail(Status::InvalidArgument("the log has only " + std::to_string(log->leaves.size()) + " entries"),
                  err, cap);
    }
    std::vector<Bytes> proof;
    if (first > 0 && first < second) {
      auto p = ev::ConsistencyProof(log->leaves, first, second);
      if (!p.ok()) return Fail(p.status(), err, cap);
      proof = std::move(*p);
    }
    return Output(log->host, vigil::AsBytes(ev::ConsistencyText(first, second, proof)), response, err, cap);
  }
  return Fail(Status::InvalidArgument("unknown log query"), err, cap);
}

const vigil_ts_plugin kPlugin = {
    sizeof(vigil_ts_plugin), VIGIL_TS_ABI_MAJOR, VIGIL_TS_ABI_MINOR, VIGIL_TS_FLAG_HOST_KEY | VIGIL_TS_FLAG_STORE,
    "tlog", "relay transparency log: RFC 9162 Merkle tree with signed checkpoints", Open, Close, Stamp, Verify,
    Call};

}  // namespace

extern "C" __attribute__((visibility("default"))) const vigil_ts_plugin* vigil_ts_plugin_v1(void) {
  return &kPlugin;
}
