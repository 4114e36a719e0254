// Uploads are encrypted on disk, used once, bounded, and wiped on Clear.
#include "client/app/uploads.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "testing/testing.h"

namespace vigil::app {
namespace {

TEST(UploadsTest, RoundTripEncryptedOnDiskUsedOnce) {
  ASSERT_TRUE(crypto::InitCrypto().ok());
  testing::TempDir dir;
  Uploads up(dir.Sub("up"));
  std::string plain(200 * 1024 + 17, '\0');
  for (size_t i = 0; i < plain.size(); ++i) plain[i] = static_cast<char>("Guard said no interpreter. "[i % 27]);
  auto w = up.Begin("photo.jpg", client::kMaxAttachmentSize);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  for (size_t off = 0; off < plain.size(); off += 1000) {
    ASSERT_TRUE((*w)->Append(plain.data() + off, std::min<size_t>(1000, plain.size() - off)).ok());
  }
  auto info = (*w)->Finish();
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->size, plain.size());
  EXPECT_EQ(info->sha256, HexEncode(crypto::Sha256(AsBytes(plain))));
  // On disk: no plaintext.
  std::string on_disk = testing::ReadFile(dir.Sub("up") + "/" + info->id);
  EXPECT_GT(on_disk.size(), plain.size());
  EXPECT_EQ(on_disk.find("Guard said"), std::string::npos);
  auto a = up.Take(info->id);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->name, "photo.jpg");
  EXPECT_EQ(std::string(a->data.begin(), a->data.end()), plain);
  EXPECT_EQ(up.Take(info->id).status().code(), Code::kNotFound);  // once
  EXPECT_FALSE(std::filesystem::exists(dir.Sub("up") + "/" + info->id));
}

TEST(UploadsTest, BoundsNamesAndSizeAndClearDeletes) {
  ASSERT_TRUE(crypto::InitCrypto().ok());
  testing::TempDir dir;
  Uploads up(dir.Sub("up"));
  EXPECT_EQ(up.Begin("../etc/passwd", 100).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(up.Begin("", 100).status().code(), Code::kInvalidArgument);
  auto big = up.Begin("big.bin", client::kMaxAttachmentSize);
  ASSERT_TRUE(big.ok());
  std::string mb(1024 * 1024, 'x');
  Status s;
  for (int i = 0; i < 26 && s.ok(); ++i) s = (*big)->Append(mb.data(), mb.size());
  EXPECT_EQ(s.code(), Code::kResourceExhausted);
  big->reset();  // an unfinished upload leaves no file
  auto w = up.Begin("a.txt", 100);
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->Append("hello", 5).ok());
  auto info = (*w)->Finish();
  ASSERT_TRUE(info.ok());
  up.Clear();
  EXPECT_EQ(up.Take(info->id).status().code(), Code::kNotFound);
  EXPECT_TRUE(std::filesystem::is_empty(dir.Sub("up")));
}

}  // namespace
}  // namespace vigil::app
