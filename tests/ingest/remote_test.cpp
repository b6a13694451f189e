// Reads through /vsicurl/ against the in-process test server: faults, expired tokens, and how
// many bytes a window read really moves.
#include <gtest/gtest.h>
#include <httplib.h>

#include <random>

#include <s2prep/errors.hpp>
#include "fixtures.hpp"
#include "ingest/acquisition_reader.hpp"
#include "ingest/gdal_env.hpp"
#include "ingest/reader.hpp"
#include "test_server.hpp"

using namespace s2prep;
using namespace s2prep::ingest;
using namespace s2prep::ingest::test;

namespace {

std::string fetch_token(const s2prep::testing::TestServer& server) {
  httplib::Client client("127.0.0.1", server.port());
  auto res = client.Get("/token/sentinel-2-l2a");
  EXPECT_TRUE(res);
  if (!res) return {};
  EXPECT_EQ(res->status, 200);
  return nlohmann::json::parse(res->body).at("token").get<std::string>();
}

struct RemoteFixture : ::testing::Test {
  void SetUp() override {
    src = tile_grid(32633, 600000, 5700000, 20);
    write_tif<std::uint16_t>(tmp.path / "B05.tif", src, [&](int c, int r) {
      return field(src.transform[0] + (c + 0.5) * 20, src.transform[3] - (r + 0.5) * 20, 4);
    });
    server.serve_directory(tmp.path);
    out = tile_grid(32633, 600000, 5700000, 10).sub_grid(Window{100, 100, 120, 90});
    expected = read_band<std::uint16_t>({"local", "B05", (tmp.path / "B05.tif").string(), {}}, out,
                                        Resampling::Bilinear);
  }
  TempDir tmp;
  s2prep::testing::TestServer server;
  Grid src, out;
  Raster<std::uint16_t> expected;
};

}  // namespace

TEST_F(RemoteFixture, ServerBusyIsRetried) {
  s2prep::testing::Fault busy;
  busy.status = 503;
  busy.retry_after = 0;
  busy.count = 2;
  server.inject("/blob/B05.tif", busy);
  ReadOptions o;
  o.retry_backoff = std::chrono::milliseconds(10);
  ReadInfo info;
  const auto r = read_band<std::uint16_t>({"item", "B05", server.blob_url("B05.tif"), {}}, out,
                                          Resampling::Bilinear, o, &info);
  EXPECT_EQ(r.data, expected.data);
  EXPECT_GE(server.request_count("/blob/B05.tif"), 3);
}

TEST_F(RemoteFixture, ExpiredTokenIsRefreshedThroughTheResignCallback) {
  server.set_require_signing(true);
  const std::string url = server.blob_url("B05.tif");
  const std::string first = url + "?" + fetch_token(server);
  server.expire_all_tokens();
  int resigned = 0;
  BandSource source{"item", "B05", first, [&] {
                      ++resigned;
                      return url + "?" + fetch_token(server);
                    }};
  ReadInfo info;
  const auto r = read_band<std::uint16_t>(source, out, Resampling::Bilinear, {}, &info);
  EXPECT_EQ(r.data, expected.data);
  EXPECT_EQ(resigned, 1);
  EXPECT_EQ(info.resigns, 1);
  // Without a resign callback the expired token is a clean DataError that does not show it.
  server.expire_all_tokens();
  try {
    read_band<std::uint16_t>({"item", "B05", first, {}}, out, Resampling::Bilinear);
    FAIL() << "expected DataError";
  } catch (const DataError& e) {
    EXPECT_EQ(std::string(e.what()).find("sig="), std::string::npos) << e.what();
  }
}

