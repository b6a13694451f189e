#include "mask/onednn_engine.hpp"

#include <omp.h>
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <oneapi/dnnl/dnnl.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#include "mask/onnx_graph.hpp"

namespace s2prep::mask {
namespace {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

std::atomic<int> g_threads{0};

dnnl::engine& cpu_engine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

// Thrown while lowering; turned into UnsupportedModelError naming the model file.
struct Unsupported {
  std::string what;
};

[[noreturn]] void unsupported(const onnx::NodeProto& node, const std::string& detail) {
  throw Unsupported{"operator " + node.op_type() + " ('" + node.name() + "') " + detail};
}

struct AlignedFree {
  void operator()(void* p) const { std::free(p); }
};

struct Storage {
  std::size_t bytes = 0;
  int first_step = 0;
  int last_step = 0;
  bool external = false;           // the caller's input chip: read-only, never reused
  std::vector<std::string> names;  // ONNX values living in this storage
  int arena = -1;
};

struct Tensor {
  memory::desc md;
  int storage = -1;
};

// Linear or nearest resampling of the two spatial axes, on plain (nchw) or channel-blocked
// (nChw8c / nChw16c) layouts, optionally adding another tensor of the output's layout. oneDNN
// 2.6's resampling primitive has no align_corners coordinate mode, which the FPN models use,
// and cannot fuse the FPN's top-down sum; this loop does both in one pass over the output.
struct ResizePlan {
  bool linear = true;
  int n = 0, cblocks = 0, block = 1, ih = 0, iw = 0, oh = 0, ow = 0;
  std::vector<int> y0, y1, x0, x1;
  std::vector<float> wy, wx;  // weight of y1 / x1
};

void run_resize(const ResizePlan& p, const float* in, const float* add, float* out) {
  const long planes = long(p.n) * p.cblocks;
  const int b = p.block;
#pragma omp parallel for collapse(2) schedule(static)
  for (long plane = 0; plane < planes; ++plane) {
    for (int oy = 0; oy < p.oh; ++oy) {
      const float* src = in + plane * long(p.ih) * p.iw * b;
      const float* row0 = src + long(p.y0[oy]) * p.iw * b;
      const float* row1 = src + long(p.y1[oy]) * p.iw * b;
      const float wy = p.wy[oy];
      float* dst = out + (plane * long(p.oh) + oy) * long(p.ow) * b;
      const float* acc = add ? add + (plane * long(p.oh) + oy) * long(p.ow) * b : nullptr;
      for (int ox = 0; ox < p.ow; ++ox) {
        const float* a = row0 + long(p.x0[ox]) * b;
        const float* c = row0 + long(p.x1[ox]) * b;
        const float* d = row1 + long(p.x0[ox]) * b;
        const float* e = row1 + long(p.x1[ox]) * b;
        const float wx = p.wx[ox];
        float* o = dst + long(ox) * b;
        // `acc` may be `dst` itself (in-place sum): read it before writing.
        const float* s = acc ? acc + long(ox) * b : nullptr;
        for (int k = 0; k < b; ++k) {
          float v = a[k];
          if (p.linear) {
            const float top = a[k] + wx * (c[k] - a[k]);
            const float bottom = d[k] + wx * (e[k] - d[k]);
            v = top + wy * (bottom - top);
          }
          o[k] = s ? v + s[k] : v;
        }
      }
    }
  }
}

// Source coordinate of output index `o` along one axis, by ONNX Resize's
// coordinate_transformation_mode.
double source_coordinate(const std::string& mode, int o, int in, int out, double scale) {
  if (mode == "align_corners") return out == 1 ? 0.0 : double(o) * (in - 1) / (out - 1);
  if (mode == "asymmetric") return o / scale;
  if (mode == "pytorch_half_pixel") return out > 1 ? (o + 0.5) / scale - 0.5 : 0.0;
  return (o + 0.5) / scale - 0.5;  // half_pixel
}

void axis_taps(const std::string& coord_mode, const std::string& nearest_mode, bool linear, int in,
               int out, double scale, std::vector<int>& i0, std::vector<int>& i1,
               std::vector<float>& w) {
  i0.resize(out);
  i1.resize(out);
  w.resize(out);
  for (int o = 0; o < out; ++o) {
    double x = source_coordinate(coord_mode, o, in, out, scale);
    if (linear) {
      x = std::clamp(x, 0.0, double(in - 1));
      const int lo = static_cast<int>(std::floor(x));
      i0[o] = lo;
      i1[o] = std::min(lo + 1, in - 1);
      w[o] = static_cast<float>(x - lo);
    } else {
      double r;
      if (nearest_mode == "floor")
        r = std::floor(x);
      else if (nearest_mode == "ceil")
        r = std::ceil(x);
      else if (nearest_mode == "round_prefer_ceil")
        r = std::floor(x + 0.5);
      else  // round_prefer_floor, the default
        r = std::ceil(x - 0.5);
      const int k = std::clamp(static_cast<int>(r), 0, in - 1);
      i0[o] = i1[o] = k;
      w[o] = 0.f;
    }
  }
}

class OneDnnModel final : public SegmentationModel {
 public:
  OneDnnModel(const OnnxModel& model, int batch)
      : engine_(cpu_engine()), stream_(engine_), batch_(batch) {
    lower(model, batch);
    plan_memory();
  }

  int output_channels() const override { return output_channels_; }
  int batch_size() const override { return batch_; }
  void infer_one(const float* input, float* output) override {
    if (single_) {
      single_->infer(input, output);
    } else {
      infer(input, output);
    }
  }
  // A network of batch 1 beside this one (for infer_one), built from the same graph.
  void add_single(std::unique_ptr<OneDnnModel> single) { single_ = std::move(single); }
  const memory::dims& output_dims() const { return output_dims_; }

  void infer(const float* input, float* output) override {
    const int threads = g_threads.load();
    if (threads > 0 && omp_get_max_threads() != threads) omp_set_num_threads(threads);
    for (int t : input_tensors_) memories_[t].set_data_handle(const_cast<float*>(input));
    output_user_.set_data_handle(output);
    for (auto& step : steps_) step();
    stream_.wait();
  }

 private:
  // ---- lowering state ----
  dnnl::engine engine_;
  dnnl::stream stream_;
  int batch_ = 1;
  std::unique_ptr<OneDnnModel> single_;
  std::vector<Tensor> tensors_;
  std::vector<Storage> storages_;
  std::unordered_map<std::string, int> runtime_;  // ONNX value -> tensor
  std::unordered_map<std::string, ConstTensor> constants_;
  std::unordered_map<std::string, std::vector<int>> consumers_;  // ONNX value -> node indices
  std::vector<bool> fused_;
  std::vector<std::function<void()>> steps_;
  std::map<std::pair<int, std::string>, int> converted_;  // (tensor, md bytes) -> tensor
  std::vector<memory> weights_;                           // kept alive for the primitives
  std::vector<int> input_tensors_;
  std::string output_name_;
  int output_channels_ = 0;
  memory::dims output_dims_;
  memory output_user_;
  // ---- planned memory ----
  std::vector<std::unique_ptr<void, AlignedFree>> arenas_;
  std::vector<memory> memories_;
  std::int64_t opset_ = 11;
  const onnx::GraphProto* graph_ = nullptr;  // valid while lowering (inside the constructor)

