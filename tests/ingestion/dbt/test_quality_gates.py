"""The quality gates of the dbt project: sqlfluff, dbt-score and complete documentation."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from tests.helpers import REPO
from tests.ingestion.dbt.conftest import BuiltProject

BIN = Path(sys.executable).parent


def _run(args: list[str], project: BuiltProject) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **project.env, "DBT_TARGET_PATH": str(project.target_dir)}
    return subprocess.run(
        args, cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False
    )


def test_sqlfluff_lint_passes(built_project: BuiltProject) -> None:
    result = _run(
        [str(BIN / "sqlfluff"), "lint", "models", "tests/dbt", "--disable-progress-bar", "-p", "2"],
        built_project,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "All Finished" in result.stdout + result.stderr


def test_dbt_score_lint_passes(built_project: BuiltProject) -> None:
    manifest = built_project.target_dir / "manifest.json"
    result = _run(
        [str(BIN / "dbt-score"), "lint", "--manifest", str(manifest), "--show", "failing-items"],
        built_project,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "Project score" in result.stdout


def test_docs_generate_describes_every_node(built_project: BuiltProject) -> None:
    """dbt docs generate ran in the fixture; every node of the TLC layers is documented."""
    manifest = json.loads((built_project.target_dir / "manifest.json").read_text())
    catalog = json.loads((built_project.target_dir / "catalog.json").read_text())
    ours = [
        node
        for node in [*manifest["nodes"].values(), *manifest["sources"].values()]
        if node["resource_type"] in {"model", "seed", "source"}
        and any(
            node["original_file_path"].startswith(prefix)
            for prefix in ("models/staging/tlc", "models/intermediate/trips",
                           "models/marts/trips", "models/marts/insights", "seeds/")
        )
    ]  # fmt: skip
    assert len(ours) >= 18
    undocumented = [n["unique_id"] for n in ours if not n["description"].strip()]
    undocumented += [
        f"{n['unique_id']}.{name}"
        for n in ours
        for name, column in n["columns"].items()
        if not column["description"].strip()
    ]
    assert undocumented == []
    assert "model.tripline.fct_trips" in catalog["nodes"]
    assert "exposure.tripline.insights_report" in manifest["exposures"]


MEASURE_WORDS = ("fare revenue", "driver revenue", "total paid", "pass-through", "measure:")
MONEY = re.compile(r"\bus dollars\b|\busd\b")


def test_every_money_column_of_the_insight_marts_names_its_measure(
    built_project: BuiltProject,
) -> None:
    """A mart column holding money says which measure it is (docs resolved by dbt)."""
    manifest = json.loads((built_project.target_dir / "manifest.json").read_text())
    checked, unnamed = 0, []
    for node in manifest["nodes"].values():
        if node["resource_type"] != "model" or not node["original_file_path"].startswith(
            "models/marts/insights"
        ):
            continue
        for name, column in node["columns"].items():
            description = column["description"].lower()
            if MONEY.search(description):
                checked += 1
                if not any(word in description for word in MEASURE_WORDS):
                    unnamed.append(f"{node['name']}.{name}")
    assert checked >= 20
    assert unnamed == []


def test_groups_own_every_model_of_ours_and_exposures_have_urls(
    built_project: BuiltProject,
) -> None:
    manifest = json.loads((built_project.target_dir / "manifest.json").read_text())
    ours = [
        node
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model"
        and node["original_file_path"].startswith(
            ("models/staging/tlc", "models/intermediate/trips", "models/marts/trips",
             "models/marts/insights")
        )
    ]  # fmt: skip
    assert ours and all(node["group"] in {"trips", "insights"} for node in ours)
    groups = manifest["groups"].values()
    assert all(group["owner"]["email"] for group in groups)
    exposures = manifest["exposures"].values()
    assert {e["name"] for e in exposures} >= {"insights_report", "insights_write_up"}
    assert all(e["url"] and e["owner"]["email"] for e in exposures)
