// vigil-bench: measured, not guessed. One process run that measures the raw
// transport ceiling of this machine and the real relay side by side, with
// the same message size, and prints one JSON document.
//
//   vigil-bench relay [--json] [--messages N] [--relay-bin PATH] [--callgrind FILE]
//   vigil-bench sync [--json] [--notes N] [--stamped] [--no-link]
//   vigil-bench connections [--json] [--devices N]
//   vigil-bench crypto [--json]
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <map>
#include <sstream>
#include <thread>
#include <vector>

#include "client/lib/client.h"
#include "client/lib/envelope.h"
#include "vigil/session.h"
#include "testing/testing.h"
#include "vigil/crypto.h"
#include "vigil/identity.h"
#include "vigil/json.h"
#include "vigil/net.h"
#include "vigil/wire.h"

namespace vigil::bench {
namespace {

using Clock = std::chrono::steady_clock;
constexpr size_t kPayload = 1024;

double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

// CPU time (user + system) of the calling thread, in seconds: the client
// library does its work on the caller's thread (ZeroMQ's I/O thread aside).
double ThreadCpuSeconds() {
  struct rusage ru;
  if (getrusage(RUSAGE_THREAD, &ru) != 0) return 0;
  auto tv = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
  return tv(ru.ru_utime) + tv(ru.ru_stime);
}

// --- baseline: raw DEALER -> ROUTER over CURVE, application acks, window 100 ---

double BaselineMsgsPerSecond(int messages) {
  net::Context ctx;
  crypto::DhKeyPair server = crypto::GenerateDhKeyPair();
  crypto::DhKeyPair client = crypto::GenerateDhKeyPair();
  auto zap = net::ZapHandler::Bind(ctx);
  if (!zap.ok()) return 0;
  std::atomic<bool> stop{false};
  std::thread zap_thread([&] {
    while (!stop) {
      (*zap)->ServeOne(100, [](const net::ZapRequest&) { return std::optional<std::string>("d:bench"); })
          .status().IgnoreError();
    }
  });
  int port = testing::FreeLoopbackPort();
  std::string endpoint = "tcp://127.0.0.1:" + std::to_string(port);
  auto router = net::ServerSocket::Bind(ctx, endpoint, server.secret_key);
  if (!router.ok()) {
    stop = true;
    zap_thread.join();
    return 0;
  }
  std::thread echo([&] {
    while (!stop) {
      auto ready = (*router)->Poll(100);
      if (!ready.ok() || !*ready) continue;
      for (;;) {
        auto in = (*router)->TryReceive();
        if (!in.ok() || !*in) break;
        Bytes ack(8);
        std::copy_n((*in)->body.begin(), std::min<size_t>(8, (*in)->body.size()), ack.begin());
        (*router)->Send((*in)->routing_id, ack).IgnoreError();
      }
    }
  });
  auto conn = net::ClientConnection::Connect(ctx, endpoint, server.public_key, client.public_key,
                                             client.secret_key);
  double rate = 0;
  if (conn.ok() && (*conn)->WaitConnected(5000)) {
    Bytes msg(kPayload, 0x5a);
    int sent = 0, acked = 0;
    auto start = Clock::now();
    while (acked < messages) {
      while (sent < messages && sent - acked < 100) {
        if (!(*conn)->SendFrames({msg}).ok()) break;
        ++sent;
      }
      auto got = (*conn)->ReceiveFrames(1000);
      if (!got.ok() || !*got) break;
      ++acked;
    }
    rate = acked / Seconds(start, Clock::now());
  }
  stop = true;
  echo.join();
  zap_thread.join();
  return rate;
}

// --- the real relay ---

struct Member {
  std::unique_ptr<client::Client> client;
  client::Client::TransportInfo transport;
};

// How `relay` runs the relay: another build's binary (before/after
// comparisons under the same load), or under callgrind, which counts the
// instructions the relay executes during the throughput run (repeatable on
// a loaded machine, unlike msgs/s; the latency run is skipped then).
struct RelayOptions {
  std::string relay_bin;       // empty: this build's vigil-relay
  std::string callgrind_out;   // empty: no valgrind
};

// How long a sender or the recipient waits for an answer before it
// declares the relay stalled (much longer under valgrind).
int g_stall_ms = 2000;

struct RelayRun {
  double msgs_per_s = 0;         // end to end: sent, committed, fetched, acked, deleted
  double accept_msgs_per_s = 0;  // senders' acks only (the store side)
  double cpu_us_per_msg = 0;  // relay process CPU time (all threads) per message
  // /proc/PID/io of the relay over the throughput run, per message: bytes
  // handed to write(2)/pwrite(2) (the WAL, the checkpoints into relay.db,
  // a few eventfd signals; sockets are not counted), write system calls,
  // and bytes that reached the block layer.
  double wchar_per_msg = 0, syscw_per_msg = 0, write_bytes_per_msg = 0;
  double instructions_per_msg = 0;  // callgrind only
  double p50_ms = 0, p99_ms = 0;
  double peak_rss_mb = 0;
  std::string error;
};

// utime + stime of the whole process, in seconds.
double CpuSeconds(pid_t pid) {
  std::string stat = testing::ReadFile("/proc/" + std::to_string(pid) + "/stat");
  size_t close = stat.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream in(stat.substr(close + 2));
  std::string field;
  long long utime = 0, stime = 0;
  for (int i = 3; in >> field; ++i) {  // field 3 is the state
    if (i == 14) utime = std::atoll(field.c_str());
    if (i == 15) {
      stime = std::atoll(field.c_str());
      break;
    }
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// A "Key:   123 kB" line of /proc/PID/status, in kB (0 if absent).
int64_t StatusKb(pid_t pid, const std::string& key) {
  std::string status = testing::ReadFile("/proc/" + std::to_string(pid) + "/status");
  size_t pos = status.find("\n" + key + ":");
  if (pos == std::string::npos) return 0;
  return std::atoll(status.c_str() + pos + key.size() + 2);
}

int64_t PeakRssKb(pid_t pid) { return StatusKb(pid, "VmHWM"); }

// One "key: value" figure of /proc/PID/io (0 if absent).
int64_t IoFigure(pid_t pid, const std::string& key) {
  std::string io = testing::ReadFile("/proc/" + std::to_string(pid) + "/io");
  size_t pos = io.find(key + ":");
  if (pos == std::string::npos || (pos > 0 && io[pos - 1] != '\n')) return 0;
  return std::atoll(io.c_str() + pos + key.size() + 1);
}

struct IoFigures {
  int64_t wchar = 0, syscw = 0, write_bytes = 0;
};
IoFigures ReadIo(pid_t pid) {
  return {IoFigure(pid, "wchar"), IoFigure(pid, "syscw"), IoFigure(pid, "write_bytes")};
}

// The event total of a callgrind output file ("totals:" or "summary:").
int64_t CallgrindTotal(const std::string& path) {
  std::string text = testing::ReadFile(path);
  for (const char* key : {"\ntotals:", "\nsummary:"}) {
    size_t pos = text.find(key);
    if (pos != std::string::npos) return std::atoll(text.c_str() + pos + std::strlen(key));
  }
  return 0;
}

// One raw connection that pipelines Sends to `to` (window), counting acks.
// When `latencies` is given it paces at `rate_per_s` and records send->ack.
void SendLoop(const Member& m, const Bytes& to_device, int count, int window,
              std::atomic<int>* acked, std::vector<double>* latencies, double rate_per_s) {
  net::Context ctx;
  auto conn = net::ClientConnection::Connect(ctx, m.transport.endpoint, m.transport.relay_public,
                                             m.transport.transport_public, m.transport.transport_secret);
  if (!conn.ok() || !(*conn)->WaitConnected(5000)) return;
  Bytes blob = crypto::RandomBytes(kPayload);
  std::map<uint64_t, Clock::time_point> in_flight;
  uint64_t next_id = crypto::RandomUint64() >> 8;
  int sent = 0, done = 0;
  auto start = Clock::now();
  while (done < count) {
    while (sent < count && static_cast<int>(in_flight.size()) < window) {
      if (rate_per_s > 0) {
        auto due = start + std::chrono::duration<double>(sent / rate_per_s);
        if (Clock::now() < due) break;
      }
      wire::v1::Request req;
      req.set_version(wire::kProtocolVersion);
      req.set_request_id(++next_id);
      auto* s = req.mutable_send();
      s->set_message_id(ToString(crypto::RandomBytes(16)));
      auto* d = s->add_deliveries();
      d->set_device_id(ToString(to_device));
      d->set_blob(ToString(blob));
      if (!(*conn)->SendFrames({wire::EncodeRequest(req)}).ok()) return;
      in_flight[next_id] = Clock::now();
      ++sent;
    }
    auto got = (*conn)->ReceiveFrames(rate_per_s > 0 ? 1 : g_stall_ms);
    if (!got.ok()) return;
    if (!*got) {
      if (rate_per_s > 0) continue;
      return;  // stalled
    }
    auto resp = wire::DecodeResponse((*got)->back());
    if (!resp.ok() || resp->request_id() == 0) continue;
    auto it = in_flight.find(resp->request_id());
    if (it == in_flight.end()) continue;
    if (latencies) {
      latencies->push_back(std::chrono::duration<double, std::milli>(Clock::now() - it->second).count());
    }
    in_flight.erase(it);
    ++done;
    ++*acked;
  }
}

// The recipient: fetches (cursor after the last seq seen) and acks what it
// fetched, so the relay deletes it, until `expected` items were acked or
// `stop`. The next Fetch leaves with the Ack, as a client that processes
// one batch while asking for the next would; when the mailbox is empty it
// waits for the relay's new-mail notice (or 5 ms). Returns the items acked.
int DrainLoop(const Member& m, int expected, const std::atomic<bool>* stop) {
  net::Context ctx;
  auto conn = net::ClientConnection::Connect(ctx, m.transport.endpoint, m.transport.relay_public,
                                             m.transport.transport_public, m.transport.transport_secret);
  if (!conn.ok() || !(*conn)->WaitConnected(5000)) return 0;
  uint64_t next_id = 0, fetch_id = 0, cursor = 0;
  int fetched = 0, acked = 0, acks_in_flight = 0;
  auto send = [&](wire::v1::Request& req) {
    req.set_version(wire::kProtocolVersion);
    req.set_request_id(++next_id);
    return (*conn)->SendFrames({wire::EncodeRequest(req)}).ok();
  };
  auto fetch = [&] {
    wire::v1::Request f;
    f.mutable_fetch()->set_after_seq(cursor);
    f.mutable_fetch()->set_max_items(200);
    if (!send(f)) return false;
    fetch_id = next_id;
    return true;
  };
  if (!fetch()) return 0;
  while ((acked < expected || acks_in_flight > 0) && !stop->load()) {
    auto got = (*conn)->ReceiveFrames(fetch_id == 0 ? 5 : g_stall_ms);
    if (!got.ok()) break;
    if (!*got) {
      if (fetch_id != 0) break;  // stalled
      if (fetched < expected && !fetch()) break;
      continue;
    }
    auto resp = wire::DecodeResponse((*got)->back());
    if (!resp.ok()) continue;
    if (resp->request_id() == 0) {  // new-mail notice
      if (fetch_id == 0 && fetched < expected && !fetch()) break;
      continue;
    }
    if (resp->has_ack()) {
      acked += static_cast<int>(resp->ack().deleted());
      --acks_in_flight;
      continue;
    }
    if (resp->request_id() != fetch_id) continue;
    fetch_id = 0;
    if (resp->fetch().items_size() == 0) {
      continue;  // wait for a notice
    }
    wire::v1::Request a;
    for (const auto& it : resp->fetch().items()) a.mutable_ack()->add_seqs(it.seq());
    cursor = resp->fetch().items(resp->fetch().items_size() - 1).seq();
    fetched += resp->fetch().items_size();
    if (!send(a)) break;
    ++acks_in_flight;
    if (fetched < expected && !fetch()) break;
  }
  return acked;
}

RelayRun RunRelay(int messages, const RelayOptions& opt) {
  RelayRun out;
  testing::TempDir dir;
  testing::RelayFixture relay(dir);
  relay.set_serve_args({"--rate-limit", "1000000"});
  if (!opt.relay_bin.empty()) relay.set_relay_binary(opt.relay_bin);
  const bool callgrind = !opt.callgrind_out.empty();
  if (callgrind) {
    relay.set_serve_wrapper({"/usr/bin/valgrind", "--tool=callgrind", "--instr-atstart=no",
                             "--callgrind-out-file=" + opt.callgrind_out});
    relay.set_start_timeout_ms(300000);
    g_stall_ms = 120000;
  }
  if (Status s = relay.Start(); !s.ok()) {
    out.error = s.ToString();
    return out;
  }
  // Nine members: eight senders and one recipient.
  std::vector<Member> members;
  for (int i = 0; i < 9; ++i) {
    std::string name = "m" + std::to_string(i);
    std::string code = relay.Invite("volunteer", name);
    auto c = client::Client::Init(dir.Sub(name), AsBytes("bench pass"));
    if (!c.ok() || !(*c)->Join(code).ok()) {
      out.error = "cannot enroll bench members";
      return out;
    }
    auto t = (*c)->Transport();
    members.push_back({std::move(*c), std::move(*t)});
  }
  const Member& recipient = members[8];
  const int per_sender = messages / 8;

  // Throughput, end to end: 8 concurrent senders (acks only after commit)
  // while the recipient fetches and acks (so the relay deletes); the clock
  // stops when the recipient has acked the last message.
  std::atomic<int> acked{0};
  std::atomic<bool> stop{false};
  int delivered = 0;
  const pid_t relay_pid = relay.process()->pid();
  auto callgrind_control = [&](const char* on_off) {
    testing::CommandResult r = testing::RunCommand(
        {"/usr/bin/callgrind_control", "-i", on_off, std::to_string(relay_pid)}, {}, "", 60000);
    if (r.exit_code != 0) out.error = std::string("callgrind_control -i ") + on_off + " failed: " + r.err;
  };
  if (callgrind) callgrind_control("on");
  const double cpu_start = CpuSeconds(relay_pid);
  const IoFigures io_start = ReadIo(relay_pid);
  auto start = Clock::now();
  std::thread drain([&] { delivered = DrainLoop(recipient, per_sender * 8, &stop); });
  std::vector<std::thread> senders;
  for (int i = 0; i < 8; ++i) {
    senders.emplace_back(SendLoop, std::cref(members[i]), recipient.transport.device_id, per_sender,
                         32, &acked, nullptr, 0.0);
  }
  for (auto& t : senders) t.join();
  out.accept_msgs_per_s = acked.load() / Seconds(start, Clock::now());
  if (acked.load() < per_sender * 8) stop = true;  // a sender stalled: the drain cannot finish
  drain.join();
  out.msgs_per_s = delivered / Seconds(start, Clock::now());
  if (delivered > 0) {
    out.cpu_us_per_msg = (CpuSeconds(relay_pid) - cpu_start) * 1e6 / delivered;
    const IoFigures io_end = ReadIo(relay_pid);
    out.wchar_per_msg = static_cast<double>(io_end.wchar - io_start.wchar) / delivered;
    out.syscw_per_msg = static_cast<double>(io_end.syscw - io_start.syscw) / delivered;
    out.write_bytes_per_msg = static_cast<double>(io_end.write_bytes - io_start.write_bytes) / delivered;
  }
  if (callgrind) callgrind_control("off");
  if (delivered < per_sender * 8) {
    out.error = "only " + std::to_string(delivered) + " of " + std::to_string(per_sender * 8) +
                " messages made it end to end";
    return out;
  }
  if (callgrind) {
    // callgrind writes its file when the relay exits.
    Status stopped = relay.Stop();
    if (!stopped.ok()) {
      auto code = relay.process()->Wait(120000);
      if (!code.ok() || *code != 0) out.error = "the relay under valgrind did not stop cleanly";
    }
    out.instructions_per_msg = static_cast<double>(CallgrindTotal(opt.callgrind_out)) / delivered;
    return out;
  }

  // Latency at a fixed offered load of 1,000 notes/s for 3 s, from an
  // empty mailbox, with the recipient draining as it goes.
  std::vector<double> lat;
  std::atomic<int> acked2{0};
  std::atomic<bool> stop2{false};
  std::thread drain2([&] { DrainLoop(recipient, 3000, &stop2); });
  SendLoop(members[0], recipient.transport.device_id, 3000, 1000, &acked2, &lat, 1000.0);
  if (acked2.load() < 3000) stop2 = true;
  drain2.join();
  std::sort(lat.begin(), lat.end());
  if (!lat.empty()) {
    out.p50_ms = lat[lat.size() / 2];
    out.p99_ms = lat[std::min(lat.size() - 1, lat.size() * 99 / 100)];
  }
  out.peak_rss_mb = PeakRssKb(relay.process()->pid()) / 1024.0;
  relay.Stop().IgnoreError();
  return out;
}

// --- crypto: seal+sign and verify+open of a 1 KiB note ---

std::pair<double, double> CryptoOpsPerSecond(int n) {
  // One sender and one recipient device with an X3DH session, as on a team:
  // seal+sign the content, ratchet-encrypt its key; then decrypt, verify, open.
  Bytes sender = crypto::RandomBytes(16), rid = crypto::RandomBytes(16);
  auto signing = crypto::GenerateSigningKeyPair(), rsigning = crypto::GenerateSigningKeyPair();
  auto dh = crypto::GenerateDhKeyPair(), rdh = crypto::GenerateDhKeyPair();
  session::DeviceIdentity a{sender, signing.public_key, dh.public_key}, b{rid, rsigning.public_key, rdh.public_key};
  session::PrekeySecret spk{1, crypto::GenerateDhKeyPair()};
  auto signed_spk = session::SignPrekey(rsigning.secret_key, 1, spk.key_pair, 1);
  auto s = session::Session::InitiateX3dh(a, dh.secret_key, {b, *signed_spk, std::nullopt, {}},
                                          crypto::GenerateDhKeyPair(), crypto::GenerateDhKeyPair());
  if (!s.ok()) std::abort();
  Bytes payload = crypto::RandomBytes(kPayload);
  std::vector<Bytes> blobs;
  auto t0 = Clock::now();
  for (int i = 0; i < n; ++i) {
    Bytes mid = crypto::RandomBytes(16);
    auto content = client::SealContent(mid, sender, signing.secret_key, payload);
    auto msg = s->Encrypt(content->key_package.span(), crypto::GenerateDhKeyPair());
    blobs.push_back(client::BuildEnvelope(mid, sender, rid, *msg, *content));
  }
  auto t1 = Clock::now();
  std::optional<session::Session> r;
  for (const auto& blob : blobs) {
    auto env = client::ParseEnvelope(blob);
    StatusOr<session::DecryptResult> d =
        r ? r->Decrypt(AsBytes(env->session_message()), 1)
          : session::Session::RespondX3dh(b, rdh.secret_key, a, spk, nullptr, AsBytes(env->session_message()), 1);
    if (!d.ok()) std::abort();
    if (!client::OpenContent(*env, d->plaintext.span(), signing.public_key).ok()) std::abort();
    r = std::move(d->session);
  }
  auto t2 = Clock::now();
  return {n / Seconds(t0, t1), n / Seconds(t1, t2)};
}

// --- sync: a team device receiving and verifying N notes ---

struct SyncRun {
  double setup_seconds = 0;
  // A member's device (on the visit's team, enrolled before the notes were
  // written) fetching its mailbox: every note version and every timestamp
  // receipt, each through its Double Ratchet session.
  double seconds = 0;
  double cpu_seconds = 0;  // the syncing thread's CPU time
  int received = 0;  // items stored: note versions + timestamp receipts
  // A newly linked device of that member (Journey 4) importing the archive
  // the other device sends it: every note version and anchor re-verified.
  double link_answer_seconds = 0;  // the old device building and sending it
  double link_seconds = 0;         // the new device's sync
  double link_cpu_seconds = 0;
  int link_notes = 0;
  std::string error;
};

SyncRun RunSync(int notes, bool link, bool stamped) {
  SyncRun out;
  testing::TempDir dir;
  testing::RelayFixture relay(dir);
  if (stamped) {
    relay.set_serve_args({"--rate-limit", "1000000"});
  } else {
    // A relay that hosts no timestamp plugins: the notes' anchors stay
    // pending on Vic's device, and Lee's mailbox holds the notes alone.
    // (Stamping costs two relay round trips per note, so a stamped setup
    // of 10,000 notes takes many minutes; see --stamped.)
    std::string none = dir.Sub("no-plugins");
    mkdir(none.c_str(), 0700);
    relay.set_serve_args({"--rate-limit", "1000000", "--plugin-dir", none});
  }
  if (Status s = relay.Start(); !s.ok()) {
    out.error = s.ToString();
    return out;
  }
  auto make = [&](const std::string& role, const std::string& name) -> std::unique_ptr<client::Client> {
    auto c = client::Client::Init(dir.Sub(name), AsBytes("bench pass"));
    if (!c.ok() || !(*c)->Join(relay.Invite(role, name)).ok()) return nullptr;
    return std::move(*c);
  };
  auto cora = make("coordinator", "Cora");
  auto vic = make("volunteer", "Vic");
  auto lee = make("legal", "Lee");
  if (!cora || !vic || !lee) {
    out.error = "cannot enroll bench members";
    return out;
  }
  client::Client::AssignRequest req;
  req.volunteers = {"Vic"};
  req.legal = {"Lee"};
  req.detainee = "D. Example";
  req.facility = "Facility";
  req.at = "2026-12-01T10:00-08:00";
  auto visit = cora->AssignVisit(req);
  if (!visit.ok() || !vic->Sync().ok() || !lee->Sync().ok()) {
    out.error = "cannot set up the visit";
    return out;
  }
  // Vic writes the notes (each signed, hash-chained, committed with its
  // timestamps pending and queued: Client::set_deliver_notes_on_write) and
  // syncs after every 100, as a device does that wrote offline: the sync
  // delivers the versions and, with --stamped, stamps them (notary and log:
  // a sync obtains at most 200 timestamps) and sends the team a receipt per
  // timestamp. Lee's
  // mailbox ends up holding what it would if every note had been delivered
  // (and stamped) the moment it was written.
  auto setup_start = Clock::now();
  vic->set_deliver_notes_on_write(false);
  for (int i = 0; i < notes; ++i) {
    if (!vic->AddNote(*visit, "note " + std::to_string(i) + std::string(900, 'n')).ok()) {
      out.error = "cannot write notes";
      return out;
    }
    if ((i + 1) % 100 == 0 || i + 1 == notes) {
      auto r = vic->Sync();
      if (!r.ok()) {
        out.error = "cannot deliver notes: " + r.status().ToString();
        return out;
      }
    }
  }
  std::string last_problem;
  for (int round = 0;; ++round) {
    auto st = vic->GetStatus();
    if (!st.ok()) {
      out.error = st.status().ToString();
      return out;
    }
    if (st->outbox == 0 && (!stamped || st->pending_timestamps == 0)) break;
    if (round == 10) {
      out.error = "after " + std::to_string(round) + " more syncs, " + std::to_string(st->outbox) +
                  " messages still queued and " + std::to_string(st->pending_timestamps) +
                  " timestamps pending" + (last_problem.empty() ? "" : "; last problem: " + last_problem);
      return out;
    }
    auto r = vic->Sync();
    if (!r.ok()) {
      out.error = "cannot deliver notes: " + r.status().ToString();
      return out;
    }
    if (!r->problems.empty()) last_problem = r->problems.back();
  }
  out.setup_seconds = Seconds(setup_start, Clock::now());

  // Measured: Lee's device fetches, decrypts, verifies and stores them all.
  auto start = Clock::now();
  double cpu0 = ThreadCpuSeconds();
  auto r = lee->Sync();
  out.seconds = Seconds(start, Clock::now());
  out.cpu_seconds = ThreadCpuSeconds() - cpu0;
  if (!r.ok()) {
    out.error = r.status().ToString();
    return out;
  }
  out.received = r->received;

  if (link) {
    // Lee links a new device; the old one answers at its next sync with an
    // archive of everything it holds; the new one imports it at its sync.
    auto lee2 = client::Client::Init(dir.Sub("Lee2"), AsBytes("bench pass"));
    if (!lee2.ok()) {
      out.error = lee2.status().ToString();
      return out;
    }
    auto code = lee->CreateLinkCode();
    if (!code.ok() || !(*lee2)->JoinLink(*code).ok()) {
      out.error = "cannot link a new device";
      return out;
    }
    auto a0 = Clock::now();
    auto answered = lee->Sync();
    out.link_answer_seconds = Seconds(a0, Clock::now());
    if (!answered.ok()) {
      out.error = "the old device did not answer the link: " + answered.status().ToString();
      return out;
    }
    auto l0 = Clock::now();
    double lcpu0 = ThreadCpuSeconds();
    auto imported = (*lee2)->Sync();
    out.link_seconds = Seconds(l0, Clock::now());
    out.link_cpu_seconds = ThreadCpuSeconds() - lcpu0;
    if (!imported.ok()) {
      out.error = "the new device did not import: " + imported.status().ToString();
      return out;
    }
    // "this device is now linked: N note versions, ..."
    for (const auto& n : imported->notices) {
      size_t p = n.find("now linked: ");
      if (p != std::string::npos) out.link_notes = std::atoi(n.c_str() + p + 12);
    }
    if (!imported->problems.empty()) {
      out.error = "the new device reported: " + imported->problems.front();
      return out;
    }
  }
  relay.Stop().IgnoreError();
  return out;
}

// --- connections: relay memory with many enrolled, connected devices ---

struct ConnectionsRun {
  int enrolled = 0;
  int connected = 0;  // connections that completed an authenticated Fetch
  double setup_seconds = 0;
  double rss_idle_mb = 0;  // the relay with one member, before the devices
  double rss_mb = 0;       // VmRSS with every connection open
  double peak_rss_mb = 0;  // VmHWM at that point
  std::string error;
};

// Lets this process (and the relay it starts, which inherits the limit)
// hold one descriptor per connection and then some.
ConnectionsRun RunConnections(int devices) {
  ConnectionsRun out;
  if (Status s = testing::RaiseOpenFileLimit(static_cast<uint64_t>(devices) + 256); !s.ok()) {
    out.error = "cannot hold " + std::to_string(devices) + " connections: " + s.message();
    return out;
  }
  testing::TempDir dir;
  testing::RelayFixture relay(dir);
  // The default limit (2,000 open connections) is kept: it is what a
  // deployed relay runs with.
  relay.set_serve_args({"--rate-limit", "1000000"});
  if (Status s = relay.Start(); !s.ok()) {
    out.error = s.ToString();
    return out;
  }
  const pid_t pid = relay.process()->pid();
  // A coordinator makes the invites over the wire (the relay's own invite
  // command unlocks its store with the passphrase KDF every time).
  auto cora = client::Client::Init(dir.Sub("Cora"), AsBytes("bench pass"));
  if (!cora.ok() || !(*cora)->Join(relay.Invite("coordinator", "Cora")).ok()) {
    out.error = "cannot enroll the coordinator";
    return out;
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  out.rss_idle_mb = StatusKb(pid, "VmRSS") / 1024.0;
  auto start = Clock::now();

  // Enrollment as a device does it (client/lib/client.cc Join), minus the
  // device store: fresh identity, device and transport keys, a certificate,
  // and an Enroll request over a connection keyed by the invite.
  struct Device {
    Bytes transport_public;
    crypto::SecretBytes transport_secret;
  };
  std::vector<Device> enrolled;
  enrolled.reserve(devices);
  {
    net::Context ctx;
    for (int i = 0; i < devices; ++i) {
      auto code = (*cora)->CreateInvite("volunteer", "dev" + std::to_string(i), 3600);
      if (!code.ok()) {
        out.error = "cannot create invite " + std::to_string(i) + ": " + code.status().ToString();
        return out;
      }
      auto invite = identity::DecodeInvite(*code);
      if (!invite.ok()) {
        out.error = invite.status().ToString();
        return out;
      }
      auto invite_key = identity::InviteTransportKey(invite->secret);
      auto id_keys = crypto::GenerateSigningKeyPair();
      auto signing = crypto::GenerateSigningKeyPair();
      auto dh = crypto::GenerateDhKeyPair();
      auto transport = crypto::GenerateDhKeyPair();
      Bytes device_id = crypto::RandomBytes(16);
      auto cert = identity::CertifyDevice(id_keys.secret_key, id_keys.public_key, device_id, signing.public_key,
                                          dh.public_key, 1);
      if (!invite_key.ok() || !cert.ok()) {
        out.error = "cannot make device keys";
        return out;
      }
      wire::v1::Request req;
      auto* e = req.mutable_enroll();
      e->set_invite_secret(ToString(invite->secret.span()));
      e->set_identity_public_key(ToString(id_keys.public_key));
      *e->mutable_device() = *cert;
      e->set_device_transport_key(ToString(transport.public_key));
      auto conn = net::ClientConnection::Connect(ctx, invite->endpoint, invite->relay_public_key,
                                                 invite_key->public_key, invite_key->secret_key);
      if (!conn.ok()) {
        out.error = conn.status().ToString();
        return out;
      }
      auto resp = (*conn)->Call(req, 10000);
      if (!resp.ok()) {
        out.error = "enroll " + std::to_string(i) + ": " + resp.status().ToString();
        return out;
      }
      enrolled.push_back({transport.public_key, std::move(transport.secret_key)});
    }
  }
  out.enrolled = static_cast<int>(enrolled.size());

  // Every device connects with its own key and fetches its (empty) mailbox;
  // all connections stay open. ZeroMQ allows 1,023 sockets per context.
  auto t = (*cora)->Transport();
  if (!t.ok()) {
    out.error = t.status().ToString();
    return out;
  }
  std::vector<std::unique_ptr<net::Context>> contexts;
  std::vector<std::unique_ptr<net::ClientConnection>> conns;
  for (size_t i = 0; i < enrolled.size(); ++i) {
    if (i % 500 == 0) contexts.push_back(std::make_unique<net::Context>());
    auto conn = net::ClientConnection::Connect(*contexts.back(), t->endpoint, t->relay_public,
                                               enrolled[i].transport_public, enrolled[i].transport_secret);
    if (!conn.ok()) {
      out.error = conn.status().ToString();
      break;
    }
    wire::v1::Request f;
    f.mutable_fetch()->set_max_items(10);
    auto r = (*conn)->Call(f, 10000);
    if (!r.ok()) {
      out.error = "fetch on connection " + std::to_string(i) + ": " + r.status().ToString();
      break;
    }
    ++out.connected;
    conns.push_back(std::move(*conn));
  }
  out.setup_seconds = Seconds(start, Clock::now());
  // Let the relay settle (its heartbeat, the WAL checkpointer), then read.
  std::this_thread::sleep_for(std::chrono::seconds(3));
  // Still answering on the first connection after all the others came.
  if (!conns.empty()) {
    wire::v1::Request ping;
    ping.mutable_ping();
    if (!conns.front()->Call(ping, 10000).ok() && out.error.empty()) out.error = "the first connection went quiet";
  }
  out.rss_mb = StatusKb(pid, "VmRSS") / 1024.0;
  out.peak_rss_mb = StatusKb(pid, "VmHWM") / 1024.0;
  conns.clear();
  contexts.clear();
  relay.Stop().IgnoreError();
  return out;
}

int Main(int argc, char** argv) {
  if (!crypto::InitCrypto().ok()) return 1;
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    std::cerr << "usage: vigil-bench relay|sync|connections|crypto [--json] [--messages N] [--relay-bin PATH] "
                 "[--callgrind FILE] [--notes N] [--devices N]" << std::endl;
    return 2;
  }
  int messages = 40000;
  RelayOptions relay_opt;
  for (size_t i = 1; i + 1 < args.size(); ++i) {
    if (args[i] == "--messages") messages = std::max(800, std::atoi(args[i + 1].c_str()));
    if (args[i] == "--relay-bin") relay_opt.relay_bin = args[i + 1];
    if (args[i] == "--callgrind") relay_opt.callgrind_out = args[i + 1];
  }
  json::Writer j(true);
  if (args[0] == "relay") {
    // The transport is ~5x faster than the relay: five times the messages
    // give both measurements about the same duration (a 0.4 s baseline
    // moved by ±30% from run to run).
    const bool callgrind = !relay_opt.callgrind_out.empty();
    double baseline = callgrind ? 0 : BaselineMsgsPerSecond(messages * 5);
    RelayRun r = RunRelay(messages, relay_opt);
    if (!r.error.empty()) {
      std::cerr << "vigil-bench: " << r.error << std::endl;
      return 1;
    }
    j.BeginObject();
    j.Key("payload_bytes").Int(kPayload);
    j.Key("messages").Int(messages);
    j.Key("baseline_msgs_per_s").Int(static_cast<int64_t>(baseline));
    j.Key("relay_msgs_per_s").Int(static_cast<int64_t>(r.msgs_per_s));
    j.Key("relay_accept_msgs_per_s").Int(static_cast<int64_t>(r.accept_msgs_per_s));
    char ratio[32];
    std::snprintf(ratio, sizeof ratio, "%.3f", baseline > 0 ? r.msgs_per_s / baseline : 0.0);
    j.Key("ratio").String(ratio);
    j.Key("p50_ms").Int(static_cast<int64_t>(r.p50_ms * 1000) / 1000);
    j.Key("p99_ms").Int(static_cast<int64_t>(r.p99_ms * 1000) / 1000);
    j.Key("p50_us").Int(static_cast<int64_t>(r.p50_ms * 1000));
    j.Key("p99_us").Int(static_cast<int64_t>(r.p99_ms * 1000));
    j.Key("relay_peak_rss_mb").Int(static_cast<int64_t>(r.peak_rss_mb));
    // Relay CPU time per message in the throughput run: less sensitive
    // than msgs/s to whatever else the machine is doing.
    j.Key("relay_cpu_us_per_msg").Int(static_cast<int64_t>(r.cpu_us_per_msg));
    // What the relay wrote per message (see RelayRun).
    j.Key("relay_wchar_per_msg").Int(static_cast<int64_t>(r.wchar_per_msg));
    j.Key("relay_write_bytes_per_msg").Int(static_cast<int64_t>(r.write_bytes_per_msg));
    char syscw[32];
    std::snprintf(syscw, sizeof syscw, "%.2f", r.syscw_per_msg);
    j.Key("relay_write_calls_per_msg").String(syscw);
    if (callgrind) j.Key("relay_instructions_per_msg").Int(static_cast<int64_t>(r.instructions_per_msg));
    j.EndObject();
  } else if (args[0] == "sync") {
    int notes = 10000;
    bool link = true, stamped = false;
    for (size_t i = 1; i < args.size(); ++i) {
      if (args[i] == "--stamped") stamped = true;
      if (args[i] == "--notes" && i + 1 < args.size()) notes = std::max(10, std::atoi(args[i + 1].c_str()));
      if (args[i] == "--no-link") link = false;
    }
    SyncRun r = RunSync(notes, link, stamped);
    if (!r.error.empty()) {
      std::cerr << "vigil-bench: " << r.error << std::endl;
      return 1;
    }
    auto secs = [](double v) {
      char b[32];
      std::snprintf(b, sizeof b, "%.2f", v);
      return std::string(b);
    };
    j.BeginObject();
    j.Key("notes").Int(notes);
    j.Key("stamped").Bool(stamped);
    j.Key("setup_seconds").String(secs(r.setup_seconds));
    // The member's device: notes plus their timestamp receipts.
    j.Key("received_and_verified").Int(r.received);
    j.Key("sync_seconds").String(secs(r.seconds));
    j.Key("sync_cpu_seconds").String(secs(r.cpu_seconds));
    j.Key("notes_per_s").Int(r.seconds > 0 ? static_cast<int64_t>(notes / r.seconds) : 0);
    if (link) {
      j.Key("link_answer_seconds").String(secs(r.link_answer_seconds));
      j.Key("link_imported_notes").Int(r.link_notes);
      j.Key("link_sync_seconds").String(secs(r.link_seconds));
      j.Key("link_sync_cpu_seconds").String(secs(r.link_cpu_seconds));
    }
    j.EndObject();
  } else if (args[0] == "connections") {
    int devices = 1000;
    for (size_t i = 1; i + 1 < args.size(); ++i) {
      if (args[i] == "--devices") devices = std::max(1, std::atoi(args[i + 1].c_str()));
    }
    ConnectionsRun r = RunConnections(devices);
    if (!r.error.empty()) {
      std::cerr << "vigil-bench: " << r.error << std::endl;
      return 1;
    }
    j.BeginObject();
    j.Key("devices").Int(devices);
    j.Key("enrolled").Int(r.enrolled);
    j.Key("connected").Int(r.connected);
    char secs[32];
    std::snprintf(secs, sizeof secs, "%.1f", r.setup_seconds);
    j.Key("setup_seconds").String(secs);
    j.Key("relay_rss_idle_mb").Int(static_cast<int64_t>(r.rss_idle_mb));
    j.Key("relay_rss_connected_mb").Int(static_cast<int64_t>(r.rss_mb));
    // VmHWM: the relay peaks at start-up, in the passphrase KDF (Argon2id,
    // 64 MiB), before any device connects.
    j.Key("relay_peak_rss_mb").Int(static_cast<int64_t>(r.peak_rss_mb));
    j.Key("relay_kb_per_connection")
        .Int(r.connected > 0 ? static_cast<int64_t>((r.rss_mb - r.rss_idle_mb) * 1024 / r.connected) : 0);
    j.EndObject();
  } else if (args[0] == "crypto") {
    auto [seal, open] = CryptoOpsPerSecond(20000);
    j.BeginObject();
    j.Key("payload_bytes").Int(kPayload);
    j.Key("seal_sign_ops_per_s").Int(static_cast<int64_t>(seal));
    j.Key("verify_open_ops_per_s").Int(static_cast<int64_t>(open));
    j.EndObject();
  } else {
    std::cerr << "vigil-bench: unknown benchmark '" << args[0] << "'" << std::endl;
    return 2;
  }
  std::cout << j.Take() << std::endl;
  return 0;
}

}  // namespace
}  // namespace vigil::bench

int main(int argc, char** argv) { return vigil::bench::Main(argc, argv); }
