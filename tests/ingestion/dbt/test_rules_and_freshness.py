"""The rules come from one place and fail loudly; freshness is measured on event time.

Each test works on a copy of the built warehouse, so the shared fixture is never changed.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from ingestion.core.lease import hold
from ingestion.core.settings import Settings, load_settings
from ingestion.dbt_runner import DbtError, dbt_command, dbt_environment, dbt_project_dir, run_dbt
from tests.ingestion.dbt.conftest import BuiltProject


def _copy(project: BuiltProject, tmp_path: Path) -> Settings:
    target = tmp_path / "tripline.duckdb"
    shutil.copyfile(project.settings.duckdb_path, target)
    return load_settings({"TRIPLINE_DUCKDB_PATH": str(target), "TRIPLINE_MEMORY_LIMIT": "2GB"})


def _dbt(settings: Settings, tmp_path: Path, *args: str) -> None:
    run_dbt([*args, "--target-path", str(tmp_path / "target")], settings)


def _failing_dbt(settings: Settings, tmp_path: Path, *args: str) -> str:
    """Run dbt expecting it to fail; its whole output (tripline's DbtError keeps one line)."""
    project = dbt_project_dir()
    with hold(settings.duckdb_path, "dbt compile (test)"):
        result = subprocess.run(
            dbt_command([*args, "--target-path", str(tmp_path / "target")], project),
            cwd=project, env=dbt_environment(settings), capture_output=True, text=True,
            timeout=300, check=False,
        )  # fmt: skip
    assert result.returncode != 0
    return result.stdout + result.stderr


@pytest.mark.parametrize(
    ("call", "message"),
    [
        ("trip_rule('zero_distnce')", "unknown trip validity rule 'zero_distnce'"),
        ("valid_for('demnd')", "unknown trip scope 'demnd'"),
    ],
)
def test_a_misspelled_rule_or_scope_stops_compilation(
    built_project: BuiltProject, tmp_path: Path, call: str, message: str
) -> None:
    settings = _copy(built_project, tmp_path)
    query = f"select count(*) from {{{{ ref('fct_trips') }}}} where {{{{ {call} }}}}"
    output = _failing_dbt(settings, tmp_path, "compile", "--inline", query)
    assert message in output
    # The same query with the right names compiles.
    _dbt(settings, tmp_path, "compile", "--inline",
         "select count(*) from {{ ref('fct_trips') }} where {{ trip_rule('zero_distance') }} "
         "and {{ valid_for('demand') }}")  # fmt: skip


def test_a_seed_rule_with_an_unknown_scope_stops_compilation(
    built_project: BuiltProject, tmp_path: Path
) -> None:
    settings = _copy(built_project, tmp_path)
    with duckdb.connect(str(settings.duckdb_path)) as con:
        con.execute(
            "update reference.trip_validity_rules set excludes_from = 'demnd revenue' "
            "where rule_name = 'extreme_fare'"
        )
    output = _failing_dbt(settings, tmp_path, "compile", "--select", "int_trips_validated")
    assert "rule 'extreme_fare' excludes from unknown scope 'demnd'" in output


def test_quality_mart_reports_every_seed_rule_and_scope(built_project: BuiltProject) -> None:
    with duckdb.connect(str(built_project.settings.duckdb_path), read_only=True) as con:
        seed = {
            r for (r,) in con.sql("select rule_name from reference.trip_validity_rules").fetchall()
        }
        mart = {
            r for (r,) in con.sql("select rule_name from marts.data_quality_by_month").fetchall()
        }
        columns = {
            name
            for (name,) in con.sql(
                "select column_name from information_schema.columns "
                "where table_schema = 'marts' and table_name = 'fct_trips'"
            ).fetchall()
        }
    scopes = {"demand", "revenue", "tips", "distance_time", "zones"}
    assert len(seed) == 17
    assert mart == seed | {f"excluded_from_{scope}" for scope in scopes}
    assert {f"is_{rule}" for rule in seed} | {f"is_valid_for_{s}" for s in scopes} <= columns


def _freshness(settings: Settings, tmp_path: Path) -> dict[str, object]:
    try:
        _dbt(settings, tmp_path, "source", "freshness", "--select", "source:tlc.yellow_trips")
    except DbtError as error:
        assert "freshness" in str(error)
    results = json.loads((tmp_path / "target" / "sources.json").read_text())["results"]
    assert len(results) == 1
    result: dict[str, object] = results[0]
    return result


def test_source_freshness_is_on_the_newest_pickup(
    built_project: BuiltProject, tmp_path: Path
) -> None:
    settings = _copy(built_project, tmp_path)
    with duckdb.connect(str(settings.duckdb_path)) as con:
        (newest,) = con.execute(
            "select max(tpep_pickup_datetime) from raw_tlc.yellow_trips"
        ).fetchone()  # type: ignore[misc]
    stale = _freshness(settings, tmp_path)
    # The generated months end in February 2025: far older than 110 days, whatever the load time.
    assert stale["status"] == "error"
    assert str(stale["max_loaded_at"]).startswith(newest.isoformat(sep="T"))

    # A pickup ten days ago makes the source fresh; one in the future (a meter clock error)
    # is left out rather than making it look fresher than it is.
    now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    recent, future = now - timedelta(days=10), now + timedelta(days=40)
    with duckdb.connect(str(settings.duckdb_path)) as con:
        for pickup in (recent, future):
            con.execute(
                "insert into raw_tlc.yellow_trips by name "
                "select * replace (? as tpep_pickup_datetime) from raw_tlc.yellow_trips limit 1",
                [pickup],
            )
    fresh = _freshness(settings, tmp_path / "again")
    assert fresh["status"] == "pass"
    assert str(fresh["max_loaded_at"]).startswith(recent.isoformat(sep="T"))
