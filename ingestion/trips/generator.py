"""Synthetic TLC trip files: the real file names, schemas and zones, the city's shape and dirt.

Trips are drawn with NumPy in chunks of ``CHUNK_ROWS`` (vectorised, one generator per
(seed, kind, month, chunk), so a file is identical for a seed) and streamed as Arrow record
batches into DuckDB's CSV/Parquet writer: memory stays at about one chunk whatever the size.

What makes it look like New York (each a model, not data: the numbers describe the generator):

- Zones: the TLC's real lookup (``zones.py``); origin and destination are drawn together from
  a gravity model - zone weights (Midtown and the Upper East and West Sides lead pickups) times
  a decay with the distance between zone centroids - with the airports' shares set apart, so
  most trips are short and inside Manhattan and airport trips go anywhere.
- Time: the hour-of-week profile of yellow cabs, fewer trips on public holidays (Thanksgiving,
  Christmas, the Fourth of July, ...), more in rainy hours of the weather the Open-Meteo
  devserver serves (``devservers/open_meteo.weather_at``, the same hours the demo loads), and
  with ``volume="seasonal"`` months as large as the TLC's monthly series (``MONTHLY_TRIPS``).
- Speed by route, borough and hour: Manhattan streets crawl at 6-7 mph in the afternoon and
  move at 13 at night, outer-borough streets are faster, long trips are mostly highway.
- Money as the meter charges it (2023 rates): $3.00 initial charge, 70 cents per fifth of a mile
  or per minute stopped, the $70 JFK flat fare, rush-hour and overnight extras, MTA tax,
  improvement and congestion surcharges, the airport fee, and from 5 January 2025 the MTA's
  $0.75 Congestion Relief Zone fee for trips starting or ending south of 60th Street. Card tips
  follow the tip screen (20/25/30 % of the fare plus surcharges, or a custom amount), so the
  tip rate falls with distance and rises at night. Flex fares (payment type 0) are upfront
  prices with the TLC's empty columns.

Dirt injected (each row gets at most one kind, from one draw, shares in ``DIRT_SHARES``):
refunds (negative amounts: most reverse the trip just before them - same vendor, times, zones,
opposite amounts - the rest reverse a trip the file does not hold), zero distance, dropoff
before pickup, a pickup outside the file's month, flex-fare rows with null
passenger_count/RatecodeID (payment_type 0, as in real files), extreme distances, meters left
running for hours and fares below the initial charge. ``_generator_manifest.json`` lists the
counts per file.

Eras: ``era="modern"`` writes today's headers, ``"legacy"`` the 2016-2023 CSV drift, and
``"archive"``/``"bigquery"`` dress the same trips as the TLC published each service and month
since 2009, or as BigQuery exports them (``eras.py``: headers, text codes, coordinates, fhv).
"""

from __future__ import annotations

import calendar
import itertools
import json
import os
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
import numpy as np
import pyarrow as pa

from ingestion.core.devservers import import_devserver
from ingestion.core.settings import Settings
from ingestion.trips import eras
from ingestion.trips.eras import ARCHIVE_ERAS
from ingestion.trips.months import Month
from ingestion.trips.zones import (
    JFK,
    LAGUARDIA,
    NEWARK,
    OUTSIDE_NYC,
    UNKNOWN,
    build_zones,
    write_zone_lookup,
)

FORMATS = ("parquet", "csv", "csv.gz")
KINDS = ("yellow", "green", "fhvhv", "fhv")
# modern: today's headers; legacy: 2016-2023 CSV drift; archive: each (kind, month) as the
# TLC published it, 2009 on (``eras.py``); bigquery: BigQuery's public export.
ERAS = ("modern", "legacy", *ARCHIVE_ERAS)
VOLUMES = ("flat", "seasonal")
MANIFEST_FILE = "_generator_manifest.json"
CHUNK_ROWS = 1_000_000
CBD_FEE_START = datetime(2025, 1, 5)
NEW_YORK = ZoneInfo("America/New_York")

DIRT_SHARES: dict[str, float] = {
    "negative_amounts": 0.006,
    "zero_distance": 0.005,
    "dropoff_before_pickup": 0.002,
    "pickup_outside_month": 0.002,
    "null_passenger_count": 0.008,
    "extreme_distance": 0.001,
    "extreme_duration": 0.0005,
    "fare_below_initial_charge": 0.001,
}
DIRT_NAMES = list(DIRT_SHARES)
# Share of refunds that reverse the trip just before them in the file (the rest are unmatched).
PAIRED_REFUND_SHARE = 0.85

# Yellow trips a month in the TLC's published files, millions (rows of
# yellow_tripdata_YYYY-MM.parquet, rounded): low in January/February and July/August, high in
# spring and October, and 2025 above 2024. volume="seasonal" scales rows_per_month by each
# month's share of the 2024 mean; other years take the same calendar month of 2024.
MONTHLY_TRIPS: dict[tuple[int, int], float] = {
    (2024, 1): 2.965, (2024, 2): 3.008, (2024, 3): 3.583, (2024, 4): 3.514,
    (2024, 5): 3.724, (2024, 6): 3.539, (2024, 7): 3.077, (2024, 8): 2.979,
    (2024, 9): 3.633, (2024, 10): 3.834, (2024, 11): 3.646, (2024, 12): 3.668,
    (2025, 1): 3.475, (2025, 2): 3.578, (2025, 3): 4.145, (2025, 4): 3.971,
    (2025, 5): 4.592, (2025, 6): 4.323,
}  # fmt: skip
_MEAN_2024 = sum(v for (year, _), v in MONTHLY_TRIPS.items() if year == 2024) / 12

