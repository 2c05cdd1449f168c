"""deploy/ is a system AWS accepts: every request valid against botocore's API models, the
state machines well-formed Amazon States Language, and the files agreeing with each other.

botocore's ``ParamValidator`` checks names, types and required members of each request
against the service model the AWS CLI and SDK use; the other tests check what the model
cannot (references between files, least privilege, the lease and heartbeat timings).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import tomllib
from pathlib import Path
from typing import Any

import pytest

from ingestion import registry
from ingestion.core.summary import RunSummary
from tests.helpers import REPO
from tests.ingestion.deploy import aws

TASKS = {
    p.stem.removeprefix("task-"): aws.load(aws.relative(p))
    for p in aws.DEPLOY.glob("ecs/task-*.json")
}
MACHINES = {
    p.name.removesuffix(".asl.json"): json.loads(p.read_text())
    for p in aws.DEPLOY.glob("stepfunctions/*.asl.json")
}
SCHEDULES = [
    aws.load(aws.relative(p)) for p in sorted(aws.DEPLOY.glob("scheduler/tripline-*.json"))
]
SERVICE = aws.load("ecs/service-fleet-events.json")
KMS_KEY_ARN = aws.load("secrets/fleet-db-dsn.json")["KmsKeyId"]
SECRET_ARN = re.compile(
    r"^arn:aws:secretsmanager:[a-z0-9-]+:\d{12}:secret:(?P<name>[\w/+=.@-]+)-[A-Za-z0-9]{6}"
    r"(?::(?P<key>[^:]*):[^:]*:[^:]*)?$"
)
# Fargate's task sizes (vCPU units -> MiB allowed), for the sizes deploy/ uses.
FARGATE_MEMORY = {"512": range(1024, 4097, 1024), "1024": range(2048, 8193, 1024)}


def _container(task: dict[str, Any]) -> dict[str, Any]:
    (container,) = task["containerDefinitions"]
    return dict(container)


def _env(task: dict[str, Any]) -> dict[str, str]:
    return {item["name"]: item["value"] for item in _container(task)["environment"]}


# --- every file is a request AWS accepts -----------------------------------------------------


def test_every_file_in_deploy_feeds_a_known_aws_api() -> None:
    unmapped = [aws.relative(p) for p in aws.deploy_files() if aws.api_of(p) is None]
    assert not unmapped, f"no AWS API known for {unmapped}: add it to aws.APIS"
    others = [p for p in aws.DEPLOY.rglob("*") if p.is_file() and p.suffix not in {".json", ".md"}]
    assert not others


@pytest.mark.parametrize("request_", aws.requests(), ids=lambda r: r.label)
def test_each_request_is_valid_for_the_aws_api_model(request_: aws.Request) -> None:
    shape = aws.operation_model(request_.service, request_.operation).input_shape
    assert aws.problems(request_.params, shape) == ""


def test_the_validator_does_reject_a_bad_request() -> None:
    shape = aws.operation_model("ecs", "RegisterTaskDefinition").input_shape
    bad = {**TASKS["trips"], "cpu": 1024, "memroy": "4096"}
    report = aws.problems(bad, shape)
    assert "Invalid type for parameter cpu" in report
    assert 'Unknown parameter in input: "memroy"' in report


# --- the state machines -----------------------------------------------------------------------

STATE_FIELDS = {
    "Task": {"Type", "Comment", "Resource", "Parameters", "ResultPath", "ResultSelector",
             "Retry", "Catch", "TimeoutSeconds", "HeartbeatSeconds", "Next", "End",
             "InputPath", "OutputPath"},
    "Choice": {"Type", "Comment", "Choices", "Default", "InputPath", "OutputPath"},
    "Pass": {"Type", "Comment", "Result", "ResultPath", "Parameters", "Next", "End",
             "InputPath", "OutputPath"},
    "Wait": {"Type", "Comment", "Seconds", "Timestamp", "SecondsPath", "TimestampPath",
             "Next", "End", "InputPath", "OutputPath"},
    "Succeed": {"Type", "Comment", "InputPath", "OutputPath"},
    "Fail": {"Type", "Comment", "Error", "Cause"},
}  # fmt: skip
ECS_RUN = "arn:aws:states:::ecs:runTask.sync"
SNS_PUBLISH = "arn:aws:states:::sns:publish"


def _targets(state: dict[str, Any]) -> list[str]:
    found = [state[k] for k in ("Next", "Default") if k in state]
    found += [choice["Next"] for choice in state.get("Choices", [])]
    found += [catch["Next"] for catch in state.get("Catch", [])]
    return found


def _happy_path(machine: dict[str, Any]) -> list[str]:
    """The states visited when nothing fails (Choice takes its Default)."""
    path, name = [], machine["StartAt"]
    while name:
        path.append(name)
        state = machine["States"][name]
        name = state.get("Next") or state.get("Default")
    return path


def _family(state: dict[str, Any]) -> str:
    return str(state["Parameters"]["TaskDefinition"]).rsplit("/", 1)[-1]


def _camel(value: Any) -> Any:
    """Step Functions' PascalCase integration parameters as the API's own member names."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            name = key.removesuffix(".$")
            out[name[0].lower() + name[1:]] = "dynamic" if key.endswith(".$") else _camel(item)
        return out
    return [_camel(v) for v in value] if isinstance(value, list) else value


