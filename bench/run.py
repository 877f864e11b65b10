#!/usr/bin/env python3
"""stdio round-trip benchmark: tools/call test_echo against the everything server,
with `cat` as the ceiling, sequential (1 in flight) and pipelined (64 in flight).

Usage: python bench/run.py [--build build] [--requests 20000] [--repeat 5]
                           [--windows 1,64] [--min-seconds 0.5] [--json out.json]
                           [--baseline-build other-checkout/build]

Builds bench/stdio_driver.c with `cc -O2` into <build>/bench/, then runs the
driver against both commands, alternating them, `--repeat` times per window,
and prints the median of each figure. With --baseline-build, the everything
server of another build (an older commit) runs in the same alternation, so a
change is judged by ours/cat against base/cat from one run. See bench/README.md.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
MAX_CALLS = 5_000_000


def fail(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr)
    sys.exit(1)


def build_driver(build: Path) -> Path:
    src = HERE / "stdio_driver.c"
    out = build / "bench" / "stdio_driver"
    if out.exists() and out.stat().st_mtime >= src.stat().st_mtime:
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    cc = os.environ.get("CC", "cc")
    cmd = [cc, "-O2", "-std=c11", "-Wall", "-Wextra", "-o", str(out), str(src)]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        fail(f"cannot build the driver ({' '.join(cmd)}):\n{r.stderr}")
    return out


def drive(driver: Path, command: list[str], calls: int, window: int, mcp: bool) -> dict:
    args = [str(driver), "--requests", str(calls), "--window", str(window), "--timeout", "300"]
    if mcp:
        args += ["--init", "--expect", '"result":']
    r = subprocess.run(args + ["--"] + command, capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        fail(f"driver failed against {command[0]} (window {window}):\n{r.stderr.strip()}")
    return json.loads(r.stdout)


def measure(driver: Path, command: list[str], calls: int, window: int, mcp: bool, min_seconds: float) -> dict:
    """One run, lengthened until it lasts min_seconds (short runs are mostly noise)."""
    while True:
        stats = drive(driver, command, calls, window, mcp)
        if stats["seconds"] >= min_seconds or calls >= MAX_CALLS:
            return stats
        calls = min(MAX_CALLS, int(calls * min_seconds / max(stats["seconds"], 1e-4) * 1.2) + 1)


def median(runs: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default="build", help="CMake build directory (holds bin/mcp-everything-server)")
    ap.add_argument("--requests", type=int, default=20000, help="calls per run, at least (default 20000)")
    ap.add_argument("--repeat", type=int, default=5, help="runs per figure; the median is reported (default 5)")
    ap.add_argument("--windows", default="1,64", help="calls in flight, comma-separated (default 1,64)")
    ap.add_argument("--min-seconds", type=float, default=0.5, help="lengthen runs shorter than this (default 0.5)")
    ap.add_argument("--json", help="also write every run to this file")
    ap.add_argument("--baseline-build", help="another build directory whose everything server runs side by side")
    opts = ap.parse_args()

    build = Path(opts.build)
    if not build.is_absolute():
        build = (Path.cwd() / build).resolve()
    server = build / "bin" / "mcp-everything-server"
    if not os.access(server, os.X_OK):
        fail(f"{server} not found: build first (make build)")
    cat = shutil.which("cat")
    if cat is None:
        fail("cat not found")
    base_server = None
    if opts.baseline_build:
        base_server = Path(opts.baseline_build).resolve() / "bin" / "mcp-everything-server"
        if not os.access(base_server, os.X_OK):
            fail(f"{base_server} not found: build the baseline first")
    driver = build_driver(build)
    windows = [int(w) for w in opts.windows.split(",")]

    print("stdio round trips of tools/call test_echo {\"text\":\"hello\"}, one JSON line each way")
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, {platform.system()} {platform.release()}; "
          f"median of {opts.repeat} runs of >= {opts.requests} calls and >= {opts.min_seconds} s each")
    results = []
    for window in windows:
        ours_runs, cat_runs, base_runs = [], [], []
        for _ in range(opts.repeat):
            # Alternate, so slow drifts of the machine hit all alike.
            ours_runs.append(measure(driver, [str(server)], opts.requests, window, True, opts.min_seconds))
            if base_server:
                base_runs.append(measure(driver, [str(base_server)], opts.requests, window, True, opts.min_seconds))
            cat_runs.append(measure(driver, [cat], opts.requests, window, False, opts.min_seconds))
        results.append({"window": window, "ours": ours_runs, "cat": cat_runs, "base": base_runs})

    print()
    header = (f"{'mode':<11} {'in flight':>9} {'ours calls/s':>13} {'cat calls/s':>13} {'ours/cat':>9} "
              f"{'ours p50/p99 us':>17} {'cat p50/p99 us':>16}")
    print(header)
    print("-" * len(header))
    for r in results:
        ours, catr, w = r["ours"], r["cat"], r["window"]
        o, c = median(ours, "calls_per_s"), median(catr, "calls_per_s")
        mode = "sequential" if w == 1 else "pipelined"
        row = (f"{mode:<11} {w:>9} {o:>13,.0f} {c:>13,.0f} {o / c:>9.4f} "
               f"{median(ours, 'p50_us'):>8.1f}/{median(ours, 'p99_us'):<8.1f} "
               f"{median(catr, 'p50_us'):>7.1f}/{median(catr, 'p99_us'):.1f}")
        print(row)
        r["median"] = {"ours_calls_per_s": o, "cat_calls_per_s": c, "ratio": o / c}
        if r["base"]:
            b = median(r["base"], "calls_per_s")
            print(f"{'  baseline':<11} {w:>9} {b:>13,.0f} {'':>13} {b / c:>9.4f} "
                  f"{median(r['base'], 'p50_us'):>8.1f}/{median(r['base'], 'p99_us'):<8.1f}   ours/baseline {o / b:.3f}")
            r["median"].update(base_calls_per_s=b, base_ratio=b / c)
    print("\nours/cat: the share of the pipe ceiling the server reaches (cat does no work per line).")
    if opts.json:
        Path(opts.json).write_text(json.dumps(results, indent=2) + "\n")
        print(f"runs written to {opts.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
