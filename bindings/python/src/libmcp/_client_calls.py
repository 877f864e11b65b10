"""The client's side of the callbacks: its core (engine handle and asyncio loop), running
handlers (plain or async), answering what the server asks (sampling, elicitation, roots),
notifications and stderr lines, and the outcome and progress of async requests."""
from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
import json
import threading
import logging
from typing import Any, Callable

from . import _callbacks, _ffi, errors
from ._loop import LoopThread
from .context import ElicitResult, SamplingResult

log = logging.getLogger("libmcp")


class _ClientCore:
    def __init__(self, lib: _ffi.Library, handle: int, loop: asyncio.AbstractEventLoop | None):
        self.lib = lib
        self.handle: int | None = handle
        self.user_loop = loop
        self.own_loop = LoopThread("libmcp-client-asyncio")

    def loop(self) -> asyncio.AbstractEventLoop:
        return self.user_loop if self.user_loop is not None else self.own_loop.get()

    def live(self) -> int:
        if self.handle is None:
            raise errors.StateError("the client is closed")
        return self.handle

    def close(self) -> None:
        handle, self.handle = self.handle, None
        if handle is not None:
            self.lib.mcp_client_free(handle)
        self.own_loop.stop()


def _run(core: _ClientCore, fn: Callable, args: tuple, done: Callable[[Any, BaseException | None], None]) -> None:
    """Runs fn(*args) (a coroutine function on the loop), then done(value, error)."""
    if inspect.iscoroutinefunction(fn):
        async def runner() -> None:
            try:
                value = await fn(*args)
            except BaseException as e:  # noqa: BLE001 - reported through done
                done(None, e)
                return
            done(value, None)
        try:
            asyncio.run_coroutine_threadsafe(runner(), core.loop())
        except RuntimeError as e:
            done(None, e)
        return
    try:
        value = fn(*args)
    except BaseException as e:  # noqa: BLE001
        done(None, e)
        return
    if inspect.isawaitable(value):
        async def await_it() -> Any:
            return await value
        _run(core, await_it, (), done)
        return
    done(value, None)


# ------------------------------------------------------------------ server-to-client requests

def _sampling_result(value: Any) -> dict:
    if isinstance(value, SamplingResult):
        return value.raw
    if isinstance(value, str):
        return {"role": "assistant", "content": {"type": "text", "text": value}, "model": "unknown"}
    if isinstance(value, dict):
        return value
    raise TypeError(f"a sampling handler returns a dict, a str or SamplingResult, not {type(value).__name__}")


def _elicitation_result(value: Any) -> dict:
    if isinstance(value, ElicitResult):
        out: dict = {"action": value.action}
        if value.content is not None:
            out["content"] = value.content
        return out
    if isinstance(value, dict):
        return value
    raise TypeError(f"an elicitation handler returns a dict or ElicitResult, not {type(value).__name__}")


def _roots_result(value: Any) -> dict:
    if isinstance(value, dict) and "roots" in value:
        return value
    roots = [{"uri": r} if isinstance(r, str) else r for r in (value or [])]
    return {"roots": roots}


_HANDLERS = {
    "sampling/createMessage": ("sampling", _sampling_result),
    "elicitation/create": ("elicitation", _elicitation_result),
    "roots/list": ("roots", _roots_result),
}


class _RequestHandler:
    """user_data of one mcp_client_set_request_handler: runs the handler, answers the call."""

    def __init__(self, core: _ClientCore, method: str, fn: Callable):
        self.core, self.method, self.fn = core, method, fn
        self.shape = _HANDLERS[method][1]

    def on_request(self, call: int, method: bytes, params_json: bytes) -> None:
        params = json.loads(params_json) if params_json else {}
        args = () if self.method == "roots/list" else (params,)

        def done(value: Any, error: BaseException | None) -> None:
            lib = self.core.lib
            if error is None:
                try:
                    _callbacks.answer(lib, call, self.shape(value))
                    return
                except Exception as e:  # noqa: BLE001
                    error = e
            if isinstance(error, errors.PeerError):
                _callbacks.answer_error(lib, call, error.code, error.message, error.data)
            else:
                log.info("libmcp: the %s handler raised %s", self.method, type(error).__name__, exc_info=error)
                _callbacks.answer_error(lib, call, -32603, str(error) or type(error).__name__)
        _run(self.core, self.fn, args, done)


class _Listener:
    """user_data of the notification and stderr handlers."""

    def __init__(self, core: _ClientCore, fn: Callable):
        self.core, self.fn = core, fn

    def on_notification(self, method: bytes, params_json: bytes) -> None:
        params = json.loads(params_json) if params_json else {}
        _run(self.core, self.fn, (method.decode(), params), self._report)

    def on_stderr(self, line: bytes) -> None:
        _run(self.core, self.fn, (line.decode("utf-8", "replace"),), self._report)

    @staticmethod
    def _report(_value: Any, error: BaseException | None) -> None:
        if error is not None:
            log.warning("libmcp: a client notification/stderr handler raised %r", error)


class _SubscriptionListener:
    """user_data of one mcp_client_subscribe: on_event(method, params) per notification, in
    order; on_end(reason) once when it ends (the engine calls with method NULL)."""

    def __init__(self, core: _ClientCore, on_event: Callable, on_end: Callable | None):
        self.core, self.on_event, self.on_end = core, on_event, on_end
        self.ended = threading.Event()
        self.reason: str | None = None

    def on_notification(self, method: bytes | None, params_json: bytes) -> None:
        params = json.loads(params_json) if params_json else {}
        if method is None:
            self.reason = params.get("reason")
            self.ended.set()
            if self.on_end is not None:
                _run(self.core, self.on_end, (self.reason,), _Listener._report)
            return
        _run(self.core, self.on_event, (method.decode(), params), _Listener._report)


# ------------------------------------------------------------------ requests

class _Outcome:
    """user_data of one mcp_client_request_async (or mcp_client_list_async): progress, then the
    outcome, exactly once."""

    __slots__ = ("future", "progress", "core")

    def __init__(self, core: _ClientCore, progress: Callable | None):
        self.core = core
        self.future: concurrent.futures.Future = concurrent.futures.Future()
        self.progress = progress

    def on_progress(self, params_json: bytes) -> None:
        if self.progress is None:
            return
        p = json.loads(params_json) if params_json else {}
        _run(self.core, self.progress, (p.get("progress"), p.get("total"), p.get("message")),
             _Listener._report)

    def on_response(self, status: int, result_json: bytes | None, error_json: bytes | None) -> None:
        if self.future.done():
            return
        try:
            if status == errors.OK:
                self.future.set_result(json.loads(result_json) if result_json else {})
            elif status == errors.ERR_PEER:
                e = json.loads(error_json) if error_json else {}
                self.future.set_exception(errors.PeerError(str(e.get("message", "")), int(e.get("code", 0)),
                                                           e.get("data")))
            else:
                # A listing says why it stopped (MCP_ERR_LIMIT); a request has no text.
                reason = json.loads(error_json).get("message") if error_json else None
                name = self.core.lib.mcp_status_string(status).decode()
                self.future.set_exception(errors.error_for(status, reason or f"request failed: {name}"))
        except concurrent.futures.InvalidStateError:
            pass
