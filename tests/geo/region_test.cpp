#include "geo/region.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include <s2prep/errors.hpp>

namespace s2prep::geo {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

// Side lengths from the WGS 84 radii of curvature (independent of PROJ): one degree of
// longitude is pi/180 * N cos(lat), one degree of latitude pi/180 * M.
double metres_per_degree_lon(double lat_deg) {
  const double a = 6378137.0, f = 1 / 298.257223563, e2 = f * (2 - f);
  const double phi = lat_deg * M_PI / 180;
  const double n = a / std::sqrt(1 - e2 * std::sin(phi) * std::sin(phi));
  return M_PI / 180 * n * std::cos(phi);
}
double metres_per_degree_lat(double lat_deg) {
  const double a = 6378137.0, f = 1 / 298.257223563, e2 = f * (2 - f);
  const double phi = lat_deg * M_PI / 180;
  const double s = 1 - e2 * std::sin(phi) * std::sin(phi);
  return M_PI / 180 * a * (1 - e2) / (s * std::sqrt(s));
}

// The message of the InputError that parsing `arg` throws ("" when it does not throw).
std::string parse_error(const std::string& arg) {
  try {
    Region::parse(arg);
  } catch (const InputError& e) {
    return e.what();
  } catch (const std::exception& e) {
    return std::string("WRONG EXCEPTION TYPE: ") + e.what();
  }
  return "";
}

class TempDir {
 public:
  TempDir() {
    path_ = std::filesystem::temp_directory_path() /
            ("s2prep_region_test_" + std::to_string(::getpid()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string write(const std::string& name, const std::string& content) const {
    const auto p = path_ / name;
    std::ofstream(p) << content;
    return p.string();
  }
  std::string path() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

const char* kPolygonJson =
    R"({"type":"Polygon","coordinates":[[[10,50],[10.1,50],[10.1,50.1],[10,50.1],[10,50]]]})";

TEST(Region, ParsesWkt) {
  const Region r = Region::parse("POLYGON((10 50, 10.1 50, 10.1 50.1, 10 50.1, 10 50))");
  EXPECT_NEAR(r.lonlat().area(), 0.01, 1e-12);
  EXPECT_NEAR(r.centroid()[0], 10.05, 1e-9);
  EXPECT_NEAR(r.centroid()[1], 50.05, 1e-9);
  EXPECT_EQ(r.utm_epsg(), 32632);
  EXPECT_THAT(r.equal_area_crs(), HasSubstr("+proj=laea"));
}

TEST(Region, ParsesGeoJsonPolygonAndMultiPolygon) {
  EXPECT_NEAR(Region::parse(kPolygonJson).lonlat().area(), 0.01, 1e-12);
  const Region mp = Region::parse(
      R"({"type":"MultiPolygon","coordinates":[[[[10,50],[10.1,50],[10.1,50.1],[10,50.1],[10,50]]],
          [[[11,50],[11.1,50],[11.1,50.1],[11,50.1],[11,50]]]]})");
  EXPECT_NEAR(mp.lonlat().area(), 0.02, 1e-12);
}

TEST(Region, ParsesFeatureAndFeatureCollectionAsUnion) {
  const std::string feature =
      std::string(R"({"type":"Feature","properties":{},"geometry":)") + kPolygonJson + "}";
  EXPECT_NEAR(Region::parse(feature).lonlat().area(), 0.01, 1e-12);
  // Two overlapping boxes: the union counts the overlap once.
  const Region fc = Region::parse(R"({"type":"FeatureCollection","features":[
      {"type":"Feature","properties":{},"geometry":{"type":"Polygon","coordinates":
        [[[0,0],[2,0],[2,2],[0,2],[0,0]]]}},
      {"type":"Feature","properties":{},"geometry":{"type":"Polygon","coordinates":
        [[[1,1],[3,1],[3,3],[1,3],[1,1]]]}}]})");
  EXPECT_NEAR(fc.lonlat().area(), 7.0, 1e-12);
  EXPECT_TRUE(fc.lonlat().is_areal());
}

TEST(Region, ReadsFiles) {
  TempDir dir;
  const std::string json_path = dir.write("field.geojson", std::string("\n  ") + kPolygonJson);
  EXPECT_NEAR(Region::parse(json_path).lonlat().area(), 0.01, 1e-12);
  const std::string wkt_path = dir.write("field.wkt", "POLYGON((0 0, 1 0, 1 1, 0 1, 0 0))\n");
  EXPECT_NEAR(Region::parse(wkt_path).lonlat().area(), 1.0, 1e-12);
  // Errors inside a file name the file.
  const std::string bad = dir.write("bad.geojson", "{\"type\": ");
  EXPECT_THAT(parse_error(bad), AllOf(HasSubstr("bad.geojson"), HasSubstr("not valid JSON")));
}

TEST(Region, FileErrors) {
  TempDir dir;
  EXPECT_THAT(parse_error("/nonexistent/dir/field.geojson"),
              AllOf(HasSubstr("field.geojson"), HasSubstr("does not exist")));
  EXPECT_THAT(parse_error("fields.geojson"), HasSubstr("does not exist"));
  EXPECT_THAT(parse_error(dir.path()), AllOf(HasSubstr(dir.path()), HasSubstr("directory")));
  if (::geteuid() != 0) {  // root reads files regardless of their mode
    const std::string locked = dir.write("locked.geojson", kPolygonJson);
    std::filesystem::permissions(locked, std::filesystem::perms::none);
    EXPECT_THAT(parse_error(locked), AllOf(HasSubstr("locked.geojson"), HasSubstr("Cannot read")));
  }
  const std::string empty = dir.write("empty.geojson", "  \n");
  EXPECT_THAT(parse_error(empty), AllOf(HasSubstr("empty.geojson"), HasSubstr("is empty")));
}

TEST(Region, UnparsableText) {
  EXPECT_THAT(parse_error("{\"type\": \"Polygon\", "),
              AllOf(HasSubstr("not valid JSON"), HasSubstr("line 1")));
  EXPECT_THAT(parse_error("POLYGON((0 0, 1 0, 1 1"), HasSubstr("WKT"));
  EXPECT_THAT(parse_error("hello world"),
              AllOf(HasSubstr("'hello world'"), HasSubstr("neither an existing file")));
  EXPECT_THAT(parse_error("{\"coordinates\": []}"), HasSubstr("\"type\""));
  EXPECT_THAT(parse_error(R"({"type":"Polygon","coordinates":"x"})"),
              HasSubstr("not a valid GeoJSON geometry"));
}

TEST(Region, EmptyGeometry) {
  EXPECT_THAT(parse_error(""), HasSubstr("is empty"));
  EXPECT_THAT(parse_error("POLYGON EMPTY"), HasSubstr("is empty"));
  EXPECT_THAT(parse_error(R"({"type":"FeatureCollection","features":[]})"),
              HasSubstr("no features"));
}

TEST(Region, NonArealGeometry) {
  EXPECT_THAT(parse_error("POINT (10 50)"),
              AllOf(HasSubstr("Point"), HasSubstr("must be a polygon")));
  EXPECT_THAT(parse_error(R"({"type":"LineString","coordinates":[[10,50],[11,51]]})"),
              AllOf(HasSubstr("LineString"), HasSubstr("must be a polygon")));
  EXPECT_THAT(parse_error(R"({"type":"GeometryCollection","geometries":[]})"),
              HasSubstr("MultiPolygon"));
}

TEST(Region, FeatureErrorsNameTheFeature) {
  EXPECT_THAT(parse_error(R"({"type":"FeatureCollection","features":[
      {"type":"Feature","properties":{},"geometry":{"type":"Polygon","coordinates":
        [[[0,0],[2,0],[2,2],[0,2],[0,0]]]}},
      {"type":"Feature","id":"north field","properties":{},"geometry":null}]})"),
              AllOf(HasSubstr("Feature 2 (\"north field\") of the inline geometry"),
                    HasSubstr("no geometry")));
  EXPECT_THAT(parse_error(R"({"type":"FeatureCollection","features":[
      {"type":"Feature","properties":{"name":"road"},
       "geometry":{"type":"LineString","coordinates":[[0,0],[1,1]]}}]})"),
              AllOf(HasSubstr("Feature 1"), HasSubstr("road"), HasSubstr("LineString")));
  EXPECT_THAT(parse_error(R"({"type":"Feature","properties":{},"geometry":null})"),
              HasSubstr("no geometry"));
}

