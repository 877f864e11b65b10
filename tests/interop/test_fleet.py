"""A fleet: three everything-server processes sharing one store behind nginx round-robin with no stickiness
(deploy/fleet.md), run twice: on one SQLite file (`--store sqlite:FILE`, WAL mode; the channel between nodes is
polled) and on a private PostgreSQL (`--store postgres://...`, started by pg_support.py; the channel is
LISTEN/NOTIFY, with the poll as the fallback).

Any node serves any request of a 2025-era session: a session made on one node is served on the others;
stream numbers are allocated in the store, so streams of one session opened on different nodes never share
an id; a call's stream dropped on one node and resumed with Last-Event-ID on another gets exactly the
events it missed, relayed live until the call's answer; a task answers tasks/get and tasks/result on every
node; a server-to-client request (elicitation) sent on one node is answered by a POST that lands on
another (relayed through the store's channel); a resource change on one node reaches the subscriber's
stream on another, once.

Then one node is killed with SIGKILL in the middle of long calls with progress, made through nginx by the
official Python SDK client in both eras and by our own client (the Python binding): every call ends, with
its result (each progress event exactly once) or with an error (the node-lost error of the relay for the
2025-era clients, once the dead node's lease in the store expired), and a task the dead node was running
is marked failed. Finally every node is restarted in turn and no session and no task is lost.
"""
from __future__ import annotations

import json
import os
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import anyio
import pytest
from mcp import Client, MCPError
from mcp_types import ElicitResult

from conftest import LATEST
from http_support import EverythingHTTP, call, connect, events, free_port, libmcp_binding, messages, post, request
from nginx_support import Nginx
from pg_support import postgres  # noqa: F401 - the module's PostgreSQL server fixture

pytestmark = pytest.mark.filterwarnings("ignore::mcp.MCPDeprecationWarning")

LEASE_MS = 3000  # how long a dead node's calls wait before a survivor ends them
STEPS, INTERVAL_MS = 25, 100  # the long calls: 2.5 s of progress
NODE_LOST = "stopped"  # in the message of the relay's error (FleetRelay.nodeLost)


class Fleet:
    def __init__(self, tmp: Path, pg=None):
        """On the SQLite file tmp/state.db, or on a new database of the PrivatePostgres `pg`."""
        self.db, self.key = tmp / "state.db", tmp / "state.key"
        self.key.write_bytes(os.urandom(32))
        self.pg, self.pg_db = pg, pg.new_database() if pg else None
        self.store = pg.url(self.pg_db) if pg else f"sqlite:{self.db}"
        self.ports = [free_port() for _ in range(3)]
        self.nodes: list[EverythingHTTP | None] = [None, None, None]

    def start(self, i: int) -> None:
        self.nodes[i] = EverythingHTTP("--store", self.store, "--state-key", str(self.key),
                                       "--fleet-lease-ms", str(LEASE_MS), "--fleet-poll-ms", "20",
                                       port=self.ports[i]).__enter__()

    def url(self, i: int) -> str:
        return f"http://127.0.0.1:{self.ports[i]}/mcp"

    def kill(self, i: int) -> None:
        node = self.nodes[i]
        assert node is not None and node.proc is not None
        node.proc.kill()
        node.proc.wait(10)
        self.nodes[i] = None

    def restart(self, i: int) -> None:
        node = self.nodes[i]
        assert node is not None and node.stop() == 0, node.stderr.decode(errors="replace")[-2000:] if node else ""
        self.start(i)

    def stop_all(self) -> None:
        for i, node in enumerate(self.nodes):
            if node is not None:
                node.stop()
                self.nodes[i] = None

    def relayed(self) -> int:
        """How many messages relayed an answer to another node (the store's channel)."""
        if self.pg:
            return int(self.pg.psql("SELECT count(*) FROM mcp_messages WHERE kind = 'relayed'", database=self.pg_db))
        with sqlite3.connect(self.db, timeout=10) as db:
            return db.execute("SELECT count(*) FROM messages WHERE kind = 'relayed'").fetchall()[0][0]


def tools_call(url: str, sid: str, rid, tool: str, args: dict | None = None, token=None) -> dict:
    return messages(post(url, call(rid, tool, args, token=token), session=sid, version=LATEST))[-1]


