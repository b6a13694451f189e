#pragma once
// What the user asks for: a region, a time range, the services to ask, and the workflow's
// parameters. Shared by `search` and `run`.

#include <optional>
#include <string>
#include <vector>

#include "pipeline/params.hpp"

namespace s2prep::pipeline {

inline constexpr const char* kDefaultStacUrl =
    "https://planetarycomputer.microsoft.com/api/stac/v1";
inline constexpr const char* kDefaultTokenUrl =
    "https://planetarycomputer.microsoft.com/api/sas/v1/token";
inline constexpr const char* kDefaultCollection = "sentinel-2-l2a";

struct Services {
  std::string stac_url = kDefaultStacUrl;
  std::string token_url = kDefaultTokenUrl;  // "none": no signing
  // Hosts besides Azure Blob Storage and the token service's own host whose hrefs are signed
  // (stac::href_needs_signing).
  std::vector<std::string> sign_hosts;
  std::string collection = kDefaultCollection;
};

struct Request {
  std::string geometry;  // --geometry: a file, GeoJSON or WKT
  std::string start;     // --start
  std::string end;       // --end
  Services services;
  WorkflowParams params;
  std::optional<double> max_cloud_cover;  // --max-cloud-cover: percent in [0, 100]
};

}  // namespace s2prep::pipeline
