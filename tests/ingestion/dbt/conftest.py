"""A dbt project built once per session on generated data: generate -> trips -> dbt build.

The build selects this project's TLC layers only (other sources are not loaded here) and
writes dbt's artefacts to a temporary target path, so parallel runs never share target/.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from ingestion.core.settings import Settings, load_settings
from ingestion.dbt_runner import run_dbt
from ingestion.trips.generator import MANIFEST_FILE, generate
from ingestion.trips.months import parse_month_range
from ingestion.trips.pipeline import run_trips

ROWS_PER_MONTH = 30_000
# The default of build_trips_project (other packages' dbt tests count on these months).
MONTHS = "2024-01:2024-03"
# The shared fixture: Christmas, New Year and the first weeks of the congestion fee.
FIXTURE_MONTHS = "2024-12:2025-02"
TRIPS_SELECTION = [
    "path:seeds",
    "path:models/staging/tlc",
    "path:models/intermediate/trips",
    "path:models/marts/trips",
    "path:models/marts/insights",
]


@dataclass(frozen=True)
class BuiltProject:
    settings: Settings
    tlc_dir: Path
    target_dir: Path
    manifest: dict[str, dict[str, object]]

    @property
    def env(self) -> dict[str, str]:
        return {
            "TRIPLINE_DUCKDB_PATH": str(self.settings.duckdb_path),
            "TRIPLINE_MEMORY_LIMIT": "2GB",
            "RUNTIME__DLTHUB_TELEMETRY": "false",
        }

    def dbt(self, *args: str) -> None:
        """Run dbt against this build's DuckDB file and target directory."""
        run_dbt(
            [
                *args,
                "--target-path",
                str(self.target_dir),
                "--log-path",
                str(self.target_dir.parent / "dbt_logs"),
            ],
            self.settings,
        )


def build_trips_project(
    root: Path,
    rows: int = ROWS_PER_MONTH,
    seed: int = 11,
    full: bool = True,
    volume: str = "flat",
    months: str = MONTHS,
    kinds: tuple[str, ...] = ("yellow",),
) -> BuiltProject:
    """Generate files, load them with the trips pipeline and dbt build the TLC layers.

    ``full=False`` only seeds and runs what fct_trips needs (no insight marts, no tests);
    ``volume="seasonal"`` sizes each month like the TLC's series (the manifest has the rows).
    """
    settings = load_settings(
        {
            "TRIPLINE_DUCKDB_PATH": str(root / "data" / "tripline.duckdb"),
            "TRIPLINE_MEMORY_LIMIT": "2GB",
        }
    )
    tlc_dir = root / "tlc"
    report = generate(
        tlc_dir, parse_month_range(months), rows, "parquet", seed=seed, volume=volume, kinds=kinds
    )
    summary, _ = run_trips(settings, str(tlc_dir))
    assert summary.rows_loaded == report.rows + 265  # trips plus the zone lookup
    project = BuiltProject(
        settings, tlc_dir, root / "target", json.loads((tlc_dir / MANIFEST_FILE).read_text())
    )
    if full:
        project.dbt("build", "--select", *TRIPS_SELECTION, "--indirect-selection", "cautious")
    else:
        # The validity rules are read from the seed, so it is loaded first.
        project.dbt("seed", "--select", "trip_validity_rules", "tlc_services")
        project.dbt("run", "--select", "+fct_trips")
    return project


@pytest.fixture(scope="session")
def built_project(tmp_path_factory: pytest.TempPathFactory) -> BuiltProject:
    """The TLC dbt layers built on three generated months sized like the TLC's series, plus
    the docs site artefacts."""
    project = build_trips_project(
        tmp_path_factory.mktemp("dbt_project"), volume="seasonal", months=FIXTURE_MONTHS
    )
    project.dbt("docs", "generate")
    return project
