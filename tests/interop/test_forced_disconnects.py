"""Forced disconnects through a fault-injecting proxy (fault_proxy.py, seeded):

- 2025 era: SSE answer streams carrying progress and a result are cut a
  thousand times; a raw client resumes each with Last-Event-ID (and the
  official Python SDK client, cut once per call), and every event arrives
  exactly once: none lost, none twice (counted and printed).
- 2026-07-28: our own client (libmcp through the Python binding) re-issues
  requests whose connection was cut; an idempotent tool's effect is as if it
  ran once, and each call completes once with its own answer.
"""
from __future__ import annotations

import http.client
import json
import os
import random
import threading
import time


from conftest import LATEST
from fault_proxy import Cut, FaultProxy
from http_support import HostHTTP, call, initialize, libmcp_binding

PROGRESS_EVENTS = 40
TARGET_CUTS = 1000


class Stream:
    """A raw SSE reader that, unlike read_event, drops an event cut short:
    an event counts only once its blank line arrived (as in a browser)."""

    def __init__(self, resp: http.client.HTTPResponse):
        self.resp = resp

    def __iter__(self):
        fields: dict[str, str] = {}
        data: list[str] = []
        while True:
            try:
                line = self.resp.readline()
            except (OSError, http.client.HTTPException, AttributeError):
                # Cut (http.client drops its file on a broken chunk, hence
                # AttributeError): whatever was half-read is dropped.
                return
            if not line or not line.endswith(b"\n"):
                return
            text = line.decode().rstrip("\r\n")
            if text == "":
                if fields or data:
                    if data:
                        fields["data"] = "\n".join(data)
                    yield fields
                fields, data = {}, []
                continue
            if text.startswith(":"):
                continue
            name, _, value = text.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if name == "data":
                data.append(value)
            else:
                fields[name] = value


def cut_answer_streams(rng: random.Random, request_line: bytes) -> Cut | None:
    """POSTs are cut only after their priming event (a 2025-era client can
    resume only from an event id); resumption GETs anywhere, their head too."""
    if request_line.startswith(b"POST"):
        return Cut(rng.randrange(0, 3000), after_first_event=True)
    if request_line.startswith(b"GET"):
        return Cut(rng.randrange(0, 3000))
    return None


def one_call(url: str, sid: str, rid: int, tally: dict) -> None:
    """One tools/call of `progress`, resumed after every cut until its result."""
    headers = {"Host": url.split("/")[2], "Content-Type": "application/json",
               "Accept": "application/json, text/event-stream", "Mcp-Session-Id": sid,
               "MCP-Protocol-Version": LATEST}
    host, port = url.split("/")[2].split(":")
    body = json.dumps(call(rid, "progress", {"n": PROGRESS_EVENTS, "ms": 1}, token=f"t{rid}"))
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    conn.request("POST", "/mcp", body=body, headers=headers)
    resp = conn.getresponse()
    assert resp.status == 200 and resp.getheader("Content-Type") == "text/event-stream", resp.status
    seen_ids: set[str] = set()
    last_id: str | None = None
    answered = False
    for attempt in range(200):
        for ev in Stream(resp) if resp is not None else ():
            if "id" in ev:
                assert ev["id"] not in seen_ids, f"event {ev['id']} delivered twice"
                seen_ids.add(ev["id"])
                last_id = ev["id"]
            if not ev.get("data"):
                continue  # a priming event
            msg = json.loads(ev["data"])
            if msg.get("method") == "notifications/progress":
                assert msg["params"]["progressToken"] == f"t{rid}", msg
                tally["progress"].append((rid, msg["params"]["progress"]))
            elif msg.get("id") == rid:
                assert msg["result"]["content"][0]["text"] == f"progressed {PROGRESS_EVENTS}", msg
                tally["results"].append(rid)
                answered = True
        conn.close()
        if answered:
            return
        assert last_id is not None, "a POST was cut before its priming event"
        tally["resumptions"] += 1
        conn = http.client.HTTPConnection(host, int(port), timeout=10)
        try:
            conn.request("GET", "/mcp", headers={**headers, "Accept": "text/event-stream", "Last-Event-ID": last_id})
            resp = conn.getresponse()
        except (OSError, http.client.HTTPException):
            resp = None
        if resp is None:
            continue  # the resumption itself was cut before its head: again, same id
        assert resp.status == 200, (resp.status, resp.read())
    raise AssertionError(f"call {rid} was never answered")


