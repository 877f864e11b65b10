"""Multi round-trip requests (2026-07-28): ctx.elicit / ctx.sample / ctx.list_roots written once
serve a 2025-era session with live requests and modern requests in rounds (InputRequiredResult,
then a retry with inputResponses and requestState). Driven in-process through Server.connect()."""
from __future__ import annotations

import dataclasses
from typing import Any

import pytest

import libmcp
from libmcp import Context

MODERN_META = {
    "io.modelcontextprotocol/protocolVersion": "2026-07-28",
    "io.modelcontextprotocol/clientInfo": {"name": "t", "version": "1"},
    "io.modelcontextprotocol/clientCapabilities": {"elicitation": {}, "sampling": {}, "roots": {}},
}


def modern(session, name: str, caps: dict | None = None, **params: Any) -> dict:
    """A modern tools/call; the answer (result or error) as the wire has it."""
    meta = dict(MODERN_META)
    if caps is not None:
        meta["io.modelcontextprotocol/clientCapabilities"] = caps
    msg_id = session.send_request("tools/call", {"name": name, "arguments": {}, "_meta": meta, **params})
    return session.response(msg_id)


def text(result: dict) -> str:
    return "".join(c["text"] for c in result["content"] if c["type"] == "text")


@dataclasses.dataclass
class Person:
    name: str


@pytest.fixture
def session(server):
    """A 2025-era session (initialize)."""
    s = server.connect()
    s.initialize(capabilities={"elicitation": {}, "sampling": {}, "roots": {}})
    yield s
    s.close()


@pytest.fixture
def fresh(server):
    """A connection whose first request, a modern one, makes it a 2026-07-28 one."""
    s = server.connect()
    yield s
    s.close()


def test_one_handler_two_eras_sync(server, session, fresh):
    runs = []

    @server.tool()
    def greet(ctx: Context) -> str:
        runs.append(1)
        try:
            answer = ctx.elicit("Your name?", Person, key="user_name").result(10)
        except Exception as e:  # noqa: BLE001 - a typical handler: InputRequired must pass through this
            return f"failed: {e!r}"
        return f"Hello, {answer.data.name}!"

    r1 = modern(fresh, "greet")["result"]
    assert r1["resultType"] == "input_required"
    assert r1["inputRequests"]["user_name"]["method"] == "elicitation/create"
    assert r1["inputRequests"]["user_name"]["params"]["requestedSchema"]["properties"]["name"]["type"] == "string"
    r2 = modern(fresh, "greet", requestState=r1["requestState"],
                inputResponses={"user_name": {"action": "accept", "content": {"name": "Ann"}}})["result"]
    assert text(r2) == "Hello, Ann!"
    assert len(runs) == 2

    # The same handler in the 2025 era: a live request.
    msg_id = session.send_request("tools/call", {"name": "greet", "arguments": {}})
    request = session.next_message(lambda m: m.get("method") == "elicitation/create")
    session.receive({"jsonrpc": "2.0", "id": request["id"], "result": {"action": "accept", "content": {"name": "Liv"}}})
    assert text(session.response(msg_id)["result"]) == "Hello, Liv!"


def test_async_handler_several_requests_and_rounds(server, fresh):
    @server.tool()
    async def plan(ctx: Context) -> str:
        # Two requests before waiting for either: one round asks both.
        who = ctx.elicit("Your name?", {"type": "object", "properties": {"name": {"type": "string"}}})
        roots = ctx.list_roots(key="client_roots")
        person, places = await who, await roots
        # A third, after the first answers: a second round.
        sampled = await ctx.sample(f"Greet {person.content['name']}", max_tokens=20, key="greeting")
        return f"{sampled.text} ({len(places)} roots)"

    r1 = modern(fresh, "plan")["result"]
    assert list(r1["inputRequests"]) == ["elicit_1", "client_roots"]
    r2 = modern(fresh, "plan", requestState=r1["requestState"], inputResponses={
        "elicit_1": {"action": "accept", "content": {"name": "Bo"}},
        "client_roots": {"roots": [{"uri": "file:///a"}, {"uri": "file:///b"}]},
    })["result"]
    assert list(r2["inputRequests"]) == ["greeting"]
    assert r2["inputRequests"]["greeting"]["params"]["messages"][0]["content"]["text"] == "Greet Bo"
    r3 = modern(fresh, "plan", requestState=r2["requestState"], inputResponses={
        "greeting": {"role": "assistant", "content": {"type": "text", "text": "Hi Bo"}, "model": "m"},
    })["result"]
    assert text(r3) == "Hi Bo (2 roots)"


def test_input_state_and_errors(server, session, fresh):
    @server.tool()
    def counter(ctx: Context) -> str:
        before = ctx.input_state
        ctx.input_state = str(int(before or "0") + 1)
        ctx.elicit("Confirm?", {"type": "object", "properties": {}}, key="confirm").result(10)
        return f"state {before}"

    r1 = modern(fresh, "counter")["result"]
    r2 = modern(fresh, "counter", requestState=r1["requestState"],
                inputResponses={"confirm": {"action": "decline"}})["result"]
    assert text(r2) == "state 1"
    tampered = modern(fresh, "counter", requestState=r1["requestState"] + "x")
    assert tampered["error"]["code"] == -32602
    bad_shape = modern(fresh, "counter", inputResponses={"confirm": {"content": {}}})
    assert bad_shape["error"]["code"] == -32602
    assert "action" in bad_shape["error"]["message"]

    # 2025 era: no next round, so no state to set.
    @server.tool()
    def setter(ctx: Context) -> str:
        assert ctx.input_state is None
        try:
            ctx.input_state = "x"
        except libmcp.Unsupported:
            return "unsupported"
        return "set"

    assert text(session.request("tools/call", {"name": "setter", "arguments": {}})) == "unsupported"


def test_missing_capability_is_minus_32021(server, fresh):
    @server.tool()
    def ask(ctx: Context) -> str:
        try:
            return ctx.sample("hi", key="q").result(10).text
        except libmcp.Unsupported:
            return "no sampling"

    # The handler sees Unsupported; the client gets -32021 naming what was missing.
    e = modern(fresh, "ask", caps={"elicitation": {}})["error"]
    assert e["code"] == -32021 and "sampling" in e["data"]["requiredCapabilities"]


def test_input_required_is_not_an_exception():
    assert issubclass(libmcp.InputRequired, BaseException)
    assert not issubclass(libmcp.InputRequired, Exception)
