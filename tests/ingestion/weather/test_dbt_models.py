"""The weather dbt models on what the pipelines loaded, including the day clocks go back."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from devservers.api_common import ApiServer
from ingestion.weather.pipeline import run_weather
from tests.ingestion.dbt.conftest import build_trips_project
from tests.ingestion.weather.conftest import options

MODELS = [
    "path:models/staging/weather",
    "path:models/intermediate/weather",
    "path:models/marts/weather",
]


@pytest.mark.slow
def test_weather_models_have_every_utc_hour_and_join_each_trip_once(
    tmp_path: Path, meteo: ApiServer, fast_http_retries: None
):
    # three generated months of trips (January to March 2024) and the staging they need
    project = build_trips_project(tmp_path, rows=2000, full=False)
    run_weather(project.settings, options(meteo))  # the trip months, and the forecast
    run_weather(project.settings, options(meteo), "2024-11-02", "2024-11-04", forecast=False)
    # models, their data tests (unique UTC hours), unit tests and the singular weather test
    project.dbt("build", "--select", *MODELS)
    with duckdb.connect(str(project.settings.duckdb_path), read_only=True) as con:
        per_day = con.sql(
            "select cast(observed_at_local as date)::varchar, count(*), "
            "count(distinct observed_at) from staging.stg_weather__hourly "
            "where cast(observed_at_local as date) in "
            "('2024-03-10', '2024-03-11', '2024-11-03') group by 1 order by 1"
        ).fetchall()
        repeated = con.sql(
            "select observed_at_local::varchar, utc_offset_seconds "
            "from intermediate.int_weather_hours_classified where is_repeated_local_hour"
        ).fetchall()
        trips = con.sql(
            "select (select count(*) from intermediate.int_trips_enriched), count(*), "
            "count(distinct trip_id), "
            # weather exists for every local hour of the trip months but the one skipped when
            # clocks go forward (generated pickups fall in it)
            "count(*) filter (where has_weather = (pickup_at_local >= timestamp '2024-01-01' "
            "and date_trunc('hour', pickup_at_local) != timestamp '2024-03-10 02:00')) "
            "from intermediate.int_trips_with_weather"
        ).fetchall()[0]
    assert per_day == [("2024-03-10", 23, 23), ("2024-03-11", 24, 24), ("2024-11-03", 25, 25)]
    assert repeated == [("2024-11-03 01:00:00", -18000)]
    # every trip once (none lost, none doubled), with weather exactly when its hour has it
    assert trips[0] == trips[1] == trips[2] == trips[3] > 0
