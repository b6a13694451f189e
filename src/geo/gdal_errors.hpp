#pragma once
// Internal to src/geo: GDAL's own error reporting, silenced for one call so that its text ends up
// in our one-sentence exception instead of on stderr.

#include <cpl_error.h>
#include <fmt/format.h>

#include <string>

namespace s2prep::geo {

// GDAL would print its own error to stderr besides our exception; keep it quiet (this thread
// only, for the lifetime of the object) and put its text into the exception instead.
class QuietGdalErrors {
 public:
  QuietGdalErrors() {
    CPLPushErrorHandler(CPLQuietErrorHandler);
    CPLErrorReset();
  }
  ~QuietGdalErrors() { CPLPopErrorHandler(); }
  QuietGdalErrors(const QuietGdalErrors&) = delete;
  QuietGdalErrors& operator=(const QuietGdalErrors&) = delete;
  // " (GDAL's message)", or "" when GDAL said nothing.
  std::string last() const {
    const char* m = CPLGetLastErrorMsg();
    return m && *m ? fmt::format(" ({})", m) : std::string();
  }
};

}  // namespace s2prep::geo
