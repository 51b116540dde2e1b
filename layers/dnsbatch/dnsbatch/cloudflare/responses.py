"""Cloudflare's response envelope (docs/architecture.md#the-batch-endpoint): a result to parse, or the error
it stands for."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import httpx

from dnsbatch.cloudflare.errors import CloudflareError, error_from_response, malformed
from dnsbatch.cloudflare.retry import parse_retry_after
from dnsbatch.cloudflare.types import BatchResult, Record, Zone

T = TypeVar("T")


def interpret(
    method: str,
    path: str,
    response: httpx.Response,
    parse: Callable[[Mapping[str, Any]], T],
    *,
    redact: Callable[[str], str],
) -> T | CloudflareError:
    """``parse(payload)`` for a successful envelope; otherwise the error (never raised) the response means.

    A 2xx whose result does not have the expected shape is a malformed-response error, not an exception.
    ``redact`` scrubs the token from any text taken from the response or an exception.
    """
    status = response.status_code
    ray_id = response.headers.get("cf-ray")
    try:
        payload: object = response.json()
    except ValueError:  # JSONDecodeError and UnicodeDecodeError
        payload = None
    if 200 <= status < 300 and isinstance(payload, Mapping) and payload.get("success") is not False:
        try:
            return parse(payload)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            problem = f"unexpected result ({type(exc).__name__}: {redact(str(exc))})"
            return malformed(method, path, status, problem, ray_id=ray_id)
    retry_after = parse_retry_after(response.headers.get("retry-after"), now_wall=time.time())
    return error_from_response(
        method,
        path,
        status,
        payload,
        text=response.text if payload is None else "",
        retry_after=retry_after,
        ray_id=ray_id,
        redact=redact,
    )


def int_or(value: object, default: int) -> int:
    """``value`` if it is a positive integer (not a bool), else ``default``."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else default


def _result(payload: Mapping[str, Any]) -> Any:
    if "result" not in payload:
        raise KeyError("result")
    return payload["result"]


def parse_zones(payload: Mapping[str, Any]) -> list[Zone]:
    """The zones of a ``GET /zones`` envelope."""
    result = _result(payload)
    if not isinstance(result, list):
        raise TypeError("result is not a list of zones")
    return [Zone.from_api(z) for z in result]


def parse_page(payload: Mapping[str, Any]) -> tuple[list[Record], Mapping[str, Any]]:
    """One page of records and its ``result_info`` (empty when absent)."""
    result = _result(payload)
    if not isinstance(result, list):
        raise TypeError("result is not a list of records")
    info = payload.get("result_info")
    return [Record.from_api(r) for r in result], info if isinstance(info, Mapping) else {}


def parse_record(payload: Mapping[str, Any]) -> Record:
    """The single record of a get/create/put/patch envelope."""
    result = _result(payload)
    if not isinstance(result, Mapping):
        raise TypeError("result is not a record object")
    return Record.from_api(result)


def parse_batch(payload: Mapping[str, Any]) -> BatchResult:
    """The result of a ``POST .../dns_records/batch`` envelope."""
    result = _result(payload)
    if not isinstance(result, Mapping):
        raise TypeError("result is not a batch result object")
    return BatchResult.from_api(result)


def parse_deleted(payload: Mapping[str, Any]) -> str:
    """The id of the record a ``DELETE`` envelope reports gone."""
    result = _result(payload)
    if not isinstance(result, Mapping):
        raise TypeError("result is not an object with an id")
    return str(result["id"])
