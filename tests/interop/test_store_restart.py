"""A restart of the everything server with a durable store (`--store sqlite:PATH`, and `--store
postgres://...` on a private PostgreSQL started by pg_support.py; `--state-key FILE`) loses no 2025-era
session, no stream event and no task, and the shared key carries multi round-trip requests of 2026-07-28
across it.

The server is killed with SIGKILL (no graceful stop: only what the store made durable survives), then a
new process starts on the same port and file. The official Python SDK client keeps its session across:
its next call carries the same Mcp-Session-Id and is answered without a new initialize, and it resumes a
call's stream with Last-Event-ID (ClientMessageMetadata.resumption_token) and gets the call's result. A
raw GET with the same Last-Event-ID shows the replay holds exactly the events the client missed, in
order, once each. A 2025-11-25 task and a task of the 2026-07-28 extension that completed before the kill
answer tasks/get (and tasks/result) with their results after it.

Then the store is made unreachable (a missing directory for SQLite; PostgreSQL stopped while the server
runs): readiness fails naming the store, requests that need the store get 503 with a JSON-RPC -32603 naming
it, the process does not crash, and service resumes by itself once the store is back. A PostgreSQL database
of a newer schema version is refused the same way until it is fixed.
"""
from __future__ import annotations

import http.client
import json
import os
import shutil
import time
import urllib.request
from pathlib import Path

import anyio
import mcp_types as types
import pytest
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp.shared.message import ClientMessageMetadata

from conftest import LATEST
from http_support import (EverythingHTTP, call, connect, error_of, events, free_port, initialize, messages, post,
                          request)
from modern_support import body as modern_body, mpost
from pg_support import postgres  # noqa: F401 - the module's PostgreSQL server fixture

pytestmark = pytest.mark.filterwarnings("ignore::mcp.MCPDeprecationWarning")

TASKS = "io.modelcontextprotocol/tasks"
PROGRESS_TEXT = "Tool with progress executed successfully"


def start(port: int, store: str, key: Path, *extra: str) -> EverythingHTTP:
    return EverythingHTTP("--store", store, "--state-key", str(key), *extra, port=port).__enter__()