TEST(Region, SelfIntersectionGivesLocation) {
  const std::string m = parse_error("POLYGON((10 50, 10.2 50.2, 10.2 50, 10 50.2, 10 50))");
  EXPECT_THAT(m, AllOf(HasSubstr("Self-intersection"), HasSubstr("lon 10.100000"),
                       HasSubstr("lat 50.100000")));
  // Inside a FeatureCollection, the feature is named too.
  EXPECT_THAT(parse_error(R"({"type":"FeatureCollection","features":[
      {"type":"Feature","properties":{},"geometry":{"type":"Polygon","coordinates":
        [[[0,0],[2,2],[2,0],[0,2],[0,0]]]}}]})"),
              AllOf(HasSubstr("Feature 1"), HasSubstr("Self-intersection")));
}

TEST(Region, CoordinatesOutOfRange) {
  EXPECT_THAT(parse_error("POLYGON((170 10, 190 10, 190 20, 170 20, 170 10))"),
              HasSubstr("outside lon/lat ranges"));
  // lat/lon instead of lon/lat: the "latitudes" exceed 90 but the "longitudes" fit in 90.
  EXPECT_THAT(parse_error("POLYGON((45 100, 46 100, 46 101, 45 101, 45 100))"),
              HasSubstr("swapped"));
  EXPECT_THAT(
      parse_error("POLYGON((500000 5000000, 501000 5000000, 501000 5001000, 500000 5000000))"),
      HasSubstr("projected metres"));
}

