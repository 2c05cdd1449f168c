"""The files in ``deploy/`` as the AWS API requests they are, for offline validation.

Each file is the input of one AWS API call (``aws <service> <operation> --cli-input-json
file://…``) or a list of such inputs. A few carry a document the API takes as a string: a
state machine's definition (``*.asl.json`` beside it), an IAM role's trust and permission
policies (``iam/roles.json`` names them), the KMS key policy. :func:`requests` assembles the
full requests; botocore's service models (the ones the AWS CLI and SDK use) validate them.
"""

from __future__ import annotations

import fnmatch
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import botocore.session
from botocore.model import OperationModel, Shape
from botocore.validate import ParamValidator

from tests.helpers import REPO

DEPLOY = REPO / "deploy"

# Which API each file feeds, first match wins. A file that matches none is an error.
APIS: list[tuple[str, str, str]] = [
    ("ecs/cluster.json", "ecs", "CreateCluster"),
    ("ecs/task-*.json", "ecs", "RegisterTaskDefinition"),
    ("ecs/service-*.json", "ecs", "CreateService"),
    ("stepfunctions/*.asl.json", "stepfunctions", "definition"),
    ("stepfunctions/*.json", "stepfunctions", "CreateStateMachine"),
    ("scheduler/group.json", "scheduler", "CreateScheduleGroup"),
    ("scheduler/*.json", "scheduler", "CreateSchedule"),
    ("iam/roles.json", "iam", "CreateRole"),
    ("iam/*.json", "iam", "policy"),
    ("kms/key.json", "kms", "CreateKey"),
    ("kms/key-policy.json", "kms", "policy"),
    ("secrets/*.json", "secretsmanager", "CreateSecret"),
    ("msk/scram-secret-association.json", "kafka", "BatchAssociateScramSecret"),
    ("efs/file-system.json", "efs", "CreateFileSystem"),
    ("efs/mount-targets.json", "efs", "CreateMountTarget"),
    ("efs/access-point-*.json", "efs", "CreateAccessPoint"),
    ("ecr/repository.json", "ecr", "CreateRepository"),
    ("observability/topic.json", "sns", "CreateTopic"),
    ("observability/scheduler-dlq.json", "sqs", "CreateQueue"),
    ("observability/log-groups.json", "logs", "CreateLogGroup"),
    ("observability/metric-filters.json", "logs", "PutMetricFilter"),
    ("observability/alarms.json", "cloudwatch", "PutMetricAlarm"),
    ("network/vpc-endpoints.json", "ec2", "CreateVpcEndpoint"),
]
# Documents embedded in another request rather than sent on their own.
EMBEDDED = {"definition", "policy"}


@dataclass(frozen=True)
class Request:
    """One API call: where it comes from, which operation, and its parameters."""

    source: str
    service: str
    operation: str
    params: dict[str, Any]

    @property
    def label(self) -> str:
        return f"{self.source}: {self.service}.{self.operation}"


def relative(path: Path) -> str:
    return path.relative_to(DEPLOY).as_posix()


def deploy_files() -> list[Path]:
    return sorted(p for p in DEPLOY.rglob("*") if p.is_file() and p.suffix == ".json")


def api_of(path: Path) -> tuple[str, str] | None:
    rel = relative(path)
    for pattern, service, operation in APIS:
        if fnmatch.fnmatchcase(rel, pattern):
            return service, operation
    return None


def load(rel: str) -> Any:
    return json.loads((DEPLOY / rel).read_text())


def text(rel: str) -> str:
    return (DEPLOY / rel).read_text()


def requests() -> list[Request]:
    """Every API request the files in deploy/ make, embedded documents filled in."""
    found: list[Request] = []
    for path in deploy_files():
        api = api_of(path)
        if api is None or api[1] in EMBEDDED:
            continue
        service, operation = api
        rel = relative(path)
        items = load(rel)
        for item in items if isinstance(items, list) else [items]:
            found.extend(_expand(rel, service, operation, item))
    return found


def _expand(rel: str, service: str, operation: str, item: dict[str, Any]) -> list[Request]:
    if operation == "CreateStateMachine":
        definition = text(rel.removesuffix(".json") + ".asl.json")
        return [Request(rel, service, operation, {**item, "definition": definition})]
    if operation == "CreateKey":
        return [Request(rel, service, operation, {**item, "Policy": text("kms/key-policy.json")})]
    if operation == "CreateRole":
        name = item["RoleName"]
        return [
            Request(
                rel,
                "iam",
                "CreateRole",
                {
                    "RoleName": name,
                    "Description": item["Description"],
                    "AssumeRolePolicyDocument": text(item["trust"]),
                },
            ),
            Request(
                rel,
                "iam",
                "PutRolePolicy",
                {"RoleName": name, "PolicyName": name, "PolicyDocument": text(item["policy"])},
            ),
        ]
    return [Request(rel, service, operation, item)]


@cache
def operation_model(service: str, operation: str) -> OperationModel:
    return botocore.session.get_session().get_service_model(service).operation_model(operation)


def problems(params: dict[str, Any], shape: Shape) -> str:
    """botocore's report of what the shape does not accept ('' when valid)."""
    report = ParamValidator().validate(params, shape)
    return str(report.generate_report()) if report.has_errors() else ""


def roles() -> dict[str, dict[str, Any]]:
    """Role name -> {trust, policy} documents, from iam/roles.json."""
    return {
        item["RoleName"]: {"trust": load(item["trust"]), "policy": load(item["policy"])}
        for item in load("iam/roles.json")
    }


def role_arn_name(arn: str) -> str:
    return arn.rsplit("/", 1)[-1]


def statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    found = document["Statement"]
    return found if isinstance(found, list) else [found]


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]
