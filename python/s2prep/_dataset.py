"""The xarray.Dataset of a load, in odc-stac's shape, over the extension's arrays (no copies)."""

import json

import numpy as np

BANDS = ("B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B11", "B12")
REFLECTANCE_SCALE = 0.0001  # digital numbers are reflectance x 10000
NODATA_BAND = 0
NODATA_MASK = 255


def datetime64(text):
    """numpy datetime64[ns] of an ISO 8601 UTC text ("2023-06-01T10:05:59Z")."""
    return np.datetime64(text[:-1] if text.endswith("Z") else text, "ns")


def dataset(raw, version):
    import xarray as xr

    try:
        import rioxarray  # noqa: F401  (registers ds.rio, which reads `spatial_ref`)
    except ImportError:
        pass

    grid = raw["grid"]
    gt = grid["transform"]
    width, height = grid["width"], grid["height"]
    # Pixel centres, as odc-stac and rioxarray place coordinates.
    x = gt[0] + (np.arange(width) + 0.5) * gt[1]
    y = gt[3] + (np.arange(height) + 0.5) * gt[5]
    acquisitions = raw["acquisitions"]
    time = np.array([datetime64(a["datetime"]) for a in acquisitions], dtype="datetime64[ns]")

    dims = ("time", "y", "x")
    data_vars = {}
    reflectance = raw["reflectance"]
    for i, band in enumerate(BANDS):
        data_vars[band] = xr.Variable(
            dims,
            reflectance[i],
            attrs={
                "grid_mapping": "spatial_ref",
                "nodata": NODATA_BAND,
                "scale_factor": REFLECTANCE_SCALE,
                "add_offset": 0.0,
                "long_name": f"{band} surface reflectance x 10000",
            },
        )
    data_vars["mask"] = xr.Variable(
        dims,
        raw["mask"],
        attrs={
            "grid_mapping": "spatial_ref",
            "nodata": NODATA_MASK,
            "flag_values": np.array([0, 1], dtype=np.uint8),
            "flag_meanings": "clear cloud_or_shadow",
            "long_name": "cloud and shadow mask",
        },
    )
    data_vars["product_mask"] = xr.Variable(
        dims,
        raw["product_mask"],
        attrs={
            "grid_mapping": "spatial_ref",
            "nodata": NODATA_MASK,
            "flag_values": np.array([0, 1, 2, 3, 4], dtype=np.uint8),
            "flag_meanings": "clear cloud cirrus cloud_shadow saturated_or_defective",
            "long_name": "mask from the product's scene classification (SCL)",
        },
    )
    for name in ("cloud_probability", "shadow_probability"):
        if raw[name] is not None:
            data_vars[name] = xr.Variable(
                dims,
                raw[name],
                attrs={"grid_mapping": "spatial_ref", "long_name": name.replace("_", " ")},
            )

    geotransform = " ".join(repr(float(v)) for v in gt)
    coords = {
        "time": ("time", time),
        "y": ("y", y, {"units": "metre", "standard_name": "projection_y_coordinate", "axis": "Y"}),
        "x": ("x", x, {"units": "metre", "standard_name": "projection_x_coordinate", "axis": "X"}),
        "spatial_ref": (
            (),
            np.int32(grid["epsg"]),
            {"crs_wkt": grid["crs_wkt"], "spatial_ref": grid["crs_wkt"], "GeoTransform": geotransform},
        ),
    }

    acquisition_records = []
    for a in acquisitions:
        record = {k: a[k] for k in ("datetime", "name", "tiles", "item_ids", "coverage", "valid_fraction",
                                    "cloud_fraction", "shadow_fraction", "product_mask_fraction",
                                    "masked_fraction")}
        record["sources"] = [dict(s) for s in a["sources"]]
        acquisition_records.append(record)
    cloud, shadow = raw["cloud_model"], raw["shadow_model"]
    attrs = {
        "s2prep_version": version,
        # Nested records as JSON text, so the Dataset can be written to netCDF as it is.
        "acquisitions": json.dumps(acquisition_records),
        "items": json.dumps([[s["id"] for s in a["sources"]] for a in acquisitions]),
        "processing_baselines": json.dumps(
            [[s["processing_baseline"] for s in a["sources"]] for a in acquisitions]
        ),
        "harmonized": json.dumps([[s["harmonized"] for s in a["sources"]] for a in acquisitions]),
        "coverage": json.dumps([a["coverage"] for a in acquisitions]),
        "cloud_model": cloud["name"],
        "cloud_model_sha256": cloud["sha256"],
        "cloud_model_engine": cloud["engine"],
        "shadow_model": shadow["name"],
        "shadow_model_sha256": shadow["sha256"],
        "shadow_model_engine": shadow["engine"],
        "skipped": json.dumps([dict(s) for s in raw["skipped"]]),
        "notices": json.dumps(list(raw["notices"])),
    }
    return xr.Dataset(data_vars, coords=coords, attrs=attrs)
