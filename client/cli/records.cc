// visit and note commands.
#include <ctime>
#include <fstream>
#include <iostream>
#include <sstream>

#include "client/cli/commands.h"
#include "client/lib/bundle.h"
#include "client/lib/views.h"
#include "vigil/json.h"

namespace vigil::cli_client {
namespace {

using client::views::Iso;
using client::views::WriteNames;
using client::views::WriteNote;
using client::views::WriteVisit;

StatusOr<std::string> TextFrom(const cli::Args& args) {
  if (args.Has("text") == args.Has("file")) {
    return Status::InvalidArgument("give exactly one of --text or --file");
  }
  if (auto t = args.Get("text")) return *t;
  std::ifstream in(*args.Get("file"), std::ios::binary);
  if (!in) return Status::NotFound("cannot read " + *args.Get("file"));
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void PrintNoteText(const client::NoteInfo& n) {
  std::cout << "note " << n.id << " (visit " << n.visit_id.substr(0, 8) << ")\n";
  for (const auto& v : n.versions) {
    std::cout << "  v" << v.number << " by " << v.author << " at " << Iso(v.created_at_ms)
              << "  signature " << (v.signature_valid ? "valid" : "INVALID")
              << (v.status == "ok" ? "" : "  [" + v.status + ": " + v.problem + "]") << "\n"
              << "    " << v.text << "\n";
    for (const auto& a : v.anchors) {
      std::cout << "    timestamp " << a.source << ": "
                << (a.status == "ok" ? Iso(a.time_ms) : a.status + (a.problem.empty() ? "" : " (" + a.problem + ")"))
                << "\n";
    }
  }
  for (const auto& p : n.problems) std::cout << "  PROBLEM: " << p << "\n";
}

}  // namespace

int CmdVisit(const Context& ctx, const ArgList& argv) {
  if (argv.empty()) {
    return Fail(Status::InvalidArgument(
        "usage: vigil visit assign|list|show|accept|decline|complete|cancel ..."));
  }
  std::string sub = argv[0];
  ArgList rest(argv.begin() + 1, argv.end());
  auto args = cli::Args::Parse(rest,
                               {"volunteer", "legal", "detainee", "a-number", "facility", "at",
                                "reason", "passphrase-file"},
                               {"json"});
  if (!args.ok()) return Fail(args.status());
  auto c = OpenClient(ctx, *args);
  if (!c.ok()) return Fail(c.status());
  client::Client& cl = **c;
  const auto& pos = args->positional();
  if (sub == "assign") {
    client::Client::AssignRequest req;
    req.volunteers = args->GetAll("volunteer");
    req.legal = args->GetAll("legal");
    req.detainee = args->Get("detainee").value_or("");
    req.a_number = args->Get("a-number").value_or("");
    req.facility = args->Get("facility").value_or("");
    req.at = args->Get("at").value_or("");
    auto id = cl.AssignVisit(req);
    if (!id.ok()) return Fail(id.status());
    std::cout << *id << std::endl;
    return 0;
  }
  if (sub == "list") {
    auto visits = cl.ListVisits();
    if (!visits.ok()) return Fail(visits.status());
    if (args->Has("json")) {
      json::Writer j(true);
      j.BeginArray();
      for (const auto& v : *visits) WriteVisit(j, v, false);
      j.EndArray();
      std::cout << j.Take() << std::endl;
    } else {
      for (const auto& v : *visits) {
        std::cout << v.id << "  " << v.status << "  " << v.at << "  " << v.facility << "\n";
      }
    }
    return 0;
  }
  if (pos.size() != 1) return Fail(Status::InvalidArgument("usage: vigil visit " + sub + " VISIT_ID"));
  if (sub == "show") {
    auto v = cl.ShowVisit(pos[0]);
    if (!v.ok()) return Fail(v.status());
    json::Writer j(true);
    WriteVisit(j, *v, true);
    std::cout << j.Take() << std::endl;
    return 0;
  }
  store::v1::VisitEventKind kind;
  if (sub == "accept") kind = store::v1::ACCEPT;
  else if (sub == "decline") kind = store::v1::DECLINE;
  else if (sub == "complete") kind = store::v1::COMPLETE;
  else if (sub == "cancel") kind = store::v1::CANCEL;
  else return Fail(Status::InvalidArgument("unknown visit command '" + sub + "'"));
  std::string reason = args->Get("reason").value_or("");
  if (kind == store::v1::DECLINE && reason.empty()) {
    return Fail(Status::InvalidArgument("say why with --reason"));
  }
  Status s = cl.VisitAction(pos[0], kind, reason);
  if (!s.ok()) return Fail(s);
  return 0;
}

int CmdNote(const Context& ctx, const ArgList& argv) {
  if (argv.empty()) return Fail(Status::InvalidArgument("usage: vigil note add|amend|list|show ..."));
  std::string sub = argv[0];
  ArgList rest(argv.begin() + 1, argv.end());
  auto args = cli::Args::Parse(rest, {"visit", "text", "file", "attach", "version", "index", "out",
                                      "passphrase-file", "plugin"},
                               {"json"});
  if (!args.ok()) return Fail(args.status());
  const auto& pos = args->positional();
  if (sub == "add" || sub == "amend") {
    StatusOr<std::string> text = std::string();
    if (args->Has("text") || args->Has("file") || !args->Has("attach")) text = TextFrom(*args);
    if (!text.ok()) return Fail(text.status());
    std::vector<client::AttachmentInput> attachments;
    for (const auto& path : args->GetAll("attach")) {
      std::ifstream in(path, std::ios::binary | std::ios::ate);
      if (!in) return Fail(Status::NotFound("cannot read " + path));
      auto size = static_cast<size_t>(in.tellg());
      if (size > client::kMaxAttachmentSize) {
        return Fail(Status::InvalidArgument(path + " is larger than 25 MB"));
      }
      in.seekg(0);
      client::AttachmentInput a;
      a.name = path.substr(path.rfind('/') == std::string::npos ? 0 : path.rfind('/') + 1);
      a.data.resize(size);
      in.read(reinterpret_cast<char*>(a.data.data()), static_cast<std::streamsize>(size));
      attachments.push_back(std::move(a));
    }
    auto c = OpenClient(ctx, *args);
    if (!c.ok()) return Fail(c.status());
    if (sub == "add") {
      auto visit = args->Require("visit");
      if (!visit.ok()) return Fail(visit.status());
      auto id = (*c)->AddNote(*visit, *text, attachments);
      crypto::Wipe(*text);
      if (!id.ok()) return Fail(id.status());
      std::cout << *id << std::endl;
      return 0;
    }
    if (pos.size() != 1) return Fail(Status::InvalidArgument("usage: vigil note amend NOTE_ID --text T"));
    auto v = (*c)->AmendNote(pos[0], *text, attachments);
    crypto::Wipe(*text);
    if (!v.ok()) return Fail(v.status());
    std::cout << v->hash << std::endl;
    return 0;
  }
  auto c = OpenClient(ctx, *args);
  if (!c.ok()) return Fail(c.status());
  if (sub == "list") {
    auto notes = (*c)->ListNotes(args->Get("visit"));
    if (!notes.ok()) return Fail(notes.status());
    if (args->Has("json")) {
      json::Writer j(true);
      j.BeginArray();
      for (const auto& n : *notes) WriteNote(j, n);
      j.EndArray();
      std::cout << j.Take() << std::endl;
    } else {
      for (const auto& n : *notes) PrintNoteText(n);
    }
    return 0;
  }
  if (sub == "attachment") {
    if (pos.size() != 1 || !args->Has("out")) {
      return Fail(Status::InvalidArgument(
          "usage: vigil note attachment NOTE_ID [--version N] [--index I] --out FILE"));
    }
    int version = 0, index = 0;
    try {
      version = std::stoi(args->Get("version").value_or("0"));
      index = std::stoi(args->Get("index").value_or("0"));
    } catch (const std::exception&) {
      return Fail(Status::InvalidArgument("--version and --index are numbers"));
    }
    auto data = (*c)->AttachmentData(pos[0], version, index);
    if (!data.ok()) return Fail(data.status());
    std::ofstream out(*args->Get("out"), std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data->data()), static_cast<std::streamsize>(data->size()));
    if (!out) return Fail(Status::Internal("cannot write " + *args->Get("out")));
    return 0;
  }
  if (sub == "stamp") {
    if (pos.size() != 1) {
      return Fail(Status::InvalidArgument("usage: vigil note stamp NOTE_ID [--plugin notary|tlog|rfc3161]..."));
    }
    auto r = (*c)->StampNote(pos[0], args->GetAll("plugin"));
    if (!r.ok()) return Fail(r.status());
    if (args->Has("json")) {
      json::Writer j(true);
      client::views::WriteStamp(j, *r);
      std::cout << j.Take() << std::endl;
    } else {
      std::cout << "stamped: " << r->stamped << ", pending: " << r->pending << "\n";
      for (const auto& p : r->problems) std::cout << "  pending: " << p << "\n";
    }
    // Nothing could be stamped and something is still pending: say so in
    // the exit code (it will be retried on the next sync).
    if (r->stamped == 0 && r->pending > 0) {
      std::cerr << "vigil: no timestamp could be obtained now; they stay pending and are retried on sync"
                << std::endl;
      return cli::kExitUnavailable;
    }
    return 0;
  }
  if (sub == "show") {
    if (pos.size() != 1) return Fail(Status::InvalidArgument("usage: vigil note show NOTE_ID"));
    auto n = (*c)->ShowNote(pos[0]);
    if (!n.ok()) return Fail(n.status());
    if (args->Has("json")) {
      json::Writer j(true);
      WriteNote(j, *n);
      std::cout << j.Take() << std::endl;
    } else {
      PrintNoteText(*n);
    }
    return 0;
  }
  return Fail(Status::InvalidArgument("unknown note command '" + sub + "'"));
}

int CmdTsa(const Context& ctx, const ArgList& argv) {
  if (argv.empty()) return Fail(Status::InvalidArgument("usage: vigil tsa add URL --ca FILE | vigil tsa list"));
  std::string sub = argv[0];
  ArgList rest(argv.begin() + 1, argv.end());
  auto args = cli::Args::Parse(rest, {"ca", "passphrase-file"}, {"json"});
  if (!args.ok()) return Fail(args.status());
  auto c = OpenClient(ctx, *args);
  if (!c.ok()) return Fail(c.status());
  if (sub == "add") {
    if (args->positional().size() != 1 || !args->Has("ca")) {
      return Fail(Status::InvalidArgument("usage: vigil tsa add URL --ca CA_CERT.pem"));
    }
    Status s = (*c)->AddTsa(args->positional()[0], *args->Get("ca"));
    if (!s.ok()) return Fail(s);
    std::cout << "added " << args->positional()[0] << std::endl;
    return 0;
  }
  if (sub == "list") {
    auto l = (*c)->ListTsas();
    if (!l.ok()) return Fail(l.status());
    if (args->Has("json")) {
      json::Writer j(true);
      client::views::WriteTsas(j, *l);
      std::cout << j.Take() << std::endl;
    } else {
      for (const auto& t : *l) std::cout << t.url << "\n";
    }
    return 0;
  }
  return Fail(Status::InvalidArgument("unknown tsa command '" + sub + "'"));
}

}  // namespace vigil::cli_client

