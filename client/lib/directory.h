// The member directory cache: verifying a directory entry against the
// identity pinned for that name (trust on first use; a changed identity is
// refused loudly) and caching its verified device certificates.
#ifndef VIGIL_CLIENT_LIB_DIRECTORY_H_
#define VIGIL_CLIENT_LIB_DIRECTORY_H_

#include <string>
#include <vector>

#include "vigil/bytes.h"
#include "vigil/storage.h"
#include "vigil/wire/v1/wire.pb.h"

namespace vigil::client {

struct VerifiedDevice {
  std::string name;
  Bytes device_id;
  Bytes signing_public;
  Bytes dh_public;
};

// In the caller's transaction.
StatusOr<std::vector<VerifiedDevice>> AcceptMember(storage::Db& db, const wire::v1::DirectoryMember& m);

}  // namespace vigil::client

#endif  // VIGIL_CLIENT_LIB_DIRECTORY_H_
