#include "cli/common.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <iostream>

#include <nlohmann/json.hpp>

#include <s2prep/errors.hpp>
#include "core/text.hpp"
#include "core/time.hpp"

namespace s2prep::cli {
namespace {}  // namespace

void add_common_options(CLI::App& app, CommonOptions& o, bool request_required) {
  auto& r = o.request;
  app.add_option("--geometry", r.geometry,
                 "Region of interest: a GeoJSON file (Polygon, MultiPolygon, Feature or "
                 "FeatureCollection, unioned), or an inline GeoJSON or WKT string; EPSG:4326 "
                 "lon/lat")
      ->required(request_required);
  app.add_option("--start", r.start,
                 "Start of the time range, inclusive: a date (2023-06-01) or a UTC date-time "
                 "(2023-06-01T10:00:00Z)")
      ->required(request_required);
  app.add_option("--end", r.end,
                 "End of the time range, inclusive: a date means the end of that day")
      ->required(request_required);
  app.add_option("--stac-url", r.services.stac_url,
                 "STAC API root (default from S2PREP_STAC_URL, else Planetary Computer's, " +
                     std::string(kDefaultStacUrl) + ")");
  app.add_option("--token-url", r.services.token_url,
                 "SAS token service base; the collection is appended as a path segment; 'none' "
                 "disables signing (default from S2PREP_TOKEN_URL, else Planetary Computer's, " +
                     std::string(kDefaultTokenUrl) + ")");
  app.add_option("--sign-host", r.services.sign_hosts,
                 "Also sign asset hrefs on this host (repeatable; '.example.com' includes its "
                 "subdomains). Tokens are otherwise only appended to hrefs on Azure Blob Storage "
                 "(*.blob.core.windows.net) and on the token service's own host, never to any "
                 "other host a catalogue names");
  app.add_option("--collection", r.services.collection, "STAC collection to search")
      ->capture_default_str();
  o.pc_key = app.add_option("--pc-key", o.pc_key_value,
                            "Planetary Computer subscription key (default from "
                            "PC_SDK_SUBSCRIPTION_KEY); never printed or written");
  o.min_tile_cover =
      app.add_option("--min-tile-cover", o.min_tile_cover_value,
                     "Minimum fraction of the region (0 < F <= 1) that the tiles of one "
                     "acquisition must cover for it to be used (default 0.99)");
  o.max_tiles_per_time =
      app.add_option("--max-tiles-per-time", o.max_tiles_per_time_value,
                     "Maximum number of tiles used to cover the region at one acquisition "
                     "(default unlimited)");
  app.add_option_function<double>(
         "--max-cloud-cover", [&r](const double& percent) { r.max_cloud_cover = percent; },
         "Skip items whose eo:cloud_cover exceeds this percentage (0-100), and acquisitions "
         "whose items all exceed it (default: no limit)")
      ->check(CLI::Range(0.0, 100.0));
}

void apply_common_options(const CommonOptions& o, WorkflowParams& params) {
  if (o.min_tile_cover->count() > 0) params.min_tile_cover = o.min_tile_cover_value;
  if (o.max_tiles_per_time->count() > 0) params.max_tiles_per_time = o.max_tiles_per_time_value;
  if (o.pc_key->count() > 0) {
    params.pc_key = o.pc_key_value;
  }
}

namespace {

// The final error: one sentence on stderr, or under --log-json one JSON object like every other
// log line, so a pipeline reading the log as JSON Lines also reads why the run ended.
void print_error(const std::string& sentence, int exit_code, bool json_lines) {
  if (json_lines) {
    const nlohmann::json record{
        {"time", format_time(std::chrono::time_point_cast<std::chrono::microseconds>(
                     std::chrono::system_clock::now()))},
        {"level", "error"},
        {"message", sentence},
        {"exit_code", exit_code}};
    std::cerr << record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << std::endl;
    return;
  }
  std::cerr << "s2prep: error: " << printable(sentence, std::string::npos) << std::endl;
}

}  // namespace

int run_guarded(const std::function<int()>& body, bool json_lines) {
  try {
    return body();
  } catch (const Error& e) {
    spdlog::default_logger()->flush();
    print_error(e.what(), e.exit_code(), json_lines);
    return e.exit_code();
  } catch (const std::exception& e) {
    spdlog::default_logger()->flush();
    print_error(std::string("unexpected failure: ") + e.what() +
                    " (please report this with the command you ran)",
                1, json_lines);
    return 1;
  }
}

std::string human_bytes(std::uint64_t bytes) {
  if (bytes >= 1000ull * 1000 * 1000) return fmt::format("{:.2f} GB", double(bytes) / 1e9);
  if (bytes >= 1000ull * 1000) return fmt::format("{:.0f} MB", double(bytes) / 1e6);
  if (bytes >= 1000) return fmt::format("{:.0f} kB", double(bytes) / 1e3);
  return fmt::format("{} B", bytes);
}

}  // namespace s2prep::cli
