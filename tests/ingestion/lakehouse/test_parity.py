"""The same dbt project on DuckDB and on Spark (Delta) gives the same marts.

Generated months go through the trips pipeline into DuckDB and dbt builds the TLC layers
there; the same files go through ``tripline pipeline run trips --destination lake`` (a CLI
process of its own) into a local Delta lake (``file://``), and ``dbt build --target spark``
builds the same layers on Spark local (one dbt command, so one Spark session for the whole
test session). Every mart of the TLC lineage is then read from both - DuckDB's table and
Spark's Delta table in its warehouse folder - and compared: the same columns, the same rows,
money to the cent, other floats within a relative 1e-9 (sums and medians in another order).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
import os
import re
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
from deltalake import DeltaTable

from ingestion.dbt_runner import dbt_project_dir
from ingestion.dbt_spark import run_dbt_spark, warehouse_table
from ingestion.trips.generator import MANIFEST_FILE, generate
from ingestion.trips.months import parse_month_range
from ingestion.trips.pipeline import run_trips
from tests.ingestion.dbt.conftest import TRIPS_SELECTION, BuiltProject, build_trips_project

ROWS_PER_MONTH = 4_000
MONTHS = "2024-12:2025-02"
# After the first build: a month arrives, and the first month is re-published (other rows).
NEW_MONTH, NEW_ROWS = "2025-03", 1_500
REPLACED_MONTH, REPLACED_ROWS = "2024-12", 2_500
# The TLC lineage's marts: every model of these folders is compared.
MART_FOLDERS = ("models/marts/trips", "models/marts/insights")
SOURCE_FILE = "_source_file"
PROVENANCE = ("load_id", "loaded_at")
UNCHANGED_ON_SPARK = ("resource_type:seed", "config.materialized:view")
LAKE_FLAG = ("--destination", "lake")
MONEY = re.compile(r"(amount|revenue|fare|paid|charges|fees|tips)")
NOT_MONEY = re.compile(r"(share|rate|per_|change)")
FLOAT_REL_TOL = 1e-9
CENT = 0.005


def marts() -> list[str]:
    project = dbt_project_dir()
    return sorted(path.stem for folder in MART_FOLDERS for path in (project / folder).glob("*.sql"))


def load_lake_with_cli(tlc_dir: Path, lake: Path, workdir: Path) -> None:
    """``tripline pipeline run trips --destination lake`` over ``tlc_dir``, as a user runs it:
    a CLI process of its own, the lake a local folder (``file://``)."""
    workdir.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "TRIPLINE_DUCKDB_PATH": str(workdir / "unused.duckdb"),
        "TRIPLINE_MEMORY_LIMIT": "2GB",
        "TRIPLINE_LAKE_URL": lake.resolve().as_uri(),
        "RUNTIME__DLTHUB_TELEMETRY": "false",
    }
    tripline = Path(sys.executable).with_name("tripline")
    completed = subprocess.run(
        [str(tripline), "pipeline", "run", "trips", "--source", str(tlc_dir), *LAKE_FLAG],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert not (workdir / "unused.duckdb").exists(), "the lake run wrote a DuckDB file"


def rows_by_file(table: pa.Table, column: str = SOURCE_FILE, key: str = "") -> dict[str, int]:
    """For each value of ``column`` (a file name): rows of ``table``, or distinct ``key``s."""
    aggregate = (key, "count_distinct") if key else (column, "count")
    counts = table.group_by(column).aggregate([aggregate]).to_pylist()
    return {row[column]: row["_".join(aggregate)] for row in counts}


class Engines:
    def __init__(
        self, duckdb_project: BuiltProject, lake: Path, spark_dir: Path, spark_seconds: float
    ):
        self.duckdb_project = duckdb_project
        self.lake = lake
        self.spark_dir = spark_dir
        self.spark_seconds = spark_seconds

    def duckdb_table(self, qualified: str) -> pa.Table:
        connection = duckdb.connect(str(self.duckdb_project.settings.duckdb_path), read_only=True)
        try:
            return connection.sql(f"select * from {qualified}").to_arrow_table()
        finally:
            connection.close()

    def duckdb_mart(self, name: str) -> pa.Table:
        return self.duckdb_table(f"marts.{name}")

    def duckdb_raw(self, table: str) -> pa.Table:
        return self.duckdb_table(f"raw_tlc.{table}")

    def lake_raw(self, table: str) -> pa.Table:
        return DeltaTable(str(self.lake / "raw_tlc" / table)).to_pyarrow_table()

    def spark_mart(self, name: str) -> pa.Table:
        return DeltaTable(str(warehouse_table(self.spark_dir, "marts", name))).to_pyarrow_table()


def spark_build(
    root: Path, lake: Path, spark_dir: Path, *select: str, exclude: tuple[str, ...] = ()
) -> float:
    """``dbt build --target spark`` of the models in ``select`` but not ``exclude`` (no data
    tests: those run on DuckDB in tests/ingestion/dbt; here the answers are compared, the
    stronger check, and each Spark test query costs seconds); return its wall seconds, JVM
    start included."""
    started = time.perf_counter()
    run_dbt_spark(
        [
            *("build", "--select", *select),
            *("--exclude", "resource_type:test", "resource_type:unit_test", *exclude),
            *("--target-path", str(root / "spark_target"), "--log-path", str(root / "spark_logs")),
        ],
        lake.as_uri(),
        spark_dir,
    )
    return time.perf_counter() - started


@pytest.fixture(scope="session")
def engines(tmp_path_factory: pytest.TempPathFactory) -> Engines:
    """Both engines built twice, the second time incrementally, and shared by every test here
    (two Spark sessions in all, ~15 s of JVM start each).

    First build: three months, fct_trips and its lineage. Then a new month arrives and the
    first month is re-published with other content; both pipelines load the change (DuckDB's
    in process, the lake's by the CLI again) and the whole TLC lineage builds (on Spark, its
    tables: the first build's seeds and views stand), fct_trips incrementally on each engine
    (delete+insert on DuckDB, insert_overwrite of the changed partitions on Spark). Every
    comparison below is of that second, incremental state.
    """
    root = tmp_path_factory.mktemp("parity")
    project = build_trips_project(root, rows=ROWS_PER_MONTH, months=MONTHS, full=False)
    lake = root / "lake"
    load_lake_with_cli(project.tlc_dir, lake, root / "lake_run")
    spark_dir = root / "spark"
    first = spark_build(root, lake, spark_dir, "path:seeds", "+fct_trips")

    generate(project.tlc_dir, parse_month_range(NEW_MONTH), NEW_ROWS, "parquet", seed=5)
    generate(project.tlc_dir, parse_month_range(REPLACED_MONTH), REPLACED_ROWS, "parquet", seed=6)
    summary, _ = run_trips(project.settings, str(project.tlc_dir))
    assert summary.rows_loaded == NEW_ROWS + REPLACED_ROWS
    load_lake_with_cli(project.tlc_dir, lake, root / "lake_run")
    manifest = json.loads((project.tlc_dir / MANIFEST_FILE).read_text())
    project = dataclasses.replace(project, manifest=manifest)
    project.dbt("seed")
    project.dbt("run", "--select", *TRIPS_SELECTION)
    # The seeds and the views (staging, intermediate) are the first build's, unchanged: a
    # view reads the lake's newest version when queried. Rebuilding them took ~50 s.
    second = spark_build(root, lake, spark_dir, *TRIPS_SELECTION, exclude=UNCHANGED_ON_SPARK)
    engines = Engines(project, lake, spark_dir, first + second)
    # The Spark builds' share of this file's time, JVM starts included:
    print(f"parity: dbt build --target spark took {first:.0f} s + {second:.0f} s (incremental)")
    return engines


def normalise(value: object) -> object:
    """A cell as a comparable Python value: aware timestamps in naive UTC, decimals as floats."""
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.UTC).replace(tzinfo=None)
    if isinstance(value, Decimal):
        return float(value)
    return value


