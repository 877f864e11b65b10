#!/usr/bin/env python3
"""Instructions per call (not a test): the server's user-space instructions for
one tools/call of test_echo over Streamable HTTP (JSON answers), counted by
valgrind's callgrind, so the figure does not move with the machine's load as
calls per CPU-second do.

For each server it runs the server under callgrind twice, driven by
bench/http_driver.c with --calls N1 and then --calls N2, and reports
(Ir(N2) - Ir(N1)) / (N2 - N1): start-up, connection set-up and the 2025
handshakes cancel out. Kernel work is not in it; --strace adds the system calls
per call (strace -c -f, the same difference), where the kernel's cost lies.

  ours, ours/modern, ours/workers, ours/modern-workers, nio-echo  as in era_bench.py

Usage: python3 bench/instr_bench.py --build build [--servers ours,ours/modern,nio-echo]
                                    [--calls 1000,3000] [--conns 16] [--strace] [--keep DIR]
--keep writes each run's callgrind.out there, for callgrind_annotate.
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def start(cmd: list[str], env: dict, port_line: re.Pattern, from_stderr: bool) -> tuple[subprocess.Popen, int]:
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL if from_stderr else subprocess.PIPE,
                            stderr=subprocess.PIPE if from_stderr else subprocess.DEVNULL, env=env)
    stream = proc.stderr if from_stderr else proc.stdout
    while True:
        line = stream.readline().decode()
        if not line:
            raise SystemExit(f"{cmd[0]}: exited before it listened (rc {proc.wait()})")
        m = port_line.search(line)
        if m:
            return proc, int(m.group(1))


def total_ir(out: Path) -> int:
    for line in out.read_text().splitlines():
        if line.startswith("summary:") or line.startswith("totals:"):
            return int(line.split()[1])
    raise SystemExit(f"no totals in {out}")


def syscalls(out: Path) -> int:
    for line in out.read_text().splitlines():
        if line.rstrip().endswith("total"):
            return int(line.split()[2])
    raise SystemExit(f"no total in {out}")


def one_run(name: str, server: list[str], env: dict, pattern: re.Pattern, from_stderr: bool, driver: Path,
            calls: int, conns: int, modern: bool, tool: str, tmp: Path) -> int:
    out = tmp / f"{name.replace('/', '-')}.{tool}.{calls}"
    if tool == "callgrind":
        prefix = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", f"--log-file={out}.log"]
    else:
        prefix = ["strace", "-c", "-f", "-o", str(out)]
    proc, port = start(prefix + server, env, pattern, from_stderr)
    try:
        r = subprocess.run([str(driver), "--port", str(port), "--conns", str(conns), "--calls", str(calls)]
                           + (["--modern"] if modern else []), capture_output=True, text=True, timeout=1800)
        if r.returncode != 0:
            raise SystemExit(f"driver failed for {name}: {r.stderr[-800:]}")
    finally:
        proc.terminate()
        proc.wait(120)
    return total_ir(out) if tool == "callgrind" else syscalls(out)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--servers", default="ours,ours/modern,nio-echo")
    ap.add_argument("--calls", default="1000,3000")
    ap.add_argument("--conns", type=int, default=16)
    ap.add_argument("--strace", action="store_true")
    ap.add_argument("--keep")
    args = ap.parse_args()
    build = Path(args.build).resolve()
    n1, n2 = (int(x) for x in args.calls.split(","))
    cache = (build / "CMakeCache.txt").read_text()
    scratch = Path(re.search(r"MCP_SWIFT_SCRATCH:PATH=(.*)", cache).group(1))
    driver = build / "http_driver"
    subprocess.run(["cc", "-O2", "-o", str(driver), str(REPO / "bench" / "http_driver.c")], check=True)
    env = dict(os.environ, LD_LIBRARY_PATH=str(build / "lib"))
    everything = [str(build / "bin" / "mcp-everything-server"), "--http", "127.0.0.1:0", "--json-response"]
    ours_port = re.compile(r":(\d+)/mcp")
    servers = {
        "ours": (everything, ours_port, True, False),
        "ours/modern": (everything, ours_port, True, True),
        "ours/workers": (everything + ["--no-inline"], ours_port, True, False),
        "ours/modern-workers": (everything + ["--no-inline"], ours_port, True, True),
        "nio-echo": ([str(scratch / "release" / "mcp-bench-nio-echo")], re.compile(r"^PORT (\d+)"), False, False),
    }
    tools = ["callgrind"] + (["strace"] if args.strace else [])
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(args.keep or t)
        tmp.mkdir(parents=True, exist_ok=True)
        if "nio-echo" in args.servers:
            flags = re.search(r"MCP_SWIFT_FLAGS:STRING=(.*)", cache)
            subprocess.run(["swift", "build", "-c", "release", "--product", "mcp-bench-nio-echo", "--package-path",
                            str(REPO), "--scratch-path", str(scratch), *(flags.group(1).split(";") if flags else [])],
                           check=True, stdout=subprocess.DEVNULL)
            # valgrind 3.19 gives up on the debug info swiftc writes into
            # the executable (libmcp's is stripped by the build): a copy without.
            echo = tmp / "mcp-bench-nio-echo"
            subprocess.run(["strip", "--strip-debug", "-o", str(echo), str(scratch / "release" / "mcp-bench-nio-echo")],
                           check=True)
            servers["nio-echo"] = ([str(echo)], *servers["nio-echo"][1:])
        for name in args.servers.split(","):
            cmd, pattern, from_stderr, modern = servers[name]
            figures = []
            for tool in tools:
                a = one_run(name, cmd, env, pattern, from_stderr, driver, n1, args.conns, modern, tool, tmp)
                b = one_run(name, cmd, env, pattern, from_stderr, driver, n2, args.conns, modern, tool, tmp)
                per = (b - a) / (n2 - n1)
                figures.append(f"{per:10.0f} instructions/call" if tool == "callgrind" else f"{per:6.2f} syscalls/call")
            print(f"{name:20} " + "  ".join(figures), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
