"""Fixtures for the open_data tests: a Socrata devserver and its environment."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from devservers.api_common import ApiServer
from devservers.socrata import FhvDataset, serve_socrata
from ingestion.core.settings import Settings


@pytest.fixture
def socrata() -> Iterator[tuple[ApiServer, FhvDataset]]:
    with serve_socrata(rows=2500) as served:
        yield served


@pytest.fixture
def open_data_env(
    tripline_env: Settings,
    socrata: tuple[ApiServer, FhvDataset],
    monkeypatch: pytest.MonkeyPatch,
    fast_http_retries: None,
) -> Settings:
    monkeypatch.setenv("TRIPLINE_OPEN_DATA_BASE_URL", socrata[0].url)
    monkeypatch.setenv("TRIPLINE_OPEN_DATA_PAGE_SIZE", "1000")
    monkeypatch.delenv("SOURCES__OPEN_DATA__APP_TOKEN", raising=False)
    return tripline_env
