// The store key header (<name>.key) and the store-level open/create calls.
// Contract: core/include/vigil/storage.h; format also in docs/STORE_HEADER.md.
//
// The header holds a store's random 32-byte SQLCipher key wrapped under
// Argon2id(passphrase). Fixed size, 106 bytes, all integers big-endian:
//
//   offset  size  field
//   0       8     magic "VIGILKEY" (ASCII, no terminator)
//   8       1     format version = 1
//   9       1     KDF id = 1 (Argon2id, version 1.3)
//   10      4     Argon2id opslimit (u32)
//   14      4     Argon2id memlimit in KiB (u32)
//   18      16    salt
//   34      24    nonce
//   58      48    XChaCha20-Poly1305-IETF(
//                   key       = Argon2id(passphrase, salt, opslimit,
//                                        memlimit KiB * 1024, 32 bytes),
//                   nonce     = bytes 34..57,
//                   aad       = bytes 0..57 (everything before this field),
//                   plaintext = the 32-byte store key)
//                 = 32 bytes of ciphertext || 16-byte tag
//
// Parsing is strict and happens in this order:
//   shorter than 9 bytes, or magic differs   -> Unauthenticated(kWrongPassphrase)
//   version != 1                             -> Unimplemented("store header
//                                               version N is not supported;
//                                               upgrade Vigil")
//   size != 106                              -> Unauthenticated(kWrongPassphrase)
//   KDF id != 1                              -> Unimplemented
//   opslimit outside [1, 20], memlimit
//   outside [8 KiB, 4 GiB]                   -> DataLoss
//   AEAD open fails                          -> Unauthenticated(kWrongPassphrase)
// A file that is not ours thus gets the same message as a wrong passphrase.
//
// Writes are atomic: <path>.tmp is created (O_CREAT|O_EXCL, mode 0600 set
// with fchmod, so umask-independent), written, fsync'd, renamed over <path>
// (without replacing, for a new header), then the directory is fsync'd.
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "vigil/storage.h"

namespace vigil::storage {
namespace {

constexpr uint8_t kMagic[8] = {'V', 'I', 'G', 'I', 'L', 'K', 'E', 'Y'};
constexpr uint8_t kVersion = 1;
constexpr uint8_t kKdfArgon2id13 = 1;

constexpr size_t kVersionOffset = 8;
constexpr size_t kKdfOffset = 9;
constexpr size_t kOpsOffset = 10;
constexpr size_t kMemOffset = 14;
constexpr size_t kSaltOffset = 18;
constexpr size_t kNonceOffset = kSaltOffset + crypto::kArgon2SaltSize;     // 34
constexpr size_t kWrappedOffset = kNonceOffset + crypto::kAeadNonceSize;  // 58
constexpr size_t kWrappedSize = kStoreKeySize + crypto::kAeadTagSize;     // 48
constexpr size_t kHeaderSize = kWrappedOffset + kWrappedSize;             // 106
static_assert(kHeaderSize == 106, "store header layout changed");

constexpr uint64_t kMinOpslimit = 1;
constexpr uint64_t kMaxOpslimit = 20;
constexpr uint64_t kMinMemlimitKiB = 8;                   // libsodium's minimum
constexpr uint64_t kMaxMemlimitKiB = 4ull * 1024 * 1024;  // 4 GiB

void PutU32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}

uint32_t GetU32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) |
         uint32_t{p[3]};
}

Status WrongPassphrase() { return Status::Unauthenticated(std::string(kWrongPassphrase)); }

bool ParamsInBounds(uint64_t ops, uint64_t mem_kib) {
  return ops >= kMinOpslimit && ops <= kMaxOpslimit && mem_kib >= kMinMemlimitKiB &&
         mem_kib <= kMaxMemlimitKiB;
}

