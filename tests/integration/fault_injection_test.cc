// Fault injection: the real `vigil-relay serve` runs under strace, which
// makes the system calls SQLite uses for the relay's store fail:
//   - ENOSPC on pwrite64 (every write SQLite makes to relay.db and its WAL):
//     sends are refused with "disk full", fetching keeps working, nothing
//     committed before is lost, the relay never stops; once strace detaches
//     ("space is back") the same process accepts sends again.
//   - EIO on fdatasync/fsync (SQLite syncs the WAL with fdatasync at every
//     commit, synchronous=FULL): the batch is never acknowledged, the relay
//     stops with a clear error, and after a restart without faults every
//     message acknowledged before is there and the store is intact.
//
// strace runs with -D (as the relay's grandchild), so the process the
// fixture started is the relay itself, and -I1, so that SIGTERM makes strace
// detach and leave the relay running. -P limits tracing and injection to the
// store's files: SQLite also writes its -shm index with pwrite64 when it
// opens the store, and the relay's timestamp plugins keep stores of their
// own.
//
// Skipped (with the reason) when strace is missing or ptrace is not
// permitted here.
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "relay/server/relay_store.h"
#include "team_fixture.h"

namespace vigil {
namespace {

using testing::CommandResult;
using testing::CountOccurrences;

// The first executable `strace` on $PATH (RunCommand does not search it).
std::string FindStrace() {
  const char* path = std::getenv("PATH");
  std::string dirs = path != nullptr && *path != '\0' ? path : "/usr/bin:/bin";
  size_t start = 0;
  while (start <= dirs.size()) {
    size_t colon = dirs.find(':', start);
    if (colon == std::string::npos) colon = dirs.size();
    std::string candidate = dirs.substr(start, colon - start) + "/strace";
    if (colon > start && access(candidate.c_str(), X_OK) == 0) return candidate;
    start = colon + 1;
  }
  return std::string();
}

// Why strace cannot be used here, or "" if it can.
std::string StraceUnusable(const std::string& strace) {
  if (strace.empty()) return "strace is not installed (apt-get install strace)";
  for (const auto& flags : {std::vector<std::string>{"-f"}, std::vector<std::string>{"-D", "-f"}}) {
    std::vector<std::string> argv = {strace};
    argv.insert(argv.end(), flags.begin(), flags.end());
    argv.insert(argv.end(), {"-o", "/dev/null", "true"});
    CommandResult r = testing::RunCommand(argv, {}, "", 20000);
    if (r.exit_code != 0) {
      while (!r.err.empty() && (r.err.back() == '\n' || r.err.back() == ' ')) r.err.pop_back();
      std::string cmd;
      for (const auto& a : argv) cmd += (cmd.empty() ? "" : " ") + a;
      return "ptrace is not permitted here (`" + cmd + "` exited " + std::to_string(r.exit_code) +
             ": " + r.err.substr(0, 300) + ")";
    }
  }
  return std::string();
}

// The TracerPid of `pid`, 0 if untraced, -1 if `pid` is gone.
pid_t TracerOf(pid_t pid) {
  std::string status = testing::ReadFile("/proc/" + std::to_string(pid) + "/status");
  size_t pos = status.find("TracerPid:");
  if (pos == std::string::npos) return -1;
  return static_cast<pid_t>(std::atol(status.c_str() + pos + 10));
}

class FaultInjectionTest : public TeamTest {
 protected:
  void SetUp() override {
    strace_ = FindStrace();
    std::string why = StraceUnusable(strace_);
    if (!why.empty()) GTEST_SKIP() << "fault injection needs strace: " << why;
    // strace -D runs the tracer as a grandchild that is orphaned at once:
    // adopt it, so that it can be reaped here.
    subreaper_ = prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0;
    TeamTest::SetUp();
  }

  void TearDown() override { StopInjection(); }

  // strace -D -I1 -f with `fault` (trace/inject options) applied to the
  // relay store's files only; its log is kept in the test directory.
  std::vector<std::string> Strace(const std::string& log_name, const std::vector<std::string>& fault) {
    std::string data = std::filesystem::canonical(relay_->data_dir()).string();
    strace_log_ = dir_.Sub(log_name);
    // LeakSanitizer cannot run in a traced process (it ptraces itself at
    // exit): in sanitizer builds the traced relay checks memory errors
    // but not leaks. (`env` execs strace: the pid stays the tracer's.)
    const char* asan = std::getenv("ASAN_OPTIONS");
    std::vector<std::string> argv = {"/usr/bin/env",
                                     "ASAN_OPTIONS=" + std::string(asan ? asan : "") + ":detect_leaks=0",
                                     strace_, "-D", "-I1", "-f", "-qq", "-o", strace_log_,
                                     "-P", data + "/relay.db", "-P", data + "/relay.db-wal"};
    argv.insert(argv.end(), fault.begin(), fault.end());
    argv.push_back("--");
    return argv;
  }

