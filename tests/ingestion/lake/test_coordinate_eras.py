"""A coordinate-era file on the lake: zones found from its coordinates, every line accounted.

The yellow 2015-06 file records lon/lat, not LocationIDs; on the lake, as on DuckDB, it is
parsed by Tripline's DuckDB with the zones filled over Arrow batches, and its good rows and
rejects go to the Delta tables. The counts come from the file itself, the zones from
shapely's ``within`` on the zone polygons (not from the lookup under test).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import duckdb
import numpy as np
import shapely

from ingestion.core.settings import Settings
from ingestion.trips.generator import generate
from ingestion.trips.months import Month
from ingestion.trips.pipeline import DATASET, run_trips
from tests.zone_reference import zone_geometries

from .conftest import delta_table

ROWS = 2_000
NAME = "yellow_tripdata_2015-06.csv"


def _shapely_zone(lon: list[float | None], lat: list[float | None]) -> list[int | None]:
    """The LocationID whose polygon holds each point (``within``), else None."""
    ids, geoms = zone_geometries()
    tree = shapely.STRtree(geoms)
    xy = np.array([np.nan if v is None else v for v in [*lon, *lat]], dtype=np.float64)
    points = shapely.points(xy.reshape(2, -1).T)
    found: list[int | None] = [None] * len(lon)
    for point, geom in zip(*tree.query(points, predicate="within"), strict=True):
        found[int(point)] = ids[int(geom)]
    return found


def test_a_coordinate_era_file_loads_to_the_lake_with_zones(
    file_lake_env: Settings, tmp_path: Path
) -> None:
    folder = tmp_path / "tlc"
    generate(folder, [Month(2015, 6)], ROWS, "csv", seed=15, era="archive")
    (folder / "taxi_zone_lookup.csv").unlink()
    path = folder / NAME
    lines = path.read_text().splitlines()
    fields = lines[5].split(",")
    fields[4] = "far"  # trip_distance that is not a number: a reject with its reason
    lines[5] = ",".join(fields)
    lines[9] = "garbage"  # not a row at all
    path.write_text("\n".join(lines) + "\n")
    data_lines = sum(1 for line in lines[1:] if line.strip())

    summary, outcomes = run_trips(file_lake_env, str(folder))

    assert summary.failed_inputs == []
    [trips] = [o for o in outcomes if o.file.name == NAME]
    assert (trips.rows_loaded, trips.rows_rejected) == (data_lines - 2, 2)
    rows = delta_table(file_lake_env, DATASET, "yellow_trips")
    rejects = delta_table(file_lake_env, DATASET, "yellow_trips_rejected")
    assert rows.num_rows + rejects.num_rows == data_lines
    assert sorted(rejects.column("line").to_pylist()) == [6, 10]

    got = rows.select(
        ["pickup_longitude", "pickup_latitude", "pu_location_id", "pu_zone_status",
         "dropoff_longitude", "dropoff_latitude", "do_location_id", "do_zone_status"]
    ).to_pylist()  # fmt: skip
    for end in ("pu", "do"):
        prefix = "pickup" if end == "pu" else "dropoff"
        lon = [r[f"{prefix}_longitude"] for r in got]
        lat = [r[f"{prefix}_latitude"] for r in got]
        assert [r[f"{end}_location_id"] for r in got] == _shapely_zone(lon, lat)
        statuses = {r[f"{end}_zone_status"] for r in got}
        assert statuses <= {"inside", "zero", "outside", "missing"}
        assert "inside" in statuses
    # The zeros of the "no fix" meter reading are kept as written, with no zone.
    assert all(
        r["pu_location_id"] is None
        for r in got
        if r["pickup_longitude"] == 0 and r["pickup_latitude"] == 0
    )

    on_duckdb = dataclasses.replace(file_lake_env, destination="duckdb")
    run_trips(on_duckdb, str(folder))
    query = (
        "select pickup_longitude, pickup_latitude, pu_location_id, pu_zone_status, "
        "do_location_id, do_zone_status, total_amount from {} order by all"
    )
    lake = duckdb.sql(query.format("rows")).fetchall()
    with duckdb.connect(str(on_duckdb.duckdb_path), read_only=True) as con:
        assert lake == con.execute(query.format("raw_tlc.yellow_trips")).fetchall()
