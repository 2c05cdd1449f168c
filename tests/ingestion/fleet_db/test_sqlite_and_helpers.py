"""The generator, the demo (SQLite), DSN handling and the reconciliation guard, no server."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import sqlalchemy as sa

from ingestion.core.errors import ConfigurationError, SourceError
from ingestion.core.settings import Settings
from ingestion.fleet_db.entry import PIPELINE
from ingestion.fleet_db.generator import generate, mutate, vehicle_count
from ingestion.fleet_db.helpers import parse_dsn, redact
from ingestion.fleet_db.pipeline import run_fleet_db
from tests.ingestion.fleet_db.conftest import duck


def _digest(path: Path) -> str:
    engine = sa.create_engine(f"sqlite:///{path}")
    with engine.connect() as connection:
        rows = [
            connection.execute(sa.text(f"select * from {t} order by 1")).all()
            for t in ("drivers", "vehicles", "shifts")
        ]
    engine.dispose()
    return hashlib.sha256(repr(rows).encode()).hexdigest()


def test_generator_is_deterministic_and_ids_are_documented(tmp_path: Path) -> None:
    one, two = tmp_path / "one.db", tmp_path / "two.db"
    report = generate(f"sqlite:///{one}", drivers=50, seed=9)
    generate(f"sqlite:///{two}", drivers=50, seed=9)
    assert _digest(one) == _digest(two)
    assert (report.drivers, report.vehicles, report.shifts) == (50, vehicle_count(50), 50 * 65)
    engine = sa.create_engine(f"sqlite:///{one}")
    with engine.connect() as connection:
        ids = connection.execute(
            sa.text(
                "select min(driver_id), max(driver_id), (select max(vehicle_id) from vehicles), "
                "(select min(base_zone_id) from shifts), (select max(base_zone_id) from shifts), "
                "(select max(driver_id) from shifts) from drivers"
            )
        ).one()
    engine.dispose()
    assert ids[:3] == (1, 50, 40)
    assert ids[3] >= 1 and ids[4] <= 265 and ids[5] <= 50


def test_mutate_changes_a_day(tmp_path: Path) -> None:
    dsn = f"sqlite:///{tmp_path / 'fleet.db'}"
    generate(dsn, drivers=200, seed=1)
    report = mutate(dsn, seed=1)
    assert report.hired == 2 and report.updated_drivers == 10 and report.soft_deleted == 1
    assert report.new_shifts > 0 and report.hard_deleted_shifts > 0
    later = mutate(dsn, seed=1)
    assert later.day > report.day


def test_demo_loads_sqlite_without_a_server(tripline_env: Settings) -> None:
    summary = PIPELINE.demo(tripline_env)
    assert summary.extra["backend"] == "pyarrow"
    with duck(tripline_env) as connection:
        drivers = connection.execute("select count(*) from raw_fleet_db.drivers").fetchone()[0]
        marked = connection.execute(
            "select count(*) from raw_fleet_db.shifts where _fleet_db_hard_deleted_at is not null"
        ).fetchone()[0]
    assert drivers == 303 and marked == summary.extra["hard_deletes_found"] > 0


def test_reconciliation_refuses_to_mark_most_of_a_table(
    tmp_path: Path, tripline_env: Settings
) -> None:
    dsn = f"sqlite:///{tmp_path / 'fleet.db'}"
    generate(dsn, drivers=20, seed=2)
    run_fleet_db(tripline_env, dsn)
    engine = sa.create_engine(dsn)
    with engine.begin() as connection:
        connection.execute(sa.text("delete from shifts where shift_id > 10"))
    engine.dispose()
    with pytest.raises(SourceError, match="refusing"):
        run_fleet_db(tripline_env, dsn)
    with duck(tripline_env) as connection:
        marked = connection.execute(
            "select count(*) from raw_fleet_db.shifts where _fleet_db_hard_deleted_at is not null"
        ).fetchone()[0]
    assert marked == 0


def test_dsn_forms_and_redaction() -> None:
    assert parse_dsn("postgres://u:p@localhost/db").drivername == "postgresql+psycopg2"
    assert parse_dsn("mariadb://u:p@127.0.0.1/db").drivername == "mysql+pymysql"
    assert parse_dsn("sqlite:////tmp/x.db").drivername == "sqlite"
    with pytest.raises(ConfigurationError):
        parse_dsn("oracle://u:p@h/db")
    assert redact("failed for postgresql://me:hunter2@db:5432/x") == (
        "failed for postgresql://me:***@db:5432/x"
    )
    assert "hunter2" not in redact(
        "password hunter2 rejected", parse_dsn("mysql://a:hunter2@localhost/d")
    )


def test_dsn_from_env_then_dlt_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    from ingestion.fleet_db.helpers import resolve_dsn

    monkeypatch.delenv("TRIPLINE_FLEET_DB_DSN", raising=False)
    monkeypatch.setenv("SOURCES__FLEET_DB__CREDENTIALS", "sqlite:////tmp/from-dlt.db")
    assert resolve_dsn() == "sqlite:////tmp/from-dlt.db"
    monkeypatch.setenv("TRIPLINE_FLEET_DB_DSN", "sqlite:////tmp/from-env.db")
    assert resolve_dsn() == "sqlite:////tmp/from-env.db"
    monkeypatch.delenv("TRIPLINE_FLEET_DB_DSN")
    monkeypatch.delenv("SOURCES__FLEET_DB__CREDENTIALS")
    with pytest.raises(ConfigurationError, match="no fleet database configured"):
        resolve_dsn()


def test_cursor_lag_is_seconds_zero_or_more() -> None:
    from datetime import timedelta

    from ingestion.fleet_db.settings import CURSOR_LAG_ENV, cursor_lag

    assert cursor_lag({}) == timedelta(seconds=300)
    assert cursor_lag({CURSOR_LAG_ENV: "0"}) == timedelta(0)
    assert cursor_lag({CURSOR_LAG_ENV: "90.5"}) == timedelta(seconds=90.5)
    for bad in ("-1", "five", "nan", "inf"):
        with pytest.raises(ConfigurationError, match=CURSOR_LAG_ENV):
            cursor_lag({CURSOR_LAG_ENV: bad})
