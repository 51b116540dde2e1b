"""Integration fixtures: one moto server per test session (moto keeps state per process, so each test's
stack gets its own name) and a fresh emulator + stack + handlers per test."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from integration_helpers import PipelineFactory

from devstack.emulator import ZoneSpec
from devstack.stack.pipeline import LocalPipeline, PipelineOptions

# Distinctive, so that a leak anywhere (logs, reports, queues) is found by a plain substring search.
TOKEN = "cfut-SECRET-0123456789abcdefTOKEN"


@pytest.fixture
def make_pipeline(moto_endpoint: str) -> Iterator[PipelineFactory]:
    """Build and start a pipeline; on teardown assert every Cloudflare request matched the OpenAPI spec and
    that the token never reached a log line or a queue."""
    started: list[LocalPipeline] = []

    def make(
        *, zones: tuple[ZoneSpec, ...] = (ZoneSpec("example.com"),), time_scale: float = 0.01, **kwargs: Any
    ) -> LocalPipeline:
        options = PipelineOptions(
            zones=zones, time_scale=time_scale, token=TOKEN, moto_endpoint=moto_endpoint, **kwargs
        )
        pipeline = LocalPipeline(options).__enter__()
        started.append(pipeline)
        return pipeline

    yield make
    for pipeline in started:
        try:
            if pipeline.emulator is not None:
                assert pipeline.emulator.spec_violations == []
            assert TOKEN not in pipeline.logs()
            for queue in pipeline.stack.queue_urls:
                for message in pipeline.read_queue(queue):
                    assert TOKEN not in json.dumps(message)
        finally:
            pipeline.__exit__(None, None, None)
