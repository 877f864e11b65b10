"""How a Server serves: stdio and pipes (blocking or in the background), HTTP (blocking or
embedded), asyncio entry points, and sessions on a transport of the host's own.

A mixin of Server: it uses the server's _lib, _core, _lock, _stop_event and
_background fields.
"""
from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import threading
from ctypes import byref, c_uint16, c_void_p
from typing import Any, Callable, Iterator

from . import _callbacks, _ffi, errors
from .session import Session


class Serving:
    def connect(self, send: Callable[[str], Any] | None = None) -> Session:
        """A session on a transport of your own: feed it client messages with
        session.receive(); the engine calls send(message) for each outgoing one.
        Without send, messages queue on the session (session.request() for tests)."""
        return Session(self._core, send)

    def _serve(self, start: Callable[[c_void_p], int], what: str) -> None:
        """Runs a blocking serve function; in the main thread Ctrl-C and SIGTERM stop it."""
        self._stop_event.clear()
        if threading.current_thread() is not threading.main_thread():
            err = c_void_p()
            _ffi.check(self._lib, start(err), err, what)
            return
        outcome: list = []
        done = threading.Event()  # not Thread.join: a join interrupted by Ctrl-C can return early

        def body() -> None:
            err = c_void_p()
            try:
                outcome.append((start(err), err))
            except BaseException as e:  # noqa: BLE001
                outcome.append((None, e))
            finally:
                done.set()

        thread = threading.Thread(target=body, name=f"libmcp-{what}", daemon=True)
        with self._stop_on_signals():
            thread.start()
            while True:
                try:
                    if done.wait(0.25):
                        break
                except KeyboardInterrupt:
                    self.stop()  # then wait for the drain, as for SIGTERM
        status, err = outcome[0]
        if status is None:
            raise err
        _ffi.check(self._lib, status, err, what)

    @contextlib.contextmanager
    def _stop_on_signals(self) -> Iterator[None]:
        previous = None
        try:
            previous = signal.signal(signal.SIGTERM, lambda *_: self.stop())
        except (ValueError, OSError):  # not the main thread, or no signals here
            previous = None
        try:
            yield
        finally:
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)

    def run_stdio(self, **options: Any) -> None:
        """Serves one client over stdin/stdout until EOF, stop(), Ctrl-C or SIGTERM.

        options: max_message_bytes, drain_timeout_ms, redirect_stdout (default True:
        while serving, print() goes to stderr and cannot corrupt the protocol).
        """
        payload = _callbacks.encode(options) if options else None
        redirect = options.get("redirect_stdout", True)
        with _python_stdout_to_stderr(redirect):
            self._serve(lambda err: self._lib.mcp_server_serve_stdio(self._core.live(), payload, byref(err)),
                        "run_stdio")

    def serve_fds(self, in_fd: int, out_fd: int, **options: Any) -> None:
        """As run_stdio, reading in_fd and writing out_fd (neither is closed)."""
        payload = _callbacks.encode(options) if options else None
        self._serve(lambda err: self._lib.mcp_server_serve_fds(self._core.live(), int(in_fd), int(out_fd),
                                                               payload, byref(err)), "serve_fds")

    def start_stdio(self, **options: Any) -> None:
        """run_stdio in a background thread; stop() ends it, wait() joins it."""
        payload = _callbacks.encode(options) if options else None
        self._start_background(lambda err: self._lib.mcp_server_serve_stdio(self._core.live(), payload, byref(err)),
                               "stdio")

    def start_fds(self, in_fd: int, out_fd: int, **options: Any) -> None:
        """serve_fds in a background thread; stop() ends it, wait() joins it."""
        payload = _callbacks.encode(options) if options else None
        self._start_background(lambda err: self._lib.mcp_server_serve_fds(self._core.live(), int(in_fd),
                                                                          int(out_fd), payload, byref(err)), "fds")

    def _start_background(self, start: Callable[[c_void_p], int], what: str) -> None:
        with self._lock:
            if self._background is not None and self._background.is_alive():
                raise errors.StateError("the server is already serving in the background")
            self._background_error = None
            self._core.live()

            def body() -> None:
                err = c_void_p()
                try:
                    _ffi.check(self._lib, start(err), err, f"serve {what}")
                except BaseException as e:  # noqa: BLE001 - reported by wait()
                    self._background_error = e

            self._background = threading.Thread(target=body, name=f"libmcp-serve-{what}", daemon=True)
            self._background.start()

    def wait(self, timeout: float | None = None) -> bool:
        """Joins a background serve; True once it has ended. Raises what it failed with."""
        thread = self._background
        if thread is None:
            return True
        thread.join(timeout)
        if thread.is_alive():
            return False
        if self._background_error is not None:
            e, self._background_error = self._background_error, None
            raise e
        return True

    def stop(self) -> None:
        """Makes run_stdio / serve_fds / a background serve / run_http return (in-flight calls drain)."""
        self._stop_event.set()
        handle = self._core.handle
        if handle is not None:
            self._lib.mcp_server_stop(handle)

    def start_http(self, host: str = "127.0.0.1", port: int = 0, **options: Any) -> int:
        """Serves Streamable HTTP (and legacy SSE, WebSocket) in the background; returns the port.

        options are the engine's HTTP settings: path, json_response, stateless,
        max_body_bytes, max_sessions, allowed_hosts, allowed_origins, tls_cert_file, ...,
        store ("memory:", "sqlite:PATH" or, library 0.6.0, "postgres://USER:PASSWORD@HOST/DB":
        where 2025-era sessions, stream events and tasks are kept; library 0.5.0, see mcp.h),
        fleet_lease_ms and fleet_poll_ms (several processes sharing a sqlite: store serve any
        session; library 0.6.0, deploy/fleet.md).
        """
        config = {"host": host, "port": int(port), **options}
        bound, err = c_uint16(0), c_void_p()
        status = self._lib.mcp_server_start_http(self._core.live(), _callbacks.encode(config), byref(bound),
                                                 byref(err))
        _ffi.check(self._lib, status, err, "start_http")
        return bound.value

    def stop_http(self, timeout: float = 5.0) -> None:
        """Stops the HTTP listener: requests in flight get up to timeout seconds to finish."""
        err = c_void_p()
        status = self._lib.mcp_server_stop_http(self._core.live(), int(timeout * 1000), byref(err))
        _ffi.check(self._lib, status, err, "stop_http")

    def asgi_app(self, path: str = "/mcp", **options: Any) -> Any:
        """The MCP endpoint as an ASGI application, to mount in your own web app (Starlette,
        FastAPI) under uvicorn: `Starlette(routes=[Route("/mcp", srv.asgi_app())])`.

        path is the path clients use, as they send it (a Mount prefix included). options are the
        engine's HTTP settings that concern requests (json_response, stateless, max_body_bytes,
        max_sessions, allowed_hosts, allowed_origins, rate_limit, auth, ...; see
        mcp_http_handler_new in mcp.h); the host's server owns the socket, TLS and timeouts. Every
        check and limit of start_http applies. Needs libmcp ABI 1.5. close() on the app, or the
        server's close, releases it; mounted alone it also handles the ASGI lifespan."""
        from ._asgi import ASGIApp
        return ASGIApp(self, {"path": path, **options})

    def run_http(self, host: str = "127.0.0.1", port: int = 8000, *, drain_timeout: float = 5.0,
                 on_ready: Callable[[int], Any] | None = None, announce: bool = True, **options: Any) -> None:
        """Serves HTTP until stop(), Ctrl-C or SIGTERM. on_ready(port) runs once listening.

        With announce (the default) one line on stderr says where it listens, as uvicorn does."""
        bound = self.start_http(host, port, **options)
        self._stop_event.clear()
        if announce:
            shown = f"[{host}]" if ":" in host else host
            scheme = "https" if options.get("tls_cert_file") else "http"
            print(f"libmcp: serving MCP on {scheme}://{shown}:{bound}{options.get('path', '/mcp')} "
                  f"(Ctrl-C to stop)", file=sys.stderr, flush=True)
        try:
            if on_ready is not None:
                on_ready(bound)
            with self._stop_on_signals() if threading.current_thread() is threading.main_thread() \
                    else contextlib.nullcontext():
                try:
                    while not self._stop_event.wait(0.25):
                        pass
                except KeyboardInterrupt:
                    pass
        finally:
            if not self.closed:
                self.stop_http(drain_timeout)

    async def run_stdio_async(self, **options: Any) -> None:
        """run_stdio from asyncio: async handlers run on the calling loop (unless one was given)."""
        await self._run_async(lambda: self.run_stdio(**options))

    async def run_http_async(self, host: str = "127.0.0.1", port: int = 8000, **options: Any) -> None:
        await self._run_async(lambda: self.run_http(host, port, **options))

    async def _run_async(self, blocking: Callable[[], None]) -> None:
        loop = asyncio.get_running_loop()
        adopted = self._core.user_loop is None
        if adopted:
            self._core.user_loop = loop
        done = threading.Event()

        def body() -> None:
            try:
                blocking()
            finally:
                done.set()
        try:
            await loop.run_in_executor(None, body)
        except asyncio.CancelledError:
            self.stop()
            await loop.run_in_executor(None, done.wait)
            raise
        finally:
            if adopted:
                self._core.user_loop = None


@contextlib.contextmanager
def _python_stdout_to_stderr(enabled: bool) -> Iterator[None]:
    """While serving stdio, Python's own print() goes to stderr too (its buffer could
    otherwise reach the protocol stream after serving ends)."""
    if not enabled:
        yield
        return
    saved = sys.stdout
    try:
        if saved is not None:
            saved.flush()
    except (OSError, ValueError):
        pass
    sys.stdout = sys.stderr
    try:
        yield
    finally:
        try:
            sys.stdout.flush()
        except (OSError, ValueError):
            pass
        sys.stdout = saved
