// s2prep-scenegen: writes the standard synthetic scene, serves it on 127.0.0.1, or prints the
// demo region.
//
//   s2prep-scenegen generate --out DIR [--size N] [--seed S] [--href-base URL] [--tile T]...
//                            [--date YYYY-MM-DD]... [--threads N]
//   s2prep-scenegen serve --data DIR [--port-file F] [--latency-ms N] [--require-signing]
//   s2prep-scenegen region [--size N]

#include <CLI/CLI.hpp>

#include <pthread.h>
#include <signal.h>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include <s2prep/errors.hpp>
#include "scenegen/scenegen.hpp"
#include "test_server.hpp"

namespace {

namespace fs = std::filesystem;
using s2prep::InputError;

void write_text_atomically(const fs::path& path, const std::string& text) {
  const fs::path tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary);
    out << text;
    if (!out) throw s2prep::DataError("Could not write " + path.string() + "; check the folder.");
  }
  fs::rename(tmp, path);
}

struct GenerateArgs {
  fs::path out;
  int size = 1098;
  std::uint64_t seed = 7;
  std::string href_base;
  std::vector<std::string> tiles;  // keep only these tiles (all when empty)
  std::vector<std::string> dates;  // keep only acquisitions whose datetime starts so
  int threads = 0;
};

int run_generate(const GenerateArgs& args) {
  auto scene = s2prep::scenegen::standard_scene(args.size, args.seed);
  const std::string region = s2prep::scenegen::demo_region_wkt(scene);
  // Subsets (e.g. one full-size tile at one date for a benchmark) keep the ground and sky of
  // the full scene.
  auto keep = [](const std::vector<std::string>& wanted, const std::string& value, bool prefix) {
    if (wanted.empty()) return true;
    for (const auto& w : wanted) {
      if (prefix ? value.rfind(w, 0) == 0 : value == w) return true;
    }
    return false;
  };
  std::erase_if(scene.tiles, [&](const auto& t) { return !keep(args.tiles, t.mgrs_tile, false); });
  std::erase_if(scene.acquisitions,
                [&](const auto& a) { return !keep(args.dates, a.datetime, true); });
  if (scene.tiles.empty() || scene.acquisitions.empty()) {
    throw InputError(
        "--tile/--date leave nothing to generate; the standard scene has tiles "
        "33UUP, 33UVP, 32UQU and dates from 2021-06-15 to 2023-09-01.");
  }
  const fs::path& out = args.out;
  const std::string& href_base = args.href_base;
  fs::create_directories(out);
  s2prep::scenegen::GenerateOptions options;
  options.threads = args.threads;
  const auto items = s2prep::scenegen::generate(scene, out, href_base, options);
  write_text_atomically(out / "items.json",
                        s2prep::scenegen::feature_collection(items, href_base).dump(1) + "\n");
  write_text_atomically(out / "region.wkt", region + "\n");
  std::cout << "wrote " << items.size() << " items to " << (out / "items.json").string() << "\n";
  return 0;
}

// Replaces the recorded href base of every asset with the server's blob URL.
nlohmann::json load_items(const fs::path& data, const s2prep::testing::TestServer& server) {
  const fs::path path = data / "items.json";
  std::ifstream in(path);
  if (!in) {
    throw InputError("No items.json in " + data.string() +
                     "; run `s2prep-scenegen generate --out " + data.string() + "` first.");
  }
  nlohmann::json fc;
  try {
    fc = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw InputError(path.string() + " is not valid JSON (" + e.what() + "); regenerate it.");
  }
  std::string base = fc.value("scenegen:href_base", std::string());
  if (!base.empty() && base.back() != '/') base += '/';
  for (auto& item : fc.at("features")) {
    for (auto& [key, asset] : item.at("assets").items()) {
      const std::string href = asset.at("href").get<std::string>();
      if (href.rfind(base, 0) != 0) {
        throw InputError("Asset " + key + " of " + item.value("id", std::string("?")) + " in " +
                         path.string() + " does not start with the recorded href base '" + base +
                         "'; regenerate the data.");
      }
      asset["href"] = server.blob_url(href.substr(base.size()));
    }
  }
  return fc;
}

int run_serve(const fs::path& data, const std::string& port_file, int latency_ms,
              bool require_signing) {
  // Block the stop signals before the server starts its threads (they inherit the mask), then
  // wait for them synchronously: no handler, no global state.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);

  s2prep::testing::TestServer server;
  const nlohmann::json fc = load_items(data, server);
  for (const auto& item : fc.at("features")) server.add_item(item);
  server.serve_directory(data);
  server.set_latency(std::chrono::milliseconds(latency_ms));
  server.set_require_signing(require_signing);
  if (!port_file.empty()) write_text_atomically(port_file, server.base_url() + "\n");
  std::cout << server.base_url() << std::endl;
  std::cerr << "serving " << fc.at("features").size() << " items from " << data.string() << " at "
            << server.stac_url() << " (Ctrl-C to stop)" << std::endl;
  int signal_number = 0;
  sigwait(&stop, &signal_number);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Synthetic Sentinel-2 L2A scenes (COGs + STAC Items) for tests and the demo"};
  app.require_subcommand(1);

  GenerateArgs g;
  auto* gen = app.add_subcommand("generate", "Write the standard scene and DIR/items.json");
  gen->add_option("--out", g.out, "Output folder")->required();
  gen->add_option("--size", g.size, "Tile size in 10 m pixels (multiple of 6; real tiles 10980)");
  gen->add_option("--seed", g.seed, "Random seed of the ground");
  gen->add_option("--href-base", g.href_base,
                  "Prefix of asset hrefs (default: paths relative to the output folder)");
  gen->add_option("--tile", g.tiles, "Only this tile (repeatable): 33UUP, 33UVP, 32UQU");
  gen->add_option("--date", g.dates, "Only acquisitions whose datetime starts so (repeatable)");
  gen->add_option("--threads", g.threads, "Files written in parallel (default: all cores)");

  fs::path data;
  std::string port_file;
  int latency_ms = 0;
  bool require_signing = false;
  auto* serve = app.add_subcommand("serve", "Serve DIR as a local STAC API + blob store");
  serve->add_option("--data", data, "Folder written by `generate`")->required();
  serve->add_option("--port-file", port_file, "Write the server's base URL to this file");
  serve->add_option("--latency-ms", latency_ms, "Latency added to every request");
  serve->add_flag("--require-signing", require_signing, "Blobs need a SAS token");

  auto* region = app.add_subcommand("region", "Print the demo region (lon/lat WKT)");
  region->add_option("--size", g.size, "Tile size the scene was generated with");

  CLI11_PARSE(app, argc, argv);
  try {
    if (*gen) return run_generate(g);
    if (*serve) return run_serve(data, port_file, latency_ms, require_signing);
    if (*region) {
      std::cout << s2prep::scenegen::demo_region_wkt(
                       s2prep::scenegen::standard_scene(g.size, g.seed))
                << "\n";
      return 0;
    }
  } catch (const s2prep::Error& e) {
    std::cerr << "error: " << e.what() << "\n";
    return e.exit_code();
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
