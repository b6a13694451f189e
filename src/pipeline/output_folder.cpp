#include "pipeline/output_folder.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <set>

#include <s2prep/errors.hpp>
#include "core/json_integer.hpp"
#include "core/json_limits.hpp"
#include "output/location.hpp"
#include "pipeline/catalog.hpp"

namespace s2prep::pipeline {
namespace {

namespace fs = std::filesystem;

constexpr const char* kIdentityFile = "folder.json";
constexpr const char* kLockFile = ".s2prep.lock";
constexpr const char* kCatalogueFile = "items.json";

// Files of the folder that are not output sidecars.
bool is_folder_record(const std::string& name) {
  static const std::set<std::string> kRecords{kIdentityFile, kCatalogueFile, "run.json",
                                              "plan.json"};
  return kRecords.count(name) > 0;
}

// The pid in a temporary file name ("….tmp-1234" or "….tmp-1234.tif"), or 0.
long temporary_owner(const std::string& name) {
  const auto at = name.find(".tmp-");
  if (at == std::string::npos) return 0;
  const char* digits = name.c_str() + at + 5;
  char* end = nullptr;
  const long pid = std::strtol(digits, &end, 10);
  return end != digits && pid > 0 ? pid : 0;
}

bool process_alive(long pid) { return ::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM; }

// Removes the files of the complete outputs in `folder` and its records.
void remove_outputs(const fs::path& folder) {
  for (const auto& item : complete_output_items(folder)) {
    for (const auto& [key, asset] : item.at("assets").items()) {
      output::remove_file(folder / asset.at("href").get<std::string>());
    }
    output::remove_file(folder / (item.at("id").get<std::string>() + ".json"));
  }
  for (const char* record : {kCatalogueFile, "run.json", "index.html", "contact_sheet.png"}) {
    output::remove_file(folder / record);
  }
}

}  // namespace

nlohmann::json FolderIdentity::to_json() const {
  nlohmann::json j{{"region", region_wkt},
                   {"stac_url", stac_url},
                   {"collection", collection},
                   {"layout", layout},
                   {"grid", nullptr}};
  if (grid) {
    j["grid"] = {{"epsg", grid->epsg},
                 {"transform", grid->transform},
                 {"width", grid->width},
                 {"height", grid->height}};
  }
  return j;
}

FolderIdentity FolderIdentity::from_json(const nlohmann::json& j) {
  FolderIdentity id;
  id.region_wkt = j.at("region").get<std::string>();
  id.stac_url = j.at("stac_url").get<std::string>();
  id.collection = j.at("collection").get<std::string>();
  id.layout = j.at("layout").get<std::string>();
  if (const auto& g = j.at("grid"); !g.is_null()) {
    Grid grid;
    grid.epsg = json_integer_at<int>(g, "epsg");
    grid.transform = g.at("transform").get<std::array<double, 6>>();
    grid.width = json_integer_at<int>(g, "width");
    grid.height = json_integer_at<int>(g, "height");
    id.grid = grid;
  }
  return id;
}

std::string FolderIdentity::difference(const FolderIdentity& other) const {
  if (region_wkt != other.region_wkt) return "a different region";
  if (stac_url != other.stac_url) return fmt::format("another STAC API ({})", other.stac_url);
  if (collection != other.collection) {
    return fmt::format("another collection ({})", other.collection);
  }
  if (layout != other.layout) return fmt::format("another layout ({})", other.layout);
  if (grid != other.grid) return "another output grid";
  return {};
}

std::vector<nlohmann::json> complete_output_items(const fs::path& folder) {
  std::vector<nlohmann::json> items;
  const auto names = output::list_files(folder);
  const std::set<std::string> files(names.begin(), names.end());
  for (const std::string& name : names) {
    if (!name.ends_with(".json") || name.front() == '.' || is_folder_record(name) ||
        temporary_owner(name) != 0) {
      continue;
    }
    try {
      const auto text = output::read_text(folder / name);
      if (!text) continue;  // removed meanwhile
      auto item = nlohmann::json::parse(*text);
      const auto record = from_stac_item(item);
      if (record.id + ".json" != name) continue;  // not the sidecar of an output of this folder
      const bool files_present =
          std::all_of(record.assets.begin(), record.assets.end(),
                      [&](const auto& asset) { return files.count(asset.second) > 0; });
      if (files_present) items.push_back(std::move(item));
    } catch (const std::exception&) {
      // Not an s2prep output Item (or a damaged one): not listed.
    }
  }
  std::sort(items.begin(), items.end(), [](const nlohmann::json& a, const nlohmann::json& b) {
    const auto ka =
        std::make_pair(a["properties"]["datetime"].get<std::string>(), a["id"].get<std::string>());
    const auto kb =
        std::make_pair(b["properties"]["datetime"].get<std::string>(), b["id"].get<std::string>());
    return ka < kb;
  });
  return items;
}

void remove_temporary_files(const fs::path& folder, long pid) {
  if (output::is_remote(folder)) return;  // nothing is written there under a temporary name
  std::error_code ec;
  auto sweep = [&](const fs::path& dir) {
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
      if (entry.is_regular_file(ec) && temporary_owner(entry.path().filename().string()) == pid) {
        fs::remove(entry.path(), ec);
      }
    }
  };
  sweep(folder);
  for (const auto& entry : fs::directory_iterator(folder, ec)) {
    if (entry.is_directory(ec)) sweep(entry.path());
  }
}

