#pragma once
// Limits on JSON that comes from outside (STAC servers, token services, user files). nlohmann's
// parser is iterative, but copying, comparing and dump() recurse once per nesting level, so a
// document nested 100 000 deep overflows the stack later on; and a number beyond the range of a
// double (1e400) makes the parser throw out_of_range rather than parse_error.

#include <cstddef>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string_view>

namespace s2prep {

// Far above any real STAC item (about 8 levels) or GeoJSON geometry (at most 6).
inline constexpr std::size_t kMaxJsonDepth = 64;

// The nesting depth of `j` (a scalar is 0, [] and {} are 1), counted without recursion; stops
// counting once past `limit`, so the result is at most limit + 1.
std::size_t json_depth(const nlohmann::json& j, std::size_t limit = kMaxJsonDepth);

// Why a text could not be used as JSON, as a clause that fits after "returned …" or "is …":
// "not JSON (syntax error at byte 12)", "JSON nested deeper than 64 levels",
// "JSON with a number out of range ('1e400')".
class JsonProblem : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Parses JSON from outside, refusing nesting deeper than `max_depth` while parsing. Throws
// JsonProblem (and nothing of nlohmann's). A caller that checks each part itself with json_depth
// (a search page, item by item, so the sentence can name the item) may pass kUnboundedDepth:
// parsing and destroying are iterative, only later copies and dumps are not.
inline constexpr std::size_t kUnboundedDepth = static_cast<std::size_t>(-1);
nlohmann::json parse_outside_json(std::string_view text, std::size_t max_depth = kMaxJsonDepth);

}  // namespace s2prep
