"""The column-array transform and the day windows, without a server."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from ingestion.weather.helpers import (
    MalformedWeatherError,
    Window,
    hourly_rows,
    hours_in_local_day,
    month_days,
    windows,
)

VARS = ("temperature_2m", "rain")
NY = ZoneInfo("America/New_York")


def answer(times: list[str], temps: list[float], rain: list[float], offset: int = -18000) -> dict:
    hourly = {"time": times, "temperature_2m": temps, "rain": rain}
    return {"utc_offset_seconds": offset, "timezone": "America/New_York", "hourly": hourly}


def test_one_row_per_hour_with_values_in_place() -> None:
    got = answer(["2024-01-01T00:00", "2024-01-01T01:00"], [1.5, 2.0], [0, 0.4])
    rows = list(hourly_rows(got, VARS, "t", NY))
    assert len(rows) == 2
    assert rows[1]["time"] == datetime(2024, 1, 1, 1)
    assert rows[1]["time_utc"] == datetime(2024, 1, 1, 6, tzinfo=UTC)
    assert (rows[1]["temperature_2m"], rows[1]["rain"]) == (2.0, 0.4)


def test_fixed_offset_labels_become_true_local_time_after_dst_starts() -> None:
    # Open-Meteo labels a whole answer with the offset at its start (EST, -5 h): after the
    # change on 10 March its "12:00" is 17:00 UTC, which New York clocks call 13:00.
    got = answer(["2024-03-10T01:00", "2024-03-10T02:00", "2024-03-20T12:00"], [1, 2, 3], [0, 0, 0])
    rows = list(hourly_rows(got, VARS, "t", NY))
    assert [r["time"] for r in rows] == [
        datetime(2024, 3, 10, 1),
        datetime(2024, 3, 10, 3),  # 02:00 does not exist on New York clocks that day
        datetime(2024, 3, 20, 13),
    ]
    assert [r["utc_offset_seconds"] for r in rows] == [-18000, -14400, -14400]


def test_repeated_local_hour_at_dst_end_keeps_both() -> None:
    times = ["2024-11-03T00:00", "2024-11-03T01:00", "2024-11-03T02:00", "2024-11-03T03:00"]
    rows = list(hourly_rows(answer(times, [1, 2, 3, 4], [0] * 4, offset=-14400), VARS, "t", NY))
    # EDT labels: 00:00, 01:00 EDT, 01:00 EST (New York clocks repeat it), 02:00 EST
    assert [(r["time"].hour, r["utc_offset_seconds"], r["temperature_2m"]) for r in rows] == [
        (0, -14400, 1),
        (1, -14400, 2),
        (1, -18000, 3),
        (2, -18000, 4),
    ]
    assert [r["time_utc"].hour for r in rows] == [4, 5, 6, 7]


def test_hours_of_local_days_across_dst() -> None:
    assert hours_in_local_day(date(2024, 3, 10), NY) == 23
    assert hours_in_local_day(date(2024, 3, 11), NY) == 24
    assert hours_in_local_day(date(2024, 11, 3), NY) == 25


def test_only_hours_of_the_requested_days_are_kept() -> None:
    times = [f"2024-01-0{d}T{h:02d}:00" for d in (1, 2, 3) for h in range(24)]
    got = answer(times, [0.0] * 72, [0.0] * 72)
    rows = list(hourly_rows(got, VARS, "t", NY, (date(2024, 1, 2), date(2024, 1, 2))))
    assert len(rows) == 24 and {r["time"].date() for r in rows} == {date(2024, 1, 2)}


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (
            {"utc_offset_seconds": 0, "hourly": {"time": ["2024-01-01T00:00"]}},
            "lacks temperature_2m, rain",
        ),
        ({"nothing": 1}, "no 'hourly'"),
        ({"hourly": {"time": []}}, "utc_offset_seconds"),
        (answer(["2024-01-01T00:00", "2024-01-01T01:00"], [1, 2], [0]), "unequal length"),
        (answer([], [], []), "empty"),
        (answer(["yesterday"], [1], [0]), "bad time"),
    ],
)
def test_malformed_answers_raise_one_clear_error(bad: object, message: str) -> None:
    with pytest.raises(MalformedWeatherError, match=message):
        list(hourly_rows(bad, VARS, "archive 2024-01-01..2024-01-02", NY))


def test_windows_split_runs_of_days_and_respect_the_maximum() -> None:
    days = [*month_days(["2024-02"]), date(2024, 3, 5), date(2024, 3, 6)]
    got = [(w.start.isoformat(), w.end.isoformat()) for w in windows(days, 10)]
    assert got == [
        ("2024-02-01", "2024-02-10"),
        ("2024-02-11", "2024-02-20"),
        ("2024-02-21", "2024-02-29"),
        ("2024-03-05", "2024-03-06"),
    ]


def test_fetch_range_adds_a_day_each_side_but_not_past_today() -> None:
    window = Window(date(2024, 3, 1), date(2024, 3, 31))
    assert window.fetch_range(date(2025, 1, 1)) == (date(2024, 2, 29), date(2024, 4, 1))
    assert window.fetch_range(date(2024, 3, 31)) == (date(2024, 2, 29), date(2024, 3, 31))
    assert Window(date(1940, 1, 1), date(1940, 1, 2)).fetch_range(date(2025, 1, 1))[0] == date(
        1940, 1, 1
    )
