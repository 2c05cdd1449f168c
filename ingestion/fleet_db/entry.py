"""``tripline pipeline run fleet_db`` and ``tripline generate fleet-db``: arguments to calls."""

from __future__ import annotations

import argparse

from ingestion.core.entry import GeneratorEntry, PipelineEntry
from ingestion.core.errors import ConfigurationError
from ingestion.core.logs import get_logger
from ingestion.core.settings import Settings
from ingestion.core.summary import RunSummary
from ingestion.fleet_db.generator import generate, mutate
from ingestion.fleet_db.helpers import resolve_dsn
from ingestion.fleet_db.pipeline import run_fleet_db
from ingestion.fleet_db.settings import BACKENDS, DATASET, DSN_ENV, PIPELINE_NAME

log = get_logger("fleet_db")


def _add_pipeline_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--backend",
        default="auto",
        choices=("auto", *BACKENDS),
        help="how rows are read: auto = copy (PostgreSQL COPY into Arrow) on PostgreSQL, "
        "pyarrow elsewhere",
    )
    parser.add_argument(
        "--chunk-size", type=int, help="rows per chunk (default: from the memory budget)"
    )
    parser.add_argument(
        "--skip-reconcile", action="store_true", help="skip the hard-delete key reconciliation"
    )
    parser.add_argument("--full-refresh", action="store_true", help="drop raw_fleet_db, reload")


def _run_pipeline(args: argparse.Namespace, settings: Settings) -> RunSummary:
    if args.chunk_size is not None and args.chunk_size <= 0:
        raise ConfigurationError("--chunk-size must be positive")
    summary = run_fleet_db(
        settings,
        resolve_dsn(),
        backend=args.backend,
        full_refresh=args.full_refresh,
        reconcile=not args.skip_reconcile,
        chunk_size=args.chunk_size,
    )
    summary.emit(log, settings.log_format)
    return summary


def _add_generator_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dsn",
        help=f"postgresql://…, mysql://… or sqlite:///path (default: ${DSN_ENV}, else a SQLite "
        "file in the data folder)",
    )
    parser.add_argument("--drivers", type=int, default=500, help="driver ids 1..N (default 500)")
    parser.add_argument("--shifts", type=int, help="total shifts (default 65 per driver)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--mutate", action="store_true", help="apply one day of changes to an existing fleet DB"
    )


def default_sqlite_dsn(settings: Settings) -> str:
    """The demo's fleet database: a SQLite file in the data folder."""
    path = settings.data_dir / "fleet_db" / "fleet.sqlite"
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path.resolve()}"


def _run_generator(args: argparse.Namespace, settings: Settings) -> str:
    dsn = args.dsn or _env_dsn() or default_sqlite_dsn(settings)
    if args.mutate:
        return mutate(dsn, args.seed).line()
    if args.drivers <= 0 or (args.shifts is not None and args.shifts < 0):
        raise ConfigurationError("--drivers must be positive and --shifts not negative")
    return generate(dsn, args.drivers, args.seed, args.shifts).line()


def _env_dsn() -> str | None:
    import os

    return os.environ.get(DSN_ENV, "").strip() or None


def _demo(settings: Settings) -> RunSummary:
    dsn = default_sqlite_dsn(settings)
    log.info("demo: %s", generate(dsn, drivers=300, seed=42).line())
    # The generator rebuilds the database, so the first load starts over as well.
    run_fleet_db(settings, dsn, full_refresh=True)
    log.info("demo: %s", mutate(dsn, seed=42).line())
    summary = run_fleet_db(settings, dsn)
    summary.emit(log, settings.log_format)
    return summary


PIPELINE = PipelineEntry(
    name=PIPELINE_NAME,
    dataset=DATASET,
    description="fleet dispatch DB (PostgreSQL, MySQL/MariaDB, SQLite) into raw_fleet_db, "
    "incremental by updated_at",
    add_arguments=_add_pipeline_arguments,
    run=_run_pipeline,
    demo=_demo,
)

GENERATORS = [
    GeneratorEntry(
        name="fleet-db",
        description="a taxi fleet's dispatch database (drivers, vehicles, shifts); --mutate "
        "applies a day of changes",
        add_arguments=_add_generator_arguments,
        run=_run_generator,
    )
]