# Share of a day's trips by local hour, Monday-Friday and weekends/holidays.
_WEEKDAY_HOURS = (
    2.0, 1.2, 0.8, 0.55, 0.5, 0.8, 2.0, 3.6, 4.5, 4.6, 4.6, 4.9,
    5.2, 5.3, 5.7, 5.9, 5.8, 6.6, 7.1, 6.4, 5.7, 5.6, 5.2, 3.8,
)  # fmt: skip
_WEEKEND_HOURS = (
    4.8, 4.2, 3.2, 2.2, 1.2, 0.8, 0.9, 1.2, 1.9, 2.9, 3.8, 4.4,
    4.8, 5.0, 5.1, 5.1, 5.1, 5.3, 5.5, 5.4, 5.1, 5.0, 5.2, 5.0,
)  # fmt: skip
_WEEKDAY_WEIGHTS = (0.86, 0.97, 1.02, 1.07, 1.06, 1.01, 0.86)  # Monday first
# Average speed on Manhattan streets by local hour (mph); outer boroughs and highways faster.
_MANHATTAN_MPH_WEEKDAY = (
    12.5, 13.5, 14.0, 14.5, 14.5, 13.0, 11.0, 8.5, 7.2, 7.0, 7.2, 7.3,
    7.2, 7.0, 6.8, 6.6, 6.6, 6.8, 7.5, 8.5, 9.5, 10.3, 11.0, 11.8,
)  # fmt: skip
_MANHATTAN_MPH_WEEKEND = (
    11.5, 12.0, 12.5, 13.5, 14.5, 15.0, 15.0, 14.0, 12.0, 10.0, 9.0, 8.3,
    7.8, 7.6, 7.5, 7.5, 7.6, 7.8, 8.2, 8.6, 9.0, 9.5, 10.0, 10.5,
)  # fmt: skip
_OUTER_STREET_FACTOR = 1.45
_HIGHWAY_FACTOR = 2.9
_HIGHWAY_MAX_MPH = 42.0
# Demand in an hour with precipitation (any, and at least 1.5 mm) and with snow.
_RAIN_LIFT, _HEAVY_RAIN_LIFT, _SNOW_LIFT = 0.14, 0.08, 0.05
_MICROS_PER_SECOND = 1_000_000
# Pickup and dropoff shares by borough (and of the airports, Unknown and Outside of NYC).
_SHARES: dict[str, dict[str, dict[str, float]]] = {
    "yellow": {
        "pickup": {
            "Manhattan": 0.885, "Brooklyn": 0.018, "Queens": 0.012, "Bronx": 0.003,
            "Staten Island": 0.0003, "JFK": 0.048, "LGA": 0.032, "EWR": 0.0002,
            "Unknown": 0.008, "Outside": 0.001,
        },
        "dropoff": {
            "Manhattan": 0.83, "Brooklyn": 0.06, "Queens": 0.04, "Bronx": 0.012,
            "Staten Island": 0.001, "JFK": 0.022, "LGA": 0.025, "EWR": 0.003,
            "Unknown": 0.004, "Outside": 0.004,
        },
    },
    "green": {
        "pickup": {
            "Manhattan": 0.25, "Brooklyn": 0.33, "Queens": 0.3, "Bronx": 0.1,
            "Staten Island": 0.003, "JFK": 0.005, "LGA": 0.005, "EWR": 0.0001,
            "Unknown": 0.006, "Outside": 0.001,
        },
        "dropoff": {
            "Manhattan": 0.3, "Brooklyn": 0.3, "Queens": 0.28, "Bronx": 0.1,
            "Staten Island": 0.004, "JFK": 0.01, "LGA": 0.01, "EWR": 0.001,
            "Unknown": 0.004, "Outside": 0.005,
        },
    },
    "fhvhv": {
        "pickup": {
            "Manhattan": 0.33, "Brooklyn": 0.29, "Queens": 0.2, "Bronx": 0.12,
            "Staten Island": 0.015, "JFK": 0.012, "LGA": 0.01, "EWR": 0.001,
            "Unknown": 0.001, "Outside": 0.001,
        },
        "dropoff": {
            "Manhattan": 0.32, "Brooklyn": 0.29, "Queens": 0.2, "Bronx": 0.12,
            "Staten Island": 0.015, "JFK": 0.012, "LGA": 0.012, "EWR": 0.003,
            "Unknown": 0.003, "Outside": 0.006,
        },
    },
}  # fmt: skip
# Where yellow cabs are busiest inside Manhattan, beyond what closeness to Midtown gives.
_MANHATTAN_HOT = {
    236: 2.8, 237: 3.0, 161: 1.1, 162: 1.1, 186: 1.3, 230: 1.1, 142: 1.6, 239: 1.6,
    170: 1.2, 141: 1.3, 140: 1.1, 238: 1.2, 263: 1.1, 262: 1.0, 48: 1.1, 68: 1.1,
    234: 1.1, 79: 1.1, 107: 1.1, 249: 1.0, 132: 1.0,
}  # fmt: skip


@dataclass
class GeneratedFile:
    path: str
    rows: int
    dirt: dict[str, int] = field(default_factory=dict)
    refunds: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class _ZoneModel:
    pair_cdf: np.ndarray  # cumulative weights over pickup id * 266 + dropoff id
    distance: np.ndarray  # (266, 266) miles between zone centroids, by zone id
    is_manhattan: np.ndarray  # by zone id
    in_surcharge_zone: np.ndarray  # by zone id: Manhattan south of 96th Street
    in_relief_zone: np.ndarray  # by zone id: Manhattan south of 60th Street


