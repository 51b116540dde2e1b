"""The per-container resources of a function: settings, AWS clients, the Ledger and the Cloudflare client.

Built on first use and kept at module scope, so a warm Lambda reuses its connection pools, its cached
zone lookups and its cached token secret (docs/architecture.md#configuration,
docs/architecture.md#lambda-runtime-and-clients). Building lazily keeps importing a handler free of side
effects, which tests and the local runner rely on.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Mapping, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

import boto3
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from botocore.config import Config

from dnsbatch import redelivery
from dnsbatch.config import Settings
from dnsbatch.ledger import CONCURRENCY as LEDGER_CONCURRENCY
from dnsbatch.ledger import Ledger
from dnsbatch.logsafety import quiet_third_party_loggers
from dnsbatch.telemetry import Telemetry

# Cold start (docs/benchmarks.md "imports"): a function imports only what its own path needs. The
# aggregator never talks to Cloudflare (no httpx), each function builds only its own deps, and Powertools'
# parameters utility is imported only when the token comes from Secrets Manager. Those imports sit in the
# methods that need them.
if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.parameters import SecretsProvider

    from dnsbatch.aggregator import AggregatorDeps
    from dnsbatch.batcher import BatcherDeps
    from dnsbatch.cloudflare.client import CloudflareClient, RequestInfo
    from dnsbatch.fallback import FallbackDeps

# Stop starting new Cloudflare work this long before Lambda's own timeout (at most this share of the
# budget), so the handler can still report partial batch failures and flush logs and metrics.
SAFETY_MARGIN_SECONDS = 10.0
SAFETY_MARGIN_SHARE = 0.1


class Runtime:
    def __init__(self, function: str, logger: Logger, metrics: Metrics) -> None:
        self.function = function
        quiet_third_party_loggers()  # before any AWS call: botocore logs GetSecretValue's body at DEBUG
        self.telemetry = Telemetry(logger, metrics, function)
        # The library logs through stdlib loggers under "dnsbatch" (e.g. the Cloudflare client's retries):
        # in Lambda, give them the function's JSON formatting so every line is searchable the same way
        # (outside Lambda, e.g. under pytest, they keep propagating to whatever the host configured).
        if os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
            copy_config_to_registered_loggers(source_logger=logger, include={"dnsbatch.cloudflare"})
        self.clock = time.monotonic
        self.sleep = time.sleep
        # Powertools' documented knob for how long a fetched secret is reused (default 300 s).
        self.token_max_age = int(os.environ.get("POWERTOOLS_PARAMETERS_MAX_AGE", "300"))

    @cached_property
    def settings(self) -> Settings:
        return Settings.from_env()

    @cached_property
    def sqs(self) -> Any:
        return boto3.client("sqs")

    @cached_property
    def ledger(self) -> Ledger:
        self.settings.require("ledger_table")
        # The Ledger writes from LEDGER_CONCURRENCY threads; botocore keeps 10 connections by default, so the
        # others were opened (a TLS handshake each) and thrown away on every burst of claims or marks.
        client = boto3.client("dynamodb", config=Config(max_pool_connections=LEDGER_CONCURRENCY))
        return Ledger(self.settings.ledger_table or "", client, ttl_days=self.settings.ledger_ttl_days)

    @cached_property
    def client(self) -> CloudflareClient:
        from dnsbatch.cloudflare.client import CloudflareClient  # noqa: PLC0415  # lazy: see the imports

        settings = self.settings
        settings.require("token")
        # Every call of a container starts at least the interval after the one before, zone reads and
        # lookups included: with many zones per invocation the calls of the next zone follow at once, and
        # only this bounds a container's rate (concurrency x 1/interval; template.yaml's rate budget).
        interval = (
            settings.fallback_request_interval
            if self.function == "fallback"
            else settings.batch_change_interval
        )
        return CloudflareClient(
            settings.api_base_url,
            self._token(),
            clock=self.clock,
            sleep=self.sleep,
            min_interval=interval,
            timeout=settings.request_timeout,
            on_request=self._count_request,
        )

    def reset_client(self) -> None:
        """Forget the client (and re-read the token secret next time), e.g. after an authentication error
        that a rotated token may explain."""
        client = self.__dict__.pop("client", None)
        if client is not None:
            client.close()
        self._force_token_fetch = True

    _force_token_fetch = False

    def close(self) -> None:
        """Release connection pools (the local runner and tests start many runtimes in one process)."""
        self.reset_client()
        self._force_token_fetch = False
        ledger = self.__dict__.pop("ledger", None)
        secrets = self.__dict__.pop("secrets", None)
        clients = [self.__dict__.pop("sqs", None), ledger and ledger.client, secrets and secrets.client]
        for client in clients:
            if client is not None:
                client.close()

    @cached_property
    def secrets(self) -> SecretsProvider:
        from aws_lambda_powertools.utilities.parameters import SecretsProvider  # noqa: PLC0415  # lazy

        # A provider of our own rather than Powertools' process-wide default: its boto3 client and its
        # cache then belong to this runtime (the local runner and the tests start many in one process).
        return SecretsProvider(boto3_client=boto3.client("secretsmanager"))

    def _token(self) -> str:
        settings = self.settings
        if settings.api_token:
            return settings.api_token
        raw = self.secrets.get(
            settings.api_token_secret or "", max_age=self.token_max_age, force_fetch=self._force_token_fetch
        )
        self._force_token_fetch = False
        if raw is None:
            raise ValueError(f"the secret {settings.api_token_secret!r} has no value")
        return _token_from_secret(raw)

    def _count_request(self, info: RequestInfo) -> None:
        self.telemetry.count("CloudflareCalls")
        self.telemetry.counters[f"cloudflare {info.endpoint}"] += 1
        if info.status == 429:
            self.telemetry.count("CloudflareRateLimited")
        if info.error is not None or (info.status or 0) >= 500:
            self.telemetry.count("CloudflareErrors")

    def back_off(self, records: Sequence[Mapping[str, Any]], response: Mapping[str, Any]) -> None:
        """Bring the messages the response reports failed back after a short, growing backoff rather than
        the queue's long visibility timeout (redelivery.py)."""
        failed = [f["itemIdentifier"] for f in response.get("batchItemFailures") or []]
        if failed:
            settings = self.settings
            redelivery.back_off(
                self.sqs, records, failed, base=settings.retry_backoff_base, cap=settings.retry_backoff_cap
            )

    def deadline(self, context: Any) -> float:
        """The client-clock time after which no new Cloudflare work starts in this invocation."""
        remaining = float(context.get_remaining_time_in_millis()) / 1000.0
        return self.clock() + remaining - min(SAFETY_MARGIN_SECONDS, remaining * SAFETY_MARGIN_SHARE)

    def aggregator_deps(self) -> AggregatorDeps:
        from dnsbatch.aggregator import AggregatorDeps  # noqa: PLC0415  # lazy: see the imports

        self.settings.require("changeset_queue_url", "rejected_queue_url", "ledger_table")
        return AggregatorDeps(
            settings=self.settings, sqs=self.sqs, ledger=self.ledger, telemetry=self.telemetry
        )

    def batcher_deps(self) -> BatcherDeps:
        from dnsbatch.batcher import BatcherDeps  # noqa: PLC0415  # lazy: see the imports

        # changeset_queue_url: the batcher re-queues the parts of a bisection it had no time left to try.
        self.settings.require(
            "changeset_queue_url", "fallback_queue_url", "rejected_queue_url", "ledger_table", "token"
        )
        return BatcherDeps(
            settings=self.settings,
            sqs=self.sqs,
            ledger=self.ledger,
            client=self.client,
            telemetry=self.telemetry,
            clock=self.clock,
            sleep=self.sleep,
        )

    def fallback_deps(self) -> FallbackDeps:
        from dnsbatch.fallback import FallbackDeps  # noqa: PLC0415  # lazy: see the imports

        self.settings.require("rejected_queue_url", "ledger_table", "token")
        return FallbackDeps(
            settings=self.settings,
            sqs=self.sqs,
            ledger=self.ledger,
            client=self.client,
            telemetry=self.telemetry,
            clock=self.clock,
        )


def _token_from_secret(raw: str | bytes | dict[str, Any]) -> str:
    """The secret may hold the bare token or JSON like {"token": "..."} / {"api_token": "..."}."""
    if isinstance(raw, bytes):
        raw = raw.decode()
    if isinstance(raw, str):
        text = raw.strip()
        if not text.startswith("{"):
            return text
        raw = json.loads(text)
    if not isinstance(raw, dict):
        raise ValueError("the token secret must be the bare token or a JSON object holding it")
    for name in ("token", "api_token", "CLOUDFLARE_API_TOKEN"):
        value = raw.get(name)
        if isinstance(value, str) and value.strip():
            return value.strip()
    raise ValueError("the token secret is JSON without a 'token' or 'api_token' string field")


logging.getLogger("dnsbatch").addHandler(logging.NullHandler())
