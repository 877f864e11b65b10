"""A server written with the official Python SDK (MCPServer, mcp==2.3.0), for the binding's
client to drive: a server we did not write.

Run: python sdk_server.py [stdio | http PORTFILE]
"""
from __future__ import annotations

import os
import sys

import anyio
import mcp_types
from mcp.server.mcpserver import Context, MCPServer
from pydantic import BaseModel

srv = MCPServer("sdk-fixture", instructions="The official SDK's server.", log_level="WARNING")
cancelled: list[str] = []


@srv.tool()
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


class Point(BaseModel):
    x: float
    y: float


@srv.tool()
def mirror(p: Point) -> Point:
    return Point(x=-p.x, y=-p.y)


@srv.tool()
def fail(message: str) -> str:
    raise ValueError(message)


@srv.tool()
async def progress(steps: int, ctx: Context) -> str:
    for i in range(1, steps + 1):
        await ctx.report_progress(i, steps, f"step {i}")
    return f"{steps} steps"


@srv.tool()
async def chat(ctx: Context) -> str:
    await ctx.info("hello from the SDK")
    await ctx.warning("careful")
    return "logged"


@srv.tool()
async def sleepy(seconds: float) -> str:
    try:
        await anyio.sleep(seconds)
    except anyio.get_cancelled_exc_class():
        cancelled.append("sleepy")
        raise
    return "awake"


@srv.tool()
def cancellations() -> list[str]:
    return list(cancelled)


@srv.tool()
async def sample(prompt: str, ctx: Context) -> str:
    try:
        result = await ctx.session.create_message(
            [mcp_types.SamplingMessage(role="user", content=mcp_types.TextContent(type="text", text=prompt))],
            max_tokens=50)
    except Exception as e:  # the client's error, shown to the test
        return f"error: {e}"
    return f"{result.model}: {getattr(result.content, 'text', '')}"


class Contact(BaseModel):
    name: str
    age: int = 0


@srv.tool()
async def ask(ctx: Context) -> str:
    try:
        r = await ctx.elicit("Who are you?", Contact)
    except Exception as e:
        return f"error: {e}"
    return f"{r.data.name} {r.data.age}" if r.action == "accept" else r.action


@srv.tool()
async def roots(ctx: Context) -> list[str]:
    return [str(r.uri) for r in (await ctx.session.list_roots()).roots]


@srv.tool()
def whisper() -> str:
    print("a line on stderr", file=sys.stderr, flush=True)
    return "whispered"


@srv.resource("fixture://greeting")
def greeting() -> str:
    return "hello from the SDK"


@srv.resource("fixture://item/{item_id}")
def item(item_id: str) -> str:
    return f"item {item_id}"


@srv.prompt()
def review(code: str) -> str:
    """Review some code."""
    return f"Please review: {code}"


@srv.completion()
async def complete(ref, argument, context):
    if argument.name == "item_id":
        return mcp_types.Completion(values=[v for v in ("apple", "apricot", "banana") if v.startswith(argument.value)])
    return None


if __name__ == "__main__":
    mode = sys.argv[1] if len(sys.argv) > 1 else "stdio"
    if mode == "stdio":
        srv.run("stdio")
    else:
        import socket
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        portfile = sys.argv[2]
        with open(portfile + ".tmp", "w") as f:
            f.write(str(port))
        os.replace(portfile + ".tmp", portfile)
        srv.run("streamable-http", host="127.0.0.1", port=port)
