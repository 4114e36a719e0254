// vigil-relay: composition root. Dispatches to one command per file in
// relay/commands/.
#include <iostream>
#include <string>
#include <vector>

#include "relay/commands/commands.h"
#include "vigil/crypto.h"

namespace {

constexpr char kUsage[] =
    "usage: vigil-relay COMMAND --data DIR [options]\n"
    "commands:\n"
    "  init     --data DIR [--listen tcp://HOST:PORT]   create a relay store; prints its fingerprint\n"
    "  serve    --data DIR [--config FILE] [--log-level LEVEL] [--retention 30d] [--mailbox-quota-mb 256]\n"
    "           [--rate-limit 500] [--min-free-disk-mb 256] [--max-connections 2000]   run the relay\n"
    "  invite   --data DIR --role ROLE --name NAME [--expires 72h]   print a one-time invite code\n"
    "  members  --data DIR [--json]                     list members and devices\n"
    "  revoke   --data DIR DEVICE_ID|MEMBER             refuse a device or a member from now on\n"
    "  status   --data DIR [--json]                     health: running, mailboxes, disk\n"
    "  backup   --data DIR --out FILE                   encrypted consistent copy (FILE, FILE.key)\n"
    "  restore  --data DIR --from FILE                  put a backup in place (relay stopped)\n"
    "  rekey    --data DIR                              change the relay passphrase\n"
    "           (new one from VIGIL_RELAY_NEW_PASSPHRASE, --new-passphrase-file or a prompt)\n"
    "  purge    --data DIR [--older-than 30d]           apply the retention cap now\n"
    "  rotate-transport-key --data DIR [--commit]       announce a new CURVE key (signed by the\n"
    "           old identity); --commit switches to it (then restart serve)\n"
    "  export-state --data DIR                          everything the relay holds, as JSON\n"
    "The relay passphrase comes from VIGIL_RELAY_PASSPHRASE, --passphrase-file FILE, or a prompt.\n";

}  // namespace

namespace {
int Main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "--help" || args[0] == "help" || args[0] == "-h") {
    std::cout << kUsage;
    return args.empty() ? 2 : 0;
  }
  std::string cmd = args[0];
  args.erase(args.begin());
  using namespace vigil::relay;
  if (cmd == "init") return CmdInit(args);
  if (cmd == "serve") return CmdServe(args);
  if (cmd == "invite") return CmdInvite(args);
  if (cmd == "members") return CmdMembers(args);
  if (cmd == "revoke") return CmdRevoke(args);
  if (cmd == "status") return CmdStatus(args);
  if (cmd == "backup") return CmdBackup(args);
  if (cmd == "restore") return CmdRestore(args);
  if (cmd == "rekey") return CmdRekey(args);
  if (cmd == "purge") return CmdPurge(args);
  if (cmd == "rotate-transport-key") return CmdRotateTransportKey(args);
  if (cmd == "export-state") return CmdExportState(args);
  std::cerr << "vigil-relay: unknown command '" << cmd << "'; run vigil-relay --help" << std::endl;
  return 2;
}

}  // namespace

int main(int argc, char** argv) { return vigil::cli::RunProgram("vigil-relay", Main, argc, argv); }