@pytest.fixture(params=["sqlite", "postgres"])
def store(request, tmp_path) -> str:
    """The --store URL of each durable store: a new SQLite file, or a new database on the module's PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:{tmp_path / 'state.db'}"
    pg = request.getfixturevalue("postgres")
    return pg.url(pg.new_database())


def kill(node: EverythingHTTP) -> None:
    """SIGKILL: nothing is flushed or closed on the way out."""
    assert node.proc is not None
    node.proc.kill()
    node.proc.wait(10)


def drop_after_first_progress(url: str, sid: str) -> tuple[str, list[str]]:
    """Calls test_tool_with_progress and hangs up after its first progress event, as a client whose
    connection broke; returns the last event id it saw and every id it saw."""
    conn = connect(url)
    resp = post(url, call(10, "test_tool_with_progress", token="p1"), session=sid, version=LATEST, conn=conn)
    assert resp.status == 200 and resp.getheader("Content-Type") == "text/event-stream"
    seen: list[str] = []
    for e in events(resp):
        seen.append(e["id"])
        if e.get("data") and json.loads(e["data"]).get("method") == "notifications/progress":
            break
    conn.close()
    return seen[-1], seen


def task_2025(url: str, sid: str) -> str:
    """A 2025-11-25 task of slow_compute, polled until completed; its id."""
    msg = call(20, "slow_compute", {"seconds": 0.1, "label": "before"})
    msg["params"]["task"] = {"ttl": 600_000}
    created = messages(post(url, msg, session=sid, version=LATEST))[-1]["result"]["task"]
    return wait_2025(url, sid, created["taskId"])["taskId"]


def wait_2025(url: str, sid: str, task_id: str) -> dict:
    deadline = time.monotonic() + 15
    while True:
        t = messages(post(url, {"jsonrpc": "2.0", "id": 21, "method": "tasks/get", "params": {"taskId": task_id}},
                          session=sid, version=LATEST))[-1]
        assert "result" in t, t
        if t["result"]["status"] == "completed":
            return t["result"]
        assert time.monotonic() < deadline, t
        time.sleep(0.05)


def modern(url: str, method: str, params: dict, caps: dict | None = None) -> dict:
    msg = modern_body(method, params, caps=caps or {"elicitation": {}, "extensions": {TASKS: {}}})
    out = messages(mpost(url, msg))[-1]
    assert "result" in out, out
    return out["result"]


def modern_task(url: str) -> str:
    t = modern(url, "tools/call", {"name": "slow_compute", "arguments": {"seconds": 0.1, "label": "modern"}})
    assert t["resultType"] == "task", t
    deadline = time.monotonic() + 15
    while modern(url, "tasks/get", {"taskId": t["taskId"]})["status"] != "completed":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    return t["taskId"]


def test_a_sigkill_restart_loses_no_session_event_or_task(tmp_path, store):
    key = tmp_path / "state.key"
    key.write_bytes(os.urandom(32))
    port = free_port()
    node = start(port, store, key)
    url = node.url
    sent: list[tuple[str, int, str | None]] = []  # (method, status, Mcp-Session-Id) of every SDK request
    progress: list[float] = []

    given: list[str] = []  # Mcp-Session-Id headers of responses (initialize's)

    async def on_response(response) -> None:
        sent.append((response.request.method, response.status_code, response.request.headers.get("mcp-session-id")))
        if response.headers.get("mcp-session-id"):
            given.append(response.headers["mcp-session-id"])

    async def on_message(msg) -> None:
        if isinstance(msg, types.ServerNotification) and isinstance(msg.root, types.ProgressNotification):
            progress.append(msg.root.params.progress)

    async def body() -> None:
        nonlocal node
        client = create_mcp_http_client()
        client.event_hooks["response"].append(on_response)
        async with client, streamable_http_client(url, http_client=client) as (read, write):
            async with ClientSession(read, write, message_handler=on_message) as s:
                await s.initialize()
                assert len(given) == 1, given
                sid = given[0]
                echo = await s.call_tool("test_echo", {"text": "before"})
                assert echo.structured_content == {"text": "before"}

                last_seen, seen = await anyio.to_thread.run_sync(drop_after_first_progress, url, sid)
                task_id = await anyio.to_thread.run_sync(task_2025, url, sid)
                modern_id = await anyio.to_thread.run_sync(modern_task, url)
                first_round = await anyio.to_thread.run_sync(
                    modern, url, "tools/call", {"name": "test_input_required_result_elicitation", "arguments": {}})
                assert first_round["resultType"] == "input_required"
                await anyio.sleep(0.5)  # the abandoned call finishes; its events go to the store

                await anyio.to_thread.run_sync(kill, node)
                node = await anyio.to_thread.run_sync(start, port, store, key)
                restart_mark = len(sent)

                # The SDK client goes on with its session: same id, no new initialize, answered.
                echo = await s.call_tool("test_echo", {"text": "after"})
                assert echo.structured_content == {"text": "after"}
                after = sent[restart_mark:]
                assert after and all(h == sid for (_, _, h) in after), after
                assert all(status < 400 for (_, status, _) in after), after

                # It resumes the abandoned call's stream and gets its result.
                progress.clear()
                resumed = await s.send_request(
                    types.CallToolRequest(params=types.CallToolRequestParams(name="test_tool_with_progress",
                                                                             arguments={})),
                    types.CallToolResult, metadata=ClientMessageMetadata(resumption_token=last_seen))
                assert "".join(c.text for c in resumed.content) == PROGRESS_TEXT
                print(f"SDK resumed after {last_seen}: result, progress notifications {progress}")
                assert progress in ([], [50.0, 100.0]), progress  # the SDK may keep foreign tokens' progress

                # Exactly the missed events, in order, once each (raw replay of the same stream).
                stream, seq = last_seen.split("-")
                resp = await anyio.to_thread.run_sync(lambda: request(
                    url, "GET", headers={"Accept": "text/event-stream", "Mcp-Session-Id": sid,
                                         "MCP-Protocol-Version": LATEST, "Last-Event-ID": last_seen}))
                assert resp.status == 200
                replay = await anyio.to_thread.run_sync(lambda: list(events(resp)))
                ids = [e["id"] for e in replay]
                assert ids == [f"{stream}-{int(seq) + k}" for k in range(1, len(ids) + 1)], ids
                data = [json.loads(e["data"]) for e in replay]
                assert [d["params"]["progress"] for d in data[:-1]] == [50, 100], data
                assert data[-1]["id"] == 10 and data[-1]["result"]["content"][0]["text"] == PROGRESS_TEXT
                print(f"saw {seen} before the kill; replayed {ids} after it")

                # Tasks of both eras answer with their results.
                t = await anyio.to_thread.run_sync(wait_2025, url, sid, task_id)
                assert t["status"] == "completed"
                r = messages(await anyio.to_thread.run_sync(lambda: post(
                    url, {"jsonrpc": "2.0", "id": 30, "method": "tasks/result", "params": {"taskId": task_id}},
                    session=sid, version=LATEST)))[-1]
                assert r["result"]["content"][0]["text"] == "Computed before in 100 ms", r
                m = await anyio.to_thread.run_sync(modern, url, "tasks/get", {"taskId": modern_id})
                assert m["status"] == "completed" and m["result"]["content"][0]["text"] == "Computed modern in 100 ms"

                # The requestState sealed before the restart opens after it (same --state-key).
                second = await anyio.to_thread.run_sync(modern, url, "tools/call", {
                    "name": "test_input_required_result_elicitation", "arguments": {},
                    "requestState": first_round["requestState"],
                    "inputResponses": {"user_name": {"action": "accept", "content": {"name": "Alice"}}}})
                assert second["resultType"] == "complete" and second["content"][0]["text"] == "Hello, Alice!"

    async def main() -> None:
        with anyio.fail_after(90):
            await body()

    try:
        anyio.run(main)
    finally:
        assert node.stop() == 0


def ready(admin: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(f"http://{admin}/readyz", timeout=5) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_an_unreachable_store_fails_readiness_answers_503_and_recovers(tmp_path):
    store_dir = tmp_path / "store"  # does not exist yet: the store cannot open
    key = tmp_path / "state.key"
    key.write_text(os.urandom(32).hex())
    admin_port = free_port()
    admin = f"127.0.0.1:{admin_port}"
    with EverythingHTTP("--store", f"sqlite:{store_dir}/state.db", "--state-key", str(key),
                        "--admin", admin) as node:
        status, doc = ready(admin)
        assert status == 503 and any(r.startswith("store: ") for r in doc["reasons"]), doc
        resp = post(node.url, {"jsonrpc": "2.0", "id": 0, "method": "initialize",
                               "params": {"protocolVersion": LATEST, "capabilities": {},
                                          "clientInfo": {"name": "t", "version": "1"}}})
        assert resp.status == 503 and resp.getheader("Retry-After") == "1"
        err = error_of(resp)
        assert err["code"] == -32603 and "State store unavailable" in err["message"], err
        # A modern task needs the store too: -32603 with the reason, and no crash.
        msg = modern_body("tools/call", {"name": "slow_compute", "arguments": {"seconds": 0}},
                          caps={"extensions": {TASKS: {}}})
        out = messages(mpost(node.url, msg))[-1]
        assert out["error"]["code"] == -32603 and "State store unavailable" in out["error"]["message"], out
        # Stateless 2026-07-28 calls need no store: served all along.
        echo = messages(mpost(node.url, modern_body("tools/call", {"name": "test_echo", "arguments": {"text": "up"}})))
        assert echo[-1]["result"]["structuredContent"] == {"text": "up"}

        store_dir.mkdir()  # the store is back
        time.sleep(1.2)  # past the retry interval
        status, doc = ready(admin)
        assert status == 200, doc
        resp = post(node.url, {"jsonrpc": "2.0", "id": 0, "method": "initialize",
                               "params": {"protocolVersion": LATEST, "capabilities": {},
                                          "clientInfo": {"name": "t", "version": "1"}}})
        assert resp.status == 200 and resp.getheader("Mcp-Session-Id"), resp.read()
        resp.read()
        assert (store_dir / "state.db").exists()
        shutil.rmtree(store_dir)


def wait_ready(admin: str, want: int, within: float) -> dict:
    deadline = time.monotonic() + within
    while True:
        status, doc = ready(admin)
        if status == want:
            return doc
        assert time.monotonic() < deadline, (status, doc)
        time.sleep(0.1)


def init_status(url: str) -> tuple[int, dict]:
    resp = post(url, {"jsonrpc": "2.0", "id": 0, "method": "initialize",
                      "params": {"protocolVersion": LATEST, "capabilities": {},
                                 "clientInfo": {"name": "t", "version": "1"}}})
    return resp.status, (error_of(resp) if resp.status != 200 else messages(resp)[-1])


def test_postgres_stopped_under_a_running_server_fails_readiness_answers_503_and_recovers(tmp_path, postgres):
    url = postgres.url(postgres.new_database())
    key = tmp_path / "state.key"
    key.write_bytes(os.urandom(32))
    admin = f"127.0.0.1:{free_port()}"
    with EverythingHTTP("--store", url, "--state-key", str(key), "--admin", admin) as node:
        wait_ready(admin, 200, 10)
        sid = initialize(node.url)
        out = messages(post(node.url, call(1, "test_echo", {"text": "up"}), session=sid, version=LATEST))[-1]
        assert out["result"]["structuredContent"] == {"text": "up"}, out
        try:
            postgres.stop()
            doc = wait_ready(admin, 503, 10)
            reason = next(r for r in doc["reasons"] if r.startswith("store: "))
            assert "mcp@127.0.0.1" in reason and "mcp-test-password" not in reason, doc
            print(f"readiness while PostgreSQL is down: {reason}")

            # The session's next request, and a new session, get 503 + -32603 naming the store; no crash.
            resp = post(node.url, call(2, "test_echo", {"text": "down"}), session=sid, version=LATEST)
            assert resp.status == 503 and resp.getheader("Retry-After") == "1"
            err = error_of(resp)
            assert err["code"] == -32603 and err["message"].startswith("State store unavailable: "), err
            status, err = init_status(node.url)
            assert status == 503 and err["code"] == -32603 and "State store unavailable" in err["message"], err
            msg = modern_body("tools/call", {"name": "slow_compute", "arguments": {"seconds": 0}},
                              caps={"extensions": {TASKS: {}}})
            out = messages(mpost(node.url, msg))[-1]
            assert out["error"]["code"] == -32603 and "State store unavailable" in out["error"]["message"], out
            echo = messages(mpost(node.url, modern_body("tools/call", {"name": "test_echo",
                                                                      "arguments": {"text": "stateless"}})))
            assert echo[-1]["result"]["structuredContent"] == {"text": "stateless"}
            assert node.proc is not None and node.proc.poll() is None
        finally:
            if postgres.proc is None or postgres.proc.poll() is not None:
                postgres.start()

        # PostgreSQL is back (same data): readiness and service return by themselves.
        t0 = time.monotonic()
        wait_ready(admin, 200, 10)
        print(f"ready again {time.monotonic() - t0:.2f} s after PostgreSQL restarted")
        out = messages(post(node.url, call(3, "test_echo", {"text": "back"}), session=sid, version=LATEST))[-1]
        assert out["result"]["structuredContent"] == {"text": "back"}, out
        status, answer = init_status(node.url)
        assert status == 200 and answer["result"]["protocolVersion"] == LATEST, answer
    # The session opened before the outage is in the database (written at initialize).
    db = url.rsplit("/", 1)[1].split("?")[0]
    assert postgres.psql(f"SELECT count(*) FROM mcp_sessions WHERE id = '{sid}'", database=db) == "1"


def test_a_postgres_restart_between_requests_costs_no_request_an_error(postgres):
    url = postgres.url(postgres.new_database())
    with EverythingHTTP("--store", url) as node:
        sid = initialize(node.url)
        for round in range(2):
            out = messages(post(node.url, call(round, "test_tool_with_progress", token=round), session=sid,
                                version=LATEST))[-1]
            assert "result" in out, out
            try:
                postgres.stop()  # every pooled connection of the node is ended by the server
            finally:
                postgres.start()
        # The pooled connections are gone; the next requests get new ones, and no request sees an error.
        for k in range(3):
            resp = post(node.url, call(10 + k, "test_echo", {"text": f"after {k}"}), session=sid, version=LATEST)
            assert resp.status == 200, (resp.status, resp.read())
            assert messages(resp)[-1]["result"]["structuredContent"] == {"text": f"after {k}"}


def test_postgres_of_a_newer_schema_is_refused_until_fixed(tmp_path, postgres):
    db = postgres.new_database()
    url = postgres.url(db)
    admin = f"127.0.0.1:{free_port()}"
    with EverythingHTTP("--store", url, "--admin", admin) as node:
        wait_ready(admin, 200, 10)  # created the schema
        assert postgres.psql("SELECT version FROM mcp_schema_version", database=db) == "2"
        assert postgres.psql("SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_tables "
                             "WHERE tablename LIKE 'mcp_%'", database=db) == \
            "mcp_counters,mcp_events,mcp_messages,mcp_nodes,mcp_once_keys,mcp_schema_version,mcp_sessions," \
            "mcp_streams,mcp_tasks"
    postgres.psql("UPDATE mcp_schema_version SET version = 99", database=db)
    with EverythingHTTP("--store", url, "--admin", admin) as node:
        doc = wait_ready(admin, 503, 10)
        assert any("schema version 99; this library knows up to 2" in r for r in doc["reasons"]), doc
        status, err = init_status(node.url)
        assert status == 503 and "schema version 99" in err["message"], err
        postgres.psql("UPDATE mcp_schema_version SET version = 2", database=db)
        wait_ready(admin, 200, 10)
        assert init_status(node.url)[0] == 200


def test_bad_store_and_key_arguments_are_refused(tmp_path):
    short = tmp_path / "short.key"
    short.write_bytes(b"x" * 31)
    for flags, expected in [
        (("--store", "redis://localhost"), "expected memory:, sqlite:PATH or postgres://"),
        (("--store", "postgres://localhost/mcp"), "needs a user"),
        (("--store", "postgres://mcp:s3cret@localhost/mcp?pool_size=0"), "pool_size=0: expected a whole number"),
        (("--store", "postgres://mcp:s3cret@localhost/mcp?sslmode=maybe"), "expected disable, prefer, require"),
        (("--store", "postgresql://mcp:s3cret@localhost:99999/mcp"), "not a number from 1 to 65535"),
        (("--store", "postgres://mcp:s3cret@localhost/mcp?poolsize=4"), 'unknown parameter "poolsize"'),
        (("--store", "sqlite:"), "needs a file path"),
        (("--store", f"sqlite:{tmp_path}/s.db?synchronous=sometimes"), "unknown parameter"),
        (("--state-key", str(short)), "at least 32 bytes"),
        (("--state-key", str(tmp_path / "absent.key")), "No such file"),
    ]:
        node = EverythingHTTP(*flags)
        with pytest.raises(AssertionError):
            node.__enter__()
        assert node.proc is not None and node.proc.wait(10) != 0
        err = node.stderr + (node.proc.stderr.read() if node.proc.stderr else b"")
        assert expected.encode() in err, (flags, err)
        assert b"s3cret" not in err, err  # a password is never repeated
