"""Open-Meteo hourly weather for New York as a dlt source, declared with ``dlt.sources.rest_api``.

Resources (all from one ``rest_api`` configuration, one request each, no paging):

- ``history_<start>_<end>``: ``GET /v1/archive`` for one window of days not yet loaded, into
  table ``hourly``, merged on the local hour ``time`` (a re-run overwrites, never duplicates);
- ``forecast``: ``GET /v1/forecast`` for the next 48 hours, into ``forecast_hourly``,
  replaced on every run.

The only code is the ``yield_map`` step ``hourly_rows`` (column arrays to one row per hour).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import dlt
import requests
from dlt.sources import DltResource
from dlt.sources.rest_api import rest_api_resources
from dlt.sources.rest_api.typing import RESTAPIConfig

from ingestion.weather.helpers import Window, hourly_rows
from ingestion.weather.settings import (
    FORECAST_HOURS,
    FORECAST_TABLE,
    HISTORY_TABLE,
    HOURLY_VARIABLES,
    SOURCE_NAME,
    WeatherSettings,
)

# Local wall-clock hours: a naive TIMESTAMP, like the TLC's pickup times.
TIME_COLUMN: dict[str, Any] = {"time": {"data_type": "timestamp", "timezone": False}}


def _to_rows(label: str, allow_empty: bool = False) -> Any:
    def step(answer: Any) -> Iterator[dict[str, Any]]:
        return hourly_rows(answer, HOURLY_VARIABLES, label, allow_empty)

    return step


def rest_api_config(options: WeatherSettings, history: Sequence[Window], forecast: bool) -> Any:
    """The ``rest_api`` configuration: one archive resource per window, plus the forecast."""
    common = {
        "latitude": options.latitude,
        "longitude": options.longitude,
        "hourly": ",".join(HOURLY_VARIABLES),
        "timezone": options.timezone,
    }
    resources: list[dict[str, Any]] = [
        {
            "name": window.name,
            "table_name": HISTORY_TABLE,
            "write_disposition": "merge",
            "primary_key": "time",
            "columns": TIME_COLUMN,
            "endpoint": {
                "path": options.archive_url,
                "data_selector": "$",
                "paginator": "single_page",
                "params": {
                    **common,
                    "start_date": window.start.isoformat(),
                    "end_date": window.end.isoformat(),
                },
            },
            "processing_steps": [{"yield_map": _to_rows(f"archive {window.start}..{window.end}")}],
        }
        for window in history
    ]
    if forecast:
        resources.append(
            {
                "name": "forecast",
                "table_name": FORECAST_TABLE,
                "write_disposition": "replace",
                "primary_key": "time",
                "columns": TIME_COLUMN,
                "endpoint": {
                    "path": options.forecast_url,
                    "data_selector": "$",
                    "paginator": "single_page",
                    "params": {**common, "forecast_hours": FORECAST_HOURS},
                },
                "processing_steps": [{"yield_map": _to_rows("forecast")}],
            }
        )
    return resources


@dlt.source(name=SOURCE_NAME)
def weather(
    options: WeatherSettings,
    session: requests.Session,
    history: Sequence[Window] = (),
    forecast: bool = True,
) -> list[DltResource]:
    """Hourly New York weather: history for ``history`` windows, and the 48-hour forecast.

    Args:
        options: Open-Meteo URLs, location and timezone.
        session: the HTTP session (retries, timeouts) every request goes through.
        history: windows of days to fetch from the archive.
        forecast: also replace the forecast table.

    Returns:
        One resource per window, plus ``forecast``.
    """
    config: RESTAPIConfig = {
        "client": {"base_url": options.archive_url, "session": session},
        "resources": rest_api_config(options, history, forecast),
    }
    return list(rest_api_resources(config))
