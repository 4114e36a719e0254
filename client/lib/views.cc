#include "client/lib/views.h"

#include <cstdio>
#include <ctime>

namespace vigil::client::views {

std::string Iso(int64_t ms) {
  time_t secs = static_cast<time_t>(ms / 1000);
  struct tm tm;
  gmtime_r(&secs, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms % 1000));
  return buf;
}

void WriteNames(json::Writer& j, const std::vector<std::string>& names) {
  j.BeginArray();
  for (const auto& n : names) j.String(n);
  j.EndArray();
}

void WriteVisit(json::Writer& j, const VisitInfo& v, bool with_events) {
  j.BeginObject();
  j.Key("id").String(v.id);
  j.Key("status").String(v.status);
  j.Key("detainee").String(v.detainee);
  j.Key("a_number").String(v.a_number);
  j.Key("facility").String(v.facility);
  j.Key("at").String(v.at);
  j.Key("coordinator").String(v.team.coordinator);
  j.Key("volunteers");
  WriteNames(j, v.team.volunteers);
  j.Key("legal");
  WriteNames(j, v.team.legal);
  if (with_events) {
    j.Key("events").BeginArray();
    for (const auto& e : v.events) {
      j.BeginObject();
      j.Key("id").String(e.id);
      j.Key("kind").String(e.kind);
      j.Key("author").String(e.author);
      j.Key("created_at").String(Iso(e.created_at_ms));
      if (!e.reason.empty()) j.Key("reason").String(e.reason);
      j.Key("status").String(e.status);
      if (!e.problem.empty()) j.Key("problem").String(e.problem);
      j.EndObject();
    }
    j.EndArray();
  }
  j.EndObject();
}

void WriteNote(json::Writer& j, const NoteInfo& n) {
  j.BeginObject();
  j.Key("id").String(n.id);
  j.Key("visit_id").String(n.visit_id);
  j.Key("versions").BeginArray();
  for (const auto& v : n.versions) {
    j.BeginObject();
    j.Key("version").Int(v.number);
    j.Key("hash").String(v.hash);
    j.Key("prev_hash").String(v.prev_hash);
    j.Key("author").String(v.author);
    j.Key("author_device").String(v.author_device);
    j.Key("device_seq").Uint(v.device_seq);
    j.Key("text").String(v.text);
    j.Key("attachments").BeginArray();
    for (const auto& a : v.attachments) {
      j.BeginObject();
      j.Key("index").Int(a.index);
      j.Key("name").String(a.name);
      j.Key("size").Uint(a.size);
      j.Key("sha256").String(a.sha256);
      j.Key("status").String(a.status);
      if (!a.problem.empty()) j.Key("problem").String(a.problem);
      j.EndObject();
    }
    j.EndArray();
    j.Key("signature").String(v.signature_valid ? "valid" : "INVALID");
    j.Key("status").String(v.status);
    if (!v.problem.empty()) j.Key("problem").String(v.problem);
    j.Key("created_at").String(Iso(v.created_at_ms));
    j.Key("timestamps").BeginArray();
    // The author's device clock, as signed by the author, and this device's
    // receipt: said plainly, so no one mistakes them for independent anchors.
    j.BeginObject();
    j.Key("source").String("author device clock (signed by the author; not independent)");
    j.Key("time").String(Iso(v.created_at_ms));
    j.EndObject();
    j.BeginObject();
    j.Key("source").String("received by this device");
    j.Key("time").String(Iso(v.received_at_ms));
    j.EndObject();
    // Independent anchors over the version's salted commitment; re-verified
    // each time they are shown.
    for (const auto& a : v.anchors) {
      j.BeginObject();
      j.Key("source").String(a.source);
      j.Key("plugin").String(a.plugin);
      j.Key("status").String(a.status);
      if (a.status == "ok") j.Key("time").String(Iso(a.time_ms));
      if (!a.problem.empty()) j.Key("problem").String(a.problem);
      j.EndObject();
    }
    j.EndArray();
    if (!v.commitment.empty()) j.Key("commitment_sha256").String(v.commitment);
    int pending = 0;
    for (const auto& a : v.anchors) pending += a.status == "pending";
    j.Key("pending_anchors").Int(pending);
    j.EndObject();
  }
  j.EndArray();
  j.Key("problems");
  WriteNames(j, n.problems);
  j.EndObject();
}

