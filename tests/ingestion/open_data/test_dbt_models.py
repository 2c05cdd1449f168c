"""The open_data dbt models on what the pipeline loaded: removed vehicles leave the fleet."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from ingestion.core.settings import Settings
from ingestion.dbt_runner import run_dbt
from ingestion.open_data.pipeline import run_open_data
from ingestion.open_data.settings import load_open_data_settings
from tests.ingestion.open_data.conftest import Served, query

MODELS = ["path:models/staging/open_data", "path:models/marts/open_data"]


@pytest.mark.slow
def test_removed_vehicles_are_not_in_the_fleet(
    open_data_env: Settings, socrata: Served, tmp_path: Path
):
    _, dataset = socrata
    run_open_data(open_data_env, load_open_data_settings())
    gone = dataset.delete([r["vehicle_license_number"] for r in dataset.snapshot()[100:105]])
    assert run_open_data(open_data_env, load_open_data_settings()).extra["removed"] == 5
    # models, their data tests, the unit tests and the singular fleet test
    run_dbt(
        ["build", "--select", *MODELS, "--target-path", str(tmp_path / "target")], open_data_env
    )
    staged = query(
        open_data_env,
        "select vehicle_license_id from staging.stg_open_data__fhv_vehicles "
        "where is_removed and not is_active and removed_at is not null",
    )
    assert {key for (key,) in staged} == {r["vehicle_license_number"] for r in gone}
    by_base = query(
        open_data_env,
        "select segment_value, vehicles from marts.fhv_fleet_composition "
        "where segment_type = 'base'",
    )
    held = Counter(r["base_number"] for r in dataset.snapshot())
    assert dict(by_base) == dict(held)  # the fleet is what the dataset holds now
    assert sum(held.values()) == 2495
