#include "mask/opencv_engine.hpp"

#include <opencv2/core.hpp>
#include <opencv2/dnn.hpp>

#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include <s2prep/errors.hpp>
#include "mask/model_registry.hpp"
#include "mask/onnx_info.hpp"

namespace s2prep::mask {
namespace {

std::string first_line(const std::string& text) {
  std::string line = text.substr(0, text.find('\n'));
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
  return line;
}

std::string describe(ModelKind kind, const std::filesystem::path& file) {
  return std::string(kind == ModelKind::cloud ? "Cloud" : "Shadow") + " model '" + file.string() +
         "'";
}

std::string dims_text(const std::vector<std::optional<std::int64_t>>& dims) {
  std::string out;
  for (std::size_t i = 0; i < dims.size(); ++i) {
    if (i) out += 'x';
    out += dims[i] ? std::to_string(*dims[i]) : std::string("?");
  }
  return out.empty() ? std::string("(no shape)") : out;
}

std::string shape_text(const cv::Mat& m) {
  std::string out;
  for (int i = 0; i < m.dims; ++i) {
    if (i) out += 'x';
    out += std::to_string(m.size[i]);
  }
  return out;
}

std::vector<std::uint8_t> read_all(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary | std::ios::ate);
  if (!in)
    throw InputError("Model file '" + file.string() + "' cannot be opened: check its permissions.");
  const auto size = static_cast<std::size_t>(in.tellg());
  std::vector<std::uint8_t> bytes(size);
  in.seekg(0);
  in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(size));
  if (!in) throw InputError("Model file '" + file.string() + "' could not be read to the end.");
  return bytes;
}

class OpenCvModel final : public SegmentationModel {
 public:
  OpenCvModel(cv::dnn::Net net, int channels) : net_(std::move(net)), channels_(channels) {}

  int output_channels() const override { return channels_; }

  void infer(const float* input, float* output) override {
    const int in_shape[] = {1, kModelBands, kChipSize, kChipSize};
    // The blob wraps the caller's buffer: no copy; OpenCV only reads it.
    cv::Mat blob(4, in_shape, CV_32F, const_cast<float*>(input));
    net_.setInput(blob);
    cv::Mat out = net_.forward();
    const std::size_t expected = std::size_t(channels_) * kChipSize * kChipSize;
    if (!out.isContinuous() || out.type() != CV_32F || out.total() != expected) {
      throw DataError("The model returned output of shape " + shape_text(out) + ", expected 1x" +
                      std::to_string(channels_) + "x512x512.");
    }
    std::memcpy(output, out.ptr<float>(), expected * sizeof(float));
  }

 private:
  cv::dnn::Net net_;
  int channels_;
};

}  // namespace

void set_inference_threads(int threads) {
  if (threads > 0) cv::setNumThreads(threads);
}

std::unique_ptr<SegmentationModel> load_opencv_model(const std::filesystem::path& file,
                                                     ModelKind kind) {
  const std::string what = describe(kind, file);
  std::error_code ec;
  if (!std::filesystem::exists(file, ec)) {
    throw InputError(what + " does not exist: give a path to an .onnx file, a file name in the " +
                     "model folder, or 'builtin'.");
  }
  if (!std::filesystem::is_regular_file(file, ec)) {
    throw InputError(what + " is not a regular file: give a path to an .onnx file.");
  }
  const std::vector<std::uint8_t> bytes = read_all(file);
  if (is_git_lfs_pointer(bytes)) {
    const std::string name = file.filename().string();
    const ReferenceModel* ref = find_reference_by_name(name);
    const std::string where =
        farmvibes_path(ref ? ref->name : default_reference_name(kind), ref ? ref->kind : kind);
    throw InputError(what + " is a Git LFS pointer, not the model itself: run `git lfs pull` in " +
                     "a FarmVibes.AI clone and use the real file " + where + ".");
  }

  OnnxInfo info;
  try {
    info = inspect_onnx(bytes);
  } catch (const std::exception& e) {
    throw InputError(what + " cannot be loaded as an ONNX model (" + e.what() +
                     "): the file is truncated or corrupt, download it again.");
  }
  if (info.has_unequal_split) {
    throw InputError(what + " uses an opset-" + std::to_string(info.opset) +
                     " Split with explicit sizes, which OpenCV 4.6 misreads: export it at opset " +
                     "11 or 12.");
  }
  const auto& d = info.input_dims;
  const bool declared_ok = d.size() == 4 && (!d[1] || *d[1] == kModelBands) &&
                           (!d[2] || *d[2] == kChipSize) && (!d[3] || *d[3] == kChipSize);
  if (!declared_ok) {
    throw InputError(what + " takes input " + dims_text(d) + ", not Nx12x512x512 (12 bands, " +
                     "512 x 512 chips): use a model with the reference input contract.");
  }

  cv::dnn::Net net;
  try {
    net = cv::dnn::readNetFromONNX(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  } catch (const cv::Exception& e) {
    throw InputError(what + " cannot be loaded by OpenCV (" + first_line(e.msg) +
                     "): the file is truncated, corrupt or uses unsupported operators.");
  }
  if (net.empty()) {
    throw InputError(what + " cannot be loaded by OpenCV: the file holds no network.");
  }
  net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
  net.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);

  // A dry forward pass is the only reliable check that OpenCV runs the network on a
  // 12 x 512 x 512 chip and gives the expected output shape.
  const int in_shape[] = {1, kModelBands, kChipSize, kChipSize};
  cv::Mat zeros(4, in_shape, CV_32F, cv::Scalar(0));
  cv::Mat out;
  try {
    net.setInput(zeros);
    out = net.forward();
  } catch (const cv::Exception& e) {
    throw InputError(what + " does not run on a 1x12x512x512 input (" + first_line(e.msg) +
                     "): its input is not 12 bands of 512 x 512.");
  }
  if (out.dims != 4 || out.size[0] != 1 || out.size[2] != kChipSize || out.size[3] != kChipSize) {
    throw InputError(what + " outputs " + shape_text(out) +
                     " for a 1x12x512x512 input, expected 1xCx512x512 logits.");
  }
  const int channels = out.size[1];
  const int required = required_output_channels(kind);
  if (channels != required) {
    throw InputError(
        what + " outputs " + std::to_string(channels) +
        (channels == 1 ? " channel, a " : " channels, a ") + std::string(to_string(kind)) +
        " model must output " + std::to_string(required) +
        (kind == ModelKind::cloud ? " (softmax, channel 1 = cloud)." : " (sigmoid = shadow)."));
  }
  return std::make_unique<OpenCvModel>(std::move(net), channels);
}

}  // namespace s2prep::mask