@pytest.mark.parametrize("name", sorted(MACHINES))
def test_state_machine_is_well_formed_states_language(name: str) -> None:
    machine = MACHINES[name]
    states = machine["States"]
    assert machine["StartAt"] in states
    for state_name, state in states.items():
        fields = STATE_FIELDS[state["Type"]]
        assert set(state) <= fields, f"{state_name}: unknown fields {set(state) - fields}"
        for target in _targets(state):
            assert target in states, f"{state_name} -> {target}: no such state"
        if state["Type"] in {"Task", "Pass", "Wait"}:
            assert ("Next" in state) != bool(state.get("End")), state_name
    reachable, todo = set(), [machine["StartAt"]]
    while todo:
        current = todo.pop()
        if current not in reachable:
            reachable.add(current)
            todo.extend(_targets(states[current]))
    assert reachable == set(states), f"unreachable: {set(states) - reachable}"


@pytest.mark.parametrize("name", sorted(MACHINES))
def test_state_machine_chains_the_loads_then_dbt_build_with_retries_and_a_report(
    name: str,
) -> None:
    machine = MACHINES[name]
    states = machine["States"]
    tasks = [states[s] for s in _happy_path(machine) if states[s].get("Resource") == ECS_RUN]
    families = [_family(t) for t in tasks]
    assert families[-1] == "tripline-dbt-build" and len(families) >= 2
    assert all(f"tripline-{f.removeprefix('tripline-')}" == f for f in families)
    assert set(families) <= {t["family"] for t in TASKS.values()}
    assert "tripline-fleet-events" not in families  # the follower is a service, not a step
    run_task = aws.operation_model("ecs", "RunTask").input_shape
    failure_keys = set()
    for task in tasks:
        assert aws.problems(_camel(task["Parameters"]), run_task) == ""
        assert task["TimeoutSeconds"] > int(_env(_task_of(_family(task)))["TRIPLINE_LOCK_TIMEOUT"])
        assert any("States.TaskFailed" in r["ErrorEquals"] for r in task["Retry"])
        (catch,) = task["Catch"]
        assert catch["ErrorEquals"] == ["States.ALL"]
        failure_keys.add(catch["ResultPath"].removeprefix("$."))
    # Whatever failed is reported on SNS and the execution fails (so the alarm fires too).
    choice = next(s for s in states.values() if s["Type"] == "Choice")
    (rule,) = choice["Choices"]
    assert {c["Variable"].removeprefix("$.") for c in rule["Or"]} == failure_keys
    report = states[rule["Next"]]
    assert report["Resource"] == SNS_PUBLISH
    assert report["Parameters"]["TopicArn"] in _alarm_actions()
    sns = aws.operation_model("sns", "Publish").input_shape  # SNS's own names are PascalCase
    assert aws.problems({k.removesuffix(".$"): "x" for k in report["Parameters"]}, sns) == ""
    assert states[report["Next"]]["Type"] == "Fail"
    assert states[choice["Default"]]["Type"] == "Succeed"


def _alarm_actions() -> set[str]:
    return {a for alarm in aws.load("observability/alarms.json") for a in alarm["AlarmActions"]}


def _ecs_steps() -> list[dict[str, Any]]:
    return [
        s for m in MACHINES.values() for s in m["States"].values() if s.get("Resource") == ECS_RUN
    ]


