"""Throughput of the event path: parse + validate + coalesce, beside plain ``json.loads`` of the same bodies.

Synthetic events mix types (A, AAAA, CNAME, TXT, MX, SRV, CAA) and hit a limited pool of record sets, so
about half of them are superseded by coalescing, as in a busy window. Best of 3 runs, ``time.perf_counter``.

Values and names are parsed through caches (dnsbatch.rdata_parsers, dnsbatch.names), so each size is
measured twice: *cold*, the caches emptied before every run (each value is parsed by dnspython the first
time the run meets it: a fresh container), and *warm*, the caches holding the previous run's values (a
producer that republishes its desired state every window). Run: ``.venv/bin/python -m bench events``.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable

from bench.timing import best_of
from dnsbatch import names, rdata_parsers
from dnsbatch.coalesce import coalesce
from dnsbatch.events import parse_message
from dnsbatch.model import Change, EventRef

ZONES = frozenset({"example.com"})
REPEATS = 3

_TEMPLATES: list[tuple[str, str, Callable[[random.Random], list[str]]]] = [
    ("A", "web{}", lambda r: [f"192.0.2.{r.randrange(1, 255)}", f"198.51.100.{r.randrange(1, 255)}"]),
    ("AAAA", "web{}", lambda r: [f"2001:db8::{r.randrange(1, 0xFFFF):x}"]),
    ("CNAME", "alias{}", lambda r: [f"lb{r.randrange(10)}.example.net"]),
    ("TXT", "_acme{}", lambda r: [f"token-{r.getrandbits(64):016x}", '"v=spf1" "-all"']),
    ("MX", "mail{}", lambda r: [f"10 mx{r.randrange(3)}.example.com", "20 backup.example.com"]),
    ("SRV", "_sip._tcp.s{}", lambda r: [f"10 5 {r.randrange(1024, 65535)} sip.example.com"]),
    (
        "CAA",
        "ca{}",
        lambda r: ['0 issue "letsencrypt.org"', f'0 iodef "mailto:s{r.randrange(9)}@example.com"'],
    ),
]


def _bodies(count: int, seed: int = 7) -> list[tuple[str, EventRef]]:
    rnd = random.Random(seed)
    # ~2 events per record set (name x type), so coalescing has duplicates to collapse.
    sets = max(1, count // (2 * len(_TEMPLATES)))
    out = []
    for i in range(count):
        type_, name, values = _TEMPLATES[rnd.randrange(len(_TEMPLATES))]
        change: dict[str, object] = {
            "zone": "example.com",
            "name": name.format(rnd.randrange(sets)),
            "type": type_,
            "action": "delete" if rnd.random() < 0.1 else "upsert",
            "version": rnd.randrange(1_000_000),
            "source": "bench",
            "id": f"e-{i}",
        }
        if change["action"] == "upsert":
            change["values"] = values(rnd)
            change["ttl"] = rnd.choice([1, 300])
        out.append((json.dumps(change), EventRef(message_id=f"m-{i}", sent_timestamp=1_700_000_000_000 + i)))
    return out


def _pipeline(bodies: list[tuple[str, EventRef]]) -> tuple[int, int, int]:
    accepted: list[Change] = []
    rejected = 0
    for body, ref in bodies:
        result = parse_message(body, ref, zones=ZONES)
        accepted.extend(result.changes)
        rejected += len(result.rejections)
    coalesced = coalesce(accepted)
    return len(coalesced.winners), len(coalesced.superseded), rejected


def clear_caches() -> None:
    """Empty the value and name caches: the next run parses every value as a fresh container would."""
    rdata_parsers.clear_cache()
    names.normalize_name.cache_clear()
    names.normalize_hostname.cache_clear()


def _cold(bodies: list[tuple[str, EventRef]]) -> tuple[int, int, int]:
    clear_caches()
    return _pipeline(bodies)


def run(quick: bool = False) -> list[str]:
    """Measure and return report lines; ``quick`` uses 1,000 events (smoke test)."""
    lines = ["events: parse + validate + coalesce vs json.loads (best of 3, perf_counter)"]
    sizes = (1_000,) if quick else (10_000, 100_000)
    for mode, work in (("cold", _cold), ("warm", _pipeline)):
        caches = "emptied before each run" if mode == "cold" else "holding the previous run's values"
        lines.append(f"  {mode}: value and name caches {caches}")
        for count in sizes:
            bodies = _bodies(count)
            winners, superseded, rejected = _pipeline(bodies)
            t_json = best_of(REPEATS, lambda bodies=bodies: [json.loads(b) for b, _ in bodies])  # type: ignore[misc]
            # The cold run empties the caches inside the timed call: a few microseconds.
            t_full = best_of(REPEATS, lambda bodies=bodies, work=work: work(bodies))  # type: ignore[misc]
            lines.append(
                f"  {count:>7,} events: {count / t_full:>10,.0f} events/s ({t_full * 1e3:8.1f} ms); "
                f"json.loads alone {count / t_json:>12,.0f} events/s ({t_json * 1e3:7.1f} ms); "
                f"ratio {t_full / t_json:5.1f}x; "
                f"winners {winners:,}, superseded {superseded:,}, rejected {rejected}"
            )
    return lines


if __name__ == "__main__":
    print("\n".join(run()))
