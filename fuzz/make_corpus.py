#!/usr/bin/python3
"""Writes the seed corpora of the fuzz targets: fuzz/corpus/<target>/ (small, committed).

Every seed is made here (no sample data is copied in): valid inputs of each format, in the
shapes the real services use, plus a few near misses. Run with Debian's /usr/bin/python3
(python3-onnx for the model seeds).

usage: fuzz/make_corpus.py [CORPUS_DIR]
"""

import json
import os
import sys

import numpy as np
from onnx import TensorProto, helper, numpy_helper

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "corpus")


def write(target, name, data):
    folder = os.path.join(OUT, target)
    os.makedirs(folder, exist_ok=True)
    mode = "wb" if isinstance(data, bytes) else "w"
    with open(os.path.join(folder, name), mode) as f:
        f.write(data)


RING = [[14.0, 50.0], [14.05, 50.0], [14.05, 50.04], [14.0, 50.04], [14.0, 50.0]]
POLYGON = {"type": "Polygon", "coordinates": [RING]}

# --- region: the --geometry argument -------------------------------------------------------------
write("region", "wkt_polygon", "POLYGON ((14 50, 14.05 50, 14.05 50.04, 14 50.04, 14 50))")
write("region", "wkt_multipolygon",
      "MULTIPOLYGON (((14 50, 14.05 50, 14.05 50.04, 14 50)), ((15 50, 15.1 50, 15.1 50.1, 15 50)))")
write("region", "wkt_bowtie", "POLYGON ((0 0, 1 1, 1 0, 0 1, 0 0))")
write("region", "wkt_point", "POINT (14 50)")
write("region", "geojson_polygon", json.dumps(POLYGON))
write("region", "geojson_feature", json.dumps({"type": "Feature", "properties": {"name": "f"},
                                               "geometry": POLYGON}))
write("region", "geojson_collection", json.dumps({
    "type": "FeatureCollection",
    "features": [{"type": "Feature", "properties": {}, "geometry": POLYGON},
                 {"type": "Feature", "properties": {}, "geometry": {
                     "type": "MultiPolygon", "coordinates": [[RING], [[[c[0] + 1, c[1]] for c in RING]]]}}]}))
write("region", "geojson_geometry_collection", json.dumps({
    "type": "GeometryCollection", "geometries": [POLYGON, {"type": "Point", "coordinates": [1, 2]}]}))
write("region", "geojson_null_geometry", '{"type": "Feature", "geometry": null}')


# --- stac_item: items and search pages -----------------------------------------------------------
def item(i, provider="pc"):
    x = 14.0 + 0.01 * i
    assets = {
        "B02": {"href": f"https://example.blob.core.windows.net/c/T33UUP/B02_{i}.tif",
                "type": "image/tiff; application=geotiff; profile=cloud-optimized",
                "roles": ["data"], "gsd": 10, "proj:shape": [10980, 10980],
                "proj:transform": [10, 0, 399960, 0, -10, 5600040],
                "proj:bbox": [399960, 5490240, 509760, 5600040],
                "raster:bands": [{"scale": 0.0001, "offset": -0.1}]},
        "SCL": {"href": f"https://example.blob.core.windows.net/c/T33UUP/SCL_{i}.tif",
                "proj:shape": [5490, 5490], "proj:transform": [20, 0, 399960, 0, -20, 5600040, 0, 0, 1]},
        "granule-metadata": {"href": "https://example.blob.core.windows.net/c/MTD_TL.xml"},
    }
    props = {"datetime": f"2023-06-{1 + i:02d}T10:05:59.024Z", "platform": "Sentinel-2A",
             "eo:cloud_cover": 12.5, "s2:nodata_pixel_percentage": 0.0,
             "s2:mean_solar_zenith": 35.1, "s2:mean_solar_azimuth": 160.2,
             "sat:relative_orbit": 22, "sat:orbit_state": "descending",
             "s2:water_percentage": 1.5, "s2:cloud_shadow_percentage": 0.2}
    if provider == "pc":
        props.update({"s2:mgrs_tile": "33UUP", "proj:epsg": 32633, "s2:processing_baseline": "05.09",
                      "s2:product_uri": f"S2A_MSIL2A_202306{1 + i:02d}T100559_N0509_R022_T33UUP_20230601T150000.SAFE"})
        ident = f"S2A_MSIL2A_202306{1 + i:02d}T100559_R022_T33UUP_20230601T150000"
    else:
        props.update({"grid:code": "MGRS-33UUP", "proj:code": "EPSG:32633"})
        ident = f"S2A_33UUP_202306{1 + i:02d}_0_L2A"
    return {"type": "Feature", "stac_version": "1.0.0", "id": ident, "collection": "sentinel-2-l2a",
            "bbox": [x, 50.0, x + 1, 51.0],
            "geometry": {"type": "Polygon", "coordinates": [[[x, 50], [x + 1, 50], [x + 1, 51], [x, 51], [x, 50]]]},
            "properties": props, "assets": assets, "links": []}