def test_a_thousand_cuts_lose_and_repeat_no_event_2025_raw_client():
    with HostHTTP({"sse_retry_ms": 10}) as host, \
            FaultProxy(host.port, cut_answer_streams) as proxy:
        fds_before = len(os.listdir(f"/proc/{host.proc.pid}/fd"))
        tally: dict = {"progress": [], "results": [], "resumptions": 0}
        errors: list[BaseException] = []
        rid_lock = threading.Lock()
        next_rid = [0]
        started = time.monotonic()

        def worker() -> None:
            try:
                sid = initialize(host.url())  # directly: the handshake is not what is cut here
                while proxy.cuts < TARGET_CUTS and time.monotonic() - started < 60:
                    with rid_lock:
                        next_rid[0] += 1
                        rid = next_rid[0]
                    one_call(proxy.url, sid, rid, tally)
            except BaseException as e:  # noqa: BLE001 - handed to the main thread
                errors.append(e)

        threads = [threading.Thread(target=worker) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(90)
        assert not errors, f"{proxy.describe()}: {errors[0]!r}"
        calls = next_rid[0]
        expected = {(rid, float(i)) for rid in range(1, calls + 1) for i in range(1, PROGRESS_EVENTS + 1)}
        got = tally["progress"]
        lost = len(expected - set(got)) + (calls - len(set(tally["results"])))
        duplicated = (len(got) - len(set(got))) + (len(tally["results"]) - len(set(tally["results"])))
        print(f"{proxy.describe()}: {proxy.cuts} cuts over {proxy.connections} connections, {calls} calls, "
              f"{len(got) + len(tally['results'])} events delivered, {tally['resumptions']} resumptions, "
              f"lost {lost}, duplicated {duplicated}, {time.monotonic() - started:.1f} s")
        assert proxy.cuts >= TARGET_CUTS, proxy.describe()
        assert (lost, duplicated) == (0, 0), proxy.describe()
        # Every cut connection was closed on the server's side too.
        deadline = time.monotonic() + 5
        while (fds := len(os.listdir(f"/proc/{host.proc.pid}/fd"))) > fds_before and time.monotonic() < deadline:
            time.sleep(0.1)
        assert fds <= fds_before, f"{proxy.describe()}: the server holds {fds - fds_before} more descriptors"


def cut_posts_once(rng: random.Random, request_line: bytes) -> Cut | None:
    """Every POST's answer stream is cut once, somewhere after its priming
    event; resumptions go through. (The SDK resumes a cut resumption from the
    event id it had before that resumption, so cutting those would make the
    SDK itself repeat events: its matter, not the server's.)"""
    return Cut(rng.randrange(0, 4000), after_first_event=True) if request_line.startswith(b"POST") else None


def test_cut_streams_resumed_by_the_official_sdk_client_deliver_each_event_once():
    import anyio
    from mcp import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    calls = 25
    seen: dict[int, list[float]] = {i: [] for i in range(calls)}
    results: list[str] = []

    with HostHTTP({"sse_retry_ms": 10}) as host, FaultProxy(host.port, cut_posts_once) as proxy:
        async def body() -> None:
            async with streamable_http_client(proxy.url) as (read, write):
                async with ClientSession(read, write) as session:
                    await session.initialize()
                    for i in range(calls):
                        async def on_progress(progress, total, message, i=i):
                            seen[i].append(progress)
                        r = await session.call_tool("progress", {"n": PROGRESS_EVENTS, "ms": 1},
                                                    progress_callback=on_progress)
                        results.append(r.content[0].text)

        async def main() -> None:
            with anyio.fail_after(60):
                await body()
        anyio.run(main)
        expected = [float(p) for p in range(1, PROGRESS_EVENTS + 1)]
        lost = sum(len(set(expected) - set(v)) for v in seen.values()) + calls - len(results)
        duplicated = sum(len(v) - len(set(v)) for v in seen.values())
        print(f"{proxy.describe()}: SDK client, {proxy.cuts} cuts, {calls} calls, "
              f"{sum(map(len, seen.values())) + len(results)} events delivered, lost {lost}, duplicated {duplicated}")
        assert results == [f"progressed {PROGRESS_EVENTS}"] * calls, proxy.describe()
        assert proxy.cuts >= calls // 2, proxy.describe()
        assert (lost, duplicated) == (0, 0), proxy.describe()


def test_cut_modern_requests_are_reissued_by_our_client_and_an_idempotent_effect_holds_once():
    """2026-07-28 has no resumption: a request whose connection is cut is
    issued again as a new request (mcp.h, mcp_client_connect_http; at most
    twice per request). The first exchange on a fresh connection is never cut
    here (cut points from 700 bytes on; an answer is under 300 bytes, a
    request under 700), so every call can succeed; a cut later on a
    kept-alive connection breaks whichever request is then in flight: its
    answer cut (the server ran it) or the request itself cut short (the server
    never had it whole)."""
    libmcp = libmcp_binding()
    armed = threading.Event()

    def plan(rng: random.Random, request_line: bytes) -> Cut | None:
        if not armed.is_set() or not request_line.startswith(b"POST"):
            return None
        if rng.random() < 0.3:  # the client's bytes cut: a request the server never had whole
            return Cut(rng.randrange(900, 3000), upstream=True)
        return Cut(rng.randrange(700, 2500))

    per_thread, threads_n = 80, 4
    with HostHTTP({}) as host, FaultProxy(host.port, plan) as proxy:
        client = libmcp.Client.http(proxy.url, era="2026-07-28", request_timeout=10)
        try:
            armed.set()
            answers: dict[str, list[str]] = {}
            errors: list[BaseException] = []

            def worker(t: int) -> None:
                try:
                    for i in range(per_thread):
                        key = f"k{t}-{i}"
                        r = client.call_tool("put", {"key": key, "value": i * 7 + t})
                        answers.setdefault(key, []).append(r["content"][0]["text"])
                except BaseException as e:  # noqa: BLE001 - handed to the main thread
                    errors.append(e)

            threads = [threading.Thread(target=worker, args=(t,)) for t in range(threads_n)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(60)
            armed.clear()
            assert not errors, f"{proxy.describe()}: {errors[0]!r}"
            tally = json.loads(client.call_tool("tally", {})["content"][0]["text"])
        finally:
            client.close()
        keys = {f"k{t}-{i}": i * 7 + t for t in range(threads_n) for i in range(per_thread)}
        assert answers == {k: [f"put {k}"] for k in keys}, proxy.describe()  # each call answered once
        assert tally["store"] == keys, proxy.describe()  # the effect is there, with the right value
        runs = sum(tally["calls"].values())
        print(f"{proxy.describe()}: our client at 2026-07-28, {proxy.cuts} cuts over {proxy.connections} "
              f"connections, {len(keys)} calls, {runs} runs of the tool ({runs - len(keys)} re-issued after the "
              f"server ran them), every call answered once")
        assert proxy.cuts >= 20, proxy.describe()
        assert all(1 <= n <= 3 for n in tally["calls"].values()), proxy.describe()  # at most 2 re-issues


def test_cut_streams_resumed_by_our_client_deliver_each_event_once():
    """The same cuts as for the raw client (POST answers after their priming
    event, resumptions and the standalone GET stream anywhere), against our
    own client at 2025-11-25: it resumes every cut stream with Last-Event-ID
    and hands each progress report and each result to the host once."""
    libmcp = libmcp_binding()
    calls = 60
    seen: dict[int, list[float]] = {i: [] for i in range(calls)}
    results: dict[int, list[str]] = {i: [] for i in range(calls)}
    with HostHTTP({"sse_retry_ms": 10}) as host, FaultProxy(host.port, cut_answer_streams) as proxy:
        client = libmcp.Client.http(proxy.url, era="2025-11-25", request_timeout=20)
        try:
            pending = []
            for i in range(calls):
                req = client.send("tools/call", {"name": "progress", "arguments": {"n": PROGRESS_EVENTS, "ms": 1}},
                                  progress=lambda p, total, message, i=i: seen[i].append(p))
                pending.append(req)
                if len(pending) == 6:  # six in flight at a time
                    for j, r in enumerate(pending, start=i - 5):
                        results[j].append(r.result(30)["content"][0]["text"])
                    pending = []
            for j, r in enumerate(pending, start=calls - len(pending)):
                results[j].append(r.result(30)["content"][0]["text"])
        finally:
            client.close()
    expected = [float(p) for p in range(1, PROGRESS_EVENTS + 1)]
    lost = sum(len(set(expected) - set(v)) for v in seen.values())
    duplicated = sum(len(v) - len(set(v)) for v in seen.values())
    print(f"{proxy.describe()}: our client at 2025-11-25, {proxy.cuts} cuts, {calls} calls, "
          f"{sum(map(len, seen.values()))} progress events delivered, lost {lost}, duplicated {duplicated}")
    assert results == {i: [f"progressed {PROGRESS_EVENTS}"] for i in range(calls)}, proxy.describe()
    assert proxy.cuts >= calls, proxy.describe()
    assert (lost, duplicated) == (0, 0), proxy.describe()


def test_a_cut_listen_stream_is_reissued_then_ends_the_subscription_with_its_reason():
    """subscriptions/listen at 2026-07-28 through a proxy that cuts every SSE
    stream after its first event (the acknowledgment): our client issues the
    listen again (twice), then ends the subscription and says why; the
    client goes on serving calls (JSON answers are not cut)."""
    libmcp = libmcp_binding()
    armed = threading.Event()

    def plan(rng: random.Random, request_line: bytes) -> Cut | None:
        return Cut(rng.randrange(0, 40), after_first_event=True) if armed.is_set() else None

    # The cut (a reset) comes with the first keep-alive after the acknowledgment: 500 ms
    # leave a loaded machine time to read the acknowledgment before the reset discards it.
    with HostHTTP({"sse_keepalive_ms": 500}) as host, FaultProxy(host.port, plan) as proxy:
        armed.set()
        client = libmcp.Client.http(proxy.url, era="2026-07-28", request_timeout=10)
        try:
            ended = threading.Event()
            reasons: list[str] = []
            sub = client.listen(lambda method, params: None, tools_list_changed=True,
                                on_end=lambda reason: (reasons.append(reason), ended.set()))
            assert sub.honored == {"toolsListChanged": True}
            assert ended.wait(10), proxy.describe()
            assert proxy.cuts == 3, proxy.describe()  # the first stream and two re-issues
            assert reasons == ["the subscription broke: The answer stream ended before the answer"], reasons
            assert client.call_tool("echo", {"text": "still here"})["content"][0]["text"] == "still here"
        finally:
            client.close()
