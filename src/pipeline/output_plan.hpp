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
std::vector<OutputUnit> plan_outputs(const SearchOutcome& outcome, const ProcessingOptions& options,
                                     const ingest::HrefSigner& sign);

// How many of `units` to make at once when `asked` for: one at a time for grids above 16 Mpx,
// whatever was asked (each unit in flight holds its stack: two whole tiles would need ~26 GB).
int acquisitions_in_flight(const std::vector<OutputUnit>& units, int asked);

// The plan as the library returns it.
Plan public_plan(const SearchOutcome& outcome, const std::vector<OutputUnit>& units,
                 int context_margin);

// Estimated peak bytes of one unit (its stack on the context grid, working rasters, outputs).
std::uint64_t unit_memory_bytes(const OutputUnit& unit, int context_margin);

}  // namespace s2prep::pipeline
