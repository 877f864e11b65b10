"""Server registration and behaviour, driven in-process through Server.connect() sessions."""
from __future__ import annotations

import asyncio
import json
import os
import threading
import time
from typing import Any

import pytest

import libmcp
from libmcp import Context, Server, errors


def call(session, name: str, arguments: dict | None = None, **params: Any) -> dict:
    return session.request("tools/call", {"name": name, "arguments": arguments or {}, **params})


def text(result: dict) -> str:
    return "".join(c["text"] for c in result["content"] if c["type"] == "text")


@pytest.fixture
def session(server):
    s = server.connect()
    s.initialize()
    yield s
    s.close()


def test_definitions_from_decorators(server, session):
    @server.tool(title="Adder", annotations={"read_only_hint": True, "idempotentHint": True},
                 meta={"k": "v"}, icons=[{"src": "https://example.com/i.png"}])
    def add(a: int, b: int = 1) -> int:
        """Add.

        More words."""
        return a + b

    @server.tool
    def bare(x: str):
        return x

    assert add(2, 3) == 5, "the decorator returns the function unchanged"
    tools = {t["name"]: t for t in session.request("tools/list")["tools"]}
    assert tools["add"] == {
        "name": "add", "title": "Adder", "description": "Add.\n\nMore words.",
        "inputSchema": {"type": "object", "properties": {"a": {"type": "integer"},
                                                         "b": {"type": "integer", "default": 1}},
                        "required": ["a"], "additionalProperties": False},
        "outputSchema": {"type": "object", "properties": {"result": {"type": "integer"}}, "required": ["result"]},
        "annotations": {"readOnlyHint": True, "idempotentHint": True},
        "icons": [{"src": "https://example.com/i.png"}], "_meta": {"k": "v"}}
    assert tools["bare"]["inputSchema"]["properties"] == {"x": {"type": "string"}}
    assert "outputSchema" not in tools["bare"] and "description" not in tools["bare"]
    assert server.tools["add"]["title"] == "Adder"
    assert call(session, "bare", {"x": "hi"}) == {"content": [{"type": "text", "text": "hi"}]}


def test_kwargs_parameter_accepts_extra_arguments(server, session):
    @server.tool()
    def anything(a: int, **rest) -> dict:
        return {"a": a, "rest": rest}

    assert "additionalProperties" not in server.tools["anything"]["inputSchema"]
    assert call(session, "anything", {"a": 1, "z": [2]})["structuredContent"] == {"a": 1, "rest": {"z": [2]}}


def test_registration_errors_are_clear(server):
    with pytest.raises(ValueError, match="a tool needs a name"):
        server.add_tool(lambda: 1)
    with pytest.raises(TypeError, match=r"tool 'f', parameter 'x': cannot map annotation <class 'complex'>"):
        @server.tool()
        def f(x: complex): ...
    with pytest.raises(TypeError, match=r"\*args cannot be passed by name"):
        @server.tool()
        def g(*args: int): ...
    with pytest.raises(TypeError, match=r"the URI's variables \['id'\] must match the parameters of h\(\) \['key'\]"):
        @server.resource("x://{id}")
        def h(key: str): ...
    with pytest.raises(TypeError, match="a fixed resource takes no arguments"):
        @server.resource("x://fixed")
        def i(key: str): ...
    with pytest.raises(ValueError, match=r"completions for unknown arguments \['nope'\]"):
        @server.prompt(completions={"nope": []})
        def j(a: str): ...

    @server.tool()
    def dup() -> None: ...
    with pytest.raises(libmcp.AlreadyExists, match="add tool 'dup'.*"):
        server.add_tool(dup)
    with pytest.raises(libmcp.NotFound):
        server.remove_tool("never-registered")
    with pytest.raises(libmcp.InvalidArgument, match="add resource 'no-scheme'"):
        server.add_resource(lambda: "", "no-scheme", name="n")


def test_server_options_are_checked_by_the_engine():
    with pytest.raises(libmcp.InvalidArgument):
        Server("", "1.0")
    with pytest.raises(libmcp.InvalidArgument, match="page_size"):
        Server("x", "1.0", page_size=0)
    with pytest.raises(ValueError, match="NUL"):
        Server("a\0b", "1.0")
    srv = Server("x", "1.0", page_size=2, instructions="Use it.", website_url="https://example.com")
    try:
        for i in range(5):
            srv.add_tool(lambda i=i: i, name=f"t{i}")
        s = srv.connect()
        init = s.initialize()
        assert init["instructions"] == "Use it." and init["serverInfo"]["websiteUrl"] == "https://example.com"
        page = s.request("tools/list")
        assert [t["name"] for t in page["tools"]] == ["t0", "t1"] and page["nextCursor"]
    finally:
        srv.close()


