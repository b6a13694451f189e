#include "core/grid.hpp"

#include <cmath>

namespace s2prep {

Grid Grid::sub_grid(const Window& w) const {
  Grid g = *this;
  g.transform[0] = transform[0] + w.col * transform[1] + w.row * transform[2];
  g.transform[3] = transform[3] + w.col * transform[4] + w.row * transform[5];
  g.width = w.width;
  g.height = w.height;
  return g;
}

Grid Grid::expanded(int margin) const {
  return sub_grid(Window{-margin, -margin, width + 2 * margin, height + 2 * margin});
}

Window Grid::window_of(const Grid& inner) const {
  const double col = (inner.transform[0] - transform[0]) / transform[1];
  const double row = (inner.transform[3] - transform[3]) / transform[5];
  return Window{static_cast<int>(std::lround(col)), static_cast<int>(std::lround(row)), inner.width,
                inner.height};
}

}  // namespace s2prep
