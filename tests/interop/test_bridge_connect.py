"""mcp-bridge --connect URL: a remote Streamable HTTP server (the everything server) served on
stdio to the official Python SDK client (mcp==2.3.0), which launches the bridge as a command,
in both eras. The remote speaks 2026-07-28 to the bridge; its input requests (elicitation,
sampling) reach a 2025-era client live and a 2026-07-28 client as input requests again.
"""
from __future__ import annotations

import sys

import anyio
import pytest

from mcp import Client, MCPError, StdioServerParameters, stdio_client
from mcp_types import CreateMessageResult, ElicitResult, TextContent

from bridge_support import require_bridge
from conftest import server_env
from http_support import EverythingHTTP

ERAS = ["legacy", "2026-07-28"]


async def on_elicit(ctx, params):
    return ElicitResult(action="accept", content={"username": "zed", "email": "zed@example.com"})


async def on_sample(ctx, params):
    return CreateMessageResult(role="assistant", content=TextContent(type="text", text="four"), model="test-model")


def bridge_client(url: str, mode: str, *extra: str, **kw) -> Client:
    params = StdioServerParameters(command=require_bridge(), args=["--connect", url, *extra], env=server_env())
    return Client(stdio_client(params, errlog=sys.stderr), mode=mode, read_timeout_seconds=30, cache=None, **kw)


@pytest.fixture(scope="module")
def remote():
    with EverythingHTTP() as server:
        yield server


@pytest.mark.parametrize("mode", ERAS)
def test_remote_server_on_stdio(remote, mode):
    async def main():
        async with bridge_client(remote.url, mode, elicitation_callback=on_elicit, sampling_callback=on_sample) as c:
            assert c.protocol_version == ("2025-11-25" if mode == "legacy" else "2026-07-28")
            names = {t.name for t in (await c.list_tools()).tools}
            assert {"test_simple_text", "test_elicitation", "test_sampling", "test_tool_with_progress"} <= names
            r = await c.call_tool("test_simple_text", {})
            assert r.content[0].text == "This is a simple text response for testing."
            r = await c.call_tool("test_error_handling", {})
            assert r.is_error
            r = await c.call_tool("test_elicitation", {"message": "Who are you?"})
            assert not r.is_error and "zed" in r.content[0].text, r
            r = await c.call_tool("test_sampling", {"prompt": "2+2?"})
            assert not r.is_error and "four" in r.content[0].text, r
            seen = []

            async def on_progress(progress, total, message):
                seen.append(progress)

            await c.call_tool("test_tool_with_progress", {}, progress_callback=on_progress)
            assert seen == [0, 50, 100]
            assert (await c.read_resource("test://static-text")).contents[0].text == \
                "This is the content of the static text resource."
            assert (await c.read_resource("test://template/42/data")).contents[0].text
            msgs = (await c.get_prompt("test_simple_prompt", {})).messages
            assert msgs[0].content.text == "This is a simple prompt for testing."
            done = await c.complete({"type": "ref/prompt", "name": "test_prompt_with_arguments"},
                                    {"name": "arg1", "value": "p"})
            assert done.completion.values

    anyio.run(main)


def test_remote_that_is_gone_gets_a_clear_error():
    """The remote stops while the desktop client is connected: calls fail with a message
    saying so, and the bridge answers again once the remote is back."""
    server = EverythingHTTP()
    server.__enter__()
    url = server.url
    port = int(url.rsplit(":", 1)[1].split("/")[0])

    async def main():
        async with bridge_client(url, "legacy", "--timeout", "5000") as c:
            await c.call_tool("test_simple_text", {})
            server.__exit__(None, None, None)
            with pytest.raises(MCPError) as e:
                await c.call_tool("test_simple_text", {})
            assert e.value.code == -32603 and "mcp-bridge" in e.value.message, e.value
            with EverythingHTTP(port=port):
                r = await c.call_tool("test_simple_text", {})
                assert r.content[0].text == "This is a simple text response for testing."

    try:
        anyio.run(main)
    finally:
        server.__exit__(None, None, None)


