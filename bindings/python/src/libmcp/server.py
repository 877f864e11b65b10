"""`Server`: an MCP server on the libmcp engine, with decorators for its features.

    srv = Server("demo", "1.0")

    @srv.tool()
    def add(a: int, b: int) -> int:
        "Add two numbers."
        return a + b

    srv.run_stdio()

Lifecycle: create, register (also later, while serving: clients see the change
at once), serve (run_stdio / run_http block; start_http / start_stdio do not),
close (or let the interpreter exit: the engine is closed then).
"""
from __future__ import annotations

import asyncio
import ctypes
import sys
import threading
import weakref
from ctypes import byref, c_int32, c_void_p
from typing import Any, Callable, TypeVar

from . import _asgi, _callbacks, _ffi, _lifetime, errors
from ._completion import Completer
from ._features import Prompt, Resource, ResourceTemplate, Tool
from ._loop import LoopThread
from ._serving import Serving

F = TypeVar("F", bound=Callable[..., Any])


class _Core:
    """What registrations need of their server, without keeping the Server alive."""

    def __init__(self, lib: _ffi.Library, handle: int, server: "Server", loop: asyncio.AbstractEventLoop | None):
        self.lib = lib
        self.handle: int | None = handle
        self.server = weakref.ref(server)
        self.user_loop = loop
        self.own_loop = LoopThread()
        # ASGI apps (asgi_app) on this server: released before it.
        self.http_apps: weakref.WeakSet = weakref.WeakSet()

    def loop(self) -> asyncio.AbstractEventLoop:
        return self.user_loop if self.user_loop is not None else self.own_loop.get()

    def live(self) -> int:
        if self.handle is None:
            raise errors.StateError("the server is closed")
        return self.handle

    def close(self) -> None:
        _asgi.release_all(self.http_apps)
        handle, self.handle = self.handle, None
        if handle is not None:
            self.lib.mcp_server_free(handle)
        self.own_loop.stop()


def _clean(d: dict) -> dict:
    return {k: v for k, v in d.items() if v is not None}


