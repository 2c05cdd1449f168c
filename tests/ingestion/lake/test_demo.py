"""``tripline demo`` on the lake runs each pipeline as ``tripline pipeline run`` does."""

from __future__ import annotations

import argparse
import os

import pytest

from ingestion import demo, registry
from ingestion.core.entry import PipelineEntry
from ingestion.core.lease import Holder, current_holder
from ingestion.core.settings import Settings
from ingestion.core.summary import RunSummary


def test_each_demo_pipeline_holds_its_lake_lease(
    file_lake_env: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = file_lake_env
    seen: list[Holder | None] = []

    def sample_run(_: Settings) -> RunSummary:
        # A second `tripline pipeline run sample` would share this pipeline's dlt state.
        seen.append(current_holder(settings.pipelines_dir, "sample"))
        return RunSummary("sample", "raw_sample")

    def not_run(_: argparse.Namespace, __: Settings) -> RunSummary:
        raise AssertionError("the demo runs the entry's demo, not its run")

    entry = PipelineEntry(
        "sample", "raw_sample", "a sample", lambda _: None, not_run, demo=sample_run
    )
    monkeypatch.setattr(registry, "pipelines", lambda only=None: {entry.name: entry})

    assert demo.run_demo(settings) == 0

    assert [(h.what, h.pid) if h else None for h in seen] == [("pipeline sample", os.getpid())]