write("stac_item", "item_pc", json.dumps(item(0)))
write("stac_item", "item_earth_search", json.dumps(item(1, "es")))
no_bbox = item(2)
del no_bbox["bbox"]
no_bbox["geometry"] = {"type": "MultiPolygon", "coordinates": [[RING], [RING]]}
write("stac_item", "item_multipolygon_no_bbox", json.dumps(no_bbox))
write("stac_item", "page_two_items", json.dumps({
    "type": "FeatureCollection", "features": [item(3), item(4, "es")],
    "links": [{"rel": "next", "method": "POST", "href": "https://x/search", "body": {"token": "n"}}]}))
write("stac_item", "page_empty", '{"type": "FeatureCollection", "features": []}')
write("stac_item", "page_nested", json.dumps({"type": "FeatureCollection", "features": [
    dict(item(5), bbox=None, geometry={"type": "Polygon", "coordinates": [[[[[[1, 2]]]]]]})]}))

# --- search_page: whole search responses (links and counts as well as items) --------------------
write("search_page", "page_two_items", json.dumps({
    "type": "FeatureCollection", "features": [item(3), item(4, "es")],
    "links": [{"rel": "next", "method": "POST", "href": "https://x/search", "body": {"token": "n"}}]}))
write("search_page", "page_empty", '{"type": "FeatureCollection", "features": []}')
write("search_page", "page_nested", json.dumps({"type": "FeatureCollection", "features": [
    dict(item(5), bbox=None, geometry={"type": "Polygon", "coordinates": [[[[[[1, 2]]]]]]})]}))
write("search_page", "page_counted_get_link", json.dumps({
    "type": "FeatureCollection", "features": [item(6)], "numberMatched": 7,
    "context": {"matched": 7, "returned": 1},
    "links": [{"rel": "next", "href": "search?token=next:c:1"}]}))

# --- token_response: the SAS token service -------------------------------------------------------
write("token_response", "pc", json.dumps({
    "msft:expiry": "2023-06-01T12:00:00Z",
    "token": "st=2023-06-01T10%3A00%3A00Z&se=2023-06-01T12%3A00%3A00Z&sp=rl&sv=2021-06-08&sr=c"
             "&skoid=abc&sktid=def&skt=2023-06-01&ske=2023-06-02&sks=b&skv=2021-06-08&sig=QUJD%3D"}))
write("token_response", "question_mark", '{"token": "?sig=x", "msft:expiry": "soon"}')
write("token_response", "no_expiry", '{"token": "sig=x"}')
write("token_response", "not_a_token", '{"token": 5, "msft:expiry": null}')

