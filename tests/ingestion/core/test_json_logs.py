"""With TRIPLINE_LOG_FORMAT=json every log line is JSON and the summary one record."""

import json
from pathlib import Path

from ingestion.trips.generator import generate
from ingestion.trips.months import parse_month_range
from tests.helpers import run_tripline


def test_json_logs_carry_the_run_summary_as_one_record(tmp_path: Path) -> None:
    generate(tmp_path / "tlc", parse_month_range("2024-01"), 2_000, "parquet")
    result = run_tripline(
        "pipeline",
        "run",
        "trips",
        "--source",
        str(tmp_path / "tlc"),
        env={
            "TRIPLINE_DUCKDB_PATH": str(tmp_path / "data" / "t.duckdb"),
            "TRIPLINE_LOG_FORMAT": "json",
        },
        check=True,
    )
    records = [json.loads(line) for line in result.stderr.splitlines() if line.strip()]
    assert all({"time", "level", "message"} <= set(r) for r in records)
    (summary,) = [r for r in records if r.get("event") == "run_summary"]
    assert summary["pipeline"] == "trips"
    assert summary["rows_loaded"] == summary["rows_read"] == 2_265
    assert summary["reconciles"] is True
    assert summary["peak_memory_bytes"] > 0
