"""The published JSON Schema of the change event (draft 2020-12), shipped as package data.

Runtime validation does not use it (``jsonschema`` is not a runtime dependency); ``dnsbatch.events``
validates by hand and the tests prove the two agree.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

SCHEMA_FILE = "change-event.schema.json"


def load_change_event_schema() -> dict[str, Any]:
    """The change-event schema as a dict."""
    text = resources.files(__name__).joinpath(SCHEMA_FILE).read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema
