// The rfc3161 timestamp plugin against a local TSA (tests/testing/local_tsa.h):
// the real plugin loaded from build/lib/vigil/plugins through the plugin
// host (so every call runs in a forked child, as in production), plus
// direct calls into vigil_rfc3161 for what needs forged tokens (genTime
// outside the TSA certificate's validity, other hash algorithms).
// Loopback only; each test has its own TSA, so they run in parallel.
#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/ts.h>
#include <openssl/x509v3.h>

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <ostream>

#include "testing/local_tsa.h"
#include "testing/testing.h"
#include "tsa.h"
#include "vigil/bytes.h"
#include "vigil/crypto.h"
#include "vigil/plugin.h"
#include "vigil/ts_plugin.h"

namespace vigil {
namespace {

using testing::LocalTsa;
using testing::RunCommand;

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

std::unique_ptr<plugin::Host> LoadRfc3161(const std::string& config, uint32_t network_timeout_ms = 5000) {
  plugin::HostOptions o;
  o.dir = VIGIL_PLUGIN_BUILD_DIR;
  o.only = {"rfc3161"};
  o.configs["rfc3161"] = config;
  o.network_timeout_ms = network_timeout_ms;
  o.call_timeout_ms = 20000;
  auto h = plugin::Host::Load(o);
  if (!h.ok()) {
    ADD_FAILURE() << h.status().ToString();
    return nullptr;
  }
  return std::move(*h);
}

std::string ProblemOf(const plugin::Host& host) {
  for (const auto& p : host.Plugins()) {
    if (p.name == "rfc3161") return p.ok ? "" : p.problem;
  }
  return "rfc3161 not listed";
}

class Rfc3161PluginTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(crypto::InitCrypto().ok()); }
  // A TSA of `mode` and a host with the plugin configured for it.
  void Start(LocalTsa::Mode mode = LocalTsa::Mode::kNormal, uint32_t network_timeout_ms = 5000) {
    tsa_ = std::make_unique<LocalTsa>(mode);
    Status s = tsa_->Start();
    ASSERT_TRUE(s.ok()) << s.ToString();
    host_ = LoadRfc3161(tsa_->PluginConfig(), network_timeout_ms);
    ASSERT_NE(host_, nullptr);
    ASSERT_TRUE(host_->Has("rfc3161")) << ProblemOf(*host_);
  }
  static Bytes Digest(std::string_view what = "a salted commitment") { return crypto::Sha256(AsBytes(what)); }
  std::string WriteToken(const Bytes& token) {
    std::string path = tsa_->dir() + "/token-" + std::to_string(++files_) + ".tsr";
    EXPECT_TRUE(testing::WriteFile(path, ToString(token)));
    return path;
  }

  std::unique_ptr<LocalTsa> tsa_;
  std::unique_ptr<plugin::Host> host_;
  int files_ = 0;
};

TEST_F(Rfc3161PluginTest, IsANetworkPluginThatStampsAndVerifies) {
  Start();
  auto infos = host_->Plugins();
  ASSERT_EQ(infos.size(), 1u);
  EXPECT_EQ(infos[0].flags, VIGIL_TS_FLAG_NETWORK);  // runs in a child process

  Bytes d = Digest();
  int64_t before = NowMs();
  auto token = host_->Stamp("rfc3161", d);
  ASSERT_TRUE(token.ok()) << token.status().ToString();
  auto t = host_->Verify("rfc3161", d, *token);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_GE(*t, before - 3000);
  EXPECT_LE(*t, NowMs() + 3000);
  EXPECT_EQ(tsa_->request_count(), 1u);
}

