"""DNS name normalisation: every name dnsbatch handles is a lowercase punycode FQDN without a trailing dot.

Cloudflare stores names in punycode and compares them case-insensitively
(docs/architecture.md#records-and-listing, #per-type-and-zone-rules), so the
same record set must get the same key however a producer spelled it.

Internationalised names are converted with the ``idna`` package: IDNA 2008 (RFC 5891) after UTS 46
mapping, non-transitional, which is what registries and current browsers use: ``Straße`` becomes
``xn--strae-oqa`` (IDNA 2003, the standard library's codec, made it ``strasse``, another domain).
A label IDNA 2008 refuses (an emoji, a symbol) is refused with the reason (docs/record-values.md).
ASCII labels are not passed through IDNA: they keep the rules below (underscores, ``*``), and an
``xn--`` label is taken as it is. ``idna`` is imported on the first non-ASCII name only.
"""

from __future__ import annotations

import re
from functools import lru_cache

MAX_LABEL = 63
MAX_NAME = 253

# Cloudflare accepts any octet in a name; we accept the visible ASCII that real zones use (LDH,
# underscore for _service labels, '*' for wildcards or literal stars, '/' for RFC 2317 reverse zones)
# and refuse the rest, which in practice only ever comes from a templating bug.
_NAME_LABEL = re.compile(r"[a-z0-9_*/-]+")
# Targets of CNAME/NS/PTR/MX/SRV... are host names: no '*' or '/'.
_HOST_LABEL = re.compile(r"[a-z0-9_-]+")


# The trailing underscore avoids shadowing the builtin NameError.
class NameError_(ValueError):
    """A name that cannot be used; the message says why and what is allowed."""


def _idna_labels(name: str) -> list[str]:
    """The labels of a name that holds non-ASCII text: UTS 46 mapping (case folding, full-width dots),
    then each non-ASCII label to its IDNA 2008 A-label. ASCII labels are only lowercased."""
    import idna  # noqa: PLC0415  # only non-ASCII names need it (its tables are large): not at import time

    try:
        mapped = idna.uts46_remap(name, std3_rules=False, transitional=False)
    except idna.IDNAError as exc:
        raise NameError_(f"{name!r} is not a valid internationalised name (IDNA 2008: {exc})") from None
    out: list[str] = []
    for label in mapped.split("."):
        if label.isascii():
            out.append(label.lower())
            continue
        try:
            out.append(idna.alabel(label).decode("ascii"))
        except idna.IDNAError as exc:
            raise NameError_(
                f"{name!r}: label {label!r} is not a valid internationalised label "
                f"(IDNA 2008 refuses it: {exc})"
            ) from None
    return out


def _labels(name: str, *, pattern: re.Pattern[str], what: str) -> list[str]:
    """Split ``name`` (no trailing dot) into validated lowercase ASCII labels."""
    labels = name.lower().split(".") if name.isascii() else _idna_labels(name)
    out: list[str] = []
    for ascii_label in labels:
        if not ascii_label:
            raise NameError_(f"{name!r} has an empty label (two dots in a row, or a leading dot)")
        if len(ascii_label) > MAX_LABEL:
            raise NameError_(
                f"{name!r}: label {ascii_label[:20]!r}... is {len(ascii_label)} characters "
                f"(DNS labels are at most {MAX_LABEL})"
            )
        if not pattern.fullmatch(ascii_label):
            extra = ", and * for wildcards" if pattern is _NAME_LABEL else ""
            raise NameError_(
                f"{name!r}: label {ascii_label!r} has characters not allowed in {what} "
                f"(use letters, digits, '-' and '_'{extra})"
            )
        out.append(ascii_label)
    fqdn = ".".join(out)
    if len(fqdn) > MAX_NAME:
        raise NameError_(f"{name!r} is {len(fqdn)} characters long (a DNS name is at most {MAX_NAME})")
    return out


# A handful of zones are normalised once per change; caching makes that free.
@lru_cache(maxsize=256)
def normalize_zone(zone: str) -> str:
    """Return the zone name as a lowercase punycode FQDN without trailing dot.

    Raises :class:`NameError_` for an empty or malformed zone name.
    """
    text = zone.strip()
    if text.endswith("."):
        text = text[:-1]
    if not text:
        raise NameError_("zone name is empty (expected e.g. example.com)")
    if "*" in text:
        raise NameError_(f"{zone!r}: a zone name cannot contain '*'")
    return ".".join(_labels(text, pattern=_NAME_LABEL, what="a zone name"))


# Busy windows repeat the same names (and the same value targets) many times; names are at most 254
# characters (events.py), so the caches stay small.
@lru_cache(maxsize=4096)
def normalize_name(name: str, zone: str) -> str:
    """Return the record name as a lowercase punycode FQDN inside ``zone``.

    ``@`` is the zone apex; a name ending in a dot is absolute and must lie inside the zone; any other
    name is taken as an FQDN when it ends with the zone name and as relative to the zone otherwise
    (``www`` → ``www.example.com``). This mirrors how Cloudflare's API reads the ``name`` field.
    ``*`` is a wildcard only as the whole first label; anywhere else Cloudflare treats it as a literal
    character, and so do we (it is kept as is).

    Raises :class:`NameError_` with a message naming the problem.
    """
    zone_fqdn = normalize_zone(zone)
    text = name.strip()
    if not text:
        raise NameError_("name is empty (use '@' for the zone apex, or a name like 'www')")
    if text == "@":
        return zone_fqdn
    absolute = text.endswith(".")
    if absolute:
        text = text[:-1]
        if not text:
            raise NameError_("name '.' is the DNS root, which is outside any zone")
    fqdn = ".".join(_labels(text, pattern=_NAME_LABEL, what="a record name"))
    in_zone = fqdn == zone_fqdn or fqdn.endswith("." + zone_fqdn)
    if absolute and not in_zone:
        raise NameError_(f"{name!r} is outside the zone {zone_fqdn!r} (names must end with the zone name)")
    if not in_zone:
        fqdn = f"{fqdn}.{zone_fqdn}"
        if len(fqdn) > MAX_NAME:
            raise NameError_(
                f"{name!r} relative to {zone_fqdn!r} is {len(fqdn)} characters long "
                f"(a DNS name is at most {MAX_NAME})"
            )
    return fqdn


@lru_cache(maxsize=4096)
def normalize_hostname(target: str) -> str:
    """Return a record *target* (CNAME, NS, PTR, MX, SRV...) as lowercase punycode without trailing dot.

    Targets are always read as absolute names, with or without the trailing dot, because Cloudflare
    does so and strips the dot. Raises :class:`NameError_`.
    """
    text = target.strip()
    if text.endswith("."):
        text = text[:-1]
    if not text:
        raise NameError_(f"{target!r} is not a host name (expected e.g. host.example.com)")
    return ".".join(_labels(text, pattern=_HOST_LABEL, what="a host name"))
