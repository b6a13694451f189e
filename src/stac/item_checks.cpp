#include "stac/item_checks.hpp"

#include <fmt/format.h>

#include <cctype>

#include "core/text.hpp"

namespace s2prep::stac {

bool is_mgrs_tile(std::string_view tile) {
  if (tile.size() != 5) return false;
  for (std::size_t i = 0; i < 5; ++i) {
    const auto c = static_cast<unsigned char>(tile[i]);
    if (i < 2 ? !std::isdigit(c) : !(c >= 'A' && c <= 'Z')) return false;
  }
  return true;
}

bool is_safe_item_id(std::string_view id) {
  if (id.empty() || id.size() > 200 || id.front() == '.') return false;
  for (const char ch : id) {
    const auto c = static_cast<unsigned char>(ch);
    if (!std::isalnum(c) && c != '_' && c != '-' && c != '.') return false;
  }
  return true;
}

std::optional<std::string> unusable_reason(const Item& item, const TimeRange& range) {
  if (!is_safe_item_id(item.id)) {
    return std::string(
        "its id is not a plain name (letters, digits, '_', '-', '.'; at most 200 characters)");
  }
  if (!item.mgrs_tile.empty() && !is_mgrs_tile(item.mgrs_tile)) {
    return fmt::format("its MGRS tile \"{}\" is not two digits and three letters",
                       printable(item.mgrs_tile, 20));
  }
  if (item.datetime < range.start || item.datetime > range.end) {
    return fmt::format("its datetime {} lies outside the requested time range {} to {}",
                       format_time(item.datetime), format_time(range.start),
                       format_time(range.end));
  }
  return std::nullopt;
}

}  // namespace s2prep::stac
