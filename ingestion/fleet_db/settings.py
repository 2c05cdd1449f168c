"""Names, keys and sizes of the fleet database pipeline, in one place.

The fleet's dispatch database has three tables in schema ``fleet`` (PostgreSQL), in the
database named by the DSN (MySQL/MariaDB, where schema and database are the same thing) or in
``main`` (SQLite). Every table carries ``created_at``, ``updated_at`` and ``deleted_at``: the
pipeline reads rows changed since the last run by ``updated_at`` and merges them on the
primary key.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from ingestion.core.errors import ConfigurationError

PIPELINE_NAME = "fleet_db"
DATASET = "raw_fleet_db"
DSN_ENV = "TRIPLINE_FLEET_DB_DSN"
PG_SCHEMA = "fleet"
CURSOR_COLUMN = "updated_at"
# Set by key reconciliation when a row vanished from the source (a hard delete).
HARD_DELETE_COLUMN = "_fleet_db_hard_deleted_at"
# Reconciliation refuses to mark more than this share of a table as deleted in one run: a
# source that suddenly returns (almost) no keys is far likelier a wrong DSN than a purge.
MAX_HARD_DELETE_SHARE = 0.5
# Each run reads ``updated_at`` up to the database's clock minus this lag (and above the last
# cursor). A row becomes visible when its transaction commits but carries the stamp it was
# given before (PostgreSQL's ``now()`` is the transaction's start): rows younger than the lag
# are left for the next run, so a transaction shorter than the lag is never skipped, and a row
# stamped in the future cannot move the cursor past rows not yet written.
CURSOR_LAG_ENV = "TRIPLINE_FLEET_DB_CURSOR_LAG_SECONDS"
DEFAULT_CURSOR_LAG_SECONDS = 300

BACKENDS = ("adbc", "copy", "pyarrow", "connectorx")


@dataclass(frozen=True)
class FleetTable:
    """One source table: its primary key and a rough width for chunk sizing."""

    name: str
    primary_key: str
    columns: int


TABLES: tuple[FleetTable, ...] = (
    FleetTable("drivers", "driver_id", 10),
    FleetTable("vehicles", "vehicle_id", 11),
    FleetTable("shifts", "shift_id", 9),
)
TABLE_NAMES = tuple(table.name for table in TABLES)

# What one value costs in memory while a chunk is being built: Python objects (a tuple slot, a
# boxed int/str/datetime) for the row-by-row backends, Arrow buffers for the columnar ones.
BYTES_PER_VALUE = {"pyarrow": 96, "connectorx": 16, "copy": 16, "adbc": 16}


def table(name: str) -> FleetTable:
    """The table called ``name``."""
    for candidate in TABLES:
        if candidate.name == name:
            return candidate
    raise KeyError(name)


def cursor_lag(environ: Mapping[str, str] | None = None) -> timedelta:
    """``TRIPLINE_FLEET_DB_CURSOR_LAG_SECONDS`` (default 300): how far behind the database's
    clock each run stops reading."""
    env = os.environ if environ is None else environ
    raw = env.get(CURSOR_LAG_ENV, "").strip()
    if not raw:
        return timedelta(seconds=DEFAULT_CURSOR_LAG_SECONDS)
    try:
        seconds = float(raw)
    except ValueError:
        seconds = -1.0
    if not (math.isfinite(seconds) and seconds >= 0):
        raise ConfigurationError(
            f"{CURSOR_LAG_ENV}={raw!r} must be a number of seconds, 0 or more "
            f"(default {DEFAULT_CURSOR_LAG_SECONDS}: longer than the fleet database's longest "
            "write transaction)"
        )
    return timedelta(seconds=seconds)
