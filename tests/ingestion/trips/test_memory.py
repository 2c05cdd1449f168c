"""A CSV file larger than the memory budget loads with the process tree under that budget."""

import os
import subprocess
from pathlib import Path

from ingestion.core.budget import MIB
from ingestion.core.memory import PeakTreeMemory
from ingestion.trips.generator import generate
from ingestion.trips.months import parse_month_range
from tests.helpers import REPO, TRIPLINE

BUDGET = "1GiB"
BUDGET_BYTES = 1024 * MIB
# Stated margin: none. The whole tree (Python, dlt, DuckDB) must stay below the budget.
MARGIN = 0.0


def test_a_1gb_csv_loads_under_a_1gb_budget(tmp_path: Path) -> None:
    source = tmp_path / "tlc"
    # The realistic generator writes ~102 bytes a row: 11 M rows make a file above 1 GiB.
    generate(source, parse_month_range("2024-03"), 11_000_000, "csv", seed=1)
    size = (source / "yellow_tripdata_2024-03.csv").stat().st_size
    assert size > BUDGET_BYTES

    env = {
        **os.environ,
        "TRIPLINE_DUCKDB_PATH": str(tmp_path / "data" / "tripline.duckdb"),
        "TRIPLINE_MEMORY_LIMIT": BUDGET,
        "RUNTIME__DLTHUB_TELEMETRY": "false",
    }
    process = subprocess.Popen(
        [TRIPLINE, "pipeline", "run", "trips", "--source", str(source)],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    with PeakTreeMemory(process.pid, interval=0.02) as peak:
        stdout, stderr = process.communicate(timeout=600)
    assert process.returncode == 0, stderr
    assert "rows read 11,000,265 = loaded 11,000,265 + rejected 0" in stdout
    assert peak.peak_bytes < BUDGET_BYTES * (1 + MARGIN), (
        f"peak {peak.peak_bytes / MIB:.0f} MB for a {size / MIB:.0f} MB file"
    )