# --- granule_metadata: MTD_TL.xml -----------------------------------------------------------------
write("granule_metadata", "mtd_tl.xml", """<?xml version="1.0" encoding="UTF-8" standalone="no"?>
<n1:Level-2A_Tile_ID xmlns:n1="https://psd-14.sentinel2.eo.esa.int/PSD/S2_PDI_Level-2A_Tile_Metadata.xsd">
  <n1:General_Info><TILE_ID metadataLevel="Brief">S2A_OPER_MSI_L2A_TL_T33UUP_N05.09</TILE_ID></n1:General_Info>
  <n1:Geometric_Info>
    <Tile_Geocoding metadataLevel="Brief"><HORIZONTAL_CS_CODE>EPSG:32633</HORIZONTAL_CS_CODE></Tile_Geocoding>
    <Tile_Angles metadataLevel="Standard">
      <Mean_Sun_Angle>
        <ZENITH_ANGLE unit="deg">35.1234</ZENITH_ANGLE>
        <AZIMUTH_ANGLE unit="deg">160.5678</AZIMUTH_ANGLE>
      </Mean_Sun_Angle>
    </Tile_Angles>
  </n1:Geometric_Info>
</n1:Level-2A_Tile_ID>
""")
write("granule_metadata", "zenith_out_of_range.xml",
      "<a><Mean_Sun_Angle><ZENITH_ANGLE>95</ZENITH_ANGLE><AZIMUTH_ANGLE>1e999</AZIMUTH_ANGLE>"
      "</Mean_Sun_Angle></a>")
write("granule_metadata", "not_xml", "<html><body>502 Bad Gateway</body></html")

# --- params: the --params file ------------------------------------------------------------------
write("params", "all.yaml", """min_tile_cover: 0.95
max_tiles_per_time: 2
cloud_thr: 0.3
shadow_thr: 0.2
in_memory: false
cloud_model: auto
shadow_model: builtin
pc_key: null
dl_timeout: 120
""")
write("params", "all.json", json.dumps({"min_tile_cover": 0.99, "max_tiles_per_time": None,
                                        "cloud_thr": 0.5, "in_memory": True, "dl_timeout": 30}))
write("params", "anchors.yaml", "base: &b 0.3\ncloud_thr: *b\n")
write("params", "empty.yaml", "")


# --- onnx_info: model files ---------------------------------------------------------------------
def model(opset, input_dims, split=False):
    inp = helper.make_tensor_value_info("input", TensorProto.FLOAT, input_dims)
    out = helper.make_tensor_value_info("output", TensorProto.FLOAT, None)
    w = numpy_helper.from_array(np.ones((2, 12, 1, 1), dtype=np.float32), "w")
    nodes = [helper.make_node("Conv", ["input", "w"], ["conv"])]
    inits = [w]
    if split:
        sizes = numpy_helper.from_array(np.array([1, 1], dtype=np.int64), "sizes")
        inits.append(sizes)
        nodes.append(helper.make_node("Split", ["conv", "sizes"], ["a", "b"], axis=1))
        nodes.append(helper.make_node("Add", ["a", "b"], ["output"]))
    else:
        nodes.append(helper.make_node("Softmax", ["conv"], ["output"], axis=1))
    graph = helper.make_graph(nodes, "g", [inp, helper.make_tensor_value_info("w", TensorProto.FLOAT, [2, 12, 1, 1])],
                              [out], inits)
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    return m.SerializeToString()


write("onnx_info", "conv_256.onnx", model(11, [1, 12, 256, 256]))
write("onnx_info", "symbolic.onnx", model(11, ["batch", 12, "h", "w"]))
write("onnx_info", "split13.onnx", model(13, [1, 12, 512, 512], split=True))

# --- redact: GDAL and curl messages -------------------------------------------------------------
write("redact", "http_code", "HTTP response code on https://a.blob.core.windows.net/c/B02.tif"
                             "?st=1&se=2&sp=rl&sig=abc%3D: 403")
write("redact", "vsicurl", "/vsicurl/https://user:pw@h:8080/x.tif?sig=zz#f failed: 'x'")
write("redact", "bare", "curl: token st=1&sig=abc&sv=2 leaked\thttp://h/p")
write("redact", "plain", "HTTP error code : 503")

# --- region_file: vector files (first byte: the format, as fuzz/region_file_fuzz.cpp numbers them)
FORMATS = ["geojson", "json", "topojson", "geojsons", "gpkg", "kml", "fgb", "shp.zip", "gml", "gpx",
           "csv"]


