"""A server with one of everything, written with the binding, for the official client to drive.

Run: python kitchen.py [stdio | http PORTFILE]
"""
from __future__ import annotations

import asyncio
import enum
import sys
import threading
from dataclasses import dataclass, field
from typing import Annotated, Literal, Optional, TypedDict

from pydantic import BaseModel, Field

from libmcp import (
    AssistantMessage, Content, Context, EmbeddedResource, Image, PromptResult, ResourceContents, ResourceLink,
    ResourceNotFound, Server, ToolError, ToolResult, UserMessage,
)

srv = Server("kitchen", "2.0", instructions="A test server with one of everything.", title="Kitchen")

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 16
events: list[str] = []          # what handlers saw (cancellations, ...), read back by tools
events_lock = threading.Lock()


def record(event: str) -> None:
    with events_lock:
        events.append(event)


# ------------------------------------------------------------------ type-hint kinds
@srv.tool()
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@srv.tool()
def scale(x: float, factor: float = 2.0) -> float:
    """Multiply x by factor."""
    return x * factor


@srv.tool()
def greet(name: str, excited: bool = False) -> str:
    return f"Hello, {name}{'!' if excited else '.'}"


@srv.tool()
def total(values: list[int]) -> int:
    return sum(values)


@srv.tool()
def invert(counts: dict[str, int]) -> dict[str, str]:
    return {str(v): k for k, v in counts.items()}


@srv.tool()
def maybe(x: Optional[int] = None) -> str:
    return "nothing" if x is None else f"got {x}"


@srv.tool()
def pick(color: Literal["red", "green", "blue"]) -> str:
    return color.upper()


class Size(enum.Enum):
    SMALL = "s"
    LARGE = "l"


@srv.tool()
def size_name(size: Size) -> str:
    return size.name


class Rect(TypedDict):
    width: float
    height: float


@srv.tool()
def area(rect: Rect) -> float:
    return rect["width"] * rect["height"]


@dataclass
class Point:
    x: float
    y: float
    tags: list[str] = field(default_factory=list)


@srv.tool()
def move(p: Point, dx: float = 0.0, dy: float = 0.0) -> Point:
    """Move a point; returns the new point as structured content."""
    return Point(p.x + dx, p.y + dy, p.tags + ["moved"])


class User(BaseModel):
    name: str
    age: int = Field(ge=0, description="years")


@srv.tool()
def birthday(user: User) -> User:
    return User(name=user.name, age=user.age + 1)


@srv.tool()
def bounded(n: Annotated[int, Field(ge=1, le=10, description="between 1 and 10")]) -> int:
    return n * n


@srv.tool(structured_output=False)
def plain(text: str) -> str:
    return text[::-1]


@srv.tool()
def untyped(value):
    return {"type": type(value).__name__}


# ------------------------------------------------------------------ content and errors
@srv.tool()
def picture() -> Image:
    return Image(data=PNG, mime_type="image/png")


@srv.tool()
def mixed() -> list[Content | str]:
    return ["some text", Image(data=PNG), ResourceLink("memo://static", "static"),
            EmbeddedResource("memo://inline", "inline text", "text/plain")]


@srv.tool()
def custom() -> ToolResult:
    return ToolResult(["custom"], structured={"k": 1}, is_error=True)


@srv.tool()
def fail() -> int:
    raise ValueError("broken on purpose")


@srv.tool()
def refuse(reason: str) -> str:
    raise ToolError(f"refused: {reason}")


@srv.tool()
def exit_inside() -> str:
    raise SystemExit(3)  # must not unwind into the engine nor end the server


@srv.tool()
def wrong_content() -> list:
    return [Image(data=PNG)]


@srv.tool()
def liar() -> int:
    return "not an int"  # type: ignore[return-value]


# ------------------------------------------------------------------ async, progress, logs, cancellation
@srv.tool()
async def sleep_ms(ms: int) -> str:
    await asyncio.sleep(ms / 1000)
    return f"slept {ms}"


@srv.tool()
async def steps(n: int, ctx: Context) -> str:
    for i in range(1, n + 1):
        await ctx.report_progress(i, n, f"step {i}")
        await asyncio.sleep(0.01)
    return "done"


@srv.tool()
def sync_steps(n: int, ctx: Context) -> str:
    for i in range(1, n + 1):
        ctx.report_progress(i, n)
    return "done"


@srv.tool()
async def chatty(ctx: Context) -> str:
    await ctx.debug("a debug line")
    await ctx.info("an info line", logger="kitchen")
    await ctx.warning({"structured": True})
    return "logged"


@srv.tool()
async def wait_forever(ctx: Context) -> str:
    try:
        await asyncio.sleep(120)
    except asyncio.CancelledError:
        record("async-cancelled")
        raise
    return "not cancelled"


@srv.tool()
async def await_cancel(ctx: Context) -> str:
    await ctx.cancelled()
    record("await-cancelled")
    return "cancelled"


@srv.tool()
def sync_wait(ctx: Context) -> str:
    seen = []
    ctx.on_cancel(lambda: seen.append("callback"))
    if ctx.wait_cancelled(120):
        record(f"sync-cancelled:{ctx.is_cancelled}:{'+'.join(seen)}")
        return "cancelled"
    return "timeout"


@srv.tool()
def seen() -> list[str]:
    with events_lock:
        return list(events)


# ------------------------------------------------------------------ requests to the client
@srv.tool()
async def ask_model(question: str, ctx: Context) -> str:
    answer = await ctx.sample(question, max_tokens=50, system_prompt="Be brief.")
    return f"{answer.model}: {answer.text}"


