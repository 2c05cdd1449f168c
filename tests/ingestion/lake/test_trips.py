"""The trips pipeline on the lake: the same rows, rejects and claims as on DuckDB.

Each test compares what lands in the Delta tables (read with ``deltalake``) with the files'
own counts and with the DuckDB path run over the same files.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import duckdb
import pytest

from ingestion.core.lake import LakeDataset
from ingestion.core.pipeline import open_pipeline, recover_interrupted
from ingestion.core.settings import Settings
from ingestion.trips.generator import generate
from ingestion.trips.months import parse_month_range
from ingestion.trips.pipeline import DATASET, PIPELINE_NAME, run_trips
from tests.helpers import REPO, TRIPLINE

from .conftest import delta_table

ROWS = 3_000
COLUMNS = "vendor_id, tpep_pickup_datetime, passenger_count, fare_amount, total_amount"


@pytest.fixture(scope="module")
def months(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("lake_tlc")
    generate(out, parse_month_range("2024-01:2024-02"), ROWS, "parquet", seed=11)
    return out


def _per_file(settings: Settings, table: str = "yellow_trips") -> Counter[str]:
    rows = delta_table(settings, DATASET, table)
    return Counter(rows.column("_source_file").to_pylist())


def _duckdb_rows(settings: Settings, sql: str) -> list[tuple[object, ...]]:
    with duckdb.connect(str(settings.duckdb_path), read_only=True) as con:
        return con.execute(sql).fetchall()


def _lake_rows(settings: Settings, table: str, sql: str) -> list[tuple[object, ...]]:
    rows = delta_table(settings, DATASET, table)  # noqa: F841 - DuckDB reads the local name
    return duckdb.sql(sql.replace(f"raw_tlc.{table}", "rows")).fetchall()


def test_s3_lake_holds_what_duckdb_holds_and_a_rerun_loads_nothing(
    s3_lake_env: Settings, months: Path, tmp_path: Path
) -> None:
    files = tmp_path / "tlc"
    shutil.copytree(months, files)
    summary, outcomes = run_trips(s3_lake_env, str(files))

    assert summary.failed_inputs == []
    assert {o.route for o in outcomes} == {"strict"}
    expected = _file_counts(files)
    assert _per_file(s3_lake_env) == expected
    assert delta_table(s3_lake_env, DATASET, "taxi_zones").num_rows == 265

    on_duckdb = dataclasses.replace(s3_lake_env, destination="duckdb")
    run_trips(on_duckdb, str(files))
    query = f"select {COLUMNS} from raw_tlc.yellow_trips order by all"
    assert _lake_rows(s3_lake_env, "yellow_trips", query) == _duckdb_rows(on_duckdb, query)

    again, _ = run_trips(s3_lake_env, str(files))
    assert (again.inputs, again.skipped_inputs, again.rows_loaded) == (0, 3, 0)
    assert _per_file(s3_lake_env) == expected


def test_bad_csv_rows_are_quarantined_on_the_lake_as_on_duckdb(
    file_lake_env: Settings, tmp_path: Path
) -> None:
    folder = tmp_path / "dirty"
    generate(folder, parse_month_range("2024-05"), 1_000, "csv", seed=5)
    (folder / "taxi_zone_lookup.csv").unlink()  # one file: no batch to fall back from
    path = folder / "yellow_tripdata_2024-05.csv"
    lines = path.read_text().splitlines()
    lines[10] += ",surprise"  # too many columns
    lines[20] = "garbage"  # not a row at all
    fields = lines[30].split(",")
    fields[4] = "abc"  # trip_distance that is not a number
    lines[30] = ",".join(fields)
    path.write_text("\n".join(lines) + "\n")

    _, outcomes = run_trips(file_lake_env, str(folder))
    trips = next(o for o in outcomes if o.file.name == path.name)
    assert trips.route == "quarantine"
    assert (trips.rows_loaded, trips.rows_rejected) == (len(lines) - 1 - 3, 3)
    on_duckdb = dataclasses.replace(file_lake_env, destination="duckdb")
    run_trips(on_duckdb, str(folder))

    rejects = "select line, reason, raw_line from raw_tlc.yellow_trips_rejected order by line"
    lake_rejects = _lake_rows(file_lake_env, "yellow_trips_rejected", rejects)
    assert [row[0] for row in lake_rejects] == [11, 21, 31]
    assert lake_rejects == _duckdb_rows(on_duckdb, rejects)
    good = f"select {COLUMNS}, trip_distance from raw_tlc.yellow_trips order by all"
    assert _lake_rows(file_lake_env, "yellow_trips", good) == _duckdb_rows(on_duckdb, good)


def test_an_unrecorded_load_is_swept_and_a_changed_file_replaces_its_month(
    file_lake_env: Settings, months: Path, tmp_path: Path
) -> None:
    """A kill after the Delta commits and the state file, before ``_dlt_loads``: the rows
    and the state of that load are not the truth, and the files load again exactly once.
    Then a month rewritten at the source replaces its rows, and only its rows."""
    files = tmp_path / "tlc"
    shutil.copytree(months, files)
    summary, _ = run_trips(file_lake_env, str(files))
    pipeline = open_pipeline(PIPELINE_NAME, DATASET, file_lake_env)
    lake = LakeDataset(pipeline)
    killed = summary.load_ids[-1]
    lake.forget_load(killed)  # what a kill before dlt's last write leaves

    swept = recover_interrupted(pipeline)

    assert killed in swept
    assert killed not in lake.state_load_ids()
    assert killed not in set(_load_ids(file_lake_env))
    again, _ = run_trips(file_lake_env, str(files))
    assert again.failed_inputs == [] and again.inputs > 0
    assert _per_file(file_lake_env) == _file_counts(files)

    generate(files, parse_month_range("2024-02"), ROWS // 2, "parquet", seed=99)
    changed, outcomes = run_trips(file_lake_env, str(files))

    assert [o.file.name for o in outcomes] == ["yellow_tripdata_2024-02.parquet"]
    assert any("replaced" in note for note in outcomes[0].notes)
    assert changed.rows_loaded == pq_rows(files / "yellow_tripdata_2024-02.parquet")
    assert _per_file(file_lake_env) == _file_counts(files)
    assert set(_load_ids(file_lake_env)) <= lake.complete_loads()


def _load_ids(settings: Settings) -> list[str]:
    return delta_table(settings, DATASET, "yellow_trips").column("_dlt_load_id").to_pylist()


def _file_counts(files: Path) -> dict[str, int]:
    return {f.name: pq_rows(f) for f in files.glob("yellow_tripdata_*.parquet")}


def pq_rows(path: Path) -> int:
    import pyarrow.parquet as pq

    return int(pq.ParquetFile(path).metadata.num_rows)


def test_every_table_the_cli_writes_names_the_features_spark_needs(
    file_lake_env: Settings, months: Path, tmp_path: Path
) -> None:
    """deltalake writes a table with timestamp_ntz at writer version 7 without naming the
    ``invariants`` feature its NOT NULL columns use, and Spark's Delta refuses to read it; a
    lake run ends with every table naming it (checked in the protocol, as Spark checks)."""
    files = tmp_path / "tlc"
    shutil.copytree(months, files)
    done = subprocess.run(
        [TRIPLINE, "pipeline", "run", "trips", "--source", str(files), "--destination", "lake"],
        cwd=REPO, env=dict(os.environ), capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr

    lake = LakeDataset(open_pipeline(PIPELINE_NAME, DATASET, file_lake_env))
    checked = []
    for name in lake.tables():
        protocol = lake.table(name).protocol()
        not_null = [f.name for f in lake.table(name).schema().fields if not f.nullable]
        if protocol.min_writer_version >= 7 and not_null:
            assert "invariants" in (protocol.writer_features or []), (name, not_null)
            checked.append(name)
    assert "yellow_trips" in checked
