#include <iostream>

#include "relay/commands/commands.h"

namespace vigil::relay {

int CmdRevoke(const ArgList& argv) {
  auto args = cli::Args::Parse(argv, {"data", "passphrase-file"}, {});
  if (!args.ok()) return Fail(args.status());
  if (args->positional().size() != 1) {
    return Fail(Status::InvalidArgument("usage: vigil-relay revoke --data DIR DEVICE_ID|MEMBER"));
  }
  auto store = OpenRelayStore(*args);
  if (!store.ok()) return Fail(store.status());
  auto what = store->Revoke(args->positional()[0], NowMs());
  if (!what.ok()) return Fail(what.status());
  std::cout << "revoked " << *what << std::endl;
  return 0;
}

}  // namespace vigil::relay
