#include "core/time.hpp"

#include <fmt/format.h>

#include <cctype>
#include <charconv>

#include <s2prep/errors.hpp>

namespace s2prep {
namespace {

using namespace std::chrono;

// Reads exactly `digits` decimal digits at `pos`.
bool read_int(std::string_view s, size_t& pos, int digits, int& out) {
  if (pos + digits > s.size()) return false;
  int v = 0;
  for (int i = 0; i < digits; ++i) {
    const char c = s[pos + i];
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
    v = v * 10 + (c - '0');
  }
  out = v;
  pos += digits;
  return true;
}

bool expect(std::string_view s, size_t& pos, char c) {
  if (pos < s.size() && s[pos] == c) {
    ++pos;
    return true;
  }
  return false;
}

}  // namespace

bool is_date_only(std::string_view text) {
  return text.size() == 10 && text.find('T') == std::string_view::npos &&
         text.find(' ') == std::string_view::npos;
}

std::optional<TimePoint> parse_time(std::string_view s) {
  size_t pos = 0;
  int y = 0, mo = 0, d = 0;
  if (!read_int(s, pos, 4, y) || !expect(s, pos, '-') || !read_int(s, pos, 2, mo) ||
      !expect(s, pos, '-') || !read_int(s, pos, 2, d)) {
    return std::nullopt;
  }
  const year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)},
                           day{static_cast<unsigned>(d)}};
  if (!ymd.ok()) return std::nullopt;
  TimePoint t = time_point_cast<microseconds>(sys_days{ymd});
  if (pos == s.size()) return t;
  if (s[pos] != 'T' && s[pos] != 't' && s[pos] != ' ') return std::nullopt;
  ++pos;
  int h = 0, mi = 0, sec = 0;
  if (!read_int(s, pos, 2, h) || !expect(s, pos, ':') || !read_int(s, pos, 2, mi)) {
    return std::nullopt;
  }
  if (expect(s, pos, ':') && !read_int(s, pos, 2, sec)) return std::nullopt;
  if (h > 23 || mi > 59 || sec > 60) return std::nullopt;
  long long micros = 0;
  if (expect(s, pos, '.') || expect(s, pos, ',')) {
    int digits = 0;
    while (pos < s.size() && std::isdigit(static_cast<unsigned char>(s[pos]))) {
      if (digits < 6) micros = micros * 10 + (s[pos] - '0');
      ++digits;
      ++pos;
    }
    if (digits == 0) return std::nullopt;
    for (int i = digits; i < 6; ++i) micros *= 10;
  }
  t += hours{h} + minutes{mi} + seconds{sec} + microseconds{micros};
  if (pos == s.size()) return t;  // no zone: UTC
  if (s[pos] == 'Z' || s[pos] == 'z') return pos + 1 == s.size() ? std::optional(t) : std::nullopt;
  if (s[pos] == '+' || s[pos] == '-') {
    const int sign = s[pos] == '+' ? 1 : -1;
    ++pos;
    int oh = 0, om = 0;
    if (!read_int(s, pos, 2, oh)) return std::nullopt;
    expect(s, pos, ':');
    if (!read_int(s, pos, 2, om)) return std::nullopt;
    if (pos != s.size() || oh > 23 || om > 59) return std::nullopt;
    return t - sign * (hours{oh} + minutes{om});
  }
  return std::nullopt;
}

std::string format_time(TimePoint t) {
  const auto day = floor<days>(t);
  const year_month_day ymd{day};
  const hh_mm_ss hms{t - day};
  std::string out = fmt::format("{:04d}-{:02d}-{:02d}T{:02d}:{:02d}:{:02d}", int(ymd.year()),
                                unsigned(ymd.month()), unsigned(ymd.day()), hms.hours().count(),
                                hms.minutes().count(), hms.seconds().count());
  if (hms.subseconds().count() != 0) out += fmt::format(".{:06d}", hms.subseconds().count());
  return out + "Z";
}

std::string format_compact(TimePoint t) {
  const auto day = floor<days>(t);
  const year_month_day ymd{day};
  const hh_mm_ss hms{t - day};
  return fmt::format("{:04d}{:02d}{:02d}T{:02d}{:02d}{:02d}", int(ymd.year()),
                     unsigned(ymd.month()), unsigned(ymd.day()), hms.hours().count(),
                     hms.minutes().count(), hms.seconds().count());
}

std::string format_date(TimePoint t) {
  const year_month_day ymd{floor<days>(t)};
  return fmt::format("{:04d}-{:02d}-{:02d}", int(ymd.year()), unsigned(ymd.month()),
                     unsigned(ymd.day()));
}

std::string TimeRange::stac_interval() const { return format_time(start) + "/" + format_time(end); }

TimeRange parse_time_range(std::string_view start, std::string_view end) {
  const auto s = parse_time(start);
  if (!s) {
    throw InputError(fmt::format(
        "--start '{}' is not a date or UTC date-time; use e.g. 2023-06-01 or 2023-06-01T10:00:00Z.",
        start));
  }
  auto e = parse_time(end);
  if (!e) {
    throw InputError(fmt::format(
        "--end '{}' is not a date or UTC date-time; use e.g. 2023-06-30 or 2023-06-30T23:59:59Z.",
        end));
  }
  if (is_date_only(end)) *e += days{1} - microseconds{1};
  if (*e < *s) {
    throw InputError(fmt::format(
        "--end {} is before --start {}; give a start that is not after the end.", end, start));
  }
  return TimeRange{*s, *e};
}

}  // namespace s2prep