def progress_events(url: str, sid: str, rid: int, steps: int, interval_ms: int, *, drop_after: int | None = None):
    """POSTs test_progress_stream and reads its SSE events (all, or up to `drop_after` progress events, then hangs
    up as a client whose connection broke); returns the events."""
    conn = connect(url)
    resp = post(url, call(rid, "test_progress_stream", {"steps": steps, "interval_ms": interval_ms}, token=f"t{rid}"),
                session=sid, version=LATEST, conn=conn)
    assert resp.status == 200 and resp.getheader("Content-Type") == "text/event-stream", resp.status
    seen = []
    for e in events(resp):
        seen.append(e)
        if drop_after is not None and sum(1 for x in seen if x.get("data")) >= drop_after:
            break
    conn.close()
    return seen


def resume(url: str, sid: str, last: str) -> list[dict]:
    resp = request(url, "GET", headers={"Accept": "text/event-stream", "Mcp-Session-Id": sid,
                                        "MCP-Protocol-Version": LATEST, "Last-Event-ID": last})
    assert resp.status == 200, (resp.status, resp.read())
    return list(events(resp))


def check_resumed(before: list[dict], after: list[dict], rid: int, steps: int) -> None:
    """`after` holds exactly the events of the stream that followed `before`: consecutive ids, each progress step
    once, then the answer."""
    stream, seq = before[-1]["id"].split("-")
    ids = [e["id"] for e in after]
    assert ids == [f"{stream}-{int(seq) + k}" for k in range(1, len(ids) + 1)], ids
    data = [json.loads(e["data"]) for e in before + after if e.get("data")]
    steps_seen = [d["params"]["progress"] for d in data if d.get("method") == "notifications/progress"]
    assert steps_seen == list(range(1, steps + 1)), steps_seen
    assert data[-1]["id"] == rid and data[-1]["result"]["content"][0]["text"] == f"Streamed {steps} progress steps"


def any_node_serves(fleet: Fleet, lb: Nginx) -> tuple[str, str]:
    """Item 2 without failures; returns a session id and a completed task id for the restarts."""
    sid = initialize_via(lb.url)
    for i in range(6):
        r = tools_call(lb.url, sid, 100 + i, "test_echo", {"text": f"e{i}"})
        assert r["result"]["structuredContent"] == {"text": f"e{i}"}, r
    served = {row[2] for row in lb.log() if row[3] == sid}
    assert served == {f"127.0.0.1:{p}" for p in fleet.ports}, served
    print(f"one session served by {len(served)} nodes")

    # Streams of one session opened at once on different nodes: distinct numbers, each numbered from 0 on.
    with ThreadPoolExecutor(6) as pool:
        runs = list(pool.map(lambda rid: progress_events(lb.url, sid, rid, 3, 30), range(200, 206)))
    numbers = set()
    for run in runs:
        streams = {e["id"].split("-")[0] for e in run}
        assert len(streams) == 1, run
        assert [int(e["id"].split("-")[1]) for e in run] == list(range(len(run))), run
        numbers |= streams
    assert len(numbers) == 6, numbers
    print(f"6 concurrent streams of one session across nodes: stream ids {sorted(numbers, key=int)}")

    # A stream dropped on node 0 and resumed on node 1 (and on 2): exactly the missed events, relayed
    # live until the answer.
    for owner, resumer in ((0, 1), (2, 0)):
        before = progress_events(fleet.url(owner), sid, 300 + owner, 10, 100, drop_after=2)
        after = resume(fleet.url(resumer), sid, before[-1]["id"])
        check_resumed(before, after, 300 + owner, 10)
        print(f"dropped on node {owner} after {before[-1]['id']}, resumed on node {resumer}: {len(after)} events")
    # The same through nginx, wherever it lands.
    before = progress_events(lb.url, sid, 310, 10, 100, drop_after=2)
    check_resumed(before, resume(lb.url, sid, before[-1]["id"]), 310, 10)

    # A 2025 task: tasks/get and tasks/result on every node.
    msg = call(400, "slow_compute", {"seconds": 0.5, "label": "fleet"})
    msg["params"]["task"] = {"ttl": 600_000}
    task_id = messages(post(lb.url, msg, session=sid, version=LATEST))[-1]["result"]["task"]["taskId"]
    for i in range(3):
        r = messages(post(fleet.url(i), task_req(401 + i, "tasks/get", task_id), session=sid, version=LATEST))[-1]
        assert r["result"]["status"] in ("working", "completed"), r
    wait_task(lb.url, sid, task_id, "completed")
    for i in range(3):
        check_task(fleet.url(i), sid, task_id)
    return sid, task_id