  int step_index() const { return static_cast<int>(steps_.size()); }

  int new_tensor(const memory::desc& md, const std::string& name) {
    Storage s;
    s.bytes = md.get_size();
    s.first_step = s.last_step = step_index();
    s.names = {name};
    storages_.push_back(std::move(s));
    tensors_.push_back({md, static_cast<int>(storages_.size() - 1)});
    return static_cast<int>(tensors_.size() - 1);
  }

  int alias_tensor(const memory::desc& md, int of, const std::string& name) {
    Storage& s = storages_[tensors_[of].storage];
    s.names.push_back(name);
    s.last_step = std::max(s.last_step, step_index());
    tensors_.push_back({md, tensors_[of].storage});
    return static_cast<int>(tensors_.size() - 1);
  }

  void use(int t) {
    Storage& s = storages_[tensors_[t].storage];
    s.last_step = std::max(s.last_step, step_index());
  }

  memory& mem(int t) { return memories_[t]; }

  // True when tensor `t` may be overwritten by node `node`: nothing executed later reads any
  // ONNX value of its storage (consumers before `first_node` have run already; `node` itself is
  // the one that overwrites it).
  bool writable_at(int t, int first_node, int node) const {
    const Storage& s = storages_[tensors_[t].storage];
    if (s.external) return false;
    for (const auto& name : s.names) {
      if (name == output_name_) return false;
      auto it = consumers_.find(name);
      if (it == consumers_.end()) continue;
      for (int c : it->second)
        if (c >= first_node && c != node) return false;
    }
    return true;
  }

  // Tensor `t` in layout `md`, reordered once if needed.
  int as_format(int t, const memory::desc& md) {
    if (tensors_[t].md == md) return t;
    const std::string key(reinterpret_cast<const char*>(&md.data), sizeof(md.data));
    auto it = converted_.find({t, key});
    if (it != converted_.end()) {
      use(it->second);
      return it->second;
    }
    use(t);
    const int out = new_tensor(md, storages_[tensors_[t].storage].names.front() + "#reordered");
    dnnl::reorder r(dnnl::reorder::primitive_desc(engine_, tensors_[t].md, engine_, md));
    steps_.push_back([this, r, t, out]() mutable { r.execute(stream_, mem(t), mem(out)); });
    converted_[{t, key}] = out;
    // Later reads of the original value must read the reordered copy's storage too: its
    // lifetime follows the original's consumers.
    storages_[tensors_[out].storage].names = storages_[tensors_[t].storage].names;
    return out;
  }

  const ConstTensor* constant(const std::string& name) const {
    auto it = constants_.find(name);
    return it == constants_.end() ? nullptr : &it->second;
  }

  int runtime(const onnx::NodeProto& node, int k) {
    if (k >= node.input_size() || node.input(k).empty())
      unsupported(node, "has no input " + std::to_string(k));
    auto it = runtime_.find(node.input(k));
    if (it == runtime_.end()) unsupported(node, "has a non-tensor input '" + node.input(k) + "'");
    return it->second;
  }

  bool is_runtime(const std::string& name) const { return runtime_.count(name) != 0; }

  // The one node consuming `value`, or -1 when it has several consumers or is the graph output.
  int sole_consumer(const std::string& value) const {
    if (value == output_name_) return -1;
    auto it = consumers_.find(value);
    if (it == consumers_.end() || it->second.size() != 1) return -1;
    return it->second.front();
  }

  static memory::desc any_md(const memory::dims& dims) {
    return memory::desc(dims, dt::f32, tag::any);
  }

  // The channel block of a layout blocked only along channels (nChw8c: 8), 1 for none, 0 for
  // any other blocking.
  static int inner_channel_block(const memory::desc& md) {
    const auto& blocking = md.data.format_desc.blocking;
    if (md.data.format_kind != dnnl_blocked) return 0;
    if (blocking.inner_nblks == 0) return 1;
    if (blocking.inner_nblks == 1 && blocking.inner_idxs[0] == 1)
      return static_cast<int>(blocking.inner_blks[0]);
    return 0;
  }

  // True for an unblocked NCHW layout, dense or a channel range of one (a Split's part).
  static bool is_plain(const memory::desc& md) {
    if (md.data.ndims != 4 || inner_channel_block(md) != 1) return false;
    const auto* st = md.data.format_desc.blocking.strides;
    return st[3] == 1 && st[2] >= md.data.dims[3] && st[1] >= st[2] * md.data.dims[2] &&
           st[0] >= st[1] * md.data.dims[1];
  }

  // ---------------------------------------------------------------------------------------
  void lower(const OnnxModel& model, int batch) {
    const auto& g = model.proto().graph();
    graph_ = &g;
    opset_ = model.opset();
    output_name_ = model.output_name();
    for (const auto& init : g.initializer()) constants_[init.name()] = read_tensor(init);
    // Constant nodes first: exporters often place them after the operator that a fusion looks
    // ahead from (Conv -> Add(constant)).
    for (const auto& node : g.node()) {
      if (node.op_type() != "Constant" || node.output_size() != 1) continue;
      try {
        if (auto c = fold_constant(node, {})) constants_[node.output(0)] = std::move(*c);
      } catch (const std::exception& e) {
        unsupported(node, std::string("cannot be read (") + e.what() + ")");
      }
    }
    const int n_nodes = g.node_size();
    for (int k = 0; k < n_nodes; ++k)
      // Shape reads no data (it is folded to a constant), so it does not keep a value alive.
      if (g.node(k).op_type() != "Shape")
        for (const auto& in : g.node(k).input())
          if (!in.empty()) consumers_[in].push_back(k);
    fused_.assign(n_nodes, false);

    const memory::dims in_dims{batch, kModelBands, kChipSize, kChipSize};
    const int in_t = new_tensor(memory::desc(in_dims, dt::f32, tag::nchw), model.input_name());
    storages_[tensors_[in_t].storage].external = true;
    runtime_[model.input_name()] = in_t;

    for (int k = 0; k < n_nodes; ++k) {
      if (fused_[k]) continue;
      lower_node(g.node(k), k);
    }

    auto it = runtime_.find(output_name_);
    if (it == runtime_.end()) throw Unsupported{"graph output '" + output_name_ + "' is constant"};
    const int out = it->second;
    use(out);
    output_dims_ = tensors_[out].md.dims();
    if (output_dims_.size() != 4) throw Unsupported{"graph output is not 4-dimensional"};
    output_channels_ = static_cast<int>(output_dims_[1]);
    output_user_ = memory(memory::desc(output_dims_, dt::f32, tag::nchw), engine_, nullptr);
    dnnl::reorder r(
        dnnl::reorder::primitive_desc(engine_, tensors_[out].md, engine_, output_user_.get_desc()));
    steps_.push_back([this, r, out]() mutable { r.execute(stream_, mem(out), output_user_); });
    use(out);
  }

