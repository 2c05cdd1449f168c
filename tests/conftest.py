"""Fixtures shared by every test package: an isolated Tripline environment per test."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingestion.core.settings import Settings, load_settings
from tests.helpers import READ_TIMEOUT_SECONDS


@pytest.fixture
def tripline_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """A fresh DuckDB file, data folder and a 2 GB budget, through the environment."""
    monkeypatch.setenv("TRIPLINE_DUCKDB_PATH", str(tmp_path / "data" / "tripline.duckdb"))
    monkeypatch.setenv("TRIPLINE_MEMORY_LIMIT", "2GB")
    monkeypatch.setenv("RUNTIME__DLTHUB_TELEMETRY", "false")
    return load_settings()


@pytest.fixture
def fast_http_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retries, backoff and timeouts of the API pipelines short enough for fault tests."""
    monkeypatch.setenv("TRIPLINE_HTTP_MAX_ATTEMPTS", "3")
    monkeypatch.setenv("TRIPLINE_HTTP_BACKOFF_SECONDS", "0.05")
    monkeypatch.setenv("TRIPLINE_HTTP_MAX_DELAY_SECONDS", "5")
    monkeypatch.setenv("TRIPLINE_HTTP_TIMEOUT_SECONDS", str(READ_TIMEOUT_SECONDS))


# The longest files (pytest --durations), started first so that neither xdist worker is left
# with one of them at the end while the other is idle.
LONGEST_FILES = (
    "tests/ingestion/lakehouse/test_parity.py",
    "tests/ingestion/trips/test_chaos.py",
    "tests/ingestion/deploy/test_image_layout.py",
    "tests/ingestion/trips/test_memory.py",
    "tests/ingestion/fleet_db/test_postgres.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        path = item.nodeid.split("::")[0]
        return LONGEST_FILES.index(path) if path in LONGEST_FILES else len(LONGEST_FILES)

    items.sort(key=rank)  # stable: the order inside each file is kept
