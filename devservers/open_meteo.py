"""The Open-Meteo archive and forecast APIs on 127.0.0.1, with generated plausible weather.

Implements the parts of the contract Tripline uses, validating as the real service does
(400 with ``{"error": true, "reason": ...}``):

- ``GET /v1/archive``: ``latitude``, ``longitude``, ``start_date``, ``end_date`` (both
  required, ``YYYY-MM-DD``, start <= end, from 1940-01-01 up to today), ``hourly`` (known
  variables only), ``timezone`` (IANA name, ``GMT``/``UTC`` or ``auto``);
- ``GET /v1/forecast``: the same location, ``hourly`` and ``timezone`` with
  ``forecast_hours`` (1..384, from the current hour) or ``forecast_days`` (0..16, from local
  midnight).

Answers hold columnar arrays (``hourly.time[]``, ``hourly.temperature_2m[]``, ...). As the real
service does, ``time`` is labelled with ONE fixed ``utc_offset_seconds`` for the whole answer
(the offset of ``timezone`` at the start of the range), 24 labels per day: an answer that
crosses a daylight-saving change is an hour off local clocks after it (open-meteo issues 488
and 1545). Clients must use ``utc_offset_seconds`` to find the instant. Values are a
deterministic function of the true local hour (seasonal and daily temperature cycles, wet
spells, snow below freezing), so the same request always gets the same answer.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from devservers.api_common import ApiError, ApiServer, Params, serve_api

VARIABLES = {
    "temperature_2m": "°C",
    "relative_humidity_2m": "%",
    "precipitation": "mm",
    "rain": "mm",
    "snowfall": "cm",
    "wind_speed_10m": "km/h",
    "weather_code": "wmo code",
    "cloud_cover": "%",
}
ARCHIVE_FIRST_DAY = date(1940, 1, 1)


def _bad(reason: str) -> ApiError:
    return ApiError(400, {"error": True, "reason": reason})


def _unit(key: str, *parts: object) -> float:
    """A stable pseudo-random number in [0, 1) for ``parts``."""
    digest = hashlib.blake2b(repr((key, *parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def weather_at(local: datetime) -> dict[str, float | int]:
    """Plausible New York weather for one local hour."""
    day_of_year = local.timetuple().tm_yday
    seasonal = 12.5 - 11.5 * math.cos(2 * math.pi * (day_of_year - 20) / 365.25)
    daily = 4.0 * math.sin(2 * math.pi * (local.hour - 9) / 24)
    day_noise = (_unit("day", local.date()) - 0.5) * 10
    temperature = round(seasonal + daily + day_noise + (_unit("t", local) - 0.5) * 1.5, 1)
    wet_day = _unit("wet", local.date()) < 0.3
    spell_start = int(_unit("start", local.date()) * 18)
    spell_hours = 2 + int(_unit("len", local.date()) * 8)
    wet_hour = wet_day and spell_start <= local.hour < spell_start + spell_hours
    precipitation = round(0.1 + _unit("mm", local) * 3.5, 1) if wet_hour else 0.0
    snowing = precipitation > 0 and temperature < 0.5
    rain = 0.0 if snowing else precipitation
    snowfall = round(precipitation * 0.7, 2) if snowing else 0.0
    if snowing:
        code = 71 if precipitation < 1 else 73 if precipitation < 2.5 else 75
    elif precipitation > 0:
        code = 51 if precipitation < 0.3 else 61 if precipitation < 1.5 else 63
        code = 65 if precipitation >= 3 else code
    else:
        code = int(_unit("sky", local.date(), local.hour // 6) * 4)  # 0 clear .. 3 overcast
    return {
        "temperature_2m": temperature,
        "relative_humidity_2m": int(55 + _unit("rh", local) * 35 + (30 if wet_hour else 0)) % 101,
        "precipitation": precipitation,
        "rain": rain,
        "snowfall": snowfall,
        "wind_speed_10m": round(5 + _unit("wind", local) * 25 + (10 if wet_hour else 0), 1),
        "weather_code": code,
        "cloud_cover": 100 if wet_hour else code * 33,
    }


def _hours_from(start_utc: datetime, hours: int) -> list[datetime]:
    return [start_utc + timedelta(hours=i) for i in range(hours)]


def _days_hours(first: date, last: date, zone: ZoneInfo) -> list[datetime]:
    """24 UTC instants per day from local midnight of ``first`` (fixed offset, as Open-Meteo)."""
    start = datetime.combine(first, datetime.min.time(), zone).astimezone(UTC)
    return _hours_from(start, ((last - first).days + 1) * 24)


def _float(params: Params, name: str, low: float, high: float, what: str) -> float:
    if name not in params:
        raise _bad(f"Parameter '{name}' is required")
    try:
        value = float(params[name])
    except ValueError:
        raise _bad(f"Value of type 'Float' required for key '{name}'.") from None
    if not low <= value <= high:
        raise _bad(f"{what} must be in range of {low:g} to {high:g}°. Given: {value}.")
    return value


def _date(params: Params, name: str) -> date:
    if name not in params:
        raise _bad("Parameter 'start_date' and 'end_date' must be set")
    try:
        return date.fromisoformat(params[name])
    except ValueError:
        raise _bad(f"Invalid date format for key '{name}'. Given: {params[name]}.") from None


def _zone(params: Params) -> ZoneInfo:
    name = params.get("timezone", "GMT")
    if name in ("GMT", "UTC", "auto"):
        return ZoneInfo("UTC")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise _bad(f"Invalid timezone '{name}'") from None


def _variables(params: Params) -> list[str]:
    names = [v for v in params.get("hourly", "").split(",") if v]
    for name in names:
        if name not in VARIABLES:
            raise _bad(
                f"Cannot initialize WeatherVariable from invalid String value {name} for key hourly"
            )
    return names


def _answer(
    params: Params, zone: ZoneInfo, instants: list[datetime], names: list[str]
) -> dict[str, Any]:
    first = instants[0].astimezone(zone) if instants else datetime.now(zone)
    offset = first.utcoffset() or timedelta(0)
    labels = [(instant + offset).strftime("%Y-%m-%dT%H:%M") for instant in instants]
    rows = [weather_at(instant.astimezone(zone)) for instant in instants]
    hourly: dict[str, list[Any]] = {"time": labels}
    for name in names:
        hourly[name] = [row[name] for row in rows]
    return {
        "latitude": round(float(params["latitude"]), 4),
        "longitude": round(float(params["longitude"]), 4),
        "generationtime_ms": 0.1,
        "utc_offset_seconds": int(offset.total_seconds()),
        "timezone": zone.key if params.get("timezone") not in (None, "GMT") else "GMT",
        "timezone_abbreviation": first.tzname(),
        "elevation": 32.0,
        "hourly_units": {"time": "iso8601", **{n: VARIABLES[n] for n in names}},
        "hourly": hourly,
    }


def route(path: str, params: Params, headers: dict[str, str]) -> Any:
    """Answer one request as Open-Meteo would; raises ``ApiError`` for 4xx answers."""
    if path not in ("/v1/archive", "/v1/forecast"):
        raise ApiError(404, {"error": True, "reason": "Not Found"})
    _float(params, "latitude", -90, 90, "Latitude")
    _float(params, "longitude", -180, 180, "Longitude")
    zone = _zone(params)
    names = _variables(params)
    today = datetime.now(zone).date()
    if path == "/v1/archive":
        first, last = _date(params, "start_date"), _date(params, "end_date")
        if last < first:
            raise _bad("End-date must be larger or equals than start-date")
        if first < ARCHIVE_FIRST_DAY or last > today:
            raise _bad(
                f"Parameter 'start_date' is out of allowed range from {ARCHIVE_FIRST_DAY} "
                f"to {today}"
            )
        return _answer(params, zone, _days_hours(first, last, zone), names)
    if "forecast_hours" in params:
        count = int(params["forecast_hours"])
        if not 1 <= count <= 384:
            raise _bad("Forecast hours is invalid. Allowed range 1 to 384.")
        now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
        return _answer(params, zone, _hours_from(now, count), names)
    days = int(params.get("forecast_days", "7"))
    if not 0 <= days <= 16:
        raise _bad("Forecast days is invalid. Allowed range 0 to 16.")
    hours = _days_hours(today, today + timedelta(days=days - 1), zone) if days else []
    return _answer(params, zone, hours, names)


@contextmanager
def serve_open_meteo() -> Iterator[ApiServer]:
    """Open-Meteo on a free port: ``<url>/v1/archive`` and ``<url>/v1/forecast``."""
    with serve_api(route) as server:
        yield server
