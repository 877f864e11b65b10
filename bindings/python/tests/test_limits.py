"""The engine's call limits through the binding: a tool timeout cancels the handler, a bound on calls in flight."""
from __future__ import annotations

import asyncio
import threading

import pytest

import libmcp
from libmcp import Context, Server


def test_a_tool_timeout_answers_and_cancels_the_handler():
    cancelled = threading.Event()
    with Server("limits", "1", tool_timeouts_ms={"slow": 100}, max_calls_in_flight=1) as srv:
        @srv.tool()
        async def slow(ctx: Context) -> str:
            try:
                await asyncio.sleep(30)
            except asyncio.CancelledError:
                cancelled.set()
                raise
            return "too late"

        s = srv.connect()
        s.initialize()
        with pytest.raises(libmcp.PeerError) as e:
            s.request("tools/call", {"name": "slow"})
        assert e.value.code == -32603 and e.value.message == "Tool slow timed out after 100 ms"
        assert e.value.data == {"reason": "timeout", "timeoutMs": 100}
        assert cancelled.wait(5), "the coroutine was not cancelled"


def test_options_are_checked():
    with pytest.raises(libmcp.InvalidArgument, match="circuit_breaker"):
        Server("bad", "1", circuit_breaker={"failures": 3, "opn_ms": 10})
