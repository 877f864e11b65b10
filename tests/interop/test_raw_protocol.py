"""The everything server spoken to line by line: lifecycle, every revision, errors,
cancellation, concurrency, EOF flush and stdout purity.

Every line the server writes is parsed and validated against the negotiated
revision's schema.json by the RawServer fixture (conftest.py); a violation fails
the test that reads it, and at teardown any that nobody read.
"""
from __future__ import annotations

import base64
import json
import signal
import time

import pytest

from conftest import (
    EMBEDDED_TEXT, ERROR_TEXT, LATEST, MIXED_RESOURCE_TEXT, MIXED_TEXT, PNG_MAGIC, PROMPTS, RESOURCES,
    REVISIONS, SIMPLE_PROMPT_TEXT, SIMPLE_TEXT, STATIC_TEXT, TEMPLATES, TOOLS, RawServer, is_response,
    tool_text,
)


def list_all(s: RawServer, method: str, key: str) -> list[dict]:
    """Every item of a paginated list, following nextCursor."""
    items, cursor, pages = [], None, 0
    while True:
        result = s.request(method, {"cursor": cursor} if cursor else {})
        items += result[key]
        pages += 1
        cursor = result.get("nextCursor")
        if cursor is None:
            return items
        assert isinstance(cursor, str) and cursor, f"bad nextCursor {cursor!r}"
        assert pages < 100, f"{method} pagination does not end"


def call(s: RawServer, name: str, arguments: dict | None = None, meta: dict | None = None,
         timeout: float = 10.0) -> tuple[dict, list[dict]]:
    """tools/call; returns the result and the messages that arrived before it."""
    params: dict = {"name": name, "arguments": arguments or {}}
    if meta:
        params["_meta"] = meta
    msg_id = s.send_request("tools/call", params)
    resp = s.take(is_response(msg_id), timeout, f"tools/call {name} answer")
    before = [line.msg for line in s.pending if line.seq < resp.seq]
    s.pending = [line for line in s.pending if line.seq > resp.seq]
    assert "result" in resp.msg, f"tools/call {name} failed: {resp.msg}"
    return resp.msg["result"], before


def cancel_count(s: RawServer) -> int:
    result, _ = call(s, "test_cancel_count")
    assert result.get("isError") is not True, result
    count = int(tool_text(result))
    if "structuredContent" in result:
        assert result["structuredContent"] == {"count": count}, result
    return count


def no_message(s: RawServer, pred, duration: float) -> None:
    """Asserts that no message matching pred arrives within duration seconds."""
    deadline = time.monotonic() + duration
    while True:
        for line in s.pending:
            assert not pred(line.msg), f"unexpected message {line.msg}"
        left = deadline - time.monotonic()
        if left <= 0:
            return
        s._pull(left)


