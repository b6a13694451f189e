#pragma once
// Whole numbers from outside JSON (plans, output records, catalogues): nlohmann's get<int>()
// casts whatever number it finds.

#include <cmath>
#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "core/json_limits.hpp"

namespace s2prep {

// The whole number `v` holds, as an `Int`. nlohmann's get<int>() casts whatever number it finds,
// and casting a double out of the target's range (-8e27, 1e300) is undefined behaviour (found by
// fuzzing plan.json); a fraction or an integer out of range would be silently cut. Throws
// JsonProblem naming `what` ("is not a whole number: 'width' is 2.5") for anything else.
template <class Int>
Int json_integer(const nlohmann::json& v, std::string_view what) {
  static_assert(std::numeric_limits<Int>::is_integer);
  auto refuse = [&] {
    return JsonProblem("JSON whose '" + std::string(what) + "' is " + v.dump() +
                       ", not a whole number in range");
  };
  if (v.is_number_unsigned()) {
    const auto u = v.get<std::uint64_t>();
    if (u > static_cast<std::uint64_t>(std::numeric_limits<Int>::max())) throw refuse();
    return static_cast<Int>(u);
  }
  if (v.is_number_integer()) {
    const auto i = v.get<std::int64_t>();
    if ((std::numeric_limits<Int>::is_signed &&
         i < std::int64_t(std::numeric_limits<Int>::min())) ||
        (!std::numeric_limits<Int>::is_signed && i < 0) ||
        (i > 0 && static_cast<std::uint64_t>(i) >
                      static_cast<std::uint64_t>(std::numeric_limits<Int>::max()))) {
      throw refuse();
    }
    return static_cast<Int>(i);
  }
  if (v.is_number_float()) {
    // Writers may print a whole number as 512.0; anything else is refused before the cast.
    const double d = v.get<double>();
    if (std::isfinite(d) && d == std::trunc(d) &&
        d >= static_cast<double>(std::numeric_limits<Int>::min()) &&
        d < static_cast<double>(std::numeric_limits<Int>::max())) {
      return static_cast<Int>(d);
    }
  }
  throw refuse();
}

// json_integer of member `key` of object `j` (nlohmann's out_of_range when it is missing, as
// at()).
template <class Int>
Int json_integer_at(const nlohmann::json& j, std::string_view key) {
  return json_integer<Int>(j.at(std::string(key)), key);
}

}  // namespace s2prep
