#include <fcntl.h>
#include <unistd.h>

#include <cstring>

#include "vigil/storage_backup.h"

namespace vigil::storage {

Status ExportEncryptedCopy(Db& db, const crypto::SecretBytes& key, const std::string& path) {
  if (key.size() != kStoreKeySize) return Status::InvalidArgument("store key must be 32 bytes");
  // Create the (empty) file first, 0600: ATTACH cannot create files on a
  // connection opened without SQLITE_OPEN_CREATE, and the mode must not
  // depend on the umask.
  int fd = open(path.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return Status::AlreadyExists("cannot create " + path + " (does it exist already?)");
  close(fd);
  std::string quoted;
  for (char c : path) {
    if (c == '\'') quoted += '\'';
    quoted += c;
  }
  std::string head = "ATTACH DATABASE '" + quoted + "' AS backup KEY \"x'";
  crypto::SecretBytes sql(head.size() + 2 * kStoreKeySize + 3);
  std::memcpy(sql.data(), head.data(), head.size());
  std::string hex = HexEncode(key.span());
  std::memcpy(sql.data() + head.size(), hex.data(), hex.size());
  crypto::Wipe(hex);
  std::memcpy(sql.data() + head.size() + 2 * kStoreKeySize, "'\";", 3);
  Status s = db.Exec(std::string_view(reinterpret_cast<const char*>(sql.data()), sql.size()));
  if (!s.ok()) return s.WithContext("cannot create the backup file");
  s = db.Exec("PRAGMA backup.cipher_page_size = 4096; SELECT sqlcipher_export('backup');");
  // sqlcipher_export copies tables, not the schema version.
  if (s.ok()) {
    auto version = db.UserVersion();
    s = version.ok() ? db.Exec("PRAGMA backup.user_version = " + std::to_string(*version))
                     : version.status();
  }
  Status d = db.Exec("DETACH DATABASE backup");
  VIGIL_RETURN_IF_ERROR(s);
  return d;
}

}  // namespace vigil::storage
