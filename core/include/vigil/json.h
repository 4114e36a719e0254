// A small JSON writer for --json output (RFC 8259). Commas, indentation and
// string escaping are handled here; invalid UTF-8 in strings is replaced by
// U+FFFD so that the output is always valid JSON.
//
// Thread safety: a Writer is used by one thread.
#ifndef VIGIL_JSON_H_
#define VIGIL_JSON_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace vigil::json {

class Writer {
 public:
  // `pretty`: newline and two-space indentation, and ": " after keys.
  explicit Writer(bool pretty = false) : pretty_(pretty) {}

  Writer& BeginObject();
  Writer& EndObject();
  Writer& BeginArray();
  Writer& EndArray();
  Writer& Key(std::string_view key);
  Writer& String(std::string_view value);
  Writer& Int(int64_t value);
  Writer& Uint(uint64_t value);
  Writer& Bool(bool value);
  Writer& Null();

  // The document so far; the writer is empty afterwards.
  std::string Take();

 private:
  void BeforeValue();
  void Close(char c);
  void Newline();
  void Quote(std::string_view s);

  bool pretty_;
  bool after_key_ = false;
  std::string out_;
  std::vector<int> counts_;  // values written at each open level
};

}  // namespace vigil::json

#endif  // VIGIL_JSON_H_
