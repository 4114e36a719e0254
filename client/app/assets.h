// The page's static files (client/app/web/**), compiled into the binary at
// build time by client/app/embed_assets.cmake.
//
// Thread safety: immutable data; safe from any thread.
#ifndef VIGIL_CLIENT_APP_ASSETS_H_
#define VIGIL_CLIENT_APP_ASSETS_H_

#include <cstddef>
#include <string_view>

namespace vigil::app {

struct Asset {
  const char* path;  // "/index.html", "/assets/app.js": relative to web/, with a leading '/'
  const unsigned char* data;
  size_t size;
};

// Every embedded file; ends with {nullptr, nullptr, 0}.
const Asset* EmbeddedAssets();
// The asset at `path`, or nullptr.
const Asset* FindAsset(std::string_view path);
// Content-Type by file extension (docs/APP.md); application/octet-stream
// when unknown.
const char* ContentTypeFor(std::string_view path);

}  // namespace vigil::app

#endif  // VIGIL_CLIENT_APP_ASSETS_H_