def test_closed_server_refuses_use(server):
    server.close()
    assert server.closed
    with pytest.raises(libmcp.StateError, match="closed"):
        server.add_tool(lambda: 1, name="x")
    with pytest.raises(libmcp.StateError):
        server.connect()
    server.close()  # idempotent


def test_structured_output_kinds(server, session):
    from dataclasses import dataclass

    @dataclass
    class Out:
        n: int

    @server.tool()
    def obj() -> Out:
        return Out(3)

    @server.tool()
    def none() -> None:
        return None

    @server.tool()
    def maybe() -> int | None:
        return None

    @server.tool(structured_output=False)
    def off() -> dict:
        return {"a": 1}

    assert call(session, "obj") == {"content": [{"type": "text", "text": '{"n": 3}'}], "structuredContent": {"n": 3}}
    assert call(session, "none") == {"content": []}
    assert call(session, "maybe")["structuredContent"] == {"result": None}
    assert call(session, "off") == {"content": [{"type": "text", "text": '{"a": 1}'}]}
    assert "outputSchema" not in server.tools["none"] and "outputSchema" not in server.tools["off"]


def test_str_results_cross_as_bytes(server, session):
    """A str result goes to the engine as UTF-8 bytes (mcp_call_return_text), not as JSON
    text: the client gets the same result, whatever the str holds."""
    odd = "a\x00b\"c\\d\n\u00e9\U0001F600" + "x" * (1 << 20)

    @server.tool()
    def plain():
        return odd

    @server.tool()
    def typed() -> str:
        return odd

    assert server._core.lib.has("mcp_call_return_text")
    assert call(session, "plain") == {"content": [{"type": "text", "text": odd}]}
    assert call(session, "typed") == {"content": [{"type": "text", "text": odd}], "structuredContent": {"result": odd}}


def test_string_arguments_are_lent(server, session, monkeypatch):
    """A tool whose arguments are all JSON strings reads long ones where the engine holds them
    (mcp_call_arg_string) instead of parsing JSON text: the function gets what the JSON path
    gives it, whatever the strings hold, and missing or unfit arguments get the same answers.
    Here every call is long enough."""
    monkeypatch.setattr(libmcp._features, "_LEND_FROM", 0)
    import datetime
    from typing import Annotated

    from annotated_types import MaxLen

    odd = "a\x00b\"c\\d\n\u00e9\U0001F600" + "x" * (1 << 20)
    seen = []

    def echo(text: str, when: datetime.date, short: Annotated[str, MaxLen(3)] = "abc", ctx: Context = None) -> str:
        seen.append((text, when, short, ctx is not None))
        return text

    server.add_tool(echo)
    with monkeypatch.context() as m:  # the same tool, its arguments as JSON text
        m.setattr(libmcp._features.Tool, "lend_arguments", lambda self: False)
        server.add_tool(echo, name="echo_json")
    assert server._tools["echo"]._lent is not None and server._tools["echo_json"]._lent is None

    def both(arguments: dict) -> list:
        out = []
        for name in ("echo", "echo_json"):
            seen.clear()
            result = call(session, name, arguments)
            if result.get("isError"):
                result["content"][0]["text"] = result["content"][0]["text"].replace(name, "T")
            out.append((result, list(seen)))
        return out

    for arguments in ({"text": odd, "when": "2026-12-06"}, {"text": "", "when": "2026-12-06", "short": "\u00e9"}):
        lent, parsed = both(arguments)
        assert lent == parsed and lent[0]["content"][0]["text"] == arguments["text"], arguments
        assert lent[1] == [(arguments["text"], datetime.date(2026, 12, 6), arguments.get("short", "abc"), True)]
    for arguments, problem in (({"text": "x", "when": "not a date"}, "when"),
                               ({"text": "x", "when": "2026-12-06", "short": "long"}, "short")):
        lent, parsed = both(arguments)
        assert lent == parsed and lent[0]["isError"] and not lent[1] and problem in lent[0]["content"][0]["text"]
    # What the engine's check refuses never reaches the function.
    assert call(session, "echo", {"when": "2026-12-06"})["isError"] and not seen
    assert call(session, "echo", {"text": 5, "when": "2026-12-06"})["isError"] and not seen

    @server.tool()
    def counted(n: int, text: str) -> str:
        return text * n

    @server.tool()
    def rest(text: str, **more: Any) -> str:
        return text + "".join(sorted(more))

    assert server._tools["counted"]._lent is None and server._tools["rest"]._lent is None
    assert call(session, "counted", {"n": 2, "text": "ab"})["structuredContent"] == {"result": "abab"}
    assert call(session, "rest", {"text": "a", "b": 1})["structuredContent"] == {"result": "ab"}


