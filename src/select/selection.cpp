#include "select/selection.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <map>
#include <numeric>
#include <tuple>

#include <s2prep/errors.hpp>
#include "geo/footprint.hpp"

namespace s2prep::select {
namespace {

// Coverage fractions come from sums of polygon areas; equal coverages computed along different
// paths differ in the last bits.
constexpr double kEps = 1e-9;

struct Candidate {
  const stac::Item* item;
  geo::Geometry part;  // footprint ∩ region, equal-area CRS
  double area;         // m²
};

// A piece of the region covered by exactly the candidates in `mask`.
struct Face {
  double area;
  std::uint32_t mask;
};

void check_options(const SelectionOptions& options) {
  if (!(options.min_tile_cover > 0 && options.min_tile_cover <= 1)) {
    throw InputError(
        fmt::format("min_tile_cover is {}, but it must be a fraction in (0, 1]; give e.g. 0.99.",
                    options.min_tile_cover));
  }
  if (options.max_tiles_per_time && *options.max_tiles_per_time < 1) {
    throw InputError(fmt::format(
        "max_tiles_per_time is {}, but it must be at least 1; leave it unset for no limit.",
        *options.max_tiles_per_time));
  }
}

// Keeps the newest processing of every product. The same id seen twice (overlapping result
// pages) is a plain duplicate, not a reprocessing.
std::vector<stac::Item> drop_superseded(std::vector<stac::Item> items,
                                        std::vector<std::string>& superseded) {
  std::sort(items.begin(), items.end(),
            [](const stac::Item& a, const stac::Item& b) { return a.id < b.id; });
  items.erase(std::unique(items.begin(), items.end(),
                          [](const stac::Item& a, const stac::Item& b) { return a.id == b.id; }),
              items.end());
  std::map<std::string, std::size_t> newest;  // product key -> index in items
  for (std::size_t i = 0; i < items.size(); ++i) {
    auto [it, inserted] = newest.emplace(items[i].product_key(), i);
    if (inserted) continue;
    const stac::Item& kept = items[it->second];
    const stac::Item& other = items[i];
    const auto rank = [](const stac::Item& x) {
      return std::make_tuple(x.processing_time(), x.baseline().value_or(0.0));
    };
    if (rank(other) > rank(kept)) {
      superseded.push_back(kept.id);
      it->second = i;
    } else {
      superseded.push_back(other.id);
    }
  }
  std::vector<stac::Item> kept;
  kept.reserve(newest.size());
  for (std::size_t i = 0; i < items.size(); ++i) {
    auto it = newest.find(items[i].product_key());
    if (it->second == i) kept.push_back(std::move(items[i]));
  }
  std::sort(superseded.begin(), superseded.end());
  return kept;
}

std::optional<geo::Geometry> footprint_of(const stac::Item& item) {
  if (item.geometry.is_null()) return std::nullopt;  // STAC allows items without geometry
  try {
    return geo::Geometry::from_geojson(item.geometry);
  } catch (const InputError& e) {
    throw Error(fmt::format(
        "STAC item '{}' has a footprint that is not a readable GeoJSON geometry ({}); the "
        "catalogue's answer is malformed, report it to its provider.",
        item.id, e.what()));
  }
}

// The CRS in which the item's footprint was computed, and so has straight edges: its proj:epsg,
// item level, else the one all its assets that declare one agree on (none when they disagree).
std::optional<int> footprint_epsg(const stac::Item& item) {
  if (item.epsg) return item.epsg;
  std::optional<int> epsg;
  for (const auto& [key, asset] : item.assets) {
    if (!asset.epsg) continue;
    if (epsg && *epsg != *asset.epsg) return std::nullopt;
    epsg = asset.epsg;
  }
  return epsg;
}

// The published lon/lat vertices put a footprint's edges within ~1.3 km of where they lie on
// the ground (at 80 degrees latitude, less further south); a footprint whose bounds miss the
// region's by more than this margin cannot cover any of it, and skips the exact computation.
bool may_reach(const geo::Geometry& lonlat_footprint, const geo::Region& region) {
  constexpr double kMarginDegrees = 0.5;
  const auto f = lonlat_footprint.bounds();
  const auto r = region.bbox();
  return f[0] - kMarginDegrees <= r[2] && r[0] <= f[2] + kMarginDegrees &&
         f[1] - kMarginDegrees <= r[3] && r[1] <= f[3] + kMarginDegrees;
}

// The item's footprint ∩ the region, in the region's equal-area CRS. Items without proj:epsg
// keep their edges straight in lon/lat (see FootprintProjector).
geo::Geometry part_of(const stac::Item& item, const geo::Geometry& lonlat_footprint,
                      const geo::Region& region, geo::FootprintProjector& footprints) {
  const auto epsg = footprint_epsg(item);
  try {
    return region.equal_area().intersection(footprints.to_equal_area(lonlat_footprint, epsg));
  } catch (const Error& e) {
    throw Error(fmt::format(
        "Cannot place the footprint of STAC item '{}' (proj:epsg {}) on the ground ({}); the "
        "catalogue's answer is malformed, report it to its provider.",
        item.id, epsg ? std::to_string(*epsg) : "none", e.what()));
  }
}

// Splits the union of the candidates' parts into faces, each covered by one fixed set of
// candidates, so that the coverage of any subset is a sum over faces instead of a new union.
std::vector<Face> faces_of(const std::vector<Candidate>& candidates) {
  std::vector<std::pair<geo::Geometry, std::uint32_t>> faces;
  std::optional<geo::Geometry> covered;
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    const geo::Geometry& g = candidates[i].part;
    const std::uint32_t bit = 1u << i;
    std::vector<std::pair<geo::Geometry, std::uint32_t>> next;
    next.reserve(faces.size() * 2 + 1);
    for (auto& [face, mask] : faces) {
      if (!face.intersects(g)) {
        next.emplace_back(std::move(face), mask);
        continue;
      }
      geo::Geometry in = face.intersection(g);
      geo::Geometry out = face.difference(g);
      if (in.area() > 0) next.emplace_back(std::move(in), mask | bit);
      if (out.area() > 0) next.emplace_back(std::move(out), mask);
    }
    geo::Geometry fresh = covered ? g.difference(*covered) : g;
    if (fresh.area() > 0) next.emplace_back(std::move(fresh), bit);
    covered = covered ? covered->union_with(g) : g;
    faces = std::move(next);
  }
  std::vector<Face> out;
  out.reserve(faces.size());
  for (const auto& [face, mask] : faces) out.push_back({face.area(), mask});
  return out;
}

double percent_or_worst(const std::optional<double>& v) { return v ? *v : 100.0; }

// "0.62", or more digits when two would round up to the threshold it failed.
std::string format_fraction(double value, double threshold) {
  for (int digits = 2; digits < 6; ++digits) {
    std::string s = fmt::format("{:.{}f}", value, digits);
    if (std::stod(s) < threshold) return s;
  }
  return fmt::format("{:.6f}", value);
}

struct Choice {
  std::uint32_t mask = 0;
  double coverage = 0;
};

// The exact search over subsets of at most `k` candidates (see the header for the order).
Choice choose(const std::vector<Candidate>& candidates, const std::vector<Face>& faces,
              double region_area, int k, double full) {
  const std::size_t n = candidates.size();
  const std::uint32_t all = (1u << n) - 1;  // n <= kMaxExactCandidates
  auto coverage_of = [&](std::uint32_t s) {
    double a = 0;
    for (const Face& f : faces) {
      if (f.mask & s) a += f.area;
    }
    return std::min(1.0, a / region_area);
  };
  auto effective = [&](double c) { return c >= full - kEps ? 1.0 : c; };

  std::vector<std::pair<std::uint32_t, double>> subsets;  // every subset of size <= k
  double best = 0;
  for (std::uint32_t s = 1; s <= all; ++s) {
    if (std::popcount(s) > k) continue;
    const double c = coverage_of(s);
    subsets.emplace_back(s, c);
    best = std::max(best, effective(c));
  }

  auto key = [&](std::uint32_t s, double c) {
    double cloud = 0, nodata = 0;
    std::vector<std::string> ids;
    for (std::size_t i = 0; i < n; ++i) {
      if (!(s & (1u << i))) continue;
      // Sums, not maxima: with equally many items a sum is the mean, so the least cloudy set
      // overall wins rather than the set whose worst item is least bad.
      cloud += percent_or_worst(candidates[i].item->cloud_cover);
      nodata += percent_or_worst(candidates[i].item->nodata_pixel_percentage);
      ids.push_back(candidates[i].item->id);
    }
    std::sort(ids.begin(), ids.end());
    return std::make_tuple(std::popcount(s), cloud, nodata, -c, ids);
  };

  std::optional<decltype(key(0, 0.0))> best_key;
  Choice choice;
  for (const auto& [s, c] : subsets) {
    if (effective(c) < best - kEps) continue;
    auto k_s = key(s, c);
    if (!best_key || k_s < *best_key) {
      best_key = std::move(k_s);
      choice = {s, c};
    }
  }
  return choice;
}

}  // namespace

