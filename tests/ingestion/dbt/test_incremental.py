"""fct_trips is incremental: a new month is appended, a re-loaded file replaced, history kept."""

from __future__ import annotations

from pathlib import Path

import duckdb

from ingestion.trips.generator import generate
from ingestion.trips.months import parse_month_range
from ingestion.trips.pipeline import run_trips
from tests.ingestion.dbt.conftest import build_trips_project

ROWS = 5_000


def test_new_month_appends_and_reloaded_file_replaces(tmp_path: Path) -> None:
    project = build_trips_project(tmp_path, rows=ROWS, full=False, months="2024-12:2025-02")
    database = str(project.settings.duckdb_path)
    with duckdb.connect(database) as con:
        # Mark February's rows: a full rebuild would lose the mark, an incremental run keeps it.
        con.execute(
            "update marts.fct_trips set passenger_count = -1 "
            "where source_file = 'yellow_tripdata_2025-01.parquet'"
        )
    # A new month arrives, and December is re-published with different content.
    generate(project.tlc_dir, parse_month_range("2025-03"), 2_000, "parquet", seed=5)
    generate(project.tlc_dir, parse_month_range("2024-12"), 3_000, "parquet", seed=6)
    summary, _ = run_trips(project.settings, str(project.tlc_dir))
    assert summary.rows_loaded == 2_000 + 3_000

    project.dbt("run", "--select", "fct_trips")

    with duckdb.connect(database, read_only=True) as con:
        rows = con.execute(
            "select source_file, count(*), count_if(passenger_count = -1) "
            "from marts.fct_trips group by 1 order by 1"
        ).fetchall()
        raw = con.execute(
            "select _source_file, count(*) from raw_tlc.yellow_trips group by 1 order by 1"
        ).fetchall()
    assert rows == [
        ("yellow_tripdata_2024-12.parquet", 3_000, 0),
        ("yellow_tripdata_2025-01.parquet", ROWS, ROWS),
        ("yellow_tripdata_2025-02.parquet", ROWS, 0),
        ("yellow_tripdata_2025-03.parquet", 2_000, 0),
    ]
    assert [(name, count) for name, count, _ in rows] == raw
