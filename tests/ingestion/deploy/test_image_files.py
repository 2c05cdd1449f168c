"""The image's list of files: the Dockerfile's COPY lines, the build context, the dbt project."""

from __future__ import annotations

import re
import tomllib

import yaml  # type: ignore[import-untyped]

from tests.helpers import REPO
from tests.ingestion.deploy import image

DOCKERFILE_TEXT = image.DOCKERFILE.read_text()


def _allowed_in_context() -> set[str]:
    lines = image.DOCKERIGNORE.read_text().splitlines()
    return {line[1:].strip("/") for line in lines if line.startswith("!")}


def test_the_build_context_holds_exactly_what_the_dockerfile_copies() -> None:
    assert _allowed_in_context() == image.copied_paths(DOCKERFILE_TEXT)
    assert image.ignored("tests/ingestion/trips/test_crash.py")
    assert image.ignored("ingestion/core/__pycache__/budget.cpython-311.pyc")
    assert not image.ignored("tests/dbt/marts")
    assert not image.ignored("ingestion/core/budget.py")


def test_the_image_holds_every_path_the_dbt_project_reads() -> None:
    project = yaml.safe_load((REPO / "dbt_project.yml").read_text())
    needed = {"dbt_project.yml", "profiles", "pyproject.toml", "constraints.txt", "ingestion"}
    for key in ("model-paths", "seed-paths", "macro-paths", "test-paths", "snapshot-paths"):
        needed.update(project.get(key, []))
    needed.update(p for p in project.get("analysis-paths", []) if (REPO / p).exists())
    copied = image.copied_paths(DOCKERFILE_TEXT)
    assert needed <= copied, f"the Dockerfile does not copy {sorted(needed - copied)}"
    # dbt_score_rules/ is for the dbt-score linter, a dev tool the image does not carry.
    assert copied <= needed | {"dbt_score_rules"}, f"copied but unused: {copied - needed}"


def test_the_install_is_plain_pinned_and_without_dev_extras() -> None:
    installs = [line for line in image.run_lines(DOCKERFILE_TEXT) if "pip install" in line]
    assert installs
    for line in installs:
        assert "-c constraints.txt" in line
        assert " -e " not in line and "[dev]" not in line


def test_the_image_runs_as_a_fixed_non_root_user_with_the_project_as_workdir() -> None:
    assert image.workdir(DOCKERFILE_TEXT) == "/app"
    env = image.image_env(DOCKERFILE_TEXT)
    assert env["TRIPLINE_DBT_PROJECT_DIR"] == "/app"
    # Everything the processes write goes to the warehouse volume or to ephemeral /tmp.
    for key in ("TRIPLINE_WORK_DIR", "DBT_TARGET_PATH", "DBT_LOG_PATH"):
        assert env[key].startswith("/tmp/"), key
    assert env["TRIPLINE_DUCKDB_PATH"].startswith("/data/")
    assert re.search(r"useradd --system --uid 10001 ", DOCKERFILE_TEXT)
    assert [a for k, a in image.instructions(DOCKERFILE_TEXT) if k == "USER"] == ["tripline"]


def _name(requirement: str) -> str:
    return re.split(r"[\[=<>~ ]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def test_pins_in_pyproject_agree_with_constraints() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    constraints = {
        _name(line): line.split("==", 1)[1].strip()
        for line in (REPO / "constraints.txt").read_text().splitlines()
        if "==" in line and not line.startswith("#")
    }
    requirements = [*project["dependencies"], *project["optional-dependencies"]["dev"]]
    for requirement in requirements:
        if "==" in requirement:
            name, version = _name(requirement), requirement.split("==", 1)[1].strip()
            assert constraints.get(name) == version, f"{requirement} vs constraints.txt"
