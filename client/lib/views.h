// The JSON shapes of the client's records, shared by the CLI's --json output
// and the app's JSON API (client/app/api.cc), so both faces say the same
// thing with the same field names.
//
// Thread safety: pure functions over the caller's Writer.
#ifndef VIGIL_CLIENT_LIB_VIEWS_H_
#define VIGIL_CLIENT_LIB_VIEWS_H_

#include <string>
#include <vector>

#include "client/lib/client.h"
#include "vigil/json.h"

namespace vigil::client::views {

// "2026-12-01T18:00:00.000Z" (UTC, milliseconds).
std::string Iso(int64_t ms);

void WriteNames(json::Writer& j, const std::vector<std::string>& names);
void WriteVisit(json::Writer& j, const VisitInfo& v, bool with_events);
void WriteNote(json::Writer& j, const NoteInfo& n);
void WriteWhoami(json::Writer& j, const WhoAmI& w);
void WriteDevices(json::Writer& j, const std::vector<DeviceInfo>& devices);
void WriteMembers(json::Writer& j, const std::vector<MemberInfo>& members);
void WriteInbox(json::Writer& j, const std::vector<InboxMessage>& messages);
// The fields of `vigil status --json`, inside an object the caller opened.
void WriteStatusFields(json::Writer& j, const Client::DeviceStatus& s);
// The fields of `vigil sync --json`, inside an object the caller opened.
void WriteSyncFields(json::Writer& j, const SyncResult& r);
void WriteStamp(json::Writer& j, const StampSummary& r);
void WriteTsas(json::Writer& j, const std::vector<TsaInfo>& tsas);

}  // namespace vigil::client::views

#endif  // VIGIL_CLIENT_LIB_VIEWS_H_