  void lower_node(const onnx::NodeProto& node, int k) {
    const std::string& op = node.op_type();
    if (!node.domain().empty() && node.domain() != "ai.onnx")
      unsupported(node, "is from domain '" + node.domain() + "'");

    // Shape of a runtime tensor is a constant here: chips have a fixed size.
    if (op == "Shape" && node.input_size() == 1 && is_runtime(node.input(0))) {
      const auto dims = tensors_[runtime_[node.input(0)]].md.dims();
      ConstTensor t;
      t.is_float = false;
      t.dims = {static_cast<std::int64_t>(dims.size())};
      t.i.assign(dims.begin(), dims.end());
      constants_[node.output(0)] = std::move(t);
      return;
    }
    bool all_constant = true;
    std::vector<const ConstTensor*> inputs;
    for (const auto& in : node.input()) {
      if (in.empty()) {
        inputs.push_back(nullptr);
        continue;
      }
      const ConstTensor* c = constant(in);
      if (!c) all_constant = false;
      inputs.push_back(c);
    }
    if (all_constant) {
      std::optional<ConstTensor> folded;
      try {
        folded = fold_constant(node, inputs);
      } catch (const std::exception& e) {
        unsupported(node, std::string("cannot be evaluated (") + e.what() + ")");
      }
      if (!folded) unsupported(node, "on constant inputs is not implemented");
      constants_[node.output(0)] = std::move(*folded);
      return;
    }

    if (op == "Conv") return lower_conv(node, k);
    if (op == "MaxPool" || op == "AveragePool" || op == "GlobalAveragePool" ||
        op == "GlobalMaxPool")
      return lower_pool(node);
    if (op == "Resize" || op == "Upsample") return lower_resize(node, k);
    if (op == "Concat") return lower_concat(node);
    if (op == "Split") return lower_split(node);
    if (op == "Relu" || op == "LeakyRelu" || op == "Sigmoid" || op == "Tanh" || op == "Clip" ||
        op == "Exp" || op == "Identity" || op == "Dropout")
      return lower_eltwise(node, k);
    if (op == "Add" || op == "Sub" || op == "Mul" || op == "Div") return lower_binary(node, k);
    if (op == "BatchNormalization") return lower_batchnorm(node, k);
    if (op == "Softmax") return lower_softmax(node, k);
    unsupported(node, "is not implemented by the oneDNN engine");
  }

  // Element-wise operator `node` (applied to the runtime value `value`) as an eltwise
  // algorithm with alpha and beta, or nullopt when it is not one.
  struct Eltwise {
    dnnl::algorithm alg;
    float alpha = 0.f, beta = 0.f;
    bool identity = false;
  };
  struct PostOp {
    bool sum = false;  // the residual sum, or else `eltwise`
    Eltwise eltwise;
  };
  std::optional<Eltwise> as_eltwise(const onnx::NodeProto& node, const std::string& value) const {
    const std::string& op = node.op_type();
    if (op == "Relu") return Eltwise{dnnl::algorithm::eltwise_relu};
    if (op == "LeakyRelu")
      return Eltwise{dnnl::algorithm::eltwise_relu, attr_float(node, "alpha", 0.01f)};
    if (op == "Sigmoid") return Eltwise{dnnl::algorithm::eltwise_logistic};
    if (op == "Tanh") return Eltwise{dnnl::algorithm::eltwise_tanh};
    if (op == "Exp") return Eltwise{dnnl::algorithm::eltwise_exp};
    if (op == "Identity" || (op == "Dropout" && node.output_size() == 1))
      return Eltwise{dnnl::algorithm::eltwise_linear, 1.f, 0.f, true};
    if (op == "Clip") {
      float lo = attr_float(node, "min", -std::numeric_limits<float>::max());
      float hi = attr_float(node, "max", std::numeric_limits<float>::max());
      for (int k = 1; k <= 2 && k < node.input_size(); ++k) {
        if (node.input(k).empty()) continue;
        const ConstTensor* c = constant(node.input(k));
        if (!c || c->count() != 1) return std::nullopt;
        (k == 1 ? lo : hi) = static_cast<float>(c->at(0));
      }
      return Eltwise{dnnl::algorithm::eltwise_clip, lo, hi};
    }
    if ((op == "Add" || op == "Sub" || op == "Mul" || op == "Div") && node.input_size() == 2) {
      const bool value_first = node.input(0) == value;
      const ConstTensor* c = constant(node.input(value_first ? 1 : 0));
      if (!c || c->count() != 1 || !c->is_float) return std::nullopt;
      const float v = static_cast<float>(c->at(0));
      Eltwise e{dnnl::algorithm::eltwise_linear, 1.f, 0.f};
      if (op == "Add") e.beta = v;
      if (op == "Sub") {
        e.alpha = value_first ? 1.f : -1.f;
        e.beta = value_first ? -v : v;
      }
      if (op == "Mul") e.alpha = v;
      if (op == "Div") {
        if (!value_first) return std::nullopt;
        e.alpha = 1.f / v;
      }
      e.identity = e.alpha == 1.f && e.beta == 0.f;
      return e;
    }
    return std::nullopt;
  }

  // ---------------------------------------------------------------------------------------
  void lower_conv(const onnx::NodeProto& node, int k) {
    const int x = runtime(node, 0);
    const ConstTensor* w = node.input_size() > 1 ? constant(node.input(1)) : nullptr;
    if (!w || !w->is_float || w->dims.size() != 4)
      unsupported(node, "has non-constant or non-2D weights");
    const ConstTensor* b =
        node.input_size() > 2 && !node.input(2).empty() ? constant(node.input(2)) : nullptr;
    if (node.input_size() > 2 && !node.input(2).empty() && !b)
      unsupported(node, "has a non-constant bias");
    const auto xd = tensors_[x].md.dims();
    const std::int64_t group = attr_int(node, "group", 1);
    const std::int64_t oc = w->dims[0], icg = w->dims[1], kh = w->dims[2], kw = w->dims[3];
    if (icg * group != xd[1] || oc % group != 0)
      unsupported(node, "has weights that do not match its input channels");
    auto strides = attr_ints(node, "strides");
    auto dil = attr_ints(node, "dilations");
    auto pads = attr_ints(node, "pads");
    if (strides.empty()) strides = {1, 1};
    if (dil.empty()) dil = {1, 1};
    if (pads.empty()) pads = {0, 0, 0, 0};
    const std::string auto_pad = attr_string(node, "auto_pad", "NOTSET");
    if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
      for (int a = 0; a < 2; ++a) {
        const std::int64_t in = xd[2 + a], s = strides[a], kk = (a ? kw : kh), d = dil[a];
        const std::int64_t out = (in + s - 1) / s;
        const std::int64_t total = std::max<std::int64_t>(0, (out - 1) * s + (kk - 1) * d + 1 - in);
        const std::int64_t small = total / 2, large = total - small;
        pads[a] = auto_pad == "SAME_UPPER" ? small : large;
        pads[a + 2] = auto_pad == "SAME_UPPER" ? large : small;
      }
    } else if (auto_pad != "NOTSET" && auto_pad != "VALID") {
      unsupported(node, "has auto_pad " + auto_pad);
    }
    if (strides.size() != 2 || dil.size() != 2 || pads.size() != 4)
      unsupported(node, "is not a 2-D convolution");
    std::vector<float> weights = w->f;
    std::vector<float> bias(static_cast<std::size_t>(oc), 0.f);
    if (b) {
      if (b->count() != static_cast<std::size_t>(oc))
        unsupported(node, "has a bias of the wrong size");
      bias = b->f;
    }