OutputFolder::OutputFolder(fs::path path, FolderIdentity identity, bool replace_request,
                           Access access)
    : path_(std::move(path)),
      identity_(std::move(identity)),
      replace_request_(replace_request),
      access_(access) {
  output::prepare_folder(path_);
  if (!output::is_remote(path_)) lock_local_folder();

  std::optional<std::string> recorded_text;
  try {
    recorded_text = output::read_text(path_ / kIdentityFile);
  } catch (const DataError&) {
    recorded_text = "";  // unreadable: reported below as such
  }
  if (recorded_text) {
    FolderIdentity recorded;
    try {
      recorded = FolderIdentity::from_json(nlohmann::json::parse(*recorded_text));
    } catch (const std::exception&) {
      throw InputError(fmt::format(
          "The output folder {} has an unreadable {}; remove that file if the folder holds no "
          "outputs you need, or choose another --out.",
          path_.string(), kIdentityFile));
    }
    const std::string difference = recorded.difference(identity_);
    if (!difference.empty() && !complete_output_items(path_).empty()) {
      if (!replace_request_) {
        throw InputError(fmt::format(
            "The output folder {} holds the outputs of another request than this one ({}: "
            "outputs are named by acquisition time and would be mixed); choose another --out, "
            "or pass --replace-request to remove those outputs and write this request's.",
            path_.string(), difference));
      }
      replaces_other_request_ = true;
    }
  }
}

// Object storage has no advisory locks: nothing is locked there. What still holds: the
// folder's identity is checked from folder.json as above; the shards of a plan write disjoint
// outputs; every object appears whole or not at all, and an output counts only once its
// sidecar, uploaded last, exists. Two plain runs into one prefix at once are not detected.
void OutputFolder::lock_local_folder() {
  std::error_code ec;
  const fs::path lock_path = path_ / kLockFile;
  lock_.fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock_.fd < 0) {
    throw InputError(
        fmt::format("Cannot write in the output folder --out {}; choose a writable "
                    "folder.",
                    path_.string()));
  }
  if (::flock(lock_.fd, (access_ == Access::shard ? LOCK_SH : LOCK_EX) | LOCK_NB) != 0) {
    throw Error(fmt::format(
        "Another s2prep run is writing to the output folder {}; wait for it to finish, or "
        "choose another --out{}.",
        path_.string(),
        access_ == Access::shard ? " (the shards of a plan may share a folder, a plain run not)"
                                 : ""));
  }

  // Temporary files of runs that were killed: never complete, and nobody else writes here now.
  // Shards leave them alone: the other shards of the plan may be writing, here or elsewhere.
  for (const auto& entry : fs::directory_iterator(path_, ec)) {
    if (access_ == Access::shard) break;
    const long owner = temporary_owner(entry.path().filename().string());
    if (owner != 0 && !process_alive(owner)) fs::remove(entry.path(), ec);
  }
}

void OutputFolder::claim() {
  if (replaces_other_request_) {
    spdlog::warn("Removing the outputs of the earlier request in {} (--replace-request)",
                 path_.string());
    remove_outputs(path_);
    replaces_other_request_ = false;
  }
  write_text_atomically(path_ / kIdentityFile, identity_.to_json().dump(2) + "\n");
  refresh_catalogue();
}

OutputFolder::LockDescriptor::~LockDescriptor() {
  if (fd >= 0) ::close(fd);  // releases the flock
}

std::vector<nlohmann::json> OutputFolder::refresh_catalogue() const {
  std::lock_guard lock(catalogue_mutex_);
  auto items = complete_output_items(path_);
  // A folder where nothing has completed gets no catalogue (one that lists nothing is only
  // kept up to date once it exists).
  if (!items.empty() || output::file_exists(path_ / kCatalogueFile)) {
    write_text_atomically(path_ / kCatalogueFile, item_collection(items).dump(2) + "\n");
  }
  return items;
}

void OutputFolder::retract(const std::string& output_name) const {
  bool removed = false;
  {
    std::lock_guard lock(catalogue_mutex_);
    removed = output::remove_file(path_ / (output_name + ".json"));
  }
  if (removed) refresh_catalogue();
}

}  // namespace s2prep::pipeline
