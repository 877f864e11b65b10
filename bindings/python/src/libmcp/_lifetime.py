"""What the binding closes itself at interpreter exit, and in which order.

Engine threads call into Python (tools, notifications, the thread hooks of
_threads). Once the interpreter has finalized, such a call crashes the process,
so nothing of the engine may still run then. weakref.finalize's own exit hook
does not guarantee that: it runs at whatever point of the atexit order the
first finalize object of the process put it (often before libmcp was loaded,
so after libmcp's own exit hook), and then servers and clients would be closed
while the interpreter is already going away.

So the engine objects (servers, clients, sessions) register their finalizers
here instead (not with weakref's exit hook), and `close_all` runs their close
functions itself, newest first, from libmcp's exit hook, before it waits for
the engine's threads. (It cannot just call the finalize objects: once
weakref's exit hook has run, a finalize object called does nothing.)
"""
from __future__ import annotations

import itertools
import threading
import weakref
from typing import Any, Callable

_open: dict[int, tuple[weakref.finalize, Callable[[], None]]] = {}
_lock = threading.Lock()
_keys = itertools.count()


def finalizer(owner: Any, close: Callable[..., Any], *args: Any) -> weakref.finalize:
    """weakref.finalize(owner, close, *args), run by close_all at exit if still pending."""
    key = next(_keys)

    def run() -> None:
        with _lock:
            _open.pop(key, None)
        close(*args)

    f = weakref.finalize(owner, run)
    f.atexit = False
    with _lock:
        _open[key] = (f, run)
    return f


def close_all() -> None:
    """Closes every engine object still open, newest first (a session before its server)."""
    with _lock:
        pending = [entry for _, entry in sorted(_open.items(), reverse=True)]
    for f, run in pending:
        if f.detach() is None:
            continue  # ran meanwhile (closed by its owner or collected)
        try:
            run()
        except Exception:  # an exit hook must not stop the others
            pass


def open_count() -> int:
    """For tests: how many engine objects are still open."""
    with _lock:
        return len(_open)
