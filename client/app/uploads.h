// Attachment uploads of the app (POST /api/uploads): each body is streamed
// to a file under <home>/app-uploads/, encrypted as it arrives
// (crypto_secretstream, XChaCha20-Poly1305) under a random key that lives
// only in this object's memory, so no attachment plaintext reaches the disk
// outside the SQLCipher store. A note or amendment Take()s an upload once;
// Clear() (lock, exit) deletes every file and forgets every key.
//
// Thread safety: every method may be called from any thread (one mutex
// guards the table; a Writer is used by the one thread that streams it).
#ifndef VIGIL_CLIENT_APP_UPLOADS_H_
#define VIGIL_CLIENT_APP_UPLOADS_H_

#include <sodium.h>

#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "client/lib/client.h"
#include "vigil/crypto.h"
#include "vigil/status.h"

namespace vigil::app {

struct UploadInfo {
  std::string id;  // 32 hex
  std::string name;
  uint64_t size = 0;
  std::string sha256;  // hex of the plaintext
};

class Uploads {
 public:
  explicit Uploads(std::string dir) : dir_(std::move(dir)) {}
  ~Uploads() { Clear(); }
  Uploads(const Uploads&) = delete;
  Uploads& operator=(const Uploads&) = delete;

  // Streams one upload. Append() the body's pieces, then Finish().
  class Writer {
   public:
    ~Writer();  // unfinished: the file is deleted
    Status Append(const char* data, size_t n);
    StatusOr<UploadInfo> Finish();

   private:
    friend class Uploads;
    Writer() = default;
    Uploads* owner_ = nullptr;
    UploadInfo info_;
    std::string path_;
    FILE* file_ = nullptr;
    crypto::SecretBytes key_;
    crypto_secretstream_xchacha20poly1305_state state_;
    crypto_hash_sha256_state hash_;
    unsigned char header_[crypto_secretstream_xchacha20poly1305_HEADERBYTES];
    uint64_t chunks_ = 0;
    std::string pending_;           // plaintext not yet sealed (< one chunk)
    bool failed_ = false;
    Status Seal(const unsigned char* data, size_t n, bool last);
  };
  // `name`: shown to readers; no '/' or NUL, 1..200 bytes. At most
  // kMaxUploads unfinished and unused uploads at a time.
  StatusOr<std::unique_ptr<Writer>> Begin(const std::string& name, size_t limit);
  // The upload's plaintext, once; the file is deleted. NotFound otherwise.
  StatusOr<client::AttachmentInput> Take(const std::string& id);
  // Deletes every upload.
  void Clear();

  static constexpr size_t kMaxUploads = 32;
  static constexpr size_t kChunk = 64 * 1024;

 private:
  struct Entry {
    UploadInfo info;
    std::string path;
    crypto::SecretBytes key;
    unsigned char header[crypto_secretstream_xchacha20poly1305_HEADERBYTES];
    uint64_t chunks = 0;
  };
  std::string dir_;
  std::mutex mu_;
  std::map<std::string, Entry> done_;  // guarded by mu_
  size_t open_ = 0;                    // Writers alive; guarded by mu_
};

}  // namespace vigil::app

#endif  // VIGIL_CLIENT_APP_UPLOADS_H_
