"""Invariants of template.yaml that cfn-lint and `sam validate --lint` do not check
(docs/architecture.md#what-lint-does-not-catch),
and properties the code that runs against its resources depends on.

Each test names the production failure it prevents: Lambda refusing the event source mapping, messages
redelivered while still being processed, a FIFO queue losing its ordering, a handler path that does
not exist, a function that reads an unset variable.
"""

from __future__ import annotations

import ast
import json
import re
import shlex
import time
import tomllib
from pathlib import Path
from typing import Any

import cfnlint.decode
import pytest
from cfnlint.api import lint_file
from packaging.specifiers import SpecifierSet

from dnsbatch import queues
from dnsbatch.config import parse_zones
from dnsbatch.ledger import Ledger
from dnsbatch.model import Action, Change, EventRef, RecordSetKey, RecordValue

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"

# Every variable the code reads from the environment (docs/architecture.md#configuration).
REQUIRED_ENV = {
    "ZONE_READ_INTERVAL",
    "MASS_CHANGE_THRESHOLD",
    "MASS_CHANGE_MIN_RECORDS",
    "RETRY_BACKOFF_BASE",
    "RETRY_BACKOFF_CAP",
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
        assert (
            2
            <= _param_min(scaling["MaximumConcurrency"])
            <= _param_max(scaling["MaximumConcurrency"])
            <= 1000
        )
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
def test_functions_run_with_an_explicit_role_not_sam_policies(function: str) -> None:
    # SAM policy templates come with a generated role to which SAM also attaches the managed
    # AWSLambdaSQSQueueExecutionRole ("*"); tests/template/test_iam.py checks what the roles grant.
    props = FUNCTIONS[function]["Properties"]
    assert "Policies" not in props
    logical, attribute = props["Role"]["Fn::GetAtt"]
    assert attribute == "Arn" and RESOURCES[logical]["Type"] == "AWS::IAM::Role"


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


ALARMS = {k: v for k, v in RESOURCES.items() if v["Type"] == "AWS::CloudWatch::Alarm"}
RUNBOOK = (ROOT / "docs/runbook.md").read_text()
SOURCE_QUEUES = {queue for _, queue, _ in SQS_EVENTS}
DLQS = {
    _target(q["Properties"]["RedrivePolicy"]["deadLetterTargetArn"])
    for q in QUEUES.values()
    if "RedrivePolicy" in q["Properties"]
}


def _queue_alarms(metric: str) -> dict[str, dict[str, Any]]:
    """Queue logical id -> the alarm watching ``metric`` of it."""
    return {
        r["Properties"]["Dimensions"][0]["Value"]["Fn::GetAtt"][0]: r["Properties"]
        for r in ALARMS.values()
        if r["Properties"].get("Namespace") == "AWS/SQS" and r["Properties"]["MetricName"] == metric
    }


def _anchors(markdown: str) -> set[str]:
    """GitHub's anchors for the headings of a Markdown text."""
    headings = re.findall(r"^#{1,6} +(.+?) *$", markdown, flags=re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", h.lower()).replace(" ", "-") for h in headings}


def test_every_dlq_has_a_depth_alarm_that_stays_in_alarm_while_it_holds_messages() -> None:
    alarms = _queue_alarms("ApproximateNumberOfMessagesVisible")
    assert set(alarms) == DLQS
    for props in alarms.values():
        # SQS stops reporting a queue nobody touches: missing data must not turn a full DLQ's alarm OK
        assert props["TreatMissingData"] in {"ignore", "missing", "breaching"}
        assert (props["ComparisonOperator"], props["Threshold"]) == ("GreaterThanThreshold", 0)


def test_rejections_are_counted_as_they_arrive_and_before_they_expire() -> None:
    # Nothing consumes RejectedQueue: a depth alarm would stay in ALARM and never notify again
    sent = _queue_alarms("NumberOfMessagesSent")
    assert set(sent) == {"RejectedQueue"} and sent["RejectedQueue"]["Statistic"] == "Sum"
    expiry = _queue_alarms("ApproximateAgeOfOldestMessage")["RejectedQueue"]
    assert int(expiry["Threshold"]) < int(QUEUES["RejectedQueue"]["Properties"]["MessageRetentionPeriod"])


def test_every_source_queue_has_an_age_alarm_above_one_failed_delivery() -> None:
    ages = _queue_alarms("ApproximateAgeOfOldestMessage")
    assert set(ages) >= SOURCE_QUEUES
    for queue in SOURCE_QUEUES:
        # below the visibility timeout the alarm would fire on a healthy first delivery; far above it,
        # only the DLQ would tell
        visibility = int(QUEUES[queue]["Properties"]["VisibilityTimeout"])
        assert visibility <= int(ages[queue]["Threshold"]) <= 5 * visibility


def test_every_function_has_an_errors_and_a_throttles_alarm() -> None:
    watched = {
        (r["Properties"]["MetricName"], r["Properties"]["Dimensions"][0]["Value"]["Ref"])
        for r in ALARMS.values()
        if r["Properties"].get("Namespace") == "AWS/Lambda"
    }
    assert watched == {(m, f) for m in ("Errors", "Throttles") for f in FUNCTIONS}


def test_cloudflare_auth_failures_and_sustained_rate_limiting_alarm() -> None:
    filters = [r["Properties"] for r in RESOURCES.values() if r["Type"] == "AWS::Logs::MetricFilter"]
    # the client logs an AuthenticationError with error_kind (dnsbatch/cloudflare/client.py)
    assert {f["LogGroupName"]["Ref"] for f in filters} == {"BatcherLogGroup", "FallbackLogGroup"}
    assert all('$.error_kind = "AuthenticationError"' in f["FilterPattern"] for f in filters)
    metric = {(t["MetricNamespace"], t["MetricName"]) for f in filters for t in f["MetricTransformations"]}
    auth = ALARMS["CloudflareAuthFailureAlarm"]["Properties"]
    assert metric == {(auth["Namespace"], auth["MetricName"])}
    rate = ALARMS["CloudflareRateLimitAlarm"]["Properties"]
    stats = [m["MetricStat"]["Metric"] for m in rate["Metrics"] if "MetricStat" in m]
    assert {(m["MetricName"], m["Dimensions"][0]["Value"]) for m in stats} == {
        ("CloudflareRateLimited", "batcher"),
        ("CloudflareRateLimited", "fallback"),
    }
    assert rate["EvaluationPeriods"] == rate["DatapointsToAlarm"] >= 3  # sustained, not one 429


@pytest.mark.parametrize("alarm", sorted(ALARMS))
def test_every_alarm_notifies_on_alarm_and_ok(alarm: str) -> None:
    props = ALARMS[alarm]["Properties"]
    topic = {"Fn::If": ["HasAlarmTopic", {"Ref": "AlarmTopicArn"}, {"Ref": "AlarmTopic"}]}
    assert props["AlarmActions"] == [topic]
    assert props["OKActions"] == [topic]


@pytest.mark.parametrize("alarm", sorted(ALARMS))
def test_every_alarm_links_to_its_runbook_section(alarm: str) -> None:
    description = ALARMS[alarm]["Properties"]["AlarmDescription"]["Fn::Sub"]
    assert description.endswith(f"Runbook: ${{RunbookUrl}}#{alarm.lower()}")
    assert len(description) <= 1024
    assert alarm.lower() in _anchors(RUNBOOK), f"docs/runbook.md has no section {alarm}"


def test_the_runbook_has_no_section_for_an_alarm_that_does_not_exist() -> None:
    sections = set(re.findall(r"^## +(\w+Alarm) *$", RUNBOOK, flags=re.MULTILINE))
    assert sections == set(ALARMS)


def test_the_stack_creates_an_alarm_topic_only_when_none_is_given() -> None:
    topic = RESOURCES["AlarmTopic"]
    assert topic["Type"] == "AWS::SNS::Topic" and topic["Condition"] == "CreateAlarmTopic"
    assert TPL["Conditions"]["CreateAlarmTopic"] == {"Fn::Equals": [{"Ref": "AlarmTopicArn"}, ""]}
    subscription = RESOURCES["AlarmEmailSubscription"]
    assert subscription["Properties"]["TopicArn"] == {"Ref": "AlarmTopic"}


def test_ingest_queue_policy_names_its_producers_and_requires_tls() -> None:
    (policy,) = [r["Properties"] for r in RESOURCES.values() if r["Type"] == "AWS::SQS::QueuePolicy"]
    assert policy["Queues"] == [{"Ref": "IngestQueue"}]
    statements = {s["Sid"]: s for s in policy["PolicyDocument"]["Statement"]}
    allow, deny, tls = statements["ProducersMaySend"], statements["NobodyElseMaySend"], statements["TlsOnly"]
    assert (allow["Effect"], allow["Action"]) == ("Allow", "sqs:SendMessage")
    assert "ProducerPrincipals" in str(allow["Principal"])
    assert (deny["Effect"], deny["Principal"], deny["Action"]) == ("Deny", "*", "sqs:SendMessage")
    # denied only when both miss: keys of one condition operator are ANDed
    assert set(deny["Condition"]) == {"StringNotEquals"}
    assert set(deny["Condition"]["StringNotEquals"]) == {"aws:PrincipalAccount", "aws:PrincipalArn"}
    for values in deny["Condition"]["StringNotEquals"].values():
        assert values["Fn::If"][:2] == ["HasProducerPrincipals", {"Ref": "ProducerPrincipals"}]
    assert (tls["Effect"], tls["Principal"], tls["Action"]) == ("Deny", "*", "sqs:*")
    assert tls["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    for statement in statements.values():
        assert statement["Resource"] == {"Fn::GetAtt": ["IngestQueue", "Arn"]}


@pytest.mark.parametrize(
    "zones",
    [
        "example.com",
        "x",
        "example.com,shop.example=023e105f4ecef8ad9ca31a8372d0c353",
        "a.example, b.example.",
        "xn--bcher-kva.example,_acme.example",
    ],
)
def test_the_zones_pattern_accepts_what_the_code_accepts(zones: str) -> None:
    assert re.fullmatch(TPL["Parameters"]["Zones"]["AllowedPattern"], zones)
    assert parse_zones(zones)


@pytest.mark.parametrize(
    "zones",
    ["", "example.com=abc", "example.com;other.example", "exa mple.com", "example.com,", "bücher.example"],
)
def test_the_zones_pattern_refuses_a_list_that_would_fail_the_cold_start(zones: str) -> None:
    assert not re.fullmatch(TPL["Parameters"]["Zones"]["AllowedPattern"], zones)


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
    assert {w["type"] for w in widgets} == {"alarm", "metric", "log"}


def test_dashboard_shows_every_alarm_and_the_queues_age() -> None:
    body = RESOURCES["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    assert set(re.findall(r"\$\{(\w+)\.Arn\}", body)) == set(ALARMS)
    assert "ApproximateAgeOfOldestMessage" in body
    for metric in ("EventsReceived", "ChangeSetMessages", "CloudflareErrors", "CloudflareAuthFailures"):
        assert metric in body


def _stage_secrets() -> dict[str, str]:
    """samconfig.toml environment -> the token secret its deploy reads."""
    config = tomllib.loads((ROOT / "samconfig.toml").read_text())
    secrets = {}
    for env, sections in config.items():
        if not isinstance(sections, dict) or "deploy" not in sections:
            continue
        overrides = dict(
            item.split("=", 1)
            for item in shlex.split(sections["deploy"]["parameters"]["parameter_overrides"])
        )
        default = TPL["Parameters"]["CloudflareTokenSecretName"]["Default"]
        secrets[env] = overrides.get("CloudflareTokenSecretName", default)
    return secrets


def test_the_readme_deploy_steps_create_exactly_the_secrets_each_stage_reads() -> None:
    # A stage whose secret does not exist deploys fine, then fails every batcher and fallback invocation.
    readme = (ROOT / "README.md").read_text()
    deploying = readme[readme.index("## Deploying") : readme.index("## Reading the logs in CloudWatch")]
    created = set(re.findall(r"create-secret --name (\S+)", deploying))
    stages = _stage_secrets()
    assert set(stages) == {"default", "prod"}
    assert created == set(stages.values())


# --- properties derived from the code that runs against the template's resources ------------------------

_CHANGE = Change(
    key=RecordSetKey("example.com", "www.example.com", "A"),
    action=Action.UPSERT,
    values=(RecordValue("192.0.2.1"),),
    version=1,
    ref=EventRef("m-1", 1_764_028_800_000),
)


def _queue_of(variable: str) -> dict[str, Any]:
    """The queue the code sends to through an environment variable (``!Ref Queue`` in the template)."""
    return QUEUES[GLOBALS["Environment"]["Variables"][variable]["Ref"]]


@pytest.mark.parametrize(
    ("variable", "message"),
    [
        ("CHANGESET_QUEUE_URL", queues.changeset_messages("example.com", [_CHANGE], "cs-1")[0]),
        ("FALLBACK_QUEUE_URL", queues.fallback_message(queues.FallbackRequest((_CHANGE,), "cs-1", 0, "x"))),
        ("REJECTED_QUEUE_URL", queues.rejection_message("{}", reason="r", stage="aggregator")),
    ],
    ids=["changeset", "fallback", "rejected"],
)
def test_what_the_code_sends_is_what_the_queue_it_goes_to_accepts(
    variable: str, message: queues.OutgoingMessage
) -> None:
    # SQS refuses a message without a group id on a FIFO queue and one with a deduplication id on a
    # standard queue; without an explicit deduplication id a FIFO queue needs content-based deduplication.
    props = _queue_of(variable)["Properties"]
    fifo = props.get("FifoQueue") is True
    assert (message.group_id is not None) == fifo
    if fifo:
        assert message.dedup_id is not None or props.get("ContentBasedDeduplication") is True
        assert len(message.group_id or "") <= 128
    else:
        assert message.dedup_id is None


def test_the_largest_messages_the_code_builds_fit_the_queues_and_a_lambda_batch() -> None:
    sizes = {int(q["Properties"]["MaximumMessageSize"]) for q in QUEUES.values()}
    # a parked body plus its attributes (reason, stage and up to 8 context fields) fits every queue
    attributes = 10 * (queues.MAX_ATTRIBUTE_CHARS + 64)
    assert queues.MAX_PARKED_BODY + attributes <= min(sizes)
    # a FIFO batch of change sets stays under Lambda's 6 MB synchronous invoke payload
    batch = max(
        _param_max(event.get("BatchSize", 10))
        for _, queue, event in SQS_EVENTS
        if queue == GLOBALS["Environment"]["Variables"]["CHANGESET_QUEUE_URL"]["Ref"]
    )
    assert batch * queues.MAX_CHANGESET_BYTES < 6 * 1000 * 1000
    assert min(sizes) >= queues.MAX_CHANGESET_BYTES


def test_the_ledger_table_has_the_key_and_ttl_attributes_the_ledger_writes() -> None:
    written: list[dict[str, Any]] = []

    class Recorder:
        def put_item(self, **kwargs: Any) -> dict[str, Any]:
            written.append(kwargs["Item"])
            return {}

    Ledger("t", Recorder()).claim(_CHANGE)
    (item,) = written
    props = RESOURCES["LedgerTable"]["Properties"]
    types = {a["AttributeName"]: a["AttributeType"] for a in props["AttributeDefinitions"]}
    for key in props["KeySchema"]:
        assert set(item[key["AttributeName"]]) == {types[key["AttributeName"]]}
    ttl = props["TimeToLiveSpecification"]
    assert ttl["Enabled"] is True and set(item[ttl["AttributeName"]]) == {"N"}  # DynamoDB TTL: epoch seconds
    assert int(item[ttl["AttributeName"]]["N"]) > time.time()
    assert props["SSESpecification"]["SSEEnabled"] is True


@pytest.mark.parametrize("function", sorted(FUNCTIONS))
def test_functions_run_where_the_layer_is_built_and_the_project_supports(function: str) -> None:
    runtime, architectures = (
        _setting(FUNCTIONS[function], "Runtime"),
        _setting(FUNCTIONS[function], "Architectures"),
    )
    layer = RESOURCES["DnsbatchLayer"]
    assert {"Ref": "DnsbatchLayer"} in _setting(FUNCTIONS[function], "Layers", [])
    assert (
        layer["Metadata"]["BuildMethod"] == runtime and runtime in layer["Properties"]["CompatibleRuntimes"]
    )
    assert architectures == [layer["Metadata"]["BuildArchitecture"]]
    assert architectures[0] in layer["Properties"]["CompatibleArchitectures"]
    version = runtime.removeprefix("python")
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert SpecifierSet(requires).contains(version), (requires, runtime)


def test_the_layer_folder_is_what_sam_copies_into_python() -> None:
    # SAM copies the *contents* of ContentUri into python/ and pip-installs its requirements.txt there:
    # the package must sit directly inside, not under a python/ folder of its own.
    content = ROOT / RESOURCES["DnsbatchLayer"]["Properties"]["ContentUri"]
    assert (content / "dnsbatch" / "__init__.py").is_file()
    assert (content / "requirements.txt").is_file()
    assert not (content / "python").exists()
