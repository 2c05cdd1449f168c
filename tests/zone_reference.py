"""The zone lookup's reference: shapely polygons built from the same rings as the lookup."""

from __future__ import annotations

import functools

import numpy as np
import shapely

from ingestion.trips import zone_points


def zone_geometries() -> tuple[list[int], list[shapely.Geometry]]:
    """(LocationIDs, their geometries): each LocationID's rings combined by symmetric
    difference, which is the even-odd rule, in longitude/latitude."""
    polygons = zone_points.load_polygons()
    rings: dict[int, list[shapely.Geometry]] = {}
    for i, location_id in enumerate(polygons.ring_location_id):
        a, b = polygons.ring_offsets[i], polygons.ring_offsets[i + 1]
        ring = shapely.Polygon(np.c_[polygons.lon[a:b], polygons.lat[a:b]])
        rings.setdefault(int(location_id), []).append(ring)
    geoms = [functools.reduce(shapely.symmetric_difference, parts) for parts in rings.values()]
    return list(rings), geoms
