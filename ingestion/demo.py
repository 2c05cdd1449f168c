"""``tripline demo``: sample data through every pipeline, the dbt project and the report.

Each registered pipeline's ``demo`` prepares its own sample input and runs; one that cannot
run here raises ``DemoSkipped`` and its dbt models are left out of the build (the trips
demo, in ``ingestion.trips.entry``, covers eighteen months sized like the TLC's series).
Then dbt seeds, builds and tests the project, generates the docs site, and the insights
report is written.
"""

from __future__ import annotations

import functools
import json
import time
from pathlib import Path

from ingestion import registry
from ingestion.core.entry import DemoSkipped, run_under_leases
from ingestion.core.logs import get_logger
from ingestion.core.settings import Settings
from ingestion.dbt_runner import dbt_project_dir, dbt_target_dir, run_dbt
from ingestion.report.build import build_report, headlines, publish_to_docs_site

log = get_logger("demo")


def _skipped_selectors(datasets: set[str], manifest_path: Path) -> list[str]:
    """dbt selectors for the sources (and everything downstream) in ``datasets``."""
    if not datasets or not manifest_path.exists():
        return []
    manifest = json.loads(manifest_path.read_text())
    selectors = []
    for source in manifest.get("sources", {}).values():
        if source.get("schema") in datasets:
            selectors.append(f"source:{source['source_name']}.{source['name']}+")
    return sorted(set(selectors))


def run_demo(settings: Settings) -> int:
    """Run the whole demo; return the exit code (0 when everything that could run passed)."""
    started = time.perf_counter()
    skipped: set[str] = set()
    for entry in registry.pipelines().values():
        if entry.demo is None:
            continue
        print(f"demo: running pipeline {entry.name}", flush=True)
        try:
            run_under_leases(entry, settings, functools.partial(entry.demo, settings))
        except DemoSkipped as exc:
            print(f"demo: skipped pipeline {entry.name}: {exc}", flush=True)
            skipped.add(entry.dataset)
    if settings.destination == "lake":
        # dbt on the lake is the spark target's (docs/lakehouse.md), not dbt-duckdb's.
        print(f"demo: the lake at {settings.lake_url} holds every dataset above", flush=True)
        return 0
    exclude: list[str] = []
    if skipped:
        run_dbt(["parse"], settings, stream=False)
        manifest = dbt_target_dir(dbt_project_dir()) / "manifest.json"
        exclude = _skipped_selectors(skipped, manifest)
    exclude_args = ["--exclude", *exclude] if exclude else []
    run_dbt(["seed", *exclude_args], settings, stream=False)
    run_dbt(["build", *exclude_args], settings, stream=False)
    run_dbt(["docs", "generate"], settings, stream=False)
    report = build_report(settings)
    publish_to_docs_site(report)
    for line in headlines(settings):
        print(f"  {line}", flush=True)
    print(
        f"demo: done in {time.perf_counter() - started:.0f} s\n"
        f"  DuckDB file:  {settings.duckdb_path}\n"
        f"  report:       {report}\n"
        f"  docs site:    .venv/bin/dbt docs serve --profiles-dir profiles --port 8080 "
        "(then open http://127.0.0.1:8080)",
        flush=True,
    )
    return 0
