#pragma once
// Tile selection (the reference's s2.filter, made exact: smallest set reaching the best coverage):
// which items of which acquisitions the workflow uses to cover the region.

#include <optional>
#include <string>
#include <vector>

#include "core/time.hpp"
#include "geo/region.hpp"
#include "stac/item.hpp"

namespace s2prep::select {

// An uncovered rest below 1 % of the region counts as covered, as in the reference's "within"
// threshold of 0.99.
inline constexpr double kFullCoverage = 0.99;
// Exact search looks at every subset of the candidates; beyond this many candidates only the
// ones with the largest intersections are searched (2^16 subsets is still instant, and real
// acquisitions have 1-4 candidates).
inline constexpr int kMaxExactCandidates = 16;

struct SelectionOptions {
  double min_tile_cover = 0.99;           // in (0, 1]
  std::optional<int> max_tiles_per_time;  // >= 1; none = unlimited
  // Percent in [0, 100]: items whose eo:cloud_cover exceeds it are not used (items without one
  // are), and an acquisition whose items all exceed it is skipped with that reason.
  std::optional<double> max_cloud_cover;
};

struct Acquisition {
  TimePoint datetime{};
  std::string datetime_text;
  // Selected items, largest intersection with the region first: the mosaic order (an earlier
  // item wins where items overlap).
  std::vector<stac::Item> items;
  std::vector<std::string> tiles;  // distinct MGRS tiles of `items`, in the same order
  double coverage = 0;  // fraction of the region covered by the union of the items' footprints
};

struct SkippedAcquisition {
  TimePoint datetime{};
  std::string datetime_text;
  std::vector<std::string> item_ids;  // sorted
  std::string reason;                 // e.g. "covers 0.62 of the region, below min_tile_cover 0.99"
};

struct Selection {
  std::vector<Acquisition> acquisitions;         // in time order
  std::vector<SkippedAcquisition> skipped;       // in time order
  std::vector<std::string> superseded_item_ids;  // older processings of a product, sorted
};

// Per acquisition (items with an identical datetime), after dropping older processings of a
// reprocessed product: among the subsets of at most max_tiles_per_time candidate items, finds the
// best coverage C* any of them reaches (coverage >= kFullCoverage, or >= min_tile_cover when that
// is higher, counts as full), and takes the smallest subset reaching it; ties go to the lower sum
// of eo:cloud_cover, then the lower sum of s2:nodata_pixel_percentage (unknown values count as
// 100), then the higher coverage, then the item ids. The acquisition is used when that subset
// covers at least min_tile_cover of the region, otherwise it is reported as skipped. Areas are
// computed in the region's equal-area projection.
//
// Never throws for an acquisition that cannot cover the region (it is skipped); callers decide
// whether an empty selection is an error. Throws InputError for options out of range and Error
// for an item whose footprint is not a readable GeoJSON geometry.
Selection select_acquisitions(const geo::Region& region, std::vector<stac::Item> items,
                              const SelectionOptions& options);

}  // namespace s2prep::select
