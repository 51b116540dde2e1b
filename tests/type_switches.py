"""Type switches a name goes through (the old type's set deleted, the new type's upserted in the same
window), shared by the functional and integration tests of the fallback and the bisection."""

from __future__ import annotations

import pytest

# (old type, old values, new type, new values)
SWITCHES = pytest.mark.parametrize(
    ("old_type", "old_values", "new_type", "new_values"),
    [
        ("CNAME", ["old.example.net"], "A", ["192.0.2.7"]),
        ("A", ["192.0.2.7", "192.0.2.8"], "CNAME", ["new.example.net"]),
        ("MX", ["10 mx1.example.net", "20 mx2.example.net"], "CNAME", ["new.example.net"]),
    ],
    ids=["CNAME->A", "A->CNAME", "MX->CNAME"],
)
