#include "vigil/crypto.h"

#include <sodium.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace vigil::crypto {
namespace {

// Released secret buffers kept for reuse, per thread and by exact size.
// sodium_malloc costs an mmap, two mprotect calls (guard pages) and an
// mlock, and sodium_free the reverse; in a process with several threads
// every mprotect and munmap is also a TLB shootdown on the other cores.
// The Double Ratchet makes and drops about fifteen small secrets per
// message (chain and message keys, HMAC and HKDF outputs, state copies),
// which made these system calls about 40% of a device's CPU while it
// received notes (vigil-bench sync). A cached buffer is wiped when it is
// released and keeps its guard pages and its lock; only small sizes are
// kept, at most kPerSize of each, and a thread's cache is freed (through
// sodium_free, which checks the canaries) when the thread ends.
class SecretCache {
 public:
  static constexpr size_t kMaxSize = 128;
  static constexpr size_t kPerSize = 16;

  // Null once this thread's cache is gone (thread exit): callers then
  // allocate and free directly.
  static SecretCache* Get() {
    thread_local SecretCache* cache = nullptr;
    thread_local bool dead = false;
    struct Owner {
      SecretCache** cache;
      bool* dead;
      ~Owner() {
        delete *cache;
        *cache = nullptr;
        *dead = true;
      }
    };
    if (cache == nullptr && !dead) {
      thread_local Owner owner{&cache, &dead};
      cache = new SecretCache();
    }
    return cache;
  }

  ~SecretCache() {
    for (auto& list : free_) {
      for (uint8_t* p : list) sodium_free(p);
    }
  }

  uint8_t* Take(size_t size) {
    if (size > kMaxSize || free_[size].empty()) return nullptr;
    uint8_t* p = free_[size].back();
    free_[size].pop_back();
    return p;
  }

  // False when full (the caller frees the buffer).
  bool Put(uint8_t* p, size_t size) {
    if (size > kMaxSize || free_[size].size() >= kPerSize) return false;
    sodium_memzero(p, size);
    free_[size].push_back(p);
    return true;
  }

 private:
  std::array<std::vector<uint8_t*>, kMaxSize + 1> free_;
};

uint8_t* AllocSecret(size_t size) {
  if (size == 0) return nullptr;
  // sodium_malloc aborts before sodium_init(); a static object holding a
  // secret may be built before main() calls InitCrypto().
  static const bool initialised = sodium_init() >= 0;
  if (!initialised) std::abort();
  if (SecretCache* cache = SecretCache::Get()) {
    if (uint8_t* p = cache->Take(size)) return p;  // wiped when released
  }
  void* p = sodium_malloc(size);
  if (p == nullptr) std::abort();  // out of memory: nothing sensible to do
  std::memset(p, 0, size);
  return static_cast<uint8_t*>(p);
}

void FreeSecret(uint8_t* p, size_t size) {
  if (p == nullptr) return;
  SecretCache* cache = SecretCache::Get();
  if (cache != nullptr && cache->Put(p, size)) return;
  sodium_free(p);  // wipes before freeing
}

}  // namespace

Status InitCrypto() {
  if (sodium_init() < 0) return Status::Internal("libsodium failed to initialise");
  return Status::Ok();
}

// --- SecretBytes ---

SecretBytes::SecretBytes(size_t size) : data_(AllocSecret(size)), size_(size) {}

SecretBytes::~SecretBytes() { FreeSecret(data_, size_); }  // wiped either way

SecretBytes::SecretBytes(SecretBytes&& other) noexcept
    : data_(other.data_), size_(other.size_) {
  other.data_ = nullptr;
  other.size_ = 0;
}

SecretBytes& SecretBytes::operator=(SecretBytes&& other) noexcept {
  if (this != &other) {
    FreeSecret(data_, size_);
    data_ = other.data_;
    size_ = other.size_;
    other.data_ = nullptr;
    other.size_ = 0;
  }
  return *this;
}

SecretBytes SecretBytes::Random(size_t size) {
  SecretBytes s(size);
  if (size > 0) randombytes_buf(s.data_, size);
  return s;
}

SecretBytes SecretBytes::CopyOf(ByteSpan data) {
  SecretBytes s(data.size());
  if (!data.empty()) std::memcpy(s.data_, data.data(), data.size());
  return s;
}

SecretBytes SecretBytes::Clone() const { return CopyOf(span()); }

// --- helpers ---