    // Fuse what follows: batch normalisation into the weights, then element-wise operators
    // and at most one residual sum as post-ops.
    // The post-ops, in order: element-wise operators and at most one residual sum.
    std::vector<PostOp> post;
    int sum_with = -1, sum_node = -1;
    std::string value = node.output(0);
    for (;;) {
      const int c = sole_consumer(value);
      if (c < 0) break;
      const onnx::NodeProto& next = graph_->node(c);
      if (next.op_type() == "BatchNormalization" && post.empty() &&
          fold_batchnorm(next, oc, weights, bias, group)) {
        fused_[c] = true;
        value = next.output(0);
        continue;
      }
      if (auto e = as_eltwise(next, value)) {
        if (!e->identity) post.push_back({false, *e});
        fused_[c] = true;
        value = next.output(0);
        continue;
      }
      if (next.op_type() == "Add" && sum_with < 0 && next.input_size() == 2) {
        const std::string& other = next.input(0) == value ? next.input(1) : next.input(0);
        auto it = runtime_.find(other);
        if (it != runtime_.end() && other != value &&
            tensors_[it->second].md.dims() == conv_out_dims(xd, oc, kh, kw, strides, dil, pads)) {
          post.push_back({true, {}});
          sum_with = it->second;
          sum_node = c;
          fused_[c] = true;
          value = next.output(0);
          continue;
        }
      }
      break;
    }

    const ConvShape shape{oc, kh, kw, strides, dil, pads};
    const memory::dims dst_dims = conv_out_dims(xd, oc, kh, kw, strides, dil, pads);
    ConvPart whole = conv_part(xd, group, weights, bias, shape, post, any_md(dst_dims));
    std::vector<std::pair<ConvPart, int>> parts;  // (convolution, its source tensor)
    auto halves = group == 1 ? channel_split(x, whole, weights, bias, shape, post) : std::nullopt;
    if (halves) {
      parts = std::move(*halves);
    } else {
      const int src = as_format(x, whole.pd.src_desc());
      parts.emplace_back(std::move(whole), src);
    }
    const memory::desc dst_md = parts.front().first.pd.dst_desc();
    int dst;
    if (sum_with >= 0) {
      if (tensors_[sum_with].md == dst_md && writable_at(sum_with, k, sum_node)) {
        use(sum_with);
        dst = alias_tensor(dst_md, sum_with, value);
      } else {
        use(sum_with);
        dst = new_tensor(dst_md, value);
        dnnl::reorder r(
            dnnl::reorder::primitive_desc(engine_, tensors_[sum_with].md, engine_, dst_md));
        steps_.push_back(
            [this, r, sum_with, dst]() mutable { r.execute(stream_, mem(sum_with), mem(dst)); });
      }
    } else {
      dst = new_tensor(dst_md, value);
    }
    use(dst);
    for (auto& [part, src] : parts) {
      use(src);
      dnnl::convolution_forward conv(part.pd);
      steps_.push_back([this, conv, src = src, dst, w = part.weights, b = part.bias]() mutable {
        conv.execute(stream_, {{DNNL_ARG_SRC, mem(src)},
                               {DNNL_ARG_WEIGHTS, w},
                               {DNNL_ARG_BIAS, b},
                               {DNNL_ARG_DST, mem(dst)}});
      });
    }
    runtime_[value] = dst;
  }

  struct ConvShape {
    std::int64_t oc, kh, kw;
    std::vector<std::int64_t> strides, dil, pads;
  };
  struct ConvPart {
    dnnl::convolution_forward::primitive_desc pd;
    memory weights, bias;  // in the primitive's layouts
  };

  // One convolution primitive over `src_dims` (NCHW, any layout chosen by oneDNN) writing
  // `dst_md`, with `weights` (OIHW, or GOIHW for groups) and `bias` reordered into its layouts.
  ConvPart conv_part(const memory::dims& src_dims, std::int64_t group,
                     const std::vector<float>& weights, const std::vector<float>& bias,
                     const ConvShape& s, const std::vector<PostOp>& post,
                     const memory::desc& dst_md) {
    const std::int64_t icg = src_dims[1] / group;
    const memory::dims w_dims = group == 1 ? memory::dims{s.oc, icg, s.kh, s.kw}
                                           : memory::dims{group, s.oc / group, icg, s.kh, s.kw};
    dnnl::post_ops po;
    for (const PostOp& p : post) {
      if (p.sum) {
        po.append_sum(1.f);
      } else {
        po.append_eltwise(1.f, p.eltwise.alg, p.eltwise.alpha, p.eltwise.beta);
      }
    }
    dnnl::primitive_attr attr;
    if (!post.empty()) attr.set_post_ops(po);
    dnnl::convolution_forward::desc desc(
        dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct, any_md(src_dims),
        any_md(w_dims), memory::desc({s.oc}, dt::f32, tag::x), dst_md, {s.strides[0], s.strides[1]},
        {s.dil[0] - 1, s.dil[1] - 1}, {s.pads[0], s.pads[1]}, {s.pads[2], s.pads[3]});
    ConvPart part{dnnl::convolution_forward::primitive_desc(desc, attr, engine_), {}, {}};
    memory user_w(memory::desc(w_dims, dt::f32, group == 1 ? tag::oihw : tag::goihw), engine_,
                  const_cast<float*>(weights.data()));
    part.weights = memory(part.pd.weights_desc(), engine_);
    dnnl::reorder(user_w, part.weights).execute(stream_, user_w, part.weights);
    part.bias = memory(part.pd.bias_desc(), engine_);
    std::memcpy(part.bias.get_data_handle(), bias.data(), bias.size() * sizeof(float));
    stream_.wait();
    return part;
  }