def walk_keys(value, path=""):
    """(path, key, parent) for every object key in a JSON value."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield path, k, value
            yield from walk_keys(v, f"{path}/{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from walk_keys(v, f"{path}/{i}")


# --------------------------------------------------------------------------- revisions
@pytest.mark.parametrize("requested,expected", [(r, r) for r in REVISIONS] + [("2099-01-01", LATEST), ("1.0", LATEST)])
def test_every_feature_at_each_revision(spawn, requested, expected):
    """A whole session at one revision; every message is validated against that
    revision's schema (closed objects: fields it lacks must be stripped)."""
    s = spawn()
    init = s.initialize(requested)
    assert init["protocolVersion"] == expected
    assert isinstance(init["serverInfo"]["name"], str) and init["serverInfo"]["name"]
    caps = init["capabilities"]
    for cap in ("tools", "resources", "prompts", "logging"):
        assert cap in caps, f"capability {cap} missing: {caps}"
    rev = expected

    tools = list_all(s, "tools/list", "tools")
    names = [t["name"] for t in tools]
    assert len(names) == len(set(names)), f"duplicate tools: {names}"
    assert TOOLS <= set(names), f"missing tools: {TOOLS - set(names)}"
    by_name = {t["name"]: t for t in tools}
    for t in tools:
        assert t["inputSchema"]["type"] == "object", t
        if rev < "2025-03-26":
            assert "annotations" not in t, f"{rev}: tool annotations not stripped: {t}"
        if rev < "2025-06-18":
            for field in ("title", "outputSchema", "_meta"):
                assert field not in t, f"{rev}: tool {field} not stripped: {t}"
        if rev < "2025-11-25":
            for field in ("icons", "execution"):
                assert field not in t, f"{rev}: tool {field} not stripped: {t}"
    if rev >= "2025-06-18":
        assert "outputSchema" in by_name["test_echo"], by_name["test_echo"]
        assert by_name["test_echo"]["outputSchema"]["type"] == "object"

    # The 2020-12 schema reaches every revision verbatim.
    schema = by_name["json_schema_2020_12_tool"]["inputSchema"]
    assert schema.get("$schema") == "https://json-schema.org/draft/2020-12/schema", schema
    keys = {k for _, k, _ in walk_keys(schema)}
    for k in ("$defs", "allOf", "if", "then", "else"):
        assert k in keys, f"{k} missing from json_schema_2020_12_tool inputSchema: {schema}"

    for listing, key, items in (
        ("resources/list", "resources", RESOURCES),
        ("resources/templates/list", "resourceTemplates", TEMPLATES),
        ("prompts/list", "prompts", PROMPTS),
    ):
        got = list_all(s, listing, key)
        ident = "uri" if key == "resources" else "uriTemplate" if key == "resourceTemplates" else "name"
        found = [x[ident] for x in got]
        assert len(found) == len(set(found)), f"duplicates in {listing}: {found}"
        assert items <= set(found), f"{listing} lacks {items - set(found)}"
        for x in got:
            if rev < "2025-06-18":
                assert "title" not in x, f"{rev}: title not stripped: {x}"
                for a in x.get("arguments", []):
                    assert "title" not in a, f"{rev}: argument title not stripped: {x}"
            if rev < "2025-11-25":
                assert "icons" not in x, f"{rev}: icons not stripped: {x}"
    if rev < "2025-06-18":
        assert "title" not in init["serverInfo"]
    if rev < "2025-11-25":
        for field in ("icons", "description", "websiteUrl"):
            assert field not in init["serverInfo"], f"{rev}: serverInfo.{field} not stripped"

    # Tools.
    r, _ = call(s, "test_simple_text")
    assert r["content"] == [{"type": "text", "text": SIMPLE_TEXT}]
    r, _ = call(s, "test_image_content")
    assert [c["type"] for c in r["content"]] == ["image"]
    assert r["content"][0]["mimeType"] == "image/png"
    assert base64.b64decode(r["content"][0]["data"], validate=True).startswith(PNG_MAGIC)
    r, _ = call(s, "test_audio_content")
    if rev >= "2025-03-26":
        assert [c["type"] for c in r["content"]] == ["audio"], r
        assert r["content"][0]["mimeType"] == "audio/wav"
        wav = base64.b64decode(r["content"][0]["data"], validate=True)
        assert wav[:4] == b"RIFF" and wav[8:12] == b"WAVE", wav[:16]
    else:
        # 2024-11-05 has no audio block: the engine says so in text instead.
        assert all(c["type"] != "audio" for c in r["content"]), r
        assert r["content"] and r["content"][0]["type"] == "text"
    r, _ = call(s, "test_embedded_resource")
    res = [c for c in r["content"] if c["type"] == "resource"]
    assert len(res) == 1, r
    assert res[0]["resource"]["uri"] == "test://embedded-resource"
    assert res[0]["resource"] == {"uri": "test://embedded-resource", "mimeType": "text/plain",
                                  "text": EMBEDDED_TEXT}
    r, _ = call(s, "test_multiple_content_types")
    assert [c["type"] for c in r["content"]] == ["text", "image", "resource"], r
    assert r["content"][0]["text"] == MIXED_TEXT
    assert r["content"][1]["mimeType"] == "image/png"
    assert base64.b64decode(r["content"][1]["data"], validate=True).startswith(PNG_MAGIC)
    assert r["content"][2]["resource"] == {"uri": "test://mixed-content-resource",
                                           "mimeType": "application/json", "text": MIXED_RESOURCE_TEXT}
    r, _ = call(s, "test_error_handling")
    assert r["isError"] is True and tool_text(r) == ERROR_TEXT
    r, _ = call(s, "test_echo", {"text": "héllo wörld ☃"})
    assert tool_text(r) == "héllo wörld ☃"
    if rev >= "2025-06-18":
        assert r["structuredContent"] == {"text": "héllo wörld ☃"}
    else:
        assert "structuredContent" not in r, f"{rev}: structuredContent not stripped"
    r, _ = call(s, "json_schema_2020_12_tool", {})
    assert "content" in r
    r, _ = call(s, "test_sleep", {"ms": 10})
    assert r.get("isError") is not True, r
    assert cancel_count(s) == 0

    # Progress and logging, with the notifications shaped for this revision too.
    r, before = call(s, "test_tool_with_progress", meta={"progressToken": f"p-{rev}"})
    progress = [m["params"] for m in before if m.get("method") == "notifications/progress"]
    assert [(p["progressToken"], p["progress"], p.get("total")) for p in progress] == \
        [(f"p-{rev}", 0, 100), (f"p-{rev}", 50, 100), (f"p-{rev}", 100, 100)], before
    assert s.request("logging/setLevel", {"level": "debug"}) == {}
    r, before = call(s, "test_tool_with_logging")
    logs = [m["params"] for m in before if m.get("method") == "notifications/message"]
    assert len(logs) == 3 and all(p["level"] == "info" for p in logs), before

    # Resources.
    r = s.request("resources/read", {"uri": "test://static-text"})
    assert r["contents"] == [{"uri": "test://static-text", "mimeType": "text/plain", "text": STATIC_TEXT}]
    r = s.request("resources/read", {"uri": "test://static-binary"})
    c = r["contents"][0]
    assert c["uri"] == "test://static-binary" and c["mimeType"] == "image/png" and "text" not in c
    assert base64.b64decode(c["blob"], validate=True).startswith(PNG_MAGIC)
    r = s.request("resources/read", {"uri": "test://template/abc-123/data"})
    assert r["contents"][0]["uri"] == "test://template/abc-123/data"
    assert "abc-123" in r["contents"][0]["text"]
    r = s.request("resources/read", {"uri": "test://watched-resource"})
    assert r["contents"][0]["uri"] == "test://watched-resource"

    # Prompts.
    r = s.request("prompts/get", {"name": "test_simple_prompt"})
    assert r["messages"] == [{"role": "user", "content": {"type": "text", "text": SIMPLE_PROMPT_TEXT}}]
    r = s.request("prompts/get", {"name": "test_prompt_with_arguments",
                                  "arguments": {"arg1": "first-ARG", "arg2": "second-ARG"}})
    text = json.dumps(r["messages"])
    assert "first-ARG" in text and "second-ARG" in text, r
    r = s.request("prompts/get", {"name": "test_prompt_with_embedded_resource",
                                  "arguments": {"resourceUri": "test://static-text"}})
    blocks = [m["content"] for m in r["messages"]]
    assert any(b["type"] == "resource" and b["resource"]["uri"] == "test://static-text" for b in blocks), r
    r = s.request("prompts/get", {"name": "test_prompt_with_image"})
    images = [m["content"] for m in r["messages"] if m["content"]["type"] == "image"]
    assert images and images[0]["mimeType"] == "image/png", r
    assert base64.b64decode(images[0]["data"], validate=True).startswith(PNG_MAGIC)

    assert s.request("ping") == {}
    assert s.finish() == 0


