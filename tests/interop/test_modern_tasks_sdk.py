"""The official Python SDK client (mcp 2.3.0) in the modern era against the
tasks extension of the everything server. The SDK ships no tasks client, but
its extension surface (`ClientExtension` with a `ResultClaim` on
`resultType: "task"`, `Request.name_param` for the Mcp-Name routing header
SEP-2663 asks for) lets a client opt in per request and resolve a task
transparently: `call_tool` returns the final CallToolResult after polling
tasks/get and answering input requests with tasks/update. The client below
is ours (about 40 lines); everything on the wire is the SDK's."""
from __future__ import annotations

from typing import Any, Literal

import anyio
import mcp_types as types
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.extension import ClaimContext, ClientExtension, ResultClaim
from pydantic import TypeAdapter

from conftest import server_env
from http_support import EverythingHTTP
from modern_support import MODERN

pytestmark = pytest.mark.filterwarnings("ignore::mcp.MCPDeprecationWarning")

TASKS = "io.modelcontextprotocol/tasks"
MODES = {"sse": (), "json": ("--json-response",), "stateless": ("--stateless",)}
ANY = TypeAdapter(dict[str, Any])


class CreateTaskResult(types.Result):
    result_type: Literal["task"] = "task"
    task_id: str
    status: str
    ttl_ms: int | None = None
    poll_interval_ms: int | None = None


class TaskParams(types.RequestParams):
    task_id: str
    input_responses: dict[str, Any] | None = None


class GetTask(types.Request[TaskParams, Literal["tasks/get"]]):
    method: Literal["tasks/get"] = "tasks/get"
    name_param = "taskId"


class UpdateTask(types.Request[TaskParams, Literal["tasks/update"]]):
    method: Literal["tasks/update"] = "tasks/update"
    name_param = "taskId"


class Tasks(ClientExtension):
    """Opts in to tasks; resolves a CreateTaskResult by polling, confirming
    every elicitation it is asked (and recording what it saw)."""

    identifier = TASKS

    def __init__(self) -> None:
        self.seen: list[dict] = []

    def claims(self):
        return [ResultClaim(result_type="task", model=CreateTaskResult, resolve=self.resolve)]

    async def resolve(self, created: CreateTaskResult, ctx: ClaimContext) -> types.CallToolResult:
        self.seen.append({"created": created.status, "ttlMs": created.ttl_ms})
        while True:
            await anyio.sleep((created.poll_interval_ms or 100) / 1000)
            task = await ctx.session.send_request(GetTask(params=TaskParams(task_id=created.task_id)), ANY)
            self.seen.append({"status": task["status"], "resultType": task["resultType"]})
            if task["status"] == "completed":
                return types.CallToolResult.model_validate(task["result"])
            if task["status"] in ("failed", "cancelled"):
                raise RuntimeError(f"task {task['status']}: {task.get('error')}")
            if task["status"] == "input_required":
                answers = {k: {"action": "accept", "content": {"confirm": True}} for k in task["inputRequests"]}
                ack = await ctx.session.send_request(
                    UpdateTask(params=TaskParams(task_id=created.task_id, input_responses=answers)), ANY)
                assert ack["resultType"] == "complete"


def text(r: types.CallToolResult) -> str:
    return "".join(c.text for c in r.content if isinstance(c, types.TextContent))


async def drive(target: Any) -> None:
    ext = Tasks()
    # The callback only makes the SDK declare elicitation; the task's input
    # requests come through tasks/get and are answered by the claim above.
    async def never(context: Any, params: Any) -> types.ElicitResult:
        raise AssertionError("no elicitation/create at 2026-07-28")

    async with Client(target, mode=MODERN, extensions=[ext], elicitation_callback=never) as c:
        # Forced to the modern era the SDK sends no server/discover of its own.
        assert TASKS in (await c.session.send_discover(MODERN))["capabilities"]["extensions"]
        r = await c.call_tool("slow_compute", {"seconds": 0.3, "label": "sdk"})
        assert text(r) == "Computed sdk in 300 ms"
        assert ext.seen[0] == {"created": "working", "ttlMs": 3_600_000}
        assert ext.seen[-1] == {"status": "completed", "resultType": "complete"}
        r = await c.call_tool("failing_job", {})
        assert r.is_error and "failed" in text(r)
        ext.seen.clear()
        r = await c.call_tool("multi_input", {})
        assert text(r).count("accept") == 2
        assert {"status": "input_required", "resultType": "complete"} in ext.seen
        # A plain tool is never a task.
        assert text(await c.call_tool("greet", {"name": "SDK"})) == "Hello, SDK!"
    # Without the extension, a required-task tool is refused -32021.
    async with Client(target, mode=MODERN) as c:
        with pytest.raises(Exception) as e:
            await c.call_tool("failing_job", {})
        assert getattr(e.value, "code", None) == -32021 or "-32021" in str(e.value)


@pytest.mark.parametrize("mode", list(MODES))
def test_sdk_resolves_tasks_over_http(mode):
    with EverythingHTTP(*MODES[mode]) as s:
        anyio.run(lambda: _timed(drive(s.url)))


def test_sdk_resolves_tasks_over_stdio(server_binary):
    anyio.run(lambda: _timed(drive(StdioServerParameters(command=server_binary, args=[], env=server_env()))))


async def _timed(aw) -> None:
    with anyio.fail_after(60):
        await aw
