"""Convert the TLC's taxi-zone shapefile into the compact file the zone lookup reads.

    .venv/bin/python scripts/taxi_zones_to_npz.py [SHAPEFILE_STEM] [OUT]

Defaults: ``shared/data/taxi_zones/taxi_zones`` beside the checkout (the official
polygons, NAD83 / New York Long Island State Plane feet, EPSG:2263) and
``ingestion/trips/reference/taxi_zones.npz``.

Every vertex is transformed once to WGS84 longitude/latitude with pyproj (the .prj's CRS to
EPSG:4326, ``always_xy``), so the lookup tests points in the space the trip files record them
in and transforms no point. The rings are kept as they are (no simplification, no
reorientation): the lookup uses the even-odd rule over all rings of a LocationID, so outer
rings, holes and the parts of multi-polygon zones need no labels.

The output is byte-for-byte reproducible (fixed zip timestamps, arrays in a fixed order);
``tests/ingestion/zones/test_data.py`` rebuilds it and compares. Needs the dev extras
(pyshp, pyproj), not needed at run time.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import json
import sys
import zipfile
from pathlib import Path

import numpy as np
import pyproj
import shapefile

ROOT = Path(__file__).resolve().parents[1]
# shared/ sits beside the checkout (a clone) or two levels up (a worktree under wt/).
SHARED_STEMS = [base / "shared" / "data" / "taxi_zones" / "taxi_zones" for base in ROOT.parents[:2]]
DEFAULT_OUT = ROOT / "ingestion" / "trips" / "reference" / "taxi_zones.npz"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def convert(stem: Path) -> dict[str, np.ndarray]:
    """The arrays of the output file, from the shapefile at ``stem`` (.shp/.shx/.dbf/.prj)."""
    reader = shapefile.Reader(str(stem))
    crs = pyproj.CRS.from_wkt(stem.with_suffix(".prj").read_text())
    transformer = pyproj.Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    ring_location, ring_object, offsets, xs, ys = [], [], [0], [], []
    for record, shape in zip(reader.records(), reader.shapes(), strict=True):
        if shape.shapeType != shapefile.POLYGON:
            raise SystemExit(f"feature {record['OBJECTID']}: shape type {shape.shapeType}")
        points = np.asarray(shape.points, dtype=np.float64)
        parts = [*shape.parts, len(points)]
        for start, end in itertools.pairwise(parts):
            ring = points[start:end]
            if len(ring) < 4 or not np.array_equal(ring[0], ring[-1]):
                raise SystemExit(f"feature {record['OBJECTID']}: a ring that is not closed")
            xs.append(ring[:, 0])
            ys.append(ring[:, 1])
            offsets.append(offsets[-1] + len(ring))
            ring_location.append(int(record["LocationID"]))
            ring_object.append(int(record["OBJECTID"]))
    x = np.concatenate(xs)
    y = np.concatenate(ys)
    lon, lat = transformer.transform(x, y)
    meta = {
        "source": "TLC taxi_zones shapefile (NYC TLC, public reference data)",
        "sha256": {p.suffix: _sha256(p) for p in sorted(stem.parent.glob(stem.name + ".*"))},
        "source_crs": crs.name,
        "transform": transformer.description,
        "pyproj": pyproj.__version__,
        "proj": pyproj.proj_version_str,
    }
    return {
        "ring_location_id": np.asarray(ring_location, dtype=np.int32),
        "ring_object_id": np.asarray(ring_object, dtype=np.int32),
        "ring_offsets": np.asarray(offsets, dtype=np.int64),
        "lon": np.asarray(lon, dtype=np.float64),
        "lat": np.asarray(lat, dtype=np.float64),
        "x_ft": x,
        "y_ft": y,
        "meta": np.frombuffer(json.dumps(meta, sort_keys=True).encode(), dtype=np.uint8),
    }


def write_npz(arrays: dict[str, np.ndarray], out: Path) -> None:
    """An .npz that ``numpy.load`` reads, with fixed timestamps so the bytes reproduce."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, array in arrays.items():
            member = io.BytesIO()
            np.lib.format.write_array(member, np.ascontiguousarray(array), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, member.getvalue(), compresslevel=9)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(buffer.getvalue())


def main(argv: list[str]) -> None:
    found = [s for s in SHARED_STEMS if s.with_suffix(".shp").exists()]
    if not argv and not found:
        raise SystemExit(f"no taxi_zones.shp in {', '.join(str(s.parent) for s in SHARED_STEMS)}")
    stem = Path(argv[0]) if argv else found[0]
    out = Path(argv[1]) if len(argv) > 1 else DEFAULT_OUT
    arrays = convert(stem)
    write_npz(arrays, out)
    rings = len(arrays["ring_location_id"])
    ids = len(np.unique(arrays["ring_location_id"]))
    features = len(np.unique(arrays["ring_object_id"]))
    print(
        f"{out}: {features} features, {ids} LocationIDs, {rings} rings, "
        f"{len(arrays['lon']):,} vertices, {out.stat().st_size:,} bytes"
    )


if __name__ == "__main__":
    main(sys.argv[1:])