TEST(Region, AntimeridianIsRejectedWithAdvice) {
  EXPECT_THAT(parse_error("POLYGON((-179.5 10, 179.5 10, 179.5 11, -179.5 11, -179.5 10))"),
              AllOf(HasSubstr("antimeridian"), HasSubstr("split it")));
  // Close to the antimeridian but on one side is fine.
  EXPECT_NO_THROW(Region::parse("POLYGON((179.5 10, 180 10, 180 11, 179.5 11, 179.5 10))"));
}

TEST(Region, ConstructorValidatesToo) {
  EXPECT_THROW(Region(Geometry::from_wkt("LINESTRING(0 0, 1 1)")), InputError);
  EXPECT_NO_THROW(Region(Geometry::box(0, 0, 1, 1)));
}

TEST(Region, AreaAtTheEquator) {
  // 0.01 x 0.01 degrees at the equator: 1113.2 m x 1105.7 m.
  const Region r(Geometry::box(0, 0, 0.01, 0.01));
  EXPECT_NEAR(r.area_m2(), 1113.2 * 1105.7, 1113.2 * 1105.7 * 0.005);
  EXPECT_NEAR(r.area_m2(), metres_per_degree_lon(0.005) * metres_per_degree_lat(0.005) * 1e-4,
              r.area_m2() * 1e-4);
  EXPECT_NEAR(r.equal_area().area(), r.area_m2(), 1e-9);
}

TEST(Region, AreaAtSixtyNorth) {
  const Region r(Geometry::box(10, 60, 10.01, 60.01));
  const double expected = metres_per_degree_lon(60.005) * metres_per_degree_lat(60.005) * 1e-4;
  EXPECT_NEAR(r.area_m2(), expected, expected * 1e-4);
}

TEST(Region, LargeRegionAreaUsesCurvedParallels) {
  // A 1 x 1 degree box: exact ellipsoidal area by integrating the band between two parallels
  // (authalic formula), independent of PROJ.
  const Region r(Geometry::box(10, 59.5, 11, 60.5));
  const double a = 6378137.0, f = 1 / 298.257223563, e2 = f * (2 - f), e = std::sqrt(e2);
  auto q = [&](double lat) {
    const double s = std::sin(lat * M_PI / 180);
    return (1 - e2) * (s / (1 - e2 * s * s) - std::log((1 - e * s) / (1 + e * s)) / (2 * e));
  };
  const double expected = a * a / 2 * (q(60.5) - q(59.5)) * (M_PI / 180);
  EXPECT_NEAR(r.area_m2(), expected, expected * 1e-4);
}

