"""Where ``tripline dbt`` finds the dbt project: one resolver, three places, one clear error."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingestion.core.errors import ConfigurationError
from ingestion.dbt_runner import (
    PROJECT_DIR_SETTING,
    SOURCE_CHECKOUT,
    dbt_command,
    dbt_project_dir,
    dbt_target_dir,
)


def _project(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "dbt_project.yml").write_text("name: tripline\n")
    return folder


def test_the_setting_wins_over_the_working_directory(tmp_path: Path) -> None:
    chosen = _project(tmp_path / "chosen")
    here = _project(tmp_path / "here")
    found = dbt_project_dir({PROJECT_DIR_SETTING: str(chosen)}, cwd=here)
    assert found == chosen.resolve()


def test_a_setting_without_a_project_is_a_one_line_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=f"{PROJECT_DIR_SETTING}=.* does not hold"):
        dbt_project_dir({PROJECT_DIR_SETTING: str(tmp_path)}, cwd=_project(tmp_path / "x"))


def test_the_working_directory_is_the_image_workdir(tmp_path: Path) -> None:
    workdir = _project(tmp_path / "app")
    assert dbt_project_dir({}, cwd=workdir, checkout=tmp_path / "site-packages") == workdir


def test_else_the_source_checkout(tmp_path: Path) -> None:
    checkout = _project(tmp_path / "checkout")
    assert dbt_project_dir({}, cwd=tmp_path, checkout=checkout) == checkout


def test_nowhere_is_an_error_naming_the_setting(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=PROJECT_DIR_SETTING):
        dbt_project_dir({}, cwd=tmp_path, checkout=tmp_path / "site-packages")


def test_this_checkout_is_found_and_dbt_runs_against_it() -> None:
    assert (SOURCE_CHECKOUT / "dbt_project.yml").is_file()  # an editable install (make venv)
    command = dbt_command(["parse"], SOURCE_CHECKOUT)
    assert command[-4:] == [
        "--profiles-dir",
        str(SOURCE_CHECKOUT / "profiles"),
        "--project-dir",
        str(SOURCE_CHECKOUT),
    ]


def test_target_dir_follows_dbts_own_setting(tmp_path: Path) -> None:
    assert dbt_target_dir(tmp_path, {}) == tmp_path / "target"
    assert dbt_target_dir(tmp_path, {"DBT_TARGET_PATH": "/tmp/t"}) == Path("/tmp/t")
