"""The C callbacks (thunks) the engine calls, and the objects they reach.

One thunk per callback type, created once and kept for the life of the process,
so the engine can never call a collected CFUNCTYPE. The `user_data` the engine
gets is an integer key into `_objects`; `free_thunk` (the free_fn) removes it
when the engine says it no longer needs it.

Every thunk catches every exception: a Python exception must never unwind into
Swift. A handler that fails is answered with an error so the call is never left
unanswered.
"""
from __future__ import annotations

import contextvars
import ctypes
import itertools
import json
import logging
from ctypes import byref, c_void_p
from typing import Any

from . import _ffi, errors
from ._threads import enter

log = logging.getLogger("libmcp")
_Ctx = contextvars.Context

_objects: dict[int, Any] = {}
_ids = itertools.count(1)


def keep(obj: Any) -> int:
    """Registers obj and returns the key to pass as user_data (never 0)."""
    key = next(_ids)
    _objects[key] = obj
    return key


def drop(key: int | None) -> None:
    if key is not None:
        _objects.pop(key, None)


def live_count() -> int:
    """How many objects the engine may still call back (for leak checks)."""
    return len(_objects)


# ---------------------------------------------------------------- answering

_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)  # built once: hot path


def encode(result: Any) -> bytes:
    return _ENCODER.encode(result).encode("utf-8")


def _accepted(lib: _ffi.Library, status: int, err: c_void_p) -> bool:
    """Whether an mcp_call_return* call took the result; a refusal is logged, except
    MCP_ERR_STATE: answered already (e.g. after a cancel race)."""
    if status != errors.OK:
        message = _ffi.take_string(lib, err)
        if status != errors.ERR_STATE:
            log.warning("libmcp refused a handler's result (%s): %s", status, message)
        return False
    return True


def answer(lib: _ffi.Library, call: int, result: Any) -> bool:
    """mcp_call_return; a result that cannot be encoded becomes a -32603 error. True if accepted."""
    try:
        data = encode(result)
    except (TypeError, ValueError) as e:  # NaN, lone surrogates, ...
        return answer_error(lib, call, -32603, f"the handler's result cannot be sent as JSON: {e}")
    err = c_void_p()
    return _accepted(lib, lib.mcp_call_return(call, data, byref(err)), err)


def answer_json(lib: _ffi.Library, call: int, result_json: str) -> bool:
    """As answer(), for a result already encoded as JSON text."""
    try:
        data = result_json.encode("utf-8")
    except ValueError as e:  # lone surrogates
        return answer_error(lib, call, -32603, f"the handler's result cannot be sent as JSON: {e}")
    err = c_void_p()
    return _accepted(lib, lib.mcp_call_return(call, data, byref(err)), err)


def answer_text(lib: _ffi.Library, call: int, text: str, structured_key: bytes | None) -> bool:
    """mcp_call_return_text (ABI 1.2): a tool's str result as UTF-8 bytes, no JSON text
    on this side; with structured_key also as structuredContent {key: text}."""
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError as e:  # lone surrogates
        return answer_error(lib, call, -32603, f"the handler's result cannot be sent as JSON: {e}")
    err = c_void_p()
    return _accepted(lib, lib.mcp_call_return_text(call, data, len(data), None, structured_key, byref(err)), err)


def answer_structured(lib: _ffi.Library, call: int, json_text: str, structured_key: bytes | None) -> bool:
    """mcp_call_return_structured (ABI 1.2): a tool's structured content as its JSON text,
    which is also the text block; with structured_key wrapped as {key: value}."""
    try:
        data = json_text.encode("utf-8")
    except UnicodeEncodeError as e:  # lone surrogates
        return answer_error(lib, call, -32603, f"the handler's result cannot be sent as JSON: {e}")
    err = c_void_p()
    return _accepted(lib, lib.mcp_call_return_structured(call, data, len(data), structured_key, byref(err)), err)


def answer_structured_parts(lib: _ffi.Library, call: int, parts: list[str], structured_key: bytes | None) -> bool:
    """mcp_call_return_structured_parts (ABI 1.8): as answer_structured, the JSON text given as
    parts that alternate JSON text and long strings, which the library quotes and escapes."""
    try:
        data = [p.encode("utf-8") for p in parts]
    except UnicodeEncodeError as e:  # lone surrogates
        return answer_error(lib, call, -32603, f"the handler's result cannot be sent as JSON: {e}")
    n = len(data)
    err = c_void_p()
    status = lib.mcp_call_return_structured_parts(call, (ctypes.c_char_p * n)(*data),
                                                  (ctypes.c_size_t * n)(*map(len, data)), n, structured_key,
                                                  byref(err))
    return _accepted(lib, status, err)


def answer_error(lib: _ffi.Library, call: int, code: int, message: str, data: Any = None) -> bool:
    err = c_void_p()
    payload = None
    if data is not None:
        try:
            payload = encode(data)
        except (TypeError, ValueError):
            payload = None
    status = lib.mcp_call_error(call, code, message.encode("utf-8", "replace"), payload, byref(err))
    if status != errors.OK:
        _ffi.take_string(lib, err)
        return False
    return True


