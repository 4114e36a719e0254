// The store key header (<name>.key): the random 32-byte SQLCipher key of a
// store, wrapped under Argon2id(passphrase). Fixed 106-byte layout:
//
//   offset size  field
//   0      8     magic "VIGILKEY"
//   8      1     format version = 1
//   9      1     KDF id = 1 (Argon2id v1.3)
//   10     4     opslimit, big-endian
//   14     4     memlimit in KiB, big-endian
//   18     16    salt
//   34     24    nonce
//   58     48    XChaCha20-Poly1305(key = Argon2id(passphrase, salt, ops, mem, 32),
//                nonce, aad = bytes 0..57, plaintext = store key) (32 + 16 tag)
//
// Written atomically (temporary file, fsync, rename, fsync of the directory)
// with mode 0600.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "vigil/storage.h"

namespace vigil::storage {
namespace {

constexpr char kMagic[8] = {'V', 'I', 'G', 'I', 'L', 'K', 'E', 'Y'};
constexpr uint8_t kVersion = 1;
constexpr uint8_t kKdfArgon2id13 = 1;
constexpr size_t kAadSize = 58;
constexpr size_t kHeaderSize = kAadSize + kStoreKeySize + crypto::kAeadTagSize;
constexpr uint64_t kMaxOpslimit = 20;
constexpr uint64_t kMaxMemlimitKiB = 4ull * 1024 * 1024;  // 4 GiB

void PutU32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}

uint32_t GetU32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

Status WrongPassphrase() { return Status::Unauthenticated(std::string(kWrongPassphrase)); }

std::string DirOf(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

Status WriteAll(int fd, const uint8_t* data, size_t len) {
  while (len > 0) {
    ssize_t n = write(fd, data, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == ENOSPC) return Status::ResourceExhausted("disk full");
      return Status::Internal(std::string("write failed: ") + strerror(errno));
    }
    data += n;
    len -= static_cast<size_t>(n);
  }
  return Status::Ok();
}

// Writes `data` to `path` atomically: path.tmp, fsync, rename, fsync dir.
Status AtomicWrite(const std::string& path, ByteSpan data, bool allow_replace) {
  struct stat sb;
  if (!allow_replace && stat(path.c_str(), &sb) == 0) {
    return Status::AlreadyExists(path + " already exists");
  }
  std::string tmp = path + ".tmp";
  unlink(tmp.c_str());  // a stale temporary from a crash
  int fd = open(tmp.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
  if (fd < 0) return Status::Internal("cannot create " + tmp + ": " + strerror(errno));
  Status s = WriteAll(fd, data.data(), data.size());
  if (s.ok() && fsync(fd) != 0) s = Status::DataLoss("fsync failed for " + tmp);
  close(fd);
  if (s.ok() && rename(tmp.c_str(), path.c_str()) != 0) {
    s = Status::Internal("cannot rename " + tmp + ": " + strerror(errno));
  }
  if (!s.ok()) {
    unlink(tmp.c_str());
    return s;
  }
  int dfd = open(DirOf(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    fsync(dfd);
    close(dfd);
  }
  return Status::Ok();
}

StatusOr<Bytes> ReadHeaderFile(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return Status::NotFound("no store key header at " + path);
    return Status::Internal("cannot read " + path + ": " + strerror(errno));
  }
  Bytes buf(kHeaderSize + 1);
  size_t got = 0;
  while (got < buf.size()) {
    ssize_t n = read(fd, buf.data() + got, buf.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  close(fd);
  buf.resize(got);
  return buf;
}

StatusOr<Bytes> Wrap(const crypto::SecretBytes& store_key, ByteSpan passphrase,
                     const crypto::Argon2Params& params) {
  if (params.opslimit > kMaxOpslimit || params.memlimit / 1024 > kMaxMemlimitKiB) {
    return Status::InvalidArgument("Argon2id parameters out of range");
  }
  Bytes h(kHeaderSize);
  std::memcpy(h.data(), kMagic, 8);
  h[8] = kVersion;
  h[9] = kKdfArgon2id13;
  PutU32(&h[10], static_cast<uint32_t>(params.opslimit));
  PutU32(&h[14], static_cast<uint32_t>(params.memlimit / 1024));
  crypto::RandomBytes(std::span<uint8_t>(&h[18], crypto::kArgon2SaltSize));
  crypto::RandomBytes(std::span<uint8_t>(&h[34], crypto::kAeadNonceSize));
  crypto::Argon2Params stored{GetU32(&h[10]), uint64_t{GetU32(&h[14])} * 1024};
  VIGIL_ASSIGN_OR_RETURN(crypto::SecretBytes kek,
                         crypto::Argon2id(passphrase, ByteSpan(&h[18], 16), stored, kStoreKeySize));
  VIGIL_ASSIGN_OR_RETURN(Bytes ct, crypto::AeadSeal(kek, ByteSpan(&h[34], 24),
                                                    ByteSpan(h.data(), kAadSize), store_key.span()));
  std::memcpy(&h[kAadSize], ct.data(), ct.size());
  return h;
}

StatusOr<crypto::SecretBytes> Unwrap(const Bytes& h, ByteSpan passphrase) {
  if (h.size() < 10 || std::memcmp(h.data(), kMagic, 8) != 0) return WrongPassphrase();
  if (h[8] != kVersion) {
    return Status::Unimplemented("store header version " + std::to_string(h[8]) +
                                 " is not supported; upgrade Vigil");
  }
  if (h.size() != kHeaderSize || h[9] != kKdfArgon2id13) return WrongPassphrase();
  uint64_t ops = GetU32(&h[10]);
  uint64_t mem_kib = GetU32(&h[14]);
  if (ops < 1 || ops > kMaxOpslimit || mem_kib < 8 || mem_kib > kMaxMemlimitKiB) {
    return Status::DataLoss("store header has implausible key-derivation parameters");
  }
  crypto::Argon2Params params{ops, mem_kib * 1024};
  VIGIL_ASSIGN_OR_RETURN(crypto::SecretBytes kek,
                         crypto::Argon2id(passphrase, ByteSpan(&h[18], 16), params, kStoreKeySize));
  auto key = crypto::AeadOpen(kek, ByteSpan(&h[34], 24), ByteSpan(h.data(), kAadSize),
                              ByteSpan(&h[kAadSize], kStoreKeySize + crypto::kAeadTagSize));
  if (!key.ok()) return WrongPassphrase();
  return std::move(key).value();
}

}  // namespace

StatusOr<crypto::SecretBytes> CreateKeyHeader(const std::string& header_path, ByteSpan passphrase) {
  return CreateKeyHeader(header_path, passphrase, crypto::DefaultArgon2Params());
}

StatusOr<crypto::SecretBytes> CreateKeyHeader(const std::string& header_path, ByteSpan passphrase,
                                              const crypto::Argon2Params& params) {
  crypto::SecretBytes key = crypto::SecretBytes::Random(kStoreKeySize);
  VIGIL_ASSIGN_OR_RETURN(Bytes header, Wrap(key, passphrase, params));
  VIGIL_RETURN_IF_ERROR(AtomicWrite(header_path, header, /*allow_replace=*/false));
  return key;
}

StatusOr<crypto::SecretBytes> UnlockKeyHeader(const std::string& header_path, ByteSpan passphrase) {
  VIGIL_ASSIGN_OR_RETURN(Bytes h, ReadHeaderFile(header_path));
  return Unwrap(h, passphrase);
}

Status RewrapKeyHeader(const std::string& header_path, ByteSpan old_passphrase,
                       ByteSpan new_passphrase) {
  VIGIL_ASSIGN_OR_RETURN(Bytes h, ReadHeaderFile(header_path));
  VIGIL_ASSIGN_OR_RETURN(crypto::SecretBytes key, Unwrap(h, old_passphrase));
  crypto::Argon2Params params{GetU32(&h[10]), uint64_t{GetU32(&h[14])} * 1024};
  VIGIL_ASSIGN_OR_RETURN(Bytes fresh, Wrap(key, new_passphrase, params));
  return AtomicWrite(header_path, fresh, /*allow_replace=*/true);
}

StatusOr<Db> OpenStore(const std::string& dir, std::string_view name, ByteSpan passphrase) {
  std::string base = dir + "/" + std::string(name);
  VIGIL_ASSIGN_OR_RETURN(crypto::SecretBytes key, UnlockKeyHeader(base + ".key", passphrase));
  return Db::Open(base + ".db", key, /*must_exist=*/true);
}

StatusOr<Db> CreateStore(const std::string& dir, std::string_view name, ByteSpan passphrase) {
  struct stat sb;
  if (stat(dir.c_str(), &sb) != 0) {
    if (mkdir(dir.c_str(), 0700) != 0) return Status::Internal("cannot create directory " + dir);
  }
  std::string base = dir + "/" + std::string(name);
  if (stat((base + ".db").c_str(), &sb) == 0 || stat((base + ".key").c_str(), &sb) == 0) {
    return Status::AlreadyExists("a store already exists at " + base);
  }
  VIGIL_ASSIGN_OR_RETURN(crypto::SecretBytes key, CreateKeyHeader(base + ".key", passphrase));
  return Db::Open(base + ".db", key, /*must_exist=*/false);
}

}  // namespace vigil::storage
