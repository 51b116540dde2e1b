"""The whole pipeline on loopback: moto's server, the Cloudflare emulator (or real Cloudflare), the stack's
queues and table from template.yaml, and the three real handlers behind emulated event source mappings.

Used by ``make run`` / ``make invoke`` (``devstack.stack.__main__``) and by the integration tests.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import itertools
import json
import logging
import os
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import IO, Any, Protocol

from devstack.emulator import EmulatorServer, ZoneSpec
from devstack.stack.aws import LocalStack, create_stack, start_moto
from devstack.stack.poller import EventSourcePoller, FunctionCrash, RunStats, run_until_idle
from dnsbatch.telemetry import OutcomeEvent

REPO = Path(__file__).resolve().parents[2]
# A fixed, obviously-local token: the emulator is not Cloudflare, so this is not a secret (and the tests
# use it to prove that no token ever reaches a log line or a report).
LOCAL_TOKEN = "local-dev-token"
FUNCTIONS = ("AggregatorFunction", "BatcherFunction", "FallbackFunction")
_module_ids = itertools.count()


class InvocationHooks(Protocol):
    """Watches the functions from inside (the chaos runner uses it to kill them mid-invocation).

    ``started`` is called as an invocation begins; ``call`` at each point where a real function could
    die with an effect half done: before and after every AWS API call the function makes (SQS,
    DynamoDB) and after every Cloudflare HTTP attempt (the request has been answered, or not). Either may
    raise :class:`~devstack.stack.poller.FunctionCrash`, which ends the invocation as a Lambda crash:
    the poller fails the batch whole and the function's next invocation is a cold start."""

    def started(self, function: str) -> None: ...

    def call(self, function: str, point: str) -> None: ...


@dataclass
class PipelineOptions:
    zones: Sequence[ZoneSpec] = (ZoneSpec("example.com", plan="free"),)
    # Every wait of the deployed configuration (batching window, visibility timeouts, function timeouts)
    # is multiplied by this, so a 60 s window takes 1.2 s locally.
    time_scale: float = 0.02
    # The handlers' time budget can be scaled apart (a tiny time_scale makes failed messages come back at
    # once, while the functions still get a workable budget).
    context_time_scale: float | None = None
    parameters: Mapping[str, str] = field(default_factory=dict)  # template parameter overrides
    env: Mapping[str, str] = field(default_factory=dict)  # function environment overrides
    real_cloudflare: bool = (
        False  # use CLOUDFLARE_API_BASE_URL/CLOUDFLARE_API_TOKEN/ZONES from the environment
    )
    token: str = LOCAL_TOKEN
    rate_limit: int = 1200
    rate_window: float = 300.0  # the emulator's rate-limit window, seconds of wall time
    hooks: InvocationHooks | None = None
    stack_name: str | None = None
    moto_endpoint: str | None = None  # reuse a running moto server (tests share one per session)
    log_stream: IO[str] | None = None  # where the handlers' JSON logs and EMF metrics go