def sort_key(row: tuple[object, ...]) -> tuple[object, ...]:
    return tuple(
        (0, "") if cell is None else (1, round(cell, 4) if isinstance(cell, float) else cell)
        for cell in row
    )


def rows_of(table: pa.Table, columns: list[str]) -> list[tuple[object, ...]]:
    data = [[normalise(value) for value in table.column(name).to_pylist()] for name in columns]
    return sorted(zip(*data, strict=True), key=sort_key)


def same_cell(column: str, left: object, right: object) -> bool:
    """Money to the cent, other floats within FLOAT_REL_TOL, everything else exactly."""
    if isinstance(left, float) and isinstance(right, float):
        if math.isnan(left) or math.isnan(right):
            return math.isnan(left) and math.isnan(right)
        if MONEY.search(column) and not NOT_MONEY.search(column):
            return abs(left - right) < CENT
        return math.isclose(left, right, rel_tol=FLOAT_REL_TOL, abs_tol=FLOAT_REL_TOL)
    if column == "loaded_at" and isinstance(left, dt.datetime) and isinstance(right, dt.datetime):
        # dlt's load id is epoch seconds as a float (~0.2 us resolution at 1.8e9): the two
        # engines round its last microsecond differently.
        return abs(left - right) <= dt.timedelta(microseconds=1)
    return type(left) is type(right) and left == right