def initialize_via(url: str) -> str:
    resp = post(url, {"jsonrpc": "2.0", "id": 0, "method": "initialize",
                      "params": {"protocolVersion": LATEST, "capabilities": {},
                                 "clientInfo": {"name": "fleet-test", "version": "1"}}})
    assert resp.status == 200, resp.status
    sid = resp.getheader("Mcp-Session-Id")
    messages(resp)
    r = post(url, {"jsonrpc": "2.0", "method": "notifications/initialized"}, session=sid, version=LATEST)
    assert r.status == 202, r.status
    r.read()
    return sid


def task_req(rid: int, method: str, task_id: str) -> dict:
    return {"jsonrpc": "2.0", "id": rid, "method": method, "params": {"taskId": task_id}}


def wait_task(url: str, sid: str, task_id: str, status: str, within: float = 15) -> None:
    deadline = time.monotonic() + within
    while True:
        r = messages(post(url, task_req(500, "tasks/get", task_id), session=sid, version=LATEST))[-1]
        if r["result"]["status"] == status:
            return
        assert time.monotonic() < deadline, r
        time.sleep(0.1)


def check_task(url: str, sid: str, task_id: str) -> None:
    r = messages(post(url, task_req(501, "tasks/get", task_id), session=sid, version=LATEST))[-1]
    assert r["result"]["status"] == "completed", r
    r = messages(post(url, task_req(502, "tasks/result", task_id), session=sid, version=LATEST))[-1]
    assert r["result"]["content"][0]["text"] == "Computed fleet in 500 ms", r


async def relayed_messages(fleet: Fleet, lb: Nginx) -> None:
    """Elicitation answered through another node, and resource changes from every node, with the SDK client."""
    updates: list[str] = []

    async def on_elicit(ctx, params):
        return ElicitResult(action="accept", content={"username": "ada", "email": "ada@example.com"})

    async def on_message(msg) -> None:
        root = getattr(msg, "root", msg)
        if getattr(root, "method", None) == "notifications/resources/updated":
            updates.append(root.params.uri)

    async with Client(lb.url, mode="legacy", read_timeout_seconds=30, cache=None, elicitation_callback=on_elicit,
                      message_handler=on_message) as c:
        for i in range(3):
            r = await c.call_tool("test_elicitation", {"message": f"who {i}"})
            assert not r.is_error and "ada@example.com" in r.content[0].text, r
        relayed = fleet.relayed()
        assert relayed >= 1, "no elicitation answer crossed nodes"
        print(f"3 elicitations answered, {relayed} answers relayed to the node that asked")

        await c.session.subscribe_resource("test://watched-resource")
        for _ in range(3):
            await c.call_tool("test_update_watched_resource", {})
        with anyio.fail_after(10):
            while len(updates) < 3:
                await anyio.sleep(0.05)
        await anyio.sleep(0.5)  # any duplicate would arrive by now
        assert updates == ["test://watched-resource"] * 3, updates
        print("3 resource changes made on 3 nodes reached the subscriber once each")