  // A convolution over a plain (NCHW) source whose channel count is not a multiple of the
  // channel block oneDNN chose for it computes on zero-padded channels: the FPN's encoder over
  // bands 4-12 (9 channels, a 7x7 kernel) ran on 16 with AVX2's blocks of 8, and its first layer
  // took 45 ms of a 267 ms chip (reorder included). Split into the whole blocks (blocked source,
  // no padding) and the remaining channels (oneDNN's kernel for few channels reads them plain),
  // the second summing into the first's output, the layer takes about 25 ms. Only for spatial
  // kernels, whose cost is arithmetic; a 1x1 convolution would pay a second pass over its output
  // for little. For ungrouped convolutions only. Nullopt when the split does not apply; otherwise
  // the two convolutions with their source tensors, in execution order.
  std::optional<std::vector<std::pair<ConvPart, int>>> channel_split(
      int x, const ConvPart& whole, const std::vector<float>& weights,
      const std::vector<float>& bias, const ConvShape& s, const std::vector<PostOp>& post) {
    const memory::dims xd = tensors_[x].md.dims();
    const std::int64_t ic = xd[1];
    const int block = inner_channel_block(whole.pd.src_desc());
    if (s.kh * s.kw == 1 || block <= 1 || ic <= block || ic % block == 0) return std::nullopt;
    if (!is_plain(tensors_[x].md)) return std::nullopt;
    // Element-wise operators before the residual sum apply to the whole convolution, not to
    // a part of it.
    const auto sum = std::find_if(post.begin(), post.end(), [](const PostOp& p) { return p.sum; });
    if (sum != post.end() && sum != post.begin()) return std::nullopt;
    const std::int64_t main = ic - ic % block, rest = ic % block;
    std::vector<float> w_main, w_rest;
    const std::size_t taps = std::size_t(s.kh * s.kw);
    for (std::int64_t o = 0; o < s.oc; ++o) {
      const float* w = weights.data() + std::size_t(o * ic) * taps;
      w_main.insert(w_main.end(), w, w + std::size_t(main) * taps);
      w_rest.insert(w_rest.end(), w + std::size_t(main) * taps, w + std::size_t(ic) * taps);
    }
    const memory::dims main_dims{xd[0], main, xd[2], xd[3]}, rest_dims{xd[0], rest, xd[2], xd[3]};
    // The first part adds the residual (if any); the second adds onto the first and applies
    // the element-wise operators.
    std::vector<PostOp> first_post, second_post{{true, {}}};
    if (sum != post.end()) first_post.push_back(*sum);
    for (const PostOp& p : post)
      if (!p.sum) second_post.push_back(p);
    const memory::desc dst_md = whole.pd.dst_desc();
    ConvPart first = conv_part(main_dims, 1, w_main, bias, s, first_post, dst_md);
    ConvPart second = conv_part(rest_dims, 1, w_rest, std::vector<float>(bias.size(), 0.f), s,
                                second_post, dst_md);
    if (inner_channel_block(first.pd.src_desc()) != block) return std::nullopt;
    const std::string name = storages_[tensors_[x].storage].names.front();
    use(x);
    const int main_view =
        alias_tensor(tensors_[x].md.submemory_desc(main_dims, {0, 0, 0, 0}), x, name + "#main");
    const int rest_view =
        alias_tensor(tensors_[x].md.submemory_desc(rest_dims, {0, main, 0, 0}), x, name + "#rest");
    std::vector<std::pair<ConvPart, int>> parts;
    const int main_src = as_format(main_view, first.pd.src_desc());
    const int rest_src = as_format(rest_view, second.pd.src_desc());
    parts.emplace_back(std::move(first), main_src);
    parts.emplace_back(std::move(second), rest_src);
    return parts;
  }

  static memory::dims conv_out_dims(const memory::dims& xd, std::int64_t oc, std::int64_t kh,
                                    std::int64_t kw, const std::vector<std::int64_t>& s,
                                    const std::vector<std::int64_t>& d,
                                    const std::vector<std::int64_t>& p) {
    const std::int64_t oh = (xd[2] + p[0] + p[2] - d[0] * (kh - 1) - 1) / s[0] + 1;
    const std::int64_t ow = (xd[3] + p[1] + p[3] - d[1] * (kw - 1) - 1) / s[1] + 1;
    return {xd[0], oc, oh, ow};
  }

  // Folds an inference-mode BatchNormalization with constant parameters into the preceding
  // convolution's weights and bias. False when its parameters are not constant.
  bool fold_batchnorm(const onnx::NodeProto& bn, std::int64_t oc, std::vector<float>& weights,
                      std::vector<float>& bias, std::int64_t /*group*/) const {
    if (bn.input_size() < 5 || bn.output_size() > 1) return false;
    const ConstTensor* scale = constant(bn.input(1));
    const ConstTensor* shift = constant(bn.input(2));
    const ConstTensor* mean = constant(bn.input(3));
    const ConstTensor* var = constant(bn.input(4));
    for (const auto* t : {scale, shift, mean, var})
      if (!t || !t->is_float || t->count() != static_cast<std::size_t>(oc)) return false;
    const float eps = attr_float(bn, "epsilon", 1e-5f);
    const std::size_t per_oc = weights.size() / static_cast<std::size_t>(oc);
    for (std::int64_t o = 0; o < oc; ++o) {
      const float f = scale->f[o] / std::sqrt(var->f[o] + eps);
      for (std::size_t q = 0; q < per_oc; ++q) weights[o * per_oc + q] *= f;
      bias[o] = (bias[o] - mean->f[o]) * f + shift->f[o];
    }
    return true;
  }

  // ---------------------------------------------------------------------------------------
  void lower_pool(const onnx::NodeProto& node) {
    const std::string& op = node.op_type();
    const int x = runtime(node, 0);
    const auto xd = tensors_[x].md.dims();
    if (node.output_size() > 1) unsupported(node, "with an indices output is not implemented");
    const bool global = op.rfind("Global", 0) == 0;
    std::vector<std::int64_t> kernel =
        global ? std::vector<std::int64_t>{xd[2], xd[3]} : attr_ints(node, "kernel_shape");
    std::vector<std::int64_t> strides =
        global ? std::vector<std::int64_t>{1, 1} : attr_ints(node, "strides");
    std::vector<std::int64_t> pads = global ? std::vector<std::int64_t>{} : attr_ints(node, "pads");
    if (strides.empty()) strides = {1, 1};
    if (pads.empty()) pads = {0, 0, 0, 0};
    const auto dil = attr_ints(node, "dilations");
    if (!dil.empty() && (dil[0] != 1 || dil[1] != 1))
      unsupported(node, "with dilations is not implemented");
    const std::string auto_pad = attr_string(node, "auto_pad", "NOTSET");
    if (auto_pad != "NOTSET" && auto_pad != "VALID") unsupported(node, "has auto_pad " + auto_pad);
    if (kernel.size() != 2 || strides.size() != 2 || pads.size() != 4)
      unsupported(node, "is not a 2-D pooling");
    const bool ceil_mode = attr_int(node, "ceil_mode", 0) != 0;
    memory::dims dst_dims{xd[0], xd[1], 0, 0};
    std::vector<std::int64_t> pad_r{pads[2], pads[3]};
    for (int a = 0; a < 2; ++a) {
      const std::int64_t span = xd[2 + a] + pads[a] + pads[a + 2] - kernel[a];
      std::int64_t out = span / strides[a] + 1;
      if (ceil_mode && span % strides[a] != 0) {
        ++out;
        // the last window must start inside the input or the left padding
        if ((out - 1) * strides[a] >= xd[2 + a] + pads[a]) --out;
      }
      dst_dims[2 + a] = out;
      pad_r[a] = (out - 1) * strides[a] + kernel[a] - xd[2 + a] - pads[a];
    }
    const bool is_max = op == "MaxPool" || op == "GlobalMaxPool";
    const auto alg = is_max ? dnnl::algorithm::pooling_max
                     : attr_int(node, "count_include_pad", 0)
                         ? dnnl::algorithm::pooling_avg_include_padding
                         : dnnl::algorithm::pooling_avg_exclude_padding;
    dnnl::pooling_forward::desc desc(
        dnnl::prop_kind::forward_inference, alg, tensors_[x].md, any_md(dst_dims),
        {strides[0], strides[1]}, {kernel[0], kernel[1]}, {pads[0], pads[1]}, {pad_r[0], pad_r[1]});
    dnnl::pooling_forward::primitive_desc pd(desc, engine_);
    use(x);
    const int dst = new_tensor(pd.dst_desc(), node.output(0));
    dnnl::pooling_forward pool(pd);
    steps_.push_back([this, pool, x, dst]() mutable {
      pool.execute(stream_, {{DNNL_ARG_SRC, mem(x)}, {DNNL_ARG_DST, mem(dst)}});
    });
    runtime_[node.output(0)] = dst;
  }