bool ConstantTimeEqual(ByteSpan a, ByteSpan b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

void Wipe(std::span<uint8_t> data) {
  if (!data.empty()) sodium_memzero(data.data(), data.size());
}

void Wipe(std::string& s) {
  if (!s.empty()) sodium_memzero(s.data(), s.size());
  s.clear();
}

void RandomBytes(std::span<uint8_t> out) {
  if (!out.empty()) randombytes_buf(out.data(), out.size());
}

Bytes RandomBytes(size_t size) {
  Bytes b(size);
  RandomBytes(std::span<uint8_t>(b));
  return b;
}

uint64_t RandomUint64() {
  uint64_t v = 0;
  randombytes_buf(&v, sizeof v);
  return v;
}

// --- SHA-256 / HMAC / HKDF ---

Bytes Sha256(ByteSpan data) {
  Bytes out(crypto_hash_sha256_BYTES);
  crypto_hash_sha256(out.data(), data.data(), data.size());
  return out;
}

static_assert(sizeof(crypto_hash_sha256_state) <= 128, "state buffer too small");

Sha256Hasher::Sha256Hasher() {
  crypto_hash_sha256_init(reinterpret_cast<crypto_hash_sha256_state*>(state_));
}

void Sha256Hasher::Update(ByteSpan data) {
  crypto_hash_sha256_update(reinterpret_cast<crypto_hash_sha256_state*>(state_),
                            data.data(), data.size());
}

Bytes Sha256Hasher::Finish() {
  Bytes out(crypto_hash_sha256_BYTES);
  crypto_hash_sha256_final(reinterpret_cast<crypto_hash_sha256_state*>(state_),
                           out.data());
  sodium_memzero(state_, sizeof state_);
  return out;
}

SecretBytes HmacSha256(ByteSpan key, ByteSpan data) {
  // crypto_auth_hmacsha256_init accepts keys of any length (hashing long
  // ones first, as RFC 2104 requires).
  crypto_auth_hmacsha256_state st;
  crypto_auth_hmacsha256_init(&st, key.data(), key.size());
  crypto_auth_hmacsha256_update(&st, data.data(), data.size());
  SecretBytes out(crypto_auth_hmacsha256_BYTES);
  crypto_auth_hmacsha256_final(&st, out.data());
  sodium_memzero(&st, sizeof st);
  return out;
}

SecretBytes HkdfExtract(ByteSpan salt, ByteSpan ikm) {
  // RFC 5869 2.2: an absent salt is HashLen zero bytes.
  static const uint8_t kZeroSalt[crypto_auth_hmacsha256_BYTES] = {0};
  if (salt.empty()) salt = ByteSpan(kZeroSalt, sizeof kZeroSalt);
  return HmacSha256(salt, ikm);
}

StatusOr<SecretBytes> HkdfExpand(ByteSpan prk, ByteSpan info, size_t out_len) {
  constexpr size_t kHashLen = crypto_auth_hmacsha256_BYTES;
  if (out_len == 0 || out_len > 255 * kHashLen) {
    return Status::InvalidArgument("HKDF output length out of range");
  }
  if (prk.size() < kHashLen) return Status::InvalidArgument("HKDF PRK too short");
  SecretBytes out(out_len);
  uint8_t t[kHashLen];
  size_t t_len = 0;
  size_t done = 0;
  for (uint8_t counter = 1; done < out_len; ++counter) {
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, prk.data(), prk.size());
    crypto_auth_hmacsha256_update(&st, t, t_len);
    crypto_auth_hmacsha256_update(&st, info.data(), info.size());
    crypto_auth_hmacsha256_update(&st, &counter, 1);
    crypto_auth_hmacsha256_final(&st, t);
    sodium_memzero(&st, sizeof st);
    t_len = kHashLen;
    size_t n = std::min(kHashLen, out_len - done);
    std::memcpy(out.data() + done, t, n);
    done += n;
  }
  sodium_memzero(t, sizeof t);
  return out;
}

StatusOr<SecretBytes> Hkdf(ByteSpan salt, ByteSpan ikm, ByteSpan info,
                           size_t out_len) {
  SecretBytes prk = HkdfExtract(salt, ikm);
  return HkdfExpand(prk.span(), info, out_len);
}

// --- Ed25519 ---

