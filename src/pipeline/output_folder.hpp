#pragma once
// The output folder of a run, and the rules that keep results from being lost or mixed:
//
// - A folder belongs to one request: region, catalogue (STAC API and collection), layout and
//   grid. The first run records them in `folder.json`; a run of another request into a folder
//   that holds outputs is refused (InputError) unless the caller explicitly replaces the
//   earlier request, which removes its outputs first. The same request with another (e.g.
//   longer) time range adds outputs to the folder.
// - One run writes to a folder at a time: an advisory lock (flock on `.s2prep.lock`) is held
//   for the whole run, and a second run is refused with a sentence naming the folder. Only the
//   holder removes temporary files, and only those of processes that no longer run. The shards
//   of one plan share the folder instead (a shared lock): each writes its own outputs, none
//   removes another's temporary files (they may run on other machines).
// - `items.json` lists every complete output in the folder (an output is complete when its
//   STAC sidecar `<name>.json` exists, written last), rebuilt from the sidecars whenever an
//   output appears or is about to be recomputed, so it never describes files that are not
//   what it says.
// Temporary files of every writer carry ".tmp-<pid>" in their names.
// The folder may be a prefix in object storage (output/location.hpp): there nothing is locked
// (see lock_local_folder) and nothing is written under a temporary name.

#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include <s2prep/grid.hpp>

namespace s2prep::pipeline {

// What makes two runs the same request as far as their output names are concerned.
struct FolderIdentity {
  std::string region_wkt;  // the region in lon/lat
  std::string stac_url;    // redacted
  std::string collection;
  std::string layout;        // "grid", "tile" or "tile full-tile"
  std::optional<Grid> grid;  // the shared grid of layout grid

  nlohmann::json to_json() const;
  static FolderIdentity from_json(const nlohmann::json& j);
  // Empty when equal, else a phrase naming the first difference ("a different region").
  std::string difference(const FolderIdentity& other) const;
};

class OutputFolder {
 public:
  // Creates `path` if missing (checks the bucket in object storage), takes the folder's lock,
  // checks the identity (see above) and removes stale temporary files; writes nothing else. Throws
  // InputError for a folder that cannot be created or belongs to another request, Error when
  // another process holds the lock.
  enum class Access { exclusive, shard };
  OutputFolder(std::filesystem::path path, FolderIdentity identity, bool replace_request,
               Access access = Access::exclusive);
  OutputFolder(const OutputFolder&) = delete;
  OutputFolder& operator=(const OutputFolder&) = delete;

  // Called once there is something to write: removes the earlier request's outputs when it is
  // being replaced, records this request's identity and brings items.json up to date.
  void claim();

  const std::filesystem::path& path() const { return path_; }

  // Rewrites items.json from the complete outputs in the folder, in time order; returns them.
  std::vector<nlohmann::json> refresh_catalogue() const;
  // Removes an output's sidecar (it is about to be recomputed) and updates items.json.
  void retract(const std::string& output_name) const;

 private:
  std::filesystem::path path_;
  FolderIdentity identity_;
  bool replace_request_ = false;
  bool replaces_other_request_ = false;
  Access access_ = Access::exclusive;
  void lock_local_folder();
  // Closing the descriptor releases the lock, also when the constructor throws after taking it.
  struct LockDescriptor {
    int fd = -1;
    LockDescriptor() = default;
    LockDescriptor(const LockDescriptor&) = delete;
    LockDescriptor& operator=(const LockDescriptor&) = delete;
    ~LockDescriptor();
  } lock_;
  mutable std::mutex catalogue_mutex_;  // outputs finish on several threads
};

// The STAC Items of the complete outputs in `folder`, in time order, then by id.
std::vector<nlohmann::json> complete_output_items(const std::filesystem::path& folder);

// Removes the temporary files (".tmp-<pid>") that process `pid` left in `folder` and its direct
// sub-folders (a local folder; object storage holds none). Async-signal-unsafe; used on
// interruption and for stale files of dead processes.
void remove_temporary_files(const std::filesystem::path& folder, long pid);

}  // namespace s2prep::pipeline
