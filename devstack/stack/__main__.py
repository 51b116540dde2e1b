"""``python -m devstack.stack run|invoke|chaos``: the local stack (docs/architecture.md#the-local-stack)."""

from __future__ import annotations

import argparse
import json
import random
import signal
import sys
import threading
import time
import warnings
from pathlib import Path
from typing import Any

from devstack.emulator import ZoneSpec
from devstack.emulator.faults import FaultConfig
from devstack.stack import generate
from devstack.stack.chaos import FAULT_KINDS, ChaosConfig, format_summary, run_chaos
from devstack.stack.context import LambdaContext
from devstack.stack.pipeline import REPO, LocalPipeline, PipelineOptions
from devstack.stack.report import build_report, format_report

DEFAULT_EVENTS = REPO / "events" / "stream-sample.jsonl"
# The sample stream holds a record that passes dnsbatch's validation but that Cloudflare refuses; the
# emulator is told to refuse names that start with this, so the fallback path runs on every `make run`.
DEFAULT_REJECT_NAMES = r"^cf-reject"
FUNCTIONS = {"aggregator": "AggregatorFunction", "batcher": "BatcherFunction", "fallback": "FallbackFunction"}


def read_windows(path: Path) -> list[list[str]]:
    """A JSON array (one window) or JSON lines: one message body per line, '---' between windows,
    '#' comments and blank lines ignored."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise SystemExit(f"{path}: cannot read the events file ({exc.strerror or exc})") from None
    if path.suffix == ".json":
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise SystemExit(f"{path}: not valid JSON ({exc})") from None
        if not isinstance(data, list):
            raise SystemExit(f"{path}: a .json events file must hold a JSON array of message bodies")
        return [[b if isinstance(b, str) else json.dumps(b) for b in data]]
    windows: list[list[str]] = [[]]
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line == "---":
            windows.append([])
            continue
        windows[-1].append(line)
    return [w for w in windows if w]


# Read as a zone file (through the producer kit's import-zone) rather than as events: `--zone-file`, or these.
ZONE_FILE_SUFFIXES = (".zone", ".db")


def zone_file_window(path: Path) -> tuple[str, list[str]]:
    """A zone file as one window: the zone's name and the envelopes of its upserts, packed as
    `python -m dnsbatch import-zone FILE | python -m dnsbatch publish` sends them (versions left to the
    SentTimestamp default)."""
    from dnsbatch import producer, zonefile  # noqa: PLC0415 - only when a zone file is the source

    try:
        text = path.read_text()
    except OSError as exc:
        raise SystemExit(f"{path}: cannot read the zone file ({exc.strerror or exc})") from None
    try:
        imported = zonefile.import_zone(text, filename=str(path))
    except zonefile.ZoneFileError as exc:
        raise SystemExit(f"{path}: not a zone file dnspython can read ({exc})") from None
    print(imported.summary(), file=sys.stderr)
    encoded = [producer.encode_change(event) for event in imported.events]
    return imported.zone, [producer.envelope(encoded[i] for i in group) for group in producer.pack(encoded)]


def parse_zone(text: str) -> ZoneSpec:
    name, _, plan = text.partition("=")
    return ZoneSpec(name.strip().lower(), plan=(plan.strip().lower() or "free"))


def _progress(pipeline: LocalPipeline, started: float, stop: threading.Event, label: list[str]) -> None:
    while not stop.wait(1.0):
        try:
            depths = {q: pipeline.depth(q) for q in ("IngestQueue", "ChangeSetQueue", "FallbackQueue")}
        except Exception:  # the progress line is best effort; the run itself reports errors
            continue
        done = len(pipeline.final_outcomes())
        print(
            f"[{time.monotonic() - started:6.1f}s] {label[0]}: outcomes {done}, queues "
            + " ".join(f"{k.removesuffix('Queue').lower()}={v}" for k, v in depths.items()),
            file=sys.stderr,
            flush=True,
        )


def parse_generate(spec: str) -> tuple[int, int, int]:
    """``MESSAGES[xWINDOWS[xCHANGES]]`` → (messages per window, windows, changes per message)."""
    try:
        parts = [int(p) for p in spec.lower().split("x")]
    except ValueError:
        parts = []
    if not 1 <= len(parts) <= 3 or min(parts) < 1:
        raise SystemExit(f"--generate {spec!r}: expected MESSAGES[xWINDOWS[xCHANGES]], e.g. 3000 or 2500x4")
    parts += [1] * (3 - len(parts))
    return parts[0], parts[1], parts[2]


def _generated_events(args: argparse.Namespace) -> Path:
    if args.events != str(DEFAULT_EVENTS):
        raise SystemExit("give either --events or --generate, not both")
    messages, windows, changes = parse_generate(args.generate)
    zone = parse_zone(args.zone[0]).name if args.zone else "example.com"
    path = REPO / ".devstack" / f"generated-{messages}x{windows}x{changes}-{zone}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as out:
        generate.write(out, messages, windows=windows, changes_per_message=changes, zone=zone)
    return path


def cmd_run(args: argparse.Namespace) -> int:
    events = _generated_events(args) if args.generate else Path(args.events)
    if events.resolve().is_relative_to(Path.cwd()):
        events = events.resolve().relative_to(Path.cwd())
    if args.zone_file or events.suffix in ZONE_FILE_SUFFIXES:
        zone_name, bodies = zone_file_window(events)
        windows = [bodies]
        # The emulator serves the zone the file describes (Free plan) unless --zone says otherwise.
        args.zone = args.zone or [zone_name]
    else:
        windows = read_windows(events)
    log_path = Path(args.logs)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    options = PipelineOptions(
        zones=[parse_zone(z) for z in args.zone] or PipelineOptions().zones,
        time_scale=args.time_scale,
        context_time_scale=args.context_time_scale,
        real_cloudflare=args.real_cloudflare,
    )
    started = time.monotonic()
    with log_path.open("w") as logs:
        options.log_stream = logs
        with LocalPipeline(options) as pipeline:
            emulator = pipeline.emulator
            where = "real Cloudflare" if emulator is None else f"the emulator at {emulator.base_url}"
            print(
                f"dnsbatch local run: {events}: {sum(map(len, windows))} messages"
                f" in {len(windows)} window(s) → {where}",
                file=sys.stderr,
            )
            if pipeline.emulator is not None and args.reject_names:
                pipeline.emulator.set_faults(FaultConfig(reject_name_pattern=args.reject_names))
            label = ["starting"]
            stop = threading.Event()
            ticker = threading.Thread(target=_progress, args=(pipeline, started, stop, label), daemon=True)
            ticker.start()
            per_window = []
            drained = True
            try:
                for number, bodies in enumerate(windows, start=1):
                    label[0] = f"window {number}/{len(windows)}"
                    before = dict(pipeline.cloudflare_calls())
                    pipeline.publish(bodies)
                    stats = pipeline.drain(timeout=args.timeout)
                    drained = drained and stats.idle
                    after = pipeline.cloudflare_calls()
                    per_window.append(
                        {
                            "window": number,
                            "messages": len(bodies),
                            "cloudflare_calls": {
                                k: v - before.get(k, 0) for k, v in after.items() if v - before.get(k, 0)
                            },
                        }
                    )
            finally:
                stop.set()
                ticker.join()
            report = build_report(pipeline, windows, per_window, time.monotonic() - started, drained)
    print(format_report(report, log_path))
    if args.report:
        Path(args.report).write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
        print(f"JSON report written to {args.report}")
    return 0 if report["ok"] else 1


def cmd_invoke(args: argparse.Namespace) -> int:
    logical = FUNCTIONS[args.function]
    event = json.loads(Path(args.event).read_text())
    with LocalPipeline(PipelineOptions(time_scale=args.time_scale)) as pipeline:
        spec = pipeline.stack.event_sources(logical)[0]
        context = LambdaContext.start(
            function_name=spec.function_name,
            timeout_seconds=spec.function_timeout,
            memory_limit_in_mb=spec.memory_mb,
        )
        response = pipeline.invoke(logical, event, context)
        result: dict[str, Any] = {
            "function": logical,
            "response": response,
            "outcomes": [
                {
                    "outcome": o.outcome.value,
                    "record_set": None if o.key is None else f"{o.key.name} {o.key.type}",
                    "reason": o.reason,
                    "cf_code": o.cf_code,
                }
                for o in pipeline.outcomes
            ],
            "queues": {q: pipeline.depth(q) for q in pipeline.stack.queue_urls},
            "cloudflare_calls": pipeline.cloudflare_calls(),
        }
        if args.logs:
            print(pipeline.logs(), end="")
    print(json.dumps(result, indent=2, sort_keys=True, default=str))
    return 0


def cmd_generate(args: argparse.Namespace) -> int:
    try:
        if args.output == "-":
            count = generate.write(
                sys.stdout,
                args.messages,
                windows=args.windows,
                changes_per_message=args.changes_per_message,
                zone=args.zone,
            )
        else:
            path = Path(args.output)
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("w") as out:
                count = generate.write(
                    out,
                    args.messages,
                    windows=args.windows,
                    changes_per_message=args.changes_per_message,
                    zone=args.zone,
                )
    except ValueError as exc:
        raise SystemExit(f"generate: {exc}") from None
    print(
        f"{count} events in {args.messages * args.windows} messages,"
        f" {args.windows} window(s) → {args.output}",
        file=sys.stderr,
    )
    return 0


def cmd_chaos(args: argparse.Namespace) -> int:
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(10**9)
    faults = tuple(k for k in args.faults.split(",") if k) if args.faults is not None else FAULT_KINDS
    unknown = set(faults) - set(FAULT_KINDS)
    if unknown:
        raise SystemExit(
            f"unknown fault kinds: {', '.join(sorted(unknown))} (known: {', '.join(FAULT_KINDS)})"
        )
    log_path = Path(args.logs)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    config = ChaosConfig(
        seed=seed,
        events=args.events,
        windows=args.windows,
        faults=faults,
        kill_rate=args.kill_rate,
        kill_after=args.kill_after,
        time_scale=args.time_scale,
        log_path=log_path,
    )
    print(
        f"dnsbatch chaos run: seed {seed}, {config.events} events in {config.windows} windows,"
        f" faults {','.join(faults) or 'none'}, kill rate {config.kill_rate:g}",
        file=sys.stderr,
        flush=True,
    )
    # A killed handler's finally block (Powertools flushing an empty metrics set) warns; a dead process
    # would print nothing, and the warning says nothing about the run.
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    result = run_chaos(config, progress=sys.stderr)
    print(format_summary(result))
    print(f"function logs      {log_path}")
    if args.report:
        Path(args.report).write_text(json.dumps(result.summary, indent=2, sort_keys=True) + "\n")
        print(f"JSON summary written to {args.report}")
    return 0 if result.ok else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack.stack", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="publish a stream of events through the whole local pipeline and report")
    run.add_argument(
        "--events", default=str(DEFAULT_EVENTS), help="JSON lines ('---' between windows) or a JSON array"
    )
    run.add_argument(
        "--zone-file",
        action="store_true",
        help="--events is a zone file (BIND or a Cloudflare export; implied by .zone and .db): its record"
        " sets are imported as upserts (python -m dnsbatch import-zone) and published as one window",
    )
    run.add_argument(
        "--generate",
        metavar="MESSAGES[xWINDOWS[xCHANGES]]",
        help="publish a generated stream instead of --events (see `generate`; the file goes to .devstack/):"
        " 3000 = one window of 3,000 messages, 250x4x10 = 4 windows of 250 envelopes of 10 changes",
    )
    run.add_argument("--report", help="also write the report as JSON to this file")
    run.add_argument(
        "--logs", default=str(REPO / ".devstack" / "run-logs.jsonl"), help="where the functions' JSON logs go"
    )
    run.add_argument(
        "--zone", action="append", default=[], help="emulated zone NAME[=PLAN] (default example.com=free)"
    )
    run.add_argument(
        "--time-scale", type=float, default=0.02, help="multiply every deployed wait by this (default 0.02)"
    )
    run.add_argument(
        "--context-time-scale",
        type=float,
        help="scale the handlers' time budget apart from --time-scale (default: the same); at volume,"
        " 0.02 x 300 s leaves the batcher 6 s, less than a laptop needs for thousands of record sets",
    )
    run.add_argument(
        "--timeout", type=float, default=300.0, help="give up draining a window after this many seconds"
    )
    run.add_argument(
        "--reject-names",
        default=DEFAULT_REJECT_NAMES,
        help="the emulator refuses records whose name matches this regex ('' for none)",
    )
    run.add_argument(
        "--real-cloudflare",
        action="store_true",
        help="apply to real Cloudflare: needs CLOUDFLARE_API_TOKEN and ZONES in the environment",
    )
    run.set_defaults(func=cmd_run)
    invoke = sub.add_parser(
        "invoke", help="run one handler with an SQS event file against a fresh local stack"
    )
    invoke.add_argument("--function", choices=sorted(FUNCTIONS), required=True)
    invoke.add_argument("--event", required=True)
    invoke.add_argument("--time-scale", type=float, default=1.0)
    invoke.add_argument("--logs", action="store_true", help="print the handler's JSON log lines too")
    invoke.set_defaults(func=cmd_invoke)
    gen = sub.add_parser("generate", help="write a synthetic change stream for volume runs (JSON lines)")
    gen.add_argument("--messages", type=int, required=True, help="messages per window")
    gen.add_argument("--windows", type=int, default=1)
    gen.add_argument(
        "--changes-per-message", type=int, default=1, help="1: a bare change per message; more: an envelope"
    )
    gen.add_argument("--zone", default="example.com")
    gen.add_argument("--output", "-o", default="-", help="file to write ('-': standard output)")
    gen.set_defaults(func=cmd_generate)
    chaos = sub.add_parser(
        "chaos",
        help="seeded events, faults and killed functions through the pipeline, checked against an oracle",
    )
    chaos.add_argument("--seed", type=int, help="replay a run (default: a random seed, printed)")
    chaos.add_argument("--events", type=int, default=10_000)
    chaos.add_argument("--windows", type=int, default=50)
    chaos.add_argument("--faults", help="comma-separated fault kinds to draw from ('' for none; default all)")
    chaos.add_argument(
        "--kill-rate", type=float, default=0.08, help="share of invocations killed (0 for none)"
    )
    chaos.add_argument("--kill-after", type=int, default=40, help="a killed invocation dies after 1..N calls")
    chaos.add_argument("--time-scale", type=float, default=0.002, help="visibility timeouts, window, pacing")
    chaos.add_argument("--report", help="also write the summary as JSON to this file")
    chaos.add_argument(
        "--logs",
        default=str(REPO / ".devstack" / "chaos-logs.jsonl"),
        help="where the functions' JSON logs go",
    )
    chaos.set_defaults(func=cmd_chaos)
    args = parser.parse_args(argv)
    # SIGTERM (a CI runner's timeout, `kill`) unwinds like Ctrl-C, so every `with` block stops what it
    # started: moto's child process, the emulator, the handlers' connections.
    signal.signal(signal.SIGTERM, _terminate)
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        print("interrupted; the local stack was stopped", file=sys.stderr)
        return 130


def _terminate(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


if __name__ == "__main__":
    sys.exit(main())
