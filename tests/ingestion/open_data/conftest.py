"""Fixtures for the open_data tests: a Socrata devserver and fast retry settings."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from devservers.api_common import ApiServer
from devservers.socrata import FhvDataset, serve_socrata
from ingestion.core.settings import Settings

FAST_RETRIES = {
    "TRIPLINE_HTTP_MAX_ATTEMPTS": "3",
    "TRIPLINE_HTTP_BACKOFF_SECONDS": "0.05",
    "TRIPLINE_HTTP_MAX_DELAY_SECONDS": "5",
    "TRIPLINE_HTTP_TIMEOUT_SECONDS": "0.5",
}


@pytest.fixture
def socrata() -> Iterator[tuple[ApiServer, FhvDataset]]:
    with serve_socrata(rows=2500) as served:
        yield served


@pytest.fixture
def open_data_env(
    tripline_env: Settings,
    socrata: tuple[ApiServer, FhvDataset],
    monkeypatch: pytest.MonkeyPatch,
) -> Settings:
    for key, value in FAST_RETRIES.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("TRIPLINE_OPEN_DATA_BASE_URL", socrata[0].url)
    monkeypatch.setenv("TRIPLINE_OPEN_DATA_PAGE_SIZE", "1000")
    monkeypatch.delenv("SOURCES__OPEN_DATA__APP_TOKEN", raising=False)
    return tripline_env
