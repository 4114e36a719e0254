#include "client/cli/commands.h"

namespace vigil::cli_client {

int Fail(const Status& status) {
  cli::PrintError("vigil", status);
  return cli::ExitCodeFor(status);
}

StatusOr<std::unique_ptr<client::Client>> OpenClient(const Context& ctx, const cli::Args& args) {
  VIGIL_ASSIGN_OR_RETURN(crypto::SecretBytes pass,
                         cli::ReadPassphrase("VIGIL_PASSPHRASE", args.Get("passphrase-file"),
                                             "Vigil passphrase: ", false));
  return client::Client::Open(ctx.home, pass.span());
}

}  // namespace vigil::cli_client
