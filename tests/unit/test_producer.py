"""The producer kit's pure parts: packing, versions, the local check, reading input, the CLI without AWS
(docs/producer-kit.md). Sending is tested on moto's server in tests/functional/test_producer_sqs.py."""

from __future__ import annotations

import io
import json
import runpy
import sys
import time
from pathlib import Path

import pytest

from dnsbatch import producer
from dnsbatch.__main__ import _region_of, main
from dnsbatch.events import MAX_CHANGES_PER_MESSAGE
from dnsbatch.model import RecordSetKey
from dnsbatch.producer import VersionClock, encode_change, pack, prepare, read_changes

REPO = Path(__file__).resolve().parents[2]


def change(name: str, value: str = "192.0.2.1", **extra: object) -> dict[str, object]:
    return {"zone": "example.com", "name": name, "type": "A", "action": "upsert", "values": [value], **extra}


# --- packing ----------------------------------------------------------------------------------------------


def test_pack_fills_each_envelope_to_the_byte_limit_and_no_further() -> None:
    encoded = [encode_change(change(f"h{i:05d}")) for i in range(1000)]
    size = len(encoded[0])
    limit = 10_000

    groups = pack(encoded, max_bytes=limit)

    per_envelope = (limit - len('{"changes":[]}') + 1) // (size + 1)
    assert [len(g) for g in groups[:-1]] == [per_envelope] * (len(groups) - 1)
    assert len(groups) == -(-1000 // per_envelope)
    assert [i for g in groups for i in g] == list(range(1000))
    for group in groups:
        body = producer.envelope(encoded[i] for i in group)
        assert len(body.encode()) <= limit
        assert [c["name"] for c in json.loads(body)["changes"]] == [f"h{i:05d}" for i in group]


def test_pack_respects_the_contracts_changes_per_envelope() -> None:
    encoded = [encode_change({"zone": "example.com", "name": "a", "type": "A", "action": "delete"})] * (
        MAX_CHANGES_PER_MESSAGE + 1
    )
    assert len(producer.envelope(encoded).encode()) < producer.MAX_MESSAGE_BYTES  # bytes would allow one

    groups = pack(encoded)

    assert [len(g) for g in groups] == [MAX_CHANGES_PER_MESSAGE, 1]


def test_pack_counts_utf8_bytes_not_characters() -> None:
    wide = encode_change(change("a", comment="é" * 40))  # 40 characters, 80 bytes
    assert "é" in wide  # kept as UTF-8, not \u00e9 (6 bytes each)
    limit = len('{"changes":[]}') + 2 * len(wide.encode()) + 1

    assert [len(g) for g in pack([wide] * 3, max_bytes=limit)] == [2, 1]
    assert [len(g) for g in pack([wide] * 3, max_bytes=limit - 1)] == [1, 1, 1]


def test_pack_refuses_a_change_no_envelope_can_hold() -> None:
    with pytest.raises(ValueError, match="change 1 is"):
        pack(["{}", "x" * 100], max_bytes=100)


def test_encode_escapes_the_characters_sqs_refuses_and_keeps_the_meaning() -> None:
    obj = change("a", comment="a\ufffeb\uffffc\U0001f642")
    encoded = encode_change(obj)

    assert "\ufffe" not in encoded and "\uffff" not in encoded
    assert "\\ufffe" in encoded and "\U0001f642" in encoded
    assert json.loads(encoded) == obj


# --- versions ---------------------------------------------------------------------------------------------


class FakeClock:
    def __init__(self, now: int) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


KEY_A = RecordSetKey("example.com", "a.example.com", "A")
KEY_B = RecordSetKey("example.com", "b.example.com", "A")


def test_versions_are_the_clock_in_ms_and_strictly_increase_per_record_set() -> None:
    now = FakeClock(1_700_000_000_000)
    clock = VersionClock(now)

    first = [clock.next(KEY_A) for _ in range(3)]
    other = clock.next(KEY_B)
    now.now += 10
    later = clock.next(KEY_A)

    assert first == [1_700_000_000_000, 1_700_000_000_001, 1_700_000_000_002]
    assert other == 1_700_000_000_000  # another record set does not pay for a's repeats
    assert later == 1_700_000_000_010


def test_the_clock_says_how_far_repeats_ran_ahead_of_it() -> None:
    now = FakeClock(5_000)
    clock = VersionClock(now)
    for _ in range(4):
        clock.next(KEY_A)

    assert clock.ahead() == 3
    now.now += 3
    assert clock.ahead() == 0


def test_the_default_clock_is_epoch_milliseconds_like_sqs_sent_timestamp() -> None:
    before = int(time.time() * 1000)
    version = VersionClock().next(KEY_A)
    after = int(time.time() * 1000)

    assert before <= version <= after + 1


def test_prepare_assigns_versions_in_input_order_per_normalised_record_set_and_keeps_explicit_ones() -> None:
    items = [
        ("[0]", change("www")),
        ("[1]", change("WWW.example.com.", "192.0.2.2")),  # the same record set, spelt otherwise
        ("[2]", change("mail", version=42)),
        ("[3]", change("other")),
    ]
    clock = VersionClock(FakeClock(1_000))

    ready, invalid, assigned = prepare(items, clock=clock)

    assert invalid == []
    assert assigned == 3
    assert [c["version"] for c in ready] == [1_000, 1_001, 42, 1_000]
    assert "version" not in items[0][1]  # the caller's objects are not changed


def test_prepare_reports_invalid_changes_by_position_with_the_parsers_reason() -> None:
    items = [
        ("line 1", change("ok")),
        ("line 2", change("bad", "192.0.2.300")),
        ("line 3", {"zone": "example.com", "name": "x", "type": "A", "action": "upsert", "valeus": ["1"]}),
        ("line 4", "not a change"),
        ("line 5", change("also-ok")),
    ]

    ready, invalid, _ = prepare(items, clock=VersionClock())

    assert [c["name"] for c in ready] == ["ok", "also-ok"]
    assert [i.position for i in invalid] == ["line 2", "line 3", "line 4"]
    assert invalid[0].reason.startswith('values[0]: "192.0.2.300" is not an IPv4 address')
    assert invalid[1].reason.startswith("valeus: is not a known field")
    assert "changes[" not in " ".join(i.reason for i in invalid)


def test_prepare_checks_zones_against_the_allowlist_when_given() -> None:
    items = [("[0]", change("a")), ("[1]", {**change("b"), "zone": "other.example"})]

    ready, invalid, _ = prepare(items, clock=VersionClock(), zones=["example.com"])

    assert [c["name"] for c in ready] == ["a"]
    assert "is not a zone dnsbatch manages" in invalid[0].reason


def test_prepare_sets_source_only_where_missing() -> None:
    items = [("[0]", change("a")), ("[1]", change("b", source="mine"))]

    ready, _, _ = prepare(items, clock=VersionClock(), source="kit")

    assert [c["source"] for c in ready] == ["kit", "mine"]


def test_a_key_given_twice_is_invalid_not_silently_resolved() -> None:
    items, unreadable = read_changes(
        '{"zone":"example.com","name":"a","type":"A","action":"upsert","action":"delete","values":["192.0.2.1"]}\n'
    )

    ready, invalid, _ = prepare(items, clock=VersionClock())

    assert unreadable == [] and ready == []
    assert invalid[0].reason.startswith("action: appears twice")


def test_a_change_nested_too_deeply_to_read_is_judged_alone_not_with_its_envelope() -> None:
    deep = "[" * 5000 + "]" * 5000  # json.loads gives up: the parser refuses the whole envelope
    texts = {
        0: encode_change(change("a")),
        1: f'{{"zone":"example.com","x":{deep}}}',
        2: encode_change(change("c")),
    }
    refused: dict[int, str] = {}

    keys = producer._check(texts, {"example.com"}, refused)

    assert sorted(keys) == [0, 2]
    assert list(refused) == [1]
    assert "nested too deeply" in refused[1]


# --- reading ----------------------------------------------------------------------------------------------


def test_read_changes_takes_json_lines_with_envelopes_comments_and_window_separators() -> None:
    text = "\n".join(
        [
            "# a comment",
            json.dumps(change("a")),
            "",
            "---",
            json.dumps({"changes": [change("b"), change("c")]}),
            "{not json",
        ]
    )

    items, unreadable = read_changes(text)

    assert [(p, c["name"]) for p, c in items] == [  # type: ignore[index]
        ("line 2", "a"),
        ("line 5 changes[0]", "b"),
        ("line 5 changes[1]", "c"),
    ]
    assert [u.position for u in unreadable] == ["line 6"]
    assert unreadable[0].reason.startswith("not valid JSON")


def test_read_changes_takes_a_json_array_or_one_pretty_printed_document() -> None:
    array, _ = read_changes(json.dumps([change("a"), change("b"), {"changes": [change("d")]}], indent=2))
    pretty, _ = read_changes(json.dumps({"changes": [change("c")]}, indent=2))
    broken, problems = read_changes("[1, 2")

    assert [p for p, _ in array] == ["[0]", "[1]", "[2] changes[0]"]
    assert pretty == [("input changes[0]", change("c"))]
    assert broken == [] and problems[0].reason.startswith("not a valid JSON array")


# --- the CLI without AWS ----------------------------------------------------------------------------------


def run_main(*argv: str, stdin: str = "") -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    old = sys.stdin
    sys.stdin = io.StringIO(stdin)
    try:
        code = main(list(argv), out, err)
    finally:
        sys.stdin = old
    return code, out.getvalue(), err.getvalue()


def test_publish_dry_run_prints_the_envelopes_and_reports_invalid_changes() -> None:
    lines = [json.dumps(change(f"h{i}")) for i in range(3)] + [json.dumps(change("bad", "1.2.3"))]

    code, out, err = run_main("publish", "--dry-run", "-", stdin="\n".join(lines))

    assert code == 1  # an invalid change makes the run fail, after the rest is handled
    (body,) = out.splitlines()
    assert [c["name"] for c in json.loads(body)["changes"]] == ["h0", "h1", "h2"]
    assert "invalid line 4: values[0]" in err
    assert "4 changes read, 3 would be sent in 1 messages; 1 invalid" in err


def test_publish_needs_a_queue(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("INGEST_QUEUE_URL", raising=False)

    code, _, err = run_main("publish", "-", stdin=json.dumps(change("a")))

    assert code == 2
    assert "--queue-url" in err


def test_publish_names_a_file_it_cannot_read(tmp_path: Path) -> None:
    code, _, err = run_main("publish", "--dry-run", str(tmp_path / "missing.jsonl"))

    assert code == 2
    assert "missing.jsonl: cannot read it" in err


def test_the_region_comes_from_the_queue_url() -> None:
    assert _region_of("https://sqs.eu-west-3.amazonaws.com/123456789012/dnsbatch-ingest") == "eu-west-3"
    assert _region_of("http://127.0.0.1:5000/123456789012/q") is None


def test_a_change_that_is_not_json_is_invalid_on_its_own() -> None:
    items = [
        ("[0]", change("a", ttl=float("nan"))),
        ("[1]", {**change("b"), "values": {"x"}}),
        ("[2]", change("c")),
    ]

    ready, invalid, _ = prepare(items, clock=VersionClock())

    assert [c["name"] for c in ready] == ["c"]
    assert [i.position for i in invalid] == ["[0]", "[1]"]
    assert all(i.reason.startswith("change: cannot be written as JSON") for i in invalid)


def test_a_zone_that_is_not_a_name_is_invalid_and_allows_nothing() -> None:
    items = [("[0]", {**change("a"), "zone": "bad..zone"}), ("[1]", change("b"))]

    ready, invalid, _ = prepare(items, clock=VersionClock())

    assert [c["name"] for c in ready] == ["b"]
    assert [i.position for i in invalid] == ["[0]"]
    assert invalid[0].reason.startswith("zone:")


def test_python_m_dnsbatch_runs_the_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    events = tmp_path / "one.jsonl"
    events.write_text(json.dumps(change("a")) + "\n")
    monkeypatch.setattr(sys, "argv", ["dnsbatch", "publish", "--dry-run", str(events)])

    with pytest.raises(SystemExit) as exited:
        runpy.run_path(str(REPO / "layers" / "dnsbatch" / "dnsbatch" / "__main__.py"), run_name="__main__")

    assert exited.value.code == 0


def test_a_change_too_large_for_any_message_is_reported_not_sent() -> None:
    big = change("big", comment="c" * 400)
    small = change("small")

    result = producer.publish(None, "unused", [big, small], dry_run=True, max_message_bytes=300)

    assert [i.position for i in result.invalid] == ["[0]"]
    assert "more than a message of 300" in result.invalid[0].reason
    assert result.ready == 1 and len(result.bodies) == 1
