#pragma once
// Where outputs go: a local folder, or a prefix in object storage reached through GDAL's virtual
// file system ("s3://bucket/prefix", mapped to "/vsis3/bucket/prefix", or any "/vsi…/" name
// GDAL writes to, configured by the usual AWS_* variables). Paths keep the form the user gave
// (messages name "s3://bucket/prefix"); only GDAL sees the /vsi name.
//
// The one rule both kinds keep: nothing half-written ever looks complete. Locally a file is
// written under a temporary name (".tmp-<pid>") and renamed; in object storage an object
// becomes visible only when its upload completes (one PUT, or the last part of a multipart
// upload), so it is written under its final name, and an upload cut short leaves no object.

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "ingest/gdal_env.hpp"

namespace s2prep::output {

// True for object storage ("s3://…", "/vsi…/").
bool is_remote(const std::filesystem::path& path);

// The name GDAL opens: "/vsis3/bucket/key" for "s3://bucket/key", `path` itself otherwise.
std::string gdal_name(const std::filesystem::path& path);

// A local folder for scratch files next to outputs in `out_dir`: `out_dir` itself when local
// (same file system, renames are atomic), the system's temporary folder when remote (scratch
// files are rewritten at random and must never be uploaded).
std::filesystem::path scratch_folder(const std::filesystem::path& out_dir);

// While alive, GDAL on this thread can write `path` and read back what it wrote: for object
// storage, random writes go through a local temporary file (CPL_TMPDIR, the system's temporary
// folder unless set) uploaded on close, and the .json/.png/.html objects are not hidden by the
// reader's allowed-extension list. Nothing is changed for local paths.
class AccessScope {
 public:
  explicit AccessScope(const std::filesystem::path& path);

 private:
  ingest::ThreadConfigScope config_;
};

bool file_exists(const std::filesystem::path& path);

// The file's text; nullopt when it does not exist. Throws DataError when it exists but cannot
// be read.
std::optional<std::string> read_text(const std::filesystem::path& path);

// Writes `text` to `path` so that readers see the old content or the new, never a part:
// locally a temporary file in the same folder, flushed, then renamed; in object storage one PUT.
// Throws DataError naming `path`.
void write_text(const std::filesystem::path& path, const std::string& text);

// Removes the file; false when there was none (or it could not be removed).
bool remove_file(const std::filesystem::path& path);

// The names of the files directly in `folder` (not sub-folders), unsorted; empty when the folder
// does not exist.
std::vector<std::string> list_files(const std::filesystem::path& folder);

// Makes sure outputs can be written to `folder`: creates it locally; checks that the bucket can
// be listed in object storage (prefixes need no creating). Throws InputError naming the folder
// (and, for object storage, the AWS_* variables to check) when not.
void prepare_folder(const std::filesystem::path& folder);

}  // namespace s2prep::output
