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
