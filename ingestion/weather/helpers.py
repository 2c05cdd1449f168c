"""The custom parts of the ``weather`` source: columnar answers to rows, days to windows.

Open-Meteo answers with one array per variable (``hourly.time[]``, ``hourly.rain[]``, ...).
``hourly_rows`` turns that into one row per hour, after checking the answer is whole: every
requested variable present and every array as long as ``time``. A broken answer raises
``MalformedWeatherError`` (one line naming the window), so nothing of that run loads.

Open-Meteo labels ``time`` with one fixed ``utc_offset_seconds`` for the whole answer, so after
a daylight-saving change inside a window its labels are an hour off New York clocks. Each label
is therefore turned back into its UTC instant (``time_utc``, the key) and then into true New
York local time (``time``). Windows are fetched with a day of margin on each side and cut back
to the requested days, so every requested local day is whole whatever offset the answer uses:
23 hours on the day clocks go forward, 25 on the day they go back (its 01:00 twice, an hour
apart, with offsets -14400 and -18000).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

# The archive starts here; a window is never padded before it.
ARCHIVE_FIRST_DAY = date(1940, 1, 1)


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

    def fetch_range(self, today: date) -> tuple[date, date]:
        """The days to request: one more on each side (never before 1940 or after today)."""
        return (
            max(self.start - timedelta(days=1), ARCHIVE_FIRST_DAY),
            min(self.end + timedelta(days=1), max(today, self.end)),
        )


def hourly_rows(
    answer: Any,
    variables: Sequence[str],
    label: str,
    zone: ZoneInfo,
    days: tuple[date, date] | None = None,
) -> Iterator[dict[str, Any]]:
    """One row per hour (UTC instant) of an Open-Meteo answer, with its local time in ``zone``.

    ``days`` (first, last) keeps only hours whose local date is in that range. A local hour
    that repeats when daylight saving time ends appears twice, as the two instants it is.
    """
    if not isinstance(answer, dict) or not isinstance(answer.get("hourly"), dict):
        raise MalformedWeatherError(f"{label}: the answer has no 'hourly' object")
    offset = answer.get("utc_offset_seconds")
    if not isinstance(offset, int):
        raise MalformedWeatherError(f"{label}: the answer has no integer 'utc_offset_seconds'")
    hourly = answer["hourly"]
    missing = [name for name in ("time", *variables) if not isinstance(hourly.get(name), list)]
    if missing:
        raise MalformedWeatherError(f"{label}: 'hourly' lacks {', '.join(missing)}")
    times = hourly["time"]
    if not times:
        raise MalformedWeatherError(f"{label}: 'hourly.time' is empty")
    uneven = {name: len(hourly[name]) for name in variables if len(hourly[name]) != len(times)}
    if uneven:
        raise MalformedWeatherError(
            f"{label}: arrays of unequal length (time {len(times)}, "
            + ", ".join(f"{k} {v}" for k, v in uneven.items())
            + ")"
        )
    shift = timedelta(seconds=offset)
    seen: set[datetime] = set()
    for index, stamp in enumerate(times):
        try:
            instant = (datetime.fromisoformat(stamp) - shift).replace(tzinfo=UTC)
        except (TypeError, ValueError):
            raise MalformedWeatherError(f"{label}: bad time {stamp!r} at index {index}") from None
        local = instant.astimezone(zone).replace(tzinfo=None)
        if instant in seen or (days and not days[0] <= local.date() <= days[1]):
            continue
        seen.add(instant)
        row: dict[str, Any] = {"time": local, "time_utc": instant}
        for name in variables:
            row[name] = hourly[name][index]
        row["utc_offset_seconds"] = int((local - instant.replace(tzinfo=None)).total_seconds())
        row["timezone"] = zone.key
        row["latitude"] = answer.get("latitude")
        row["longitude"] = answer.get("longitude")
        yield row


def hours_in_local_day(day: date, zone: ZoneInfo) -> int:
    """How many hours (UTC instants) ``day`` has in ``zone``: 23, 24 or 25 in New York."""
    start = datetime.combine(day, datetime.min.time(), zone).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), datetime.min.time(), zone).astimezone(UTC)
    return int((end - start).total_seconds() // 3600)


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