def _normalised(weights: Sequence[float] | np.ndarray) -> np.ndarray:
    array = np.asarray(weights, dtype=np.float64)
    normalised: np.ndarray = array / array.sum()
    return normalised


def _group(zone_borough: str, location_id: int) -> str:
    """The share group of a zone: its borough, or JFK/LGA/EWR/Unknown/Outside."""
    special = {JFK: "JFK", LAGUARDIA: "LGA", NEWARK: "EWR", UNKNOWN: "Unknown"}
    return special.get(location_id, "Outside" if location_id == OUTSIDE_NYC else zone_borough)


@cache
def _zone_model(kind: str) -> _ZoneModel:
    """The joint origin-destination distribution and the zones' geography for ``kind``."""
    zones = build_zones()
    size = len(zones) + 1  # index by zone id, 0 unused
    x = np.full(size, np.nan)
    y = np.full(size, np.nan)
    area = np.full(size, np.nan)
    groups = [""] * size
    for zone in zones:
        groups[zone.location_id] = _group(zone.borough, zone.location_id)
        if zone.x_miles is not None:
            x[zone.location_id], y[zone.location_id] = zone.x_miles, zone.y_miles
            area[zone.location_id] = zone.area_square_miles
    ids = np.arange(size)
    placed = ~np.isnan(x)
    # Straight-line miles between centroids; inside a zone, half its width.
    distance = np.hypot(x[:, None] - x[None, :], y[:, None] - y[None, :])
    np.fill_diagonal(distance, 0.5 * np.sqrt(np.nan_to_num(area)))
    distance[UNKNOWN, :] = distance[:, UNKNOWN] = 2.5  # the meter lost its position
    distance[OUTSIDE_NYC, :] = distance[:, OUTSIDE_NYC] = 22.0  # Nassau, Westchester, NJ
    distance[OUTSIDE_NYC, OUTSIDE_NYC] = 8.0
    distance[0, :] = distance[:, 0] = 0.0
    distance = np.nan_to_num(distance, nan=2.5)

    midtown = np.hypot(x - x[161], y - y[161])
    shape = np.zeros(size)
    for location_id in ids[placed]:
        if groups[location_id] == "Manhattan":
            hot = _MANHATTAN_HOT.get(int(location_id), 1.0)
            shape[location_id] = (0.04 + np.exp(-midtown[location_id] / 2.5)) * hot
        elif groups[location_id] in ("Brooklyn", "Queens", "Bronx", "Staten Island"):
            shape[location_id] = 0.05 + np.exp(-midtown[location_id] / 4.0)

    def weights(shares: dict[str, float]) -> np.ndarray:
        weight = np.zeros(size)
        for group, share in shares.items():
            members = np.array([groups[i] == group for i in range(size)])
            inner = np.where(members, np.maximum(shape, 1e-12), 0.0)
            weight += share * inner / inner.sum()
        return weight

    kind_shares = _SHARES.get(kind, _SHARES["fhvhv"])
    pickup, dropoff = weights(kind_shares["pickup"]), weights(kind_shares["dropoff"])
    airports = np.zeros(size, dtype=bool)
    airports[[JFK, LAGUARDIA, NEWARK]] = True
    ordinary = placed & ~airports
    joint = np.zeros((size, size))
    # Ordinary zones: gravity constrained by origin - each zone keeps its pickup share and
    # spreads it over destinations by their weight times a decay with distance.
    decay = np.exp(-distance / 1.1) + 0.05 * np.exp(-distance / 6.0)
    attraction = (dropoff * ordinary)[None, :] * decay
    attraction /= np.maximum(attraction.sum(axis=1, keepdims=True), 1e-300)
    to_ordinary = 1.0 - dropoff[~ordinary].sum()
    joint += (pickup * ordinary)[:, None] * attraction * to_ordinary
    gentle = np.exp(-distance / 20.0)
    for special in (JFK, LAGUARDIA, NEWARK, OUTSIDE_NYC):
        # From the special zone to ordinary zones and back, hardly deterred by distance.
        outbound = dropoff * ordinary * gentle[special]
        inbound = pickup * ordinary * gentle[:, special]
        joint[special, :] += pickup[special] * outbound / outbound.sum()
        joint[:, special] += dropoff[special] * inbound / inbound.sum()
    # Unknown zone: mostly Unknown to Unknown (the meter had no position all along).
    joint[UNKNOWN, UNKNOWN] += 0.7 * pickup[UNKNOWN]
    joint[UNKNOWN, :] += 0.3 * pickup[UNKNOWN] * dropoff * ordinary / (dropoff * ordinary).sum()
    joint[:, UNKNOWN] += dropoff[UNKNOWN] * pickup * ordinary / (pickup * ordinary).sum()
    cdf = np.cumsum(joint.ravel())
    relief = np.zeros(size, dtype=bool)
    surcharge = np.zeros(size, dtype=bool)
    manhattan = np.zeros(size, dtype=bool)
    for zone in zones:
        relief[zone.location_id] = zone.in_congestion_relief_zone
        surcharge[zone.location_id] = zone.in_congestion_surcharge_zone
        manhattan[zone.location_id] = zone.borough == "Manhattan"
    return _ZoneModel(cdf / cdf[-1], distance, manhattan, surcharge, relief)


