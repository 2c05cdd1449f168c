"""The insights report from the built marts, and dbt failures as one-line errors."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest

from ingestion.dbt_runner import DbtError, run_dbt
from ingestion.report.build import build_report
from tests.ingestion.dbt.conftest import BuiltProject


def test_report_has_a_chart_and_headlines_per_question(
    built_project: BuiltProject, tmp_path: Path
) -> None:
    page = build_report(built_project.settings, tmp_path / "report" / "index.html").read_text()
    assert page.count("<section>") == 7
    assert page.count("<svg ") == 7
    # Self-contained: no scripts, no external resources (only the SVG namespace URI).
    assert "<script" not in page
    assert set(re.findall(r"https?://[^\"' )]+", page)) == {"http://www.w3.org/2000/svg"}
    with duckdb.connect(str(built_project.settings.duckdb_path), read_only=True) as con:
        (valid,) = con.execute("select sum(trips) from marts.daily_kpis").fetchone()
    assert f"{valid:,} valid trips" in page


def test_dbt_failure_is_one_line(built_project: BuiltProject) -> None:
    with pytest.raises(DbtError) as raised:
        run_dbt(
            ["run", "--select", "no_such_model_anywhere", "--vars", "{trip_max_fare_usd: x}",
             "--target-path", str(built_project.target_dir / "failing"), "--warn-error"],
            built_project.settings,
        )  # fmt: skip
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith("dbt run --select no_such_model_anywhere")
