"""run_stdio over real pipes: EOF and signals drain calls in flight, print() cannot corrupt the
stream, run_stdio_async runs handlers on the caller's loop."""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import pytest

from conftest import SERVERS, child_env

SCRIPT = SERVERS / "lifecycle.py"


class Pipe:
    def __init__(self, *args: str):
        self.proc = subprocess.Popen([sys.executable, str(SCRIPT), *args], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=child_env(), bufsize=0)
        self.send({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}}})
        assert self.recv()["id"] == 0
        self.send({"jsonrpc": "2.0", "method": "notifications/initialized"})

    def send(self, msg: dict) -> None:
        self.proc.stdin.write(json.dumps(msg).encode() + b"\n")

    def recv(self) -> dict:
        line = self.proc.stdout.readline()
        assert line, f"stdout closed; stderr: {self.proc.stderr.read().decode()[-2000:]}"
        return json.loads(line)

    def call(self, msg_id: int, name: str, arguments: dict | None = None) -> None:
        self.send({"jsonrpc": "2.0", "id": msg_id, "method": "tools/call",
                   "params": {"name": name, "arguments": arguments or {}}})

    def finish(self, timeout: float = 20) -> tuple[int, bytes, str]:
        """Waits for exit; returns (status, the rest of stdout, stderr)."""
        if not self.proc.stdin.closed:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            pytest.fail(f"the server did not exit; stderr: {self.proc.stderr.read().decode()[-2000:]}")
        out, err = self.proc.stdout.read(), self.proc.stderr.read().decode()
        self.proc.stdout.close()
        self.proc.stderr.close()
        return self.proc.returncode, out, err


@pytest.mark.parametrize("how", ["eof", "sigterm", "sigint"])
def test_a_call_in_flight_is_answered_before_exit(how):
    p = Pipe()
    p.call(1, "slow", {"ms": 700})
    time.sleep(0.3)
    if how == "eof":
        p.proc.stdin.close()
    else:
        p.proc.send_signal(signal.SIGTERM if how == "sigterm" else signal.SIGINT)
    answer = p.recv()
    assert answer["id"] == 1 and answer["result"]["structuredContent"] == {"result": "slept 700"}
    status, rest, err = p.finish()
    assert status == 0, err
    assert rest == b"" and "served" in err and "Traceback" not in err


def test_print_goes_to_stderr():
    p = Pipe()
    p.call(1, "noisy")
    answer = p.recv()
    assert answer["result"]["structuredContent"] == {"result": "printed"}
    p.call(2, "slow", {"ms": 1})
    assert p.recv()["id"] == 2, "the stream stayed clean after the prints"
    p.proc.stdin.close()
    status, rest, err = p.finish()
    assert status == 0 and rest == b""
    assert "this goes to stderr, not into the protocol" in err and "so does this" in err


def test_run_stdio_async_uses_the_callers_loop():
    p = Pipe("async")
    p.call(1, "where")
    assert p.recv()["result"]["structuredContent"] == {"result": "MainThread"}
    p.call(2, "slow", {"ms": 10})
    assert p.recv()["result"]["structuredContent"] == {"result": "slept 10"}
    p.proc.stdin.close()
    status, rest, err = p.finish()
    assert status == 0, err
    assert "served" in err
