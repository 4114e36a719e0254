// init, join, whoami.
#include <iostream>

#include "client/cli/commands.h"
#include "vigil/identity.h"
#include "client/lib/views.h"
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
  const std::string& code = args->positional()[0];
  if (code.find(identity::kLinkPrefix) != std::string::npos) {
    // A new device of an existing member.
    auto sas = (*c)->JoinLink(code);
    if (!sas.ok()) return Fail(sas.status());
    auto w = (*c)->Whoami();
    if (!w.ok()) return Fail(w.status());
    std::cout << "linking as a new device of " << w->name << " (" << w->role << ")\n"
              << "check that your other device shows the same code: " << *sas << "\n"
              << "then sync the other device, and sync here to receive everything it holds" << std::endl;
    return 0;
  }
  Status s = (*c)->Join(code);
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
    client::views::WriteWhoami(j, *w);
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

int CmdDevice(const Context& ctx, const ArgList& argv) {
  if (argv.empty()) return Fail(Status::InvalidArgument("usage: vigil device link|list|revoke ID"));
  std::string sub = argv[0];
  ArgList rest(argv.begin() + 1, argv.end());
  auto args = cli::Args::Parse(rest, {"passphrase-file"}, {"json"});
  if (!args.ok()) return Fail(args.status());
  auto c = OpenClient(ctx, *args);
  if (!c.ok()) return Fail(c.status());
  if (sub == "link") {
    auto code = (*c)->CreateLinkCode();
    if (!code.ok()) return Fail(code.status());
    std::cout << *code << std::endl;
    std::cerr << "vigil: join with this code on the new device within 10 minutes (it is a secret: show it "
                 "to nobody else), then sync here"
              << std::endl;
    return 0;
  }
  if (sub == "list") {
    auto devices = (*c)->ListDevices();
    if (!devices.ok()) return Fail(devices.status());
    if (args->Has("json")) {
      json::Writer j(true);
      client::views::WriteDevices(j, *devices);
      std::cout << j.Take() << std::endl;
    } else {
      for (const auto& d : *devices) std::cout << d.id << (d.current ? "  (this device)" : "") << "\n";
    }
    return 0;
  }
  if (sub == "revoke") {
    if (args->positional().size() != 1) return Fail(Status::InvalidArgument("usage: vigil device revoke ID"));
    Status s = (*c)->RevokeDevice(args->positional()[0]);
    if (!s.ok()) return Fail(s);
    std::cout << "revoked " << args->positional()[0] << std::endl;
    return 0;
  }
  return Fail(Status::InvalidArgument("unknown device command '" + sub + "'"));
}

int CmdMembers(const Context& ctx, const ArgList& argv) {
  auto args = cli::Args::Parse(argv, {"passphrase-file"}, {"json"});
  if (!args.ok()) return Fail(args.status());
  auto c = OpenClient(ctx, *args);
  if (!c.ok()) return Fail(c.status());
  auto members = (*c)->ListMembers();
  if (!members.ok()) return Fail(members.status());
  bool warned = false;
  if (args->Has("json")) {
    json::Writer j(true);
    client::views::WriteMembers(j, *members);
    std::cout << j.Take() << std::endl;
  } else {
    for (const auto& m : *members) {
      std::cout << m.name << " (" << m.role << ")  " << m.identity_fingerprint
                << (m.verified ? "  verified" : "  not verified") << "\n";
    }
  }
  for (const auto& m : *members) {
    if (!m.warning.empty()) {
      std::cerr << "vigil: WARNING: " << m.name << ": " << m.warning << std::endl;
      warned = true;
    }
  }
  return warned ? 5 : 0;
}

int CmdVerifyMember(const Context& ctx, const ArgList& argv) {
  auto args = cli::Args::Parse(argv, {"passphrase-file"}, {});
  if (!args.ok()) return Fail(args.status());
  if (args->positional().size() < 2) {
    return Fail(Status::InvalidArgument("usage: vigil verify-member NAME FINGERPRINT (the digits vigil whoami shows on their device)"));
  }
  std::string fp;
  for (size_t i = 1; i < args->positional().size(); ++i) fp += args->positional()[i];
  auto c = OpenClient(ctx, *args);
  if (!c.ok()) return Fail(c.status());
  Status s = (*c)->VerifyMember(args->positional()[0], fp);
  if (!s.ok()) return Fail(s);
  std::cout << args->positional()[0] << " verified" << std::endl;
  return 0;
}

}  // namespace vigil::cli_client
