"""The package as the image runs it: installed from the Dockerfile's files, as a non-root user.

No Docker engine here, so the image is replayed (``image.build``): only the paths the
Dockerfile copies, a plain ``pip install -c constraints.txt .`` into a fresh venv, commands
started from WORKDIR as an unprivileged user with the image's and the task definitions'
environment. Real CLI processes, a real DuckDB file.
"""

from __future__ import annotations

import json
import shutil
import textwrap
import time
from pathlib import Path

import duckdb
import pytest

from ingestion.dbt_runner import LATEST_SNAPSHOT
from tests.helpers import REPO
from tests.ingestion.dbt.conftest import TRIPS_SELECTION
from tests.ingestion.deploy.image import Layout

DEPLOY = REPO / "deploy" / "ecs"

pytestmark = pytest.mark.slow

_IMPORT_EVERYTHING = textwrap.dedent(
    """
    import importlib, pathlib, sys
    import ingestion
    package = pathlib.Path(ingestion.__file__).parent
    names = sorted(
        ".".join(("ingestion", *p.relative_to(package).with_suffix("").parts)).removesuffix(
            ".__init__"
        )
        for p in package.rglob("*.py")
        if p.name != "__main__.py"
    )
    for name in names:
        importlib.import_module(name)
    print(package, len(names))
    """
)


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""


def test_every_module_imports_from_a_plain_install(layout: Layout) -> None:
    """``pip install .`` alone (no dev extras, not editable) resolves every import."""
    # -I: the working directory (which holds the sources) is not on sys.path.
    result = layout.run("-I", "-c", _IMPORT_EVERYTHING, program="python")
    assert result.returncode == 0, _last_line(result.stderr)
    package, count = result.stdout.split()
    assert Path(package).is_relative_to(layout.venv), package
    assert int(count) > 50


def test_the_image_loads_trips_and_builds_dbt_as_a_non_root_user(layout: Layout) -> None:
    trips_env = {**layout.task_env(DEPLOY / "task-trips.json"), "TRIPLINE_MEMORY_LIMIT": "2GB"}
    dbt_env = {**layout.task_env(DEPLOY / "task-dbt-build.json"), "TRIPLINE_MEMORY_LIMIT": "2GB"}
    tlc = layout.root / "tmp" / "tlc"
    started = time.perf_counter()

    listed = layout.run("pipeline", "list", env=trips_env)
    assert listed.returncode == 0, _last_line(listed.stderr)
    assert "trips" in listed.stdout

    generated = layout.run(
        "generate", "trips", "--out", str(tlc), "--months", "2024-01:2024-02",
        "--rows-per-month", "5000", env=trips_env,
    )  # fmt: skip
    assert generated.returncode == 0, _last_line(generated.stderr)

    loaded = layout.run("pipeline", "run", "trips", "--source", str(tlc), env=trips_env)
    assert loaded.returncode == 0, _last_line(loaded.stderr)
    assert _summary(loaded.stderr)["rows_loaded"] == 10_265

    # The next task starts with empty ephemeral storage: dlt's state comes from the warehouse.
    shutil.rmtree(trips_env["TRIPLINE_WORK_DIR"])
    again = layout.run("pipeline", "run", "trips", "--source", str(tlc), env=trips_env)
    assert again.returncode == 0, _last_line(again.stderr)
    assert (_summary(again.stderr)["rows_loaded"], _summary(again.stderr)["skipped_inputs"]) == (
        0,
        3,
    )

    built = layout.run(
        "dbt", "build", "--select", *TRIPS_SELECTION, "--indirect-selection", "cautious",
        env=dbt_env,
    )  # fmt: skip
    assert built.returncode == 0, _last_line(built.stderr) or _last_line(built.stdout)
    assert "Done." in built.stdout

    warehouse = Path(dbt_env["TRIPLINE_DUCKDB_PATH"])
    published = Path(dbt_env["TRIPLINE_SNAPSHOT_DIR"])
    # Spill files, dlt's working folders and dbt's target/ stay off the warehouse volume;
    # the only folder there is the readers' snapshots.
    assert [p for p in warehouse.parent.iterdir() if p.is_dir()] == [published]
    with duckdb.connect(str(warehouse), read_only=True) as con:
        (trips,) = con.execute("select count(*) from marts.fct_trips").fetchone() or (0,)
    assert trips > 9_000

    # A reader (another unprivileged process) opens the published copy read-only.
    read = layout.run(
        "-c",
        "import duckdb, sys; con = duckdb.connect(sys.argv[1], read_only=True); "
        "print(con.execute('select count(*) from marts.fct_trips').fetchone()[0])",
        str(published / LATEST_SNAPSHOT),
        program="python",
    )
    assert read.returncode == 0, _last_line(read.stderr)
    assert int(read.stdout) == trips
    print(f"image layout: install {layout.install_seconds:.0f} s, "
          f"commands {time.perf_counter() - started:.0f} s")  # fmt: skip


def _summary(stderr: str) -> dict[str, object]:
    """The run's JSON summary record (the image logs JSON lines)."""
    records: list[dict[str, object]] = [
        json.loads(line) for line in stderr.splitlines() if line.startswith("{")
    ]
    (summary,) = [r for r in records if r.get("event") == "run_summary"]
    return summary