def _task_of(family: str) -> dict[str, Any]:
    return next(t for t in TASKS.values() if t["family"] == family)


def test_each_state_machine_has_one_schedule_and_nothing_else_runs_on_a_clock() -> None:
    targets = sorted(s["Target"]["Arn"].rsplit(":", 1)[-1] for s in SCHEDULES)
    assert targets == sorted(MACHINES)
    for schedule in SCHEDULES:
        assert "EcsParameters" not in schedule["Target"]
        assert schedule["ScheduleExpression"].startswith("cron(")
        assert schedule["Target"]["DeadLetterConfig"]["Arn"].endswith(
            aws.load("observability/scheduler-dlq.json")["QueueName"]
        )
    scheduled = {_family(s) for s in _ecs_steps()}
    batch = {t["family"] for t in TASKS.values()} - {SERVICE["taskDefinition"]}
    assert scheduled == batch, "every batch task runs in a state machine, the follower in none"


# --- task definitions, the service and the image --------------------------------------------


@pytest.mark.parametrize("name", sorted(TASKS))
def test_task_definition_is_hardened_and_writes_only_to_the_two_volumes(name: str) -> None:
    task = TASKS[name]
    container = _container(task)
    assert task["memory"] in {str(m) for m in FARGATE_MEMORY[task["cpu"]]}
    assert 21 <= task["ephemeralStorage"]["sizeInGiB"] <= 200
    assert container["readonlyRootFilesystem"] is True
    assert container["linuxParameters"]["initProcessEnabled"] is True  # signals reach tripline
    assert container["stopTimeout"] <= 120
    volumes = {v["name"]: v for v in task["volumes"]}
    mounts = {m["containerPath"]: volumes[m["sourceVolume"]] for m in container["mountPoints"]}
    assert set(mounts) == {"/data", "/tmp"}
    assert "efsVolumeConfiguration" in mounts["/data"]
    assert mounts["/data"]["efsVolumeConfiguration"]["transitEncryption"] == "ENABLED"
    assert set(mounts["/tmp"]) == {"name"}  # a bind mount: the task's ephemeral storage
    env = _env(task)
    assert env["TRIPLINE_DUCKDB_PATH"].startswith("/data/")
    assert env["TRIPLINE_WORK_DIR"].startswith("/tmp/")  # spill and dlt state off EFS
    assert int(env["TRIPLINE_LOCK_TIMEOUT"]) > 0


def test_images_are_pinned_to_the_immutable_package_version() -> None:
    version = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    repository = aws.load("ecr/repository.json")
    assert repository["imageTagMutability"] == "IMMUTABLE"
    for task in TASKS.values():
        image = _container(task)["image"]
        name, _, tag = image.rpartition(":")
        assert name.endswith(f"/{repository['repositoryName']}") and "@" not in name
        assert tag == version, f"{task['family']}: {image} (a pushed tag cannot move)"


def test_one_task_role_per_pipeline_with_only_what_it_needs() -> None:
    roles = aws.roles()
    task_roles = [task["taskRoleArn"] for task in TASKS.values()]
    assert len(set(task_roles)) == len(task_roles)
    efs = aws.load("efs/file-system.json")
    for task in TASKS.values():
        policy = roles[aws.role_arn_name(task["taskRoleArn"])]["policy"]
        actions = {a for s in aws.statements(policy) for a in aws.as_list(s["Action"])}
        needed = {"elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"}
        if task["family"] == "tripline-trips":
            needed |= {"s3:ListBucket", "s3:GetObject"}
        assert actions == needed, task["family"]
        assert efs["Encrypted"] and efs["KmsKeyId"] == KMS_KEY_ARN
    for name, documents in roles.items():
        for statement in aws.statements(documents["policy"]):
            granted = aws.as_list(statement["Action"])
            assert not any(a == "*" or a.endswith(":*") for a in granted), name
            if statement["Resource"] == "*":  # only where AWS allows nothing narrower
                assert set(granted) <= {
                    "ecr:GetAuthorizationToken", "ecs:DescribeTasks", "ecs:StopTask",
                    "logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery",
                    "logs:DeleteLogDelivery", "logs:ListLogDeliveries", "logs:PutResourcePolicy",
                    "logs:DescribeResourcePolicies", "logs:DescribeLogGroups",
                }, name  # fmt: skip
        assert documents["policy"]["Version"] == "2012-10-17"


