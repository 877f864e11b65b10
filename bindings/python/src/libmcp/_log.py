"""The engine's own log records (mcp_set_log_hook, ABI 1.3) for Python code.

The engine queues its records (refused requests, listener events, the access
log) and hands them, one JSON object each, to one process-wide hook on a
thread of its own, never on an I/O thread. Here each record is decoded and
passed to the host's function, or by default to the `logging` logger
"libmcp.engine" at the record's level (the engine numbers levels as `logging`
does: 10 debug, 20 info, 30 warning, 40 error).
"""
from __future__ import annotations

import json
import logging
import threading
from ctypes import byref, c_void_p
from typing import Any, Callable

from . import _ffi

LogFunction = Callable[[int, dict], Any]

_lock = threading.Lock()
_thunk = None  # the live CFUNCTYPE object: the engine calls it until replaced


def _to_logging(level: int, record: dict) -> None:
    logger = logging.getLogger("libmcp.engine")
    extra = {k: v for k, v in record.items() if k not in ("msg", "level", "ts", "component")}
    logger.log(level, "%s: %s%s", record.get("component", "engine"), record.get("msg", ""),
               f" {json.dumps(extra, sort_keys=True)}" if extra else "")


def set_log_hook(fn: LogFunction | None = _to_logging, level: int = logging.WARNING) -> None:
    """Sends the engine's log records at `level` (a logging level number) and above to
    fn(level, record_dict); by default to the logging logger "libmcp.engine".
    fn=None stops them. Process-wide; fn runs on an engine thread, so it must not block
    for long (records queue behind it, and past 4096 are dropped, counted in a warning).
    An exception in fn is printed as logging does and dropped."""
    global _thunk
    lib = _ffi.load()
    if fn is None:
        thunk = None
    else:
        def deliver(_user_data, lvl, text):
            try:
                fn(int(lvl), json.loads(text.decode("utf-8", "replace")))
            except Exception:  # never unwind into the engine
                logging.getLogger("libmcp.engine").exception("log hook failed")
        thunk = _ffi.LOG_FN(deliver)
    with _lock:
        err = c_void_p()
        status = lib.mcp_set_log_hook(thunk if thunk is not None else _ffi.LOG_FN(), None, int(level), byref(err))
        _ffi.check(lib, status, err, "set_log_hook")
        # The engine no longer calls the previous thunk once this returned: it may go.
        _thunk = thunk
