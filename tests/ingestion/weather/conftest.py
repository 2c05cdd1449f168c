"""Fixtures for the weather tests: an Open-Meteo devserver and its environment."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from devservers.api_common import ApiServer
from devservers.open_meteo import serve_open_meteo
from ingestion.core.settings import Settings
from ingestion.weather.settings import WeatherSettings


@pytest.fixture
def meteo() -> Iterator[ApiServer]:
    with serve_open_meteo() as server:
        yield server


@pytest.fixture
def weather_env(
    tripline_env: Settings,
    meteo: ApiServer,
    monkeypatch: pytest.MonkeyPatch,
    fast_http_retries: None,
) -> Settings:
    monkeypatch.setenv("TRIPLINE_WEATHER_ARCHIVE_URL", f"{meteo.url}/v1/archive")
    monkeypatch.setenv("TRIPLINE_WEATHER_FORECAST_URL", f"{meteo.url}/v1/forecast")
    return tripline_env


def options(meteo: ApiServer, window_days: int = 31) -> WeatherSettings:
    return WeatherSettings(f"{meteo.url}/v1/archive", f"{meteo.url}/v1/forecast", window_days)
