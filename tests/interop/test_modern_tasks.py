"""The tasks extension (io.modelcontextprotocol/tasks, SEP-2663) at revision
2026-07-28 over Streamable HTTP, raw, on the everything server's task
fixtures (greet, slow_compute, failing_job, protocol_error_job,
confirm_delete, multi_input): server-directed task creation, tasks/get
polling, tasks/update for input, tasks/cancel, TTL expiry, the required-task
error, routing headers, and the removed 2025 methods. They restate the checks
of the conformance suite's src/scenarios/server/tasks/*.ts.

Validation: tests/spec/2026-07-28/schema.json does not define the extension's
types (Task, CreateTaskResult, DetailedTask, UpdateTaskRequest), so every
message is checked against the core envelope (JSONRPCResultResponse, Result,
the error types by code), the inlined parts against the core types they are
(CallToolResult for `result`, InputRequests for `inputRequests`, the
InputResponses we send), and the Task fields by hand below."""
from __future__ import annotations

import re
import time
from typing import Any

import pytest

from http_support import EverythingHTTP, messages
from modern_support import CHECKER, MODERN, SERVER_NAME, body, meta, mpost

TASKS = "io.modelcontextprotocol/tasks"
WITH_TASKS = {"elicitation": {}, "sampling": {}, "extensions": {TASKS: {}}}
ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
TASK_FIELDS = {"taskId", "status", "statusMessage", "createdAt", "lastUpdatedAt", "ttlMs", "pollIntervalMs"}
MODES = {"sse": (), "json": ("--json-response",), "stateless": ("--stateless",)}
SCHEMA = CHECKER.schema


@pytest.fixture(scope="module", params=list(MODES))
def server(request):
    with EverythingHTTP(*MODES[request.param]) as s:
        yield s


_ids = iter(range(1, 1 << 30))


def post(url: str, method: str, params: dict | None = None, caps: dict | None = WITH_TASKS,
         headers: dict | None = None) -> tuple[int, dict]:
    """One request; its HTTP status and final message, envelope-checked."""
    msg = body(method, params, rid=next(_ids), caps=caps)
    resp = mpost(url, msg, headers)
    out = messages(resp)
    assert out and out[-1].get("id") == msg["id"], out
    final = out[-1]
    if "error" in final:
        CHECKER.check(method, final)
    else:
        errs = SCHEMA.errors("JSONRPCResultResponse", final) + SCHEMA.errors("Result", final["result"])
        assert not errs, errs
        assert final["result"]["_meta"]["io.modelcontextprotocol/serverInfo"]["name"] == SERVER_NAME
    return resp.status, final


def ok(url: str, method: str, params: dict | None = None, **kw: Any) -> dict:
    status, final = post(url, method, params, **kw)
    assert status == 200 and "result" in final, (status, final)
    return final["result"]


def refused(url: str, method: str, params: dict | None, status: int, code: int, **kw: Any) -> dict:
    got, final = post(url, method, params, **kw)
    assert (got, final.get("error", {}).get("code")) == (status, code), (got, final)
    return final["error"]


def check_task(t: dict, *, created: bool) -> None:
    """The Task fields of the extension (the v1 names ttl/pollInterval gone,
    integer milliseconds, ISO 8601 times, no requestState)."""
    assert isinstance(t["taskId"], str) and t["status"] in (
        "working", "input_required", "completed", "failed", "cancelled"), t
    assert ISO.match(t["createdAt"]) and ISO.match(t["lastUpdatedAt"]), t
    assert t["ttlMs"] is None or (isinstance(t["ttlMs"], int) and t["ttlMs"] > 0), t
    assert isinstance(t["pollIntervalMs"], int) and t["pollIntervalMs"] > 0, t
    for legacy in ("ttl", "pollInterval", "requestState", "task"):
        assert legacy not in t, (legacy, t)
    if created:
        assert t["resultType"] == "task", t
        assert not {"result", "error", "inputRequests"} & set(t), t
    else:
        assert t["resultType"] == "complete", t
    extra = set(t) - TASK_FIELDS - {"resultType", "_meta", "result", "error", "inputRequests"}
    assert not extra, extra


def create(url: str, tool: str, arguments: dict | None = None) -> dict:
    t = ok(url, "tools/call", {"name": tool, "arguments": arguments or {}})
    check_task(t, created=True)
    return t


def get(url: str, task_id: str) -> dict:
    t = ok(url, "tasks/get", {"taskId": task_id})
    check_task(t, created=False)
    if t["status"] == "completed":
        assert "error" not in t and not SCHEMA.errors("CallToolResult", t["result"]), t
    elif t["status"] == "failed":
        assert "result" not in t and isinstance(t["error"]["code"], int) and t["error"]["message"], t
    elif t["status"] == "input_required":
        assert t["inputRequests"] and not SCHEMA.errors("InputRequests", t["inputRequests"]), t
    else:
        assert not {"result", "error", "inputRequests"} & set(t), t
    return t


