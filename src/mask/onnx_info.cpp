#include "mask/onnx_info.hpp"

#include <stdexcept>
#include <string_view>
#include <unordered_set>

namespace s2prep::mask {
namespace {

// Protobuf wire format, just enough to walk ModelProto -> GraphProto -> inputs and nodes.
class WireReader {
 public:
  explicit WireReader(std::span<const std::uint8_t> bytes) : bytes_(bytes) {}

  bool done() const { return pos_ >= bytes_.size(); }

  // Reads the next field key; returns {field number, wire type}.
  std::pair<std::uint32_t, int> key() {
    const std::uint64_t k = varint();
    return {static_cast<std::uint32_t>(k >> 3), static_cast<int>(k & 7)};
  }

  std::uint64_t varint() {
    std::uint64_t value = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= bytes_.size()) throw std::runtime_error("truncated varint");
      const std::uint8_t b = bytes_[pos_++];
      value |= std::uint64_t(b & 0x7f) << shift;
      if ((b & 0x80) == 0) return value;
    }
    throw std::runtime_error("malformed varint");
  }

  std::span<const std::uint8_t> bytes_field() {
    const std::uint64_t len = varint();
    if (len > bytes_.size() - pos_) throw std::runtime_error("field runs past the end of the file");
    auto out = bytes_.subspan(pos_, len);
    pos_ += len;
    return out;
  }

  std::string string_field() {
    auto b = bytes_field();
    return std::string(reinterpret_cast<const char*>(b.data()), b.size());
  }

  void skip(int wire_type) {
    switch (wire_type) {
      case 0:
        varint();
        return;
      case 1:
        advance(8);
        return;
      case 2:
        bytes_field();
        return;
      case 5:
        advance(4);
        return;
      default:
        throw std::runtime_error("unsupported protobuf wire type");
    }
  }

 private:
  void advance(std::size_t n) {
    if (n > bytes_.size() - pos_) throw std::runtime_error("field runs past the end of the file");
    pos_ += n;
  }

  std::span<const std::uint8_t> bytes_;
  std::size_t pos_ = 0;
};

struct ValueInfo {
  std::string name;
  std::vector<std::optional<std::int64_t>> dims;
};

std::vector<std::optional<std::int64_t>> parse_shape(std::span<const std::uint8_t> shape) {
  std::vector<std::optional<std::int64_t>> dims;
  WireReader r(shape);
  while (!r.done()) {
    auto [field, wt] = r.key();
    if (field == 1 && wt == 2) {  // Dimension
      WireReader d(r.bytes_field());
      std::optional<std::int64_t> value;
      while (!d.done()) {
        auto [f, w] = d.key();
        if (f == 1 && w == 0) {
          value = static_cast<std::int64_t>(d.varint());
        } else {
          d.skip(w);
        }
      }
      // ONNX writes 0 or omits dim_value for symbolic dimensions.
      if (value && *value <= 0) value.reset();
      dims.push_back(value);
    } else {
      r.skip(wt);
    }
  }
  return dims;
}

ValueInfo parse_value_info(std::span<const std::uint8_t> bytes) {
  ValueInfo info;
  WireReader r(bytes);
  while (!r.done()) {
    auto [field, wt] = r.key();
    if (field == 1 && wt == 2) {
      info.name = r.string_field();
    } else if (field == 2 && wt == 2) {  // TypeProto
      WireReader t(r.bytes_field());
      while (!t.done()) {
        auto [f, w] = t.key();
        if (f == 1 && w == 2) {  // TypeProto.Tensor
          WireReader tensor(t.bytes_field());
          while (!tensor.done()) {
            auto [tf, tw] = tensor.key();
            if (tf == 2 && tw == 2) {
              info.dims = parse_shape(tensor.bytes_field());
            } else {
              tensor.skip(tw);
            }
          }
        } else {
          t.skip(w);
        }
      }
    } else {
      r.skip(wt);
    }
  }
  return info;
}

std::string parse_name_field(std::span<const std::uint8_t> bytes, std::uint32_t name_field) {
  WireReader r(bytes);
  while (!r.done()) {
    auto [field, wt] = r.key();
    if (field == name_field && wt == 2) return r.string_field();
    r.skip(wt);
  }
  return {};
}

struct NodeSummary {
  std::string op_type;
  std::vector<std::string> inputs;
};

NodeSummary parse_node(std::span<const std::uint8_t> bytes) {
  NodeSummary node;
  WireReader r(bytes);
  while (!r.done()) {
    auto [field, wt] = r.key();
    if (field == 1 && wt == 2) {
      node.inputs.push_back(r.string_field());
    } else if (field == 4 && wt == 2) {
      node.op_type = r.string_field();
    } else {
      r.skip(wt);
    }
  }
  return node;
}

}  // namespace

OnnxInfo inspect_onnx(std::span<const std::uint8_t> bytes) {
  OnnxInfo info;
  std::span<const std::uint8_t> graph;
  bool have_graph = false;
  WireReader model(bytes);
  while (!model.done()) {
    auto [field, wt] = model.key();
    if (field == 7 && wt == 2) {
      graph = model.bytes_field();
      have_graph = true;
    } else if (field == 8 && wt == 2) {  // OperatorSetIdProto
      WireReader op(model.bytes_field());
      std::string domain;
      std::int64_t version = 0;
      while (!op.done()) {
        auto [f, w] = op.key();
        if (f == 1 && w == 2) {
          domain = op.string_field();
        } else if (f == 2 && w == 0) {
          version = static_cast<std::int64_t>(op.varint());
        } else {
          op.skip(w);
        }
      }
      if (domain.empty() || domain == "ai.onnx") info.opset = version;
    } else {
      model.skip(wt);
    }
  }
  if (!have_graph) throw std::runtime_error("no graph in the model");

  std::vector<ValueInfo> inputs;
  std::unordered_set<std::string> initializers;
  std::vector<NodeSummary> nodes;
  WireReader g(graph);
  while (!g.done()) {
    auto [field, wt] = g.key();
    if (field == 1 && wt == 2) {
      nodes.push_back(parse_node(g.bytes_field()));
    } else if (field == 5 && wt == 2) {
      initializers.insert(parse_name_field(g.bytes_field(), 8));
    } else if (field == 11 && wt == 2) {
      inputs.push_back(parse_value_info(g.bytes_field()));
    } else {
      g.skip(wt);
    }
  }
  // Older exporters list the weights among the graph inputs too; the data input is the first
  // input that is not an initializer.
  bool found = false;
  for (auto& input : inputs) {
    if (!initializers.contains(input.name)) {
      info.input_name = input.name;
      info.input_dims = std::move(input.dims);
      found = true;
      break;
    }
  }
  if (!found) throw std::runtime_error("the graph declares no input");
  for (const auto& node : nodes) {
    if (node.op_type == "Split" && info.opset >= 13 && node.inputs.size() >= 2 &&
        !node.inputs[1].empty()) {
      info.has_unequal_split = true;
    }
  }
  return info;
}

}  // namespace s2prep::mask
