#pragma once
// Sentinel-2 L2A band facts: names, native resolutions, centre wavelengths, SCL classes.

#include <array>
#include <string_view>

namespace s2prep {

struct BandInfo {
  std::string_view name;         // "B01"
  int resolution_m;              // native ground sampling distance
  int centre_nm;                 // central wavelength
  std::string_view common_name;  // STAC eo common name / Earth Search asset key
};

// The 12 output bands, in output order (B10 is not part of L2A).
inline constexpr std::array<BandInfo, 12> kBands{{
    {"B01", 60, 443, "coastal"},
    {"B02", 10, 490, "blue"},
    {"B03", 10, 560, "green"},
    {"B04", 10, 665, "red"},
    {"B05", 20, 705, "rededge1"},
    {"B06", 20, 740, "rededge2"},
    {"B07", 20, 783, "rededge3"},
    {"B08", 10, 842, "nir"},
    {"B8A", 20, 865, "nir08"},
    {"B09", 60, 945, "nir09"},
    {"B11", 20, 1610, "swir16"},
    {"B12", 20, 2190, "swir22"},
}};
inline constexpr int kBandCount = 12;

// Index of a band name in kBands, or -1.
constexpr int band_index(std::string_view name) {
  for (int i = 0; i < kBandCount; ++i) {
    if (kBands[i].name == name) return i;
  }
  return -1;
}

// Scene Classification Layer classes.
namespace scl {
inline constexpr int kNoData = 0;
inline constexpr int kSaturatedDefective = 1;
inline constexpr int kDarkArea = 2;
inline constexpr int kCloudShadow = 3;
inline constexpr int kVegetation = 4;
inline constexpr int kNotVegetated = 5;
inline constexpr int kWater = 6;
inline constexpr int kUnclassified = 7;
inline constexpr int kCloudMedium = 8;
inline constexpr int kCloudHigh = 9;
inline constexpr int kThinCirrus = 10;
inline constexpr int kSnowIce = 11;
}  // namespace scl

// Product mask classes written by s2prep (from SCL).
namespace product_mask {
inline constexpr int kClear = 0;
inline constexpr int kCloud = 1;
inline constexpr int kCirrus = 2;
inline constexpr int kCloudShadow = 3;
inline constexpr int kSaturatedDefective = 4;
inline constexpr int kNoData = 255;
}  // namespace product_mask

// Final mask values.
namespace mask_value {
inline constexpr int kClear = 0;
inline constexpr int kMasked = 1;
inline constexpr int kNoData = 255;
}  // namespace mask_value

}  // namespace s2prep
