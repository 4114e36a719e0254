// The plugin host survives plugins that fail, hang, crash or return garbage,
// and refuses files it must not load. Uses the deliberately broken plugins
// of tests/plugins/test_plugin.c.
#include "vigil/plugin.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <map>

#include "testing/testing.h"
#include "vigil/crypto.h"

namespace vigil::plugin {
namespace {

const PluginInfo* FindInfo(const std::vector<PluginInfo>& infos, const std::string& file_suffix) {
  for (const auto& i : infos) {
    if (i.file.size() >= file_suffix.size() &&
        i.file.compare(i.file.size() - file_suffix.size(), file_suffix.size(), file_suffix) == 0) {
      return &i;
    }
  }
  return nullptr;
}

class MemoryServices : public Services {
 public:
  StatusOr<uint64_t> Append(ByteSpan r) override {
    records_.emplace_back(r.begin(), r.end());
    return records_.size() - 1;
  }
  StatusOr<uint64_t> Count() override { return records_.size(); }
  StatusOr<Bytes> Get(uint64_t i) override {
    if (i >= records_.size()) return Status::NotFound("no such record");
    return records_[i];
  }

 private:
  std::vector<Bytes> records_;
};

class PluginHostTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(crypto::InitCrypto().ok());
    HostOptions o;
    o.dir = VIGIL_TEST_PLUGIN_DIR;
    o.call_timeout_ms = 400;
    auto h = Host::Load(o);
    ASSERT_TRUE(h.ok()) << h.status().ToString();
    host_ = std::move(*h);
  }
  Bytes Digest() { return crypto::Sha256(AsBytes("a salted commitment")); }
  std::unique_ptr<Host> host_;
};

TEST_F(PluginHostTest, ListsGoodPluginsAndRefusesBrokenFilesWithReasons) {
  auto infos = host_->Plugins();
  const PluginInfo* echo = FindInfo(infos, "/echo.so");
  ASSERT_NE(echo, nullptr);
  EXPECT_TRUE(echo->ok);
  EXPECT_EQ(echo->name, "t-echo");
  EXPECT_EQ(echo->abi_major, 1u);

  const PluginInfo* badopen = FindInfo(infos, "/badopen.so");
  ASSERT_NE(badopen, nullptr);
  EXPECT_FALSE(badopen->ok);
  EXPECT_NE(badopen->problem.find("missing setting url="), std::string::npos) << badopen->problem;
  EXPECT_FALSE(host_->Has("t-badopen"));

  const PluginInfo* abi2 = FindInfo(infos, "/abi2.so");
  ASSERT_NE(abi2, nullptr);
  EXPECT_FALSE(abi2->ok);
  EXPECT_NE(abi2->problem.find("ABI major 2"), std::string::npos) << abi2->problem;

  const PluginInfo* nosym = FindInfo(infos, "/nosym.so");
  ASSERT_NE(nosym, nullptr);
  EXPECT_NE(nosym->problem.find("vigil_ts_plugin_v1"), std::string::npos) << nosym->problem;

  const PluginInfo* small = FindInfo(infos, "/small.so");
  ASSERT_NE(small, nullptr);
  EXPECT_NE(small->problem.find("too small"), std::string::npos) << small->problem;

  auto r = host_->Stamp("t-abi2", Digest());
  EXPECT_EQ(r.status().code(), Code::kNotFound);
}

TEST_F(PluginHostTest, GoodPluginStampsAndVerifies) {
  Bytes d = Digest();
  auto token = host_->Stamp("t-echo", d);
  ASSERT_TRUE(token.ok()) << token.status().ToString();
  EXPECT_EQ(token->size(), 37u);
  auto t = host_->Verify("t-echo", d, *token);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_GT(*t, 1700000000000);

  Bytes bad = *token;
  bad.back() ^= 1;
  EXPECT_EQ(host_->Verify("t-echo", d, bad).status().code(), Code::kUnauthenticated);
  EXPECT_EQ(host_->Stamp("t-echo", Bytes(31)).status().code(), Code::kInvalidArgument);
}

TEST_F(PluginHostTest, ServicesAreOptionalAndPrivatePerPlugin) {
  auto no_services = host_->Call("t-echo", AsBytes("q"));
  ASSERT_TRUE(no_services.ok()) << no_services.status().ToString();
  EXPECT_EQ(ToString(*no_services), "Nq");  // the record store said "unavailable"

  HostOptions o;
  o.dir = VIGIL_TEST_PLUGIN_DIR;
  std::map<std::string, MemoryServices*> made;
  o.services = [&](const std::string& name) {
    auto s = std::make_unique<MemoryServices>();
    made[name] = s.get();
    return s;
  };
  auto h = Host::Load(o);
  ASSERT_TRUE(h.ok());
  auto with = (*h)->Call("t-echo", AsBytes("q"));
  ASSERT_TRUE(with.ok()) << with.status().ToString();
  EXPECT_EQ(ToString(*with), "Sq");
  ASSERT_TRUE(made.count("t-echo"));
  EXPECT_EQ(*made["t-echo"]->Count(), 1u);
  EXPECT_EQ(*made["t-failing"]->Count(), 0u);
}