  // Restarts the relay under `wrapper` (strace) and remembers its tracer.
  void RestartUnder(std::vector<std::string> wrapper) {
    relay_->set_serve_wrapper(std::move(wrapper));
    Status s = relay_->Restart();
    ASSERT_TRUE(s.ok()) << s.ToString();
    tracer_ = TracerOf(relay_->process()->pid());
    ASSERT_GT(tracer_, 0) << "the relay should be running under strace";
  }

  // Detaches strace (SIGTERM; with -I1 it detaches and exits) and waits
  // until the relay runs untraced. The relay process is left alone.
  void StopInjection() {
    if (tracer_ <= 0) return;
    pid_t relay = relay_ && relay_->process() ? relay_->process()->pid() : -1;
    // Signal the tracer only while it is attached to our relay, so that a
    // recycled pid is never hit.
    if (relay > 0 && TracerOf(relay) == tracer_) kill(tracer_, SIGTERM);
    for (int i = 0; i < 250 && relay > 0 && TracerOf(relay) > 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (relay > 0) {
      EXPECT_LE(TracerOf(relay), 0) << "strace did not detach";
    }
    for (int i = 0; subreaper_ && i < 250; ++i) {  // reap it (our child as subreaper)
      pid_t r = waitpid(tracer_, nullptr, WNOHANG);
      if (r != 0) break;  // reaped, or not our child
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    tracer_ = -1;
  }

  // Lines of the strace log that report an injected `error`.
  size_t Injected(const std::string& error) {
    std::string log = testing::ReadFile(strace_log_);
    size_t n = 0;
    for (size_t pos = log.find("(INJECTED)"); pos != std::string::npos; pos = log.find("(INJECTED)", pos + 1)) {
      size_t line = log.rfind('\n', pos);
      line = line == std::string::npos ? 0 : line;
      if (log.substr(line, pos - line).find(error) != std::string::npos) ++n;
    }
    return n;
  }

  // `vigil send`, expected to be acknowledged by the relay.
  void SendAcknowledged(const testing::ClientFixture& from, const std::string& text) {
    CommandResult r = from.Run({"send", "--to", "Cora", "--text", text});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    ASSERT_EQ(r.err.find("queued"), std::string::npos) << "the relay should have acknowledged " << text
                                                       << ": " << r.err;
  }

  void ExpectStoreIntact() {
    auto store = relay::RelayStore::Open(relay_->data_dir(), AsBytes(testing::RelayFixture::kPassphrase));
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    Status s = store->db().IntegrityCheck();
    EXPECT_TRUE(s.ok()) << s.ToString();
  }

  std::string strace_;
  std::string strace_log_;
  pid_t tracer_ = -1;
  bool subreaper_ = false;
};

TEST_F(FaultInjectionTest, DiskFullRefusesSendsKeepsFetchingAndRecoversWithoutRestart) {
  auto cora = Member("coordinator", "Cora", "cora pass");
  auto vic = Member("volunteer", "Vic", "vic pass");
  // Committed before the disk fills: one message Cora already has, two
  // still waiting for her at the relay.
  SendAcknowledged(*vic, "before-0");
  ASSERT_EQ(cora->Run({"sync"}).exit_code, 0);
  SendAcknowledged(*vic, "before-1");
  SendAcknowledged(*vic, "before-2");

  // The relay (re)starts on a full disk: every write to its store fails.
  RestartUnder(Strace("strace-enospc.log", {"-e", "trace=pwrite64", "-e", "inject=pwrite64:error=ENOSPC"}));
  const pid_t relay_pid = relay_->process()->pid();

  // A new send gets a clear refusal and a non-zero exit; it stays queued.
  CommandResult r = vic->Run({"send", "--to", "Cora", "--text", "during-full"});
  EXPECT_NE(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("disk is full"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("stays queued"), std::string::npos) << r.err;
  EXPECT_TRUE(relay_->process()->WaitForStderr("event=disk_full", 5000)) << relay_->process()->Stderr();
  EXPECT_GT(Injected("ENOSPC"), 0u) << "strace injected nothing";

  // Fetching works: Cora receives what was committed before. Her ack is a
  // write too, so it is refused (the sync says so) and the relay keeps the
  // messages: nothing is lost, and the next sync acknowledges them.
  r = cora->Run({"sync"});
  EXPECT_NE(r.exit_code, 0) << "the ack cannot be stored: " << r.out;
  EXPECT_NE(r.err.find("disk is full"), std::string::npos) << r.err;
  std::string inbox = cora->Run({"inbox", "--json"}).out;
  for (const char* text : {"\"before-0\"", "\"before-1\"", "\"before-2\""}) {
    EXPECT_EQ(CountOccurrences(inbox, text), 1u) << text << " in " << inbox;
  }
  EXPECT_EQ(CountOccurrences(inbox, "during-full"), 0u);
  ASSERT_TRUE(relay_->process()->running()) << "the relay must not stop on a full disk:\n"
                                            << relay_->process()->Stderr();

  // A request larger than SQLite's page cache (2 MB) spills to the WAL in the
  // middle of its statement, and SQLite then rolls back the whole batch
  // transaction by itself: still "disk full", and the relay keeps serving.
  {
    net::Context ctx;
    auto conn = RawAs(*vic, ctx);
    ASSERT_NE(conn, nullptr);
    wire::v1::Request dir;
    dir.mutable_directory()->add_names("Cora");
    dir.mutable_directory()->add_names("Vic");
    auto found = conn->Call(dir, 10000);
    ASSERT_TRUE(found.ok()) << found.status().ToString();
    ASSERT_EQ(found->directory().members_size(), 2);
    wire::v1::Request big;  // two deliveries of 2 MiB (the most one may hold)
    big.mutable_send()->set_message_id(std::string(16, 'B'));
    for (const auto& m : found->directory().members()) {
      ASSERT_GE(m.devices_size(), 1);
      auto* delivery = big.mutable_send()->add_deliveries();
      delivery->set_device_id(m.devices(0).device_id());
      delivery->set_blob(std::string(wire::kMaxBlobSize, 'x'));
    }
    auto refused = conn->Call(big, 10000);
    ASSERT_FALSE(refused.ok()) << "a send was acknowledged on a full disk";
    EXPECT_EQ(refused.status().code(), Code::kResourceExhausted) << refused.status().ToString();
    EXPECT_NE(refused.status().message().find("disk"), std::string::npos) << refused.status().ToString();
  }
  ASSERT_TRUE(relay_->process()->running()) << "the relay must not stop on a full disk:\n"
                                            << relay_->process()->Stderr();
  r = cora->Run({"sync"});  // fetching still works after that
  EXPECT_NE(r.err.find("disk is full"), std::string::npos) << r.err;
  EXPECT_EQ(CountOccurrences(cora->Run({"inbox", "--json"}).out, "\"before-2\""), 1u);

  // Space is back: strace detaches from the same relay process.
  StopInjection();
  ASSERT_TRUE(relay_->process()->running());
  EXPECT_EQ(relay_->process()->pid(), relay_pid);
  SendAcknowledged(*vic, "after");  // flushes the queued "during-full" too
  r = vic->Run({"status", "--json"});
  EXPECT_NE(r.out.find("\"outbox\": 0"), std::string::npos) << r.out;
  r = cora->Run({"sync"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  inbox = cora->Run({"inbox", "--json"}).out;
  for (const char* text : {"\"before-0\"", "\"before-1\"", "\"before-2\"", "\"during-full\"", "\"after\""}) {
    EXPECT_EQ(CountOccurrences(inbox, text), 1u) << text << " in " << inbox;
  }
  // The acks refused earlier went through: nothing is left for Cora.
  r = cora->Run({"sync", "--json"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("\"received\": 0"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"duplicates\": 0"), std::string::npos) << r.out;

  std::string log = relay_->process()->Stderr();
  EXPECT_EQ(log.find("commit_failed"), std::string::npos) << log;
  ASSERT_TRUE(relay_->Stop().ok());
  ExpectStoreIntact();
}

TEST_F(FaultInjectionTest, FsyncEioStopsTheRelayWithoutAcknowledgingAndLosesNothing) {
  auto cora = Member("coordinator", "Cora", "cora pass");
  auto vic = Member("volunteer", "Vic", "vic pass");
  SendAcknowledged(*vic, "before-0");
  ASSERT_EQ(cora->Run({"sync"}).exit_code, 0);
  SendAcknowledged(*vic, "before-1");
  SendAcknowledged(*vic, "before-2");

  // SIGKILL leaves a WAL with frames in it, so that the commit below appends
  // frames and then fails to sync them (after a clean stop SQLite would
  // start a new WAL and fail earlier, at syncing its header).
  relay_->Kill();
  RestartUnder(Strace("strace-eio.log",
                      {"-e", "trace=fdatasync,fsync", "-e", "inject=fdatasync,fsync:error=EIO"}));

  // The send's batch cannot be made durable: no acknowledgement leaves.
  {
    auto cl = OpenInProcess(*vic);
    ASSERT_NE(cl, nullptr);
    cl->set_timeout_ms(3000);
    auto sent = cl->SendText("Cora", "doomed");
    ASSERT_TRUE(sent.ok()) << sent.status().ToString();
    EXPECT_FALSE(sent->delivered) << "a batch whose fsync failed was acknowledged";
  }
  // The relay stops by itself: a clear log line and exit status 1 (no
  // signal, no core dump, no hang).
  auto code = relay_->process()->Wait(15000);
  ASSERT_TRUE(code.ok()) << "the relay did not stop after a failed fsync:\n" << relay_->process()->Stderr();
  EXPECT_EQ(*code, 1);
  std::string log = relay_->process()->Stderr();
  EXPECT_NE(log.find("event=commit_failed"), std::string::npos) << log;
  EXPECT_NE(log.find("disk I/O error"), std::string::npos) << log;
  EXPECT_NE(log.find("event=fatal"), std::string::npos) << log;
  EXPECT_GT(Injected("EIO"), 0u) << "strace injected nothing";
  StopInjection();  // reaps strace, which exited with the relay

  // Restarted without faults: everything acknowledged before is there.
  relay_->set_serve_wrapper({});
  Status s = relay_->Restart();
  ASSERT_TRUE(s.ok()) << s.ToString();
  CommandResult r = cora->Run({"sync"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::string inbox = cora->Run({"inbox", "--json"}).out;
  for (const char* text : {"\"before-0\"", "\"before-1\"", "\"before-2\""}) {
    EXPECT_EQ(CountOccurrences(inbox, text), 1u) << text << " in " << inbox;
  }
  // The unacknowledged message is still in Vic's outbox and goes now; Cora
  // gets it once (whether or not its unsynced frames survived).
  r = vic->Run({"sync"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  r = cora->Run({"sync"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  inbox = cora->Run({"inbox", "--json"}).out;
  EXPECT_EQ(CountOccurrences(inbox, "\"doomed\""), 1u) << inbox;

  ASSERT_TRUE(relay_->Stop().ok());
  ExpectStoreIntact();
}

// Fetch, Ack and Ping need no fsync (an Ack that a power loss undoes only
// means the items come again and the client drops them as duplicates), so
// a recipient keeps collecting and acknowledging its mail while every sync
// of the store fails, and its acks hold after a restart.
TEST_F(FaultInjectionTest, FetchAndAckNeedNoFsyncAndGoOnWhileSyncsFail) {
  auto cora = Member("coordinator", "Cora", "cora pass");
  auto vic = Member("volunteer", "Vic", "vic pass");
  SendAcknowledged(*vic, "waiting-0");
  SendAcknowledged(*vic, "waiting-1");

  relay_->Kill();  // leaves frames in the WAL, as in the test above
  RestartUnder(Strace("strace-eio-acks.log",
                      {"-e", "trace=fdatasync,fsync", "-e", "inject=fdatasync,fsync:error=EIO"}));
  {
    net::Context ctx;
    auto conn = RawAs(*cora, ctx);
    ASSERT_NE(conn, nullptr);
    wire::v1::Request ping;
    ping.mutable_ping();
    auto pong = conn->Call(ping, 5000);
    ASSERT_TRUE(pong.ok()) << pong.status().ToString();
    wire::v1::Request fetch;
    fetch.mutable_fetch();
    auto got = conn->Call(fetch, 5000);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    ASSERT_EQ(got->fetch().items_size(), 2);
    wire::v1::Request ack;
    for (const auto& item : got->fetch().items()) ack.mutable_ack()->add_seqs(item.seq());
    auto acked = conn->Call(ack, 5000);
    ASSERT_TRUE(acked.ok()) << "an ack needs no fsync: " << acked.status().ToString() << "\n"
                            << relay_->process()->Stderr();
    EXPECT_EQ(acked->ack().deleted(), 2u);
    got = conn->Call(fetch, 5000);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    EXPECT_EQ(got->fetch().items_size(), 0);
  }
  ASSERT_TRUE(relay_->process()->running()) << relay_->process()->Stderr();
  std::string log = relay_->process()->Stderr();
  EXPECT_EQ(log.find("commit_failed"), std::string::npos) << log;
  StopInjection();

  // The acks survive a restart: nothing comes again.
  relay_->set_serve_wrapper({});
  Status s = relay_->Restart();
  ASSERT_TRUE(s.ok()) << s.ToString();
  {
    net::Context ctx;
    auto conn = RawAs(*cora, ctx);
    ASSERT_NE(conn, nullptr);
    wire::v1::Request fetch;
    fetch.mutable_fetch();
    auto got = conn->Call(fetch, 5000);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    EXPECT_EQ(got->fetch().items_size(), 0);
  }
  ASSERT_TRUE(relay_->Stop().ok());
  ExpectStoreIntact();
}

}  // namespace
}  // namespace vigil
