"""Invariants of template.yaml that cfn-lint and `sam validate --lint` do not check (aws-notes §3.3).

Each test names the production failure it prevents: Lambda refusing the event source mapping, messages
redelivered while still being processed, a FIFO queue losing its ordering, a handler path that does
not exist, a function that reads an unset variable.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import Any

import cfnlint.decode
import pytest
from cfnlint.api import lint_file

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"

# Every variable the code reads from the environment (architecture §3.2 + the lead's list).
REQUIRED_ENV = {
    "CLOUDFLARE_API_BASE_URL",
    "CLOUDFLARE_API_TOKEN_SECRET",
    "ZONES",
    "CHANGESET_QUEUE_URL",
    "FALLBACK_QUEUE_URL",
    "REJECTED_QUEUE_URL",
    "LEDGER_TABLE",
    "BATCH_CHANGE_SIZE",
    "BATCH_CHANGE_INTERVAL",
    "FALLBACK_REQUEST_INTERVAL",
    "OWNER_ID",
    "ADOPT_UNOWNED",
    "DRY_RUN",
    "POWERTOOLS_SERVICE_NAME",
    "POWERTOOLS_METRICS_NAMESPACE",
    "POWERTOOLS_LOG_LEVEL",
    "POWERTOOLS_PARAMETERS_MAX_AGE",
}


def _decode() -> dict[str, Any]:
    body, matches = cfnlint.decode.decode(str(TEMPLATE))
    assert not matches, matches
    assert body is not None
    return dict(body)


TPL = _decode()
RESOURCES: dict[str, Any] = TPL["Resources"]
GLOBALS: dict[str, Any] = TPL.get("Globals", {}).get("Function", {})
FUNCTIONS = {k: v for k, v in RESOURCES.items() if v["Type"] == "AWS::Serverless::Function"}
QUEUES = {k: v for k, v in RESOURCES.items() if v["Type"] == "AWS::SQS::Queue"}


def _setting(function: dict[str, Any], name: str, default: Any = None) -> Any:
    return function["Properties"].get(name, GLOBALS.get(name, default))


def _target(arn_ref: Any) -> str:
    """The logical id behind a ``!GetAtt X.Arn``."""
    getatt = arn_ref["Fn::GetAtt"]
    logical, attribute = getatt.split(".", 1) if isinstance(getatt, str) else getatt
    assert attribute == "Arn", arn_ref
    return str(logical)


def _param_max(value: Any) -> int:
    """A literal, or the largest value a ``!Ref Parameter`` may take (the worst case deploys too)."""
    if isinstance(value, dict) and "Ref" in value:
        spec = TPL["Parameters"][value["Ref"]]
        return int(spec.get("MaxValue", max(spec.get("AllowedValues", [spec.get("Default", 0)]))))
    return int(value)


def _param_min(value: Any) -> int:
    if isinstance(value, dict) and "Ref" in value:
        spec = TPL["Parameters"][value["Ref"]]
        return int(spec.get("MinValue", min(spec.get("AllowedValues", [spec.get("Default", 0)]))))
    return int(value)


def _is_fifo(queue: dict[str, Any]) -> bool:
    return queue["Properties"].get("FifoQueue") is True


def _sqs_events() -> list[tuple[str, str, dict[str, Any]]]:
    """(function, queue logical id, event properties) for every SQS event source."""
    out = []
    for name, function in FUNCTIONS.items():
        for event in function["Properties"].get("Events", {}).values():
            if event["Type"] == "SQS":
                out.append((name, _target(event["Properties"]["Queue"]), event["Properties"]))
    return out


SQS_EVENTS = _sqs_events()
EVENT_IDS = [f"{fn}<-{queue}" for fn, queue, _ in SQS_EVENTS]


def test_every_function_has_an_sqs_event_source() -> None:
    assert (
        {fn for fn, _, _ in SQS_EVENTS}
        == set(FUNCTIONS)
        == {
            "AggregatorFunction",
            "BatcherFunction",
            "FallbackFunction",
        }
    )


@pytest.mark.parametrize(("function", "queue", "event"), SQS_EVENTS, ids=EVENT_IDS)
def test_visibility_timeout_covers_six_function_timeouts_plus_the_window(
    function: str, queue: str, event: dict[str, Any]
) -> None:
    # Lambda refuses a mapping whose queue hides messages for less than the function may run; AWS
    # advises 6x so throttled retries do not redeliver a batch that is still being processed.
    timeout = int(_setting(FUNCTIONS[function], "Timeout", 3))
    window = _param_max(event.get("MaximumBatchingWindowInSeconds", 0))
    visibility = int(QUEUES[queue]["Properties"]["VisibilityTimeout"])
    assert visibility >= 6 * timeout + window


@pytest.mark.parametrize(("function", "queue", "event"), SQS_EVENTS, ids=EVENT_IDS)
def test_batches_over_ten_have_a_batching_window(function: str, queue: str, event: dict[str, Any]) -> None:
    # Lambda refuses BatchSize > 10 without a window of at least 1 s.
    batch = event.get("BatchSize", 10)
    window = event.get("MaximumBatchingWindowInSeconds", 0)
    if _param_max(batch) <= 10 or _param_min(window) >= 1:
        return
    # Both are parameters and the window may be 0: a template Rule must tie them together.
    assert isinstance(window, dict) and isinstance(batch, dict)
    rules = [str(rule) for rule in TPL.get("Rules", {}).values()]
    assert any(window["Ref"] in rule and batch["Ref"] in rule for rule in rules)


@pytest.mark.parametrize(("function", "queue", "event"), SQS_EVENTS, ids=EVENT_IDS)
def test_fifo_sources_have_no_window_and_batches_of_at_most_ten(
    function: str, queue: str, event: dict[str, Any]
) -> None:
    if _is_fifo(QUEUES[queue]):
        assert "MaximumBatchingWindowInSeconds" not in event
        assert _param_max(event.get("BatchSize", 10)) <= 10


@pytest.mark.parametrize(("function", "queue", "event"), SQS_EVENTS, ids=EVENT_IDS)
def test_every_sqs_event_reports_batch_item_failures(
    function: str, queue: str, event: dict[str, Any]
) -> None:
    assert "ReportBatchItemFailures" in event.get("FunctionResponseTypes", [])


@pytest.mark.parametrize(("function", "queue", "event"), SQS_EVENTS, ids=EVENT_IDS)
def test_maximum_concurrency_is_valid_when_set(function: str, queue: str, event: dict[str, Any]) -> None:
    scaling = event.get("ScalingConfig")
    if scaling is not None:
        assert 2 <= int(scaling["MaximumConcurrency"]) <= 1000
    if _is_fifo(QUEUES[queue]):
        # the Cloudflare rate budget in the template comments assumes these are capped
        assert scaling is not None and int(scaling["MaximumConcurrency"]) == 2


@pytest.mark.parametrize(("function", "queue", "event"), SQS_EVENTS, ids=EVENT_IDS)
def test_source_queues_redrive_to_a_dlq_of_the_same_kind_after_five_receives(
    function: str, queue: str, event: dict[str, Any]
) -> None:
    redrive = QUEUES[queue]["Properties"]["RedrivePolicy"]
    dlq = QUEUES[_target(redrive["deadLetterTargetArn"])]
    assert int(redrive["maxReceiveCount"]) >= 5
    assert _is_fifo(dlq) == _is_fifo(QUEUES[queue])
    assert int(dlq["Properties"]["MessageRetentionPeriod"]) == 1_209_600


@pytest.mark.parametrize("queue", sorted(QUEUES))
def test_fifo_queues_are_named_fifo_and_standard_ones_are_not(queue: str) -> None:
    name = QUEUES[queue]["Properties"]["QueueName"]["Fn::Sub"]
    assert name.startswith("${AWS::StackName}-")
    assert name.endswith(".fifo") == _is_fifo(QUEUES[queue])


@pytest.mark.parametrize("queue", sorted(QUEUES))
def test_queues_are_encrypted_at_rest(queue: str) -> None:
    assert QUEUES[queue]["Properties"].get("SqsManagedSseEnabled") is True


def test_changeset_queue_leaves_deduplication_to_the_aggregator() -> None:
    props = QUEUES["ChangeSetQueue"]["Properties"]
    assert props["FifoQueue"] is True and props["ContentBasedDeduplication"] is False


def test_rejected_queue_keeps_messages_fourteen_days() -> None:
    props = QUEUES["RejectedQueue"]["Properties"]
    assert "FifoQueue" not in props and int(props["MessageRetentionPeriod"]) == 1_209_600


def test_ledger_table_keys_ttl_and_encryption() -> None:
    props = RESOURCES["LedgerTable"]["Properties"]
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}]
    assert props["AttributeDefinitions"] == [{"AttributeName": "pk", "AttributeType": "S"}]
    assert props["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert props["SSESpecification"]["SSEEnabled"] is True


@pytest.mark.parametrize("function", sorted(FUNCTIONS))
def test_handler_path_exists_with_a_handler(function: str) -> None:
    props = FUNCTIONS[function]["Properties"]
    module, _, attribute = props["Handler"].rpartition(".")
    path = ROOT / props["CodeUri"] / f"{module.replace('.', '/')}.py"
    assert path.is_file(), f"{function}: {path.relative_to(ROOT)} does not exist"
    tree = ast.parse(path.read_text(), filename=str(path))
    names = {node.name for node in tree.body if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)} | {
        target.id
        for node in tree.body
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    assert attribute in names, f"{path.relative_to(ROOT)} defines no top-level {attribute}"


@pytest.mark.parametrize("function", sorted(FUNCTIONS))
def test_functions_run_python313_on_arm64_with_the_shared_layer(function: str) -> None:
    fn = FUNCTIONS[function]
    assert _setting(fn, "Runtime") == "python3.13"
    assert _setting(fn, "Architectures") == ["arm64"]
    assert {"Ref": "DnsbatchLayer"} in _setting(fn, "Layers", [])


def test_layer_is_built_for_python313_arm64() -> None:
    layer = RESOURCES["DnsbatchLayer"]
    assert layer["Metadata"] == {"BuildMethod": "python3.13", "BuildArchitecture": "arm64"}
    assert layer["Properties"]["ContentUri"] == "layers/dnsbatch/"
    assert layer["Properties"]["CompatibleRuntimes"] == ["python3.13"]
    assert layer["Properties"]["CompatibleArchitectures"] == ["arm64"]


def _strings(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [s for k, v in node.items() for s in [str(k), *_strings(v)]]
    if isinstance(node, list):
        return [s for v in node for s in _strings(v)]
    return [str(node)]


@pytest.mark.parametrize("function", sorted(FUNCTIONS))
def test_policies_are_sam_templates_without_wildcards(function: str) -> None:
    policies = FUNCTIONS[function]["Properties"]["Policies"]
    allowed = {
        "SQSPollerPolicy",
        "SQSSendMessagePolicy",
        "DynamoDBCrudPolicy",
        "AWSSecretsManagerGetSecretValuePolicy",
    }
    for policy in policies:
        assert isinstance(policy, dict) and len(policy) == 1 and set(policy) <= allowed, policy
    assert not [s for s in _strings(policies) if "*" in s]


def test_only_the_cloudflare_callers_may_read_the_token() -> None:
    readers = {
        name
        for name, fn in FUNCTIONS.items()
        if any("AWSSecretsManagerGetSecretValuePolicy" in p for p in fn["Properties"]["Policies"])
    }
    assert readers == {"BatcherFunction", "FallbackFunction"}


# Variables the code reads that a deployment may leave unset: a local-only token, and knobs with defaults.
OPTIONAL_ENV = {"CLOUDFLARE_API_TOKEN", "LEDGER_TTL_DAYS", "CLOUDFLARE_REQUEST_TIMEOUT"}


def test_the_required_list_covers_every_variable_config_reads() -> None:
    # Read the names straight from the code, so a new variable cannot be added without deciding here
    # whether the template must set it.
    source = (ROOT / "layers/dnsbatch/dnsbatch/config.py").read_text()
    read = set(re.findall(r'env(?:\.get\(|, )"([A-Z][A-Z0-9_]+)"', source))
    assert len(read) >= 13
    assert read - OPTIONAL_ENV <= REQUIRED_ENV, (read - OPTIONAL_ENV) - REQUIRED_ENV


@pytest.mark.parametrize("function", sorted(FUNCTIONS))
def test_every_environment_variable_the_code_reads_is_set(function: str) -> None:
    env = {
        **GLOBALS.get("Environment", {}).get("Variables", {}),
        **FUNCTIONS[function]["Properties"].get("Environment", {}).get("Variables", {}),
    }
    assert set(env) >= REQUIRED_ENV, REQUIRED_ENV - set(env)
    assert env["POWERTOOLS_SERVICE_NAME"] == function.removesuffix("Function").lower()
    assert (
        env["POWERTOOLS_LOG_LEVEL"]
        == FUNCTIONS[function]["Properties"]["LoggingConfig"]["ApplicationLogLevel"]
    )


@pytest.mark.parametrize("function", sorted(FUNCTIONS))
def test_functions_log_json_to_a_log_group_with_retention(function: str) -> None:
    config = FUNCTIONS[function]["Properties"]["LoggingConfig"]
    assert config["LogFormat"] == "JSON"
    group = RESOURCES[config["LogGroup"]["Ref"]]
    assert group["Type"] == "AWS::Logs::LogGroup"
    assert "RetentionInDays" in group["Properties"]


def test_every_dlq_and_the_rejected_queue_have_a_depth_alarm() -> None:
    watched = {
        r["Properties"]["Dimensions"][0]["Value"]["Fn::GetAtt"][0]
        for r in RESOURCES.values()
        if r["Type"] == "AWS::CloudWatch::Alarm"
        and r["Properties"]["MetricName"] == "ApproximateNumberOfMessagesVisible"
    }
    dlqs = {
        _target(q["Properties"]["RedrivePolicy"]["deadLetterTargetArn"])
        for q in QUEUES.values()
        if "RedrivePolicy" in q["Properties"]
    }
    assert watched == dlqs | {"RejectedQueue"}


def test_outputs_give_producers_and_operators_what_they_need() -> None:
    assert {
        "IngestQueueUrl",
        "IngestQueueArn",
        "RejectedQueueUrl",
        "IngestDeadLetterQueueUrl",
        "ChangeSetDeadLetterQueueUrl",
        "FallbackDeadLetterQueueUrl",
        "LedgerTableName",
    } <= set(TPL["Outputs"])


def test_layer_requirements_are_all_pinned() -> None:
    lines = (ROOT / "layers/dnsbatch/requirements.txt").read_text().splitlines()
    requirements = [line.split("#", 1)[0].strip() for line in lines]
    requirements = [r for r in requirements if r]
    assert requirements, "the layer has no requirements"
    assert [r for r in requirements if "==" not in r] == []


def test_cfn_lint_reports_no_errors_or_warnings() -> None:
    matches = lint_file(TEMPLATE)
    assert [str(m) for m in matches if m.rule.id[0] in "EW"] == []


def test_dashboard_body_is_json_once_substituted() -> None:
    body = RESOURCES["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    widgets = json.loads(re.sub(r"\$\{[^}]*\}", "x", body))["widgets"]
    assert {w["type"] for w in widgets} == {"metric", "log"}
