// vigil-relay sub-commands. Each takes the words after the sub-command name,
// prints its result on stdout (one JSON document with --json), prints one
// clear line on stderr on failure, and returns the process exit code.
#ifndef VIGIL_RELAY_COMMANDS_COMMANDS_H_
#define VIGIL_RELAY_COMMANDS_COMMANDS_H_

#include <string>
#include <vector>

#include "relay/server/relay_store.h"
#include "vigil/cli.h"

namespace vigil::relay {

using ArgList = std::vector<std::string>;

int CmdInit(const ArgList& args);
int CmdServe(const ArgList& args);
int CmdInvite(const ArgList& args);
int CmdMembers(const ArgList& args);
int CmdRevoke(const ArgList& args);
int CmdStatus(const ArgList& args);
int CmdBackup(const ArgList& args);
int CmdRestore(const ArgList& args);
int CmdRekey(const ArgList& args);
int CmdPurge(const ArgList& args);
int CmdRotateTransportKey(const ArgList& args);
int CmdExportState(const ArgList& args);

// Shared by the commands: reads the relay passphrase (VIGIL_RELAY_PASSPHRASE,
// --passphrase-file or a prompt) and opens the store in --data.
StatusOr<RelayStore> OpenRelayStore(const cli::Args& args);
// Prints the error and returns its exit code.
int Fail(const Status& status);

}  // namespace vigil::relay

#endif  // VIGIL_RELAY_COMMANDS_COMMANDS_H_