# --------------------------------------------------------------------------- lifecycle
def test_ping_before_initialize(spawn):
    s = spawn()
    assert s.request("ping") == {}
    s.initialize()
    assert s.request("ping") == {}


@pytest.mark.parametrize("method,params", [
    ("tools/list", {}),
    ("tools/call", {"name": "test_simple_text", "arguments": {}}),
    ("resources/list", {}),
    ("resources/read", {"uri": "test://static-text"}),
    ("prompts/get", {"name": "test_simple_prompt"}),
    ("logging/setLevel", {"level": "info"}),
])
def test_requests_before_initialize_are_refused(spawn, method, params):
    s = spawn()
    err = s.error_for(method, params)
    assert err["code"] == -32600, err  # Invalid Request: not allowed before initialize
    # The session still starts normally afterwards.
    s.initialize()
    assert "tools" in s.request("tools/list")


def test_second_initialize_is_refused(server):
    err = server.error_for("initialize", {"protocolVersion": LATEST, "capabilities": {},
                                          "clientInfo": {"name": "again", "version": "1"}})
    assert err["code"] == -32600, err
    assert server.request("ping") == {}


def test_initialize_without_version_is_invalid_params(spawn):
    s = spawn()
    err = s.error_for("initialize", {"capabilities": {}, "clientInfo": {"name": "x", "version": "1"}})
    assert err["code"] == -32602, err
    assert s.initialize()["protocolVersion"] == LATEST


