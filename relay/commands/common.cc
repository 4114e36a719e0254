#include "relay/commands/commands.h"

namespace vigil::relay {

int Fail(const Status& status) {
  cli::PrintError("vigil-relay", status);
  return cli::ExitCodeFor(status);
}

StatusOr<RelayStore> OpenRelayStore(const cli::Args& args) {
  VIGIL_ASSIGN_OR_RETURN(std::string data, args.Require("data"));
  VIGIL_ASSIGN_OR_RETURN(crypto::SecretBytes pass,
                         cli::ReadPassphrase("VIGIL_RELAY_PASSPHRASE", args.Get("passphrase-file"),
                                             "Relay passphrase: ", false));
  return RelayStore::Open(data, pass.span());
}

}  // namespace vigil::relay
