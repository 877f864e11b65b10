"""SSE keep-alive ("sse_keepalive_ms"): an open stream that is silent gets a
comment line, so proxies do not cut it as idle. Comments are not events: no
id, never stored, never replayed. Short intervals here (the default is 15 s)."""
from __future__ import annotations

import json
import socket
import time

import pytest

from conftest import LATEST
from http_support import (
    EverythingHTTP, HostHTTP, call, initialize, post, read_event, request, start_host_expecting_error,
)

COMMENT = b": keep-alive"


def raw_lines(resp, until: float) -> list[tuple[float, bytes]]:
    """The stream's lines, with the time each arrived, until `until` (monotonic)
    or the end of the stream."""
    out = []
    while (left := until - time.monotonic()) > 0:
        resp.fp.raw._sock.settimeout(left)
        try:
            line = resp.readline()
        except (TimeoutError, socket.timeout):
            break
        if not line:
            break
        out.append((time.monotonic(), line.rstrip(b"\r\n")))
    return out


def get_stream(url: str, sid: str):
    resp = request(url, "GET", headers={"Mcp-Session-Id": sid, "MCP-Protocol-Version": LATEST,
                                        "Accept": "text/event-stream"})
    assert resp.status == 200, resp.status
    return resp


def test_an_idle_get_stream_gets_a_comment_per_interval():
    with HostHTTP({"sse_keepalive_ms": 200}) as h:
        sid = initialize(h.url())
        stream = get_stream(h.url(), sid)
        opened = time.monotonic()
        lines = raw_lines(stream, opened + 1.1)
        comments = [t for t, line in lines if line == COMMENT]
        # One per interval: about 5 in 1.1 s (the first after 100..200 ms),
        # never two per half interval.
        assert 3 <= len(comments) <= 6, lines
        assert comments[0] - opened < 0.5
        gaps = [b - a for a, b in zip(comments, comments[1:])]
        assert all(0.12 < g < 0.6 for g in gaps), gaps
        # A comment is a line and a blank line: never part of an event, no id.
        ids = [line for _, line in lines if line.startswith(b"id:")]
        assert len(ids) <= 1, lines  # only the priming event's
        for i, (_, line) in enumerate(lines):
            if line == COMMENT:
                assert i + 1 == len(lines) or lines[i + 1][1] == b"", lines
        stream.close()


def test_a_long_call_stream_gets_comments_then_its_answer():
    with HostHTTP({"sse_keepalive_ms": 200}) as h:
        sid = initialize(h.url())
        resp = post(h.url(), call(1, "sleep", {"ms": 900}), session=sid, version=LATEST)
        assert resp.getheader("Content-Type") == "text/event-stream"
        lines = raw_lines(resp, time.monotonic() + 5)
        texts = [line for _, line in lines]
        answer = next(i for i, line in enumerate(texts) if line.startswith(b"data: {"))
        assert texts[:answer].count(COMMENT) >= 3, texts
        assert json.loads(texts[answer][len(b"data: "):])["result"]["content"][0]["text"] == "slept 900"
        assert COMMENT not in texts[answer:], texts  # the stream ended with the answer


def test_comments_are_never_replayed():
    with HostHTTP({"sse_keepalive_ms": 100}) as h:
        sid = initialize(h.url())
        resp = post(h.url(), call(2, "sleep", {"ms": 500}), session=sid, version=LATEST)
        priming = read_event(resp)
        assert priming.get("id") and priming.get("data", "") == ""
        texts = [line for _, line in raw_lines(resp, time.monotonic() + 5)]
        assert COMMENT in texts
        # Resume from the priming event: exactly the answer, no comment.
        resumed = request(h.url(), "GET", headers={"Mcp-Session-Id": sid, "MCP-Protocol-Version": LATEST,
                                                   "Accept": "text/event-stream", "Last-Event-ID": priming["id"]})
        assert resumed.status == 200
        body = resumed.read()
        assert COMMENT not in body
        assert body.count(b"data: ") == 1 and b"slept 500" in body


def test_a_legacy_sse_stream_gets_comments():
    with HostHTTP({"sse_keepalive_ms": 200}) as h:
        stream = request(h.url("/sse"), "GET", headers={"Accept": "text/event-stream"})
        assert read_event(stream)["event"] == "endpoint"
        texts = [line for _, line in raw_lines(stream, time.monotonic() + 0.7)]
        assert texts.count(COMMENT) >= 2, texts
        stream.close()


def test_zero_sends_no_comment():
    with HostHTTP({"sse_keepalive_ms": 0}) as h:
        sid = initialize(h.url())
        stream = get_stream(h.url(), sid)
        texts = [line for _, line in raw_lines(stream, time.monotonic() + 0.6)]
        assert COMMENT not in texts, texts
        stream.close()


def test_the_default_interval_stays_quiet_for_short_calls():
    with EverythingHTTP() as s:
        sid = initialize(s.url)
        resp = post(s.url, call(1, "test_sleep", {"ms": 700}), session=sid, version=LATEST)
        body = resp.read()
        assert b"result" in body and COMMENT not in body


@pytest.mark.parametrize("value", [-1, "15000", 1.5])
def test_bad_intervals_are_refused(value):
    line = start_host_expecting_error({"sse_keepalive_ms": value})
    assert line.startswith("ERROR 1 ") and "sse_keepalive_ms" in line, line


@pytest.mark.parametrize("value", [1, 49, -1])
def test_an_interval_that_would_be_a_timer_storm_is_refused(value):
    from http_support import start_host_expecting_error
    line = start_host_expecting_error({"sse_keepalive_ms": value})
    assert line.startswith("ERROR 1 ") and "sse_keepalive_ms" in line, line
