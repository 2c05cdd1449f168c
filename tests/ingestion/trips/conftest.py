"""Generated TLC files shared by the trips tests (generated once per session)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from ingestion.trips.generator import MANIFEST_FILE, generate
from ingestion.trips.months import parse_month_range

ROWS = 40_000


@pytest.fixture(scope="session")
def parquet_months(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three months of yellow Parquet, the zone lookup and the generator's manifest."""
    out = tmp_path_factory.mktemp("tlc_parquet")
    generate(out, parse_month_range("2024-01:2024-03"), ROWS, "parquet", seed=7)
    return out


@pytest.fixture
def trip_files(parquet_months: Path, tmp_path: Path) -> Path:
    """A private copy of the Parquet months that a test may change."""
    target = tmp_path / "tlc"
    shutil.copytree(parquet_months, target)
    return target


def manifest(folder: Path) -> dict[str, dict[str, object]]:
    return json.loads((folder / MANIFEST_FILE).read_text())
