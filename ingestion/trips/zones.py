"""The TLC taxi zones: the real lookup (265 zones) and where each zone lies.

The lookup is the TLC's ``taxi_zone_lookup.csv`` (shipped in ``ingestion/trips/reference/`` and, for
installed copies, in ``zone_table.py``): 1 Newark Airport (borough EWR), 132 JFK Airport and
138 LaGuardia Airport (Queens), 264 Unknown and 265 Outside of NYC. Each zone with a polygon
has its centroid and area in New York State Plane miles (``zone_table.CENTROIDS``), from which
the generator takes distances between zones.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from ingestion.trips.zone_table import CENTROIDS, LOOKUP_CSV

ZONE_LOOKUP_FILE = "taxi_zone_lookup.csv"
NEWARK, JFK, LAGUARDIA = 1, 132, 138
AIRPORT_ZONES = (NEWARK, JFK, LAGUARDIA)
UNKNOWN, OUTSIDE_NYC = 264, 265
UNKNOWN_ZONES = (UNKNOWN, OUTSIDE_NYC)
ZONE_COUNT = 265
# Islands without streets: part of Manhattan in the lookup, inside neither charging zone.
_ISLANDS = (103, 104, 105, 194, 202)
# Manhattan south of 60th Street (the MTA's Congestion Relief Zone) and south of 96th Street
# (the State's congestion surcharge), cut by where the zone's centroid lies along the avenues,
# which run 29 degrees east of north (State Plane miles; 60th Street falls between Midtown
# North and Lincoln Square, 96th between the Upper East Side North and East Harlem South).
_GRID = math.radians(29)
_CRZ_NORTH = 127.2
_SURCHARGE_NORTH = 129.0


@dataclass(frozen=True)
class Zone:
    location_id: int
    borough: str
    zone: str
    service_zone: str
    x_miles: float | None = None
    y_miles: float | None = None
    area_square_miles: float | None = None

    @property
    def in_congestion_relief_zone(self) -> bool:
        """Manhattan south of 60th Street: the MTA's fee from 5 January 2025."""
        return self._manhattan_south_of(_CRZ_NORTH)

    @property
    def in_congestion_surcharge_zone(self) -> bool:
        """Manhattan south of 96th Street: New York State's congestion surcharge."""
        return self._manhattan_south_of(_SURCHARGE_NORTH)

    def _manhattan_south_of(self, along_avenues: float) -> bool:
        if self.borough != "Manhattan" or self.location_id in _ISLANDS:
            return False
        if self.x_miles is None or self.y_miles is None:
            return False
        position = self.x_miles * math.sin(_GRID) + self.y_miles * math.cos(_GRID)
        return position < along_avenues


@cache
def build_zones() -> tuple[Zone, ...]:
    """All 265 zones of the TLC's lookup, in id order."""
    zones = []
    for row in csv.DictReader(io.StringIO(LOOKUP_CSV)):
        location_id = int(row["LocationID"])
        x, y, area = CENTROIDS.get(location_id, (None, None, None))
        zones.append(
            Zone(location_id, row["Borough"], row["Zone"], row["service_zone"], x, y, area)
        )
    if [z.location_id for z in zones] != list(range(1, ZONE_COUNT + 1)):
        raise ValueError("the zone lookup must hold ids 1..265 in order")
    return tuple(zones)


MANHATTAN = tuple(z.location_id for z in build_zones() if z.borough == "Manhattan")


def write_zone_lookup(directory: Path) -> Path:
    """Write the TLC's ``taxi_zone_lookup.csv`` (byte for byte, CRLF) into ``directory``.

    An identical file is left untouched, so its fingerprint (size and mtime) does not change
    and the pipeline does not reload it.
    """
    path = directory / ZONE_LOOKUP_FILE
    content = LOOKUP_CSV.encode("utf-8")
    if not path.exists() or path.read_bytes() != content:
        path.write_bytes(content)
    return path