def test_the_step_functions_role_runs_exactly_the_chained_tasks_and_passes_their_roles() -> None:
    roles = aws.roles()
    (machine_role,) = {aws.load(f"stepfunctions/{name}.json")["roleArn"] for name in MACHINES}
    policy = roles[aws.role_arn_name(machine_role)]["policy"]
    by_sid = {s["Sid"]: s for s in aws.statements(policy)}
    run = {r.rsplit("/", 1)[-1].removesuffix(":*") for r in by_sid["RunBatchTasks"]["Resource"]}
    chained = {_family(s) for s in _ecs_steps()}
    assert run == chained
    passed = set(by_sid["PassTaskRoles"]["Resource"])
    for family in chained:
        task = _task_of(family)
        assert {task["taskRoleArn"], task["executionRoleArn"]} <= passed
    (scheduler_role,) = {s["Target"]["RoleArn"] for s in SCHEDULES}
    starts = aws.statements(roles[aws.role_arn_name(scheduler_role)]["policy"])[0]
    assert sorted(starts["Resource"]) == sorted(s["Target"]["Arn"] for s in SCHEDULES)


def test_secrets_are_full_arns_of_secrets_under_the_customer_managed_key() -> None:
    files = [aws.load(aws.relative(p)) for p in aws.DEPLOY.glob("secrets/*.json")]
    defined = {secret["Name"]: secret for secret in files}
    execution = aws.roles()["tripline-task-execution"]["policy"]
    readable = {
        r for s in aws.statements(execution) if s["Sid"] == "Secrets" for r in s["Resource"]
    }
    used = set()
    for task in TASKS.values():
        for secret in _container(task)["secrets"]:
            match = SECRET_ARN.match(secret["valueFrom"])
            assert match, f"{task['family']}: {secret['valueFrom']} is not a full secret ARN"
            assert match["name"] in defined
            used.add(match["name"])
            base = secret["valueFrom"].split(":")[:7]
            assert ":".join(base) in readable
    assert used == set(defined)
    for secret in defined.values():
        assert secret["KmsKeyId"] == KMS_KEY_ARN and not secret["KmsKeyId"].startswith("alias/aws")
    assert KMS_KEY_ARN.startswith("arn:aws:kms:") and ":key/" in KMS_KEY_ARN


def test_the_msk_scram_secret_has_the_form_msk_requires() -> None:
    follower = _container(TASKS["fleet-events"])
    keys = {}
    for secret in follower["secrets"]:
        match = SECRET_ARN.match(secret["valueFrom"])
        assert match and match["name"].startswith("AmazonMSK_")
        keys[secret["name"]] = match["key"]
    # One secret holding username and password, read by JSON key.
    assert keys == {"KAFKA_SASL_USERNAME": "username", "KAFKA_SASL_PASSWORD": "password"}
    association = aws.load("msk/scram-secret-association.json")
    (associated,) = association["SecretArnList"]
    assert follower["secrets"][0]["valueFrom"].startswith(associated + ":")
    env = _env(TASKS["fleet-events"])
    assert (env["KAFKA_SECURITY_PROTOCOL"], env["KAFKA_SASL_MECHANISM"]) == (
        "SASL_SSL",
        "SCRAM-SHA-512",
    )
    assert env["KAFKA_BOOTSTRAP_SERVERS"].endswith(":9096")  # MSK's SASL/SCRAM port


def test_the_sasl_ssl_ca_bundle_is_where_the_follower_is_told() -> None:
    ca = _env(TASKS["fleet-events"])["KAFKA_SSL_CA_LOCATION"]
    assert ca == "/etc/ssl/certs/ca-certificates.crt"  # Debian's bundle (python:*-bookworm)
    if not Path("/etc/debian_version").exists():
        pytest.skip("the bundle's path is Debian's")
    assert Path(ca).is_file()
    assert Path("/etc/ssl/certs/Amazon_Root_CA_1.pem").exists()  # MSK's broker certificates


def test_the_follower_service_deploys_one_task_at_a_time_with_a_circuit_breaker() -> None:
    config = SERVICE["deploymentConfiguration"]
    assert config["deploymentCircuitBreaker"] == {"enable": True, "rollback": True}
    # The old follower stops before the new one starts: one consumer, one lease holder.
    assert (config["minimumHealthyPercent"], config["maximumPercent"]) == (0, 100)
    assert SERVICE["desiredCount"] == 1
    assert SERVICE["taskDefinition"] == TASKS["fleet-events"]["family"]
    command = _container(TASKS["fleet-events"])["command"]
    assert command == ["pipeline", "run", "fleet_events", "--follow"]
    assert "fleet_events" in registry.pipelines()


