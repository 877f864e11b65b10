"""The official SDK client (mcp==2.3.0) drives servers/kitchen.py, written with the binding,
over stdio and over Streamable HTTP (Server.run_http); every test runs on both."""
from __future__ import annotations

import base64
import json

import anyio
import mcp_types as types
import pytest
from mcp.shared.exceptions import MCPError

from conftest import SERVERS, HTTPServerProcess, connect, connect_http, run, texts

KITCHEN = SERVERS / "kitchen.py"
pytestmark = pytest.mark.filterwarnings("ignore::mcp.MCPDeprecationWarning")


@pytest.fixture(params=["stdio", "http"])
def kitchen(request):
    """kitchen(**session_kwargs): an async context manager giving (session, init) on a fresh server."""
    if request.param == "stdio":
        yield lambda **kwargs: connect(KITCHEN, **kwargs)
        return
    server = HTTPServerProcess(KITCHEN)
    try:
        yield lambda **kwargs: connect_http(server.url, **kwargs)
    finally:
        server.close()


def test_handshake_and_listing(kitchen):
    async def body():
        async with kitchen() as (s, init):
            assert init.server_info.name == "kitchen" and init.server_info.version == "2.0"
            assert init.server_info.title == "Kitchen"
            assert init.instructions == "A test server with one of everything."
            assert init.capabilities.tools is not None and init.capabilities.completions is not None
            tools = {t.name: t for t in (await s.list_tools()).tools}
            assert {"add", "move", "birthday", "steps", "ask_model"} <= set(tools)
            add = tools["add"]
            assert add.description == "Add two integers."
            assert add.input_schema == {"type": "object", "properties": {"a": {"type": "integer"},
                                                                         "b": {"type": "integer"}},
                                        "required": ["a", "b"], "additionalProperties": False}
            assert add.output_schema == {"type": "object", "properties": {"result": {"type": "integer"}},
                                         "required": ["result"]}
            assert tools["plain"].output_schema is None
            assert tools["picture"].output_schema is None
            assert tools["move"].output_schema["properties"]["tags"] == {"type": "array", "items": {"type": "string"}}
            resources = {r.uri: r for r in (await s.list_resources()).resources}
            assert set(resources) >= {"memo://static", "memo://bytes", "memo://json"}
            assert resources["memo://static"].description == "A fixed text."
            templates = {t.uri_template for t in (await s.list_resource_templates()).resource_templates}
            assert templates == {"memo://items/{item_id}", "memo://users/{user}/posts/{post}"}
            prompts = {p.name: p for p in (await s.list_prompts()).prompts}
            assert [(a.name, a.required) for a in prompts["review"].arguments] == [("code", True),
                                                                                  ("language", False)]
            assert prompts["repeat"].arguments[0].description == "the word"
            assert prompts["repeat"].title == "Repeat"
    run(body)


CASES = [
    ("add", {"a": 2, "b": 40}, "42", {"result": 42}),
    ("scale", {"x": 1.5}, "3.0", {"result": 3.0}),
    ("greet", {"name": "Ada", "excited": True}, "Hello, Ada!", {"result": "Hello, Ada!"}),
    ("total", {"values": [1, 2, 3, 4]}, "10", {"result": 10}),
    ("invert", {"counts": {"a": 1, "b": 2}}, '{"1": "a", "2": "b"}', {"1": "a", "2": "b"}),
    ("maybe", {}, "nothing", {"result": "nothing"}),
    ("maybe", {"x": 7}, "got 7", {"result": "got 7"}),
    ("maybe", {"x": None}, "nothing", {"result": "nothing"}),
    ("pick", {"color": "green"}, "GREEN", {"result": "GREEN"}),
    ("size_name", {"size": "l"}, "LARGE", {"result": "LARGE"}),
    ("area", {"rect": {"width": 2, "height": 3.5}}, "7.0", {"result": 7.0}),
    ("move", {"p": {"x": 1, "y": 2}, "dx": 1}, '{"x": 2.0, "y": 2.0, "tags": ["moved"]}',
     {"x": 2.0, "y": 2.0, "tags": ["moved"]}),
    ("birthday", {"user": {"name": "Bo", "age": 41}}, '{"name": "Bo", "age": 42}', {"name": "Bo", "age": 42}),
    ("bounded", {"n": 3}, "9", {"result": 9}),
    ("untyped", {"value": [1]}, '{"type": "list"}', None),
]