def small_sqlite(data):
    import sqlite3
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        name = os.path.join(tmp, "seed.gpkg")
        with open(name, "wb") as f:
            f.write(data)
        db = sqlite3.connect(name)
        db.execute("PRAGMA page_size=512")
        db.execute("VACUUM")
        db.close()
        with open(name, "rb") as f:
            return f.read()


def vector_seeds():
    from osgeo import gdal, ogr, osr
    gdal.UseExceptions()
    drivers = {"geojson": "GeoJSON", "geojsons": "GeoJSONSeq", "gpkg": "GPKG", "kml": "KML",
               "fgb": "FlatGeobuf", "shp.zip": "ESRI Shapefile", "gml": "GML"}
    utm = osr.SpatialReference()
    utm.ImportFromEPSG(32633)
    lonlat = osr.SpatialReference()
    lonlat.ImportFromEPSG(4326)
    for ext, driver in drivers.items():
        for crs_name, srs, wkt in [
                ("lonlat", lonlat, "POLYGON ((14 50, 14.05 50, 14.05 50.04, 14 50.04, 14 50))"),
                ("utm", utm, "CURVEPOLYGON (CIRCULARSTRING (400000 5600000, 400500 5600500, "
                             "401000 5600000, 400500 5599500, 400000 5600000))")]:
            if crs_name == "utm" and driver in ("KML", "GeoJSONSeq"):
                continue  # lon/lat only
            path = f"/vsimem/seed/region.{ext}"
            ds = gdal.GetDriverByName(driver).Create(path, 0, 0, 0, gdal.GDT_Unknown)
            layer = ds.CreateLayer("fields", srs=srs, geom_type=ogr.wkbUnknown)
            layer.CreateField(ogr.FieldDefn("name", ogr.OFTString))
            feature = ogr.Feature(layer.GetLayerDefn())
            feature.SetField("name", "field 1")
            feature.SetGeometry(ogr.CreateGeometryFromWkt(wkt))
            layer.CreateFeature(feature)
            feature = None
            ds = None
            files = sorted(p for p in (gdal.ReadDirRecursive("/vsimem/seed") or []))
            if ext == "shp.zip":  # the Shapefile's .shp, .shx, .dbf and .prj in one zip
                zip_path = "/vsimem/seed.zip"
                for name in files:
                    data = gdal.VSIFReadL(1, 1 << 24, gdal.VSIFOpenL(f"/vsimem/seed/{name}", "rb"))
                    out = gdal.VSIFOpenL(f"/vsizip/{zip_path}/{name}", "wb")
                    gdal.VSIFWriteL(data, 1, len(data), out)
                    gdal.VSIFCloseL(out)
                path = zip_path
            f = gdal.VSIFOpenL(path, "rb")
            gdal.VSIFSeekL(f, 0, 2)
            size = gdal.VSIFTellL(f)
            gdal.VSIFSeekL(f, 0, 0)
            data = gdal.VSIFReadL(1, size, f)
            gdal.VSIFCloseL(f)
            if driver == "GPKG":  # SQLite's smallest pages: a seed well under the fuzzers' max_len
                data = small_sqlite(data)
            write("region_file", f"{ext.replace('.', '_')}_{crs_name}",
                  bytes([FORMATS.index(ext)]) + data)
            for name in gdal.ReadDirRecursive("/vsimem/seed") or []:
                gdal.Unlink(f"/vsimem/seed/{name}")
            if ext == "shp.zip":
                gdal.Unlink("/vsimem/seed.zip")
    write("region_file", "json_esri", bytes([FORMATS.index("json")]) + json.dumps({
        "geometryType": "esriGeometryPolygon", "spatialReference": {"wkid": 4326},
        "fields": [{"name": "name", "type": "esriFieldTypeString"}],
        "features": [{"attributes": {"name": "f"}, "geometry": {"rings": [RING]}}]}).encode())
    write("region_file", "topojson", bytes([FORMATS.index("topojson")]) + json.dumps({
        "type": "Topology", "objects": {"fields": {"type": "GeometryCollection", "geometries": [
            {"type": "Polygon", "arcs": [[0]], "properties": {"name": "f"}}]}},
        "arcs": [RING]}).encode())
    write("region_file", "csv_wkt", bytes([FORMATS.index("csv")]) + (
        'WKT,name\n"POLYGON ((14 50,14.05 50,14.05 50.04,14 50.04,14 50))",f\n').encode())
    write("region_file", "gpx_route", bytes([FORMATS.index("gpx")]) + (
        '<?xml version="1.0"?><gpx version="1.1" creator="s"><rte><rtept lat="50" lon="14"/>'
        '<rtept lat="50.04" lon="14.05"/></rte></gpx>').encode())
    write("region_file", "kml_multigeometry", bytes([FORMATS.index("kml")]) + (
        '<?xml version="1.0"?><kml xmlns="http://www.opengis.net/kml/2.2"><Document><Placemark>'
        '<name>f</name><MultiGeometry><Polygon><outerBoundaryIs><LinearRing><coordinates>'
        '14,50 14.05,50 14.05,50.04 14,50.04 14,50</coordinates></LinearRing></outerBoundaryIs>'
        '</Polygon><Point><coordinates>14,50</coordinates></Point></MultiGeometry></Placemark>'
        '</Document></kml>').encode())


