"""The read window of one run: ``updated_at`` above the last cursor, up to the database's clock
minus a lag.

dlt's incremental keeps the lower bound (the largest ``updated_at`` loaded, read as
``> last``). The upper bound is fixed once per run from the database's own clock, never the
client's: ``updated_at <= now() - lag``. Two things then cannot skip a row:

* a transaction that stamps its rows and commits later (PostgreSQL's ``now()`` is the
  transaction's start): its rows are younger than the lag when the run looks, so the cursor
  stays below them, provided the transaction took less than the lag;
* a row stamped in the future (a writer whose clock runs ahead): it is not read until the
  database's clock passes it, so it cannot carry the cursor past rows not written yet. Such
  rows are counted and reported each run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from ingestion.fleet_db.schema import fleet_metadata, schema_for
from ingestion.fleet_db.settings import CURSOR_COLUMN, TABLE_NAMES

_CLOCK_QUERY = {
    "postgresql": "select now()",
    # Sessions run with time_zone '+00:00' (helpers.create_engine); datetime(6) holds UTC.
    "mysql": "select utc_timestamp(6)",
    "mariadb": "select utc_timestamp(6)",
    "sqlite": "select strftime('%Y-%m-%d %H:%M:%f', 'now')",
}


@dataclass(frozen=True)
class ReadWindow:
    """The database's clock when the run began, and the last ``updated_at`` it reads."""

    clock: datetime
    until: datetime


def database_clock(engine: sa.Engine) -> datetime:
    """The database server's current time, in UTC."""
    with engine.connect() as connection:
        value: object = connection.execute(sa.text(_CLOCK_QUERY[engine.dialect.name])).scalar_one()
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if not isinstance(moment, datetime):
        raise TypeError(f"the database's clock read as {type(value).__name__}")
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def read_window(engine: sa.Engine, lag: timedelta) -> ReadWindow:
    """This run's window: up to the database's clock minus ``lag``."""
    clock = database_clock(engine)
    return ReadWindow(clock=clock, until=clock - lag)


def bind_value(engine: sa.Engine, moment: datetime) -> datetime:
    """``moment`` as the engine compares it: aware on PostgreSQL, naive UTC elsewhere."""
    if engine.dialect.name == "postgresql":
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None)


def read_up_to(until: datetime) -> Callable[[Any, sa.Table, Any, sa.Engine], Any]:
    """A ``sql_database`` query adapter adding ``updated_at <= until`` to dlt's query."""

    def adapt(query: Any, table: sa.Table, incremental: Any, engine: sa.Engine) -> Any:
        return query.where(table.c[CURSOR_COLUMN] <= bind_value(engine, until))

    return adapt


def future_dated(engine: sa.Engine, clock: datetime) -> dict[str, int]:
    """Rows per table whose ``updated_at`` is after ``clock`` (tables with none left out)."""
    schema = schema_for(engine)
    tables = fleet_metadata(schema).tables
    counts: dict[str, int] = {}
    with engine.connect() as connection:
        for name in TABLE_NAMES:
            table = tables[f"{schema}.{name}" if schema else name]
            count = connection.execute(
                sa.select(sa.func.count())
                .select_from(table)
                .where(table.c[CURSOR_COLUMN] > bind_value(engine, clock))
            ).scalar_one()
            if count:
                counts[name] = int(count)
    return counts
