// Parameters given as text (load_params_text) and the hostile inputs fuzz_params found.
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include <s2prep/errors.hpp>
#include "pipeline/params.hpp"

namespace s2prep::pipeline {
namespace {

std::string input_error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "(no InputError)";
}

TEST(ParamsText, InMemoryTextNamesItsSource) {
  WorkflowParams p;
  EXPECT_EQ(load_params_text("cloud_thr: 0.5\n", "inline", p),
            std::vector<std::string>{"cloud_thr"});
  EXPECT_DOUBLE_EQ(p.cloud_thr, 0.5);
  EXPECT_NE(
      input_error_of([&] { load_params_text("cloud_thr: [1]", "my.yaml", p); }).find("my.yaml"),
      std::string::npos);
}

// A YAML key that is itself a list threw YAML::TypedBadConversion: an unexpected failure.
TEST(ParamsText, ComplexKeyIsAnInputError) {
  WorkflowParams p;
  const auto msg = input_error_of([&] { load_params_text("? [a, b]\n: 1\n", "odd.yaml", p); });
  EXPECT_NE(msg.find("odd.yaml"), std::string::npos) << msg;
  EXPECT_NE(msg.find("a list"), std::string::npos) << msg;
}

// Found by fuzz_params: a model name that is not UTF-8 passed validate() and then made the
// run.json dump throw nlohmann's type_error (an "unexpected failure").
TEST(ParamsText, ModelNamesMustBeUtf8) {
  WorkflowParams p;
  load_params_text("cloud_model: a\x9cuto\n", "bytes.yaml", p);
  const auto msg = input_error_of([&] { p.validate(); });
  EXPECT_NE(msg.find("cloud_model"), std::string::npos) << msg;
  EXPECT_NE(msg.find("UTF-8"), std::string::npos) << msg;
  p.cloud_model = "mod\xc3\xa8le.onnx";
  EXPECT_NO_THROW(p.validate());
  EXPECT_NE(params_to_json(p).dump().find("mod\xc3\xa8le.onnx"), std::string::npos);
}

}  // namespace
}  // namespace s2prep::pipeline
