"""Reference geometry for the zone lookup's tests: shapely polygons built from the same rings."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from tests.zone_reference import zone_geometries


@pytest.fixture(scope="session")
def shapely_zones() -> tuple[np.ndarray, shapely.STRtree, list[shapely.Geometry]]:
    """(LocationIDs, their tree, their geometries) of the reference polygons."""
    ids, geoms = zone_geometries()
    return np.array(ids), shapely.STRtree(geoms), geoms


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
