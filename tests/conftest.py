"""Fixtures shared by every test package: an isolated Tripline environment per test."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingestion.core.settings import Settings, load_settings


@pytest.fixture
def tripline_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """A fresh DuckDB file, data folder and a 2 GB budget, through the environment."""
    monkeypatch.setenv("TRIPLINE_DUCKDB_PATH", str(tmp_path / "data" / "tripline.duckdb"))
    monkeypatch.setenv("TRIPLINE_MEMORY_LIMIT", "2GB")
    monkeypatch.setenv("RUNTIME__DLTHUB_TELEMETRY", "false")
    return load_settings()
