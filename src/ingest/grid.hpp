#pragma once
// The output pixel grids: the run-wide UTM grid of layout `grid`, a tile's own grid for layout
// `tile`, and the larger context grid the models see.

#include <array>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include <s2prep/grid.hpp>
#include "geo/region.hpp"
#include "stac/item.hpp"

namespace s2prep::ingest {

inline constexpr double kOutputResolution = 10.0;

// Bounds [min_x, min_y, max_x, max_y] in `epsg` of a lon/lat GeoJSON geometry (Polygon or
// MultiPolygon). Edges are densified before projecting, because a straight lon/lat edge is a
// curve in UTM and its vertices alone can miss the bulge.
std::array<double, 4> projected_bounds(const nlohmann::json& lonlat_geometry, int epsg);

// The smallest grid of `resolution` pixels whose edges lie on multiples of `resolution` (in
// `epsg` coordinates) and which covers `bounds`.
Grid snapped_grid(int epsg, const std::array<double, 4>& bounds,
                  double resolution = kOutputResolution);

// Layout `grid`: the UTM zone of the region's centroid, 10 m pixels on multiples of 10 m,
// covering the region.
Grid layout_grid(const geo::Region& region);

// The native grid of a tile's 10 m asset (B02): from proj:transform / proj:shape / proj:epsg when
// the item declares them, else by opening `href` (signed href or local path). Throws DataError
// naming the item and asset when neither says.
Grid asset_grid(const stac::Item& item, const std::string& asset_key, const std::string& href);

// The native grid of `item`'s tile (its 10 m B02 asset, see asset_grid); `sign` (may be empty)
// signs the href in case the file must be opened.
Grid item_tile_grid(const stac::Item& item,
                    const std::function<std::string(const std::string&, bool)>& sign);

// `tile` cropped to the region's bounds in the tile's CRS, with edges snapped outward onto the
// tile's pixel edges and limited to the tile. Throws DataError naming `what` when the region
// does not overlap the tile.
Grid crop_to_region(const Grid& tile, const geo::Region& region, const std::string& what);
// Same, from bounds already in the tile's CRS.
Grid crop_to_bounds(const Grid& tile, const std::array<double, 4>& bounds, const std::string& what);

// The grid the models read: `output` grown by `margin` pixels on every side, then grown further
// (centred) to at least `min_size` x `min_size` so one model chip fits. `output` sits inside it at
// context.window_of(output).
Grid context_grid(const Grid& output, int margin = 64, int min_size = 512);

// The same, limited to where imagery exists: `imagery` ([min_x, min_y, max_x, max_y] in the
// output's CRS, see imagery_bounds). Context beyond the imagery holds only nodata, and it moves
// the model chips: a whole tile read with a margin around it is not chipped as the tile itself.
// `output` itself is never cut. When a side has no room left, the growth to `min_size` goes to
// the side that has imagery; only imagery narrower than `min_size` is padded beyond its edge.
Grid context_grid(const Grid& output, const std::array<double, 4>& imagery, int margin = 64,
                  int min_size = 512);

// The bounds in `epsg` of the union of `tiles` (the native grids of the tiles, each in its own
// CRS). Edges are densified before projecting: a straight edge in one UTM zone bulges in another.
std::array<double, 4> imagery_bounds(const std::vector<Grid>& tiles, int epsg);

}  // namespace s2prep::ingest