def test_string_arguments_without_the_engine_check():
    """With schema_validation=False nothing checks the arguments before the function, so
    they come as JSON text, checked here (an unexpected one refused)."""
    server = Server("nocheck", schema_validation=False)
    try:
        @server.tool()
        def echo(text: str) -> str:
            return text

        assert server._tools["echo"]._lent is None
        s = server.connect()
        s.initialize()
        assert call(s, "echo", {"text": "hi"})["structuredContent"] == {"result": "hi"}
        assert call(s, "echo", {"text": "hi", "x": 1})["isError"]
        s.close()
    finally:
        server.close()


@pytest.mark.filterwarnings("ignore")  # pydantic warns when it dumps the unchecked field
def test_model_results_are_checked_once(server, session):
    """A model instance of the return annotation is not validated again on its way out when
    the engine checks it against the output schema: a model made without validation that
    does not fit is still refused (by the engine, -32603), and checked here without it."""
    from pydantic import BaseModel

    class Echo(BaseModel):
        text: str

    def made() -> Echo:
        return Echo.model_construct(text=5)

    server.add_tool(made)
    server.add_tool(made, name="unchecked", validate=False)
    assert server._tools["made"].engine_checks_output and not server._tools["unchecked"].engine_checks_output
    with pytest.raises(errors.PeerError) as e:
        call(session, "made")
    assert e.value.code == -32603
    r = call(session, "unchecked")
    assert r["isError"] and "does not match its return annotation" in text(r)


def test_structured_results_cross_as_json_text(server, session):
    """Structured data goes to the engine as its JSON text once (mcp_call_return_structured),
    the text block made of those bytes: the client gets what the general path (the whole
    result as JSON, mcp_call_return) gives, errors included."""
    from dataclasses import dataclass

    from pydantic import BaseModel

    class Echo(BaseModel):
        text: str

    @dataclass
    class Point:
        x: float
        y: float

    odd = "a\x00b\"c\\d\n\u00e9\U0001F600" + "x" * (1 << 20)
    values: dict[str, tuple[Any, Any]] = {
        "model": (Echo, Echo(text=odd)), "point": (Point, Point(1, 2.5)), "number": (int, 5),
        "listing": (list[str], [odd, "b"]), "mapping": (dict[str, Any], {"k": [1, None, True], "\u2603": {}}),
        "nothing": (int | None, None), "nan": (float, float("nan")), "wrong": (int, "five"),
        "surrogate": (dict[str, str], {"k": "\ud800"}), "model_dict": (Echo, {"text": "z"}),
        # long strings cross as parts of mcp_call_return_structured_parts (ABI 1.8)
        "long_members": (dict[str, Any], {"a": odd, "n": 1, "\u2603" * 5000: ["b", {"c": odd[:5000]}], "z": odd}),
        "long_surrogate": (dict[str, str], {"k": "x" * 5000 + "\ud800"}),
    }
    def returning(value: Any, annotation: Any) -> Any:
        def fn():
            return value
        fn.__annotations__ = {"return": annotation}
        return fn

    def outcome(name: str) -> Any:
        try:
            return call(session, name)
        except errors.PeerError as e:  # where in the text the bad character was is no matter
            return type(e), e.code, str(e).split(" in position")[0]

    for name, (annotation, value) in values.items():
        fn = returning(value, annotation)
        server.add_tool(fn, name=name)
        server.add_tool(fn, name=name + "_general")
        server._tools[name + "_general"]._structured = False
    assert server._core.lib.has("mcp_call_return_structured")
    assert server._tools["model"]._structured and server._tools["model"]._parts
    for name in values:
        got, general = outcome(name), outcome(name + "_general")
        if isinstance(general, dict) and general.get("isError"):  # the message names the tool
            general["content"][0]["text"] = general["content"][0]["text"].replace(name + "_general", name)
        assert got == general, name
    as_text = json.dumps({"text": odd}, ensure_ascii=False)
    assert call(session, "model") == {"content": [{"type": "text", "text": as_text}], "structuredContent": {"text": odd}}
    assert call(session, "number") == {"content": [{"type": "text", "text": "5"}], "structuredContent": {"result": 5}}
    assert call(session, "wrong")["isError"] and call(session, "nan")["isError"]


