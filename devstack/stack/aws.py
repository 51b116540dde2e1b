"""A local AWS: moto's server on loopback, with the stack's queues, table and secret from template.yaml.

:func:`create_stack` reads the template, creates every ``AWS::SQS::Queue`` (name, FIFO settings,
visibility timeout, retention, redrive to its DLQ) and ``AWS::DynamoDB::Table`` (keys, billing, TTL)
with the deployed stack's names and settings, and a Secrets Manager secret for the Cloudflare token.
Functions are not created (moto would need Docker to run them): :class:`LocalStack` instead hands out
each function's resolved environment and event sources, and the pollers run the real handlers.

moto runs in a child process (:func:`start_moto`), one per call; two stacks on one moto server must
differ in ``stack_name``, from which every name in the template is derived.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

from devstack.stack.poller import EventSourceSpec
from devstack.stack.template import ACCOUNT_ID, Resolver, Template, TemplateError, load_template

#: The template parameter naming the token secret; the local stack creates that secret.
TOKEN_SECRET_PARAMETER = "CloudflareTokenSecretName"

#: moto accepts any credentials; boto3 only needs some to sign requests.
FAKE_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}

# CloudFormation property -> SQS attribute (same names, except that SQS wants every value as a string).
_QUEUE_ATTRIBUTES = (
    "FifoQueue",
    "ContentBasedDeduplication",
    "DeduplicationScope",
    "FifoThroughputLimit",
    "VisibilityTimeout",
    "MessageRetentionPeriod",
    "MaximumMessageSize",
    "DelaySeconds",
    "ReceiveMessageWaitTimeSeconds",
    "SqsManagedSseEnabled",
)


class MotoProcess:
    """moto's server running in a child process (see :mod:`devstack.stack.motoserver` for why).

    ``stop()`` ends it (idempotent); the child also exits on its own when this process exits, however
    it exits, because it watches the pipe on its standard input.
    """

    def __init__(self, process: subprocess.Popen[bytes], endpoint_url: str) -> None:
        self.process = process
        self.endpoint_url = endpoint_url

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self, timeout: float = 5.0) -> None:
        process = self.process
        if process.poll() is None:
            if process.stdin is not None:
                with contextlib.suppress(OSError):
                    process.stdin.close()  # the child's parent watch reads EOF and exits
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout)
        for stream in (process.stdin, process.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()

    def __enter__(self) -> MotoProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_moto(
    host: str = "127.0.0.1", port: int = 0, *, startup_timeout: float = 60.0, patch: bool = True
) -> tuple[MotoProcess, str]:
    """Start moto's server in a child process; port 0 binds a free port. Returns (server, endpoint URL).

    Stop it with ``server.stop()``. The child serves moto with the fixes of
    :mod:`devstack.stack.motoserver` (``patch=False``: as released, for the tests that compare the two)
    and exits when this process does.
    """
    command = [
        sys.executable,
        "-m",
        "devstack.stack.motoserver",
        "--host",
        host,
        "--port",
        str(port),
        "--child",
        *([] if patch else ["--no-patch"]),
    ]
    process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    server = MotoProcess(process, "")
    try:
        port_line = _read_line(process, startup_timeout)
        bound_port = int(port_line)
    except BaseException:
        server.stop()
        raise
    server.endpoint_url = f"http://{host}:{bound_port}"
    return server, server.endpoint_url


def _read_line(process: subprocess.Popen[bytes], timeout: float) -> str:
    """The child's first line (its port), or an error naming its exit status; never waits past ``timeout``."""
    assert process.stdout is not None
    lines: list[bytes] = []
    reader = threading.Thread(target=lambda: lines.append(process.stdout.readline()), daemon=True)  # type: ignore[union-attr]
    reader.start()
    reader.join(timeout)
    if not lines or not lines[0].strip():
        status = process.poll()
        why = f"exited with status {status}" if status is not None else f"did not start within {timeout:g} s"
        raise RuntimeError(f"moto's server {why}")
    return lines[0].decode().strip()


