#include <iostream>

#include "relay/commands/commands.h"
#include "vigil/identity.h"

namespace vigil::relay {

int CmdInvite(const ArgList& argv) {
  auto args = cli::Args::Parse(argv, {"data", "role", "name", "expires", "passphrase-file"}, {});
  if (!args.ok()) return Fail(args.status());
  auto role = args->Require("role");
  if (!role.ok()) return Fail(role.status());
  auto name = args->Require("name");
  if (!name.ok()) return Fail(name.status());
  auto ttl = cli::ParseDuration(args->Get("expires").value_or("72h"));
  if (!ttl.ok()) return Fail(ttl.status());
  if (*ttl <= 0 || *ttl > 30 * 86400) {
    return Fail(Status::InvalidArgument("--expires must be between 1s and 30d"));
  }
  auto store = OpenRelayStore(*args);
  if (!store.ok()) return Fail(store.status());
  auto keys = store->LoadKeys();
  if (!keys.ok()) return Fail(keys.status());
  int64_t now = NowMs();
  auto secret = store->CreateInvite(*role, *name, now, now + *ttl * 1000);
  if (!secret.ok()) return Fail(secret.status());
  identity::Invite inv{keys->listen, keys->transport_public, std::move(*secret)};
  std::string code = identity::EncodeInvite(inv);
  std::cout << code << std::endl;
  crypto::Wipe(code);
  return 0;
}

}  // namespace vigil::relay