def _categorical(
    rng: np.random.Generator, values: Sequence[int] | np.ndarray, p: np.ndarray, n: int
) -> np.ndarray:
    """``rng.choice(values, p=p)`` by inverse CDF: several times faster for large ``n``."""
    cdf = np.cumsum(p)
    index = np.searchsorted(cdf, rng.random(n) * cdf[-1], side="right")
    drawn: np.ndarray = np.asarray(values)[np.minimum(index, len(cdf) - 1)]
    return drawn


def _nth_weekday(year: int, month: int, weekday: int, nth: int) -> date:
    """The nth (1-based; -1 = last) given weekday (0 = Monday) of a month."""
    days = [
        date(year, month, d)
        for d in range(1, calendar.monthrange(year, month)[1] + 1)
        if date(year, month, d).weekday() == weekday
    ]
    return days[nth - 1] if nth > 0 else days[nth]


def holidays(year: int) -> dict[date, float]:
    """New York's public holidays of ``year`` and the share of a normal day's trips on each."""
    thanksgiving = _nth_weekday(year, 11, 3, 4)
    return {
        date(year, 1, 1): 0.75,
        _nth_weekday(year, 1, 0, 3): 0.85,  # Martin Luther King Jr. Day
        _nth_weekday(year, 2, 0, 3): 0.85,  # Presidents' Day
        _nth_weekday(year, 5, 0, -1): 0.7,  # Memorial Day
        date(year, 6, 19): 0.9,  # Juneteenth
        date(year, 7, 4): 0.6,
        _nth_weekday(year, 9, 0, 1): 0.7,  # Labor Day
        _nth_weekday(year, 10, 0, 2): 0.9,  # Columbus Day
        date(year, 11, 11): 0.95,  # Veterans Day
        thanksgiving: 0.55,
        thanksgiving + timedelta(days=1): 0.75,
        date(year, 12, 24): 0.75,
        date(year, 12, 25): 0.5,
        date(year, 12, 31): 0.9,
    }


WeatherAt = Callable[[datetime], dict[str, float | int]]


@cache
def _devserver_weather() -> WeatherAt | None:
    """The Open-Meteo devserver's weather function, or None where the devservers are not
    installed (the container image carries only ``ingestion/``): there no hour gets the rain
    lift, and files differ from a checkout's for the same seed."""
    try:
        weather_at: WeatherAt = import_devserver("open_meteo").weather_at
    except ModuleNotFoundError:
        return None
    return weather_at


@cache
def _hour_weights(year: int, month: int) -> np.ndarray:
    """Relative demand of each local hour of the month, day-major (day * 24 + hour).

    The hour-of-week profile, holidays (with a weekend profile) and the devserver's weather
    in that hour; the hour that does not exist when clocks go forward gets none.
    """
    weather_at = _devserver_weather()
    days = calendar.monthrange(year, month)[1]
    days_off = holidays(year)
    weights = np.zeros(days * 24)
    for day in range(days):
        today = date(year, month, day + 1)
        weekday = today.weekday()
        off = weekday >= 5 or today in days_off
        profile = _WEEKEND_HOURS if off else _WEEKDAY_HOURS
        level = _WEEKDAY_WEIGHTS[weekday] * days_off.get(today, 1.0)
        for hour in range(24):
            local = datetime(year, month, day + 1, hour, tzinfo=NEW_YORK)
            if local.astimezone(ZoneInfo("UTC")).astimezone(NEW_YORK).hour != hour:
                continue  # 02:00-02:59 on the day clocks go forward
            weather = weather_at(local) if weather_at else {"snowfall": 0, "precipitation": 0}
            lift = 1.0
            if float(weather["snowfall"]) > 0:
                lift += _SNOW_LIFT
            elif float(weather["precipitation"]) > 0:
                lift += _RAIN_LIFT + (
                    _HEAVY_RAIN_LIFT if float(weather["precipitation"]) >= 1.5 else 0.0
                )
            weights[day * 24 + hour] = level * profile[hour] * lift
    normalised: np.ndarray = weights / weights.sum()
    return normalised


def month_rows(month: Month, rows_per_month: int, volume: str) -> int:
    """Rows of a month's file: ``rows_per_month``, or scaled by the TLC's series."""
    if volume == "flat":
        return rows_per_month
    if volume != "seasonal":
        raise ValueError(f"unknown volume {volume!r}: choose from {', '.join(VOLUMES)}")
    trips = MONTHLY_TRIPS.get((month.year, month.month), MONTHLY_TRIPS[(2024, month.month)])
    return max(1, round(rows_per_month * trips / _MEAN_2024))


def _speed_mph(
    hour: np.ndarray, weekend: np.ndarray, both_manhattan: np.ndarray, distance: np.ndarray
) -> np.ndarray:
    """Expected average speed by route (street kind, share of highway), borough and hour."""
    street = np.where(
        weekend, np.take(_MANHATTAN_MPH_WEEKEND, hour), np.take(_MANHATTAN_MPH_WEEKDAY, hour)
    )
    local = np.where(both_manhattan, street, street * _OUTER_STREET_FACTOR)
    highway = np.minimum(street * _HIGHWAY_FACTOR, _HIGHWAY_MAX_MPH)
    # Share of the trip on highways: long trips more, trips inside Manhattan far less.
    share = distance / (distance + np.where(both_manhattan, 12.0, 4.0))
    speed: np.ndarray = local * (1 - share) + highway * share
    return speed


def _metered_fare(distance: np.ndarray, minutes: np.ndarray) -> np.ndarray:
    """$3.00 plus 70 cents per fifth of a mile moving or per minute stopped (moving ~17 mph)."""
    stopped = np.maximum(minutes - distance / 17.0 * 60.0, 0.0)
    units = np.round((3.5 * distance + 0.7 * stopped) / 0.7)
    fare: np.ndarray = (3.0 + 0.7 * units).round(2)
    return fare


