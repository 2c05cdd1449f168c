"""The custom parts of the ``weather`` source: columnar answers to rows, days to windows.

Open-Meteo answers with one array per variable (``hourly.time[]``, ``hourly.rain[]``, ...).
``hourly_rows`` turns that into one row per hour, after checking the answer is whole: every
requested variable present and every array as long as ``time``. A broken answer raises
``MalformedWeatherError`` (one line naming the window), so nothing of that run loads.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any


class MalformedWeatherError(ValueError):
    """An Open-Meteo answer that cannot be turned into whole hourly rows."""


@dataclass(frozen=True)
class Window:
    """Consecutive days requested in one archive call (``start``..``end`` inclusive)."""

    start: date
    end: date

    @property
    def name(self) -> str:
        return f"history_{self.start:%Y%m%d}_{self.end:%Y%m%d}"

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def hourly_rows(
    answer: Any, variables: Sequence[str], label: str, allow_empty: bool = False
) -> Iterator[dict[str, Any]]:
    """One row per hour of an Open-Meteo answer (local time of the requested timezone).

    A local hour that repeats when daylight saving time ends keeps its first occurrence: the
    hour is the table's key.
    """
    if not isinstance(answer, dict) or not isinstance(answer.get("hourly"), dict):
        raise MalformedWeatherError(f"{label}: the answer has no 'hourly' object")
    hourly = answer["hourly"]
    missing = [name for name in ("time", *variables) if not isinstance(hourly.get(name), list)]
    if missing:
        raise MalformedWeatherError(f"{label}: 'hourly' lacks {', '.join(missing)}")
    times = hourly["time"]
    if not times and not allow_empty:
        raise MalformedWeatherError(f"{label}: 'hourly.time' is empty")
    uneven = {name: len(hourly[name]) for name in variables if len(hourly[name]) != len(times)}
    if uneven:
        raise MalformedWeatherError(
            f"{label}: arrays of unequal length (time {len(times)}, "
            + ", ".join(f"{k} {v}" for k, v in uneven.items())
            + ")"
        )
    seen: set[str] = set()
    for index, stamp in enumerate(times):
        if stamp in seen:
            continue
        seen.add(stamp)
        try:
            local = datetime.fromisoformat(stamp)
        except (TypeError, ValueError):
            raise MalformedWeatherError(f"{label}: bad time {stamp!r} at index {index}") from None
        row: dict[str, Any] = {"time": local}
        for name in variables:
            row[name] = hourly[name][index]
        row["utc_offset_seconds"] = answer.get("utc_offset_seconds")
        row["timezone"] = answer.get("timezone")
        row["latitude"] = answer.get("latitude")
        row["longitude"] = answer.get("longitude")
        yield row


def month_days(months: Iterable[str]) -> list[date]:
    """Every day of the ``YYYY-MM`` months given."""
    days: list[date] = []
    for month in sorted(set(months)):
        first = date.fromisoformat(f"{month}-01")
        day = first
        while day.month == first.month:
            days.append(day)
            day += timedelta(days=1)
    return days


def day_range(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def windows(days: Iterable[date], max_days: int) -> list[Window]:
    """Group days into runs of consecutive days, each at most ``max_days`` long."""
    result: list[Window] = []
    for day in sorted(set(days)):
        last = result[-1] if result else None
        if last and day == last.end + timedelta(days=1) and last.days < max_days:
            result[-1] = Window(last.start, day)
        else:
            result.append(Window(day, day))
    return result
