"""A stand-in for the Lambda context object, good enough for Powertools.

Powertools' ``inject_lambda_context`` reads ``function_name``, ``memory_limit_in_mb``,
``invoked_function_arn`` and ``aws_request_id``; idempotency and our own deadline logic read
``get_remaining_time_in_millis()``. The remaining time counts down on an injectable clock so tests and
time-scaled local runs see the budget their handler would have in Lambda.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from devstack.stack.template import ACCOUNT_ID


@dataclass
class LambdaContext:
    """The attributes and method of Lambda's Python context object."""

    function_name: str
    memory_limit_in_mb: int
    invoked_function_arn: str
    aws_request_id: str
    log_group_name: str
    log_stream_name: str
    deadline: float
    """When the invocation times out, on ``clock``."""
    clock: Callable[[], float] = field(default=time.monotonic, repr=False)
    function_version: str = "$LATEST"
    identity: Any = None
    client_context: Any = None

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before the (possibly time-scaled) function timeout; never negative."""
        return max(0, int((self.deadline - self.clock()) * 1000))

    @classmethod
    def start(
        cls,
        *,
        function_name: str,
        timeout_seconds: float,
        memory_limit_in_mb: int = 128,
        region: str = "us-east-1",
        account_id: str = ACCOUNT_ID,
        log_group_name: str | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> LambdaContext:
        """A context for an invocation starting now, with ``timeout_seconds`` of budget."""
        request_id = str(uuid.uuid4())
        return cls(
            function_name=function_name,
            memory_limit_in_mb=memory_limit_in_mb,
            invoked_function_arn=f"arn:aws:lambda:{region}:{account_id}:function:{function_name}",
            aws_request_id=request_id,
            log_group_name=log_group_name or f"/aws/lambda/{function_name}",
            log_stream_name=f"{time.strftime('%Y/%m/%d')}/[$LATEST]{request_id.replace('-', '')}",
            deadline=clock() + timeout_seconds,
            clock=clock,
        )