@dataclass
class LocalStack:
    """The resources of one local stack and what a function needs to run against them."""

    endpoint_url: str
    region: str
    stack_name: str
    template: Template
    resolver: Resolver = field(repr=False)
    queue_urls: dict[str, str]
    """Queue logical id -> queue URL."""
    queue_arns: dict[str, str]
    table_name: str
    secret_name: str | None
    functions: dict[str, str]
    """Function logical id -> handler path, e.g. ``functions/aggregator/app.py:handler``."""

    def client(self, service: str) -> Any:
        """A boto3 client for ``service`` pointed at the local AWS."""
        return boto3.client(
            service, endpoint_url=self.endpoint_url, region_name=self.region, **FAKE_CREDENTIALS
        )

    def aws_env(self) -> dict[str, str]:
        """Environment variables that point boto3 (and Powertools) in a handler at the local AWS."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
            "AWS_ACCESS_KEY_ID": FAKE_CREDENTIALS["aws_access_key_id"],
            "AWS_SECRET_ACCESS_KEY": FAKE_CREDENTIALS["aws_secret_access_key"],
        }

    def function_env(self, logical_id: str) -> dict[str, str]:
        """The function's ``Environment.Variables`` (Globals merged under its own), fully resolved."""
        function = self._function(logical_id)
        merged: dict[str, Any] = {}
        for source in (self.template.function_globals, function["Properties"]):
            merged.update(source.get("Environment", {}).get("Variables", {}))
        return {name: self.resolver.resolve_str(value) for name, value in merged.items()}

    def function_setting(self, logical_id: str, name: str, default: Any = None) -> Any:
        """A function property (resolved), falling back to Globals, then to ``default``."""
        props = self._function(logical_id)["Properties"]
        if name in props:
            return self.resolver.resolve(props[name])
        if name in self.template.function_globals:
            return self.resolver.resolve(self.template.function_globals[name])
        return default

    def event_sources(self, logical_id: str) -> list[EventSourceSpec]:
        """The function's enabled SQS event sources, as Lambda would configure their mappings."""
        function = self._function(logical_id)
        function_name = f"{self.stack_name}-{logical_id}"
        timeout = int(self.function_setting(logical_id, "Timeout", 3))
        memory = int(self.function_setting(logical_id, "MemorySize", 128))
        logging_config = self.function_setting(logical_id, "LoggingConfig", {}) or {}
        specs = []
        for event in function["Properties"].get("Events", {}).values():
            if event.get("Type") != "SQS":
                continue
            props = self.resolver.resolve(event["Properties"])
            if str(props.get("Enabled", True)).lower() == "false":
                continue
            queue_logical = self._queue_by_arn(props["Queue"])
            queue_props = self.template.resources[queue_logical]["Properties"]
            redrive = self.resolver.resolve(queue_props.get("RedrivePolicy")) or {}
            dlq_logical = self._queue_by_arn(redrive["deadLetterTargetArn"]) if redrive else None
            specs.append(
                EventSourceSpec(
                    queue_logical_id=queue_logical,
                    queue_url=self.queue_urls[queue_logical],
                    batch_size=int(props.get("BatchSize", 10)),
                    window_seconds=int(props.get("MaximumBatchingWindowInSeconds", 0)),
                    fifo=self.resolver.resolve_str(queue_props.get("FifoQueue", False)) == "true",
                    function_timeout=timeout,
                    visibility_timeout=int(self.resolver.resolve(queue_props.get("VisibilityTimeout", 30))),
                    max_concurrency=_optional_int(
                        (props.get("ScalingConfig") or {}).get("MaximumConcurrency")
                    ),
                    queue_arn=self.queue_arns[queue_logical],
                    function_logical_id=logical_id,
                    function_name=function_name,
                    memory_mb=memory,
                    log_group_name=str(logging_config.get("LogGroup") or f"/aws/lambda/{function_name}"),
                    report_batch_item_failures="ReportBatchItemFailures"
                    in props.get("FunctionResponseTypes", []),
                    max_receive_count=int(redrive["maxReceiveCount"]) if redrive else None,
                    dlq_url=self.queue_urls[dlq_logical] if dlq_logical else None,
                )
            )
        return specs

    def outputs(self) -> dict[str, str]:
        """The template's Outputs resolved locally (``IngestQueueUrl``, ``LedgerTableName``, ...)."""
        result = {}
        for name, output in self.template.body.get("Outputs", {}).items():
            if self.resolver.is_active(output):
                result[name] = self.resolver.resolve_str(output["Value"])
        return result

    def _function(self, logical_id: str) -> dict[str, Any]:
        functions = self.template.resources_of_type("AWS::Serverless::Function")
        if logical_id not in functions:
            raise KeyError(f"no AWS::Serverless::Function {logical_id} in {self.template.path}")
        return functions[logical_id]

    def _queue_by_arn(self, arn: str) -> str:
        for logical, queue_arn in self.queue_arns.items():
            if queue_arn == arn:
                return logical
        raise TemplateError(f"no queue of this stack has the ARN {arn}")


def _optional_int(value: Any) -> int | None:
    """A resolved number (a parameter resolves to its string, as CloudFormation passes it), or None."""
    return None if value is None else int(value)