class Server(Serving):
    """An MCP server. Features are shared by every session it serves."""

    def __init__(self, name: str, version: str = "0.1.0", *, instructions: str | None = None,
                 title: str | None = None, description: str | None = None, website_url: str | None = None,
                 icons: list | None = None, page_size: int | None = None, worker_threads: int | None = None,
                 max_depth: int | None = None, extensions: dict | None = None, cache_ttl_ms: int | None = None,
                 cache_scope: str | None = None, loop: asyncio.AbstractEventLoop | None = None,
                 metrics: bool | None = None, declare_capabilities: list[str] | None = None,
                 max_calls_in_flight: int | None = None, tool_timeouts_ms: dict[str, int] | None = None,
                 circuit_breaker: dict[str, int] | None = None, schema_validation: bool | None = None,
                 schema_limits: dict | None = None):
        """name, version: the serverInfo clients see. worker_threads bounds how many handlers run at
        once (default 64). extensions: {"vendor.example/name": {settings}} advertised in the capabilities
        (both eras). cache_ttl_ms, cache_scope ("public"/"private"): the caching hints of cacheable
        2026-07-28 results when a feature sets none (its definition's "ttlMs"/"cacheScope").
        loop: run `async def` handlers there instead of on a loop of the binding's own.
        metrics=False keeps no metrics (see metrics()). Clients see the capabilities of what is
        registered when they connect; declare_capabilities names kinds ("tools", "resources", "prompts",
        "logging") to declare anyway: "logging" only so, so name it when handlers log.
        Overload protection: max_calls_in_flight (default 4096; beyond it calls are refused at once,
        503 over HTTP), tool_timeouts_ms ({"tool": ms, "*": default}), circuit_breaker
        ({"failures": 5, "open_ms": 30000}); see mcp.h.
        schema_validation=False: the engine checks no tool arguments, tool results or elicitation
        answers against their schemas (default: it does; a tool opts out with validate=False).
        schema_limits: {"schema_max_depth": .., "schema_max_subschemas": .., "schema_max_evaluation_depth":
        .., "schema_max_steps": ..}, the bounds of every schema (mcp.h, mcp_server_new). Both need
        libmcp ABI 1.4."""
        lib = _ffi.load()
        options = _clean({"instructions": instructions, "title": title, "description": description,
                          "website_url": website_url, "icons": icons, "page_size": page_size,
                          "worker_threads": worker_threads, "max_depth": max_depth, "extensions": extensions,
                          "cache_ttl_ms": cache_ttl_ms, "cache_scope": cache_scope, "metrics": metrics,
                          "declare_capabilities": declare_capabilities, "max_calls_in_flight": max_calls_in_flight,
                          "tool_timeouts_ms": tool_timeouts_ms, "circuit_breaker": circuit_breaker,
                          "schema_validation": schema_validation, **(schema_limits or {})})
        out, err = c_void_p(), c_void_p()
        status = lib.mcp_server_new(_ffi.cstr(name, "name"), _ffi.cstr(version, "version"),
                                    _callbacks.encode(options) if options else None, byref(out), byref(err))
        _ffi.check(lib, status, err, "Server")
        self.name, self.version = name, version
        self._lib = lib
        self._validates = schema_validation is not False  # the engine checks tool arguments
        self._core = _Core(lib, out.value, self, loop)
        self._finalizer = _lifetime.finalizer(self, self._core.close)
        self._lock = threading.RLock()
        self._tools: dict[str, Tool] = {}
        self._resources: dict[str, Resource] = {}
        self._templates: dict[str, ResourceTemplate] = {}
        self._prompts: dict[str, Prompt] = {}
        self._completer = Completer(self._core)
        self._completion_set = False
        self._stop_event = threading.Event()
        self._background: threading.Thread | None = None
        self._background_error: BaseException | None = None

    # ------------------------------------------------------------ lifecycle
    @property
    def loop(self) -> asyncio.AbstractEventLoop | None:
        """The user-supplied loop for async handlers (None: the binding's own)."""
        return self._core.user_loop

    @loop.setter
    def loop(self, loop: asyncio.AbstractEventLoop | None) -> None:
        self._core.user_loop = loop

    @property
    def closed(self) -> bool:
        return self._core.handle is None

    def close(self) -> None:
        """Stops serving, closes every session and releases the engine. Idempotent."""
        self._stop_event.set()
        self._finalizer()

    def __enter__(self) -> "Server":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def metrics(self) -> str:
        """The server's metrics in the Prometheus text format (mcp_server_metrics, ABI 1.3): what an
        HTTP listener's admin address serves at /metrics, for stdio servers and hosts with their own
        HTTP. Raises StateError when the server was made with metrics=False."""
        out, err = c_void_p(), c_void_p()
        status = self._lib.mcp_server_metrics(self._core.live(), byref(out), byref(err))
        _ffi.check(self._lib, status, err, "metrics")
        return _ffi.take_string(self._lib, out) or ""

    def __repr__(self) -> str:
        state = "closed" if self.closed else f"{len(self._tools)} tools"
        return f"<libmcp.Server {self.name!r} {self.version!r} ({state})>"

    # ------------------------------------------------------------ registration
    def _register(self, function: str, feature: Any, thunk: Any, what: str, *flags: int) -> None:
        handle = self._core.live()
        key = _callbacks.keep(feature)
        err = c_void_p()
        status = getattr(self._lib, function)(handle, _callbacks.encode(feature.definition), thunk, key,
                                              _callbacks.free_thunk, *flags, byref(err))
        if status != errors.OK:
            _callbacks.drop(key)  # on failure the engine does not call free_fn
            _ffi.check(self._lib, status, err, what)

    def _remove(self, function: str, key: str, what: str) -> None:
        err = c_void_p()
        status = getattr(self._lib, function)(self._core.live(), _ffi.cstr(key, what), byref(err))
        _ffi.check(self._lib, status, err, f"remove {what} {key!r}")

    def tool(self, name: str | Callable | None = None, *, title: str | None = None,
             description: str | None = None, annotations: dict | None = None, icons: list | None = None,
             meta: dict | None = None, structured_output: bool | None = None,
             execution: dict | None = None, inline: bool = False,
             required_scopes: list[str] | None = None, validate: bool = True) -> Callable[[F], F]:
        """Decorator: offer a function as a tool.

        The input schema comes from the parameters' type hints, the description
        from the docstring, an outputSchema (and structuredContent) from the
        return annotation (structured_output=False turns that off). An exception
        gives an isError result with its message. A parameter annotated
        `Context` (or named ctx) gets the call's Context. annotations takes
        snake_case or camelCase keys (read_only_hint=...).

        inline=True: for a quick handler that never blocks. It then runs on the
        engine thread that read the request (over HTTP an I/O thread, over stdio
        the reader) instead of being handed to a worker thread: one thread
        switch less per call, typically a third less CPU per call for a small
        tool.
        While it runs, and while it waits for the GIL, the other requests of
        that thread wait: no sleeping, I/O, locks held elsewhere or waiting on
        the client (Pending.result() and Context.wait_cancelled() raise
        StateError there). An `async def` tool may be inline too: only its
        dispatch (decoding, conversion, handing the coroutine to the loop) runs
        on that thread. Needs libmcp ABI 1.1 (else libmcp.Unsupported).

        required_scopes: OAuth scopes a caller's access token must hold, over HTTP with
        start_http(auth=...): without them the request gets 403 insufficient_scope (the
        engine takes them out of the published definition). Needs libmcp ABI 1.4.
        validate=False: the engine does not check the call's arguments against the input schema
        (nor the result against the output schema) before the handler runs (MCP_TOOL_NO_VALIDATION,
        ABI 1.4). By default it does, and arguments that do not match get an isError result naming
        the problem without the handler running.
        """
        if callable(name):
            self.add_tool(name, frame=_caller_frame())
            return name  # type: ignore[return-value]

        def decorate(fn: F) -> F:
            self.add_tool(fn, name=name, title=title, description=description, annotations=annotations,
                          icons=icons, meta=meta, structured_output=structured_output, execution=execution,
                          inline=inline, required_scopes=required_scopes, validate=validate, frame=_caller_frame())
            return fn
        return decorate

    def add_tool(self, fn: Callable, **options: Any) -> dict:
        """Registers fn as a tool (options as for tool(), inline=True included); returns its definition."""
        options.setdefault("frame", _caller_frame())
        validate = options.pop("validate", True)
        with self._lock:
            tool = Tool(self._core, fn, **options)
            what = f"add tool {tool.name!r}"
            flags = 0
            if tool.inline:
                self._check_inline(what)
                flags |= _ffi.TOOL_INLINE
            # A library older than 1.4 checks nothing anyway: validate=False needs no flag there.
            if not validate and self._lib.abi_minor >= 4:
                flags |= _ffi.TOOL_NO_VALIDATION
            engine_checks = validate and self._validates and self._lib.abi_minor >= 4
            # Long string arguments are read where the engine holds them when it checks them first.
            if engine_checks and self._lib.has("mcp_call_arg_string"):
                tool.lend_arguments()
            tool.engine_checks_output = engine_checks
            if flags:
                self._register("mcp_server_add_tool_ex", tool, _callbacks.tool_thunk, what, flags)
            else:
                self._register("mcp_server_add_tool", tool, _callbacks.tool_thunk, what)
            self._tools[tool.name] = tool
        return tool.definition

    def _check_inline(self, what: str) -> None:
        lib = self._lib
        abi = f"{lib.abi_version >> 16}.{lib.abi_minor}"
        if lib.abi_minor < 1:
            raise errors.Unsupported(
                f"{what}: inline=True needs libmcp ABI 1.1 or newer (mcp_server_add_tool_ex), but {lib.path} "
                f"has ABI {abi}; register the tool without inline=True or use a newer library")
        if not lib.has("mcp_server_add_tool_ex"):
            raise errors.Unsupported(
                f"{what}: inline=True needs mcp_server_add_tool_ex(), which {lib.path} (ABI {abi}) does not "
                f"export; register the tool without inline=True or use another library")

    def remove_tool(self, name: str) -> None:
        with self._lock:
            self._remove("mcp_server_remove_tool", name, "tool")
            self._tools.pop(name, None)

    def resource(self, uri: str, *, name: str | None = None, title: str | None = None,
                 description: str | None = None, mime_type: str | None = None, size: int | None = None,
                 annotations: dict | None = None, icons: list | None = None, meta: dict | None = None,
                 completions: dict[str, Any] | None = None) -> Callable[[F], F]:
        """Decorator: offer a resource. A URI with {name} parts is a template whose variables
        are the function's parameters (converted to their annotated types).

        The function returns str (text), bytes (blob), ResourceContents (or a list of them),
        or any JSON-able value (sent as application/json text). Raise ResourceNotFound for
        -32002. completions maps a template variable to a list of values or a function
        (value[, context]) -> list.
        """
        def decorate(fn: F) -> F:
            self.add_resource(fn, uri, name=name, title=title, description=description, mime_type=mime_type,
                              size=size, annotations=annotations, icons=icons, meta=meta, completions=completions,
                              frame=_caller_frame())
            return fn
        return decorate

    def add_resource(self, fn: Callable, uri: str, *, completions: dict[str, Any] | None = None,
                     size: int | None = None, **options: Any) -> dict:
        options.setdefault("frame", _caller_frame())
        with self._lock:
            if "{" in uri:
                feature: Any = ResourceTemplate(self._core, fn, uri, **options)
                unknown = set(completions or {}) - {n for n, *_ in feature.sig.params}
                if unknown:
                    raise ValueError(f"completions for unknown variables {sorted(unknown)} of {uri!r}")
                self._register("mcp_server_add_resource_template", feature, _callbacks.resource_thunk,
                               f"add resource template {uri!r}")
                self._templates[uri] = feature
                if completions:
                    self._completer.by_template[uri] = dict(completions)
                    self._ensure_completion()
            else:
                if completions:
                    raise ValueError(f"completions apply to template variables; {uri!r} has none")
                feature = Resource(self._core, fn, uri, size=size, **options)
                self._register("mcp_server_add_resource", feature, _callbacks.resource_thunk,
                               f"add resource {uri!r}")
                self._resources[uri] = feature
        return feature.definition

    def remove_resource(self, uri: str) -> None:
        """Withdraws a resource or a resource template (by its URI template text)."""
        with self._lock:
            if uri in self._templates:
                self._remove("mcp_server_remove_resource_template", uri, "resource template")
                self._templates.pop(uri, None)
                self._completer.by_template.pop(uri, None)
            else:
                self._remove("mcp_server_remove_resource", uri, "resource")
                self._resources.pop(uri, None)

    def prompt(self, name: str | Callable | None = None, *, title: str | None = None,
               description: str | None = None, icons: list | None = None, meta: dict | None = None,
               completions: dict[str, Any] | None = None) -> Callable[[F], F]:
        """Decorator: offer a prompt. Its arguments are the function's parameters (required when
        they have no default); it returns str (one user message), Message, a list of them, or
        PromptResult. completions maps an argument to a list of values or a function."""
        if callable(name):
            self.add_prompt(name, frame=_caller_frame())
            return name  # type: ignore[return-value]

        def decorate(fn: F) -> F:
            self.add_prompt(fn, name=name, title=title, description=description, icons=icons, meta=meta,
                            completions=completions, frame=_caller_frame())
            return fn
        return decorate

    def add_prompt(self, fn: Callable, *, completions: dict[str, Any] | None = None, **options: Any) -> dict:
        options.setdefault("frame", _caller_frame())
        with self._lock:
            prompt = Prompt(self._core, fn, **options)
            unknown = set(completions or {}) - {n for n, *_ in prompt.sig.params}
            if unknown:
                raise ValueError(f"completions for unknown arguments {sorted(unknown)} of prompt {prompt.name!r}")
            self._register("mcp_server_add_prompt", prompt, _callbacks.prompt_thunk, f"add prompt {prompt.name!r}")
            self._prompts[prompt.name] = prompt
            if completions:
                self._completer.by_prompt[prompt.name] = dict(completions)
                self._ensure_completion()
        return prompt.definition

    def remove_prompt(self, name: str) -> None:
        with self._lock:
            self._remove("mcp_server_remove_prompt", name, "prompt")
            self._prompts.pop(name, None)
            self._completer.by_prompt.pop(name, None)

    def completion(self) -> Callable[[F], F]:
        """Decorator: the fallback for completion/complete, fn(ref, argument, context) returning a
        list of str, a Completion or None. ref.type is "ref/prompt" (ref.name) or "ref/resource"
        (ref.uri); argument has .name and .value; context holds the arguments given so far.
        Register completers before serving: earlier sessions do not see the capability."""
        def decorate(fn: F) -> F:
            with self._lock:
                self._completer.handler = fn
                self._ensure_completion()
            return fn
        return decorate

    def set_token_verifier(self, fn: Callable[[str], dict | None] | None) -> None:
        """Checks OAuth bearer tokens in Python, for servers started with start_http(auth={...}):
        every token when "auth" names no JWKS, else the tokens that are not JWTs (opaque ones).
        fn(token) runs on an engine worker thread and returns the principal, a dict with
        optional "subject", "client_id", "issuer", "scopes" and "claims" (handlers see it as
        ctx.principal), or None to refuse the token (401). It must check that the token was
        issued for this server (its audience). Set it before start_http; None removes it."""
        err = c_void_p()
        key = _callbacks.keep((self._lib, fn)) if fn is not None else None
        thunk = _callbacks.token_verify_thunk if fn is not None else _ffi.TOKEN_VERIFY_FN()
        status = self._lib.mcp_server_set_token_verifier(self._core.live(), thunk, key, _callbacks.free_thunk,
                                                         byref(err))
        if status != errors.OK:
            _callbacks.drop(key)
            _ffi.check(self._lib, status, err, "set_token_verifier")

    def set_store(self, store: Any | None) -> None:
        """Keeps the HTTP listener's durable state (2025-era sessions, resumable stream events,
        tasks and their results) in `store`, an object with get, put, remove and list (and
        optionally check): see libmcp.store (DictStore is one). A new Server given the same
        store serves the sessions of one that was closed: same Mcp-Session-Id, Last-Event-ID
        replays, task results. Methods run on engine threads, several at once. An exception
        fails the operation: the requests that needed it get HTTP 503 with JSON-RPC -32603
        "State store unavailable: <its message>". Set it before start_http (not while
        listening); None removes it. Needs libmcp ABI 1.7."""
        if store is not None:
            for name in ("get", "put", "remove", "list"):
                if not callable(getattr(store, name, None)):
                    raise TypeError(f"set_store: the store has no {name}() method (see libmcp.store)")
        err = c_void_p()
        key = None
        methods = None
        if store is not None:
            key = _callbacks.keep((self._lib, store))
            methods = _ffi.StoreMethods()
            methods.struct_size = ctypes.sizeof(_ffi.StoreMethods)
            methods.get = _callbacks.store_get_thunk
            methods.put = _callbacks.store_put_thunk
            methods.remove = _callbacks.store_remove_thunk
            methods.list = _callbacks.store_list_thunk
            if callable(getattr(store, "check", None)):
                methods.check = _callbacks.store_check_thunk
            methods.destroy = _callbacks.free_thunk
        status = self._lib.mcp_server_set_store(self._core.live(), byref(methods) if methods is not None else None,
                                                key, byref(err))
        if status != errors.OK:
            _callbacks.drop(key)
            _ffi.check(self._lib, status, err, "set_store")

    def _ensure_completion(self) -> None:
        if self._completion_set:
            return
        key = _callbacks.keep(self._completer)
        err = c_void_p()
        status = self._lib.mcp_server_set_completion(self._core.live(), _callbacks.completion_thunk, key,
                                                     _callbacks.free_thunk, byref(err))
        if status != errors.OK:
            _callbacks.drop(key)
            _ffi.check(self._lib, status, err, "set completion")
        self._completion_set = True

    @property
    def tools(self) -> dict[str, dict]:
        """Registered tools: name -> definition."""
        return {k: v.definition for k, v in self._tools.items()}

    @property
    def resources(self) -> dict[str, dict]:
        return {k: v.definition for k, v in self._resources.items()}

    @property
    def resource_templates(self) -> dict[str, dict]:
        return {k: v.definition for k, v in self._templates.items()}

    @property
    def prompts(self) -> dict[str, dict]:
        return {k: v.definition for k, v in self._prompts.items()}

    # ------------------------------------------------------------ notifications
    def notify_resource_updated(self, uri: str) -> int:
        """Tells the sessions and listen streams subscribed to uri that it changed; returns how many were told."""
        count, err = c_int32(0), c_void_p()
        status = self._lib.mcp_server_notify_resource_updated(self._core.live(), _ffi.cstr(uri, "uri"),
                                                              byref(count), byref(err))
        _ffi.check(self._lib, status, err, "notify_resource_updated")
        return count.value

    def log(self, level: str, data: Any, logger: str | None = None) -> None:
        """A log message to every session (each drops it below the level it set; default info)."""
        from ._types import to_jsonable
        err = c_void_p()
        status = self._lib.mcp_server_log(self._core.live(), _ffi.cstr(level, "level"), _ffi.cstr(logger, "logger"),
                                          _callbacks.encode(to_jsonable(data)), byref(err))
        _ffi.check(self._lib, status, err, "log")

    def notify_elicitation_complete(self, session_id: str, elicitation_id: str) -> None:
        """Finishes a URL-mode elicitation (see Context.elicit_url) on that session only."""
        err = c_void_p()
        status = self._lib.mcp_server_notify_elicitation_complete(
            self._core.live(), _ffi.cstr(session_id, "session_id"), _ffi.cstr(elicitation_id, "elicitation_id"),
            byref(err))
        _ffi.check(self._lib, status, err, "notify_elicitation_complete")


def _caller_frame() -> Any:
    """The frame where the decorator was applied (or add_* called): annotations naming classes
    defined inside a function resolve there (`from __future__ import annotations`). Only read
    when resolving without it fails, and dropped once the feature is registered."""
    return sys._getframe(2)