def test_the_lineage_has_marts_to_compare() -> None:
    assert {"fct_trips", "dim_zones", "daily_kpis", "data_quality_by_month"} <= set(marts())


@pytest.mark.slow
def test_both_engines_read_what_the_source_files_hold(engines: Engines) -> None:
    """The lake (written by the CLI) and DuckDB (the normal pipeline) hold every row of every
    generated file, by file, and the whole zone lookup - counted against the generator's
    manifest, not against each other only."""
    expected = {name: entry["rows"] for name, entry in engines.duckdb_project.manifest.items()}
    lake_trips = engines.lake_raw("yellow_trips")
    duckdb_trips = engines.duckdb_raw("yellow_trips")
    assert rows_by_file(lake_trips) == rows_by_file(duckdb_trips) == expected
    assert engines.lake_raw("taxi_zones").num_rows == engines.duckdb_raw("taxi_zones").num_rows
    assert engines.lake_raw("taxi_zones").num_rows == 265
    assert set(lake_trips.column_names) == set(duckdb_trips.column_names)


@pytest.mark.slow
def test_incremental_fct_trips_replaces_and_appends_on_both(engines: Engines) -> None:
    """After the incremental build, fct_trips holds each file's rows once: the new month's
    appended, the re-published month's new rows only (its old ones gone), the rest kept."""
    expected = {name: entry["rows"] for name, entry in engines.duckdb_project.manifest.items()}
    assert expected[f"yellow_tripdata_{REPLACED_MONTH}.parquet"] == REPLACED_ROWS
    assert expected[f"yellow_tripdata_{NEW_MONTH}.parquet"] == NEW_ROWS
    for engine, table in (
        ("duckdb", engines.duckdb_mart("fct_trips")),
        ("spark", engines.spark_mart("fct_trips")),
    ):
        assert rows_by_file(table, "source_file", "trip_id") == expected, engine
        assert table.num_rows == sum(expected.values()), f"{engine}: a trip twice"


@pytest.mark.slow
@pytest.mark.parametrize("mart", marts())
def test_spark_builds_the_same_mart_as_duckdb(engines: Engines, mart: str) -> None:
    expected = engines.duckdb_mart(mart)
    actual = engines.spark_mart(mart)
    assert actual.column_names == expected.column_names
    assert actual.num_rows == expected.num_rows > 0
    # Each engine's lake was loaded by its own pipeline run: the same files under other load
    # ids, so the provenance columns differ by design; everything else is compared.
    columns = [c for c in expected.column_names if c not in PROVENANCE]
    mismatches = []
    for left, right in zip(rows_of(expected, columns), rows_of(actual, columns), strict=True):
        for column, a, b in zip(columns, left, right, strict=True):
            if not same_cell(column, a, b):
                mismatches.append(f"{column}: duckdb {a!r} spark {b!r}")
        if len(mismatches) > 10:
            break
    assert not mismatches, f"{mart}: " + "; ".join(mismatches)
