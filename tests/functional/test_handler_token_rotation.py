"""A rotated token reaches a warm function at once: after Cloudflare refuses the cached token, the handler
drops its client, reports the messages failed (SQS brings them back), and the next invocation reads the
secret afresh instead of waiting out the 300 s cache (README "Configuration"; docs/security.md)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from devstack.stack.context import LambdaContext
from devstack.stack.pipeline import LOCAL_TOKEN, REPO, LocalPipeline, PipelineOptions
from dnsbatch.model import Outcome
from dnsbatch.sqs_partial import BatchProcessingError

EVENTS = {"FallbackFunction": "fallback.json", "BatcherFunction": "changeset.json"}


def _invoke(p: LocalPipeline, logical: str, event: dict[str, Any]) -> Any:
    spec = p.stack.event_sources(logical)[0]
    context = LambdaContext.start(
        function_name=spec.function_name,
        timeout_seconds=spec.function_timeout,
        memory_limit_in_mb=spec.memory_mb,
    )
    return p.invoke(logical, event, context)


@pytest.mark.parametrize("logical", sorted(EVENTS))
def test_a_refused_token_fails_the_messages_and_the_next_invocation_reads_the_rotated_one(
    logical: str,
) -> None:
    event = json.loads((REPO / "events" / EVENTS[logical]).read_text())
    with LocalPipeline(PipelineOptions(time_scale=0.01)) as p:
        assert p.stack.secret_name is not None
        secrets = p.stack.client("secretsmanager")
        # GIVEN the secret holds a token Cloudflare no longer accepts when the function first reads it
        secrets.put_secret_value(SecretId=p.stack.secret_name, SecretString="revoked-token-0123456789")

        # WHEN the function runs, every message fails (the handler raises when a whole batch failed, as
        # Powertools' batch processor did, so Lambda returns them all to the queue) and no outcome is recorded
        with pytest.raises(BatchProcessingError, match="All records failed"):
            _invoke(p, logical, event)
        assert p.outcomes == []

        # AND once the operator restores a good token, the same warm function uses it on the next call
        secrets.put_secret_value(SecretId=p.stack.secret_name, SecretString=LOCAL_TOKEN)
        second = _invoke(p, logical, event)
        assert second["batchItemFailures"] == []
        assert p.outcomes and all(o.outcome is not Outcome.FAILED or o.cf_code for o in p.outcomes)
        secrets.close()
