"""The lake under test: a local folder (``file://``) or a bucket on moto's S3 server.

moto runs in server mode on 127.0.0.1 in its own process (one per test session), so dlt and
``deltalake`` talk real S3 HTTP to it. Not ``ThreadedMotoServer``: ``deltalake`` keeps the GIL
while it waits for S3, so a server thread in the same process could never answer it. Delta
tables are read back with ``deltalake`` itself, never through Tripline's reader, so a test
does not check the code with the code.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import boto3
import pyarrow as pa
import pytest
from deltalake import DeltaTable

from ingestion.core.settings import Settings, load_settings

# The servers of the other pipelines' tests, as fixtures of this folder too (pytest refuses
# ``pytest_plugins`` for conftests it also loads as conftests). Session-scoped ones start
# once more when both folders run in one session: PostgreSQL in about a second, the broker
# in about ten.
from tests.ingestion.fleet_db.conftest import pg_dsn, postgres  # noqa: F401
from tests.ingestion.fleet_events.conftest import kafka, topic  # noqa: F401
from tests.ingestion.open_data.conftest import open_data_env, socrata  # noqa: F401
from tests.ingestion.weather.conftest import meteo, weather_env  # noqa: F401

KEY = "testing"
REGION = "us-east-1"


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    moto = Path(sys.executable).with_name("moto_server")
    server = subprocess.Popen(
        [str(moto), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("moto_server did not start") from None
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(10)


@pytest.fixture
def s3_lake(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh bucket on the S3 server; dlt's filesystem credentials point at it."""
    bucket = f"lake-{uuid.uuid4().hex[:12]}"
    boto3.client(
        "s3",
        endpoint_url=moto_endpoint,
        aws_access_key_id=KEY,
        aws_secret_access_key=KEY,
        region_name=REGION,
    ).create_bucket(Bucket=bucket)
    prefix = "DESTINATION__FILESYSTEM__CREDENTIALS__"
    for key, value in {
        "AWS_ACCESS_KEY_ID": KEY,
        "AWS_SECRET_ACCESS_KEY": KEY,
        "REGION_NAME": REGION,
        "ENDPOINT_URL": moto_endpoint,
    }.items():
        monkeypatch.setenv(prefix + key, value)
    return f"s3://{bucket}/tripline"


def lake_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, url: str) -> Settings:
    """Tripline's settings with the lake at ``url`` (the DuckDB file is never created)."""
    monkeypatch.setenv("TRIPLINE_DUCKDB_PATH", str(tmp_path / "data" / "tripline.duckdb"))
    monkeypatch.setenv("TRIPLINE_MEMORY_LIMIT", "2GB")
    monkeypatch.setenv("RUNTIME__DLTHUB_TELEMETRY", "false")
    monkeypatch.setenv("TRIPLINE_DESTINATION", "lake")
    monkeypatch.setenv("TRIPLINE_LAKE_URL", url)
    return load_settings()


@pytest.fixture
def file_lake_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    return lake_settings(monkeypatch, tmp_path, (tmp_path / "lake").resolve().as_uri())


@pytest.fixture
def s3_lake_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, s3_lake: str) -> Settings:
    return lake_settings(monkeypatch, tmp_path, s3_lake)


def delta_table(settings: Settings, dataset: str, table: str) -> pa.Table:
    """A Delta table of the lake, read with ``deltalake`` (S3 options from the env)."""
    import os

    assert settings.lake_url
    url = f"{settings.lake_url.rstrip('/')}/{dataset}/{table}"
    options: dict[str, str] = {}
    if url.startswith("s3://"):
        prefix = "DESTINATION__FILESYSTEM__CREDENTIALS__"
        options = {
            "AWS_ACCESS_KEY_ID": os.environ[prefix + "AWS_ACCESS_KEY_ID"],
            "AWS_SECRET_ACCESS_KEY": os.environ[prefix + "AWS_SECRET_ACCESS_KEY"],
            "AWS_REGION": os.environ[prefix + "REGION_NAME"],
            "AWS_ENDPOINT_URL": os.environ[prefix + "ENDPOINT_URL"],
            "AWS_ALLOW_HTTP": "true",
        }
    return DeltaTable(url, storage_options=options).to_pyarrow_table()


def is_delta(settings: Settings, dataset: str, table: str) -> bool:
    assert settings.lake_url
    if not settings.lake_url.startswith("file://"):
        return True
    folder = Path(settings.lake_url.removeprefix("file://")) / dataset / table
    return (folder / "_delta_log").is_dir()