SigningKeyPair GenerateSigningKeyPair() {
  SigningKeyPair kp{Bytes(crypto_sign_PUBLICKEYBYTES),
                    SecretBytes(crypto_sign_SECRETKEYBYTES)};
  crypto_sign_keypair(kp.public_key.data(), kp.secret_key.data());
  return kp;
}

StatusOr<SigningKeyPair> SigningKeyPairFromSeed(ByteSpan seed) {
  if (seed.size() != crypto_sign_SEEDBYTES) {
    return Status::InvalidArgument("Ed25519 seed must be 32 bytes");
  }
  SigningKeyPair kp{Bytes(crypto_sign_PUBLICKEYBYTES),
                    SecretBytes(crypto_sign_SECRETKEYBYTES)};
  crypto_sign_seed_keypair(kp.public_key.data(), kp.secret_key.data(), seed.data());
  return kp;
}

StatusOr<SigningKeyPair> SigningKeyPairFromSecret(const SecretBytes& secret_key) {
  if (secret_key.size() != crypto_sign_SECRETKEYBYTES) {
    return Status::InvalidArgument("Ed25519 secret key must be 64 bytes");
  }
  // libsodium's secret key is seed || public key, and signing hashes the
  // stored public half. Re-derive it from the seed: a corrupted or mismatched
  // key would otherwise sign with the wrong public key (and signing one seed
  // under two public keys can leak the private scalar).
  SigningKeyPair kp{Bytes(crypto_sign_PUBLICKEYBYTES), SecretBytes(crypto_sign_SECRETKEYBYTES)};
  crypto_sign_seed_keypair(kp.public_key.data(), kp.secret_key.data(), secret_key.data());
  if (sodium_memcmp(kp.secret_key.data(), secret_key.data(), crypto_sign_SECRETKEYBYTES) != 0) {
    return Status::InvalidArgument("Ed25519 secret key does not match its public key");
  }
  return kp;
}

StatusOr<Bytes> Sign(const SecretBytes& secret_key, ByteSpan message) {
  if (secret_key.size() != crypto_sign_SECRETKEYBYTES) {
    return Status::InvalidArgument("Ed25519 secret key must be 64 bytes");
  }
  Bytes sig(crypto_sign_BYTES);
  if (crypto_sign_detached(sig.data(), nullptr, message.data(), message.size(),
                           secret_key.data()) != 0) {
    return Status::Internal("signing failed");
  }
  return sig;
}

Status Verify(ByteSpan public_key, ByteSpan message, ByteSpan signature) {
  if (public_key.size() != crypto_sign_PUBLICKEYBYTES) {
    return Status::InvalidArgument("Ed25519 public key must be 32 bytes");
  }
  if (signature.size() != crypto_sign_BYTES) {
    return Status::InvalidArgument("Ed25519 signature must be 64 bytes");
  }
  if (crypto_sign_verify_detached(signature.data(), message.data(), message.size(),
                                  public_key.data()) != 0) {
    return Status::Unauthenticated("bad signature");
  }
  return Status::Ok();
}

// --- X25519 ---

DhKeyPair GenerateDhKeyPair() {
  DhKeyPair kp{Bytes(crypto_scalarmult_BYTES),
               SecretBytes::Random(crypto_scalarmult_SCALARBYTES)};
  crypto_scalarmult_base(kp.public_key.data(), kp.secret_key.data());
  return kp;
}

StatusOr<Bytes> DhPublicFromSecret(const SecretBytes& secret_key) {
  if (secret_key.size() != crypto_scalarmult_SCALARBYTES) {
    return Status::InvalidArgument("X25519 secret key must be 32 bytes");
  }
  Bytes pk(crypto_scalarmult_BYTES);
  if (crypto_scalarmult_base(pk.data(), secret_key.data()) != 0) {
    return Status::InvalidArgument("X25519 secret key is invalid");
  }
  return pk;
}

StatusOr<SecretBytes> X25519(const SecretBytes& secret_key, ByteSpan peer_public) {
  if (secret_key.size() != crypto_scalarmult_SCALARBYTES ||
      peer_public.size() != crypto_scalarmult_BYTES) {
    return Status::InvalidArgument("X25519 keys must be 32 bytes");
  }
  SecretBytes out(crypto_scalarmult_BYTES);
  // libsodium returns -1 when the result is all zero (low-order point).
  if (crypto_scalarmult(out.data(), secret_key.data(), peer_public.data()) != 0) {
    return Status::InvalidArgument("X25519 peer key is of low order");
  }
  return out;
}