namespace vigil::cli_client {

int CmdExport(const Context& ctx, const ArgList& argv) {
  auto args = cli::Args::Parse(argv, {"visit", "out", "passphrase-file"}, {"no-sync"});
  if (!args.ok()) return Fail(args.status());
  bool is_visit = args->Has("visit");
  if (!args->Has("out") || (is_visit == (args->positional().size() == 1)) || args->positional().size() > 1) {
    return Fail(Status::InvalidArgument("usage: vigil export NOTE_ID|--visit VISIT_ID --out DIR"));
  }
  auto c = OpenClient(ctx, *args);
  if (!c.ok()) return Fail(c.status());
  // Bring in the team's latest versions and timestamps first (best effort:
  // offline, the bundle holds what this device has).
  if (!args->Has("no-sync")) {
    (*c)->set_timeout_ms(5000);
    auto s = (*c)->Sync();
    if (!s.ok()) std::cerr << "vigil: note: could not sync first (" << s.status().message() << "); exporting what this device holds" << std::endl;
  }
  std::string id = is_visit ? *args->Get("visit") : args->positional()[0];
  Status s = (*c)->Export(id, is_visit, *args->Get("out"));
  if (!s.ok()) return Fail(s);
  std::cout << *args->Get("out") << std::endl;
  return 0;
}

int CmdVerify(const Context&, const ArgList& argv) {
  auto args = cli::Args::Parse(argv, {}, {"json"});
  if (!args.ok()) return Fail(args.status());
  if (args->positional().size() != 1) return Fail(Status::InvalidArgument("usage: vigil verify BUNDLE_DIR"));
  auto r = client::VerifyBundle(args->positional()[0]);
  if (!r.ok()) {
    std::cerr << "vigil: verification FAILED: " << r.status().message() << std::endl;
    return 1;
  }
  if (args->Has("json")) {
    json::Writer j(true);
    j.BeginObject().Key("verified").Bool(true).Key("checks");
    client::views::WriteNames(j, r->lines);
    j.EndObject();
    std::cout << j.Take() << std::endl;
  } else {
    for (const auto& l : r->lines) std::cout << l << "\n";
  }
  return 0;
}

}  // namespace vigil::cli_client