def _draw_chunk(
    rng: np.random.Generator, n: int, month: Month, zones: _ZoneModel
) -> dict[str, np.ndarray]:
    """One chunk of clean trips plus a ``dirt`` code per row (-1 = clean)."""
    cell = _categorical(rng, np.arange(len(w := _hour_weights(month.year, month.month))), w, n)
    day, hour = cell // 24, cell % 24
    first_weekday = month.first_day.weekday()
    weekday = (first_weekday + day) % 7
    days_off = holidays(month.year)
    holiday_days = np.array(
        [d.day - 1 for d in days_off if d.year == month.year and d.month == month.month] or [-1]
    )
    weekend = (weekday >= 5) | np.isin(day, holiday_days)
    month_start = calendar.timegm((month.year, month.month, 1, 0, 0, 0)) * _MICROS_PER_SECOND
    pickup = (
        month_start
        + (day * 86_400 + hour * 3_600 + rng.integers(0, 3_600, size=n)) * _MICROS_PER_SECOND
    )
    pair = np.minimum(
        np.searchsorted(zones.pair_cdf, rng.random(n), side="right"), len(zones.pair_cdf) - 1
    )
    size = zones.distance.shape[0]
    pu, do = pair // size, pair % size
    straight = zones.distance[pu, do]
    same_zone = pu == do
    detour = np.where(
        same_zone, 0.3 + 1.4 * rng.random(n), 1.3 * np.exp(0.18 * rng.standard_normal(n))
    )
    distance = np.maximum(straight * detour, 0.15).round(2)
    both_manhattan = zones.is_manhattan[pu] & zones.is_manhattan[do]
    expected_speed = _speed_mph(hour, weekend, both_manhattan, distance)
    # Natural trips stay inside the validity rules' limits (65 mph, under three hours); only
    # the injected dirt crosses them, so the quality mart's counts equal the manifest's.
    speed = np.minimum(expected_speed * np.exp(0.22 * rng.standard_normal(n)), 65.0)
    minutes = np.minimum(distance / speed * 60 + 0.5 + 1.5 * rng.random(n), 175.0).round(2)

    u_rate = rng.random(n)
    touches_manhattan = zones.is_manhattan[pu] | zones.is_manhattan[do]
    jfk_flat = ((pu == JFK) | (do == JFK)) & touches_manhattan & (u_rate < 0.9)
    newark = (pu == NEWARK) | (do == NEWARK)
    outside = (pu == OUTSIDE_NYC) | (do == OUTSIDE_NYC)
    ratecode = np.select(
        [jfk_flat, newark, outside & (u_rate < 0.6), u_rate > 0.997, u_rate > 0.995],
        [2, 3, 4, 5, 99],
        1,
    )
    metered = _metered_fare(distance, minutes)
    fare = np.select(
        [ratecode == 2, ratecode == 4, ratecode == 5],
        [70.0, (metered * 1.6).round(2), (metered * (0.8 + 0.4 * u_rate)).round(0)],
        metered,
    )
    payment = _categorical(rng, [1, 2, 3, 4, 6], _normalised([0.80, 0.18, 0.008, 0.005, 0.0005]), n)
    passengers = _categorical(
        rng, [1, 2, 3, 4, 5, 6, 0], _normalised([0.72, 0.15, 0.04, 0.02, 0.03, 0.02, 0.02]), n
    )
    overnight = (hour >= 20) | (hour < 6)
    extra = np.select([overnight, ~weekend & (hour >= 16) & (hour < 20)], [1.0, 2.5], 0.0)
    congestion = np.where(zones.in_surcharge_zone[pu] | zones.in_surcharge_zone[do], 2.5, 0.0)
    airport_fee = np.where(np.isin(pu, (JFK, LAGUARDIA)), 1.75, 0.0)
    airport_trip = np.isin(pu, (JFK, LAGUARDIA, NEWARK)) | np.isin(do, (JFK, LAGUARDIA, NEWARK))
    tolls = np.where((airport_trip | outside) & (rng.random(n) < 0.4), 6.94, 0.0)
    cbd_start = calendar.timegm(CBD_FEE_START.timetuple()) * _MICROS_PER_SECOND
    relief = zones.in_relief_zone[pu] | zones.in_relief_zone[do]
    cbd_fee = np.where(relief & (pickup >= cbd_start), 0.75, 0.0)
    u_dirt = rng.random(n)
    cuts = np.cumsum(list(DIRT_SHARES.values()))
    dirt = np.searchsorted(cuts, u_dirt, side="right")
    dirt = np.where(dirt < len(cuts), dirt, -1)
    # Flex fares (payment type 0, the rows with the TLC's empty columns): an upfront price,
    # the fare the app expected in usual traffic, agreed before the ride.
    flex = dirt == DIRT_NAMES.index("null_passenger_count")
    upfront = _metered_fare(distance, distance / expected_speed * 60 + 1.0)
    fare = np.where(flex & (ratecode != 2), (upfront * (0.95 + 0.2 * u_rate)).round(2), fare)
    payment = np.where(flex, 0, payment)
    tip = _card_tips(rng, n, fare, extra + congestion + airport_fee + cbd_fee + 1.5, hour,
                     distance, airport_trip)  # fmt: skip
    tip = np.where((payment == 1) | (payment == 0), tip, 0.0)
    return {
        "vendor": _categorical(rng, [1, 2, 6, 7], _normalised([0.25, 0.74, 0.005, 0.005]), n),
        "pickup": pickup,
        "minutes": minutes,
        "day": day,
        "passengers": passengers,
        "distance": distance,
        "ratecode": ratecode,
        "store_flag": rng.random(n) < 0.005,
        "pu": pu,
        "do": do,
        "payment": payment,
        "fare": fare,
        "extra": extra,
        "tip": tip,
        "tolls": tolls,
        "congestion": congestion,
        "airport_fee": airport_fee,
        "cbd_fee": cbd_fee,
        "u_extreme": rng.random(n),
        "u_refund": rng.random(n),
        "dirt": dirt,
    }


