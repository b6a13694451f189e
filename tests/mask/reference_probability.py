#!/usr/bin/python3
"""The reference chipping and the generated test models, in numpy: the probabilities a 12-band
raster gets from cloud_spatial.onnx and shadow_linear.onnx (make_test_models.py), computed
without s2prep.

Chips are 512 px with step 384: n = ceil((size - 512) / 384) + 1 chips per axis (at least 2 when
size > 512), starts np.round(np.linspace(0, size - 512, n)); the overlap between two chips is
split at floor((end of the first + start of the second) / 2). Pixels with a 0 in any band are
nodata (probability 1). Run with Debian's /usr/bin/python3 (python3-gdal, python3-onnx).

usage: reference_probability.py RASTER.tif CLOUD_OUT.tif SHADOW_OUT.tif
"""

import math
import os
import sys

import numpy as np
from osgeo import gdal

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_test_models import (SPATIAL_DILATION, linear_shadow_weights,  # noqa: E402
                              spatial_cloud_weights)

CHIP = 512
STEP = 384


def axis(size):
    if size <= CHIP:
        return [0], [(0, size)]
    n = max(2, math.ceil((size - CHIP) / STEP) + 1)
    starts = [int(s) for s in np.round(np.linspace(0, size - CHIP, n))]
    bounds = [0] + [(starts[i - 1] + CHIP + starts[i]) // 2 for i in range(1, n)] + [size]
    return starts, [(bounds[i], bounds[i + 1]) for i in range(n)]


def cloud_logit_difference(chip):
    """Channel 1 minus channel 0 of the dilated 3x3 convolution, zero padded at the chip edge."""
    w, bias = spatial_cloud_weights()
    d = SPATIAL_DILATION
    h, wd = chip.shape[1:]
    out = np.zeros((2, h, wd))
    for ky in range(3):
        for kx in range(3):
            dy, dx = (ky - 1) * d, (kx - 1) * d
            shifted = np.zeros_like(chip)
            ys, ye = max(0, -dy), min(h, h - dy)
            xs, xe = max(0, -dx), min(wd, wd - dx)
            if ys < ye and xs < xe:
                shifted[:, ys:ye, xs:xe] = chip[:, ys + dy:ye + dy, xs + dx:xe + dx]
            out += np.tensordot(w[:, :, ky, kx].astype(np.float64), shifted, axes=1)
    out += bias.astype(np.float64)[:, None, None]
    return out[1] - out[0]


def shadow_logit(chip):
    w, bias = linear_shadow_weights()
    return np.tensordot(w[0, :, 0, 0].astype(np.float64), chip * 0.0001, axes=1) + float(bias[0])


def main():
    src = gdal.Open(sys.argv[1])
    stack = src.ReadAsArray().astype(np.float64)  # bands, rows, cols
    _, height, width = stack.shape
    nodata = (stack == 0).any(axis=0)
    rows, row_owned = axis(height)
    cols, col_owned = axis(width)
    cloud = np.full((height, width), np.nan)
    shadow = np.full((height, width), np.nan)
    for r0, (ra, rb) in zip(rows, row_owned):
        for c0, (ca, cb) in zip(cols, col_owned):
            chip = stack[:, r0:r0 + CHIP, c0:c0 + CHIP]
            zc = cloud_logit_difference(chip)
            zs = shadow_logit(chip)
            cloud[ra:rb, ca:cb] = 1 / (1 + np.exp(-zc[ra - r0:rb - r0, ca - c0:cb - c0]))
            shadow[ra:rb, ca:cb] = 1 / (1 + np.exp(-zs[ra - r0:rb - r0, ca - c0:cb - c0]))
    assert not np.isnan(cloud).any() and not np.isnan(shadow).any()
    cloud[nodata] = 1
    shadow[nodata] = 1
    for path, values in ((sys.argv[2], cloud), (sys.argv[3], shadow)):
        out = gdal.GetDriverByName("GTiff").Create(path, width, height, 1, gdal.GDT_Float64)
        out.SetGeoTransform(src.GetGeoTransform())
        out.SetProjection(src.GetProjection())
        out.GetRasterBand(1).WriteArray(values)
        out = None


if __name__ == "__main__":
    main()
