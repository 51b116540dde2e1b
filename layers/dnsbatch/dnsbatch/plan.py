"""plan_zone(): the desired record sets of one zone vs its current records → batch operations.

Pure: no IO. The batcher calls it once per zone and window with the zone's full record list; the fallback
calls it again per record set (``plan_zone([change], records_of_that_name, policy)``) after re-reading.

Every change ends in exactly one of ``planned`` (it needs operations), ``unchanged`` (already as desired)
or ``rejected`` (nothing is sent; the reason is written for a person). Rejections are decided in two
passes: first each change on its own (plan limits, ownership, values), then the zone as it will be after
every surviving change is applied (same-name conflicts), see docs/ownership.md.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from dnsbatch import ownership
from dnsbatch.cloudflare.types import Record
from dnsbatch.model import Action, Change, Operation, OpKind, RecordSetKey, RecordValue
from dnsbatch.rdata import PROXIABLE_TYPES, duplicate_key, record_fields, value_from_record

# A delegation's DS records sit beside its NS records (RFC 4035); everything else is refused there.
_NS_PEERS = frozenset({"NS", "DS"})


@dataclass(frozen=True)
class PlanPolicy:
    """How to plan one zone.

    ``owner_id`` goes into the comment marker of every record dnsbatch writes; ``adopt`` lets dnsbatch take
    over record sets that hold records without our marker (or with another owner's); ``paid`` is true when
    the zone's plan allows tags and 500-character comments (Free: no tags, 100 characters).
    """

    owner_id: str
    adopt: bool = False
    paid: bool = False

    def __post_init__(self) -> None:
        ownership.check_owner_id(self.owner_id)


@dataclass(frozen=True)
class ZonePlan:
    """The result of planning one zone; every input change is in exactly one of the last three fields."""

    operations: tuple[Operation, ...]
    planned: tuple[Change, ...]
    unchanged: tuple[Change, ...]
    rejected: tuple[tuple[Change, str], ...]


@dataclass(frozen=True)
class _Desired:
    """The attributes every record of an upserted set should carry, as Cloudflare will store them."""

    ttl: int
    proxied: bool
    comment: str
    tags: tuple[str, ...] | None  # None: tags are not managed (Free zone)


def plan_zone(changes: Sequence[Change], current: Sequence[Record], policy: PlanPolicy) -> ZonePlan:
    """Diff ``changes`` (at most one per record set, all in one zone) against ``current`` records.

    Operations come out sorted by record set, then deletes, patches, posts; the three outcome tuples are
    sorted by record set. Raises ``ValueError`` if two changes name the same record set.
    """
    ordered = sorted(changes, key=lambda c: c.key)
    for before, after in pairwise(ordered):
        if before.key == after.key:
            raise ValueError(f"plan_zone got two changes for {after.key}; coalesce them first")

    by_set: dict[tuple[str, str], list[Record]] = defaultdict(list)
    for record in current:
        by_set[(record.name, record.type)].append(record)

    rejected: dict[RecordSetKey, str] = {}
    for change in ordered:
        reason = _reject_reason(change, by_set.get((change.key.name, change.key.type), []), policy)
        if reason is not None:
            rejected[change.key] = reason
    rejected.update(_conflicts([c for c in ordered if c.key not in rejected], by_set))

    operations: list[Operation] = []
    planned: list[Change] = []
    unchanged: list[Change] = []
    for change in ordered:
        if change.key in rejected:
            continue
        ops = _set_operations(change, by_set.get((change.key.name, change.key.type), []), policy)
        if ops:
            operations.extend(ops)
            planned.append(change)
        else:
            unchanged.append(change)
    return ZonePlan(
        operations=tuple(operations),
        planned=tuple(planned),
        unchanged=tuple(unchanged),
        rejected=tuple((c, rejected[c.key]) for c in ordered if c.key in rejected),
    )


def _desired_attributes(change: Change, policy: PlanPolicy) -> _Desired:
    """What ttl/proxied/comment/tags the records of ``change`` must carry once applied."""
    # Cloudflare serves proxied records with automatic TTL and reads them back as ttl 1; forcing the
    # desired ttl to 1 keeps a proxied set from flapping between 1 and the producer's ttl every window.
    return _Desired(
        ttl=1 if change.proxied else change.ttl,
        proxied=change.proxied,
        comment=ownership.with_marker(change.comment, policy.owner_id),
        tags=tuple(sorted(change.tags)) if policy.paid else None,
    )


def _reject_reason(change: Change, records: Sequence[Record], policy: PlanPolicy) -> str | None:
    """Why ``change`` cannot be applied, judged on its own, or ``None``."""
    key = change.key
    if change.action is Action.UPSERT:
        reason = _value_reason(change, policy)
        if reason is not None:
            return reason
    foreign = sorted(
        {
            ownership.owner_of(r.comment) or ""
            for r in records
            if ownership.owner_of(r.comment) != policy.owner_id
        }
    )
    if foreign and not policy.adopt:
        held = ", ".join(f"owner {o!r}" if o else "no dnsbatch owner marker" for o in foreign)
        return (
            f"{key}: the existing records are not owned by {policy.owner_id!r} ({held}); dnsbatch never "
            "changes or deletes records it does not own. Add the marker "
            f"{ownership.marker(policy.owner_id)} to their comments, or enable adoption, to take them over"
        )
    return None


def _value_reason(change: Change, policy: PlanPolicy) -> str | None:
    key = change.key
    limit = ownership.comment_limit(policy.paid)
    if change.tags and not policy.paid:
        return (
            f"{key}: tags need a paid Cloudflare plan (Free zones allow none; Cloudflare would answer 9300); "
            "remove 'tags' from the change"
        )
    if change.comment and ("\n" in change.comment or "\r" in change.comment):
        return f"{key}: the comment contains a line break, which Cloudflare does not allow"
    comment = ownership.with_marker(change.comment, policy.owner_id)
    if len(comment) > limit:
        room = limit - len(ownership.marker(policy.owner_id)) - 1
        return (
            f"{key}: the comment is {len(change.comment or '')} characters; with dnsbatch's owner marker "
            f"it would be {len(comment)}, over this zone's limit of {limit}. Shorten it to at most {room}"
        )
    if change.proxied and key.type not in PROXIABLE_TYPES:
        return f"{key}: only A, AAAA and CNAME records can be proxied (Cloudflare 9004); set proxied to false"
    if key.type == "CNAME" and len(change.values) > 1:
        return f"{key}: a name can hold only one CNAME record, got {len(change.values)} values"
    seen: set[RecordValue] = set()
    for value in change.values:
        if value in seen:
            return f"{key}: the value {value.content!r} is listed twice (Cloudflare 81058, identical record)"
        seen.add(value)
    return None


def _conflicts(
    survivors: Sequence[Change], by_set: Mapping[tuple[str, str], Sequence[Record]]
) -> dict[RecordSetKey, str]:
    """Reject upserts that would leave a name in a state Cloudflare refuses (CNAME or NS beside others).

    The zone is judged as it will be after all surviving changes: a CNAME replacing an A that is deleted
    in the same window is fine (Cloudflare runs the batch's deletes first). Every upsert on a conflicting
    name is rejected, whichever side it is on, because no order of the window's events makes one side
    "right"; deletes are never rejected here as they only remove records.
    """
    touched = {c.key.name for c in survivors}
    after: dict[str, set[str]] = defaultdict(set)
    for name, type_ in by_set:
        if name in touched and by_set[(name, type_)]:
            after[name].add(type_)
    upserts: dict[str, list[Change]] = defaultdict(list)
    for change in survivors:
        types = after[change.key.name]
        if change.action is Action.UPSERT and change.values:
            types.add(change.key.type)
            upserts[change.key.name].append(change)
        else:
            types.discard(change.key.type)

    rejected: dict[RecordSetKey, str] = {}
    for name, changes in upserts.items():
        types = after[name]
        others = sorted(types - {"CNAME"})
        if "CNAME" in types and others:
            exclusive = "CNAME"
            rule = "a CNAME cannot share its name with any other record type (Cloudflare 81053/81054)"
        elif "NS" in types and types - _NS_PEERS and name != changes[0].key.zone:
            # The zone apex is exempt: its NS set lives beside everything else there by DNS design.
            exclusive = "NS"
            rule = "an NS set cannot share its name with any other record type (except DS)"
        else:
            continue
        present = ", ".join(sorted(types))
        for change in changes:
            rejected[change.key] = (
                f"{change.key}: rejected because {rule}; after this window {name} would hold {present}. "
                f"Delete the other types in the same or an earlier change set, or drop the {exclusive} change"
            )
    return rejected


def _set_operations(change: Change, records: Sequence[Record], policy: PlanPolicy) -> list[Operation]:
    """The operations that turn ``records`` (one record set) into ``change``'s desired state."""
    key = change.key
    surplus = sorted(records, key=lambda r: r.id)
    if change.action is Action.DELETE or not change.values:
        return [_delete(key, r) for r in surplus]

    desired = _desired_attributes(change, policy)
    current_values = {r.id: value_from_record(r) for r in surplus}
    by_value: dict[RecordValue, list[Record]] = defaultdict(list)
    for record in surplus:
        by_value[current_values[record.id]].append(record)
    patches: list[Operation] = []
    missing: list[RecordValue] = []
    kept: set[str] = set()
    for value in change.values:
        candidates = by_value.get(value)
        if not candidates:
            missing.append(value)
            continue
        match = candidates.pop(0)
        kept.add(match.id)
        fields = _attribute_changes(match, desired)
        if fields:
            patches.append(_patch(key, match, fields))
    surplus = [r for r in surplus if r.id not in kept]

    # A value that is going away lends its record id to a new value: one patch instead of delete + post,
    # which keeps the record's id and never leaves the set emptier than needed in between. A record that
    # Cloudflare would see as the same record as a new value (an MX host at another priority) must be the
    # one that becomes it: patching another record to that host first would collide with it (81058),
    # because a batch runs its patches one by one.
    pairs: list[tuple[RecordValue, Record]] = []
    by_identity = {duplicate_key(key.type, current_values[r.id]): r for r in surplus}
    unpaired: list[RecordValue] = []
    for value in missing:
        identity = duplicate_key(key.type, value)
        holder = by_identity.pop(identity, None)
        if holder is None:
            unpaired.append(value)
        else:
            pairs.append((value, holder))
    paired_ids = {r.id for _, r in pairs}
    surplus = [r for r in surplus if r.id not in paired_ids]
    reused = min(len(unpaired), len(surplus))
    pairs.extend(zip(unpaired[:reused], surplus[:reused], strict=True))
    for value, record in pairs:
        fields = _content_changes(key.type, current_values[record.id], value)
        fields.update(_attribute_changes(record, desired))
        patches.append(_patch(key, record, fields))
    posts = [_post(key, value, desired) for value in unpaired[reused:]]
    deletes = [_delete(key, r) for r in surplus[reused:]]
    return deletes + sorted(patches, key=lambda op: op.record_id or "") + posts


def _attribute_changes(record: Record, desired: _Desired) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    if record.ttl != desired.ttl:
        fields["ttl"] = desired.ttl
    if record.proxied != desired.proxied:
        fields["proxied"] = desired.proxied
    if (record.comment or "") != desired.comment:
        fields["comment"] = desired.comment
    if desired.tags is not None and tuple(sorted(record.tags)) != desired.tags:
        fields["tags"] = list(desired.tags)
    return fields


def _content_changes(type_: str, old: RecordValue, new: RecordValue) -> dict[str, Any]:
    before = record_fields(type_, old)
    return {k: v for k, v in record_fields(type_, new).items() if before.get(k) != v}


def _delete(key: RecordSetKey, record: Record) -> Operation:
    return Operation(kind=OpKind.DELETE, key=key, body={"id": record.id}, record_id=record.id)


def _patch(key: RecordSetKey, record: Record, fields: Mapping[str, Any]) -> Operation:
    return Operation(kind=OpKind.PATCH, key=key, body={"id": record.id, **fields}, record_id=record.id)


def _post(key: RecordSetKey, value: RecordValue, desired: _Desired) -> Operation:
    body: dict[str, Any] = {
        "type": key.type,
        "name": key.name,
        "ttl": desired.ttl,
        "proxied": desired.proxied,
        "comment": desired.comment,
    }
    if desired.tags is not None:
        body["tags"] = list(desired.tags)
    body.update(record_fields(key.type, value))
    return Operation(kind=OpKind.POST, key=key, body=body)