@pytest.mark.parametrize("initialized", [False, True], ids=["before-initialize", "after-initialize"])
def test_unknown_methods_answered_at_once(spawn, initialized):
    s = spawn()
    if initialized:
        s.initialize()
    # server/discover is the 2026 probe of the official high-level client: sent
    # first, before initialize; an old server must answer it with an error at once.
    for method in ("server/discover", "no/such/method", "tools/nonexistent", "rpc.discover"):
        t0 = time.monotonic()
        msg_id = s.send_request(method, {})
        resp = s.response(msg_id, timeout=5)
        elapsed = time.monotonic() - t0
        assert resp.msg.get("error", {}).get("code") == -32601, f"{method}: {resp.msg}"
        assert elapsed < 1.0, f"{method} took {elapsed:.2f} s to be refused"
    assert s.request("ping") == {}


def test_unknown_notification_is_ignored(server):
    server.notify("notifications/no_such_thing", {"x": 1})
    server.notify("notifications/cancelled", {"requestId": 424242})  # nothing in flight: ignored
    server.notify("notifications/roots/list_changed")
    msg_id = server.send_request("ping")
    first = server.recv()
    assert is_response(msg_id)(first) and first["result"] == {}, first


@pytest.mark.parametrize("msg_id", ["string-id", "", 0, -7, 2**53, 2**62])
def test_request_ids_echoed_exactly(server, msg_id):
    server.send_request("ping", msg_id=msg_id)
    resp = server.response(msg_id).msg
    assert resp == {"jsonrpc": "2.0", "id": msg_id, "result": {}}


# --------------------------------------------------------------------------- errors
def test_error_mapping(server):
    s = server
    err = s.error_for("tools/call", {"name": "no_such_tool", "arguments": {}})
    assert err["code"] == -32602, err
    err = s.error_for("tools/call", {"arguments": {}})
    assert err["code"] == -32602, err
    err = s.error_for("resources/read", {"uri": "test://no-such-resource"})
    assert err["code"] == -32002, err
    assert err["data"]["uri"] == "test://no-such-resource", err
    err = s.error_for("prompts/get", {"name": "no_such_prompt"})
    assert err["code"] == -32602, err
    err = s.error_for("prompts/get", {"name": "test_prompt_with_arguments", "arguments": {"arg1": "only"}})
    assert err["code"] == -32602, err
    err = s.error_for("logging/setLevel", {"level": "verbose"})
    assert err["code"] == -32602, err
    r, _ = call(s, "test_error_handling")
    assert r["isError"] is True


