"""The weather pipeline against the Open-Meteo devserver over real HTTP on 127.0.0.1."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import duckdb
import pytest
import requests

from devservers.api_common import ApiServer
from ingestion.core.errors import SourceError
from ingestion.core.settings import Settings
from ingestion.weather.pipeline import run_weather
from tests.helpers import SLOWER_THAN_THE_READ_TIMEOUT, run_tripline
from tests.ingestion.weather.conftest import options


def query(settings: Settings, sql: str) -> list[tuple[object, ...]]:
    with duckdb.connect(str(settings.duckdb_path)) as con:
        return con.sql(sql).fetchall()


def archive_windows(meteo: ApiServer) -> list[tuple[str, str]]:
    return [
        (r.params["start_date"], r.params["end_date"])
        for r in meteo.logged("/v1/archive")
        if r.status == 200
    ]


def hours(settings: Settings) -> list[tuple[object, ...]]:
    return query(settings, "select * from raw_weather.hourly order by time")


def test_rows_per_hour_for_requested_days_and_no_more(weather_env: Settings, meteo: ApiServer):
    summary = run_weather(weather_env, options(meteo, window_days=4), "2024-01-01", "2024-01-10")
    got = query(
        weather_env,
        "select count(*), count(distinct time), min(time), max(time), "
        "count(distinct cast(time as date)) from raw_weather.hourly",
    )[0]
    assert got[0] == got[1] == 240
    assert (str(got[2]), str(got[3]), got[4]) == ("2024-01-01 00:00:00", "2024-01-10 23:00:00", 10)
    # windows of 4 days, each asked with a day of margin on both sides
    assert archive_windows(meteo) == [
        ("2023-12-31", "2024-01-05"),
        ("2024-01-04", "2024-01-09"),
        ("2024-01-08", "2024-01-11"),
    ]
    archive = meteo.logged("/v1/archive")[0].params
    assert archive["timezone"] == "America/New_York"
    assert archive["hourly"].split(",") == [
        "temperature_2m",
        "precipitation",
        "rain",
        "snowfall",
        "wind_speed_10m",
        "weather_code",
    ]
    assert summary.extra["history_hours"] == 240
    assert summary.extra["forecast_hours"] == 48
    assert query(weather_env, "select count(*) from raw_weather.forecast_hourly")[0][0] == 48


NY = ZoneInfo("America/New_York")


def stored_hours(settings: Settings, day: str) -> list[tuple[datetime, datetime, int, float]]:
    """(local time, UTC instant, offset, temperature) of one local day, in UTC order."""
    return query(  # type: ignore[return-value]
        settings,
        "select time, time_utc, utc_offset_seconds, temperature_2m from raw_weather.hourly "
        f"where cast(time as date) = date '{day}' order by time_utc",
    )


def test_dst_days_have_every_hour_of_their_local_date(weather_env: Settings, meteo: ApiServer):
    from devservers.open_meteo import weather_at

    run_weather(weather_env, options(meteo), "2024-03-10", "2024-03-10", forecast=False)
    run_weather(weather_env, options(meteo), "2024-11-03", "2024-11-03", forecast=False)
    per_day = query(
        weather_env,
        "select cast(time as date)::varchar, count(*), count(distinct time_utc), "
        "count(distinct time) from raw_weather.hourly group by 1 order by 1",
    )
    # 02:00 does not exist on 10 March; 01:00 happens twice on 3 November, an hour apart
    assert per_day == [("2024-03-10", 23, 23, 23), ("2024-11-03", 25, 25, 24)]
    for day in ("2024-03-10", "2024-11-03"):
        rows = stored_hours(weather_env, day)
        start = datetime.fromisoformat(day).replace(tzinfo=NY).astimezone(UTC)
        assert [r[1] for r in rows] == [start + timedelta(hours=i) for i in range(len(rows))]
        for local, instant, offset, temperature in rows:
            assert instant.astimezone(NY).replace(tzinfo=None) == local
            assert offset == instant.astimezone(NY).utcoffset().total_seconds()
            assert temperature == weather_at(instant.astimezone(NY))["temperature_2m"]
    repeated = [
        (str(r[0]), r[2]) for r in stored_hours(weather_env, "2024-11-03") if r[0].hour == 1
    ]
    assert repeated == [("2024-11-03 01:00:00", -14400), ("2024-11-03 01:00:00", -18000)]


def test_window_across_dst_end_keeps_the_repeated_hour(weather_env: Settings, meteo: ApiServer):
    # one answer labelled EDT throughout; New York clocks go back on 3 November
    run_weather(weather_env, options(meteo), "2024-11-01", "2024-11-30", forecast=False)
    assert len(meteo.logged("/v1/archive")) == 1
    got = query(
        weather_env,
        "select count(*), count(distinct time_utc), min(time)::varchar, max(time)::varchar "
        "from raw_weather.hourly",
    )[0]
    assert got == (30 * 24 + 1, 30 * 24 + 1, "2024-11-01 00:00:00", "2024-11-30 23:00:00")


def test_a_day_missing_an_hour_is_fetched_again(weather_env: Settings, meteo: ApiServer):
    def blank_one_hour(answer: dict) -> dict:
        answer["hourly"]["temperature_2m"][30] = None  # 2024-01-02 06:00 of 01..03 January
        return answer

    meteo.faults.add("mutate", mutate=blank_one_hour)
    run_weather(weather_env, options(meteo), "2024-01-02", "2024-01-02", forecast=False)
    assert query(weather_env, "select count(*), count(temperature_2m) from raw_weather.hourly")[
        0
    ] == (24, 23)
    meteo.clear_log()
    run_weather(weather_env, options(meteo), "2024-01-02", "2024-01-02", forecast=False)
    assert archive_windows(meteo) == [("2024-01-01", "2024-01-03")]  # 23 of 24 is not complete
    assert query(weather_env, "select count(*), count(temperature_2m) from raw_weather.hourly")[
        0
    ] == (24, 24)
    meteo.clear_log()
    run_weather(weather_env, options(meteo), "2024-01-02", "2024-01-02", forecast=False)
    run_weather(weather_env, options(meteo), "2024-11-03", "2024-11-03", forecast=False)
    meteo.clear_log()
    run_weather(weather_env, options(meteo), "2024-11-03", "2024-11-03", forecast=False)
    assert archive_windows(meteo) == []  # 24 of 24 and 25 of 25: complete


def test_a_fall_back_day_stored_with_24_hours_heals(weather_env: Settings, meteo: ApiServer):
    """A table written when the local hour was the key lacks the repeated 01:00 (EST)."""
    run_weather(weather_env, options(meteo), "2024-11-03", "2024-11-03", forecast=False)
    with duckdb.connect(str(weather_env.duckdb_path)) as con:
        con.execute(
            "delete from raw_weather.hourly "
            "where time_utc = timestamptz '2024-11-03 06:00:00+00'"  # 01:00 EST
        )
    meteo.clear_log()
    run_weather(weather_env, options(meteo), "2024-11-03", "2024-11-03", forecast=False)
    assert archive_windows(meteo) == [("2024-11-02", "2024-11-04")]
    assert len(stored_hours(weather_env, "2024-11-03")) == 25


def test_window_across_dst_start_has_true_local_hours(weather_env: Settings, meteo: ApiServer):
    from zoneinfo import ZoneInfo

    from devservers.open_meteo import weather_at

    # one answer labelled EST throughout; New York clocks move to EDT on 10 March
    run_weather(weather_env, options(meteo), "2024-03-01", "2024-03-31", forecast=False)
    assert len(meteo.logged("/v1/archive")) == 1
    got = query(
        weather_env,
        "select count(*), count(distinct time), min(time)::varchar, max(time)::varchar "
        "from raw_weather.hourly",
    )[0]
    assert got == (31 * 24 - 1, 31 * 24 - 1, "2024-03-01 00:00:00", "2024-03-31 23:00:00")
    ny = ZoneInfo("America/New_York")
    for day, hour in ((5, 13), (20, 13), (31, 23)):
        stored = query(
            weather_env,
            f"select temperature_2m from raw_weather.hourly "
            f"where time = timestamp '2024-03-{day:02d} {hour:02d}:00:00'",
        )
        expected = weather_at(datetime(2024, 3, day, hour, tzinfo=ny))["temperature_2m"]
        assert stored == [(expected,)], (day, hour)


def test_second_run_requests_only_days_not_yet_loaded(weather_env: Settings, meteo: ApiServer):
    run_weather(weather_env, options(meteo), "2024-01-01", "2024-01-10")
    before = query(weather_env, "select time, temperature_2m, _dlt_load_id from raw_weather.hourly")
    meteo.clear_log()
    summary = run_weather(weather_env, options(meteo), "2024-01-05", "2024-01-15")
    assert archive_windows(meteo) == [("2024-01-10", "2024-01-16")]  # days 11..15
    assert summary.skipped_inputs == 6
    assert query(weather_env, "select count(*), count(distinct time) from raw_weather.hourly")[
        0
    ] == (
        360,
        360,
    )
    after = query(weather_env, "select time, temperature_2m, _dlt_load_id from raw_weather.hourly")
    assert set(before) <= set(after)  # loaded days untouched
    meteo.clear_log()
    run_weather(weather_env, options(meteo), "2024-01-01", "2024-01-15")
    assert archive_windows(meteo) == []  # nothing missing: only the forecast is asked
    assert len(meteo.logged("/v1/forecast")) == 1
    assert query(weather_env, "select count(*) from raw_weather.forecast_hourly")[0][0] == 48


def test_default_range_is_the_months_of_loaded_trips(weather_env: Settings, meteo: ApiServer):
    weather_env.duckdb_path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(weather_env.duckdb_path)) as con:
        con.execute("create schema raw_tlc")
        con.execute(
            "create table raw_tlc.yellow_trips as select * from (values "
            "('yellow_tripdata_2024-02.parquet'), ('yellow_tripdata_2024-04.parquet')) "
            "as t(_source_file)"
        )
    run_weather(weather_env, options(meteo), forecast=False)
    assert archive_windows(meteo) == [("2024-01-31", "2024-03-01"), ("2024-03-31", "2024-05-01")]
    days = query(weather_env, "select count(distinct cast(time as date)) from raw_weather.hourly")
    assert days[0][0] == 29 + 30


def test_future_days_are_not_requested(weather_env: Settings, meteo: ApiServer):
    today = date.today()
    run_weather(
        weather_env,
        options(meteo),
        str(today - timedelta(days=2)),
        str(today + timedelta(days=5)),
        forecast=False,
    )
    windows = archive_windows(meteo)
    assert len(windows) == 1
    assert date.fromisoformat(windows[0][1]) <= today + timedelta(days=1)


@pytest.mark.parametrize(
    ("kind", "extra"),
    [
        ("429", {"retry_after": 1}),
        ("500", {}),
        ("slow", {"delay": SLOWER_THAN_THE_READ_TIMEOUT}),
        ("cut", {}),
    ],
)
def test_transient_faults_end_in_success(
    weather_env: Settings, meteo: ApiServer, kind: str, extra: dict[str, float]
):
    meteo.faults.add(kind, times=2 if kind != "slow" else 1, **extra)
    run_weather(weather_env, options(meteo), "2024-01-01", "2024-01-02", forecast=False)
    log = meteo.logged("/v1/archive")
    assert [r.fault for r in log][:2] == [kind] * (2 if kind != "slow" else 1) + (
        [] if kind != "slow" else [""]
    )
    assert query(weather_env, "select count(*) from raw_weather.hourly")[0][0] == 48
    if kind == "429":
        assert log[1].at - log[0].at >= 0.95  # Retry-After: 1 honoured
        assert log[2].at - log[1].at >= 0.95


def test_persistent_failure_names_url_and_window_and_loads_nothing(
    weather_env: Settings, meteo: ApiServer
):
    run_weather(weather_env, options(meteo), "2024-01-01", "2024-01-03", forecast=False)
    before = hours(weather_env)
    # the window of 5 January is asked as 4..6 January
    meteo.faults.add(
        "500", times=99, match=lambda path, params: params.get("start_date") == "2024-01-04"
    )
    with pytest.raises(SourceError) as failure:
        run_weather(weather_env, options(meteo, window_days=1), "2024-01-01", "2024-01-06")
    message = str(failure.value)
    assert "\n" not in message
    assert f"{meteo.url}/v1/archive" in message
    assert "window 2024-01-04..2024-01-06" in message and "after 3 attempts" in message
    assert len([r for r in meteo.logged() if r.fault == "500"]) == 3
    assert hours(weather_env) == before  # the windows that did answer were not loaded either
    meteo.faults.clear()
    meteo.clear_log()
    run_weather(weather_env, options(meteo), "2024-01-01", "2024-01-06", forecast=False)
    assert archive_windows(meteo) == [("2024-01-03", "2024-01-07")]
    assert query(weather_env, "select count(*), count(distinct time) from raw_weather.hourly")[
        0
    ] == (
        144,
        144,
    )


def _drop_rain(answer: dict) -> dict:
    del answer["hourly"]["rain"]
    return answer


def _shorten(answer: dict) -> dict:
    answer["hourly"]["temperature_2m"] = answer["hourly"]["temperature_2m"][:-1]
    return answer


@pytest.mark.parametrize(
    ("kind", "mutate", "expected"),
    [
        ("malformed", None, "malformed response: invalid JSON"),
        ("mutate", _drop_rain, "'hourly' lacks rain"),
        (
            "mutate",
            _shorten,
            "archive 2024-01-02..2024-01-04: arrays of unequal length (time 72, temperature_2m 71)",
        ),
    ],
)
def test_malformed_answers_fail_clearly_and_load_nothing(
    weather_env: Settings, meteo: ApiServer, kind: str, mutate: object, expected: str
):
    run_weather(weather_env, options(meteo), "2024-01-01", "2024-01-01", forecast=False)
    before = hours(weather_env)
    meteo.faults.add(kind, mutate=mutate, match=lambda p, q: q.get("start_date") == "2024-01-02")
    with pytest.raises(SourceError, match=expected.replace("(", r"\(").replace(")", r"\)")):
        run_weather(weather_env, options(meteo, window_days=1), "2024-01-01", "2024-01-04")
    assert hours(weather_env) == before
    broken = [r for r in meteo.logged("/v1/archive") if r.params["start_date"] == "2024-01-02"]
    assert len(broken) == 1  # a broken answer is not retried


def test_devserver_validates_like_open_meteo(meteo: ApiServer):
    base = {"latitude": "40.7", "longitude": "-74", "hourly": "temperature_2m"}
    cases = [
        ({**base, "start_date": "2024-01-01"}, "must be set"),
        ({**base, "start_date": "2024-01-05", "end_date": "2024-01-01"}, "End-date"),
        ({**base, "start_date": "2024-01-01", "end_date": "2024-01-01", "hourly": "fog"}, "fog"),
        (
            {**base, "latitude": "95", "start_date": "2024-01-01", "end_date": "2024-01-01"},
            "Latitude",
        ),
        (
            {**base, "start_date": "2024-01-01", "end_date": "2024-01-01", "timezone": "Mars/Base"},
            "timezone",
        ),
    ]
    for params, reason in cases:
        response = requests.get(f"{meteo.url}/v1/archive", params=params, timeout=5)
        assert response.status_code == 400
        assert response.json()["error"] is True and reason in response.json()["reason"]
    ok = requests.get(
        f"{meteo.url}/v1/archive",
        params={**base, "start_date": "2024-01-01", "end_date": "2024-01-02"},
        timeout=5,
    ).json()
    assert len(ok["hourly"]["time"]) == len(ok["hourly"]["temperature_2m"]) == 48


def test_cli_runs_and_fails_in_one_line(weather_env: Settings, meteo: ApiServer):
    ok = run_tripline("pipeline", "run", "weather", "--start", "2024-01-01", "--end", "2024-01-02")
    assert ok.returncode == 0, ok.stderr
    assert "weather:" in ok.stdout and "history_hours 48" in ok.stdout
    meteo.faults.add("500", times=99)
    bad = run_tripline("pipeline", "run", "weather", "--start", "2024-02-01", "--end", "2024-02-01")
    assert bad.returncode == 3
    last = bad.stderr.strip().splitlines()[-1]
    assert "/v1/archive" in last and "window 2024-01-31..2024-02-02" in last


def test_demo_starts_its_devserver_and_loads(tripline_env: Settings):
    from ingestion.weather.entry import PIPELINE

    assert PIPELINE.demo is not None
    summary = PIPELINE.demo(tripline_env)
    assert summary.extra["history_hours"] == 91 * 24 - 1  # Jan-Mar 2024, DST starts 10 March
    assert summary.extra["forecast_hours"] == 48


def test_full_refresh_requests_every_day_again(weather_env: Settings, meteo: ApiServer):
    run_weather(weather_env, options(meteo), "2024-01-01", "2024-01-03", forecast=False)
    meteo.clear_log()
    run_weather(
        weather_env, options(meteo), "2024-01-02", "2024-01-03", forecast=False, full_refresh=True
    )
    assert archive_windows(meteo) == [("2024-01-01", "2024-01-04")]
    assert query(weather_env, "select count(*) from raw_weather.hourly")[0][0] == 48


def test_no_trips_and_no_range_is_a_clear_configuration_error(
    weather_env: Settings, meteo: ApiServer, monkeypatch: pytest.MonkeyPatch
):
    from ingestion.core.errors import ConfigurationError

    monkeypatch.delenv("TRIPLINE_WEATHER_START", raising=False)
    monkeypatch.delenv("TRIPLINE_WEATHER_END", raising=False)
    with pytest.raises(ConfigurationError, match="no date range: load trips first"):
        run_weather(weather_env, options(meteo))
    assert meteo.logged() == []
    monkeypatch.setenv("TRIPLINE_WEATHER_START", "2024-05-01")
    monkeypatch.setenv("TRIPLINE_WEATHER_END", "2024-05-02")
    run_weather(weather_env, options(meteo), forecast=False)
    assert archive_windows(meteo) == [("2024-04-30", "2024-05-03")]
