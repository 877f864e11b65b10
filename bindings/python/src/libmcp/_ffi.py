"""Finding, loading and declaring libmcp (include/mcp.h) for ctypes.

Rules kept here (see shared/notes/C_ABI_NOTES.md section 4):
- CDLL, never PyDLL: every foreign call releases the GIL, so engine threads
  can run Python callbacks while a host thread blocks in the engine.
- Strings the library hands out are declared c_void_p, read with string_at and
  released with mcp_string_free (c_char_p would copy and leak them).
- Callback types are declared once here; the thunks live in _callbacks.py for
  the life of the process.
"""
from __future__ import annotations

import atexit
import ctypes
import ctypes.util
import os
import threading
from ctypes import (CFUNCTYPE, POINTER, byref, c_char_p, c_double, c_int, c_int32, c_int64, c_size_t, c_uint,
                    c_uint16, c_uint32, c_void_p)
from pathlib import Path

from . import errors

ABI_MAJOR = 1
ENV_VAR = "LIBMCP_PATH"
SONAME = "libmcp.so.1"
TOOL_INLINE = 0x1  # mcp_server_add_tool_ex flag (ABI 1.1)
TOOL_NO_VALIDATION = 0x4  # mcp_server_add_tool_ex flag (ABI 1.4): the engine does not check the schemas
PACKAGE_LIB_DIR = Path(__file__).resolve().parent / "_lib"

# Callback types, as typedef'd in mcp.h.
FREE_FN = CFUNCTYPE(None, c_void_p)
TOOL_FN = CFUNCTYPE(None, c_void_p, c_void_p, c_char_p)
RESOURCE_FN = CFUNCTYPE(None, c_void_p, c_void_p, c_char_p, c_char_p)
PROMPT_FN = CFUNCTYPE(None, c_void_p, c_void_p, c_char_p)
CANCEL_FN = CFUNCTYPE(None, c_void_p)
RESPONSE_FN = CFUNCTYPE(None, c_void_p, c_int32, c_char_p, c_char_p)
COMPLETION_FN = CFUNCTYPE(None, c_void_p, c_void_p, c_char_p, c_char_p, c_char_p, c_char_p)
TOKEN_VERIFY_FN = CFUNCTYPE(None, c_void_p, c_char_p, c_void_p)
SEND_FN = CFUNCTYPE(None, c_void_p, c_void_p, c_size_t)
REQUEST_FN = CFUNCTYPE(None, c_void_p, c_void_p, c_char_p, c_char_p)
NOTIFICATION_FN = CFUNCTYPE(None, c_void_p, c_char_p, c_char_p)
STDERR_FN = CFUNCTYPE(None, c_void_p, c_void_p, c_size_t)
PROGRESS_FN = CFUNCTYPE(None, c_void_p, c_char_p)
THREAD_FN = CFUNCTYPE(None, c_void_p)
LOG_FN = CFUNCTYPE(None, c_void_p, c_int32, c_char_p)
HTTP_WAKE_FN = CFUNCTYPE(None, c_void_p)
OAUTH_AUTHORIZE_FN = CFUNCTYPE(None, c_void_p, c_char_p, c_char_p, c_void_p)
OAUTH_STORE_FN = CFUNCTYPE(None, c_void_p, c_char_p, c_char_p)
TRACE_FN = CFUNCTYPE(None, c_void_p, c_char_p)
# mcp_store_methods_t (ABI 1.7): keys and values arrive as (pointer, length), read with string_at.
STORE_GET_FN = CFUNCTYPE(c_int32, c_void_p, c_void_p, c_void_p, c_size_t)
STORE_PUT_FN = CFUNCTYPE(c_int32, c_void_p, c_void_p, c_void_p, c_size_t, c_void_p, c_size_t, c_int64)
STORE_REMOVE_FN = CFUNCTYPE(c_int32, c_void_p, c_void_p, c_void_p, c_size_t)
STORE_LIST_FN = CFUNCTYPE(c_int32, c_void_p, c_void_p, c_void_p, c_size_t)
STORE_CHECK_FN = CFUNCTYPE(c_int32, c_void_p, c_void_p)


class StoreMethods(ctypes.Structure):
    """mcp_store_methods_t, as laid out in mcp.h 1.7."""
    _fields_ = [("struct_size", c_size_t), ("get", STORE_GET_FN), ("put", STORE_PUT_FN),
                ("remove", STORE_REMOVE_FN), ("list", STORE_LIST_FN), ("check", STORE_CHECK_FN),
                ("destroy", FREE_FN)]

