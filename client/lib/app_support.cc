// Small additions for long-running programs (vigil app): the list of sent
// messages with their delivery state, drafts, relay retry.
#include <string>

#include "client/lib/client.h"
#include "client/lib/store_util.h"

namespace vigil::client {
namespace {

constexpr char kDraftPrefix[] = "draft:";
constexpr size_t kMaxDraftKey = 100;
constexpr size_t kMaxDraftText = 1024 * 1024;

Status CheckDraftKey(const std::string& key) {
  if (key.empty() || key.size() > kMaxDraftKey) {
    return Status::InvalidArgument("a draft key has 1 to 100 characters");
  }
  for (char c : key) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == ':' ||
              c == '.' || c == '_' || c == '-';
    if (!ok) return Status::InvalidArgument("a draft key has only letters, digits and : . _ -");
  }
  return Status::Ok();
}

}  // namespace

StatusOr<std::vector<SentMessage>> Client::SentMessages() {
  std::vector<SentMessage> out;
  VIGIL_ASSIGN_OR_RETURN(auto st_cached, db_.PrepareCached(
      "SELECT m.message_id, m.peer, m.sent_at, m.body, "
      "EXISTS(SELECT 1 FROM outbox o WHERE o.message_id = m.message_id) "
      "FROM messages m WHERE m.direction = 'out' ORDER BY m.sent_at, m.rowid"));
  auto& st = *st_cached;
  for (;;) {
    VIGIL_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    SentMessage m;
    m.id = HexEncode(st.ColumnBlob(0));
    m.to = st.ColumnText(1);
    m.sent_at_ms = st.ColumnInt64(2);
    Bytes body = st.ColumnBlob(3);
    m.text = ToString(body);
    crypto::Wipe(std::span<uint8_t>(body));
    m.delivered = st.ColumnInt64(4) == 0;
    out.push_back(std::move(m));
  }
  return out;
}

Status Client::PutDraft(const std::string& key, const std::string& text) {
  VIGIL_RETURN_IF_ERROR(CheckDraftKey(key));
  if (text.size() > kMaxDraftText) return Status::InvalidArgument("a draft is at most 1 MiB");
  std::string value = std::to_string(NowMs()) + "\n" + text;
  Status s = PutConfig(db_, (kDraftPrefix + key).c_str(), AsBytes(value));
  crypto::Wipe(value);
  return s;
}

StatusOr<Draft> Client::GetDraft(const std::string& key) {
  VIGIL_RETURN_IF_ERROR(CheckDraftKey(key));
  VIGIL_ASSIGN_OR_RETURN(auto v, GetConfig(db_, (kDraftPrefix + key).c_str()));
  if (!v) return Status::NotFound("no draft " + key);
  std::string_view all(reinterpret_cast<const char*>(v->span().data()), v->span().size());
  size_t nl = all.find('\n');
  if (nl == std::string_view::npos) return Status::DataLoss("draft " + key + " is damaged");
  Draft d;
  d.key = key;
  d.updated_ms = std::strtoll(std::string(all.substr(0, nl)).c_str(), nullptr, 10);
  d.text = std::string(all.substr(nl + 1));
  return d;
}

Status Client::DeleteDraft(const std::string& key) {
  VIGIL_RETURN_IF_ERROR(CheckDraftKey(key));
  VIGIL_ASSIGN_OR_RETURN(auto st_cached, db_.PrepareCached("DELETE FROM config WHERE key = ?"));
  auto& st = *st_cached;
  st.Bind(1, kDraftPrefix + key);
  return st.Run();
}

StatusOr<std::vector<Draft>> Client::ListDrafts() {
  std::vector<Draft> out;
  VIGIL_ASSIGN_OR_RETURN(auto st_cached, db_.PrepareCached(
      "SELECT key, value FROM config WHERE substr(key, 1, 6) = 'draft:' ORDER BY key"));
  auto& st = *st_cached;
  for (;;) {
    VIGIL_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    Draft d;
    d.key = st.ColumnText(0).substr(6);
    crypto::SecretBytes value = st.ColumnSecret(1);
    std::string_view all(reinterpret_cast<const char*>(value.span().data()), value.span().size());
    d.updated_ms = std::strtoll(std::string(all.substr(0, all.find('\n'))).c_str(), nullptr, 10);
    out.push_back(std::move(d));
  }
  return out;
}

StatusOr<int> Client::OutboxSize() {
  VIGIL_ASSIGN_OR_RETURN(auto st_cached, db_.PrepareCached("SELECT count(*) FROM outbox"));
  auto& st = *st_cached;
  VIGIL_ASSIGN_OR_RETURN(bool row, st.Step());
  return row ? static_cast<int>(st.ColumnInt64(0)) : 0;
}

void Client::RetryRelay() {
  offline_ = Status::Ok();
  conn_.reset();
}

}  // namespace vigil::client
