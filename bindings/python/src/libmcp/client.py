"""`Client` and `AsyncClient`: talk to an MCP server through the libmcp engine.

    with Client.stdio("python", "server.py") as client:
        print(client.call_tool("add", {"a": 1, "b": 2})["structuredContent"])

    async with AsyncClient.http("http://127.0.0.1:8000/mcp") as client:
        tools = await client.list_tools()

Results are the protocol's JSON objects as dicts (camelCase keys, as on the
wire). A JSON-RPC error from the server raises PeerError (with .code and .data);
a tool that fails is a result with "isError": true, not an exception.

What the server may ask of the client is answered by the handlers given to the
constructor (they declare the capabilities): sampling(params) -> result,
elicitation(params) -> result, roots() -> list of roots. Each may be a plain or
an `async def` function (run on the client's loop, see `loop=`); params are the
request's params as a dict. on_notification(method, params) sees every
notification; on_stderr(line) the server process's stderr (else it is copied to
ours).
"""
from __future__ import annotations

import asyncio
import json
from ctypes import byref, c_char_p, c_int64, c_void_p
from typing import Any, Callable

from . import _callbacks, _ffi, _lifetime, errors, tracing as _tracing
from ._client_calls import _ClientCore, _Listener, _Outcome, _RequestHandler, _SubscriptionListener

_NO_PROGRESS = _ffi.PROGRESS_FN()  # a NULL mcp_progress_fn
LIST_METHODS = ("tools/list", "resources/list", "resources/templates/list", "prompts/list", "tasks/list")


def _ms(seconds: float | None) -> int:
    return 0 if seconds is None else max(1, int(seconds * 1000))


def _clean(d: dict) -> dict:
    return {k: v for k, v in d.items() if v is not None}


def _check(lib: _ffi.Library, status: int, err: c_void_p, what: str) -> None:
    """As _ffi.check, but MCP_ERR_PEER carries the server's JSON-RPC error object."""
    if status == errors.ERR_PEER:
        text = _ffi.take_string(lib, err) or "{}"
        try:
            e = json.loads(text)
        except ValueError:
            raise errors.PeerError(text) from None
        raise errors.PeerError(str(e.get("message", "")), int(e.get("code", 0)), e.get("data"))
    _ffi.check(lib, status, err, what)


def _take_json(lib: _ffi.Library, out: c_void_p) -> Any:
    text = _ffi.take_string(lib, out)
    return json.loads(text) if text else None


class ClientRequest:
    """A request in flight: `await` it, or `.result(timeout)`; `.cancel(reason)` cancels it."""

    def __init__(self, client: "Client", request_id: int, outcome: _Outcome):
        self._client = client
        self.id = request_id
        self._future = outcome.future

    def done(self) -> bool:
        return self._future.done()

    def result(self, timeout: float | None = None) -> dict:
        return self._future.result(timeout)

    def cancel(self, reason: str | None = None) -> None:
        """The server gets notifications/cancelled; waiting raises libmcp.Cancelled."""
        core = self._client._core
        err = c_void_p()
        _ffi.check(core.lib, core.lib.mcp_client_cancel(core.live(), self.id, _ffi.cstr(reason, "reason"),
                                                        byref(err)), err, "cancel")

    def __await__(self):
        return asyncio.wrap_future(self._future).__await__()


# ------------------------------------------------------------------ the client