StatusOr<Bytes> X25519Raw(ByteSpan scalar, ByteSpan point) {
  SecretBytes sk = SecretBytes::CopyOf(scalar);
  VIGIL_ASSIGN_OR_RETURN(SecretBytes shared, X25519(sk, point));
  return Bytes(shared.span().begin(), shared.span().end());
}

// --- AEAD ---

StatusOr<Bytes> AeadSealRaw(ByteSpan key, ByteSpan nonce, ByteSpan aad,
                            ByteSpan plaintext) {
  if (key.size() != crypto_aead_xchacha20poly1305_ietf_KEYBYTES) {
    return Status::InvalidArgument("AEAD key must be 32 bytes");
  }
  if (nonce.size() != crypto_aead_xchacha20poly1305_ietf_NPUBBYTES) {
    return Status::InvalidArgument("AEAD nonce must be 24 bytes");
  }
  Bytes out(plaintext.size() + crypto_aead_xchacha20poly1305_ietf_ABYTES);
  unsigned long long out_len = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(
      out.data(), &out_len, plaintext.data(), plaintext.size(), aad.data(),
      aad.size(), nullptr, nonce.data(), key.data());
  out.resize(out_len);
  return out;
}

StatusOr<Bytes> AeadOpenRaw(ByteSpan key, ByteSpan nonce, ByteSpan aad,
                            ByteSpan ciphertext) {
  SecretBytes k = SecretBytes::CopyOf(key);
  VIGIL_ASSIGN_OR_RETURN(SecretBytes pt, AeadOpen(k, nonce, aad, ciphertext));
  return Bytes(pt.span().begin(), pt.span().end());
}

StatusOr<Bytes> AeadSeal(const SecretBytes& key, ByteSpan nonce, ByteSpan aad,
                         ByteSpan plaintext) {
  return AeadSealRaw(key.span(), nonce, aad, plaintext);
}

StatusOr<SecretBytes> AeadOpen(const SecretBytes& key, ByteSpan nonce,
                               ByteSpan aad, ByteSpan ciphertext) {
  if (key.size() != crypto_aead_xchacha20poly1305_ietf_KEYBYTES) {
    return Status::InvalidArgument("AEAD key must be 32 bytes");
  }
  if (nonce.size() != crypto_aead_xchacha20poly1305_ietf_NPUBBYTES) {
    return Status::InvalidArgument("AEAD nonce must be 24 bytes");
  }
  if (ciphertext.size() < crypto_aead_xchacha20poly1305_ietf_ABYTES) {
    return Status::Unauthenticated("decryption failed");
  }
  SecretBytes out(ciphertext.size() - crypto_aead_xchacha20poly1305_ietf_ABYTES);
  unsigned long long out_len = 0;
  // A zero-length SecretBytes has no buffer; give libsodium a valid pointer.
  uint8_t dummy = 0;
  uint8_t* dst = out.empty() ? &dummy : out.data();
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(
          dst, &out_len, nullptr, ciphertext.data(), ciphertext.size(),
          aad.data(), aad.size(), nonce.data(), key.data()) != 0) {
    return Status::Unauthenticated("decryption failed");
  }
  return out;
}

// --- secretstream ---

static_assert(sizeof(crypto_secretstream_xchacha20poly1305_state) == 52, "state size");

StatusOr<StreamEncryptor> StreamEncryptor::Start(const SecretBytes& key, Bytes* header) {
  if (key.size() != crypto_secretstream_xchacha20poly1305_KEYBYTES) {
    return Status::InvalidArgument("stream key must be 32 bytes");
  }
  StreamEncryptor e;
  header->resize(crypto_secretstream_xchacha20poly1305_HEADERBYTES);
  crypto_secretstream_xchacha20poly1305_init_push(
      reinterpret_cast<crypto_secretstream_xchacha20poly1305_state*>(e.state_.data()),
      header->data(), key.data());
  return e;
}

StatusOr<Bytes> StreamEncryptor::Push(ByteSpan chunk, bool final) {
  Bytes out(chunk.size() + crypto_secretstream_xchacha20poly1305_ABYTES);
  unsigned long long out_len = 0;
  crypto_secretstream_xchacha20poly1305_push(
      reinterpret_cast<crypto_secretstream_xchacha20poly1305_state*>(state_.data()), out.data(),
      &out_len, chunk.data(), chunk.size(), nullptr, 0,
      final ? crypto_secretstream_xchacha20poly1305_TAG_FINAL : 0);
  out.resize(out_len);
  return out;
}

