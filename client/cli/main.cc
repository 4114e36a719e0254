// vigil: the client command line. Parses, calls client/lib, prints.
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "client/cli/commands.h"
#include "vigil/crypto.h"

namespace {

constexpr char kUsage[] =
    "usage: vigil [--home DIR] COMMAND [options]\n"
    "commands:\n"
    "  init                         create this device's encrypted store and keys\n"
    "  join INVITE|LINK_CODE        enroll with a one-time invite, or as a new device with a link code\n"
    "  members [--json]             members with identity fingerprints (exit 5 if one changed)\n"
    "  verify-member NAME FINGERPRINT   mark a member verified after comparing in person\n"
    "  device link                  one-time code (10 minutes) for a new device of yours\n"
    "  device list [--json] | device revoke ID   your devices; a revoked one is refused at once\n"
    "  whoami [--json]              this member, device and relay, with fingerprints\n"
    "  invite --role volunteer|legal --name NAME [--expires 72h]   (coordinators) one-time invite\n"
    "  send --to NAME (--text T | --file F)   send an end-to-end encrypted message\n"
    "  sync                         send queued messages, receive new ones\n"
    "  inbox [--json]               received messages\n"
    "  visit assign --volunteer NAME [--legal NAME] --detainee NAME [--a-number A] --facility F\n"
    "               --at 2026-12-01T10:00-08:00          (coordinators) prints the visit id\n"
    "  visit list|show ID|accept ID|decline ID --reason R|complete ID|cancel ID\n"
    "  note add --visit ID (--text T | --file F) [--attach FILE]...   prints the note id\n"
    "  note attachment NOTE [--version N] [--index I] --out FILE     save an attachment\n"
    "  note amend NOTE (--text T | --file F)             a new signed version\n"
    "  note list [--visit ID] [--json] | note show NOTE [--json]\n"
    "  note stamp NOTE [--plugin notary|tlog|rfc3161]   timestamp every version (default: all)\n"
    "  tsa add URL --ca CA.pem | tsa list   RFC 3161 time-stamping authorities to use\n"
    "  export NOTE|--visit ID --out DIR     evidence bundle anyone can check (VERIFY.md)\n"
    "  verify DIR                   check an evidence bundle; exit 0 only if every claim holds\n"
    "  status [--json]              relay reachable, pinned key, outbox, last sync\n"
    "  passphrase                   change the passphrase (new one from VIGIL_NEW_PASSPHRASE,\n"
    "                               --new-passphrase-file or a prompt)\n"
    "  backup --out FILE            encrypted copy of this device's store (FILE and FILE.key)\n"
    "  restore --from FILE          put a backup in place in an empty --home\n"
    "  app [--port N] [--no-browser] [--idle-minutes M]   the interface in your browser, on\n"
    "                               127.0.0.1 only; prints the address to open (docs/APP.md)\n"
    "The home directory is --home, else $VIGIL_HOME, else ~/.vigil. The passphrase comes\n"
    "from VIGIL_PASSPHRASE, --passphrase-file FILE, or a prompt.\n";

}  // namespace

namespace {
int Main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  // Global options before the command.
  std::string home;
  while (!args.empty() && args[0].rfind("--home", 0) == 0) {
    if (args[0] == "--home" && args.size() >= 2) {
      home = args[1];
      args.erase(args.begin(), args.begin() + 2);
    } else if (args[0].rfind("--home=", 0) == 0) {
      home = args[0].substr(7);
      args.erase(args.begin());
    } else {
      std::cerr << "vigil: --home needs a directory" << std::endl;
      return 2;
    }
  }
  if (args.empty() || args[0] == "--help" || args[0] == "help" || args[0] == "-h") {
    std::cout << kUsage;
    return args.empty() ? 2 : 0;
  }
  if (home.empty()) {
    if (const char* h = std::getenv("VIGIL_HOME")) home = h;
    else if (const char* u = std::getenv("HOME")) home = std::string(u) + "/.vigil";
    else home = ".vigil";
  }
  std::string cmd = args[0];
  args.erase(args.begin());
  using namespace vigil::cli_client;
  Context ctx{home};
  if (cmd == "init") return CmdInit(ctx, args);
  if (cmd == "join") return CmdJoin(ctx, args);
  if (cmd == "whoami") return CmdWhoami(ctx, args);
  if (cmd == "invite") return CmdInvite(ctx, args);
  if (cmd == "send") return CmdSend(ctx, args);
  if (cmd == "sync") return CmdSync(ctx, args);
  if (cmd == "inbox") return CmdInbox(ctx, args);
  if (cmd == "visit") return CmdVisit(ctx, args);
  if (cmd == "note") return CmdNote(ctx, args);
  if (cmd == "status") return CmdStatus(ctx, args);
  if (cmd == "passphrase") return CmdPassphrase(ctx, args);
  if (cmd == "backup") return CmdBackup(ctx, args);
  if (cmd == "restore") return CmdRestore(ctx, args);
  if (cmd == "tsa") return CmdTsa(ctx, args);
  if (cmd == "device") return CmdDevice(ctx, args);
  if (cmd == "members") return CmdMembers(ctx, args);
  if (cmd == "verify-member") return CmdVerifyMember(ctx, args);
  if (cmd == "export") return CmdExport(ctx, args);
  if (cmd == "verify") return CmdVerify(ctx, args);
  if (cmd == "app") return CmdApp(ctx, args);
  std::cerr << "vigil: unknown command '" << cmd << "'; run vigil --help" << std::endl;
  return 2;
}

}  // namespace

int main(int argc, char** argv) { return vigil::cli::RunProgram("vigil", Main, argc, argv); }
