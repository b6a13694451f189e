// pipeline::load_params_text: the --params file (YAML or JSON), then the range checks.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include <s2prep/errors.hpp>
#include "pipeline/params.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  s2prep::WorkflowParams params;
  try {
    s2prep::pipeline::load_params_text(std::string_view(reinterpret_cast<const char*>(data), size),
                                       "fuzz.yaml", params);
    params.validate();
    (void)s2prep::pipeline::params_to_json(params).dump();
  } catch (const s2prep::InputError&) {
  }
  return 0;
}