void WriteWhoami(json::Writer& j, const WhoAmI& w) {
  j.BeginObject();
  j.Key("name").String(w.name);
  j.Key("role").String(w.role);
  j.Key("device_id").String(HexEncode(w.device_id));
  j.Key("identity_fingerprint").String(w.identity_fingerprint);
  j.Key("device_fingerprint").String(w.device_fingerprint);
  j.Key("relay_endpoint").String(w.relay_endpoint);
  j.Key("relay_fingerprint").String(w.relay_fingerprint);
  j.EndObject();
}

void WriteDevices(json::Writer& j, const std::vector<DeviceInfo>& devices) {
  j.BeginArray();
  for (const auto& d : devices) {
    j.BeginObject().Key("id").String(d.id).Key("current").Bool(d.current);
    j.Key("created_at_ms").Int(d.created_at_ms).Key("fingerprint").String(d.fingerprint).EndObject();
  }
  j.EndArray();
}

void WriteMembers(json::Writer& j, const std::vector<MemberInfo>& members) {
  j.BeginArray();
  for (const auto& m : members) {
    j.BeginObject().Key("name").String(m.name).Key("role").String(m.role);
    j.Key("identity_fingerprint").String(m.identity_fingerprint).Key("verified").Bool(m.verified);
    j.Key("devices").Int(m.devices);
    if (!m.warning.empty()) j.Key("warning").String(m.warning);
    j.EndObject();
  }
  j.EndArray();
}

void WriteInbox(json::Writer& j, const std::vector<InboxMessage>& messages) {
  j.BeginArray();
  for (const auto& m : messages) {
    j.BeginObject();
    j.Key("id").String(m.id);
    j.Key("from").String(m.from);
    j.Key("from_device").String(m.from_device);
    j.Key("sent_at_ms").Int(m.sent_at_ms);
    j.Key("received_at_ms").Int(m.received_at_ms);
    j.Key("text").String(m.text);
    j.EndObject();
  }
  j.EndArray();
}

void WriteStatusFields(json::Writer& j, const Client::DeviceStatus& s) {
  j.Key("joined").Bool(s.joined);
  j.Key("relay_reachable").Bool(s.relay_reachable);
  j.Key("relay_endpoint").String(s.relay_endpoint);
  j.Key("relay_fingerprint").String(s.relay_fingerprint);
  j.Key("relay_key_pinned").Bool(!s.relay_fingerprint.empty());
  j.Key("outbox").Int(s.outbox);
  j.Key("pending_uploads").Int(s.pending_uploads);
  j.Key("last_sync_ms").Int(s.last_sync_ms);
  j.Key("log_alarm").Bool(s.log_alarm);
  if (s.log_alarm) j.Key("log_alarm_reason").String(s.log_alarm_reason);
  j.Key("pending_timestamps").Int(s.pending_timestamps);
  if (!s.relay_error.empty()) j.Key("relay_error").String(s.relay_error);
}

void WriteSyncFields(json::Writer& j, const SyncResult& r) {
  j.Key("sent").Int(r.sent);
  j.Key("outbox").Int(r.outbox_left);
  j.Key("received").Int(r.received);
  j.Key("duplicates").Int(r.duplicates);
  j.Key("rejected").Int(static_cast<int64_t>(r.rejected.size()));
}

void WriteStamp(json::Writer& j, const StampSummary& r) {
  j.BeginObject().Key("stamped").Int(r.stamped).Key("pending").Int(r.pending).Key("problems");
  WriteNames(j, r.problems);
  j.EndObject();
}

void WriteTsas(json::Writer& j, const std::vector<TsaInfo>& tsas) {
  j.BeginArray();
  for (const auto& t : tsas) j.BeginObject().Key("url").String(t.url).Key("added_at").String(Iso(t.added_at_ms)).EndObject();
  j.EndArray();
}

}  // namespace vigil::client::views
