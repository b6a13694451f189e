#pragma once
// The real sample files in ../shared/fixtures (absent on a user's clone: tests skip then).

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

namespace s2prep::stac::test {

inline std::filesystem::path fixture(const std::string& relative) {
  return std::filesystem::path(S2PREP_SHARED_DIR) / "fixtures" / relative;
}

inline nlohmann::json load(const std::filesystem::path& p) {
  std::ifstream in(p);
  return nlohmann::json::parse(in);
}

}  // namespace s2prep::stac::test
