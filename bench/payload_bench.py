#!/usr/bin/env python3
"""Large payloads: a 10 MB test_echo over stdio, side by side, and wide JSON objects.

Usage: python bench/payload_bench.py [--build build] [--bytes 10000000] [--requests 5]
           [--repeat 3] [--servers cat,c,python,sdk] [--baseline-build DIR]
           [--baseline-src DIR] [--skip-hostile] [--json out.json]

Echo: `stdio_driver --text-bytes N` sends tools/call test_echo with a text of N
bytes (base64 letters) and times each answer (text block + structuredContent,
so about 2N bytes back). Servers, alternating, `--repeat` runs of `--requests`
calls each (after one warm-up call), median of the per-run p50:

  cat     the ceiling: the pipes and the driver alone (the line comes back once)
  c       the everything server (C; test_echo through mcp_call_arg_string and
          mcp_call_return_text)
  python  bench/python_binding_server.py with our binding (test_echo -> Echo model)
  sdk     the same tool in the official SDK's MCPServer (mcp==2.3.0)

--baseline-build DIR adds `c-base` and `python-base`: DIR/bin/mcp-everything-server
and DIR/lib/libmcp.so.1 (an older build), with the binding from --baseline-src
(an older bindings/python/src) if given, so before and after share one run.

Hostile: one JSON object of a million members (about 16 MB, `"k0000000042":1`
each) as the params of a ping, over stdio and over HTTP to the everything
server: the time until its answer, then the time of the next ping. With a
baseline build the same is tried there, given up after 30 s.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import select
import statistics
import subprocess
import sys
import time
from pathlib import Path

from run import build_driver  # bench/run.py: the stdio driver, built once per build directory

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
HOSTILE_GIVE_UP = 30.0


def fail(message: str) -> None:
    print(f"payload_bench: {message}", file=sys.stderr)
    sys.exit(1)


def servers(args: argparse.Namespace) -> dict[str, tuple[list[str], dict[str, str], bool]]:
    """name: (command, environment, speaks MCP)."""
    build = args.build.resolve()
    py = sys.executable
    script = str(HERE / "python_binding_server.py")

    def binding_env(lib_dir: Path, src: Path) -> dict[str, str]:
        return dict(os.environ, LIBMCP_PATH=str(lib_dir / "libmcp.so.1"), PYTHONPATH=str(src))

    out = {
        "cat": (["cat"], dict(os.environ), False),
        "c": ([str(build / "bin" / "mcp-everything-server")],
              dict(os.environ, LD_LIBRARY_PATH=str(build / "lib")), True),
        "python": ([py, script, "ours", "stdio"], binding_env(build / "lib", REPO / "bindings" / "python" / "src"),
                   True),
        "sdk": ([py, script, "sdk", "stdio"], dict(os.environ), True),
    }
    if args.baseline_build:
        base = args.baseline_build.resolve()
        out["c-base"] = ([str(base / "bin" / "mcp-everything-server")],
                         dict(os.environ, LD_LIBRARY_PATH=str(base / "lib")), True)
        src = args.baseline_src.resolve() if args.baseline_src else REPO / "bindings" / "python" / "src"
        out["python-base"] = ([py, script, "baseline", "stdio"], binding_env(base / "lib", src), True)
    wanted = args.servers.split(",") + [n for n in out if n.endswith("-base")]
    return {n: out[n] for n in wanted if n in out}


def echo_run(driver: Path, command: list[str], env: dict[str, str], mcp: bool, size: int, requests: int) -> float:
    """The p50 round trip of one run, in ms."""
    cmd = [str(driver), "--text-bytes", str(size), "--requests", str(requests), "--warmup", "1", "--timeout", "300"]
    if mcp:
        cmd += ["--init", "--expect", '"result":']
    r = subprocess.run(cmd + ["--"] + command, capture_output=True, text=True, env=env, timeout=600)
    if r.returncode != 0:
        fail(f"the driver failed against {' '.join(command)}:\n{r.stderr.strip()[-2000:]}")
    return json.loads(r.stdout)["p50_us"] / 1000


# ---------------------------------------------------------------- hostile

def wide_body() -> bytes:
    members = b",".join(b'"k%010d":1' % i for i in range(1_000_000))
    return b'{"jsonrpc":"2.0","id":"wide","method":"ping","params":{' + members + b"}}"


def read_answer(proc: subprocess.Popen, want_id: str, deadline: float) -> bool:
    """Reads stdout lines until the answer to want_id; False when the deadline passes."""
    assert proc.stdout is not None
    buf = b""
    fd = proc.stdout.fileno()
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            break
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            fail("the server closed its stdout")
        buf += chunk
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            msg = json.loads(line)
            if msg.get("id") == want_id:
                if "result" not in msg:
                    fail(f"the server refused the request: {line[:300]!r}")
                return True
    return False


def hostile_stdio(binary: Path, lib: Path, body: bytes) -> tuple[float | None, float | None]:
    proc = subprocess.Popen([str(binary)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, env=dict(os.environ, LD_LIBRARY_PATH=str(lib)))
    assert proc.stdin is not None
    try:
        init = {"jsonrpc": "2.0", "id": "init", "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "bench", "version": "1"}}}
        proc.stdin.write(json.dumps(init).encode() + b"\n")
        proc.stdin.flush()
        if not read_answer(proc, "init", time.monotonic() + 20):
            fail("no answer to initialize")
        proc.stdin.write(b'{"jsonrpc":"2.0","method":"notifications/initialized"}\n')
        t0 = time.monotonic()
        proc.stdin.write(body + b"\n")
        proc.stdin.flush()
        if not read_answer(proc, "wide", t0 + HOSTILE_GIVE_UP):
            return None, None
        wide = time.monotonic() - t0
        t1 = time.monotonic()
        proc.stdin.write(b'{"jsonrpc":"2.0","id":"next","method":"ping"}\n')
        proc.stdin.flush()
        if not read_answer(proc, "next", t1 + 10):
            fail("no answer to the ping after the wide object")
        return wide, time.monotonic() - t1
    finally:
        proc.kill()
        proc.wait()


def hostile_http(binary: Path, lib: Path, body: bytes) -> tuple[float | None, float | None]:
    proc = subprocess.Popen([str(binary), "--http", "127.0.0.1:0", "--json-response"], stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            env=dict(os.environ, LD_LIBRARY_PATH=str(lib)))
    assert proc.stderr is not None
    try:
        port = None
        deadline = time.monotonic() + 20
        while port is None and time.monotonic() < deadline:
            line = proc.stderr.readline()
            if not line:
                break
            m = re.search(rb"http://127\.0\.0\.1:(\d+)/mcp", line)
            if m:
                port = int(m.group(1))
        if port is None:
            fail("the HTTP server printed no URL")
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=HOSTILE_GIVE_UP)
        headers = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
        init = {"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "bench", "version": "1"}}}
        conn.request("POST", "/mcp", json.dumps(init), headers)
        resp = conn.getresponse()
        resp.read()
        headers.update({"Mcp-Session-Id": resp.getheader("Mcp-Session-Id") or "",
                        "MCP-Protocol-Version": "2025-11-25"})
        t0 = time.monotonic()
        try:
            conn.request("POST", "/mcp", body, headers)
            resp = conn.getresponse()
            answer = resp.read()
        except TimeoutError:
            return None, None
        wide = time.monotonic() - t0
        if resp.status != 200 or b'"result"' not in answer:
            fail(f"the wide object was refused over HTTP: {resp.status} {answer[:300]!r}")
        t1 = time.monotonic()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("POST", "/mcp", '{"jsonrpc":"2.0","id":1,"method":"ping"}', headers)
        resp = conn.getresponse()
        resp.read()
        return wide, time.monotonic() - t1
    finally:
        proc.kill()
        proc.wait()


def fmt(seconds: float | None) -> str:
    return f"> {HOSTILE_GIVE_UP:.0f} s (given up)" if seconds is None else f"{seconds * 1000:.0f} ms"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", type=Path, default=REPO / "build")
    ap.add_argument("--bytes", type=int, default=10_000_000)
    ap.add_argument("--requests", type=int, default=5)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--servers", default="cat,c,python,sdk")
    ap.add_argument("--baseline-build", type=Path)
    ap.add_argument("--baseline-src", type=Path)
    ap.add_argument("--skip-hostile", action="store_true")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    driver = build_driver(args.build)
    table = servers(args)
    report: dict = {"bytes": args.bytes, "echo_p50_ms": {}, "hostile": {}}

    print(f"test_echo of {args.bytes / 1e6:.1f} MB over stdio: p50 round trip, median of {args.repeat} runs "
          f"of {args.requests} calls")
    runs: dict[str, list[float]] = {n: [] for n in table}
    for _ in range(args.repeat):
        for name, (command, env, mcp) in table.items():
            runs[name].append(echo_run(driver, command, env, mcp, args.bytes, args.requests))
    sdk = statistics.median(runs["sdk"]) if runs.get("sdk") else None
    for name, values in runs.items():
        ms = statistics.median(values)
        report["echo_p50_ms"][name] = ms
        vs = f"   {ms / sdk:.2f}x the sdk's time" if sdk and name != "sdk" else ""
        print(f"  {name:12} {ms:8.1f} ms{vs}")

    if not args.skip_hostile:
        body = wide_body()
        print(f"\nhostile: ping whose params are one object of 1,000,000 members ({len(body) / 2**20:.1f} MiB)")
        builds = {"ours": args.build.resolve()}
        if args.baseline_build:
            builds["base"] = args.baseline_build.resolve()
        for label, root in builds.items():
            binary, lib = root / "bin" / "mcp-everything-server", root / "lib"
            for transport, fn in (("stdio", hostile_stdio), ("http", hostile_http)):
                wide, nxt = fn(binary, lib, body)
                report["hostile"][f"{label}/{transport}"] = {"wide_s": wide, "next_ping_s": nxt}
                after = f", next ping {fmt(nxt)}" if nxt is not None else ""
                print(f"  {label:5} {transport:5}  answered in {fmt(wide)}{after}")

    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
