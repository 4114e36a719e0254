// The exporter's signed statement (EXPORT.txt): the text the exporting
// device signs, and the strict parser `vigil verify` reads it with.
#include <gtest/gtest.h>

#include "vigil/evidence.h"

namespace vigil::evidence {
namespace {

ExportStatement Sample() {
  ExportStatement s;
  s.exporter = "Lee";
  s.identity_key = Bytes(32, 0xab);
  s.device_id = Bytes(16, 0xcd);
  s.time_ms = 1796148000123;
  s.manifest_sha256 = Bytes(32, 0x01);
  ExportNote& n = s.notes.emplace_back();
  n.note_id = Bytes(16, 0x11);
  n.head = 2;
  n.versions.push_back({1, "v1", Bytes(32, 0x22), {"notary", "tlog"}});
  n.versions.push_back({2, "v2", Bytes(32, 0x33), {"notary", "tlog", "rfc3161-1"}});
  n.versions.push_back({2, "v2-44444444", Bytes(32, 0x44), {}});
  return s;
}

TEST(ExportStatementTest, TextIsExactAndParsesBack) {
  std::string text = ExportStatementText(Sample());
  EXPECT_EQ(text,
            "vigil-export-v1\n"
            "exporter Lee\n"
            "identity abababababababababababababababababababababababababababababababab\n"
            "device cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd\n"
            "time 1796148000123 2026-12-01T18:00:00.123Z\n"
            "manifest 0101010101010101010101010101010101010101010101010101010101010101\n"
            "notes 1\n"
            "note 11111111111111111111111111111111 versions 3 head 2\n"
            "version 1 v1 2222222222222222222222222222222222222222222222222222222222222222 anchors notary,tlog\n"
            "version 2 v2 3333333333333333333333333333333333333333333333333333333333333333 anchors "
            "notary,tlog,rfc3161-1\n"
            "version 2 v2-44444444 4444444444444444444444444444444444444444444444444444444444444444 anchors none\n");
  auto parsed = ParseExportStatement(text);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->exporter, "Lee");
  ASSERT_EQ(parsed->notes.size(), 1u);
  ASSERT_EQ(parsed->notes[0].versions.size(), 3u);
  EXPECT_EQ(parsed->notes[0].versions[1].anchors, (std::vector<std::string>{"notary", "tlog", "rfc3161-1"}));
  EXPECT_TRUE(parsed->notes[0].versions[2].anchors.empty());
  EXPECT_EQ(ExportStatementText(*parsed), text);
}

TEST(ExportStatementTest, RefusesEveryInconsistency) {
  std::string good = ExportStatementText(Sample());
  auto with = [&](const std::string& from, const std::string& to) {
    std::string t = good;
    size_t at = t.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    return t.replace(at, from.size(), to);
  };
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"versions 3 head 2", "versions 4 head 2"},        // a version fewer than counted
      {"versions 3 head 2", "versions 3 head 3"},        // head is not the highest number
      {"anchors notary,tlog\n", "anchors tlog,notary\n"},  // out of order
      {"anchors notary,tlog\n", "anchors notary,notary\n"},
      {"anchors notary,tlog\n", "anchors stamp\n"},
      {"anchors notary,tlog\n", "anchors \n"},
      {"version 1 v1 ", "version 1 v2 "},                // stem does not say the number
      {"v2-44444444", "v2-44444445"},                    // nor the hash
      {"version 1 v1", "version 01 v1"},                 // leading zero
      {"notes 1", "notes 2"},
      {"notes 1", "notes 0"},
      {"time 1796148000123 2026-12-01T18:00:00.123Z", "time 1796148000123 2026-12-01T18:00:00Z"},
      {"exporter Lee", "exporter Lee\r"},
      {"identity ab", "identity AB"},
      {"version 1 v1 2222", "version 1  v1 2222"},
  };
  for (const auto& [from, to] : cases) {
    EXPECT_FALSE(ParseExportStatement(with(from, to)).ok()) << from << " -> " << to;
  }
  EXPECT_FALSE(ParseExportStatement(good + "version 3 v3 " + std::string(64, '5') + " anchors none\n").ok());
  EXPECT_FALSE(ParseExportStatement(good.substr(0, good.size() - 1)).ok());
  // Versions out of bundle order.
  ExportStatement s = Sample();
  std::swap(s.notes[0].versions[0], s.notes[0].versions[1]);
  EXPECT_FALSE(ParseExportStatement(ExportStatementText(s)).ok());
  // Notes out of id order.
  s = Sample();
  s.notes.push_back(s.notes[0]);
  s.notes[1].note_id = Bytes(16, 0x10);
  EXPECT_FALSE(ParseExportStatement(ExportStatementText(s)).ok());
}

}  // namespace
}  // namespace vigil::evidence
