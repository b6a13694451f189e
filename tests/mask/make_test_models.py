#!/usr/bin/python3
"""Writes the small ONNX models the mask tests run (always available, unlike the reference files).

Weights follow closed formulas that the C++ tests re-evaluate independently, so expected
probabilities are computed without this script. Run with Debian's /usr/bin/python3 (python3-onnx).

usage: make_test_models.py OUTPUT_DIR
"""

import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 11
BANDS = 12


def linear_cloud_weights():
    # w[c][b]: channel 1 rises with the band index, channel 0 falls, so a band-order mistake
    # changes the logits. Scaled for raw digital numbers (0..10000).
    w = np.zeros((2, BANDS, 1, 1), dtype=np.float32)
    for b in range(BANDS):
        w[0, b, 0, 0] = 0.0001 * (BANDS - b)
        w[1, b, 0, 0] = 0.0001 * (b + 1) - 0.00005 * (b % 3)
    bias = np.array([0.25, -0.5], dtype=np.float32)
    return w, bias


def linear_shadow_weights():
    # Scaled for reflectance (digital numbers x 0.0001).
    w = np.zeros((1, BANDS, 1, 1), dtype=np.float32)
    for b in range(BANDS):
        w[0, b, 0, 0] = 0.5 * (b - 5.5) / 5.5 + 0.1 * (b % 2)
    bias = np.array([-0.3], dtype=np.float32)
    return w, bias


def spatial_cloud_weights():
    # 3x3 kernel dilated by SPATIAL_DILATION with matching zero padding: a pixel's logits depend
    # on pixels 200 px away, which fall outside some chips (zero padding there), so the value
    # depends on which chip a pixel is taken from and stitching errors show.
    w = np.zeros((2, BANDS, 3, 3), dtype=np.float32)
    for c in range(2):
        for b in range(BANDS):
            for ky in range(3):
                for kx in range(3):
                    # zero-mean mixed-sign weights keep the softmax away from saturation
                    if c == 0:
                        w[c, b, ky, kx] = 0.00003 * (((b * 5 + ky + kx * 2) % 7) - 3)
                    else:
                        w[c, b, ky, kx] = 0.00005 * (((b * 7 + ky * 3 + kx * 5) % 11) - 5)
    bias = np.array([0.1, -0.1], dtype=np.float32)
    return w, bias


SPATIAL_DILATION = 200


