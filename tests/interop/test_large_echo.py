"""Megabyte texts through test_echo (mcp_call_arg_string lends the parsed string
in place; stdio answers are written into the buffer of the last large one):
every answer carries its own text, byte for byte, twice (content and
structuredContent), over stdio and over HTTP. Successive calls differ in
content and shrink, so bytes left over from a reused buffer would show."""
from __future__ import annotations

import json

import pytest

from conftest import LATEST, RawServer
from http_support import EverythingHTTP, call, initialize, post

MB = 1_000_000
# Escapes of every kind, two- to four-byte UTF-8, and plain runs long enough
# for the vector scans; and a text that needs no escape at all (base64 data,
# written once and copied for its second place).
PIECE = 'plain ASCII run of letters 0123456789 "quoted" back\\slash \n\r\t\b\f \x01\x1f\x7f é € 𝄞 '
PLAIN = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/é€𝄞"


def text_of(size: int, tag: int) -> str:
    body = (f"<{tag}>" + (PIECE if tag % 2 == 0 else PLAIN)) * (size // len(PIECE.encode()) + 1)
    out = body.encode()[:size].decode("utf-8", "ignore")  # cut on a character boundary
    return out + f"<end {tag}>"


def escaped(text: str) -> bytes:
    """The JSON string as the engine writes it (compact, UTF-8, \\u00XX in lower case)."""
    return json.dumps(text, ensure_ascii=False).encode()


def check_answer(raw: bytes, text: str) -> None:
    msg = json.loads(raw)
    result = msg["result"]
    assert [c["text"] for c in result["content"] if c["type"] == "text"] == [text]
    assert result["structuredContent"] == {"text": text}
    # The raw bytes: the text written out exactly, in both places, and nothing after the message.
    assert raw.count(escaped(text)) == 2
    assert raw.rstrip(b"\r\n").endswith(b"}")


SIZES = [10 * MB, 4 * MB]


def test_megabyte_echoes_over_stdio(spawn):
    s: RawServer = spawn()
    s.initialize()
    for tag, size in enumerate(SIZES):
        text = text_of(size, tag)
        msg_id = f"big-{tag}"
        s.checker.note_request(msg_id, "tools/call")
        s.send_raw(json.dumps({"jsonrpc": "2.0", "id": msg_id, "method": "tools/call",
                               "params": {"name": "test_echo", "arguments": {"text": text}}},
                              ensure_ascii=False).encode() + b"\n", timeout=120)
        line = s.response(msg_id, timeout=120)
        check_answer(line.raw, text)
    # A small answer after the large ones comes out whole too.
    s.checker.note_request("small", "tools/call")
    s.send_raw(b'{"jsonrpc":"2.0","id":"small","method":"tools/call","params":{"name":"test_echo",'
               b'"arguments":{"text":"short"}}}\n')
    check_answer(s.response("small", timeout=30).raw, "short")


@pytest.fixture(scope="module")
def http_server():
    with EverythingHTTP() as s:
        yield s


def test_megabyte_echoes_over_http(http_server):
    url = http_server.base + "/mcp"
    sid = initialize(url)
    for tag, size in enumerate(SIZES):
        text = text_of(size, tag)
        resp = post(url, call(tag, "test_echo", {"text": text}), session=sid, version=LATEST,
                    headers={"Accept": "application/json, text/event-stream"})
        assert resp.status == 200, resp.status
        body = resp.read()
        if resp.getheader("Content-Type", "").startswith("text/event-stream"):
            data = [line[5:].lstrip() for line in body.split(b"\n") if line.startswith(b"data:")]
            body = next(d for d in data if b'"result"' in d)
        check_answer(body, text)
