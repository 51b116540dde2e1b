"""The owner marker dnsbatch keeps in a record's comment (docs/ownership.md).

Ownership lives in the comment, not in tags, because tags do not exist on Free zones (Cloudflare answers
9300) and a separate TXT registry record (external-dns's way) costs a record per record against the zone's
record quota. The marker is the comment's last token::

    <user comment> [dnsbatch:<owner_id>]      or, with no user comment,      [dnsbatch:<owner_id>]

Only the *trailing* marker counts, so a user comment that itself ends in something marker-like is kept
verbatim and still round-trips.
"""

from __future__ import annotations

import re

# Owner ids are restricted to characters that cannot close the marker or be trimmed away by Cloudflare.
OWNER_ID_PATTERN = r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}"
_OWNER_ID = re.compile(rf"{OWNER_ID_PATTERN}\Z")
_MARKER = re.compile(rf"(?:\A|(?<= ))\[dnsbatch:(?P<owner>{OWNER_ID_PATTERN})\]\Z")

FREE_COMMENT_LIMIT = 100
PAID_COMMENT_LIMIT = 500


def check_owner_id(owner_id: str) -> str:
    """Return ``owner_id`` if it can be carried in a marker; raise ``ValueError`` otherwise."""
    if not _OWNER_ID.match(owner_id):
        raise ValueError(
            f"owner id {owner_id!r} is not usable in a comment marker: use 1-64 characters of "
            "letters, digits, '_', '.' or '-', starting with a letter or digit"
        )
    return owner_id


def marker(owner_id: str) -> str:
    """The marker text for ``owner_id``: ``[dnsbatch:<owner_id>]``."""
    return f"[dnsbatch:{check_owner_id(owner_id)}]"


def with_marker(user_comment: str | None, owner_id: str) -> str:
    """The comment dnsbatch writes: the user's comment (if any), a space, then our marker."""
    tag = marker(owner_id)
    return f"{user_comment} {tag}" if user_comment else tag


def owner_of(comment: str | None) -> str | None:
    """The owner id of the trailing marker in ``comment``, or ``None`` if it carries no marker."""
    if not comment:
        return None
    found = _MARKER.search(comment.rstrip())
    return None if found is None else found.group("owner")


def user_comment(comment: str | None) -> str | None:
    """``comment`` without its trailing marker (``None`` if nothing is left)."""
    if not comment:
        return None
    stripped = comment.rstrip()
    found = _MARKER.search(stripped)
    if found is None:
        return comment
    rest = stripped[: found.start()].rstrip(" ")
    return rest or None


def comment_limit(paid: bool) -> int:
    """Cloudflare's comment length limit: 100 characters on Free, 500 on Pro/Business/Enterprise."""
    return PAID_COMMENT_LIMIT if paid else FREE_COMMENT_LIMIT
