"""JSON values at the edges, over stdio and HTTP alike: strings made of
escapes, numbers past double range (1e400), negative zero, integers past 64
bits, the 64-bit edges as request ids, unpaired surrogates. Each gets its
right answer (a round trip, or the right JSON-RPC error), and the next
request is answered at once."""
from __future__ import annotations

import json
import select
import subprocess
import time

import pytest

from conftest import LATEST, require_server_binary, server_env
from http_support import EverythingHTTP, initialize, post


class Stdio:
    def __init__(self):
        self.proc = subprocess.Popen([require_server_binary(), "--stdio"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=server_env())
        init = {"jsonrpc": "2.0", "id": 0, "method": "initialize",
                "params": {"protocolVersion": LATEST, "capabilities": {}, "clientInfo": {"name": "edges", "version": "1"}}}
        assert self.send(json.dumps(init).encode())["id"] == 0
        self.proc.stdin.write(b'{"jsonrpc":"2.0","method":"notifications/initialized"}\n')

    def send(self, line: bytes, timeout: float = 30) -> dict:
        self.proc.stdin.write(line + b"\n")
        self.proc.stdin.flush()
        assert select.select([self.proc.stdout], [], [], timeout)[0], "no answer"
        return json.loads(self.proc.stdout.readline())

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait()


class Http:
    def __init__(self):
        self.server = EverythingHTTP().__enter__()
        self.sid = initialize(self.server.url)

    def send(self, line: bytes, timeout: float = 30) -> dict:
        resp = post(self.server.url, raw=line, session=self.sid, version=LATEST)
        body = resp.read()
        if resp.getheader("Content-Type", "").startswith("text/event-stream"):
            datas = [l[6:] for l in body.split(b"\n") if l.startswith(b"data: ") and len(l) > 6]
            return json.loads(datas[-1])
        assert resp.status in (200, 400), (resp.status, body[:200])
        return json.loads(body)

    def close(self) -> None:
        self.server.__exit__(None, None, None)


@pytest.fixture(scope="module", params=["stdio", "http"])
def peer(request):
    p = Stdio() if request.param == "stdio" else Http()
    yield p
    p.close()


def ping(id_text: str, params: str | None = None) -> bytes:
    return (f'{{"jsonrpc":"2.0","id":{id_text},"method":"ping"' + (f',"params":{params}' if params else "")
            + "}").encode()


def echo(text_json: str) -> bytes:
    return ('{"jsonrpc":"2.0","id":"e","method":"tools/call","params":{"name":"test_echo","arguments":{"text":'
            + text_json + "}}}").encode()


def next_is_served_at_once(peer) -> None:
    started = time.monotonic()
    assert peer.send(ping('"next"')) == {"jsonrpc": "2.0", "id": "next", "result": {}}
    assert time.monotonic() - started < 2.0


@pytest.mark.parametrize("id_text", ["9223372036854775807", "-9223372036854775808", "0", '"9223372036854775808"',
                                     '""', '"' + "\\u0000\\n" * 1000 + '"'])
def test_ids_at_the_edges_come_back_exactly(peer, id_text):
    answer = peer.send(ping(id_text))
    assert answer == {"jsonrpc": "2.0", "id": json.loads(id_text), "result": {}}
    next_is_served_at_once(peer)


@pytest.mark.parametrize("id_text", ["9223372036854775808", "-9223372036854775809", "18446744073709551616",
                                     "123456789012345678901234567890", "1e2", "1.0", "1E-400"])
def test_ids_past_64_bits_or_not_integers_are_invalid_requests(peer, id_text):
    answer = peer.send(ping(id_text))
    assert answer["error"]["code"] == -32600 and "id" not in answer, answer
    next_is_served_at_once(peer)


@pytest.mark.parametrize("number", ["1e400", "-1e400", "1E+99999"])
def test_numbers_past_double_range_are_parse_errors(peer, number):
    for line in (ping(number), ping('"n"', f'{{"x":{number}}}')):
        answer = peer.send(line)
        assert answer["error"]["code"] == -32700 and "range" in answer["error"]["message"], answer
    next_is_served_at_once(peer)


@pytest.mark.parametrize("number", ["-0", "-0.0", "1e-400", "-1e-400", "123456789012345678901234567890123456789",
                                    "18446744073709551615", "-9223372036854775808", "4.9e-324", "1.7976931348623157e308"])
def test_numbers_at_the_edges_in_params_are_served(peer, number):
    assert peer.send(ping('"n"', f'{{"x":{number},"y":[{number}]}}')) == {"jsonrpc": "2.0", "id": "n", "result": {}}
    next_is_served_at_once(peer)


def test_a_string_of_a_million_escapes_round_trips(peer):
    escapes = '\\u00e9\\n\\"\\\\\\/\\t\\ud83d\\ude00\\u0000' * 125_000
    answer = peer.send(echo('"' + escapes + '"'), timeout=60)
    assert answer["result"]["content"][0]["text"] == json.loads('"' + escapes + '"')
    next_is_served_at_once(peer)


@pytest.mark.parametrize("text", ['"\\ud800"', '"\\udc00x"', '"\\ud800\\u0041"', '"' + "\\ud83d" * 100_000 + '"',
                                  '"\\uZZZZ"', '"\\x"', '"\\u12"'])
def test_bad_escapes_are_parse_errors(peer, text):
    answer = peer.send(echo(text))
    assert answer["error"]["code"] == -32700 and answer["error"]["message"], answer
    next_is_served_at_once(peer)
