"""Cloudflare's per-plan limits that dnsbatch plans against: the one place these numbers live.

Sources and what is documented vs guessed: docs/emulator.md (the emulator enforces the same numbers).
"""

from __future__ import annotations

# Plans whose limits differ from Free: 3,500 operations per batch and records per zone, 500-character
# comments, tags allowed.
PAID_PLANS = frozenset({"pro", "business", "enterprise"})

# Operations Cloudflare takes in one POST /zones/{id}/dns_records/batch.
FREE_BATCH_LIMIT = 200
PAID_BATCH_LIMIT = 3500


def batch_limit(plan: str) -> int:
    return PAID_BATCH_LIMIT if plan in PAID_PLANS else FREE_BATCH_LIMIT