TEST_F(Rfc3161PluginTest, OpensslTsVerifyAcceptsTheToken) {
  Start();
  // -digest: the 32 bytes as given.
  Bytes d = Digest("evidence bundle 1");
  auto token = host_->Stamp("rfc3161", d);
  ASSERT_TRUE(token.ok()) << token.status().ToString();
  auto r = RunCommand({LocalTsa::OpensslPath(), "ts", "-verify", "-digest", HexEncode(d), "-in", WriteToken(*token),
                       "-CAfile", tsa_->ca_pem_path()});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_TRUE(Contains(r.out, "Verification: OK")) << r.out << r.err;

  // -data: the digest is SHA-256 of a file.
  std::string data = "the contents of a file that was timestamped\n";
  std::string data_path = tsa_->dir() + "/data.txt";
  ASSERT_TRUE(testing::WriteFile(data_path, data));
  auto token2 = host_->Stamp("rfc3161", crypto::Sha256(AsBytes(data)));
  ASSERT_TRUE(token2.ok()) << token2.status().ToString();
  r = RunCommand({LocalTsa::OpensslPath(), "ts", "-verify", "-data", data_path, "-in", WriteToken(*token2),
                  "-CAfile", tsa_->ca_pem_path()});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_TRUE(Contains(r.out, "Verification: OK")) << r.out << r.err;

  // And openssl rejects the token for another digest.
  r = RunCommand({LocalTsa::OpensslPath(), "ts", "-verify", "-digest", HexEncode(Digest("other")), "-in",
                  WriteToken(*token), "-CAfile", tsa_->ca_pem_path()});
  EXPECT_NE(r.exit_code, 0) << r.out;
}