# --- the follower's heartbeat ----------------------------------------------------------------


def _health() -> tuple[list[str], int]:
    check = _container(TASKS["fleet-events"])["healthCheck"]
    assert check["command"][:2] == ["CMD", "python"]
    assert 5 <= check["interval"] <= 300 and 2 <= check["timeout"] <= 120
    assert 1 <= check["retries"] <= 10 and 0 <= check["startPeriod"] <= 300
    (max_age,) = re.findall(r"> (\d+)\)", check["command"][-1])
    return [sys.executable, *check["command"][2:]], int(max_age)


def test_the_heartbeat_outlasts_the_followers_lease_wait() -> None:
    _, max_age = _health()
    env = _env(TASKS["fleet-events"])
    assert max_age > int(env["TRIPLINE_LOCK_TIMEOUT"]) + 60
    assert env["TRIPLINE_HEARTBEAT_FILE"].startswith("/tmp/")


@pytest.mark.parametrize(("age", "healthy"), [(5, True), (None, False), ("stale", False)])
def test_the_health_check_reads_the_heartbeat_file(
    tmp_path: Path, age: int | str | None, healthy: bool
) -> None:
    command, max_age = _health()
    beat = tmp_path / "fleet_events.heartbeat"
    if age is not None:
        beat.touch()
        seconds = max_age + 60 if age == "stale" else int(age)
        os.utime(beat, (time.time() - seconds, time.time() - seconds))
    result = subprocess.run(
        command, env={"TRIPLINE_HEARTBEAT_FILE": str(beat)}, capture_output=True, check=False
    )
    assert (result.returncode == 0) is healthy


def test_the_followers_entrypoint_seeds_the_heartbeat_and_runs_tripline(tmp_path: Path) -> None:
    entry = _container(TASKS["fleet-events"])["entryPoint"]
    beat = tmp_path / "tripline" / "fleet_events.heartbeat"
    bin_dir = str(Path(sys.executable).parent)
    result = subprocess.run(
        [*entry, "pipeline", "list"],  # the task's command, here a harmless one
        env={
            "PATH": f"{bin_dir}:/usr/bin:/bin",
            "TRIPLINE_HEARTBEAT_FILE": str(beat),
            "RUNTIME__DLTHUB_TELEMETRY": "false",
        },
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert beat.exists()
    assert "fleet_events" in result.stdout


# --- alarms watch what the pipelines report -----------------------------------------------------


def test_metric_filters_read_fields_the_run_summary_writes() -> None:
    record = RunSummary("trips", "raw_tlc").record()
    for metric_filter in aws.load("observability/metric-filters.json"):
        for field in re.findall(r"\$\.(\w+)", metric_filter["filterPattern"]):
            assert field in record or field == "level", field
        for transformation in metric_filter["metricTransformations"]:
            dimensions = transformation.get("dimensions", {}).values()
            for value in [transformation["metricValue"], *dimensions]:
                if value.startswith("$."):
                    assert value.removeprefix("$.") in record


def test_every_alarm_reports_to_the_topic_and_covers_each_failure_path() -> None:
    topic = aws.load("observability/topic.json")
    alarms = aws.load("observability/alarms.json")
    reports = {
        s["Parameters"]["TopicArn"]
        for m in MACHINES.values()
        for s in m["States"].values()
        if s.get("Resource") == SNS_PUBLISH
    }
    (action,) = _alarm_actions()
    assert reports == {action} and action.endswith(f":{topic['Name']}")
    watched = {(a["Namespace"], a["MetricName"]) for a in alarms}
    assert {
        ("AWS/States", "ExecutionsFailed"),
        ("Tripline", "RowsRejected"),
        ("ECS/ContainerInsights", "RunningTaskCount"),
        ("AWS/SQS", "ApproximateNumberOfMessagesVisible"),
    } <= watched
    pipelines = {d["Value"] for a in alarms for d in a["Dimensions"] if d["Name"] == "Pipeline"}
    assert pipelines <= set(registry.pipelines())
    assert {c["value"] for c in aws.load("ecs/cluster.json")["settings"]} == {"enabled"}
