"""``tripline pipeline run open_data``: NYC Open Data FHV vehicles into ``raw_open_data``."""

from __future__ import annotations

import argparse

from ingestion.core.devservers import import_devserver
from ingestion.core.entry import PipelineEntry
from ingestion.core.logs import get_logger
from ingestion.core.settings import Settings
from ingestion.core.summary import RunSummary
from ingestion.open_data.pipeline import run_open_data
from ingestion.open_data.settings import DATASET, PIPELINE_NAME, load_open_data_settings

log = get_logger("open_data")
DEMO_VEHICLES = 12_000


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--base-url",
        help="Socrata portal (default: $TRIPLINE_OPEN_DATA_BASE_URL, else dlt config "
        "sources.open_data.base_url, else https://data.cityofnewyork.us)",
    )
    parser.add_argument("--page-size", type=int, help="rows per request ($limit), 1..50000")
    parser.add_argument(
        "--full-refresh", action="store_true", help="drop raw_open_data state and reload all"
    )
    parser.add_argument(
        "--skip-reconcile",
        action="store_true",
        help="skip the key reconciliation that marks vehicles gone from the dataset",
    )


def _run(args: argparse.Namespace, settings: Settings) -> RunSummary:
    options = load_open_data_settings(args.base_url, args.page_size)
    summary = run_open_data(settings, options, args.full_refresh, reconcile=not args.skip_reconcile)
    summary.emit(log, settings.log_format)
    return summary


def _demo(settings: Settings) -> RunSummary:
    socrata = import_devserver("socrata")
    with socrata.serve_socrata(rows=DEMO_VEHICLES) as (server, _dataset):
        summary = run_open_data(settings, load_open_data_settings(server.url))
    summary.emit(log, settings.log_format)
    return summary


PIPELINE = PipelineEntry(
    name=PIPELINE_NAME,
    dataset=DATASET,
    description="NYC Open Data (Socrata) FHV active vehicles into raw_open_data, incremental",
    add_arguments=_add_arguments,
    run=_run,
    demo=_demo,
)
