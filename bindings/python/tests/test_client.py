"""The binding's client (libmcp.Client / AsyncClient) against the official SDK's server
(servers/sdk_server.py) over stdio and Streamable HTTP, and against our own kitchen server."""
from __future__ import annotations

import asyncio
import sys
import threading
import time

import pytest

import libmcp
from libmcp import AsyncClient, Client

from conftest import SERVERS, HTTPServerProcess, child_env, registered, wait_for

SDK = SERVERS / "sdk_server.py"
KITCHEN = SERVERS / "kitchen.py"
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(params=["stdio", "http"])
def sdk(request):
    """connect(**client_options) -> a connected Client on a fresh SDK server."""
    clients: list[Client] = []
    server = None
    if request.param == "http":
        server = HTTPServerProcess(SDK, expect_clean_exit=False)  # uvicorn dies of SIGTERM: not ours

    def connect(**options) -> Client:
        # These tests cover the 2025 era (server requests, ping, the GET stream);
        # test_client_eras.py covers era negotiation and the modern revision.
        options.setdefault("era", "legacy")
        if server is None:
            client = Client.stdio(sys.executable, str(SDK), "stdio", env=child_env(), **options)
        else:
            client = Client.http(server.url, **options)
        clients.append(client)
        return client
    yield connect
    for c in clients:
        c.close()
    if server is not None:
        server.close()


def test_handshake_tools_and_errors(sdk):
    c = sdk()
    info = c.server_info
    assert info["serverInfo"]["name"] == "sdk-fixture" and info["instructions"] == "The official SDK's server."
    assert info["protocolVersion"] == "2025-11-25"
    tools = {t["name"]: t for t in c.list_tools()}
    assert {"add", "mirror", "fail", "progress", "sample", "ask", "roots"} <= set(tools)
    assert tools["add"]["inputSchema"]["required"] == ["a", "b"]
    r = c.call_tool("add", {"a": 2, "b": 40})
    assert r["structuredContent"] == {"result": 42} and r["content"][0]["text"] == "42"
    assert c.call_tool("mirror", {"p": {"x": 1, "y": -2}})["structuredContent"] == {"x": -1.0, "y": 2.0}
    r = c.call_tool("fail", {"message": "boom"})
    assert r["isError"] and r["content"][0]["text"] == "Error executing tool fail"  # the SDK hides the message
    with pytest.raises(libmcp.PeerError) as e:
        c.request("no/such/method")
    assert e.value.code == -32601
    c.ping()


def test_resources_prompts_and_completion(sdk):
    c = sdk()
    assert [r["uri"] for r in c.list_resources()] == ["fixture://greeting"]
    assert [t["uriTemplate"] for t in c.list_resource_templates()] == ["fixture://item/{item_id}"]
    assert c.read_resource("fixture://greeting")["contents"][0]["text"] == "hello from the SDK"
    assert c.read_resource("fixture://item/7")["contents"][0]["text"] == "item 7"
    prompts = c.list_prompts()
    assert prompts[0]["name"] == "review" and prompts[0]["arguments"][0]["name"] == "code"
    p = c.get_prompt("review", {"code": "x = 1"})
    assert p["messages"][0]["content"]["text"] == "Please review: x = 1"
    values = c.complete({"type": "ref/resource", "uri": "fixture://item/{item_id}"}, "item_id", "ap")
    assert values == ["apple", "apricot"]


def test_progress_and_notifications(sdk):
    notes = []
    done = threading.Event()

    def on_notification(method, params):  # on engine workers: two notifications may arrive in either order
        notes.append((method, params))
        if sum(1 for m, _ in notes if m == "notifications/message") == 2:
            done.set()
    c = sdk(on_notification=on_notification)
    seen = []
    r = c.call_tool("progress", {"steps": 3}, progress=lambda p, t, m: seen.append((p, t, m)))
    assert r["content"][0]["text"] == "3 steps"
    assert seen == [(1, 3, "step 1"), (2, 3, "step 2"), (3, 3, "step 3")]
    with pytest.raises(libmcp.Unsupported, match="logging"):  # MCPServer 2.x declares no logging capability
        c.set_logging_level("info")
    assert c.call_tool("chat")["content"][0]["text"] == "logged"
    assert done.wait(10)
    logs = [(p["level"], p["data"]) for m, p in notes if m == "notifications/message"]
    assert sorted(logs) == [("info", "hello from the SDK"), ("warning", "careful")]


