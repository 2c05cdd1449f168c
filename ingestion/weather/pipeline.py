"""The ``weather`` run: history for days not yet loaded, in windows, and a fresh forecast.

Which days: ``--start/--end`` if given; else every day of the months present in
``raw_tlc.yellow_trips`` (read from its ``_source_file`` names); else the configured range.
Days already complete in ``raw_weather.hourly`` are skipped: a day is complete when every UTC
hour of its New York date (23, 24 or 25) is stored with a temperature. The destination itself
is the state: nothing can claim days that never loaded.

All-or-nothing: every window is fetched before anything loads; a failure (after the
session's retries) loads nothing and is reported in one line naming the URL and window.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from datetime import date, datetime
from zoneinfo import ZoneInfo

import dlt

from ingestion.core.destination import rows_of_loads, table_exists
from ingestion.core.destinations import sql_client
from ingestion.core.errors import ConfigurationError, SourceError
from ingestion.core.failures import cause_chain, innermost_line
from ingestion.core.http import HttpStats, RetryPolicy, http_failure, retrying_session
from ingestion.core.logs import get_logger
from ingestion.core.memory import PeakTreeMemory
from ingestion.core.pipeline import open_pipeline, recover_interrupted
from ingestion.core.settings import Settings
from ingestion.core.summary import RunSummary
from ingestion.weather import weather
from ingestion.weather.helpers import (
    MalformedWeatherError,
    day_range,
    hours_in_local_day,
    month_days,
    windows,
)
from ingestion.weather.settings import (
    DATASET,
    FORECAST_TABLE,
    HISTORY_TABLE,
    PIPELINE_NAME,
    WeatherSettings,
    configured_range,
)

log = get_logger("weather")
_MONTH = re.compile(r"(\d{4})-(\d{2})")


def _parse_day(text: str, what: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ConfigurationError(f"weather: {what} must be YYYY-MM-DD, got {text!r}") from None


def _table_exists(pipeline: dlt.Pipeline, dataset: str, table: str) -> bool:
    with sql_client(pipeline, others=[dataset]) as client:
        return table_exists(client, table, dataset)


def trip_months(pipeline: dlt.Pipeline) -> list[str]:
    """``YYYY-MM`` of every monthly file loaded into ``raw_tlc.yellow_trips``."""
    if not _table_exists(pipeline, "raw_tlc", "yellow_trips"):
        return []
    with sql_client(pipeline, others=["raw_tlc"]) as client:
        rows = client.execute_sql("select distinct _source_file from raw_tlc.yellow_trips")
    months = set()
    for (name,) in rows or []:
        match = _MONTH.search(str(name))
        if match and 1 <= int(match.group(2)) <= 12:
            months.add(match.group(0))
    return sorted(months)


def loaded_days(pipeline: dlt.Pipeline, timezone: str) -> set[date]:
    """Days complete in ``raw_weather.hourly``: every UTC hour of the local date, with a
    temperature (a day the archive has not finished yet is asked again)."""
    if not _table_exists(pipeline, DATASET, HISTORY_TABLE):
        return set()
    with sql_client(pipeline) as client:
        rows = client.execute_sql(
            "select cast(time as date), count(distinct time_utc) filter "
            "(where temperature_2m is not null) "
            f"from {client.make_qualified_table_name(HISTORY_TABLE)} group by 1"
        )
    zone = ZoneInfo(timezone)
    return {day for day, hours in rows or [] if hours == hours_in_local_day(day, zone)}


def requested_days(
    pipeline: dlt.Pipeline,
    start: str | None,
    end: str | None,
    timezone: str,
    fallback: tuple[str, str] | None = None,
) -> tuple[list[date], str]:
    """The days this run should hold, and where that choice came from."""
    if start or end:
        if not (start and end):
            raise ConfigurationError("weather: give both --start and --end")
        days, origin = (
            day_range(_parse_day(start, "--start"), _parse_day(end, "--end")),
            "--start/--end",
        )
    elif months := trip_months(pipeline):
        days, origin = month_days(months), f"months in raw_tlc.yellow_trips ({', '.join(months)})"
    else:
        first, last = configured_range()
        origin = "configured range"
        if not (first and last) and fallback:
            (first, last), origin = fallback, "fallback range"
        if not (first and last):
            raise ConfigurationError(
                "weather: no date range: load trips first, or pass --start/--end "
                "(or set TRIPLINE_WEATHER_START and TRIPLINE_WEATHER_END)"
            )
        days = day_range(_parse_day(first, "start"), _parse_day(last, "end"))
    if not days:
        raise ConfigurationError("weather: the date range is empty (end before start)")
    today = datetime.now(ZoneInfo(timezone)).date()
    future = [d for d in days if d > today]
    if future:
        log.info("weather: %d day(s) after today are not in the archive yet; skipped", len(future))
    return [d for d in days if d <= today], origin


def describe_failure(exc: BaseException, policy: RetryPolicy) -> str:
    """One line: what failed, at which URL and window, and what to do."""
    for cause in cause_chain(exc):
        if isinstance(cause, MalformedWeatherError):
            return f"weather: malformed answer: {cause}; nothing was loaded"
    failure = http_failure(exc)
    if failure is None:
        return f"weather: load failed: {innermost_line(exc)}"
    if "start_date" in failure.params:
        page = f"window {failure.params['start_date']}..{failure.params.get('end_date')}"
    else:
        page = f"forecast_hours={failure.params.get('forecast_hours', '?')}"
    retried = f" after {policy.max_attempts} attempts" if failure.retryable else ""
    return (
        f"weather: GET {failure.url} {page} failed{retried}: {failure.what}; "
        "nothing was loaded, run again later"
    )


def _count(pipeline: dlt.Pipeline, table: str, load_ids: Sequence[str]) -> int:
    with sql_client(pipeline) as client:
        return rows_of_loads(client, table, load_ids)


def run_weather(
    settings: Settings,
    options: WeatherSettings,
    start: str | None = None,
    end: str | None = None,
    forecast: bool = True,
    full_refresh: bool = False,
    fallback: tuple[str, str] | None = None,
) -> RunSummary:
    """Load missing history days (in windows) and replace the forecast.

    ``fallback`` is the range used when there are no trips and no configured range.
    """
    summary = RunSummary(PIPELINE_NAME, DATASET)
    started = time.perf_counter()
    policy = RetryPolicy.from_env()
    stats = HttpStats()
    with PeakTreeMemory() as memory:
        pipeline = open_pipeline(PIPELINE_NAME, DATASET, settings)
        recover_interrupted(pipeline)
        days, origin = requested_days(pipeline, start, end, options.timezone, fallback)
        done = set() if full_refresh else loaded_days(pipeline, options.timezone)
        todo = windows([d for d in days if d not in done], options.window_days)
        summary.skipped_inputs = len([d for d in days if d in done])
        log.info(
            "weather: %d day(s) from %s, %d already loaded, %d to fetch in %d window(s)%s",
            len(days),
            origin,
            summary.skipped_inputs,
            len(days) - summary.skipped_inputs,
            len(todo),
            " + forecast" if forecast else "",
        )
        load_ids: list[str] = []
        if todo or forecast:
            session = retrying_session("weather", policy, stats)
            source = weather(options, session, todo, forecast)
            try:
                info = pipeline.run(
                    source,
                    refresh="drop_sources" if full_refresh else None,  # type: ignore[arg-type]
                    loader_file_format="parquet",  # bulk reads in DuckDB, see open_data
                )
            except Exception as exc:
                recover_interrupted(pipeline)
                raise SourceError(describe_failure(exc, policy)) from exc
            load_ids = list(info.loads_ids)
        history_rows = _count(pipeline, HISTORY_TABLE, load_ids)
        forecast_rows = _count(pipeline, FORECAST_TABLE, load_ids)
    summary.rows_loaded = summary.rows_read = history_rows + forecast_rows
    summary.inputs = stats.responses
    summary.bytes_read = stats.bytes_read
    summary.load_ids = load_ids
    summary.seconds = time.perf_counter() - started
    summary.peak_memory_bytes = memory.peak_bytes
    summary.extra["history_hours"] = history_rows
    summary.extra["forecast_hours"] = forecast_rows
    summary.extra["windows"] = len(todo)
    return summary
