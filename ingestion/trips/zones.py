"""The taxi zone lookup: 265 zones with TLC's real ids for the airports and unknown zones.

Zone names are synthetic apart from a few landmarks; the ids the insights depend on are
real: 1 Newark Airport (borough EWR), 132 JFK Airport and 138 LaGuardia Airport (Queens),
264 Unknown and 265 Outside of NYC. Borough sizes follow the real lookup's proportions.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

ZONE_LOOKUP_FILE = "taxi_zone_lookup.csv"
NEWARK, JFK, LAGUARDIA = 1, 132, 138
AIRPORT_ZONES = (NEWARK, JFK, LAGUARDIA)
UNKNOWN_ZONES = (264, 265)

# Manhattan's ids in the TLC lookup (69 zones, most of the yellow taxi market).
MANHATTAN = (
    4, 12, 13, 24, 41, 42, 43, 45, 48, 50, 68, 74, 75, 79, 87, 88, 90, 100, 103, 104, 105,
    107, 113, 114, 116, 120, 125, 127, 128, 137, 140, 141, 142, 143, 144, 148, 151, 152, 153,
    158, 161, 162, 163, 164, 166, 170, 186, 194, 202, 209, 211, 224, 229, 230, 231, 232, 233,
    234, 236, 237, 238, 239, 243, 244, 246, 249, 261, 262, 263,
)  # fmt: skip
_LANDMARKS = {
    NEWARK: "Newark Airport",
    JFK: "JFK Airport",
    LAGUARDIA: "LaGuardia Airport",
    161: "Midtown Center",
    162: "Midtown East",
    186: "Penn Station/Madison Sq West",
    230: "Times Sq/Theatre District",
    236: "Upper East Side North",
    237: "Upper East Side South",
    264: "Unknown",
    265: "Outside of NYC",
}
# Remaining ids go to the outer boroughs in these shares (real lookup: 69/61/43/20 of 193).
_OUTER_BOROUGHS = (("Queens", 67), ("Brooklyn", 61), ("Bronx", 43), ("Staten Island", 20))


@dataclass(frozen=True)
class Zone:
    location_id: int
    borough: str
    zone: str
    service_zone: str


def build_zones() -> list[Zone]:
    """All 265 zones, in id order."""
    outer_ids = [i for i in range(2, 264) if i not in MANHATTAN and i not in (JFK, LAGUARDIA)]
    boroughs: dict[int, str] = {i: "Manhattan" for i in MANHATTAN}
    boroughs.update({NEWARK: "EWR", JFK: "Queens", LAGUARDIA: "Queens"})
    start = 0
    for borough, count in _OUTER_BOROUGHS:
        for location_id in outer_ids[start : start + count]:
            boroughs[location_id] = borough
        start += count
    boroughs.update({264: "Unknown", 265: "N/A"})

    zones = []
    for location_id in range(1, 266):
        borough = boroughs[location_id]
        name = _LANDMARKS.get(location_id, f"{borough} Zone {location_id}")
        zones.append(Zone(location_id, borough, name, _service_zone(location_id, borough)))
    return zones


def _service_zone(location_id: int, borough: str) -> str:
    if location_id == NEWARK:
        return "EWR"
    if location_id in (JFK, LAGUARDIA):
        return "Airports"
    if borough in ("Unknown", "N/A"):
        return "N/A"
    return "Yellow Zone" if borough == "Manhattan" else "Boro Zone"


def write_zone_lookup(directory: Path) -> Path:
    """Write ``taxi_zone_lookup.csv`` with the TLC's header into ``directory``.

    An identical file is left untouched, so its fingerprint (size and mtime) does not change
    and the pipeline does not reload it.
    """
    path = directory / ZONE_LOOKUP_FILE
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["LocationID", "Borough", "Zone", "service_zone"])
    for zone in build_zones():
        writer.writerow([zone.location_id, zone.borough, zone.zone, zone.service_zone])
    content = buffer.getvalue()
    if not path.exists() or path.read_text() != content:
        path.write_text(content)
    return path
