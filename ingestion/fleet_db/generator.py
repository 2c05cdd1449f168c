"""``tripline generate fleet-db``: a taxi fleet's dispatch database, and a day of changes.

The generator creates schema ``fleet`` (drivers, vehicles, shifts) on PostgreSQL,
MySQL/MariaDB or SQLite and fills it deterministically from ``--seed``:

* driver ids are 1..N (``--drivers``), vehicle ids 1..M with M = max(1, 4 N // 5), shift ids
  1..S; the Kafka trip events reference these driver and vehicle ids;
* shifts start in January-March 2024 (the months of the sample trip files), at TLC zone ids
  of busy taxi bases (1..265 is TLC's zone lookup).

``--mutate`` applies one simulated day after the latest ``updated_at`` in the database: new
hires, status and rating changes, soft deletes (``deleted_at`` set), vehicle equipment
changes, new shifts and a few hard deletes of shifts entered in error. Rows are generated in
columnar chunks, and PostgreSQL is filled with ``COPY … FROM STDIN`` so millions of shifts take
seconds; the other engines use batched ``INSERT``s.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import sqlalchemy as sa

from ingestion.fleet_db.helpers import create_engine, parse_dsn, pg_copy
from ingestion.fleet_db.schema import fleet_metadata, schema_for
from ingestion.fleet_db.settings import PG_SCHEMA

PERIOD_START = datetime(2024, 1, 1, tzinfo=UTC)
PERIOD_DAYS = 91  # January-March 2024
SHIFTS_PER_DRIVER = 65  # five shifts a week for thirteen weeks
CHUNK_ROWS = 250_000
INSERT_BATCH = 5_000

FIRST_NAMES = [
    "José",
    "Zoë",
    "Łukasz",
    "Mohammed",
    "Aïsha",
    "Chloé",
    "Björn",
    "Nguyễn",
    "Fatoumata",
    "Sean",
    "Priya",
    "Kwame",
    "Olga",
    "Raúl",
    "Dmitri",
    "Mei",
    "Ahmed",
    "Grace",
    "Søren",
    "Ana",
]
LAST_NAMES = [
    "García",
    "O'Brien",
    "Müller",
    "Kowalski",
    "Haddad",
    "Dubois",
    "Ivanov",
    "Smith",
    "Okafor",
    "Núñez",
    "Çelik",
    "Patel",
    "Diallo",
    "李",
    "Иванова",
    "Østergaard",
    "Singh",
    "Rossi",
]
VEHICLE_MODELS = [
    ("Toyota", "Camry Hybrid", "hybrid"),
    ("Toyota", "RAV4 Hybrid", "hybrid"),
    ("Ford", "Escape Hybrid", "hybrid"),
    ("Nissan", "NV200", "gasoline"),
    ("Tesla", "Model Y", "electric"),
    ("Kia", "Niro EV", "electric"),
    ("Honda", "Accord Hybrid", "hybrid"),
    ("Ford", "Transit Connect", "gasoline"),
]
# Busy yellow-taxi zones (TLC zone ids): Midtown, Upper East/West Side, Chelsea, airports.
BASE_ZONES = np.array(
    [
        48,
        68,
        79,
        90,
        100,
        107,
        132,
        138,
        161,
        162,
        163,
        164,
        170,
        186,
        230,
        234,
        236,
        237,
        238,
        239,
    ],
    dtype=np.int16,
)
STATUSES = ["active", "on_leave", "suspended", "terminated"]


@dataclass
class GenerateReport:
    """What the generator wrote, as one line."""

    drivers: int
    vehicles: int
    shifts: int

    def line(self) -> str:
        return (
            f"fleet-db: {self.drivers:,} drivers (ids 1..{self.drivers}), {self.vehicles:,} "
            f"vehicles (ids 1..{self.vehicles}), {self.shifts:,} shifts"
        )


@dataclass
class MutateReport:
    """What one simulated day of changes did."""

    day: str
    hired: int
    updated_drivers: int
    soft_deleted: int
    updated_vehicles: int
    new_shifts: int
    hard_deleted_shifts: int

    def line(self) -> str:
        return (
            f"fleet-db --mutate {self.day}: +{self.hired} drivers, {self.updated_drivers} "
            f"driver updates, {self.soft_deleted} soft-deleted, {self.updated_vehicles} "
            f"vehicle updates, +{self.new_shifts} shifts, {self.hard_deleted_shifts} shifts "
            "hard-deleted"
        )


def vehicle_count(drivers: int) -> int:
    """Vehicles for ``drivers`` drivers: the ids the trip events may reference are 1..this."""
    return max(1, 4 * drivers // 5)


def generate(
    dsn: str, drivers: int = 500, seed: int = 42, shifts: int | None = None
) -> GenerateReport:
    """(Re)create the fleet tables at ``dsn`` and fill them."""
    engine = create_engine(parse_dsn(dsn))
    try:
        schema = schema_for(engine)
        metadata = fleet_metadata(schema)
        with engine.begin() as connection:
            if schema:
                connection.execute(sa.text(f"create schema if not exists {schema}"))
            metadata.drop_all(connection)
            metadata.create_all(connection)
        rng = np.random.default_rng(seed)
        vehicles = vehicle_count(drivers)
        total_shifts = drivers * SHIFTS_PER_DRIVER if shifts is None else shifts
        tables = metadata.tables
        _write(engine, tables[_q(schema, "drivers")], [_drivers(rng, 1, drivers, PERIOD_START)])
        _write(engine, tables[_q(schema, "vehicles")], [_vehicles(rng, vehicles)])
        _write(
            engine,
            tables[_q(schema, "shifts")],
            _shift_chunks(rng, total_shifts, drivers, vehicles),
        )
        with engine.begin() as connection:
            if engine.dialect.name == "postgresql":
                connection.execute(sa.text(f"analyze {PG_SCHEMA}.shifts"))
        return GenerateReport(drivers, vehicles, total_shifts)
    finally:
        engine.dispose()


def _q(schema: str | None, name: str) -> str:
    return f"{schema}.{name}" if schema else name


def _timestamps(micros: np.ndarray) -> pa.Array:
    return pa.array(micros.astype("int64"), type=pa.int64()).cast(pa.timestamp("us", tz="UTC"))


def _micros(moment: datetime) -> int:
    return int(moment.timestamp() * 1_000_000)


def _names(rng: np.random.Generator, count: int) -> list[str]:
    first = rng.integers(0, len(FIRST_NAMES), count)
    last = rng.integers(0, len(LAST_NAMES), count)
    return [f"{FIRST_NAMES[f]} {LAST_NAMES[g]}" for f, g in zip(first, last, strict=True)]


def _ratings(rng: np.random.Generator, count: int) -> pa.Array:
    cents = rng.integers(350, 501, count)
    return pa.array([Decimal(int(c)).scaleb(-2) for c in cents], type=pa.decimal128(3, 2))


def _drivers(rng: np.random.Generator, first_id: int, count: int, now: datetime) -> pa.Table:
    ids = np.arange(first_id, first_id + count, dtype=np.int32)
    if first_id == 1:
        hired = _micros(datetime(2015, 1, 1, tzinfo=UTC)) + rng.integers(
            0, _micros(PERIOD_START) - _micros(datetime(2015, 1, 1, tzinfo=UTC)), count
        )
        status = rng.choice(STATUSES, count, p=[0.85, 0.07, 0.03, 0.05])
        ratings = _ratings(rng, count)
        updated = np.maximum(
            hired, _micros(PERIOD_START) - rng.integers(0, 86_400_000_000 * 30, count)
        )
    else:  # new hires: start today, no rating yet
        hired = _micros(now) + rng.integers(0, 3_600_000_000, count)
        status = np.array(["active"] * count)
        ratings = pa.nulls(count, pa.decimal128(3, 2))
        updated = hired
    return pa.table(
        {
            "driver_id": pa.array(ids),
            "name": pa.array(_names(rng, count)),
            "license_number": pa.array([f"{5_000_000 + int(i)}" for i in ids]),
            "hired_at": _timestamps(hired),
            "status": pa.array(status.tolist(), type=pa.string()),
            "rating": ratings,
            "created_at": _timestamps(hired),
            "updated_at": _timestamps(updated),
            "deleted_at": pa.nulls(count, pa.timestamp("us", tz="UTC")),
        }
    )


def _equipment(rng: np.random.Generator, wheelchair: bool) -> str:
    return json.dumps(
        {
            "partition": bool(rng.random() < 0.8),
            "card_reader": str(rng.choice(["Curb", "CMT", "Verifone"])),
            "camera": bool(rng.random() < 0.6),
            "seats": 5 if wheelchair else 4,
            "ramp": wheelchair,
            "notes": "läuft gut" if rng.random() < 0.05 else None,
        },
        ensure_ascii=False,
    )


def _vehicles(rng: np.random.Generator, count: int) -> pa.Table:
    ids = np.arange(1, count + 1, dtype=np.int32)
    models = rng.integers(0, len(VEHICLE_MODELS), count)
    wheelchair = rng.random(count) < 0.15
    created = _micros(datetime(2016, 1, 1, tzinfo=UTC)) + rng.integers(
        0, _micros(PERIOD_START) - _micros(datetime(2016, 1, 1, tzinfo=UTC)), count
    )
    return pa.table(
        {
            "vehicle_id": pa.array(ids),
            "plate": pa.array([f"T{700_000 + int(i)}C" for i in ids]),
            "make": pa.array([VEHICLE_MODELS[m][0] for m in models]),
            "model": pa.array([VEHICLE_MODELS[m][1] for m in models]),
            "year": pa.array(rng.integers(2016, 2025, count).astype(np.int16)),
            "is_wheelchair_accessible": pa.array(wheelchair),
            "fuel_type": pa.array([VEHICLE_MODELS[m][2] for m in models]),
            "equipment": pa.array([_equipment(rng, bool(w)) for w in wheelchair]),
            "created_at": _timestamps(created),
            "updated_at": _timestamps(created),
            "deleted_at": pa.nulls(count, pa.timestamp("us", tz="UTC")),
        }
    )


def _shifts(
    rng: np.random.Generator,
    first_id: int,
    count: int,
    drivers: int,
    vehicles: int,
    day_start: int,
    days: int,
) -> pa.Table:
    ids = np.arange(first_id, first_id + count, dtype=np.int64)
    day = rng.integers(0, days, count)
    # Day shifts start 05:00-07:59, night shifts 15:00-17:59 (the 4-5 pm change of shift).
    hour = np.where(rng.random(count) < 0.55, 5, 15) + rng.integers(0, 3, count)
    started = (
        day_start
        + day * 86_400_000_000
        + hour * 3_600_000_000
        + rng.integers(0, 3_600_000_000, count)
    )
    ended = started + rng.integers(8 * 3_600, 12 * 3_600 + 1, count) * 1_000_000
    return pa.table(
        {
            "shift_id": pa.array(ids),
            "driver_id": pa.array(rng.integers(1, drivers + 1, count).astype(np.int32)),
            "vehicle_id": pa.array(rng.integers(1, vehicles + 1, count).astype(np.int32)),
            "started_at": _timestamps(started),
            "ended_at": _timestamps(ended),
            "base_zone_id": pa.array(rng.choice(BASE_ZONES, count)),
            "created_at": _timestamps(started),
            "updated_at": _timestamps(ended),
            "deleted_at": pa.nulls(count, pa.timestamp("us", tz="UTC")),
        }
    )


def _shift_chunks(
    rng: np.random.Generator, total: int, drivers: int, vehicles: int
) -> Iterator[pa.Table]:
    for first in range(0, total, CHUNK_ROWS):
        count = min(CHUNK_ROWS, total - first)
        yield _shifts(rng, first + 1, count, drivers, vehicles, _micros(PERIOD_START), PERIOD_DAYS)


def _write(engine: sa.Engine, table: sa.Table, chunks: Any) -> None:
    for chunk in chunks:
        if engine.dialect.name == "postgresql":
            _copy_in(engine, table, chunk)
        else:
            _insert(engine, table, chunk)


def _copy_in(engine: sa.Engine, table: sa.Table, chunk: pa.Table) -> None:
    buffer = io.BytesIO()
    pacsv.write_csv(chunk, buffer, pacsv.WriteOptions(include_header=False))
    buffer.seek(0)
    columns = ", ".join(chunk.column_names)
    sql = f"copy {table.schema}.{table.name} ({columns}) from stdin with (format csv)"
    pg_copy(engine, sql, buffer, commit=True)


def _insert(engine: sa.Engine, table: sa.Table, chunk: pa.Table) -> None:
    json_columns = {c.name for c in table.columns if isinstance(c.type, sa.JSON)}
    rows = chunk.to_pylist()
    for row in rows:
        for name in json_columns:
            if row[name] is not None:
                row[name] = json.loads(row[name])
    with engine.begin() as connection:
        for start in range(0, len(rows), INSERT_BATCH):
            connection.execute(table.insert(), rows[start : start + INSERT_BATCH])


def mutate(dsn: str, seed: int = 42) -> MutateReport:
    """Apply one simulated day of dispatch changes after the latest ``updated_at``."""
    engine = create_engine(parse_dsn(dsn))
    try:
        return _mutate(engine, seed)
    finally:
        engine.dispose()


def _mutate(engine: sa.Engine, seed: int) -> MutateReport:
    schema = schema_for(engine)
    tables = fleet_metadata(schema).tables
    drivers, vehicles, shifts = (tables[_q(schema, n)] for n in ("drivers", "vehicles", "shifts"))
    with engine.connect() as connection:
        latest = max(
            _as_utc(connection.execute(sa.select(sa.func.max(t.c.updated_at))).scalar_one())
            for t in (drivers, vehicles, shifts)
        )
        max_driver = int(
            connection.execute(sa.select(sa.func.max(drivers.c.driver_id))).scalar_one()
        )
        max_shift = int(
            connection.execute(sa.select(sa.func.max(shifts.c.shift_id))).scalar_one() or 0
        )
        live_drivers = _ids(
            connection,
            sa.select(drivers.c.driver_id)
            .where(drivers.c.deleted_at.is_(None))
            .order_by(drivers.c.driver_id),
        )
        live_vehicles = _ids(
            connection,
            sa.select(vehicles.c.vehicle_id)
            .where(vehicles.c.deleted_at.is_(None))
            .order_by(vehicles.c.vehicle_id),
        )
        shift_ids = np.array(
            connection.execute(
                sa.select(shifts.c.shift_id)
                .where(shifts.c.shift_id > max(0, max_shift - 50_000))
                .order_by(shifts.c.shift_id)
            )
            .scalars()
            .all(),
            dtype=np.int64,
        )
    day = datetime(latest.year, latest.month, latest.day, tzinfo=UTC) + timedelta(days=1)
    rng = np.random.default_rng([seed, day.toordinal()])
    base = len(live_drivers)
    moment = day + timedelta(hours=9)

    def stamp() -> datetime:
        return moment + timedelta(seconds=int(rng.integers(0, 8 * 3600)))

    hires = _drivers(rng, max_driver + 1, max(1, base // 100), moment)
    changed = rng.choice(live_drivers, min(len(live_drivers), max(1, base // 20)), replace=False)
    leaving = set(rng.choice(changed, max(1, len(changed) // 10), replace=False).tolist())
    driver_updates = []
    for driver_id in changed.tolist():
        gone = driver_id in leaving
        driver_updates.append(
            {
                "b_id": driver_id,
                "status": "terminated"
                if gone
                else str(rng.choice(STATUSES[:3], p=[0.6, 0.3, 0.1])),
                "rating": Decimal(int(rng.integers(350, 501))).scaleb(-2),
                "updated_at": (ts := stamp()),
                "deleted_at": ts if gone else None,
            }
        )
    touched = rng.choice(
        live_vehicles, min(len(live_vehicles), max(1, len(live_vehicles) // 50)), replace=False
    )
    vehicle_updates = [
        {
            "b_id": int(v),
            "equipment": json.loads(_equipment(rng, False)) | {"dashcam": True},
            "updated_at": stamp(),
        }
        for v in touched.tolist()
    ]
    working = [d for d in live_drivers if d not in leaving]
    new_shifts = _shifts(
        rng,
        max_shift + 1,
        max(1, int(len(working) * 0.6)),
        max_driver,
        max(live_vehicles),
        _micros(day),
        1,
    )
    # New shifts go to drivers still working, and the rows are stamped as written today.
    new_shifts = new_shifts.set_column(
        1, "driver_id", pa.array(rng.choice(working, new_shifts.num_rows).astype(np.int32))
    )
    new_shifts = new_shifts.set_column(
        2, "vehicle_id", pa.array(rng.choice(live_vehicles, new_shifts.num_rows).astype(np.int32))
    )
    doomed = (
        rng.choice(shift_ids, min(len(shift_ids), max(1, len(shift_ids) // 1000)), replace=False)
        if len(shift_ids)
        else np.array([], dtype=np.int64)
    )

    _write(engine, drivers, [hires])
    _write(engine, shifts, [new_shifts])
    with engine.begin() as connection:
        connection.execute(
            drivers.update()
            .where(drivers.c.driver_id == sa.bindparam("b_id"))
            .values(
                status=sa.bindparam("status"),
                rating=sa.bindparam("rating"),
                updated_at=sa.bindparam("updated_at"),
                deleted_at=sa.bindparam("deleted_at"),
            ),
            driver_updates,
        )
        connection.execute(
            vehicles.update()
            .where(vehicles.c.vehicle_id == sa.bindparam("b_id"))
            .values(equipment=sa.bindparam("equipment"), updated_at=sa.bindparam("updated_at")),
            vehicle_updates,
        )
        if len(doomed):
            connection.execute(shifts.delete().where(shifts.c.shift_id.in_(doomed.tolist())))
    return MutateReport(
        day.date().isoformat(),
        hires.num_rows,
        len(driver_updates),
        len(leaving),
        len(vehicle_updates),
        new_shifts.num_rows,
        len(doomed),
    )


def _ids(connection: sa.Connection, query: sa.Select[Any]) -> list[int]:
    values: list[Any] = list(connection.execute(query).scalars())
    return [int(value) for value in values]


def _as_utc(value: datetime | str | None) -> datetime:
    if value is None:
        return PERIOD_START
    if isinstance(value, str):  # SQLite without type affinity returns text
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)
