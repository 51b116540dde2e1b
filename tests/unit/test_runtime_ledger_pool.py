"""The Ledger's DynamoDB client keeps a connection for each of the Ledger's threads: with botocore's default
of 10, every burst of claims or marks from 16 threads opened (and threw away) 6 connections, a TLS handshake
each in Lambda."""

from __future__ import annotations

import pytest
from aws_lambda_powertools import Logger, Metrics

from dnsbatch import ledger
from dnsbatch.runtime import Runtime


def test_the_ledger_client_pools_a_connection_per_ledger_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEDGER_TABLE", "t")
    monkeypatch.setenv("ZONES", "example.com")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    runtime = Runtime("aggregator", Logger(service="pool-test"), Metrics(namespace="test"))
    try:
        assert runtime.ledger.client.meta.config.max_pool_connections == ledger.CONCURRENCY > 10
    finally:
        runtime.close()
