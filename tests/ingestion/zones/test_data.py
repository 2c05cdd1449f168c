"""The shipped polygons: what they hold, and that the conversion script reproduces them."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from ingestion.trips import zone_points

ROOT = Path(__file__).resolve().parents[3]


def test_the_shipped_file_holds_every_feature():
    polygons = zone_points.load_polygons()
    with np.load(zone_points.DATA_FILE) as data:
        features = np.unique(data["ring_object_id"])
    assert len(features) == 263
    assert len(polygons.location_ids) == 260
    # The shapefile's own quirk: features 57, 104, 105 carry LocationIDs 56 and 103.
    assert set(range(1, 264)) - set(polygons.location_ids.tolist()) == {57, 104, 105}
    assert len(polygons.lon) == 98_192
    assert -74.26 < polygons.lon.min() < polygons.lon.max() < -73.70
    assert 40.49 < polygons.lat.min() < polygons.lat.max() < 40.92


def test_the_conversion_script_reproduces_the_file_byte_for_byte(tmp_path):
    pytest.importorskip("shapefile")
    pytest.importorskip("pyproj")
    spec = importlib.util.spec_from_file_location("convert", ROOT / "scripts/taxi_zones_to_npz.py")
    assert spec and spec.loader
    convert = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(convert)
    stems = [s for s in convert.SHARED_STEMS if s.with_suffix(".shp").exists()]
    if not stems:
        pytest.skip("the TLC shapefile (shared/data/taxi_zones) is not beside this checkout")
    out = tmp_path / "taxi_zones.npz"
    convert.write_npz(convert.convert(stems[0]), out)
    assert out.read_bytes() == zone_points.DATA_FILE.read_bytes()


def test_lon_lat_are_the_state_plane_vertices_transformed():
    pyproj = pytest.importorskip("pyproj")
    with np.load(zone_points.DATA_FILE) as data:
        x, y, lon, lat = data["x_ft"], data["y_ft"], data["lon"], data["lat"]
    back = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:2263", always_xy=True)
    bx, by = back.transform(lon, lat)
    assert np.abs(bx - x).max() < 1e-4 and np.abs(by - y).max() < 1e-4  # feet