TEST_F(PluginHostTest, FailingPluginGivesItsMessage) {
  auto r = host_->Stamp("t-failing", Digest());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kUnavailable);
  EXPECT_NE(r.status().message().find("anchor unreachable"), std::string::npos);
  EXPECT_NE(r.status().message().find("t-failing"), std::string::npos);
}

TEST_F(PluginHostTest, HangingPluginTimesOutIsDisabledAndOthersKeepWorking) {
  auto r = host_->Stamp("t-hang", Digest());
  EXPECT_EQ(r.status().code(), Code::kDeadlineExceeded) << r.status().ToString();
  auto again = host_->Stamp("t-hang", Digest());
  EXPECT_EQ(again.status().code(), Code::kUnavailable);
  EXPECT_NE(again.status().message().find("disabled"), std::string::npos);
  EXPECT_FALSE(host_->Has("t-hang"));
  EXPECT_TRUE(host_->Stamp("t-echo", Digest()).ok());
  host_.reset();  // destroying the host with a stuck plugin thread must not hang or crash
}

TEST_F(PluginHostTest, GarbageFromAPluginIsAnErrorNeverACrash) {
  auto s = host_->Stamp("t-garbage", Digest());
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("did not allocate"), std::string::npos) << s.status().ToString();
  auto v = host_->Verify("t-garbage", Digest(), AsBytes("token"));
  ASSERT_FALSE(v.ok());
  EXPECT_NE(v.status().message().find("unknown result code 99"), std::string::npos) << v.status().ToString();
  auto c = host_->Call("t-garbage", AsBytes("q"));
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("bad size"), std::string::npos) << c.status().ToString();
}

TEST_F(PluginHostTest, NetworkPluginRunsInAChildSoCrashesAndHangsAreContained) {
  auto s = host_->Stamp("t-crash", Digest());
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("crashed"), std::string::npos) << s.status().ToString();
  auto v = host_->Verify("t-crash", Digest(), AsBytes("token"));
  EXPECT_EQ(v.status().code(), Code::kDeadlineExceeded) << v.status().ToString();
  // The child had no host services, and its answer came back over the pipe.
  auto c = host_->Call("t-crash", AsBytes("q"));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(ToString(*c), "Nq");
  // Still usable after a crash: each call is a new child.
  EXPECT_NE(host_->Stamp("t-crash", Digest()).status().message().find("crashed"), std::string::npos);
}

TEST(PluginHostLoadTest, RefusesRelativeDirectoryAndReportsMissingOne) {
  HostOptions o;
  o.dir = "relative/plugins";
  EXPECT_EQ(Host::Load(o).status().code(), Code::kInvalidArgument);
  o.dir = "/nonexistent/vigil/plugins";
  auto h = Host::Load(o);
  ASSERT_TRUE(h.ok());
  ASSERT_EQ((*h)->Plugins().size(), 1u);
  EXPECT_NE((*h)->Plugins()[0].problem.find("not found"), std::string::npos);
}

TEST(PluginHostLoadTest, RefusesWritableFilesAndSymlinks) {
  testing::TempDir dir;
  std::string src = std::string(VIGIL_TEST_PLUGIN_DIR) + "/echo.so";
  auto copy = [&](const std::string& to) {
    std::ifstream in(src, std::ios::binary);
    std::ofstream out(to, std::ios::binary);
    out << in.rdbuf();
  };
  copy(dir.Sub("writable.so"));
  chmod(dir.Sub("writable.so").c_str(), 0666);
  ASSERT_EQ(symlink(src.c_str(), dir.Sub("link.so").c_str()), 0);
  HostOptions o;
  o.dir = dir.path();
  auto h = Host::Load(o);
  ASSERT_TRUE(h.ok());
  auto infos = (*h)->Plugins();
  ASSERT_EQ(infos.size(), 2u);
  for (const auto& i : infos) {
    EXPECT_FALSE(i.ok) << i.file;
    EXPECT_TRUE(i.problem.find("symlink") != std::string::npos ||
                i.problem.find("writable") != std::string::npos)
        << i.problem;
  }
  EXPECT_FALSE((*h)->Has("t-echo"));
}

}  // namespace
}  // namespace vigil::plugin

namespace vigil::plugin {
namespace {
TEST(PluginHostLoadTest, OnlyLoadsTheNamedPlugins) {
  HostOptions o;
  o.dir = VIGIL_TEST_PLUGIN_DIR;
  o.only = {"t-echo"};
  auto h = Host::Load(o);
  ASSERT_TRUE(h.ok());
  EXPECT_TRUE((*h)->Has("t-echo"));
  EXPECT_FALSE((*h)->Has("t-failing"));
  for (const auto& i : (*h)->Plugins()) {
    EXPECT_TRUE(i.name == "t-echo" || !i.ok) << i.name;
  }
}
}  // namespace
}  // namespace vigil::plugin