@pytest.mark.parametrize("listing", ["tools/list", "resources/list", "resources/templates/list", "prompts/list"])
def test_forged_cursor_refused(server, listing):
    for cursor in ("forged", "", "0", "00.00", "746f6f6c73003000.0000000000000000", "x" * 5000):
        err = server.error_for(listing, {"cursor": cursor})
        assert err["code"] == -32602, f"{listing} cursor {cursor[:40]!r}: {err}"
    err = server.error_for(listing, {"cursor": 12})
    assert err["code"] == -32602, err


# --------------------------------------------------------------------------- notifications
@pytest.mark.parametrize("token", ["tok-1", 7])
def test_progress_precedes_result(server, token):
    r, before = call(server, "test_tool_with_progress", meta={"progressToken": token})
    progress = [m["params"] for m in before if m.get("method") == "notifications/progress"]
    assert [(p["progressToken"], p["progress"], p["total"]) for p in progress] == \
        [(token, 0, 100), (token, 50, 100), (token, 100, 100)]
    assert type(progress[0]["progressToken"]) is type(token)


def test_no_progress_without_token(server):
    call(server, "test_tool_with_progress")
    assert server.request("ping") == {}
    leftovers = server.drain(0.2)
    assert not [l.msg for l in leftovers if l.msg.get("method") == "notifications/progress"]


def test_logging_level_honoured(server):
    assert server.request("logging/setLevel", {"level": "debug"}) == {}
    t0 = time.monotonic()
    _, before = call(server, "test_tool_with_logging")
    logs = [(m["params"]["level"], m["params"]["data"]) for m in before if m.get("method") == "notifications/message"]
    assert len(logs) == 3 and {lvl for lvl, _ in logs} == {"info"}, before
    assert time.monotonic() - t0 >= 0.08, "3 messages ~50 ms apart take at least ~100 ms"
    # Above info: the three info messages are filtered out.
    assert server.request("logging/setLevel", {"level": "warning"}) == {}
    _, before = call(server, "test_tool_with_logging")
    assert server.request("ping") == {}
    leftovers = before + [l.msg for l in server.drain(0.2)]
    assert not [m for m in leftovers if m.get("method") == "notifications/message"], leftovers


# --------------------------------------------------------------------------- cancellation
def test_cancellation_suppresses_the_answer(server):
    s = server
    before = cancel_count(s)
    sleep_id = s.send_request("tools/call", {"name": "test_sleep", "arguments": {"ms": 5000}})
    time.sleep(0.3)  # let the call start sleeping
    s.notify("notifications/cancelled", {"requestId": sleep_id, "reason": "interop test"})
    t0 = time.monotonic()
    assert s.request("ping", timeout=2) == {}
    assert time.monotonic() - t0 < 1.0, "ping waited behind a cancelled call"
    no_message(s, is_response(sleep_id), 1.5 - (time.monotonic() - t0))
    # The tool saw its cancellation: the counter moves by exactly one.
    deadline = time.monotonic() + 5
    while (count := cancel_count(s)) == before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert count == before + 1
    # Even at EOF (which drains in-flight calls) the cancelled call is never answered.
    assert s.finish() == 0
    assert not [l.msg for l in s.drain() if is_response(sleep_id)(l.msg)]


def test_cancel_unknown_or_finished_request_is_harmless(server):
    r, _ = call(server, "test_sleep", {"ms": 1})
    server.notify("notifications/cancelled", {"requestId": 1, "reason": "finished already"})
    server.notify("notifications/cancelled", {"requestId": "never-sent"})
    server.notify("notifications/cancelled", {})
    assert server.request("ping") == {}
    assert cancel_count(server) == 0


