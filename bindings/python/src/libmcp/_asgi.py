"""srv.asgi_app(): the server's MCP endpoint as an ASGI application, for a Starlette or
FastAPI app under uvicorn (or any ASGI server).

Each HTTP request becomes one engine exchange (mcp_http_exchange_t, include/mcp.h): the
request's method, path, headers and body go in; the status, headers and body pieces come out
as the engine produces them, so an SSE stream (progress, the 2025 GET stream) reaches the
client event by event. Every check and limit of the engine's own listener applies. The engine
wakes the app (a thunk on an engine thread that only posts to the event loop) when pieces are
waiting; reading them never blocks the loop. A client that disconnects (http.disconnect) frees
its exchange, which cancels what it was serving, as a closed socket would.
"""
from __future__ import annotations

import asyncio
import json
import threading
import weakref
from ctypes import byref, c_int32, c_size_t, c_void_p, string_at
from typing import Any

from . import _callbacks, _ffi, _lifetime
from ._threads import enter

PART_NONE, PART_HEAD, PART_BODY, PART_END, PART_ABORT = 0, 1, 2, 3, 4


class _Waker:
    """What one exchange's wake thunk reaches: posts to the request's event loop."""

    __slots__ = ("loop", "event")

    def __init__(self, loop: asyncio.AbstractEventLoop):
        self.loop = loop
        self.event = asyncio.Event()

    def wake(self) -> None:
        try:
            self.loop.call_soon_threadsafe(self.event.set)
        except RuntimeError:  # the loop is closed: nobody waits any more
            pass


@_ffi.HTTP_WAKE_FN
def _wake_thunk(user_data):
    try:
        enter()
        target = _callbacks._objects.get(user_data)
        if target is not None:
            target.wake()
    except BaseException:  # noqa: BLE001 - nothing may escape into the engine
        pass


class _HandlerBox:
    """The handler pointer, shared by the app and its finalizer. Calls borrow it
    (acquire/release); the free waits until none is borrowed and clears it, so nothing
    ever reaches a freed handler, and a stop in progress never blocks a request."""

    def __init__(self, lib: _ffi.Library, ptr: int):
        self.lib = lib
        self.ptr: int | None = ptr
        self.borrowed = 0
        self.cond = threading.Condition()

    def acquire(self) -> int | None:
        with self.cond:
            if self.ptr is not None:
                self.borrowed += 1
            return self.ptr

    def release(self) -> None:
        with self.cond:
            self.borrowed -= 1
            self.cond.notify_all()


def _free_handler(box: _HandlerBox) -> None:
    with box.cond:
        while box.borrowed:
            box.cond.wait()
        ptr, box.ptr = box.ptr, None
    if ptr is not None:
        box.lib.mcp_http_handler_free(ptr)


