// Thin, misuse-resistant wrappers over libsodium. Nothing here implements a
// primitive; every function composes libsodium calls and checks every return
// value. Secrets are held in SecretBytes (sodium_malloc'd, guarded, wiped on
// destruction) and compared in constant time.
//
// REQUIRES: InitCrypto() has returned OK before any other function here is
// called and before any thread is started.
// Thread safety: all free functions are thread-safe. SecretBytes is a value
// type like std::vector (no internal locking).
#ifndef VIGIL_CRYPTO_H_
#define VIGIL_CRYPTO_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "vigil/bytes.h"
#include "vigil/status.h"

namespace vigil::crypto {

// Calls sodium_init(). Idempotent.
Status InitCrypto();

// A secret byte string in sodium_malloc'd memory: guarded pages, mlock'd
// where possible, wiped on destruction. Move-only.
class SecretBytes {
 public:
  SecretBytes() = default;
  // Zero-filled secret of `size` bytes. Aborts (libsodium's behaviour on
  // allocation failure is checked and turned into std::abort) only when the
  // process is out of memory.
  explicit SecretBytes(size_t size);
  ~SecretBytes();
  SecretBytes(SecretBytes&& other) noexcept;
  SecretBytes& operator=(SecretBytes&& other) noexcept;
  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;

  static SecretBytes Random(size_t size);
  static SecretBytes CopyOf(ByteSpan data);

  // An explicit deep copy (never implicit).
  SecretBytes Clone() const;

  uint8_t* data() { return data_; }
  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  ByteSpan span() const { return ByteSpan(data_, size_); }
  std::span<uint8_t> mutable_span() { return std::span<uint8_t>(data_, size_); }

