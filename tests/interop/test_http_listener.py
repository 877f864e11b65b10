"""The HTTP listener through the C ABI with its own configurations (a ctypes
host, http_host.py): limits, origin lists, idle expiry, graceful stop, TLS with
a certificate made at test time, WebSocket, and the host's SIGPIPE left alone."""
from __future__ import annotations

import base64
import json
import os
import socket
import ssl
import struct
import subprocess
import threading
import time

import pytest

from conftest import LATEST
from http_support import (
    EverythingHTTP, HostHTTP, call, connect, error_of, init_body, initialize, messages, post, request,
    start_host_expecting_error, tool_text,
)


def test_small_body_limit_is_413_with_a_jsonrpc_error():
    with HostHTTP({"max_body_bytes": 2048, "json_response": True}) as h:
        sid = initialize(h.url())
        resp = post(h.url(), call(1, "echo", {"text": "x" * 4000}), session=sid, version=LATEST)
        assert resp.status == 413
        err = error_of(resp)
        assert err["code"] == -32600 and "2048" in err["message"]
        resp = post(h.url(), call(2, "echo", {"text": "fits"}), session=sid, version=LATEST)
        assert resp.status == 200 and tool_text(json.loads(resp.read())) == "fits"


def test_413_arrives_while_the_client_is_still_sending():
    """The refusal goes out before the body is read, and the connection is
    half-closed, not reset, so the client can read it."""
    with HostHTTP({"max_body_bytes": 2048}) as h:
        with socket.create_connection(("127.0.0.1", h.port), timeout=10) as sock:
            size = 8 << 20
            sock.sendall(f"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:{h.port}\r\nContent-Type: application/json\r\n"
                         f"Transfer-Encoding: chunked\r\n\r\n".encode())
            reply = b""
            try:
                for _ in range(size // 65536):
                    sock.sendall(b"10000\r\n" + b" " * 65536 + b"\r\n")
            except OSError:
                pass  # the server stopped reading: expected
            while chunk := sock.recv(65536):
                reply += chunk
        assert reply.startswith(b"HTTP/1.1 413"), reply[:100]
        assert b'"code":-32600' in reply


def test_several_io_threads_serve_one_session_from_many_connections():
    with HostHTTP({"io_threads": 3, "json_response": True}) as h:
        sid = initialize(h.url())
        results: dict[int, str] = {}

        def one(i: int) -> None:
            resp = post(h.url(), call(i, "sleep", {"ms": 100}), session=sid, version=LATEST)
            results[i] = tool_text(json.loads(resp.read()))

        threads = [threading.Thread(target=one, args=(i,)) for i in range(12)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(15)
        assert results == {i: "slept 100" for i in range(12)}


def test_event_store_bound_refuses_a_resume_it_cannot_honour():
    from http_support import events
    with HostHTTP({"event_store_max_events": 4}) as h:
        sid = initialize(h.url())
        first = None
        for i in range(3):  # each call: a priming event and its answer
            evs = list(events(post(h.url(), call(i, "echo", {"text": "e"}), session=sid, version=LATEST)))
            first = first or evs[0]["id"]
        resp = request(h.url(), "GET", headers={"Mcp-Session-Id": sid, "MCP-Protocol-Version": LATEST,
                                                "Accept": "text/event-stream", "Last-Event-ID": first})
        assert resp.status == 400 and "no longer stored" in error_of(resp)["message"]


def test_idle_connections_close_but_open_streams_stay():
    from http_support import read_event
    with HostHTTP({"connection_idle_timeout_ms": 300}) as h:
        # A head that never finishes (slowloris) is dropped.
        with socket.create_connection(("127.0.0.1", h.port), timeout=10) as sock:
            sock.sendall(b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            assert sock.recv(100) == b""  # closed by the server
        # A keep-alive connection left idle after its response is closed, about
        # when the timeout says (checked every quarter of it).
        sid = initialize(h.url())
        with socket.create_connection(("127.0.0.1", h.port), timeout=10) as sock:
            body = b'{"jsonrpc":"2.0","id":1,"method":"ping"}'
            sock.sendall(b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                         b"Accept: application/json\r\nMcp-Session-Id: " + sid.encode() +
                         b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
            started = time.monotonic()
            reply = b""
            while chunk := sock.recv(4096):
                reply += chunk
            waited = time.monotonic() - started
            assert reply.startswith(b"HTTP/1.1 200") and b'"result":{}' in reply
            assert 0.25 <= waited <= 2.0, waited
        # A GET stream with nothing to say for longer stays open until its session ends.
        headers = {"Mcp-Session-Id": sid, "MCP-Protocol-Version": LATEST}
        stream = request(h.url(), "GET", headers={**headers, "Accept": "text/event-stream"})
        assert read_event(stream)  # priming
        time.sleep(0.8)
        resp = request(h.url(), "DELETE", headers=headers)
        assert resp.status == 200
        resp.read()
        assert read_event(stream) is None  # a clean end (terminating chunk), not a cut


def test_max_sessions_gives_503():
    with HostHTTP({"max_sessions": 2}) as h:
        initialize(h.url())
        initialize(h.url())
        resp = post(h.url(), init_body())
        assert resp.status == 503
        error_of(resp)


def test_idle_sessions_expire_but_never_during_a_request():
    # Generous margins: a loaded CI machine may pause a while between two requests.
    with HostHTTP({"session_idle_timeout_ms": 1500, "json_response": True}) as h:
        idle = initialize(h.url())
        busy = initialize(h.url())
        # A call that outlives the idle timeout keeps its session alive.
        resp = post(h.url(), call(1, "sleep", {"ms": 3200}), session=busy, version=LATEST)
        assert resp.status == 200 and tool_text(json.loads(resp.read())) == "slept 3200"
        resp = post(h.url(), {"jsonrpc": "2.0", "id": 2, "method": "ping"}, session=idle, version=LATEST)
        assert resp.status == 404  # expired while nothing was running
        resp.read()


def test_allowed_origins_and_hosts_are_configurable():
    config = {"allowed_origins": ["https://app.example"], "allowed_hosts": ["mcp.example:8443"]}
    with HostHTTP(config) as h:
        ok = {"Host": "mcp.example:8443", "Origin": "https://app.example"}
        resp = post(h.url(), init_body(), headers=ok)
        assert resp.status == 200
        resp.read()
        resp = post(h.url(), init_body(), headers={**ok, "Origin": "http://localhost"})
        assert resp.status == 403
        error_of(resp)
        resp = post(h.url(), init_body(), headers={**ok, "Host": "mcp.example:9999"})
        assert resp.status == 403
        error_of(resp)


@pytest.mark.parametrize("config, status", [
    ({"nonsense": 1}, "1"), ({"port": 70000}, "1"), ({"path": "mcp"}, "1"),
    ({"tls_cert_file": "/nonexistent.pem"}, "1"), ({"tls_cert_file": "/no.pem", "tls_key_file": "/no.pem"}, "6"),
])
def test_bad_configurations_are_refused(config, status):
    line = start_host_expecting_error(config)
    assert line.startswith(f"ERROR {status} "), line


def test_port_in_use_is_an_io_error():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        line = start_host_expecting_error({"port": s.getsockname()[1]})
    assert line.startswith("ERROR 6 "), line


def test_graceful_stop_finishes_the_call_in_flight_and_keeps_sigpipe():
    from http_support import events, read_event
    h = HostHTTP({})
    with h:
        sid = initialize(h.url())
        resp = post(h.url(), call(1, "sleep", {"ms": 600}), session=sid, version=LATEST)
        assert read_event(resp)  # the priming event: the call is in flight
        report: list[str] = []
        stopper = threading.Thread(target=lambda: report.append(h.stop()))  # mcp_server_stop_http
        stopper.start()
        answers = [json.loads(e["data"]) for e in events(resp) if e.get("data")]
        stopper.join(15)
        assert [a["id"] for a in answers] == [1] and tool_text(answers[0]) == "slept 600"
        status, sigpipe = report[0].split()[1:]
        assert status == "0"
        assert sigpipe == "0", "libmcp changed the host's SIGPIPE disposition (0 is SIG_DFL)"
        with pytest.raises(OSError):  # new connections are refused
            socket.create_connection(("127.0.0.1", h.port), timeout=2).close()


# --------------------------------------------------------------------------- TLS
@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    d = tmp_path_factory.mktemp("tls")
    cert, key = d / "cert.pem", d / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=60)
    return cert, key


def test_tls_session(certificate):
    cert, key = certificate
    with HostHTTP({"tls_cert_file": str(cert), "tls_key_file": str(key), "json_response": True}) as h:
        context = ssl.create_default_context(cafile=str(cert))
        url = h.url(scheme="https")
        conn = connect(url, context)
        resp = post(url, init_body(), conn=conn)
        assert resp.status == 200
        sid = resp.getheader("Mcp-Session-Id")
        messages(resp)
        resp = post(url, call(1, "echo", {"text": "secret"}), session=sid, version=LATEST, conn=conn)
        assert tool_text(json.loads(resp.read())) == "secret"
        assert conn.sock.version() in ("TLSv1.2", "TLSv1.3")
        # Plain HTTP on the TLS port gets nowhere.
        with pytest.raises((ConnectionError, http_client_errors())):
            request(h.url(), "POST", init_body()).read()


def http_client_errors():
    import http.client
    return http.client.HTTPException


# --------------------------------------------------------------------------- WebSocket
class WebSocket:
    """A minimal RFC 6455 client: text frames, masked as a client must."""

    def __init__(self, host: str, port: int, path: str = "/ws", protocol: str = "mcp"):
        self.sock = socket.create_connection((host, port), timeout=10)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
                           f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                           f"Sec-WebSocket-Protocol: {protocol}\r\n\r\n").encode())
        self.buf = b""
        while b"\r\n\r\n" not in self.buf:
            chunk = self.sock.recv(4096)
            if not chunk:
                break
            self.buf += chunk
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        self.head = head.decode()

    def send(self, obj, opcode: int = 1, fin: bool = True, raw: bytes | None = None) -> None:
        data = raw if raw is not None else json.dumps(obj).encode()
        mask = os.urandom(4)
        n = len(data)
        first = bytes([(0x80 if fin else 0) | opcode])
        if n < 126:
            hdr = first + bytes([0x80 | n])
        elif n < 65536:
            hdr = first + bytes([0x80 | 126]) + struct.pack(">H", n)
        else:
            hdr = first + bytes([0x80 | 127]) + struct.pack(">Q", n)
        self.sock.sendall(hdr + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))

    def _read(self, n: int) -> bytes:
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def frame(self) -> tuple[int, bytes]:
        b0, b1 = self._read(2)
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack(">H", self._read(2))[0]
        elif n == 127:
            n = struct.unpack(">Q", self._read(8))[0]
        return b0 & 0x0F, self._read(n)

    def recv(self):
        opcode, data = self.frame()
        assert opcode == 1, (opcode, data)
        return json.loads(data)


