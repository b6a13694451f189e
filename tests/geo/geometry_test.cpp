#include "geo/geometry.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include <s2prep/errors.hpp>

namespace s2prep::geo {
namespace {

// fuzz_region: an empty position inside a MultiPolygon's ring crashed GEOS 3.11's GeoJSON
// reader (a null dereference in readCoordinate); every geometry type with positions in lists.
TEST(Geometry, GeoJsonPositionsWithFewerThanTwoCoordinatesAreInputErrors) {
  for (const char* text :
       {R"({"type": "MultiPolygon", "coordinates": [[[[14.0, 50.0], [], [15.05, 514.05, 50.0],
            [14.05, 50.04], [14.0, 50.04], [14.0, 50.0]]], [[[15.0, 50.0], [15.05, 50.0],
            [15.05, 50.04], [15.0, 50.04], [15.0, 50.0]]]]})",
        R"({"type": "Polygon", "coordinates": [[[], [], [], []]]})",
        R"({"type": "LineString", "coordinates": [[1, 2], [3]]})",
        R"({"type": "MultiPoint", "coordinates": [[]]})",
        R"({"type": "MultiLineString", "coordinates": [[[1, 2], []]]})",
        R"({"type": "GeometryCollection", "geometries": [{"type": "Polygon",
            "coordinates": [[[0, 0], [1, 0], [], [0, 0]]]}]})"}) {
    try {
      (void)Geometry::from_geojson(nlohmann::json::parse(text));
      ADD_FAILURE() << "no InputError for " << text;
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find("fewer than two coordinates"), std::string::npos)
          << e.what();
    }
  }
  // Positions of two values still read.
  EXPECT_DOUBLE_EQ(Geometry::from_geojson(nlohmann::json::parse(
                                              R"({"type": "Polygon", "coordinates":
                                                  [[[0, 0], [2, 0], [2, 1], [0, 0]]]})"))
                       .area(),
                   1.0);
}

TEST(Geometry, DefaultIsEmptyCollection) {
  Geometry g;
  EXPECT_TRUE(g.empty());
  EXPECT_FALSE(g.is_areal());
}

TEST(Geometry, BoxMeasures) {
  const Geometry b = Geometry::box(1, 2, 4, 6);
  EXPECT_TRUE(b.is_areal());
  EXPECT_EQ(b.type_name(), "Polygon");
  EXPECT_DOUBLE_EQ(b.area(), 12.0);
  const auto bounds = b.bounds();
  EXPECT_DOUBLE_EQ(bounds[0], 1);
  EXPECT_DOUBLE_EQ(bounds[1], 2);
  EXPECT_DOUBLE_EQ(bounds[2], 4);
  EXPECT_DOUBLE_EQ(bounds[3], 6);
  const auto c = b.centroid();
  EXPECT_DOUBLE_EQ(c[0], 2.5);
  EXPECT_DOUBLE_EQ(c[1], 4.0);
}

TEST(Geometry, SetOperations) {
  const Geometry a = Geometry::box(0, 0, 2, 2);
  const Geometry b = Geometry::box(1, 1, 3, 3);
  EXPECT_DOUBLE_EQ(a.intersection(b).area(), 1.0);
  EXPECT_DOUBLE_EQ(a.union_with(b).area(), 7.0);
  EXPECT_DOUBLE_EQ(a.difference(b).area(), 3.0);
  EXPECT_TRUE(a.intersects(b));
  EXPECT_FALSE(a.intersects(Geometry::box(5, 5, 6, 6)));
}

TEST(Geometry, CopyAndMove) {
  Geometry a = Geometry::box(0, 0, 1, 1);
  Geometry b = a;  // deep copy
  a = Geometry::box(0, 0, 2, 2);
  EXPECT_DOUBLE_EQ(b.area(), 1.0);
  Geometry c = std::move(a);
  EXPECT_DOUBLE_EQ(c.area(), 4.0);
  b = c;
  EXPECT_DOUBLE_EQ(b.area(), 4.0);
}

