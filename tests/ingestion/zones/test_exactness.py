"""The fast path against the rule itself and against shapely, on the same lon/lat rings."""

from __future__ import annotations

import numpy as np
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from ingestion.trips import zone_points
from ingestion.trips.zone_points import locate, reference_locate
from tests.ingestion.zones.conftest import on_a_border, shapely_locate

POLYGONS = zone_points.load_polygons()
WEST, EAST = float(POLYGONS.lon.min()), float(POLYGONS.lon.max())
SOUTH, NORTH = float(POLYGONS.lat.min()), float(POLYGONS.lat.max())


def _shared_vertices() -> tuple[np.ndarray, np.ndarray, list[set[int]]]:
    owners: dict[tuple[float, float], set[int]] = {}
    for i, location_id in enumerate(POLYGONS.ring_location_id):
        a, b = POLYGONS.ring_offsets[i], POLYGONS.ring_offsets[i + 1] - 1
        for x, y in zip(POLYGONS.lon[a:b], POLYGONS.lat[a:b], strict=True):
            owners.setdefault((float(x), float(y)), set()).add(int(location_id))
    shared = [(k, v) for k, v in owners.items() if len(v) >= 2]
    lon = np.array([k[0] for k, _ in shared])
    lat = np.array([k[1] for k, _ in shared])
    return lon, lat, [v for _, v in shared]


def test_200k_points_over_the_city_agree_with_shapely(shapely_zones):
    rng = np.random.default_rng(20260101)
    lon = rng.uniform(WEST, EAST, 200_000)
    lat = rng.uniform(SOUTH, NORTH, 200_000)
    fast = locate(lon, lat).location_id
    assert np.array_equal(fast, shapely_locate(shapely_zones, lon, lat))
    assert 0.3 < (fast > 0).mean() < 0.5  # the bounding box is 38 % land


def test_points_on_and_near_borders_follow_the_rule(shapely_zones):
    """Shared vertices, and points 1e-9° (0.1 mm) and 1e-7° off them in 8 directions."""
    lon, lat, _ = _shared_vertices()
    rng = np.random.default_rng(3)
    pick = rng.choice(len(lon), 500, replace=False)
    angles = np.arange(8) * np.pi / 4
    offsets = [0.0, 1e-9, 1e-7]
    dx = np.concatenate([r * np.cos(angles) for r in offsets])
    dy = np.concatenate([r * np.sin(angles) for r in offsets])
    px = (lon[pick][:, None] + dx[None, :]).ravel()
    py = (lat[pick][:, None] + dy[None, :]).ravel()
    fast = locate(px, py).location_id
    assert np.array_equal(fast, reference_locate(px, py))
    border = on_a_border(shapely_zones, px, py)
    assert border.sum() >= 500  # the vertices themselves at least
    assert np.array_equal(fast[~border], shapely_locate(shapely_zones, px, py)[~border])


def test_a_point_on_a_shared_border_belongs_to_the_zone_east_of_it(shapely_zones):
    lon, lat, _ = _shared_vertices()
    at = locate(lon, lat).location_id
    east = locate(np.nextafter(lon, np.inf), lat).location_id
    assert np.array_equal(at, east)
    # ... and to a zone whose border it is on (a vertex of two zones can lie on a third's edge)
    ids, _, geoms = shapely_zones
    index = {int(z): i for i, z in enumerate(ids)}
    for x, y, z in zip(lon, lat, at, strict=True):
        if z:
            assert geoms[index[int(z)]].distance(shapely.Point(x, y)) < 1e-12
    # Midtown Center (161) and Midtown East (162) share Lexington Avenue's east-west streets:
    # the vertex at Lexington and 49th belongs to 162, the zone east of it.
    point = np.array([-73.97534377999993]), np.array([40.7552996950001])
    assert locate(*point).location_id.tolist() == [162]
    assert locate(point[0] - 1e-7, point[1]).location_id.tolist() == [161]


def test_every_part_of_a_multi_polygon_zone_and_every_hole(shapely_zones):
    """The shapefile has no holes today (checked: 0 interior rings); the loop covers them if
    a later release adds some."""
    ids, _, geoms = shapely_zones
    parts_checked = holes_checked = 0
    for location_id, geom in zip(ids, geoms, strict=True):
        if geom.geom_type != "MultiPolygon" and not len(geom.interiors):
            continue
        for part in getattr(geom, "geoms", [geom]):
            inside = part.representative_point()
            assert locate(np.array([inside.x]), np.array([inside.y])).location_id[0] == (
                location_id
            )
            parts_checked += 1
            for hole in part.interiors:
                in_hole = shapely.Polygon(hole).representative_point()
                found = locate(np.array([in_hole.x]), np.array([in_hole.y])).location_id[0]
                assert found != location_id
                assert (
                    found
                    == shapely_locate(shapely_zones, np.array([in_hole.x]), np.array([in_hole.y]))[
                        0
                    ]
                )
                holes_checked += 1
    assert parts_checked >= 100 and holes_checked == 0
    # The shapefile's three island features (Governors, Ellis, Liberty) are all LocationID 103.
    islands = np.array([-74.0165, -74.0396, -74.0445]), np.array([40.6895, 40.6990, 40.6892])
    assert locate(*islands).location_id.tolist() == [103, 103, 103]


near_vertex = st.tuples(
    st.integers(0, len(POLYGONS.lon) - 1),
    st.floats(-1e-6, 1e-6),
    st.floats(-1e-6, 1e-6),
).map(lambda t: (POLYGONS.lon[t[0]] + t[1], POLYGONS.lat[t[0]] + t[2]))
anywhere = st.tuples(st.floats(WEST - 0.01, EAST + 0.01), st.floats(SOUTH - 0.01, NORTH + 0.01))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(anywhere, near_vertex), min_size=1, max_size=40))
def test_random_points_match_the_rule_and_shapely(shapely_zones, points):
    lon = np.array([p[0] for p in points], dtype=np.float64)
    lat = np.array([p[1] for p in points], dtype=np.float64)
    fast = locate(lon, lat).location_id
    assert np.array_equal(fast, reference_locate(lon, lat))
    border = on_a_border(shapely_zones, lon, lat)
    assert np.array_equal(fast[~border], shapely_locate(shapely_zones, lon, lat)[~border])
