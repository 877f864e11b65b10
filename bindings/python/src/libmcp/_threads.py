"""Engine threads keep their Python thread state from one callback to the next.

When the engine calls back on one of its own threads (a worker, an HTTP I/O
thread, the stdio reader), ctypes creates a Python thread state for the call
(PyGILState_Ensure) and destroys it when the callback returns: about 10 us per
callback on CPython 3.11, more than the rest of a small tool's Python work, and
the thread's `threading.local` data is lost each time.

The engine's threads are few and live long, so the first callback on each one
takes one more reference on that state (PyGILState_Ensure again, never
released): the state then lives as long as the thread, and later callbacks only
take the GIL. Threads Python created itself (a thread that called into the
engine, e.g. Session.receive running an inline tool) are left alone: their state
already persists.

With a library of ABI 1.1 or later the engine tells us when it starts and ends
its threads (mcp_set_thread_hooks, installed when the library is loaded): the
state is taken when the thread starts and given back just before it ends, so
nothing is kept for a thread that is gone.

Without those hooks (an older library, or a thread started before they were
set), Python has no way to hear of the end of a thread it did not create, so a
kept state is not freed when its thread exits (about 5 KiB). The engine's idle
workers exit after a while and new ones start under the next load, so the
states of ended threads are counted (from /proc/self/task) and once MAX_ENDED
of them are lost, no further thread is adopted: callbacks on new threads then
pay the per-call state again, and memory stays bounded (about 0.6 MiB).

Set LIBMCP_KEEP_THREAD_STATE=0 to turn this off.
"""
from __future__ import annotations

import ctypes
import os
import sys
import threading
import time

MAX_ENDED = 128

_local = threading.local()
_lock = threading.Lock()
_kept: set[int] = set()   # native ids of the threads whose state is kept
_ended = 0                # kept states whose thread has exited (lost for good)
_enabled = (sys.implementation.name == "cpython" and hasattr(ctypes, "pythonapi")
            and os.environ.get("LIBMCP_KEEP_THREAD_STATE", "1") != "0")
_ensure = ctypes.pythonapi.PyGILState_Ensure if _enabled else None
_release = ctypes.pythonapi.PyGILState_Release if _enabled else None
if _enabled:
    _ensure.restype = ctypes.c_int
    _release.argtypes = (ctypes.c_int,)
    _release.restype = None
_hooked = 0   # engine threads holding a state taken by the start hook (for tests)


def install_hooks(library) -> None:
    """Asks the engine to report its threads' start and end (ABI 1.1), once."""
    global _hooks
    if not _enabled or _hooks is not None or not library.has("mcp_set_thread_hooks"):
        return
    from . import _ffi
    _hooks = (_ffi.THREAD_FN(_on_start), _ffi.THREAD_FN(_on_exit))  # kept alive for good
    library.mcp_set_thread_hooks(_hooks[0], _hooks[1], None, None)


def at_exit(library, timeout: float = 10.0) -> None:
    """libmcp's interpreter-exit hook (registered when the library is loaded).

    Engine threads must be gone before the interpreter finalizes: a hook or a
    callback entering a finalized interpreter crashes the process. So the engine
    objects still open are closed here (see _lifetime), and then, with the
    hooks installed, this waits until every engine thread has run its exit
    hook (a closed engine's threads end within milliseconds; the timeout only
    covers a host callback that never returns).
    """
    from . import _lifetime
    _lifetime.close_all()
    if _hooks is None:
        return
    library.mcp_set_thread_hooks(_ffi_null_hook(), _ffi_null_hook(), None, None)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with _lock:
            if _hooked <= 0:
                return
        time.sleep(0.01)


def _ffi_null_hook():
    from . import _ffi
    return ctypes.cast(None, _ffi.THREAD_FN)


_hooks = None


def _on_start(_user_data) -> None:
    """A new engine thread: take one reference on its state (ctypes made it for this call)."""
    global _hooked
    try:
        _local.known = True
        _local.held = _ensure()
        with _lock:
            _hooked += 1
    except BaseException:  # never unwind into the engine
        pass


def _on_exit(_user_data) -> None:
    """The thread ends: give the reference back; ctypes then frees the state on return."""
    global _hooked
    try:
        held = getattr(_local, "held", None)
        if held is not None:
            del _local.held
            _release(held)
            with _lock:
                _hooked -= 1
    except BaseException:
        pass


def enter() -> None:
    """First thing in every thunk. Costs one thread-local lookup once the thread is known."""
    try:
        _local.known
    except AttributeError:
        _first_callback(sys._getframe(1))


def _first_callback(thunk_frame) -> None:
    _local.known = True
    if thunk_frame.f_back is not None:
        return  # Python code below us on this thread: a thread Python owns; its state persists
    if _enabled and _adopt(threading.get_native_id()):
        _ensure()


def _adopt(native_id: int) -> bool:
    global _ended, _enabled
    with _lock:
        if not _enabled:
            return False
        if native_id in _kept:
            _ended += 1  # the id was reused: the thread that had it ended with its state kept
        else:
            try:
                alive = {int(t) for t in os.listdir("/proc/self/task")}
            except (OSError, ValueError):
                alive = None
            if alive is None:
                _ended = len(_kept)  # cannot tell: count every kept state as possibly lost
            else:
                gone = _kept - alive
                _ended += len(gone)
                _kept.difference_update(gone)
        if _ended >= MAX_ENDED:
            _enabled = False
            return False
        _kept.add(native_id)
        return True


def stats() -> dict:
    """For tests: how many engine threads are adopted and how many kept states were lost."""
    with _lock:
        return {"enabled": _enabled, "kept": len(_kept), "ended": _ended, "hooked": _hooked}