_ERR = POINTER(c_void_p)
_OUT = POINTER(c_void_p)

# name: (restype, argtypes). Every function the binding calls.
_PROTOTYPES: dict[str, tuple] = {
    "mcp_abi_version": (c_uint32, ()),
    "mcp_version": (c_char_p, ()),
    "mcp_status_string": (c_char_p, (c_int32,)),
    "mcp_string_free": (None, (c_void_p,)),
    "mcp_server_new": (c_int32, (c_char_p, c_char_p, c_char_p, _OUT, _ERR)),
    "mcp_server_free": (None, (c_void_p,)),
    "mcp_server_add_tool": (c_int32, (c_void_p, c_char_p, TOOL_FN, c_void_p, FREE_FN, _ERR)),
    "mcp_server_add_tool_ex": (c_int32, (c_void_p, c_char_p, TOOL_FN, c_void_p, FREE_FN, c_uint, _ERR)),
    "mcp_set_thread_hooks": (c_int32, (THREAD_FN, THREAD_FN, c_void_p, _ERR)),
    "mcp_set_log_hook": (c_int32, (LOG_FN, c_void_p, c_int32, _ERR)),
    "mcp_server_metrics": (c_int32, (c_void_p, _OUT, _ERR)),
    "mcp_set_trace_hook": (c_int32, (TRACE_FN, c_void_p, c_int32, _ERR)),
    "mcp_call_traceparent": (c_int32, (c_void_p, _OUT, _ERR)),
    "mcp_server_remove_tool": (c_int32, (c_void_p, c_char_p, _ERR)),
    "mcp_server_add_resource": (c_int32, (c_void_p, c_char_p, RESOURCE_FN, c_void_p, FREE_FN, _ERR)),
    "mcp_server_remove_resource": (c_int32, (c_void_p, c_char_p, _ERR)),
    "mcp_server_add_resource_template": (c_int32, (c_void_p, c_char_p, RESOURCE_FN, c_void_p, FREE_FN, _ERR)),
    "mcp_server_remove_resource_template": (c_int32, (c_void_p, c_char_p, _ERR)),
    "mcp_server_add_prompt": (c_int32, (c_void_p, c_char_p, PROMPT_FN, c_void_p, FREE_FN, _ERR)),
    "mcp_server_remove_prompt": (c_int32, (c_void_p, c_char_p, _ERR)),
    "mcp_call_return": (c_int32, (c_void_p, c_char_p, _ERR)),
    "mcp_call_error": (c_int32, (c_void_p, c_int32, c_char_p, c_char_p, _ERR)),
    "mcp_call_arg_string": (c_int32, (c_void_p, c_char_p, _OUT, POINTER(c_size_t), _ERR)),
    "mcp_call_return_text": (c_int32, (c_void_p, c_char_p, c_size_t, c_char_p, c_char_p, _ERR)),
    "mcp_call_return_structured": (c_int32, (c_void_p, c_char_p, c_size_t, c_char_p, _ERR)),
    "mcp_call_return_structured_parts": (c_int32, (c_void_p, POINTER(c_char_p), POINTER(c_size_t), c_size_t, c_char_p,
                                                   _ERR)),
    "mcp_call_is_cancelled": (c_int, (c_void_p,)),
    "mcp_call_progress": (c_int32, (c_void_p, c_double, c_double, c_char_p, _ERR)),
    "mcp_call_log": (c_int32, (c_void_p, c_char_p, c_char_p, c_char_p, _ERR)),
    "mcp_call_on_cancel": (c_int32, (c_void_p, CANCEL_FN, c_void_p, _ERR)),
    "mcp_call_request": (c_int32, (c_void_p, c_char_p, c_char_p, c_int32, RESPONSE_FN, c_void_p, _ERR)),
    "mcp_call_request_named": (c_int32, (c_void_p, c_char_p, c_char_p, c_char_p, c_int32, RESPONSE_FN, c_void_p,
                                         _ERR)),
    "mcp_call_input_state": (c_int32, (c_void_p, _OUT, _ERR)),
    "mcp_call_set_input_state": (c_int32, (c_void_p, c_char_p, _ERR)),
    "mcp_call_session_id": (c_int32, (c_void_p, _OUT, _ERR)),
    "mcp_call_meta": (c_int32, (c_void_p, _OUT, _ERR)),
    "mcp_call_principal_json": (c_int32, (c_void_p, _OUT, _ERR)),
    "mcp_server_set_completion": (c_int32, (c_void_p, COMPLETION_FN, c_void_p, FREE_FN, _ERR)),
    "mcp_server_set_token_verifier": (c_int32, (c_void_p, TOKEN_VERIFY_FN, c_void_p, FREE_FN, _ERR)),
    "mcp_token_check_accept": (c_int32, (c_void_p, c_char_p, _ERR)),
    "mcp_token_check_refuse": (c_int32, (c_void_p, c_char_p, _ERR)),
    "mcp_server_set_store": (c_int32, (c_void_p, POINTER(StoreMethods), c_void_p, _ERR)),
    "mcp_store_call_row": (c_int32, (c_void_p, c_char_p, c_size_t, c_char_p, c_size_t, _ERR)),
    "mcp_store_call_error": (c_int32, (c_void_p, c_char_p, _ERR)),
    "mcp_server_notify_resource_updated": (c_int32, (c_void_p, c_char_p, POINTER(c_int32), _ERR)),
    "mcp_server_log": (c_int32, (c_void_p, c_char_p, c_char_p, c_char_p, _ERR)),
    "mcp_server_notify_elicitation_complete": (c_int32, (c_void_p, c_char_p, c_char_p, _ERR)),
    "mcp_server_serve_stdio": (c_int32, (c_void_p, c_char_p, _ERR)),
    "mcp_server_serve_fds": (c_int32, (c_void_p, c_int, c_int, c_char_p, _ERR)),
    "mcp_server_stop": (None, (c_void_p,)),
    "mcp_server_start_http": (c_int32, (c_void_p, c_char_p, POINTER(c_uint16), _ERR)),
    "mcp_server_stop_http": (c_int32, (c_void_p, c_int32, _ERR)),
    "mcp_call_close_stream": (c_int32, (c_void_p, _ERR)),
    # the endpoint inside the host's web server (ABI 1.5)
    "mcp_http_handler_new": (c_int32, (c_void_p, c_char_p, _OUT, _ERR)),
    "mcp_http_handler_stop": (c_int32, (c_void_p, c_int32, _ERR)),
    "mcp_http_handler_free": (None, (c_void_p,)),
    "mcp_http_exchange_new": (c_int32, (c_void_p, c_char_p, c_char_p, c_char_p, _OUT, _ERR)),
    "mcp_http_exchange_add_header": (c_int32, (c_void_p, c_char_p, c_char_p, _ERR)),
    "mcp_http_exchange_add_body": (c_int32, (c_void_p, c_char_p, c_size_t, _ERR)),
    "mcp_http_exchange_start": (c_int32, (c_void_p, HTTP_WAKE_FN, c_void_p, FREE_FN, _ERR)),
    "mcp_http_exchange_get_part": (c_int32, (c_void_p, c_int32, POINTER(c_int32), POINTER(c_int32), _OUT,
                                             POINTER(c_size_t), _ERR)),
    "mcp_http_exchange_free": (None, (c_void_p,)),
    "mcp_server_session_new": (c_int32, (c_void_p, SEND_FN, c_void_p, FREE_FN, _OUT, _ERR)),
    "mcp_session_receive": (c_int32, (c_void_p, c_char_p, c_size_t, _ERR)),
    "mcp_session_free": (None, (c_void_p,)),
    # the client
    "mcp_client_new": (c_int32, (c_char_p, c_char_p, c_char_p, _OUT, _ERR)),
    "mcp_client_free": (None, (c_void_p,)),
    "mcp_client_set_request_handler": (c_int32, (c_void_p, c_char_p, REQUEST_FN, c_void_p, FREE_FN, _ERR)),
    "mcp_client_set_notification_handler": (c_int32, (c_void_p, NOTIFICATION_FN, c_void_p, FREE_FN, _ERR)),
    "mcp_client_set_stderr_handler": (c_int32, (c_void_p, STDERR_FN, c_void_p, FREE_FN, _ERR)),
    "mcp_client_set_oauth_handler": (c_int32, (c_void_p, OAUTH_AUTHORIZE_FN, c_void_p, FREE_FN, _ERR)),
    "mcp_client_set_oauth_store": (c_int32, (c_void_p, OAUTH_STORE_FN, c_void_p, FREE_FN, _ERR)),
    "mcp_oauth_prompt_answer": (c_int32, (c_void_p, c_char_p, _ERR)),
    "mcp_oauth_prompt_refuse": (c_int32, (c_void_p, c_char_p, _ERR)),
    "mcp_client_connect_stdio": (c_int32, (c_void_p, POINTER(c_char_p), POINTER(c_char_p), c_char_p, _OUT, _ERR)),
    "mcp_client_connect_http": (c_int32, (c_void_p, c_char_p, c_char_p, _OUT, _ERR)),
    "mcp_client_close": (c_int32, (c_void_p, _ERR)),
    "mcp_client_server_info": (c_int32, (c_void_p, _OUT, _ERR)),
    "mcp_client_get_era": (c_int32, (c_void_p, _OUT, _ERR)),
    "mcp_client_subscribe": (c_int32, (c_void_p, c_char_p, NOTIFICATION_FN, c_void_p, FREE_FN, POINTER(c_int64), _OUT,
                                       _ERR)),
    "mcp_client_unsubscribe": (c_int32, (c_void_p, c_int64, _ERR)),
    "mcp_client_request": (c_int32, (c_void_p, c_char_p, c_char_p, c_int32, _OUT, _ERR)),
    "mcp_client_request_async": (c_int32, (c_void_p, c_char_p, c_char_p, c_int32, RESPONSE_FN, PROGRESS_FN,
                                           c_void_p, POINTER(c_int64), _ERR)),
    "mcp_client_cancel": (c_int32, (c_void_p, c_int64, c_char_p, _ERR)),
    "mcp_client_notify": (c_int32, (c_void_p, c_char_p, c_char_p, _ERR)),
    "mcp_client_call_tool": (c_int32, (c_void_p, c_char_p, c_char_p, c_int32, _OUT, _ERR)),
    "mcp_client_list": (c_int32, (c_void_p, c_char_p, c_int32, _OUT, _ERR)),
    "mcp_client_list_async": (c_int32, (c_void_p, c_char_p, c_int32, RESPONSE_FN, c_void_p, POINTER(c_int64), _ERR)),
}

