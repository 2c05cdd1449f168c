"""The same pipeline over real HTTP and a real S3 API, both served on 127.0.0.1."""

from collections.abc import Iterator
from pathlib import Path

import boto3
import duckdb
import pytest
from moto.server import ThreadedMotoServer

from devservers.tlc_http import serve_tlc_files
from ingestion.core.settings import Settings
from ingestion.trips.months import parse_month_range
from ingestion.trips.pipeline import run_trips

from .conftest import ROWS


def _count(settings: Settings) -> int:
    with duckdb.connect(str(settings.duckdb_path), read_only=True) as con:
        return int(con.execute("select count(*) from raw_tlc.yellow_trips").fetchall()[0][0])


def test_http_months_load_a_missing_month_is_a_clear_error(
    tripline_env: Settings, trip_files: Path
) -> None:
    with serve_tlc_files(trip_files) as (base_url, server):
        summary, outcomes = run_trips(tripline_env, base_url, parse_month_range("2024-01:2024-04"))
    assert [o.file.name for o in outcomes if not o.error] == [
        "taxi_zone_lookup.csv",
        "yellow_tripdata_2024-01.parquet",
        "yellow_tripdata_2024-02.parquet",
        "yellow_tripdata_2024-03.parquet",
    ]
    assert len(summary.failed_inputs) == 1
    assert summary.failed_inputs[0].startswith("yellow_tripdata_2024-04.parquet")
    assert "not found" in summary.failed_inputs[0]
    assert _count(tripline_env) == 3 * ROWS
    assert ("HEAD", "/trip-data/yellow_tripdata_2024-04.parquet", "") in server.requests


def test_http_connection_cut_mid_file_resumes_by_range(
    tripline_env: Settings, trip_files: Path
) -> None:
    cut = "yellow_tripdata_2024-02.parquet"
    with serve_tlc_files(trip_files) as (base_url, server):
        server.cut_once.add(cut)
        summary, _ = run_trips(tripline_env, base_url, parse_month_range("2024-01:2024-03"))
    assert summary.failed_inputs == []
    assert _count(tripline_env) == 3 * ROWS
    ranged = [r for r in server.requests if r[0] == "GET" and r[1].endswith(cut) and r[2]]
    assert len(ranged) >= 2  # the cut request and at least one resumed range


def test_without_months_an_http_source_is_a_configuration_error(
    tripline_env: Settings, trip_files: Path
) -> None:
    from ingestion.core.errors import ConfigurationError

    with serve_tlc_files(trip_files) as (base_url, _), pytest.raises(ConfigurationError):
        run_trips(tripline_env, base_url)


@pytest.fixture
def s3_endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "TRIPLINE_S3_ENDPOINT_URL": endpoint,
    }.items():
        monkeypatch.setenv(key, value)
    try:
        yield endpoint
    finally:
        server.stop()


def test_s3_bucket_prefix_loads_and_skips_on_rerun(
    tripline_env: Settings, trip_files: Path, s3_endpoint: str
) -> None:
    s3 = boto3.client("s3", endpoint_url=s3_endpoint)
    s3.create_bucket(Bucket="tlc")
    for file in trip_files.iterdir():
        s3.upload_file(str(file), "tlc", f"trip-data/{file.name}")

    summary, _ = run_trips(tripline_env, "s3://tlc/trip-data/")
    assert summary.failed_inputs == []
    assert summary.inputs == 4
    assert _count(tripline_env) == 3 * ROWS

    again, _ = run_trips(tripline_env, "s3://tlc/trip-data/")
    assert (again.inputs, again.skipped_inputs) == (0, 4)