def wait(url: str, task_id: str, until: tuple[str, ...] = ("completed", "failed", "cancelled"),
         timeout: float = 15.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        t = get(url, task_id)
        if t["status"] in until or t["status"] in ("completed", "failed", "cancelled"):
            return t
        assert time.monotonic() < deadline, t
        time.sleep(0.1)


def text(result: dict) -> str:
    return "".join(c.get("text", "") for c in result["content"])


# --- capability, gating, dispatch -------------------------------------------------------


def test_the_extension_is_advertised_under_extensions_only(server):
    r = ok(server.url, "server/discover")
    assert r["capabilities"]["extensions"][TASKS] == {}
    assert "tasks" not in r["capabilities"], "no v1 capabilities.tasks slot at 2026-07-28"


def test_a_sync_tool_answers_a_plain_result(server):
    r = ok(server.url, "tools/call", {"name": "greet", "arguments": {"name": "World"}})
    assert r["resultType"] == "complete" and "taskId" not in r and text(r) == "Hello, World!"
    assert not SCHEMA.errors("CallToolResult", r)
    # A 2025-style task hint is tolerated and promotes nothing.
    r = ok(server.url, "tools/call", {"name": "greet", "arguments": {}, "task": {"ttl": 1000}})
    assert r["resultType"] == "complete" and "taskId" not in r


def test_without_the_extension_a_task_tool_runs_synchronously(server):
    r = ok(server.url, "tools/call", {"name": "slow_compute", "arguments": {"seconds": 0, "label": "x"}}, caps={})
    assert r["resultType"] == "complete" and "taskId" not in r and "task" not in r
    assert text(r) == "Computed x in 0 ms"


def test_a_required_task_tool_without_the_extension_is_minus_32021(server):
    e = refused(server.url, "tools/call", {"name": "failing_job", "arguments": {}}, 400, -32021, caps={})
    assert e["data"]["requiredCapabilities"] == {"extensions": {TASKS: {}}}


@pytest.mark.parametrize("method", ["tasks/get", "tasks/update", "tasks/cancel"])
def test_task_methods_need_the_extension_on_the_request(server, method):
    e = refused(server.url, method, {"taskId": "gate-test", "inputResponses": {}}, 400, -32021, caps={})
    assert e["data"]["requiredCapabilities"]["extensions"] == {TASKS: {}}


@pytest.mark.parametrize("method", ["tasks/result", "tasks/list"])
def test_the_removed_2025_methods_are_minus_32601(server, method):
    refused(server.url, method, {"taskId": "probe"} if method == "tasks/result" else {}, 404, -32601)


@pytest.mark.parametrize("method", ["tasks/get", "tasks/cancel", "tasks/update"])
def test_an_unknown_task_is_minus_32602(server, method):
    refused(server.url, method, {"taskId": "nonexistent-12345", "inputResponses": {}}, 400, -32602)


def test_task_methods_are_routed_by_task_id(server):
    t = create(server.url, "slow_compute", {"seconds": 0})
    refused(server.url, "tasks/get", {"taskId": t["taskId"]}, 400, -32020, headers={"Mcp-Name": "other-task"})
    refused(server.url, "tasks/get", {"taskId": t["taskId"]}, 400, -32020, headers={"Mcp-Name": None})
    refused(server.url, "tools/call", {"name": "greet", "arguments": {}}, 400, -32020,
            headers={"Mcp-Method": "tasks/get"})


# --- lifecycle ---------------------------------------------------------------------------


def test_a_task_is_created_polled_and_completed(server):
    t = create(server.url, "slow_compute", {"seconds": 1, "label": "lifecycle"})
    assert t["status"] == "working"
    assert re.fullmatch(r"[0-9a-f]{32,}", t["taskId"]), "a task id is 128 random bits"
    # Durable before the answer: a tasks/get right after it resolves.
    first = get(server.url, t["taskId"])
    assert first["taskId"] == t["taskId"] and first["status"] in ("working", "completed")
    assert first["createdAt"] == t["createdAt"] and first["ttlMs"] == t["ttlMs"] == 3_600_000
    done = wait(server.url, t["taskId"])
    assert done["status"] == "completed", done
    assert done["result"]["resultType"] == "complete" and text(done["result"]) == "Computed lifecycle in 1000 ms"
    # Two tasks never share an id.
    assert create(server.url, "slow_compute", {"seconds": 0})["taskId"] != t["taskId"]


def test_a_tool_error_completes_the_task(server):
    done = wait(server.url, create(server.url, "failing_job")["taskId"])
    assert done["status"] == "completed" and done["result"]["isError"] is True, done
    assert "failed" in text(done["result"])


def test_a_protocol_error_fails_the_task(server):
    done = wait(server.url, create(server.url, "protocol_error_job")["taskId"])
    assert done["status"] == "failed" and done["error"]["code"] == -32603, done
    assert "crashed" in done["error"]["message"]


def test_cancel_is_an_empty_ack_and_the_task_settles_cancelled(server):
    t = create(server.url, "slow_compute", {"seconds": 60, "label": "cancel"})
    for _ in range(2):  # idempotent
        ack = ok(server.url, "tasks/cancel", {"taskId": t["taskId"]})
        assert ack["resultType"] == "complete"
        assert not {"taskId", "status", "result", "error", "inputRequests"} & set(ack), ack
    after = wait(server.url, t["taskId"])
    assert after["status"] == "cancelled" and "result" not in after, after
    # Cancelling a task that already completed is the same ack, not an error.
    done = create(server.url, "slow_compute", {"seconds": 0})
    assert wait(server.url, done["taskId"])["status"] == "completed"
    ack = ok(server.url, "tasks/cancel", {"taskId": done["taskId"]})
    assert set(ack) <= {"resultType", "_meta"}
    assert get(server.url, done["taskId"])["status"] == "completed"


# --- input (tasks/update) ----------------------------------------------------------------


def elicit_answer(confirm: bool) -> dict:
    r = {"action": "accept", "content": {"confirm": confirm}}
    assert not SCHEMA.errors("ElicitResult", r)
    return r


def test_a_task_waits_for_input_and_resumes_after_update(server):
    t = create(server.url, "confirm_delete", {"filename": "x.txt"})
    parked = wait(server.url, t["taskId"], until=("input_required",))
    assert parked["status"] == "input_required", parked
    (key, req), = parked["inputRequests"].items()
    assert req["method"] == "elicitation/create" and req["params"]["message"] == "Delete x.txt?"
    assert get(server.url, t["taskId"])["inputRequests"] == parked["inputRequests"], "stable across polls"
    responses = {key: elicit_answer(True)}
    assert not SCHEMA.errors("InputResponses", responses)
    ack = ok(server.url, "tasks/update", {"taskId": t["taskId"], "inputResponses": responses})
    assert set(ack) <= {"resultType", "_meta"} and ack["resultType"] == "complete"
    done = wait(server.url, t["taskId"])
    assert done["status"] == "completed", done
    assert text(done["result"]) == 'confirm_delete: accept {"confirm":true}'
    # An answer to a key already answered is ignored.
    ok(server.url, "tasks/update", {"taskId": t["taskId"], "inputResponses": responses})


def test_partial_updates_leave_only_the_pending_keys(server):
    t = create(server.url, "multi_input")
    deadline = time.monotonic() + 10
    while True:
        parked = get(server.url, t["taskId"])
        if len(parked.get("inputRequests", {})) == 2:
            break
        assert time.monotonic() < deadline, parked
        time.sleep(0.05)
    first, second = parked["inputRequests"]
    assert first != second
    ok(server.url, "tasks/update", {"taskId": t["taskId"], "inputResponses": {first: elicit_answer(True)}})
    mid = get(server.url, t["taskId"])
    assert mid["status"] == "input_required" and set(mid["inputRequests"]) == {second}, mid
    # Unknown keys are ignored beside the real one.
    ok(server.url, "tasks/update", {"taskId": t["taskId"],
                                     "inputResponses": {"never-issued": elicit_answer(False),
                                                        second: elicit_answer(False)}})
    done = wait(server.url, t["taskId"])
    assert done["status"] == "completed" and text(done["result"]).count("accept") == 2, done


def test_an_update_needs_an_input_responses_object(server):
    t = create(server.url, "slow_compute", {"seconds": 0})
    refused(server.url, "tasks/update", {"taskId": t["taskId"], "inputResponses": []}, 400, -32602)


def test_cancel_releases_a_task_waiting_for_input(server):
    t = create(server.url, "confirm_delete")
    assert wait(server.url, t["taskId"], until=("input_required",))["status"] == "input_required"
    ok(server.url, "tasks/cancel", {"taskId": t["taskId"]})
    after = get(server.url, t["taskId"])
    assert after["status"] == "cancelled" and "inputRequests" not in after, after


# --- TTL -----------------------------------------------------------------------------------


def test_a_task_lives_its_ttl_then_is_gone():
    with EverythingHTTP("--task-ttl-ms", "1500") as s:
        t = create(s.url, "slow_compute", {"seconds": 60})
        assert t["ttlMs"] == 1500
        time.sleep(0.8)
        assert get(s.url, t["taskId"])["status"] == "working", "not expired before its ttlMs"
        time.sleep(1.5)
        refused(s.url, "tasks/get", {"taskId": t["taskId"]}, 400, -32602)
        refused(s.url, "tasks/cancel", {"taskId": t["taskId"]}, 400, -32602)


def test_a_modern_task_is_invisible_to_a_2025_session():
    """A server with 2025 sessions (not the stateless mode, which has none)."""
    from conftest import LATEST
    from http_support import initialize, post as legacy_post
    with EverythingHTTP() as s:
        t = create(s.url, "slow_compute", {"seconds": 0})
        sid = initialize(s.url)
        resp = legacy_post(s.url, {"jsonrpc": "2.0", "id": 9, "method": "tasks/get",
                                   "params": {"taskId": t["taskId"]}}, session=sid, version=LATEST)
        out = messages(resp)
        assert out[-1]["error"]["code"] == -32602, out
