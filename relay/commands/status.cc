// vigil-relay status: what an operator checks first.
#include <sys/stat.h>
#include <sys/statvfs.h>

#include <iostream>

#include "relay/commands/commands.h"
#include "vigil/evidence.h"
#include "vigil/json.h"

namespace vigil::relay {
namespace {

int64_t FileSize(const std::string& path) {
  struct stat sb;
  return stat(path.c_str(), &sb) == 0 ? static_cast<int64_t>(sb.st_size) : 0;
}

StatusOr<std::pair<int64_t, int64_t>> CountAndMin(storage::Db& db, const char* sql) {
  VIGIL_ASSIGN_OR_RETURN(auto st, db.Prepare(sql));
  VIGIL_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return std::make_pair<int64_t, int64_t>(0, 0);
  return std::make_pair(st.ColumnInt64(0), st.ColumnIsNull(1) ? int64_t{0} : st.ColumnInt64(1));
}

}  // namespace

int CmdStatus(const ArgList& argv) {
  auto args = cli::Args::Parse(argv, {"data", "passphrase-file"}, {"json"});
  if (!args.ok()) return Fail(args.status());
  auto store = OpenRelayStore(*args);
  if (!store.ok()) return Fail(store.status());
  std::string data = *args->Get("data");
  int64_t now = NowMs();
  auto rt = store->Runtime();
  if (!rt.ok()) return Fail(rt.status());
  int64_t heartbeat = (*rt)["heartbeat_ms"];
  bool running = heartbeat > 0 && now - heartbeat < 15000;
  auto mail = CountAndMin(store->db(), "SELECT count(*), min(received_at) FROM mailbox");
  auto mail_bytes = CountAndMin(store->db(), "SELECT coalesce(sum(length(blob)), 0), NULL FROM mailbox");
  auto blobs = CountAndMin(store->db(), "SELECT coalesce(sum(length(data)), 0), min(created_at) FROM blobs");
  auto members = CountAndMin(store->db(), "SELECT count(*), NULL FROM members WHERE revoked_at IS NULL");
  auto devices = CountAndMin(store->db(), "SELECT count(*), NULL FROM devices WHERE revoked_at IS NULL");
  for (const auto* r : {&mail, &mail_bytes, &blobs, &members, &devices}) {
    if (!r->ok()) return Fail(r->status());
  }
  // Published by `serve`: the plugins it loaded and the log's latest checkpoint.
  struct PluginLine {
    std::string name, state, problem;
  };
  std::vector<PluginLine> plugins;
  if (auto text = store->GetRuntimeText("plugins"); text.ok() && *text) {
    std::string t = **text;
    size_t pos = 0;
    while (pos < t.size()) {
      size_t nl = t.find('\n', pos);
      if (nl == std::string::npos) break;
      std::string line = t.substr(pos, nl - pos);
      pos = nl + 1;
      size_t a = line.find('\t'), b = line.find('\t', a + 1);
      if (a == std::string::npos || b == std::string::npos) continue;
      plugins.push_back({line.substr(0, a), line.substr(a + 1, b - a - 1), line.substr(b + 1)});
    }
  }
  std::optional<evidence::Checkpoint> checkpoint;
  if (auto keys = store->LoadKeys(); keys.ok()) {
    if (auto text = store->GetRuntimeText("log_checkpoint"); text.ok() && *text) {
      auto cp = evidence::ParseCheckpoint(**text, keys->signing_public);
      if (cp.ok()) checkpoint = std::move(*cp);
    }
  }
  struct statvfs vfs;
  int64_t free_disk = statvfs(data.c_str(), &vfs) == 0
                          ? static_cast<int64_t>(vfs.f_bavail) * static_cast<int64_t>(vfs.f_frsize)
                          : -1;
  int64_t store_bytes = FileSize(data + "/relay.db") + FileSize(data + "/relay.db-wal");
  int64_t oldest_age_s = mail->first > 0 ? (now - mail->second) / 1000 : 0;
  if (args->Has("json")) {
    json::Writer j(true);
    j.BeginObject();
    j.Key("running").Bool(running);
    j.Key("uptime_s").Int(running ? (now - (*rt)["started_at_ms"]) / 1000 : 0);
    j.Key("connected_devices").Int(running ? (*rt)["connected_devices"] : 0);
    j.Key("members").Int(members->first);
    j.Key("devices").Int(devices->first);
    j.Key("mailbox").BeginObject();
    j.Key("items").Int(mail->first);
    j.Key("bytes").Int(mail_bytes->first);
    j.Key("oldest_age_s").Int(oldest_age_s);
    j.EndObject();
    j.Key("attachment_bytes").Int(blobs->first);
    j.Key("store_bytes").Int(store_bytes);
    j.Key("free_disk_bytes").Int(free_disk);
    j.Key("plugins").BeginArray();
    for (const auto& p : plugins) {
      j.BeginObject().Key("name").String(p.name).Key("state").String(p.state);
      if (!p.problem.empty()) j.Key("problem").String(p.problem);
      j.EndObject();
    }
    j.EndArray();
    if (checkpoint) {
      j.Key("log_checkpoint").BeginObject();
      j.Key("size").Uint(checkpoint->size);
      j.Key("root").String(HexEncode(checkpoint->root));
      j.Key("time").String(evidence::IsoUtc(checkpoint->time_ms));
      j.EndObject();
    } else {
      j.Key("log_checkpoint").Null();
    }
    j.EndObject();
    std::cout << j.Take() << std::endl;
    return 0;
  }
  std::cout << "relay:           " << (running ? "running" : "not running") << "\n"
            << "members/devices: " << members->first << "/" << devices->first << "\n"
            << "connected:       " << (running ? (*rt)["connected_devices"] : 0) << "\n"
            << "mailbox:         " << mail->first << " items, " << mail_bytes->first
            << " bytes, oldest " << oldest_age_s << " s\n";
  for (const auto& p : plugins) {
    std::cout << "plugin:          " << p.name << " (" << p.state << (p.problem.empty() ? "" : ": " + p.problem)
              << ")\n";
  }
  if (checkpoint) {
    std::cout << "log checkpoint:  size " << checkpoint->size << ", root " << HexEncode(checkpoint->root).substr(0, 16)
              << "..., " << evidence::IsoUtc(checkpoint->time_ms) << "\n";
  }
  std::cout
            << "store:           " << store_bytes << " bytes; free disk " << free_disk << " bytes"
            << std::endl;
  return 0;
}

}  // namespace vigil::relay
