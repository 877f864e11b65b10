"""mcp-bridge --listen: stdio servers served over Streamable HTTP to the official Python SDK
client (mcp==2.3.0) in both eras: 2025-era sessions ("legacy") and 2026-07-28 stateless requests.

Behind the bridge: the SDK's own fixture server spoken to at the 2025 era (--upstream-era
legacy), so that its requests to the client (elicitation, sampling) reach a 2026-07-28 client
as input requests (MRTR) and come back as answers; the everything server (list changes,
resource updates, completion); and real servers from PyPI, mcp-server-time and mcp-server-git.
"""
from __future__ import annotations

import json

import anyio
import pytest

from mcp import Client, MCPError
from mcp_types import CreateMessageResult, ElicitResult, ListRootsResult, Root, TextContent

from bridge_support import HOSTILE_CHILD, SDK_CHILD, Bridge, third_party
from conftest import REPO, require_server_binary

ERAS = ["legacy", "2026-07-28"]
CALL_TIMEOUT = 30


async def on_elicit(ctx, params):
    return ElicitResult(action="accept", content={"name": "Zed", "age": 7})


async def on_sample(ctx, params):
    return CreateMessageResult(role="assistant", content=TextContent(type="text", text="four"), model="test-model")


def client(url: str, mode: str, **kw) -> Client:
    return Client(url, mode=mode, read_timeout_seconds=CALL_TIMEOUT, cache=None, **kw)


@pytest.fixture(scope="module")
def sdk_bridge():
    with Bridge(SDK_CHILD, "--upstream-era", "legacy") as b:
        yield b


@pytest.mark.parametrize("mode", ERAS)
def test_features_forwarded_in_both_eras(sdk_bridge, mode):
    async def main():
        logs = []

        async def on_log(params):
            logs.append(params.data)

        async with client(sdk_bridge.url, mode, elicitation_callback=on_elicit, sampling_callback=on_sample,
                          logging_callback=on_log, log_level="info") as c:
            assert c.protocol_version == ("2025-11-25" if mode == "legacy" else "2026-07-28")
            names = {t.name for t in (await c.list_tools()).tools}
            assert {"add", "ask", "sample", "progress", "log", "greet_twice"} <= names
            r = await c.call_tool("add", {"a": 2, "b": 40})
            assert r.structured_content == {"result": 42} and not r.is_error
            r = await c.call_tool("fail", {"message": "boom"})
            assert r.is_error and "Error executing tool fail" in r.content[0].text
            # The child's requests to its client, answered by this client in either era.
            assert (await c.call_tool("ask", {})).content[0].text == "Zed 7"
            assert (await c.call_tool("sample", {"prompt": "2+2?"})).content[0].text == "four"
            assert (await c.call_tool("greet_twice", {})).content[0].text == "hello Zed and Zed"
            seen = []

            async def on_progress(progress, total, message):
                seen.append((progress, total, message))

            r = await c.call_tool("progress", {"steps": 3}, progress_callback=on_progress)
            assert r.content[0].text == "3 steps"
            assert seen == [(1.0, 3.0, "step 1"), (2.0, 3.0, "step 2"), (3.0, 3.0, "step 3")]
            r = await c.call_tool("log", {"count": 2})
            assert r.content[0].text == "2 logs"
            assert logs == ["log 0", "log 1"]
            assert (await c.read_resource("fixture://greeting")).contents[0].text == "hello from the SDK"
            assert (await c.read_resource("fixture://item/7")).contents[0].text == "item 7"
            templates = (await c.list_resource_templates()).resource_templates
            assert [t.uri_template for t in templates] == ["fixture://item/{item_id}"]
            msgs = (await c.get_prompt("review", {"code": "x = 1"})).messages
            assert msgs[0].content.text == "Please review: x = 1"

    anyio.run(main)


def test_child_requests_become_input_required_rounds(sdk_bridge):
    """A 2026-07-28 client cannot be sent requests: the 2025-era child's elicitation reaches it
    as an InputRequiredResult, and the retry carrying the answer completes the call."""
    async def main():
        async with client(sdk_bridge.url, "2026-07-28", elicitation_callback=on_elicit) as c:
            first = await c.session.call_tool("ask", {}, allow_input_required=True)
            assert first.result_type == "input_required"
            assert len(first.input_requests) == 1
            (key, req), = first.input_requests.items()
            assert req.method == "elicitation/create" and req.params.message == "Who?"
            final = await c.session.call_tool(
                "ask", {}, allow_input_required=True,
                input_responses={key: ElicitResult(action="accept", content={"name": "Ann", "age": 3})},
                request_state=first.request_state)
            assert final.content[0].text == "Ann 3"
            # Declined in the retry: the child hears "decline".
            again = await c.session.call_tool(
                "ask", {}, allow_input_required=True,
                input_responses={key: ElicitResult(action="decline")}, request_state=first.request_state)
            assert again.content[0].text == "decline"

    anyio.run(main)


def test_missing_client_capability_is_a_clear_error(sdk_bridge):
    """The child asks for elicitation; a client that declared none gets an error naming it
    (2025 era: the bridge's refusal, which the child passes on; 2026-07-28: -32021)."""
    async def main():
        for mode in ERAS:
            async with client(sdk_bridge.url, mode) as c:
                try:
                    r = await c.call_tool("ask", {})
                    text = r.content[0].text if r.is_error else "not an error: " + repr(r)
                except MCPError as e:
                    text = e.message
                    if mode != "legacy":
                        assert e.code == -32021
                assert "elicitation" in text.lower(), (mode, text)

    anyio.run(main)


