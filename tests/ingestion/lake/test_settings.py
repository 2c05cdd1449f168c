"""Choosing the destination: one clear line for a setting the lake cannot use."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from ingestion.core.destinations import check
from ingestion.core.errors import ConfigurationError
from ingestion.core.settings import Settings, load_settings


@pytest.mark.parametrize(
    ("destination", "url", "message"),
    [
        ("warehouse", None, "choose duckdb or lake"),
        ("lake", None, "s3://bucket/prefix or file:///abs/path"),
        ("lake", "gs://bucket/x", "s3://bucket/prefix or file:///abs/path"),
        ("lake", "s3://", "s3://bucket/prefix or file:///abs/path"),
    ],
)
def test_unusable_destinations_are_one_line_errors(
    tripline_env: Settings, destination: str, url: str | None, message: str
) -> None:
    settings = dataclasses.replace(tripline_env, destination=destination, lake_url=url)
    with pytest.raises(ConfigurationError, match=message):
        check(settings)


def test_each_lake_has_its_own_dlt_working_folder(tmp_path: Path) -> None:
    base = {"TRIPLINE_DUCKDB_PATH": str(tmp_path / "tripline.duckdb")}
    duck = load_settings(base)
    one = load_settings({**base, "TRIPLINE_DESTINATION": "lake", "TRIPLINE_LAKE_URL": "s3://a/x"})
    two = load_settings({**base, "TRIPLINE_DESTINATION": "lake", "TRIPLINE_LAKE_URL": "s3://b/x"})
    assert len({duck.pipelines_dir, one.pipelines_dir, two.pipelines_dir}) == 3
    check(one)
