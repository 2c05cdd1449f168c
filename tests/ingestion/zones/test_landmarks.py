"""Known places, the points with no zone, and the status a caller stores."""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
import pytest

from ingestion.trips import zone_points
from ingestion.trips.zone_points import INSIDE, MISSING, NOT_FINITE, OUTSIDE, ZERO, locate


def _one(lon: float, lat: float) -> tuple[int, int]:
    result = locate(np.array([lon]), np.array([lat]))
    return int(result.location_id[0]), int(result.status[0])


@pytest.mark.parametrize(
    ("place", "lon", "lat", "location_id"),
    [
        ("JFK Airport, terminal 4", -73.7822, 40.6441, 132),
        ("Times Square", -73.9855, 40.7580, 230),
        ("Newark Airport, terminal B", -74.1826, 40.6905, 1),
        ("LaGuardia Airport", -73.8740, 40.7769, 138),
        ("Central Park", -73.9654, 40.7829, 43),
        ("Penn Station", -73.9935, 40.7506, 186),
    ],
)
def test_landmarks_fall_in_their_zones(place, lon, lat, location_id):
    assert _one(lon, lat) == (location_id, INSIDE), place


def test_jfk_zone_centroid_is_in_jfk(shapely_zones):
    ids, _, geoms = shapely_zones
    centroid = geoms[list(ids).index(132)].centroid
    assert _one(centroid.x, centroid.y) == (132, INSIDE)


@pytest.mark.parametrize(
    ("lon", "lat", "status"),
    [
        (-74.0120, 40.7600, OUTSIDE),  # the Hudson, between Midtown and Weehawken
        (-74.0500, 40.7400, OUTSIDE),  # Hoboken, New Jersey
        (-73.5000, 40.3000, OUTSIDE),  # the Atlantic
        (0.0, 0.0, ZERO),  # the meters' "no fix"
        (math.nan, 40.75, NOT_FINITE),
        (-73.98, math.inf, NOT_FINITE),
        (40.7580, -73.9855, OUTSIDE),  # Times Square with lon and lat swapped
    ],
)
def test_points_in_no_zone_are_null_with_a_reason(lon, lat, status):
    assert _one(lon, lat) == (0, status)


def test_arrow_input_gives_nulls_and_missing():
    lon = pa.array([-73.9855, None, 0.0, float("nan")], type=pa.float64())
    lat = pa.chunked_array([[40.7580, 40.75], [0.0, 40.75]], type=pa.float64())
    zone, status = locate(lon, lat).to_arrow()
    assert zone.to_pylist() == [230, None, None, None]
    assert status.to_pylist() == [INSIDE, MISSING, ZERO, NOT_FINITE]
    assert [zone_points.STATUS_NAMES[s] for s in status.to_pylist()] == [
        "inside",
        "missing",
        "zero",
        "not_finite",
    ]


def test_float32_and_integer_arrow_inputs_are_cast():
    lon = pa.array([-73.9855], type=pa.float32())
    lat = pa.array([40.7580], type=pa.float32())
    assert locate(lon, lat).location_id.tolist() == [230]


def test_mismatched_lengths_are_refused():
    with pytest.raises(ValueError, match="one length"):
        locate(np.zeros(2), np.zeros(3))


def test_chunks_give_the_same_answer_as_one_pass(monkeypatch):
    rng = np.random.default_rng(5)
    lon = rng.uniform(-74.05, -73.90, 50_000)
    lat = rng.uniform(40.68, 40.82, 50_000)
    whole = locate(lon, lat)
    monkeypatch.setattr(zone_points, "CHUNK_POINTS", 4_099)
    chunked = zone_points.zone_grid().locate(lon, lat)
    assert np.array_equal(whole.location_id, chunked.location_id)
    assert np.array_equal(whole.status, chunked.status)
    assert (whole.status == INSIDE).sum() > 30_000


def test_the_sql_reason_equals_the_status_of_the_lookup():
    import duckdb

    con = duckdb.connect()
    zone_points.register_duckdb(con)
    rng = np.random.default_rng(9)
    n = 20_000
    lon = rng.uniform(-74.3, -73.6, n)
    lat = rng.uniform(40.4, 41.0, n)
    lon[:100], lat[:100] = 0.0, 0.0
    lon[100:200] = np.nan
    lat[200:300] = np.inf
    lon_arrow = pa.array(lon, mask=np.arange(n) % 997 == 0)
    lat_arrow = pa.array(lat, mask=np.arange(n) % 991 == 0)
    con.register("points", pa.table({"lon": lon_arrow, "lat": lat_arrow}))
    sql, other = con.execute(
        """
        select list(tlc_zone_reason(lon, lat, tlc_zone(lon, lat)) order by i),
            list(tlc_zone_status(lon, lat) order by i)
        from (select row_number() over () as i, lon, lat from points)
        """
    ).fetchone()
    assert sql == other
    assert set(sql) == {INSIDE, MISSING, NOT_FINITE, ZERO, OUTSIDE}


def test_duckdb_functions():
    import duckdb

    con = duckdb.connect()
    zone_points.register_duckdb(con)
    rows = con.sql(
        """
        select tlc_zone(lon, lat), tlc_zone_status(lon, lat)
        from (values (-73.9855, 40.7580), (0, 0), (null, 40.7), ('nan'::double, 40.7),
                     (-74.0120, 40.7600)) t(lon, lat)
        """
    ).fetchall()
    both = con.execute(
        "select tlc_zone_lookup(-73.9855, 40.7580), tlc_zone_lookup(0, 0)"
    ).fetchone()
    assert both == ({"location_id": 230, "status": INSIDE}, {"location_id": None, "status": ZERO})
    assert rows == [
        (230, INSIDE),
        (None, ZERO),
        (None, MISSING),
        (None, NOT_FINITE),
        (None, OUTSIDE),
    ]
