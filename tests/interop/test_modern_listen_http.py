"""subscriptions/listen (2026-07-28) over Streamable HTTP, raw, in the SSE, JSON
and stateless modes: the acknowledgement first with the honoured filter, every
message tagged with the listen request's id, only the types asked for, resource
updates for the subscribed URIs only, several listeners at once, a closed
stream frees its listener, keep-alive comments, the graceful end when the
server stops, and a listener that stops reading is cut like any stream. Every
message is validated against tests/spec/2026-07-28/schema.json."""
from __future__ import annotations

import json
import re
import socket
import time
from urllib.parse import urlsplit

import pytest

from http_support import EverythingHTTP, HostHTTP, read_event
from test_http_sse_keepalive import raw_lines
from modern_support import CHECKER, answer, body, mpost, result, standard_headers

MODES = {"sse": (), "json": ("--json-response",), "stateless": ("--stateless",)}
SUB = "io.modelcontextprotocol/subscriptionId"
WATCHED = "test://watched-resource"


@pytest.fixture(scope="module", params=list(MODES))
def server(request):
    with EverythingHTTP(*MODES[request.param]) as s:
        yield s


class Listen:
    """One open listen stream: its response, read event by event."""

    def __init__(self, url: str, rid, notifications: dict):
        self.rid = rid
        self.resp = mpost(url, body("subscriptions/listen", {"notifications": notifications}, rid=rid))
        assert self.resp.status == 200, self.resp.status
        assert self.resp.getheader("Content-Type", "").startswith("text/event-stream")
        assert self.resp.getheader("Mcp-Session-Id") is None

    def next(self) -> dict:
        e = read_event(self.resp)
        assert e is not None, "the listen stream ended"
        m = json.loads(e["data"])
        CHECKER.check("subscriptions/listen", m)
        if "method" in m:
            assert m["params"]["_meta"][SUB] == self.rid, m
        return m

    def ack(self) -> dict:
        m = self.next()
        assert m["method"] == "notifications/subscriptions/acknowledged", m
        return m["params"]["notifications"]

    def close(self) -> None:
        self.resp.close()


def trigger(url: str, tool: str, **args) -> str:
    r = result(url, "tools/call", {"name": tool, "arguments": args})
    return r["content"][0]["text"]


def told(url: str) -> int:
    text = trigger(url, "test_update_watched_resource")
    m = re.search(r"(\d+) subscribed session\(s\) or listen stream\(s\) told", text)
    assert m, text
    return int(m.group(1))


def test_discover_advertises_what_listen_honours(server):
    caps = result(server.url, "server/discover")["capabilities"]
    assert caps["tools"] == {"listChanged": True}
    assert caps["prompts"] == {"listChanged": True}
    assert caps["resources"] == {"subscribe": True, "listChanged": True}


def test_acknowledgement_first_then_tagged_changes(server):
    sub = Listen(server.url, "sub-1", {"toolsListChanged": True, "promptsListChanged": False, "unknownType": True})
    try:
        assert sub.ack() == {"toolsListChanged": True}, "only what was asked and is known, nothing false"
        assert trigger(server.url, "test_trigger_tool_change") == "Mutation triggered"
        # The transient tool is added and withdrawn: two changes.
        assert [sub.next()["method"] for _ in range(2)] == ["notifications/tools/list_changed"] * 2
    finally:
        sub.close()


def test_two_listeners_each_get_only_their_types(server):
    tools = Listen(server.url, 11, {"toolsListChanged": True})
    prompts = Listen(server.url, 12, {"promptsListChanged": True, "resourcesListChanged": True})
    try:
        assert tools.ack() == {"toolsListChanged": True}
        assert prompts.ack() == {"promptsListChanged": True, "resourcesListChanged": True}
        trigger(server.url, "test_trigger_tool_change")
        trigger(server.url, "test_trigger_prompt_change")
        # Changes reach a stream in the order made: a leaked tools notice would come first.
        assert [prompts.next()["method"] for _ in range(2)] == ["notifications/prompts/list_changed"] * 2
        assert [tools.next()["method"] for _ in range(2)] == ["notifications/tools/list_changed"] * 2
        trigger(server.url, "test_trigger_tool_change")
        assert tools.next()["method"] == "notifications/tools/list_changed"
    finally:
        tools.close()
        prompts.close()


