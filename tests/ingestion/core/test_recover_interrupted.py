"""Crash recovery: the destination is the truth, local packages and state are not."""

from __future__ import annotations

import shutil
from pathlib import Path

import dlt

from ingestion.core.pipeline import open_pipeline, recover_interrupted
from ingestion.core.settings import Settings


def _rows(pipeline: dlt.Pipeline) -> int:
    with pipeline.sql_client() as client:
        return int(client.execute_sql("select count(*) from things")[0][0])


def _load(pipeline: dlt.Pipeline, first: int) -> str:
    items = [{"id": i} for i in range(first, first + 10)]
    info = pipeline.run(items, table_name="things", write_disposition="append")
    return info.loads_ids[0]


def _unfile(pipeline: dlt.Pipeline, load_id: str) -> None:
    """As if the run died after the destination committed ``load_id``, before dlt moved it."""
    load_dir = Path(pipeline.working_dir) / "load"
    shutil.move(load_dir / "loaded" / load_id, load_dir / "normalized" / load_id)
    (load_dir / "normalized" / load_id / "package_completed.json").unlink()


def test_a_load_the_destination_completed_is_kept(tripline_env: Settings) -> None:
    pipeline = open_pipeline("recovery", "raw_recovery", tripline_env)
    _load(pipeline, 0)
    second = _load(pipeline, 10)
    _unfile(pipeline, second)
    assert pipeline.list_normalized_load_packages() == [second]

    assert recover_interrupted(pipeline) == []  # nothing was unfinished at the destination

    assert _rows(pipeline) == 20
    assert pipeline.list_normalized_load_packages() == []


def test_a_load_the_destination_never_completed_is_undone(tripline_env: Settings) -> None:
    pipeline = open_pipeline("recovery", "raw_recovery", tripline_env)
    _load(pipeline, 0)
    second = _load(pipeline, 10)
    _unfile(pipeline, second)
    with pipeline.sql_client() as client:  # the load's rows are there, its record is not
        client.execute_sql("delete from _dlt_loads where load_id = %s", second)

    assert recover_interrupted(pipeline) == [second]

    assert _rows(pipeline) == 10


def test_the_sweep_needs_no_local_package_and_runs_twice(tripline_env: Settings) -> None:
    """Rows of a load the destination never completed go, with no local trace of the load
    (another machine's run, or a working folder lost), and a second sweep finds nothing."""
    pipeline = open_pipeline("recovery", "raw_recovery", tripline_env)
    _load(pipeline, 0)
    second = _load(pipeline, 10)
    with pipeline.sql_client() as client:
        client.execute_sql("delete from _dlt_loads where load_id = %s", second)
    shutil.rmtree(pipeline.working_dir)
    fresh = open_pipeline("recovery", "raw_recovery", tripline_env)

    assert recover_interrupted(fresh) == [second]
    assert recover_interrupted(fresh) == []
    assert _rows(fresh) == 10
    assert fresh.state["_state_version"] >= 1  # the state came back from the destination