TEST(Region, ToEqualAreaUsesTheRegionCrs) {
  const Region r(Geometry::box(10, 50, 10.1, 50.1));
  const Geometry footprint = r.to_equal_area(Geometry::box(10, 50, 10.05, 50.1));
  EXPECT_NEAR(footprint.area() / r.area_m2(), 0.5, 1e-3);
  // Densification puts vertices at different places on shared edges: slivers of ~1e-6.
  EXPECT_NEAR(r.equal_area().intersection(footprint).area(), footprint.area(),
              footprint.area() * 1e-5);
  // The projection is centred on the region.
  const auto c = r.equal_area().centroid();
  EXPECT_NEAR(c[0], 0.0, 1.0);
  EXPECT_NEAR(c[1], 0.0, 50.0);
}

TEST(Region, UtmOfCentroid) {
  EXPECT_EQ(Region(Geometry::box(5.0, 60.0, 5.1, 60.1)).utm_epsg(), 32632);  // Norway
  EXPECT_EQ(Region(Geometry::box(-58.5, -34.7, -58.4, -34.6)).utm_epsg(), 32721);
  // Across the 12 E zone boundary: the centroid decides.
  EXPECT_EQ(Region(Geometry::box(11.9, 45.0, 12.3, 45.1)).utm_epsg(), 32633);
  EXPECT_EQ(Region(Geometry::box(11.7, 45.0, 12.1, 45.1)).utm_epsg(), 32632);
}

// ------------------------------------------------------------------ vector files through OGR

namespace vector_files {

// Two fields side by side, 0.1 x 0.05 degrees each, in lon/lat.
const char* kTwoFields = R"({"type":"FeatureCollection","features":[
  {"type":"Feature","properties":{"name":"north"},"geometry":{"type":"Polygon","coordinates":
    [[[10,50.05],[10.1,50.05],[10.1,50.1],[10,50.1],[10,50.05]]]}},
  {"type":"Feature","properties":{"name":"south"},"geometry":{"type":"Polygon","coordinates":
    [[[10,50],[10.1,50],[10.1,50.05],[10,50.05],[10,50]]]}}]})";

// Converts `source` with GDAL's own ogr2ogr; `options` e.g. "-t_srs EPSG:32632".
std::string ogr2ogr(const TempDir& dir, const std::string& source, const std::string& name,
                    const std::string& format, const std::string& options) {
  const std::string out = dir.path() + "/" + name;
  const std::string cmd =
      "ogr2ogr -f '" + format + "' " + options + " '" + out + "' '" + source + "' >/dev/null 2>&1";
  EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
  return out;
}

bool have_ogr2ogr() { return std::system("command -v ogr2ogr >/dev/null 2>&1") == 0; }

}  // namespace vector_files

TEST(Region, ReadsVectorFilesInAnyCrs) {
  if (!vector_files::have_ogr2ogr()) GTEST_SKIP() << "gdal-bin is not installed";
  TempDir dir;
  const std::string source = dir.write("fields.geojson", vector_files::kTwoFields);
  const Region expected = Region::parse(source);
  struct Case {
    const char* file;
    const char* format;
    const char* options;
  };
  const Case cases[] = {
      {"fields.gpkg", "GPKG", "-t_srs EPSG:32632 -nln fields"},
      {"fields.shp", "ESRI Shapefile", "-t_srs EPSG:3857"},
      {"fields.kml", "KML", ""},
      // Without the spatial index, which would store the features in its own order.
      {"fields.fgb", "FlatGeobuf", "-t_srs EPSG:25832 -lco SPATIAL_INDEX=NO"},
      // GeoJSON of the 2008 specification, with a "crs" member naming EPSG:3857.
      {"fields_3857.geojson", "GeoJSON", "-t_srs EPSG:3857 -lco RFC7946=NO"},
      {"table.csv", "CSV", "-lco GEOMETRY=AS_WKT"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.file);
    const std::string path = vector_files::ogr2ogr(dir, source, c.file, c.format, c.options);
    const Region r = Region::parse(path);
    // Vertices are transformed exactly; edges straight in the file's CRS differ from straight
    // lon/lat edges by centimetres on 7 km.
    EXPECT_NEAR(r.area_m2(), expected.area_m2(), expected.area_m2() * 1e-5);
    for (int i = 0; i < 4; ++i) EXPECT_NEAR(r.bbox()[i], expected.bbox()[i], 1e-7);
    const auto features = parse_features(path);
    ASSERT_EQ(features.size(), 2u);
    EXPECT_EQ(features[0].name, "north");
    EXPECT_EQ(features[1].name, "south");
    EXPECT_NEAR(features[0].region.area_m2() + features[1].region.area_m2(), expected.area_m2(),
                expected.area_m2() * 1e-5);
  }
}

