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
