"""Real PostgreSQL and MariaDB servers for the fleet_db tests, and helpers to compare data.

Each server starts once per session on a free 127.0.0.1 port with a planted password; each
test gets a fresh database on it. MariaDB tests are skipped with instructions when
``mariadbd`` is missing, except in CI (``TRIPLINE_CI=1``), where that is a failure.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
import sqlalchemy as sa

from devservers.mariadb import INSTALL_HINT, MariaDbServer, mariadb_available, start_mariadb
from devservers.postgres import PostgresServer, start_postgres
from ingestion.core.settings import Settings
from ingestion.fleet_db.helpers import create_engine, parse_dsn

PLANTED_PASSWORD = "Pl4nted-fleet-S3cret-7781"


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    with start_postgres(password=PLANTED_PASSWORD) as server:
        yield server


@pytest.fixture(scope="session")
def mariadb() -> Iterator[MariaDbServer]:
    if not mariadb_available():
        if os.environ.get("TRIPLINE_CI"):
            pytest.fail(f"CI must run the MariaDB tests: {INSTALL_HINT}")
        pytest.skip(INSTALL_HINT)
    with start_mariadb(password=PLANTED_PASSWORD) as server:
        yield server


def _fresh_database(admin_dsn: str, make_dsn: str) -> str:
    name = f"fleet_{uuid.uuid4().hex[:10]}"
    engine = create_engine(parse_dsn(admin_dsn))
    try:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(sa.text(f"create database {name}"))
    finally:
        engine.dispose()
    return make_dsn.replace("/__db__", f"/{name}")


@pytest.fixture
def pg_dsn(postgres: PostgresServer) -> str:
    """A DSN to a new, empty database on the session's PostgreSQL."""
    return _fresh_database(postgres.url("postgres"), postgres.url("__db__"))


@pytest.fixture
def mariadb_dsn(mariadb: MariaDbServer) -> str:
    """A DSN to a new, empty database on the session's MariaDB."""
    base = mariadb.dsn.rsplit("/", 1)[0]
    return _fresh_database(mariadb.dsn, f"{base}/__db__")


def duck(settings: Settings) -> duckdb.DuckDBPyConnection:
    """A read-only look at the Tripline DuckDB file."""
    return duckdb.connect(str(settings.duckdb_path), read_only=True)


def source_rows(dsn: str, table: str, key: str) -> set[tuple[object, ...]]:
    """(key, updated_at as UTC text, deleted_at is null) of every source row."""
    engine = create_engine(parse_dsn(dsn))
    schema = "fleet." if engine.dialect.name == "postgresql" else ""
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                sa.text(f"select {key}, updated_at, deleted_at from {schema}{table}")
            ).all()
    finally:
        engine.dispose()
    return {(int(r[0]), _utc_text(r[1]), r[2] is None) for r in rows}


def raw_rows(settings: Settings, table: str, key: str) -> set[tuple[object, ...]]:
    """The same triple for raw rows not marked as hard-deleted."""
    with duck(settings) as connection:
        rows = connection.execute(
            f"select {key}, updated_at, deleted_at from raw_fleet_db.{table} "
            "where _fleet_db_hard_deleted_at is null"
        ).fetchall()
    return {(int(r[0]), _utc_text(r[1]), r[2] is None) for r in rows}


def _utc_text(value: object) -> str:
    from datetime import UTC, datetime

    assert isinstance(value, datetime | str), value
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat()


def files_containing(folder: Path, needle: str) -> list[Path]:
    """Every file under ``folder`` whose bytes contain ``needle``."""
    hits = []
    for path in folder.rglob("*"):
        if path.is_file() and needle.encode() in path.read_bytes():
            hits.append(path)
    return hits
