"""The seed of the Congestion Relief Zone's taxi zones, checked against the zone polygons.

The MTA's zone is Manhattan south of and including 60th Street. No polygon holds streets, so
the street is drawn from one that does follow the grid: Central Park's south edge runs along
59th Street (Central Park South), and 60th Street's north curb lies one block north of it
(a block and its street are 260 ft, 79 m). The avenues' bearing comes from the park's
rectangle too. A zone belongs to the seed when more than half of its area lies south of that
line (the rule in ``seeds/_seeds.yml``); islands without Manhattan's streets never do.
"""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest
import shapely

from ingestion.trips.zones import build_zones
from tests.helpers import REPO

SEED = REPO / "seeds" / "congestion_relief_zones.csv"
CENTRAL_PARK = 43
ISLANDS = {103, 104, 105, 202}  # Governor's/Ellis/Liberty Islands, Roosevelt Island
BLOCK_M = 79.0
NORTH_CURB_M = 73.0  # 60th Street's north curb, north of the park's south wall
_LAT0 = 40.75


def _metres(geom: shapely.Geometry) -> shapely.Geometry:
    """Longitude/latitude to local metres east and north (good to 0.1 % across Manhattan)."""
    scale = np.array([111_320 * math.cos(math.radians(_LAT0)), 110_540])
    return shapely.transform(geom, lambda xy: (xy - [-74.0, _LAT0]) * scale)


@pytest.fixture(scope="module")
def manhattan(
    shapely_zones: tuple[np.ndarray, object, list[shapely.Geometry]],
) -> dict[int, shapely.Geometry]:
    ids, _, geoms = shapely_zones
    borough = {z.location_id: z.borough for z in build_zones()}
    pairs = zip(ids.tolist(), geoms, strict=True)
    return {i: _metres(g) for i, g in pairs if borough[i] == "Manhattan"}


def _south_fractions(manhattan: dict[int, shapely.Geometry], shift_m: float) -> dict[int, float]:
    """Each zone's share of area south of 60th Street's north curb (moved by ``shift_m``)."""
    park = manhattan[CENTRAL_PARK]
    corners = np.array(park.minimum_rotated_rectangle.exterior.coords)
    sides = np.diff(corners, axis=0)
    east, north = sides[np.argmax(np.hypot(sides[:, 0], sides[:, 1]))]
    bearing = math.atan2(east, north)  # the avenues' direction, east of north
    along = np.array([math.sin(bearing), math.cos(bearing)])
    if along[1] < 0:
        along = -along
    position = np.asarray(shapely.get_coordinates(park)) @ along
    line = position.min() + NORTH_CURB_M + shift_m
    across = np.array([along[1], -along[0]])
    far = 100_000.0
    origin = line * along
    south = shapely.Polygon(
        [origin - far * across, origin + far * across,
         origin + far * across - far * along, origin - far * across - far * along]
    )  # fmt: skip
    return {z: g.intersection(south).area / g.area for z, g in manhattan.items()}


def _seed() -> set[int]:
    with SEED.open(newline="") as handle:
        return {int(row["location_id"]) for row in csv.DictReader(handle)}


@pytest.mark.parametrize("shift_blocks", [-1, 0, 1])
def test_the_seed_is_the_manhattan_zones_mostly_south_of_60th_street(
    manhattan: dict[int, shapely.Geometry], shift_blocks: int
) -> None:
    """The answer does not hang on where exactly the line is drawn: the same zones a block
    south or north of the estimate."""
    fractions = _south_fractions(manhattan, shift_blocks * BLOCK_M)
    south = {z for z, f in fractions.items() if f > 0.5 and z not in ISLANDS}
    assert _seed() == south, {z: round(fractions[z], 3) for z in _seed() ^ south}


def test_zones_cut_by_60th_street_lie_mostly_north_of_it(
    manhattan: dict[int, shapely.Geometry],
) -> None:
    """The zones the line cuts (named in the seed's yml) have at most a seventh of their area
    south of it; every seed zone lies wholly south."""
    fractions = _south_fractions(manhattan, 0.0)
    seed = _seed()
    assert all(fractions[z] > 0.999 for z in seed), {z: fractions[z] for z in seed}
    cut = {z for z, f in fractions.items() if 0.001 < f < 0.999 and z not in ISLANDS}
    assert cut == {43, 140, 141, 142, 143, 237}, {z: round(fractions[z], 3) for z in cut}
    assert max(fractions[z] for z in cut) < 1 / 7


def test_the_generator_places_the_fee_in_the_seed_zones() -> None:
    """The generator's own rule (zone centroids along the avenues) agrees with the seed."""
    assert {z.location_id for z in build_zones() if z.in_congestion_relief_zone} == _seed()
