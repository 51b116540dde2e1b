"""The emulator's pure state: zones, records and Cloudflare's rules, with no HTTP.

``Emulator`` is thread-safe (one lock) and importable on its own, so other code can apply Cloudflare's
batch semantics in-process::

    emu = Emulator([ZoneSpec("example.com")])
    zone_id = emu.zone_by_name("example.com").id
    emu.batch(zone_id, {"posts": [{"type": "A", "name": "www", "content": "192.0.2.1"}]})

Every method raises ``ApiError(status, code, message)`` the way the API would answer.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from devstack.emulator import errors as e
from devstack.emulator.errors import ApiError, bad_request
from devstack.emulator.listing import query
from devstack.emulator.rules import build_record
from devstack.emulator.zones import ZoneInfo, ZoneSpec, resolve

Record = dict[str, Any]
BATCH_KEYS = ("deletes", "patches", "puts", "posts")
_ADDRESS_TYPES = frozenset({"A", "AAAA"})
_CNAME_PEERS = frozenset({"A", "AAAA", "CNAME"})
# DS lives beside the NS records of a delegation (RFC 4035), so NS exclusivity cannot include it.
_NS_PEERS = frozenset({"NS", "DS"})


def rfc3339_now() -> str:
    """The current UTC time the way Cloudflare writes it: RFC 3339 with microseconds."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class _Zone:
    info: ZoneInfo
    records: dict[str, Record] = field(default_factory=dict)  # insertion order = default list order
    by_name: dict[str, dict[str, None]] = field(default_factory=dict)  # name -> ordered set of ids


def public(rec: Record) -> Record:
    """A copy of a stored record that callers may mutate freely."""
    out = dict(rec)
    out["tags"] = list(rec["tags"])
    out["settings"] = dict(rec["settings"])
    out["meta"] = dict(rec["meta"])
    if "data" in rec:
        out["data"] = dict(rec["data"])
    return out


