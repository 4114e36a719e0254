// Consistent, encrypted copies of a live SQLCipher store (the SQLite backup
// API does not work on encrypted databases).
//
// Thread safety: as Db.
#ifndef VIGIL_STORAGE_BACKUP_H_
#define VIGIL_STORAGE_BACKUP_H_

#include <string>

#include "vigil/crypto.h"
#include "vigil/status.h"
#include "vigil/storage.h"

namespace vigil::storage {

// Writes a copy of `db` to a new file `path`, encrypted under `key` (the
// store's own key, so that the copy opens with the same key header), with
// ATTACH ... KEY and sqlcipher_export in one read transaction: consistent
// even while other connections write. The key text lives only in guarded
// memory.
Status ExportEncryptedCopy(Db& db, const crypto::SecretBytes& key, const std::string& path);

}  // namespace vigil::storage

#endif  // VIGIL_STORAGE_BACKUP_H_
