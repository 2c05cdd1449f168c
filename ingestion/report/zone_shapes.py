"""Convert the TLC's taxi-zone shapefile into what the project ships.

``python -m ingestion.report.zone_shapes [SHAPEFILE_STEM]`` (default: the nearest
``shared/data/taxi_zones/taxi_zones`` beside the checkout or above it) writes two generated
files:

- ``ingestion/report/taxi_zones.geojson``: the zone polygons in WGS 84 (lon/lat), simplified
  (Douglas-Peucker, ``TOLERANCE_FEET`` in the state-plane feet of the source) and rounded to
  five decimals (about 1 m), one feature per LocationID, outer rings clockwise as d3-geo
  (Vega) wants them, for the report's choropleth.
- ``ingestion/trips/zone_table.py``: each zone's centroid and area in state-plane miles, with
  the TLC's zone lookup as shipped in ``ingestion/trips/reference/taxi_zone_lookup.csv``; the
  trips generator draws origins, destinations and distances from it. It is Python rather than
  a data file so that a plain (non-editable) install carries it.

The source is NAD83 / New York Long Island State Plane, US feet (EPSG:2263). Its
``LocationID`` field repeats 56 and 103 on the records the lookup calls 57, 104 and 105;
``OBJECTID`` equals the lookup's id on every record, so it is the key used here. Needs the
dev dependencies pyshp and pyproj; nothing at run time does.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[2]
SHARED_STEM = Path("shared", "data", "taxi_zones", "taxi_zones")
GEOJSON = Path(__file__).with_name("taxi_zones.geojson")
ZONE_TABLE = REPO / "ingestion" / "trips" / "zone_table.py"
LOOKUP = REPO / "ingestion" / "trips" / "reference" / "taxi_zone_lookup.csv"
TOLERANCE_FEET = 80.0
FEET_PER_MILE = 5280.0

Ring = np.ndarray  # (n, 2) float64, closed (first point == last point)


def simplify(ring: Ring, tolerance: float) -> Ring:
    """Douglas-Peucker on one closed ring; keeps at least four points (a triangle)."""
    if len(ring) <= 4:
        return ring
    keep = np.zeros(len(ring), dtype=bool)
    keep[0] = keep[-1] = True
    # A closed ring has no chord between its ends: split it at its farthest point first.
    far = int(np.argmax(np.hypot(*(ring - ring[0]).T)))
    keep[far] = True
    stack = [(0, far), (far, len(ring) - 1)]
    while stack:
        start, end = stack.pop()
        if end - start < 2:
            continue
        a, b = ring[start], ring[end]
        segment = b - a
        points = ring[start + 1 : end]
        length = float(np.hypot(*segment))
        if length == 0:
            distances = np.hypot(*(points - a).T)
        else:
            offsets = points - a
            cross = segment[0] * offsets[:, 1] - segment[1] * offsets[:, 0]
            distances = np.abs(cross) / length
        index = int(np.argmax(distances))
        if distances[index] > tolerance:
            middle = start + 1 + index
            keep[middle] = True
            stack += [(start, middle), (middle, end)]
    kept = ring[keep]
    return kept if len(kept) >= 4 else ring[np.linspace(0, len(ring) - 1, 4).astype(int)]


def _signed_area_and_centroid(ring: Ring) -> tuple[float, np.ndarray]:
    x, y = ring[:-1, 0], ring[:-1, 1]
    x1, y1 = ring[1:, 0], ring[1:, 1]
    cross = x * y1 - x1 * y
    area = cross.sum() / 2
    if area == 0:
        return 0.0, ring[:-1].mean(axis=0)
    centroid = np.array([((x + x1) * cross).sum(), ((y + y1) * cross).sum()]) / (6 * area)
    return float(area), centroid


def _polygons(geometry: dict[str, Any]) -> list[list[Ring]]:
    """A Polygon or MultiPolygon as a list of polygons, each a list of rings (outer first)."""
    coords = geometry["coordinates"]
    polygons = [coords] if geometry["type"] == "Polygon" else coords
    return [[np.asarray(ring, dtype=np.float64) for ring in polygon] for polygon in polygons]


def convert(source: Path) -> tuple[dict[str, Any], dict[int, tuple[float, float, float]]]:
    """The GeoJSON feature collection and {id: (x_mi, y_mi, area_sq_mi)} from the shapefile."""
    import pyproj
    import shapefile

    reader = shapefile.Reader(str(source))
    to_wgs84 = pyproj.Transformer.from_crs("EPSG:2263", "EPSG:4326", always_xy=True)
    parts: dict[int, list[list[Ring]]] = defaultdict(list)
    names: dict[int, tuple[str, str]] = {}
    for shape_record in reader.iterShapeRecords():
        record = shape_record.record
        location_id = int(record["OBJECTID"])
        parts[location_id] += _polygons(shape_record.shape.__geo_interface__)
        names[location_id] = (str(record["zone"]), str(record["borough"]))
    features = []
    centroids: dict[int, tuple[float, float, float]] = {}
    for location_id in sorted(parts):
        total_area, weighted = 0.0, np.zeros(2)
        polygons = []
        for polygon in parts[location_id]:
            rings: list[list[list[float]]] = []
            for ring in polygon:
                area, centroid = _signed_area_and_centroid(ring)
                total_area += area
                weighted += area * centroid
                small = simplify(ring, TOLERANCE_FEET)
                # d3-geo (Vega's maps) reads a ring's winding on the sphere: an outer ring
                # runs clockwise, a hole counter-clockwise, or it covers the rest of the globe.
                outer = not rings
                if (_signed_area_and_centroid(small)[0] > 0) == outer:
                    small = small[::-1]
                lon, lat = to_wgs84.transform(small[:, 0], small[:, 1])
                pairs = zip(lon, lat, strict=True)
                rings.append([[round(float(x), 5), round(float(y), 5)] for x, y in pairs])
            polygons.append(rings)
        x, y = weighted / total_area
        centroids[location_id] = (
            round(float(x) / FEET_PER_MILE, 4),
            round(float(y) / FEET_PER_MILE, 4),
            round(abs(total_area) / FEET_PER_MILE**2, 4),
        )
        zone, borough = names[location_id]
        geometry: dict[str, Any] = (
            {"type": "Polygon", "coordinates": polygons[0]}
            if len(polygons) == 1
            else {"type": "MultiPolygon", "coordinates": polygons}
        )
        features.append(
            {
                "type": "Feature",
                "id": location_id,
                "properties": {"location_id": location_id, "zone": zone, "borough": borough},
                "geometry": geometry,
            }
        )
    return {"type": "FeatureCollection", "features": features}, centroids


def zone_table_source(lookup_text: str, centroids: dict[int, tuple[float, float, float]]) -> str:
    """The text of ``ingestion/trips/zone_table.py``."""
    rows = "\n".join(f"    {key}: {value!r}," for key, value in sorted(centroids.items()))
    if not lookup_text.endswith("\r\n"):
        raise ValueError("the TLC's zone lookup has CRLF line ends; the copy lost them")
    lines = "\n".join(f"    {line!r}," for line in lookup_text.removesuffix("\r\n").split("\r\n"))
    return (
        '"""The TLC taxi zones as data: the lookup and each zone\'s centroid and area.\n\n'
        "Generated by ``python -m ingestion.report.zone_shapes`` from the TLC's\n"
        "taxi_zone_lookup.csv (ingestion/trips/reference/) and taxi-zone polygons\n"
        "(EPSG:2263); do not edit. Centroids and areas are in New York Long Island State Plane\n"
        "miles, so the distance between two centroids is a straight-line distance in miles.\n"
        '264 (Unknown) and 265 (Outside of NYC) have no polygon.\n"""\n\n'
        "# fmt: off\n"
        "# taxi_zone_lookup.csv line by line (the TLC's file: CRLF line ends, no quotes)\n"
        f"LOOKUP_LINES = (\n{lines}\n)\n"
        'LOOKUP_CSV = "\\r\\n".join(LOOKUP_LINES) + "\\r\\n"\n\n'
        "# LocationID: (x_miles, y_miles, area_square_miles)\n"
        "CENTROIDS: dict[int, tuple[float, float, float]] = {\n"
        f"{rows}\n"
        "}\n"
        "# fmt: on\n"
    )


def default_source() -> Path:
    """The shared shapefile beside the checkout or beside one of its parent folders."""
    for folder in REPO.parents:
        if (folder / SHARED_STEM).with_suffix(".shp").exists():
            return folder / SHARED_STEM
    return REPO.parent / SHARED_STEM


def main() -> None:
    """Write the GeoJSON and the zone table from the shapefile."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("source", nargs="?", type=Path, default=default_source())
    args = parser.parse_args()
    collection, centroids = convert(args.source)
    GEOJSON.write_text(json.dumps(collection, separators=(",", ":")) + "\n")
    lookup = LOOKUP.read_bytes().decode("utf-8")
    ZONE_TABLE.write_text(zone_table_source(lookup, centroids))
    print(f"{GEOJSON} ({GEOJSON.stat().st_size:,} bytes), {ZONE_TABLE}")


if __name__ == "__main__":
    main()