def test_results_that_are_not_json_become_errors(server, session):
    @server.tool()
    def nan() -> float:
        return float("nan")

    @server.tool()
    def opaque():
        return object()

    @server.tool()
    def raw_bytes():
        return b"\x00"

    assert call(session, "nan")["isError"] and "no JSON form" in text(call(session, "nan"))
    assert "cannot turn a object into JSON" in text(call(session, "opaque"))
    assert "return Image(data=...)" in text(call(session, "raw_bytes"))


def test_base_exceptions_never_reach_the_engine(server, session, capfd):
    @server.tool()
    def interrupt():
        raise KeyboardInterrupt

    @server.tool()
    async def interrupt_async():
        raise KeyboardInterrupt

    for name in ("interrupt", "interrupt_async"):
        answer = session.response(session.send_request("tools/call", {"name": name, "arguments": {}}))
        assert answer["error"]["code"] == -32603 and "KeyboardInterrupt" in answer["error"]["message"], answer
    assert "Exception ignored" not in capfd.readouterr().err


def test_async_handlers_run_on_a_user_loop():
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        srv = Server("x", "1", loop=loop)
        seen = {}

        @srv.tool()
        async def where() -> str:
            seen["loop"] = asyncio.get_running_loop()
            return threading.current_thread().name

        s = srv.connect()
        s.initialize()
        assert text(call(s, "where")) == thread.name
        assert seen["loop"] is loop
        srv.close()
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()


def test_async_handlers_on_the_binding_loop_and_sync_returning_awaitables(server, session):
    @server.tool()
    async def a() -> str:
        await asyncio.sleep(0)
        return threading.current_thread().name

    async def coro():
        return "from a coroutine"

    @server.tool()
    def b() -> str:
        return coro()

    assert text(call(session, "a")) == "libmcp-asyncio"
    assert text(call(session, "b")) == "from a coroutine"


def test_context_outside_its_call_raises_state_error(server, session):
    kept = []

    @server.tool()
    def keep(ctx: Context) -> str:
        kept.append(ctx)
        return ctx.session_id

    sid = text(call(session, "keep"))
    assert sid, "the session has an id"
    with pytest.raises(libmcp.StateError):
        kept[0].report_progress(1)
    with pytest.raises(libmcp.StateError):
        kept[0].info("late")


def test_context_errors_from_the_engine(server, session):
    @server.tool()
    def bad_progress(ctx: Context) -> str:
        ctx.report_progress(2)
        try:
            ctx.report_progress(1)
        except libmcp.InvalidArgument as e:
            return f"refused: {e}"
        return "accepted"

    @server.tool()
    def bad_level(ctx: Context) -> str:
        ctx.log("loud", "x")
        return "logged"

    @server.tool()
    def meta(ctx: Context) -> dict:
        return ctx.meta

    r = call(session, "bad_progress", _meta={"progressToken": "p"})
    assert text(r).startswith("refused: report_progress: ")
    assert session.next_message(lambda m: m.get("method") == "notifications/progress")["params"]["progress"] == 2
    r = call(session, "bad_level")
    assert r["isError"] and text(r).startswith("log: ")
    assert call(session, "meta", _meta={"progressToken": 7, "x": 1})["structuredContent"] == {"progressToken": 7,
                                                                                              "x": 1}


