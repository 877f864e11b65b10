"""Multi round-trip requests end to end: the everything server's test_input_required_result_*
fixtures (the names and keys the 2026-07-28 conformance suite uses), driven as a modern client
drives them: stateless POSTs whose _meta names the revision, answered input_required, retried
with inputResponses and the echoed requestState. The same fixtures answer a 2025-era session
with live requests (test_official_client_stdio / test_server_features cover that era)."""
from __future__ import annotations

from typing import Any

import pytest

from http_support import EverythingHTTP, messages
from modern_support import CHECKER, SERVER_NAME, mpost

MODERN = "2026-07-28"
ALL_CAPS = {"sampling": {}, "elicitation": {}, "roots": {"listChanged": True}}


def meta(caps: dict | None = None) -> dict:
    return {"io.modelcontextprotocol/protocolVersion": MODERN,
            "io.modelcontextprotocol/clientInfo": {"name": "mrtr-test", "version": "1"},
            "io.modelcontextprotocol/clientCapabilities": ALL_CAPS if caps is None else caps}


class Modern:
    """A modern client's requests to one server: each POST stands alone."""

    def __init__(self, url: str):
        self.url = url
        self.next_id = 0

    def send(self, method: str, name: str | None, caps: dict | None = None, **params: Any) -> dict:
        """POSTs with the standard headers; checks the answer against the 2026-07-28 schema."""
        self.next_id += 1
        body_params: dict = {"_meta": meta(caps), **params}
        if name is not None:
            body_params["uri" if method == "resources/read" else "name"] = name
            if method != "resources/read":
                body_params.setdefault("arguments", {})
        body = {"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": body_params}
        resp = mpost(self.url, body)
        msg = messages(resp)[-1]
        assert msg["id"] == self.next_id
        assert resp.status == (200 if "result" in msg else 400), (resp.status, msg)
        CHECKER.check(method, msg)
        if "result" in msg:
            assert msg["result"]["_meta"]["io.modelcontextprotocol/serverInfo"]["name"] == SERVER_NAME
        return msg

    def result(self, method: str, name: str, **params: Any) -> dict:
        msg = self.send(method, name, **params)
        assert "result" in msg, msg
        return msg["result"]


def elicited(content: dict) -> dict:
    return {"action": "accept", "content": content}


def sampled(text: str) -> dict:
    return {"role": "assistant", "content": {"type": "text", "text": text}, "model": "test-model",
            "stopReason": "endTurn"}


ROOTS = {"roots": [{"uri": "file:///test/root", "name": "Test Root"}]}


def text(result: dict) -> str:
    return "".join(b.get("text", "") for b in result.get("content", []))


@pytest.fixture(scope="module")
def modern():
    with EverythingHTTP("--json-response") as s:
        yield Modern(s.url)


def test_elicitation_two_rounds(modern):
    r1 = modern.result("tools/call", "test_input_required_result_elicitation")
    assert r1["resultType"] == "input_required"
    req = r1["inputRequests"]["user_name"]
    assert req["method"] == "elicitation/create"
    assert req["params"]["requestedSchema"]["required"] == ["name"]
    assert "ttlMs" not in r1 and "cacheScope" not in r1
    r2 = modern.result("tools/call", "test_input_required_result_elicitation", requestState=r1["requestState"],
                       inputResponses={"user_name": elicited({"name": "Alice"})})
    assert r2["resultType"] == "complete"
    assert text(r2) == "Hello, Alice!"


@pytest.mark.parametrize("tool,key,method,answer,expected", [
    ("test_input_required_result_sampling", "capital_question", "sampling/createMessage",
     sampled("Paris."), "LLM response: Paris."),
    ("test_input_required_result_list_roots", "client_roots", "roots/list", ROOTS, "Roots: file:///test/root"),
])
def test_sampling_and_roots(modern, tool, key, method, answer, expected):
    r1 = modern.result("tools/call", tool)
    assert r1["inputRequests"][key]["method"] == method
    r2 = modern.result("tools/call", tool, requestState=r1["requestState"], inputResponses={key: answer})
    assert text(r2) == expected


def test_request_state_round_trips(modern):
    r1 = modern.result("tools/call", "test_input_required_result_request_state")
    assert isinstance(r1["requestState"], str) and r1["requestState"]
    assert r1["inputRequests"]["confirm"]["method"] == "elicitation/create"
    r2 = modern.result("tools/call", "test_input_required_result_request_state", requestState=r1["requestState"],
                       inputResponses={"confirm": elicited({"ok": True})})
    assert "state-ok" in text(r2)
    # The same answers without the state: the host's state is missing, so the tool refuses.
    bare = modern.send("tools/call", "test_input_required_result_request_state",
                       inputResponses={"confirm": elicited({"ok": True})})
    assert bare["error"]["code"] == -32602