std::string DirOf(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

Status ErrnoStatus(const std::string& what, int err) {
  if (err == ENOSPC || err == EDQUOT) return Status::ResourceExhausted("disk full");
  return Status::Internal(what + ": " + std::strerror(err));
}

Status WriteAll(int fd, const uint8_t* data, size_t len, const std::string& path) {
  while (len > 0) {
    ssize_t n = write(fd, data, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("cannot write " + path, errno);
    }
    data += n;
    len -= static_cast<size_t>(n);
  }
  return Status::Ok();
}

Status SyncDirectory(const std::string& dir) {
  int dfd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return ErrnoStatus("cannot open directory " + dir, errno);
  int rc = fsync(dfd);
  int err = errno;
  close(dfd);
  // Some file systems cannot sync a directory; the rename is done anyway.
  if (rc != 0 && err != EINVAL && err != ENOTSUP) {
    return ErrnoStatus("cannot sync directory " + dir, err);
  }
  return Status::Ok();
}

// Moves `tmp` to `path` without ever replacing an existing `path`.
Status RenameNoReplace(const std::string& tmp, const std::string& path) {
  if (renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, path.c_str(), RENAME_NOREPLACE) == 0) {
    return Status::Ok();
  }
  if (errno == EEXIST) return Status::AlreadyExists(path + " already exists");
  if (errno != EINVAL && errno != ENOSYS && errno != ENOTSUP) {
    return ErrnoStatus("cannot rename " + tmp, errno);
  }
  // No RENAME_NOREPLACE on this file system: link() refuses to replace too.
  if (link(tmp.c_str(), path.c_str()) != 0) {
    if (errno == EEXIST) return Status::AlreadyExists(path + " already exists");
    return ErrnoStatus("cannot link " + path, errno);
  }
  unlink(tmp.c_str());
  return Status::Ok();
}

// Writes `data` to `path` atomically (see the top of this file).
Status AtomicWrite(const std::string& path, ByteSpan data, bool replace) {
  struct stat sb;
  if (!replace && lstat(path.c_str(), &sb) == 0) {
    return Status::AlreadyExists(path + " already exists");
  }
  const std::string tmp = path + ".tmp";
  // A leftover from an interrupted write holds nothing we need: the header
  // it was meant to become is either in place or was never committed.
  unlink(tmp.c_str());
  int fd = open(tmp.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return ErrnoStatus("cannot create " + tmp, errno);
  Status s;
  if (fchmod(fd, 0600) != 0) s = ErrnoStatus("cannot set the mode of " + tmp, errno);
  if (s.ok()) s = WriteAll(fd, data.data(), data.size(), tmp);
  if (s.ok() && fsync(fd) != 0) s = ErrnoStatus("cannot sync " + tmp, errno);
  if (close(fd) != 0 && s.ok()) s = ErrnoStatus("cannot close " + tmp, errno);
  if (s.ok()) {
    if (replace) {
      if (rename(tmp.c_str(), path.c_str()) != 0) s = ErrnoStatus("cannot rename " + tmp, errno);
    } else {
      s = RenameNoReplace(tmp, path);
    }
  }
  if (!s.ok()) {
    unlink(tmp.c_str());
    return s;
  }
  return SyncDirectory(DirOf(path));
}

// Reads at most one byte more than a header, so an oversized file shows.
StatusOr<Bytes> ReadHeaderFile(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);  // no FIFO hang
  if (fd < 0) {
    if (errno == ENOENT) return Status::NotFound("no store key header at " + path);
    return ErrnoStatus("cannot open " + path, errno);
  }
  struct stat sb;
  if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
    close(fd);
    return WrongPassphrase();  // a directory, a device...: not ours
  }
  Bytes buf(kHeaderSize + 1);
  size_t got = 0;
  while (got < buf.size()) {
    ssize_t n = read(fd, buf.data() + got, buf.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      close(fd);
      return ErrnoStatus("cannot read " + path, err);
    }
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  close(fd);
  buf.resize(got);
  return buf;
}

StatusOr<crypto::SecretBytes> DeriveWrappingKey(ByteSpan passphrase, const uint8_t* header) {
  crypto::Argon2Params params{GetU32(header + kOpsOffset),
                              uint64_t{GetU32(header + kMemOffset)} * 1024};
  return crypto::Argon2id(passphrase, ByteSpan(header + kSaltOffset, crypto::kArgon2SaltSize),
                          params, crypto::kAeadKeySize);
}