TEST(Geometry, WktAndGeoJsonRoundTrip) {
  const Geometry w = Geometry::from_wkt("POLYGON ((0 0, 3 0, 3 1, 0 1, 0 0))");
  EXPECT_DOUBLE_EQ(w.area(), 3.0);
  EXPECT_DOUBLE_EQ(Geometry::from_wkt(w.to_wkt()).area(), 3.0);
  const nlohmann::json gj = w.to_geojson();
  EXPECT_EQ(gj["type"], "Polygon");
  EXPECT_DOUBLE_EQ(Geometry::from_geojson(gj).area(), 3.0);
  const auto mp = Geometry::from_geojson(nlohmann::json::parse(
      R"({"type":"MultiPolygon","coordinates":[[[[0,0],[1,0],[1,1],[0,1],[0,0]]],
          [[[2,0],[3,0],[3,1],[2,1],[2,0]]]]})"));
  EXPECT_EQ(mp.type_name(), "MultiPolygon");
  EXPECT_DOUBLE_EQ(mp.area(), 2.0);
}

TEST(Geometry, ParseErrorsAreInputErrors) {
  EXPECT_THROW(Geometry::from_wkt("POLYGON ((0 0, 1 1"), InputError);
  EXPECT_THROW(Geometry::from_geojson(nlohmann::json{{"type", "Polygon"}}), InputError);
}

TEST(Geometry, InvalidityHasLocation) {
  const Geometry bowtie = Geometry::from_wkt("POLYGON ((0 0, 2 2, 2 0, 0 2, 0 0))");
  const auto inv = bowtie.invalidity();
  ASSERT_TRUE(inv.has_value());
  EXPECT_NE(inv->reason.find("Self-intersection"), std::string::npos) << inv->reason;
  EXPECT_DOUBLE_EQ(inv->x, 1.0);
  EXPECT_DOUBLE_EQ(inv->y, 1.0);
  EXPECT_NE(bowtie.invalid_reason().find("Self-intersection[1 1]"), std::string::npos);
  EXPECT_FALSE(Geometry::box(0, 0, 1, 1).invalidity().has_value());
  EXPECT_TRUE(Geometry::box(0, 0, 1, 1).invalid_reason().empty());
  EXPECT_FALSE(bowtie.make_valid().invalidity().has_value());
  EXPECT_NEAR(bowtie.make_valid().area(), 2.0, 1e-12);
}

TEST(Geometry, OperationsOnInvalidInputAreRepaired) {
  const Geometry bowtie = Geometry::from_wkt("POLYGON ((0 0, 2 2, 2 0, 0 2, 0 0))");
  EXPECT_NEAR(bowtie.intersection(Geometry::box(0, 0, 2, 2)).area(), 2.0, 1e-12);
}

TEST(Geometry, Densified) {
  const Geometry d = Geometry::box(0, 0, 1, 1).densified(0.1);
  EXPECT_DOUBLE_EQ(d.area(), 1.0);
  EXPECT_GE(d.to_geojson()["coordinates"][0].size(), 41u);
}

TEST(Transformer, UtmCentralMeridianAndEquator) {
  const Transformer t("EPSG:4326", "EPSG:32633");
  const auto [x, y] = t(15.0, 0.0);  // zone 33's central meridian on the equator
  EXPECT_NEAR(x, 500000.0, 1e-3);
  EXPECT_NEAR(y, 0.0, 1e-3);
  // Along the central meridian the northing is the meridian arc times k0 = 0.9996; the arc from
  // the equator to 45 N on WGS 84 is 4984944.4 m (standard tables).
  EXPECT_NEAR(t(15.0, 45.0)[1], 4984944.4 * 0.9996, 1.0);
  const Transformer back("EPSG:32633", "EPSG:4326");
  const auto ll = back(x, 5000000.0);
  EXPECT_NEAR(ll[0], 15.0, 1e-9);
  EXPECT_GT(ll[1], 45.0);
}

TEST(Transformer, GeometryTransformed) {
  const Transformer t("EPSG:4326", equal_area_crs_at(10.0, 50.0));
  const auto c = Geometry::box(9.99, 49.99, 10.01, 50.01).transformed(t).centroid();
  EXPECT_NEAR(c[0], 0.0, 1.0);
  EXPECT_NEAR(c[1], 0.0, 1.0);
}