TEST(Region, ReadsEverySpatialLayer) {
  if (!vector_files::have_ogr2ogr()) GTEST_SKIP() << "gdal-bin is not installed";
  TempDir dir;
  const std::string source = dir.write("fields.geojson", vector_files::kTwoFields);
  const std::string gpkg = vector_files::ogr2ogr(dir, source, "farm.gpkg", "GPKG", "-nln a");
  vector_files::ogr2ogr(dir, source, "farm.gpkg", "GPKG", "-update -t_srs EPSG:3035 -nln b");
  // An attribute table without geometry is not a layer of the region.
  const std::string table = dir.write("owners.csv", "owner,field\nAnna,north\n");
  vector_files::ogr2ogr(dir, table, "farm.gpkg", "GPKG", "-update -nln owners");
  const auto features = parse_features(gpkg);
  std::vector<std::string> names;
  for (const auto& f : features) names.push_back(f.name);
  EXPECT_THAT(names, ::testing::ElementsAre("north", "south", "north-2", "south-2"));
  EXPECT_NEAR(Region::parse(gpkg).area_m2(), Region::parse(source).area_m2(),
              Region::parse(source).area_m2() * 1e-5);
}

TEST(Region, ReadsAFolderOfShapefilesAndAZip) {
  if (!vector_files::have_ogr2ogr()) GTEST_SKIP() << "gdal-bin is not installed";
  TempDir dir;
  const std::string source = dir.write("fields.geojson", vector_files::kTwoFields);
  std::filesystem::create_directories(dir.path() + "/shapes");
  vector_files::ogr2ogr(dir, source, "shapes/fields.shp", "ESRI Shapefile", "-t_srs EPSG:32632");
  EXPECT_NEAR(Region::parse(dir.path() + "/shapes").area_m2(), Region::parse(source).area_m2(),
              Region::parse(source).area_m2() * 1e-5);
  const std::string zip = dir.path() + "/fields.shp.zip";  // a zipped Shapefile (GDAL >= 3.1)
  vector_files::ogr2ogr(dir, source, "fields.shp.zip", "ESRI Shapefile", "-t_srs EPSG:32632");
  EXPECT_NEAR(Region::parse(zip).area_m2(), Region::parse(source).area_m2(),
              Region::parse(source).area_m2() * 1e-5);
}

TEST(Region, VectorFileErrorsNameFileLayerAndFeature) {
  if (!vector_files::have_ogr2ogr()) GTEST_SKIP() << "gdal-bin is not installed";
  TempDir dir;
  const std::string points = dir.write(
      "wells.geojson",
      R"({"type":"FeatureCollection","features":[{"type":"Feature","properties":{"name":"well"},
          "geometry":{"type":"Point","coordinates":[10,50]}}]})");
  const std::string gpkg = vector_files::ogr2ogr(dir, points, "wells.gpkg", "GPKG", "-nln wells");
  EXPECT_THAT(
      parse_error(gpkg),
      AllOf(HasSubstr("Feature 1 (\"well\") of layer 'wells' of the geometry file '" + gpkg + "'"),
            HasSubstr("Point"), HasSubstr("must be a polygon")));

  // A Shapefile in metres whose .prj went missing.
  const std::string source = dir.write("fields.geojson", vector_files::kTwoFields);
  const std::string shp =
      vector_files::ogr2ogr(dir, source, "noprj.shp", "ESRI Shapefile", "-t_srs EPSG:32632");
  std::filesystem::remove(dir.path() + "/noprj.prj");
  EXPECT_THAT(parse_error(shp),
              AllOf(HasSubstr("layer 'noprj'"), HasSubstr("noprj.shp"),
                    HasSubstr("no coordinate reference system"), HasSubstr(".prj")));

  // Neither text nor anything GDAL reads.
  const std::string junk = dir.write("field.bin", std::string("\x01\x02\x03garbage", 10));
  EXPECT_THAT(parse_error(junk),
              AllOf(HasSubstr("field.bin"), HasSubstr("not GeoJSON, WKT or a vector format")));
  // A GeoPackage without features.
  const std::string empty_gpkg = vector_files::ogr2ogr(dir, source, "empty.gpkg", "GPKG",
                                                       "-where \"name = 'nothing'\" -nln f");
  EXPECT_THAT(parse_error(empty_gpkg), AllOf(HasSubstr("empty.gpkg"), HasSubstr("no features")));
}

