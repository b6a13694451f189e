#pragma once
// Internals of the scene generator shared by its translation units (not part of its API).

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <thread>
#include <utility>
#include <vector>

class OGRCoordinateTransformation;

namespace s2prep::scenegen::detail {

// Runs f(begin, end) over [0, n) split into contiguous chunks on up to `threads` threads.
template <class F>
void parallel_for(int n, int threads, F&& f) {
  threads = std::max(1, std::min(threads, n));
  if (threads == 1) {
    f(0, n);
    return;
  }
  std::vector<std::jthread> pool;
  pool.reserve(threads);
  for (int t = 0; t < threads; ++t) {
    const int begin = int(std::int64_t(n) * t / threads);
    const int end = int(std::int64_t(n) * (t + 1) / threads);
    pool.emplace_back([&f, begin, end] { f(begin, end); });
  }
}

inline int default_threads() { return std::max(1, int(std::thread::hardware_concurrency())); }

// Stateless hashing: every random choice is a pure function of (seed, inputs), so overlapping
// tiles and repeated runs agree pixel for pixel.
inline std::uint64_t mix(std::uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}
inline std::uint64_t hash3(std::uint64_t seed, std::int64_t a, std::int64_t b) {
  return mix(seed ^ mix(std::uint64_t(a) * 0x9E3779B97F4A7C15ULL ^
                        mix(std::uint64_t(b) + 0x632BE59BD9B4E019ULL)));
}
inline double unit(std::uint64_t h) { return double(h >> 11) * (1.0 / 9007199254740992.0); }

// Smooth value noise in [0, 1] with feature size `scale` (metres).
inline double value_noise(std::uint64_t seed, double x, double y, double scale) {
  const double fx = x / scale, fy = y / scale;
  const double x0 = std::floor(fx), y0 = std::floor(fy);
  const double tx = fx - x0, ty = fy - y0;
  const double sx = tx * tx * (3 - 2 * tx), sy = ty * ty * (3 - 2 * ty);
  const auto ix = std::int64_t(x0), iy = std::int64_t(y0);
  const double v00 = unit(hash3(seed, ix, iy)), v10 = unit(hash3(seed, ix + 1, iy));
  const double v01 = unit(hash3(seed, ix, iy + 1)), v11 = unit(hash3(seed, ix + 1, iy + 1));
  return (v00 * (1 - sx) + v10 * sx) * (1 - sy) + (v01 * (1 - sx) + v11 * sx) * sy;
}

// Fractal noise: `octaves` octaves of value noise, normalised to [0, 1].
inline double fbm(std::uint64_t seed, double x, double y, double scale, int octaves) {
  double sum = 0, amp = 1, norm = 0;
  for (int o = 0; o < octaves; ++o) {
    sum += amp * value_noise(seed + std::uint64_t(o) * 7919, x, y, scale);
    norm += amp;
    amp *= 0.5;
    scale *= 0.5;
  }
  return sum / norm;
}

// A blob's radius in direction theta: a disc perturbed by two harmonics (deterministic in key).
inline double blob_radius(std::uint64_t key, double radius, double theta) {
  const double p1 = unit(mix(key + 1)) * 6.283185307179586;
  const double p2 = unit(mix(key + 2)) * 6.283185307179586;
  return radius * (1 + 0.12 * std::sin(3 * theta + p1) + 0.07 * std::sin(5 * theta + p2));
}

// Soft membership of a point at (dx, dy) from a blob's centre: 1 inside 0.85 R(theta), 0
// beyond 1.15 R(theta), a smoothstep in between.
inline double blob_profile(std::uint64_t key, double radius, double dx, double dy) {
  const double r = std::hypot(dx, dy);
  if (r > 1.3 * radius) return 0;
  const double big_r = blob_radius(key, radius, std::atan2(dy, dx));
  const double t = std::clamp((1.15 * big_r - r) / (0.3 * big_r), 0.0, 1.0);
  return t * t * (3 - 2 * t);
}

// Owned OGR transformation between two EPSG codes (lon/lat in traditional x=lon order).
struct TransformDeleter {
  void operator()(OGRCoordinateTransformation* t) const;
};
using TransformPtr = std::unique_ptr<OGRCoordinateTransformation, TransformDeleter>;
TransformPtr make_transform(int from_epsg, int to_epsg);
// Transforms points in place; throws DataError naming the EPSG codes on failure.
void transform_points(OGRCoordinateTransformation& t, std::vector<double>& x,
                      std::vector<double>& y, int from_epsg, int to_epsg);

}  // namespace s2prep::scenegen::detail
