#!/usr/bin/env python3
"""Client benchmark: tools/call round trips per second, our client (libmcp's C
ABI, bench/client_driver.c) beside the official Python SDK client, in one run.

Part 1, sequential, 2025 era: against our everything server and the SDK's own
MCPServer fixture, over stdio and over Streamable HTTP (ClientSession).
Part 2, 2026-07-28 over Streamable HTTP against our everything server, one call
at a time and --concurrency calls in flight: our client with era 2026-07-28
(and legacy, for the era's own cost) beside the SDK's Client(url,
mode="2026-07-28") (asyncio.gather for the concurrent runs).

Usage: python bench/client_bench.py [--build build] [--calls 2000] [--repeat 3] [--concurrency 8]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import socket
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent


def build_driver(build: Path) -> Path:
    out = build / "bench" / "client_driver"
    src = HERE / "client_driver.c"
    out.parent.mkdir(parents=True, exist_ok=True)
    cmd = [os.environ.get("CC", "cc"), "-O2", "-std=c11", f"-I{REPO / 'include'}", "-o", str(out), str(src),
           f"-L{build / 'lib'}", "-lmcp", f"-Wl,-rpath,{(build / 'lib').resolve()}"]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"bench: cannot build the client driver:\n{r.stderr}")
    return out


def ours(driver: Path, calls: int, tool: str, args: dict, server: list[str] | str, era: str | None = None,
         threads: int = 1) -> float:
    return ours_figures(driver, calls, tool, args, server, era, threads)["calls_per_s"]


def ours_figures(driver: Path, calls: int, tool: str, args: dict, server: list[str] | str, era: str | None = None,
                 threads: int = 1) -> dict:
    """One client_driver run: calls_per_s, and the client's cpu_us_per_call and switches_per_call."""
    target = ["--http", server] if isinstance(server, str) else ["--", *server]
    env = dict(os.environ, CLIENT_THREADS=str(threads))
    if era:
        env["CLIENT_ERA"] = era
    r = subprocess.run([str(driver), str(calls), tool, json.dumps(args), *target],
                       capture_output=True, text=True, timeout=600, env=env)
    if r.returncode != 0:
        sys.exit(f"bench: client_driver failed: {r.stderr}")
    return json.loads(r.stdout)


def python_client(calls: int, tool: str, args: dict, server: list[str] | str) -> float:
    from mcp import ClientSession, StdioServerParameters, stdio_client
    from mcp.client.streamable_http import streamable_http_client

    async def run(read, write) -> float:
        async with ClientSession(read, write) as s:
            await s.initialize()
            t0 = time.perf_counter()
            for _ in range(calls):
                await s.call_tool(tool, args)
            return calls / (time.perf_counter() - t0)

    async def main() -> float:
        if isinstance(server, str):
            async with streamable_http_client(server) as (read, write):
                return await run(read, write)
        params = StdioServerParameters(command=server[0], args=server[1:], env=dict(os.environ))
        with open(os.devnull, "w") as devnull:
            async with stdio_client(params, errlog=devnull) as (read, write):
                return await run(read, write)

    return asyncio.run(main())


def sdk_modern(calls: int, tool: str, args: dict, url: str, concurrency: int) -> float:
    """The SDK's Client at 2026-07-28: `concurrency` calls in flight (1: one after the other)."""
    from mcp import Client

    async def main() -> float:
        async with Client(url, mode="2026-07-28") as c:
            await c.call_tool(tool, args)
            per = calls // concurrency

            async def lane() -> None:
                for _ in range(per):
                    await c.call_tool(tool, args)
            t0 = time.perf_counter()
            await asyncio.gather(*(lane() for _ in range(concurrency)))
            return per * concurrency / (time.perf_counter() - t0)

    return asyncio.run(main())