  // The layout of `t` as a resize loop sees it: 1 (nchw), 8 or 16 (nChw8c, nChw16c), or 0.
  int channel_block(int t) const {
    const auto d = tensors_[t].md.dims();
    if (tensors_[t].md == memory::desc(d, dt::f32, tag::nchw)) return 1;
    if (tensors_[t].md == memory::desc(d, dt::f32, tag::nChw8c)) return 8;
    if (tensors_[t].md == memory::desc(d, dt::f32, tag::nChw16c)) return 16;
    return 0;
  }

  void lower_resize(const onnx::NodeProto& node, int k) {
    int x = runtime(node, 0);
    const auto xd = tensors_[x].md.dims();
    const bool upsample = node.op_type() == "Upsample";
    std::string mode = attr_string(node, "mode", "nearest");
    if (mode == "bilinear") mode = "linear";
    if (mode != "nearest" && mode != "linear")
      unsupported(node, "with mode '" + mode + "' is not implemented");
    const std::string coord =
        upsample ? "asymmetric" : attr_string(node, "coordinate_transformation_mode", "half_pixel");
    if (coord != "half_pixel" && coord != "align_corners" && coord != "asymmetric" &&
        coord != "pytorch_half_pixel")
      unsupported(node, "with coordinate_transformation_mode '" + coord + "' is not implemented");
    const std::string nearest = attr_string(node, "nearest_mode", "round_prefer_floor");
    if (opset_ < 11 && !upsample && mode == "linear")
      unsupported(node, "before opset 11 is not implemented");

    const ConstTensor* scales = nullptr;
    const ConstTensor* sizes = nullptr;
    if (upsample || opset_ < 11) {
      scales = node.input_size() > 1 ? constant(node.input(1)) : nullptr;
      if (!scales) {
        unsupported(node, "has no constant scales");
      }
    } else {
      if (node.input_size() > 3 && !node.input(3).empty()) sizes = constant(node.input(3));
      if (!sizes && node.input_size() > 2 && !node.input(2).empty())
        scales = constant(node.input(2));
      if (sizes && sizes->count() == 0) sizes = nullptr;
      if (!sizes && (!scales || scales->count() == 0))
        unsupported(node, "has neither constant scales nor sizes");
    }
    memory::dims od = xd;
    double scale_y = 1, scale_x = 1;
    if (sizes) {
      if (sizes->count() != 4) unsupported(node, "has sizes of the wrong rank");
      for (int a = 0; a < 4; ++a) od[a] = static_cast<memory::dim>(sizes->at(a));
      // Exporters write the batch of the export (1) into constant sizes; the network is built
      // for several chips per pass (load_onednn_model), whose batch passes through unchanged.
      if (sizes->at(0) == 1) od[0] = xd[0];
      scale_y = double(od[2]) / double(xd[2]);
      scale_x = double(od[3]) / double(xd[3]);
    } else {
      if (scales->count() != 4) unsupported(node, "has scales of the wrong rank");
      for (int a = 0; a < 4; ++a)
        od[a] = static_cast<memory::dim>(std::floor(xd[a] * scales->at(a)));
      scale_y = scales->at(2);
      scale_x = scales->at(3);
    }
    if (od[0] != xd[0] || od[1] != xd[1])
      unsupported(node, "resizing the batch or channel axis is not implemented");

    int block = channel_block(x);
    if (block == 0) {
      x = as_format(x, memory::desc(xd, dt::f32, tag::nchw));
      block = 1;
    }
    auto plan = std::make_shared<ResizePlan>();
    plan->linear = mode == "linear";
    plan->n = static_cast<int>(xd[0]);
    plan->block = block;
    plan->cblocks = static_cast<int>((xd[1] + block - 1) / block);
    plan->ih = static_cast<int>(xd[2]);
    plan->iw = static_cast<int>(xd[3]);
    plan->oh = static_cast<int>(od[2]);
    plan->ow = static_cast<int>(od[3]);
    axis_taps(coord, nearest, plan->linear, plan->ih, plan->oh, scale_y, plan->y0, plan->y1,
              plan->wy);
    axis_taps(coord, nearest, plan->linear, plan->iw, plan->ow, scale_x, plan->x0, plan->x1,
              plan->wx);
    const memory::desc out_md = memory::desc(od, dt::f32,
                                             block == 1   ? tag::nchw
                                             : block == 8 ? tag::nChw8c
                                                          : tag::nChw16c);

    // Fuse a following Add of another tensor (the FPN's top-down pathway).
    std::string value = node.output(0);
    int add = -1;
    const int c = sole_consumer(value);
    int add_node = -1;
    if (c >= 0 && graph_->node(c).op_type() == "Add" && graph_->node(c).input_size() == 2) {
      const auto& next = graph_->node(c);
      const std::string& other = next.input(0) == value ? next.input(1) : next.input(0);
      auto it = runtime_.find(other);
      if (other != value && it != runtime_.end() && tensors_[it->second].md.dims() == od) {
        add = as_format(it->second, out_md);
        add_node = c;
        fused_[c] = true;
        value = next.output(0);
      }
    }
    use(x);
    int dst;
    if (add >= 0) {
      use(add);
      dst = writable_at(add, k, add_node) ? alias_tensor(out_md, add, value)
                                          : new_tensor(out_md, value);
    } else {
      dst = new_tensor(out_md, value);
    }
    steps_.push_back([this, plan, x, add, dst]() {
      run_resize(*plan, static_cast<const float*>(mem(x).get_data_handle()),
                 add >= 0 ? static_cast<const float*>(mem(add).get_data_handle()) : nullptr,
                 static_cast<float*>(mem(dst).get_data_handle()));
    });
    runtime_[value] = dst;
  }

  void lower_concat(const onnx::NodeProto& node) {
    std::int64_t axis = attr_int(node, "axis", 1);
    if (axis < 0) axis += 4;
    if (axis != 1)
      unsupported(node, "along axis " + std::to_string(axis) + " of a tensor is not implemented");
    std::vector<int> srcs;
    for (int k = 0; k < node.input_size(); ++k) {
      if (!is_runtime(node.input(k)))
        unsupported(node, "of a constant and a tensor is not implemented");
      srcs.push_back(runtime(node, k));
    }
    std::vector<memory::desc> mds;
    for (int src : srcs) mds.push_back(tensors_[src].md);
    dnnl::concat::primitive_desc pd(1, mds, engine_);
    for (int s : srcs) use(s);
    const int dst = new_tensor(pd.dst_desc(), node.output(0));
    dnnl::concat cat(pd);
    steps_.push_back([this, cat, srcs, dst]() mutable {
      std::unordered_map<int, memory> args{{DNNL_ARG_DST, mem(dst)}};
      for (std::size_t i = 0; i < srcs.size(); ++i)
        args.emplace(DNNL_ARG_MULTIPLE_SRC + static_cast<int>(i), mem(srcs[i]));
      cat.execute(stream_, args);
    });
    runtime_[node.output(0)] = dst;
  }

