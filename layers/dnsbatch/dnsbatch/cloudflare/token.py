"""The API token: checked once, never shown by a repr, and scrubbed from any text we pass on."""

from __future__ import annotations

import re

# RFC 6750 b64token. Anything else (a trailing newline from a secret, a quote) would either break the header
# or make httpx/h11 raise an error whose text quotes the header value, token included.
_TOKEN_RE = re.compile(r"[A-Za-z0-9\-._~+/]+=*")

# A toy token such as "t" (emulator tests) would shred every message; real tokens are 40 characters.
_MIN_REDACTED_LEN = 8


class Secret:
    """Holds the token so that repr/vars/debuggers of the client never show it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    @classmethod
    def checked(cls, token: str) -> Secret:
        """Strip surrounding whitespace and refuse a token that cannot be sent as a bearer token.

        The messages never quote the token.
        """
        token = token.strip()
        if not token:
            raise ValueError("the Cloudflare API token is empty")
        if not _TOKEN_RE.fullmatch(token):
            raise ValueError(
                "the Cloudflare API token has characters a bearer token cannot contain "
                "(whitespace, quotes or non-ASCII); check how it was stored"
            )
        return cls(token)

    def reveal(self) -> str:
        """The token itself, for the Authorization header only."""
        return self._value

    def redact(self, text: str) -> str:
        """``text`` with every occurrence of the token replaced by ``[REDACTED]``."""
        token = self._value
        return text.replace(token, "[REDACTED]") if len(token) >= _MIN_REDACTED_LEN else text

    def __repr__(self) -> str:
        return "<redacted>"

    __str__ = __repr__
