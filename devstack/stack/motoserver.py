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
import copy
import io
import json
import logging
import os
import signal
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import moto
from moto import backends as moto_backends
from moto.core import responses as moto_responses
from moto.core.base_backend import BackendDict
from moto.core.utils import camelcase_to_underscores, unix_time_millis
from moto.dynamodb.comparisons import ConditionExpressionParser
from moto.dynamodb.parsing import validators as dynamodb_validators
from moto.dynamodb.parsing.expressions import UpdateExpressionParser  # type: ignore[attr-defined]
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from moto.sqs.exceptions import ReceiptHandleIsInvalid
from moto.sqs.models import Message, Queue
from werkzeug.exceptions import InternalServerError
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


# Parsed DynamoDB expressions by their text. The Ledger sends the same few expressions with every call (the
# values travel apart, as ExpressionAttributeValues), and moto parses each twice per UpdateItem.
_EXPRESSION_CACHE_SIZE = 256
_update_trees: dict[str, Any] = {}
_update_tree_texts: dict[int, str] = {}
_condition_tokens: dict[str, tuple[Any, ...]] = {}


def _cached_update_expression(parse: Callable[[str], Any]) -> Callable[..., Any]:
    """``UpdateExpressionParser.make``, parsed once per text. moto never changes the tree it gets: its
    validator works on a copy (:func:`_fresh_tree`), the response code only reads it."""

    def make(cls: Any, expression_str: str) -> Any:
        tree = _update_trees.get(expression_str)
        if tree is None:
            tree = parse(expression_str)
            if len(_update_trees) < _EXPRESSION_CACHE_SIZE:
                _update_trees[expression_str] = tree
                _update_tree_texts[id(tree)] = (
                    expression_str  # the cache keeps the tree alive: ids are stable
                )
        return tree

    return make


def _fresh_tree(parse: Callable[[str], Any]) -> Callable[..., Any]:
    """What moto's validator copies the tree with (``deepcopy``, before it substitutes the values): for a
    cached tree, a new parse of its text gives the same tree at a third of the cost of a deep copy."""

    def copy_of(node: Any, memo: dict[int, Any] | None = None) -> Any:
        text = _update_tree_texts.get(id(node))
        return copy.deepcopy(node, memo) if text is None else parse(text)

    return copy_of


def _cached_condition_tokens(lex: Callable[[Any], deque[Any]]) -> Callable[[Any], deque[Any]]:
    """``ConditionExpressionParser._lex_condition_expression``: the tokens depend on the text alone. Each
    call gets its own deque and token tuples (with their own empty ``children`` lists)."""

    def lexed(parser: Any) -> deque[Any]:
        text = parser.condition_expression
        tokens = _condition_tokens.get(text)
        if tokens is None:
            tokens = tuple(lex(parser))
            if len(_condition_tokens) < _EXPRESSION_CACHE_SIZE:
                _condition_tokens[text] = tokens
        return deque(token._replace(children=[]) for token in tokens)

    return lexed


def _delayed_count(queue: Queue) -> int:
    """moto 5.2.5's ``approximate_number_of_messages_delayed`` with the clock read once per call."""
    now = unix_time_millis()
    return sum(1 for m in queue._messages if now < m.delayed_until)


def _not_visible_count(queue: Queue) -> int:
    """moto 5.2.5's ``approximate_number_of_messages_not_visible`` with the clock read once per call: the
    local stack's progress line and drain checks ask for both counts every second."""
    now = unix_time_millis()
    return sum(1 for m in queue._messages if not now > m.visible_at)


def _delete_message(queue: Queue, receipt_handle: str) -> None:
    """moto 5.2.5's ``Queue.delete_message`` in one pass over the queue instead of two, without building
    a list of each message's receipt handles to test one: the same messages are removed, the same handles
    remembered as deleted, the same error raised for a handle no message ever had."""
    if receipt_handle in queue.deleted_messages:
        return  # already deleted: moto accepts it again

    def had(message: Message) -> bool:
        return message.receipt_handle == receipt_handle or receipt_handle in message._old_receipt_handles

    kept: list[Message] = []
    matching: list[Message] = []
    for message in queue._messages:
        (matching if had(message) else kept).append(message)
    if not matching:
        raise ReceiptHandleIsInvalid()
    for message in matching:
        queue.pending_messages.discard(message)
        queue.deleted_messages.update(message.all_receipt_handles)  # type: ignore[arg-type]
    queue._messages = kept


