"""SSE streams of the Streamable HTTP transport, raw: concurrent POSTs each on
their own stream, priming events, and resumption with Last-Event-ID after a
dropped connection (exactly the missed events, never another stream's)."""
from __future__ import annotations

import json
import threading
import time

import pytest

from conftest import LATEST
from http_support import EverythingHTTP, call, events, initialize, post, read_event, request


@pytest.fixture(scope="module")
def server():
    with EverythingHTTP() as s:
        yield s


def stream_of(event_id: str) -> str:
    return event_id.split("-")[0]


def test_each_stream_opens_with_a_priming_event(server):
    sid = initialize(server.url)
    resp = post(server.url, call(1, "test_echo", {"text": "p"}), session=sid, version=LATEST)
    first = read_event(resp)
    assert first is not None and first.get("id") and first.get("retry") == "1000"
    assert first.get("data", "") == ""
    rest = list(events(resp))
    assert [json.loads(e["data"])["id"] for e in rest] == [1]
    assert all(stream_of(e["id"]) == stream_of(first["id"]) for e in rest)


def test_three_concurrent_posts_each_get_their_own_stream(server):
    sid = initialize(server.url)
    results: dict[int, list[dict]] = {}

    def one(i: int) -> None:
        resp = post(server.url, call(i, "test_sleep", {"ms": 300 - 100 * i}), session=sid, version=LATEST)
        assert resp.status == 200
        results[i] = list(events(resp))

    threads = [threading.Thread(target=one, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(15)
    assert sorted(results) == [0, 1, 2]
    streams = set()
    for i, evs in results.items():
        answers = [json.loads(e["data"]) for e in evs if e.get("data")]
        assert [a["id"] for a in answers] == [i], answers  # its own answer, nobody else's
        assert answers[0]["result"]["content"][0]["text"] == f"Slept {300 - 100 * i} ms"
        ids = {stream_of(e["id"]) for e in evs}
        assert len(ids) == 1
        streams |= ids
    assert len(streams) == 3


def test_resume_after_a_dropped_connection_gets_exactly_the_missed_events(server):
    sid = initialize(server.url)
    resp = post(server.url, call(5, "test_tool_with_progress", token="t"), session=sid, version=LATEST)
    priming = read_event(resp)
    first = read_event(resp)
    assert priming and first and json.loads(first["data"])["params"]["progress"] == 0
    resp.close()  # the connection drops mid-call; the call goes on
    time.sleep(0.4)  # the tool finishes meanwhile (two more progress events and the result)

    resumed = request(server.url, "GET", headers={"Mcp-Session-Id": sid, "MCP-Protocol-Version": LATEST,
                                                  "Accept": "text/event-stream", "Last-Event-ID": first["id"]})
    assert resumed.status == 200
    missed = list(events(resumed))
    got = [json.loads(e["data"]) for e in missed]
    assert [m.get("params", {}).get("progress") for m in got[:-1]] == [50, 100]
    assert got[-1]["id"] == 5 and "result" in got[-1]
    assert len({e["id"] for e in missed} | {first["id"]}) == len(missed) + 1  # nothing repeated
    assert all(stream_of(e["id"]) == stream_of(first["id"]) for e in missed)


def test_resume_while_the_call_still_runs_continues_live(server):
    sid = initialize(server.url)
    resp = post(server.url, call(6, "test_sleep", {"ms": 500}), session=sid, version=LATEST)
    priming = read_event(resp)
    assert priming and priming["id"]
    resp.close()
    resumed = request(server.url, "GET", headers={"Mcp-Session-Id": sid, "MCP-Protocol-Version": LATEST,
                                                  "Accept": "text/event-stream", "Last-Event-ID": priming["id"]})
    got = [json.loads(e["data"]) for e in events(resumed)]  # waits for the answer, then the stream ends
    assert [m["id"] for m in got] == [6] and got[0]["result"]["content"][0]["text"] == "Slept 500 ms"


def test_resume_never_replays_another_streams_events(server):
    sid = initialize(server.url)
    a = post(server.url, call(1, "test_echo", {"text": "a"}), session=sid, version=LATEST)
    a_events = list(events(a))
    b = post(server.url, call(2, "test_echo", {"text": "b"}), session=sid, version=LATEST)
    list(events(b))
    resumed = request(server.url, "GET", headers={"Mcp-Session-Id": sid, "MCP-Protocol-Version": LATEST,
                                                  "Accept": "text/event-stream", "Last-Event-ID": a_events[0]["id"]})
    got = [json.loads(e["data"]) for e in events(resumed)]
    assert [m["id"] for m in got] == [1]


@pytest.mark.parametrize("last", ["garbage", "999-0", "1-999"])
def test_unusable_last_event_id_is_400(server, last):
    sid = initialize(server.url)
    resp = request(server.url, "GET", headers={"Mcp-Session-Id": sid, "MCP-Protocol-Version": LATEST,
                                               "Accept": "text/event-stream", "Last-Event-ID": last})
    assert resp.status == 400
    assert json.loads(resp.read())["error"]["code"] == -32600


def test_cancelled_call_ends_its_stream_without_an_answer(server):
    sid = initialize(server.url)
    resp = post(server.url, call(9, "test_sleep", {"ms": 5000}), session=sid, version=LATEST)
    assert read_event(resp)  # priming
    cancel = post(server.url, {"jsonrpc": "2.0", "method": "notifications/cancelled",
                               "params": {"requestId": 9, "reason": "test"}}, session=sid, version=LATEST)
    assert cancel.status == 202
    started = time.monotonic()
    assert [e for e in events(resp) if e.get("data")] == []
    assert time.monotonic() - started < 4  # ended by the cancel, not by the 5 s sleep


@pytest.mark.parametrize("flags", [(), ("--json-response",)])
def test_server_closed_stream_is_resumed_with_last_event_id(flags):
    """test_reconnection ends its SSE connection mid-call (mcp_call_close_stream)
    and answers while the client is away: the stream ends after the priming
    event, and a GET with that event's id delivers the answer."""
    with EverythingHTTP(*flags) as s:
        sid = initialize(s.url)
        resp = post(s.url, call(3, "test_reconnection"), session=sid, version=LATEST)
        assert resp.status == 200 and resp.getheader("Content-Type") == "text/event-stream"
        got = list(events(resp))
        assert len(got) == 1 and got[0].get("data", "") == "" and got[0]["retry"] == "1000"  # priming only
        time.sleep(0.3)
        resumed = request(s.url, "GET", headers={"Mcp-Session-Id": sid, "MCP-Protocol-Version": LATEST,
                                                 "Accept": "text/event-stream", "Last-Event-ID": got[0]["id"]})
        answers = [json.loads(e["data"]) for e in events(resumed)]
        assert [a["id"] for a in answers] == [3]
        assert answers[0]["result"]["content"][0]["text"] == "Reconnection test completed"


def test_closing_the_stream_is_refused_where_it_cannot_resume():
    """Stateless: no session to resume in, so the call simply answers on its stream."""
    with EverythingHTTP("--stateless") as s:
        resp = post(s.url, call(4, "test_reconnection"), version=LATEST)
        answers = [json.loads(e["data"]) for e in events(resp) if e.get("data")]
        assert [a["id"] for a in answers] == [4]