def test_requests_to_the_client_in_process(server):
    @server.tool()
    async def ask(ctx: Context) -> str:
        try:
            r = await ctx.sample("hi", timeout=5)
        except libmcp.Unsupported as e:
            return f"unsupported: {e}"
        except libmcp.RequestTimeout:
            return "timeout"
        except libmcp.PeerError as e:
            return f"peer: {e.code} {e.message}"
        return r.text

    plain = server.connect()
    plain.initialize()
    assert text(call(plain, "ask")).startswith("unsupported: sampling/createMessage: ")

    s = server.connect()
    s.initialize(capabilities={"sampling": {}})
    for reply, expected in (
        ({"result": {"role": "assistant", "content": {"type": "text", "text": "hello"}, "model": "m"}}, "hello"),
        ({"error": {"code": -1, "message": "nope"}}, "peer: -1 nope"),
    ):
        msg_id = s.send_request("tools/call", {"name": "ask", "arguments": {}})
        request = s.next_message(lambda m: m.get("method") == "sampling/createMessage")
        assert request["params"]["messages"] == [{"role": "user", "content": {"type": "text", "text": "hi"}}]
        s.receive({"jsonrpc": "2.0", "id": request["id"], **reply})
        assert text(s.response(msg_id)["result"]) == expected


def test_request_timeout(server):
    @server.tool()
    def ask(ctx: Context) -> str:
        try:
            ctx.sample("hi", timeout=0.2).result(10)
        except libmcp.RequestTimeout as e:
            return f"timeout: {e}"
        return "answered"

    s = server.connect()
    s.initialize(capabilities={"sampling": {}})
    assert text(call(s, "ask")).startswith("timeout: ")


def test_closing_a_session_cancels_its_calls(server):
    released = threading.Event()
    seen = []

    @server.tool()
    def hold(ctx: Context) -> str:
        seen.append(ctx.wait_cancelled(10))
        released.set()
        return "done"

    s = server.connect()
    s.initialize()
    s.send_request("tools/call", {"name": "hold", "arguments": {}})
    time.sleep(0.2)
    s.close()
    assert released.wait(10) and seen == [True]
    with pytest.raises(libmcp.StateError):
        s.receive({"jsonrpc": "2.0", "method": "ping", "id": 1})


def test_invalid_json_is_answered_on_the_wire(session):
    session.receive("{not json")
    assert session.next_message()["error"]["code"] == -32700


def test_serve_fds_from_a_thread_releases_the_gil(server):
    """A Python handler runs while another Python thread is blocked inside the engine."""
    @server.tool()
    def ping() -> str:
        return "pong"

    c2s_r, c2s_w = os.pipe()
    s2c_r, s2c_w = os.pipe()
    t = threading.Thread(target=server.serve_fds, args=(c2s_r, s2c_w))
    t.start()
    try:
        import json
        msgs = [{"jsonrpc": "2.0", "id": 1, "method": "initialize",
                 "params": {"protocolVersion": "2025-11-25", "capabilities": {},
                            "clientInfo": {"name": "t", "version": "0"}}},
                {"jsonrpc": "2.0", "method": "notifications/initialized"},
                {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "ping", "arguments": {}}}]
        os.write(c2s_w, b"".join(json.dumps(m).encode() + b"\n" for m in msgs))
        with os.fdopen(os.dup(s2c_r), "rb", buffering=0) as reader:
            lines = [json.loads(reader.readline()), json.loads(reader.readline())]
        assert lines[1]["id"] == 2 and lines[1]["result"]["content"][0]["text"] == "pong"
    finally:
        os.close(c2s_w)  # EOF: serve_fds returns
        t.join(10)
        assert not t.is_alive()
        for fd in (c2s_r, s2c_r, s2c_w):
            os.close(fd)


def test_bad_serve_options_raise(server):
    r, w = os.pipe()
    try:
        with pytest.raises(libmcp.InvalidArgument, match="max_message_bytes"):
            server.serve_fds(r, w, max_message_bytes=1)
        with pytest.raises(libmcp.InvalidArgument, match="no_such_option"):
            server.serve_fds(r, w, no_such_option=True)
    finally:
        os.close(r)
        os.close(w)


def test_background_serving_and_stop(server):
    r, w = os.pipe()
    out_r, out_w = os.pipe()
    try:
        server.start_fds(r, out_w)
        with pytest.raises(errors.StateError, match="already serving"):
            server.start_fds(r, out_w)
        assert not server.wait(0.2)
        server.stop()
        assert server.wait(10)
    finally:
        for fd in (r, w, out_r, out_w):
            os.close(fd)