TEST_F(Rfc3161PluginTest, TamperedTokensFail) {
  Start();
  Bytes d = Digest();
  auto token = host_->Stamp("rfc3161", d);
  ASSERT_TRUE(token.ok()) << token.status().ToString();
  const size_t n = token->size();
  ASSERT_GT(n, 200u);
  for (size_t off : {size_t{0}, size_t{1}, size_t{9}, size_t{40}, n / 4, n / 3, n / 2, 2 * n / 3, 3 * n / 4,
                     n - 40, n - 5, n - 1}) {
    Bytes bad = *token;
    bad[off] ^= 0xff;
    auto t = host_->Verify("rfc3161", d, bad);
    ASSERT_FALSE(t.ok()) << "offset " << off << " of " << n;
    EXPECT_TRUE(t.status().code() == Code::kUnauthenticated || t.status().code() == Code::kInvalidArgument)
        << "offset " << off << ": " << t.status().ToString();
  }
  // The signature is the last element: a flipped byte there is a bad signature.
  Bytes bad = *token;
  bad[n - 1] ^= 0x01;
  EXPECT_EQ(host_->Verify("rfc3161", d, bad).status().code(), Code::kUnauthenticated);
  // Truncated and extended tokens are malformed.
  Bytes cut(token->begin(), token->end() - 1);
  EXPECT_EQ(host_->Verify("rfc3161", d, cut).status().code(), Code::kInvalidArgument);
  Bytes longer = *token;
  longer.push_back(0);
  EXPECT_EQ(host_->Verify("rfc3161", d, longer).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(host_->Verify("rfc3161", d, AsBytes("not a token")).status().code(), Code::kInvalidArgument);
}

TEST_F(Rfc3161PluginTest, AnotherDigestFailsVerify) {
  Start();
  auto token = host_->Stamp("rfc3161", Digest("one"));
  ASSERT_TRUE(token.ok()) << token.status().ToString();
  auto t = host_->Verify("rfc3161", Digest("two"), *token);
  EXPECT_EQ(t.status().code(), Code::kUnauthenticated);
  EXPECT_TRUE(Contains(t.status().message(), "different digest")) << t.status().ToString();
}

TEST_F(Rfc3161PluginTest, AnotherCaFailsVerify) {
  Start();
  Bytes d = Digest();
  auto token = host_->Stamp("rfc3161", d);
  ASSERT_TRUE(token.ok()) << token.status().ToString();
  LocalTsa other;
  ASSERT_TRUE(other.Start().ok());
  auto host2 = LoadRfc3161(other.PluginConfig());
  ASSERT_NE(host2, nullptr);
  auto t = host2->Verify("rfc3161", d, *token);
  EXPECT_EQ(t.status().code(), Code::kUnauthenticated);
  EXPECT_TRUE(Contains(t.status().message(), "unable to get local issuer certificate")) << t.status().ToString();
}

TEST_F(Rfc3161PluginTest, SendsTheTsaOnlyTheDigest) {
  Start();
  Bytes d = Digest("what the TSA may see");
  ASSERT_TRUE(host_->Stamp("rfc3161", d).ok());
  auto reqs = tsa_->requests();
  ASSERT_EQ(reqs.size(), 1u);
  const std::string& q = reqs[0];
  EXPECT_LT(q.size(), 200u);
  EXPECT_TRUE(Contains(q, ToString(d)));
  std::string path = tsa_->dir() + "/seen.tsq";
  ASSERT_TRUE(testing::WriteFile(path, q));
  auto r = RunCommand({LocalTsa::OpensslPath(), "ts", "-query", "-in", path, "-text"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(Contains(r.out, "Hash Algorithm: sha256")) << r.out;
  EXPECT_TRUE(Contains(r.out, "Policy OID: unspecified")) << r.out;
  EXPECT_TRUE(Contains(r.out, "Nonce: 0x")) << r.out;
  EXPECT_TRUE(Contains(r.out, "Certificate required: yes")) << r.out;
  EXPECT_TRUE(Contains(r.out, "Extensions:\n")) << r.out;

  // Each request has a fresh nonce.
  ASSERT_TRUE(host_->Stamp("rfc3161", d).ok());
  reqs = tsa_->requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_NE(reqs[0], reqs[1]);
}

TEST_F(Rfc3161PluginTest, DescribesATokenForEvidenceBundles) {
  Start();
  Bytes d = Digest();
  auto token = host_->Stamp("rfc3161", d);
  ASSERT_TRUE(token.ok()) << token.status().ToString();
  auto t = host_->Verify("rfc3161", d, *token);
  ASSERT_TRUE(t.ok());
  Bytes req = ToBytes("describe:");
  req.insert(req.end(), token->begin(), token->end());
  auto r = host_->Call("rfc3161", req);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  std::string json = ToString(*r);
  EXPECT_TRUE(Contains(json, "\"tsa_subject\":\"CN=Vigil Test TSA\"")) << json;
  EXPECT_TRUE(Contains(json, "\"tsa_serial\":\"7E57\"")) << json;
  EXPECT_TRUE(Contains(json, "\"policy\":\"1.2.3.4.1\"")) << json;
  EXPECT_TRUE(Contains(json, "\"gen_time_ms\":" + std::to_string(*t))) << json;
  EXPECT_EQ(host_->Call("rfc3161", AsBytes("proofs")).status().code(), Code::kUnimplemented);
  EXPECT_EQ(host_->Call("rfc3161", AsBytes("describe:junk")).status().code(), Code::kInvalidArgument);
}

// --- a misbehaving TSA ---

struct BadTsaCase {
  const char* name;
  LocalTsa::Mode mode;
  Code code;
  const char* needle;
  uint32_t timeout_ms = 5000;  // the plugin's network budget
};

// Printed by name (the struct has padding gtest would print as bytes).
void PrintTo(const BadTsaCase& c, std::ostream* os) { *os << c.name; }

class Rfc3161BadTsaTest : public Rfc3161PluginTest, public ::testing::WithParamInterface<BadTsaCase> {};

TEST_P(Rfc3161BadTsaTest, StampFailsWithTheRightErrorAndMessage) {
  const BadTsaCase& c = GetParam();
  Start(c.mode, c.timeout_ms);
  auto token = host_->Stamp("rfc3161", Digest());
  ASSERT_FALSE(token.ok());
  EXPECT_EQ(token.status().code(), c.code) << token.status().ToString();
  EXPECT_TRUE(Contains(token.status().message(), c.needle)) << token.status().ToString();
  EXPECT_TRUE(Contains(token.status().message(), tsa_->url())) << token.status().ToString();
}

INSTANTIATE_TEST_SUITE_P(
    Rfc3161, Rfc3161BadTsaTest,
    ::testing::Values(
        BadTsaCase{"Down", LocalTsa::Mode::kDown, Code::kUnavailable, "unreachable"},
        BadTsaCase{"Hang", LocalTsa::Mode::kHang, Code::kUnavailable, "timed out", 800},
        BadTsaCase{"Http500", LocalTsa::Mode::kHttp500, Code::kUnavailable, "HTTP 500"},
        BadTsaCase{"WrongContentType", LocalTsa::Mode::kWrongContentType, Code::kUnavailable,
                   "Content-Type text/html"},
        BadTsaCase{"Redirect", LocalTsa::Mode::kRedirect, Code::kUnavailable, "answered HTTP 307"},
        BadTsaCase{"OversizeBody", LocalTsa::Mode::kOversizeBody, Code::kUnavailable, "larger than 64 KiB"},
        BadTsaCase{"GarbageBody", LocalTsa::Mode::kGarbageBody, Code::kUnavailable, "not a DER TimeStampResp"},
        BadTsaCase{"Reject", LocalTsa::Mode::kReject, Code::kUnavailable,
                   "rejection (2): Message digest algorithm is not supported."},
        BadTsaCase{"UntrustedCa", LocalTsa::Mode::kUntrustedCa, Code::kUnauthenticated,
                   "unable to get local issuer certificate"}),
    [](const ::testing::TestParamInfo<BadTsaCase>& p) { return std::string(p.param.name); });

TEST_F(Rfc3161PluginTest, AReplayedReplyFailsTheNonceCheck) {
  Start(LocalTsa::Mode::kReplayFirstReply);
  Bytes d = Digest();
  auto first = host_->Stamp("rfc3161", d);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  auto second = host_->Stamp("rfc3161", d);  // same digest: only the nonce differs
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), Code::kUnauthenticated) << second.status().ToString();
  EXPECT_TRUE(Contains(second.status().message(), "nonce mismatch")) << second.status().ToString();
  EXPECT_EQ(tsa_->request_count(), 2u);
}

// --- configuration ---

TEST(Rfc3161ConfigTest, BadConfigFailsAtOpenWithAClearMessage) {
  ASSERT_TRUE(crypto::InitCrypto().ok());
  LocalTsa tsa;
  ASSERT_TRUE(tsa.Start().ok());
  const std::string ca = "ca_pem=" + Base64Encode(AsBytes(tsa.ca_pem())) + "\n";
  const std::string url = "url=" + tsa.url() + "\n";
  struct Case {
    std::string config, needle;
  };
  const Case cases[] = {
      {"", "missing url="},
      {ca, "missing url="},
      {"url=ftp://127.0.0.1/tsa\n" + ca, "must start with http:// or https://"},
      {"url=file:///etc/passwd\n" + ca, "must start with http:// or https://"},
      {"url=127.0.0.1/tsa\n" + ca, "not a valid absolute URL"},
      {"url=http://127.0.0.1/a b\n" + ca, "space"},
      {url, "missing ca_pem="},
      {url + "ca_pem=***not base64***\n", "not valid base64"},
      {url + "ca_pem=" + Base64Encode(AsBytes("hello, no certificate here\n")) + "\n", "no PEM certificate"},
      {url + "ca_pem=" +
           Base64Encode(AsBytes("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")) + "\n",
       "malformed certificate"},
      {url + ca + "timeout=5\n", "unknown setting 'timeout'"},
      {url + url + ca, "url= twice"},
      {"just some text\n", "not key=value"},
  };
  for (const auto& c : cases) {
    auto host = LoadRfc3161(c.config);
    ASSERT_NE(host, nullptr);
    EXPECT_FALSE(host->Has("rfc3161")) << c.config;
    std::string problem = ProblemOf(*host);
    EXPECT_TRUE(Contains(problem, c.needle)) << "config:\n" << c.config << "\nproblem: " << problem;
  }
  EXPECT_EQ(tsa.request_count(), 0u);  // open never touches the network

  // The good config opens, with a name and comments.
  auto host = LoadRfc3161("# the test TSA\n" + url + ca + "name=Test TSA\r\n");
  ASSERT_NE(host, nullptr);
  EXPECT_TRUE(host->Has("rfc3161")) << ProblemOf(*host);
  EXPECT_EQ(tsa.request_count(), 0u);
}

// --- direct library calls with forged tokens ---

template <typename T, void (*F)(T*)>
struct Free {
  void operator()(T* p) const { F(p); }
};
using KeyPtr = std::unique_ptr<EVP_PKEY, Free<EVP_PKEY, EVP_PKEY_free>>;
using CertPtr = std::unique_ptr<X509, Free<X509, X509_free>>;

struct Identity {
  KeyPtr key;
  CertPtr cert;
};

// A P-256 key and a certificate valid [not_before, not_after], signed by
// `issuer` (self-signed if null), with the given extensions.
Identity MakeIdentity(const char* cn, time_t not_before, time_t not_after, const Identity* issuer,
                      const std::vector<std::pair<int, const char*>>& exts) {
  Identity id;
  id.key.reset(EVP_EC_gen("P-256"));
  id.cert.reset(X509_new());
  X509* x = id.cert.get();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), 0x1234);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn), -1, -1, 0);
  X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer->cert.get()) : name);
  ASN1_TIME_set(X509_getm_notBefore(x), not_before);
  ASN1_TIME_set(X509_getm_notAfter(x), not_after);
  X509_set_pubkey(x, id.key.get());
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer ? issuer->cert.get() : x, x, nullptr, nullptr, 0);
  for (const auto& [nid, value] : exts) {
    X509_EXTENSION* e = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    EXPECT_NE(e, nullptr) << value;
    if (e) X509_add_ext(x, e, -1);
    X509_EXTENSION_free(e);
  }
  EXPECT_GT(X509_sign(x, issuer ? issuer->key.get() : id.key.get(), EVP_sha256()), 0);
  return id;
}

