"""The API token never appears in a log line (ours, httpx's, httpcore's), an exception, a repr or a hook
payload."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from client_fakes import BASE_URL, TOKEN, ZONE_ID, envelope, failure, log_text, record

from dnsbatch.cloudflare import CloudflareClient, CloudflareError, RequestInfo, RetryPolicy

MakeClient = Callable[..., CloudflareClient]
Answer = Callable[[httpx.Request], httpx.Response]


def echo_auth(request: httpx.Request) -> str:
    """What a careless server (or proxy) might echo back: the credentials it received."""
    return str(request.headers.get("authorization", ""))


def raise_with(exc: type[httpx.RequestError]) -> Answer:
    def answer(request: httpx.Request) -> httpx.Response:
        raise exc(f"failed while sending {echo_auth(request)}", request=request)

    return answer


def respond(
    status: int, body: Callable[[httpx.Request], object], headers: dict[str, str] | None = None
) -> Answer:
    def answer(request: httpx.Request) -> httpx.Response:
        content = body(request)
        if isinstance(content, str):
            return httpx.Response(status, text=content, headers=headers)
        return httpx.Response(status, json=content, headers=headers)

    return answer


FAULTS: dict[str, Answer] = {
    "5xx with echo": respond(500, lambda r: failure(0, f"internal error for {echo_auth(r)}")),
    "non-JSON 502 with echo": respond(502, lambda r: f"<html>bad gateway {echo_auth(r)}</html>"),
    "429": respond(429, lambda r: failure(971, f"slow down {echo_auth(r)}"), {"Retry-After": "1"}),
    "400 rejection with echo": respond(400, lambda r: failure(81058, f"dup {echo_auth(r)}")),
    "401": respond(401, lambda r: failure(10000, f"Authentication error: {echo_auth(r)}")),
    "403 code 9109": respond(403, lambda r: failure(9109, "Invalid access token")),
    "400 code 9106": respond(
        400, lambda r: failure(9106, "Missing X-Auth-Key, X-Auth-Email or Authorization")
    ),
    "malformed 200": respond(200, lambda r: f"{{truncated {echo_auth(r)}"),
    "wrong result shape": respond(200, lambda r: envelope([echo_auth(r)])),
    "read timeout": raise_with(httpx.ReadTimeout),
    "connect timeout": raise_with(httpx.ConnectTimeout),
    "connect error": raise_with(httpx.ConnectError),
    "dropped connection": raise_with(httpx.RemoteProtocolError),
    "local protocol error": raise_with(httpx.LocalProtocolError),
}


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_the_token_appears_in_no_error_log_or_hook_payload_in_any_fault_mode(
    make_client: MakeClient, all_logs: pytest.LogCaptureFixture, fault: str
) -> None:
    payloads: list[RequestInfo] = []
    client = make_client(FAULTS[fault], retry=RetryPolicy(max_attempts=3), on_request=payloads.append)
    texts: list[str] = []
    calls: list[Callable[[], object]] = [
        lambda: client.batch(ZONE_ID, {"posts": []}),
        lambda: client.list_records(ZONE_ID, name="www.example.com"),
        lambda: client.delete_record(ZONE_ID, "a" * 32),
    ]
    for call in calls:
        with pytest.raises(CloudflareError) as info:
            call()
        error = info.value
        texts += [str(error), repr(error), repr(vars(error)), repr(error.args)]
        texts += [str(e) for e in error.errors]
    texts += [log_text(all_logs), repr(payloads), repr(client)]
    assert payloads, "the hook was called"
    assert all_logs.records, "something was logged"
    blob = "\n".join(texts)
    assert TOKEN not in blob
    assert TOKEN[:12] not in blob  # no partial leak either


def test_the_token_is_absent_from_logs_of_successful_calls(
    make_client: MakeClient, all_logs: pytest.LogCaptureFixture
) -> None:
    client = make_client(lambda r: httpx.Response(200, json=envelope(record())))
    client.get_record(ZONE_ID, "a" * 32)
    assert all_logs.records
    assert TOKEN not in log_text(all_logs)


def test_the_token_is_absent_from_httpx_logs_of_a_real_connection_pool(
    all_logs: pytest.LogCaptureFixture,
) -> None:
    # The default (owned) pool, pointed at a closed loopback port: httpcore logs its connect attempts.
    client = CloudflareClient("http://127.0.0.1:9/client/v4", TOKEN, sleep=lambda s: None, timeout=0.5)
    with client, pytest.raises(CloudflareError) as info:
        client.zone_by_name("example.com")
    assert TOKEN not in log_text(all_logs) + str(info.value) + repr(info.value)
    assert any(r.name.startswith("httpcore") for r in all_logs.records)


def test_the_base_url_is_never_a_place_for_the_token() -> None:
    client = CloudflareClient(BASE_URL, TOKEN)
    with client:
        assert TOKEN not in repr(client)
        assert TOKEN not in repr(vars(client))


def test_a_toy_token_does_not_shred_error_messages() -> None:
    # Redaction is meant for real tokens; a one-letter emulator token must not turn "batch" into "ba[...]ch".
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, json=failure(9207, "Every batch delete needs an id."))

    with httpx.Client(transport=httpx.MockTransport(answer)) as http:
        client = CloudflareClient(BASE_URL, "t", http=http)
        with pytest.raises(CloudflareError) as info:
            client.batch(ZONE_ID, {})
    assert str(info.value).endswith("9207 Every batch delete needs an id.")