Selection select_acquisitions(const geo::Region& region, std::vector<stac::Item> items,
                              const SelectionOptions& options) {
  check_options(options);
  Selection selection;
  items = drop_superseded(std::move(items), selection.superseded_item_ids);

  std::map<TimePoint, std::vector<stac::Item>> groups;
  for (auto& item : items) groups[item.datetime].push_back(std::move(item));

  const double region_area = region.area_m2();
  geo::FootprintProjector footprints(region);
  // With min_tile_cover above 0.99 the user asks for more than the reference's "within"
  // threshold; a subset then only counts as full when it reaches min_tile_cover itself.
  const double full = std::max(kFullCoverage, options.min_tile_cover);

  for (auto& [datetime, group] : groups) {
    std::vector<std::string> ids;
    for (const auto& item : group) ids.push_back(item.id);
    std::sort(ids.begin(), ids.end());
    // Named captures: clang before 16 cannot capture structured bindings.
    auto skip = [&, &datetime = datetime, &group = group](std::string reason) {
      selection.skipped.push_back({datetime, group.front().datetime_text, ids, std::move(reason)});
    };

    auto too_cloudy = [&](const stac::Item& item) {
      return options.max_cloud_cover && item.cloud_cover &&
             *item.cloud_cover > *options.max_cloud_cover;
    };
    if (std::all_of(group.begin(), group.end(), too_cloudy)) {
      skip(fmt::format("all its {} items have eo:cloud_cover above max_cloud_cover {}",
                       group.size(), *options.max_cloud_cover));
      continue;
    }

    std::vector<Candidate> candidates;
    for (const auto& item : group) {
      if (too_cloudy(item)) continue;
      const auto footprint = footprint_of(item);
      if (!footprint || !may_reach(*footprint, region)) continue;
      geo::Geometry part = part_of(item, *footprint, region, footprints);
      const double area = part.area();
      if (area > 0) candidates.push_back({&item, std::move(part), area});
    }
    if (candidates.empty()) {
      skip("its tiles do not intersect the region");
      continue;
    }
    std::sort(candidates.begin(), candidates.end(), [](const Candidate& a, const Candidate& b) {
      return a.area != b.area ? a.area > b.area : a.item->id < b.item->id;
    });
    if (candidates.size() > static_cast<std::size_t>(kMaxExactCandidates)) {
      candidates.erase(candidates.begin() + kMaxExactCandidates, candidates.end());
    }

    const int n = static_cast<int>(candidates.size());
    const int k = std::min(n, options.max_tiles_per_time.value_or(n));
    const Choice choice = choose(candidates, faces_of(candidates), region_area, k, full);

    if (choice.coverage < options.min_tile_cover - kEps) {
      std::string reason = fmt::format("covers {} of the region",
                                       format_fraction(choice.coverage, options.min_tile_cover));
      if (k < n) reason += fmt::format(" with at most {} tiles", k);
      reason += fmt::format(", below min_tile_cover {}", options.min_tile_cover);
      skip(std::move(reason));
      continue;
    }

    Acquisition acquisition;
    acquisition.datetime = datetime;
    acquisition.datetime_text = group.front().datetime_text;
    acquisition.coverage = choice.coverage;
    for (int i = 0; i < n; ++i) {  // candidates are already largest intersection first
      if (!(choice.mask & (1u << i))) continue;
      const stac::Item& item = *candidates[i].item;
      if (!item.mgrs_tile.empty() && std::find(acquisition.tiles.begin(), acquisition.tiles.end(),
                                               item.mgrs_tile) == acquisition.tiles.end()) {
        acquisition.tiles.push_back(item.mgrs_tile);
      }
      acquisition.items.push_back(item);
    }
    selection.acquisitions.push_back(std::move(acquisition));
  }
  return selection;
}

}  // namespace s2prep::select
