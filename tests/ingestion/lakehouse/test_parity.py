"""The same dbt project on DuckDB and on Spark (Delta) gives the same marts.

Generated months go through the trips pipeline into DuckDB and dbt builds the TLC layers
there; the raw tables are copied into a local Delta lake and ``dbt build --target spark``
builds the same layers on Spark local (one dbt command, so one Spark session for the whole
test session). Every mart of the TLC lineage is then read from both - DuckDB's table and
Spark's Delta table in its warehouse folder - and compared: the same columns, the same rows,
money to the cent, other floats within a relative 1e-9 (sums and medians in another order).
"""

from __future__ import annotations

import datetime as dt
import math
import re
import time
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
from deltalake import DeltaTable, write_deltalake

from ingestion.dbt_runner import dbt_project_dir
from ingestion.dbt_spark import run_dbt_spark, warehouse_table
from tests.ingestion.dbt.conftest import TRIPS_SELECTION, BuiltProject, build_trips_project

ROWS_PER_MONTH = 4_000
MONTHS = "2024-12:2025-02"
# The TLC lineage's marts: every model of these folders is compared.
MART_FOLDERS = ("models/marts/trips", "models/marts/insights")
RAW_TABLES = {"raw_tlc": ("yellow_trips", "taxi_zones")}
MONEY = re.compile(r"(amount|revenue|fare|paid|charges|fees|tips)")
NOT_MONEY = re.compile(r"(share|rate|per_|change)")
FLOAT_REL_TOL = 1e-9
CENT = 0.005


def marts() -> list[str]:
    project = dbt_project_dir()
    return sorted(path.stem for folder in MART_FOLDERS for path in (project / folder).glob("*.sql"))


def write_lake_from_duckdb(duckdb_path: Path, lake: Path) -> None:
    """Stand-in for ``tripline pipeline run trips --destination lake``: copy the raw tables
    the trips pipeline loaded into DuckDB to Delta tables laid out as docs/lakehouse.md says
    (``<lake>/<dataset>/<table>``). Replace it with the pipeline once the lake destination is
    merged."""
    connection = duckdb.connect(str(duckdb_path), read_only=True)
    try:
        for dataset, tables in RAW_TABLES.items():
            for table in tables:
                rows = connection.sql(f"select * from {dataset}.{table}").to_arrow_table()
                write_deltalake(str(lake / dataset / table), rows, mode="overwrite")
    finally:
        connection.close()


class Engines:
    def __init__(self, duckdb_project: BuiltProject, spark_dir: Path, spark_seconds: float):
        self.duckdb_project = duckdb_project
        self.spark_dir = spark_dir
        self.spark_seconds = spark_seconds

    def duckdb_mart(self, name: str) -> pa.Table:
        connection = duckdb.connect(str(self.duckdb_project.settings.duckdb_path), read_only=True)
        try:
            return connection.sql(f"select * from marts.{name}").to_arrow_table()
        finally:
            connection.close()

    def spark_mart(self, name: str) -> pa.Table:
        return DeltaTable(str(warehouse_table(self.spark_dir, "marts", name))).to_pyarrow_table()


@pytest.fixture(scope="session")
def engines(tmp_path_factory: pytest.TempPathFactory) -> Engines:
    root = tmp_path_factory.mktemp("parity")
    project = build_trips_project(root, rows=ROWS_PER_MONTH, months=MONTHS, full=False)
    project.dbt("seed")
    project.dbt("run", "--select", *TRIPS_SELECTION)
    lake = root / "lake"
    write_lake_from_duckdb(project.settings.duckdb_path, lake)
    spark_dir = root / "spark"
    started = time.perf_counter()
    # Models only: the data tests run on DuckDB (tests/ingestion/dbt); here the answers are
    # compared, which is the stronger check, and each Spark test query costs seconds.
    run_dbt_spark(
        [
            "build",
            "--select",
            *TRIPS_SELECTION,
            "--exclude",
            "resource_type:test",
            "resource_type:unit_test",
            "--target-path",
            str(root / "spark_target"),
            "--log-path",
            str(root / "spark_logs"),
        ],
        lake.as_uri(),
        spark_dir,
    )
    engines = Engines(project, spark_dir, time.perf_counter() - started)
    # The CI budget of this file is 240 s; the Spark build's share, JVM start included:
    print(f"parity: dbt build --target spark took {engines.spark_seconds:.0f} s")
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
@pytest.mark.parametrize("mart", marts())
def test_spark_builds_the_same_mart_as_duckdb(engines: Engines, mart: str) -> None:
    expected = engines.duckdb_mart(mart)
    actual = engines.spark_mart(mart)
    assert actual.column_names == expected.column_names
    assert actual.num_rows == expected.num_rows > 0
    columns = expected.column_names
    mismatches = []
    for left, right in zip(rows_of(expected, columns), rows_of(actual, columns), strict=True):
        for column, a, b in zip(columns, left, right, strict=True):
            if not same_cell(column, a, b):
                mismatches.append(f"{column}: duckdb {a!r} spark {b!r}")
        if len(mismatches) > 10:
            break
    assert not mismatches, f"{mart}: " + "; ".join(mismatches)
