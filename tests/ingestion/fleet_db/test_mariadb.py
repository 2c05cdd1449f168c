"""fleet_db against a real MariaDB: the same cycle as PostgreSQL, through the same code."""

from __future__ import annotations

from ingestion.core.settings import Settings
from ingestion.fleet_db.generator import generate, mutate
from ingestion.fleet_db.pipeline import run_fleet_db
from ingestion.fleet_db.settings import TABLES
from tests.ingestion.fleet_db.conftest import duck, raw_rows, source_rows


def test_load_mutate_rerun_on_mariadb(mariadb_dsn: str, tripline_env: Settings) -> None:
    generate(mariadb_dsn, drivers=100, seed=11)
    first = run_fleet_db(tripline_env, mariadb_dsn)
    assert first.extra["backend"] == "pyarrow"
    assert first.rows_loaded == 100 + 80 + 100 * 65

    report = mutate(mariadb_dsn, seed=11)
    second = run_fleet_db(tripline_env, mariadb_dsn)
    assert second.extra["hard_deletes_found"] == report.hard_deleted_shifts
    for table in TABLES:
        assert raw_rows(tripline_env, table.name, table.primary_key) == source_rows(
            mariadb_dsn, table.name, table.primary_key
        ), table.name

    third = run_fleet_db(tripline_env, mariadb_dsn)
    assert third.rows_loaded < 10 and third.extra["hard_deletes_found"] == 0
    with duck(tripline_env) as connection:
        assert connection.execute(
            "select count(*) - count(distinct driver_id) from raw_fleet_db.drivers"
        ).fetchone() == (0,)
        soft_deleted = connection.execute(
            "select count(*) from raw_fleet_db.drivers where deleted_at is not null"
        ).fetchone()[0]
    assert soft_deleted == report.soft_deleted
