"""Reference geometry for the zone lookup's tests: shapely polygons built from the same rings."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from ingestion.trips import zone_points


@pytest.fixture(scope="session")
def shapely_zones() -> tuple[np.ndarray, shapely.STRtree, list[shapely.Geometry]]:
    """(LocationIDs, their tree, their geometries): each LocationID's rings combined by
    symmetric difference, which is the even-odd rule, in longitude/latitude."""
    polygons = zone_points.load_polygons()
    rings: dict[int, list[shapely.Geometry]] = {}
    for i, location_id in enumerate(polygons.ring_location_id):
        a, b = polygons.ring_offsets[i], polygons.ring_offsets[i + 1]
        ring = shapely.Polygon(np.c_[polygons.lon[a:b], polygons.lat[a:b]])
        rings.setdefault(int(location_id), []).append(ring)
    geoms = []
    for parts in rings.values():
        geom = parts[0]
        for part in parts[1:]:
            geom = shapely.symmetric_difference(geom, part)
        geoms.append(geom)
    return np.array(list(rings)), shapely.STRtree(geoms), geoms


def shapely_locate(zones, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """LocationID by shapely's ``within`` (boundary points are in no zone), 0 = none."""
    ids, tree, _ = zones
    point, geom = tree.query(shapely.points(lon, lat), predicate="within")
    out = np.zeros(len(lon), dtype=np.int32)
    out[point] = ids[geom]
    return out


def on_a_border(zones, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Whether each point lies on some zone's boundary (where shapely's answer is none) or
    within 1e-12° (0.1 µm) of it, where shapely's exact predicates and the lookup's floating
    point may part, or inside two zones (the sub-nanometre slivers where neighbours' rings
    overlap, where shapely names both); bench/results/zones.md counts such points."""
    _, tree, geoms = zones
    points = shapely.points(lon, lat)
    boundaries = shapely.STRtree([g.boundary for g in geoms])
    point, _ = boundaries.query(points, predicate="dwithin", distance=1e-12)
    hit = np.zeros(len(lon), dtype=bool)
    hit[point] = True
    inside, _ = tree.query(points, predicate="within")
    hit |= np.bincount(inside, minlength=len(lon)) > 1
    return hit
