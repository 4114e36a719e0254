#include "vigil/json.h"

#include <cstdio>

namespace vigil::json {

Writer& Writer::BeginObject() {
  BeforeValue();
  out_ += '{';
  counts_.push_back(0);
  return *this;
}
Writer& Writer::EndObject() {
  Close('}');
  return *this;
}
Writer& Writer::BeginArray() {
  BeforeValue();
  out_ += '[';
  counts_.push_back(0);
  return *this;
}
Writer& Writer::EndArray() {
  Close(']');
  return *this;
}
Writer& Writer::Key(std::string_view key) {
  BeforeValue();
  Quote(key);
  out_ += pretty_ ? ": " : ":";
  after_key_ = true;
  return *this;
}
Writer& Writer::String(std::string_view value) {
  BeforeValue();
  Quote(value);
  return *this;
}
Writer& Writer::Int(int64_t value) {
  BeforeValue();
  out_ += std::to_string(value);
  return *this;
}
Writer& Writer::Uint(uint64_t value) {
  BeforeValue();
  out_ += std::to_string(value);
  return *this;
}
Writer& Writer::Bool(bool value) {
  BeforeValue();
  out_ += value ? "true" : "false";
  return *this;
}
Writer& Writer::Null() {
  BeforeValue();
  out_ += "null";
  return *this;
}

std::string Writer::Take() {
  std::string out = std::move(out_);
  out_.clear();
  counts_.clear();
  after_key_ = false;
  return out;
}

void Writer::Newline() {
  if (!pretty_) return;
  out_ += '\n';
  out_.append(counts_.size() * 2, ' ');
}

void Writer::BeforeValue() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (counts_.empty()) return;
  if (counts_.back()++ > 0) out_ += ',';
  Newline();
}

void Writer::Close(char c) {
  if (counts_.empty()) return;
  bool had_values = counts_.back() > 0;
  counts_.pop_back();
  if (had_values) Newline();
  out_ += c;
}

void Writer::Quote(std::string_view s) {
  out_ += '"';
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\') {
      out_ += '\\';
      out_ += static_cast<char>(c);
      ++i;
    } else if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out_ += buf;
      ++i;
    } else if (c < 0x80) {
      out_ += static_cast<char>(c);
      ++i;
    } else {
      // Validate one UTF-8 sequence; replace anything invalid with U+FFFD.
      size_t len = c >= 0xf0 && c <= 0xf4 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 && c <= 0xdf ? 2 : 0;
      bool valid = len > 0 && i + len <= s.size();
      uint32_t cp = len == 2 ? c & 0x1f : len == 3 ? c & 0x0f : c & 0x07;
      for (size_t k = 1; valid && k < len; ++k) {
        unsigned char cc = static_cast<unsigned char>(s[i + k]);
        if ((cc & 0xc0) != 0x80) valid = false;
        cp = (cp << 6) | (cc & 0x3f);
      }
      if (valid && ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
                    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))) {
        valid = false;
      }
      if (valid) {
        out_.append(s.substr(i, len));
        i += len;
      } else {
        out_ += "\xef\xbf\xbd";
        ++i;
      }
    }
  }
  out_ += '"';
}

}  // namespace vigil::json
