// send, sync, inbox.
#include <fstream>
#include <iostream>
#include <sstream>

#include "client/cli/commands.h"
#include "client/lib/views.h"
#include "vigil/json.h"

namespace vigil::cli_client {

int CmdSend(const Context& ctx, const ArgList& argv) {
  auto args = cli::Args::Parse(argv, {"to", "text", "file", "passphrase-file"}, {});
  if (!args.ok()) return Fail(args.status());
  auto to = args->Require("to");
  if (!to.ok()) return Fail(to.status());
  std::string text;
  if (args->Has("text") == args->Has("file")) {
    return Fail(Status::InvalidArgument("give exactly one of --text or --file"));
  }
  if (auto t = args->Get("text")) {
    text = *t;
  } else {
    std::ifstream in(*args->Get("file"), std::ios::binary);
    if (!in) return Fail(Status::NotFound("cannot read " + *args->Get("file")));
    std::ostringstream ss;
    ss << in.rdbuf();
    text = ss.str();
  }
  auto c = OpenClient(ctx, *args);
  if (!c.ok()) return Fail(c.status());
  auto r = (*c)->SendText(*to, text);
  crypto::Wipe(text);
  if (!r.ok()) return Fail(r.status());
  std::cout << r->message_id << std::endl;
  if (!r->delivered && !r->refused.ok()) {
    // The relay answered but did not take it (disk full, a full mailbox):
    // say why, and fail, so that scripts notice.
    std::cerr << "vigil: the relay did not accept the message: " << r->refused.message()
              << "; it stays queued and the next vigil sync will retry" << std::endl;
    return cli::ExitCodeFor(r->refused);
  }
  if (!r->delivered) {
    std::cerr << "vigil: the relay is unreachable; the message is queued and will be sent by "
                 "the next vigil sync"
              << std::endl;
  }
  return 0;
}

int CmdSync(const Context& ctx, const ArgList& argv) {
  auto args = cli::Args::Parse(argv, {"passphrase-file"}, {"json"});
  if (!args.ok()) return Fail(args.status());
  auto c = OpenClient(ctx, *args);
  if (!c.ok()) return Fail(c.status());
  auto r = (*c)->Sync();
  if (!r.ok()) return Fail(r.status());
  for (const auto& rej : r->rejected) {
    std::cerr << "vigil: rejected a message from device " << rej.from_device.substr(0, 8) << ": "
              << rej.reason << std::endl;
  }
  for (const auto& p : r->problems) std::cerr << "vigil: " << p << std::endl;
  for (const auto& n : r->notices) std::cerr << "vigil: " << n << std::endl;
  if (args->Has("json")) {
    json::Writer j(true);
    j.BeginObject();
    client::views::WriteSyncFields(j, *r);
    j.EndObject();
    std::cout << j.Take() << std::endl;
  } else {
    std::cout << "sent " << r->sent << ", received " << r->received << ", rejected "
              << r->rejected.size() << (r->outbox_left ? ", still queued " : "")
              << (r->outbox_left ? std::to_string(r->outbox_left) : "") << std::endl;
  }
  // Anything rejected is a sign of tampering or a misbehaving member: say
  // so in the exit code too.
  return r->rejected.empty() && r->problems.empty() ? 0 : 1;
}

int CmdInbox(const Context& ctx, const ArgList& argv) {
  auto args = cli::Args::Parse(argv, {"passphrase-file"}, {"json"});
  if (!args.ok()) return Fail(args.status());
  auto c = OpenClient(ctx, *args);
  if (!c.ok()) return Fail(c.status());
  auto msgs = (*c)->Inbox();
  if (!msgs.ok()) return Fail(msgs.status());
  if (args->Has("json")) {
    json::Writer j(true);
    client::views::WriteInbox(j, *msgs);
    std::cout << j.Take() << std::endl;
    return 0;
  }
  for (const auto& m : *msgs) {
    std::cout << "[" << m.id.substr(0, 8) << "] from " << m.from << ": " << m.text << "\n";
  }
  return 0;
}

}  // namespace vigil::cli_client