 private:
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

// Constant-time equality (sodium_memcmp). Different lengths compare unequal
// (lengths are not secret).
bool ConstantTimeEqual(ByteSpan a, ByteSpan b);

// Wipes memory the caller owns (sodium_memzero).
void Wipe(std::span<uint8_t> data);
void Wipe(std::string& s);

void RandomBytes(std::span<uint8_t> out);
Bytes RandomBytes(size_t size);
uint64_t RandomUint64();

// --- SHA-256, HMAC-SHA-256, HKDF-SHA-256 (RFC 5869) ---
inline constexpr size_t kSha256Size = 32;
Bytes Sha256(ByteSpan data);
// Incremental SHA-256 for large inputs (attachments).
class Sha256Hasher {
 public:
  Sha256Hasher();
  void Update(ByteSpan data);
  Bytes Finish();
 private:
  alignas(64) unsigned char state_[128];  // crypto_hash_sha256_state fits
};

SecretBytes HmacSha256(ByteSpan key, ByteSpan data);
// RFC 5869. REQUIRES: out_len <= 255 * 32, else InvalidArgument.
SecretBytes HkdfExtract(ByteSpan salt, ByteSpan ikm);
StatusOr<SecretBytes> HkdfExpand(ByteSpan prk, ByteSpan info, size_t out_len);
StatusOr<SecretBytes> Hkdf(ByteSpan salt, ByteSpan ikm, ByteSpan info, size_t out_len);

// --- Ed25519 ---
inline constexpr size_t kEd25519PublicKeySize = 32;
inline constexpr size_t kEd25519SecretKeySize = 64;  // libsodium's seed||pk form
inline constexpr size_t kEd25519SeedSize = 32;
inline constexpr size_t kEd25519SignatureSize = 64;

struct SigningKeyPair {
  Bytes public_key;        // 32 bytes
  SecretBytes secret_key;  // 64 bytes (libsodium format)
};
SigningKeyPair GenerateSigningKeyPair();
// REQUIRES: seed is 32 bytes, else InvalidArgument.
StatusOr<SigningKeyPair> SigningKeyPairFromSeed(ByteSpan seed);
// Rebuilds the pair from a stored 64-byte secret key.
StatusOr<SigningKeyPair> SigningKeyPairFromSecret(const SecretBytes& secret_key);
// REQUIRES: secret_key is 64 bytes.
StatusOr<Bytes> Sign(const SecretBytes& secret_key, ByteSpan message);
// OK, or Unauthenticated("bad signature"); InvalidArgument on wrong sizes.
// Rejects non-canonical and small-order keys/signatures as libsodium does.
Status Verify(ByteSpan public_key, ByteSpan message, ByteSpan signature);

// --- X25519 ---
inline constexpr size_t kX25519KeySize = 32;
struct DhKeyPair {
  Bytes public_key;        // 32 bytes
  SecretBytes secret_key;  // 32 bytes
};
DhKeyPair GenerateDhKeyPair();
StatusOr<Bytes> DhPublicFromSecret(const SecretBytes& secret_key);
// X25519(secret, peer_public). Returns InvalidArgument when the result is
// all-zero (a low-order peer key) — never a usable shared secret.
StatusOr<SecretBytes> X25519(const SecretBytes& secret_key, ByteSpan peer_public);
// Raw form used by test vectors: scalar and point as plain bytes.
StatusOr<Bytes> X25519Raw(ByteSpan scalar, ByteSpan point);

// --- XChaCha20-Poly1305 (IETF) AEAD ---
inline constexpr size_t kAeadKeySize = 32;
inline constexpr size_t kAeadNonceSize = 24;
inline constexpr size_t kAeadTagSize = 16;
// Returns ciphertext||tag. REQUIRES: key 32 bytes, nonce 24 bytes.
StatusOr<Bytes> AeadSeal(const SecretBytes& key, ByteSpan nonce, ByteSpan aad,
                         ByteSpan plaintext);
// Unauthenticated("decryption failed") on any tampering; output untouched.
StatusOr<SecretBytes> AeadOpen(const SecretBytes& key, ByteSpan nonce,
                               ByteSpan aad, ByteSpan ciphertext);
// Raw-key forms for test vectors.
StatusOr<Bytes> AeadSealRaw(ByteSpan key, ByteSpan nonce, ByteSpan aad,
                            ByteSpan plaintext);
StatusOr<Bytes> AeadOpenRaw(ByteSpan key, ByteSpan nonce, ByteSpan aad,
                            ByteSpan ciphertext);

// --- XChaCha20-Poly1305 secretstream (chunked files: attachments) ---
inline constexpr size_t kStreamKeySize = 32;
inline constexpr size_t kStreamHeaderSize = 24;
inline constexpr size_t kStreamOverhead = 17;  // per chunk
// Encrypts a sequence of chunks; the last one is marked final so that
// truncation is detected. Reordering and dropping are detected too.
class StreamEncryptor {
 public:
  // REQUIRES: key is 32 bytes. `header` receives the 24-byte stream header.
  static StatusOr<StreamEncryptor> Start(const SecretBytes& key, Bytes* header);
  StatusOr<Bytes> Push(ByteSpan chunk, bool final);
 private:
  StreamEncryptor() : state_(SecretBytes(52)) {}
  SecretBytes state_;  // crypto_secretstream_xchacha20poly1305_state
};
class StreamDecryptor {
 public:
  static StatusOr<StreamDecryptor> Start(const SecretBytes& key, ByteSpan header);
  // Unauthenticated on tampering, reordering or a chunk after the final one.
  StatusOr<SecretBytes> Pull(ByteSpan chunk, bool* final);
 private:
  StreamDecryptor() : state_(SecretBytes(52)) {}
  SecretBytes state_;
  bool done_ = false;
};

// --- Argon2id ---
struct Argon2Params {
  uint64_t opslimit;
  uint64_t memlimit;  // bytes
};
// libsodium's INTERACTIVE limits (2 passes, 64 MiB).
Argon2Params DefaultArgon2Params();
inline constexpr size_t kArgon2SaltSize = 16;
// REQUIRES: salt 16 bytes; params within libsodium's bounds.
StatusOr<SecretBytes> Argon2id(ByteSpan passphrase, ByteSpan salt,
                               const Argon2Params& params, size_t out_len);

// --- Fingerprints ---
// A human-comparable fingerprint of a public key: SHA-256 of a domain label
// and the key, shown as 6 groups of 5 decimal digits ("12345 67890 ...").
std::string Fingerprint(std::string_view label, ByteSpan public_key);

}  // namespace vigil::crypto

#endif  // VIGIL_CRYPTO_H_
