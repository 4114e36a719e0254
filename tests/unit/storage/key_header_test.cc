// The store key header (<name>.key): documented layout, strict parsing, one
// clear error for a wrong passphrase or a foreign file, atomic rewrap.
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "testing/testing.h"
#include "vigil/storage.h"

namespace vigil::storage {
namespace {

using ::vigil::testing::ReadFile;
using ::vigil::testing::TempDir;
using ::vigil::testing::WriteFile;

constexpr size_t kHeaderSize = 106;
const crypto::Argon2Params kFast{1, 8192};
const std::string kWrong(kWrongPassphrase);

uint32_t U32At(const std::string& h, size_t off) {
  return (uint32_t{static_cast<uint8_t>(h[off])} << 24) |
         (uint32_t{static_cast<uint8_t>(h[off + 1])} << 16) |
         (uint32_t{static_cast<uint8_t>(h[off + 2])} << 8) |
         uint32_t{static_cast<uint8_t>(h[off + 3])};
}

void PutU32At(std::string& h, size_t off, uint32_t v) {
  h[off] = static_cast<char>(v >> 24);
  h[off + 1] = static_cast<char>(v >> 16);
  h[off + 2] = static_cast<char>(v >> 8);
  h[off + 3] = static_cast<char>(v);
}

bool Exists(const std::string& path) {
  struct stat sb;
  return lstat(path.c_str(), &sb) == 0;
}

class StorageKeyHeaderTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(crypto::InitCrypto().ok()); }
  std::string Header() const { return dir_.Sub("s.key"); }
  crypto::SecretBytes MakeHeader(std::string_view pass = "pass") {
    auto key = CreateKeyHeader(Header(), AsBytes(pass), kFast);
    EXPECT_TRUE(key.ok()) << key.status().ToString();
    return key.ok() ? std::move(key).value() : crypto::SecretBytes();
  }
  // Unlocks a header whose bytes are `h`.
  Status UnlockBytes(const std::string& h, std::string_view pass = "pass") {
    EXPECT_TRUE(WriteFile(Header(), h));
    return UnlockKeyHeader(Header(), AsBytes(pass)).status();
  }
  TempDir dir_;
};

TEST_F(StorageKeyHeaderTest, CreateThenUnlockGivesTheSameKey) {
  crypto::SecretBytes key = MakeHeader();
  ASSERT_EQ(key.size(), kStoreKeySize);
  auto unlocked = UnlockKeyHeader(Header(), AsBytes("pass"));
  ASSERT_TRUE(unlocked.ok()) << unlocked.status().ToString();
  EXPECT_TRUE(crypto::ConstantTimeEqual(unlocked->span(), key.span()));

  std::string h = ReadFile(Header());
  ASSERT_EQ(h.size(), kHeaderSize);
  EXPECT_EQ(h.substr(0, 8), "VIGILKEY");
  EXPECT_EQ(h[8], 1);  // format version
  EXPECT_EQ(h[9], 1);  // Argon2id13
  EXPECT_EQ(U32At(h, 10), 1u);  // opslimit
  EXPECT_EQ(U32At(h, 14), 8u);  // memlimit in KiB
  struct stat sb;
  ASSERT_EQ(stat(Header().c_str(), &sb), 0);
  EXPECT_EQ(sb.st_mode & 07777, 0600u);
  EXPECT_FALSE(Exists(Header() + ".tmp"));
}

TEST_F(StorageKeyHeaderTest, DefaultParametersAreRecorded) {
  auto key = CreateKeyHeader(Header(), AsBytes("pass"));
  ASSERT_TRUE(key.ok()) << key.status().ToString();
  std::string h = ReadFile(Header());
  crypto::Argon2Params d = crypto::DefaultArgon2Params();
  EXPECT_EQ(U32At(h, 10), d.opslimit);
  EXPECT_EQ(uint64_t{U32At(h, 14)} * 1024, d.memlimit);
  EXPECT_TRUE(UnlockKeyHeader(Header(), AsBytes("pass")).ok());
}

