// vigil-relay export-state: everything the relay holds, decrypted, as JSON:
// what a seizure or a subpoena of this relay would obtain. Key material is
// shown as fingerprints; mailbox contents as sizes and ages (they are
// end-to-end ciphertext).
#include <iostream>

#include "relay/commands/commands.h"
#include "vigil/json.h"

namespace vigil::relay {

int CmdExportState(const ArgList& argv) {
  auto args = cli::Args::Parse(argv, {"data", "passphrase-file"}, {});
  if (!args.ok()) return Fail(args.status());
  auto store = OpenRelayStore(*args);
  if (!store.ok()) return Fail(store.status());
  auto keys = store->LoadKeys();
  if (!keys.ok()) return Fail(keys.status());
  auto members = store->ListMembers();
  if (!members.ok()) return Fail(members.status());
  int64_t now = NowMs();
  auto& db = store->db();
  json::Writer j(true);
  j.BeginObject();
  j.Key("relay").BeginObject();
  j.Key("listen").String(keys->listen);
  j.Key("transport_key_fingerprint").String(crypto::Fingerprint("vigil/relay", keys->transport_public));
  j.Key("signing_key_fingerprint").String(crypto::Fingerprint("vigil/notary", keys->signing_public));
  j.Key("private_keys").String("held in the encrypted store (not shown)");
  j.EndObject();
  j.Key("members").BeginArray();
  for (const auto& m : *members) {
    j.BeginObject();
    j.Key("name").String(m.name);
    j.Key("role").String(m.role);
    j.Key("identity_fingerprint").String(crypto::Fingerprint("vigil/identity", m.identity_key));
    j.Key("enrolled_at_ms").Int(m.created_at_ms);
    j.Key("revoked").Bool(m.revoked);
    j.Key("devices").BeginArray();
    for (const auto& d : m.devices) {
      j.BeginObject();
      j.Key("id").String(HexEncode(d.id));
      j.Key("fingerprint").String(crypto::Fingerprint("vigil/device", d.transport_key));
      j.Key("enrolled_at_ms").Int(d.created_at_ms);
      j.Key("revoked").Bool(d.revoked);
      j.EndObject();
    }
    j.EndArray();
    j.EndObject();
  }
  j.EndArray();
  auto emit_rows = [&](const char* key, const char* sql, auto&& row_fn) -> Status {
    VIGIL_ASSIGN_OR_RETURN(auto st, db.Prepare(sql));
    j.Key(key).BeginArray();
    for (;;) {
      VIGIL_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      j.BeginObject();
      row_fn(st);
      j.EndObject();
    }
    j.EndArray();
    return Status::Ok();
  };
  Status s = emit_rows("invites",
      "SELECT lower(hex(id)), role, name, created_at, expires_at, used_at FROM invites ORDER BY created_at",
      [&](storage::Statement& st) {
        j.Key("id").String(st.ColumnText(0));
        j.Key("role").String(st.ColumnText(1));
        j.Key("name").String(st.ColumnText(2));
        j.Key("created_at_ms").Int(st.ColumnInt64(3));
        j.Key("expires_at_ms").Int(st.ColumnInt64(4));
        j.Key("used").Bool(!st.ColumnIsNull(5));
      });
  if (s.ok()) {
    s = emit_rows("mailboxes",
        "SELECT lower(hex(device_id)), count(*), sum(length(blob)), min(received_at) FROM mailbox "
        "GROUP BY device_id",
        [&](storage::Statement& st) {
          j.Key("device").String(st.ColumnText(0));
          j.Key("items").Int(st.ColumnInt64(1));
          j.Key("bytes").Int(st.ColumnInt64(2));
          j.Key("oldest_age_s").Int((now - st.ColumnInt64(3)) / 1000);
        });
  }
  if (s.ok()) {
    s = emit_rows("attachment_blobs",
        "SELECT lower(hex(blob_id)), count(*), sum(length(data)), min(created_at) FROM blobs GROUP BY blob_id",
        [&](storage::Statement& st) {
          j.Key("blob").String(st.ColumnText(0));
          j.Key("chunks").Int(st.ColumnInt64(1));
          j.Key("bytes").Int(st.ColumnInt64(2));
          j.Key("age_s").Int((now - st.ColumnInt64(3)) / 1000);
        });
  }
  if (s.ok()) {
    s = emit_rows("audit", "SELECT at, event, detail FROM audit ORDER BY id",
        [&](storage::Statement& st) {
          j.Key("at_ms").Int(st.ColumnInt64(0));
          j.Key("event").String(st.ColumnText(1));
          j.Key("detail").String(st.ColumnText(2));
        });
  }
  if (!s.ok()) return Fail(s);
  j.Key("logs").BeginArray().EndArray();
  j.EndObject();
  std::cout << j.Take() << std::endl;
  return 0;
}

}  // namespace vigil::relay
