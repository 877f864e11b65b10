"""`Context`: what a handler can do for the call it is answering.

A handler gets one when it has a parameter annotated `Context` (or named `ctx`
without annotation). Quick actions (progress, logs) are plain calls that may
also be awaited; requests to the client (sampling, elicitation, roots) return a
`Pending` that async code awaits and sync code waits on with `.result()`.

A Context is valid while its call is unanswered: afterwards its methods raise
libmcp.StateError (the engine checks every call handle).
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import json
import logging
import threading
import uuid
from ctypes import byref, c_void_p
from dataclasses import dataclass
from typing import Any, Callable, Generic, Sequence, TypeVar

from . import _callbacks, _ffi, errors
from ._types import TypeCompiler, to_jsonable
from .content import Content, Message, content_block

log = logging.getLogger("libmcp")
T = TypeVar("T")

LEVELS = ("debug", "info", "notice", "warning", "error", "critical", "alert", "emergency")


class _Done:
    """The value of a quick action: ignore it, or `await` it (it is already done)."""

    __slots__ = ()

    def __await__(self):
        return iter(())

    def __repr__(self) -> str:
        return "<done>"


DONE = _Done()


class Pending(Generic[T]):
    """A request sent to the client: `await pending` (async) or `pending.result(timeout)` (sync)."""

    def __init__(self, future: concurrent.futures.Future, transform: Callable[[Any], T],
                 context: "Context | None" = None):
        self._future = future
        self._transform = transform
        self._context = context

    def done(self) -> bool:
        return self._future.done()

    def result(self, timeout: float | None = None) -> T:
        """Blocks until the client answers. Do not call it on the event loop's thread, nor in an
        inline tool (StateError there: the answer may need the very thread it would block)."""
        if self._context is not None:
            self._context._check_may_block("Pending.result()")
        return self._transform(self._future.result(timeout))

    def __await__(self):
        return self._wait().__await__()

    async def _wait(self) -> T:
        return self._transform(await asyncio.wrap_future(self._future))


class _Response:
    """user_data of one mcp_call_request: settles the future when the engine reports."""

    __slots__ = ("future",)

    def __init__(self) -> None:
        self.future: concurrent.futures.Future = concurrent.futures.Future()

    def on_response(self, status: int, result_json: bytes | None, error_json: bytes | None) -> None:
        if self.future.done():
            return
        try:
            if status == errors.OK:
                self.future.set_result(json.loads(result_json) if result_json else {})
            elif status == errors.ERR_PEER:
                err = json.loads(error_json) if error_json else {}
                self.future.set_exception(errors.PeerError(str(err.get("message", "error")),
                                                           int(err.get("code", 0)), err.get("data")))
            else:
                name = _ffi.load().mcp_status_string(status).decode()
                self.future.set_exception(errors.error_for(status, f"request to the client failed: {name}"))
        except concurrent.futures.InvalidStateError:
            pass
        except ValueError as e:
            self.future.set_exception(errors.MCPError(f"undecodable answer from the client: {e}"))


@dataclass
class SamplingResult:
    """The client's answer to sampling/createMessage."""

    role: str
    content: Any
    model: str | None
    stop_reason: str | None
    raw: dict

    @property
    def text(self) -> str:
        """The text of the answer's text blocks, joined."""
        blocks = self.content if isinstance(self.content, list) else [self.content]
        return "".join(b.get("text", "") for b in blocks if isinstance(b, dict) and b.get("type") == "text")


@dataclass
class ElicitResult(Generic[T]):
    """The client's answer to elicitation/create: action "accept", "decline" or "cancel".

    `content` is what the user entered (accept only); `data` is it converted to
    the class given as schema (a dataclass, TypedDict or pydantic model).
    """

    action: str
    content: dict | None = None
    data: Any = None

    @property
    def accepted(self) -> bool:
        return self.action == "accept"