def _card_tips(
    rng: np.random.Generator,
    n: int,
    fare: np.ndarray,
    surcharges: np.ndarray,
    hour: np.ndarray,
    distance: np.ndarray,
    airport_trip: np.ndarray,
) -> np.ndarray:
    """Tips as the back-seat screen offers them: 20, 25 or 30 % of fare plus surcharges, a
    custom amount (8-18 % of the fare, whole dollars), or nothing. Surcharges weigh more on a
    short fare, so short trips tip a larger share of the fare; night riders pick higher
    buttons, morning commuters lower ones, long and airport trips more often type an amount."""
    u_none, u_button, u_custom, u_generous = (rng.random(n) for _ in range(4))
    night = (hour >= 21) | (hour < 4)
    morning = (hour >= 6) & (hour < 10)
    first = np.select([night, morning], [0.30, 0.62], 0.52)
    second = np.select([night, morning], [0.65, 0.86], 0.80)
    third = np.select([night, morning], [0.88, 0.94], 0.91)
    long_trip = (distance > 10) | airport_trip
    scale = np.where(long_trip, 0.75, 1.0)
    button = np.select(
        [u_button < first * scale, u_button < second * scale, u_button < third * scale],
        [0.20, 0.25, 0.30],
        0.0,
    )
    base = fare + surcharges
    custom = np.ceil(fare * (0.08 + 0.10 * u_custom))
    tip = np.where(button > 0, (base * button).round(2), custom)
    tip = np.where(u_generous < 0.002, (fare * (1.05 + 1.5 * u_custom)).round(2), tip)
    none = u_none < np.where(airport_trip, 0.12, 0.07)
    tips: np.ndarray = np.where(none, 0.0, tip)
    return tips


def _apply_dirt(d: dict[str, np.ndarray]) -> dict[str, Any]:
    """Rows after each row's dirt: timestamps, distance, amounts, payment, the null mask.

    A paired refund copies the row before it (a clean row of the same chunk) - vendor, times,
    zones, distance, rate, passengers - with every amount negated; an unmatched refund
    negates its own amounts.
    """
    dirt = d["dirt"]
    code = {name: i for i, name in enumerate(DIRT_NAMES)}
    n = len(dirt)
    index = np.arange(n)
    refund = dirt == code["negative_amounts"]
    previous_clean = np.concatenate([[False], dirt[:-1] == -1])
    paired = refund & previous_clean & (d["u_refund"] < PAIRED_REFUND_SHARE)
    source = np.where(paired, index - 1, index)
    copied = {
        name: d[name][source]
        for name in (
            "vendor", "pickup", "minutes", "passengers", "distance", "ratecode", "store_flag",
            "pu", "do", "fare", "extra", "tip", "tolls", "congestion", "airport_fee", "cbd_fee",
        )
    }  # fmt: skip
    minutes = np.where(
        dirt == code["extreme_duration"], 240 + 1200 * d["u_extreme"], copied["minutes"]
    )
    duration = (minutes * 60).astype(np.int64) * _MICROS_PER_SECOND
    pickup = np.where(
        dirt == code["pickup_outside_month"],
        copied["pickup"] - (2 + d["day"]) * 86_400 * _MICROS_PER_SECOND,
        copied["pickup"],
    )
    dropoff = np.where(dirt == code["dropoff_before_pickup"], pickup - duration, pickup + duration)
    distance = np.select(
        [dirt == code["zero_distance"], dirt == code["extreme_distance"]],
        [0.0, (1000 + 90_000 * d["u_extreme"]).round(2)],
        copied["distance"],
    )
    fare = np.where(
        dirt == code["fare_below_initial_charge"],
        (2.99 * d["u_extreme"]).round(2),
        copied["fare"],
    )
    sign = np.where(refund, -1.0, 1.0)
    payment = np.where(refund, np.where(d["u_refund"] < 0.6, 4, 3), d["payment"])
    return {
        **copied,
        "pickup": pickup,
        "dropoff": dropoff,
        "minutes": minutes,
        "distance": distance,
        "fare": fare,
        "sign": sign,
        "tip": (copied["tip"] * sign).round(2),
        "tolls": copied["tolls"] * sign,
        "nulls": dirt == code["null_passenger_count"],
        "payment": payment,
        "paired_refunds": int(paired.sum()),
        "unmatched_refunds": int((refund & ~paired).sum()),
    }


def _timestamps(micros: np.ndarray) -> pa.Array:
    return pa.array(micros, type=pa.timestamp("us"))


