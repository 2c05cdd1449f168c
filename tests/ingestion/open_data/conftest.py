"""Fixtures for the open_data tests: a Socrata devserver and its environment."""

from __future__ import annotations

import re
from collections.abc import Iterator

import dlt
import duckdb
import pytest

from devservers.api_common import ApiServer, LoggedRequest, Matcher
from devservers.socrata import RESOURCE_PATH, FhvDataset, row_number, serve_socrata
from ingestion.core.pipeline import open_pipeline
from ingestion.core.settings import Settings
from ingestion.open_data.pipeline import cursor_value
from ingestion.open_data.settings import DATASET, PIPELINE_NAME

Served = tuple[ApiServer, FhvDataset]
PAGE_SIZE = "1000"  # open_data_env's TRIPLINE_OPEN_DATA_PAGE_SIZE
_AFTER = re.compile(r":id > '([^']*)'")


def in_server_order(records: list[dict[str, str]]) -> list[dict[str, str]]:
    """Records in ``$order=:id`` order: by Socrata's hidden row number, not the id's text."""
    return sorted(records, key=lambda r: row_number(r[":id"]))


def after_id(params: dict[str, str]) -> str | None:
    """The ``:id`` a keyset page starts after (``None`` for a run's first page)."""
    found = _AFTER.search(params.get("$where", ""))
    return found.group(1) if found else None


def pages(server: ApiServer) -> list[LoggedRequest]:
    """The answered requests for pages of vehicles (not the bound, not the key stream)."""
    return [
        r
        for r in server.logged(RESOURCE_PATH)
        if r.status == 200 and r.params.get("$limit") == PAGE_SIZE
    ]


def page_after(row_id: str) -> Matcher:
    """Matches every request (retries too) for the page after ``row_id``."""
    return lambda path, params: after_id(params) == row_id


def query(settings: Settings, sql: str) -> list[tuple[object, ...]]:
    with duckdb.connect(str(settings.duckdb_path)) as con:
        return con.sql(sql).fetchall()


def cursor(settings: Settings) -> str | None:
    """The ``:updated_at`` the pipeline's state says the next run starts from."""
    pipeline: dlt.Pipeline = open_pipeline(PIPELINE_NAME, DATASET, settings)
    return cursor_value(pipeline)


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
    monkeypatch.setenv("TRIPLINE_OPEN_DATA_PAGE_SIZE", PAGE_SIZE)
    monkeypatch.delenv("SOURCES__OPEN_DATA__APP_TOKEN", raising=False)
    return tripline_env
