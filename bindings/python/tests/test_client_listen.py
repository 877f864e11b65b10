"""Subscriptions from the binding's Client (ABI 1.3, issue 13 item 4): listen() against the
official Python SDK 2.3.0 server (servers/sdk_listen_server.py), which serves
subscriptions/listen at 2026-07-28, over stdio and Streamable HTTP: the acknowledged filter,
notifications delivered in order to the subscription's handler only, an end when closed;
and at the 2025 era the same call refused clearly when the server cannot subscribe."""
from __future__ import annotations

import subprocess
import sys
import threading
import time

import pytest

from libmcp import Client, errors

from conftest import SERVERS, child_env
from test_client_eras import free_port

SERVER = SERVERS / "sdk_listen_server.py"
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(params=["stdio", "http"])
def connect(request):
    clients, proc = [], None
    if request.param == "http":
        port = free_port()
        proc = subprocess.Popen([sys.executable, str(SERVER), "streamable-http", str(port)], env=child_env(),
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        import socket
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline
                time.sleep(0.05)

    def make(**options) -> Client:
        options.setdefault("request_timeout", 20)
        if proc is None:
            c = Client.stdio(sys.executable, str(SERVER), "stdio", env=child_env(), **options)
        else:
            c = Client.http(f"http://127.0.0.1:{port}/mcp", **options)
        clients.append(c)
        return c

    yield make
    for c in clients:
        c.close()
    if proc is not None:
        proc.terminate()
        proc.wait(10)


def wait_for(cond, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_listen_delivers_in_order_and_ends(connect):
    general = []
    c = connect(era="2026-07-28", on_notification=lambda m, p: general.append(m))
    events, ends = [], []
    lock = threading.Lock()

    def on_event(method, params):
        with lock:
            events.append((method, params.get("uri")))

    sub = c.listen(on_event, tools_list_changed=True, resource_subscriptions=["res://a"], on_end=ends.append)
    assert sub.honored.get("toolsListChanged") is True
    assert sub.honored.get("resourceSubscriptions") == ["res://a"]
    assert sub.id > 0
    c.call_tool("touch", {"uri": "res://a", "times": 5})
    c.call_tool("touch", {"uri": "res://other", "times": 2})  # not asked for: the server sends nothing
    c.call_tool("change_tools")
    wait_for(lambda: len(events) == 6)
    assert events == [("notifications/resources/updated", "res://a")] * 5 + [("notifications/tools/list_changed", None)]
    assert "notifications/resources/updated" not in general, "a subscription's notifications go to it alone"
    sub.close()
    assert sub.ended and ends == ["unsubscribed"]
    # The connection still works, and a second subscription can be opened.
    assert c.call_tool("touch", {"uri": "res://a", "times": 1})["content"][0]["text"] == "touched"
    with c.listen(lambda m, p: None, resources_list_changed=True) as again:
        assert again.id != sub.id


def test_listen_filter_is_checked(connect):
    c = connect(era="2026-07-28")
    with pytest.raises(errors.InvalidArgument):
        c.listen(lambda m, p: None)  # asks for nothing


def test_listen_at_the_2025_era(connect):
    c = connect(era="legacy")
    # MCPServer's 2025 side declares neither resources.subscribe nor listChanged.
    with pytest.raises(errors.Unsupported):
        c.listen(lambda m, p: None, resource_subscriptions=["res://a"])
    sub = c.listen(lambda m, p: None, tools_list_changed=True)
    assert sub.id < 0 and sub.honored == {}
    sub.close()
    assert sub.ended


def test_async_client_listen():
    import asyncio

    from libmcp import AsyncClient

    async def body():
        c = await AsyncClient.stdio(sys.executable, str(SERVER), "stdio", env=child_env(), era="2026-07-28",
                                    request_timeout=20)
        try:
            got = asyncio.Queue()

            async def on_event(method, params):
                await got.put((method, params.get("uri")))

            sub = await c.listen(on_event, resource_subscriptions=["res://a"])
            await c.call_tool("touch", {"uri": "res://a", "times": 2})
            assert await asyncio.wait_for(got.get(), 10) == ("notifications/resources/updated", "res://a")
            assert await asyncio.wait_for(got.get(), 10) == ("notifications/resources/updated", "res://a")
            sub.close()
        finally:
            await c.close()

    asyncio.run(body())
