"""subscriptions/listen (2026-07-28) over stdio, raw: several subscriptions share
the one channel and every message names its subscription; the acknowledgement
comes first per subscription; filters are honoured; notifications/cancelled
ends a subscription; closing stdin ends the open ones gracefully (their listen
results) without waiting for them. Every line is schema-validated."""
from __future__ import annotations

import re
import time

from conftest import TIMEOUT
from modern_support import body
from test_modern_stdio import Stdio

SUB = "io.modelcontextprotocol/subscriptionId"
WATCHED = "test://watched-resource"


def listen(s: Stdio, rid, notifications: dict) -> None:
    s.send(body("subscriptions/listen", {"notifications": notifications}, rid=rid))


def call(s: Stdio, rid, tool: str) -> None:
    s.send(body("tools/call", {"name": tool, "arguments": {}}, rid=rid))


def until_answered(s: Stdio, ids: set) -> list[dict]:
    """Every message up to and including the answers to `ids`."""
    out, left = [], set(ids)
    while left:
        m = s.next()
        out.append(m)
        if "method" not in m:
            left.discard(m.get("id"))
    return out


def of(msgs: list[dict], sub) -> list[dict]:
    return [m for m in msgs if "method" in m and m["params"].get("_meta", {}).get(SUB) == sub]


def test_subscriptions_share_the_channel_each_tagged_and_filtered(server_binary):
    s = Stdio(server_binary)
    try:
        listen(s, 1, {"toolsListChanged": True})
        listen(s, "two", {"promptsListChanged": True, "resourceSubscriptions": [WATCHED]})
        call(s, 3, "test_trigger_tool_change")
        call(s, 4, "test_trigger_prompt_change")
        call(s, 5, "test_update_watched_resource")
        msgs = until_answered(s, {3, 4, 5})
        assert all("method" not in m or SUB in m["params"].get("_meta", {}) for m in msgs), \
            "a modern stdio connection gets notifications only through its subscriptions"
        one = [m["method"] for m in of(msgs, 1)]
        assert one == ["notifications/subscriptions/acknowledged"] + ["notifications/tools/list_changed"] * 2
        assert of(msgs, 1)[0]["params"]["notifications"] == {"toolsListChanged": True}
        two = of(msgs, "two")
        assert [m["method"] for m in two] == (["notifications/subscriptions/acknowledged"]
                                             + ["notifications/prompts/list_changed"] * 2
                                             + ["notifications/resources/updated"])
        assert two[0]["params"]["notifications"] == {"promptsListChanged": True, "resourceSubscriptions": [WATCHED]}
        assert two[-1]["params"]["uri"] == WATCHED
        answered = {m["id"]: m for m in msgs if "method" not in m}
        assert "1 subscribed session(s) or listen stream(s) told" in answered[5]["result"]["content"][0]["text"]
    finally:
        s.close()


def test_notifications_cancelled_ends_a_subscription(server_binary):
    s = Stdio(server_binary)
    try:
        listen(s, "w", {"resourceSubscriptions": [WATCHED], "toolsListChanged": True})
        assert s.next()["method"] == "notifications/subscriptions/acknowledged"
        s.send({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": "w"}})
        call(s, 2, "test_update_watched_resource")
        call(s, 3, "test_trigger_tool_change")
        msgs = until_answered(s, {2, 3})
        assert [m for m in msgs if "method" in m] == [], "nothing after the cancellation"
        assert all(m["id"] != "w" for m in msgs), "a cancelled listen gets no answer"
        text = next(m for m in msgs if m["id"] == 2)["result"]["content"][0]["text"]
        assert re.search(r"\b0 subscribed session\(s\) or listen stream\(s\) told", text), text
    finally:
        s.close()


def test_closing_stdin_ends_open_subscriptions_gracefully(server_binary):
    s = Stdio(server_binary)
    listen(s, "a", {"toolsListChanged": True})
    listen(s, 7, {"promptsListChanged": True})
    acks = [s.next(), s.next()]
    assert {m["params"]["_meta"][SUB] for m in acks} == {"a", 7}
    started = time.monotonic()
    assert s.proc.stdin is not None
    s.proc.stdin.close()
    ends = [s.next(), s.next()]
    assert s.proc.wait(timeout=TIMEOUT) == 0
    assert time.monotonic() - started < 5, "the server waited for listen requests instead of ending them"
    assert {m["id"] for m in ends} == {"a", 7}
    for m in ends:
        assert m["result"]["resultType"] == "complete" and m["result"]["_meta"][SUB] == m["id"], m
