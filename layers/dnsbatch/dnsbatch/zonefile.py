"""Zone file → change events: bring an existing zone under dnsbatch (docs/producer-kit.md).

Reads a BIND zone file, or Cloudflare's own export (a BIND file whose records carry ``; <comment>
cf_tags=<tags>`` inline comments, ``cf-proxied:true|false`` among the tags), and gives one ``upsert``
per record set. dnspython reads the records; this module only maps them onto the event contract.

Not imported by the Lambda handlers: dnspython's zone reader is loaded when a zone is imported.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from dnsbatch.ownership import user_comment

__all__ = ["CLOUDFLARE_TYPES", "ZoneFileError", "ZoneImport", "import_zone", "parse_cf_comment"]

# The record types Cloudflare serves (and its API accepts). Records of any other type are skipped and
# counted; a type here that the deployed library does not accept yet is rejected at ingest (`publish`
# checks first and says so).
CLOUDFLARE_TYPES = frozenset(
    {
        "A", "AAAA", "CAA", "CERT", "CNAME", "DNSKEY", "DS", "HTTPS", "LOC", "MX", "NAPTR", "NS",
        "OPENPGPKEY", "PTR", "SMIMEA", "SRV", "SSHFP", "SVCB", "TLSA", "TXT", "URI",
    }
)  # fmt: skip
PROXIABLE = frozenset({"A", "AAAA", "CNAME"})
MIN_TTL, MAX_TTL = 60, 86_400


class ZoneFileError(ValueError):
    """The file is not a zone dnspython can read (the message names the line)."""


@dataclass(slots=True)
class ZoneImport:
    zone: str
    events: list[dict[str, Any]] = field(default_factory=list)
    records: int = 0  # records turned into events
    skipped: Counter[str] = field(default_factory=Counter)  # why → records skipped
    notes: list[str] = field(default_factory=list)

    def jsonl(self) -> str:
        return "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in self.events)

    def summary(self) -> str:
        lines = [
            f"import-zone: {self.zone}: {len(self.events)} record sets ({self.records} records) as upserts"
        ]
        lines += [f"  skipped {n} {why}" for why, n in sorted(self.skipped.items())]
        lines += [f"  note: {note}" for note in self.notes]
        return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class _Attributes:
    comment: str | None = None
    tags: tuple[str, ...] = ()
    proxied: bool | None = None


_CF_TAGS = "cf_tags="
# One tag of a cf_tags list: a name, then optionally :value, the value bare or a JSON string in quotes.
_TAG = re.compile(r'\s*([^,:"\s]+)(?::("(?:[^"\\]|\\.)*"|[^,]*))?\s*(?:,|$)')


def parse_cf_comment(text: str) -> tuple[str | None, list[tuple[str, str | None]]]:
    """Cloudflare's inline record comment → (comment, [(tag, value or None)]).

    The forms Cloudflare documents: ``; cf_tags=a,b:v``, ``; just a comment``, ``; comment cf_tags=a``, and
    a comment that itself holds ``cf_tags=`` written with an extra `` cf_tags=`` at the end. A quoted tag
    value is a JSON string."""
    text = text.strip()
    if text.startswith(_CF_TAGS):
        comment, tags = "", text[len(_CF_TAGS) :]
    elif " " + _CF_TAGS in text:
        comment, _, tags = text.rpartition(" " + _CF_TAGS)
    else:
        return (text or None), []
    parsed: list[tuple[str, str | None]] = []
    pos = 0
    tags = tags.strip()
    while pos < len(tags):
        match = _TAG.match(tags, pos)
        if match is None or match.end() == pos:
            break
        name, value = match.group(1), match.group(2)
        if value is not None and value.startswith('"'):
            try:
                value = str(json.loads(value))
            except ValueError:
                value = value.strip('"')
        parsed.append((name, value.strip() if value is not None else None))
        pos = match.end()
    return (comment.strip() or None), parsed


def _line_comment(line: str) -> str | None:
    """The text after the first ``;`` outside double quotes (zone-file quoting: ``\\"`` inside)."""
    quoted = escaped = False
    for i, char in enumerate(line):
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == ";" and not quoted:
            return line[i + 1 :]
    return None


def _attributes(comment_text: str, notes: set[str]) -> _Attributes:
    comment, tags = parse_cf_comment(comment_text)
    proxied: bool | None = None
    kept: list[str] = []
    for name, value in tags:
        if name == "cf-proxied":
            proxied = value == "true"
        elif name.startswith("cf-"):
            notes.add(f"Cloudflare setting tag {name} is not managed by dnsbatch and was left out")
        else:
            kept.append(f"{name}:{value or ''}")
    # A zone dnsbatch already manages exports its owner marker at the end of each comment; the marker is
    # dnsbatch's to write, so only the user's part is imported (it would be appended twice otherwise).
    return _Attributes(comment=user_comment(comment), tags=tuple(sorted(kept)), proxied=proxied)


def _origin_hint(text: str) -> str | None:
    # Cloudflare's export names its zone in the header (";; Domain:     example.com.") and has no $ORIGIN.
    match = re.search(r"^;;\s*Domain:\s*(\S+)", text, re.MULTILINE)
    return match.group(1) if match else None


def import_zone(
    text: str,
    *,
    zone: str | None = None,
    source: str | None = None,
    allow_mass_change: bool = False,
    filename: str = "<zone file>",
) -> ZoneImport:
    """Read a zone file and return one ``upsert`` per record set of a type Cloudflare serves.

    ``zone`` is the zone's name; without it the file's ``$ORIGIN`` (or Cloudflare's export header) is used.
    Skipped, and counted in the summary: the SOA and the apex NS set (Cloudflare manages both), and any
    type Cloudflare does not serve. TTLs Cloudflare cannot take are raised to 60 or lowered to 86,400
    (``1``, Cloudflare's automatic TTL in its exports, is kept). Inline comments give the record's
    comment, tags and proxy status the way Cloudflare's own import reads them; a set whose records
    disagree gets none of the disagreeing attribute, with a note. Raises :class:`ZoneFileError`.
    """
    import dns.exception  # noqa: PLC0415 - lazy: the zone reader is only for producers
    import dns.name  # noqa: PLC0415
    import dns.rdatatype  # noqa: PLC0415
    import dns.zone  # noqa: PLC0415

    origin_text = zone or _origin_hint(text)
    try:
        origin = dns.name.from_text(origin_text) if origin_text else None
        parsed = dns.zone.from_text(
            text, origin=origin, relativize=False, check_origin=False, filename=filename
        )
    except dns.zone.UnknownOrigin:
        raise ZoneFileError(
            f"{filename}: the zone's name is unknown: give it (--zone example.com) or put $ORIGIN in the file"
        ) from None
    except (dns.exception.DNSException, ValueError) as exc:
        raise ZoneFileError(f"{exc}") from None
    assert parsed.origin is not None
    origin = parsed.origin
    zone_name = origin.to_text(omit_final_dot=True).lower()
    result = ZoneImport(zone=zone_name)
    notes: set[str] = set()

    attributes = _inline_attributes(text, origin, notes) if ";" in text else {}

    for name, rdataset in sorted(parsed.iterate_rdatasets(), key=lambda nr: (nr[0], nr[1].rdtype)):
        type_ = dns.rdatatype.to_text(rdataset.rdtype)
        count = len(rdataset)
        if type_ == "SOA":
            result.skipped["SOA record (Cloudflare manages the zone's SOA)"] += count
            continue
        if type_ == "NS" and name == origin:
            result.skipped["apex NS records (Cloudflare manages the zone's own name servers)"] += count
            continue
        if type_ not in CLOUDFLARE_TYPES:
            result.skipped[f"{type_} records (a type Cloudflare does not serve)"] += count
            continue
        relative = name.relativize(origin).to_text()
        # chunksize=0: hex and base64 fields in one piece, as Cloudflare shows them.
        values = sorted(rdata.to_text(chunksize=0) for rdata in rdataset)
        event: dict[str, Any] = {
            "zone": zone_name,
            "name": relative,
            "type": type_,
            "action": "upsert",
            "values": values,
            "ttl": _ttl(rdataset.ttl, f"{relative} {type_}", notes),
        }
        found = [attributes.get((name, rdataset.rdtype, rdata), _Attributes()) for rdata in rdataset]
        _set_attributes(event, found, f"{relative} {type_}", notes)
        if source is not None:
            event["source"] = source
        if allow_mass_change:
            event["allow_mass_change"] = True
        result.events.append(event)
        result.records += count
    result.notes = sorted(notes)
    return result


def _inline_attributes(text: str, origin: Any, notes: set[str]) -> dict[tuple[Any, int, Any], _Attributes]:
    """Inline attributes per record, read from the lines dnspython has just accepted. Only one-line records
    that start with their owner name carry them (as in Cloudflare's export, which writes every owner in
    full); a record spread over parentheses or inheriting the previous line's owner gets none."""
    import dns.exception  # noqa: PLC0415
    import dns.name  # noqa: PLC0415
    import dns.zonefile  # noqa: PLC0415

    attributes: dict[tuple[Any, int, Any], _Attributes] = {}
    for line in text.splitlines():
        if line.startswith("$ORIGIN"):
            # Later relative owners are relative to the new origin (dnspython already accepted the line).
            origin = dns.name.from_text(line.split()[1], origin)
            continue
        comment = _line_comment(line)
        body = line if comment is None else line[: len(line) - len(comment) - 1]
        if comment is None or not body[:1].strip() or body.startswith("$") or "(" in body:
            continue
        try:
            rrsets = dns.zonefile.read_rrsets(
                body, rdclass=None, origin=origin, relativize=False, default_ttl=0
            )
        except (dns.exception.DNSException, ValueError):
            continue  # a line of a record spread over parentheses: not a record alone
        for rrset in rrsets:
            for rdata in rrset:
                attributes[(rrset.name, rrset.rdtype, rdata)] = _attributes(comment, notes)
    return attributes


def _ttl(ttl: int, where: str, notes: set[str]) -> int:
    if ttl == 1 or MIN_TTL <= ttl <= MAX_TTL:
        return ttl
    bounded = min(max(ttl, MIN_TTL), MAX_TTL)
    notes.add(f"{where}: TTL {ttl} is outside Cloudflare's 60-86400; imported as {bounded}")
    return bounded


def _same(values: Iterable[Any]) -> tuple[bool, Any]:
    distinct = set(values)
    return len(distinct) == 1, next(iter(distinct)) if len(distinct) == 1 else None


def _set_attributes(event: dict[str, Any], found: list[_Attributes], where: str, notes: set[str]) -> None:
    same, comment = _same(a.comment for a in found)
    if not same:
        notes.add(f"{where}: its records have different comments; imported without one")
    elif comment:
        event["comment"] = comment
    same, tags = _same(a.tags for a in found)
    if not same:
        notes.add(f"{where}: its records have different tags; imported without tags")
    elif tags:
        event["tags"] = list(tags)
    same, proxied = _same(a.proxied for a in found)
    if event["type"] in PROXIABLE:
        if not same:
            notes.add(f"{where}: only some of its records are proxied; imported as not proxied")
        elif proxied:
            event["proxied"] = True
