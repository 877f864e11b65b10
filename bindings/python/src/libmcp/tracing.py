"""Request spans (mcp_set_trace_hook, ABI 1.5) for Python code, and their mapping onto
OpenTelemetry.

With tracing enabled the engine records one span per MCP request, on servers and clients
(names and attributes after the OpenTelemetry semantic conventions for MCP), continues the
W3C trace context a request carries in `_meta.traceparent` (or its HTTP `traceparent`
header) and sets `_meta.traceparent` on the requests it sends. Finished spans are handed,
one dict each, to one process-wide hook on an engine thread of its own.

`enable()` with no function maps them onto the `opentelemetry-api` tracer provider (the
global one unless given): each engine span becomes an OpenTelemetry span with the same
trace id, span id, parent, kind, times, attributes and status, so spans of the host and
of the engine form one tree. Beside that the binding
- makes the call's span the current OpenTelemetry context while a tool, resource or
  prompt handler runs (spans the handler starts are its children), and
- puts the current OpenTelemetry span into `_meta.traceparent` of client requests that do
  not carry one, so the engine's client span is a child of the host's span.

Keeping the engine's ids needs the OpenTelemetry SDK's tracer (its public `id_generator`);
with another implementation of the API the spans get that tracer's own ids, and only
parents from the other end of a connection stay linked.
"""
from __future__ import annotations

import contextlib
import json
import logging
import threading
from ctypes import byref, c_void_p
from typing import Any, Callable, Iterator

from . import _ffi

SpanFunction = Callable[[dict], Any]

# Read on the hot paths of calls and client requests: False costs one global lookup.
active = False

_lock = threading.Lock()
_thunk = None  # the live CFUNCTYPE object: the engine calls it until replaced
_propagator = None  # opentelemetry's TraceContextTextMapPropagator, once enabled with it


def enable(fn: SpanFunction | None = None, *, tracer_provider: Any = None, queue_limit: int = 0) -> None:
    """Starts recording request spans. fn(span_dict) receives each finished span (the
    JSON object mcp.h documents for mcp_set_trace_hook); without fn they go to
    OpenTelemetry (tracer_provider, or the global one), which must be installed
    (ImportError otherwise). Process-wide; spans queue behind a slow fn, up to queue_limit
    (0: 4096), past which they are dropped and the engine log says how many."""
    global active, _propagator
    if fn is None:
        from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
        fn = _OpenTelemetrySpans(tracer_provider)
        propagator = TraceContextTextMapPropagator()
    else:
        propagator = _propagator_if_installed()

    def deliver(_user_data: Any, text: bytes) -> None:
        try:
            fn(json.loads(text.decode("utf-8", "replace")))
        except Exception:  # never unwind into the engine
            logging.getLogger("libmcp.engine").exception("trace hook failed")

    _set(_ffi.TRACE_FN(deliver), queue_limit)
    _propagator = propagator
    active = True


def disable() -> None:
    """Stops recording spans (those still queued are dropped)."""
    global active, _propagator
    active = False
    _propagator = None
    _set(None, 0)


def _set(thunk: Any, queue_limit: int) -> None:
    global _thunk
    lib = _ffi.load()
    with _lock:
        err = c_void_p()
        status = lib.mcp_set_trace_hook(thunk if thunk is not None else _ffi.TRACE_FN(), None, int(queue_limit),
                                        byref(err))
        _ffi.check(lib, status, err, "set_trace_hook")
        # The engine no longer calls the previous thunk once this returned: it may go.
        _thunk = thunk


def _propagator_if_installed() -> Any:
    try:
        from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
    except ImportError:
        return None
    return TraceContextTextMapPropagator()


# ------------------------------------------------------------------ context in and out

def with_current_context(params: dict | None) -> dict | None:
    """params with `_meta.traceparent` (and tracestate) of the current OpenTelemetry span,
    unless tracing is off, there is no current span, or the caller gave a traceparent."""
    propagator = _propagator
    if propagator is None:
        return params
    carrier: dict = {}
    propagator.inject(carrier)
    if "traceparent" not in carrier:
        return params
    params = dict(params) if params is not None else {}
    meta = dict(params.get("_meta") or {})
    if "traceparent" in meta:
        return params
    meta.update(carrier)
    params["_meta"] = meta
    return params