class ASGIApp:
    """An ASGI 3 application serving one server's MCP endpoint (see Server.asgi_app)."""

    def __init__(self, server: Any, config: dict):
        self._lib = server._lib
        self._path = config.get("path", "/mcp")
        out, err = c_void_p(), c_void_p()
        status = self._lib.mcp_http_handler_new(server._core.live(), _callbacks.encode(config), byref(out),
                                                byref(err))
        _ffi.check(self._lib, status, err, "asgi_app")
        self._box = _HandlerBox(self._lib, out.value)
        self._finalizer = _lifetime.finalizer(self, _free_handler, self._box)
        server._core.http_apps.add(self)

    @property
    def path(self) -> str:
        return self._path

    def close(self, timeout: float = 0.0) -> None:
        """Stops the endpoint (streams end, calls get up to timeout seconds) and releases it."""
        ptr = self._box.acquire()
        if ptr is not None:
            try:
                err = c_void_p()
                self._lib.mcp_http_handler_stop(ptr, int(timeout * 1000), byref(err))
                _ffi.take_string(self._lib, err)
            finally:
                self._box.release()
        self._finalizer()

    async def aclose(self, timeout: float = 5.0) -> None:
        """close() without blocking the event loop (for a lifespan shutdown)."""
        await asyncio.get_running_loop().run_in_executor(None, self.close, timeout)

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            return await self._lifespan(receive, send)
        if kind != "http":  # a WebSocket: not served here
            await send({"type": "websocket.close", "code": 1000})
            return
        await self._serve(scope, receive, send)

    async def _lifespan(self, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _serve(self, scope: dict, receive: Any, send: Any) -> None:
        lib = self._lib
        # The target as the client sent it: a mount point does not change what the engine routes.
        raw = scope.get("raw_path") or scope["path"].encode("utf-8")
        target = raw + (b"?" + scope["query_string"] if scope.get("query_string") else b"")
        client = scope.get("client")
        exchange, err = c_void_p(), c_void_p()
        ptr = self._box.acquire()  # the exchange holds the handler once made
        if ptr is None:
            status, message = -1, "Server closed"
        else:
            try:
                status = lib.mcp_http_exchange_new(ptr, scope["method"].encode("ascii"), target,
                                                   client[0].encode("ascii") if client else None, byref(exchange),
                                                   byref(err))
            finally:
                self._box.release()
            message = _ffi.take_string(lib, err) if status != 0 else None
        if status != 0:
            await _plain(send, 503, json.dumps({"jsonrpc": "2.0", "id": None,
                                                "error": {"code": -32603, "message": message or "refused"}}).encode())
            return
        x = exchange.value
        key = None
        try:
            for name, value in scope["headers"]:
                err = c_void_p()
                if lib.mcp_http_exchange_add_header(x, name, value, byref(err)) != 0:
                    await _plain(send, 400, json.dumps({"jsonrpc": "2.0", "id": None, "error": {
                        "code": -32600, "message": _ffi.take_string(lib, err)}}).encode())
                    return
            disconnected = await _read_body(lib, x, receive)
            if disconnected:
                return
            waker = _Waker(asyncio.get_running_loop())
            key = _callbacks.keep(waker)
            err = c_void_p()
            status = lib.mcp_http_exchange_start(x, _wake_thunk, key, _callbacks.free_thunk, byref(err))
            key = None  # the engine owns the key now: free_thunk drops it
            _ffi.check(lib, status, err, "exchange start")
            await self._respond(x, waker, receive, send)
        finally:
            _callbacks.drop(key)
            lib.mcp_http_exchange_free(x)

    async def _respond(self, x: int, waker: _Waker, receive: Any, send: Any) -> None:
        lib = self._lib
        disconnect = asyncio.ensure_future(_until_disconnect(receive))
        kind, code, data, length = c_int32(), c_int32(), c_void_p(), c_size_t()
        try:
            while True:
                waker.event.clear()
                err = c_void_p()
                _ffi.check(lib, lib.mcp_http_exchange_get_part(x, 0, byref(kind), byref(code), byref(data),
                                                              byref(length), byref(err)), err, "exchange read")
                payload = b""
                if data.value:
                    payload = string_at(data.value, length.value)
                    lib.mcp_string_free(data.value)
                    data.value = None
                k = kind.value
                if k == PART_NONE:
                    woken = asyncio.ensure_future(waker.event.wait())
                    done, _ = await asyncio.wait({woken, disconnect}, return_when=asyncio.FIRST_COMPLETED)
                    if disconnect in done:
                        woken.cancel()
                        return  # the finally of _serve frees the exchange: the engine cancels
                elif k == PART_HEAD:
                    headers = [(n.lower().encode("latin-1"), v.encode("latin-1")) for n, v in json.loads(payload)]
                    await send({"type": "http.response.start", "status": code.value, "headers": headers})
                elif k == PART_BODY:
                    await send({"type": "http.response.body", "body": payload, "more_body": True})
                elif k == PART_END:
                    await send({"type": "http.response.body", "body": b"", "more_body": False})
                    return
                else:  # ABORT: returning unfinished makes the ASGI server drop the connection
                    return
        finally:
            disconnect.cancel()


async def _read_body(lib: _ffi.Library, x: int, receive: Any) -> bool:
    """Hands the request body to the exchange; True if the client went away first."""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return True
        body = message.get("body", b"")
        if body:
            err = c_void_p()
            _ffi.check(lib, lib.mcp_http_exchange_add_body(x, body, len(body), byref(err)), err, "exchange body")
        if not message.get("more_body", False):
            return False


async def _until_disconnect(receive: Any) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def _plain(send: Any, status: int, body: bytes) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def release_all(apps: "weakref.WeakSet[ASGIApp]") -> None:
    """Before the server goes: its handlers first (they hold calls into it)."""
    for app in list(apps):
        app.close()