class LocalPipeline:
    """Start with ``with LocalPipeline(options) as p:``; then ``publish``, ``drain`` and read the results."""

    def __init__(self, options: PipelineOptions | None = None) -> None:
        self.options = options or PipelineOptions()
        self.log_stream: IO[str] = self.options.log_stream or io.StringIO()
        self.outcomes: list[OutcomeEvent] = []
        self.emulator: EmulatorServer | None = None
        self.stack: LocalStack
        self.modules: dict[str, ModuleType] = {}
        self.env: dict[str, dict[str, str]] = {}
        self.pollers: list[EventSourcePoller] = []
        self.published = 0
        self.cold_starts: Counter[str] = Counter()
        # Counters of runtimes thrown away by a crash: the container is gone, its counts are not.
        self._retired_counters: Counter[str] = Counter()
        self._exit = contextlib.ExitStack()

    # ------------------------------------------------------------------ lifecycle

    def __enter__(self) -> LocalPipeline:
        try:
            self.start()
        except BaseException:
            self._exit.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self._exit.close()

    def start(self) -> None:
        opts = self.options
        endpoint = opts.moto_endpoint
        if endpoint is None:
            server, endpoint = start_moto()
            self._exit.callback(server.stop)
        parameters = {"Zones": ",".join(z.name for z in opts.zones), "IngestBatchingWindow": "60"}
        token = opts.token
        if opts.real_cloudflare:
            token = os.environ.get("CLOUDFLARE_API_TOKEN", "")
            zones = os.environ.get("ZONES", "")
            if not token or not zones:
                raise SystemExit("real Cloudflare needs CLOUDFLARE_API_TOKEN and ZONES in the environment")
            parameters["Zones"] = zones
            parameters["CloudflareApiBaseUrl"] = os.environ.get(
                "CLOUDFLARE_API_BASE_URL", "https://api.cloudflare.com/client/v4"
            )
        else:
            self.emulator = EmulatorServer(
                zones=list(opts.zones),
                token=token,
                rate_limit=opts.rate_limit,
                rate_window=opts.rate_window,
                validate_requests=True,
            )
            self.emulator.start()
            self._exit.callback(self.emulator.stop)
            parameters["CloudflareApiBaseUrl"] = self.emulator.base_url
        parameters.update(opts.parameters)
        stack_name = opts.stack_name or f"dnsbatch-local-{uuid.uuid4().hex[:8]}"
        self.stack = create_stack(endpoint, REPO / "template.yaml", stack_name, parameters, token=token)
        self.sqs = self.stack.client("sqs")
        scale = opts.time_scale
        # The functions configure the library's loggers as Lambda would (JSON, no propagation); put them
        # back as they were when the pipeline stops, for whatever else runs in this process.
        library_logger = logging.getLogger("dnsbatch.cloudflare")
        saved = (list(library_logger.handlers), library_logger.propagate, library_logger.level)
        self._exit.callback(_restore_logger, library_logger, saved)
        self._exit.callback(self.sqs.close)
        for logical in FUNCTIONS:
            spec_name = f"{self.stack.stack_name}-{logical}"
            # Lambda sets these in every function's environment; Powertools reads them.
            lambda_env = {"AWS_LAMBDA_FUNCTION_NAME": spec_name, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512"}
            env = {**self.stack.function_env(logical), **self.stack.aws_env(), **lambda_env}
            # Waits inside the functions shrink with the rest of local time.
            for name in (
                "BATCH_CHANGE_INTERVAL",
                "FALLBACK_REQUEST_INTERVAL",
                "RETRY_BACKOFF_BASE",
                "RETRY_BACKOFF_CAP",
                # so a long local run reaches the forced zone reads it would reach deployed
                "ZONE_READ_INTERVAL",
            ):
                if name in env:
                    env[name] = f"{float(env[name]) * scale:.4f}"
            env.update(opts.env)
            self.env[logical] = env
            self.modules[logical] = self._load(logical, env)
            for spec in self.stack.event_sources(logical):
                self.pollers.append(
                    EventSourcePoller(
                        self.sqs,
                        spec,
                        self._invoker(logical),
                        time_scale=scale,
                        context_time_scale=opts.context_time_scale,
                        region=self.stack.region,
                    )
                )

    def _load(self, logical: str, env: Mapping[str, str]) -> ModuleType:
        path, _, _ = self.stack.functions[logical].partition(":")
        name = f"dnsbatch_local_{logical.lower()}_{next(_module_ids)}"
        spec = importlib.util.spec_from_file_location(name, REPO / path)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot load {path}")
        module = importlib.util.module_from_spec(spec)
        # Powertools binds its log handler to sys.stdout when the module is imported: import it with stdout
        # pointing at the pipeline's log stream.
        with self._function_env(env), contextlib.redirect_stdout(self.log_stream):
            spec.loader.exec_module(module)
        module.runtime.telemetry.listeners.append(self.outcomes.append)
        # Powertools reuses the stdlib logger of a service name (and its handler) across imports: point it
        # at this pipeline's stream, and release the runtime's connections when the pipeline stops.
        module.logger.registered_handler.setStream(self.log_stream)
        self._exit.callback(module.runtime.close)
        if self.options.hooks is not None:
            with self._function_env(env):
                self._install_hooks(logical, module.runtime, self.options.hooks)
        return module

    @staticmethod
    def _install_hooks(logical: str, runtime: Any, hooks: InvocationHooks) -> None:
        """Route the runtime's AWS calls and Cloudflare attempts through ``hooks.call``. Its boto3 clients
        are built now (botocore hooks attach per client; building one makes no request)."""

        def aws_hook(event_name: str, **kwargs: Any) -> None:
            phase, _sep, operation = event_name.partition(".")  # "before-call.sqs.SendMessage"
            hooks.call(logical, f"{phase.removesuffix('-call')} {operation}")

        for client in (runtime.sqs, runtime.ledger.client):
            client.meta.events.register("before-call", aws_hook)
            client.meta.events.register("after-call", aws_hook)
        # The Cloudflare client reports every attempt to Runtime._count_request once it is answered (or
        # failed); the client is built lazily with whatever that attribute holds then.
        count_request = runtime._count_request

        def counted(info: Any) -> None:
            count_request(info)
            hooks.call(logical, f"after cloudflare {info.endpoint}")

        runtime._count_request = counted

    @contextlib.contextmanager
    def _function_env(self, env: Mapping[str, str]) -> Iterator[None]:
        saved = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        try:
            yield
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value

    def _invoker(self, logical: str) -> Any:
        def invoke(event: dict[str, Any], context: Any) -> object:
            return self.invoke(logical, event, context)

        return invoke

    def invoke(self, logical: str, event: dict[str, Any], context: Any) -> object:
        """Run one function's real handler with its template environment, logs to the log stream."""
        module = self.modules[logical]
        with self._function_env(self.env[logical]), contextlib.redirect_stdout(self.log_stream):
            if self.options.hooks is not None:
                self.options.hooks.started(logical)
            try:
                return module.handler(event, context)
            except BaseException as exc:
                crash = _crash_in(exc)
                if crash is None:
                    raise
                self._cold_start(logical)
                # A finally block of the handler (Powertools flushing metrics) may have raised over the
                # crash; a dead process runs no finally blocks, so the crash is what the poller sees.
                raise crash from None

    def _cold_start(self, logical: str) -> None:
        """Lambda throws a crashed container away: the next invocation gets a fresh module (no cached
        clients, zones or token), as after a cold start."""
        old = self.modules[logical]
        self._retired_counters.update(old.runtime.telemetry.counters)
        old.runtime.close()
        self.modules[logical] = self._load(logical, self.env[logical])
        self.cold_starts[logical] += 1

    # ------------------------------------------------------------------ driving

    def queue_url(self, logical: str) -> str:
        return self.stack.queue_urls[logical]

    def publish(self, bodies: Sequence[str]) -> list[str]:
        """Send message bodies to IngestQueue, as a producer would (SendMessageBatch, 10 at a time).
        Returns the SQS message ids, in the order of ``bodies``."""
        url = self.queue_url("IngestQueue")
        ids: list[str] = []
        for start in range(0, len(bodies), 10):
            entries = [{"Id": str(i), "MessageBody": b} for i, b in enumerate(bodies[start : start + 10])]
            response = self.sqs.send_message_batch(QueueUrl=url, Entries=entries)
            if response.get("Failed"):
                raise RuntimeError(f"SQS refused messages: {response['Failed']}")
            sent = {entry["Id"]: entry["MessageId"] for entry in response.get("Successful", [])}
            ids.extend(sent[str(i)] for i in range(len(entries)))
        self.published += len(bodies)
        return ids

    def drain(self, timeout: float = 120.0) -> RunStats:
        """Run the pollers until every source queue is empty (or the timeout passes)."""
        return run_until_idle(self.pollers, time.monotonic() + timeout)

    # ------------------------------------------------------------------ results

    def final_outcomes(self) -> dict[tuple[str, int], OutcomeEvent]:
        """One outcome per event (message id, envelope index); a redelivered event keeps its last."""
        return {(o.ref.message_id, o.ref.index): o for o in self.outcomes}

    def outcome_counts(self) -> Counter[str]:
        return Counter(o.outcome.value for o in self.final_outcomes().values())

    def counters(self) -> Counter[str]:
        total: Counter[str] = Counter(self._retired_counters)
        for module in self.modules.values():
            total.update(module.runtime.telemetry.counters)
        return total

    def cloudflare_calls(self) -> dict[str, int]:
        if self.emulator is not None:
            return dict(self.emulator.counters())
        prefix = "cloudflare "
        return {k[len(prefix) :]: v for k, v in self.counters().items() if k.startswith(prefix)}

    def read_queue(self, logical: str) -> list[dict[str, Any]]:
        """Every message on a queue that no function consumes (RejectedQueue, DLQs), left in place."""
        url = self.queue_url(logical)
        seen: dict[str, dict[str, Any]] = {}
        for _ in range(100):
            got = self.sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], VisibilityTimeout=30
            ).get("Messages", [])
            if not got:
                break
            for message in got:
                seen[message["MessageId"]] = message
        for message in seen.values():
            self.sqs.change_message_visibility(
                QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
            )
        return list(seen.values())

    def depth(self, logical: str) -> int:
        attrs = self.sqs.get_queue_attributes(
            QueueUrl=self.queue_url(logical),
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return sum(int(v) for v in attrs.values())

    def logs(self) -> str:
        if isinstance(self.log_stream, io.StringIO):
            return self.log_stream.getvalue()
        return ""


def _crash_in(exc: BaseException) -> FunctionCrash | None:
    """The FunctionCrash ``exc`` is, or was raised over (``__context__``), if any."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, FunctionCrash):
            return current
        seen.add(id(current))
        current = current.__context__
    return None


def _restore_logger(logger: logging.Logger, saved: tuple[list[logging.Handler], bool, int]) -> None:
    logger.handlers, logger.propagate, level = saved[0], saved[1], saved[2]
    logger.setLevel(level)


def count_events(bodies: Sequence[str]) -> int:
    """How many events a list of bodies holds: each change of an envelope counts, and so does a body that
    is not a change at all (it will be rejected as one event)."""
    total = 0
    for body in bodies:
        try:
            obj = json.loads(body)
        except ValueError:
            total += 1
            continue
        changes = obj.get("changes") if isinstance(obj, dict) else None
        total += len(changes) if isinstance(changes, list) and changes else 1
    return total
