#include "vigil/json.h"

#include <gtest/gtest.h>

namespace vigil::json {
namespace {

TEST(JsonWriterTest, CompactNesting) {
  Writer w;
  w.BeginObject().Key("a").Int(1).Key("b").BeginArray().Bool(true).Null().String("x").EndArray()
      .Key("c").BeginObject().EndObject().EndObject();
  EXPECT_EQ(w.Take(), R"({"a":1,"b":[true,null,"x"],"c":{}})");
}

TEST(JsonWriterTest, PrettyUsesColonSpace) {
  Writer w(true);
  w.BeginObject().Key("from").String("Vic").EndObject();
  EXPECT_EQ(w.Take(), "{\n  \"from\": \"Vic\"\n}");
}

TEST(JsonWriterTest, EscapesControlAndQuotes) {
  Writer w;
  w.String(std::string("a\"b\\c\n\x01", 7));
  EXPECT_EQ(w.Take(), R"("a\"b\\c\u000a\u0001")");
}

TEST(JsonWriterTest, KeepsValidUtf8AndReplacesInvalid) {
  Writer w;
  w.String("caf\xc3\xa9 \xe2\x82\xac");
  EXPECT_EQ(w.Take(), "\"caf\xc3\xa9 \xe2\x82\xac\"");
  w.String("bad \xff \xc3 \xed\xa0\x80");
  std::string out = w.Take();
  EXPECT_EQ(out.find('\xff'), std::string::npos);
  EXPECT_NE(out.find("\xef\xbf\xbd"), std::string::npos);
}

}  // namespace
}  // namespace vigil::json
