"""The report printed at the end of ``make run``: events in, outcomes (which must add up), record sets,
chunks, Cloudflare calls by endpoint (and per window), fallbacks, rejections with reasons, elapsed time."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from devstack.stack.pipeline import LocalPipeline, count_events
from dnsbatch.model import Outcome

DLQS = ("IngestDeadLetterQueue", "ChangeSetDeadLetterQueue", "FallbackDeadLetterQueue")


def build_report(
    pipeline: LocalPipeline,
    windows: list[list[str]],
    per_window: list[dict[str, Any]],
    elapsed: float,
    drained: bool,
) -> dict[str, Any]:
    events_in = sum(count_events(w) for w in windows)
    finals = pipeline.final_outcomes()
    outcomes = Counter(o.outcome.value for o in finals.values())
    counters = pipeline.counters()
    rejected = []
    for message in pipeline.read_queue("RejectedQueue"):
        attrs = {k: v.get("StringValue") for k, v in message.get("MessageAttributes", {}).items()}
        rejected.append(
            {
                "stage": attrs.get("stage"),
                "zone": attrs.get("zone"),
                "record_set": attrs.get("record_set"),
                "cf_code": attrs.get("cf_code"),
                "reason": attrs.get("reason"),
            }
        )
    dlqs = {q: pipeline.depth(q) for q in DLQS if q in pipeline.stack.queue_urls}
    calls = pipeline.cloudflare_calls()
    total = sum(outcomes.values())
    adds_up = total == events_in
    return {
        "events_in": events_in,
        "messages_in": sum(len(w) for w in windows),
        "windows": len(windows),
        "outcomes": {o.value: outcomes.get(o.value, 0) for o in Outcome},
        "outcomes_total": total,
        "adds_up": adds_up,
        "record_sets": len({o.key for o in finals.values() if o.key is not None}),
        "chunks": {
            "applied": counters.get("ChunksApplied", 0),
            "rejected": counters.get("ChunksRejected", 0),
        },
        "bisections": counters.get("Bisections", 0),
        "fallback_names": counters.get("FallbackNames", 0),
        "fallbacks": counters.get("Fallbacks", 0),
        "cloudflare_calls": dict(sorted(calls.items())),
        "cloudflare_calls_total": sum(calls.values()),
        "per_window": per_window,
        "rejections": sorted(
            rejected, key=lambda r: (r["stage"] or "", r["record_set"] or "", r["reason"] or "")
        ),
        "dead_letter_queues": dlqs,
        "drained": drained,
        "elapsed_seconds": round(elapsed, 2),
        "ok": adds_up and drained and not any(dlqs.values()),
    }


def format_report(report: dict[str, Any], log_path: Path | None = None) -> str:
    out = ["", "dnsbatch local run report", "=" * 25]
    out.append(
        f"events in          {report['events_in']}"
        f" ({report['messages_in']} messages, {report['windows']} windows)"
    )
    parts = ", ".join(f"{k} {v}" for k, v in report["outcomes"].items())
    verdict = "adds up" if report["adds_up"] else "DOES NOT ADD UP"
    out.append(f"outcomes           {parts} = {report['outcomes_total']} ({verdict})")
    out.append(f"record sets        {report['record_sets']}")
    chunks = report["chunks"]
    out.append(
        f"batches            {chunks['applied']} applied; {chunks['rejected']} chunks refused, bisected in "
        f"{report['bisections']} splits → {report['fallback_names']} names"
        f" ({report['fallbacks']} record sets) to the fallback"
    )
    out.append(f"cloudflare calls   {report['cloudflare_calls_total']}")
    for endpoint, count in report["cloudflare_calls"].items():
        out.append(f"    {count:5d}  {endpoint}")
    for window in report["per_window"]:
        calls = ", ".join(f"{v} {k}" for k, v in sorted(window["cloudflare_calls"].items())) or "none"
        out.append(f"  window {window['window']} ({window['messages']} messages): {calls}")
    out.append(f"rejections         {len(report['rejections'])}")
    for r in report["rejections"]:
        code = f" [{r['cf_code']}]" if r["cf_code"] else ""
        where = f" {r['zone']} {r['record_set']}" if r["record_set"] else ""
        out.append(f"    {r['stage']}{where}{code}: {r['reason']}")
    out.append(f"dead-letter queues {', '.join(f'{k}={v}' for k, v in report['dead_letter_queues'].items())}")
    out.append(f"drained            {'yes' if report['drained'] else 'NO (timed out)'}")
    out.append(f"elapsed            {report['elapsed_seconds']} s")
    if log_path is not None:
        shown = log_path.resolve()
        if shown.is_relative_to(Path.cwd()):
            shown = shown.relative_to(Path.cwd())
        out.append(f"function logs      {shown}")
    out.append("result             " + ("OK" if report["ok"] else "FAILED"))
    return "\n".join(out)
