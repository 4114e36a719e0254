// status, passphrase, backup, restore: looking after one's own device.
#include <ctime>
#include <iostream>

#include "client/cli/commands.h"
#include "client/lib/views.h"
#include "vigil/json.h"

namespace vigil::cli_client {

int CmdStatus(const Context& ctx, const ArgList& argv) {
  auto args = cli::Args::Parse(argv, {"passphrase-file"}, {"json"});
  if (!args.ok()) return Fail(args.status());
  auto c = OpenClient(ctx, *args);
  if (!c.ok()) return Fail(c.status());
  (*c)->set_timeout_ms(3000);
  auto s = (*c)->GetStatus();
  if (!s.ok()) return Fail(s.status());
  if (args->Has("json")) {
    json::Writer j(true);
    j.BeginObject();
    client::views::WriteStatusFields(j, *s);
    j.EndObject();
    std::cout << j.Take() << std::endl;
  } else {
    std::cout << "relay:        " << (s->joined ? s->relay_endpoint : "(not joined)")
              << (s->joined ? (s->relay_reachable ? "  reachable" : "  UNREACHABLE") : "") << "\n"
              << "relay key:    " << s->relay_fingerprint << " (pinned at join)\n"
              << "outbox:       " << s->outbox << " queued, " << s->pending_uploads
              << " attachment chunks to upload\n"
              << "timestamps:   " << s->pending_timestamps << " pending\n"
              << "last sync:    " << (s->last_sync_ms ? std::to_string((std::time(nullptr) * 1000 - s->last_sync_ms) / 1000) + " s ago" : "never")
              << std::endl;
  }
  if (s->log_alarm) {
    std::cerr << "vigil: ALARM: " << s->log_alarm_reason << std::endl;
    return 5;  // the relay's transparency log forked or shrank
  }
  if (s->joined && !s->relay_reachable) return cli::kExitUnavailable;
  return 0;
}

int CmdPassphrase(const Context& ctx, const ArgList& argv) {
  auto args = cli::Args::Parse(argv, {"passphrase-file", "new-passphrase-file"}, {});
  if (!args.ok()) return Fail(args.status());
  auto old_pass = cli::ReadPassphrase("VIGIL_PASSPHRASE", args->Get("passphrase-file"),
                                      "Current passphrase: ", false);
  if (!old_pass.ok()) return Fail(old_pass.status());
  auto new_pass = cli::ReadPassphrase("VIGIL_NEW_PASSPHRASE", args->Get("new-passphrase-file"),
                                      "New passphrase: ", true);
  if (!new_pass.ok()) return Fail(new_pass.status());
  Status s = client::Client::ChangePassphrase(ctx.home, old_pass->span(), new_pass->span());
  if (!s.ok()) return Fail(s);
  std::cout << "passphrase changed" << std::endl;
  return 0;
}

int CmdBackup(const Context& ctx, const ArgList& argv) {
  auto args = cli::Args::Parse(argv, {"out", "passphrase-file"}, {});
  if (!args.ok()) return Fail(args.status());
  auto out = args->Require("out");
  if (!out.ok()) return Fail(out.status());
  auto c = OpenClient(ctx, *args);
  if (!c.ok()) return Fail(c.status());
  Status s = (*c)->Backup(*out);
  if (!s.ok()) return Fail(s);
  std::cout << "backup written to " << *out << " and " << *out
            << ".key (it opens with this device's passphrase)" << std::endl;
  return 0;
}

int CmdRestore(const Context& ctx, const ArgList& argv) {
  auto args = cli::Args::Parse(argv, {"from", "passphrase-file"}, {});
  if (!args.ok()) return Fail(args.status());
  auto from = args->Require("from");
  if (!from.ok()) return Fail(from.status());
  auto pass = cli::ReadPassphrase("VIGIL_PASSPHRASE", args->Get("passphrase-file"),
                                  "Passphrase of the backup: ", false);
  if (!pass.ok()) return Fail(pass.status());
  Status s = client::Client::Restore(*from, ctx.home, pass->span());
  if (!s.ok()) return Fail(s);
  std::cout << "restored into " << ctx.home << std::endl;
  return 0;
}

}  // namespace vigil::cli_client