def _last_resort(call: Any, exc: BaseException) -> None:
    """Answers a call whose handler machinery itself failed. Never raises."""
    try:
        log.error("libmcp: callback failed: %r", exc, exc_info=exc)
        if call:
            answer_error(_ffi.load(), call, -32603, f"internal error in the Python handler: {exc!r}")
    except BaseException:  # noqa: BLE001 - nothing may escape into the engine
        pass


# ---------------------------------------------------------------- thunks
#
# Each thunk first calls _threads.enter() (the engine thread keeps its Python
# thread state, see _threads) and runs what it reaches in a fresh, empty
# contextvars.Context: a ContextVar a handler sets never leaks into the next
# callback on the same engine thread, as when each callback had a new state.

@_ffi.FREE_FN
def free_thunk(user_data):
    try:
        _objects.pop(user_data, None)
    except BaseException:  # noqa: BLE001
        pass


@_ffi.TOOL_FN
def tool_thunk(user_data, call, arguments_json):
    try:
        enter()
        _Ctx().run(_objects[user_data].on_call, call, arguments_json)
    except BaseException as e:  # noqa: BLE001
        _last_resort(call, e)


@_ffi.PROMPT_FN
def prompt_thunk(user_data, call, arguments_json):
    try:
        enter()
        _Ctx().run(_objects[user_data].on_call, call, arguments_json)
    except BaseException as e:  # noqa: BLE001
        _last_resort(call, e)


@_ffi.RESOURCE_FN
def resource_thunk(user_data, call, uri, variables_json):
    try:
        enter()
        _Ctx().run(_objects[user_data].on_read, call, uri, variables_json)
    except BaseException as e:  # noqa: BLE001
        _last_resort(call, e)


@_ffi.COMPLETION_FN
def completion_thunk(user_data, call, ref_json, argument_name, argument_value, context_json):
    try:
        enter()
        _Ctx().run(_objects[user_data].on_complete, call, ref_json, argument_name, argument_value, context_json)
    except BaseException as e:  # noqa: BLE001
        _last_resort(call, e)


@_ffi.CANCEL_FN
def cancel_thunk(user_data):
    try:
        enter()
        target = _objects.get(user_data)
        if target is not None:
            _Ctx().run(target.on_engine_cancel)
    except BaseException as e:  # noqa: BLE001
        _last_resort(None, e)


@_ffi.RESPONSE_FN
def response_thunk(user_data, status, result_json, error_json):
    try:
        enter()
        target = _objects.pop(user_data, None)  # runs exactly once: the key is done
        if target is not None:
            _Ctx().run(target.on_response, status, result_json, error_json)
    except BaseException as e:  # noqa: BLE001
        _last_resort(None, e)


@_ffi.SEND_FN
def send_thunk(user_data, message, length):
    try:
        enter()
        target = _objects.get(user_data)
        if target is not None:
            _Ctx().run(target.on_send, ctypes.string_at(message, length))
    except BaseException as e:  # noqa: BLE001
        _last_resort(None, e)


@_ffi.REQUEST_FN
def client_request_thunk(user_data, call, method, params_json):
    try:
        enter()
        _Ctx().run(_objects[user_data].on_request, call, method, params_json)
    except BaseException as e:  # noqa: BLE001
        _last_resort(call, e)


@_ffi.NOTIFICATION_FN
def client_notification_thunk(user_data, method, params_json):
    try:
        enter()
        target = _objects.get(user_data)
        if target is not None:
            _Ctx().run(target.on_notification, method, params_json)
    except BaseException as e:  # noqa: BLE001
        _last_resort(None, e)


@_ffi.STDERR_FN
def client_stderr_thunk(user_data, line, length):
    try:
        enter()
        target = _objects.get(user_data)
        if target is not None:
            _Ctx().run(target.on_stderr, ctypes.string_at(line, length))
    except BaseException as e:  # noqa: BLE001
        _last_resort(None, e)


@_ffi.PROGRESS_FN
def client_progress_thunk(user_data, params_json):
    try:
        enter()
        target = _objects.get(user_data)  # not popped: the response comes after
        if target is not None:
            _Ctx().run(target.on_progress, params_json)
    except BaseException as e:  # noqa: BLE001
        _last_resort(None, e)


