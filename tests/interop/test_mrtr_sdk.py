"""The official Python SDK client (mcp==2.3.0) drives the everything server's multi round-trip
fixtures: at 2026-07-28 (mode="2026-07-28") its MRTR loop answers each InputRequiredResult
through its callbacks and retries; in the 2025 era (mode="legacy") the same handlers send live
requests to the same callbacks. Over Streamable HTTP (JSON and SSE answers) and stdio."""
from __future__ import annotations

from typing import Any, Awaitable, Callable

import anyio
import mcp_types as types
import pytest
from mcp import Client, StdioServerParameters

from conftest import server_env, require_server_binary
from http_support import EverythingHTTP
from modern_support import MODERN

pytestmark = pytest.mark.filterwarnings("ignore::mcp.MCPDeprecationWarning")


def run(body: Callable[[], Awaitable[None]], timeout: float = 60.0) -> None:
    async def main() -> None:
        with anyio.fail_after(timeout):
            await body()
    anyio.run(main)


def texts(result: Any) -> str:
    return "".join(c.text for c in result.content if isinstance(c, types.TextContent))


class Answers:
    """The client's side: what the user and the model answer; counts what was asked."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    async def elicit(self, context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        self.asked.append(params.message)
        fields = list((params.requested_schema or {}).get("properties", {}))
        values = {"name": "Alice", "color": "blue", "ok": True, "context": "testing", "greeting": "hi there"}
        return types.ElicitResult(action="accept", content={f: values.get(f, "x") for f in fields})

    async def sample(self, context: Any, params: types.CreateMessageRequestParams) -> types.CreateMessageResult:
        self.asked.append("sampling")
        return types.CreateMessageResult(role="assistant", content=types.TextContent(type="text", text="Paris."),
                                         model="test-model", stop_reason="endTurn")

    async def roots(self, context: Any) -> types.ListRootsResult:
        self.asked.append("roots")
        return types.ListRootsResult(roots=[types.Root(uri="file:///test/root", name="Test Root")])

    def client(self, target: Any, mode: str) -> Client:
        return Client(target, mode=mode, elicitation_callback=self.elicit, sampling_callback=self.sample,
                      list_roots_callback=self.roots)


async def every_fixture(c: Client, answers: Answers) -> None:
    assert texts(await c.call_tool("test_input_required_result_elicitation", {})) == "Hello, Alice!"
    assert texts(await c.call_tool("test_input_required_result_sampling", {})) == "LLM response: Paris."
    assert texts(await c.call_tool("test_input_required_result_list_roots", {})) == "Roots: file:///test/root"
    assert "state-ok" in texts(await c.call_tool("test_input_required_result_request_state", {}))
    assert texts(await c.call_tool("test_input_required_result_multiple_inputs", {})) == "Paris. to Alice (1 roots)"
    answers.asked.clear()
    assert texts(await c.call_tool("test_input_required_result_multi_round", {})) == "Alice likes blue"
    assert answers.asked == ["Step 1: What is your name?", "Step 2: What is your favorite color?"]
    assert texts(await c.call_tool("test_elicit_twice", {})) == "Alice likes blue"
    assert texts(await c.call_tool("test_input_required_result_capabilities", {})) == "answered through elicitation"
    p = await c.get_prompt("test_input_required_result_prompt", {})
    assert "testing" in p.messages[0].content.text
    r = await c.read_resource("test://input-required")
    assert r.contents[0].text == "hi there"


@pytest.mark.parametrize("flags", [("--json-response",), ()], ids=["json", "sse"])
@pytest.mark.parametrize("mode", [MODERN, "legacy"])
def test_http(flags, mode):
    with EverythingHTTP(*flags) as s:
        async def body() -> None:
            answers = Answers()
            async with answers.client(s.url, mode) as c:
                assert c.protocol_version == (MODERN if mode == MODERN else "2025-11-25")
                await every_fixture(c, answers)
        run(body)


@pytest.mark.parametrize("mode", [MODERN, "legacy"])
def test_stdio(mode):
    params = StdioServerParameters(command=require_server_binary(), args=["--stdio"], env=server_env())

    async def body() -> None:
        answers = Answers()
        async with answers.client(params, mode) as c:
            await every_fixture(c, answers)
    run(body)
