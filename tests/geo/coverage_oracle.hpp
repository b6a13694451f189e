#pragma once
// An independent measure of coverage for the tests of src/geo and src/select: GDAL's own
// command-line tools rasterize the region and the footprints in a UTM zone, and pixels are
// counted. Nothing of s2prep's geometry code is on this path.

#include <gdal.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace s2prep::testing_oracle {

inline bool gdal_tools_available() {
  return std::system(
             "command -v gdal_rasterize >/dev/null 2>&1 && "
             "command -v ogr2ogr >/dev/null 2>&1") == 0;
}

// A rectangle in projected coordinates, as a polygon ring.
inline nlohmann::json rectangle_ring(double x0, double y0, double x1, double y1) {
  using J = nlohmann::json;
  return J::array({J::array({x0, y0}), J::array({x1, y0}), J::array({x1, y1}), J::array({x0, y1}),
                   J::array({x0, y0})});
}

// Fraction of the region (a lon/lat polygon ring whose edges are straight in lon/lat, as the
// user's GeoJSON says) covered by the union of the footprints (rings in the coordinates of
// EPSG:`epsg`, edges straight there, as Sentinel-2 computes them). ogr2ogr segmentizes the
// region every 0.0005 degrees in lon/lat before reprojecting it; gdal_rasterize burns the region
// as 1 and adds 2 per footprint on a `pixel` m grid in EPSG:`epsg`; a region pixel is covered
// when its value is odd and above 1. UTM's areal scale changes by less than 1e-4 across a
// region a few tens of kilometres wide, so pixel counts stand for equal-area areas.
inline double gdal_coverage(const nlohmann::json& region_ring_lonlat,
                            const std::vector<nlohmann::json>& footprint_rings, int epsg,
                            double pixel = 10.0) {
  namespace fs = std::filesystem;
  static int serial = 0;
  const fs::path dir =
      fs::temp_directory_path() /
      ("s2prep_coverage_oracle_" + std::to_string(::getpid()) + "_" + std::to_string(serial++));
  fs::create_directories(dir);
  const auto region = (dir / "region.geojson").string();
  const auto region_utm = (dir / "region_utm.geojson").string();
  const auto footprints = (dir / "footprints.geojson").string();
  const auto raster = (dir / "coverage.tif").string();

  nlohmann::json fc = {{"type", "FeatureCollection"}, {"features", nlohmann::json::array()}};
  fc["features"].push_back(
      {{"type", "Feature"},
       {"properties", nlohmann::json::object()},
       {"geometry",
        {{"type", "Polygon"}, {"coordinates", nlohmann::json::array({region_ring_lonlat})}}}});
  std::ofstream(region) << fc.dump();
  nlohmann::json fp = {
      {"type", "FeatureCollection"},
      {"crs",
       {{"type", "name"},
        {"properties", {{"name", "urn:ogc:def:crs:EPSG::" + std::to_string(epsg)}}}}},
      {"features", nlohmann::json::array()}};
  for (const auto& ring : footprint_rings) {
    fp["features"].push_back(
        {{"type", "Feature"},
         {"properties", nlohmann::json::object()},
         {"geometry", {{"type", "Polygon"}, {"coordinates", nlohmann::json::array({ring})}}}});
  }
  std::ofstream(footprints) << fp.dump();

  const std::string tr = std::to_string(pixel);
  const std::string cmd =
      "ogr2ogr -f GeoJSON -segmentize 0.0005 -t_srs EPSG:" + std::to_string(epsg) + " '" +
      region_utm + "' '" + region + "' && gdal_rasterize -q -burn 1 -tr " + tr + " " + tr +
      " -ot Byte -of GTiff '" + region_utm + "' '" + raster +
      "' && gdal_rasterize -q -add -burn 2 '" + footprints + "' '" + raster + "'";
  EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;

  double covered = 0, inside = 0;
  GDALAllRegister();
  if (GDALDatasetH ds = GDALOpen(raster.c_str(), GA_ReadOnly)) {
    const int w = GDALGetRasterXSize(ds), h = GDALGetRasterYSize(ds);
    std::vector<std::uint8_t> row(static_cast<std::size_t>(w));
    GDALRasterBandH band = GDALGetRasterBand(ds, 1);
    for (int y = 0; y < h; ++y) {
      if (GDALRasterIO(band, GF_Read, 0, y, w, 1, row.data(), w, 1, GDT_Byte, 0, 0) != CE_None) {
        ADD_FAILURE() << "cannot read " << raster;
        break;
      }
      for (std::uint8_t v : row) {
        if (v % 2 == 1) {
          inside += 1;
          if (v > 1) covered += 1;
        }
      }
    }
    GDALClose(ds);
  } else {
    ADD_FAILURE() << "gdal_rasterize wrote no " << raster;
  }
  std::error_code ec;
  fs::remove_all(dir, ec);
  return inside > 0 ? covered / inside : 0.0;
}

}  // namespace s2prep::testing_oracle

#include "geo/geometry.hpp"

namespace s2prep::testing_oracle {

// Two full Sentinel-2 tiles of UTM zone 59 N at 53-54 N (109.8 km squares, the southern one
// 100 km further south, as MGRS lays them out), and a 3.3 x 40 km region at the northern tile's
// southern edge. That edge bows northwards by ~300 m between its corners when drawn straight in
// UTM; the region reaches 200 m south of the straight lon/lat chord between the corners, so read
// in lon/lat the northern tile covers more than 99 % of the region, on the ground less.
struct EdgeScenario {
  static constexpr int kEpsg = 32659;
  nlohmann::json north_tile_utm = rectangle_ring(300000, 5890200, 409800, 6000000);
  nlohmann::json south_tile_utm = rectangle_ring(300000, 5790200, 409800, 5900000);
  nlohmann::json region_lonlat;

  EdgeScenario() {
    const auto sw = lonlat_of(300000, 5890200), se = lonlat_of(409800, 5890200);
    constexpr double kWest = 168.80, kEast = 168.85;
    const double mid = (kWest + kEast) / 2;
    const double chord = sw[1] + (se[1] - sw[1]) * (mid - sw[0]) / (se[0] - sw[0]);
    const double south = chord - 0.0018;  // ~200 m
    region_lonlat = rectangle_ring(kWest, south, kEast, south + 0.36);
  }

  // A footprint as an item publishes it: the UTM corners reprojected to lon/lat, one by one.
  static nlohmann::json lonlat_polygon(const nlohmann::json& utm_ring) {
    nlohmann::json ring = nlohmann::json::array();
    for (const auto& p : utm_ring) {
      const auto ll = lonlat_of(p[0].get<double>(), p[1].get<double>());
      ring.push_back(nlohmann::json::array({ll[0], ll[1]}));
    }
    return {{"type", "Polygon"}, {"coordinates", nlohmann::json::array({ring})}};
  }
  nlohmann::json region_polygon() const {
    return {{"type", "Polygon"}, {"coordinates", nlohmann::json::array({region_lonlat})}};
  }

 private:
  static std::array<double, 2> lonlat_of(double x, double y) {
    static const geo::Transformer to_lonlat("EPSG:" + std::to_string(kEpsg), "EPSG:4326");
    return to_lonlat(x, y);
  }
};

}  // namespace s2prep::testing_oracle
