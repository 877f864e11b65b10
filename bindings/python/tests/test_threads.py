"""Engine threads keep their Python thread state between callbacks (libmcp._threads), each
callback still starts in an empty contextvars context, and the states lost with ended threads
stay bounded."""
from __future__ import annotations

import contextvars
import subprocess
import sys
import textwrap
import threading

import pytest

from libmcp import _threads

from conftest import SERVERS, child_env

VAR: contextvars.ContextVar[str] = contextvars.ContextVar("VAR", default="unset")


def test_an_engine_thread_keeps_its_state_and_each_call_a_fresh_context(server):
    local = threading.local()
    seen: list[tuple[int, int, str]] = []  # (native thread id, calls this thread's state saw, VAR at entry)

    @server.tool()
    def probe() -> str:
        local.calls = getattr(local, "calls", 0) + 1
        seen.append((threading.get_native_id(), local.calls, VAR.get()))
        VAR.set("leaked")  # must not reach the next call on this thread
        return "ok"

    s = server.connect()
    s.initialize()
    for _ in range(40):
        assert s.request("tools/call", {"name": "probe", "arguments": {}})["content"][0]["text"] == "ok"
    s.close()
    assert all(v == "unset" for *_, v in seen), "a ContextVar set by one call leaked into another"
    by_thread: dict[int, int] = {}
    for tid, _, _ in seen:
        by_thread[tid] = by_thread.get(tid, 0) + 1
    assert max(local_calls for _, local_calls, _ in seen) > 1, \
        f"no engine thread kept its thread state across calls: {seen}"
    assert all(calls <= by_thread[tid] for tid, calls, _ in seen)
    st = _threads.stats()
    assert st["kept"] + st["hooked"] >= 1


def test_lost_states_are_bounded(monkeypatch):
    """Ids that are not running threads stand for engine threads that ended with their state."""
    monkeypatch.setattr(_threads, "_kept", set())
    monkeypatch.setattr(_threads, "_ended", 0)
    monkeypatch.setattr(_threads, "_enabled", True)
    monkeypatch.setattr(_threads, "MAX_ENDED", 3)
    dead = [2**30 + i for i in range(10)]  # above pid_max: never a live thread
    assert _threads._adopt(dead[0]) and _threads._adopt(dead[1]) and _threads._adopt(dead[2])
    assert {k: _threads.stats()[k] for k in ("enabled", "kept", "ended")} == {"enabled": True, "kept": 1, "ended": 2}
    assert not _threads._adopt(dead[3]), "the third lost state reaches the bound"
    assert _threads.stats()["enabled"] is False
    assert not _threads._adopt(dead[4])
    # A reused id means its earlier thread ended.
    monkeypatch.setattr(_threads, "_kept", set())
    monkeypatch.setattr(_threads, "_ended", 0)
    monkeypatch.setattr(_threads, "_enabled", True)
    live = threading.get_native_id()
    assert _threads._adopt(live) and _threads._adopt(live)
    assert {k: _threads.stats()[k] for k in ("enabled", "kept", "ended")} == {"enabled": True, "kept": 1, "ended": 1}


def run_echo_child(calls: int, tail: str, **env: str) -> list[str]:
    """Runs a child process that serves an echo tool in process, makes `calls`
    calls, then runs `tail` (with `srv` and `_threads` in scope); returns its
    printed words."""
    code = textwrap.dedent("""
        import time
        import libmcp
        from libmcp import _threads
        srv = libmcp.Server('t', '1')
        @srv.tool()
        def echo(text: str) -> str:
            return text
        s = srv.connect(); s.initialize()
        for i in range(%d):
            r = s.request('tools/call', {'name': 'echo', 'arguments': {'text': str(i)}})
            assert r['structuredContent'] == {'result': str(i)}, r
    """ % calls) + textwrap.dedent(tail)
    r = subprocess.run([sys.executable, "-c", code], env=child_env(**env), capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout.split()


@pytest.mark.parametrize("keep", ["1", "0"])
def test_calls_work_with_and_without_kept_states(keep):
    words = run_echo_child(200, """
        st = _threads.stats()
        print(st['enabled'], st['kept'] + st['hooked'] > 0)
    """, LIBMCP_KEEP_THREAD_STATE=keep)
    assert words == (["True", "True"] if keep == "1" else ["False", "False"])


def test_with_thread_hooks_states_are_given_back_when_engine_threads_end():
    """ABI 1.1: the engine reports its threads' start and end; nothing is kept
    for a thread that is gone (no 'kept' adoption, 'hooked' back to zero)."""
    words = run_echo_child(100, """
        during = _threads.stats()
        srv.close()
        deadline = time.monotonic() + 10
        while _threads.stats()['hooked'] and time.monotonic() < deadline:
            time.sleep(0.05)
        after = _threads.stats()
        print(during['hooked'] > 0, during['kept'], after['hooked'], after['kept'])
    """)
    assert words == ["True", "0", "0", "0"], words


def test_engines_left_open_are_closed_and_their_threads_gone_before_the_interpreter_exits():
    """A server, a session and a client nobody closed: libmcp's exit hook closes them and
    waits for every engine thread, so no thread calls into a finalized interpreter (that
    crashed the process at exit). The probe's exit hook is registered before libmcp is
    loaded, so it runs after libmcp's."""
    code = textwrap.dedent("""
        import atexit, os, sys, time
        def probe():
            from libmcp import _lifetime, _threads
            print('open', _lifetime.open_count(), 'hooked', _threads.stats()['hooked'], flush=True)
        atexit.register(probe)
        import libmcp
        srv = libmcp.Server('t', '1')
        @srv.tool()
        def echo(text: str) -> str:
            return text
        s = srv.connect(); s.initialize()
        assert s.request('tools/call', {'name': 'echo', 'arguments': {'text': 'x'}})['structuredContent'] == {'result': 'x'}
        c = libmcp.Client.stdio(sys.executable, %r)
        assert c.call_tool('add', {'a': 1, 'b': 2}) is not None
        print('before', libmcp._threads.stats()['hooked'] > 0, flush=True)
    """ % str(SERVERS / "kitchen.py"))
    r = subprocess.run([sys.executable, "-c", code], env=child_env(), capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["before", "True", "open", "0", "hooked", "0"], r.stdout + r.stderr


def test_a_freed_client_leaves_no_timer_thread_behind():
    """A call arms a timeout (60 s by default) on the client's timer thread; freeing the
    client stops that thread at once instead of leaving it asleep until the deadline."""
    code = textwrap.dedent("""
        import sys, time
        import libmcp
        from libmcp import _threads
        c = libmcp.Client.stdio(sys.executable, %r, request_timeout=300)
        c.call_tool('add', {'a': 1, 'b': 2})
        c.close()
        deadline = time.monotonic() + 5
        while _threads.stats()['hooked'] and time.monotonic() < deadline:
            time.sleep(0.02)
        print(_threads.stats()['hooked'])
    """ % str(SERVERS / "kitchen.py"))
    r = subprocess.run([sys.executable, "-c", code], env=child_env(), capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["0"], r.stdout + r.stderr
