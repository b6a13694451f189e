#include "output/location.hpp"

#include <cpl_conv.h>
#include <cpl_vsi.h>
#include <fmt/format.h>
#include <unistd.h>

#include <fstream>
#include <memory>

#include <s2prep/errors.hpp>

namespace s2prep::output {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kS3Scheme = "s3://";

struct DirCloser {
  void operator()(VSIDIR* d) const noexcept { VSICloseDir(d); }
};
struct FileCloser {
  void operator()(VSILFILE* f) const noexcept { VSIFCloseL(f); }
};

// "/vsis3/bucket" of "/vsis3/bucket/key…": the part whose listing proves access.
std::string bucket_of(const std::string& vsi_name) {
  const auto scheme_end = vsi_name.find('/', 1);  // after "/vsis3"
  if (scheme_end == std::string::npos) return vsi_name;
  const auto bucket_end = vsi_name.find('/', scheme_end + 1);
  return bucket_end == std::string::npos ? vsi_name : vsi_name.substr(0, bucket_end);
}

std::string failure_suffix(const ingest::ErrorCapture& errors) {
  const std::string text = errors.failure_text();
  return text.empty() ? std::string() : " (" + text + ")";
}

}  // namespace

bool is_remote(const fs::path& path) {
  const std::string& s = path.native();
  return s.starts_with(kS3Scheme) || s.starts_with("/vsi");
}

std::string gdal_name(const fs::path& path) {
  const std::string& s = path.native();
  if (s.starts_with(kS3Scheme)) return "/vsis3/" + s.substr(kS3Scheme.size());
  return s;
}

fs::path scratch_folder(const fs::path& out_dir) {
  if (!is_remote(out_dir)) return out_dir;
  std::error_code ec;
  const fs::path tmp = fs::temp_directory_path(ec);
  return ec ? fs::path("/tmp") : tmp;
}

AccessScope::AccessScope(const fs::path& path) {
  if (!is_remote(path)) return;
  // Object storage takes whole objects, written in order; the COG and PNG drivers seek back to
  // patch headers. GDAL then writes a local file and uploads it on close (in parts of
  // VSIS3_CHUNK_SIZE MB). Set per thread, for this write only: other threads' reads and the
  // caller's own GDAL use keep their settings.
  config_.set("CPL_VSIL_USE_TEMP_FILE_FOR_RANDOM_WRITE", "YES");
  // Where that file and the COG driver's scratch files go: the current folder when unset.
  if (CPLGetConfigOption("CPL_TMPDIR", nullptr) == nullptr) {
    config_.set("CPL_TMPDIR", scratch_folder(path).string());
  }
  // The inputs' reader only looks for .tif objects; outputs include sidecars, quicklooks and
  // the bucket itself ({noext}).
  config_.set("CPL_VSIL_CURL_ALLOWED_EXTENSIONS", ".tif,.TIF,.tiff,.TIFF,.json,.png,.html,{noext}");
}

bool file_exists(const fs::path& path) {
  AccessScope scope(path);
  VSIStatBufL st;
  return VSIStatExL(gdal_name(path).c_str(), &st, VSI_STAT_EXISTS_FLAG | VSI_STAT_NATURE_FLAG) ==
             0 &&
         VSI_ISREG(st.st_mode);
}

std::optional<std::string> read_text(const fs::path& path) {
  AccessScope scope(path);
  ingest::ErrorCapture errors;
  std::unique_ptr<VSILFILE, FileCloser> file(VSIFOpenL(gdal_name(path).c_str(), "rb"));
  if (!file) {
    if (!file_exists(path)) return std::nullopt;
    throw DataError(fmt::format("Cannot read {}{}.", path.string(), failure_suffix(errors)));
  }
  std::string text;
  char buffer[1 << 16];
  while (const std::size_t n = VSIFReadL(buffer, 1, sizeof(buffer), file.get())) {
    text.append(buffer, n);
  }
  if (errors.has_failure()) {
    throw DataError(
        fmt::format("Cannot read {} completely{}.", path.string(), failure_suffix(errors)));
  }
  return text;
}

void write_text(const fs::path& path, const std::string& text) {
  if (is_remote(path)) {
    AccessScope scope(path);
    ingest::ErrorCapture errors;
    // One object, visible only once its upload has completed: no temporary name needed.
    std::unique_ptr<VSILFILE, FileCloser> file(VSIFOpenL(gdal_name(path).c_str(), "wb"));
    bool ok = file != nullptr && VSIFWriteL(text.data(), 1, text.size(), file.get()) == text.size();
    if (file) ok = VSIFCloseL(file.release()) == 0 && ok;
    if (!ok || errors.has_failure()) {
      throw DataError(fmt::format(
          "Cannot write {}{}; check the bucket's write permission and the AWS_* credentials.",
          path.string(), failure_suffix(errors)));
    }
    return;
  }
  const auto tmp = path.parent_path() /
                   fmt::format(".{}.tmp-{}", path.filename().string(), static_cast<long>(getpid()));
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    out.flush();
    if (!out) {
      std::error_code ec;
      fs::remove(tmp, ec);
      throw DataError(
          fmt::format("Cannot write {}; check that the output folder is writable and "
                      "the disk is not full.",
                      path.string()));
    }
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) {
    fs::remove(tmp, ec);
    throw DataError(
        fmt::format("Cannot move the finished {} into place ({}).", path.string(), ec.message()));
  }
}

bool remove_file(const fs::path& path) {
  AccessScope scope(path);
  ingest::ErrorCapture quiet;  // a file that is not there is no failure
  return VSIUnlink(gdal_name(path).c_str()) == 0;
}

std::vector<std::string> list_files(const fs::path& folder) {
  AccessScope scope(folder);
  ingest::ErrorCapture quiet;  // a folder that is not there lists nothing
  const std::string name = gdal_name(folder);
  // Other processes (the shards of a plan) write here too: list what is there now, not what
  // this process listed before.
  if (is_remote(folder)) VSICurlPartialClearCache(name.c_str());
  std::vector<std::string> files;
  std::unique_ptr<VSIDIR, DirCloser> dir(VSIOpenDir(name.c_str(), 0, nullptr));
  if (!dir) return files;
  while (const VSIDIREntry* entry = VSIGetNextDirEntry(dir.get())) {
    if (entry->bModeKnown && VSI_ISREG(entry->nMode)) files.emplace_back(entry->pszName);
  }
  return files;
}

void prepare_folder(const fs::path& folder) {
  if (!is_remote(folder)) {
    std::error_code ec;
    fs::create_directories(folder, ec);
    if (ec || !fs::is_directory(folder)) {
      throw InputError(
          fmt::format("Cannot create the output folder --out {} ({}); choose a "
                      "writable folder.",
                      folder.string(), ec ? ec.message() : "not a folder"));
    }
    return;
  }
  AccessScope scope(folder);
  ingest::ErrorCapture errors;
  const std::string bucket = bucket_of(gdal_name(folder));
  std::unique_ptr<VSIDIR, DirCloser> dir(VSIOpenDir(bucket.c_str(), 0, nullptr));
  if (!dir) {
    // The message names the variables, never their values (the secret key above all).
    throw InputError(fmt::format(
        "Cannot list the bucket of --out {} ({}){}; check that the bucket exists and the "
        "object storage settings: AWS_S3_ENDPOINT, AWS_REGION, AWS_ACCESS_KEY_ID and "
        "AWS_SECRET_ACCESS_KEY (or AWS_PROFILE), AWS_HTTPS, AWS_VIRTUAL_HOSTING.",
        folder.string(), bucket, failure_suffix(errors)));
  }
}

}  // namespace s2prep::output