StatusOr<Bytes> Wrap(const crypto::SecretBytes& store_key, ByteSpan passphrase,
                     const crypto::Argon2Params& params) {
  if (store_key.size() != kStoreKeySize) {
    return Status::InvalidArgument("store key must be 32 bytes");
  }
  // memlimit is stored in KiB (rounded down); the stored value is what counts.
  const uint64_t mem_kib = params.memlimit / 1024;
  if (!ParamsInBounds(params.opslimit, mem_kib)) {
    return Status::InvalidArgument(
        "Argon2id parameters out of range (opslimit 1..20, memlimit 8 KiB..4 GiB)");
  }
  Bytes h(kHeaderSize);
  std::memcpy(h.data(), kMagic, sizeof kMagic);
  h[kVersionOffset] = kVersion;
  h[kKdfOffset] = kKdfArgon2id13;
  PutU32(&h[kOpsOffset], static_cast<uint32_t>(params.opslimit));
  PutU32(&h[kMemOffset], static_cast<uint32_t>(mem_kib));
  crypto::RandomBytes(std::span<uint8_t>(&h[kSaltOffset], crypto::kArgon2SaltSize));
  crypto::RandomBytes(std::span<uint8_t>(&h[kNonceOffset], crypto::kAeadNonceSize));
  VIGIL_ASSIGN_OR_RETURN(crypto::SecretBytes kek, DeriveWrappingKey(passphrase, h.data()));
  VIGIL_ASSIGN_OR_RETURN(
      Bytes wrapped,
      crypto::AeadSeal(kek, ByteSpan(&h[kNonceOffset], crypto::kAeadNonceSize),
                       ByteSpan(h.data(), kWrappedOffset), store_key.span()));
  if (wrapped.size() != kWrappedSize) return Status::Internal("unexpected wrapped key size");
  std::memcpy(&h[kWrappedOffset], wrapped.data(), kWrappedSize);
  return h;
}

StatusOr<crypto::SecretBytes> Unwrap(const Bytes& h, ByteSpan passphrase) {
  if (h.size() <= kVersionOffset || std::memcmp(h.data(), kMagic, sizeof kMagic) != 0) {
    return WrongPassphrase();
  }
  if (h[kVersionOffset] != kVersion) {
    return Status::Unimplemented("store header version " + std::to_string(h[kVersionOffset]) +
                                 " is not supported; upgrade Vigil");
  }
  if (h.size() != kHeaderSize) return WrongPassphrase();
  if (h[kKdfOffset] != kKdfArgon2id13) {
    return Status::Unimplemented("store header key-derivation function " +
                                 std::to_string(h[kKdfOffset]) +
                                 " is not supported; upgrade Vigil");
  }
  if (!ParamsInBounds(GetU32(&h[kOpsOffset]), GetU32(&h[kMemOffset]))) {
    return Status::DataLoss("store header has out-of-range key-derivation parameters");
  }
  VIGIL_ASSIGN_OR_RETURN(crypto::SecretBytes kek, DeriveWrappingKey(passphrase, h.data()));
  auto key = crypto::AeadOpen(kek, ByteSpan(&h[kNonceOffset], crypto::kAeadNonceSize),
                              ByteSpan(h.data(), kWrappedOffset),
                              ByteSpan(&h[kWrappedOffset], kWrappedSize));
  if (!key.ok() || key->size() != kStoreKeySize) return WrongPassphrase();
  return std::move(key).value();
}

Status CheckStoreName(std::string_view name) {
  if (name.empty() || name == "." || name == ".." ||
      name.find_first_of(std::string_view("/\0", 2)) != std::string_view::npos) {
    return Status::InvalidArgument("invalid store name");
  }
  return Status::Ok();
}

std::string StoreBase(const std::string& dir, std::string_view name) {
  return dir + "/" + std::string(name);
}

// Creates `dir` (one level) with mode 0700 if it does not exist.
Status EnsureDirectory(const std::string& dir) {
  struct stat sb;
  if (stat(dir.c_str(), &sb) == 0) {
    if (!S_ISDIR(sb.st_mode)) return Status::FailedPrecondition(dir + " is not a directory");
    return Status::Ok();
  }
  if (mkdir(dir.c_str(), 0700) != 0) {
    if (errno == EEXIST) return Status::Ok();
    return ErrnoStatus("cannot create directory " + dir, errno);
  }
  if (chmod(dir.c_str(), 0700) != 0) {  // mkdir's mode is masked by the umask
    return ErrnoStatus("cannot set the mode of " + dir, errno);
  }
  return Status::Ok();
}

}  // namespace

StatusOr<crypto::SecretBytes> CreateKeyHeader(const std::string& header_path,
                                              ByteSpan passphrase) {
  return CreateKeyHeader(header_path, passphrase, crypto::DefaultArgon2Params());
}

