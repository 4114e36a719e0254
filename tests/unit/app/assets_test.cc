// The page is compiled in, and each file type gets its Content-Type.
#include "client/app/assets.h"

#include <gtest/gtest.h>

#include <string>

namespace vigil::app {
namespace {

TEST(AssetsTest, IndexIsEmbedded) {
  const Asset* index = FindAsset("/index.html");
  ASSERT_NE(index, nullptr);
  std::string body(reinterpret_cast<const char*>(index->data), index->size);
  EXPECT_NE(body.find("<html"), std::string::npos);
  EXPECT_EQ(FindAsset("/nope.html"), nullptr);
  EXPECT_EQ(FindAsset("/../CMakeLists.txt"), nullptr);
}

TEST(AssetsTest, ContentTypeByExtension) {
  EXPECT_STREQ(ContentTypeFor("/index.html"), "text/html; charset=utf-8");
  EXPECT_STREQ(ContentTypeFor("/assets/app.js"), "text/javascript; charset=utf-8");
  EXPECT_STREQ(ContentTypeFor("/assets/app.css"), "text/css; charset=utf-8");
  EXPECT_STREQ(ContentTypeFor("/assets/i18n/es.json"), "application/json");
  EXPECT_STREQ(ContentTypeFor("/assets/logo.svg"), "image/svg+xml");
  EXPECT_STREQ(ContentTypeFor("/assets/logo.png"), "image/png");
  EXPECT_STREQ(ContentTypeFor("/assets/unknown.bin"), "application/octet-stream");
}

}  // namespace
}  // namespace vigil::app
