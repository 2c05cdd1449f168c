"""The architecture as documented is the architecture as built."""

import hashlib
import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from ingestion import registry
from ingestion.core.settings import Settings
from tests.helpers import REPO

DIAGRAMS = REPO / "architecture" / "diagrams"
DEPLOY = REPO / "deploy" / "ecs"


def _dataflow_ids(prefix: str) -> set[str]:
    text = (DIAGRAMS / "dataflow.mmd").read_text()
    return set(re.findall(rf"\b{prefix}_([a-z_]+?)(?=[\[\(\s&])", text))


@pytest.mark.parametrize("source", sorted(DIAGRAMS.glob("*.mmd")), ids=lambda p: p.name)
def test_rendered_svg_matches_its_source(source: Path) -> None:
    rendered = source.with_suffix(".svg")
    assert rendered.exists(), f"{rendered.name} missing: run 'make diagrams'"
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    assert f"<!-- source-sha256: {digest} -->" in rendered.read_text(), (
        f"{rendered.name} is older than {source.name}: run 'make diagrams'"
    )


def test_every_pipeline_is_on_the_data_flow_diagram_and_back() -> None:
    registered = set(registry.pipelines())
    assert _dataflow_ids("pipeline") == registered


def test_every_raw_dataset_on_the_diagram_is_a_pipeline_dataset() -> None:
    datasets = {entry.dataset.removeprefix("raw_") for entry in registry.pipelines().values()}
    assert _dataflow_ids("raw") == datasets


def test_architecture_readme_names_every_pipeline_and_dataset() -> None:
    text = (REPO / "architecture" / "README.md").read_text()
    for entry in registry.pipelines().values():
        assert f"`{entry.name}`" in text, entry.name
        assert f"`{entry.dataset}`" in text, entry.dataset


def _task_definitions() -> list[Path]:
    return sorted(DEPLOY.glob("task-*.json"))


@pytest.mark.parametrize("path", _task_definitions(), ids=lambda p: p.name)
def test_task_definitions_run_a_registered_command_in_4_gb(path: Path) -> None:
    task = json.loads(path.read_text())
    assert task["requiresCompatibilities"] == ["FARGATE"]
    assert task["memory"] == "4096"
    (container,) = task["containerDefinitions"]
    assert container["memory"] == 4096
    assert container["logConfiguration"]["logDriver"] == "awslogs"
    env = {item["name"]: item["value"] for item in container["environment"]}
    assert env["TRIPLINE_LOG_FORMAT"] == "json"
    assert env["RUNTIME__DLTHUB_TELEMETRY"] == "false"
    for secret in container.get("secrets", []):
        assert secret["valueFrom"].startswith("arn:aws:secretsmanager:")
    command = container["command"]
    if command[:2] == ["pipeline", "run"]:
        assert command[2] in registry.pipelines()
    else:
        assert command[0] == "dbt"


def test_every_pipeline_has_a_task_definition() -> None:
    commanded = {
        json.loads(p.read_text())["containerDefinitions"][0]["command"][2]
        for p in _task_definitions()
        if json.loads(p.read_text())["containerDefinitions"][0]["command"][0] == "pipeline"
    }
    assert commanded == set(registry.pipelines())


def test_schedules_and_service_point_at_existing_task_families() -> None:
    families = {json.loads(p.read_text())["family"] for p in _task_definitions()}
    # Schedules start the state machines (deploy/scheduler/); their ECS steps run the tasks.
    for machine in sorted((DEPLOY.parent / "stepfunctions").glob("*.asl.json")):
        for state in json.loads(machine.read_text())["States"].values():
            if state.get("Resource", "").startswith("arn:aws:states:::ecs:runTask"):
                arn = state["Parameters"]["TaskDefinition"]
                assert arn.rsplit("/", 1)[-1] in families
    service = json.loads((DEPLOY / "service-fleet-events.json").read_text())
    assert service["taskDefinition"] in families


def test_dockerfile_entrypoint_is_the_installed_console_script() -> None:
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["tripline"] == "ingestion.cli:main"
    dockerfile = (REPO / "Dockerfile").read_text()
    assert 'ENTRYPOINT ["tripline"]' in dockerfile
    assert "USER tripline" in dockerfile
    assert "FROM python:3.11-slim" in dockerfile


# What an ECS task pays for before it does anything: a command about one source imports that
# source's package only (each CLI start paid ~2 s for every source's libraries).
def _packages_imported_by_parsing(argv: list[str]) -> set[str]:
    script = (
        "import sys\n"
        "from ingestion.cli import build_parser\n"
        f"build_parser({argv!r}).parse_args({argv!r})\n"
        # Each module's top package and its sub-package: sqlalchemy, ingestion, ingestion.trips.
        "print(*sorted({'.'.join(m.split('.')[:n]) for m in sys.modules for n in (1, 2)}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    return set(done.stdout.split())


@pytest.mark.parametrize("name", sorted(registry.ENTRY_MODULES))
def test_running_one_pipeline_imports_no_other_source(name: str) -> None:
    imported = _packages_imported_by_parsing(["pipeline", "run", name])
    others = {f"ingestion.{other}" for other in registry.ENTRY_MODULES if other != name}
    assert f"ingestion.{name}" in imported
    assert not imported & others, f"pipeline run {name} imported {sorted(imported & others)}"


def test_the_trips_task_loads_no_database_or_kafka_client() -> None:
    imported = _packages_imported_by_parsing(["pipeline", "run", "trips"])
    assert not imported & {"sqlalchemy", "confluent_kafka", "connectorx", "adbc_driver_manager"}


def test_every_entry_module_is_keyed_by_its_pipeline_name() -> None:
    for key in registry.ENTRY_MODULES:
        assert list(registry.pipelines(key)) == [key]


def test_a_pipelines_dlt_settings_are_its_own(
    tripline_env: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``tripline demo`` and a test session run several pipelines in one process: each one's
    dlt settings carry its name (``TRIPS__LOAD__…``), so none changes another's loads."""
    from ingestion.fleet_events import pipeline as fleet_events
    from ingestion.trips import pipeline as trips

    for module, configure in (
        (fleet_events, fleet_events._configure_dlt),
        (trips, lambda: trips._configure_dlt(tripline_env)),
    ):
        before = set(os.environ)
        configure()
        added = set(os.environ) - before
        assert added, module.__name__
        prefix = f"{module.PIPELINE_NAME.upper()}__"
        assert all(key.startswith(prefix) for key in added), sorted(added)
        for key in added:
            monkeypatch.delenv(key)
