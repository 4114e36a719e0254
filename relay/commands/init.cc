#include <iostream>

#include "relay/commands/commands.h"

namespace vigil::relay {

int CmdInit(const ArgList& argv) {
  auto args = cli::Args::Parse(argv, {"data", "listen", "passphrase-file"}, {"json"});
  if (!args.ok()) return Fail(args.status());
  auto data = args->Require("data");
  if (!data.ok()) return Fail(data.status());
  std::string listen = args->Get("listen").value_or("tcp://127.0.0.1:7450");
  auto pass = cli::ReadPassphrase("VIGIL_RELAY_PASSPHRASE", args->Get("passphrase-file"),
                                  "New relay passphrase: ", true);
  if (!pass.ok()) return Fail(pass.status());
  auto store = RelayStore::Create(*data, pass->span(), listen);
  if (!store.ok()) return Fail(store.status());
  auto keys = store->LoadKeys();
  if (!keys.ok()) return Fail(keys.status());
  std::string fp = crypto::Fingerprint("vigil/relay", keys->transport_public);
  std::cout << fp << std::endl;
  std::cerr << "vigil-relay: initialised " << *data << " (listen " << listen
            << "); the line above is the relay fingerprint" << std::endl;
  return 0;
}

}  // namespace vigil::relay
