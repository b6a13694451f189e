#include "geo/solar_position.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numbers>

namespace s2prep::geo {
namespace {

constexpr double kDeg = std::numbers::pi / 180.0;

double wrap_degrees(double a) {
  a = std::fmod(a, 360.0);
  return a < 0 ? a + 360.0 : a;
}

}  // namespace

// NOAA's solar position algorithm (the NOAA Global Monitoring Laboratory's Solar Calculator and
// its spreadsheet, after Jean Meeus, "Astronomical Algorithms", 1991): the sun's apparent
// longitude, the obliquity of the ecliptic, declination and equation of time as low-order
// series in Julian centuries since J2000.0, then the hour angle at the place. Written by hand:
// no Debian package offers a C or C++ solar ephemeris. Atmospheric refraction is left out on
// purpose: Sentinel-2's tile angles (MTD_TL.xml, s2:mean_solar_*) are geometric too.
SolarPosition solar_position(TimePoint when, double lon, double lat) {
  using namespace std::chrono;
  const double unix_days =
      duration<double>(when.time_since_epoch()).count() / 86400.0;  // since 1970-01-01T00:00Z
  const double julian_day = unix_days + 2440587.5;
  const double t = (julian_day - 2451545.0) / 36525.0;  // Julian centuries since J2000.0

  const double mean_longitude = wrap_degrees(280.46646 + t * (36000.76983 + t * 0.0003032));
  const double mean_anomaly = 357.52911 + t * (35999.05029 - 0.0001537 * t);
  const double eccentricity = 0.016708634 - t * (0.000042037 + 0.0000001267 * t);
  const double m = mean_anomaly * kDeg;
  const double centre = std::sin(m) * (1.914602 - t * (0.004817 + 0.000014 * t)) +
                        std::sin(2 * m) * (0.019993 - 0.000101 * t) + std::sin(3 * m) * 0.000289;
  const double true_longitude = mean_longitude + centre;
  const double omega = (125.04 - 1934.136 * t) * kDeg;
  const double apparent_longitude = true_longitude - 0.00569 - 0.00478 * std::sin(omega);
  const double mean_obliquity =
      23.0 + (26.0 + (21.448 - t * (46.815 + t * (0.00059 - t * 0.001813))) / 60.0) / 60.0;
  const double obliquity = (mean_obliquity + 0.00256 * std::cos(omega)) * kDeg;
  const double declination = std::asin(std::sin(obliquity) * std::sin(apparent_longitude * kDeg));

  const double y = std::pow(std::tan(obliquity / 2), 2);
  const double l0 = mean_longitude * kDeg;
  const double equation_of_time_min =
      4.0 / kDeg *
      (y * std::sin(2 * l0) - 2 * eccentricity * std::sin(m) +
       4 * eccentricity * y * std::sin(m) * std::cos(2 * l0) - 0.5 * y * y * std::sin(4 * l0) -
       1.25 * eccentricity * eccentricity * std::sin(2 * m));

  const double minutes_of_day = (unix_days - std::floor(unix_days)) * 1440.0;
  const double true_solar_time_min =
      std::fmod(minutes_of_day + equation_of_time_min + 4.0 * lon, 1440.0);
  double hour_angle = true_solar_time_min / 4.0 - 180.0;
  if (hour_angle < -180) hour_angle += 360;
  if (hour_angle > 180) hour_angle -= 360;
  const double h = hour_angle * kDeg;
  const double phi = lat * kDeg;

  const double cos_zenith =
      std::sin(phi) * std::sin(declination) + std::cos(phi) * std::cos(declination) * std::cos(h);
  SolarPosition p;
  p.zenith_deg = std::acos(std::clamp(cos_zenith, -1.0, 1.0)) / kDeg;
  // Azimuth measured from south, westward positive (Meeus 13.5), turned to clockwise from north.
  const double from_south =
      std::atan2(std::sin(h), std::cos(h) * std::sin(phi) - std::tan(declination) * std::cos(phi));
  p.azimuth_deg = wrap_degrees(from_south / kDeg + 180.0);
  return p;
}

}  // namespace s2prep::geo