# --------------------------------------------------------------------------- concurrency
def test_concurrent_calls_overlap(server):
    s = server
    t0 = time.monotonic()
    a = s.send_request("tools/call", {"name": "test_sleep", "arguments": {"ms": 500}})
    b = s.send_request("tools/call", {"name": "test_sleep", "arguments": {"ms": 500}})
    p = s.send_request("ping")
    ping = s.response(p, timeout=5)
    ra = s.response(a, timeout=5)
    rb = s.response(b, timeout=5)
    assert ping.msg["result"] == {}
    assert ping.t - t0 < 0.4, f"ping took {ping.t - t0:.3f} s behind two sleeping calls"
    assert ping.seq < ra.seq and ping.seq < rb.seq, "ping answered after a sleeping call"
    for r in (ra, rb):
        assert "result" in r.msg and r.msg["result"].get("isError") is not True, r.msg
        assert r.t - t0 >= 0.45, f"test_sleep 500 ms answered after {r.t - t0:.3f} s"
    last = max(ra.t, rb.t) - t0
    assert last < 0.9, f"two 500 ms sleeps took {last:.3f} s: they did not overlap"


def test_blocking_callbacks_run_in_parallel(server):
    """test_tool_with_progress blocks its engine worker for ~100 ms (two 50 ms
    sleeps): eight of them at once must run side by side, not one after another,
    and a ping must not wait behind them (mcp.h: a slow callback delays no other
    request)."""
    s = server
    t0 = time.monotonic()
    ids = [s.send_request("tools/call", {"name": "test_tool_with_progress", "arguments": {},
                                         "_meta": {"progressToken": f"par-{i}"}}) for i in range(8)]
    p = s.send_request("ping")
    ping = s.response(p, timeout=5)
    answers = [s.response(i, timeout=5) for i in ids]
    assert all(ping.seq < a.seq for a in answers), "ping answered after a blocking callback finished"
    assert ping.t - t0 < 0.2, f"ping took {ping.t - t0:.3f} s"
    for a in answers:
        assert "result" in a.msg and a.msg["result"].get("isError") is not True, a.msg
    last = max(a.t for a in answers) - t0
    assert 0.09 <= last < 0.5, f"eight 100 ms callbacks took {last:.3f} s (800 ms one at a time)"
    progress = [l.msg for l in s.drain() if l.msg.get("method") == "notifications/progress"]
    assert len(progress) == 24, progress


def test_many_calls_in_flight_all_answered(server):
    ids = [server.send_request("tools/call", {"name": "test_echo", "arguments": {"text": f"m{i}"}})
           for i in range(200)]
    for i, msg_id in enumerate(ids):
        r = server.response(msg_id).msg
        assert tool_text(r["result"]) == f"m{i}"


# --------------------------------------------------------------------------- EOF and purity
def test_eof_flushes_in_flight_answer(spawn):
    s = spawn()
    s.initialize()
    t0 = time.monotonic()
    msg_id = s.send_request("tools/call", {"name": "test_sleep", "arguments": {"ms": 300}})
    s.close_stdin()
    assert s.stdout_eof.wait(10), "server did not close stdout after stdin EOF"
    assert s.proc.wait(10) == 0
    lines = [l for l in s.drain() if is_response(msg_id)(l.msg)]
    assert len(lines) == 1, "the in-flight answer was lost at EOF"
    assert "result" in lines[0].msg and lines[0].msg["result"].get("isError") is not True, lines[0].msg
    assert lines[0].t - t0 >= 0.25


def test_sigterm_stops_gracefully_and_drains(spawn):
    """The everything server turns SIGTERM into mcp_server_stop: reading stops,
    the call in flight is still answered, and the process exits 0."""
    s = spawn()
    s.initialize()
    msg_id = s.send_request("tools/call", {"name": "test_sleep", "arguments": {"ms": 300}})
    time.sleep(0.05)
    s.proc.send_signal(signal.SIGTERM)
    resp = s.response(msg_id, timeout=10).msg
    assert "result" in resp and resp["result"].get("isError") is not True, resp
    assert s.proc.wait(10) == 0
    assert s.stdout_eof.wait(10)