TEST(Transformer, UnknownCrsThrows) {
  EXPECT_THROW(Transformer("EPSG:4326", "EPSG:999999"), Error);
  EXPECT_THROW(Transformer("not a crs", "EPSG:4326"), Error);
}

TEST(Utm, StandardZones) {
  EXPECT_EQ(utm_epsg_for(15.0, 45.0), 32633);
  EXPECT_EQ(utm_epsg_for(-0.0001, 10.0), 32630);
  EXPECT_EQ(utm_epsg_for(0.0, 10.0), 32631);
  EXPECT_EQ(utm_epsg_for(-180.0, 0.0), 32601);
  EXPECT_EQ(utm_epsg_for(180.0, 0.0), 32660);  // not a zone 61
  EXPECT_EQ(utm_epsg_for(179.99, -10.0), 32760);
  EXPECT_EQ(utm_epsg_for(10.0, -30.0), 32732);
  EXPECT_EQ(utm_epsg_for(10.0, 0.0), 32632);  // the equator is north
  EXPECT_EQ(utm_epsg_for(10.0, -0.000001), 32732);
  EXPECT_EQ(utm_epsg_for(-122.4, 37.8), 32610);  // San Francisco
}

TEST(Utm, NorwayException) {
  EXPECT_EQ(utm_epsg_for(5.0, 60.0), 32632);  // Bergen: zone 32, not 31
  EXPECT_EQ(utm_epsg_for(3.0, 56.0), 32632);
  EXPECT_EQ(utm_epsg_for(2.99, 60.0), 32631);
  EXPECT_EQ(utm_epsg_for(5.0, 55.99), 32631);
  EXPECT_EQ(utm_epsg_for(5.0, 64.0), 32631);  // band W is not widened
  EXPECT_EQ(utm_epsg_for(11.99, 60.0), 32632);
  EXPECT_EQ(utm_epsg_for(12.0, 60.0), 32633);
}

TEST(Utm, SvalbardException) {
  EXPECT_EQ(utm_epsg_for(8.0, 78.0), 32631);  // zone 32X does not exist
  EXPECT_EQ(utm_epsg_for(9.0, 78.0), 32633);
  EXPECT_EQ(utm_epsg_for(15.6, 78.2), 32633);  // Longyearbyen
  EXPECT_EQ(utm_epsg_for(20.99, 78.0), 32633);
  EXPECT_EQ(utm_epsg_for(21.0, 78.0), 32635);
  EXPECT_EQ(utm_epsg_for(32.99, 78.0), 32635);
  EXPECT_EQ(utm_epsg_for(33.0, 78.0), 32637);
  EXPECT_EQ(utm_epsg_for(41.99, 78.0), 32637);
  EXPECT_EQ(utm_epsg_for(42.0, 78.0), 32638);  // back to the standard zones
  EXPECT_EQ(utm_epsg_for(8.0, 71.99), 32632);  // band W
  EXPECT_EQ(utm_epsg_for(8.0, 72.0), 32631);
  EXPECT_EQ(utm_epsg_for(-5.0, 78.0), 32630);
}

TEST(Geometry, EachThreadHasItsOwnContext) {
  double areas[2] = {0, 0};
  auto work = [&](int i) {
    for (int k = 0; k < 200; ++k) {
      Geometry a = Geometry::box(0, 0, 2 + i, 2);
      areas[i] = a.union_with(Geometry::box(1, 1, 3 + i, 3)).area();
    }
    EXPECT_THROW(Geometry::from_wkt("POLYGON (("), InputError);
  };
  std::thread t0(work, 0), t1(work, 1);
  t0.join();
  t1.join();
  EXPECT_DOUBLE_EQ(areas[0], 7.0);
  EXPECT_DOUBLE_EQ(areas[1], 10.0);
}

// dump() of a geometry nested 100 000 deep overflowed the stack before GEOS saw it.
TEST(Geometry, DeeplyNestedGeoJsonIsAnInputError) {
  constexpr int kDepth = 100000;
  const auto deep =
      nlohmann::json::parse(R"({"type": "Polygon", "coordinates": )" + std::string(kDepth, '[') +
                            "0" + std::string(kDepth, ']') + "}");
  try {
    Geometry::from_geojson(deep);
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("deeper than 64 levels"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace s2prep::geo