class Emulator:
    """Zones and DNS records with Cloudflare's validation, conflict, quota and batch rules.

    ``cname_exclusive``: whether a CNAME also excludes TXT/MX/... on its name. Cloudflare does not
    document it; the default (True) is the strictest reading, and what RFC 1034 requires.
    ``name_rejector`` (set by fault injection) may return an ``ApiError`` for a record name.
    """

    def __init__(
        self,
        zones: Iterable[ZoneSpec] = (),
        *,
        now: Callable[[], str] = rfc3339_now,
        new_id: Callable[[], str] = lambda: uuid.uuid4().hex,
        cname_exclusive: bool = True,
    ) -> None:
        self._lock = threading.RLock()
        self._zones: dict[str, _Zone] = {}
        self._now = now
        self._new_id = new_id
        self.cname_exclusive = cname_exclusive
        self.name_rejector: Callable[[str], ApiError | None] | None = None
        for spec in zones:
            self.create_zone(spec)

    # Zones ---------------------------------------------------------------------------------------

    def create_zone(self, spec: ZoneSpec) -> ZoneInfo:
        """Add a zone (an empty one: Cloudflare's own apex NS/SOA are not listed as records)."""
        info = resolve(spec, self._now())
        with self._lock:
            if info.id in self._zones or any(z.info.name == info.name for z in self._zones.values()):
                raise ValueError(f"zone {info.name} already exists")
            self._zones[info.id] = _Zone(info)
        return info

    def zones(self) -> list[ZoneInfo]:
        """All zones, in creation order."""
        with self._lock:
            return [z.info for z in self._zones.values()]

    def zone(self, zone_id: str) -> ZoneInfo:
        """One zone by id; an unknown id is a 404."""
        return self._zone(zone_id).info

    def zone_by_name(self, name: str) -> ZoneInfo:
        """One zone by name (case-insensitive); raises KeyError when unknown."""
        wanted = name.lower().rstrip(".")
        with self._lock:
            for z in self._zones.values():
                if z.info.name == wanted:
                    return z.info
        raise KeyError(name)

    def record_count(self, zone_id: str) -> int:
        """How many records the zone holds."""
        with self._lock:
            return len(self._zone(zone_id).records)

    def _zone(self, zone_id: str) -> _Zone:
        try:
            return self._zones[zone_id]
        except KeyError:
            raise ApiError(
                404,
                e.ZONE_NOT_FOUND,
                f"Could not route to /zones/{zone_id}, perhaps your object identifier is invalid?",
            ) from None

    # Records -------------------------------------------------------------------------------------

    def list_records(
        self, zone_id: str, params: Mapping[str, str] | None = None
    ) -> tuple[list[Record], dict[str, int]]:
        """Filtered, ordered page of records plus ``result_info`` (query parameters as in the API)."""
        with self._lock:
            z = self._zone(zone_id)
            page, info = query(z.records, z.by_name, params or {})
            return [public(r) for r in page], info

    def records(self, zone_id: str) -> list[Record]:
        """Every record of the zone, in list order."""
        with self._lock:
            return [public(r) for r in self._zone(zone_id).records.values()]

    def get_record(self, zone_id: str, record_id: str) -> Record:
        """One record; an unknown id is 81044 with HTTP 404."""
        with self._lock:
            return public(self._existing(self._zone(zone_id), record_id))

    def create_record(self, zone_id: str, body: Any) -> Record:
        """``POST /dns_records``."""
        with self._lock:
            return public(self._create(self._zone(zone_id), body, [], self._now()))

    def put_record(self, zone_id: str, record_id: str, body: Any) -> Record:
        """``PUT /dns_records/{id}``: full overwrite; omitted fields return to their defaults."""
        with self._lock:
            return public(self._update(self._zone(zone_id), record_id, body, [], self._now(), patch=False))

    def patch_record(self, zone_id: str, record_id: str, body: Any) -> Record:
        """``PATCH /dns_records/{id}``: omitted fields keep their values."""
        with self._lock:
            return public(self._update(self._zone(zone_id), record_id, body, [], self._now(), patch=True))

    def delete_record(self, zone_id: str, record_id: str) -> dict[str, str]:
        """``DELETE /dns_records/{id}`` → ``{"id": id}``."""
        with self._lock:
            self._delete(self._zone(zone_id), record_id, [])
            return {"id": record_id}

    def batch(self, zone_id: str, body: Any) -> dict[str, list[Record]]:
        """``POST /dns_records/batch``: deletes → patches → puts → posts, each list in order, each step
        checked against the state the earlier steps left. All or nothing: on the first error every
        earlier step is undone and that error is raised."""
        with self._lock:
            z = self._zone(zone_id)
            if not isinstance(body, Mapping):
                raise bad_request(e.INVALID_REQUEST, "Request body must be a JSON object.")
            lists: dict[str, list[Any]] = {}
            for key in BATCH_KEYS:
                items = body.get(key)
                if items is None:
                    items = []
                if not isinstance(items, list):
                    raise bad_request(e.INVALID_REQUEST, f"'{key}' must be an array.")
                lists[key] = items
            size = sum(len(items) for items in lists.values())
            if size > z.info.batch_limit:
                raise bad_request(
                    e.BATCH_TOO_LARGE,
                    f"Batch has {size} operations, more than the {z.info.batch_limit} allowed on this plan.",
                )
            undo: list[Callable[[], None]] = []
            now = self._now()
            result: dict[str, list[Record]] = {key: [] for key in BATCH_KEYS}
            try:
                for item in lists["deletes"]:
                    result["deletes"].append(self._delete(z, _item_id(item), undo))
                for item in lists["patches"]:
                    result["patches"].append(self._update(z, _item_id(item), item, undo, now, patch=True))
                for item in lists["puts"]:
                    result["puts"].append(self._update(z, _item_id(item), item, undo, now, patch=False))
                for item in lists["posts"]:
                    result["posts"].append(self._create(z, item, undo, now))
            except ApiError:
                for step in reversed(undo):
                    step()
                raise
            return {key: [public(r) for r in recs] for key, recs in result.items()}

    # Internals: every mutation records its inverse in `undo` ----------------------------------------

    def _existing(self, z: _Zone, record_id: str) -> Record:
        rec = z.records.get(record_id)
        if rec is None:
            raise ApiError(404, e.RECORD_NOT_FOUND, "Record does not exist.")
        return rec

    def _fields(self, z: _Zone, body: Any, base: Record | None) -> dict[str, Any]:
        if not isinstance(body, Mapping):
            raise bad_request(e.INVALID_REQUEST, "Request body must be a JSON object.")
        fields = build_record(z.info, body, base)
        if self.name_rejector is not None:
            error = self.name_rejector(fields["name"])
            if error is not None:
                raise error
        return fields

    def _create(self, z: _Zone, body: Any, undo: list[Callable[[], None]], now: str) -> Record:
        fields = self._fields(z, body, None)
        if len(z.records) >= z.info.record_limit:
            raise bad_request(e.RECORD_QUOTA, "Record quota exceeded.")
        self._check_conflicts(z, fields, None)
        rec = _stored(fields, self._new_id(), now, None)
        self._put(z, rec)
        undo.append(lambda: self._remove(z, rec["id"]))
        return rec

    def _update(
        self, z: _Zone, record_id: str, body: Any, undo: list[Callable[[], None]], now: str, *, patch: bool
    ) -> Record:
        old = self._existing(z, record_id)
        fields = self._fields(z, body, old if patch else None)
        self._check_conflicts(z, fields, record_id)
        rec = _stored(fields, record_id, now, old)
        self._remove(z, record_id)
        self._put(z, rec)

        def restore() -> None:
            self._remove(z, record_id)
            self._put(z, old)

        undo.append(restore)
        return rec

    def _delete(self, z: _Zone, record_id: str, undo: list[Callable[[], None]]) -> Record:
        old = self._existing(z, record_id)
        self._remove(z, record_id)
        undo.append(lambda: self._put(z, old))
        return old

    @staticmethod
    def _put(z: _Zone, rec: Record) -> None:
        z.records[rec["id"]] = rec
        z.by_name.setdefault(rec["name"], {})[rec["id"]] = None

    @staticmethod
    def _remove(z: _Zone, record_id: str) -> None:
        rec = z.records.pop(record_id)
        ids = z.by_name[rec["name"]]
        del ids[record_id]
        if not ids:
            del z.by_name[rec["name"]]

    def _check_conflicts(self, z: _Zone, fields: Mapping[str, Any], exclude: str | None) -> None:
        """Duplicates (81058), then CNAME and NS exclusivity, against the records now on the name."""
        rtype, content = fields["type"], fields["content"].lower()
        others = [z.records[i] for i in z.by_name.get(fields["name"], {}) if i != exclude]
        for other in others:
            if other["type"] == rtype and other["content"].lower() == content:
                raise bad_request(e.IDENTICAL_RECORD, "An identical record already exists.")
        for other in others:
            otype = other["type"]
            if rtype == "CNAME" and (otype in _CNAME_PEERS or self.cname_exclusive):
                raise bad_request(
                    e.CNAME_CONFLICT, "An A, AAAA, or CNAME record with that host already exists."
                )
            if otype == "CNAME" and (rtype in _ADDRESS_TYPES or self.cname_exclusive):
                raise bad_request(e.HOST_HAS_CNAME, "A CNAME record with that host already exists.")
            if (rtype == "NS" and otype not in _NS_PEERS) or (otype == "NS" and rtype not in _NS_PEERS):
                raise bad_request(
                    e.NS_CONFLICT, "An NS record cannot share its name with other record types."
                )


