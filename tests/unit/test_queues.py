"""Messages between the functions: size-bounded change sets, stable dedup ids, FIFO-legal group ids,
fallback requests that survive the trip, rejection attributes within the cap."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from dnsbatch.model import Action, Change, EventRef, RecordSetKey, RecordValue
from dnsbatch.queues import (
    MAX_ATTRIBUTE_CHARS,
    MAX_GROUP_ID,
    MAX_PARKED_BODY,
    FallbackRequest,
    changeset_messages,
    fallback_group_id,
    fallback_message,
    parse_changeset,
    parse_fallback,
    rejection_message,
    send,
)

ZONE = "example.com"


def make_change(number: int, *, name: str | None = None, padding: int = 0) -> Change:
    return Change(
        key=RecordSetKey(ZONE, name or f"host{number:05d}.{ZONE}", "TXT"),
        action=Action.UPSERT,
        values=(RecordValue(content=f'"v{number}-' + "x" * padding + '"'),),
        version=number + 1,
        ref=EventRef(f"msg-{number}", 1_764_028_800_000 + number, "test", f"evt-{number}", 0),
        ttl=300,
    )


def test_small_change_set_is_one_message_carrying_every_change_in_order() -> None:
    changes = [make_change(i) for i in range(5)]

    messages = changeset_messages(ZONE, changes, "cs-1")

    assert len(messages) == 1
    parsed = parse_changeset(messages[0].body)
    assert parsed.changeset_id == "cs-1"
    assert parsed.zone == ZONE
    assert list(parsed.changes) == changes
    assert messages[0].changes == tuple(changes)
    assert messages[0].group_id == ZONE
    body = json.loads(messages[0].body)
    assert (body["part"], body["parts"]) == (1, 1)


def test_many_changes_split_into_several_messages_each_under_the_limit() -> None:
    max_bytes = 8 * 1024
    changes = [make_change(i, padding=150) for i in range(300)]

    messages = changeset_messages(ZONE, changes, "cs-big", max_bytes=max_bytes)

    assert len(messages) > 1
    for number, message in enumerate(messages, start=1):
        assert len(message.body.encode()) <= max_bytes
        body = json.loads(message.body)
        assert (body["part"], body["parts"]) == (number, len(messages))
        assert message.group_id == ZONE


def test_every_change_is_in_exactly_one_message_and_round_trips() -> None:
    changes = [make_change(i, padding=i % 97) for i in range(400)]

    messages = changeset_messages(ZONE, changes, "cs-rt", max_bytes=16 * 1024)

    carried = [c for m in messages for c in parse_changeset(m.body).changes]
    assert carried == changes
    assert [c for m in messages for c in m.changes] == changes


def test_the_default_limit_keeps_a_message_under_512_kib() -> None:
    changes = [make_change(i, padding=900) for i in range(1500)]

    messages = changeset_messages(ZONE, changes, "cs-default")

    assert len(messages) > 1
    assert all(len(m.body.encode()) <= 512 * 1024 for m in messages)


def test_parts_stay_under_the_limit_even_for_the_longest_zone_names() -> None:
    long_zone = ("z" * 60 + ".") * 4 + "example"  # 251 characters, a legal DNS name
    changes = [make_change(i) for i in range(40)]

    messages = changeset_messages(long_zone, changes, "5f0c6a8e2b2f4f0d9d7e3c1a2b3c4d5e", max_bytes=4096)

    assert max(len(m.body.encode()) for m in messages) <= 4096


def test_a_single_change_larger_than_the_limit_still_travels_alone() -> None:
    # Splitting cannot make one change smaller; it must not be dropped or produce an empty part.
    changes = [make_change(0, padding=3000), make_change(1)]

    messages = changeset_messages(ZONE, changes, "cs-huge", max_bytes=1024)

    assert [len(m.changes) for m in messages] == [1, 1]
    assert [c for m in messages for c in parse_changeset(m.body).changes] == changes


def test_dedup_id_is_stable_for_the_same_content_and_independent_of_the_changeset_id() -> None:
    changes = [make_change(i) for i in range(10)]

    first = changeset_messages(ZONE, changes, "invocation-1")
    retry = changeset_messages(ZONE, changes, "invocation-2")

    assert [m.dedup_id for m in first] == [m.dedup_id for m in retry]
    assert first[0].body != retry[0].body


def test_dedup_id_differs_when_the_content_differs() -> None:
    base = [make_change(i) for i in range(3)]
    newer = [*base[:2], make_change(2, padding=1)]

    (a,) = changeset_messages(ZONE, base, "cs")
    (b,) = changeset_messages(ZONE, newer, "cs")
    (c,) = changeset_messages("other.example", base, "cs")

    assert len({a.dedup_id, b.dedup_id, c.dedup_id}) == 3
    assert all(m.dedup_id is not None and len(m.dedup_id) <= 128 for m in (a, b, c))


def test_fallback_group_id_is_zone_and_name() -> None:
    key = RecordSetKey(ZONE, f"www.{ZONE}", "A")

    assert fallback_group_id(key) == f"{ZONE}:www.{ZONE}"


def test_fallback_group_id_stays_within_128_characters_for_very_long_names() -> None:
    long_zone = ("z" * 60 + ".") * 4 + "example"
    long_name = ("a" * 63 + ".") * 3 + long_zone
    keys = [RecordSetKey(long_zone, long_name, "A"), RecordSetKey(long_zone, "b" + long_name, "A")]

    groups = [fallback_group_id(k) for k in keys]

    assert all(len(g) <= MAX_GROUP_ID for g in groups)
    assert groups[0] != groups[1]
    assert fallback_group_id(keys[0]) == groups[0]


def test_fallback_group_id_is_the_same_for_every_type_of_one_name() -> None:
    # One name's record sets are serialised together: a CNAME and an A on the same name conflict.
    assert fallback_group_id(RecordSetKey(ZONE, f"x.{ZONE}", "A")) == fallback_group_id(
        RecordSetKey(ZONE, f"x.{ZONE}", "CNAME")
    )


def test_fallback_message_round_trips_through_parse_fallback() -> None:
    name = f"sw.{ZONE}"
    cname = replace(make_change(7, name=name), action=Action.DELETE, values=())
    a_set = make_change(8, name=name)
    request = FallbackRequest(
        changes=(a_set, replace(cname, key=RecordSetKey(ZONE, name, "CNAME"))),
        changeset_id="cs-7",
        chunk=3,
        batch_error="9005 Content for A record",
    )

    message = fallback_message(request)

    parsed = parse_fallback(message.body)
    assert sorted(parsed.changes, key=lambda c: c.key) == sorted(request.changes, key=lambda c: c.key)
    assert (parsed.changeset_id, parsed.chunk, parsed.batch_error) == ("cs-7", 3, "9005 Content for A record")
    assert parsed.name == name and parsed.zone == ZONE
    assert set(message.changes) == set(request.changes)
    assert message.group_id == fallback_group_id(a_set.key)
    assert message.dedup_id is not None and len(message.dedup_id) <= 128


def test_a_fallback_request_holds_one_name_only() -> None:
    with pytest.raises(ValueError, match="exactly one name"):
        FallbackRequest((make_change(1), make_change(2)), "cs", 0, "x")
    with pytest.raises(ValueError, match="exactly one name"):
        FallbackRequest((), "cs", 0, "x")


def test_a_fallback_message_of_the_old_one_set_shape_is_still_read() -> None:
    # Messages queued before an upgrade carried one record set under "change"; they must not be lost.
    change = make_change(3)
    body = json.dumps({"change": change.to_dict(), "changeset_id": "cs-old", "chunk": 1, "batch_error": "e"})

    parsed = parse_fallback(body)

    assert parsed.changes == (change,) and parsed.changeset_id == "cs-old"


def test_fallback_dedup_id_depends_on_the_changes_not_the_changeset() -> None:
    change = make_change(1)
    a = fallback_message(FallbackRequest((change,), "cs-a", 0, "x"))
    b = fallback_message(FallbackRequest((change,), "cs-b", 4, "y"))

    assert a.dedup_id == b.dedup_id


def test_rejection_message_keeps_the_body_and_truncates_attributes_to_the_cap() -> None:
    long_reason = "r" * (MAX_ATTRIBUTE_CHARS * 3)

    message = rejection_message(
        "{not json",
        reason=long_reason,
        stage="aggregator",
        record_set="www A",
        cf_code=9005,
        detail="d" * (MAX_ATTRIBUTE_CHARS + 1),
        empty="",
        absent=None,
    )

    assert message.body == "{not json"
    attrs = dict(message.attributes or {})
    assert attrs["reason"] == "r" * MAX_ATTRIBUTE_CHARS
    assert attrs["stage"] == "aggregator"
    assert attrs["record_set"] == "www A"
    assert attrs["cf_code"] == "9005"
    assert len(attrs["detail"]) == MAX_ATTRIBUTE_CHARS
    assert "empty" not in attrs
    assert "absent" not in attrs
    assert message.group_id is None and message.dedup_id is None


class RecordingSqs:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def send_message(self, **kwargs: Any) -> dict[str, str]:
        self.calls.append(kwargs)
        return {"MessageId": str(len(self.calls))}


def test_send_passes_fifo_fields_and_string_attributes() -> None:
    sqs = RecordingSqs()
    (changeset,) = changeset_messages(ZONE, [make_change(1)], "cs")
    rejection = rejection_message("b", reason="why", stage="batcher")

    send(sqs, "http://q/cs.fifo", changeset)
    send(sqs, "http://q/rejected", rejection)

    assert sqs.calls[0] == {
        "QueueUrl": "http://q/cs.fifo",
        "MessageBody": changeset.body,
        "MessageGroupId": ZONE,
        "MessageDeduplicationId": changeset.dedup_id,
    }
    assert sqs.calls[1] == {
        "QueueUrl": "http://q/rejected",
        "MessageBody": "b",
        "MessageAttributes": {
            "reason": {"DataType": "String", "StringValue": "why"},
            "stage": {"DataType": "String", "StringValue": "batcher"},
        },
    }


def test_a_parked_body_that_would_not_fit_in_sqs_with_its_reason_is_cut_and_says_so() -> None:
    body = "x" * (1024 * 1024)
    message = rejection_message(body, reason="body: not valid JSON", stage="aggregator")
    assert len(message.body.encode()) <= MAX_PARKED_BODY
    assert message.attributes is not None and message.attributes["body_truncated"] == "true"
    small = rejection_message("{}", reason="r", stage="aggregator")
    assert small.body == "{}" and small.attributes is not None and "body_truncated" not in small.attributes
