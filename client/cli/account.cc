// init, join, whoami.
#include <iostream>

#include "client/cli/commands.h"
#include "vigil/json.h"

namespace vigil::cli_client {

int CmdInit(const Context& ctx, const ArgList& argv) {
  auto args = cli::Args::Parse(argv, {"passphrase-file"}, {});
  if (!args.ok()) return Fail(args.status());
  auto pass = cli::ReadPassphrase("VIGIL_PASSPHRASE", args->Get("passphrase-file"),
                                  "New Vigil passphrase: ", true);
  if (!pass.ok()) return Fail(pass.status());
  auto c = client::Client::Init(ctx.home, pass->span());
  if (!c.ok()) return Fail(c.status());
  auto w = (*c)->Whoami();
  if (!w.ok()) return Fail(w.status());
  std::cout << "created device store in " << ctx.home << "\n"
            << "identity fingerprint: " << w->identity_fingerprint << std::endl;
  return 0;
}

int CmdJoin(const Context& ctx, const ArgList& argv) {
  auto args = cli::Args::Parse(argv, {"passphrase-file"}, {});
  if (!args.ok()) return Fail(args.status());
  if (args->positional().size() != 1) {
    return Fail(Status::InvalidArgument("usage: vigil join INVITE_CODE"));
  }
  auto c = OpenClient(ctx, *args);
  if (!c.ok()) return Fail(c.status());
  Status s = (*c)->Join(args->positional()[0]);
  if (!s.ok()) return Fail(s);
  auto w = (*c)->Whoami();
  if (!w.ok()) return Fail(w.status());
  std::cout << "joined as " << w->name << " (" << w->role << ")\n"
            << "relay fingerprint: " << w->relay_fingerprint << std::endl;
  return 0;
}

int CmdInvite(const Context& ctx, const ArgList& argv) {
  auto args = cli::Args::Parse(argv, {"role", "name", "expires", "passphrase-file"}, {});
  if (!args.ok()) return Fail(args.status());
  auto role = args->Require("role");
  if (!role.ok()) return Fail(role.status());
  auto name = args->Require("name");
  if (!name.ok()) return Fail(name.status());
  int64_t ttl = 0;
  if (auto e = args->Get("expires")) {
    auto secs = cli::ParseDuration(*e);
    if (!secs.ok()) return Fail(secs.status());
    ttl = *secs;
  }
  auto c = OpenClient(ctx, *args);
  if (!c.ok()) return Fail(c.status());
  auto code = (*c)->CreateInvite(*role, *name, ttl);
  if (!code.ok()) return Fail(code.status());
  std::cout << *code << std::endl;
  crypto::Wipe(*code);
  return 0;
}

int CmdWhoami(const Context& ctx, const ArgList& argv) {
  auto args = cli::Args::Parse(argv, {"passphrase-file"}, {"json"});
  if (!args.ok()) return Fail(args.status());
  auto c = OpenClient(ctx, *args);
  if (!c.ok()) return Fail(c.status());
  auto w = (*c)->Whoami();
  if (!w.ok()) return Fail(w.status());
  if (args->Has("json")) {
    json::Writer j(true);
    j.BeginObject();
    j.Key("name").String(w->name);
    j.Key("role").String(w->role);
    j.Key("device_id").String(HexEncode(w->device_id));
    j.Key("identity_fingerprint").String(w->identity_fingerprint);
    j.Key("device_fingerprint").String(w->device_fingerprint);
    j.Key("relay_endpoint").String(w->relay_endpoint);
    j.Key("relay_fingerprint").String(w->relay_fingerprint);
    j.EndObject();
    std::cout << j.Take() << std::endl;
    return 0;
  }
  std::cout << "name:                 " << (w->name.empty() ? "(not joined)" : w->name) << "\n"
            << "role:                 " << w->role << "\n"
            << "device id:            " << HexEncode(w->device_id) << "\n"
            << "identity fingerprint: " << w->identity_fingerprint << "\n"
            << "relay:                " << w->relay_endpoint << "\n"
            << "relay fingerprint:    " << w->relay_fingerprint << std::endl;
  return 0;
}

}  // namespace vigil::cli_client
