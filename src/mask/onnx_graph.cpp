#include "mask/onnx_graph.hpp"

#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>

namespace s2prep::mask {

std::size_t ConstTensor::count() const { return is_float ? f.size() : i.size(); }

OnnxModel::OnnxModel(std::span<const std::uint8_t> bytes)
    : model_(std::make_unique<onnx::ModelProto>()) {
  if (!model_->ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
    throw std::runtime_error("not a well-formed ONNX protobuf");
  if (!model_->has_graph()) throw std::runtime_error("the file holds no graph");
  for (const auto& op : model_->opset_import()) {
    if (op.domain().empty() || op.domain() == "ai.onnx") opset_ = op.version();
  }
  const auto& g = model_->graph();
  for (const auto& in : g.input()) {
    bool is_initializer = false;
    for (const auto& init : g.initializer()) is_initializer |= init.name() == in.name();
    if (!is_initializer) {
      if (!input_name_.empty()) throw std::runtime_error("the graph has more than one input");
      input_name_ = in.name();
    }
  }
  if (input_name_.empty()) throw std::runtime_error("the graph has no input");
  if (g.output_size() < 1) throw std::runtime_error("the graph has no output");
  output_name_ = g.output(0).name();
}

OnnxModel::~OnnxModel() = default;

ConstTensor read_tensor(const onnx::TensorProto& t) {
  ConstTensor out;
  out.dims.assign(t.dims().begin(), t.dims().end());
  std::size_t n = 1;
  for (auto d : out.dims) n *= static_cast<std::size_t>(d);
  if (t.data_location() == onnx::TensorProto::EXTERNAL)
    throw std::runtime_error("tensor '" + t.name() + "' keeps its data in an external file");
  const std::string& raw = t.raw_data();
  auto raw_check = [&](std::size_t elem) {
    if (raw.size() != n * elem)
      throw std::runtime_error("tensor '" + t.name() + "' holds " + std::to_string(raw.size()) +
                               " bytes for " + std::to_string(n) + " values");
  };
  switch (t.data_type()) {
    case onnx::TensorProto::FLOAT:
      out.is_float = true;
      out.f.resize(n);
      if (!raw.empty()) {
        raw_check(4);
        std::memcpy(out.f.data(), raw.data(), raw.size());
      } else {
        if (static_cast<std::size_t>(t.float_data_size()) != n)
          throw std::runtime_error("tensor '" + t.name() + "' has the wrong number of values");
        std::copy(t.float_data().begin(), t.float_data().end(), out.f.begin());
      }
      break;
    case onnx::TensorProto::INT64:
      out.is_float = false;
      out.i.resize(n);
      if (!raw.empty()) {
        raw_check(8);
        std::memcpy(out.i.data(), raw.data(), raw.size());
      } else {
        if (static_cast<std::size_t>(t.int64_data_size()) != n)
          throw std::runtime_error("tensor '" + t.name() + "' has the wrong number of values");
        std::copy(t.int64_data().begin(), t.int64_data().end(), out.i.begin());
      }
      break;
    case onnx::TensorProto::INT32:
      out.is_float = false;
      out.i.resize(n);
      if (!raw.empty()) {
        raw_check(4);
        for (std::size_t k = 0; k < n; ++k) {
          std::int32_t v;
          std::memcpy(&v, raw.data() + 4 * k, 4);
          out.i[k] = v;
        }
      } else {
        if (static_cast<std::size_t>(t.int32_data_size()) != n)
          throw std::runtime_error("tensor '" + t.name() + "' has the wrong number of values");
        std::copy(t.int32_data().begin(), t.int32_data().end(), out.i.begin());
      }
      break;
    default:
      throw std::runtime_error("tensor '" + t.name() + "' has data type " +
                               std::to_string(t.data_type()) + ", not float, int32 or int64");
  }
  return out;
}

namespace {

const onnx::AttributeProto* find_attr(const onnx::NodeProto& node, const std::string& name) {
  for (const auto& a : node.attribute())
    if (a.name() == name) return &a;
  return nullptr;
}

std::vector<std::int64_t> as_ints(const ConstTensor& t) {
  std::vector<std::int64_t> v(t.count());
  for (std::size_t k = 0; k < v.size(); ++k)
    v[k] = t.is_float ? static_cast<std::int64_t>(t.f[k]) : t.i[k];
  return v;
}

ConstTensor make_ints(std::vector<std::int64_t> dims, std::vector<std::int64_t> values) {
  ConstTensor t;
  t.dims = std::move(dims);
  t.is_float = false;
  t.i = std::move(values);
  return t;
}

// Element-wise binary operator with numpy broadcasting limited to equal shapes and scalars,
// which is all shape arithmetic needs.
std::optional<ConstTensor> fold_binary(const std::string& op, const ConstTensor& a,
                                       const ConstTensor& b) {
  const bool a_scalar = a.count() == 1, b_scalar = b.count() == 1;
  if (!a_scalar && !b_scalar && a.dims != b.dims) return std::nullopt;
  ConstTensor out;
  out.dims = a_scalar && !b_scalar ? b.dims : a.dims;
  if (a_scalar && b_scalar && a.dims.size() < b.dims.size()) out.dims = b.dims;
  const std::size_t n = std::max(a.count(), b.count());
  out.is_float = a.is_float || b.is_float;
  for (std::size_t k = 0; k < n; ++k) {
    const std::size_t ka = a_scalar ? 0 : k, kb = b_scalar ? 0 : k;
    if (out.is_float) {
      const double x = a.at(ka), y = b.at(kb);
      const double r = op == "Add" ? x + y : op == "Sub" ? x - y : op == "Mul" ? x * y : x / y;
      out.f.push_back(static_cast<float>(r));
    } else {
      const std::int64_t x = a.i[ka], y = b.i[kb];
      if (op == "Div" && y == 0) return std::nullopt;
      out.i.push_back(op == "Add" ? x + y : op == "Sub" ? x - y : op == "Mul" ? x * y : x / y);
    }
  }
  return out;
}

}  // namespace

std::int64_t attr_int(const onnx::NodeProto& node, const std::string& name, std::int64_t fallback) {
  const auto* a = find_attr(node, name);
  return a ? a->i() : fallback;
}

float attr_float(const onnx::NodeProto& node, const std::string& name, float fallback) {
  const auto* a = find_attr(node, name);
  return a ? a->f() : fallback;
}

std::string attr_string(const onnx::NodeProto& node, const std::string& name,
                        const std::string& fallback) {
  const auto* a = find_attr(node, name);
  return a ? a->s() : fallback;
}

std::vector<std::int64_t> attr_ints(const onnx::NodeProto& node, const std::string& name) {
  const auto* a = find_attr(node, name);
  if (!a) return {};
  return {a->ints().begin(), a->ints().end()};
}

std::optional<ConstTensor> attr_tensor(const onnx::NodeProto& node, const std::string& name) {
  const auto* a = find_attr(node, name);
  if (!a || !a->has_t()) return std::nullopt;
  return read_tensor(a->t());
}

std::optional<ConstTensor> fold_constant(const onnx::NodeProto& node,
                                         const std::vector<const ConstTensor*>& in) {
  const std::string& op = node.op_type();
  auto input = [&](std::size_t k) -> const ConstTensor* { return k < in.size() ? in[k] : nullptr; };
  if (op == "Constant") {
    if (auto t = attr_tensor(node, "value")) return t;
    if (const auto* a = find_attr(node, "value_int")) return make_ints({}, {a->i()});
    if (const auto* a = find_attr(node, "value_ints"))
      return make_ints({a->ints_size()}, {a->ints().begin(), a->ints().end()});
    if (const auto* a = find_attr(node, "value_float")) {
      ConstTensor t;
      t.f = {a->f()};
      return t;
    }
    return std::nullopt;
  }
  for (const auto* t : in)
    if (!t) return std::nullopt;
  if (op == "Identity" && input(0)) return *input(0);
  if (op == "Cast" && input(0)) {
    const ConstTensor& a = *input(0);
    const auto to = attr_int(node, "to", 1);
    ConstTensor out;
    out.dims = a.dims;
    if (to == onnx::TensorProto::FLOAT || to == onnx::TensorProto::DOUBLE) {
      for (std::size_t k = 0; k < a.count(); ++k) out.f.push_back(static_cast<float>(a.at(k)));
      return out;
    }
    if (to == onnx::TensorProto::INT64 || to == onnx::TensorProto::INT32) {
      out.is_float = false;
      for (std::size_t k = 0; k < a.count(); ++k)
        out.i.push_back(static_cast<std::int64_t>(std::trunc(a.at(k))));
      return out;
    }
    return std::nullopt;
  }
  if (op == "Floor" && input(0) && input(0)->is_float) {
    ConstTensor out = *input(0);
    for (auto& v : out.f) v = std::floor(v);
    return out;
  }
  if ((op == "Add" || op == "Sub" || op == "Mul" || op == "Div") && input(0) && input(1))
    return fold_binary(op, *input(0), *input(1));
  if ((op == "Unsqueeze" || op == "Squeeze") && input(0)) {
    std::vector<std::int64_t> axes = attr_ints(node, "axes");
    if (input(1)) axes = as_ints(*input(1));
    ConstTensor out = *input(0);
    if (op == "Unsqueeze") {
      const auto rank = static_cast<std::int64_t>(out.dims.size() + axes.size());
      std::vector<std::int64_t> normal;
      for (auto a : axes) normal.push_back(a < 0 ? a + rank : a);
      std::vector<std::int64_t> dims;
      std::size_t src = 0;
      for (std::int64_t d = 0; d < rank; ++d) {
        if (std::find(normal.begin(), normal.end(), d) != normal.end())
          dims.push_back(1);
        else if (src < out.dims.size())
          dims.push_back(out.dims[src++]);
        else
          return std::nullopt;
      }
      out.dims = dims;
    } else {
      std::vector<std::int64_t> dims;
      const auto rank = static_cast<std::int64_t>(out.dims.size());
      for (std::int64_t d = 0; d < rank; ++d) {
        const bool listed =
            axes.empty() ? out.dims[d] == 1 : std::find_if(axes.begin(), axes.end(), [&](auto a) {
                                                return (a < 0 ? a + rank : a) == d;
                                              }) != axes.end();
        if (!listed) dims.push_back(out.dims[d]);
      }
      out.dims = dims;
    }
    return out;
  }
  if (op == "Gather" && input(0) && input(1) && input(0)->dims.size() == 1) {
    const ConstTensor& data = *input(0);
    const auto idx = as_ints(*input(1));
    ConstTensor out;
    out.dims = input(1)->dims;
    out.is_float = data.is_float;
    const auto n = static_cast<std::int64_t>(data.count());
    for (auto k : idx) {
      if (k < 0) k += n;
      if (k < 0 || k >= n) return std::nullopt;
      if (data.is_float)
        out.f.push_back(data.f[k]);
      else
        out.i.push_back(data.i[k]);
    }
    return out;
  }
  if (op == "Concat" && !in.empty()) {
    ConstTensor out;
    out.is_float = in[0]->is_float;
    std::int64_t len = 0;
    for (const auto* t : in) {
      if (t->dims.size() > 1 || t->is_float != out.is_float) return std::nullopt;
      len += static_cast<std::int64_t>(t->count());
      out.f.insert(out.f.end(), t->f.begin(), t->f.end());
      out.i.insert(out.i.end(), t->i.begin(), t->i.end());
    }
    out.dims = {len};
    return out;
  }
  if (op == "Slice" && input(0) && input(0)->dims.size() == 1) {
    std::vector<std::int64_t> starts = attr_ints(node, "starts"), ends = attr_ints(node, "ends"),
                              axes = attr_ints(node, "axes"), steps;
    if (input(1)) starts = as_ints(*input(1));
    if (input(2)) ends = as_ints(*input(2));
    if (input(3)) axes = as_ints(*input(3));
    if (input(4)) steps = as_ints(*input(4));
    if (starts.size() != 1 || ends.size() != 1) return std::nullopt;
    if (!axes.empty() && axes[0] != 0 && axes[0] != -1) return std::nullopt;
    const std::int64_t step = steps.empty() ? 1 : steps[0];
    if (step != 1) return std::nullopt;
    const ConstTensor& data = *input(0);
    const auto n = static_cast<std::int64_t>(data.count());
    auto clamp = [&](std::int64_t v) { return std::clamp(v < 0 ? v + n : v, std::int64_t{0}, n); };
    const std::int64_t b = clamp(starts[0]), e = clamp(ends[0]);
    ConstTensor out;
    out.is_float = data.is_float;
    for (std::int64_t k = b; k < e; ++k) {
      if (data.is_float)
        out.f.push_back(data.f[k]);
      else
        out.i.push_back(data.i[k]);
    }
    out.dims = {std::max<std::int64_t>(0, e - b)};
    return out;
  }
  return std::nullopt;
}

}  // namespace s2prep::mask