@pytest.mark.parametrize("mode", ERAS)
def test_roots_asked_by_a_2025_child(mode):
    async def on_roots(ctx):
        return ListRootsResult(roots=[Root(uri="file:///work/a", name="a"), Root(uri="file:///work/b")])

    async def main(url):
        async with client(url, mode, list_roots_callback=on_roots) as c:
            r = await c.call_tool("roots", {})
            assert r.content[0].text == "file:///work/a file:///work/b"

    with Bridge(HOSTILE_CHILD, "--upstream-era", "legacy") as b:
        anyio.run(main, b.url)


@pytest.mark.parametrize("mode", ERAS)
def test_resource_updates_and_completion(mode):
    """A stdio child's resource updates reach subscribed HTTP clients (2025: resources/subscribe,
    2026-07-28: subscriptions/listen), and completion/complete is forwarded."""
    async def main(url):
        updates = []

        async def on_message(msg):
            root = getattr(msg, "root", msg)
            if getattr(root, "method", None) == "notifications/resources/updated":
                updates.append(root.params.uri)

        async with client(url, mode, message_handler=on_message) as c:
            r = await c.call_tool("test_simple_text", {})
            assert r.content[0].text == "This is a simple text response for testing."
            done = await c.complete({"type": "ref/prompt", "name": "test_prompt_with_arguments"},
                                    {"name": "arg1", "value": "p"})
            assert done.completion.values and all(v.startswith("p") for v in done.completion.values)
            if mode == "legacy":
                with pytest.warns(Warning):
                    await c.session.subscribe_resource("test://watched-resource")
                r = await c.call_tool("test_update_watched_resource", {})
                assert "1 subscribed" in r.content[0].text   # the bridge, upstream
                with anyio.fail_after(15):
                    while "test://watched-resource" not in updates:
                        await anyio.sleep(0.05)
            else:
                async with c.listen(resource_subscriptions=["test://watched-resource"]) as sub:
                    await c.call_tool("test_update_watched_resource", {})
                    with anyio.fail_after(15):
                        async for event in sub:
                            assert type(event).__name__ == "ResourceUpdated"
                            assert event.uri == "test://watched-resource"
                            break

    with Bridge([require_server_binary()]) as b:
        anyio.run(main, b.url)


@pytest.mark.parametrize("mode", ERAS)
def test_list_changes_reach_clients(mode):
    """The child adds a tool and says so: the bridge re-lists, offers it, and its clients hear
    notifications/tools/list_changed (2026-07-28: on their listen stream)."""
    async def main(url):
        changed = anyio.Event()

        async def on_message(msg):
            root = getattr(msg, "root", msg)
            if getattr(root, "method", None) == "notifications/tools/list_changed":
                changed.set()

        async with client(url, mode, message_handler=on_message) as c:
            assert "extra" not in {t.name for t in (await c.list_tools()).tools}
            if mode == "legacy":
                assert (await c.call_tool("grow", {"name": "extra"})).content[0].text == "ok"
                with anyio.fail_after(15):
                    await changed.wait()
            else:
                async with c.listen(tools_list_changed=True) as sub:
                    assert (await c.call_tool("grow", {"name": "extra"})).content[0].text == "ok"
                    with anyio.fail_after(15):
                        async for event in sub:
                            assert type(event).__name__ == "ToolsListChanged"
                            break
            assert "extra" in {t.name for t in (await c.list_tools()).tools}
            assert (await c.call_tool("extra", {})).content[0].text == "grown extra"

    with Bridge(HOSTILE_CHILD, "--upstream-era", "legacy") as b:
        anyio.run(main, b.url)


@pytest.mark.parametrize("mode", ERAS)
@pytest.mark.parametrize("package", ["mcp-server-time", "mcp-server-git"])
def test_pypi_servers_behind_the_bridge(package, mode):
    if package == "mcp-server-time":
        command = [third_party(package), "--local-timezone", "UTC"]
    else:
        command = [third_party(package), "--repository", str(REPO)]

    async def main(url):
        async with client(url, mode) as c:
            names = {t.name for t in (await c.list_tools()).tools}
            if package == "mcp-server-time":
                assert {"get_current_time", "convert_time"} <= names
                r = await c.call_tool("get_current_time", {"timezone": "Europe/Paris"})
                assert not r.is_error
                assert json.loads(r.content[0].text)["timezone"] == "Europe/Paris"
                r = await c.call_tool("get_current_time", {"timezone": "Nowhere/Else"})
                assert r.is_error and "Nowhere/Else" in r.content[0].text
            else:
                assert {"git_status", "git_log"} <= names
                r = await c.call_tool("git_status", {"repo_path": str(REPO)})
                assert not r.is_error and "branch" in r.content[0].text.lower()
                r = await c.call_tool("git_log", {"repo_path": str(REPO), "max_count": 1})
                assert not r.is_error and "commit" in r.content[0].text.lower()

    with Bridge(command) as b:
        anyio.run(main, b.url)