TEST(Region, FileNamesStartingWithAWktKeywordAreFiles) {
  TempDir dir;
  const std::string old_cwd = std::filesystem::current_path().string();
  std::filesystem::current_path(dir.path());
  dir.write("polygon_field.geojson", kPolygonJson);
  EXPECT_NEAR(Region::parse("polygon_field.geojson").lonlat().area(), 0.01, 1e-12);
  EXPECT_THAT(parse_error("point.gpkg"),
              AllOf(HasSubstr("'point.gpkg'"), HasSubstr("does not exist")));
  std::filesystem::current_path(old_cwd);
  EXPECT_NEAR(Region::parse("POLYGON((0 0, 1 0, 1 1, 0 1, 0 0))").lonlat().area(), 1.0, 1e-12);
}

TEST(Region, MissingFilesAreReportedAsMissingFiles) {
  for (const std::string path :
       {"field.gpkg", "fields.shp", "my field.kml", "./field", "fields", "C:\\data\\f.fgb"}) {
    EXPECT_THAT(parse_error(path),
                AllOf(HasSubstr("The geometry file '" + path + "'"), HasSubstr("does not exist")))
        << path;
    EXPECT_THAT(parse_error(path), ::testing::Not(HasSubstr("inline geometry")));
  }
}

TEST(Region, AcceptsHeightsAndByteOrderMarks) {
  const Region z = Region::parse(
      R"({"type":"Polygon","coordinates":[[[10,50,120],[10.1,50,121],[10.1,50.1,119],[10,50.1,120],[10,50,120]]]})");
  EXPECT_NEAR(z.lonlat().area(), 0.01, 1e-12);
  EXPECT_EQ(z.lonlat().to_wkt().find('Z'), std::string::npos);
  const Region wkt_z = Region::parse("POLYGON Z ((10 50 1, 10.1 50 1, 10.1 50.1 1, 10 50 1))");
  EXPECT_NEAR(wkt_z.lonlat().area(), 0.005, 1e-12);

  TempDir dir;
  const std::string bom = dir.write("bom.geojson", std::string("\xEF\xBB\xBF") + kPolygonJson);
  EXPECT_NEAR(Region::parse(bom).lonlat().area(), 0.01, 1e-12);
  const std::string bom_wkt =
      dir.write("bom.wkt", "\xEF\xBB\xBFPOLYGON((0 0, 1 0, 1 1, 0 1, 0 0))\r\n");
  EXPECT_NEAR(Region::parse(bom_wkt).lonlat().area(), 1.0, 1e-12);
}

TEST(Region, GeoJsonCrsMember) {
  // EPSG:3857 metres of the box 10..10.1 E, 50..50.1 N (from gdaltransform).
  const Region r = Region::parse(R"({"type":"FeatureCollection",
      "crs":{"type":"name","properties":{"name":"urn:ogc:def:crs:EPSG::3857"}},
      "features":[{"type":"Feature","properties":{},"geometry":{"type":"Polygon","coordinates":
      [[[1113194.9079327357,6446275.841017158],[1124326.8570120628,6446275.841017158],
        [1124326.8570120628,6463612.12425767],[1113194.9079327357,6463612.12425767],
        [1113194.9079327357,6446275.841017158]]]}}]})");
  EXPECT_NEAR(r.bbox()[0], 10.0, 1e-9);
  EXPECT_NEAR(r.bbox()[1], 50.0, 1e-9);
  EXPECT_NEAR(r.bbox()[2], 10.1, 1e-9);
  EXPECT_NEAR(r.bbox()[3], 50.1, 1e-9);
  EXPECT_THAT(
      parse_error(R"({"type":"Polygon","crs":{"type":"name","properties":{"name":"EPSG:99999999"}},
      "coordinates":[[[0,0],[1,0],[1,1],[0,0]]]})"),
      AllOf(HasSubstr("EPSG:99999999"), HasSubstr("\"crs\"")));
}

// ------------------------------------------------------------------ features for per-feature runs

