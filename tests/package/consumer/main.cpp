// Uses only the installed public API: selects acquisitions from STAC items it already has (no
// network), validates options, and prints what the test checks.
#include <cstdio>
#include <s2prep/s2prep.hpp>
#include <string>

namespace {

// A Sentinel-2 item covering the square [10, 11] x [45, 46] (lon/lat) on 2023-06-01.
std::string item_json(const std::string& id, const std::string& datetime) {
  return R"({"type": "Feature", "stac_version": "1.0.0", "id": ")" + id +
         R"(", "collection": "sentinel-2-l2a",
    "geometry": {"type": "Polygon",
                 "coordinates": [[[10, 45], [11, 45], [11, 46], [10, 46], [10, 45]]]},
    "bbox": [10, 45, 11, 46],
    "properties": {"datetime": ")" +
         datetime + R"(", "s2:mgrs_tile": "32TPR", "proj:epsg": 32632,
                   "eo:cloud_cover": 12.5, "s2:processing_baseline": "05.09"},
    "assets": {"B02": {"href": "https://example.com/B02.tif"}}, "links": []})";
}

}  // namespace

int main() {
  std::printf("version %s\n", s2prep::version());
  s2prep::Request request;
  request.geometry = "POLYGON((10.4 45.4, 10.6 45.4, 10.6 45.6, 10.4 45.6, 10.4 45.4))";
  request.start = "2023-06-01";
  request.end = "2023-06-30";
  request.items = {{item_json("S2B_MSIL2A_20230601T101559_N0509_R065_T32TPR_20230601T130000",
                              "2023-06-01T10:15:59Z")}};
  const s2prep::SearchResult result = s2prep::search(request);
  for (const auto& a : result.acquisitions) {
    std::printf("acquisition %s %s %.4f\n", a.datetime.c_str(), a.tiles.at(0).c_str(), a.coverage);
  }
  std::printf("json %s\n", result.to_json().c_str());

  s2prep::ProcessingOptions bad;
  bad.request = request;
  bad.request.params.cloud_thr = 1.5;
  try {
    s2prep::load(bad);
  } catch (const s2prep::InputError& e) {
    std::printf("input error (exit %d): %s\n", e.exit_code(), e.what());
  }
  s2prep::Grid grid;
  grid.epsg = 32632;
  std::printf("crs %s\n", grid.crs_wkt().find("UTM zone 32N") != std::string::npos ? "ok" : "?");
  return 0;
}