def test_server_log_and_notify_without_sessions(server):
    assert server.notify_resource_updated("x://nothing") == 0
    server.log("info", {"any": "json"})
    with pytest.raises(libmcp.InvalidArgument):
        server.log("shouting", "x")
    with pytest.raises(libmcp.NotFound):
        server.notify_elicitation_complete("no-such-session", "e1")


def test_inline_tools_in_process(server):
    """inline=True: the tool runs on the thread that hands the engine the request (for an in-process
    session, the caller of receive()); everything else is as for any tool."""
    @server.tool(inline=True)
    def where(x: int) -> dict[str, int]:
        return {"thread": threading.get_ident(), "x": x}

    @server.tool()
    def where_default(x: int) -> dict[str, int]:
        return {"thread": threading.get_ident(), "x": x}

    @server.tool(inline=True)
    def waits(ctx: Context, how: str) -> str:
        if how == "sample":
            return ctx.sample("hi").result(timeout=5).text
        return str(ctx.wait_cancelled(5))

    @server.tool(inline=True)
    async def later(x: int, ctx: Context) -> int:
        await asyncio.sleep(0.01)
        return x + 1

    @server.tool(inline=True)
    def hand_off(x: int):  # a sync handler returning an awaitable: scheduled on the loop
        async def compute() -> str:
            return f"x={x}"
        return compute()

    server.add_tool(lambda: "added", name="added_inline", inline=True)
    assert server.tools["where"]["inputSchema"] == server.tools["where_default"]["inputSchema"]
    s = server.connect()
    s.initialize(capabilities={"sampling": {}})
    me = threading.get_ident()
    assert call(s, "where", {"x": 1})["structuredContent"] == {"thread": me, "x": 1}
    assert call(s, "where_default", {"x": 1})["structuredContent"]["thread"] != me
    r = call(s, "where", {"x": "one"})
    assert r["isError"] and text(r) == "Invalid arguments for tool where: at /x: expected integer, got string"
    for how, what in (("sample", "Pending.result()"), ("cancel", "wait_cancelled()")):
        r = call(s, "waits", {"how": how})
        assert r["isError"] and text(r).startswith(f"{what} in an inline tool would block the engine thread "
                                                   f"that read the request"), text(r)
    assert call(s, "later", {"x": 41})["structuredContent"] == {"result": 42}
    assert text(call(s, "hand_off", {"x": 3})) == "x=3"
    assert text(call(s, "added_inline")) == "added"
    s.close()


def test_inline_context_may_block_after_its_handler(server):
    """The inline restriction holds while the handler runs on its thread, not for the Pending it returns."""
    kept: list = []

    @server.tool(inline=True)
    def fire(ctx: Context) -> str:
        kept.append(ctx.ping(timeout=5))
        return "sent"

    s = server.connect()
    s.initialize()
    assert text(call(s, "fire")) == "sent"
    ping = s.next_message(lambda m: m.get("method") == "ping")
    s.receive({"jsonrpc": "2.0", "id": ping["id"], "result": {}})
    assert kept[0].result(timeout=5) == {}


def test_extensions_and_cache_options():
    """Library 1.3: extensions in the capabilities of both eras, and the caching
    hints of 2026-07-28 results (server default, a tool's own "ttlMs")."""
    with pytest.raises(libmcp.InvalidArgument, match="cache_scope"):
        Server("x", "1.0", cache_scope="shared")
    srv = Server("x", "1.0", extensions={"io.modelcontextprotocol/ui": {}}, cache_ttl_ms=900, cache_scope="public")
    try:
        srv.add_tool(lambda: 1, name="one")
        meta = {"io.modelcontextprotocol/protocolVersion": "2026-07-28",
                "io.modelcontextprotocol/clientCapabilities": {}}
        s = srv.connect()
        found = s.request("server/discover", {"_meta": meta})
        assert found["capabilities"]["extensions"] == {"io.modelcontextprotocol/ui": {}}
        assert (found["ttlMs"], found["cacheScope"], found["resultType"]) == (900, "public", "complete")
        listed = s.request("tools/list", {"_meta": meta})
        assert [t["name"] for t in listed["tools"]] == ["one"] and listed["ttlMs"] == 900
        legacy = srv.connect()
        assert legacy.initialize()["capabilities"]["extensions"] == {"io.modelcontextprotocol/ui": {}}
    finally:
        srv.close()
