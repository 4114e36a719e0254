// The relay notary: the relay signs (digest, relay time, sequence) with its
// Ed25519 key. The statement format is vigil/evidence.h's NotaryStatement;
// the sequence is the notary's own append-only record number (from 1), so
// statements are totally ordered by the relay.
#include <new>

#include "common/plugin_util.h"
#include "vigil/crypto.h"
#include "vigil/evidence.h"

namespace {

using vigil::Bytes;
using vigil::ByteSpan;
using vigil::Status;
using namespace vigil::plugins;

struct Notary {
  const vigil_ts_host* host = nullptr;
  Bytes key;
};

int Open(const vigil_ts_host* host, const char*, void** state, char* err, size_t cap) {
  if (vigil::crypto::InitCrypto().ok() == false) return Fail(Status::Internal("libsodium failed"), err, cap);
  if (!HostHasKeyAndStore(host)) {
    return Fail(Status::FailedPrecondition("the notary needs a host with a signing key and a record store (the relay)"),
                err, cap);
  }
  auto* n = new (std::nothrow) Notary();
  if (!n) return Fail(Status::Internal("out of memory"), err, cap);
  n->host = host;
  n->key.resize(32);
  if (host->sign(host->ctx, nullptr, 0, nullptr, n->key.data()) != VIGIL_TS_OK) {
    delete n;
    return Fail(Status::FailedPrecondition("the notary needs the relay's signing key and record store; this host has none"), err, cap);
  }
  *state = n;
  return VIGIL_TS_OK;
}

void Close(void* state) { delete static_cast<Notary*>(state); }

int Stamp(void* state, const uint8_t digest[32], vigil_ts_buf* token, char* err, size_t cap) {
  auto* n = static_cast<Notary*>(state);
  const vigil_ts_host* h = n->host;
  int64_t now = h->now_ms(h->ctx);
  uint8_t record[40];
  memcpy(record, digest, 32);
  for (int i = 0; i < 8; ++i) record[32 + i] = static_cast<uint8_t>(static_cast<uint64_t>(now) >> (8 * i));
  uint64_t index = 0;
  if (h->record_append(h->ctx, record, sizeof record, &index) != VIGIL_TS_OK) {
    return Fail(Status::Unavailable("the notary could not record the stamp"), err, cap);
  }
  std::string statement = vigil::evidence::NotaryStatement(n->key, ByteSpan(digest, 32), now, index + 1);
  uint8_t sig[64];
  if (h->sign(h->ctx, reinterpret_cast<const uint8_t*>(statement.data()), statement.size(), sig, nullptr) !=
      VIGIL_TS_OK) {
    return Fail(Status::Unavailable("the relay could not sign the statement"), err, cap);
  }
  std::string text = statement + "signature " + vigil::HexEncode(ByteSpan(sig, 64)) + "\n";
  return Output(h, vigil::AsBytes(text), token, err, cap);
}

int Verify(void* state, const uint8_t digest[32], const uint8_t* token, size_t len, int64_t* time_ms, char* err,
           size_t cap) {
  auto* n = static_cast<Notary*>(state);
  auto t = vigil::evidence::VerifyNotaryToken(ByteSpan(token, len), ByteSpan(digest, 32), n->key);
  if (!t.ok()) return Fail(t.status(), err, cap);
  *time_ms = t->time_ms;
  return VIGIL_TS_OK;
}

int Call(void*, const uint8_t*, size_t, vigil_ts_buf*, char* err, size_t cap) {
  SetError(err, cap, "the notary has no queries");
  return VIGIL_TS_ERR_UNSUPPORTED;
}

const vigil_ts_plugin kPlugin = {
    sizeof(vigil_ts_plugin), VIGIL_TS_ABI_MAJOR, VIGIL_TS_ABI_MINOR, VIGIL_TS_FLAG_HOST_KEY | VIGIL_TS_FLAG_STORE,
    "notary", "relay notary: the relay signs digest, time and sequence", Open, Close, Stamp, Verify, Call};

}  // namespace

extern "C" __attribute__((visibility("default"))) const vigil_ts_plugin* vigil_ts_plugin_v1(void) {
  return &kPlugin;
}