TEST_F(RemoteFixture, StalledRequestTimesOutAndIsRetried) {
  // The first request hangs for longer than the whole band's limit: it is cut at half of it, and
  // another attempt still fits in the rest. Had it not been cut, it would have been answered
  // after the stall and the read would have taken one attempt.
  s2prep::testing::Fault stall;
  stall.delay = std::chrono::milliseconds(5000);
  server.inject("/blob/B05.tif", stall);
  ReadOptions o;
  o.timeout = std::chrono::seconds(4);
  o.retry_backoff = std::chrono::milliseconds(10);
  ReadInfo info;
  const auto r = read_band<std::uint16_t>({"item", "B05", server.blob_url("B05.tif"), {}}, out,
                                          Resampling::Bilinear, o, &info);
  EXPECT_EQ(r.data, expected.data);
  EXPECT_GE(info.attempts, 2);
}

TEST_F(RemoteFixture, PersistentFailureIsACleanErrorAfterBoundedAttempts) {
  s2prep::testing::Fault gone;
  gone.status = 500;
  gone.count = 1000;
  server.inject("/blob/B05.tif", gone);
  ReadOptions o;
  o.retry_backoff = std::chrono::milliseconds(1);
  o.max_attempts = 2;
  // GDAL's own per-request retries back off exponentially; keep this test fast.
  ThreadConfigScope fast;
  fast.set("GDAL_HTTP_MAX_RETRY", "1");
  fast.set("GDAL_HTTP_RETRY_DELAY", "0.05");
  ReadInfo info;
  EXPECT_THROW(read_band<std::uint16_t>({"item", "B05", server.blob_url("B05.tif"), {}}, out,
                                        Resampling::Bilinear, o, &info),
               DataError);
  EXPECT_LE(info.attempts, 2);
}

// Resets are a network problem, not a token problem: they are retried after a wait, and the
// token is left alone (three resets used to mean three instant re-signings and a failed run).
TEST_F(RemoteFixture, ResetsAreRetriedWithBackoffNotTakenForTokenProblems) {
  server.inject("/blob/B05.tif", s2prep::testing::Fault::dropped(3));
  int resigned = 0;
  const std::string url = server.blob_url("B05.tif");
  BandSource source{"item", "B05", url, [&] {
                      ++resigned;
                      return url;
                    }};
  ReadOptions o;
  o.retry_backoff = std::chrono::milliseconds(20);
  o.timeout = std::chrono::seconds(30);
  ReadInfo info;
  const auto r = read_band<std::uint16_t>(source, out, Resampling::Bilinear, o, &info);
  EXPECT_EQ(r.data, expected.data);
  EXPECT_EQ(resigned, 0);
  EXPECT_EQ(info.resigns, 0);
  EXPECT_GE(info.attempts, 2);
}

// --dl-timeout bounds the whole band read, retries and GDAL's own per-request retries included:
// a storage answering 503 forever fails the read at the limit, not minutes later.
TEST_F(RemoteFixture, TimeLimitBoundsTheWholeReadRetriesIncluded) {
  server.inject("/blob/B05.tif", s2prep::testing::Fault::http_status(503, std::nullopt, 100000));
  ReadOptions o;
  o.timeout = std::chrono::seconds(3);
  o.max_attempts = 1000;  // only the time limit ends the retries
  const auto t0 = std::chrono::steady_clock::now();
  ReadInfo info;
  try {
    read_band<std::uint16_t>({"item", "B05", server.blob_url("B05.tif"), {}}, out,
                             Resampling::Bilinear, o, &info);
    FAIL() << "expected DataError";
  } catch (const DataError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("within the --dl-timeout of 3 s"), std::string::npos) << what;
    EXPECT_NE(what.find("asset B05 of item item"), std::string::npos) << what;
  }
  // The retries went on until the limit was near (a lower bound holds under any load), and the
  // sentence above says the limit, not the attempt budget, ended them.
  EXPECT_GE(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(2000));
  EXPECT_GE(info.attempts, 2);
  // Each attempt is one request: GDAL's own retries (4 per request, exponential delays) used to
  // multiply the attempts and took the read to ~30 s. Checked by count rather than by the time
  // the read took, which has no bound that holds on a loaded machine.
  EXPECT_LE(server.request_count("/blob/B05.tif"), info.attempts);
}

