"""The asyncio loop that runs `async def` handlers when the user supplies none.

A daemon thread runs the loop; it starts on first use and stops when the server
closes (or at interpreter exit, through the server's finalizer).
"""
from __future__ import annotations

import asyncio
import threading


class LoopThread:
    def __init__(self, name: str = "libmcp-asyncio"):
        self._name = name
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._loop is not None

    def get(self) -> asyncio.AbstractEventLoop:
        loop = self._loop
        if loop is not None:
            return loop
        with self._lock:
            if self._loop is None:
                ready = threading.Event()
                box: list[asyncio.AbstractEventLoop] = []

                def main() -> None:
                    lp = asyncio.new_event_loop()
                    asyncio.set_event_loop(lp)
                    box.append(lp)
                    ready.set()
                    try:
                        lp.run_forever()
                    finally:
                        try:
                            pending = [t for t in asyncio.all_tasks(lp) if not t.done()]
                            for t in pending:
                                t.cancel()
                            if pending:
                                lp.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
                            lp.run_until_complete(lp.shutdown_asyncgens())
                        finally:
                            lp.close()

                self._thread = threading.Thread(target=main, name=self._name, daemon=True)
                self._thread.start()
                ready.wait()
                self._loop = box[0]
            return self._loop

    def stop(self, timeout: float = 5.0) -> None:
        with self._lock:
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        if loop is None or thread is None:
            return
        try:
            loop.call_soon_threadsafe(loop.stop)
        except RuntimeError:  # closed already
            return
        if thread is not threading.current_thread():
            thread.join(timeout)
