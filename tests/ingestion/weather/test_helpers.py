"""The column-array transform and the day windows, without a server."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from ingestion.weather.helpers import MalformedWeatherError, hourly_rows, month_days, windows

VARS = ("temperature_2m", "rain")


def answer(times: list[str], temps: list[float], rain: list[float]) -> dict[str, object]:
    hourly = {"time": times, "temperature_2m": temps, "rain": rain}
    return {"utc_offset_seconds": -18000, "timezone": "America/New_York", "hourly": hourly}


def test_one_row_per_hour_with_values_in_place() -> None:
    rows = list(
        hourly_rows(
            answer(["2024-01-01T00:00", "2024-01-01T01:00"], [1.5, 2.0], [0, 0.4]), VARS, "t"
        )
    )
    assert rows[1]["time"] == datetime(2024, 1, 1, 1)
    assert (rows[1]["temperature_2m"], rows[1]["rain"]) == (2.0, 0.4)
    assert len(rows) == 2


def test_repeated_local_hour_at_dst_end_keeps_first() -> None:
    times = ["2024-11-03T00:00", "2024-11-03T01:00", "2024-11-03T01:00", "2024-11-03T02:00"]
    rows = list(hourly_rows(answer(times, [1, 2, 3, 4], [0, 0, 0, 0]), VARS, "t"))
    assert [r["temperature_2m"] for r in rows] == [1, 2, 4]


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"hourly": {"time": ["2024-01-01T00:00"], "temperature_2m": [1]}}, "lacks rain"),
        ({"nothing": 1}, "no 'hourly'"),
        (answer(["2024-01-01T00:00", "2024-01-01T01:00"], [1, 2], [0]), "unequal length"),
        (answer([], [], []), "empty"),
        (answer(["yesterday"], [1], [0]), "bad time"),
    ],
)
def test_malformed_answers_raise_one_clear_error(bad: object, message: str) -> None:
    with pytest.raises(MalformedWeatherError, match=message):
        list(hourly_rows(bad, VARS, "archive 2024-01-01..2024-01-02"))


def test_windows_split_runs_of_days_and_respect_the_maximum() -> None:
    days = [*month_days(["2024-02"]), date(2024, 3, 5), date(2024, 3, 6)]
    got = [(w.start.isoformat(), w.end.isoformat()) for w in windows(days, 10)]
    assert got == [
        ("2024-02-01", "2024-02-10"),
        ("2024-02-11", "2024-02-20"),
        ("2024-02-21", "2024-02-29"),
        ("2024-03-05", "2024-03-06"),
    ]