def test_sampling_elicitation_and_roots_handlers(sdk):
    asked = []

    def sampling(params):
        asked.append(params["maxTokens"])
        return {"role": "assistant", "content": {"type": "text", "text": params["messages"][0]["content"]["text"][::-1]},
                "model": "reverser"}

    async def elicitation(params):
        await asyncio.sleep(0)
        assert params["requestedSchema"]["properties"]["name"]["type"] == "string"
        return {"action": "accept", "content": {"name": "Ada", "age": 36}}

    c = sdk(sampling=sampling, elicitation=elicitation, roots=lambda: ["file:///work", "file:///tmp"])
    assert c.call_tool("sample", {"prompt": "abc"})["content"][0]["text"] == "reverser: cba"
    assert asked == [50]
    assert c.call_tool("ask")["content"][0]["text"] == "Ada 36"
    assert c.call_tool("roots")["structuredContent"] == {"result": ["file:///work", "file:///tmp"]}


def test_handler_failures_reach_the_server_as_errors(sdk):
    def sampling(params):
        raise libmcp.PeerError("no model today", -32600)

    def elicitation(params):
        raise RuntimeError("the dialog crashed")
    c = sdk(sampling=sampling, elicitation=elicitation)
    assert c.call_tool("sample", {"prompt": "x"})["content"][0]["text"] == "error: no model today"
    assert c.call_tool("ask")["content"][0]["text"] == "error: the dialog crashed"


def test_without_a_handler_the_capability_is_absent(sdk):
    c = sdk()
    assert "sampling" not in c.server_info.get("capabilities", {}), "(the server's, for contrast)"
    text = c.call_tool("sample", {"prompt": "x"})["content"][0]["text"]
    assert text.startswith("error: ") and "sampling" in text.lower(), text


def test_cancel_and_timeout(sdk):
    c = sdk()
    pending = c.send("tools/call", {"name": "sleepy", "arguments": {"seconds": 30}})
    time.sleep(0.3)
    pending.cancel("changed my mind")
    with pytest.raises(libmcp.Cancelled):
        pending.result(10)
    deadline = time.monotonic() + 10
    while c.call_tool("cancellations")["structuredContent"]["result"] != ["sleepy"]:
        assert time.monotonic() < deadline, "the server never saw the cancellation"
        time.sleep(0.05)
    with pytest.raises(libmcp.RequestTimeout):
        c.call_tool("sleepy", {"seconds": 30}, timeout=0.3)
    assert c.call_tool("add", {"a": 1, "b": 1})["structuredContent"] == {"result": 2}


def test_close_fails_waiting_requests_and_later_use(sdk):
    c = sdk(sampling=lambda params: "x", on_notification=lambda method, params: None)
    pending = c.send("tools/call", {"name": "sleepy", "arguments": {"seconds": 30}})
    time.sleep(0.2)
    c.close()
    with pytest.raises(libmcp.Closed):
        pending.result(10)
    with pytest.raises(libmcp.StateError):
        c.call_tool("add", {"a": 1, "b": 1})
    c.close()  # idempotent
    assert wait_for(lambda: registered(c._core) == 0), "the engine released the client's handlers"


