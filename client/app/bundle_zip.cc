#include "client/app/bundle_zip.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zip.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <vector>

#include "client/lib/bundle.h"

namespace vigil::app {
namespace {

namespace fs = std::filesystem;

// A safe relative path: no leading '/', no "." or ".." or empty component,
// no backslash or NUL or control character.
bool SafeName(std::string_view name) {
  if (name.empty() || name.size() > 1024 || name[0] == '/') return false;
  size_t start = 0;
  while (start <= name.size()) {
    size_t end = name.find('/', start);
    if (end == std::string_view::npos) end = name.size();
    std::string_view part = name.substr(start, end - start);
    if (part.empty() || part == "." || part == "..") return false;
    for (char c : part) {
      if (static_cast<unsigned char>(c) < 0x20 || c == '\\') return false;
    }
    start = end + 1;
  }
  return true;
}

}  // namespace

StatusOr<std::unique_ptr<TempDir>> TempDir::Create(const std::string& prefix) {
  std::string tmpl = prefix + "XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (!mkdtemp(buf.data())) return Status::Internal("cannot create a temporary directory next to " + prefix);
  return std::unique_ptr<TempDir>(new TempDir(buf.data()));
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

StatusOr<std::string> ZipDirectory(const std::string& root, const std::string& top) {
  auto tmp = TempDir::Create(root + "/zip-");
  if (!tmp.ok()) return tmp.status();
  std::string zip_path = (*tmp)->path() + "/bundle.zip";
  int err = 0;
  zip_t* z = zip_open(zip_path.c_str(), ZIP_CREATE | ZIP_EXCL, &err);
  if (!z) return Status::Internal("cannot create the zip file");
  std::error_code ec;
  std::vector<std::string> files;
  for (auto it = fs::recursive_directory_iterator(root + "/" + top, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    std::string rel = top + "/" + fs::relative(it->path(), root + "/" + top, ec).string();
    if (it->is_directory(ec)) {
      zip_dir_add(z, rel.c_str(), ZIP_FL_ENC_UTF_8);
    } else if (it->is_regular_file(ec)) {
      files.push_back(rel);
    }
  }
  if (ec) {
    zip_discard(z);
    return Status::Internal("cannot read the exported bundle");
  }
  for (const auto& rel : files) {
    std::string full = root + "/" + rel;
    zip_source_t* src = zip_source_file(z, full.c_str(), 0, -1);
    if (!src || zip_file_add(z, rel.c_str(), src, ZIP_FL_ENC_UTF_8) < 0) {
      if (src) zip_source_free(src);
      zip_discard(z);
      return Status::Internal("cannot add " + rel + " to the zip file");
    }
  }
  if (zip_close(z) != 0) {
    zip_discard(z);
    return Status::Internal("cannot write the zip file");
  }
  std::ifstream in(zip_path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

StatusOr<UnzippedBundle> UnzipBundle(std::string_view zip, const std::string& base) {
  mkdir(base.c_str(), 0700);
  zip_error_t zerr;
  zip_error_init(&zerr);
  zip_source_t* src = zip_source_buffer_create(zip.data(), zip.size(), 0, &zerr);
  if (!src) return Status::InvalidArgument("this is not a zip file");
  zip_t* z = zip_open_from_source(src, ZIP_RDONLY | ZIP_CHECKCONS, &zerr);
  if (!z) {
    zip_source_free(src);
    zip_error_fini(&zerr);
    return Status::InvalidArgument("this is not a zip file (or it is damaged)");
  }
  struct Closer {
    zip_t* z;
    ~Closer() { zip_discard(z); }
  } closer{z};
  zip_int64_t n = zip_get_num_entries(z, 0);
  if (n < 0 || static_cast<uint64_t>(n) > std::min<uint64_t>(kMaxZipEntries, client::kMaxBundleFiles)) {
    return Status::InvalidArgument("the zip file has too many entries");
  }
  auto dir = TempDir::Create(base + "/app-verify-");
  if (!dir.ok()) return dir.status();
  UnzippedBundle out;
  out.dir = std::move(*dir);
  std::set<std::string> tops;
  bool file_at_root = false;
  uint64_t total = 0;
  std::vector<char> buf(64 * 1024);
  for (zip_int64_t i = 0; i < n; ++i) {
    zip_stat_t st;
    zip_stat_init(&st);
    if (zip_stat_index(z, static_cast<zip_uint64_t>(i), 0, &st) != 0 || !(st.valid & ZIP_STAT_NAME) ||
        !(st.valid & ZIP_STAT_SIZE)) {
      return Status::InvalidArgument("the zip file has an unreadable entry");
    }
    std::string name = st.name;
    bool is_dir = !name.empty() && name.back() == '/';
    std::string clean = is_dir ? name.substr(0, name.size() - 1) : name;
    if (!SafeName(clean)) return Status::InvalidArgument("the zip file has an unsafe entry name: " + name.substr(0, 100));
    zip_uint8_t opsys = 0;
    zip_uint32_t attr = 0;
    if (zip_file_get_external_attributes(z, static_cast<zip_uint64_t>(i), 0, &opsys, &attr) == 0 &&
        opsys == ZIP_OPSYS_UNIX) {
      mode_t mode = static_cast<mode_t>(attr >> 16);
      bool special = S_ISLNK(mode) || S_ISCHR(mode) || S_ISBLK(mode) || S_ISFIFO(mode) || S_ISSOCK(mode);
      if (special) return Status::InvalidArgument("the zip file has a link or special file: " + clean.substr(0, 100));
    }
    size_t slash = clean.find('/');
    if (slash == std::string::npos) {
      if (is_dir) tops.insert(clean);
      else file_at_root = true;
    } else {
      tops.insert(clean.substr(0, slash));
    }
    std::string target = out.dir->path() + "/" + clean;
    std::error_code ec;
    if (is_dir) {
      fs::create_directories(target, ec);
      if (ec) return Status::InvalidArgument("the zip file has an entry that cannot be made: " + clean.substr(0, 100));
      continue;
    }
    if (st.size > client::kMaxBundleFileSize) {
      return Status::InvalidArgument("the zip file has a file larger than a bundle allows: " + clean.substr(0, 100));
    }
    total += st.size;
    if (total > kMaxZipTotal) return Status::InvalidArgument("the zip file unpacks to too much data");
    fs::create_directories(fs::path(target).parent_path(), ec);
    if (ec) return Status::InvalidArgument("the zip file has an entry that cannot be made: " + clean.substr(0, 100));
    int fd = open(target.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) return Status::InvalidArgument("the zip file has a duplicate or unsafe entry: " + clean.substr(0, 100));
    zip_file_t* f = zip_fopen_index(z, static_cast<zip_uint64_t>(i), 0);
    if (!f) {
      close(fd);
      return Status::InvalidArgument("the zip file has an unreadable entry: " + clean.substr(0, 100));
    }
    uint64_t got = 0;
    bool ok = true;
    for (;;) {
      zip_int64_t r = zip_fread(f, buf.data(), buf.size());
      if (r < 0) {
        ok = false;
        break;
      }
      if (r == 0) break;
      got += static_cast<uint64_t>(r);
      if (got > st.size || write(fd, buf.data(), static_cast<size_t>(r)) != r) {
        ok = false;
        break;
      }
    }
    zip_fclose(f);
    close(fd);
    if (!ok || got != st.size) return Status::InvalidArgument("the zip file has a damaged entry: " + clean.substr(0, 100));
  }
  // One top directory and nothing beside it: the bundle is inside it.
  if (!file_at_root && tops.size() == 1) out.sub = *tops.begin();
  return out;
}

}  // namespace vigil::app
