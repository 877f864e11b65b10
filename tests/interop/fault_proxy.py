"""A fault-injecting TCP proxy for the forced-disconnect tests: it forwards
127.0.0.1:<port> to a server and cuts connections at points a seeded RNG
picks, so a failing run can be replayed with the same seed
(MCP_FAULT_SEED=<n>; the seed in use is printed and put in every failure).

A cut is abrupt: both sockets are closed with SO_LINGER 0, so each peer sees
a reset (or EOF), the way a dropped NAT entry or a killed proxy looks. Per
connection, `plan(rng, request_line)` says where to cut: a `Cut` (after that
many bytes from the server, counted from the end of the first SSE event when
`after_first_event` is set, or that many bytes from the client when
`upstream` is set) or None (never). It is given the first request
line, so a test can treat POSTs and GETs differently. The proxy runs an
asyncio loop on a thread of its own; `stop()` ends it and every connection.
"""
from __future__ import annotations

import asyncio
import os
import random
import socket
import struct
import threading
from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class Cut:
    after: int  # bytes forwarded before the cut (from the server, or from the client when upstream)
    after_first_event: bool = False  # count from the end of the first SSE event (from the server)
    upstream: bool = False  # count the client's bytes: a request cut before the server has it all


Plan = Callable[[random.Random, bytes], "Cut | None"]


def seed_from_env() -> int:
    value = os.environ.get("MCP_FAULT_SEED")
    return int(value) if value else random.SystemRandom().randrange(1 << 32)


def _reset(writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
    writer.transport.abort()


def _end_of_first_event(data: bytes) -> int | None:
    """The offset just past the first SSE event of a response (head, then the
    first blank line of its body), or None while it has not passed."""
    head = data.find(b"\r\n\r\n")
    if head < 0:
        return None
    body = head + 4
    ends = [i for i in (data.find(b"\n\n", body), data.find(b"\r\n\r\n", body)) if i >= 0]
    if not ends:
        return None
    end = min(ends)
    return end + (2 if data[end:end + 2] == b"\n\n" else 4)


class FaultProxy:
    def __init__(self, target_port: int, plan: Plan, seed: int | None = None, host: str = "127.0.0.1"):
        self.target = (host, target_port)
        self.plan = plan
        self.seed = seed_from_env() if seed is None else seed
        self.rng = random.Random(self.seed)
        self.port = 0
        self.connections = 0
        self.cuts = 0
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.base_events.Server | None = None
        self._thread = threading.Thread(target=self._run, name="fault-proxy", daemon=True)
        self._started = threading.Event()
        self._open: set[asyncio.StreamWriter] = set()

    def describe(self) -> str:
        return f"fault proxy seed={self.seed} (replay with MCP_FAULT_SEED={self.seed})"

    # ------------------------------------------------------------------ lifecycle
    def __enter__(self) -> "FaultProxy":
        print(self.describe(), flush=True)
        self._thread.start()
        if not self._started.wait(10):
            raise AssertionError("the fault proxy did not start")
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> None:
        if self._loop.is_closed():
            return
        fut = asyncio.run_coroutine_threadsafe(self._close(), self._loop)
        fut.result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(asyncio.start_server(self._accept, "127.0.0.1", 0))
        self.port = self._server.sockets[0].getsockname()[1]
        self._started.set()
        self._loop.run_forever()
        self._loop.close()

    async def _close(self) -> None:
        assert self._server is not None
        self._server.close()
        for w in list(self._open):
            w.transport.abort()
        await self._server.wait_closed()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/mcp"

    # ------------------------------------------------------------------ one connection
    async def _accept(self, creader: asyncio.StreamReader, cwriter: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._open.add(cwriter)
        try:
            swriter = None
            try:
                sreader, swriter = await asyncio.open_connection(*self.target)
            except OSError:
                _reset(cwriter)
                return
            self._open.add(swriter)
            first = await creader.read(65536)
            if not first:
                return
            line = first.split(b"\r\n", 1)[0]
            cut = self.plan(self.rng, line)
            done = asyncio.Event()
            up = asyncio.create_task(self._pump(creader, swriter, cut if cut and cut.upstream else None, cwriter,
                                                None, first))
            down = asyncio.create_task(self._pump(sreader, cwriter, None if cut and cut.upstream else cut, swriter,
                                                  done))
            await done.wait()
            for t in (up, down):
                t.cancel()
            await asyncio.gather(up, down, return_exceptions=True)
        finally:
            for w in (cwriter, swriter):
                if w is not None:
                    self._open.discard(w)
                    if not w.transport.is_closing():
                        w.transport.abort()

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, cut: Cut | None,
                    other: asyncio.StreamWriter, done: asyncio.Event | None, initial: bytes = b"") -> None:
        """Copies reader to writer; at the cut point, resets both connections.
        The connection is over when the server's direction ends (`done`); the
        client's ending (EOF) is passed on as a half-close."""
        seen = b""  # kept only until the first event has passed
        start: int | None = None if cut and cut.after_first_event else 0
        sent = 0
        try:
            while chunk := (initial or await reader.read(65536)):
                initial = b""
                if cut is not None:
                    if start is None:
                        seen += chunk
                        start = _end_of_first_event(seen)
                        if start is not None:
                            seen = b""
                    if start is not None and sent + len(chunk) >= start + cut.after:
                        keep = max(0, start + cut.after - sent)
                        writer.write(chunk[:keep])
                        self.cuts += 1
                        _reset(writer)
                        _reset(other)
                        return
                writer.write(chunk)
                sent += len(chunk)
                await writer.drain()
            if writer.can_write_eof():
                writer.write_eof()
            return
        except (OSError, asyncio.IncompleteReadError):
            _reset(writer)
            _reset(other)
        finally:
            if done is not None:
                done.set()
