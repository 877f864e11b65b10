"""`Session`: one client connection whose bytes the host moves (mcp_server_session_new).

Give every JSON-RPC message from the client to `receive()`; the engine hands
each outgoing message to the `send` callable (on engine threads, in order).
Without a `send`, outgoing messages queue on the session, and `request()` /
`notify()` make it a small in-process client (handy in tests).
"""
from __future__ import annotations

import itertools
import json
import queue
import threading
import time
from ctypes import byref, c_void_p
from typing import Any, Callable

from . import _callbacks, _ffi, _lifetime, errors


class _Sink:
    """user_data of the session: receives the engine's outgoing messages."""

    __slots__ = ("send",)

    def __init__(self, send: Callable[[str], Any]):
        self.send = send

    def on_send(self, data: bytes) -> None:
        self.send(data.decode("utf-8"))


def _free_session(lib: _ffi.Library, box: list) -> None:
    handle = box[0]
    box[0] = None
    if handle:
        lib.mcp_session_free(handle)


class Session:
    def __init__(self, core: Any, send: Callable[[str], Any] | None = None):
        self._lib: _ffi.Library = core.lib
        self._core = core  # keeps the server's engine handle referenced while the session lives
        self.messages: "queue.Queue[dict]" = queue.Queue()
        self._ids = itertools.count(1)
        self._pending: list[dict] = []
        self._read_lock = threading.Lock()
        sink = _Sink(send if send is not None else self._enqueue)
        key = _callbacks.keep(sink)
        out, err = c_void_p(), c_void_p()
        status = self._lib.mcp_server_session_new(core.live(), _callbacks.send_thunk, key, _callbacks.free_thunk,
                                                  byref(out), byref(err))
        if status != errors.OK:
            _callbacks.drop(key)
            _ffi.check(self._lib, status, err, "connect")
        self._box = [out.value]
        self._finalizer = _lifetime.finalizer(self, _free_session, self._lib, self._box)

    def _enqueue(self, text: str) -> None:
        self.messages.put(json.loads(text))

    def receive(self, message: str | bytes | dict) -> None:
        """Gives the engine one message from the client (a JSON text or a dict)."""
        if isinstance(message, dict) or isinstance(message, list):
            data = json.dumps(message, separators=(",", ":")).encode()
        elif isinstance(message, str):
            data = message.encode("utf-8")
        elif isinstance(message, (bytes, bytearray)):
            data = bytes(message)
        else:
            raise TypeError(f"a message is str, bytes or dict, not {type(message).__name__}")
        handle = self._box[0]
        if handle is None:
            raise errors.StateError("the session is closed")
        err = c_void_p()
        _ffi.check(self._lib, self._lib.mcp_session_receive(handle, data, len(data), byref(err)), err, "receive")

    def close(self) -> None:
        """Closes the session: calls in flight are cancelled, nothing more is sent. Idempotent."""
        self._finalizer()

    def __enter__(self) -> "Session":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # ------------------------------------------------------------ in-process client (queue mode)
    def next_message(self, match: Callable[[dict], bool] = lambda m: True, timeout: float = 10.0) -> dict:
        """The first queued outgoing message that matches (others stay queued, in order)."""
        deadline = time.monotonic() + timeout
        with self._read_lock:
            while True:
                for i, m in enumerate(self._pending):
                    if match(m):
                        return self._pending.pop(i)
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no matching message within {timeout} s (queued: {self._pending[:5]})")
                try:
                    self._pending.append(self.messages.get(timeout=left))
                except queue.Empty:
                    pass

    def notify(self, method: str, params: dict | None = None) -> None:
        msg: dict = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            msg["params"] = params
        self.receive(msg)

    def send_request(self, method: str, params: dict | None = None) -> int:
        msg_id = next(self._ids)
        msg: dict = {"jsonrpc": "2.0", "id": msg_id, "method": method}
        if params is not None:
            msg["params"] = params
        self.receive(msg)
        return msg_id

    def response(self, msg_id: int, timeout: float = 10.0) -> dict:
        return self.next_message(lambda m: m.get("id") == msg_id and "method" not in m, timeout)

    def request(self, method: str, params: dict | None = None, timeout: float = 10.0) -> dict:
        """Sends a request and returns its result; raises PeerError for an error answer."""
        answer = self.response(self.send_request(method, params), timeout)
        if "error" in answer:
            e = answer["error"]
            raise errors.PeerError(e.get("message", ""), e.get("code", 0), e.get("data"))
        return answer["result"]

    def initialize(self, protocol_version: str = "2025-11-25", capabilities: dict | None = None) -> dict:
        result = self.request("initialize", {"protocolVersion": protocol_version,
                                             "capabilities": capabilities or {},
                                             "clientInfo": {"name": "libmcp-session", "version": "0"}})
        self.notify("notifications/initialized")
        return result
