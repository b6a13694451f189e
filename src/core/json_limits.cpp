#include "core/json_limits.hpp"

#include <fmt/format.h>

#include <utility>
#include <vector>

namespace s2prep {

std::size_t json_depth(const nlohmann::json& j, std::size_t limit) {
  std::size_t deepest = 0;
  std::vector<std::pair<const nlohmann::json*, std::size_t>> pending{{&j, 0}};
  while (!pending.empty()) {
    const auto [node, depth] = pending.back();
    pending.pop_back();
    if (!node->is_structured()) continue;
    const std::size_t inner = depth + 1;
    if (inner > deepest) deepest = inner;
    if (deepest > limit) return deepest;
    for (const auto& child : *node) {
      if (child.is_structured()) pending.emplace_back(&child, inner);
    }
  }
  return deepest;
}

nlohmann::json parse_outside_json(std::string_view text, std::size_t max_depth) {
  // The callback sees each value's depth as it opens; throwing stops the parser before a deep
  // document is ever built.
  struct TooDeep {};
  const nlohmann::json::parser_callback_t bound =
      [max_depth](int depth, nlohmann::json::parse_event_t event, nlohmann::json&) {
        if ((event == nlohmann::json::parse_event_t::object_start ||
             event == nlohmann::json::parse_event_t::array_start) &&
            static_cast<std::size_t>(depth) >= max_depth) {
          throw TooDeep{};
        }
        return true;
      };
  try {
    if (max_depth == kUnboundedDepth) return nlohmann::json::parse(text);
    return nlohmann::json::parse(text, bound);
  } catch (const TooDeep&) {
    throw JsonProblem(fmt::format("JSON nested deeper than {} levels", max_depth));
  } catch (const nlohmann::json::parse_error& e) {
    throw JsonProblem(fmt::format("not JSON (syntax error at byte {})", e.byte));
  } catch (const nlohmann::json::out_of_range& e) {
    // "[json.exception.out_of_range.406] number overflow parsing '1e400'"
    std::string what = e.what();
    const auto quote = what.find('\'');
    std::string number = quote == std::string::npos ? std::string() : what.substr(quote);
    if (number.size() > 40) number = number.substr(0, 40) + "...'";
    throw JsonProblem(fmt::format("JSON with a number out of range{}",
                                  number.empty() ? "" : " (" + number + ")"));
  } catch (const nlohmann::json::exception& e) {
    throw JsonProblem(fmt::format("not usable JSON ({})", e.what()));
  }
}

}  // namespace s2prep
