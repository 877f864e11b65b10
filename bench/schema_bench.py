"""Schema validation cost per tool call, through the engine (not a test).

Builds bench/schema_driver.c against include/mcp.h and build/lib/libmcp.so.1,
then runs it: the same typical tool (five typed properties, two required, an
enum, a nested object; additionalProperties false) registered twice, checked
by the engine and with MCP_TOOL_NO_VALIDATION, called in alternating rounds
over one session (mcp_session_receive, inline tools: no thread hop), so the
difference of the two per-call times is what checking the arguments costs.
The goal is 2 us per call; the script says whether the median meets it (a
benchmark reports, it does not fail: speed is not asserted).

    python3 bench/schema_bench.py --build build [--calls 20000] [--rounds 7]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BUDGET_NS = 2000


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--calls", type=int, default=20000)
    ap.add_argument("--rounds", type=int, default=7)
    a = ap.parse_args()
    build = Path(a.build).resolve()
    out = build / "bench" / "schema_driver"
    out.parent.mkdir(parents=True, exist_ok=True)
    cc = os.environ.get("CC", "cc")
    cmd = [cc, "-O2", "-std=c11", "-Wall", "-Wextra", f"-I{HERE.parent / 'include'}", "-o", str(out),
           str(HERE / "schema_driver.c"), f"-L{build / 'lib'}", "-l:libmcp.so.1", f"-Wl,-rpath,{build / 'lib'}"]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        print(f"cannot build the driver ({' '.join(cmd)}):\n{r.stderr}", file=sys.stderr)
        return 1
    r = subprocess.run([str(out), str(a.calls), str(a.rounds)], capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        print(f"driver failed:\n{r.stderr}", file=sys.stderr)
        return 1
    res = json.loads(r.stdout)
    on, off, cost = res["median_checked_ns"], res["median_unchecked_ns"], res["median_validation_ns"]
    print("schema validation of a typical tool's arguments, per tools/call through the engine")
    print(f"  {'checked':<12}{on / 1000:8.2f} us/call   (the default)")
    print(f"  {'unchecked':<12}{off / 1000:8.2f} us/call   (MCP_TOOL_NO_VALIDATION)")
    print(f"  {'validation':<12}{cost / 1000:8.2f} us/call   (difference, median of {res['rounds']} rounds; "
          f"goal {BUDGET_NS / 1000:.0f} us: {'met' if cost < BUDGET_NS else 'NOT met'}); "
          f"checked/unchecked {on / off:.2f}")
    print(json.dumps(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