vector_seeds()

# --- plan_file: plan.json as `s2prep plan` writes it, and per-feature indexes ----------------------
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "CMakeLists.txt")) as f:
    VERSION = next(line.split("VERSION")[1].split()[0] for line in f if line.startswith("project("))


def plan(items):
    grid = {"epsg": 32633, "transform": [399960.0, 10.0, 0.0, 5600040.0, 0.0, -10.0],
            "width": 360, "height": 450}
    return {
        "s2prep_plan": 1, "s2prep_version": VERSION,
        "request": {"geometry": "POLYGON ((14 50,14.05 50,14.05 50.04,14 50.04,14 50))",
                    "start": "2023-06-01T00:00:00Z", "end": "2023-06-30T00:00:00Z",
                    "stac_url": "https://planetarycomputer.microsoft.com/api/stac/v1",
                    "token_url": "none", "sign_hosts": ["blob.core.windows.net"],
                    "collection": "sentinel-2-l2a", "max_cloud_cover": None},
        "parameters": {"min_tile_cover": 0.4, "max_tiles_per_time": None, "cloud_thr": 0.5,
                       "shadow_thr": 0.5, "in_memory": False, "cloud_model": "auto",
                       "shadow_model": "auto", "pc_key": None, "dl_timeout": 60.0},
        "options": {"layout": "grid", "full_tile": False, "keep_probabilities": False,
                    "engine": "auto", "harmonize": True, "dilation": 1, "min_area": 0,
                    "context": 64, "quicklook": False},
        "models": {"cloud": {"spec": "auto", "name": "builtin-cloud", "sha256": "0" * 64,
                             "engine": "onednn"},
                   "shadow": {"spec": "auto", "name": "builtin-shadow", "sha256": "1" * 64,
                              "engine": "onednn"}},
        "search": {"complete": True, "warnings": [], "items_found": len(items)},
        "items": items,
        "units": [{"unit": i, "name": f"2023-06-{1 + i:02d}", "datetime": it["properties"]["datetime"],
                   "items": [it["id"]], "tiles": ["33UUP"], "grid": grid,
                   "memory_bytes": 123456789} for i, it in enumerate(items)]}


write("plan_file", "plan_two_units", json.dumps(plan([item(0), item(1)]), indent=2))
write("plan_file", "plan_empty", json.dumps(plan([])))
write("plan_file", "plan_other_version", json.dumps(dict(plan([item(2)]), s2prep_version="0.0.1")))
write("plan_file", "index_two_features", json.dumps({
    "s2prep_plan": 1, "s2prep_version": VERSION,
    "features": [{"name": "north", "plan": "north/plan.json", "units": 2},
                 {"name": "south", "plan": "south/plan.json", "units": 1}],
    "features_without_outputs": [{"feature": "east", "reason": "no acquisition"}]}))