def test_eof_with_nothing_in_flight_exits_promptly(spawn):
    s = spawn()
    s.initialize()
    t0 = time.monotonic()
    assert s.finish() == 0
    assert time.monotonic() - t0 < 3


def test_eof_without_final_newline_still_answers(spawn):
    s = spawn()
    s.initialize()
    s.checker.note_request("last", "ping")
    s.send_raw(b'{"jsonrpc":"2.0","id":"last","method":"ping"}')
    s.close_stdin()
    assert s.stdout_eof.wait(10)
    assert s.proc.wait(10) == 0
    assert [l.msg for l in s.drain() if is_response("last")(l.msg)] == \
        [{"jsonrpc": "2.0", "id": "last", "result": {}}]


def test_stdout_carries_only_protocol_messages(spawn):
    """Every byte on stdout, over a session that uses every kind of output, is
    newline-terminated JSON-RPC."""
    s = spawn()
    s.initialize()
    s.request("logging/setLevel", {"level": "debug"})
    for name in sorted(TOOLS - {"test_sleep"}):
        args = {"text": "x"} if name == "test_echo" else {}
        call(s, name, args, meta={"progressToken": name})
    s.error_for("tools/call", {"name": "missing"})
    s.send_raw(b"garbage\n")
    assert s.finish() == 0
    s.drain()
    assert len(s.all_lines) > 20
    for line in s.all_lines:
        assert line.raw.endswith(b"\n") and b"\n" not in line.raw[:-1]
        msg = json.loads(line.raw)
        assert isinstance(msg, dict) and msg["jsonrpc"] == "2.0", line.raw[:200]
        assert set(msg) <= {"jsonrpc", "id", "method", "params", "result", "error"}, msg
    assert not s.violations, s.violations


# --------------------------------------------------------------------------- batches
def test_batch_on_2025_03_26_answered_as_one_array(spawn):
    """2025-03-26 is the one revision whose receivers must accept JSON-RPC batches."""
    s = spawn()
    assert s.initialize("2025-03-26")["protocolVersion"] == "2025-03-26"
    batch = [
        {"jsonrpc": "2.0", "id": "b-ping", "method": "ping"},
        {"jsonrpc": "2.0", "id": "b-echo", "method": "tools/call",
         "params": {"name": "test_echo", "arguments": {"text": "in a batch"}}},
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": "b-missing", "method": "tools/call", "params": {"name": "nope"}},
    ]
    for m in batch:
        if "id" in m:
            s.checker.note_request(m["id"], m["method"])
    s.send(batch)
    line = s.take(lambda m: isinstance(m, list), 10, "batch answer")
    by_id = {m["id"]: m for m in line.msg}
    assert set(by_id) == {"b-ping", "b-echo", "b-missing"}, line.msg
    assert len(line.msg) == 3
    assert by_id["b-ping"]["result"] == {}
    assert tool_text(by_id["b-echo"]["result"]) == "in a batch"
    assert "structuredContent" not in by_id["b-echo"]["result"]
    assert by_id["b-missing"]["error"]["code"] == -32602
    # Notifications only: nothing to answer.
    s.send([{"jsonrpc": "2.0", "method": "notifications/initialized"}])
    msg_id = s.send_request("ping")
    assert is_response(msg_id)(s.recv()), "a batch of notifications was answered"


@pytest.mark.parametrize("revision", ["2024-11-05", "2025-06-18", "2025-11-25"])
def test_batch_refused_outside_2025_03_26(spawn, revision):
    s = spawn()
    s.initialize(revision)
    s.checker.note_request("in-batch", "ping")
    s.send([{"jsonrpc": "2.0", "id": "in-batch", "method": "ping"}])
    err = s.recv()
    assert "id" not in err and err["error"]["code"] == -32600, err
    assert s.request("ping") == {}
    assert not [l for l in s.drain(0.2) if isinstance(l.msg, dict) and l.msg.get("id") == "in-batch"]
