#!/usr/bin/env python3
"""A real MCP session with the everything server, printed message by message.

Usage: python3 scripts/demo.py [build/bin/mcp-everything-server]

Spawns the server, speaks newline-delimited JSON-RPC to it over stdin/stdout
(initialize, tools/list, a few tools/call, resources/read, prompts/get, ping),
prints every message sent (->) and received (<-) as indented JSON, then closes
stdin and waits for the server to exit. Exits 0 when every answer is what the
fixtures promise, 1 with a message saying what went wrong otherwise.
Standard library only.
"""
from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time

TIMEOUT = 10.0  # seconds to wait for any one answer
PROTOCOL = "2025-11-25"


class DemoFailure(Exception):
    pass


def shorten(value, limit=72):
    """Copies a JSON value with long strings cut, so base64 data stays readable."""
    if isinstance(value, dict):
        return {k: shorten(v, limit) for k, v in value.items()}
    if isinstance(value, list):
        return [shorten(v, limit) for v in value]
    if isinstance(value, str) and len(value) > limit:
        return f"{value[:limit - 24]}... ({len(value)} chars)"
    return value


def render(value, depth=0, flat_at=4) -> str:
    """Indented JSON, except that values nested flat_at levels deep or more are
    written on one line (a tool's input schema stays one line)."""
    pad = "  " * (depth + 1)
    if isinstance(value, (dict, list)) and value and depth < flat_at:
        if isinstance(value, dict):
            items = [f"{pad}{json.dumps(k)}: {render(v, depth + 1, flat_at)}" for k, v in value.items()]
            return "{\n" + ",\n".join(items) + "\n" + "  " * depth + "}"
        items = [pad + render(v, depth + 1, flat_at) for v in value]
        return "[\n" + ",\n".join(items) + "\n" + "  " * depth + "]"
    flat = json.dumps(value, ensure_ascii=False)
    if isinstance(value, (dict, list)) and len(flat) > 160:
        flat = flat[:140] + f"... ({len(flat)} chars)"
    return flat


def show(arrow: str, msg) -> None:
    text = render(shorten(msg))
    lines = text.splitlines()
    print(f"{arrow} {lines[0]}")
    for line in lines[1:]:
        print(f"   {line}")
    sys.stdout.flush()


