#pragma once
// Checks on catalogue items before they are used: their values end up in file names, log lines
// and records, and a catalogue is not trusted to keep them sane.

#include <optional>
#include <string>
#include <string_view>

#include "core/time.hpp"
#include "stac/item.hpp"

namespace s2prep::stac {

// An MGRS tile as Sentinel-2 names it: two digits (UTM zone) and three capital letters.
bool is_mgrs_tile(std::string_view tile);

// An item id that may become part of a file name: 1 to 200 characters of letters, digits,
// '_', '-' and '.', not starting with '.'.
bool is_safe_item_id(std::string_view id);

// Why `item` cannot be used for a search over `range`, as a phrase ("its datetime
// 1999-01-01T00:00:00Z lies outside the requested time range"); nullopt when it can.
std::optional<std::string> unusable_reason(const Item& item, const TimeRange& range);

}  // namespace s2prep::stac
