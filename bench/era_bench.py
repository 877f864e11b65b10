#!/usr/bin/env python3
"""The two protocol eras side by side (not a test): tools/call of test_echo over
Streamable HTTP, JSON answers, in one run, for each of

  ours          the everything server, 2025 era (a session per connection), inline tool
  ours/modern   the same server, revision 2026-07-28 (no session: each POST is
                self-describing), inline tool
  ours/workers, ours/modern-workers   the same with the tool on worker threads (--no-inline)
  nio-echo      a raw SwiftNIO HTTP server answering a fixed body: the ceiling
  python, python/modern   the official Python SDK's MCPServer in each era

The load is bench/http_driver.c (--modern for 2026-07-28), --conns connections
(16 by default) with one call in flight each, repeated --repeat times; each
figure is the median. Reports calls/s and calls per server-CPU-second, then the
ratios the 2026-07-28 work is held to: modern vs 2025 per CPU-second (goal
>= 1.0), modern vs the echo ceiling (goal >= 0.75 inline, >= 0.6 on workers).

Usage: python3 bench/era_bench.py --build build [--seconds 3] [--conns 16] [--repeat 3] [--skip-python]
"""
from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from http_bench import REPO, drive, start_nio_echo, start_ours, start_python, stop  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--conns", type=int, default=16)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--skip-python", action="store_true")
    args = ap.parse_args()
    build = Path(args.build).resolve()
    cache = (build / "CMakeCache.txt").read_text()
    scratch = Path(re.search(r"MCP_SWIFT_SCRATCH:PATH=(.*)", cache).group(1))
    driver = build / "http_driver"
    subprocess.run(["cc", "-O2", "-o", str(driver), str(REPO / "bench" / "http_driver.c")], check=True)
    flags = re.search(r"MCP_SWIFT_FLAGS:STRING=(.*)", cache)
    subprocess.run(["swift", "build", "-c", "release", "--product", "mcp-bench-nio-echo", "--package-path", str(REPO),
                    "--scratch-path", str(scratch), *(flags.group(1).split(";") if flags else [])],
                   check=True, stdout=subprocess.DEVNULL)
    nio_binary = scratch / "release" / "mcp-bench-nio-echo"

    # name -> (start, modern)
    runs = {
        "ours": (lambda: start_ours(build), False),
        "ours/modern": (lambda: start_ours(build), True),
        "ours/workers": (lambda: start_ours(build, "--no-inline"), False),
        "ours/modern-workers": (lambda: start_ours(build, "--no-inline"), True),
        "nio-echo": (lambda: start_nio_echo(nio_binary), False),
    }
    if not args.skip_python:
        runs["python"] = (start_python, False)
        runs["python/modern"] = (start_python, True)
    samples: dict[str, list[dict]] = {name: [] for name in runs}
    # Rounds interleave the servers, so a change in the machine's load hits all alike.
    for _ in range(args.repeat):
        for name, (start, modern) in runs.items():
            proc, port = start()
            try:
                samples[name].append(drive(driver, proc.pid, port, args.conns, args.seconds, modern=modern))
            finally:
                stop(proc)
    med = {name: {k: statistics.median(s[k] for s in rs) for k in ("calls_per_s", "calls_per_cpu_s", "p50_us", "p99_us")}
           for name, rs in samples.items()}
    for name, m in med.items():
        spread = [s["calls_per_cpu_s"] for s in samples[name]]
        print(f"{name:20} {m['calls_per_s']:9.0f} calls/s  p50 {m['p50_us']:6.0f} us  p99 {m['p99_us']:6.0f} us  "
              f"{m['calls_per_cpu_s']:8.0f} calls/CPU-s  (runs {min(spread)}..{max(spread)})")
    cpu = {name: m["calls_per_cpu_s"] for name, m in med.items()}
    echo = cpu["nio-echo"]
    print(f"\nper server-CPU-second, {args.conns} connections:")
    print(f"  modern / 2025: inline {cpu['ours/modern'] / cpu['ours']:.2f}x, "
          f"workers {cpu['ours/modern-workers'] / cpu['ours/workers']:.2f}x   (goal >= 1.0)")
    print(f"  modern / nio-echo: inline {cpu['ours/modern'] / echo:.2f}x (goal >= 0.75), "
          f"workers {cpu['ours/modern-workers'] / echo:.2f}x (goal >= 0.6)")
    print(f"  2025 / nio-echo: inline {cpu['ours'] / echo:.2f}x, workers {cpu['ours/workers'] / echo:.2f}x")
    if "python" in cpu:
        print(f"  modern / python SDK modern: inline {cpu['ours/modern'] / cpu['python/modern']:.1f}x, "
              f"workers {cpu['ours/modern-workers'] / cpu['python/modern']:.1f}x; "
              f"2025 / python SDK 2025: {cpu['ours'] / cpu['python']:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
