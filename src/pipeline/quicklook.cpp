#include "pipeline/quicklook.hpp"

#include <fmt/format.h>
#include <gdal_priv.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include <s2prep/errors.hpp>
#include "core/bands.hpp"
#include "ingest/gdal_env.hpp"
#include "output/location.hpp"
#include "pipeline/catalog.hpp"
#include "pipeline/summary.hpp"

namespace s2prep::pipeline {
namespace {

namespace fs = std::filesystem;

// The stretch comes from the clear pixels when there are enough of them, so that bright clouds
// do not push the ground into black; from all valid pixels otherwise.
std::pair<double, double> robust_range(const std::uint16_t* band, const ByteRaster& mask) {
  std::vector<std::uint16_t> values;
  values.reserve(mask.band_size());
  for (std::size_t i = 0; i < mask.band_size(); ++i) {
    if (band[i] != 0 && mask.data[i] == mask_value::kClear) values.push_back(band[i]);
  }
  if (values.size() < mask.band_size() / 20) {
    values.clear();
    for (std::size_t i = 0; i < mask.band_size(); ++i) {
      if (band[i] != 0 && mask.data[i] != mask_value::kNoData) values.push_back(band[i]);
    }
  }
  if (values.empty()) return {0, 1};
  auto at = [&](double q) {
    const auto k = static_cast<std::size_t>(q * (values.size() - 1));
    std::nth_element(values.begin(), values.begin() + k, values.end());
    return double(values[k]);
  };
  const double lo = at(0.02);
  const double hi = at(0.98);
  return {lo, std::max(hi, lo + 1)};
}

void write_png(const ByteRaster& rgb, const fs::path& png) {
  ingest::configure_gdal();
  GDALDriverH mem = GDALGetDriverByName("MEM");
  GDALDriverH png_driver = GDALGetDriverByName("PNG");
  if (!mem || !png_driver) throw DataError("GDAL's MEM or PNG driver is missing.");
  ingest::DatasetPtr ds(
      GDALCreate(mem, "", rgb.grid.width, rgb.grid.height, rgb.bands, GDT_Byte, nullptr));
  for (int b = 0; b < rgb.bands; ++b) {
    if (GDALRasterIO(GDALGetRasterBand(ds.get(), b + 1), GF_Write, 0, 0, rgb.grid.width,
                     rgb.grid.height, const_cast<std::uint8_t*>(rgb.band(b)), rgb.grid.width,
                     rgb.grid.height, GDT_Byte, 0, 0) != CE_None) {
      throw DataError(fmt::format("Cannot render {}.", png.string()));
    }
  }
  // In object storage the object appears only once uploaded whole: written under its name.
  const bool remote = output::is_remote(png);
  const std::string tmp =
      remote ? output::gdal_name(png)
             : (png.parent_path() /
                fmt::format(".{}.tmp-{}.png", png.filename().string(), long(getpid())))
                   .string();
  output::AccessScope access(png);
  ingest::ErrorCapture errors;
  ingest::DatasetPtr out(
      GDALCreateCopy(png_driver, tmp.c_str(), ds.get(), FALSE, nullptr, nullptr, nullptr));
  if (!out) {
    throw DataError(fmt::format("Cannot write {} ({}).", png.string(), errors.failure_text()));
  }
  out.reset();
  output::remove_file(tmp + ".aux.xml");
  if (remote) {
    if (errors.has_failure()) {
      output::remove_file(png);
      throw DataError(fmt::format("Cannot write {} ({}).", png.string(), errors.failure_text()));
    }
    return;
  }
  std::error_code ec;
  fs::rename(tmp, png, ec);
  if (ec)
    throw DataError(fmt::format("Cannot move {} into place ({}).", png.string(), ec.message()));
}

// Area-average downsampling of an RGB image by an integer factor.
ByteRaster shrink(const ByteRaster& rgb, int factor) {
  Grid g = rgb.grid;
  g.width = std::max(1, rgb.grid.width / factor);
  g.height = std::max(1, rgb.grid.height / factor);
  ByteRaster out(g, rgb.bands);
  for (int b = 0; b < rgb.bands; ++b) {
    for (int r = 0; r < g.height; ++r) {
      for (int c = 0; c < g.width; ++c) {
        int sum = 0, n = 0;
        for (int dr = 0; dr < factor && r * factor + dr < rgb.grid.height; ++dr) {
          for (int dc = 0; dc < factor && c * factor + dc < rgb.grid.width; ++dc) {
            sum += rgb.at(b, r * factor + dr, c * factor + dc);
            ++n;
          }
        }
        out.at(b, r, c) = static_cast<std::uint8_t>(n ? sum / n : 0);
      }
    }
  }
  return out;
}

ByteRaster read_png(const fs::path& png) {
  output::AccessScope access(png);
  ingest::DatasetPtr ds(GDALOpen(output::gdal_name(png).c_str(), GA_ReadOnly));
  if (!ds || GDALGetRasterCount(ds.get()) < 3) {
    throw DataError(fmt::format("Cannot read the quicklook {}.", png.string()));
  }
  Grid g;
  g.width = GDALGetRasterXSize(ds.get());
  g.height = GDALGetRasterYSize(ds.get());
  ByteRaster rgb(g, 3);
  for (int b = 0; b < 3; ++b) {
    if (GDALRasterIO(GDALGetRasterBand(ds.get(), b + 1), GF_Read, 0, 0, g.width, g.height,
                     rgb.band(b), g.width, g.height, GDT_Byte, 0, 0) != CE_None) {
      throw DataError(fmt::format("Cannot read the quicklook {}.", png.string()));
    }
  }
  return rgb;
}

std::string html_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

}  // namespace

ByteRaster render_quicklook(const BandStack& raster, const ByteRaster& mask) {
  ByteRaster rgb(raster.grid, 3);
  const int rgb_bands[3] = {band_index("B04"), band_index("B03"), band_index("B02")};
  for (int c = 0; c < 3; ++c) {
    const std::uint16_t* band = raster.band(rgb_bands[c]);
    const auto [lo, hi] = robust_range(band, mask);
    std::uint8_t* out = rgb.band(c);
    for (std::size_t i = 0; i < rgb.band_size(); ++i) {
      const double v = std::clamp((band[i] - lo) / (hi - lo), 0.0, 1.0);
      // A mild gamma brightens dark land without washing out clouds.
      double value = 255.0 * std::pow(v, 1 / 1.4);
      if (mask.data[i] == mask_value::kNoData || band[i] == 0) {
        value = kNoDataColour[c];
      } else if (mask.data[i] == mask_value::kMasked) {
        value = 0.5 * value + 0.5 * kMaskColour[c];
      }
      out[i] = static_cast<std::uint8_t>(std::lround(value));
    }
  }
  return rgb;
}

void write_quicklook(const BandStack& raster, const ByteRaster& mask, const fs::path& png) {
  write_png(render_quicklook(raster, mask), png);
}

void write_index_html(const fs::path& out_dir, const RunResult& report) {
  // Contact sheet: thumbnails of at most 256 px, in rows of up to 6, time order.
  std::vector<ByteRaster> thumbs;
  std::vector<std::string> labels;
  for (const auto& o : report.outputs) {
    const fs::path png = out_dir / (o.name + "_quicklook.png");
    if (!output::file_exists(png)) continue;
    ByteRaster rgb = read_png(png);
    const int factor = std::max(1, (std::max(rgb.grid.width, rgb.grid.height) + 255) / 256);
    thumbs.push_back(factor > 1 ? shrink(rgb, factor) : rgb);
    labels.push_back(o.name);
  }
  if (!thumbs.empty()) {
    const int columns = std::min<int>(6, thumbs.size());
    const int rows = (static_cast<int>(thumbs.size()) + columns - 1) / columns;
    int cell_w = 0, cell_h = 0;
    for (const auto& t : thumbs) {
      cell_w = std::max(cell_w, t.grid.width);
      cell_h = std::max(cell_h, t.grid.height);
    }
    constexpr int kGap = 4;
    Grid g;
    g.width = columns * (cell_w + kGap) + kGap;
    g.height = rows * (cell_h + kGap) + kGap;
    ByteRaster sheet(g, 3, 255);
    for (std::size_t i = 0; i < thumbs.size(); ++i) {
      const int x0 = kGap + static_cast<int>(i % columns) * (cell_w + kGap);
      const int y0 = kGap + static_cast<int>(i / columns) * (cell_h + kGap);
      for (int b = 0; b < 3; ++b) {
        for (int r = 0; r < thumbs[i].grid.height; ++r) {
          for (int c = 0; c < thumbs[i].grid.width; ++c) {
            sheet.at(b, y0 + r, x0 + c) = thumbs[i].at(b, r, c);
          }
        }
      }
    }
    write_png(sheet, out_dir / "contact_sheet.png");
  }

  std::string rows;
  for (const auto& o : report.outputs) {
    std::string tiles;
    for (const auto& t : o.tiles) tiles += (tiles.empty() ? "" : ", ") + t;
    rows += fmt::format(
        "<tr><td>{}</td><td>{}</td><td>{:.1f}</td><td>{:.1f}</td><td>{:.1f}</td><td>{:.1f}</td>"
        "<td>{:.1f}</td><td>{:.1f}</td><td>{}</td><td><a href=\"{}_quicklook.png\"><img "
        "src=\"{}_quicklook.png\" width=\"160\" alt=\"{}\"></a></td></tr>\n",
        html_escape(o.datetime), html_escape(tiles), 100 * o.coverage, 100 * o.valid_fraction,
        100 * o.cloud_fraction, 100 * o.shadow_fraction, 100 * o.product_mask_fraction,
        100 * o.masked_fraction, html_escape(o.cloud_model + " / " + o.shadow_model), o.name,
        o.name, html_escape(o.name));
  }
  std::string skipped;
  for (const auto& s : report.skipped) {
    skipped += fmt::format("<li>{}: {}</li>\n", html_escape(s.datetime), html_escape(s.reason));
  }
  const std::string html = fmt::format(
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
      "<title>s2prep outputs</title>\n<style>body{{font-family:sans-serif;margin:2em}}"
      "table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:4px 8px;"
      "text-align:right}}td:first-child,td:nth-child(2),td:nth-child(9){{text-align:left}}"
      "</style></head><body>\n<h1>s2prep outputs</h1>\n"
      "<p>True colour (B04, B03, B02); masked pixels (cloud or shadow) are tinted magenta, no "
      "data is dark grey. Catalogue: <a href=\"items.json\">items.json</a>.</p>\n"
      "<p><img src=\"contact_sheet.png\" alt=\"contact sheet\"></p>\n"
      "<table><tr><th>Datetime</th><th>Tiles</th><th>Coverage %</th><th>Valid %</th>"
      "<th>Cloud %</th><th>Shadow %</th><th>Product mask %</th><th>Masked %</th>"
      "<th>Models</th><th>Quicklook</th></tr>\n{}</table>\n{}</body></html>\n",
      rows, skipped.empty() ? "" : "<h2>Skipped acquisitions</h2><ul>\n" + skipped + "</ul>\n");
  write_text_atomically(out_dir / "index.html", html);
}

}  // namespace s2prep::pipeline
