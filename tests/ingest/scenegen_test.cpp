// One generated acquisition read end to end through /vsicurl/ with signed hrefs: the 10 m bands
// equal the generator's pixels, 20 m bands equal GDAL's warper, SCL gives every product class
// the scene contains.
#include <gtest/gtest.h>
#include <httplib.h>

#include "fixtures.hpp"
#include "geo/region.hpp"
#include "ingest/acquisition_reader.hpp"
#include "ingest/grid.hpp"
#include "ingest/product_mask.hpp"
#include "scenegen/scenegen.hpp"
#include "test_server.hpp"

using namespace s2prep;
using namespace s2prep::ingest;
using namespace s2prep::ingest::test;

TEST(Scenegen, AcquisitionFromTheTestServerMatchesTheGenerator) {
  TempDir tmp;
  scenegen::SceneSpec scene = scenegen::standard_scene(600, 11);
  // One acquisition over the first tile only keeps this test fast.
  scenegen::AcquisitionSpec acq;
  for (const auto& a : scene.acquisitions) {
    if (!a.clouds.empty() && !a.swath_edge) {
      acq = a;
      break;
    }
  }
  ASSERT_FALSE(acq.datetime.empty());
  acq.tiles = {scene.tiles[0].mgrs_tile};
  scene.acquisitions = {acq};
  s2prep::testing::TestServer server;
  server.serve_directory(tmp.path);
  server.set_require_signing(true);
  const auto generated = scenegen::generate(scene, tmp.path, server.base_url() + "/blob", {1});
  ASSERT_EQ(generated.size(), 1u);
  const auto item = stac::Item::from_json(generated[0].item);
  const auto render = scenegen::render_tile(scene, generated[0].acquisition, generated[0].tile);

  // Sign like the Planetary Computer token cache does; a refresh fetches a new token.
  httplib::Client client("127.0.0.1", server.port());
  std::mutex mutex;
  std::string token;
  AcquisitionReadOptions o;
  o.harmonize = false;
  o.jobs = 2;
  o.sign = [&](const std::string& href, bool refresh) {
    std::lock_guard lock(mutex);
    if (token.empty() || refresh) {
      auto res = client.Get("/token/sentinel-2-l2a");
      token = nlohmann::json::parse(res->body).at("token").get<std::string>();
    }
    return href + "?" + token;
  };
  // A window of the tile's own 10 m grid (layout tile, cropped): 10 m bands are copied.
  const Grid tile10 = asset_grid(item, "B02", "");
  EXPECT_EQ(tile10, scenegen::tile_grid(scene.tiles[0]));
  const Grid out = tile10.sub_grid(Window{150, 120, 300, 280});
  const auto r = read_acquisition({item}, out, o);
  EXPECT_EQ(r.direct_reads, 4);
  for (const char* name : {"B02", "B03", "B04", "B08"}) {
    const int b = band_index(name);
    const auto dn = scenegen::band_dn(render, b);
    for (int y = 0; y < out.height; ++y)
      for (int x = 0; x < out.width; ++x)
        ASSERT_EQ(r.bands.at(b, y, x), dn.at(0, y + 120, x + 150)) << name;
  }
  for (const char* name : {"B05", "B11", "B09"}) {
    const int b = band_index(name);
    const std::string prefix = server.base_url() + "/blob/";
    const std::string href = item.assets.at(name).href;
    ASSERT_EQ(href.rfind(prefix, 0), 0u) << href;
    const std::string path = (tmp.path / href.substr(prefix.size())).string();
    ASSERT_TRUE(fs::exists(path)) << path;
    const auto ref = gdalwarp_reference<std::uint16_t>(path, out, "bilinear");
    EXPECT_TRUE(std::equal(ref.begin(), ref.end(), r.bands.band(b))) << name;
  }
  // Harmonized read: every valid DN shifts by the offset of baseline >= 04.00.
  o.harmonize = true;
  const auto h = read_acquisition({item}, out, o);
  EXPECT_EQ(h.items[0].harmonized, scenegen::baseline_has_offset(acq.processing_baseline));
  if (h.items[0].harmonized) {
    for (std::size_t i = 0; i < h.bands.data.size(); ++i) {
      const int raw = r.bands.data[i];
      ASSERT_EQ(h.bands.data[i], raw == 0 ? 0 : std::max(1, raw - 1000));
    }
  }
  // SCL: nearest from 20 m onto the aligned 10 m window equals the generator's 20 m SCL.
  const auto scl20 = scenegen::scl_20m(render);
  for (int y = 0; y < out.height; ++y)
    for (int x = 0; x < out.width; ++x)
      ASSERT_EQ(r.scl.at(0, y, x), scl20.at(0, (y + 120) / 2, (x + 150) / 2));
  const auto pm = product_mask_from_scl(r.scl);
  for (std::size_t i = 0; i < pm.data.size(); ++i)
    ASSERT_EQ(pm.data[i], product_mask_class(r.scl.data[i]));
}

// Many concurrent band reads of several tiles (one in another UTM zone, so warped) give the
// same stack every time: reads must not interfere with each other.
TEST(Scenegen, ConcurrentReadsAreDeterministic) {
  TempDir tmp;
  scenegen::SceneSpec scene = scenegen::standard_scene(480, 7);
  s2prep::testing::TestServer server;
  server.serve_directory(tmp.path);
  const auto generated = scenegen::generate(scene, tmp.path, server.base_url() + "/blob", {2});
  std::vector<stac::Item> items;
  const std::string first_datetime = generated.at(0).item["properties"]["datetime"];
  for (const auto& g : generated) {
    if (g.item["properties"]["datetime"] == first_datetime)
      items.push_back(stac::Item::from_json(g.item));
  }
  ASSERT_GE(items.size(), 2u);
  const auto region = geo::Region::parse(scenegen::demo_region_wkt(scene));
  const Grid grid = context_grid(layout_grid(region), 64);
  AcquisitionReadOptions o;
  o.jobs = 16;
  const auto reference = read_acquisition(items, grid, o);
  for (int run = 0; run < 6; ++run) {
    const auto again = read_acquisition(items, grid, o);
    ASSERT_EQ(again.bands.data, reference.bands.data) << "run " << run;
    ASSERT_EQ(again.scl.data, reference.scl.data) << "run " << run;
  }
}