class Client:
    """An MCP client (blocking calls; see AsyncClient for asyncio)."""

    def __init__(self, name: str = "libmcp-python", version: str = "0.1.0", *, title: str | None = None,
                 protocol_version: str | None = None, request_timeout: float | None = None,
                 max_total_timeout: float | None = None, capabilities: dict | None = None,
                 worker_threads: int | None = None, max_message_bytes: int | None = None,
                 sampling: Callable | None = None, elicitation: Callable | None = None,
                 roots: Callable | None = None, on_notification: Callable | None = None,
                 on_stderr: Callable | None = None, loop: asyncio.AbstractEventLoop | None = None,
                 era: str | None = None, max_input_rounds: int | None = None,
                 discover_timeout: float | None = None, log_level: str | None = None,
                 validate_tool_output: bool | None = None, cache: bool | None = None,
                 cache_max_entries: int | None = None, cache_max_bytes: int | None = None,
                 tasks: bool | None = None, oauth_handler: Callable | None = None,
                 oauth_store: Callable | None = None):
        """era: "auto" (default: probe server/discover, fall back to initialize), "legacy", or a
        revision ("2026-07-28", "2025-11-25", ...). max_input_rounds: input_required rounds the
        engine answers with the sampling/elicitation/roots handlers (0: the caller gets them).
        log_level: sent with every modern request (logging/setLevel once at the 2025 era).
        validate_tool_output: False stops checking call_tool's structuredContent against the
        outputSchema from the last list_tools (a mismatch raises PeerError, code -32603).
        cache: keep list/read results in memory while their ttlMs says they are fresh (bounded by
        cache_max_entries and cache_max_bytes; list_changed/updated notifications invalidate).
        tasks: declare the tasks extension in modern requests; a call the server runs as a task is
        followed (polled, its input answered by the handlers above, cancelled with tasks/cancel)
        and returns its result like any call.
        oauth_handler(authorization_url, redirect_uri): for connect_http(oauth=...), shows the URL
        to the person and returns the URL the authorization server redirected to (or None when the
        loopback listener receives it); raising refuses. oauth_store(issuer, credentials): called
        whenever a registration or token is obtained; give the dicts back later as
        oauth={"credentials": {issuer: credentials}} (ABI 1.5)."""
        lib = _ffi.load()
        if not lib.has("mcp_client_new"):
            raise errors.Unsupported(f"{lib.path} has no client functions (mcp_client_*): it predates them")
        options = _clean({"title": title, "protocol_version": protocol_version,
                          "request_timeout_ms": _ms(request_timeout) if request_timeout is not None else None,
                          "max_total_timeout_ms": _ms(max_total_timeout) if max_total_timeout is not None else None,
                          "capabilities": capabilities, "worker_threads": worker_threads,
                          "max_message_bytes": max_message_bytes, "era": era,
                          "max_input_rounds": max_input_rounds, "log_level": log_level,
                          "validate_tool_output": validate_tool_output, "cache": cache,
                          "cache_max_entries": cache_max_entries, "cache_max_bytes": cache_max_bytes,
                          "tasks": tasks,
                          "discover_timeout_ms": _ms(discover_timeout) if discover_timeout is not None else None})
        out, err = c_void_p(), c_void_p()
        status = lib.mcp_client_new(_ffi.cstr(name, "name"), _ffi.cstr(version, "version"),
                                    _callbacks.encode(options) if options else None, byref(out), byref(err))
        _ffi.check(lib, status, err, "Client")
        self._lib = lib
        self._core = _ClientCore(lib, out.value, loop)
        self._finalizer = _lifetime.finalizer(self, self._core.close)
        for method, fn in (("sampling/createMessage", sampling), ("elicitation/create", elicitation),
                           ("roots/list", roots)):
            if fn is not None:
                self._register(lib.mcp_client_set_request_handler, (_ffi.cstr(method, "method"),),
                               _callbacks.client_request_thunk, _RequestHandler(self._core, method, fn), method)
        if on_notification is not None:
            self._register(lib.mcp_client_set_notification_handler, (), _callbacks.client_notification_thunk,
                           _Listener(self._core, on_notification), "on_notification")
        if on_stderr is not None:
            self._register(lib.mcp_client_set_stderr_handler, (), _callbacks.client_stderr_thunk,
                           _Listener(self._core, on_stderr), "on_stderr")
        if oauth_handler is not None:
            self._register(lib.mcp_client_set_oauth_handler, (), _callbacks.oauth_authorize_thunk,
                           (lib, oauth_handler), "oauth_handler")
        if oauth_store is not None:
            self._register(lib.mcp_client_set_oauth_store, (), _callbacks.oauth_store_thunk, oauth_store,
                           "oauth_store")

    def _register(self, fn: Any, leading: tuple, thunk: Any, target: Any, what: str) -> None:
        key = _callbacks.keep(target)
        err = c_void_p()
        status = fn(self._core.live(), *leading, thunk, key, _callbacks.free_thunk, byref(err))
        if status != errors.OK:
            _callbacks.drop(key)
            _ffi.check(self._lib, status, err, what)

    # ------------------------------------------------------------ connecting
    @classmethod
    def stdio(cls, command: str, *args: str, env: dict[str, str] | None = None, cwd: str | None = None,
              timeout: float | None = None, close_timeout: float | None = None, **options: Any) -> "Client":
        """A client connected to a server process it starts (options as for Client())."""
        client = cls(**options)
        try:
            client.connect_stdio(command, *args, env=env, cwd=cwd, timeout=timeout, close_timeout=close_timeout)
        except BaseException:
            client.close()
            raise
        return client

    @classmethod
    def http(cls, url: str, *, headers: dict[str, str] | None = None, timeout: float | None = None,
             transport: str | None = None, tls_ca_file: str | None = None, tls_verify: bool | None = None,
             open_get_stream: bool | None = None, oauth: dict | None = None, **options: Any) -> "Client":
        """A client connected to a server by URL (Streamable HTTP; legacy SSE with transport="auto")."""
        client = cls(**options)
        try:
            client.connect_http(url, headers=headers, timeout=timeout, transport=transport,
                                tls_ca_file=tls_ca_file, tls_verify=tls_verify, open_get_stream=open_get_stream,
                                oauth=oauth)
        except BaseException:
            client.close()
            raise
        return client

    def connect_stdio(self, command: str, *args: str, env: dict[str, str] | None = None, cwd: str | None = None,
                      timeout: float | None = None, close_timeout: float | None = None) -> dict:
        """Starts `command args...` (looked up on PATH) and initializes; returns the InitializeResult.
        env: the whole environment of the server (None: inherit ours)."""
        argv = [_ffi.cstr(a, "argument") for a in (command, *args)]
        argv_c = (c_char_p * (len(argv) + 1))(*argv, None)
        envp_c = None
        if env is not None:
            pairs = [_ffi.cstr(f"{k}={v}", "environment entry") for k, v in env.items()]
            envp_c = (c_char_p * (len(pairs) + 1))(*pairs, None)
        options = _clean({"cwd": cwd, "timeout_ms": _ms(timeout) if timeout is not None else None,
                          "close_timeout_ms": _ms(close_timeout) if close_timeout is not None else None})
        out, err = c_void_p(), c_void_p()
        status = self._lib.mcp_client_connect_stdio(self._core.live(), argv_c, envp_c,
                                                    _callbacks.encode(options) if options else None,
                                                    byref(out), byref(err))
        _check(self._lib, status, err, f"connect_stdio {command}")
        return _take_json(self._lib, out)

    def connect_http(self, url: str, *, headers: dict[str, str] | None = None, timeout: float | None = None,
                     transport: str | None = None, tls_ca_file: str | None = None, tls_verify: bool | None = None,
                     open_get_stream: bool | None = None, oauth: dict | None = None) -> dict:
        """Connects to url and initializes; returns the InitializeResult. oauth: the "oauth" object of
        mcp_client_connect_http (mcp.h): obtain tokens when the server answers 401/403 (ABI 1.5)."""
        options = _clean({"headers": headers, "timeout_ms": _ms(timeout) if timeout is not None else None,
                          "transport": transport, "tls_ca_file": tls_ca_file, "tls_verify": tls_verify,
                          "open_get_stream": open_get_stream, "oauth": oauth})
        out, err = c_void_p(), c_void_p()
        status = self._lib.mcp_client_connect_http(self._core.live(), _ffi.cstr(url, "url"),
                                                   _callbacks.encode(options) if options else None,
                                                   byref(out), byref(err))
        _check(self._lib, status, err, f"connect_http {url}")
        return _take_json(self._lib, out)

    @property
    def server_info(self) -> dict:
        """The server's InitializeResult: protocolVersion, capabilities, serverInfo, instructions."""
        out, err = c_void_p(), c_void_p()
        _check(self._lib, self._lib.mcp_client_server_info(self._core.live(), byref(out), byref(err)), err,
               "server_info")
        return _take_json(self._lib, out)

    @property
    def era_info(self) -> dict:
        """What the connection settled on: {"era": "modern"|"legacy", "protocolVersion", "capabilities",
        "serverInfo", "instructions", and "supportedVersions" when modern} (ABI 1.3)."""
        if not self._lib.has("mcp_client_get_era"):
            raise errors.Unsupported(f"{self._lib.path} predates mcp_client_get_era (ABI 1.3)")
        out, err = c_void_p(), c_void_p()
        _check(self._lib, self._lib.mcp_client_get_era(self._core.live(), byref(out), byref(err)), err, "era_info")
        return _take_json(self._lib, out)

    @property
    def era(self) -> str:
        """"modern" or "legacy"."""
        return self.era_info["era"]

    def close(self) -> None:
        """Ends the session (for stdio: the server gets EOF, then SIGTERM, then SIGKILL) and frees
        the client; requests still waiting fail with libmcp.Closed. Idempotent."""
        handle = self._core.handle
        if handle is not None:
            err = c_void_p()
            status = self._lib.mcp_client_close(handle, byref(err))
            if status != errors.OK:
                _ffi.take_string(self._lib, err)
        self._finalizer()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # ------------------------------------------------------------ requests
    def request(self, method: str, params: dict | None = None, *, timeout: float | None = None) -> dict:
        """Sends a request and waits for its result (timeout in seconds; None: the client's default)."""
        if _tracing.active:
            params = _tracing.with_current_context(params)
        out, err = c_void_p(), c_void_p()
        status = self._lib.mcp_client_request(self._core.live(), _ffi.cstr(method, "method"),
                                              _callbacks.encode(params) if params is not None else None,
                                              _ms(timeout), byref(out), byref(err))
        _check(self._lib, status, err, method)
        return _take_json(self._lib, out)

    def send(self, method: str, params: dict | None = None, *, timeout: float | None = None,
             progress: Callable[[float, float | None, str | None], Any] | None = None) -> ClientRequest:
        """Sends a request without waiting: `await` the ClientRequest or call .result(); with
        progress, the request asks for progress and progress(progress, total, message) runs
        for each report."""
        if _tracing.active:
            params = _tracing.with_current_context(params)
        outcome = _Outcome(self._core, progress)
        key = _callbacks.keep(outcome)
        request_id, err = c_int64(0), c_void_p()
        status = self._lib.mcp_client_request_async(
            self._core.live(), _ffi.cstr(method, "method"), _callbacks.encode(params) if params is not None else None,
            _ms(timeout), _callbacks.response_thunk,
            _callbacks.client_progress_thunk if progress is not None else _NO_PROGRESS,
            key, byref(request_id), byref(err))
        if status != errors.OK:
            _callbacks.drop(key)  # fn does not run when the request is refused
            _check(self._lib, status, err, method)
        return ClientRequest(self, request_id.value, outcome)

    def notify(self, method: str, params: dict | None = None) -> None:
        err = c_void_p()
        status = self._lib.mcp_client_notify(self._core.live(), _ffi.cstr(method, "method"),
                                             _callbacks.encode(params) if params is not None else None, byref(err))
        _check(self._lib, status, err, method)

    def call_tool(self, name: str, arguments: dict | None = None, *, timeout: float | None = None,
                  progress: Callable | None = None, meta: dict | None = None) -> dict:
        """tools/call: the CallToolResult ("isError": true when the tool failed). meta: keys for the
        request's _meta (a W3C "traceparent", a per-call "io.modelcontextprotocol/logLevel")."""
        if progress is not None or meta is not None or _tracing.active:
            params = {"name": name, "arguments": arguments or {}}
            if meta is not None:
                params["_meta"] = meta
            return self.send("tools/call", params, timeout=timeout, progress=progress).result()
        out, err = c_void_p(), c_void_p()
        status = self._lib.mcp_client_call_tool(self._core.live(), _ffi.cstr(name, "name"),
                                                _callbacks.encode(arguments) if arguments is not None else None,
                                                _ms(timeout), byref(out), byref(err))
        _check(self._lib, status, err, f"tools/call {name}")
        return _take_json(self._lib, out)

    def list(self, method: str, *, timeout: float | None = None) -> list[dict]:
        """Every item of a paginated list (tools/list, resources/list, resources/templates/list,
        prompts/list, tasks/list), following nextCursor."""
        if method not in LIST_METHODS:
            raise ValueError(f"list() takes one of {', '.join(LIST_METHODS)}, not {method!r}")
        out, err = c_void_p(), c_void_p()
        status = self._lib.mcp_client_list(self._core.live(), _ffi.cstr(method, "method"), _ms(timeout),
                                           byref(out), byref(err))
        _check(self._lib, status, err, method)
        return _take_json(self._lib, out)

    def list_send(self, method: str, *, timeout: float | None = None) -> ClientRequest:
        """As list(), without waiting: `await` the ClientRequest or call .result(); .cancel()
        stops the listing. The engine pages (mcp_client_list_async, ABI 1.2)."""
        if method not in LIST_METHODS:
            raise ValueError(f"list() takes one of {', '.join(LIST_METHODS)}, not {method!r}")
        outcome = _Outcome(self._core, None)
        key = _callbacks.keep(outcome)
        listing_id, err = c_int64(0), c_void_p()
        status = self._lib.mcp_client_list_async(self._core.live(), _ffi.cstr(method, "method"), _ms(timeout),
                                                 _callbacks.response_thunk, key, byref(listing_id), byref(err))
        if status != errors.OK:
            _callbacks.drop(key)  # fn does not run when the listing is refused
            _check(self._lib, status, err, method)
        return ClientRequest(self, listing_id.value, outcome)

    def list_tools(self) -> list[dict]:
        return self.list("tools/list")

    def list_resources(self) -> list[dict]:
        return self.list("resources/list")

    def list_resource_templates(self) -> list[dict]:
        return self.list("resources/templates/list")

    def list_prompts(self) -> list[dict]:
        return self.list("prompts/list")

    def read_resource(self, uri: str, *, timeout: float | None = None) -> dict:
        return self.request("resources/read", {"uri": uri}, timeout=timeout)

    def get_prompt(self, name: str, arguments: dict[str, str] | None = None, *,
                   timeout: float | None = None) -> dict:
        return self.request("prompts/get", _clean({"name": name, "arguments": arguments}), timeout=timeout)

    def complete(self, ref: dict, argument: str, value: str, context: dict[str, str] | None = None, *,
                 timeout: float | None = None) -> list[str]:
        """completion/complete: the values offered for `argument` of ref ({"type": "ref/prompt",
        "name"} or {"type": "ref/resource", "uri"}) given its partial value."""
        params: dict = {"ref": ref, "argument": {"name": argument, "value": value}}
        if context:
            params["context"] = {"arguments": context}
        return self.request("completion/complete", params, timeout=timeout)["completion"]["values"]

    def listen(self, on_event: Callable, *, tools_list_changed: bool = False, prompts_list_changed: bool = False,
               resources_list_changed: bool = False, resource_subscriptions: list[str] | tuple = (),
               on_end: Callable | None = None) -> "Subscription":
        """Hear the chosen notifications, in either era (ABI 1.3): subscriptions/listen at
        2026-07-28, resources/subscribe and the server's own notifications at the 2025 era.
        on_event(method, params) gets them in order (on an engine thread; a coroutine function
        runs on the loop); on_end(reason) runs once when the subscription ends. Returns once the
        server acknowledged; Subscription.honored is what it agreed to. Close it (or use `with`)."""
        if not self._lib.has("mcp_client_subscribe"):
            raise errors.Unsupported(f"{self._lib.path} predates mcp_client_subscribe (ABI 1.3)")
        wanted = _clean({"toolsListChanged": tools_list_changed or None,
                         "promptsListChanged": prompts_list_changed or None,
                         "resourcesListChanged": resources_list_changed or None,
                         "resourceSubscriptions": list(resource_subscriptions) or None})
        listener = _SubscriptionListener(self._core, on_event, on_end)
        key = _callbacks.keep(listener)
        sid, out, err = c_int64(), c_void_p(), c_void_p()
        status = self._lib.mcp_client_subscribe(self._core.live(), _callbacks.encode(wanted),
                                                _callbacks.client_notification_thunk, key, _callbacks.free_thunk,
                                                byref(sid), byref(out), byref(err))
        if status != errors.OK:
            _callbacks.drop(key)
            _check(self._lib, status, err, "listen")
        return Subscription(self, sid.value, _take_json(self._lib, out), listener)

    def subscribe(self, uri: str) -> None:
        self.request("resources/subscribe", {"uri": uri})

    def unsubscribe(self, uri: str) -> None:
        self.request("resources/unsubscribe", {"uri": uri})

    def set_logging_level(self, level: str) -> None:
        self.request("logging/setLevel", {"level": level})

    def ping(self, *, timeout: float | None = None) -> None:
        self.request("ping", timeout=timeout)


__all__ = ["Client", "ClientRequest"]


class Subscription:
    """One listen() subscription: .id, .honored (the filter the server agreed to), close()."""

    def __init__(self, client: Client, sid: int, honored: dict, listener: Any):
        self.client, self.id, self.honored, self._listener = client, sid, honored, listener

    def close(self, timeout: float | None = 10.0) -> None:
        """Ends the subscription and waits (up to timeout) for on_end."""
        err = c_void_p()
        _check(self.client._lib, self.client._lib.mcp_client_unsubscribe(self.client._core.live(), self.id, byref(err)),
               err, "Subscription.close")
        self._listener.ended.wait(timeout)

    @property
    def ended(self) -> bool:
        return self._listener.ended.is_set()

    @property
    def end_reason(self) -> str | None:
        return self._listener.reason

    def __enter__(self) -> "Subscription":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