// The header can be produced and read from the specification alone
// (docs/STORE_HEADER.md), with nothing but Argon2id and XChaCha20-Poly1305.
TEST_F(StorageKeyHeaderTest, FollowsTheDocumentedLayout) {
  // Read a header we wrote.
  crypto::SecretBytes key = MakeHeader("spec pass");
  std::string h = ReadFile(Header());
  ASSERT_EQ(h.size(), kHeaderSize);
  Bytes hb = ToBytes(h);
  crypto::Argon2Params params{U32At(h, 10), uint64_t{U32At(h, 14)} * 1024};
  auto kek = crypto::Argon2id(AsBytes("spec pass"), ByteSpan(&hb[18], 16), params, 32);
  ASSERT_TRUE(kek.ok());
  auto opened = crypto::AeadOpen(*kek, ByteSpan(&hb[34], 24), ByteSpan(hb.data(), 58),
                                 ByteSpan(&hb[58], 48));
  ASSERT_TRUE(opened.ok());
  EXPECT_TRUE(crypto::ConstantTimeEqual(opened->span(), key.span()));

  // Write one by hand and have Vigil read it.
  Bytes store_key = crypto::RandomBytes(32);
  Bytes mine = ToBytes("VIGILKEY");
  mine.push_back(1);
  mine.push_back(1);
  for (uint8_t b : {0, 0, 0, 2}) mine.push_back(b);      // opslimit 2
  for (uint8_t b : {0, 0, 0, 16}) mine.push_back(b);     // 16 KiB
  Bytes salt = crypto::RandomBytes(16), nonce = crypto::RandomBytes(24);
  mine.insert(mine.end(), salt.begin(), salt.end());
  mine.insert(mine.end(), nonce.begin(), nonce.end());
  auto kek2 = crypto::Argon2id(AsBytes("hand made"), salt, {2, 16 * 1024}, 32);
  ASSERT_TRUE(kek2.ok());
  auto wrapped = crypto::AeadSeal(*kek2, nonce, mine, store_key);
  ASSERT_TRUE(wrapped.ok());
  mine.insert(mine.end(), wrapped->begin(), wrapped->end());
  ASSERT_EQ(mine.size(), kHeaderSize);
  ASSERT_TRUE(WriteFile(Header(), ToString(mine)));
  auto unlocked = UnlockKeyHeader(Header(), AsBytes("hand made"));
  ASSERT_TRUE(unlocked.ok()) << unlocked.status().ToString();
  EXPECT_EQ(Bytes(unlocked->span().begin(), unlocked->span().end()), store_key);
}

TEST_F(StorageKeyHeaderTest, EachHeaderHasFreshKeySaltAndNonce) {
  crypto::SecretBytes a = MakeHeader();
  std::string ha = ReadFile(Header());
  ASSERT_EQ(unlink(Header().c_str()), 0);
  crypto::SecretBytes b = MakeHeader();
  std::string hb = ReadFile(Header());
  EXPECT_FALSE(crypto::ConstantTimeEqual(a.span(), b.span()));
  EXPECT_NE(ha.substr(18, 16), hb.substr(18, 16));  // salt
  EXPECT_NE(ha.substr(34, 24), hb.substr(34, 24));  // nonce
}

TEST_F(StorageKeyHeaderTest, CreateRefusesToOverwrite) {
  MakeHeader();
  std::string before = ReadFile(Header());
  auto again = CreateKeyHeader(Header(), AsBytes("other"), kFast);
  EXPECT_EQ(again.status().code(), Code::kAlreadyExists);
  EXPECT_EQ(ReadFile(Header()), before);
  EXPECT_TRUE(UnlockKeyHeader(Header(), AsBytes("pass")).ok());
}

TEST_F(StorageKeyHeaderTest, CreateIgnoresAStaleTemporaryFile) {
  ASSERT_TRUE(WriteFile(Header() + ".tmp", "left over by a crash"));
  MakeHeader();
  EXPECT_TRUE(UnlockKeyHeader(Header(), AsBytes("pass")).ok());
  EXPECT_FALSE(Exists(Header() + ".tmp"));
}

TEST_F(StorageKeyHeaderTest, CreateRejectsParametersOutOfRange) {
  const crypto::Argon2Params bad[] = {
      {0, 8192}, {21, 8192}, {1, 4096}, {1, (4ull << 30) + 1024}};
  for (const auto& p : bad) {
    auto r = CreateKeyHeader(Header(), AsBytes("pass"), p);
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << p.opslimit << " " << p.memlimit;
    EXPECT_FALSE(Exists(Header()));
    EXPECT_FALSE(Exists(Header() + ".tmp"));
  }
}

