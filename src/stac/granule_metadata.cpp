#include "stac/granule_metadata.hpp"

#include <cpl_error.h>
#include <cpl_minixml.h>

#include <memory>
#include <string>

namespace s2prep::stac {
namespace {

struct XmlDeleter {
  void operator()(CPLXMLNode* node) const noexcept { CPLDestroyXMLNode(node); }
};

std::optional<double> number(const CPLXMLNode* parent, const char* path) {
  const char* text = CPLGetXMLValue(parent, path, nullptr);
  if (text == nullptr) return std::nullopt;
  try {
    std::size_t used = 0;
    const double v = std::stod(text, &used);
    return used > 0 ? std::optional(v) : std::nullopt;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

}  // namespace

std::optional<MeanSunAngles> parse_mean_sun_angles(std::string_view xml) {
  const std::string text(xml);
  // Text that is not XML is an answer here (nullopt), not an error for GDAL to print.
  CPLPushErrorHandler(CPLQuietErrorHandler);
  std::unique_ptr<CPLXMLNode, XmlDeleter> root(CPLParseXMLString(text.c_str()));
  CPLPopErrorHandler();
  if (!root) return std::nullopt;
  // "=": search the siblings too (the root node is the <?xml?> declaration). The search descends
  // through every element, so the namespace prefix of the root
  // (n1:Level-2A_Tile_ID, varying between product versions) does not matter.
  const CPLXMLNode* mean = CPLSearchXMLNode(root.get(), "=Mean_Sun_Angle");
  if (mean == nullptr) return std::nullopt;
  const auto zenith = number(mean, "ZENITH_ANGLE");
  const auto azimuth = number(mean, "AZIMUTH_ANGLE");
  if (!zenith || !azimuth || *zenith < 0 || *zenith >= 90) return std::nullopt;
  return MeanSunAngles{*zenith, *azimuth};
}

}  // namespace s2prep::stac