def test_multiple_inputs_in_one_round(modern):
    r1 = modern.result("tools/call", "test_input_required_result_multiple_inputs")
    assert {k: v["method"] for k, v in r1["inputRequests"].items()} == {
        "user_name": "elicitation/create", "greeting": "sampling/createMessage", "client_roots": "roots/list"}
    r2 = modern.result("tools/call", "test_input_required_result_multiple_inputs", requestState=r1["requestState"],
                       inputResponses={"user_name": elicited({"name": "Alice"}), "greeting": sampled("Hello there!"),
                                       "client_roots": ROOTS})
    assert text(r2) == "Hello there! to Alice (1 roots)"


def test_multi_round_state_evolves(modern):
    r1 = modern.result("tools/call", "test_input_required_result_multi_round")
    assert list(r1["inputRequests"]) == ["step1"]
    r2 = modern.result("tools/call", "test_input_required_result_multi_round", requestState=r1["requestState"],
                       inputResponses={"step1": elicited({"name": "Alice"})})
    assert list(r2["inputRequests"]) == ["step2"] and r2["requestState"] != r1["requestState"]
    # Round 3 sends only step2's answer: step1's travels in the state.
    r3 = modern.result("tools/call", "test_input_required_result_multi_round", requestState=r2["requestState"],
                       inputResponses={"step2": elicited({"color": "blue"})})
    assert text(r3) == "Alice likes blue"


def test_elicit_twice_with_default_keys(modern):
    r1 = modern.result("tools/call", "test_elicit_twice")
    assert list(r1["inputRequests"]) == ["elicit_1"]
    r2 = modern.result("tools/call", "test_elicit_twice", requestState=r1["requestState"],
                       inputResponses={"elicit_1": elicited({"name": "Bo"})})
    assert list(r2["inputRequests"]) == ["elicit_2"]
    r3 = modern.result("tools/call", "test_elicit_twice", requestState=r2["requestState"],
                       inputResponses={"elicit_2": elicited({"color": "red"})})
    assert text(r3) == "Bo likes red"


def test_missing_and_extra_responses(modern):
    wrong = modern.result("tools/call", "test_input_required_result_elicitation",
                          inputResponses={"wrong_key": elicited({"data": "wrong"})})
    assert wrong["resultType"] == "input_required" and "user_name" in wrong["inputRequests"]
    extra = modern.result("tools/call", "test_input_required_result_elicitation", inputResponses={
        "user_name": elicited({"name": "Alice"}), "unknown_extra_key": elicited({"foo": "bar"})})
    assert text(extra) == "Hello, Alice!"


@pytest.mark.parametrize("params,words", [
    ({"inputResponses": {"user_name": 12345}}, "user_name"),
    ({"inputResponses": None}, "inputResponses"),
    ({"inputResponses": {"user_name": {"content": {"name": "x"}}}}, "action"),
    ({"requestState": "not-a-state"}, "requestState"),
    ({"requestState": 7}, "requestState"),
])
def test_bad_input_is_invalid_params(modern, params, words):
    msg = modern.send("tools/call", "test_input_required_result_elicitation", **params)
    assert msg["error"]["code"] == -32602 and words in msg["error"]["message"], msg


def test_tampered_and_foreign_state_are_refused(modern):
    r1 = modern.result("tools/call", "test_input_required_result_tampered_state")
    for tool, state in (("test_input_required_result_tampered_state", r1["requestState"] + "-TAMPERED"),
                        ("test_input_required_result_elicitation", r1["requestState"])):
        msg = modern.send("tools/call", tool, requestState=state,
                          inputResponses={"confirm": elicited({"ok": True})})
        assert msg["error"]["code"] == -32602, msg


def test_capabilities_decide_what_is_asked(modern):
    sampling_only = modern.send("tools/call", "test_input_required_result_capabilities", caps={"sampling": {}})
    asked = sampling_only["result"]["inputRequests"]
    assert [v["method"] for v in asked.values()] == ["sampling/createMessage"]
    none = modern.send("tools/call", "test_input_required_result_capabilities", caps={})
    assert none["error"]["code"] == -32021


def test_prompt_and_resource_ask_too(modern):
    p1 = modern.result("prompts/get", "test_input_required_result_prompt")
    assert p1["inputRequests"]["user_context"]["method"] == "elicitation/create"
    p2 = modern.result("prompts/get", "test_input_required_result_prompt", requestState=p1["requestState"],
                       inputResponses={"user_context": elicited({"context": "testing"})})
    assert "testing" in p2["messages"][0]["content"]["text"]
    r1 = modern.result("resources/read", "test://input-required")
    assert list(r1["inputRequests"]) == ["greeting"]
    r2 = modern.result("resources/read", "test://input-required", requestState=r1["requestState"],
                       inputResponses={"greeting": elicited({"greeting": "hi there"})})
    assert r2["contents"][0]["text"] == "hi there"


def test_lists_never_ask(modern):
    for method in ("tools/list", "prompts/list"):
        msg = modern.send(method, None)
        assert msg.get("result", {}).get("resultType") != "input_required"
