"""The benchmark's server: the same small tool written with our Python binding
(libmcp) or with the official SDK's MCPServer (mcp==2.3.0).

    python bench/python_binding_server.py ours|ours-inline|baseline|sdk stdio
    python bench/python_binding_server.py ours|ours-inline|baseline|sdk http PORT

ours: the tool registered as usual (each call handed to an engine worker thread);
ours-inline: the same tool with inline=True (it runs on the thread that read the
request: the HTTP I/O thread, the stdio reader). baseline: as ours (the bench
points PYTHONPATH at another checkout of the binding for it).

The tool is test_echo(text) -> Echo (a pydantic model), answering
structuredContent {"text": ...}, as bench/http_sdk_server.py does.

Over stdio, the tool also measures the server's CPU (time.process_time(), all
threads) from the first call after BENCH_WARMUP calls to the last call, and
writes {"calls", "cpu_s"} to the file named by BENCH_CPU_FILE at exit: the stdio
driver has no markers for its timed phase, so the server times itself. Both
servers run the identical instrumentation. BENCH_WORKERS sets our server's
worker_threads (default: the engine's 64), for experiments.
"""
from __future__ import annotations

import atexit
import json
import os
import sys
import time

from pydantic import BaseModel

WARMUP = int(os.environ.get("BENCH_WARMUP", "200"))
CPU_FILE = os.environ.get("BENCH_CPU_FILE")
_state = {"n": 0, "t0": 0.0, "last": 0.0}


class Echo(BaseModel):
    text: str


def test_echo(text: str) -> Echo:
    """Returns the given text, also as structuredContent {"text": ...}."""
    if CPU_FILE:
        n = _state["n"] = _state["n"] + 1
        now = time.process_time()
        if n == WARMUP + 1:
            _state["t0"] = now
        _state["last"] = now
    return Echo(text=text)


def report() -> None:
    if CPU_FILE:
        with open(CPU_FILE, "w") as f:
            json.dump({"calls": max(_state["n"] - WARMUP - 1, 0), "cpu_s": _state["last"] - _state["t0"]}, f)


def main() -> None:
    impl, transport = sys.argv[1], sys.argv[2]
    atexit.register(report)
    if impl in ("ours", "ours-inline", "baseline"):
        from libmcp import Server
        workers = os.environ.get("BENCH_WORKERS")
        srv = Server("binding-bench", "1.0", worker_threads=int(workers) if workers else None)
        if impl == "ours-inline":
            srv.add_tool(test_echo, inline=True)
        else:
            srv.add_tool(test_echo)  # (a baseline binding may predate inline=)
        if transport == "stdio":
            srv.run_stdio()
        else:
            srv.run_http("127.0.0.1", int(sys.argv[3]), json_response=True)
    elif impl == "sdk":
        from mcp.server.mcpserver import MCPServer
        srv = MCPServer("sdk-bench", log_level="WARNING")
        srv.tool()(test_echo)
        if transport == "stdio":
            srv.run("stdio")
        else:
            srv.run("streamable-http", host="127.0.0.1", port=int(sys.argv[3]), json_response=True)
    else:
        sys.exit(f"unknown implementation {impl!r}")


if __name__ == "__main__":
    main()