  // Split along channels: each part is a view of the input (no copy); consumers reorder it.
  void lower_split(const onnx::NodeProto& node) {
    int x = runtime(node, 0);
    const auto xd = tensors_[x].md.dims();
    std::int64_t axis = attr_int(node, "axis", 0);
    if (axis < 0) axis += 4;
    if (axis != 1) unsupported(node, "along axis " + std::to_string(axis) + " is not implemented");
    std::vector<std::int64_t> split = attr_ints(node, "split");
    if (node.input_size() > 1 && !node.input(1).empty()) {
      const ConstTensor* s = constant(node.input(1));
      if (!s) unsupported(node, "has non-constant split sizes");
      split.clear();
      for (std::size_t i = 0; i < s->count(); ++i)
        split.push_back(static_cast<std::int64_t>(s->at(i)));
    }
    if (split.empty()) split.assign(node.output_size(), xd[1] / node.output_size());
    if (static_cast<int>(split.size()) != node.output_size())
      unsupported(node, "has split sizes that do not match its outputs");
    x = as_format(x, memory::desc(xd, dt::f32, tag::nchw));
    std::int64_t offset = 0;
    for (int k = 0; k < node.output_size(); ++k) {
      const memory::dims part{xd[0], split[k], xd[2], xd[3]};
      const memory::desc md = tensors_[x].md.submemory_desc(part, {0, offset, 0, 0});
      use(x);
      const int t = alias_tensor(md, x, node.output(k));
      runtime_[node.output(k)] = t;
      offset += split[k];
    }
    if (offset != xd[1])
      unsupported(node, "has split sizes that do not add up to its input channels");
  }

  void lower_eltwise(const onnx::NodeProto& node, int k) {
    const int x = runtime(node, 0);
    auto e = as_eltwise(node, node.input(0));
    if (!e) unsupported(node, "with non-constant bounds is not implemented");
    emit_eltwise(node, k, x, *e);
  }

  void emit_eltwise(const onnx::NodeProto& node, int k, int x, const Eltwise& e) {
    if (e.identity) {
      use(x);
      const int t = alias_tensor(tensors_[x].md, x, node.output(0));
      runtime_[node.output(0)] = t;
      return;
    }
    dnnl::eltwise_forward::desc desc(dnnl::prop_kind::forward_inference, e.alg, tensors_[x].md,
                                     e.alpha, e.beta);
    dnnl::eltwise_forward::primitive_desc pd(desc, engine_);
    use(x);
    const int dst = writable_at(x, k, k) ? alias_tensor(pd.dst_desc(), x, node.output(0))
                                         : new_tensor(pd.dst_desc(), node.output(0));
    dnnl::eltwise_forward prim(pd);
    steps_.push_back([this, prim, x, dst]() mutable {
      prim.execute(stream_, {{DNNL_ARG_SRC, mem(x)}, {DNNL_ARG_DST, mem(dst)}});
    });
    runtime_[node.output(0)] = dst;
  }

  void lower_binary(const onnx::NodeProto& node, int k) {
    const std::string& op = node.op_type();
    if (node.input_size() != 2) unsupported(node, "needs two inputs");
    const bool a_rt = is_runtime(node.input(0)), b_rt = is_runtime(node.input(1));
    if (!(a_rt && b_rt)) {
      const std::string& value = a_rt ? node.input(0) : node.input(1);
      auto e = as_eltwise(node, value);
      if (!e) unsupported(node, "with a non-scalar constant operand is not implemented");
      return emit_eltwise(node, k, runtime_[value], *e);
    }
    const int a = runtime(node, 0);
    int b = runtime(node, 1);
    if (tensors_[a].md.dims() != tensors_[b].md.dims())
      unsupported(node, "with broadcasting between tensors is not implemented");
    b = as_format(b, tensors_[a].md);
    const auto alg = op == "Add"   ? dnnl::algorithm::binary_add
                     : op == "Sub" ? dnnl::algorithm::binary_sub
                     : op == "Mul" ? dnnl::algorithm::binary_mul
                                   : dnnl::algorithm::binary_div;
    dnnl::binary::desc desc(alg, tensors_[a].md, tensors_[b].md, tensors_[a].md);
    dnnl::binary::primitive_desc pd(desc, engine_);
    use(a);
    use(b);
    const int dst = writable_at(a, k, k) ? alias_tensor(pd.dst_desc(), a, node.output(0))
                                         : new_tensor(pd.dst_desc(), node.output(0));
    dnnl::binary prim(pd);
    steps_.push_back([this, prim, a, b, dst]() mutable {
      prim.execute(stream_,
                   {{DNNL_ARG_SRC_0, mem(a)}, {DNNL_ARG_SRC_1, mem(b)}, {DNNL_ARG_DST, mem(dst)}});
    });
    runtime_[node.output(0)] = dst;
  }

  void lower_batchnorm(const onnx::NodeProto& node, int k) {
    const int x = runtime(node, 0);
    const auto xd = tensors_[x].md.dims();
    if (node.input_size() < 5 || node.output_size() > 1)
      unsupported(node, "in training mode is not implemented");
    std::vector<const ConstTensor*> params;
    for (int i = 1; i <= 4; ++i) {
      const ConstTensor* t = constant(node.input(i));
      if (!t || !t->is_float || t->count() != static_cast<std::size_t>(xd[1]))
        unsupported(node, "has non-constant parameters");
      params.push_back(t);
    }
    const float eps = attr_float(node, "epsilon", 1e-5f);
    const auto flags = dnnl::normalization_flags::use_global_stats |
                       dnnl::normalization_flags::use_scale | dnnl::normalization_flags::use_shift;
    dnnl::batch_normalization_forward::desc desc(dnnl::prop_kind::forward_inference, tensors_[x].md,
                                                 eps, flags);
    dnnl::batch_normalization_forward::primitive_desc pd(desc, engine_);
    std::vector<memory> p;
    for (const auto* t : params) {
      memory m(memory::desc({xd[1]}, dt::f32, tag::x), engine_);
      std::memcpy(m.get_data_handle(), t->f.data(), t->f.size() * sizeof(float));
      p.push_back(m);
      weights_.push_back(m);
    }
    use(x);
    const int dst = writable_at(x, k, k) ? alias_tensor(pd.dst_desc(), x, node.output(0))
                                         : new_tensor(pd.dst_desc(), node.output(0));
    dnnl::batch_normalization_forward prim(pd);
    steps_.push_back([this, prim, x, dst, p]() mutable {
      prim.execute(stream_, {{DNNL_ARG_SRC, mem(x)},
                             {DNNL_ARG_SCALE, p[0]},
                             {DNNL_ARG_SHIFT, p[1]},
                             {DNNL_ARG_MEAN, p[2]},
                             {DNNL_ARG_VARIANCE, p[3]},
                             {DNNL_ARG_DST, mem(dst)}});
    });
    runtime_[node.output(0)] = dst;
  }