@_ffi.TOKEN_VERIFY_FN
def token_verify_thunk(user_data, token, check):
    """Server.set_token_verifier: fn(token) returns the principal (a dict) or None to refuse;
    an exception refuses with its message. The check is always answered."""
    target = _objects.get(user_data)
    if target is None:
        return
    lib, fn = target
    try:
        enter()
        principal = _Ctx().run(fn, token.decode("utf-8", "replace"))
    except BaseException as e:  # noqa: BLE001
        log.warning("token verifier raised %s", type(e).__name__)
        principal, reason = None, f"token verifier failed: {type(e).__name__}"
    else:
        reason = "refused by the token verifier"
    err = c_void_p()
    try:
        if principal is not None:
            status = lib.mcp_token_check_accept(check, encode(principal), byref(err))
            if status == errors.OK:
                return
            log.warning("token verifier: principal refused by libmcp: %s", _ffi.take_string(lib, err))
            reason = "the token verifier gave an unusable principal"
        lib.mcp_token_check_refuse(check, reason.encode(), byref(err))
    except BaseException as e:  # noqa: BLE001
        _last_resort(None, e)


# ---------------------------------------------------------------- host stores (Server.set_store)

def _store_call(user_data, call, op, body):
    """Runs one store operation; an exception fails the call with its message."""
    target = _objects.get(user_data)
    if target is None:
        return errors.ERR_STATE
    lib, store = target
    try:
        enter()
        return _Ctx().run(body, lib, store)
    except BaseException as e:  # noqa: BLE001
        try:
            message = str(e) or type(e).__name__
            lib.mcp_store_call_error(call, message.encode("utf-8", "replace"), None)
        except BaseException:  # noqa: BLE001
            pass
        return errors.ERR_IO


def _bytes(ptr, length) -> bytes:
    return ctypes.string_at(ptr, length) if length else b""


@_ffi.STORE_GET_FN
def store_get_thunk(user_data, call, key, key_len):
    def body(lib, store):
        value = store.get(_bytes(key, key_len))
        if value is not None:
            value = bytes(value)
            status = lib.mcp_store_call_row(call, None, 0, value, len(value), None)
            if status != errors.OK:
                raise errors.error_for(status, "store get: the engine refused the value")
        return errors.OK
    return _store_call(user_data, call, "get", body)


@_ffi.STORE_PUT_FN
def store_put_thunk(user_data, call, key, key_len, value, value_len, expires_at_ms):
    def body(lib, store):
        store.put(_bytes(key, key_len), _bytes(value, value_len), expires_at_ms)
        return errors.OK
    return _store_call(user_data, call, "put", body)


@_ffi.STORE_REMOVE_FN
def store_remove_thunk(user_data, call, key, key_len):
    def body(lib, store):
        store.remove(_bytes(key, key_len))
        return errors.OK
    return _store_call(user_data, call, "remove", body)


@_ffi.STORE_LIST_FN
def store_list_thunk(user_data, call, prefix, prefix_len):
    def body(lib, store):
        for k, v in store.list(_bytes(prefix, prefix_len)):
            k, v = bytes(k), bytes(v)
            status = lib.mcp_store_call_row(call, k, len(k), v, len(v), None)
            if status != errors.OK:
                raise errors.error_for(status, "store list: the engine refused a row (a key outside the prefix?)")
        return errors.OK
    return _store_call(user_data, call, "list", body)


@_ffi.STORE_CHECK_FN
def store_check_thunk(user_data, call):
    def body(lib, store):
        store.check()
        return errors.OK
    return _store_call(user_data, call, "check", body)


@_ffi.OAUTH_AUTHORIZE_FN
def oauth_authorize_thunk(user_data, url, redirect_uri, prompt):
    """Client(oauth_handler=fn): fn(authorization_url, redirect_uri) returns the URL the
    authorization server redirected to, or None when the loopback listener receives it; an
    exception refuses the authorization with its message. The prompt is always answered."""
    target = _objects.get(user_data)
    if target is None:
        return
    lib, fn = target
    err = c_void_p()
    try:
        enter()
        redirect = _Ctx().run(fn, url.decode("utf-8", "replace"), redirect_uri.decode("utf-8", "replace"))
    except BaseException as e:  # noqa: BLE001
        log.warning("oauth handler raised %s", type(e).__name__)
        try:
            lib.mcp_oauth_prompt_refuse(prompt, f"{type(e).__name__}: {e}".encode(), byref(err))
        except BaseException as e2:  # noqa: BLE001
            _last_resort(None, e2)
        return
    try:
        status = lib.mcp_oauth_prompt_answer(prompt, redirect.encode() if redirect is not None else None, byref(err))
        if status != errors.OK:
            reason = _ffi.take_string(lib, err)
            log.warning("oauth handler: answer refused by libmcp: %s", reason)
            lib.mcp_oauth_prompt_refuse(prompt, f"unusable redirect URL: {reason}".encode(), byref(err))
    except BaseException as e:  # noqa: BLE001
        _last_resort(None, e)


@_ffi.OAUTH_STORE_FN
def oauth_store_thunk(user_data, issuer, credentials_json):
    try:
        enter()
        target = _objects.get(user_data)
        if target is not None:
            _Ctx().run(target, issuer.decode("utf-8", "replace"), json.loads(credentials_json))
    except BaseException as e:  # noqa: BLE001
        _last_resort(None, e)
