"""The fleet database's tables, declared once in SQLAlchemy for every engine.

SQLAlchemy renders the same declaration as PostgreSQL (``timestamptz``, ``jsonb``,
``numeric(3,2)``), MySQL/MariaDB (``datetime(6)`` holding UTC, ``json``, ``decimal(3,2)``) and
SQLite DDL, so the generator writes one schema to all three and the tests compare like with
like.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import mysql, postgresql

from ingestion.fleet_db.settings import PG_SCHEMA

# Microseconds on MySQL (its DATETIME default drops them); UTC by contract on every engine.
TIMESTAMP = sa.DateTime(timezone=True).with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
NAME = sa.String(200)


def _audit_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False, index=True),
        sa.Column("deleted_at", TIMESTAMP, nullable=True),
    ]


def fleet_metadata(schema: str | None) -> sa.MetaData:
    """The three fleet tables in ``schema`` (``None`` = the connection's default schema)."""
    metadata = sa.MetaData(schema=schema)
    sa.Table(
        "drivers",
        metadata,
        sa.Column("driver_id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("name", NAME, nullable=False),
        sa.Column("license_number", sa.String(16), nullable=False, unique=True),
        sa.Column("hired_at", TIMESTAMP, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("rating", sa.Numeric(3, 2), nullable=True),
        *_audit_columns(),
    )
    sa.Table(
        "vehicles",
        metadata,
        sa.Column("vehicle_id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("plate", sa.String(16), nullable=False, unique=True),
        sa.Column("make", sa.String(40), nullable=False),
        sa.Column("model", sa.String(60), nullable=False),
        sa.Column("year", sa.SmallInteger, nullable=False),
        sa.Column("is_wheelchair_accessible", sa.Boolean, nullable=False),
        sa.Column("fuel_type", sa.String(16), nullable=False),
        sa.Column("equipment", JSON, nullable=True),
        *_audit_columns(),
    )
    sa.Table(
        "shifts",
        metadata,
        sa.Column("shift_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("driver_id", sa.Integer, nullable=False),
        sa.Column("vehicle_id", sa.Integer, nullable=False),
        sa.Column("started_at", TIMESTAMP, nullable=False),
        sa.Column("ended_at", TIMESTAMP, nullable=True),
        sa.Column("base_zone_id", sa.SmallInteger, nullable=False),
        *_audit_columns(),
    )
    return metadata


def schema_for(engine: sa.Engine) -> str | None:
    """Where the fleet tables live: schema ``fleet`` on PostgreSQL, the default elsewhere."""
    return PG_SCHEMA if engine.dialect.name == "postgresql" else None