  void lower_softmax(const onnx::NodeProto& node, int k) {
    const int x = runtime(node, 0);
    const auto xd = tensors_[x].md.dims();
    std::int64_t axis = attr_int(node, "axis", opset_ >= 13 ? -1 : 1);
    if (axis < 0) axis += 4;
    // Before opset 13 Softmax normalises over all axes from `axis` on; that equals a softmax
    // along `axis` only when the later axes have size 1.
    if (opset_ < 13) {
      for (std::int64_t a = axis + 1; a < 4; ++a)
        if (xd[a] != 1)
          unsupported(
              node, "over several axes (opset " + std::to_string(opset_) + ") is not implemented");
    }
    dnnl::softmax_forward::desc desc(dnnl::prop_kind::forward_inference, tensors_[x].md,
                                     static_cast<int>(axis));
    dnnl::softmax_forward::primitive_desc pd(desc, engine_);
    use(x);
    const int dst = writable_at(x, k, k) ? alias_tensor(pd.dst_desc(), x, node.output(0))
                                         : new_tensor(pd.dst_desc(), node.output(0));
    dnnl::softmax_forward prim(pd);
    steps_.push_back([this, prim, x, dst]() mutable {
      prim.execute(stream_, {{DNNL_ARG_SRC, mem(x)}, {DNNL_ARG_DST, mem(dst)}});
    });
    runtime_[node.output(0)] = dst;
  }

  // ---------------------------------------------------------------------------------------
  // Gives every storage an arena: storages whose step ranges do not overlap share one, and an
  // arena is as large as the largest storage it holds. All allocation happens here, once.
  void plan_memory() {
    std::vector<int> order(storages_.size());
    for (std::size_t s = 0; s < order.size(); ++s) order[s] = static_cast<int>(s);
    std::sort(order.begin(), order.end(),
              [&](int a, int b) { return storages_[a].first_step < storages_[b].first_step; });
    std::vector<std::size_t> arena_bytes;
    std::vector<int> arena_free_after;  // last step of the arena's latest occupant
    for (int s : order) {
      Storage& st = storages_[s];
      if (st.external) continue;
      int best = -1;
      for (std::size_t a = 0; a < arena_bytes.size(); ++a) {
        if (arena_free_after[a] >= st.first_step) continue;
        // prefer the arena whose size is closest to the need
        if (best < 0 ||
            std::llabs(static_cast<long long>(arena_bytes[a]) - static_cast<long long>(st.bytes)) <
                std::llabs(static_cast<long long>(arena_bytes[best]) -
                           static_cast<long long>(st.bytes)))
          best = static_cast<int>(a);
      }
      if (best < 0) {
        arena_bytes.push_back(0);
        arena_free_after.push_back(0);
        best = static_cast<int>(arena_bytes.size() - 1);
      }
      arena_bytes[best] = std::max(arena_bytes[best], st.bytes);
      arena_free_after[best] = st.last_step;
      st.arena = best;
    }
    for (std::size_t bytes : arena_bytes) {
      const std::size_t rounded = (std::max<std::size_t>(bytes, 64) + 63) / 64 * 64;
      void* p = std::aligned_alloc(64, rounded);
      if (!p) throw std::bad_alloc();
      std::memset(p, 0, rounded);
      arenas_.emplace_back(p);
    }
    memories_.clear();
    for (const auto& t : tensors_) {
      const Storage& st = storages_[t.storage];
      void* handle = st.external ? nullptr : arenas_[st.arena].get();
      memories_.emplace_back(t.md, engine_, handle);
    }
    input_tensors_.clear();
    for (std::size_t t = 0; t < tensors_.size(); ++t)
      if (storages_[tensors_[t].storage].external) input_tensors_.push_back(static_cast<int>(t));
  }
};

std::vector<std::uint8_t> read_file(const std::filesystem::path& file, const std::string& what) {
  std::ifstream in(file, std::ios::binary | std::ios::ate);
  if (!in) throw InputError(what + " cannot be opened: check that it exists and is readable.");
  const auto size = static_cast<std::size_t>(in.tellg());
  std::vector<std::uint8_t> bytes(size);
  in.seekg(0);
  in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(size));
  if (!in) throw InputError(what + " could not be read to the end.");
  return bytes;
}

}  // namespace

void set_onednn_threads(int threads) { g_threads.store(threads > 0 ? threads : 0); }

std::unique_ptr<SegmentationModel> load_onednn_model(const std::filesystem::path& file,
                                                     ModelKind kind, int batch) {
  if (batch < 1) throw std::invalid_argument("load_onednn_model: batch must be at least 1");
  const std::string what =
      std::string(kind == ModelKind::cloud ? "Cloud" : "Shadow") + " model '" + file.string() + "'";
  const auto bytes = read_file(file, what);
  std::unique_ptr<OnnxModel> onnx_model;
  try {
    onnx_model = std::make_unique<OnnxModel>(bytes);
  } catch (const std::exception& e) {
    throw InputError(what + " cannot be read as an ONNX model (" + e.what() +
                     "): the file is truncated or corrupt, download it again.");
  }
  // The declared input must be N x 12 x 512 x 512 (N may be symbolic).
  for (const auto& in : onnx_model->proto().graph().input()) {
    if (in.name() != onnx_model->input_name()) continue;
    const auto& shape = in.type().tensor_type().shape();
    const std::int64_t want[] = {-1, kModelBands, kChipSize, kChipSize};
    bool ok = shape.dim_size() == 4;
    for (int d = 1; ok && d < 4; ++d)
      if (shape.dim(d).has_dim_value() && shape.dim(d).dim_value() != want[d]) ok = false;
    if (!ok)
      throw InputError(what + " does not take Nx12x512x512 input (12 bands, 512 x 512 chips): " +
                       "use a model with the reference input contract.");
  }
  std::unique_ptr<OneDnnModel> model;
  try {
    model = std::unique_ptr<OneDnnModel>(new OneDnnModel(*onnx_model, 1));
    if (batch > 1) {
      // A graph with the export's batch written into it (a Reshape to 1 x ..., a constant
      // shape) cannot take several chips per pass: it then runs one chip at a time.
      try {
        auto batched = std::unique_ptr<OneDnnModel>(new OneDnnModel(*onnx_model, batch));
        if (batched->output_dims()[0] == batch) {
          batched->add_single(std::move(model));
          model = std::move(batched);
        }
      } catch (const Unsupported&) {
      } catch (const dnnl::error&) {
      }
    }
  } catch (const Unsupported& u) {
    throw UnsupportedModelError(what + ": " + u.what +
                                "; use --engine opencv (or auto, which falls back to OpenCV DNN).");
  } catch (const dnnl::error& e) {
    throw UnsupportedModelError(what + " cannot be built with oneDNN (" + e.what() +
                                "): use --engine opencv.");
  } catch (const std::runtime_error& e) {  // a tensor the ONNX reader cannot decode
    throw UnsupportedModelError(what + " cannot be read by the oneDNN engine (" + e.what() +
                                "): use --engine opencv.");
  }
  const int required = required_output_channels(kind);
  const auto& od = model->output_dims();
  if (od[2] != kChipSize || od[3] != kChipSize)
    throw InputError(what + " outputs " + std::to_string(od[2]) + "x" + std::to_string(od[3]) +
                     " pixels for a 512 x 512 chip, expected 512 x 512 logits.");
  if (model->output_channels() != required)
    throw InputError(
        what + " outputs " + std::to_string(model->output_channels()) +
        (model->output_channels() == 1 ? " channel, a " : " channels, a ") +
        std::string(to_string(kind)) + " model must output " + std::to_string(required) +
        (kind == ModelKind::cloud ? " (softmax, channel 1 = cloud)." : " (sigmoid = shadow)."));
  return model;
}

}  // namespace s2prep::mask
