"""The token secret may hold the bare token or JSON holding it; a secret we cannot read fails without
quoting the secret."""

from __future__ import annotations

import json

import pytest

from dnsbatch.runtime import _token_from_secret

TOKEN = "cfut-RUNTIME-0123456789abcdefSECRET"


@pytest.mark.parametrize(
    "raw",
    [
        TOKEN,
        f"  {TOKEN}\n",
        TOKEN.encode(),
        json.dumps({"token": TOKEN}),
        json.dumps({"api_token": f" {TOKEN} "}),
        json.dumps({"CLOUDFLARE_API_TOKEN": TOKEN}),
        f'\n  {{"token": "{TOKEN}", "note": "rotated monthly"}}  ',
        {"token": TOKEN},
    ],
    ids=[
        "bare",
        "whitespace",
        "bytes",
        "json-token",
        "json-api_token",
        "json-env-name",
        "json-padded",
        "dict",
    ],
)
def test_the_token_is_found_in_every_supported_secret_shape(raw: str | bytes | dict[str, str]) -> None:
    assert _token_from_secret(raw) == TOKEN


def test_token_field_wins_over_api_token() -> None:
    assert _token_from_secret(json.dumps({"api_token": "second", "token": TOKEN})) == TOKEN


@pytest.mark.parametrize(
    "raw",
    [
        json.dumps({"value": TOKEN}),
        json.dumps({"token": "", "secret": TOKEN}),
        json.dumps({"token": 12345, "other": TOKEN}),
    ],
    ids=["other-field", "empty-token", "non-string-token"],
)
def test_json_without_a_token_field_fails_without_quoting_the_secret(raw: str) -> None:
    with pytest.raises(ValueError) as excinfo:
        _token_from_secret(raw)

    message = str(excinfo.value)
    assert "'token'" in message and "'api_token'" in message
    assert TOKEN not in message
    assert TOKEN not in repr(excinfo.value)


def test_malformed_json_fails_without_quoting_the_secret() -> None:
    with pytest.raises(ValueError) as excinfo:
        _token_from_secret('{"token": "' + TOKEN)

    assert TOKEN not in str(excinfo.value)
    assert TOKEN not in repr(excinfo.value)