def conv_model(path, w, bias, in_shape, pads=(0, 0, 0, 0), out_channels=None, batch="1",
               dilation=1):
    k = w.shape[2]
    c_out = w.shape[0] if out_channels is None else out_channels
    in_dims = list(in_shape)
    out_dims = [in_dims[0], c_out, in_dims[2], in_dims[3]]
    if batch != "1":
        in_dims[0] = batch
        out_dims[0] = batch
    x = helper.make_tensor_value_info("input", TensorProto.FLOAT, in_dims)
    y = helper.make_tensor_value_info("output", TensorProto.FLOAT, out_dims)
    node = helper.make_node("Conv", ["input", "weight", "bias"], ["output"],
                            kernel_shape=[k, k], pads=list(pads), dilations=[dilation, dilation])
    graph = helper.make_graph([node], "s2prep_test_model", [x], [y],
                              [numpy_helper.from_array(w, "weight"),
                               numpy_helper.from_array(bias, "bias")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="s2prep tests")
    onnx.checker.check_model(model)
    onnx.save(model, path)


def save(model, path):
    onnx.checker.check_model(model)
    onnx.save(model, path)


class GraphBuilder:
    """Builds a graph node by node with seeded random weights (np.random.default_rng): the
    engine comparison tests run the same file through OpenCV DNN and oneDNN, so the weights
    need no closed formula."""

    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)
        self.nodes, self.inits, self.count = [], [], 0

    def name(self, base):
        self.count += 1
        return f"{base}_{self.count}"

    def const(self, value, base="c"):
        n = self.name(base)
        self.inits.append(numpy_helper.from_array(np.asarray(value), n))
        return n

    def op(self, op_type, inputs, n_out=1, **attrs):
        outs = [self.name(op_type.lower()) for _ in range(n_out)]
        self.nodes.append(helper.make_node(op_type, inputs, outs, name=outs[0], **attrs))
        return outs[0] if n_out == 1 else outs

    def conv(self, x, c_in, c_out, k=1, stride=1, pad=0, scale=1.0, group=1):
        w = (self.rng.standard_normal((c_out, c_in // group, k, k)) * scale /
             np.sqrt(c_in // group * k * k)).astype(np.float32)
        b = (self.rng.standard_normal(c_out) * 0.1).astype(np.float32)
        return self.op("Conv", [x, self.const(w, "w"), self.const(b, "b")], kernel_shape=[k, k],
                       strides=[stride, stride], pads=[pad] * 4, group=group)

    def batchnorm(self, x, c):
        r = self.rng
        params = [(1 + 0.2 * r.standard_normal(c)), 0.1 * r.standard_normal(c),
                  0.1 * r.standard_normal(c), 0.5 + r.random(c)]
        return self.op("BatchNormalization",
                       [x] + [self.const(p.astype(np.float32), "bn") for p in params],
                       epsilon=1e-5)

    def resize(self, x, sizes=None, scales=None, mode="linear", coord="half_pixel",
               nearest="round_prefer_floor"):
        roi = self.const(np.zeros(0, dtype=np.float32), "roi")
        if sizes is not None:
            ins = [x, roi, self.const(np.zeros(0, dtype=np.float32), "scales"),
                   self.const(np.array(sizes, dtype=np.int64), "sizes")]
        else:
            ins = [x, roi, self.const(np.array(scales, dtype=np.float32), "scales")]
        return self.op("Resize", ins, mode=mode, coordinate_transformation_mode=coord,
                       nearest_mode=nearest)

    def model(self, path, out_channels, opset=OPSET):
        x = helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, BANDS, 512, 512])
        self.nodes[-1].output[0] = "output"  # the final node writes the graph output
        y = helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, out_channels, 512, 512])
        graph = helper.make_graph(self.nodes, "s2prep_engine_test", [x], [y], self.inits)
        save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)],
                               producer_name="s2prep tests"), path)


