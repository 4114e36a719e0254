#include "client/app/assets.h"

#include <cstring>

namespace vigil::app {

const Asset* FindAsset(std::string_view path) {
  for (const Asset* a = EmbeddedAssets(); a->path; ++a) {
    if (path == a->path) return a;
  }
  return nullptr;
}

const char* ContentTypeFor(std::string_view path) {
  struct Type {
    const char* ext;
    const char* type;
  };
  static constexpr Type kTypes[] = {
      {".html", "text/html; charset=utf-8"},  {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"}, {".css", "text/css; charset=utf-8"},
      {".json", "application/json"},          {".svg", "image/svg+xml"},
      {".png", "image/png"},                  {".ico", "image/x-icon"},
      {".txt", "text/plain; charset=utf-8"},  {".woff2", "font/woff2"},
  };
  for (const auto& t : kTypes) {
    size_t n = std::strlen(t.ext);
    if (path.size() >= n && path.substr(path.size() - n) == t.ext) return t.type;
  }
  return "application/octet-stream";
}

}  // namespace vigil::app