def create_stack(
    endpoint_url: str,
    template_path: str | Path = "template.yaml",
    stack_name: str = "dnsbatch-local",
    parameters: Mapping[str, str] | None = None,
    region: str = "us-east-1",
    *,
    token: str | None = None,
) -> LocalStack:
    """Create the template's queues, table and (if ``token`` is given) token secret on a local AWS.

    Idempotent for the same ``stack_name`` and settings: existing queues and tables are reused.
    """
    template = load_template(template_path)
    resolver = Resolver(template, stack_name=stack_name, region=region, parameters=parameters)
    session = boto3.session.Session(region_name=region, **FAKE_CREDENTIALS)
    sqs = session.client("sqs", endpoint_url=endpoint_url)
    dynamodb = session.client("dynamodb", endpoint_url=endpoint_url)

    queue_urls, queue_arns = _create_queues(sqs, template, resolver, stack_name)
    table_names = [
        _create_table(dynamodb, logical, resource, resolver, stack_name)
        for logical, resource in template.resources_of_type("AWS::DynamoDB::Table").items()
        if resolver.is_active(resource)
    ]
    if len(table_names) != 1:
        raise TemplateError(f"expected one DynamoDB table in the template, found {len(table_names)}")
    for logical, resource in template.resources_of_type("AWS::Logs::LogGroup").items():
        name = resolver.resolve_str(resource["Properties"].get("LogGroupName", f"/{stack_name}/{logical}"))
        resolver.register(logical, name, Arn=f"arn:aws:logs:{region}:{ACCOUNT_ID}:log-group:{name}:*")

    secret_name = None
    if token is not None and TOKEN_SECRET_PARAMETER in resolver.parameters:
        secret_name = resolver.parameters[TOKEN_SECRET_PARAMETER]
        _put_secret(session.client("secretsmanager", endpoint_url=endpoint_url), secret_name, token)

    functions = {}
    for logical, resource in template.resources_of_type("AWS::Serverless::Function").items():
        props = resource["Properties"]
        code_uri = resolver.resolve_str(props["CodeUri"]).rstrip("/")
        module, _, attribute = resolver.resolve_str(props["Handler"]).rpartition(".")
        functions[logical] = f"{code_uri}/{module.replace('.', '/')}.py:{attribute}"
        name = f"{stack_name}-{logical}"
        resolver.register(logical, name, Arn=f"arn:aws:lambda:{region}:{ACCOUNT_ID}:function:{name}")

    return LocalStack(
        endpoint_url=endpoint_url,
        region=region,
        stack_name=stack_name,
        template=template,
        resolver=resolver,
        queue_urls=queue_urls,
        queue_arns=queue_arns,
        table_name=table_names[0],
        secret_name=secret_name,
        functions=functions,
    )


def _create_queues(
    sqs: Any, template: Template, resolver: Resolver, stack_name: str
) -> tuple[dict[str, str], dict[str, str]]:
    queues = {k: v for k, v in template.resources_of_type("AWS::SQS::Queue").items() if resolver.is_active(v)}
    urls: dict[str, str] = {}
    arns: dict[str, str] = {}
    # Every queue first, then the redrive policies: a source queue's policy names its DLQ's ARN.
    for logical, resource in queues.items():
        props = resource.get("Properties", {})
        attributes = {name: resolver.resolve_str(props[name]) for name in _QUEUE_ATTRIBUTES if name in props}
        fifo = attributes.get("FifoQueue") == "true"
        default_name = f"{stack_name}-{logical}" + (".fifo" if fifo else "")
        name = resolver.resolve_str(props.get("QueueName", default_name))
        url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        urls[logical], arns[logical] = url, arn
        resolver.register(logical, url, Arn=arn, QueueName=name, QueueUrl=url)
    for logical, resource in queues.items():
        props = resource.get("Properties", {})
        for name in ("RedrivePolicy", "RedriveAllowPolicy"):
            if name in props:
                policy = json.dumps(resolver.resolve(props[name]))
                sqs.set_queue_attributes(QueueUrl=urls[logical], Attributes={name: policy})
    return urls, arns


def _create_table(
    dynamodb: Any, logical: str, resource: Mapping[str, Any], resolver: Resolver, stack_name: str
) -> str:
    props = resolver.resolve(resource["Properties"])
    name = str(props.get("TableName", f"{stack_name}-{logical}"))
    request: dict[str, Any] = {
        "TableName": name,
        "KeySchema": props["KeySchema"],
        "AttributeDefinitions": props["AttributeDefinitions"],
        "BillingMode": props.get("BillingMode", "PROVISIONED"),
    }
    for key in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes", "ProvisionedThroughput"):
        if key in props:
            request[key] = props[key]
    if "SSESpecification" in props:
        request["SSESpecification"] = {"Enabled": bool(props["SSESpecification"].get("SSEEnabled"))}
    # An earlier create_stack with this stack name made it already.
    with contextlib.suppress(dynamodb.exceptions.ResourceInUseException):
        dynamodb.create_table(**request)
    ttl = props.get("TimeToLiveSpecification")
    if ttl and ttl.get("Enabled"):
        current = dynamodb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
        if current.get("TimeToLiveStatus") != "ENABLED":
            dynamodb.update_time_to_live(
                TableName=name,
                TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True},
            )
    arn = dynamodb.describe_table(TableName=name)["Table"]["TableArn"]
    resolver.register(logical, name, Arn=arn)
    return name


def _put_secret(secrets: Any, name: str, value: str) -> None:
    if name.startswith("arn:"):
        raise TemplateError(f"{TOKEN_SECRET_PARAMETER} must be a secret name for the local stack, not an ARN")
    try:
        secrets.create_secret(Name=name, SecretString=value)
    except secrets.exceptions.ResourceExistsException:
        secrets.put_secret_value(SecretId=name, SecretString=value)