# Declared in mcp.h but allowed to be absent from the loaded library (a build
# that predates them): calling one raises errors.Unsupported with its name.
OPTIONAL = frozenset({"mcp_server_start_http", "mcp_server_stop_http", "mcp_call_close_stream",
                      "mcp_server_add_tool_ex", "mcp_set_thread_hooks", "mcp_call_return_text", "mcp_call_arg_string",
                      "mcp_call_return_structured", "mcp_call_return_structured_parts", "mcp_set_log_hook", "mcp_server_metrics",
                      "mcp_call_request_named", "mcp_call_input_state", "mcp_call_set_input_state",
                      "mcp_call_principal_json", "mcp_server_set_token_verifier", "mcp_token_check_accept",
                      "mcp_token_check_refuse", "mcp_oauth_prompt_answer", "mcp_oauth_prompt_refuse",
                      "mcp_set_trace_hook", "mcp_call_traceparent",
                      "mcp_server_set_store", "mcp_store_call_row", "mcp_store_call_error"}
                     | {name for name in _PROTOTYPES if name.startswith("mcp_http_")}
                     | {name for name in _PROTOTYPES if name.startswith("mcp_client_")})


class Library:
    """The loaded libmcp: its path, versions and declared functions as attributes."""

    def __init__(self, cdll: ctypes.CDLL, path: str):
        self.cdll = cdll
        self.path = path
        self.missing: set[str] = set()
        try:
            abi = cdll.mcp_abi_version
        except AttributeError:
            raise errors.LibraryError(f"{path} is not libmcp: it has no mcp_abi_version()") from None
        abi.restype, abi.argtypes = c_uint32, ()
        self.abi_version = int(abi())
        major, minor = self.abi_version >> 16, self.abi_version & 0xFFFF
        self.abi_minor = minor
        if major != ABI_MAJOR:
            raise errors.LibraryError(
                f"{path} has libmcp ABI {major}.{minor}, but this libmcp Python package needs ABI "
                f"{ABI_MAJOR}.x; install the matching library or package (or point {ENV_VAR} at it)")
        for name, (restype, argtypes) in _PROTOTYPES.items():
            try:
                fn = getattr(cdll, name)
            except AttributeError:
                if name in OPTIONAL:
                    self.missing.add(name)
                    setattr(self, name, _absent(name, path))
                    continue
                raise errors.LibraryError(f"{path} (ABI {major}.{minor}) does not export {name}()") from None
            fn.restype, fn.argtypes = restype, argtypes
            setattr(self, name, fn)
        self.version = cdll.mcp_version().decode()

    def has(self, name: str) -> bool:
        return name not in self.missing and name in _PROTOTYPES