@srv.tool()
def ask_model_sync(question: str, ctx: Context) -> str:
    return ctx.sample(question, max_tokens=50).result(timeout=30).text


@dataclass
class Contact:
    email: str
    subscribe: bool = False


@srv.tool()
async def ask_user(ctx: Context) -> str:
    result = await ctx.elicit("Your contact details?", Contact)
    if not result.accepted:
        return result.action
    return f"{result.data.email} subscribe={result.data.subscribe}"


@srv.tool()
async def roots(ctx: Context) -> list[str]:
    return [r["uri"] for r in await ctx.list_roots()]


# ------------------------------------------------------------------ inline tools (run on the thread that read the request)
@srv.tool(inline=True)
def inline_add(a: int, b: int) -> int:
    """Add two integers, on the I/O thread."""
    return a + b


@srv.tool(inline=True)
def inline_user(name: str) -> User:
    return User(name=name, age=1)


@srv.tool(inline=True)
def inline_fail(reason: str) -> str:
    raise ValueError(f"inline failure: {reason}")


@srv.tool(inline=True)
async def inline_sleep_ms(ms: int) -> str:
    await asyncio.sleep(ms / 1000)
    return f"slept {ms} after an inline dispatch"


@srv.tool(inline=True)
def inline_steps(n: int, ctx: Context) -> str:
    for i in range(1, n + 1):
        ctx.report_progress(i, n)
    return "done"


@srv.tool(inline=True)
def inline_ask_model(ctx: Context) -> str:
    return ctx.sample("may I wait here?", max_tokens=5).result(timeout=5).text  # StateError: it must not


@srv.tool(inline=True)
def inline_thread() -> int:
    return threading.get_native_id()


@srv.tool()
def worker_thread() -> int:
    return threading.get_native_id()


# ------------------------------------------------------------------ changing the server while serving
@srv.tool()
def add_tool(name: str) -> str:
    def dynamic(x: int) -> int:
        return x * 10
    srv.add_tool(dynamic, name=name, description="added while serving")
    return "added"


@srv.tool()
def remove_tool(name: str) -> str:
    srv.remove_tool(name)
    return "removed"


@srv.tool()
def add_prompt(name: str) -> str:
    srv.add_prompt(lambda: "dynamic prompt", name=name)
    return "added"


@srv.tool()
def remove_resource(uri: str) -> str:
    srv.remove_resource(uri)
    return "removed"


@srv.tool()
def touch(uri: str) -> int:
    return srv.notify_resource_updated(uri)


@srv.tool()
def broadcast(message: str) -> str:
    srv.log("warning", message, logger="broadcast")
    return "sent"


# ------------------------------------------------------------------ resources
@srv.resource("memo://static", description="A fixed text.")
def static() -> str:
    return "static text"


@srv.resource("memo://bytes", mime_type="application/octet-stream")
def raw() -> bytes:
    return bytes(range(8))


@srv.resource("memo://json")
def as_json() -> dict:
    return {"answer": 42}


@srv.resource("memo://multi")
def multi() -> list[ResourceContents]:
    return [ResourceContents("part one", "text/plain", "memo://multi#1"),
            ResourceContents(b"\x01\x02", "application/octet-stream", "memo://multi#2")]


@srv.resource("memo://async")
async def async_resource() -> str:
    await asyncio.sleep(0.01)
    return "async text"


@srv.resource("memo://items/{item_id}", mime_type="text/plain")
def item(item_id: int) -> str:
    """One item by number."""
    if item_id > 100:
        raise ResourceNotFound(f"no item {item_id}")
    return f"item {item_id} (doubled {item_id * 2})"


USERS = ["alice", "albert", "bob"]


@srv.resource("memo://users/{user}/posts/{post}", completions={"user": USERS})
def post(user: str, post: str) -> str:
    return f"post {post} by {user}"


@srv.resource("memo://broken")
def broken() -> str:
    raise RuntimeError("the disk is on fire")


# ------------------------------------------------------------------ prompts
@srv.prompt()
def simple() -> str:
    """A prompt without arguments."""
    return "Say hello."


@srv.prompt(completions={"language": ["python", "perl", "pascal", "rust"]})
def review(code: str, language: str = "python") -> list:
    """Review some code."""
    return [UserMessage(f"Review this {language} code:\n{code}"),
            AssistantMessage("Sure, let me look."),
            UserMessage(EmbeddedResource("memo://static", "static text", "text/plain"))]


@srv.prompt(title="Repeat")
def repeat(word: Annotated[str, "the word"], times: int) -> PromptResult:
    return PromptResult([word * times], description=f"{word} x{times}")


@srv.completion()
def complete_fallback(ref, argument, context):
    if ref.type == "ref/prompt" and ref.name == "repeat" and argument.name == "times":
        return [str(i) for i in range(1, 4) if str(i).startswith(argument.value)]
    return None


if __name__ == "__main__":
    mode = sys.argv[1] if len(sys.argv) > 1 else "stdio"
    if mode == "stdio":
        srv.run_stdio()
    elif mode == "http":
        portfile = sys.argv[2]

        def ready(port: int) -> None:
            with open(portfile + ".tmp", "w") as f:
                f.write(str(port))
            import os
            os.replace(portfile + ".tmp", portfile)
        srv.run_http("127.0.0.1", 0, on_ready=ready)
    else:
        sys.exit(f"unknown mode {mode}")