# --------------------------------------------------------------------------- OAuth upstream
def test_connect_with_oauth(tmp_path):
    """--connect URL --oauth: the remote answers 401; the bridge runs the OAuth flow (the URL
    on stderr, the browser's redirect to the engine's loopback listener), then serves the
    remote's tools on stdio with the token. --oauth-store keeps the tokens (mode 0600): the
    next run needs no person."""
    import json
    import subprocess
    import threading
    import urllib.request

    from oauth_world import World, follow_once

    store = tmp_path / "tokens.json"

    def run_bridge(w: World, expect_url: bool) -> tuple[dict, str]:
        cmd = [require_bridge(), "--connect", w.url, "--upstream-era", "legacy", "--timeout", "20000",
               "--oauth", "--oauth-store", str(store)]
        p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env=server_env())
        err_lines: list[str] = []
        url_seen = threading.Event()

        def read_stderr():
            for line in p.stderr:
                err_lines.append(line)
                if line.startswith("http://127.0.0.1"):
                    url_seen.set()

        t = threading.Thread(target=read_stderr, daemon=True)
        t.start()
        watchdog = threading.Timer(90, p.kill)  # a hung bridge fails the test, not the suite
        watchdog.start()
        try:
            if expect_url:
                assert url_seen.wait(30), "".join(err_lines)
                url = next(line.strip() for line in err_lines if line.startswith("http://127.0.0.1"))
                redirect = follow_once(url)                       # the person approves
                with urllib.request.urlopen(redirect, timeout=10) as r:  # the browser lands on the listener
                    r.read()
            send = [{"jsonrpc": "2.0", "id": 1, "method": "initialize",
                     "params": {"protocolVersion": "2025-11-25", "capabilities": {},
                                "clientInfo": {"name": "t", "version": "1"}}},
                    {"jsonrpc": "2.0", "method": "notifications/initialized"},
                    {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "whoami", "arguments": {}}}]
            p.stdin.write("".join(json.dumps(m) + "\n" for m in send))
            p.stdin.flush()
            answer = None
            for line in p.stdout:                               # bounded by the bridge's --timeout
                m = json.loads(line)
                if m.get("id") == 2:
                    answer = m
                    break
            p.stdin.close()
            assert p.wait(30) == 0
        finally:
            watchdog.cancel()
            if p.poll() is None:
                p.kill()
        t.join(5)
        assert answer is not None, "".join(err_lines)
        return answer, "".join(err_lines)

    with World() as w:
        answer, err = run_bridge(w, expect_url=True)
        token = json.loads(answer["result"]["content"][0]["text"])
        assert token["resource"] == w.url and token["client_id"].startswith("client_")
        assert len(w.authorizations) == 1 and w.authorizations[0]["resource"] == w.url
        assert w.mcp_auth_headers[0] is None and w.mcp_auth_headers[-1].startswith("Bearer at_")
        assert store.stat().st_mode & 0o777 == 0o600
        saved = json.loads(store.read_text())[w.issuer]
        assert saved["access_token"] not in err                  # never logged
        # The stored token serves the next run: no URL, no new authorization.
        answer, err = run_bridge(w, expect_url=False)
        assert "result" in answer and "open this URL" not in err, err
        assert len(w.authorizations) == 1


def test_oauth_flags_are_for_connect_only():
    import subprocess
    r = subprocess.run([require_bridge(), "--listen", "127.0.0.1:0", "--oauth", "--", "true"], capture_output=True,
                       text=True, timeout=10)
    assert r.returncode == 2 and "--oauth is for --connect" in r.stderr
    r = subprocess.run([require_bridge(), "--connect", "http://127.0.0.1:1/mcp", "--oauth-scope"], capture_output=True,
                       text=True, timeout=10)
    assert r.returncode == 2 and "--oauth-scope" in r.stderr