TEST(Region, FeaturesAreNamedFromIdThenNameThenPosition) {
  const auto features = parse_features(R"({"type":"FeatureCollection","features":[
      {"type":"Feature","id":"a","properties":{"name":"ignored"},"geometry":{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]]]}},
      {"type":"Feature","id":7,"properties":{},"geometry":{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]]]}},
      {"type":"Feature","properties":{"name":"North field"},"geometry":{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]]]}},
      {"type":"Feature","properties":{},"geometry":{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]]]}},
      {"type":"Feature","id":"A","properties":{},"geometry":{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]]]}},
      {"type":"Feature","id":"a","properties":{},"geometry":{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]]]}},
      {"type":"Feature","id":"..","properties":{},"geometry":{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]]]}},
      {"type":"Feature","id":"4","properties":{},"geometry":{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]]]}}]})");
  std::vector<std::string> names;
  for (const auto& f : features) names.push_back(f.name);
  EXPECT_THAT(names,
              ::testing::ElementsAre("a", "7", "North_field", "4", "A-2", "a-3", "7-2", "4-2"));
  EXPECT_NEAR(features[0].region.lonlat().area(), 0.5, 1e-12);
  // A plain geometry is one feature, named by its position.
  const auto one = parse_features("POLYGON((0 0, 1 0, 1 1, 0 0))");
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].name, "1");
  // Errors are Region::parse's.
  EXPECT_THAT(parse_error("nonexistent.gpkg"), HasSubstr("does not exist"));
  EXPECT_THROW(parse_features("nonexistent.gpkg"), InputError);
}

TEST(Region, SafeFeatureNames) {
  EXPECT_EQ(safe_feature_name("north-field_2"), "north-field_2");
  EXPECT_EQ(safe_feature_name("../../etc/passwd"), "_.._etc_passwd");
  EXPECT_EQ(safe_feature_name(".."), "");
  EXPECT_EQ(safe_feature_name("."), "");
  EXPECT_EQ(safe_feature_name(".hidden."), "hidden");
  EXPECT_EQ(safe_feature_name("a/b\\c:d*e?f\"g<h>i|j"), "a_b_c_d_e_f_g_h_i_j");
  EXPECT_EQ(safe_feature_name(std::string("tab\there\nnul\0x", 14)), "tab_here_nul_x");
  EXPECT_EQ(safe_feature_name("Feld S\xC3\xBC"
                              "d"),
            "Feld_S\xC3\xBC"
            "d");
  EXPECT_EQ(safe_feature_name("bad\xFFutf8"), "bad_utf8");
  const std::string long_name = safe_feature_name(std::string(63, 'x') + "\xC3\xBC" + "yyy");
  EXPECT_EQ(long_name, std::string(63, 'x'));  // cut before the 2-byte character, not inside
  EXPECT_LE(safe_feature_name(std::string(500, 'z')).size(), kMaxFeatureNameBytes);
}

// 1e400 made nlohmann throw out_of_range (not parse_error), which escaped as an unexpected error.
TEST(RegionParse, NumberBeyondADoubleIsAnInputError) {
  try {
    Region::parse(
        R"({"type": "Polygon", "coordinates": [[[1e400, 0], [1, 0], [1, 1], [1e400, 0]]]})");
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("not valid JSON"), std::string::npos) << e.what();
  }
}

// fuzz_region: a feature whose "type" is not a string, and a "crs" name that is not one, threw
// nlohmann's type_error (not an s2prep error, so the tool ended without a sentence).
TEST(RegionParse, MembersOfTheWrongJsonTypeAreInputErrors) {
  const std::string polygon =
      R"({"type": "Polygon", "coordinates": [[[14, 50], [14.05, 50], [14.05, 50.04], [14, 50]]]})";
  const std::string not_a_feature =
      parse_error(R"({"type": "FeatureCollection", "features": [{"type": {"x": 1}, "geometry": )" +
                  polygon + "}]}");
  EXPECT_NE(not_a_feature.find("not a GeoJSON Feature"), std::string::npos) << not_a_feature;
  const std::string crs_number = parse_error(
      R"({"type": "Feature", "crs": {"type": "name", "properties": {"name": 4326}}, "geometry": )" +
      polygon + "}");
  EXPECT_NE(crs_number.find("without a CRS name"), std::string::npos) << crs_number;
}

}  // namespace
}  // namespace s2prep::geo
