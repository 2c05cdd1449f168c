"""The trips pipeline on local files: counts, sums, incremental runs, drift and bad input."""

from pathlib import Path

import duckdb
import pytest

from ingestion.core.settings import Settings
from ingestion.trips.generator import generate
from ingestion.trips.months import parse_month_range
from ingestion.trips.pipeline import run_trips

from .conftest import ROWS, manifest


def _query(settings: Settings, sql: str) -> list[tuple]:
    with duckdb.connect(str(settings.duckdb_path), read_only=True) as con:
        return con.execute(sql).fetchall()


def _file_sums(files: str) -> tuple[int, float, float]:
    row = duckdb.sql(
        f"select count(*), round(sum(fare_amount), 2), round(sum(total_amount), 2) "
        f"from read_parquet('{files}')"
    ).fetchall()[0]
    return int(row[0]), float(row[1]), float(row[2])


def test_counts_and_sums_match_the_files(tripline_env: Settings, trip_files: Path) -> None:
    summary, outcomes = run_trips(tripline_env, str(trip_files))

    assert summary.failed_inputs == []
    assert summary.inputs == 4  # zone lookup and three months
    assert summary.reconciles and summary.rows_rejected == 0
    assert summary.rows_loaded == 3 * ROWS + 265
    loaded = _query(
        tripline_env,
        "select count(*), round(sum(fare_amount), 2), round(sum(total_amount), 2) "
        "from raw_tlc.yellow_trips",
    )[0]
    assert loaded == _file_sums(f"{trip_files}/yellow_tripdata_*.parquet")
    per_file = dict(
        _query(tripline_env, "select _source_file, count(*) from raw_tlc.yellow_trips group by 1")
    )
    assert per_file == {name: info["rows"] for name, info in manifest(trip_files).items()}
    assert _query(tripline_env, "select count(*) from raw_tlc.taxi_zones") == [(265,)]
    assert {o.route for o in outcomes} == {"strict"}
    assert summary.peak_memory_bytes > 0


def test_second_run_loads_nothing_and_a_new_month_loads_alone(
    tripline_env: Settings, trip_files: Path
) -> None:
    run_trips(tripline_env, str(trip_files))
    again, _ = run_trips(tripline_env, str(trip_files))
    assert (again.inputs, again.skipped_inputs, again.rows_loaded) == (0, 4, 0)

    generate(trip_files, parse_month_range("2024-04"), 1_234, "parquet", seed=7)
    later, outcomes = run_trips(tripline_env, str(trip_files))
    assert [o.file.name for o in outcomes] == ["yellow_tripdata_2024-04.parquet"]
    assert later.rows_loaded == 1_234
    assert _query(tripline_env, "select count(*) from raw_tlc.yellow_trips") == [
        (3 * ROWS + 1_234,)
    ]


def test_a_changed_file_replaces_its_rows_without_duplicates(
    tripline_env: Settings, trip_files: Path
) -> None:
    run_trips(tripline_env, str(trip_files))
    generate(trip_files, parse_month_range("2024-02"), 10_000, "parquet", seed=99)
    _, outcomes = run_trips(tripline_env, str(trip_files))

    assert [o.file.name for o in outcomes] == ["yellow_tripdata_2024-02.parquet"]
    rows = _query(
        tripline_env,
        "select count(*), round(sum(fare_amount), 2), round(sum(total_amount), 2) "
        "from raw_tlc.yellow_trips where _source_file = 'yellow_tripdata_2024-02.parquet'",
    )[0]
    assert rows == _file_sums(f"{trip_files}/yellow_tripdata_2024-02.parquet")
    assert _query(tripline_env, "select count(*) from raw_tlc.yellow_trips") == [
        (2 * ROWS + 10_000,)
    ]


def test_full_refresh_rebuilds_from_scratch(tripline_env: Settings, trip_files: Path) -> None:
    run_trips(tripline_env, str(trip_files))
    refreshed, _ = run_trips(tripline_env, str(trip_files), full_refresh=True)
    assert refreshed.inputs == 4
    assert _query(tripline_env, "select count(*) from raw_tlc.yellow_trips") == [(3 * ROWS,)]


