"""The engine's schema validation as the binding exposes it (libmcp ABI 1.4): arguments
are checked against the tool's input schema before the handler runs; validate=False per
tool and schema_validation=False per server let any arguments through."""
from __future__ import annotations

import pytest

import libmcp
from libmcp import Server, errors


def call(session, name: str, arguments: dict) -> dict:
    return session.request("tools/call", {"name": name, "arguments": arguments})


def text(result: dict) -> str:
    return "".join(c["text"] for c in result["content"] if c["type"] == "text")


def serve(server: Server):
    s = server.connect()
    s.initialize()
    return s


def test_arguments_are_checked_before_the_handler():
    server = Server("v")
    ran = []

    @server.tool
    def count(n: int) -> str:
        ran.append(n)
        return f"n={n}"

    s = serve(server)
    r = call(s, "count", {"n": "three"})
    assert r["isError"] and text(r) == "Invalid arguments for tool count: at /n: expected integer, got string"
    r = call(s, "count", {})
    assert r["isError"] and text(r) == 'Invalid arguments for tool count: at /n: the required property "n" is missing'
    assert ran == []
    assert text(call(s, "count", {"n": 3})) == "n=3" and ran == [3]
    s.close()
    server.close()


@pytest.mark.parametrize("where", ["tool", "server"])
def test_validation_off_lets_any_arguments_through(where):
    server = Server("v", schema_validation=False if where == "server" else None)

    @server.tool(validate=where != "tool")
    def count(n: int) -> str:
        return f"n={n}"

    s = serve(server)
    # The engine lets the string through: the binding's own conversion of the
    # arguments to the handler's types is what refuses it, in its own words.
    r = call(s, "count", {"n": "three"})
    assert r["isError"] and text(r) == 'Invalid arguments for tool count: n: expected an integer, got string "three"'
    assert text(call(s, "count", {"n": 3})) == "n=3"
    s.close()
    server.close()


def test_schema_limits_refuse_a_schema_at_registration():
    server = Server("v", schema_limits={"schema_max_subschemas": 2})

    @server.tool(name="small")
    def small() -> str:
        return "ok"

    with pytest.raises(errors.InvalidArgument, match="more than 2 subschemas"):
        @server.tool(name="big")
        def big(a: int, b: int, c: int) -> str:
            return "no"
    server.close()
    with pytest.raises(errors.InvalidArgument):
        Server("v", schema_limits={"schema_max_steps": 0})
