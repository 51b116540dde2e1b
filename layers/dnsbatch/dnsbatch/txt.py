"""TXT character-strings (RFC 1035 §3.3): presentation text ⇄ byte strings.

A TXT record is a list of character-strings of at most 255 bytes. Presentation: each string in
double quotes, with \\" \\\\ and \\DDD escapes. Cloudflare adds the quotes to unquoted text on a new
record and splits long text into 255-byte strings (docs/architecture.md#per-type-and-zone-rules), so we do the
same on both sides.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from dnsbatch.safe_text import escape, first_surrogate

__all__ = ["MAX_STRING", "TxtError", "parse_character_strings", "quote", "render_txt", "split_bare_text"]

MAX_STRING = 255


def _show(text: str) -> str:
    shown = text if len(text) <= 80 else text[:77] + "..."
    return escape(json.dumps(shown, ensure_ascii=False))


def _check_encodable(text: str) -> None:
    # json.loads accepts "\ud800"; a TXT string is bytes, and a lone surrogate has no bytes in UTF-8.
    at = first_surrogate(text)
    if at is not None:
        raise TxtError(
            f"{_show(text)} holds a lone UTF-16 surrogate (\\u{ord(text[at]):04x} at character {at}), "
            "which is not text and cannot be encoded as UTF-8"
        )


class TxtError(ValueError):
    """Text that is not a valid list of character-strings; the message says why."""


def parse_character_strings(text: str, *, limit: int | None = MAX_STRING) -> list[bytes]:
    """Parse ``"a" "b\"c"`` into byte strings; anything outside quotes other than spaces is an error."""
    _check_encodable(text)
    strings: list[bytes] = []
    i, n = 0, len(text)
    while True:
        while i < n and text[i].isspace():
            i += 1
        if i == n:
            break
        if text[i] != '"':
            raise TxtError(
                f"unexpected {_show(text[i:])} after a quoted string (write each string in double quotes)"
            )
        i += 1
        buf = bytearray()
        while True:
            if i == n:
                raise TxtError(f"{_show(text)} has an unbalanced quote (a quoted string is not closed)")
            ch = text[i]
            if ch == '"':
                i += 1
                break
            if ch == "\\":
                if i + 1 == n:
                    raise TxtError(f"{_show(text)} ends with a lone backslash")
                digits = text[i + 1 : i + 4]
                if len(digits) == 3 and digits.isascii() and digits.isdigit():
                    if int(digits) > 255:
                        raise TxtError(f"escape \\{digits} in {_show(text)} is not a byte (\\000-\\255)")
                    buf.append(int(digits))
                    i += 4
                    continue
                ch = text[i + 1]
                i += 1
            buf += ch.encode()
            i += 1
        if limit is not None and len(buf) > limit:
            raise TxtError(
                f"a quoted string is {len(buf)} bytes; each TXT string holds at most {limit} "
                f"(split it into several quoted strings, or send it unquoted to have it split)"
            )
        strings.append(bytes(buf))
        if i < n and not text[i].isspace():
            raise TxtError(f"{_show(text)}: quoted strings must be separated by spaces")
    if not strings:
        raise TxtError("TXT value is empty")
    return strings


def split_bare_text(text: str) -> list[bytes]:
    """Unquoted text is one string, cut into 255-byte pieces without splitting a UTF-8 character."""
    if not text:
        raise TxtError("TXT value is empty")
    _check_encodable(text)
    if '"' in text:
        raise TxtError(
            f"{_show(text)} contains a quote but does not start with one: either quote every string "
            '(e.g. "v=spf1 -all") and escape inner quotes as \\", or send text without quotes'
        )
    pieces: list[bytes] = []
    buf = bytearray()
    for ch in text:
        encoded = ch.encode()
        if len(buf) + len(encoded) > MAX_STRING:
            pieces.append(bytes(buf))
            buf = bytearray()
        buf += encoded
    pieces.append(bytes(buf))
    return pieces


def quote(raw: bytes) -> str:
    """Render one character-string quoted; ``parse_character_strings`` reads it back to ``raw``."""
    try:
        chars: list[str] = list(raw.decode("utf-8"))
    except UnicodeDecodeError:
        chars = [chr(b) if b < 0x80 else f"\\{b:03d}" for b in raw]
    out = []
    for ch in chars:
        if ch in ('"', "\\"):
            out.append("\\" + ch)
        elif len(ch) == 1 and (ord(ch) < 0x20 or ord(ch) == 0x7F):
            out.append(f"\\{ord(ch):03d}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def render_txt(strings: Sequence[bytes]) -> str:
    """TXT content as Cloudflare stores it: every string quoted, separated by one space."""
    return " ".join(quote(s) for s in strings)