def call_traceparent(lib: Any, call: int) -> str | None:
    """The traceparent of a call's span (None while tracing is off or the call is answered)."""
    out, err = c_void_p(), c_void_p()
    status = lib.mcp_call_traceparent(call, byref(out), byref(err))
    if status != 0:
        _ffi.take_string(lib, err)
        return None
    return _ffi.take_string(lib, out)


@contextlib.contextmanager
def parent(traceparent: str | None) -> Iterator[None]:
    """Makes the span named by traceparent the current OpenTelemetry context (a no-op
    without one, or without OpenTelemetry)."""
    propagator = _propagator
    if traceparent is None or propagator is None:
        yield
        return
    from opentelemetry import context

    token = context.attach(propagator.extract({"traceparent": traceparent}))
    try:
        yield
    finally:
        context.detach(token)


# ------------------------------------------------------------------ OpenTelemetry spans

class _OpenTelemetrySpans:
    """Turns each engine span into an OpenTelemetry span with the engine's ids.

    The SDK's tracer draws ids from its `id_generator`; ours hands out the ids of the span
    being replayed (set just before start_span, on the one delivery thread) and random
    ones otherwise, so anything else using the tracer is unaffected."""

    def __init__(self, tracer_provider: Any):
        from opentelemetry import trace
        from . import __version__

        self._trace = trace
        self._provider = tracer_provider
        self._version = __version__
        self._tracer = None
        self._ids = _EngineIds()

    def _tracer_now(self) -> Any:
        # Resolved at the first span, so a global provider set after enable() is used.
        if self._tracer is None:
            provider = self._provider or self._trace.get_tracer_provider()
            tracer = provider.get_tracer("libmcp.engine", self._version)
            if type(tracer).__name__ == "ProxyTracer":
                return tracer  # no provider yet: try again at the next span
            generator = getattr(tracer, "id_generator", None)
            if generator is not None:
                self._ids.fallback = generator
                tracer.id_generator = self._ids
            self._tracer = tracer
        return self._tracer

    def __call__(self, span: dict) -> None:
        trace = self._trace
        trace_id = int(span["traceId"], 16)
        context = None
        parent_id = span.get("parentSpanId")
        if parent_id:
            from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags, TraceState

            state = span.get("traceState")
            parent = SpanContext(trace_id, int(parent_id, 16), is_remote=bool(span.get("parentIsRemote")),
                                 trace_flags=TraceFlags(span.get("traceFlags", 1)),
                                 trace_state=TraceState.from_header([state]) if state else None)
            context = trace.set_span_in_context(NonRecordingSpan(parent))
        else:
            from opentelemetry.context import Context
            context = Context()  # a root: never the delivery thread's current span
        kind = trace.SpanKind.SERVER if span.get("kind") == "server" else trace.SpanKind.CLIENT
        self._ids.next = (trace_id, int(span["spanId"], 16))
        try:
            otel = self._tracer_now().start_span(span["name"], context=context, kind=kind,
                                                 attributes=span.get("attributes") or {},
                                                 start_time=int(span["startTimeUnixNano"]))
        finally:
            self._ids.next = None
        status = span.get("status") or {}
        if status.get("code") == "error":
            otel.set_status(trace.Status(trace.StatusCode.ERROR, status.get("message")))
        otel.end(end_time=int(span["endTimeUnixNano"]))


class _EngineIds:
    """An OpenTelemetry SDK IdGenerator that returns the engine's ids for the span being
    replayed, else defers to the provider's own generator."""

    def __init__(self) -> None:
        self._local = threading.local()
        self.fallback: Any = None

    @property
    def next(self) -> tuple[int, int] | None:
        return getattr(self._local, "ids", None)

    @next.setter
    def next(self, ids: tuple[int, int] | None) -> None:
        self._local.ids = ids

    def generate_trace_id(self) -> int:
        ids = self.next
        return ids[0] if ids is not None else self.fallback.generate_trace_id()

    def generate_span_id(self) -> int:
        ids = self.next
        return ids[1] if ids is not None else self.fallback.generate_span_id()

    def is_trace_id_random(self) -> bool:
        return True