def _yellow_like_batch(dirty: dict[str, Any], kind: str, era: str, month: Month) -> pa.RecordBatch:
    sign, nulls = dirty["sign"], dirty["nulls"]
    prefix = "tpep" if kind == "yellow" else "lpep"
    money = {
        name: (dirty[name] * sign).round(2)
        for name in ("fare", "extra", "congestion", "airport_fee", "cbd_fee")
    }
    total = (
        money["fare"]
        + money["extra"]
        + 0.5 * sign
        + dirty["tip"]
        + dirty["tolls"]
        + 1.0 * sign
        + money["congestion"]
        + money["airport_fee"]
        + money["cbd_fee"]
    ).round(2)
    passengers = pa.array(
        dirty["passengers"].astype(np.float64 if era == "legacy" else np.int64), mask=nulls
    )
    columns: dict[str, pa.Array] = {
        "VendorID": pa.array(dirty["vendor"].astype(np.int32 if era == "modern" else np.int64)),
        f"{prefix}_pickup_datetime": _timestamps(dirty["pickup"]),
        f"{prefix}_dropoff_datetime": _timestamps(dirty["dropoff"]),
        "passenger_count": passengers,
        "trip_distance": pa.array(dirty["distance"]),
        "RatecodeID": pa.array(dirty["ratecode"].astype(np.int64), mask=nulls),
        "store_and_fwd_flag": pa.array(np.where(dirty["store_flag"], "Y", "N"), mask=nulls),
        "PULocationID": pa.array(dirty["pu"].astype(np.int32)),
        "DOLocationID": pa.array(dirty["do"].astype(np.int32)),
        "payment_type": pa.array(dirty["payment"].astype(np.int64)),
        "fare_amount": pa.array(money["fare"]),
        "extra": pa.array(money["extra"]),
        "mta_tax": pa.array(0.5 * sign),
        "tip_amount": pa.array(dirty["tip"]),
        "tolls_amount": pa.array(dirty["tolls"]),
    }
    if kind == "green":
        columns["ehail_fee"] = pa.nulls(len(sign), pa.float64())
    columns["improvement_surcharge"] = pa.array(1.0 * sign)
    columns["total_amount"] = pa.array(total)
    columns["congestion_surcharge"] = pa.array(money["congestion"], mask=nulls)
    if kind == "green":
        columns["trip_type"] = pa.array(np.where(dirty["ratecode"] == 5, 2, 1).astype(np.int64))
    if era == "modern":
        columns["Airport_fee"] = pa.array(money["airport_fee"], mask=nulls)
        if month.first_day >= date(2025, 1, 1):
            columns["cbd_congestion_fee"] = pa.array(money["cbd_fee"])
    elif month.month % 2 == 0:
        columns["airport_fee"] = pa.array(money["airport_fee"], mask=nulls)
    return pa.RecordBatch.from_pydict(columns)