def test_resource_updates_for_subscribed_uris_only(server):
    watched = Listen(server.url, "w", {"resourceSubscriptions": [WATCHED]})
    other = Listen(server.url, "o", {"resourceSubscriptions": ["test://static-text"], "toolsListChanged": True})
    try:
        assert watched.ack() == {"resourceSubscriptions": [WATCHED]}
        other.ack()
        assert told(server.url) == 1
        m = watched.next()
        assert m["method"] == "notifications/resources/updated" and m["params"]["uri"] == WATCHED
        trigger(server.url, "test_trigger_tool_change")
        assert other.next()["method"] == "notifications/tools/list_changed", "no update of an unsubscribed URI"
    finally:
        watched.close()
        other.close()


def test_a_closed_stream_frees_its_listener(server):
    sub = Listen(server.url, 21, {"resourceSubscriptions": [WATCHED]})
    sub.ack()
    assert told(server.url) == 1
    sub.close()
    deadline = time.monotonic() + 5
    while told(server.url) != 0:
        assert time.monotonic() < deadline, "the listener outlived its closed stream"
        time.sleep(0.05)


def test_malformed_filter_is_refused(server):
    resp = mpost(server.url, body("subscriptions/listen", {"notifications": {"toolsListChanged": "yes"}}, rid=31))
    assert resp.status == 400
    assert json.loads(resp.read())["error"]["code"] == -32602


@pytest.mark.parametrize("flags", [(), ("--stateless",)])
def test_graceful_end_when_the_server_stops(flags):
    with EverythingHTTP(*flags) as s:
        sub = Listen(s.url, "bye", {"toolsListChanged": True})
        sub.ack()
        assert s.stop() == 0
        end = sub.next()
        assert end["id"] == "bye" and end["result"]["resultType"] == "complete", end
        assert end["result"]["_meta"][SUB] == "bye"
        assert read_event(sub.resp) is None, "the listen result ends the stream"


def test_keep_alive_comments_on_a_quiet_listen_stream():
    with HostHTTP({"sse_keepalive_ms": 100}) as h:
        sub = Listen(h.url(), 1, {"toolsListChanged": True})
        sub.ack()
        lines = raw_lines(sub.resp, time.monotonic() + 1.0)
        comments = sum(1 for _, line in lines if line.startswith(b":"))
        assert comments >= 3, comments
        sub.close()


def test_a_listener_that_stops_reading_is_cut():
    """Large updates (of a sub-resource of the one subscribed to) to a stream
    whose reader never reads: once the socket is full and the per-stream byte
    bound passed, the stream is cut and the listener forgotten (the host's
    notify reaches 0 streams)."""
    base = "test://big"
    uri = base + "/" + "x" * 60_000
    with HostHTTP({"max_queued_bytes": 1024}) as h:
        url = h.url()
        u = urlsplit(url)
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect((u.hostname, u.port))
        msg = body("subscriptions/listen", {"notifications": {"resourceSubscriptions": [base]}}, rid="slow")
        data = json.dumps(msg).encode()
        head = {**standard_headers(msg), "Host": u.netloc, "Content-Type": "application/json",
                "Content-Length": str(len(data))}
        sock.sendall(f"POST {u.path} HTTP/1.1\r\n".encode()
                     + "".join(f"{k}: {v}\r\n" for k, v in head.items()).encode() + b"\r\n" + data)
        try:
            def touch() -> int:
                a = answer(url, body("tools/call", {"name": "touch", "arguments": {"uri": uri}}, rid="t"))
                text = a["result"]["content"][0]["text"]
                return int(text.split()[1])
            time.sleep(0.3)
            assert touch() == 1
            deadline = time.monotonic() + 30
            while touch() != 0:
                assert time.monotonic() < deadline, "a listener that never reads was never cut"
        finally:
            sock.close()
