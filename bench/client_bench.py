#!/usr/bin/env python3
"""Client benchmark: sequential tools/call round trips per second, our client
(libmcp's C ABI, bench/client_driver.c) beside the official Python SDK client
(ClientSession), against two servers: our everything server and the SDK's own
MCPServer fixture, over stdio, all in one run.

Usage: python bench/client_bench.py [--build build] [--calls 2000] [--repeat 3]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
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


def ours(driver: Path, calls: int, tool: str, args: dict, server: list[str]) -> float:
    r = subprocess.run([str(driver), str(calls), tool, json.dumps(args), "--", *server],
                       capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        sys.exit(f"bench: client_driver failed: {r.stderr}")
    return json.loads(r.stdout)["calls_per_s"]


def python_client(calls: int, tool: str, args: dict, server: list[str]) -> float:
    from mcp import ClientSession, StdioServerParameters, stdio_client

    async def main() -> float:
        params = StdioServerParameters(command=server[0], args=server[1:], env=dict(os.environ))
        with open(os.devnull, "w") as devnull:
            async with stdio_client(params, errlog=devnull) as (read, write):
                async with ClientSession(read, write) as s:
                    await s.initialize()
                    t0 = time.perf_counter()
                    for _ in range(calls):
                        await s.call_tool(tool, args)
                    return calls / (time.perf_counter() - t0)

    return asyncio.run(main())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--calls", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    build = Path(a.build).resolve()
    driver = build_driver(build)
    python = sys.executable
    servers = {
        "everything server (ours)": ([str(build / "bin" / "mcp-everything-server")], "test_echo", {"text": "hello"}),
        "MCPServer (official SDK)": ([python, str(REPO / "tests/interop/fixtures/sdk_server.py"), "stdio"],
                                     "echo", {"text": "hello"}),
    }
    print(f"sequential tools/call round trips over stdio; median of {a.repeat} runs of {a.calls} calls")
    print(f"{'server':28} {'our client':>12} {'Python client':>14} {'ratio':>8}")
    for name, (cmd, tool, args) in servers.items():
        ours_runs = [ours(driver, a.calls, tool, args, cmd) for _ in range(a.repeat)]
        py_runs = [python_client(max(200, a.calls // 4), tool, args, cmd) for _ in range(a.repeat)]
        o, p = statistics.median(ours_runs), statistics.median(py_runs)
        print(f"{name:28} {o:>10,.0f}/s {p:>12,.0f}/s {o / p:>7.1f}x")


if __name__ == "__main__":
    main()
