// Zip files of bundles: the export zip unzips to its one directory; an
// uploaded zip is read with bounds and refused when unsafe.
#include "client/app/bundle_zip.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <zip.h>

#include <filesystem>

#include "client/lib/bundle.h"
#include "testing/testing.h"

namespace vigil::app {
namespace {

// A zip with the given entries (name -> content; a name ending in '/' is a
// directory); `symlink` marks one entry as a Unix symlink.
std::string MakeZip(const testing::TempDir& dir, const std::vector<std::pair<std::string, std::string>>& entries,
                    const std::string& symlink = "") {
  std::string path = dir.Sub("t.zip");
  std::filesystem::remove(path);
  int err = 0;
  zip_t* z = zip_open(path.c_str(), ZIP_CREATE | ZIP_EXCL, &err);
  EXPECT_NE(z, nullptr);
  for (const auto& [name, content] : entries) {
    if (!name.empty() && name.back() == '/') {
      zip_dir_add(z, name.c_str(), 0);
      continue;
    }
    char* copy = static_cast<char*>(malloc(content.size() + 1));
    memcpy(copy, content.data(), content.size());
    zip_source_t* src = zip_source_buffer(z, copy, content.size(), 1);
    zip_int64_t idx = zip_file_add(z, name.c_str(), src, ZIP_FL_OVERWRITE);
    EXPECT_GE(idx, 0) << name;
    if (name == symlink) {
      zip_file_set_external_attributes(z, static_cast<zip_uint64_t>(idx), 0, ZIP_OPSYS_UNIX,
                                       static_cast<zip_uint32_t>(S_IFLNK | 0777) << 16);
    }
  }
  EXPECT_EQ(zip_close(z), 0);
  return testing::ReadFile(path);
}

TEST(BundleZipTest, ExportZipUnzipsToTheSameFiles) {
  testing::TempDir dir;
  std::filesystem::create_directories(dir.Sub("root/vigil-note-abcd1234/v1"));
  ASSERT_TRUE(testing::WriteFile(dir.Sub("root/vigil-note-abcd1234/MANIFEST.sha256"), "m\n"));
  ASSERT_TRUE(testing::WriteFile(dir.Sub("root/vigil-note-abcd1234/v1/text.txt"), "Arrived 09:50."));
  auto zip = ZipDirectory(dir.Sub("root"), "vigil-note-abcd1234");
  ASSERT_TRUE(zip.ok()) << zip.status().ToString();
  auto out = UnzipBundle(*zip, dir.Sub("base"));
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->sub, "vigil-note-abcd1234");
  EXPECT_EQ(testing::ReadFile(out->bundle_dir() + "/v1/text.txt"), "Arrived 09:50.");
  EXPECT_EQ(testing::ReadFile(out->bundle_dir() + "/MANIFEST.sha256"), "m\n");
  std::string unpacked = out->dir->path();
  out->dir.reset();
  EXPECT_FALSE(std::filesystem::exists(unpacked));  // removed after use
}

TEST(BundleZipTest, RefusesUnsafeZips) {
  testing::TempDir dir;
  for (const char* bad : {"../evil.txt", "/etc/evil", "a/../../evil", "a//b", "a\\b"}) {
    auto r = UnzipBundle(MakeZip(dir, {{bad, "x"}}), dir.Sub("base"));
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << bad;
  }
  auto link = UnzipBundle(MakeZip(dir, {{"b/MANIFEST.sha256", "m"}, {"b/link", "/etc/passwd"}}, "b/link"),
                          dir.Sub("base"));
  EXPECT_EQ(link.status().code(), Code::kInvalidArgument);
  EXPECT_NE(link.status().message().find("link"), std::string::npos);
  EXPECT_EQ(UnzipBundle("not a zip at all", dir.Sub("base")).status().code(), Code::kInvalidArgument);
  std::string big(client::kMaxBundleFileSize + 1, 'a');
  EXPECT_EQ(UnzipBundle(MakeZip(dir, {{"b/big", big}}), dir.Sub("base")).status().code(), Code::kInvalidArgument);
  // Nothing was left behind under base.
  std::error_code ec;
  size_t left = 0;
  for (auto it = std::filesystem::directory_iterator(dir.Sub("base"), ec); !ec && it != std::filesystem::directory_iterator(); ++it) ++left;
  EXPECT_EQ(left, 0u);
}

}  // namespace
}  // namespace vigil::app
