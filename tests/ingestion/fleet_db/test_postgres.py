"""fleet_db against a real PostgreSQL: full cycle through the CLI, secrets, lost connection."""

from __future__ import annotations

import re
import threading
import time

import psycopg2
import pytest

from devservers.postgres import PostgresServer
from ingestion.core.settings import Settings
from ingestion.fleet_db.settings import TABLES
from tests.helpers import run_tripline
from tests.ingestion.fleet_db.conftest import (
    PLANTED_PASSWORD,
    duck,
    files_containing,
    raw_rows,
    source_rows,
)


def _assert_in_sync(dsn: str, settings: Settings) -> None:
    for table in TABLES:
        source = source_rows(dsn, table.name, table.primary_key)
        raw = raw_rows(settings, table.name, table.primary_key)
        assert raw == source, f"{table.name}: {len(raw ^ source)} rows differ"


def _rows_loaded(stdout: str) -> int:
    match = re.search(r"loaded ([\d,]+) \+ rejected", stdout)
    assert match, stdout
    return int(match.group(1).replace(",", ""))


def test_load_mutate_rerun_on_postgres_keeps_secrets_out(
    pg_dsn: str, tripline_env: Settings
) -> None:
    outputs: list[str] = []
    env = {"TRIPLINE_FLEET_DB_DSN": pg_dsn}

    generated = run_tripline(
        "generate", "fleet-db", "--dsn", pg_dsn, "--drivers", "200", check=True
    )
    outputs += [generated.stdout, generated.stderr]
    assert "ids 1..200" in generated.stdout and "ids 1..160" in generated.stdout

    first = run_tripline("--debug", "pipeline", "run", "fleet_db", env=env, check=True)
    outputs += [first.stdout, first.stderr]
    assert "backend adbc" in first.stdout
    assert _rows_loaded(first.stdout) == 200 + 160 + 200 * 65
    _assert_in_sync(pg_dsn, tripline_env)

    mutated = run_tripline("generate", "fleet-db", "--dsn", pg_dsn, "--mutate", check=True)
    outputs += [mutated.stdout, mutated.stderr]
    hard_deleted = int(re.search(r"(\d+) shifts hard-deleted", mutated.stdout).group(1))
    assert hard_deleted > 0

    second = run_tripline("pipeline", "run", "fleet_db", env=env, check=True)
    outputs += [second.stdout, second.stderr]
    assert _rows_loaded(second.stdout) < 500  # only the day's changes (plus the lag window)
    assert f"hard_deletes_found {hard_deleted}" in second.stdout
    _assert_in_sync(pg_dsn, tripline_env)
    with duck(tripline_env) as connection:
        hire = connection.execute(
            "select status, rating from raw_fleet_db.drivers where driver_id = 201"
        ).fetchone()
        assert hire == ("active", None)  # new hire, no rating yet
        soft = connection.execute(
            "select count(*) from raw_fleet_db.drivers "
            "where deleted_at is not null and status = 'terminated'"
        ).fetchone()[0]
        assert soft >= 1
        marked = connection.execute(
            "select count(*) from raw_fleet_db.shifts where _fleet_db_hard_deleted_at is not null"
        ).fetchone()[0]
        assert marked == hard_deleted
        counts_before = connection.execute(
            "select (select count(*) from raw_fleet_db.drivers), "
            "(select count(*) from raw_fleet_db.shifts)"
        ).fetchone()

    third = run_tripline("pipeline", "run", "fleet_db", env=env, check=True)
    outputs += [third.stdout, third.stderr]
    assert _rows_loaded(third.stdout) < 10  # nothing new: only the lag window again
    assert "hard_deletes_found 0" in third.stdout
    with duck(tripline_env) as connection:
        counts_after = connection.execute(
            "select (select count(*) from raw_fleet_db.drivers), "
            "(select count(*) from raw_fleet_db.shifts)"
        ).fetchone()
        duplicates = connection.execute(
            "select count(*) - count(distinct shift_id) from raw_fleet_db.shifts"
        ).fetchone()[0]
    assert counts_after == counts_before and duplicates == 0

    assert all(PLANTED_PASSWORD not in text for text in outputs)
    assert files_containing(tripline_env.duckdb_path.parent, PLANTED_PASSWORD) == []


