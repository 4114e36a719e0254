// Evidence bundles as .zip files for the app: the export download (a zip
// that unzips to the directory `vigil export` writes) and the verify upload
// (a zip read with bounds: entry count, sizes, no absolute paths, "..",
// symlinks or special files).
//
// Thread safety: stateless functions; a TempDir is used by one thread.
#ifndef VIGIL_CLIENT_APP_BUNDLE_ZIP_H_
#define VIGIL_CLIENT_APP_BUNDLE_ZIP_H_

#include <memory>
#include <string>
#include <string_view>

#include "vigil/status.h"

namespace vigil::app {

// A fresh directory `<prefix>XXXXXX`, removed with everything in it on
// destruction.
class TempDir {
 public:
  static StatusOr<std::unique_ptr<TempDir>> Create(const std::string& prefix);
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  explicit TempDir(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

// Zips `root`/`top` (a directory tree of regular files) so that it unzips to
// `top`/...; returns the zip's bytes.
StatusOr<std::string> ZipDirectory(const std::string& root, const std::string& top);

struct UnzippedBundle {
  std::unique_ptr<TempDir> dir;
  std::string sub;  // the bundle's directory inside dir ("" or the one top directory)
  std::string bundle_dir() const { return sub.empty() ? dir->path() : dir->path() + "/" + sub; }
};

inline constexpr size_t kMaxZipEntries = 20000;
inline constexpr uint64_t kMaxZipTotal = 256ull * 1024 * 1024;

// Unpacks `zip` under a new directory in `base` (created if missing).
// InvalidArgument naming the entry for anything unsafe or over the bounds
// (client/lib/bundle.h: kMaxBundleFiles, kMaxBundleFileSize).
StatusOr<UnzippedBundle> UnzipBundle(std::string_view zip, const std::string& base);

}  // namespace vigil::app

#endif  // VIGIL_CLIENT_APP_BUNDLE_ZIP_H_
