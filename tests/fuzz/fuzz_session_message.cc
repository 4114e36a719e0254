// Fuzz target: bytes from a (possibly hostile) peer or a damaged store, fed
// to every session parser: as a SessionMessage at fixed established sessions
// (both roles) and at RespondX3dh, as a stored Session state, and as a
// published prekey bundle. Parsed state must round-trip; nothing may crash.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "session_fixture.h"
#include "vigil/crypto.h"
#include "vigil/session.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vigil;
  static const bool init = crypto::InitCrypto().ok();
  (void)init;
  static const fuzz::SessionFixture* const f = new fuzz::SessionFixture();
  const ByteSpan in(data, size);

  (void)session::PeekInitialHeader(in);
  (void)f->bob_session->Decrypt(in, 1);
  (void)f->alice_session->Decrypt(in, 1);
  (void)session::Session::RespondX3dh(f->bob.id, f->bob.dh.secret_key, f->alice.id, f->spk, &f->opk,
                                      in, 1);
  (void)session::Session::RespondX3dh(f->bob.id, f->bob.dh.secret_key, f->alice.id, f->spk, nullptr,
                                      in, 1);
  (void)session::DecodePrekeyBundle(in, f->bob.id);

  auto parsed = session::Session::Parse(in);
  if (parsed.ok()) {
    // A state that parses serializes to a state that parses to the same bytes.
    crypto::SecretBytes bytes = parsed->Serialize();
    auto again = session::Session::Parse(bytes.span());
    if (!again.ok() || !crypto::ConstantTimeEqual(again->Serialize().span(), bytes.span())) {
      std::abort();
    }
    (void)parsed->Decrypt(f->reply_0, 1);
    (void)parsed->Decrypt(f->initial_1, 1);
    (void)parsed->Encrypt(AsBytes("fuzz"), fuzz::DhFromLabel("fuzz-fresh"));
    (void)parsed->DropSkippedKeysOlderThan(1, 0);
  }
  return 0;
}
