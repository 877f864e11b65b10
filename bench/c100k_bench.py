#!/usr/bin/env python3
"""The 100,000-connection benchmark (issue 16 item 4; a benchmark, not a test).

Several everything-server processes share one port (SO_REUSEPORT: the open-file
limit is per process), several load generators (bench/c100k_driver.c, built
here) each hold their share of the connections from their own loopback source
address (127.0.0.2, .3, ...), and a few "caller" connections per generator make
tools/call while the others open and while they are held. Per mode (listen:
2026-07-28 subscriptions/listen streams; session: 2025-era sessions with their
GET streams) it prints: connections opened, failed and dropped, the seconds it
took to open them all, the p50/p99 of the calls made while opening and while
holding, the servers' RSS growth per open connection, and the load average.

    .venv/bin/python bench/c100k_bench.py --build build [--conns 100000] [--servers 8]
        [--generators 8] [--hold 60] [--mode listen,session] [--server-arg=--listen-backlog=4096 ...]
"""
from __future__ import annotations

import argparse
import json
import os
import queue
import resource
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def sysctl(name: str) -> str:
    try:
        return Path("/proc/sys/" + name.replace(".", "/")).read_text().strip()
    except OSError:
        return "?"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values: list[int], q: float) -> int:
    if not values:
        return 0
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * q))]


class Lines:
    """A child's stdout lines, read on a thread so several can be awaited."""

    def __init__(self, proc: subprocess.Popen):
        self.q: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._pump, args=(proc,), daemon=True).start()

    def _pump(self, proc: subprocess.Popen) -> None:
        for line in proc.stdout:
            self.q.put(line.rstrip("\n"))
        self.q.put(None)

    def expect(self, prefix: str, deadline: float) -> str:
        while True:
            line = self.q.get(timeout=max(0.1, deadline - time.monotonic()))
            if line is None:
                raise RuntimeError(f"generator ended before {prefix}")
            if line.startswith(prefix):
                return line