class Context:
    """The call being answered: progress, logs, cancellation, requests to the client."""

    def __init__(self, core: Any, call: int):
        self._core = core
        self._lib: _ffi.Library = core.lib
        self._call = call
        self._lock = threading.Lock()
        self._cancel_key: int | None = None
        self._cancel_fired = False
        self._cancelled = threading.Event()
        self._handlers: list[Callable[[], Any]] = []
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future]] = []
        self._waiting_tasks: set = set()
        self._task: asyncio.Task | None = None
        self._task_loop: asyncio.AbstractEventLoop | None = None
        self._meta: dict | None = None
        self._inline_thread: int | None = None  # while an inline tool's sync handler runs: its thread

    # ------------------------------------------------------------ about the call
    @property
    def server(self):
        """The Server this call came to (None once it is gone)."""
        return self._core.server()

    @property
    def meta(self) -> dict:
        """The request's _meta object ({} when absent)."""
        if self._meta is None:
            out, err = c_void_p(), c_void_p()
            _ffi.check(self._lib, self._lib.mcp_call_meta(self._call, byref(out), byref(err)), err, "meta")
            self._meta = json.loads(_ffi.take_string(self._lib, out) or "{}")
        return self._meta

    @property
    def principal(self) -> dict | None:
        """Who the request acts for, when the server checks OAuth access tokens (HTTP with
        "auth"): {"subject", "client_id", "issuer", "scopes": [...], "claims": {...}};
        None without authorization (stdio, HTTP without "auth")."""
        out, err = c_void_p(), c_void_p()
        _ffi.check(self._lib, self._lib.mcp_call_principal_json(self._call, byref(out), byref(err)), err,
                   "principal")
        text = _ffi.take_string(self._lib, out)
        return json.loads(text) if text else None

    @property
    def progress_token(self) -> Any:
        return self.meta.get("progressToken")

    @property
    def session_id(self) -> str:
        """The session's id, for addressing it after the call (notify_elicitation_complete)."""
        out, err = c_void_p(), c_void_p()
        _ffi.check(self._lib, self._lib.mcp_call_session_id(self._call, byref(out), byref(err)), err, "session_id")
        return _ffi.take_string(self._lib, out) or ""

    def close_stream(self) -> None:
        """Ends the HTTP connection carrying this call's answer while the call goes on (SSE
        polling): the client resumes later and gets everything sent meanwhile. For long calls.
        Raises libmcp.Unsupported where the client cannot resume (stdio, stateless, ...)."""
        err = c_void_p()
        _ffi.check(self._lib, self._lib.mcp_call_close_stream(self._call, byref(err)), err, "close_stream")

    # ------------------------------------------------------------ progress and logs
    def report_progress(self, progress: float, total: float | None = None, message: str | None = None) -> _Done:
        """notifications/progress, when the client asked for progress (else nothing is sent).

        progress must grow from one report to the next. Awaitable, but need not be awaited.
        """
        err = c_void_p()
        status = self._lib.mcp_call_progress(self._call, float(progress), -1.0 if total is None else float(total),
                                             _ffi.cstr(message, "message"), byref(err))
        _ffi.check(self._lib, status, err, "report_progress")
        return DONE

    def log(self, level: str, data: Any, logger: str | None = None) -> _Done:
        """notifications/message to this call's client (dropped below the level it set)."""
        err = c_void_p()
        payload = _callbacks.encode(to_jsonable(data))
        status = self._lib.mcp_call_log(self._call, _ffi.cstr(level, "level"), _ffi.cstr(logger, "logger"),
                                        payload, byref(err))
        _ffi.check(self._lib, status, err, "log")
        return DONE

    def debug(self, message: Any, logger: str | None = None) -> _Done:
        return self.log("debug", message, logger)

    def info(self, message: Any, logger: str | None = None) -> _Done:
        return self.log("info", message, logger)

    def notice(self, message: Any, logger: str | None = None) -> _Done:
        return self.log("notice", message, logger)

    def warning(self, message: Any, logger: str | None = None) -> _Done:
        return self.log("warning", message, logger)

    def error(self, message: Any, logger: str | None = None) -> _Done:
        return self.log("error", message, logger)

    # ------------------------------------------------------------ cancellation
    @property
    def is_cancelled(self) -> bool:
        """Whether the client cancelled this call (or its session closed)."""
        return self._cancelled.is_set() or self._lib.mcp_call_is_cancelled(self._call) == 1

    def on_cancel(self, fn: Callable[[], Any]) -> None:
        """Runs fn() once if the call is cancelled (on an engine thread; at once if it already was)."""
        with self._lock:
            fired = self._cancel_fired
            if not fired:
                self._handlers.append(fn)
        if fired:
            fn()
        else:
            self._arm()

    async def cancelled(self) -> None:
        """Returns when the call is cancelled.

        An async handler is otherwise cancelled like any asyncio task
        (CancelledError at its current await); while it awaits this method
        directly, it is resumed instead.
        """
        loop = asyncio.get_running_loop()
        fut = loop.create_future()
        task = asyncio.current_task()
        with self._lock:
            fired = self._cancel_fired
            if not fired:
                self._waiters.append((loop, fut))
        if fired:
            return
        self._arm()
        self._waiting_tasks.add(task)
        try:
            await fut
        finally:
            self._waiting_tasks.discard(task)

    def wait_cancelled(self, timeout: float | None = None) -> bool:
        """Blocks until the call is cancelled or timeout seconds pass; True if cancelled.
        Not in an inline tool (StateError: it would block the thread that read the request)."""
        self._check_may_block("wait_cancelled()")
        self._arm()
        return self._cancelled.wait(timeout)

    def _arm(self) -> None:
        with self._lock:
            if self._cancel_key is not None:
                return
            self._cancel_key = _callbacks.keep(self)
            key = self._cancel_key
        err = c_void_p()
        status = self._lib.mcp_call_on_cancel(self._call, _callbacks.cancel_thunk, key, byref(err))
        if status != errors.OK:
            with self._lock:
                self._cancel_key = None
            _callbacks.drop(key)
            _ffi.check(self._lib, status, err, "on_cancel")

    def _check_may_block(self, what: str) -> None:
        if self._inline_thread is not None and self._inline_thread == threading.get_ident():
            raise errors.StateError(
                f"{what} in an inline tool would block the engine thread that read the request (and the "
                f"other requests it serves); register the tool without inline=True, or make it async")

    def _watch_task(self, task: asyncio.Task, loop: asyncio.AbstractEventLoop) -> None:
        """The binding cancels an async handler's task when the client cancels the call."""
        self._task, self._task_loop = task, loop
        self._arm()

    def on_engine_cancel(self) -> None:
        """From cancel_thunk, on an engine thread."""
        with self._lock:
            if self._cancel_fired:
                return
            self._cancel_fired = True
            handlers, self._handlers = self._handlers, []
            waiters, self._waiters = self._waiters, []
        self._cancelled.set()
        for fn in handlers:
            try:
                fn()
            except Exception:  # noqa: BLE001
                log.exception("libmcp: an on_cancel handler failed")
        for loop, fut in waiters:
            try:
                loop.call_soon_threadsafe(_settle, fut)
            except RuntimeError:  # loop closed
                pass
        if self._task is not None and self._task_loop is not None:
            try:
                self._task_loop.call_soon_threadsafe(self._cancel_task)
            except RuntimeError:
                pass

    def _cancel_task(self) -> None:
        task = self._task
        if task is not None and not task.done() and task not in self._waiting_tasks:
            task.cancel(msg="the client cancelled the call")

    def _finish(self) -> None:
        """After the answer: the engine calls nothing more for this call."""
        with self._lock:
            key, self._cancel_key = self._cancel_key, None
        _callbacks.drop(key)
        self._task = None

    # ------------------------------------------------------------ requests to the client
    def request(self, method: str, params: dict | None = None, timeout: float | None = None, *,
                key: str | None = None) -> Pending[dict]:
        """Sends a request to the call's client (sampling/createMessage, elicitation/create,
        roots/list, ping) and gives the raw result object.

        The same code serves both protocol eras. In a 2025-era call the request goes to the
        client now. In a 2026-07-28 call (multi round-trip requests) nothing is sent: the
        answer is looked up by `key` among those the client sent back with the call; when it is
        not there, waiting on the Pending raises libmcp.InputRequired, which the handler lets
        propagate: the client is asked every request made so far, retries with the answers, and
        the handler runs again from the top. So a handler makes the same requests in the same
        order each run, may make several before waiting on any (one round asks them all), and
        does its side effects after the last. `key` names the request for the client ("user_name");
        by default it is derived from the request's position in the run ("elicit_1", ...).
        """
        return self._request(method, params, timeout, lambda r: r, key)

    @property
    def input_state(self) -> str | None:
        """2026-07-28: the handler's own state from the previous round (None in the first round,
        and in the 2025 era). Carried by the client in requestState, signed by the engine: the
        client can read it but not change it."""
        out, err = c_void_p(), c_void_p()
        _ffi.check(self._lib, self._lib.mcp_call_input_state(self._call, byref(out), byref(err)), err,
                   "input_state")
        return _ffi.take_string(self._lib, out)

    @input_state.setter
    def input_state(self, value: str | None) -> None:
        """Sets the state the next round gets (when this one ends asking for input).
        libmcp.Unsupported in a 2025-era call, which has no next round."""
        err = c_void_p()
        _ffi.check(self._lib, self._lib.mcp_call_set_input_state(self._call, _ffi.cstr(value, "input_state"),
                                                                 byref(err)), err, "input_state")

    def _request(self, method: str, params: dict | None, timeout: float | None,
                 transform: Callable[[Any], T], key: str | None = None) -> Pending[T]:
        response = _Response()
        handle = _callbacks.keep(response)
        payload = _callbacks.encode(params) if params is not None else None
        timeout_ms = 0 if timeout is None else max(1, int(timeout * 1000))
        err = c_void_p()
        if key is None:
            status = self._lib.mcp_call_request(self._call, _ffi.cstr(method, "method"), payload, timeout_ms,
                                                _callbacks.response_thunk, handle, byref(err))
        else:
            status = self._lib.mcp_call_request_named(self._call, _ffi.cstr(key, "key"), _ffi.cstr(method, "method"),
                                                      payload, timeout_ms, _callbacks.response_thunk, handle,
                                                      byref(err))
        if status == errors.ERR_INPUT_REQUIRED:
            # Recorded for the next round: waiting on it unwinds the handler.
            _callbacks.drop(handle)
            _ffi.take_string(self._lib, err)
            response.future.set_exception(errors.InputRequired(f"{method}: the client's input is required"))
        elif status != errors.OK:
            _callbacks.drop(handle)
            _ffi.check(self._lib, status, err, method)
        return Pending(response.future, transform, self)

    def sample(self, messages: str | Sequence[Message | str | dict], *, max_tokens: int = 1024,
               system_prompt: str | None = None, temperature: float | None = None,
               stop_sequences: Sequence[str] | None = None, include_context: str | None = None,
               model_preferences: dict | None = None, metadata: dict | None = None,
               tools: Sequence[dict] | None = None, tool_choice: dict | None = None,
               timeout: float | None = None, key: str | None = None) -> Pending[SamplingResult]:
        """Asks the client's model (sampling/createMessage). A str is one user message."""
        if isinstance(messages, (str, Message, Content, dict)):
            messages = [messages]
        wire = []
        for m in messages:
            if isinstance(m, Message):
                wire.append(m.to_json())
            elif isinstance(m, dict) and "role" in m:
                wire.append(m)
            else:
                wire.append({"role": "user", "content": content_block(m)})
        params: dict = {"messages": wire, "maxTokens": int(max_tokens)}
        for name, value in (("systemPrompt", system_prompt), ("temperature", temperature),
                           ("stopSequences", list(stop_sequences) if stop_sequences is not None else None),
                           ("includeContext", include_context), ("modelPreferences", model_preferences),
                           ("metadata", metadata), ("tools", list(tools) if tools is not None else None),
                           ("toolChoice", tool_choice)):
            if value is not None:
                params[name] = value

        def transform(r: dict) -> SamplingResult:
            return SamplingResult(r.get("role", "assistant"), r.get("content"), r.get("model"),
                                  r.get("stopReason"), r)
        return self._request("sampling/createMessage", params, timeout, transform, key)

    def elicit(self, message: str, schema: Any, *, timeout: float | None = None,
               key: str | None = None) -> Pending[ElicitResult]:
        """Asks the user for input (elicitation/create, form mode).

        schema: a JSON Schema dict, or a dataclass / TypedDict / pydantic model
        (flat, primitive fields), whose instance is then ElicitResult.data.
        """
        node = None
        if isinstance(schema, dict):
            requested = schema
        else:
            compiler = TypeCompiler("input")
            node = compiler.node(schema, "elicitation schema")
            requested = {k: v for k, v in node.schema.items() if k not in ("additionalProperties", "title")}
            if requested.get("type") != "object":
                raise TypeError("an elicitation schema must describe an object (use a dataclass, "
                                "TypedDict or pydantic model)")

        def transform(r: dict) -> ElicitResult:
            action, content = r.get("action", "cancel"), r.get("content")
            data = None
            if action == "accept" and node is not None and content is not None:
                data = node.convert(content, "")
            return ElicitResult(action, content, data)
        return self._request("elicitation/create", {"message": message, "requestedSchema": requested},
                             timeout, transform, key)

    def elicit_url(self, message: str, url: str, elicitation_id: str | None = None, *,
                   timeout: float | None = None) -> Pending[ElicitResult]:
        """Asks the user to visit a URL (elicitation/create, url mode). Finish it later with
        Server.notify_elicitation_complete(ctx.session_id, elicitation_id)."""
        params = {"mode": "url", "message": message, "url": url,
                  "elicitationId": elicitation_id or uuid.uuid4().hex}
        return self._request("elicitation/create", params, timeout,
                             lambda r: ElicitResult(r.get("action", "cancel"), r.get("content")))

    def list_roots(self, timeout: float | None = None, *, key: str | None = None) -> Pending[list[dict]]:
        """The client's roots (roots/list): a list of {"uri", "name"?}."""
        return self._request("roots/list", None, timeout, lambda r: list(r.get("roots", [])), key)

    def ping(self, timeout: float | None = None) -> Pending[dict]:
        return self._request("ping", None, timeout, lambda r: r)


def _settle(fut: asyncio.Future) -> None:
    if not fut.done():
        fut.set_result(None)