def mrtr_ms(url: str, calls: int, build: Path) -> dict[str, float]:
    """Milliseconds per call at 2026-07-28: a plain call and an MRTR call (one elicitation round:
    InputRequiredResult, the client's handler, the retry), with our client (the Python binding, as
    a host would use it) and the SDK's."""
    sys.path.insert(0, str(REPO / "bindings" / "python" / "src"))
    os.environ.setdefault("LIBMCP_PATH", str(build / "lib" / "libmcp.so.1"))
    import libmcp
    from mcp import Client
    from mcp_types import ElicitResult

    out: dict[str, float] = {}
    with libmcp.Client("bench", "1", era="2026-07-28",
                       elicitation=lambda p: {"action": "accept", "content": {"name": "Ada"}}) as c:
        c.connect_http(url)
        for label, tool, args in (("plain", "test_echo", {"text": "hi"}),
                                  ("mrtr", "test_input_required_result_elicitation", {})):
            c.call_tool(tool, args)
            t0 = time.perf_counter()
            for _ in range(calls):
                c.call_tool(tool, args)
            out[f"ours {label}"] = (time.perf_counter() - t0) * 1000 / calls

    async def on_elicit(ctx, params):
        return ElicitResult(action="accept", content={"name": "Ada"})

    async def sdk() -> None:
        async with Client(url, mode="2026-07-28", elicitation_callback=on_elicit) as c:
            for label, tool, args in (("plain", "test_echo", {"text": "hi"}),
                                      ("mrtr", "test_input_required_result_elicitation", {})):
                await c.call_tool(tool, args)
                t0 = time.perf_counter()
                for _ in range(max(50, calls // 4)):
                    await c.call_tool(tool, args)
                out[f"SDK {label}"] = (time.perf_counter() - t0) * 1000 / max(50, calls // 4)

    asyncio.run(sdk())
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_http(cmd: list[str], port: int) -> subprocess.Popen:
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 30
    while time.time() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return proc
        time.sleep(0.1)
    proc.kill()
    sys.exit(f"bench: {cmd[0]} did not listen on {port}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--calls", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--concurrency", type=int, default=8)
    a = ap.parse_args()
    build = Path(a.build).resolve()
    driver = build_driver(build)
    python = sys.executable
    servers = {
        "everything server (ours)": ([str(build / "bin" / "mcp-everything-server")], "test_echo", {"text": "hello"}),
        "MCPServer (official SDK)": ([python, str(REPO / "tests/interop/fixtures/sdk_server.py"), "stdio"],
                                     "echo", {"text": "hello"}),
    }
    procs = []
    p1, p2 = free_port(), free_port()
    procs.append(start_http([str(build / "bin" / "mcp-everything-server"), "--http", f"127.0.0.1:{p1}"], p1))
    procs.append(start_http([python, str(REPO / "tests/interop/fixtures/sdk_server.py"), "streamable-http", str(p2)], p2))
    servers["everything server (ours), HTTP"] = (f"http://127.0.0.1:{p1}/mcp", "test_echo", {"text": "hello"})
    servers["MCPServer (official SDK), HTTP"] = (f"http://127.0.0.1:{p2}/mcp", "echo", {"text": "hello"})
    print(f"sequential tools/call round trips; median of {a.repeat} runs of {a.calls} calls (ours)")
    print(f"{'server':32} {'our client':>12} {'Python client':>14} {'ratio':>8}")
    try:
        for name, (cmd, tool, args) in servers.items():
            ours_runs = [ours(driver, a.calls, tool, args, cmd) for _ in range(a.repeat)]
            py_runs = [python_client(max(200, a.calls // 4), tool, args, cmd) for _ in range(a.repeat)]
            o, p = statistics.median(ours_runs), statistics.median(py_runs)
            print(f"{name:32} {o:>10,.0f}/s {p:>12,.0f}/s {o / p:>7.1f}x")
        url = servers["everything server (ours), HTTP"][0]
        print(f"\n2026-07-28 over Streamable HTTP, our everything server; median of {a.repeat} runs")
        print(f"{'calls in flight':32} {'ours modern':>12} {'ours legacy':>12} {'SDK modern':>12} {'ratio':>8}")
        detail = []
        for inflight in (1, a.concurrency):
            # The eras alternate run by run, so that a change in the machine's
            # load falls on both.
            runs: dict[str, list[dict]] = {"2026-07-28": [], "legacy": []}
            for _ in range(a.repeat):
                for era in runs:
                    runs[era].append(ours_figures(driver, a.calls, "test_echo", {"text": "hello"}, url, era, inflight))
            m, lg = (statistics.median(r["calls_per_s"] for r in runs[e]) for e in runs)
            sdk = statistics.median(sdk_modern(max(200, a.calls // 4), "test_echo", {"text": "hello"}, url, inflight)
                                    for _ in range(a.repeat))
            print(f"{inflight:<32} {m:>10,.0f}/s {lg:>10,.0f}/s {sdk:>10,.0f}/s {m / sdk:>7.1f}x")
            for era, rs in runs.items():
                detail.append(f"  {inflight} in flight, ours {era:10}: runs "
                              + " ".join(f"{r['calls_per_s']:,.0f}" for r in rs)
                              + f"/s; client CPU {statistics.median(r['cpu_us_per_call'] for r in rs):.0f} us/call,"
                              f" {statistics.median(r['switches_per_call'] for r in rs):.1f} context switches/call")
        print(f"each run (load average {os.getloadavg()[0]:.1f}):")
        print("\n".join(detail))
        ms = mrtr_ms(url, max(100, a.calls // 4), build)
        print("\nan MRTR round trip (one elicitation) beside a plain call, ms per call at 2026-07-28:")
        for who in ("ours", "SDK"):
            print(f"  {who:5} plain {ms[who + ' plain']:7.3f} ms   MRTR {ms[who + ' mrtr']:7.3f} ms"
                  f"   ({ms[who + ' mrtr'] / ms[who + ' plain']:.1f}x a plain call)")
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=10)


if __name__ == "__main__":
    main()