def _absent(name: str, path: str):
    def missing(*_args):
        raise errors.Unsupported(f"{path} does not export {name}(): this libmcp build predates it")
    return missing


_lock = threading.Lock()
_library: Library | None = None


def candidates() -> list[tuple[str, str]]:
    """Where the library is looked for, in order, as (how, path-or-name)."""
    env = os.environ.get(ENV_VAR)
    if env:
        p = Path(env)
        if p.is_dir():
            p = p / SONAME
        return [(f"${ENV_VAR}", str(p))]
    out = [("bundled copy", str(PACKAGE_LIB_DIR / SONAME))]
    out.append(("system library path", SONAME))
    found = ctypes.util.find_library("mcp")
    if found and found != SONAME:
        out.append(("system library path", found))
    return out


def load() -> Library:
    """The library, loaded on first use. Raises errors.LibraryError with every place tried."""
    global _library
    if _library is not None:
        return _library
    with _lock:
        if _library is not None:
            return _library
        tried = []
        for how, where in candidates():
            if how == f"${ENV_VAR}" and not Path(where).exists():
                raise errors.LibraryError(f"{ENV_VAR}={os.environ[ENV_VAR]!r}: no such file ({where})")
            if how == "bundled copy" and not Path(where).exists():
                tried.append(f"{how}: {where}: not there (this install has no library of its own)")
                continue
            try:
                cdll = ctypes.CDLL(where)
            except OSError as e:
                tried.append(f"{how}: {e}")
                if how == f"${ENV_VAR}":
                    raise errors.LibraryError(f"cannot load {where} (from {ENV_VAR}): {e}") from None
                continue
            path = where if os.sep in where else _loaded_path(cdll) or where
            library = Library(cdll, path)
            from . import _threads  # here: it imports this module
            _threads.install_hooks(library)
            atexit.register(_threads.at_exit, library)
            _library = library
            return _library
        raise errors.LibraryError(
            "libmcp not found. Tried:\n  " + "\n  ".join(tried) + "\n"
            "To fix: build the library (make, in the libmcp repository), then reinstall this package "
            "from that checkout (pip install --force-reinstall <repository>/bindings/python), which "
            f"bundles <repository>/build/lib/{SONAME}; or set {ENV_VAR}=/path/to/{SONAME} in the "
            "environment of the process that imports libmcp (for a server, in the MCP client's "
            "configuration of it); or install the library on the system library path.")


