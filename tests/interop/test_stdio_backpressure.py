"""A stdio client that writes requests and never reads the answers (at 2025-11-25
and at 2026-07-28): the server stops reading once answers cannot be written,
with tools inline and on worker threads alike, so its memory stays bounded;
once the client reads, every request is answered."""
from __future__ import annotations

import json
import os
import select
import subprocess
import threading
import time

import pytest

from conftest import LATEST, require_server_binary, server_env

TEXT = "q" * (16 << 10)  # 16 KiB answers
CAP = 160 << 20  # far past what the bounds let the server hold (16 MiB of answers, 1024 requests)
STALL = 1.5  # seconds without progress: the server stopped reading


MODERN_META = {"io.modelcontextprotocol/protocolVersion": "2026-07-28",
               "io.modelcontextprotocol/clientInfo": {"name": "never-reads", "version": "1"},
               "io.modelcontextprotocol/clientCapabilities": {}}


def request(i: int, modern: bool = False) -> bytes:
    params = {"name": "test_echo", "arguments": {"text": TEXT}}
    if modern:
        params["_meta"] = MODERN_META
    return json.dumps({"jsonrpc": "2.0", "id": f"r{i:07d}", "method": "tools/call",
                       "params": params}).encode() + b"\n"


def rss_mib(pid: int) -> float:
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


@pytest.mark.parametrize("flags,modern", [([], False), (["--no-inline"], False), ([], True)],
                         ids=["inline", "workers", "modern"])
def test_a_client_that_never_reads_cannot_grow_the_server(flags, modern):
    proc = subprocess.Popen([require_server_binary(), "--stdio", *flags], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=server_env())
    try:
        if not modern:  # at 2026-07-28 there is no handshake: the first request decides
            init = {"jsonrpc": "2.0", "id": 0, "method": "initialize",
                    "params": {"protocolVersion": LATEST, "capabilities": {},
                               "clientInfo": {"name": "never-reads", "version": "1"}}}
            proc.stdin.write(json.dumps(init).encode() + b"\n")
            proc.stdin.flush()
            assert json.loads(proc.stdout.readline())["id"] == 0
            proc.stdin.write(b'{"jsonrpc":"2.0","method":"notifications/initialized"}\n')
            proc.stdin.flush()
        base = rss_mib(proc.pid)

        # Write requests without blocking until the server takes no more for
        # a while (it stopped reading), or until far more than it should ever
        # hold. Ids are fixed-width so every request has the same length.
        fd = proc.stdin.fileno()
        os.set_blocking(fd, False)
        pending = b""
        count = 0
        taken = 0
        started = last_progress = time.monotonic()
        while time.monotonic() - last_progress < STALL and taken < CAP and time.monotonic() - started < 30:
            if not pending:
                pending = b"".join(request(i, modern) for i in range(count, count + 64))
                count += 64
            try:
                n = os.write(fd, pending)
                pending = pending[n:]
                taken += n
                last_progress = time.monotonic()
            except BlockingIOError:
                select.select([], [fd], [], 0.1)
        grown = rss_mib(proc.pid) - base
        assert taken < CAP, f"the server read {taken >> 20} MiB of requests whose answers it could not write"
        assert grown < 100, f"RSS grew {grown:.0f} MiB while the client did not read"

        # The client reads now: every request is answered, in whatever order.
        seen: set[str] = set()
        wrong: list[dict] = []

        def read_all() -> None:
            while len(seen) < count and (line := proc.stdout.readline()):
                msg = json.loads(line)
                if "id" not in msg:
                    continue
                if msg.get("result", {}).get("content", [{}])[0].get("text") != TEXT:
                    wrong.append(msg)
                seen.add(msg["id"])

        reader = threading.Thread(target=read_all, daemon=True)
        reader.start()
        os.set_blocking(fd, True)
        os.write(fd, pending)  # the rest of the last batch, taken once answers flow
        reader.join(60)
        assert not wrong, wrong[:1]
        assert len(seen) == count, f"{len(seen)} of {count} answered"
    finally:
        proc.kill()
        proc.wait()
