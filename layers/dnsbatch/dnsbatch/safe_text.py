"""Text that every later stage can carry: UTF-8 (logs, SQS, httpx's JSON) and SQS's character set.

``json.loads`` accepts ``"\\ud800"`` (a lone UTF-16 surrogate), which no UTF-8 encoder takes: one such
character in a log line, an SQS message or a Cloudflare request body raises ``UnicodeEncodeError`` far from
where it came in. SQS is stricter still: message bodies and attribute values may hold only #x9, #xA,
#xD, #x20-#xD7FF, #xE000-#xFFFD and #x10000-#x10FFFF (SQS's SendMessage reference), so U+FFFE, U+FFFF
and most C0 controls are refused too.

Anything dnsbatch *writes about* an input (a rejection reason, a field path, a value shown in a message,
a producer's source or id in a log line) goes through :func:`escape`, which replaces every such character
with a visible ``\\uXXXX`` escape. Inputs themselves are never repaired: :mod:`dnsbatch.events` rejects a
change holding such text (see docs/event-contract.md).
"""

from __future__ import annotations

import json
import re

__all__ = ["encodable", "escape", "first_surrogate", "json_log_line", "show", "sqs_safe"]

# C0 and C1 controls and DEL (tab, LF and CR too: a reason is one line), lone surrogates, the two
# noncharacters SQS refuses, and the Unicode line/paragraph separators (a log line must stay one line).
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff\u2028\u2029]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_NOT_SQS = re.compile("[^\x09\x0a\x0d\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def escape(text: str) -> str:
    """``text`` with every character that UTF-8, SQS or a one-line log cannot hold written as ``\\uXXXX``."""
    return _UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def first_surrogate(text: str) -> int | None:
    """The index of the first lone surrogate in ``text`` (which no UTF-8 encoder takes), or None."""
    match = _SURROGATE.search(text)
    return None if match is None else match.start()


def encodable(text: str) -> bool:
    """Whether ``text`` encodes as UTF-8 (Python strings hold no surrogate pairs, so: no surrogate)."""
    return _SURROGATE.search(text) is None


def json_log_line(obj: object) -> str:
    """A serializer for Powertools' Logger (``Logger(json_serializer=...)``): Powertools' own writes with
    ``ensure_ascii=False`` (readable non-ASCII), which lets a lone surrogate through to stdout, where
    encoding it fails and the line (maybe an outcome) is lost. Same output otherwise: only lone surrogates,
    which can only sit inside JSON strings, are written as ``\\uXXXX`` escapes."""
    text = json.dumps(obj, default=str, separators=(",", ":"), ensure_ascii=False)
    return _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def sqs_safe(text: str) -> bool:
    """Whether SQS takes ``text`` as a message body or attribute value (which implies valid UTF-8)."""
    return _NOT_SQS.search(text) is None


def show(value: object, limit: int = 80) -> str:
    """``value`` as JSON for a message to a person, cut to ``limit`` characters and :func:`escape` d.

    Never raises: a value too deep or too odd for ``json.dumps`` is described by its type instead, and a
    huge integer by its number of digits (``json.dumps`` refuses integers above 4,300 digits).
    """
    if isinstance(value, int) and not isinstance(value, bool) and abs(value).bit_length() > 128:
        return f"an integer of about {int(abs(value).bit_length() * 0.30103) + 1} digits"
    if isinstance(value, str) and len(value) > limit:
        value = value[:limit]  # no need to encode a megabyte to show 80 characters of it
    try:
        text = json.dumps(value, ensure_ascii=False, default=str)
    except (ValueError, TypeError, RecursionError):
        text = f"a {type(value).__name__}"
    text = escape(text)
    return text if len(text) <= limit else text[: limit - 3] + "..."
