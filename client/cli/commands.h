// vigil sub-commands: one function per command, grouped by file. Each
// parses its words, calls client/lib, prints, and returns the exit code.
#ifndef VIGIL_CLIENT_CLI_COMMANDS_H_
#define VIGIL_CLIENT_CLI_COMMANDS_H_

#include <memory>
#include <string>
#include <vector>

#include "client/lib/client.h"
#include "vigil/cli.h"

namespace vigil::cli_client {

using ArgList = std::vector<std::string>;

struct Context {
  std::string home;
};

int CmdInit(const Context& ctx, const ArgList& args);
int CmdJoin(const Context& ctx, const ArgList& args);
int CmdWhoami(const Context& ctx, const ArgList& args);
int CmdInvite(const Context& ctx, const ArgList& args);
int CmdSend(const Context& ctx, const ArgList& args);
int CmdSync(const Context& ctx, const ArgList& args);
int CmdInbox(const Context& ctx, const ArgList& args);
int CmdVisit(const Context& ctx, const ArgList& args);
int CmdNote(const Context& ctx, const ArgList& args);
int CmdStatus(const Context& ctx, const ArgList& args);
int CmdPassphrase(const Context& ctx, const ArgList& args);
int CmdBackup(const Context& ctx, const ArgList& args);
int CmdRestore(const Context& ctx, const ArgList& args);
int CmdTsa(const Context& ctx, const ArgList& args);
int CmdDevice(const Context& ctx, const ArgList& args);
int CmdMembers(const Context& ctx, const ArgList& args);
int CmdVerifyMember(const Context& ctx, const ArgList& args);
int CmdExport(const Context& ctx, const ArgList& args);
int CmdVerify(const Context& ctx, const ArgList& args);
int CmdApp(const Context& ctx, const ArgList& args);

// Reads the passphrase and opens the device store in ctx.home.
StatusOr<std::unique_ptr<client::Client>> OpenClient(const Context& ctx, const cli::Args& args);
int Fail(const Status& status);

}  // namespace vigil::cli_client

#endif  // VIGIL_CLIENT_CLI_COMMANDS_H_