def start_servers(args, port: int, extra: list[str]) -> list[subprocess.Popen]:
    exe = Path(args.build) / "bin" / "mcp-everything-server"
    servers = []
    log = open(args.server_log, "ab")  # noqa: SIM115 (the children keep it)
    for _ in range(args.servers):
        cmd = [str(exe), "--http", f"127.0.0.1:{port}", "--reuse-port", "--log-level", "error", *extra, *args.server_arg]
        servers.append(subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if any(s.poll() is not None for s in servers):
            raise RuntimeError("a server exited at start: " + " ".join(cmd))
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                pass
            time.sleep(1.0)  # the others bind at about the same time
            return servers
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("servers did not listen")


def stop(procs: list[subprocess.Popen], sig=signal.SIGTERM, wait=60.0) -> None:
    for p in procs:
        if p.poll() is None:
            p.send_signal(sig)
    deadline = time.monotonic() + wait
    for p in procs:
        try:
            p.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def run_mode(args, driver: str, mode: str) -> dict:
    port = free_port()
    extra = []
    share = args.conns // args.servers + args.callers * args.generators
    if mode == "session" and share > 9000:
        # The kernel spreads connections unevenly: room for twice a server's share
        # of sessions (the default limit, 10,000, stays the default elsewhere).
        extra = ["--max-sessions", str(2 * share)]
    servers = start_servers(args, port, extra)
    gens: list[subprocess.Popen] = []
    try:
        before = [rss_kib(s.pid) for s in servers]
        cpu_before = sum(cpu_seconds(s.pid) for s in servers)
        share = [args.conns // args.generators + (i < args.conns % args.generators) for i in range(args.generators)]
        for i, n in enumerate(share):
            cmd = [driver, "--port", str(port), "--mode", mode, "--conns", str(n), "--src", f"127.0.0.{2 + i}",
                   "--callers", str(args.callers), "--interval-ms", str(args.interval_ms),
                   "--batch", str(args.batch), "--max-pending", str(args.max_pending)]
            gens.append(subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True))
        lines = [Lines(g) for g in gens]
        deadline = time.monotonic() + 60
        for ln in lines:
            ln.expect("READY", deadline)
        load_start = loadavg()
        for g in gens:
            g.stdin.write("go\n")
            g.stdin.flush()
        t_go = time.monotonic()
        opens = [ln.expect("OPEN", t_go + args.open_timeout).split() for ln in lines]
        open_s = time.monotonic() - t_go
        opened = sum(int(o[1]) for o in opens)
        failed = sum(int(o[2]) for o in opens)
        time.sleep(min(5, args.hold))
        held = [rss_kib(s.pid) for s in servers]
        fds = [open_fds(s.pid) for s in servers]
        time.sleep(max(0, args.hold - 5))
        held_end = [rss_kib(s.pid) for s in servers]
        load_end = loadavg()
        cpu = sum(cpu_seconds(s.pid) for s in servers) - cpu_before
        results = []
        for g, ln in zip(gens, lines):
            g.stdin.write("stop\n")
            g.stdin.flush()
            results.append(json.loads(ln.expect("{", time.monotonic() + 60)))
        for g in gens:
            g.wait(timeout=60)
    finally:
        stop(gens, signal.SIGKILL, 5)
        stop(servers)
    open_lat = [v for r in results for v in r["open_us"]]
    hold_lat = [v for r in results for v in r["hold_us"]]
    conns = opened + args.callers * args.generators
    grown = sum(held) - sum(before)
    return {
        "mode": mode, "conns": args.conns, "opened": opened, "failed": failed,
        "dropped": sum(r["dropped"] for r in results), "call_errors": sum(r["errors"] for r in results),
        "open_seconds": round(max(float(o[3]) for o in opens), 2), "open_wall_seconds": round(open_s, 2),
        "open_calls": len(open_lat), "open_p50_ms": percentile(open_lat, 0.5) / 1000,
        "open_p99_ms": percentile(open_lat, 0.99) / 1000, "open_max_ms": max(open_lat, default=0) / 1000,
        "hold_calls": len(hold_lat), "hold_p50_ms": percentile(hold_lat, 0.5) / 1000,
        "hold_p99_ms": percentile(hold_lat, 0.99) / 1000, "hold_max_ms": max(hold_lat, default=0) / 1000,
        "server_rss_before_mib": round(sum(before) / 1024, 1), "server_rss_held_mib": round(sum(held) / 1024, 1),
        "server_rss_end_mib": round(sum(held_end) / 1024, 1),
        "rss_per_conn_kib": round(grown / max(1, conns), 2),
        "server_fds": fds, "server_cpu_s": round(cpu, 1), "load_start": load_start, "load_end": load_end,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default="build")
    ap.add_argument("--conns", type=int, default=100_000)
    ap.add_argument("--servers", type=int, default=8)
    ap.add_argument("--generators", type=int, default=8)
    ap.add_argument("--callers", type=int, default=8, help="caller connections per generator")
    ap.add_argument("--interval-ms", type=int, default=100, help="time between one caller's calls")
    ap.add_argument("--batch", type=int, default=64, help="connects a generator starts per loop turn")
    ap.add_argument("--max-pending", type=int, default=1000, help="connections a generator has opening at once")
    ap.add_argument("--hold", type=float, default=60)
    ap.add_argument("--open-timeout", type=float, default=600)
    ap.add_argument("--mode", default="listen,session")
    ap.add_argument("--server-arg", action="append", default=[], help="passed to every server (repeatable)")
    ap.add_argument("--json", help="write the rows here too")
    ap.add_argument("--server-log", default="/tmp/c100k-servers.log", help="the servers' stderr")
    args = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    per_gen = args.conns / args.generators + args.callers + 16
    if per_gen > hard:
        ap.error(f"{per_gen:.0f} descriptors per generator exceed the open-file limit {hard}: more --generators")
    driver = str(Path(args.build) / "bench" / "c100k_driver")
    Path(driver).parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["cc", "-O2", "-Wall", "-o", driver, str(ROOT / "bench" / "c100k_driver.c")], check=True)
    print(f"# somaxconn {sysctl('net.core.somaxconn')}, tcp_max_syn_backlog {sysctl('net.ipv4.tcp_max_syn_backlog')}, "
          f"syncookies {sysctl('net.ipv4.tcp_syncookies')}, open files {soft}/{hard}, cpus {os.cpu_count()}, "
          f"servers {args.servers}, generators {args.generators} x {args.callers} callers every {args.interval_ms} ms, "
          f"server args {args.server_arg}", flush=True)
    rows = []
    for mode in args.mode.split(","):
        row = run_mode(args, driver, mode)
        rows.append(row)
        print(json.dumps(row), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    bad = [r for r in rows if r["failed"] or r["dropped"] or r["call_errors"]]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
