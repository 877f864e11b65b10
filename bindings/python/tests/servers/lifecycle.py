"""A small server for the stdio lifecycle tests: signals, EOF, print(), run_stdio_async.

Run: python lifecycle.py [sync | async]
"""
from __future__ import annotations

import asyncio
import sys
import threading
import time

from libmcp import Server

srv = Server("lifecycle", "1.0")


@srv.tool()
def slow(ms: int) -> str:
    time.sleep(ms / 1000)
    return f"slept {ms}"


@srv.tool()
def noisy() -> str:
    print("this goes to stderr, not into the protocol")
    sys.stdout.write("so does this\n")
    return "printed"


@srv.tool()
async def where() -> str:
    """Where async handlers run: the main thread under run_stdio_async."""
    return threading.current_thread().name


if __name__ == "__main__":
    if sys.argv[1:] == ["async"]:
        asyncio.run(srv.run_stdio_async())
    else:
        srv.run_stdio()
    print("served", file=sys.stderr)