TEST(Remote, WindowReadMovesOnlyTheBlocksItNeeds) {
  TempDir tmp;
  // An incompressible 10 m band of 2000 x 2000 (about 8 MB) in 256-pixel blocks.
  const Grid g10 = tile_grid(32633, 600000, 5700000, 10, 20000);
  std::mt19937 rng(7);
  write_tif<std::uint16_t>(tmp.path / "B02.tif", g10,
                           [&](int, int) { return std::uint16_t(1 + rng() % 60000); });
  s2prep::testing::TestServer server;
  server.serve_directory(tmp.path);
  // A 100 x 100 window inside one block.
  const Grid out = g10.sub_grid(Window{300, 300, 100, 100});
  const auto r = read_band<std::uint16_t>({"item", "B02", server.blob_url("B02.tif"), {}}, out,
                                          Resampling::Bilinear);
  const auto local = read_all<std::uint16_t>(tmp.path / "B02.tif");
  for (int y = 0; y < 100; ++y)
    for (int x = 0; x < 100; ++x)
      ASSERT_EQ(r.at(0, y, x), local[std::size_t(y + 300) * 2000 + x + 300]);
  const auto file_size = fs::file_size(tmp.path / "B02.tif");
  const auto moved = server.bytes_sent("/blob/B02.tif");
  // One 256 x 256 uint16 block is 128 KB; the header and GDAL's minimum chunking add a little.
  EXPECT_LT(moved, file_size / 10) << moved << " of " << file_size;
  EXPECT_LE(server.request_count("/blob/B02.tif"), 6);

  // The warper also fetches only the source window it needs: a 20 m band of 1000 x 1000 (4 MB).
  const Grid g20 = tile_grid(32633, 600000, 5700000, 20, 20000);
  write_tif<std::uint16_t>(tmp.path / "B05.tif", g20,
                           [&](int, int) { return std::uint16_t(1 + rng() % 60000); });
  const auto warped = read_band<std::uint16_t>({"item", "B05", server.blob_url("B05.tif"), {}}, out,
                                               Resampling::Bilinear);
  EXPECT_EQ(warped.data,
            gdalwarp_reference<std::uint16_t>((tmp.path / "B05.tif").string(), out, "bilinear"));
  const auto moved20 = server.bytes_sent("/blob/B05.tif");
  EXPECT_LT(moved20, fs::file_size(tmp.path / "B05.tif") / 10) << moved20;
}

// A remote catalogue naming a local file: refused before any read, naming item and asset.
TEST(Remote, LocalHrefsFromARemoteCatalogueAreRefused) {
  TempDir tmp;
  TileSpec spec;
  spec.size_m = 600;
  const stac::Item item = write_tile(tmp.path / "t", spec);
  const Grid g = tile_grid(32633, 600000, 5700000, 10, 600).sub_grid(Window{0, 0, 20, 20});
  AcquisitionReadOptions o;
  o.allow_local_hrefs = false;
  try {
    read_acquisition({item}, g, o);
    FAIL() << "expected DataError";
  } catch (const DataError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("item " + item.id), std::string::npos) << what;
    EXPECT_NE(what.find("Asset B01"), std::string::npos) << what;
    EXPECT_NE(what.find("local file"), std::string::npos) << what;
  }
  for (const std::string href : {"file:///etc/passwd", "/vsis3/bucket/B01.tif", "s3://b/x.tif",
                                 "/vsicurl/http://h/x.tif", "ftp://h/x.tif"}) {
    EXPECT_THROW(require_remote_href("i", "B01", href), DataError) << href;
  }
  EXPECT_NO_THROW(require_remote_href("i", "B01", "HTTPS://h/x.tif"));
  // The same catalogue given as a local file is read.
  o.allow_local_hrefs = true;
  EXPECT_NO_THROW(read_acquisition({item}, g, o));
}
