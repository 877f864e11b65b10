"""The tasks extension on the client side: Client(tasks=True) against the everything server at 2026-07-28.

The server turns calls of its task tools into tasks; our client follows each one (tasks/get at the
server's poll interval, tasks/update with the elicitation handler's answers, tasks/cancel when the host
cancels) and the host sees one finished call, as with any other tool.
"""
from __future__ import annotations

import re
import select
import subprocess
import threading
import time

import pytest

import libmcp
from conftest import LIBRARY

SERVER = LIBRARY.resolve().parent.parent / "bin" / "mcp-everything-server"


@pytest.fixture
def url():
    proc = subprocess.Popen([str(SERVER), "--http", "127.0.0.1:0", "--task-ttl-ms", "60000"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            bufsize=0)  # unbuffered: select sees every line readline has not taken
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            ready, _, _ = select.select([proc.stderr], [], [], 0.2)
            if ready:
                m = re.search(rb"(http://\S+/mcp)", proc.stderr.readline())
                if m:
                    yield m.group(1).decode()
                    break
        else:
            raise AssertionError("the everything server printed no URL")
    finally:
        proc.terminate()
        proc.wait(10)
        proc.stderr.close()


def accept(params):
    return {"action": "accept", "content": {"confirm": True}}


def test_a_task_is_followed_to_its_result(url):
    with libmcp.Client("tasks-test", "1", era="2026-07-28", tasks=True, elicitation=accept) as c:
        c.connect_http(url)
        t0 = time.monotonic()
        r = c.call_tool("slow_compute", {"seconds": 0.3, "label": "L"})
        assert time.monotonic() - t0 >= 0.3
        assert not r.get("isError") and "L" in r["content"][0]["text"], r
        # failing_job requires a task: the job's error result comes back as the call's result.
        r = c.call_tool("failing_job", {})
        assert r["isError"] is True and r["content"][0]["text"] == "The job failed: the input was rejected"
        # Input asked for by the task: answered by the elicitation handler, sent with tasks/update.
        r = c.call_tool("confirm_delete", {"filename": "a.txt"})
        assert r["content"][0]["text"] == 'confirm_delete: accept {"confirm":true}' and not r.get("isError"), r
        r = c.call_tool("multi_input", {})  # two elicitations, one round
        assert r["content"][0]["text"].startswith("multi_input: accept") and not r.get("isError"), r


def test_without_the_option_a_required_task_tool_is_refused(url):
    with libmcp.Client("tasks-test", "1", era="2026-07-28") as c:
        c.connect_http(url)
        with pytest.raises(libmcp.PeerError) as e:
            c.call_tool("failing_job", {})
        assert e.value.code == -32021  # the extension is missing from the request's capabilities
        # An optional task tool runs as a plain call.
        assert not c.call_tool("slow_compute", {"seconds": 0}).get("isError")


def test_cancelling_a_task_call_cancels_the_task(url):
    async def body():
        async with libmcp.AsyncClient(name="tasks-test", version="1", era="2026-07-28", tasks=True) as c:
            await c.connect_http(url)
            import asyncio
            call = asyncio.ensure_future(c.call_tool("slow_compute", {"seconds": 30}))
            await asyncio.sleep(0.5)
            call.cancel()
            with pytest.raises(asyncio.CancelledError):
                await call
            t0 = time.monotonic()
            r = await c.call_tool("slow_compute", {"seconds": 0})
            assert time.monotonic() - t0 < 5 and not r.get("isError")
    import asyncio
    asyncio.run(asyncio.wait_for(body(), 60))