std::string ToPem(X509* x) {
  std::unique_ptr<BIO, Free<BIO, BIO_free_all>> b(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(b.get(), x);
  char* data = nullptr;
  long n = BIO_get_mem_data(b.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

struct ForgedTime {
  long sec, usec;
};
int TimeCb(TS_RESP_CTX*, void* data, long* sec, long* usec) {
  auto* t = static_cast<ForgedTime*>(data);
  *sec = t->sec;
  *usec = t->usec;
  return 1;
}

// A TimeStampResp from `tsa` for `query` at a chosen genTime.
Bytes ForgeReply(const Identity& tsa, const Bytes& query, ForgedTime when, const EVP_MD* extra_md = nullptr) {
  std::unique_ptr<TS_RESP_CTX, Free<TS_RESP_CTX, TS_RESP_CTX_free>> ctx(TS_RESP_CTX_new());
  EXPECT_EQ(TS_RESP_CTX_set_signer_cert(ctx.get(), tsa.cert.get()), 1);
  EXPECT_EQ(TS_RESP_CTX_set_signer_key(ctx.get(), tsa.key.get()), 1);
  std::unique_ptr<ASN1_OBJECT, Free<ASN1_OBJECT, ASN1_OBJECT_free>> policy(OBJ_txt2obj("1.2.3.4.1", 1));
  EXPECT_EQ(TS_RESP_CTX_set_def_policy(ctx.get(), policy.get()), 1);
  TS_RESP_CTX_add_md(ctx.get(), EVP_sha256());
  if (extra_md) TS_RESP_CTX_add_md(ctx.get(), extra_md);
  TS_RESP_CTX_set_signer_digest(ctx.get(), EVP_sha256());
  TS_RESP_CTX_set_clock_precision_digits(ctx.get(), 3);
  TS_RESP_CTX_set_time_cb(ctx.get(), TimeCb, &when);
  std::unique_ptr<BIO, Free<BIO, BIO_free_all>> in(BIO_new_mem_buf(query.data(), static_cast<int>(query.size())));
  std::unique_ptr<TS_RESP, Free<TS_RESP, TS_RESP_free>> resp(TS_RESP_create_response(ctx.get(), in.get()));
  EXPECT_NE(resp, nullptr);
  if (!resp) return {};
  int n = i2d_TS_RESP(resp.get(), nullptr);
  Bytes out(static_cast<size_t>(n));
  unsigned char* p = out.data();
  i2d_TS_RESP(resp.get(), &p);
  return out;
}

class Rfc3161LibraryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(crypto::InitCrypto().ok());
    now_ = time(nullptr);
    ca_ = MakeIdentity("Forged Test CA", now_ - 400 * kDay, now_ + 400 * kDay, nullptr,
                       {{NID_basic_constraints, "critical,CA:TRUE"}, {NID_key_usage, "critical,keyCertSign"}});
    rfc3161::Error e;
    tsa_ = rfc3161::Tsa::Open("url=http://127.0.0.1:9/\nca_pem=" + Base64Encode(AsBytes(ToPem(ca_.cert.get()))),
                              &e);
    ASSERT_NE(tsa_, nullptr) << e.message;
  }
  Identity MakeTsa(time_t not_before, time_t not_after) {
    return MakeIdentity("Forged TSA", not_before, not_after, &ca_,
                        {{NID_basic_constraints, "critical,CA:FALSE"},
                         {NID_key_usage, "critical,digitalSignature,nonRepudiation"},
                         {NID_ext_key_usage, "critical,timeStamping"}});
  }
  static constexpr time_t kDay = 86400;
  time_t now_ = 0;
  Identity ca_;
  std::unique_ptr<rfc3161::Tsa> tsa_;
};

TEST_F(Rfc3161LibraryTest, VerifiesTheChainAtGenTimeNotNow) {
  // The TSA certificate expired 5 days ago; the token is from 7 days ago.
  Identity tsa = MakeTsa(now_ - 10 * kDay, now_ - 5 * kDay);
  Bytes d = crypto::Sha256(AsBytes("old evidence"));
  Bytes query;
  ASSERT_TRUE(rfc3161::Tsa::MakeRequest(d.data(), &query).ok());
  const long gen = static_cast<long>(now_ - 7 * kDay);
  Bytes token = ForgeReply(tsa, query, {gen, 123456});
  int64_t t = 0;
  rfc3161::Error e = tsa_->Verify(d.data(), token.data(), token.size(), &t);
  ASSERT_TRUE(e.ok()) << e.message;
  EXPECT_EQ(t, int64_t{gen} * 1000 + 123);  // genTime with its milliseconds

  // The stamp-time check (at the current time) refuses the same reply.
  e = tsa_->CheckReply(query, token.data(), token.size());
  EXPECT_EQ(e.code, VIGIL_TS_ERR_VERIFY);
  EXPECT_TRUE(Contains(e.message, "certificate has expired")) << e.message;

  // A token dated after the TSA certificate expired does not verify.
  Bytes late = ForgeReply(tsa, query, {static_cast<long>(now_ - 2 * kDay), 0});
  e = tsa_->Verify(d.data(), late.data(), late.size(), &t);
  EXPECT_EQ(e.code, VIGIL_TS_ERR_VERIFY);
  EXPECT_TRUE(Contains(e.message, "certificate has expired")) << e.message;

  // Nor one dated before the TSA certificate existed.
  Bytes early = ForgeReply(tsa, query, {static_cast<long>(now_ - 12 * kDay), 0});
  e = tsa_->Verify(d.data(), early.data(), early.size(), &t);
  EXPECT_EQ(e.code, VIGIL_TS_ERR_VERIFY);
  EXPECT_TRUE(Contains(e.message, "certificate is not yet valid")) << e.message;
}

TEST_F(Rfc3161LibraryTest, RefusesImprintsOtherThanSha256) {
  Identity tsa = MakeTsa(now_ - kDay, now_ + kDay);
  Bytes d = crypto::Sha256(AsBytes("x"));
  // A SHA-1 query whose 20 bytes are the first 20 of the digest.
  std::unique_ptr<TS_REQ, Free<TS_REQ, TS_REQ_free>> req(TS_REQ_new());
  std::unique_ptr<TS_MSG_IMPRINT, Free<TS_MSG_IMPRINT, TS_MSG_IMPRINT_free>> mi(TS_MSG_IMPRINT_new());
  std::unique_ptr<X509_ALGOR, Free<X509_ALGOR, X509_ALGOR_free>> alg(X509_ALGOR_new());
  X509_ALGOR_set0(alg.get(), OBJ_nid2obj(NID_sha1), V_ASN1_NULL, nullptr);
  TS_MSG_IMPRINT_set_algo(mi.get(), alg.get());
  TS_MSG_IMPRINT_set_msg(mi.get(), d.data(), 20);
  TS_REQ_set_msg_imprint(req.get(), mi.get());
  TS_REQ_set_version(req.get(), 1);
  TS_REQ_set_cert_req(req.get(), 1);
  Bytes query(static_cast<size_t>(i2d_TS_REQ(req.get(), nullptr)));
  unsigned char* p = query.data();
  i2d_TS_REQ(req.get(), &p);
  Bytes token = ForgeReply(tsa, query, {static_cast<long>(now_), 0}, EVP_sha1());
  int64_t t = 0;
  rfc3161::Error e = tsa_->Verify(d.data(), token.data(), token.size(), &t);
  EXPECT_EQ(e.code, VIGIL_TS_ERR_VERIFY);
  EXPECT_TRUE(Contains(e.message, "not SHA-256")) << e.message;
}

TEST_F(Rfc3161LibraryTest, RequestsAreSmallAndFresh) {
  Bytes d = crypto::Sha256(AsBytes("y"));
  Bytes a, b;
  ASSERT_TRUE(rfc3161::Tsa::MakeRequest(d.data(), &a).ok());
  ASSERT_TRUE(rfc3161::Tsa::MakeRequest(d.data(), &b).ok());
  EXPECT_LT(a.size(), 200u);
  EXPECT_NE(a, b);  // random nonces
  EXPECT_TRUE(Contains(ToString(a), ToString(d)));
}

// --- the fixture itself ---

TEST(LocalTsaTest, ServesRepliesThatTheLibraryAccepts) {
  ASSERT_TRUE(crypto::InitCrypto().ok());
  LocalTsa tsa;
  ASSERT_TRUE(tsa.Start().ok());
  EXPECT_EQ(tsa.url().rfind("http://127.0.0.1:", 0), 0u);
  rfc3161::Error e;
  auto lib = rfc3161::Tsa::Open(tsa.PluginConfig(), &e);
  ASSERT_NE(lib, nullptr) << e.message;
  Bytes d = crypto::Sha256(AsBytes("z"));
  Bytes token;
  e = lib->Stamp(d.data(), 5000, &token);
  ASSERT_TRUE(e.ok()) << e.message;
  int64_t t = 0;
  e = lib->Verify(d.data(), token.data(), token.size(), &t);
  ASSERT_TRUE(e.ok()) << e.message;
  std::string json;
  ASSERT_TRUE(lib->Describe(token.data(), token.size(), &json).ok());
  EXPECT_TRUE(Contains(json, "\"gen_time_ms\":" + std::to_string(t))) << json;
  // The TSA certificate is what the task asks for.
  auto r = RunCommand({LocalTsa::OpensslPath(), "x509", "-in", tsa.tsa_cert_path(), "-noout", "-ext",
                       "extendedKeyUsage,keyUsage"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(Contains(r.out, "X509v3 Extended Key Usage: critical\n    Time Stamping")) << r.out;
  EXPECT_TRUE(Contains(r.out, "Digital Signature, Non Repudiation")) << r.out;
}

TEST(LocalTsaTest, DownRefusesConnections) {
  LocalTsa tsa(LocalTsa::Mode::kDown);
  ASSERT_TRUE(tsa.Start().ok());
  rfc3161::Error e;
  auto lib = rfc3161::Tsa::Open(tsa.PluginConfig(), &e);
  ASSERT_NE(lib, nullptr) << e.message;
  Bytes d(32, 7), token;
  e = lib->Stamp(d.data(), 2000, &token);
  EXPECT_EQ(e.code, VIGIL_TS_ERR_UNAVAILABLE);
  EXPECT_TRUE(Contains(e.message, "refused") || Contains(e.message, "connect")) << e.message;

  // Messages never show credentials or a query string from the URL.
  std::string secret_url = "http://user:hunter2@127.0.0.1:" + std::to_string(tsa.port()) + "/tsa?key=hunter2";
  lib = rfc3161::Tsa::Open("url=" + secret_url + "\nca_pem=" + Base64Encode(AsBytes(tsa.ca_pem())), &e);
  ASSERT_NE(lib, nullptr) << e.message;
  e = lib->Stamp(d.data(), 2000, &token);
  EXPECT_EQ(e.code, VIGIL_TS_ERR_UNAVAILABLE);
  EXPECT_TRUE(Contains(e.message, "TSA http://127.0.0.1:" + std::to_string(tsa.port()) + "/tsa ")) << e.message;
  EXPECT_FALSE(Contains(e.message, "hunter2")) << e.message;
}

// Writes a fuzz seed (token, digest, CA) to $VIGIL_RFC3161_SEED_DIR; run by
// hand with --gtest_also_run_disabled_tests when the seeds need renewing.
TEST(LocalTsaTest, DISABLED_WriteFuzzSeed) {
  const char* out = std::getenv("VIGIL_RFC3161_SEED_DIR");
  ASSERT_NE(out, nullptr);
  LocalTsa tsa;
  ASSERT_TRUE(tsa.Start().ok());
  rfc3161::Error e;
  auto lib = rfc3161::Tsa::Open(tsa.PluginConfig(), &e);
  ASSERT_NE(lib, nullptr) << e.message;
  Bytes d = crypto::Sha256(AsBytes("vigil rfc3161 fuzz seed"));
  Bytes token;
  ASSERT_TRUE(lib->Stamp(d.data(), 5000, &token).ok());
  ASSERT_TRUE(testing::WriteFile(std::string(out) + "/token.tsr", ToString(token)));
  ASSERT_TRUE(testing::WriteFile(std::string(out) + "/digest.hex", HexEncode(d)));
  ASSERT_TRUE(testing::WriteFile(std::string(out) + "/ca.pem", tsa.ca_pem()));
}

}  // namespace
}  // namespace vigil
