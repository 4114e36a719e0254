#include "client/app/uploads.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include "vigil/bytes.h"

namespace vigil::app {
namespace {

constexpr size_t kSealed = Uploads::kChunk + crypto_secretstream_xchacha20poly1305_ABYTES;

}  // namespace

StatusOr<std::unique_ptr<Uploads::Writer>> Uploads::Begin(const std::string& name, size_t limit) {
  (void)limit;
  if (name.empty() || name.size() > 200 || name.find('/') != std::string::npos ||
      name.find('\0') != std::string::npos || name == "." || name == "..") {
    return Status::InvalidArgument("an attachment name has 1 to 200 characters and no '/'");
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (open_ + done_.size() >= kMaxUploads) {
      return Status::ResourceExhausted("too many attachments waiting to be used; save the note first");
    }
    ++open_;
  }
  std::unique_ptr<Writer> w(new Writer());
  w->owner_ = this;
  w->info_.name = name;
  w->info_.id = HexEncode(crypto::RandomBytes(16));
  mkdir(dir_.c_str(), 0700);
  w->path_ = dir_ + "/" + w->info_.id;
  w->file_ = std::fopen(w->path_.c_str(), "wbx");
  if (!w->file_) return Status::Internal("cannot write an upload file in " + dir_);
  w->key_ = crypto::SecretBytes(crypto_secretstream_xchacha20poly1305_KEYBYTES);
  crypto_secretstream_xchacha20poly1305_keygen(w->key_.data());
  crypto_secretstream_xchacha20poly1305_init_push(&w->state_, w->header_, w->key_.data());
  crypto_hash_sha256_init(&w->hash_);
  return w;
}

Uploads::Writer::~Writer() {
  if (file_) std::fclose(file_);
  if (!path_.empty()) unlink(path_.c_str());
  sodium_memzero(&state_, sizeof state_);
  if (!pending_.empty()) sodium_memzero(pending_.data(), pending_.size());
  if (!owner_) return;
  std::lock_guard<std::mutex> lock(owner_->mu_);
  --owner_->open_;
}

Status Uploads::Writer::Seal(const unsigned char* data, size_t n, bool last) {
  unsigned char out[kSealed];
  unsigned long long out_len = 0;
  crypto_secretstream_xchacha20poly1305_push(&state_, out, &out_len, data, n, nullptr, 0,
                                             last ? crypto_secretstream_xchacha20poly1305_TAG_FINAL : 0);
  ++chunks_;
  if (std::fwrite(out, 1, out_len, file_) != out_len) {
    failed_ = true;
    return Status::ResourceExhausted("cannot write the upload (disk full?)");
  }
  return Status::Ok();
}

Status Uploads::Writer::Append(const char* data, size_t n) {
  if (failed_) return Status::Internal("the upload failed");
  if (info_.size + n > client::kMaxAttachmentSize) {
    failed_ = true;
    return Status::ResourceExhausted("an attachment is at most 25 MB");
  }
  info_.size += n;
  crypto_hash_sha256_update(&hash_, reinterpret_cast<const unsigned char*>(data), n);
  pending_.append(data, n);
  size_t off = 0;
  while (pending_.size() - off >= kChunk) {
    Status s = Seal(reinterpret_cast<const unsigned char*>(pending_.data() + off), kChunk, false);
    if (!s.ok()) return s;
    off += kChunk;
  }
  if (off > 0) {
    sodium_memzero(pending_.data(), off);
    pending_.erase(0, off);
  }
  return Status::Ok();
}

StatusOr<UploadInfo> Uploads::Writer::Finish() {
  if (failed_) return Status::Internal("the upload failed");
  Status s = Seal(reinterpret_cast<const unsigned char*>(pending_.data()), pending_.size(), true);
  sodium_memzero(pending_.data(), pending_.size());
  pending_.clear();
  if (!s.ok()) return s;
  if (std::fflush(file_) != 0 || std::fclose(file_) != 0) {
    file_ = nullptr;
    return Status::ResourceExhausted("cannot write the upload (disk full?)");
  }
  file_ = nullptr;
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256_final(&hash_, digest);
  info_.sha256 = HexEncode(ByteSpan(digest, sizeof digest));
  Entry e;
  e.info = info_;
  e.path = path_;
  e.key = std::move(key_);
  std::memcpy(e.header, header_, sizeof header_);
  e.chunks = chunks_;
  {
    std::lock_guard<std::mutex> lock(owner_->mu_);
    owner_->done_.emplace(info_.id, std::move(e));
  }
  path_.clear();  // owned by the table now
  return info_;
}

StatusOr<client::AttachmentInput> Uploads::Take(const std::string& id) {
  Entry e;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = done_.find(id);
    if (it == done_.end()) return Status::NotFound("upload " + id.substr(0, 16) + " is unknown (or was used already)");
    e = std::move(it->second);
    done_.erase(it);
  }
  client::AttachmentInput out;
  out.name = e.info.name;
  FILE* f = std::fopen(e.path.c_str(), "rb");
  if (!f) {
    unlink(e.path.c_str());
    return Status::NotFound("upload " + id.substr(0, 16) + " is gone");
  }
  crypto_secretstream_xchacha20poly1305_state st;
  Status result = Status::Ok();
  if (crypto_secretstream_xchacha20poly1305_init_pull(&st, e.header, e.key.data()) != 0) {
    result = Status::DataLoss("an upload file is damaged");
  }
  out.data.reserve(e.info.size);
  std::vector<unsigned char> in(kSealed);
  std::vector<unsigned char> plain(Uploads::kChunk);
  bool final_seen = false;
  for (uint64_t i = 0; result.ok() && i < e.chunks; ++i) {
    size_t want = i + 1 < e.chunks ? kSealed : std::min(kSealed, static_cast<size_t>(
        e.info.size - (e.chunks - 1) * kChunk + crypto_secretstream_xchacha20poly1305_ABYTES));
    if (std::fread(in.data(), 1, want, f) != want) {
      result = Status::DataLoss("an upload file is damaged");
      break;
    }
    unsigned long long n = 0;
    unsigned char tag = 0;
    if (crypto_secretstream_xchacha20poly1305_pull(&st, plain.data(), &n, &tag, in.data(), want, nullptr, 0) != 0) {
      result = Status::DataLoss("an upload file is damaged");
      break;
    }
    out.data.insert(out.data.end(), plain.begin(), plain.begin() + static_cast<long>(n));
    final_seen = tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL;
  }
  std::fclose(f);
  unlink(e.path.c_str());
  sodium_memzero(plain.data(), plain.size());
  sodium_memzero(&st, sizeof st);
  if (result.ok() && (!final_seen || out.data.size() != e.info.size)) result = Status::DataLoss("an upload file is damaged");
  if (!result.ok()) {
    crypto::Wipe(std::span<uint8_t>(out.data));
    return result;
  }
  return out;
}

void Uploads::Clear() {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [id, e] : done_) unlink(e.path.c_str());
  done_.clear();
}

}  // namespace vigil::app