StatusOr<StreamDecryptor> StreamDecryptor::Start(const SecretBytes& key, ByteSpan header) {
  if (key.size() != crypto_secretstream_xchacha20poly1305_KEYBYTES ||
      header.size() != crypto_secretstream_xchacha20poly1305_HEADERBYTES) {
    return Status::InvalidArgument("stream key or header has the wrong size");
  }
  StreamDecryptor d;
  if (crypto_secretstream_xchacha20poly1305_init_pull(
          reinterpret_cast<crypto_secretstream_xchacha20poly1305_state*>(d.state_.data()),
          header.data(), key.data()) != 0) {
    return Status::Unauthenticated("stream header is invalid");
  }
  return d;
}

StatusOr<SecretBytes> StreamDecryptor::Pull(ByteSpan chunk, bool* final) {
  if (done_) return Status::Unauthenticated("data after the end of the stream");
  if (chunk.size() < crypto_secretstream_xchacha20poly1305_ABYTES) {
    return Status::Unauthenticated("stream chunk is truncated");
  }
  SecretBytes out(chunk.size() - crypto_secretstream_xchacha20poly1305_ABYTES);
  uint8_t dummy = 0;
  unsigned long long out_len = 0;
  unsigned char tag = 0;
  if (crypto_secretstream_xchacha20poly1305_pull(
          reinterpret_cast<crypto_secretstream_xchacha20poly1305_state*>(state_.data()),
          out.empty() ? &dummy : out.data(), &out_len, &tag, chunk.data(), chunk.size(), nullptr,
          0) != 0) {
    return Status::Unauthenticated("stream chunk failed authentication");
  }
  *final = tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL;
  if (*final) done_ = true;
  return out;
}

// --- Argon2id ---

Argon2Params DefaultArgon2Params() {
  return {crypto_pwhash_argon2id_OPSLIMIT_INTERACTIVE,
          crypto_pwhash_argon2id_MEMLIMIT_INTERACTIVE};
}

StatusOr<SecretBytes> Argon2id(ByteSpan passphrase, ByteSpan salt,
                               const Argon2Params& params, size_t out_len) {
  if (salt.size() != crypto_pwhash_argon2id_SALTBYTES) {
    return Status::InvalidArgument("Argon2id salt must be 16 bytes");
  }
  if (params.opslimit < crypto_pwhash_argon2id_OPSLIMIT_MIN ||
      params.opslimit > crypto_pwhash_argon2id_OPSLIMIT_MAX ||
      params.memlimit < crypto_pwhash_argon2id_MEMLIMIT_MIN ||
      params.memlimit > crypto_pwhash_argon2id_MEMLIMIT_MAX ||
      out_len < crypto_pwhash_argon2id_BYTES_MIN) {
    return Status::InvalidArgument("Argon2id parameters out of range");
  }
  SecretBytes out(out_len);
  if (crypto_pwhash_argon2id(out.data(), out_len,
                             reinterpret_cast<const char*>(passphrase.data()),
                             passphrase.size(), salt.data(), params.opslimit,
                             params.memlimit, crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return Status::ResourceExhausted("Argon2id failed (out of memory?)");
  }
  return out;
}

// --- Fingerprints ---

std::string Fingerprint(std::string_view label, ByteSpan public_key) {
  crypto_hash_sha256_state st;
  crypto_hash_sha256_init(&st);
  crypto_hash_sha256_update(&st, reinterpret_cast<const uint8_t*>(label.data()),
                            label.size());
  uint8_t zero = 0;
  crypto_hash_sha256_update(&st, &zero, 1);
  crypto_hash_sha256_update(&st, public_key.data(), public_key.size());
  uint8_t digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256_final(&st, digest);
  // 6 groups of 5 digits; each group from 5 bytes (40 bits) mod 100000, as
  // Signal's safety numbers do.
  std::string out;
  for (int g = 0; g < 6; ++g) {
    uint64_t v = 0;
    for (int i = 0; i < 5; ++i) v = (v << 8) | digest[g * 5 + i];
    char buf[8];
    std::snprintf(buf, sizeof buf, "%05u", static_cast<unsigned>(v % 100000));
    if (g > 0) out += ' ';
    out += buf;
  }
  return out;
}

}  // namespace vigil::crypto
