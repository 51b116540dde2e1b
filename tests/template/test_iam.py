"""Least privilege, checked on the template as CloudFormation receives it: template.yaml transformed by the
SAM translator the SAM CLI uses (the same pinned version), so that whatever SAM adds on its own (a generated
role, the managed AWSLambdaSQSQueueExecutionRole it attaches for SQS event sources) is seen too.

Every statement of every IAM role and policy in the output must match PERMISSIONS below, exactly: nothing
missing (a code path would fail with AccessDenied in production only) and nothing more.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import boto3
import pytest
from samtranslator.parser.parser import Parser
from samtranslator.translator.translator import Translator

from devstack.stack.template import load_template

ROOT = Path(__file__).resolve().parents[2]

# What each function needs, and nothing else: function -> {(action, resource)}. A resource is a logical id
# of the template (its ARN), or TOKEN_SECRET (the secret named by CloudflareTokenSecretName).
TOKEN_SECRET = "<CloudflareTokenSecretName>"
PERMISSIONS: dict[str, set[tuple[str, str]]] = {
    "AggregatorFunction": {
        # Lambda's event source mapping polls IngestQueue with the function's role: it receives,
        ("sqs:ReceiveMessage", "IngestQueue"),
        # deletes what the handler did not report as failed (ReportBatchItemFailures),
        ("sqs:DeleteMessage", "IngestQueue"),
        # reads the queue's attributes when the mapping is created and while it polls,
        ("sqs:GetQueueAttributes", "IngestQueue"),
        # and changes the visibility of messages it returns to the queue.
        ("sqs:ChangeMessageVisibility", "IngestQueue"),
        # aggregator: one change set per zone per window (SendMessage also authorizes SendMessageBatch)
        ("sqs:SendMessage", "ChangeSetQueue"),
        # aggregator: invalid events and events for zones outside the allowlist
        ("sqs:SendMessage", "RejectedQueue"),
        # ledger: the conditional claim of a version (PutItem), and the entry it collided with when DynamoDB
        # did not return it (GetItem); the aggregator never moves an entry's status, so no UpdateItem
        ("dynamodb:GetItem", "LedgerTable"),
        ("dynamodb:PutItem", "LedgerTable"),
        # Lambda writes the function's logs to the log group the template declares (LoggingConfig)
        ("logs:CreateLogStream", "AggregatorLogGroup"),
        ("logs:PutLogEvents", "AggregatorLogGroup"),
    },
    "BatcherFunction": {
        # event source mapping on ChangeSetQueue (receive, delete, attributes, visibility)
        ("sqs:ReceiveMessage", "ChangeSetQueue"),
        ("sqs:DeleteMessage", "ChangeSetQueue"),
        ("sqs:GetQueueAttributes", "ChangeSetQueue"),
        ("sqs:ChangeMessageVisibility", "ChangeSetQueue"),
        # batcher: re-queues the untried part of a change set when the invocation's time runs short
        ("sqs:SendMessage", "ChangeSetQueue"),
        # batcher: a name Cloudflare still refuses after bisection goes to the fallback, one message per name
        ("sqs:SendMessage", "FallbackQueue"),
        # batcher: record sets that can never succeed as planned (ownership, plan limits)
        ("sqs:SendMessage", "RejectedQueue"),
        # ledger: skip what a duplicate delivery already finished (one item, or many at once)
        ("dynamodb:GetItem", "LedgerTable"),
        ("dynamodb:BatchGetItem", "LedgerTable"),
        # ledger: record outcomes (applied / unchanged / failed / held) against the claimed version; the
        # batcher never creates an entry (only the aggregator's claim does), so no PutItem
        ("dynamodb:UpdateItem", "LedgerTable"),
        # runtime: the Cloudflare token (cached 300 s, re-read after an authentication error)
        ("secretsmanager:GetSecretValue", TOKEN_SECRET),
        ("logs:CreateLogStream", "BatcherLogGroup"),
        ("logs:PutLogEvents", "BatcherLogGroup"),
    },
    "FallbackFunction": {
        # event source mapping on FallbackQueue (receive, delete, attributes, visibility)
        ("sqs:ReceiveMessage", "FallbackQueue"),
        ("sqs:DeleteMessage", "FallbackQueue"),
        ("sqs:GetQueueAttributes", "FallbackQueue"),
        ("sqs:ChangeMessageVisibility", "FallbackQueue"),
        # fallback: the record set Cloudflare refused, with its code and message
        ("sqs:SendMessage", "RejectedQueue"),
        # ledger: duplicate-delivery checks, and outcomes per record set
        ("dynamodb:GetItem", "LedgerTable"),
        ("dynamodb:BatchGetItem", "LedgerTable"),
        ("dynamodb:UpdateItem", "LedgerTable"),
        # runtime: the Cloudflare token
        ("secretsmanager:GetSecretValue", TOKEN_SECRET),
        ("logs:CreateLogStream", "FallbackLogGroup"),
        ("logs:PutLogEvents", "FallbackLogGroup"),
    },
}

# The secret's ARN: the parameter itself when it is an ARN; for a name, the ARN with Secrets Manager's
# "-" + 6 random characters suffix (matched by "??????", not "*", which would also match longer names).
SECRET_RESOURCE = {
    "Fn::If": [
        "TokenSecretIsArn",
        {"Ref": "CloudflareTokenSecretName"},
        {
            "Fn::Sub": "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:"
            "${CloudflareTokenSecretName}-??????"
        },
    ]
}


def _transformed() -> dict[str, Any]:
    body = load_template(ROOT / "template.yaml").body
    # What `sam deploy` does before CloudFormation sees the template: local code folders become S3 objects.
    for resource in body["Resources"].values():
        for key in ("CodeUri", "ContentUri"):
            if key in resource.get("Properties", {}):
                resource["Properties"][key] = f"s3://dnsbatch-artifacts/{resource['Properties'][key]}"
    translator = Translator(
        managed_policy_map=None,
        sam_parser=Parser(),
        plugins=[],
        boto_session=boto3.session.Session(region_name="us-east-1"),
    )
    return dict(
        translator.translate(
            sam_template=body,
            parameter_values={"Zones": "example.com"},
            get_managed_policy_map=dict,
        )
    )


CFN = _transformed()
RESOURCES: dict[str, Any] = CFN["Resources"]
ROLES = {k: v for k, v in RESOURCES.items() if v["Type"] == "AWS::IAM::Role"}
LAMBDAS = {k: v for k, v in RESOURCES.items() if v["Type"] == "AWS::Lambda::Function"}


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _resource_name(resource: Any) -> str:
    """The logical id an ARN refers to, TOKEN_SECRET, or the resource itself as text (which fails)."""
    if resource == SECRET_RESOURCE:
        return TOKEN_SECRET
    if isinstance(resource, dict) and list(resource) == ["Fn::GetAtt"]:
        logical, attribute = resource["Fn::GetAtt"]
        if attribute == "Arn" and logical in RESOURCES:
            return str(logical)
    return repr(resource)


def _role_of(function: str) -> str:
    role = LAMBDAS[function]["Properties"]["Role"]
    assert isinstance(role, dict) and list(role) == ["Fn::GetAtt"], role
    logical, attribute = role["Fn::GetAtt"]
    assert attribute == "Arn" and logical in ROLES, role
    return str(logical)


def _statements(role: str) -> list[dict[str, Any]]:
    """Every statement that applies to the role: its inline policies and any policy resource attached."""
    props = ROLES[role]["Properties"]
    documents = [p["PolicyDocument"] for p in props.get("Policies", [])]
    for resource in RESOURCES.values():
        policy_types = {"AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"}
        if resource["Type"] in policy_types and {"Ref": role} in resource["Properties"].get("Roles", []):
            documents.append(resource["Properties"]["PolicyDocument"])
    return [s for d in documents for s in _as_list(d["Statement"])]


def _granted(role: str) -> set[tuple[str, str]]:
    granted = set()
    for statement in _statements(role):
        assert statement["Effect"] == "Allow", statement
        assert set(statement) <= {"Sid", "Effect", "Action", "Resource"}, statement  # no NotAction, Condition
        for action, resource in itertools.product(
            _as_list(statement["Action"]), _as_list(statement["Resource"])
        ):
            granted.add((str(action), _resource_name(resource)))
    return granted


def test_the_list_covers_exactly_the_templates_functions() -> None:
    assert set(LAMBDAS) == set(PERMISSIONS)


@pytest.mark.parametrize("function", sorted(PERMISSIONS))
def test_each_function_has_a_role_of_its_own(function: str) -> None:
    roles = [_role_of(f) for f in sorted(PERMISSIONS)]
    assert len(set(roles)) == len(roles)
    assert len(ROLES) == len(PERMISSIONS), f"a role nobody uses, or one SAM generated: {sorted(ROLES)}"
    trust = ROLES[_role_of(function)]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust == [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ]


@pytest.mark.parametrize("function", sorted(PERMISSIONS))
def test_no_managed_policy_or_boundary_widens_the_role(function: str) -> None:
    # SAM attaches AWSLambdaSQSQueueExecutionRole (receive and delete on "*") to roles it generates.
    props = ROLES[_role_of(function)]["Properties"]
    assert props.get("ManagedPolicyArns", []) == []
    assert "PermissionsBoundary" not in props


@pytest.mark.parametrize("function", sorted(PERMISSIONS))
def test_every_statement_of_the_role_is_on_the_list(function: str) -> None:
    granted = _granted(_role_of(function))
    assert granted - PERMISSIONS[function] == set(), "more than the function needs"
    assert PERMISSIONS[function] - granted == set(), "a code path would be denied"


def test_no_statement_allows_every_resource() -> None:
    resources = [
        json_text
        for role in ROLES
        for statement in _statements(role)
        for json_text in map(repr, _as_list(statement["Resource"]))
    ]
    assert resources and not [r for r in resources if r == "'*'" or r.endswith(":*'")]


def test_each_function_is_fed_only_by_its_own_queue() -> None:
    sources = {
        r["Properties"]["FunctionName"]["Ref"]: r["Properties"]["EventSourceArn"]["Fn::GetAtt"][0]
        for r in RESOURCES.values()
        if r["Type"] == "AWS::Lambda::EventSourceMapping"
    }
    assert sources == {
        "AggregatorFunction": "IngestQueue",
        "BatcherFunction": "ChangeSetQueue",
        "FallbackFunction": "FallbackQueue",
    }
    for function, queue in sources.items():
        receivers = {q for a, q in PERMISSIONS[function] if a == "sqs:ReceiveMessage"}
        assert receivers == {queue}


def test_only_the_cloudflare_callers_may_read_the_token() -> None:
    readers = {f for f, grants in PERMISSIONS.items() if any(r == TOKEN_SECRET for _, r in grants)}
    assert readers == {"BatcherFunction", "FallbackFunction"}
    assert not any(a.startswith("secretsmanager:") for a, _ in _granted(_role_of("AggregatorFunction")))


def test_the_checks_above_would_see_an_extra_grant() -> None:
    # GIVEN a statement granting one more action than the list, THEN _granted reports it
    role = _role_of("AggregatorFunction")
    policy = ROLES[role]["Properties"]["Policies"][0]["PolicyDocument"]
    extra = {"Effect": "Allow", "Action": "dynamodb:Scan", "Resource": {"Fn::GetAtt": ["LedgerTable", "Arn"]}}
    policy["Statement"].append(extra)
    try:
        assert _granted(role) - PERMISSIONS["AggregatorFunction"] == {("dynamodb:Scan", "LedgerTable")}
    finally:
        policy["Statement"].remove(extra)
