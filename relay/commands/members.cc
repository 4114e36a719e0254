#include <iostream>

#include "relay/commands/commands.h"
#include "vigil/json.h"

namespace vigil::relay {

int CmdMembers(const ArgList& argv) {
  auto args = cli::Args::Parse(argv, {"data", "passphrase-file"}, {"json"});
  if (!args.ok()) return Fail(args.status());
  auto store = OpenRelayStore(*args);
  if (!store.ok()) return Fail(store.status());
  auto members = store->ListMembers();
  if (!members.ok()) return Fail(members.status());
  if (args->Has("json")) {
    json::Writer w(true);
    w.BeginArray();
    for (const auto& m : *members) {
      w.BeginObject();
      w.Key("name").String(m.name);
      w.Key("role").String(m.role);
      w.Key("identity_fingerprint").String(crypto::Fingerprint("vigil/identity", m.identity_key));
      w.Key("revoked").Bool(m.revoked);
      w.Key("devices").BeginArray();
      for (const auto& d : m.devices) {
        w.BeginObject();
        w.Key("id").String(HexEncode(d.id));
        w.Key("fingerprint").String(crypto::Fingerprint("vigil/device", d.transport_key));
        w.Key("created_at_ms").Int(d.created_at_ms);
        w.Key("revoked").Bool(d.revoked);
        w.EndObject();
      }
      w.EndArray();
      w.EndObject();
    }
    w.EndArray();
    std::cout << w.Take() << std::endl;
    return 0;
  }
  for (const auto& m : *members) {
    std::cout << m.name << "  " << m.role << (m.revoked ? "  (revoked)" : "") << "\n";
    for (const auto& d : m.devices) {
      std::cout << "  device " << HexEncode(d.id) << "  "
                << crypto::Fingerprint("vigil/device", d.transport_key)
                << (d.revoked ? "  (revoked)" : "") << "\n";
    }
  }
  return 0;
}

}  // namespace vigil::relay
