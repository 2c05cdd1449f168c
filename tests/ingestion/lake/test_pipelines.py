"""fleet_db, fleet_events, open_data and weather into Delta tables on moto's S3 server.

Each run's result is read back with ``deltalake`` and compared with the source's own count:
rows in the PostgreSQL database, messages the generator produced, records the Socrata
devserver holds, hours the Open-Meteo devserver was asked for.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import pyarrow as pa

from devservers.api_common import ApiServer
from ingestion.core.settings import Settings
from ingestion.fleet_db.generator import generate as generate_fleet
from ingestion.fleet_db.generator import mutate
from ingestion.fleet_db.pipeline import run_fleet_db
from ingestion.fleet_db.settings import HARD_DELETE_COLUMN, TABLES
from ingestion.fleet_events.generator import GeneratorOptions
from ingestion.fleet_events.generator import generate as generate_events
from ingestion.open_data.pipeline import run_open_data
from ingestion.open_data.settings import load_open_data_settings
from ingestion.weather.pipeline import run_weather
from tests.ingestion.fleet_db.conftest import _utc_text, source_rows
from tests.ingestion.fleet_events.helpers import run_pipeline as run_fleet_events
from tests.ingestion.open_data.conftest import Served
from tests.ingestion.weather.conftest import options as weather_options

from .conftest import delta_table


def _lake_rows(settings: Settings, table: str, key: str) -> set[tuple[object, ...]]:
    rows = delta_table(settings, "raw_fleet_db", table).to_pylist()
    return {
        (int(r[key]), _utc_text(r["updated_at"]), r["deleted_at"] is None)
        for r in rows
        if r[HARD_DELETE_COLUMN] is None
    }


def test_fleet_db_merges_and_stamps_hard_deletes_on_the_lake(
    s3_lake_env: Settings, pg_dsn: str
) -> None:
    generate_fleet(pg_dsn, drivers=20, seed=3, shifts=300)
    run_fleet_db(s3_lake_env, pg_dsn)
    for table in TABLES:
        assert _lake_rows(s3_lake_env, table.name, table.primary_key) == source_rows(
            pg_dsn, table.name, table.primary_key
        ), table.name

    report = mutate(pg_dsn, seed=3)
    second = run_fleet_db(s3_lake_env, pg_dsn)
    for table in TABLES:
        lake = delta_table(s3_lake_env, "raw_fleet_db", table.name)
        keys = lake.column(table.primary_key).to_pylist()
        assert len(keys) == len(set(keys)), f"{table.name}: a key twice after the merge"
        assert _lake_rows(s3_lake_env, table.name, table.primary_key) == source_rows(
            pg_dsn, table.name, table.primary_key
        ), table.name
    shifts = delta_table(s3_lake_env, "raw_fleet_db", "shifts")
    stamped = pa.compute.sum(shifts.column(HARD_DELETE_COLUMN).is_valid()).as_py()
    assert stamped == second.extra["hard_deletes_found"] > 0, report.line()


def test_fleet_events_rows_and_dead_letters_on_the_lake(
    s3_lake_env: Settings, kafka: object, topic: str
) -> None:
    bootstrap = kafka.bootstrap  # type: ignore[attr-defined]
    produced = generate_events(bootstrap, GeneratorOptions(trips=400, seed=5, topic=topic))
    counts = run_fleet_events(bootstrap, topic)
    assert counts["read"] == produced.messages

    events = delta_table(s3_lake_env, "raw_fleet_events", "trip_events")
    ids = events.column("event_id").to_pylist()
    assert len(ids) == len(set(ids)) == produced.valid_events
    dead = delta_table(s3_lake_env, "raw_fleet_events", "trip_events_dead_letter")
    assert dead.num_rows == produced.malformed > 0
    assert delta_table(s3_lake_env, "raw_fleet_events", "trip_event_surcharges").num_rows > 0


def test_open_data_pages_and_removals_on_the_lake(
    s3_lake_env: Settings, open_data_env: Settings, socrata: Served
) -> None:
    assert open_data_env.destination == "lake"
    _, dataset = socrata
    options = replace(load_open_data_settings(), key_page_size=1000)
    run_open_data(s3_lake_env, options)
    vehicles = delta_table(s3_lake_env, "raw_open_data", "fhv_vehicles")
    keys = vehicles.column("vehicle_license_number").to_pylist()
    assert len(keys) == len(set(keys)) == len(dataset.snapshot())

    gone = dataset.delete([r["vehicle_license_number"] for r in dataset.snapshot()[:3]])
    second = run_open_data(s3_lake_env, options)
    assert second.extra["removed"] == 3
    marked = {
        r["vehicle_license_number"]
        for r in delta_table(s3_lake_env, "raw_open_data", "fhv_vehicles").to_pylist()
        if isinstance(r["_removed_at"], datetime)
    }
    assert marked == {r["vehicle_license_number"] for r in gone}


def test_weather_hours_on_the_lake(
    s3_lake_env: Settings, weather_env: Settings, meteo: ApiServer
) -> None:
    assert weather_env.destination == "lake"
    run_weather(s3_lake_env, weather_options(meteo, window_days=4), "2024-01-01", "2024-01-05")
    hourly = delta_table(s3_lake_env, "raw_weather", "hourly")
    assert hourly.num_rows == len(set(hourly.column("time").to_pylist())) == 5 * 24
    assert delta_table(s3_lake_env, "raw_weather", "forecast_hourly").num_rows > 0

    meteo.clear_log()
    again = run_weather(s3_lake_env, weather_options(meteo, window_days=4), "2024-01-01",
                        "2024-01-05", forecast=False)  # fmt: skip
    assert again.rows_loaded == 0 and meteo.logged("/v1/archive") == []