TEST_F(StorageKeyHeaderTest, WrongPassphraseIsOneClearError) {
  MakeHeader();
  auto r = UnlockKeyHeader(Header(), AsBytes("Pass"));
  EXPECT_EQ(r.status().code(), Code::kUnauthenticated);
  EXPECT_EQ(r.status().message(), kWrong);
  EXPECT_EQ(UnlockKeyHeader(Header(), AsBytes("")).status().message(), kWrong);
}

TEST_F(StorageKeyHeaderTest, MissingHeaderIsNotFound) {
  EXPECT_EQ(UnlockKeyHeader(Header(), AsBytes("pass")).status().code(), Code::kNotFound);
}

TEST_F(StorageKeyHeaderTest, FilesThatAreNotOursGetTheWrongPassphraseMessage) {
  const std::string random106 = ToString(crypto::RandomBytes(kHeaderSize));
  const std::string random4k = ToString(crypto::RandomBytes(4096));
  for (const std::string& junk :
       {std::string(), std::string(kHeaderSize, 'x'), random106, random4k,
        std::string("SQLite format 3") + std::string(91, '\0')}) {
    Status s = UnlockBytes(junk);
    EXPECT_EQ(s.code(), Code::kUnauthenticated) << junk.size();
    EXPECT_EQ(s.message(), kWrong);
  }
  // A directory where the header should be.
  ASSERT_EQ(unlink(Header().c_str()), 0);
  ASSERT_EQ(mkdir(Header().c_str(), 0700), 0);
  EXPECT_EQ(UnlockKeyHeader(Header(), AsBytes("pass")).status().message(), kWrong);
}

TEST_F(StorageKeyHeaderTest, TruncatedOrExtendedHeaderIsTheWrongPassphraseError) {
  MakeHeader();
  const std::string h = ReadFile(Header());
  for (size_t len : {size_t{0}, size_t{1}, size_t{7}, size_t{8}, size_t{9}, size_t{10},
                     size_t{57}, size_t{58}, size_t{105}}) {
    Status s = UnlockBytes(h.substr(0, len));
    EXPECT_EQ(s.code(), Code::kUnauthenticated) << "length " << len;
    EXPECT_EQ(s.message(), kWrong) << "length " << len;
  }
  Status s = UnlockBytes(h + std::string(1, '\0'));
  EXPECT_EQ(s.code(), Code::kUnauthenticated);
  EXPECT_EQ(s.message(), kWrong);
  EXPECT_TRUE(UnlockBytes(h).ok());
}

TEST_F(StorageKeyHeaderTest, UnknownVersionIsUnimplemented) {
  MakeHeader();
  const std::string h = ReadFile(Header());
  for (int version : {0, 2, 9, 255}) {
    std::string t = h;
    t[8] = static_cast<char>(version);
    Status s = UnlockBytes(t);
    EXPECT_EQ(s.code(), Code::kUnimplemented);
    EXPECT_EQ(s.message(), "store header version " + std::to_string(version) +
                               " is not supported; upgrade Vigil");
    // A future version may have another size.
    EXPECT_EQ(UnlockBytes(t.substr(0, 9)).code(), Code::kUnimplemented);
    EXPECT_EQ(UnlockBytes(t + "more").code(), Code::kUnimplemented);
  }
}

TEST_F(StorageKeyHeaderTest, UnknownKdfIsUnimplemented) {
  MakeHeader();
  std::string h = ReadFile(Header());
  h[9] = 2;
  Status s = UnlockBytes(h);
  EXPECT_EQ(s.code(), Code::kUnimplemented);
  EXPECT_NE(s.message().find("upgrade Vigil"), std::string::npos);
}

TEST_F(StorageKeyHeaderTest, ImplausibleParametersAreDataLoss) {
  MakeHeader();
  const std::string h = ReadFile(Header());
  struct Case {
    uint32_t ops, mem_kib;
  };
  for (const Case& c : {Case{0, 8}, Case{21, 8}, Case{0xffffffff, 8}, Case{1, 7},
                        Case{1, 0}, Case{1, 4u * 1024 * 1024 + 1}, Case{1, 0xffffffff}}) {
    std::string t = h;
    PutU32At(t, 10, c.ops);
    PutU32At(t, 14, c.mem_kib);
    EXPECT_EQ(UnlockBytes(t).code(), Code::kDataLoss) << c.ops << " " << c.mem_kib;
  }
}