def test_wrong_password_is_one_line_without_the_secret(
    postgres: PostgresServer, tripline_env: Settings
) -> None:
    wrong = postgres.url("fleet").replace(PLANTED_PASSWORD, "not-" + PLANTED_PASSWORD)
    result = run_tripline("pipeline", "run", "fleet_db", env={"TRIPLINE_FLEET_DB_DSN": wrong})
    assert result.returncode == 3
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("tripline: error: cannot connect to the fleet database at ")
    assert PLANTED_PASSWORD not in result.stderr + result.stdout


def _terminate_copy(admin_url: str, database: str, done: threading.Event) -> list[int]:
    """Terminate the backend running the shifts COPY as soon as it shows up.

    Every backend reads through COPY: ``copy`` as CSV, ``adbc`` and connectorx as binary.
    """
    killed: list[int] = []
    connection = psycopg2.connect(admin_url)
    connection.autocommit = True
    deadline = time.monotonic() + 60
    try:
        with connection.cursor() as cursor:
            while not killed and not done.is_set() and time.monotonic() < deadline:
                cursor.execute(
                    "select pid from pg_stat_activity where datname = %s "
                    "and query ilike 'copy (%%fleet.shifts%%' and pid <> pg_backend_pid()",
                    (database,),
                )
                for (pid,) in cursor.fetchall():
                    cursor.execute("select pg_terminate_backend(%s)", (pid,))
                    killed.append(pid)
                time.sleep(0.01)
    finally:
        connection.close()
    return killed


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["adbc", "copy", "connectorx"])
def test_lost_connection_then_resume_without_gap_or_duplicates(
    backend: str, postgres: PostgresServer, pg_dsn: str, tripline_env: Settings
) -> None:
    env = {"TRIPLINE_FLEET_DB_DSN": pg_dsn}
    options = ["--backend", backend, "--chunk-size", "20000"]
    run_tripline(
        "generate",
        "fleet-db",
        "--dsn",
        pg_dsn,
        "--drivers",
        "300",
        "--shifts",
        "300000",
        check=True,
    )
    database = pg_dsn.rsplit("/", 1)[1]
    done = threading.Event()
    killed: list[int] = []
    killer = threading.Thread(
        target=lambda: killed.extend(_terminate_copy(postgres.url("postgres"), database, done))
    )
    killer.start()
    try:
        broken = run_tripline("--debug", "pipeline", "run", "fleet_db", *options, env=env)
    finally:
        done.set()
        killer.join()
    assert killed, "the COPY of fleet.shifts was never seen"
    assert broken.returncode == 3, broken.stdout + broken.stderr
    message = broken.stderr.strip().splitlines()[-1]
    if backend in ("adbc", "copy"):
        assert "lost the connection to the fleet database" in message
        assert "run again to resume" in message
    else:  # connectorx panics in Rust (its backtrace is on stderr too); still one last line
        assert message.startswith("tripline: error: connectorx failed while reading")
    # Every byte, tracebacks, dlt's logs and (connectorx) the Rust panic's text included.
    assert PLANTED_PASSWORD not in broken.stdout + broken.stderr

    # The source moves on while the pipeline is down; the next run must catch up exactly.
    run_tripline("generate", "fleet-db", "--dsn", pg_dsn, "--mutate", check=True)
    # 300 k shifts in 15 chunks stand in for the 5 M rows of bench/fleet_db_bench.py here.
    resumed = run_tripline(
        "pipeline",
        "run",
        "fleet_db",
        *options,
        env={**env, "TRIPLINE_MEMORY_LIMIT": "1GB"},
        check=True,
    )
    assert "shifts=" in resumed.stdout and f"backend {backend}" in resumed.stdout
    peak_mb = int(re.search(r"peak memory ([\d,]+) MB", resumed.stdout).group(1).replace(",", ""))
    assert peak_mb < 1000, resumed.stdout
    _assert_in_sync(pg_dsn, tripline_env)
    with duck(tripline_env) as connection:
        duplicates = connection.execute(
            "select count(*) - count(distinct shift_id) from raw_fleet_db.shifts"
        ).fetchone()[0]
    assert duplicates == 0
