"""The local stack is created from template.yaml: same names and settings as the deployed stack."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from devstack.stack.aws import LocalStack, create_stack
from devstack.stack.template import TemplateError, load_template

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = load_template(ROOT / "template.yaml")


def _attributes(stack: LocalStack, logical_id: str) -> dict[str, str]:
    sqs = stack.client("sqs")
    url = stack.queue_urls[logical_id]
    return dict(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"])


def test_every_template_queue_exists_with_the_templates_name(stack: LocalStack) -> None:
    assert set(stack.queue_urls) == set(TEMPLATE.resources_of_type("AWS::SQS::Queue"))
    suffixes = {
        "IngestQueue": "-ingest",
        "IngestDeadLetterQueue": "-ingest-dlq",
        "ChangeSetQueue": "-changeset.fifo",
        "ChangeSetDeadLetterQueue": "-changeset-dlq.fifo",
        "FallbackQueue": "-fallback.fifo",
        "FallbackDeadLetterQueue": "-fallback-dlq.fifo",
        "RejectedQueue": "-rejected",
    }
    for logical, suffix in suffixes.items():
        assert stack.queue_urls[logical].endswith(f"/{stack.stack_name}{suffix}")


def test_queue_settings_match_the_template(stack: LocalStack) -> None:
    for logical, resource in TEMPLATE.resources_of_type("AWS::SQS::Queue").items():
        props = resource["Properties"]
        attributes = _attributes(stack, logical)
        assert attributes.get("FifoQueue", "false") == str(props.get("FifoQueue", False)).lower()
        assert attributes["VisibilityTimeout"] == str(props.get("VisibilityTimeout", 30))
        assert attributes["MessageRetentionPeriod"] == str(props["MessageRetentionPeriod"])
        if "ContentBasedDeduplication" in props:
            assert attributes["ContentBasedDeduplication"] == "false"


def test_source_queues_redrive_to_their_dlq_after_five_receives(stack: LocalStack) -> None:
    for source, dlq in [
        ("IngestQueue", "IngestDeadLetterQueue"),
        ("ChangeSetQueue", "ChangeSetDeadLetterQueue"),
        ("FallbackQueue", "FallbackDeadLetterQueue"),
    ]:
        policy = json.loads(_attributes(stack, source)["RedrivePolicy"])
        assert policy == {"deadLetterTargetArn": stack.queue_arns[dlq], "maxReceiveCount": 10}
    assert "RedrivePolicy" not in _attributes(stack, "RejectedQueue")


def test_ledger_table_has_the_templates_key_billing_and_ttl(stack: LocalStack) -> None:
    dynamodb = stack.client("dynamodb")
    table = dynamodb.describe_table(TableName=stack.table_name)["Table"]
    assert stack.table_name == f"{stack.stack_name}-ledger"
    assert table["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    ttl = dynamodb.describe_time_to_live(TableName=stack.table_name)["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires_at"}


def test_token_secret_holds_the_callers_token(stack: LocalStack) -> None:
    secrets = stack.client("secretsmanager")
    assert stack.secret_name == "dnsbatch/cloudflare-api-token"
    assert secrets.get_secret_value(SecretId=stack.secret_name)["SecretString"] == "tok-local"


def test_function_env_resolves_refs_against_local_resources(stack: LocalStack) -> None:
    env = stack.function_env("BatcherFunction")
    assert env["CHANGESET_QUEUE_URL"] == stack.queue_urls["ChangeSetQueue"]
    assert env["FALLBACK_QUEUE_URL"] == stack.queue_urls["FallbackQueue"]
    assert env["REJECTED_QUEUE_URL"] == stack.queue_urls["RejectedQueue"]
    assert env["LEDGER_TABLE"] == stack.table_name
    assert env["ZONES"] == "example.com"
    assert env["POWERTOOLS_SERVICE_NAME"] == "batcher"  # the function's own value over Globals
    assert env["BATCH_CHANGE_SIZE"] == "200" and env["FALLBACK_REQUEST_INTERVAL"] == "2"
    assert all(isinstance(v, str) and "${" not in v for v in env.values())


def test_event_sources_carry_the_mapping_settings(stack: LocalStack) -> None:
    (ingest,) = stack.event_sources("AggregatorFunction")
    assert (ingest.queue_logical_id, ingest.batch_size, ingest.window_seconds, ingest.fifo) == (
        "IngestQueue",
        1000,
        60,
        False,
    )
    assert (ingest.function_timeout, ingest.visibility_timeout, ingest.max_receive_count) == (60, 660, 10)
    (changes,) = stack.event_sources("BatcherFunction")
    assert (changes.queue_logical_id, changes.batch_size, changes.window_seconds, changes.fifo) == (
        "ChangeSetQueue",
        10,
        0,
        True,
    )
    assert (changes.max_concurrency, changes.function_timeout, changes.memory_mb) == (2, 300, 1024)
    assert changes.dlq_url == stack.queue_urls["ChangeSetDeadLetterQueue"]
    assert stack.functions == {
        "AggregatorFunction": "functions/aggregator/app.py:handler",
        "BatcherFunction": "functions/batcher/app.py:handler",
        "FallbackFunction": "functions/fallback/app.py:handler",
    }


def test_parameters_override_defaults_and_reach_the_mappings(moto_endpoint: str) -> None:
    stack = create_stack(
        moto_endpoint,
        ROOT / "template.yaml",
        stack_name="params-override",
        parameters={"Zones": "a.example,b.example=abc", "IngestBatchingWindow": "5", "IngestBatchSize": "50"},
    )
    (ingest,) = stack.event_sources("AggregatorFunction")
    assert (ingest.batch_size, ingest.window_seconds) == (50, 5)
    assert stack.function_env("AggregatorFunction")["ZONES"] == "a.example,b.example=abc"
    assert stack.secret_name is None  # no token given, no secret created


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        ({}, "Zones has no default"),
        ({"Zones": "x", "Stage": "qa"}, "not one of"),
        ({"Zones": "x", "IngestBatchSize": "20000"}, "above its MaxValue"),
        ({"Zones": "x", "Nope": "1"}, "unknown template parameters"),
    ],
)
def test_bad_parameters_are_refused_like_cloudformation_would(
    moto_endpoint: str, parameters: dict[str, str], message: str
) -> None:
    with pytest.raises(TemplateError, match=message):
        create_stack(moto_endpoint, ROOT / "template.yaml", stack_name="params-bad", parameters=parameters)


def test_outputs_resolve_to_local_urls(stack: LocalStack) -> None:
    outputs = stack.outputs()
    assert outputs["IngestQueueUrl"] == stack.queue_urls["IngestQueue"]
    assert outputs["IngestQueueArn"] == stack.queue_arns["IngestQueue"]
    assert outputs["LedgerTableName"] == stack.table_name


def test_creating_the_same_stack_twice_reuses_its_resources(moto_endpoint: str) -> None:
    first = create_stack(moto_endpoint, ROOT / "template.yaml", stack_name="twice", parameters={"Zones": "x"})
    second = create_stack(
        moto_endpoint, ROOT / "template.yaml", stack_name="twice", parameters={"Zones": "x"}
    )
    assert first.queue_urls == second.queue_urls and first.table_name == second.table_name
