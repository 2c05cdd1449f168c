"""Options of the ``weather`` pipeline and where each comes from.

URLs: ``TRIPLINE_WEATHER_ARCHIVE_URL`` / ``TRIPLINE_WEATHER_FORECAST_URL`` or dlt config
``sources.weather.archive_url`` / ``sources.weather.forecast_url`` (defaults: the real
Open-Meteo endpoints, no key needed). Date range when ``raw_tlc.yellow_trips`` is absent:
``--start/--end`` or ``TRIPLINE_WEATHER_START``/``TRIPLINE_WEATHER_END`` or
``sources.weather.start_date``/``end_date``. Window: ``TRIPLINE_WEATHER_WINDOW_DAYS``.

Times are requested with ``timezone=America/New_York``: Open-Meteo then answers in New York
local time, the same clock as the TLC's naive pickup timestamps, so trips join to weather on
the local hour without any conversion.
"""

from __future__ import annotations

from dataclasses import dataclass

from ingestion.core.errors import ConfigurationError
from ingestion.core.http import configured

PIPELINE_NAME = "weather"
DATASET = "raw_weather"
SOURCE_NAME = "weather"
DEFAULT_ARCHIVE_URL = "https://archive-api.open-meteo.com/v1/archive"
DEFAULT_FORECAST_URL = "https://api.open-meteo.com/v1/forecast"
HISTORY_TABLE = "hourly"
FORECAST_TABLE = "forecast_hourly"
# Central Park-ish: one point stands for the city (the TLC zones span about 50 km).
NYC_LATITUDE = 40.7812
NYC_LONGITUDE = -73.9665
TIMEZONE = "America/New_York"
HOURLY_VARIABLES = (
    "temperature_2m",
    "precipitation",
    "rain",
    "snowfall",
    "wind_speed_10m",
    "weather_code",
)
FORECAST_HOURS = 48
DEFAULT_WINDOW_DAYS = 31


@dataclass(frozen=True)
class WeatherSettings:
    archive_url: str
    forecast_url: str
    window_days: int
    latitude: float = NYC_LATITUDE
    longitude: float = NYC_LONGITUDE
    timezone: str = TIMEZONE


def load_weather_settings() -> WeatherSettings:
    """The environment wins over dlt config, which wins over the defaults."""
    archive = configured(
        "TRIPLINE_WEATHER_ARCHIVE_URL", "sources.weather.archive_url", DEFAULT_ARCHIVE_URL
    )
    forecast = configured(
        "TRIPLINE_WEATHER_FORECAST_URL", "sources.weather.forecast_url", DEFAULT_FORECAST_URL
    )
    window = int(
        configured(
            "TRIPLINE_WEATHER_WINDOW_DAYS", "sources.weather.window_days", str(DEFAULT_WINDOW_DAYS)
        )
    )
    for url in (archive, forecast):
        if not url.startswith(("http://", "https://")):
            raise ConfigurationError(f"weather URL must be http(s)://, got {url!r}")
    if not 1 <= window <= 366:
        raise ConfigurationError(f"weather window must be 1..366 days, got {window}")
    return WeatherSettings(archive, forecast, window)


def configured_range() -> tuple[str, str]:
    """``(start, end)`` from the environment or dlt config; empty strings when not set."""
    start = configured("TRIPLINE_WEATHER_START", "sources.weather.start_date", "")
    end = configured("TRIPLINE_WEATHER_END", "sources.weather.end_date", "")
    return start, end