def test_async_client_concurrent_calls(sdk):
    ac = AsyncClient.wrap(sdk())

    async def main():
        results = await asyncio.gather(*(ac.call_tool("add", {"a": i, "b": i}) for i in range(20)))
        assert [r["structuredContent"]["result"] for r in results] == [2 * i for i in range(20)]
        tools = await ac.list_tools()
        assert "add" in {t["name"] for t in tools}
        task = asyncio.ensure_future(ac.call_tool("sleepy", {"seconds": 30}))
        await asyncio.sleep(0.3)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        for _ in range(200):
            r = await ac.call_tool("cancellations")
            if r["structuredContent"]["result"] == ["sleepy"]:
                break
            await asyncio.sleep(0.05)
        assert r["structuredContent"]["result"] == ["sleepy"], "cancelling the task cancelled the request"
    asyncio.run(main())


def test_async_client_with_async_handlers_on_its_loop():
    async def main():
        loop = asyncio.get_running_loop()
        seen = {}

        async def sampling(params):
            seen["loop"] = asyncio.get_running_loop()
            return "from the loop"
        async with await AsyncClient.stdio(sys.executable, str(SDK), "stdio", env=child_env(),
                                           sampling=sampling, era="legacy") as c:
            assert c.server_info["serverInfo"]["name"] == "sdk-fixture"
            r = await c.call_tool("sample", {"prompt": "x"})
            assert r["content"][0]["text"] == "unknown: from the loop"
            assert seen["loop"] is loop
            assert [p["name"] for p in await c.list_prompts()] == ["review"]
    asyncio.run(main())


def test_stderr_handler_gets_the_server_lines():
    lines = []
    got = threading.Event()

    def on_stderr(line):
        lines.append(line)
        if line == "a line on stderr":
            got.set()
    with Client.stdio(sys.executable, str(SDK), "stdio", env=child_env(), on_stderr=on_stderr) as c:
        assert c.call_tool("whisper")["content"][0]["text"] == "whispered"
        assert got.wait(10), lines


def test_our_client_and_our_server():
    with Client.stdio(sys.executable, str(KITCHEN), env=child_env(), name="ours", version="9") as c:
        assert c.server_info["serverInfo"]["name"] == "kitchen"
        assert c.call_tool("move", {"p": {"x": 1, "y": 2}, "dx": 1})["structuredContent"] == {
            "x": 2.0, "y": 2.0, "tags": ["moved"]}
        assert c.complete({"type": "ref/prompt", "name": "review"}, "language", "pe") == ["perl"]
        assert c.read_resource("memo://items/4")["contents"][0]["text"] == "item 4 (doubled 8)"


def test_connect_errors():
    c = Client()
    try:
        with pytest.raises(libmcp.MCPError):
            c.connect_stdio("/nonexistent/server-binary")
    finally:
        c.close()
    with pytest.raises(libmcp.InvalidArgument):
        Client(request_timeout=0.0000001, worker_threads=0)
    c = Client()
    try:
        with pytest.raises(libmcp.MCPError):
            c.connect_http("http://127.0.0.1:1/mcp", timeout=2)
        with pytest.raises(ValueError, match="list\\(\\) takes one of"):
            c.list("tools/call")
    finally:
        c.close()


PAGED_SERVER = """
import libmcp
srv = libmcp.Server("paged", "1", page_size=2)
for i in range(5):
    srv.tool(f"t{i}")(lambda: "ok")
srv.run_stdio()
"""


def test_lists_follow_every_page_through_the_engine():
    # Five tools, two a page: three pages, paged by the engine for both faces of the client.
    with Client.stdio(sys.executable, "-c", PAGED_SERVER, env=child_env()) as c:
        assert [t["name"] for t in c.list_tools()] == ["t0", "t1", "t2", "t3", "t4"]
        page = c.request("tools/list")
        assert len(page["tools"]) == 2 and page["nextCursor"]

        async def main():
            ac = AsyncClient.wrap(c)
            assert [t["name"] for t in await ac.list_tools()] == ["t0", "t1", "t2", "t3", "t4"]
            with pytest.raises(ValueError, match="list\\(\\) takes one of"):
                await ac.list("tools/call")
        asyncio.run(main())