class Session:
    def __init__(self, command: list[str]):
        try:
            self.proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         stderr=subprocess.PIPE, bufsize=0)
        except OSError as e:
            raise DemoFailure(f"cannot start {command[0]}: {e}") from None
        self.lines: "queue.Queue[bytes | None]" = queue.Queue()
        self.stderr: list[bytes] = []
        self.next_id = 1
        threading.Thread(target=self._pump_stdout, daemon=True).start()
        threading.Thread(target=self._pump_stderr, daemon=True).start()

    def _pump_stdout(self) -> None:
        for raw in iter(self.proc.stdout.readline, b""):
            self.lines.put(raw)
        self.lines.put(None)

    def _pump_stderr(self) -> None:
        for chunk in iter(lambda: self.proc.stderr.read(4096), b""):
            self.stderr.append(chunk)

    def server_stderr(self) -> str:
        text = b"".join(self.stderr).decode("utf-8", "replace").strip()
        return f"\nserver stderr:\n{text[-2000:]}" if text else ""

    def send(self, msg: dict) -> None:
        show("->", msg)
        try:
            self.proc.stdin.write(json.dumps(msg, separators=(",", ":")).encode() + b"\n")
            self.proc.stdin.flush()
        except BrokenPipeError:
            raise DemoFailure(f"the server closed its stdin (exit status {self.proc.poll()})"
                              f"{self.server_stderr()}") from None

    def receive(self) -> dict:
        try:
            raw = self.lines.get(timeout=TIMEOUT)
        except queue.Empty:
            raise DemoFailure(f"no answer from the server within {TIMEOUT:.0f} s{self.server_stderr()}") from None
        if raw is None:
            self.lines.put(None)
            raise DemoFailure(f"the server closed stdout (exit status {self.proc.poll()}){self.server_stderr()}")
        try:
            msg = json.loads(raw)
        except ValueError:
            raise DemoFailure(f"the server wrote a line that is not JSON: {raw[:200]!r}") from None
        show("<-", msg)
        return msg

    def request(self, method: str, params: dict | None = None) -> dict:
        """Sends a request, prints what comes back until its answer, returns the result."""
        msg_id = self.next_id
        self.next_id += 1
        msg = {"jsonrpc": "2.0", "id": msg_id, "method": method}
        if params is not None:
            msg["params"] = params
        self.send(msg)
        while True:
            answer = self.receive()
            if answer.get("id") == msg_id and "method" not in answer:
                break
        if "error" in answer:
            raise DemoFailure(f"{method} failed: {answer['error']}")
        return answer["result"]

    def notify(self, method: str, params: dict | None = None) -> None:
        msg = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            msg["params"] = params
        self.send(msg)

    def close(self) -> int:
        self.proc.stdin.close()
        try:
            status = self.proc.wait(TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise DemoFailure(f"the server did not exit within {TIMEOUT:.0f} s of stdin EOF") from None
        while (raw := self.lines.get(timeout=TIMEOUT)) is not None:
            show("<-", json.loads(raw))
        return status


def step(title: str) -> None:
    print(f"\n== {title}")


def expect(condition: bool, what: str) -> None:
    if not condition:
        raise DemoFailure(what)


def text_of(result: dict) -> str:
    return "".join(c.get("text", "") for c in result.get("content", []) if c.get("type") == "text")


def demo(server: str) -> None:
    s = Session([server])
    try:
        step("initialize: agree on a protocol revision and exchange capabilities")
        init = s.request("initialize", {
            "protocolVersion": PROTOCOL,
            "capabilities": {},
            "clientInfo": {"name": "libmcp-demo", "version": "1.0.0"},
        })
        expect(init.get("protocolVersion") == PROTOCOL, f"server chose protocol {init.get('protocolVersion')!r}")
        s.notify("notifications/initialized")

        step("tools/list: what the server offers")
        tools = s.request("tools/list")
        names = {t["name"] for t in tools.get("tools", [])}
        expect({"test_echo", "test_tool_with_progress", "test_image_content"} <= names,
               f"expected tools missing from {sorted(names)}")

        step("tools/call test_echo: text back, plus structured content")
        r = s.request("tools/call", {"name": "test_echo", "arguments": {"text": "Hello from libmcp!"}})
        expect(text_of(r) == "Hello from libmcp!", f"test_echo answered {r}")
        expect(r.get("structuredContent") == {"text": "Hello from libmcp!"}, f"test_echo answered {r}")

        step("tools/call test_tool_with_progress: progress notifications, then the result")
        r = s.request("tools/call", {"name": "test_tool_with_progress", "arguments": {},
                                     "_meta": {"progressToken": "demo-progress"}})
        expect(not r.get("isError"), f"test_tool_with_progress failed: {r}")

        step("tools/call test_image_content: an image block (base64 shortened here)")
        r = s.request("tools/call", {"name": "test_image_content", "arguments": {}})
        expect(r["content"][0].get("mimeType") == "image/png", f"test_image_content answered {r}")

        step("resources/read: a resource template filled in with id 42")
        r = s.request("resources/read", {"uri": "test://template/42/data"})
        expect("42" in r["contents"][0].get("text", ""), f"resources/read answered {r}")

        step("prompts/get: a prompt with arguments")
        r = s.request("prompts/get", {"name": "test_prompt_with_arguments",
                                      "arguments": {"arg1": "sunny", "arg2": "Paris"}})
        expect("sunny" in json.dumps(r) and "Paris" in json.dumps(r), f"prompts/get answered {r}")

        step("ping")
        expect(s.request("ping") == {}, "ping did not answer {}")

        step("close stdin: the server finishes and exits")
        status = s.close()
        expect(status == 0, f"the server exited with status {status}{s.server_stderr()}")
    finally:
        if s.proc.poll() is None:
            s.proc.kill()
            s.proc.wait()


def main(argv: list[str]) -> int:
    server = argv[1] if len(argv) > 1 else os.path.join("build", "bin", "mcp-everything-server")
    if not os.access(server, os.X_OK):
        print(f"demo: {server} not found or not executable; build it first (make build)", file=sys.stderr)
        return 1
    start = time.monotonic()
    try:
        demo(server)
    except DemoFailure as e:
        print(f"\ndemo: FAILED: {e}", file=sys.stderr)
        return 1
    print(f"\ndemo: OK, a whole MCP session in {time.monotonic() - start:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
