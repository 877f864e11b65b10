"""The client's result checks and response cache (2026-07-28 client, issue 13), through the
binding's Client, against servers/hints_server.py over stdio in both eras:

- a tool's structuredContent is checked against the outputSchema learned from list_tools
  (JSON Schema 2020-12 with $defs/$ref); a mismatch raises PeerError naming the field; a
  network $ref is never fetched and fails clearly, a $ref cycle too; validate_tool_output=False
  turns it off;
- with cache=True, list and read results with ttlMs > 0 are served from memory (counted at
  the server), ttlMs 0 is not cached, list_changed invalidates; off by default.
"""
from __future__ import annotations

import json
import sys

import pytest

from libmcp import Client, errors

from conftest import SERVERS, child_env

SERVER = SERVERS / "hints_server.py"
GOOD = {"items": [{"sku": "ABC-1", "price": 2.5}, {"sku": "XYZ-22", "price": 0}]}


def methods(log) -> list[str]:
    return [json.loads(line)["method"] for line in log.read_text().splitlines()] if log.exists() else []


@pytest.fixture(params=["modern", "legacy"])
def connect(request, tmp_path):
    clients = []
    log = tmp_path / "requests.jsonl"

    def make(**options) -> Client:
        options.setdefault("request_timeout", 20)
        c = Client.stdio(sys.executable, str(SERVER), request.param, str(log), env=child_env(), **options)
        clients.append(c)
        return c

    make.log = log
    make.era = request.param
    yield make
    for c in clients:
        c.close()


def test_structured_content_is_checked_against_the_listed_output_schema(connect):
    c = connect()
    assert c.era == connect.era
    # Before list_tools nothing is known: the result passes as it is.
    assert c.call_tool("cart", {"sc": {"items": 3}})["structuredContent"] == {"items": 3}
    c.list_tools()
    assert c.call_tool("cart", {"sc": GOOD})["structuredContent"] == GOOD
    bad = {"items": [{"sku": "ABC-1", "price": 1}, {"sku": "ABC-2", "price": -1}]}
    with pytest.raises(errors.PeerError) as e:
        c.call_tool("cart", {"sc": bad})
    assert e.value.code == -32603
    assert "/items/1/price" in e.value.message and '"cart"' in e.value.message
    assert e.value.data == {"tool": "cart", "reason": "violation", "instancePath": "/items/1/price",
                            "keyword": "minimum"}
    with pytest.raises(errors.PeerError) as e:
        c.call_tool("cart", {"sc": {"items": [{"sku": "abc", "price": 1}]}})
    assert e.value.data["keyword"] == "pattern" and e.value.data["instancePath"] == "/items/0/sku"
    with pytest.raises(errors.PeerError) as e:
        c.call_tool("cart", {"sc": {"items": [{"sku": "ABC-1", "price": 1, "extra": True}]}})
    assert e.value.data["keyword"] == "additionalProperties"
    with pytest.raises(errors.PeerError) as e:
        c.call_tool("cart", {})
    assert e.value.data["keyword"] == "structuredContent"


def test_unusable_output_schemas_fail_clearly_and_nothing_is_fetched(connect):
    c = connect()
    c.list_tools()
    with pytest.raises(errors.PeerError) as e:
        c.call_tool("canary", {"sc": {"a": 1}})
    assert e.value.data["reason"] == "unresolvedRef" and "never fetched" in e.value.message
    with pytest.raises(errors.PeerError) as e:
        c.call_tool("loop", {"sc": 1})
    assert e.value.data["reason"] == "refCycle"


def test_validation_can_be_turned_off(connect):
    c = connect(validate_tool_output=False)
    c.list_tools()
    assert c.call_tool("cart", {"sc": {"items": "nope"}})["structuredContent"] == {"items": "nope"}


def test_list_changed_forgets_schemas(connect):
    c = connect()
    c.list_tools()
    c.call_tool("notify")
    # The notification is read before notify's answer: the schema is forgotten.
    assert c.call_tool("cart", {"sc": 7})["structuredContent"] == 7


def test_cache_serves_fresh_results_without_the_server(connect):
    c = connect(cache=True)
    first = c.list_tools()
    assert c.list_tools() == first
    c.read_resource("test://a")
    c.read_resource("test://a")
    c.read_resource("test://b")
    c.list_prompts()
    c.list_prompts()  # ttlMs 0: immediately stale
    seen = methods(connect.log)
    if connect.era == "modern":
        assert seen.count("tools/list") == 1
        assert seen.count("resources/read") == 2
    else:
        # The 2025 era has no hints unless the server sends them; this one does.
        assert seen.count("tools/list") == 1
    assert seen.count("prompts/list") == 2
    c.call_tool("notify")  # notifications/tools/list_changed invalidates
    c.list_tools()
    assert methods(connect.log).count("tools/list") == 2


def test_cache_is_off_by_default(connect):
    c = connect()
    c.list_tools()
    c.list_tools()
    assert methods(connect.log).count("tools/list") == 2


def test_cache_options_are_checked():
    with pytest.raises(errors.InvalidArgument):
        Client(cache_max_entries=0, cache=True)