def test_schema_drift_lands_in_one_stable_schema(tripline_env: Settings, tmp_path: Path) -> None:
    legacy = tmp_path / "legacy"
    generate(legacy, parse_month_range("2023-01:2023-02"), 3_000, "csv", seed=3, era="legacy")
    generate(legacy, parse_month_range("2023-03"), 3_000, "csv.gz", seed=3)
    summary, _ = run_trips(tripline_env, str(legacy))

    assert summary.failed_inputs == [] and summary.rows_rejected == 0
    rows = _query(
        tripline_env,
        "select _source_file, count(*), count(airport_fee), count(passenger_count) "
        "from raw_tlc.yellow_trips group by 1 order by 1",
    )
    january, february, march = rows
    assert january[2] == 0  # no airport fee column at all that month
    assert february[2] > 0 and march[2] > 0  # "airport_fee" and "Airport_fee" alike
    assert all(row[3] > 0.9 * row[1] for row in rows)  # "1.0" floats became integers
    types = dict(
        _query(
            tripline_env,
            "select column_name, data_type from information_schema.columns "
            "where table_schema = 'raw_tlc' and table_name = 'yellow_trips'",
        )
    )
    assert types["passenger_count"] == "BIGINT"
    assert types["tpep_pickup_datetime"] == "TIMESTAMP"


def test_bad_csv_rows_are_quarantined_and_counts_reconcile(
    tripline_env: Settings, tmp_path: Path
) -> None:
    folder = tmp_path / "dirty"
    generate(folder, parse_month_range("2024-05"), 5_000, "csv", seed=5)
    path = folder / "yellow_tripdata_2024-05.csv"
    lines = path.read_text().splitlines()
    lines[10] += ",surprise"  # too many columns
    lines[20] = "garbage"  # not a row at all
    fields = lines[30].split(",")
    fields[4] = "abc"  # trip_distance that is not a number
    lines[30] = ",".join(fields)
    path.write_text("\n".join(lines) + "\n")
    data_lines = len(lines) - 1

    summary, outcomes = run_trips(tripline_env, str(folder))

    trips = next(o for o in outcomes if o.file.name == path.name)
    assert trips.route == "quarantine"
    assert (trips.rows_loaded, trips.rows_rejected) == (data_lines - 3, 3)
    assert summary.reconciles
    rejected = _query(
        tripline_env,
        "select line, reason, raw_line from raw_tlc.yellow_trips_rejected order by line",
    )
    assert [row[0] for row in rejected] == [11, 21, 31]
    assert "TOO MANY COLUMNS" in rejected[0][1]
    assert rejected[1][2] == "garbage"
    assert "trip_distance" in rejected[2][1]


def test_green_and_fhvhv_load_through_the_same_machinery(
    tripline_env: Settings, tmp_path: Path
) -> None:
    folder = tmp_path / "kinds"
    generate(folder, parse_month_range("2024-01"), 2_000, "parquet", kinds=("green", "fhvhv"))
    summary, _ = run_trips(tripline_env, str(folder))
    assert summary.failed_inputs == []
    counts = dict(
        _query(
            tripline_env,
            "select 'green', count(lpep_pickup_datetime) from raw_tlc.green_trips "
            "union all select 'fhvhv', count(pickup_datetime) from raw_tlc.fhvhv_trips",
        )
    )
    assert counts == {"green": 2_000, "fhvhv": 2_000}


def test_a_truncated_file_fails_alone_and_the_others_stay_loaded(
    tripline_env: Settings, trip_files: Path
) -> None:
    broken = trip_files / "yellow_tripdata_2024-02.parquet"
    broken.write_bytes(broken.read_bytes()[: broken.stat().st_size // 2])

    summary, _ = run_trips(tripline_env, str(trip_files))

    assert len(summary.failed_inputs) == 1
    assert summary.failed_inputs[0].startswith("yellow_tripdata_2024-02.parquet")
    assert _query(
        tripline_env,
        "select count(*), count(distinct _source_file) from raw_tlc.yellow_trips",
    ) == [(2 * ROWS, 2)]


@pytest.mark.parametrize("months", ["2024-13", "2024-03:2024-01"])
def test_bad_month_ranges_are_one_line_errors(months: str) -> None:
    from tests.helpers import run_tripline

    result = run_tripline("pipeline", "run", "trips", "--months", months, "--source", "/nowhere")
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "month" in result.stderr
