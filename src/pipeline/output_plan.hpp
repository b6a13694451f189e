#pragma once
// Which outputs a request makes: one per acquisition on the shared grid (grid layout), or one per
// acquisition and tile on the tile's grid (tile layout), each with its name, items and grid.

#include <string>
#include <vector>

#include <s2prep/grid.hpp>
#include <s2prep/options.hpp>
#include <s2prep/results.hpp>

#include "ingest/acquisition_reader.hpp"
#include "pipeline/search.hpp"

namespace s2prep::pipeline {

// One output: an acquisition on the shared grid, or an acquisition and tile on the tile's grid.
struct OutputUnit {
  const select::Acquisition* acquisition = nullptr;  // points into the SearchOutcome
  std::vector<stac::Item> items;                     // mosaic order
  std::vector<std::string> tiles;
  Grid grid;
  std::string name;  // file stem: S2_<compact time>, with _T<tile> in the tile layout
};

// The outputs of `outcome`, in time order (then tile). The tile layout needs each tile's grid:
// from the item's proj: fields, else from its B02 COG's header (opened through `sign`). Throws
// DataError naming an item without a B02 asset or whose grid cannot be had, and InputError
// when a unit would need more memory than options.memory_limit_bytes (or the machine's).
// `bands_on_disk`: whether the units' bands will stay on disk (see bands_on_disk()).
std::vector<OutputUnit> plan_outputs(const SearchOutcome& outcome, const ProcessingOptions& options,
                                     const ingest::HrefSigner& sign, bool bands_on_disk);

// How many of `units` to make at once when `asked` for: one at a time for grids above 16 Mpx,
// whatever was asked (each unit in flight holds its stack: two whole tiles would need ~26 GB).
int acquisitions_in_flight(const std::vector<OutputUnit>& units, int asked);

// The plan as the library returns it.
Plan public_plan(const SearchOutcome& outcome, const std::vector<OutputUnit>& units,
                 const ProcessingOptions& options, bool bands_on_disk);

// What one unit costs, estimated before anything is read.
struct UnitCosts {
  std::uint64_t memory_bytes = 0;   // peak memory (memory_budget.hpp)
  std::uint64_t scratch_bytes = 0;  // the on-disk stack of the context grid, when used
  std::uint64_t output_bytes = 0;   // its files, uncompressed, with overviews: an upper bound
};
UnitCosts unit_costs(const OutputUnit& unit, const ProcessingOptions& options, bool bands_on_disk);

}  // namespace s2prep::pipeline
