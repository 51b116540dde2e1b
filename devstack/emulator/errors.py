"""Cloudflare API errors as the emulator raises them, and the error codes it uses.

Codes come from docs/architecture.md#errors-and-codes (observed). Where Cloudflare documents no code, the
constant
is marked INVENTED: a client must not rely on its exact value, only on it being a 4xx.
"""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """A Cloudflare API error: HTTP status plus one ``{code, message}`` entry of the envelope."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message

    def to_error(self) -> dict[str, Any]:
        """The entry for the envelope's ``errors`` list."""
        return {"code": self.code, "message": self.message}


# Routing and request shape.
NO_ROUTE = 7000  # "No route for that URI" (HTTP 404)
METHOD_NOT_ALLOWED = 7001  # "Method not allowed for this route" (HTTP 405)
INVALID_IDENTIFIER = 7003  # "Could not route to ..., perhaps your object identifier is invalid?"
MALFORMED_JSON = 6007  # "Malformed JSON in request body"
INVALID_HEADERS = 6003  # "Invalid request headers"
INVALID_AUTH_FORMAT = 6111  # "Invalid format for Authorization header"
MISSING_AUTH = 9106  # HTTP 400
AUTH_ERROR = 10000  # HTTP 403
RATE_LIMITED = 971  # HTTP 429
INVALID_REQUEST = 9207  # INVENTED: body is valid JSON but not the expected shape (e.g. not an object)
INVALID_QUERY = 9208  # INVENTED: a query parameter of the wrong type or out of range
INTERNAL_FAULT = 10001  # INVENTED: injected 5xx (real edge 5xx are often HTML; we keep the envelope)

# Record validation (HTTP 400, flat form: the 1004 wrapper was retired on 2024-10-01).
INVALID_NAME = 9000  # INVENTED: "DNS name is invalid."
PROXIED_NOT_BOOLEAN = 9003
TYPE_NOT_PROXIABLE = 9004
INVALID_A = 9005
INVALID_AAAA = 9006
INVALID_CNAME = 9007
INVALID_CONTENT = 9008  # INVENTED: TXT/MX/NS/PTR/... content does not fit its type
INVALID_PRIORITY = 9009  # INVENTED: observed text "priority is a required field", code unknown
INVALID_DATA = 9010  # INVENTED: structured `data` (SRV, CAA, ...) missing or out of range
INVALID_TYPE = 9011  # INVENTED: unknown or missing record type
INVALID_FIELD = 9012  # INVENTED: a field of the wrong JSON type (settings not an object, ...)
INVALID_TTL = 9021
TARGET_NOT_PROXIABLE = 9041
INVALID_COMMENT = 9101  # INVENTED: comment too long for the plan or containing a newline
TAGS_QUOTA = 9300  # "DNS record has N tags, exceeding the quota of M."
INVALID_TAG = 9301  # INVENTED: a tag not in `name:value` form or over the length limits
BATCH_TOO_LARGE = 9302  # INVENTED: Cloudflare documents the per-plan batch limit but no error code

# Zone state.
RECORD_NOT_FOUND = 81044  # HTTP 404 (likely 404, not verified: docs/architecture.md#errors-and-codes)
RECORD_QUOTA = 81045
CNAME_CONFLICT = 81053  # "An A, AAAA, or CNAME record with that host already exists."
HOST_HAS_CNAME = 81054  # "A CNAME record with that host already exists."
NS_CONFLICT = 81056  # INVENTED: NS cannot share a name with any other type (documented, code unknown)
IDENTICAL_RECORD = 81058  # "An identical record already exists."
ZONE_NOT_FOUND = INVALID_IDENTIFIER  # a well-formed but unknown zone id routes nowhere either


def bad_request(code: int, message: str) -> ApiError:
    """A validation error: Cloudflare answers these with HTTP 400."""
    return ApiError(400, code, message)