def zoo_model(path, shadow=False):
    """Every operator the oneDNN engine implements, in the combinations the FPN and CheapLab
    models use them: a channel Split, convolutions followed by batch normalisation, ReLU and a
    residual sum (over channel counts that are and are not whole channel blocks), max and average pooling, linear Resize with align_corners (up) and half_pixel
    (down and up), nearest Resize, Resize followed by Add, a normalised difference (Sub, Add of
    a scalar, Div by a tensor) followed by a standalone batch normalisation, Sigmoid, Mul by a
    scalar and a channel Concat."""
    g = GraphBuilder(7 if not shadow else 11)
    s = 1e-4 if not shadow else 1.0  # cloud models see raw digital numbers
    x = g.op("Mul", ["input", g.const(np.array(s, dtype=np.float32), "s")])
    # Bands 1-3 and 4-12, as the FPN's two encoders: 9 channels are not a whole number of
    # AVX2's channel blocks (8), so on such machines the engine splits that convolution.
    a, b = g.op("Split", [x], n_out=2, axis=1, split=[3, 9])
    ca = g.op("Relu", [g.batchnorm(g.conv(a, 3, 8, k=3, pad=1), 8)])
    cb = g.conv(b, 9, 8, k=3, pad=1)
    s1 = g.op("Add", [ca, cb])  # cb's convolution is the later producer: a fused sum
    s1 = g.op("Relu", [s1])
    p = g.op("MaxPool", [s1], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    q = g.op("AveragePool", [p], kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1)
    c16 = g.op("Relu", [g.conv(q, 8, 16, k=3, pad=1)])
    lateral = g.conv(p, 8, 16)
    up = g.resize(c16, sizes=[1, 16, 256, 256], coord="align_corners")
    t = g.op("Add", [lateral, up])
    u = g.resize(t, scales=[1, 1, 2, 2], mode="nearest", coord="asymmetric", nearest="floor")
    d = g.resize(x, sizes=[1, BANDS, 256, 256])
    # 12 channels through a strided 7x7 kernel with batch normalisation and ReLU (split on
    # AVX2 as 8 + 4, without a residual sum), next to a 1x1 one (never split).
    e7 = g.op("Relu", [g.batchnorm(g.conv(x, BANDS, 4, k=7, stride=2, pad=3), 4)])
    e = g.resize(g.op("Add", [g.conv(d, BANDS, 4), e7]), sizes=[1, 4, 512, 512])
    num = g.conv(u, 16, 4)
    den = g.op("Add", [g.op("Sigmoid", [g.conv(u, 16, 4)]),
                       g.const(np.array(0.5, dtype=np.float32), "eps")])
    q2 = g.batchnorm(g.op("Div", [g.op("Sub", [num, g.const(np.array(0.25, dtype=np.float32))]),
                                  den]), 4)
    cat = g.op("Concat", [q2, e, u], axis=1)
    g.conv(cat, 24, 1 if shadow else 2, k=3, pad=1, scale=6.0)
    g.model(path, 1 if shadow else 2)


def softmax_model(path):
    """A convolution followed by a channel Softmax (opset 13 semantics)."""
    g = GraphBuilder(3)
    c = g.conv("input", BANDS, 2, scale=1e-3)
    g.op("Softmax", [c], axis=1)
    g.model(path, 2, opset=13)


def unsupported_model(path):
    """A valid model with an operator the oneDNN engine does not implement (Abs)."""
    g = GraphBuilder(5)
    c = g.conv("input", BANDS, 2, scale=1e-3)
    g.op("Abs", [c])
    g.model(path, 2)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    p = lambda name: os.path.join(out, name)
    full = (1, BANDS, 512, 512)

    w, b = linear_cloud_weights()
    conv_model(p("cloud_linear.onnx"), w, b, full)
    conv_model(p("cloud_linear_dynbatch.onnx"), w, b, full, batch="N")
    w, b = spatial_cloud_weights()
    d = SPATIAL_DILATION
    conv_model(p("cloud_spatial.onnx"), w, b, full, pads=(d, d, d, d), dilation=d)
    w, b = linear_shadow_weights()
    conv_model(p("shadow_linear.onnx"), w, b, full)
    zoo_model(p("cloud_zoo.onnx"))
    zoo_model(p("shadow_zoo.onnx"), shadow=True)
    softmax_model(p("cloud_softmax13.onnx"))
    unsupported_model(p("cloud_abs.onnx"))

    # Broken variants, each violating one part of the contract.
    w, b = linear_cloud_weights()
    conv_model(p("bad_in3.onnx"), w[:, :3].copy(), b, (1, 3, 512, 512))
    conv_model(p("bad_hw256.onnx"), w, b, (1, BANDS, 256, 256))
    w3 = np.concatenate([w, w[:1]], axis=0)
    conv_model(p("bad_out3.onnx"), w3, np.array([0.0, 0.0, 0.0], dtype=np.float32), full)
    with open(p("bad_lfs_pointer.onnx"), "w") as f:
        f.write("version https://git-lfs.github.com/spec/v1\n"
                "oid sha256:45de808bfa418d9fe31f7f4bdd656acdd20101fdc9219b901415e0e007e2db06\n"
                "size 56973507\n")
    with open(p("cloud_linear.onnx"), "rb") as f:
        data = f.read()
    with open(p("bad_truncated.onnx"), "wb") as f:
        f.write(data[: len(data) // 2])


if __name__ == "__main__":
    main()
