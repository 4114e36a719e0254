// Small helpers over the device store shared by client/lib files.
#ifndef VIGIL_CLIENT_LIB_STORE_UTIL_H_
#define VIGIL_CLIENT_LIB_STORE_UTIL_H_

#include <chrono>
#include <optional>
#include <string>

#include "vigil/crypto.h"
#include "vigil/storage.h"

namespace vigil::client {

// The signature label of note versions (docs/PROTOCOL.md section 7).
inline constexpr char kNoteVersionLabel[] = "vigil/note-version/v1";

inline int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

inline Status PutConfig(storage::Db& db, const char* key, ByteSpan value) {
  VIGIL_ASSIGN_OR_RETURN(auto st_cached, db.PrepareCached("INSERT OR REPLACE INTO config(key, value) VALUES(?, ?)"));
  auto& st = *st_cached;
  st.Bind(1, key).BindBlob(2, value);
  return st.Run();
}

inline StatusOr<std::optional<crypto::SecretBytes>> GetConfig(storage::Db& db, const char* key) {
  VIGIL_ASSIGN_OR_RETURN(auto st_cached, db.PrepareCached("SELECT value FROM config WHERE key = ?"));
  auto& st = *st_cached;
  st.Bind(1, key);
  VIGIL_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return std::optional<crypto::SecretBytes>();
  return std::optional<crypto::SecretBytes>(st.ColumnSecret(0));
}

inline StatusOr<crypto::SecretBytes> RequireConfig(storage::Db& db, const char* key) {
  VIGIL_ASSIGN_OR_RETURN(auto v, GetConfig(db, key));
  if (!v) return Status::DataLoss(std::string("device store lacks ") + key);
  return std::move(*v);
}

inline Bytes ToPublic(const crypto::SecretBytes& s) { return Bytes(s.span().begin(), s.span().end()); }

inline Status NotJoined() {
  return Status::FailedPrecondition("this device has not joined a relay yet; run vigil join INVITE");
}

}  // namespace vigil::client

#endif  // VIGIL_CLIENT_LIB_STORE_UTIL_H_
