"""Issue 3 fixtures through the official Python client (stdio) and raw lines:
sampling, elicitation (defaults, the five enum shapes, URL mode), completion,
subscriptions, tasks. Every raw server message is schema-checked by conftest.
"""
from __future__ import annotations

import time
from typing import Any

import anyio
import mcp_types as types
import pytest

from conftest import is_notification, tool_text
from test_official_client_stdio import connect, run, texts

pytestmark = pytest.mark.filterwarnings("ignore::mcp.MCPDeprecationWarning")


def test_sampling_round_trip(server_binary):
    seen: list[types.CreateMessageRequestParams] = []

    async def sampling(ctx, params: types.CreateMessageRequestParams):
        seen.append(params)
        return types.CreateMessageResult(role="assistant", model="python-model",
                                         content=types.TextContent(type="text", text="answer from python"))

    async def body():
        async with connect(server_binary, sampling_callback=sampling) as (s, _):
            r = await s.call_tool("test_sampling", {"prompt": "What is MCP?"})
            assert not r.is_error
            assert "answer from python" in texts(r)
    run(body)
    assert len(seen) == 1
    assert "What is MCP?" in seen[0].messages[0].content.text


def test_elicitation_with_defaults_and_enum_shapes(server_binary):
    schemas: list[dict] = []

    async def elicit(ctx, params: Any):
        schema = params.requested_schema
        schemas.append(schema)
        content: dict[str, Any] = {}
        for name, prop in schema["properties"].items():
            if "default" in prop:
                content[name] = prop["default"]
            elif prop.get("type") == "array":
                items = prop["items"]
                first = items["enum"][0] if "enum" in items else items["anyOf"][0]["const"]
                content[name] = [first]
            elif "enum" in prop:
                content[name] = prop["enum"][0]
            elif "oneOf" in prop:
                content[name] = prop["oneOf"][0]["const"]
            else:
                content[name] = "user@example.com" if name == "email" else "someone"
        return types.ElicitResult(action="accept", content=content)

    async def body():
        async with connect(server_binary, elicitation_callback=elicit) as (s, _):
            r = await s.call_tool("test_elicitation", {"message": "Who are you?"})
            assert "someone" in texts(r) and "user@example.com" in texts(r)
            r = await s.call_tool("test_elicitation_sep1034_defaults", {})
            t = texts(r)
            for expected in ('"name":"JohnDoe"', '"age":30', '"score":95.5', '"status":"active"', '"verified":true'):
                assert expected in t.replace(" ", ""), t
            r = await s.call_tool("test_elicitation_sep1330_enums", {})
            assert not r.is_error, texts(r)
    run(body)
    assert len(schemas) == 3
    enums = schemas[2]
    shapes = {
        "untitled single": lambda p: "enum" in p and "enumNames" not in p and p.get("type") == "string",
        "titled single": lambda p: "oneOf" in p,
        "legacy titled": lambda p: "enumNames" in p,
        "untitled multi": lambda p: p.get("type") == "array" and "enum" in p.get("items", {}),
        "titled multi": lambda p: p.get("type") == "array" and "anyOf" in p.get("items", {}),
    }
    for shape, test in shapes.items():
        assert any(test(p) for p in enums["properties"].values()), f"no {shape} enum in {enums}"


def test_completion_for_prompt_arguments_and_template_variables(server_binary):
    async def body():
        async with connect(server_binary) as (s, init):
            assert init.capabilities.completions is not None
            r = await s.complete(types.PromptReference(type="ref/prompt", name="test_prompt_with_arguments"),
                                 {"name": "arg1", "value": "pa"})
            assert r.completion.values and all(v.startswith("pa") for v in r.completion.values)
            r = await s.complete(types.ResourceTemplateReference(type="ref/resource", uri="test://template/{id}/data"),
                                 {"name": "id", "value": "4"})
            assert r.completion.values == ["42"]
    run(body)


def test_subscribe_and_unsubscribe(server_binary):
    updates: list[str] = []

    async def on_message(message: Any):
        if isinstance(message, types.ResourceUpdatedNotification):
            updates.append(str(message.params.uri))

    async def body():
        async with connect(server_binary, message_handler=on_message) as (s, init):
            assert init.capabilities.resources.subscribe
            await s.subscribe_resource("test://watched-resource")
            await s.call_tool("test_update_watched_resource", {})
            with anyio.fail_after(5):
                while not updates:
                    await anyio.sleep(0.01)
            assert updates == ["test://watched-resource"]
            r = await s.read_resource("test://watched-resource")
            assert "version 1" in r.contents[0].text
            await s.unsubscribe_resource("test://watched-resource")
            await s.call_tool("test_update_watched_resource", {})
            await anyio.sleep(0.3)
            assert updates == ["test://watched-resource"], "no update after unsubscribe"
    run(body)


def test_url_elicitation_required_then_completed(server):
    err = server.error_for("tools/call", {"name": "test_url_elicitation"})
    assert err["code"] == -32042
    elicitation = err["data"]["elicitations"][0]
    assert elicitation["mode"] == "url" and elicitation["url"].startswith("https://")
    note = server.take(is_notification("notifications/elicitation/complete"), 5.0).msg
    assert note["params"]["elicitationId"] == elicitation["elicitationId"]


def test_task_polled_to_completion(server):
    caps = server.request("ping")  # the session is initialized by the fixture
    assert caps == {}
    created = server.request("tools/call", {"name": "test_sleep", "arguments": {"ms": 300}, "task": {"ttl": 60000}})
    task = created["task"]
    assert task["status"] == "working" and task["ttl"] == 60000
    deadline = time.time() + 10
    status = task["status"]
    while status == "working" and time.time() < deadline:
        time.sleep(task.get("pollInterval", 100) / 1000)
        status = server.request("tasks/get", {"taskId": task["taskId"]})["status"]
    assert status == "completed"
    result = server.request("tasks/result", {"taskId": task["taskId"]})
    assert "Slept" in tool_text(result) or "300" in tool_text(result)
    assert result["_meta"]["io.modelcontextprotocol/related-task"]["taskId"] == task["taskId"]
    listed = server.request("tasks/list")["tasks"]
    assert [t["taskId"] for t in listed] == [task["taskId"]]
    assert server.error_for("tasks/cancel", {"taskId": task["taskId"]})["code"] == -32602


def test_task_cancelled_reaches_the_tool(server):
    before = server.request("tools/call", {"name": "test_cancel_count"})["structuredContent"]["count"]
    task = server.request("tools/call", {"name": "test_sleep", "arguments": {"ms": 5000}, "task": {}})["task"]
    time.sleep(0.1)
    cancelled = server.request("tasks/cancel", {"taskId": task["taskId"]})
    assert cancelled["status"] == "cancelled"
    deadline = time.time() + 5
    after = before
    while after == before and time.time() < deadline:
        time.sleep(0.05)
        after = server.request("tools/call", {"name": "test_cancel_count"})["structuredContent"]["count"]
    assert after == before + 1