StatusOr<crypto::SecretBytes> CreateKeyHeader(const std::string& header_path,
                                              ByteSpan passphrase,
                                              const crypto::Argon2Params& params) {
  struct stat sb;
  if (lstat(header_path.c_str(), &sb) == 0) {  // fail before the slow KDF
    return Status::AlreadyExists(header_path + " already exists");
  }
  crypto::SecretBytes key = crypto::SecretBytes::Random(kStoreKeySize);
  VIGIL_ASSIGN_OR_RETURN(Bytes header, Wrap(key, passphrase, params));
  VIGIL_RETURN_IF_ERROR(AtomicWrite(header_path, header, /*replace=*/false));
  return key;
}

StatusOr<crypto::SecretBytes> UnlockKeyHeader(const std::string& header_path,
                                              ByteSpan passphrase) {
  VIGIL_ASSIGN_OR_RETURN(Bytes h, ReadHeaderFile(header_path));
  return Unwrap(h, passphrase);
}

Status RewrapKeyHeader(const std::string& header_path, ByteSpan old_passphrase,
                       ByteSpan new_passphrase) {
  VIGIL_ASSIGN_OR_RETURN(Bytes h, ReadHeaderFile(header_path));
  VIGIL_ASSIGN_OR_RETURN(crypto::SecretBytes key, Unwrap(h, old_passphrase));
  // Same Argon2id cost as before; fresh salt and nonce.
  crypto::Argon2Params params{GetU32(&h[kOpsOffset]),
                              uint64_t{GetU32(&h[kMemOffset])} * 1024};
  VIGIL_ASSIGN_OR_RETURN(Bytes fresh, Wrap(key, new_passphrase, params));
  return AtomicWrite(header_path, fresh, /*replace=*/true);
}

StatusOr<Db> OpenStore(const std::string& dir, std::string_view name, ByteSpan passphrase) {
  VIGIL_RETURN_IF_ERROR(CheckStoreName(name));
  const std::string base = StoreBase(dir, name);
  VIGIL_ASSIGN_OR_RETURN(crypto::SecretBytes key, UnlockKeyHeader(base + ".key", passphrase));
  return Db::Open(base + ".db", key, /*must_exist=*/true);
}

StatusOr<Db> CreateStore(const std::string& dir, std::string_view name, ByteSpan passphrase) {
  return CreateStore(dir, name, passphrase, crypto::DefaultArgon2Params());
}

StatusOr<Db> CreateStore(const std::string& dir, std::string_view name, ByteSpan passphrase,
                         const crypto::Argon2Params& params, crypto::SecretBytes* key_out) {
  VIGIL_RETURN_IF_ERROR(CheckStoreName(name));
  VIGIL_RETURN_IF_ERROR(EnsureDirectory(dir));
  const std::string base = StoreBase(dir, name);
  const std::string db_path = base + ".db";
  const std::string key_path = base + ".key";
  struct stat sb;
  if (lstat(db_path.c_str(), &sb) == 0 || lstat(key_path.c_str(), &sb) == 0) {
    return Status::AlreadyExists("a store named " + std::string(name) + " already exists in " +
                                 dir);
  }
  VIGIL_ASSIGN_OR_RETURN(crypto::SecretBytes key,
                         CreateKeyHeader(key_path, passphrase, params));
  // Claim the database file exclusively, so that we never key someone
  // else's file; Db::Open then finds it (empty) and initialises it.
  int fd = open(db_path.c_str(), O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    int err = errno;
    unlink(key_path.c_str());
    if (err == EEXIST) {
      return Status::AlreadyExists("a store named " + std::string(name) +
                                   " already exists in " + dir);
    }
    return ErrnoStatus("cannot create " + db_path, err);
  }
  int chmod_rc = fchmod(fd, 0600);
  close(fd);
  auto db = chmod_rc == 0 ? Db::Open(db_path, key, /*must_exist=*/true)
                          : StatusOr<Db>(Status::Internal("cannot set the mode of " + db_path));
  if (!db.ok()) {
    // Leave nothing half-made behind, so that creating again works.
    for (const char* suffix : {".db", ".db-journal", ".db-wal", ".db-shm", ".key"}) {
      unlink((base + suffix).c_str());
    }
  } else if (key_out != nullptr) {
    *key_out = std::move(key);
  }
  return db;
}

}  // namespace vigil::storage
