// The process-wide settings, applied once: GDAL's configuration (drivers, cache, HTTP behaviour)
// and the inference engines' thread pools are global to the process by nature, so they are not
// options of a call.
#include <mutex>

#include <s2prep/s2prep.hpp>

#include "core/version.hpp"
#include "ingest/gdal_env.hpp"
#include "mask/model_loading.hpp"

namespace s2prep {

const char* version() { return kVersion; }

bool initialize(const ProcessSettings& settings) {
  static std::once_flag once;
  bool first = false;
  std::call_once(once, [&] {
    first = true;
    ingest::GdalOptions gdal;
    gdal.cache_max_mb = settings.gdal_cache_mb;
    gdal.num_threads = settings.gdal_threads;
    ingest::configure_gdal(gdal);
    if (settings.inference_threads > 0) mask::set_model_threads(settings.inference_threads);
  });
  return first;
}

}  // namespace s2prep
