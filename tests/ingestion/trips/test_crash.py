"""SIGKILL the pipeline at several points of a multi-file load; nothing is lost or doubled."""

import os
import signal
import subprocess
import time
from pathlib import Path

import duckdb

from ingestion.trips.generator import generate
from ingestion.trips.months import parse_month_range
from tests.helpers import REPO, TRIPLINE

from .conftest import manifest

# (which "loading" line of the run to wait for, then how long to let it work before the kill)
KILL_POINTS = [(2, 0.25), (1, 0.9), (2, 0.05), (1, 0.5), (3, 0.15), (1, 1.5)]


def _start(source: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [TRIPLINE, "pipeline", "run", "trips", "--source", str(source)],
        cwd=REPO,
        env=env,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )


def _kill_after(process: subprocess.Popen[str], nth_loading: int, delay: float) -> bool:
    """Kill once the run starts loading its n-th file and works for ``delay`` seconds."""
    seen = 0
    assert process.stderr is not None
    for line in process.stderr:
        if line.rstrip().endswith(": loading"):
            seen += 1
            if seen == nth_loading:
                time.sleep(delay)
                if process.poll() is None:
                    os.kill(process.pid, signal.SIGKILL)
                    process.wait()
                    return True
    process.wait()
    return False


def test_sigkill_at_several_points_then_rerun_loads_every_row_once(tmp_path: Path) -> None:
    source = tmp_path / "tlc"
    generate(source, parse_month_range("2023-01:2023-08"), 120_000, "csv", seed=11)
    env = {
        **os.environ,
        "TRIPLINE_DUCKDB_PATH": str(tmp_path / "data" / "tripline.duckdb"),
        "TRIPLINE_MEMORY_LIMIT": "2GB",
        "RUNTIME__DLTHUB_TELEMETRY": "false",
    }
    kills = sum(_kill_after(_start(source, env), n, d) for n, d in KILL_POINTS)
    assert kills >= 5

    final = subprocess.run(
        [TRIPLINE, "pipeline", "run", "trips", "--source", str(source)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert final.returncode == 0, final.stderr

    with duckdb.connect(env["TRIPLINE_DUCKDB_PATH"], read_only=True) as con:
        per_file = dict(
            con.execute(
                "select _source_file, count(*) from raw_tlc.yellow_trips group by 1"
            ).fetchall()
        )
        zones = con.execute("select count(*) from raw_tlc.taxi_zones").fetchall()[0][0]
    expected = {name: info["rows"] for name, info in manifest(source).items()}
    assert per_file == expected
    assert zones == 265
