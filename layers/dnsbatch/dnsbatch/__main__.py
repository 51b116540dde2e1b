"""``python -m dnsbatch publish|import-zone`` (console script ``dnsbatch``): the producer kit's CLI
(README "Producer kit", docs/producer-kit.md)."""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path
from typing import TextIO

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE = 0, 1, 2


def _read_text(path: str) -> str:
    if path == "-":
        return sys.stdin.read()
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SystemExit(f"{path}: cannot read it ({getattr(exc, 'strerror', None) or exc})") from None


def _region_of(queue_url: str) -> str | None:
    match = re.match(r"https://sqs[.-]([a-z0-9-]+)\.amazonaws\.com", queue_url)
    return match.group(1) if match else None


def cmd_publish(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from dnsbatch import producer  # noqa: PLC0415 - the CLI loads only what the command needs

    queue_url = args.queue_url or os.environ.get("INGEST_QUEUE_URL", "")
    if not queue_url and not args.dry_run:
        print("publish: give --queue-url or set INGEST_QUEUE_URL (or use --dry-run)", file=err)
        return EXIT_USAGE
    items, unreadable = producer.read_changes(_read_text(args.file))
    sqs = None
    if not args.dry_run:
        import boto3  # noqa: PLC0415

        region = args.region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
        sqs = boto3.client(
            "sqs", endpoint_url=args.endpoint_url, region_name=region or _region_of(queue_url) or "us-east-1"
        )
    zones = (
        [z.strip().lower().rstrip(".") for z in args.zones.split(",") if z.strip()] if args.zones else None
    )
    result = producer.publish(
        sqs,
        queue_url,
        items,
        zones=zones,
        source=args.source,
        max_message_bytes=args.max_message_bytes,
        attempts=args.attempts,
        group_id=args.group_id,
        dry_run=args.dry_run,
    )
    result.read += len(unreadable)
    result.invalid[:0] = unreadable
    for bad in result.invalid:
        print(f"invalid {bad.position}: {bad.reason}", file=err)
    for message in result.unsent:
        print(f"unsent: a message of {len(message.changes)} changes: {message.reason}", file=err)
    if result.unsent and args.unsent:
        with Path(args.unsent).open("w", encoding="utf-8") as file:
            for message in result.unsent:
                for change in message.changes:
                    file.write(json.dumps(change, ensure_ascii=False) + "\n")
        print(
            f"the unsent changes (with their versions) are in {args.unsent}: publish that file again",
            file=err,
        )
    if args.dry_run:
        for body in result.bodies:
            out.write(body + "\n")
        print(
            f"publish (dry run): {result.read} changes read, {result.ready} would be sent in "
            f"{len(result.bodies)} messages; {len(result.invalid)} invalid",
            file=err,
        )
    else:
        print(result.summary(), file=err)
    return EXIT_OK if result.ok else EXIT_PROBLEMS


def cmd_import_zone(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from dnsbatch import zonefile  # noqa: PLC0415

    try:
        imported = zonefile.import_zone(
            _read_text(args.file),
            zone=args.zone,
            source=args.source,
            allow_mass_change=args.allow_mass_change,
            filename=args.file if args.file != "-" else "<stdin>",
        )
    except zonefile.ZoneFileError as exc:
        print(f"import-zone: {exc}", file=err)
        return EXIT_PROBLEMS
    if args.output and args.output != "-":
        Path(args.output).write_text(imported.jsonl(), encoding="utf-8")
    else:
        out.write(imported.jsonl())
    print(imported.summary(), file=err)
    print(
        "  ownership: dnsbatch changes only records carrying its owner marker; an upsert onto records that "
        "already exist without it is rejected unless the stack runs with AdoptUnowned=true "
        "(docs/producer-kit.md#bringing-an-existing-zone-under-dnsbatch)",
        file=err,
    )
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dnsbatch", description="dnsbatch's producer kit")
    sub = parser.add_subparsers(dest="command", required=True)
    pub = sub.add_parser(
        "publish",
        help="check, version, pack and send change events to the ingest queue",
        description="Read changes (JSON lines or a JSON array), check each with dnsbatch's own parser, give "
        "those without a version one (epoch ms, increasing per record set), pack them into the fewest "
        "envelopes SQS takes and send them with SendMessageBatch, retrying failed entries.",
    )
    pub.add_argument("file", nargs="?", default="-", help="the changes ('-' or nothing: standard input)")
    pub.add_argument("--queue-url", help="the ingest queue (default: $INGEST_QUEUE_URL)")
    pub.add_argument("--endpoint-url", help="SQS endpoint (a local stack such as moto's server)")
    pub.add_argument("--region", help="AWS region (default: the environment's, or the queue URL's)")
    pub.add_argument("--zones", help="the deployed ZONES allowlist, comma-separated, to check zones locally")
    pub.add_argument("--source", help="set `source` on every change that has none")
    pub.add_argument("--attempts", type=int, default=5, help="send attempts per message (default 5)")
    pub.add_argument(
        "--max-message-bytes",
        type=int,
        default=1024 * 1024,
        help="envelope size limit: the queue's MaximumMessageSize (default 1 MiB)",
    )
    pub.add_argument("--group-id", help="MessageGroupId for a FIFO ingest queue (default dnsbatch-producer)")
    pub.add_argument("--unsent", help="write the changes SQS did not take to this file (JSON lines)")
    pub.add_argument(
        "--dry-run", action="store_true", help="check and pack only: print the envelopes, send nothing"
    )
    pub.set_defaults(func=cmd_publish)
    imp = sub.add_parser(
        "import-zone",
        help="a BIND zone file or a Cloudflare export → upsert events (JSON lines)",
        description="One upsert per record set of a type Cloudflare serves; SOA and apex NS are skipped. "
        "Pipe the output to `dnsbatch publish`.",
    )
    imp.add_argument("file", help="the zone file ('-': standard input)")
    imp.add_argument("--zone", help="the zone's name (default: the file's $ORIGIN or export header)")
    imp.add_argument("--source", default="import-zone", help="`source` of every event (default import-zone)")
    imp.add_argument(
        "--allow-mass-change",
        action="store_true",
        help="mark every event allow_mass_change (the import is meant to change many records)",
    )
    imp.add_argument("--output", "-o", help="write the events here (default: standard output)")
    imp.set_defaults(func=cmd_import_zone)
    return parser


def main(argv: list[str] | None = None, out: TextIO | None = None, err: TextIO | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args, out or sys.stdout, err or sys.stderr))
    except SystemExit as exc:  # a file that cannot be read: its message, no traceback
        print(exc.code, file=err or sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
