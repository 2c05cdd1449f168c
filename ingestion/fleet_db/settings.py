"""Names, keys and sizes of the fleet database pipeline, in one place.

The fleet's dispatch database has three tables in schema ``fleet`` (PostgreSQL), in the
database named by the DSN (MySQL/MariaDB, where schema and database are the same thing) or in
``main`` (SQLite). Every table carries ``created_at``, ``updated_at`` and ``deleted_at``: the
pipeline reads rows changed since the last run by ``updated_at`` and merges them on the
primary key.
"""

from __future__ import annotations

from dataclasses import dataclass

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
# Rows before ``max(updated_at)`` of the previous run that are read again. A writer whose
# transaction committed late can stamp ``updated_at`` slightly before rows already loaded; the
# merge on the primary key makes re-reading them harmless.
CURSOR_LAG_SECONDS = 300

BACKENDS = ("copy", "pyarrow", "connectorx")


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
BYTES_PER_VALUE = {"pyarrow": 96, "connectorx": 16, "copy": 16}


def table(name: str) -> FleetTable:
    """The table called ``name``."""
    for candidate in TABLES:
        if candidate.name == name:
            return candidate
    raise KeyError(name)
