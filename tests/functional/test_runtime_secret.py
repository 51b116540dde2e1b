"""Each runtime reads the token secret through a provider of its own: a second container (or stack) in the
same process must not be served the first one's cached token or endpoint."""

from __future__ import annotations

import uuid

import boto3
import pytest
from aws_lambda_powertools import Logger, Metrics

from dnsbatch.runtime import Runtime

FIRST, SECOND = "tok-first-0123456789", "tok-second-0123456789"


def test_a_new_runtime_reads_the_secret_afresh(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> None:
    name = f"dnsbatch/test-{uuid.uuid4().hex[:8]}"
    env = {
        "AWS_ENDPOINT_URL": moto_endpoint,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "CLOUDFLARE_API_TOKEN_SECRET": name,
        "ZONES": "example.com",
        "POWERTOOLS_METRICS_NAMESPACE": "dnsbatch-test",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    secrets = boto3.client("secretsmanager")
    secrets.create_secret(Name=name, SecretString=FIRST)

    def runtime() -> Runtime:
        return Runtime("batcher", Logger(service=f"rt-{uuid.uuid4().hex[:6]}"), Metrics())

    first = runtime()
    assert first._token() == FIRST
    secrets.put_secret_value(SecretId=name, SecretString=SECOND)
    # GIVEN the first runtime's cache still holds the old value, a second runtime must see the new one
    assert first._token() == FIRST
    second = runtime()
    assert second._token() == SECOND
    for rt in (first, second):
        rt.close()
    secrets.close()