def _fhvhv_batch(dirty: dict[str, Any], u_extreme: np.ndarray) -> pa.RecordBatch:
    uber = dirty["vendor"] != 1
    pickup = dirty["pickup"]
    wait = (60 + 420 * u_extreme).astype(np.int64) * _MICROS_PER_SECOND
    fare = (dirty["fare"] * dirty["sign"]).round(2)
    return pa.RecordBatch.from_pydict(
        {
            "hvfhs_license_num": pa.array(np.where(uber, "HV0003", "HV0005")),
            "dispatching_base_num": pa.array(np.where(uber, "B03404", "B03406")),
            "originating_base_num": pa.array(np.where(uber, "B03404", "B03406"), mask=~uber),
            "request_datetime": _timestamps(pickup - wait),
            "on_scene_datetime": _timestamps(pickup - wait // 8),
            "pickup_datetime": _timestamps(pickup),
            "dropoff_datetime": _timestamps(dirty["dropoff"]),
            "PULocationID": pa.array(dirty["pu"].astype(np.int32)),
            "DOLocationID": pa.array(dirty["do"].astype(np.int32)),
            "trip_miles": pa.array(dirty["distance"]),
            "trip_time": pa.array((dirty["minutes"] * 60).astype(np.int64)),
            "base_passenger_fare": pa.array(fare),
            "tolls": pa.array(dirty["tolls"]),
            "bcf": pa.array((fare * 0.0275).round(2)),
            "sales_tax": pa.array((fare * 0.08875).round(2)),
            "congestion_surcharge": pa.array(dirty["congestion"] * dirty["sign"]),
            "airport_fee": pa.array(dirty["airport_fee"] * dirty["sign"]),
            "tips": pa.array(dirty["tip"]),
            "driver_pay": pa.array((fare * 0.72 + dirty["tip"]).round(2)),
            "shared_request_flag": pa.array(np.full(len(fare), "N")),
            "shared_match_flag": pa.array(np.full(len(fare), "N")),
            "access_a_ride_flag": pa.array(np.full(len(fare), "N")),
            "wav_request_flag": pa.array(np.where(u_extreme > 0.99, "Y", "N")),
            "wav_match_flag": pa.array(np.where(u_extreme > 0.99, "Y", "N")),
        }
    )


def file_name(kind: str, month: Month, fmt: str) -> str:
    return f"{kind}_tripdata_{month}.{fmt}"


def _batches(
    kind: str,
    month: Month,
    rows: int,
    seed: int,
    era: str,
    dirt_counts: dict[str, int],
    refund_counts: dict[str, int],
    layout: eras.Layout | None = None,
    fmt: str = "parquet",
) -> Iterator[pa.RecordBatch]:
    """Chunks drawn on a small thread pool (NumPy releases the GIL), yielded in order.

    At most ``workers + 1`` chunks are in flight, so memory stays bounded.
    """
    zones = _zone_model(kind)
    kind_code = KINDS.index(kind)
    workers = max(1, min(4, os.cpu_count() or 1))

    def make(chunk: int) -> tuple[pa.RecordBatch, np.ndarray, tuple[int, int]]:
        start = chunk * CHUNK_ROWS
        rng = np.random.default_rng([seed, kind_code, month.year, month.month, chunk])
        draws = _draw_chunk(rng, min(CHUNK_ROWS, rows - start), month, zones)
        dirty = _apply_dirt(draws)
        refunds = (dirty["paired_refunds"], dirty["unmatched_refunds"])
        if layout is not None and layout.era != "modern":
            # Its own generator: the trips drawn above stay those of the other eras.
            era_rng = np.random.default_rng([seed, kind_code, month.year, month.month, chunk, 9])
            return eras.batch(layout, kind, dirty, era_rng, month, fmt), draws["dirt"], refunds
        if kind == "fhvhv":
            return _fhvhv_batch(dirty, draws["u_extreme"]), draws["dirt"], refunds
        return _yellow_like_batch(dirty, kind, era, month), draws["dirt"], refunds

    chunks = iter(range((rows + CHUNK_ROWS - 1) // CHUNK_ROWS))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        pending = deque(pool.submit(make, c) for c in itertools.islice(chunks, workers + 1))
        while pending:
            batch, dirt, (paired, unmatched) = pending.popleft().result()
            refund_counts["paired"] += paired
            refund_counts["unmatched"] += unmatched
            for chunk in itertools.islice(chunks, 1):
                pending.append(pool.submit(make, chunk))
            codes, counts = np.unique(dirt, return_counts=True)
            for code, count in zip(codes, counts, strict=True):
                if code >= 0:
                    dirt_counts[DIRT_NAMES[code]] += int(count)
            yield batch


def generate_month(
    out_dir: Path,
    kind: str,
    month: Month,
    rows: int,
    fmt: str,
    seed: int,
    era: str = "modern",
    connection: duckdb.DuckDBPyConnection | None = None,
) -> GeneratedFile:
    """Write one monthly file and return what it holds (rows and dirt counts)."""
    con = connection or duckdb.connect()
    dirt = dict.fromkeys(DIRT_NAMES, 0)
    refunds = {"paired": 0, "unmatched": 0}
    layout = eras.layout(kind, month, era, fmt) if era in ARCHIVE_ERAS or kind == "fhv" else None
    batches = _batches(kind, month, rows, seed, era, dirt, refunds, layout, fmt)
    first = next(batches)
    target = out_dir / file_name(kind, month, fmt)
    if layout is not None and layout.era != "modern":
        eras.write(target, layout, fmt, first.schema, _chain(first, batches), con)
        return GeneratedFile(str(target), rows, dirt, refunds)
    reader = pa.RecordBatchReader.from_batches(first.schema, _chain(first, batches))
    con.register("generated_trips", reader)
    select = "select * from generated_trips"
    if fmt == "parquet":
        # The TLC's Parquet files store timestamps in nanoseconds.
        stamps = [n for n in first.schema.names if n.endswith("_datetime")]
        replaced = ", ".join(f"cast({n} as timestamp_ns) as {n}" for n in stamps)
        select = f"select * replace ({replaced}) from generated_trips"
    options = {
        "parquet": "format parquet, compression zstd, row_group_size 122880",
        "csv": "format csv, header true, timestampformat '%Y-%m-%d %H:%M:%S'",
        "csv.gz": "format csv, header true, timestampformat '%Y-%m-%d %H:%M:%S', compression gzip",
    }[fmt]
    con.execute(f"copy ({select}) to '{target}' ({options})")
    con.unregister("generated_trips")
    return GeneratedFile(str(target), rows, dirt, refunds)


def _chain(first: pa.RecordBatch, rest: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    yield first
    yield from rest


@dataclass
class GenerateReport:
    files: list[GeneratedFile]
    seconds: float

    @property
    def rows(self) -> int:
        return sum(f.rows for f in self.files)

    def line(self) -> str:
        rate = self.rows / self.seconds if self.seconds else 0.0
        dirt = sum(sum(f.dirt.values()) for f in self.files)
        return (
            f"generated {len(self.files)} file(s), {self.rows:,} rows ({dirt:,} with injected "
            f"dirt) in {self.seconds:.1f} s ({rate:,.0f} rows/s)"
        )


def generate(
    out_dir: Path,
    months: Sequence[Month],
    rows_per_month: int,
    fmt: str = "parquet",
    seed: int = 42,
    kinds: Sequence[str] = ("yellow",),
    era: str = "modern",
    settings: Settings | None = None,
    volume: str = "flat",
) -> GenerateReport:
    """Write every (kind, month) file, the zone lookup and the manifest into ``out_dir``.

    ``volume="flat"`` writes ``rows_per_month`` rows into every file (what tests count on);
    ``"seasonal"`` scales each month by the TLC's monthly series (``month_rows``).
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    # Insertion order keeps a file byte-identical for a seed.
    config: dict[str, str | bool | int | float | list[str]] = {"preserve_insertion_order": "true"}
    if settings is not None:
        config["memory_limit"] = settings.budget.duckdb_memory_limit
    con = duckdb.connect(config=config)
    started = time.perf_counter()
    files = [
        generate_month(
            out_dir, kind, month, month_rows(month, rows_per_month, volume), fmt, seed, era, con
        )
        for kind in kinds
        for month in months
    ]
    write_zone_lookup(out_dir)
    report = GenerateReport(files, time.perf_counter() - started)
    manifest_path = out_dir / MANIFEST_FILE
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    for generated in files:
        manifest[Path(generated.path).name] = {
            "rows": generated.rows,
            "dirt": generated.dirt,
            "refunds": generated.refunds,
        }
    manifest_path.write_text(json.dumps(manifest, indent=2, sort_keys=True))
    return report
