"""How an HTTP answer maps onto the error hierarchy, and what the messages say."""

from __future__ import annotations

import pytest

from dnsbatch.cloudflare import (
    AuthenticationError,
    CloudflareError,
    RateLimitedError,
    RejectedError,
    TransientError,
)
from dnsbatch.cloudflare.errors import ApiErrorDetail, error_from_response

BATCH = "/zones/023e105f4ecef8ad9ca31a8372d0c353/dns_records/batch"


def body(*errors: tuple[int, str]) -> dict[str, object]:
    return {
        "success": False,
        "result": None,
        "messages": [],
        "errors": [{"code": c, "message": m} for c, m in errors],
    }


def test_a_validation_error_is_a_rejection_with_an_actionable_message() -> None:
    error = error_from_response("POST", BATCH, 400, body((81058, "An identical record already exists.")))
    assert type(error) is RejectedError
    assert str(error) == f"POST {BATCH} rejected (HTTP 400): 81058 An identical record already exists."
    assert error.codes == (81058,)
    assert error.errors == (ApiErrorDetail(81058, "An identical record already exists."),)
    assert (error.method, error.path, error.status) == ("POST", BATCH, 400)


def test_several_cloudflare_errors_are_all_reported() -> None:
    error = error_from_response(
        "POST", BATCH, 400, body((9005, "Content for A record is invalid."), (9021, "TTL"))
    )
    assert error.codes == (9005, 9021)
    assert "9005 Content for A record is invalid.; 9021 TTL" in str(error)


def test_the_legacy_1004_wrapper_exposes_the_root_cause_codes() -> None:
    legacy = {
        "success": False,
        "errors": [
            {
                "code": 1004,
                "message": "DNS Validation Error",
                "error_chain": [{"code": 9005, "message": "bad A"}],
            }
        ],
    }
    assert error_from_response("POST", BATCH, 400, legacy).codes == (1004, 9005)


@pytest.mark.parametrize("status", [404, 409, 422])
def test_other_client_errors_are_rejections(status: int) -> None:
    error = error_from_response(
        "DELETE", "/zones/z/dns_records/r", status, body((81044, "Record does not exist."))
    )
    assert type(error) is RejectedError
    assert error.status == status


@pytest.mark.parametrize(
    ("status", "code"),
    [(401, 10000), (403, 10000), (403, 9109), (400, 9106)],
)
def test_credential_problems_are_authentication_errors_not_rejections(status: int, code: int) -> None:
    error = error_from_response("GET", "/zones", status, body((code, "Authentication error")))
    assert isinstance(error, AuthenticationError)
    assert not isinstance(error, RejectedError)
    assert "token" in str(error)  # tells the operator where to look


def test_429_is_rate_limited_and_carries_retry_after() -> None:
    error = error_from_response("POST", BATCH, 429, body((971, "Please wait")), retry_after=30.0)
    assert isinstance(error, RateLimitedError)
    assert error.retry_after == 30.0
    assert str(error) == f"POST {BATCH} rate limited (HTTP 429, Retry-After 30 s): 971 Please wait"


@pytest.mark.parametrize("status", [500, 502, 503, 504, 408])
def test_server_errors_are_transient(status: int) -> None:
    assert isinstance(error_from_response("GET", "/zones", status, body((0, "oops"))), TransientError)


def test_a_non_json_error_page_is_quoted_briefly() -> None:
    error = error_from_response("GET", "/zones", 502, None, text="<html>" + "x" * 500 + "</html>")
    assert isinstance(error, TransientError)
    assert "non-JSON body '<html>xxx" in str(error)
    assert len(str(error)) < 250


def test_a_2xx_without_usable_envelope_is_malformed_and_transient() -> None:
    error = error_from_response("GET", "/zones", 200, ["not", "an", "envelope"])
    assert isinstance(error, TransientError)
    assert error.kind == "malformed"


def test_a_2xx_with_success_false_is_a_rejection() -> None:
    assert isinstance(error_from_response("GET", "/zones", 200, body((1000, "x"))), RejectedError)


def test_server_text_is_passed_through_the_redactor() -> None:
    error = error_from_response(
        "GET", "/zones", 400, body((6003, "bad header sekrit")), redact=lambda s: s.replace("sekrit", "[R]")
    )
    assert "sekrit" not in str(error)
    assert error.errors[0].message == "bad header [R]"


def test_the_attempt_count_is_part_of_the_final_message() -> None:
    error = TransientError("GET /zones failed", method="GET", path="/zones")
    error.attempts = 5
    assert str(error) == "GET /zones failed [gave up after 5 attempts]"
    assert repr(error) == "TransientError('GET /zones failed [gave up after 5 attempts]')"


def test_every_error_is_a_cloudflare_error() -> None:
    for cls in (RateLimitedError, TransientError, RejectedError, AuthenticationError):
        assert issubclass(cls, CloudflareError)