TEST_F(StorageKeyHeaderTest, EveryByteIsAuthenticated) {
  MakeHeader();
  const std::string h = ReadFile(Header());
  for (size_t i = 0; i < h.size(); ++i) {
    for (uint8_t flip : {0x01, 0x80}) {
      std::string t = h;
      t[i] = static_cast<char>(t[i] ^ flip);
      Status s = UnlockBytes(t);
      EXPECT_FALSE(s.ok()) << "byte " << i;
      if (i >= 18) {  // salt, nonce, wrapped key: only the AEAD can tell
        EXPECT_EQ(s.message(), kWrong) << "byte " << i;
      }
    }
  }
}

TEST_F(StorageKeyHeaderTest, RewrapKeepsTheKeyAndChangesThePassphrase) {
  crypto::SecretBytes key = MakeHeader("old");
  const std::string before = ReadFile(Header());
  ASSERT_TRUE(RewrapKeyHeader(Header(), AsBytes("old"), AsBytes("new")).ok());
  const std::string after = ReadFile(Header());
  ASSERT_EQ(after.size(), kHeaderSize);
  EXPECT_EQ(after.substr(0, 18), before.substr(0, 18));  // magic, version, params
  EXPECT_NE(after.substr(18, 16), before.substr(18, 16));  // fresh salt
  EXPECT_NE(after.substr(34, 24), before.substr(34, 24));  // fresh nonce

  auto old_pass = UnlockKeyHeader(Header(), AsBytes("old"));
  EXPECT_EQ(old_pass.status().code(), Code::kUnauthenticated);
  EXPECT_EQ(old_pass.status().message(), kWrong);
  auto unlocked = UnlockKeyHeader(Header(), AsBytes("new"));
  ASSERT_TRUE(unlocked.ok());
  EXPECT_TRUE(crypto::ConstantTimeEqual(unlocked->span(), key.span()));

  struct stat sb;
  ASSERT_EQ(stat(Header().c_str(), &sb), 0);
  EXPECT_EQ(sb.st_mode & 07777, 0600u);
  EXPECT_FALSE(Exists(Header() + ".tmp"));
}

TEST_F(StorageKeyHeaderTest, RewrapWithWrongOldPassphraseChangesNothing) {
  MakeHeader("old");
  const std::string before = ReadFile(Header());
  struct stat sb_before, sb_after;
  ASSERT_EQ(stat(Header().c_str(), &sb_before), 0);
  Status s = RewrapKeyHeader(Header(), AsBytes("wrong"), AsBytes("new"));
  EXPECT_EQ(s.code(), Code::kUnauthenticated);
  EXPECT_EQ(s.message(), kWrong);
  EXPECT_EQ(ReadFile(Header()), before);
  ASSERT_EQ(stat(Header().c_str(), &sb_after), 0);
  EXPECT_EQ(sb_before.st_ino, sb_after.st_ino);
  EXPECT_EQ(sb_before.st_mtim.tv_sec, sb_after.st_mtim.tv_sec);
  EXPECT_EQ(sb_before.st_mtim.tv_nsec, sb_after.st_mtim.tv_nsec);
  EXPECT_FALSE(Exists(Header() + ".tmp"));
  EXPECT_TRUE(UnlockKeyHeader(Header(), AsBytes("old")).ok());
  EXPECT_FALSE(UnlockKeyHeader(Header(), AsBytes("new")).ok());
}

TEST_F(StorageKeyHeaderTest, RewrapReplacesAStaleTemporaryFile) {
  MakeHeader("old");
  ASSERT_TRUE(WriteFile(Header() + ".tmp", "left over by a crash"));
  ASSERT_TRUE(RewrapKeyHeader(Header(), AsBytes("old"), AsBytes("new")).ok());
  EXPECT_TRUE(UnlockKeyHeader(Header(), AsBytes("new")).ok());
  EXPECT_FALSE(Exists(Header() + ".tmp"));
}

TEST_F(StorageKeyHeaderTest, RewrapOfMissingOrForeignHeaderFails) {
  EXPECT_EQ(RewrapKeyHeader(Header(), AsBytes("a"), AsBytes("b")).code(), Code::kNotFound);
  ASSERT_TRUE(WriteFile(Header(), std::string(kHeaderSize, 'z')));
  Status s = RewrapKeyHeader(Header(), AsBytes("a"), AsBytes("b"));
  EXPECT_EQ(s.message(), kWrong);
  EXPECT_EQ(ReadFile(Header()), std::string(kHeaderSize, 'z'));
}

}  // namespace
}  // namespace vigil::storage