def _loaded_path(cdll: ctypes.CDLL) -> str | None:
    """The file a library loaded by name came from (from /proc/self/maps)."""
    try:
        addr = ctypes.cast(cdll.mcp_abi_version, c_void_p).value
        with open("/proc/self/maps") as f:
            for line in f:
                parts = line.split()
                lo, hi = (int(x, 16) for x in parts[0].split("-"))
                if lo <= addr < hi and len(parts) >= 6:
                    return parts[5]
    except (OSError, ValueError, AttributeError, TypeError):
        pass
    return None


# ------------------------------------------------------------------ helpers

def take_string(lib: Library, ptr: c_void_p) -> str | None:
    """Copies a library-owned string and frees it."""
    if not ptr.value:
        return None
    try:
        return ctypes.string_at(ptr.value).decode("utf-8", "replace")
    finally:
        lib.mcp_string_free(ptr.value)


def _utf8_decoder():
    """PyUnicode_DecodeUTF8 on the library's bytes where they lie (CPython): a lent text of
    megabytes becomes a str in one pass, with no bytes object copied first."""
    try:
        fn = ctypes.pythonapi.PyUnicode_DecodeUTF8
    except AttributeError:  # not CPython
        return lambda ptr, n: ctypes.string_at(ptr, n).decode("utf-8")
    fn.restype, fn.argtypes = ctypes.py_object, (c_void_p, ctypes.c_ssize_t, c_char_p)
    return lambda ptr, n: fn(ptr, n, None) if n else ""


utf8_at = _utf8_decoder()  # utf8_at(address, length) -> str; the bytes must be valid UTF-8


def check(lib: Library, status: int, err: c_void_p, what: str) -> None:
    """Raises the exception for a failed status, with the engine's message."""
    if status == errors.OK:
        return
    message = take_string(lib, err) or lib.mcp_status_string(status).decode()
    raise errors.error_for(status, f"{what}: {message}")


def cstr(value: str | None, what: str) -> bytes | None:
    """UTF-8 bytes for a C string argument; refuses NUL, which C would cut the string at."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a str, not {type(value).__name__}")
    if "\0" in value:
        raise ValueError(f"{what} must not contain NUL characters")
    return value.encode("utf-8")


__all__ = ["Library", "load", "check", "take_string", "cstr", "byref", "c_void_p", "c_int32", "c_uint16"]
