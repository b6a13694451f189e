#pragma once
// UTC instants as used by STAC (RFC 3339) and by the command line (ISO 8601 dates or date-times).

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace s2prep {

// Microsecond precision: STAC datetimes carry up to 6 fractional digits and acquisitions are
// grouped by identical datetime, so no precision may be lost.
using TimePoint = std::chrono::sys_time<std::chrono::microseconds>;

// Parses RFC 3339 / ISO 8601: "2023-06-01", "2023-06-01T10:05:59Z", "2023-06-01T10:05:59.024Z",
// "2023-06-01T10:05:59+02:00", "2023-06-01 10:05:59" (taken as UTC). Returns nullopt when the
// text is not such a date or date-time, or names an impossible date.
std::optional<TimePoint> parse_time(std::string_view text);

// True when the text is a bare date (no time part).
bool is_date_only(std::string_view text);

// "2023-06-01T10:05:59Z", or with fractional seconds when they are not zero
// ("2023-06-01T10:05:59.024000Z").
std::string format_time(TimePoint t);

// "20230601T100559" (for file names).
std::string format_compact(TimePoint t);

// "2023-06-01".
std::string format_date(TimePoint t);

// An inclusive time range given by the user.
struct TimeRange {
  TimePoint start;
  TimePoint end;  // inclusive
  // "2023-06-01T00:00:00Z/2023-06-30T23:59:59.999999Z" for STAC's datetime filter.
  std::string stac_interval() const;
};

// Parses --start/--end: an end that is a bare date means the end of that day. Throws InputError
// naming the flag when a value cannot be read or the end is before the start.
TimeRange parse_time_range(std::string_view start, std::string_view end);

}  // namespace s2prep
