"""The command line: exit codes and one-line errors a user can act on."""

from pathlib import Path

from tests.helpers import run_tripline


def test_missing_source_is_a_one_line_error(tmp_path: Path) -> None:
    result = run_tripline(
        "pipeline",
        "run",
        "trips",
        "--source",
        str(tmp_path / "absent"),
        env={"TRIPLINE_DUCKDB_PATH": str(tmp_path / "t.duckdb")},
    )
    assert result.returncode == 3
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        f"tripline: error: source {tmp_path / 'absent'} does not exist "
        "(generate data with 'tripline generate trips')"
    )


def test_unknown_argument_is_a_one_line_usage_error() -> None:
    result = run_tripline("pipeline", "run", "trips", "--bogus")
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1


def test_unopenable_destination_is_a_clear_error(tmp_path: Path, parquet_months: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the data folder should be")
    result = run_tripline(
        "pipeline",
        "run",
        "trips",
        "--source",
        str(parquet_months),
        env={"TRIPLINE_DUCKDB_PATH": str(blocker / "t.duckdb")},
    )
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("tripline: error:")
    assert "Traceback" not in result.stderr


def test_generate_then_run_prints_a_reconciled_summary(tmp_path: Path) -> None:
    env = {"TRIPLINE_DUCKDB_PATH": str(tmp_path / "data" / "t.duckdb")}
    out = tmp_path / "tlc"
    generated = run_tripline(
        "generate",
        "trips",
        "--out",
        str(out),
        "--months",
        "2024-01:2024-02",
        "--rows-per-month",
        "5000",
        "--format",
        "csv",
        env=env,
        check=True,
    )
    assert "10,000 rows" in generated.stdout
    ran = run_tripline("pipeline", "run", "trips", "--source", str(out), env=env, check=True)
    assert "rows read 10,265 = loaded 10,265 + rejected 0" in ran.stdout
    assert "peak memory" in ran.stdout
