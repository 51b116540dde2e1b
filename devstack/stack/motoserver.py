"""moto's server in a process of its own, with three narrow fixes of moto 5.2.5's per-call costs.

Why a process of its own: in-process (moto's ``ThreadedMotoServer``), moto shares the GIL with the
handlers, the pollers and the emulator, so on 2 cores every SQS and DynamoDB call waits for Python code
of the other side. In its own process moto runs on the other core.

Why the fixes (found with py-spy on ``make run``; figures in docs/local-stack.md). What made big queues
quadratic is moto's ``Queue.attributes`` property: it counts the visible, in-flight and delayed messages
by scanning the whole queue (two ``datetime`` conversions per message per scan), and moto builds it on
every SendMessage (to read ``ContentBasedDeduplication``) and three times per *received message* (the
retention check goes through ``get_queue_attributes``). Publishing and receiving n messages cost about
n² message scans each; a window of 3,000 messages did not drain in 300 s. The fixes:

* ``Queue.attributes`` becomes :class:`LazyQueueAttributes`: same keys, order and values, each computed
  when read, so a count is computed only when a client asks for it (GetQueueAttributes).
* ``Queue.messages`` (the visible, not delayed messages; ReceiveMessage builds it on every call) reads
  the clock once per call instead of twice per message: still a scan per receive, but 0.09 ms instead
  of 42 ms on a queue of 3,000 messages here.
* ``moto.backends.list_of_moto_modules`` is computed once: moto's dispatcher lists its own package
  directory (174 ``isdir`` calls) on every request to look the Host header up.

The server also sets ``TCP_NODELAY`` on its connections (see :class:`_RequestHandler`). None changes
what SQS does: visibility, redrive (maxReceiveCount, moved on receive), retention, FIFO
groups and deduplication are moto's own code. ``Queue.delete_message`` still scans the queue per receipt
handle (about 0.5 s in all for 3,000 messages). The fixes apply to moto 5.2.5 only
(:data:`PATCHED_MOTO_VERSION`); another version is served as released, until someone re-reads it.

Start it with :func:`devstack.stack.aws.start_moto`; run it by hand with ``python -m
devstack.stack.motoserver`` (prints the bound port first). Started by ``start_moto`` (``--child``), it exits
when its standard input closes, so it never outlives the process that started it, even one killed with
SIGKILL.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
from collections.abc import Iterator, Mapping
from typing import Any

import moto
from moto import backends as moto_backends
from moto.core.utils import camelcase_to_underscores, unix_time_millis
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from moto.sqs.models import Message, Queue
from werkzeug.serving import make_server

#: The moto version whose receive path the patch was read against; another version is served unpatched.
PATCHED_MOTO_VERSION = "5.2.5"


class LazyQueueAttributes(Mapping[str, Any]):
    """moto 5.2.5's ``Queue.attributes`` (same keys, same order, same values), each value computed when
    it is read: the three ``ApproximateNumberOfMessages*`` counts scan the whole queue, and moto's own
    property computed them on every send and receive, where only a static setting was wanted."""

    def __init__(self, queue: Queue) -> None:
        self._queue = queue
        names = list(queue.BASE_ATTRIBUTES)
        if queue.fifo_queue:
            names += queue.FIFO_ATTRIBUTES
        if queue.kms_master_key_id:  # type: ignore[attr-defined]
            names += queue.KMS_ATTRIBUTES
        self._names = list(dict.fromkeys(names))
        self._values: dict[str, Any] = {}

    def __getitem__(self, name: str) -> Any:
        if name not in self._values:
            if name not in self._names:
                raise KeyError(name)
            self._values[name] = self._compute(name)
        return self._values[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)

    def __contains__(self, name: object) -> bool:
        return name in self._names

    def _compute(self, name: str) -> Any:
        queue: Any = self._queue
        if name == "RedrivePolicy" and queue.redrive_policy:
            return json.dumps(queue.redrive_policy)
        value = getattr(queue, camelcase_to_underscores(name))
        return str(value).lower() if isinstance(value, bool) else value


def _visible_messages(queue: Queue) -> list[Message]:
    """moto 5.2.5's ``Queue.messages`` (visible and not delayed), with the clock read once per call instead
    of twice per message: ReceiveMessage builds this list on every call."""
    now = unix_time_millis()
    return [m for m in queue._messages if now > m.visible_at and not now < m.delayed_until]


def patch_moto() -> bool:
    """Apply the module docstring's three fixes; SQS semantics are unchanged.

    Returns False (and patches nothing) on a moto other than :data:`PATCHED_MOTO_VERSION`: the fixes
    mirror that version's code, and an upgrade must fall back to moto's own until someone re-reads it.
    """
    if moto.__version__ != PATCHED_MOTO_VERSION:
        return False
    Queue.attributes = property(LazyQueueAttributes)  # type: ignore[assignment,method-assign]
    Queue.messages = property(_visible_messages)  # type: ignore[assignment,method-assign]
    # Per request, moto's dispatcher lists its own package directory (174 entries, an isdir() each) to ask
    # whether the Host header names a service module; the directory does not change while it runs.
    modules = tuple(moto_backends.list_of_moto_modules())
    moto_backends.list_of_moto_modules = lambda: modules
    return True


class _RequestHandler(MotoRequestHandler):
    # werkzeug writes a response's headers and its body in two sends; with Nagle's algorithm the body
    # waits for the client to acknowledge the headers, which a delayed ACK can hold back.
    disable_nagle_algorithm = True


def _exit_when_stdin_closes() -> None:
    """The parent holds the other end of our stdin; when it exits (however it dies) we read EOF."""
    try:
        while sys.stdin.buffer.read(1):
            pass
    finally:
        os._exit(0)


def serve(host: str, port: int, *, patch: bool = True, child: bool = False) -> None:
    """Serve moto on ``host:port`` (0: a free port) and print the bound port.

    ``child``: started by :func:`devstack.stack.aws.start_moto`; serve until stdin closes, leave Ctrl-C
    to the parent (which stops us in its clean-up), and send anything moto prints later to stderr, so
    the stdout pipe the parent no longer reads can never fill up and block us.
    """
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    if patch:
        patch_moto()
    app: Any = DomainDispatcherApplication(create_backend_app)
    server = make_server(host, port, app, threaded=True, request_handler=_RequestHandler)
    print(server.server_address[1], flush=True)
    if child:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
        threading.Thread(target=_exit_when_stdin_closes, name="parent-watch", daemon=True).start()
    server.serve_forever()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack.stack.motoserver", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--no-patch", action="store_true", help="serve moto exactly as released")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    serve(args.host, args.port, patch=not args.no_patch, child=args.child)
    return 0


if __name__ == "__main__":
    sys.exit(main())