@pytest.mark.parametrize("name,args,text,structured", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_type_hint_kinds(kitchen, name, args, text, structured):
    async def body():
        async with kitchen() as (s, _):
            await s.list_tools()  # the SDK validates structured content against the output schema
            r = await s.call_tool(name, args)
            assert not r.is_error, texts(r)
            assert texts(r) == text
            assert r.structured_content == structured
    run(body)


# The engine checks the arguments against the input schema before the binding sees
# them (libmcp 1.4): its messages name the JSON Pointer of the offending value.
BAD = [
    ("add", {"a": "two", "b": 1}, "at /a: expected integer, got string"),
    ("add", {"a": 1}, 'at /b: the required property "b" is missing'),
    ("add", {"a": 1, "b": 2, "c": 3}, 'at /c: the property "c" is not allowed'),
    ("add", {"a": True, "b": 2}, "at /a: expected integer, got boolean"),
    ("total", {"values": [1, "x"]}, "at /values/1: expected integer, got string"),
    ("pick", {"color": "purple"}, "at /color: the value is not one of the 3 allowed by enum"),
    ("size_name", {"size": "m"}, "at /size: the value is not one of the 2 allowed by enum"),
    ("area", {"rect": {"width": 1}}, 'at /rect/height: the required property "height" is missing'),
    ("move", {"p": {"x": 1, "y": 2, "z": 3}}, 'at /p/z: the property "z" is not allowed'),
    ("birthday", {"user": {"name": "Bo", "age": -1}}, "at /user/age: -1 is less than the minimum 0"),
    ("bounded", {"n": 11}, "at /n: 11 is more than the maximum 10"),
]


def test_bad_arguments_are_tool_errors_naming_the_problem(kitchen):
    async def body():
        async with kitchen() as (s, _):
            for name, args, expected in BAD:
                r = await s.call_tool(name, args)
                assert r.is_error, (name, args)
                assert expected in texts(r), (name, args, texts(r))
                assert texts(r).startswith(f"Invalid arguments for tool {name}: ")
            # The session carries on.
            assert texts(await s.call_tool("add", {"a": 1, "b": 1})) == "2"
    run(body)


def test_exceptions_become_is_error_results(kitchen):
    async def body():
        async with kitchen() as (s, _):
            r = await s.call_tool("fail", {})
            assert r.is_error and texts(r) == "broken on purpose"
            r = await s.call_tool("refuse", {"reason": "policy"})
            assert r.is_error and texts(r) == "refused: policy"
            r = await s.call_tool("liar", {})
            assert r.is_error and "does not match its return annotation" in texts(r)
            r = await s.call_tool("wrong_content", {})
            assert r.is_error and "returned content blocks, but its return annotation" in texts(r)
            r = await s.call_tool("custom", {})
            assert r.is_error and texts(r) == "custom" and r.structured_content == {"k": 1}
            # SystemExit inside a handler: the call gets an error, the server lives on.
            with pytest.raises(MCPError) as e:
                await s.call_tool("exit_inside", {})
            assert e.value.code == -32603 and "SystemExit" in str(e.value)
            assert texts(await s.call_tool("add", {"a": 1, "b": 2})) == "3"
            with pytest.raises(MCPError) as e:
                await s.call_tool("no_such_tool", {})
            assert e.value.code == -32602
    run(body)


def test_inline_tools(kitchen):
    """Tools registered with inline=True (run on the thread that read the request) answer as any other."""
    async def on_sampling(context, params):
        return types.CreateMessageResult(role="assistant", content=types.TextContent(type="text", text="no"),
                                         model="fake-model")

    async def body():
        async with kitchen(sampling_callback=on_sampling) as (s, _):
            tools = {t.name: t for t in (await s.list_tools()).tools}
            assert tools["inline_add"].description == "Add two integers, on the I/O thread."
            assert tools["inline_add"].input_schema == tools["add"].input_schema
            r = await s.call_tool("inline_add", {"a": 40, "b": 2})
            assert not r.is_error and texts(r) == "42" and r.structured_content == {"result": 42}
            r = await s.call_tool("inline_user", {"name": "Ada"})
            assert texts(r) == '{"name": "Ada", "age": 1}' and r.structured_content == {"name": "Ada", "age": 1}
            r = await s.call_tool("inline_fail", {"reason": "on purpose"})
            assert r.is_error and texts(r) == "inline failure: on purpose"
            r = await s.call_tool("inline_add", {"a": "x", "b": 2})
            assert r.is_error and texts(r) == 'Invalid arguments for tool inline_add: at /a: expected integer, ' \
                                              'got string'
            seen = []

            async def on_progress(progress, total, message):
                seen.append((progress, total))
            r = await s.call_tool("inline_steps", {"n": 3}, progress_callback=on_progress)
            assert texts(r) == "done" and seen == [(1, 3), (2, 3), (3, 3)]
            r = await s.call_tool("inline_ask_model", {})
            assert r.is_error and "Pending.result() in an inline tool would block" in texts(r)
            # An async inline tool: only the dispatch is inline, so calls still overlap.
            results = []

            async def one():
                results.append(texts(await s.call_tool("inline_sleep_ms", {"ms": 400})))
            t0 = anyio.current_time()
            async with anyio.create_task_group() as tg:
                for _ in range(10):
                    tg.start_soon(one)
            assert results == ["slept 400 after an inline dispatch"] * 10
            assert anyio.current_time() - t0 < 2.0, "ten 400 ms async inline calls did not overlap"
            # Inline calls run on the transport's thread, never on a worker.
            inline = {(await s.call_tool("inline_thread", {})).structured_content["result"] for _ in range(5)}
            workers = {(await s.call_tool("worker_thread", {})).structured_content["result"] for _ in range(5)}
            assert inline and workers and not inline & workers, (inline, workers)
            assert texts(await s.call_tool("add", {"a": 1, "b": 1})) == "2"
    run(body)


def test_content_types(kitchen):
    async def body():
        async with kitchen() as (s, _):
            r = await s.call_tool("picture", {})
            assert [c.type for c in r.content] == ["image"] and r.structured_content is None
            assert base64.b64decode(r.content[0].data).startswith(b"\x89PNG") and r.content[0].mime_type == "image/png"
            r = await s.call_tool("mixed", {})
            assert [c.type for c in r.content] == ["text", "image", "resource_link", "resource"]
            assert r.content[2].uri == "memo://static" and r.content[3].resource.text == "inline text"
            r = await s.call_tool("plain", {"text": "abc"})
            assert texts(r) == "cba" and r.structured_content is None
    run(body)


def test_async_tools_run_concurrently(kitchen):
    async def body():
        async with kitchen() as (s, _):
            results = []

            async def one(ms):
                results.append(texts(await s.call_tool("sleep_ms", {"ms": ms})))
            t0 = anyio.current_time()
            async with anyio.create_task_group() as tg:
                for _ in range(10):
                    tg.start_soon(one, 400)
            assert results == ["slept 400"] * 10
            assert anyio.current_time() - t0 < 2.0, "ten 400 ms async calls did not overlap"
    run(body)


def test_progress_async_and_sync(kitchen):
    async def body():
        async with kitchen() as (s, _):
            for tool in ("steps", "sync_steps"):
                seen = []

                async def on_progress(progress, total, message):
                    seen.append((progress, total, message))
                r = await s.call_tool(tool, {"n": 4}, progress_callback=on_progress)
                assert texts(r) == "done"
                assert [p[:2] for p in seen] == [(1, 4), (2, 4), (3, 4), (4, 4)], tool
                if tool == "steps":
                    assert [p[2] for p in seen] == ["step 1", "step 2", "step 3", "step 4"]
    run(body)


def test_logging_to_the_calling_client(kitchen):
    async def body():
        logs = []

        async def on_log(params):
            logs.append((params.level, params.logger, params.data))
        async with kitchen(logging_callback=on_log) as (s, _):
            await s.set_logging_level("debug")
            assert texts(await s.call_tool("chatty", {})) == "logged"
            await s.set_logging_level("warning")
            assert texts(await s.call_tool("chatty", {})) == "logged"
            assert texts(await s.call_tool("broadcast", {"message": "to all"})) == "sent"
            with anyio.fail_after(5):
                while len(logs) < 5:
                    await anyio.sleep(0.02)
        assert logs == [("debug", None, "a debug line"), ("info", "kitchen", "an info line"),
                        ("warning", None, {"structured": True}), ("warning", None, {"structured": True}),
                        ("warning", "broadcast", "to all")]
    run(body)


@pytest.mark.parametrize("tool,event", [("wait_forever", "async-cancelled"), ("await_cancel", "await-cancelled"),
                                        ("sync_wait", "sync-cancelled:True:callback")])
def test_cancellation_reaches_the_handler(kitchen, tool, event):
    """The SDK gives up on the call and sends notifications/cancelled; the handler sees it."""
    async def body():
        async with kitchen() as (s, _):
            with pytest.raises(MCPError) as e:
                await s.call_tool(tool, {}, read_timeout_seconds=0.5)
            assert e.value.code == types.REQUEST_TIMEOUT
            with anyio.fail_after(10):
                while True:
                    r = await s.call_tool("seen", {})
                    if r.structured_content["result"]:
                        break
                    await anyio.sleep(0.05)
            assert r.structured_content["result"] == [event]
            assert texts(await s.call_tool("add", {"a": 1, "b": 2})) == "3"
    run(body)


def test_sampling_async_and_sync(kitchen):
    async def on_sampling(context, params):
        text = params.messages[0].content.text
        assert params.max_tokens == 50
        return types.CreateMessageResult(role="assistant", content=types.TextContent(type="text", text=text.upper()),
                                         model="fake-model", stop_reason="endTurn")

    async def body():
        async with kitchen(sampling_callback=on_sampling) as (s, _):
            assert texts(await s.call_tool("ask_model", {"question": "why?"})) == "fake-model: WHY?"
            assert texts(await s.call_tool("ask_model_sync", {"question": "how?"})) == "HOW?"
    run(body)


def test_sampling_refused_by_the_client_is_a_tool_error(kitchen):
    async def on_sampling(context, params):
        return types.ErrorData(code=-32600, message="no model here")

    async def body():
        async with kitchen(sampling_callback=on_sampling) as (s, _):
            r = await s.call_tool("ask_model", {"question": "why?"})
            assert r.is_error and "no model here" in texts(r)
    run(body)


def test_elicitation_with_a_dataclass_schema(kitchen):
    answers = [types.ElicitResult(action="accept", content={"email": "a@b.c", "subscribe": True}),
               types.ElicitResult(action="decline")]
    asked = []

    async def on_elicit(context, params):
        asked.append(params.requested_schema)
        return answers.pop(0)

    async def body():
        async with kitchen(elicitation_callback=on_elicit) as (s, _):
            assert texts(await s.call_tool("ask_user", {})) == "a@b.c subscribe=True"
            assert texts(await s.call_tool("ask_user", {})) == "decline"
        assert asked[0] == {"type": "object", "properties": {"email": {"type": "string"},
                                                             "subscribe": {"type": "boolean", "default": False}},
                            "required": ["email"]}
    run(body)


def test_roots(kitchen):
    async def on_roots(context):
        return types.ListRootsResult(roots=[types.Root(uri="file:///work", name="work")])

    async def body():
        async with kitchen(list_roots_callback=on_roots) as (s, _):
            r = await s.call_tool("roots", {})
            assert r.structured_content == {"result": ["file:///work"]}
    run(body)


def test_resources_and_templates(kitchen):
    async def body():
        async with kitchen() as (s, _):
            r = await s.read_resource("memo://static")
            assert r.contents[0].text == "static text" and r.contents[0].mime_type == "text/plain"
            r = await s.read_resource("memo://bytes")
            assert base64.b64decode(r.contents[0].blob) == bytes(range(8))
            assert r.contents[0].mime_type == "application/octet-stream"
            r = await s.read_resource("memo://json")
            assert json.loads(r.contents[0].text) == {"answer": 42} and r.contents[0].mime_type == "application/json"
            r = await s.read_resource("memo://multi")
            assert [str(c.uri) for c in r.contents] == ["memo://multi#1", "memo://multi#2"]
            r = await s.read_resource("memo://async")
            assert r.contents[0].text == "async text"
            r = await s.read_resource("memo://items/21")
            assert r.contents[0].text == "item 21 (doubled 42)" and str(r.contents[0].uri) == "memo://items/21"
            r = await s.read_resource("memo://users/alice/posts/7")
            assert r.contents[0].text == "post 7 by alice"
            with pytest.raises(MCPError) as e:
                await s.read_resource("memo://items/101")
            assert e.value.code == -32002 and "no item 101" in str(e.value)
            with pytest.raises(MCPError) as e:
                await s.read_resource("memo://items/abc")
            assert e.value.code == -32602 and "item_id: expected an integer" in str(e.value)
            with pytest.raises(MCPError) as e:
                await s.read_resource("memo://broken")
            assert e.value.code == -32603 and "the disk is on fire" in str(e.value)
            with pytest.raises(MCPError) as e:
                await s.read_resource("memo://nowhere")
            assert e.value.code == -32002
    run(body)


def test_prompts(kitchen):
    async def body():
        async with kitchen() as (s, _):
            r = await s.get_prompt("simple")
            assert r.messages[0].role == "user" and r.messages[0].content.text == "Say hello."
            r = await s.get_prompt("review", {"code": "x = 1"})
            assert [m.role for m in r.messages] == ["user", "assistant", "user"]
            assert r.messages[0].content.text == "Review this python code:\nx = 1"
            assert r.messages[2].content.resource.text == "static text"
            r = await s.get_prompt("repeat", {"word": "ab", "times": "3"})
            assert r.description == "ab x3" and r.messages[0].content.text == "ababab"
            with pytest.raises(MCPError) as e:
                await s.get_prompt("repeat", {"word": "ab", "times": "many"})
            assert e.value.code == -32602 and "times: expected an integer" in str(e.value)
            with pytest.raises(MCPError) as e:
                await s.get_prompt("review", {})
            assert e.value.code == -32602
    run(body)


def test_completion(kitchen):
    async def body():
        async with kitchen() as (s, _):
            ref = types.PromptReference(type="ref/prompt", name="review")
            r = await s.complete(ref, {"name": "language", "value": "p"})
            assert r.completion.values == ["python", "perl", "pascal"]
            tref = types.ResourceTemplateReference(type="ref/resource", uri="memo://users/{user}/posts/{post}")
            r = await s.complete(tref, {"name": "user", "value": "al"})
            assert r.completion.values == ["alice", "albert"]
            r = await s.complete(types.PromptReference(type="ref/prompt", name="repeat"),
                                 {"name": "times", "value": ""})
            assert r.completion.values == ["1", "2", "3"]
            r = await s.complete(types.PromptReference(type="ref/prompt", name="repeat"),
                                 {"name": "word", "value": "x"})
            assert r.completion.values == []
    run(body)


def test_changes_while_serving_are_announced(kitchen):
    async def body():
        notes = []

        async def on_message(message):
            if not isinstance(message, Exception):
                notes.append(message.method)
        async with kitchen(message_handler=on_message) as (s, _):
            await s.call_tool("add_tool", {"name": "times_ten"})
            assert "times_ten" in {t.name for t in (await s.list_tools()).tools}
            r = await s.call_tool("times_ten", {"x": 4})
            assert texts(r) == "40"
            await s.call_tool("remove_tool", {"name": "times_ten"})
            assert "times_ten" not in {t.name for t in (await s.list_tools()).tools}
            await s.call_tool("add_prompt", {"name": "late"})
            assert (await s.get_prompt("late")).messages[0].content.text == "dynamic prompt"
            await s.call_tool("remove_resource", {"uri": "memo://items/{item_id}"})
            templates = {t.uri_template for t in (await s.list_resource_templates()).resource_templates}
            assert "memo://items/{item_id}" not in templates
            r = await s.call_tool("remove_tool", {"name": "times_ten"})
            assert r.is_error and "times_ten" in texts(r)
            with anyio.fail_after(5):
                while notes.count("notifications/tools/list_changed") < 2:
                    await anyio.sleep(0.02)
            assert "notifications/prompts/list_changed" in notes
            assert "notifications/resources/list_changed" in notes
    run(body)


def test_resource_updated_reaches_subscribers_only(kitchen):
    async def body():
        updates = []

        async def on_message(message):
            if isinstance(message, types.ResourceUpdatedNotification):
                updates.append(str(message.params.uri))
        async with kitchen(message_handler=on_message) as (s, _):
            r = await s.call_tool("touch", {"uri": "memo://static"})
            assert r.structured_content == {"result": 0}
            await s.subscribe_resource("memo://static")
            r = await s.call_tool("touch", {"uri": "memo://static"})
            assert r.structured_content == {"result": 1}
            with anyio.fail_after(5):
                while not updates:
                    await anyio.sleep(0.02)
            assert updates == ["memo://static"]
    run(body)