async def kill_under_load(fleet: Fleet, lb: Nginx, sid: str) -> None:
    """SIGKILL of node 1 while long calls run through nginx; every call ends, each event exactly once."""
    outcomes: list[tuple[str, str, list[float]]] = []  # (client, "result" | error text, progress seen)

    # A task node 1 is running when it dies: it must end failed, not working for ever.
    msg = call(600, "slow_compute", {"seconds": 60, "label": "doomed"})
    msg["params"]["task"] = {"ttl": 600_000}
    doomed = messages(post(fleet.url(1), msg, session=sid, version=LATEST))[-1]["result"]["task"]["taskId"]

    async def sdk_call(c: Client, who: str) -> None:
        seen: list[float] = []

        async def on_progress(progress, total, message):
            seen.append(progress)

        try:
            r = await c.call_tool("test_progress_stream", {"steps": STEPS, "interval_ms": INTERVAL_MS},
                                  progress_callback=on_progress)
            assert not r.is_error and r.content[0].text == f"Streamed {STEPS} progress steps", r
            outcomes.append((who, "result", seen))
        except MCPError as e:
            outcomes.append((who, f"error {e.code}: {e.message}", seen))

    def own_call() -> None:
        mcp = libmcp_binding()
        seen: list[float] = []
        with mcp.Client(era="legacy") as c:  # the 2025 era: a broken stream is resumed, not resent
            c.connect_http(lb.url, timeout=60)
            try:
                r = c.call_tool("test_progress_stream", {"steps": STEPS, "interval_ms": INTERVAL_MS}, timeout=60,
                                progress=lambda p, t, m: seen.append(p))
                assert r["content"][0]["text"] == f"Streamed {STEPS} progress steps", r
                outcomes.append(("ours", "result", seen))
            except Exception as e:  # noqa: BLE001 - any error the binding raises is an answer
                outcomes.append(("ours", f"error {type(e).__name__}: {e}", seen))

    async def killer() -> None:
        await anyio.sleep(1.0)
        await anyio.to_thread.run_sync(fleet.kill, 1)

    async with Client(lb.url, mode="legacy", read_timeout_seconds=60, cache=None) as legacy, \
            Client(lb.url, mode="2026-07-28", read_timeout_seconds=60, cache=None) as modern:
        async with anyio.create_task_group() as tg:
            for _ in range(6):
                tg.start_soon(sdk_call, legacy, "sdk-2025")
            for _ in range(3):
                tg.start_soon(sdk_call, modern, "sdk-2026")
            for _ in range(3):
                tg.start_soon(anyio.to_thread.run_sync, own_call)
            tg.start_soon(killer)

    counts: dict[str, int] = {}
    for who, outcome, seen in outcomes:
        key = f"{who} {'result' if outcome == 'result' else 'error'}"
        counts[key] = counts.get(key, 0) + 1
        assert len(seen) == len(set(seen)), (who, outcome, seen)  # no progress event twice
        if outcome == "result":
            assert seen == [float(k) for k in range(1, STEPS + 1)], (who, seen)
        else:
            assert seen == [float(k) for k in range(1, len(seen) + 1)], (who, outcome, seen)
            if who == "sdk-2025":
                assert NODE_LOST in outcome, outcome
        print(f"{who}: {outcome[:100]} after {len(seen)} progress events")
    assert len(outcomes) == 12, outcomes
    assert sum(1 for _, o, _ in outcomes if o != "result") >= 1, "the kill hit no call"
    print(f"calls through the kill: {counts}")

    wait_task(lb.url, sid, doomed, "failed", within=LEASE_MS / 1000 + 10)
    print("the dead node's task is marked failed")


@pytest.mark.parametrize("store", ["sqlite", "postgres"])
def test_a_fleet_behind_nginx_survives_a_node_kill_and_restarts(tmp_path, request, store):
    fleet = Fleet(tmp_path, request.getfixturevalue("postgres") if store == "postgres" else None)
    lb_dir = tmp_path / "nginx"
    try:
        for i in range(3):
            fleet.start(i)
        with Nginx(lb_dir, free_port(), [f"127.0.0.1:{p}" for p in fleet.ports]) as lb:
            started = time.monotonic()
            sid, task_id = any_node_serves(fleet, lb)
            anyio.run(relayed_messages, fleet, lb)
            anyio.run(kill_under_load, fleet, lb, sid)
            fleet.start(1)

            # Every node restarted in turn: the session and the task are served after each.
            for i in range(3):
                fleet.restart(i)
                for k in range(3):
                    r = tools_call(lb.url, sid, 700 + 10 * i + k, "test_echo", {"text": f"r{i}{k}"})
                    assert r["result"]["structuredContent"] == {"text": f"r{i}{k}"}, r
                for j in range(3):
                    check_task(fleet.url(j), sid, task_id)
            print(f"3 rolling restarts: session and task kept; fleet test on {store} took "
                  f"{time.monotonic() - started:.1f} s")
    finally:
        fleet.stop_all()
