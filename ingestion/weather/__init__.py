"""Open-Meteo hourly weather for New York as a dlt source, declared with ``dlt.sources.rest_api``.

Resources (all from one ``rest_api`` configuration, one request each, no paging):

- ``history_<start>_<end>``: ``GET /v1/archive`` for one window of days not yet loaded, into
  table ``hourly``, merged on the hour's UTC instant ``time_utc`` (a re-run overwrites, never
  duplicates; the 01:00 New York clocks repeat when daylight saving time ends is two rows);
- ``forecast``: ``GET /v1/forecast`` for the next 48 hours, into ``forecast_hourly``,
  replaced on every run.

The only code is the ``yield_map`` step ``hourly_rows`` (column arrays to one row per hour).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

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

# Local wall-clock hours: a naive TIMESTAMP, like the TLC's pickup times; and the instant,
# the key (local hours repeat once a year).
KEY = "time_utc"
TIME_COLUMN: dict[str, Any] = {
    "time": {"data_type": "timestamp", "timezone": False},
    "time_utc": {"data_type": "timestamp", "timezone": True},
}


def _to_rows(label: str, zone: ZoneInfo, days: tuple[date, date] | None = None) -> Any:
    def step(answer: Any) -> Iterator[dict[str, Any]]:
        return hourly_rows(answer, HOURLY_VARIABLES, label, zone, days)

    return step


def _window_resource(options: WeatherSettings, window: Window, today: date) -> dict[str, Any]:
    first, last = window.fetch_range(today)
    return {
        "name": window.name,
        "table_name": HISTORY_TABLE,
        "write_disposition": "merge",
        "primary_key": KEY,
        "columns": TIME_COLUMN,
        "endpoint": {
            "path": options.archive_url,
            "data_selector": "$",
            "paginator": "single_page",
            "params": {
                **_location(options),
                "start_date": first.isoformat(),
                "end_date": last.isoformat(),
            },
        },
        "processing_steps": [
            {
                "yield_map": _to_rows(
                    f"archive {first}..{last}",
                    ZoneInfo(options.timezone),
                    (window.start, window.end),
                )
            }
        ],
    }


def _location(options: WeatherSettings) -> dict[str, Any]:
    return {
        "latitude": options.latitude,
        "longitude": options.longitude,
        "hourly": ",".join(HOURLY_VARIABLES),
        "timezone": options.timezone,
    }


def rest_api_config(
    options: WeatherSettings, history: Sequence[Window], forecast: bool, today: date
) -> Any:
    """The ``rest_api`` configuration: one archive resource per window, plus the forecast."""
    resources = [_window_resource(options, window, today) for window in history]
    if forecast:
        resources.append(
            {
                "name": "forecast",
                "table_name": FORECAST_TABLE,
                "write_disposition": "replace",
                "primary_key": KEY,
                "columns": TIME_COLUMN,
                "endpoint": {
                    "path": options.forecast_url,
                    "data_selector": "$",
                    "paginator": "single_page",
                    "params": {**_location(options), "forecast_hours": FORECAST_HOURS},
                },
                "processing_steps": [
                    {"yield_map": _to_rows("forecast", ZoneInfo(options.timezone))}
                ],
            }
        )
    return resources


@dlt.source(name=SOURCE_NAME)
def weather(
    options: WeatherSettings,
    session: requests.Session,
    history: Sequence[Window] = (),
    forecast: bool = True,
    today: date | None = None,
) -> list[DltResource]:
    """Hourly New York weather: history for ``history`` windows, and the 48-hour forecast.

    Args:
        options: Open-Meteo URLs, location and timezone.
        session: the HTTP session (retries, timeouts) every request goes through.
        history: windows of days to fetch from the archive.
        forecast: also replace the forecast table.
        today: the last day the archive may be asked for (default: today in New York).

    Returns:
        One resource per window, plus ``forecast``.
    """
    config: RESTAPIConfig = {
        "client": {"base_url": options.archive_url, "session": session},
        "resources": rest_api_config(
            options, history, forecast, today or datetime.now(ZoneInfo(options.timezone)).date()
        ),
    }
    return list(rest_api_resources(config))
