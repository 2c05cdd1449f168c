"""Values keep their exact type and value from PostgreSQL and MariaDB into DuckDB."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from ingestion.core.settings import Settings
from ingestion.fleet_db.generator import generate
from ingestion.fleet_db.helpers import create_engine, parse_dsn
from ingestion.fleet_db.pipeline import run_fleet_db
from ingestion.fleet_db.schema import fleet_metadata, schema_for
from tests.ingestion.fleet_db.conftest import duck

NAME = 'Zoë Ølstad-李 "Q", O\'Brien 😀'
EQUIPMENT = {
    "notes": "naïve – ünïcode ✓\nsecond line",
    "nested": {"a": [1, 2.5, None, True]},
    "quote": 'he said "hi", then left',
}
# 01:59:59.999999 in New York on the night clocks sprang forward = 06:59:59.999999 UTC.
HIRED_UTC = datetime(2024, 3, 10, 6, 59, 59, 999_999, tzinfo=UTC)
EXPECTED_TYPES = {
    ("drivers", "rating"): "DECIMAL(3,2)",
    ("drivers", "hired_at"): "TIMESTAMP WITH TIME ZONE",
    ("drivers", "name"): "VARCHAR",
    ("vehicles", "equipment"): "JSON",
    ("vehicles", "is_wheelchair_accessible"): "BOOLEAN",
    ("vehicles", "year"): "INTEGER",
    ("shifts", "shift_id"): "BIGINT",
    ("shifts", "started_at"): "TIMESTAMP WITH TIME ZONE",
}


def _plant_rows(dsn: str) -> None:
    engine = create_engine(parse_dsn(dsn))
    schema = schema_for(engine)
    tables = fleet_metadata(schema).tables
    prefix = f"{schema}." if schema else ""
    # PostgreSQL stores the instant whatever the offset; MySQL's datetime holds UTC by contract.
    hired = (
        HIRED_UTC.astimezone(ZoneInfo("America/New_York"))
        if engine.dialect.name == "postgresql"
        else HIRED_UTC.replace(tzinfo=None)
    )
    stamp = datetime(2024, 3, 31, 12, tzinfo=UTC)
    stamp = stamp if engine.dialect.name == "postgresql" else stamp.replace(tzinfo=None)
    audit = {"created_at": stamp, "updated_at": stamp, "deleted_at": None}
    drivers = [
        {
            "driver_id": 1000 + i,
            "name": NAME,
            "license_number": f"L{i}",
            "hired_at": hired,
            "status": "active",
            "rating": rating,
            **audit,
        }
        for i, rating in enumerate([Decimal("4.99"), Decimal("1.00"), Decimal("5.00"), None])
    ]
    vehicle = {
        "vehicle_id": 1000,
        "plate": "T999999C",
        "make": "Škoda",
        "model": "Octavia\nCombi",
        "year": 2024,
        "is_wheelchair_accessible": True,
        "fuel_type": "hybrid",
        "equipment": EQUIPMENT,
        **audit,
    }
    with engine.begin() as connection:
        connection.execute(tables[f"{prefix}drivers"].insert(), drivers)
        connection.execute(tables[f"{prefix}vehicles"].insert(), [vehicle])
    engine.dispose()


@pytest.mark.parametrize("engine_name", ["postgres", "mariadb"])
def test_types_and_values_are_exact(
    engine_name: str, request: pytest.FixtureRequest, tripline_env: Settings
) -> None:
    dsn = request.getfixturevalue("pg_dsn" if engine_name == "postgres" else "mariadb_dsn")
    generate(dsn, drivers=20, seed=3)
    _plant_rows(dsn)

    summary = run_fleet_db(tripline_env, dsn)
    assert summary.rows_loaded == 20 + 16 + 20 * 65 + 4 + 1

    with duck(tripline_env) as connection:
        types = {
            (table, column): data_type
            for table, column, data_type in connection.execute(
                "select table_name, column_name, data_type from information_schema.columns "
                "where table_schema = 'raw_fleet_db'"
            ).fetchall()
        }
        drivers = connection.execute(
            "select driver_id, name, rating, hired_at from raw_fleet_db.drivers "
            "where driver_id >= 1000 order by driver_id"
        ).fetchall()
        equipment, make, model = connection.execute(
            "select equipment, make, model from raw_fleet_db.vehicles where vehicle_id = 1000"
        ).fetchone()
    for key, expected in EXPECTED_TYPES.items():
        assert types[key] == expected, key
    assert [row[2] for row in drivers] == [Decimal("4.99"), Decimal("1.00"), Decimal("5.00"), None]
    assert all(row[1] == NAME for row in drivers)
    assert all(row[3] == HIRED_UTC for row in drivers)
    assert json.loads(equipment) == EQUIPMENT
    assert (make, model) == ("Škoda", "Octavia\nCombi")  # a raw newline inside a value