def _item_id(item: Any) -> str:
    if not isinstance(item, Mapping) or not isinstance(item.get("id"), str):
        raise bad_request(e.INVALID_REQUEST, "Every batch delete, patch and put needs a record 'id'.")
    return str(item["id"])


def _stored(fields: Mapping[str, Any], record_id: str, now: str, old: Record | None) -> Record:
    rec: Record = {
        "id": record_id,
        "name": fields["name"],
        "type": fields["type"],
        "content": fields["content"],
        "proxiable": fields["proxiable"],
        "proxied": fields["proxied"],
        "ttl": fields["ttl"],
        "settings": fields["settings"],
        "meta": {},
        "comment": fields["comment"],
        "tags": fields["tags"],
        "created_on": old["created_on"] if old else now,
        "modified_on": now,
    }
    if fields["data"] is not None:
        rec["data"] = fields["data"]
    if fields["priority"] is not None:
        rec["priority"] = fields["priority"]
    if fields["comment"] is not None:
        same = old is not None and old["comment"] == fields["comment"] and "comment_modified_on" in old
        rec["comment_modified_on"] = old["comment_modified_on"] if same and old else now
    if fields["tags"]:
        same = old is not None and old["tags"] == fields["tags"] and "tags_modified_on" in old
        rec["tags_modified_on"] = old["tags_modified_on"] if same and old else now
    return rec