def _known_account_backend(create: Callable[[Any, str], None]) -> Callable[[Any, str], None]:
    """``BackendDict._create_account_specific_backend``, skipped once the account's backend exists and the
    dictionary is registered: moto runs it on every backend lookup (several per request), and it tests
    registration with a list scan calling ``__eq__`` on every service's BackendDict."""
    registered: set[int] = set()

    def create_once(backends: Any, account_id: str) -> None:
        if id(backends) in registered and dict.__contains__(backends, account_id):
            return
        create(backends, account_id)
        registered.add(id(backends))  # moto's reset clears the dictionaries: the check above fails again

    return create_once


def _cached_method_names(find: Callable[[object], list[str]]) -> Callable[[object], list[str]]:
    """``method_names_from_class``: ``inspect.getmembers`` of a response class, on every request; the
    classes do not change while the server runs."""
    found: dict[object, list[str]] = {}

    def names(clazz: object) -> list[str]:
        if clazz not in found:
            found[clazz] = find(clazz)
        return list(found[clazz])

    return names


def patch_moto() -> bool:
    """Apply the module docstring's fixes; SQS and DynamoDB semantics are unchanged.

    Returns False (and patches nothing) on a moto other than :data:`PATCHED_MOTO_VERSION`: the fixes
    mirror that version's code, and an upgrade must fall back to moto's own until someone re-reads it.
    """
    if moto.__version__ != PATCHED_MOTO_VERSION:
        return False
    Queue.attributes = property(LazyQueueAttributes)  # type: ignore[assignment,method-assign]
    Queue.messages = property(_visible_messages)  # type: ignore[assignment,method-assign]
    Queue.approximate_number_of_messages_delayed = property(_delayed_count)  # type: ignore[method-assign,assignment]
    Queue.approximate_number_of_messages_not_visible = property(_not_visible_count)  # type: ignore[method-assign,assignment]
    # Per request, moto's dispatcher lists its own package directory (174 entries, an isdir() each) to ask
    # whether the Host header names a service module; the directory does not change while it runs.
    modules = tuple(moto_backends.list_of_moto_modules())
    moto_backends.list_of_moto_modules = lambda: modules
    parse = UpdateExpressionParser.make
    UpdateExpressionParser.make = classmethod(_cached_update_expression(parse))
    dynamodb_validators.deepcopy = _fresh_tree(parse)  # type: ignore[attr-defined]
    lex = ConditionExpressionParser._lex_condition_expression
    ConditionExpressionParser._lex_condition_expression = _cached_condition_tokens(lex)  # type: ignore[assignment,method-assign]
    Queue.delete_message = _delete_message  # type: ignore[method-assign,assignment]
    create = BackendDict._create_account_specific_backend
    BackendDict._create_account_specific_backend = _known_account_backend(create)  # type: ignore[method-assign,assignment]
    find_names = moto_responses.method_names_from_class  # type: ignore[attr-defined]
    moto_responses.method_names_from_class = _cached_method_names(find_names)  # type: ignore[attr-defined,assignment]
    return True


class _RequestHandler(MotoRequestHandler):
    """werkzeug's handler, with HTTP keep-alive for plain requests.

    werkzeug's development server answers every request with ``Connection: close`` (Python's http.server
    cannot drain a request body it has not read before the next request line), so every AWS call cost a
    TCP connection, a server thread and the client's connection set-up. A request with a Content-Length
    and no ``Expect: 100-continue`` is read whole here before moto sees it, so nothing is left to drain and
    the connection can serve the next request; anything else goes through werkzeug's own path (and is
    closed as before). moto answers from complete byte strings, so the response gets a Content-Length.
    """

    # werkzeug writes a response's headers and its body in two sends; with Nagle's algorithm the body
    # waits for the client to acknowledge the headers, which a delayed ACK can hold back.
    disable_nagle_algorithm = True

    def run_wsgi(self) -> None:
        length = self.headers.get("Content-Length")
        plain = not self.headers.get("Transfer-Encoding") and not self.headers.get("Expect")
        if not plain or (length is None and self.command in ("POST", "PUT", "PATCH")):
            self.close_connection = True
            super().run_wsgi()
            return
        environ = self.make_environ()
        environ["wsgi.input"] = io.BytesIO(self.rfile.read(int(length or 0)))
        started: list[Any] = []
        chunks: list[bytes] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            started[:] = [status, headers]
            return chunks.append

        app: Any = self.server.app
        try:
            result = app(environ, start_response)
            try:
                chunks.extend(result)
            finally:
                if hasattr(result, "close"):
                    result.close()
        except Exception:
            logging.getLogger(__name__).exception("moto failed on %s %s", self.command, self.path)
            self.close_connection = True
            chunks.clear()
            chunks.extend(InternalServerError()(environ, start_response))
        status, headers = started
        code, _, reason = status.partition(" ")
        body = b"".join(chunks)
        self.send_response(int(code), reason)
        for key, value in headers:
            if key.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self.wfile.flush()


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
