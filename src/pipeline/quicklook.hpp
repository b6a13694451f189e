#pragma once
// Quicklooks for people: a true-colour PNG per output with the mask drawn over it, a contact
// sheet of the whole time series, and a static index.html showing them with the summary.

#include <array>
#include <filesystem>

#include <s2prep/results.hpp>
#include "core/raster.hpp"

namespace s2prep::pipeline {

// Colours drawn for the mask: masked pixels are blended half-way towards this colour; no-data
// pixels are painted this grey.
inline constexpr std::array<std::uint8_t, 3> kMaskColour{255, 0, 255};
inline constexpr std::array<std::uint8_t, 3> kNoDataColour{40, 40, 40};

// RGB (3 x H x W, band-sequential) true-colour image of B04, B03, B02 with a robust stretch
// (2nd to 98th percentile of the valid pixels of each band), the mask drawn over it.
ByteRaster render_quicklook(const BandStack& raster, const ByteRaster& mask);

// Writes render_quicklook as a PNG (atomically).
void write_quicklook(const BandStack& raster, const ByteRaster& mask,
                     const std::filesystem::path& png);

// contact_sheet.png of every output's quicklook (thumbnails in time order) and index.html with
// the summary table, in `out_dir`.
void write_index_html(const std::filesystem::path& out_dir, const RunResult& report);

}  // namespace s2prep::pipeline
