"""The incremental cursor never skips a row: a long transaction, a clock running ahead.

Each run reads ``updated_at > last`` and ``updated_at <= the database's clock - lag``. A row
stamped before its transaction commits (PostgreSQL's ``now()`` is the transaction's start) is
still ahead of the cursor when it becomes visible, as long as the transaction took less than
the lag; a row stamped in the future (a writer with a skewed clock) waits for its time instead
of pushing the cursor past rows not yet written.

Lowering ``TRIPLINE_FLEET_DB_CURSOR_LAG_SECONDS`` by Δ between two runs gives the later run
the bound it would have Δ seconds later: the tests use that instead of waiting minutes.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from ingestion.core.settings import Settings
from ingestion.fleet_db.generator import generate
from ingestion.fleet_db.helpers import create_engine, parse_dsn
from ingestion.fleet_db.pipeline import run_fleet_db
from ingestion.fleet_db.schema import fleet_metadata, schema_for
from tests.ingestion.fleet_db.conftest import raw_rows, source_rows

LAG_ENV = "TRIPLINE_FLEET_DB_CURSOR_LAG_SECONDS"
ENGINES = ["postgres", "mariadb"]


def _server_now(engine: sa.Engine) -> datetime:
    """The database's own clock, in UTC."""
    query = "select now()" if engine.dialect.name == "postgresql" else "select utc_timestamp(6)"
    with engine.connect() as connection:
        value = connection.execute(sa.text(query)).scalar_one()
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


def _driver(engine: sa.Engine, driver_id: int, updated_at: datetime) -> dict[str, object]:
    if engine.dialect.name != "postgresql":  # datetime(6) holds UTC by contract
        updated_at = updated_at.astimezone(UTC).replace(tzinfo=None)
    return {
        "driver_id": driver_id,
        "name": f"Driver {driver_id}",
        "license_number": f"T{driver_id}",
        "hired_at": updated_at,
        "status": "active",
        "rating": None,
        "created_at": updated_at,
        "updated_at": updated_at,
        "deleted_at": None,
    }


def _drivers_table(engine: sa.Engine) -> sa.Table:
    schema = schema_for(engine)
    return fleet_metadata(schema).tables[f"{schema}.drivers" if schema else "drivers"]


def _loaded_driver_ids(settings: Settings) -> set[int]:
    return {key for key, _, _ in raw_rows(settings, "drivers", "driver_id")}


def _source_driver_ids(dsn: str) -> set[int]:
    return {key for key, _, _ in source_rows(dsn, "drivers", "driver_id")}


@pytest.fixture(params=ENGINES)
def dsn(request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue("pg_dsn" if request.param == "postgres" else "mariadb_dsn"))


def test_a_row_committed_late_with_an_older_stamp_is_read(
    dsn: str, tripline_env: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    generate(dsn, drivers=20, seed=7)
    monkeypatch.setenv(LAG_ENV, "1800")
    run_fleet_db(tripline_env, dsn)
    engine = create_engine(parse_dsn(dsn))
    drivers = _drivers_table(engine)
    now = _server_now(engine)
    try:
        # A transaction that began 20 minutes ago stamps its row then, and is still open...
        slow = engine.connect()
        slow_transaction = slow.begin()
        slow.execute(drivers.insert(), [_driver(engine, 9001, now - timedelta(minutes=20))])
        # ...while a quick one stamps and commits a row 5 minutes ago.
        with engine.begin() as quick:
            quick.execute(drivers.insert(), [_driver(engine, 9002, now - timedelta(minutes=5))])
        run_fleet_db(tripline_env, dsn)
        after_first = _loaded_driver_ids(tripline_env)
        slow_transaction.commit()
        slow.close()
    finally:
        engine.dispose()

    monkeypatch.setenv(LAG_ENV, "60")  # the bound of a run 29 minutes later
    run_fleet_db(tripline_env, dsn)
    loaded = _loaded_driver_ids(tripline_env)
    assert loaded == _source_driver_ids(dsn), f"missing: {_source_driver_ids(dsn) - loaded}"
    assert raw_rows(tripline_env, "drivers", "driver_id") == source_rows(
        dsn, "drivers", "driver_id"
    )
    # The first run stopped 30 minutes before the database's clock: neither row yet.
    assert {9001, 9002}.isdisjoint(after_first)


def test_a_row_stamped_in_the_future_does_not_move_the_cursor_past_new_rows(
    dsn: str, tripline_env: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    generate(dsn, drivers=20, seed=8)
    monkeypatch.setenv(LAG_ENV, "2")
    run_fleet_db(tripline_env, dsn)
    engine = create_engine(parse_dsn(dsn))
    drivers = _drivers_table(engine)
    try:
        now = _server_now(engine)
        with engine.begin() as connection:
            # A writer whose clock runs a day ahead, and an ordinary one.
            connection.execute(
                drivers.insert(),
                [
                    _driver(engine, 9101, now + timedelta(days=1)),
                    _driver(engine, 9102, now - timedelta(minutes=1)),
                ],
            )
        first = run_fleet_db(tripline_env, dsn)
        after_first = _loaded_driver_ids(tripline_env)
        with engine.begin() as connection:  # written after that run, stamped correctly
            connection.execute(drivers.insert(), [_driver(engine, 9103, _server_now(engine))])
    finally:
        engine.dispose()
    time.sleep(3)  # older than the lag now

    run_fleet_db(tripline_env, dsn)
    loaded = _loaded_driver_ids(tripline_env)
    assert 9103 in loaded, "a new row was skipped: the future-dated row moved the cursor"
    assert loaded == _source_driver_ids(dsn) - {9101}  # it waits for its own time
    assert 9102 in after_first and 9101 not in after_first
    assert first.extra["future_dated_rows"] == 1