def test_websocket_session():
    with EverythingHTTP() as server:
        host, port = server.base.split("//")[1].split(":")
        ws = WebSocket(host, int(port))
        assert ws.head.startswith("HTTP/1.1 101"), ws.head
        assert "sec-websocket-protocol: mcp" in ws.head.lower()
        ws.send(init_body())
        assert ws.recv()["result"]["protocolVersion"] == LATEST
        ws.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        ws.send(call(1, "test_tool_with_progress", token="w"))
        got = [ws.recv() for _ in range(4)]
        assert [m["params"]["progress"] for m in got[:3]] == [0, 50, 100] and got[3]["id"] == 1
        # A message in two fragments is one message.
        text = json.dumps(call(2, "test_echo", {"text": "frag"})).encode()
        ws.send(None, opcode=1, fin=False, raw=text[:10])
        ws.send(None, opcode=0, fin=True, raw=text[10:])
        assert tool_text(ws.recv()) == "frag"
        ws.send(None, raw=b"{nope")
        assert ws.recv()["error"]["code"] == -32700
        # A WebSocket cannot resume a stream: mcp_call_close_stream refuses, the call just answers.
        ws.send(call(3, "test_reconnection"))
        assert tool_text(ws.recv()) == "Reconnection test completed"


def test_websocket_needs_the_mcp_subprotocol():
    with EverythingHTTP() as server:
        host, port = server.base.split("//")[1].split(":")
        ws = WebSocket(host, int(port), protocol="chat")
        assert ws.head.startswith("HTTP/1.1 426"), ws.head


def test_websocket_message_over_the_limit_gets_an_error_and_1009():
    with HostHTTP({"max_body_bytes": 4096}) as h:
        # Fragments under the limit that add up to more: a JSON-RPC error, then 1009.
        ws = WebSocket("127.0.0.1", h.port)
        assert ws.head.startswith("HTTP/1.1 101")
        text = json.dumps(call(1, "echo", {"text": "y" * 8000})).encode()
        ws.send(None, opcode=1, fin=False, raw=text[:3000])
        ws.send(None, opcode=0, fin=True, raw=text[3000:6000])
        assert ws.recv()["error"]["code"] == -32600
        opcode, data = ws.frame()
        assert opcode == 8 and struct.unpack(">H", data[:2])[0] == 1009
        # One frame over the limit is refused by the frame decoder itself: 1009.
        ws = WebSocket("127.0.0.1", h.port)
        ws.send(call(1, "echo", {"text": "y" * 8000}))
        opcode, data = ws.frame()
        assert opcode == 8 and struct.unpack(">H", data[:2])[0] == 1009
