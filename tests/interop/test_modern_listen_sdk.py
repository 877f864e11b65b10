"""The official Python SDK client (mcp==2.3.0) at 2026-07-28 listening to the
everything server (subscriptions/listen): the acknowledged filter, list changes
and resource updates as typed events, over Streamable HTTP (SSE, JSON and
stateless modes) and stdio."""
from __future__ import annotations

import anyio
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.subscriptions import PromptsListChanged, ResourceUpdated, ToolsListChanged

from conftest import server_env
from http_support import EverythingHTTP
from modern_support import MODERN
from test_modern_sdk import run

MODES = {"sse": (), "json": ("--json-response",), "stateless": ("--stateless",)}
WATCHED = "test://watched-resource"


@pytest.fixture(scope="module", params=list(MODES))
def http_server(request):
    with EverythingHTTP(*MODES[request.param]) as s:
        yield s


async def next_event(sub):
    with anyio.fail_after(10):
        async for event in sub:
            return event
    raise AssertionError("the subscription ended")


async def listens(c: Client) -> None:
    assert c.protocol_version == MODERN
    async with c.listen(tools_list_changed=True, resource_subscriptions=[WATCHED]) as sub:
        assert sub.honored.tools_list_changed is True
        assert sub.honored.prompts_list_changed in (None, False)
        assert list(sub.honored.resource_subscriptions or []) == [WATCHED]
        await c.call_tool("test_trigger_tool_change", {})
        assert isinstance(await next_event(sub), ToolsListChanged)
        await c.call_tool("test_update_watched_resource", {})
        event = await next_event(sub)
        while isinstance(event, ToolsListChanged):  # the second change of the trigger, if not coalesced
            event = await next_event(sub)
        assert isinstance(event, ResourceUpdated) and event.uri == WATCHED
    async with c.listen(prompts_list_changed=True) as sub:
        await c.call_tool("test_trigger_tool_change", {})
        await c.call_tool("test_trigger_prompt_change", {})
        assert isinstance(await next_event(sub), PromptsListChanged), "no tools event on a prompts listener"


def test_sdk_listens_over_http(http_server):
    async def body():
        async with Client(http_server.url, mode=MODERN, cache=None) as c:
            await listens(c)
    run(body)


def test_sdk_listens_over_stdio(server_binary):
    async def body():
        params = StdioServerParameters(command=server_binary, args=[], env=server_env())
        async with Client(params, mode=MODERN, cache=None) as c:
            await listens(c)
    run(body)
