"""State stores written in Python (Server.set_store, libmcp ABI 1.7).

A store keeps records: a key and a value, both bytes the engine encodes (the
host never parses them), each with an expiry in milliseconds since 1970. The
engine builds its sessions, resumable stream events and tasks on four
operations; see mcp_store_methods_t in mcp.h for the full contract:

- get(key) -> bytes | None
- put(key, value, expires_at_ms) -> None    (insert or replace; durable on return)
- remove(key) -> None                       (absent is not an error)
- list(prefix) -> iterable of (key, value)  (every record whose key starts with prefix)
- check() -> None                           (optional: raise when the store cannot serve now)

Methods run on engine threads (the HTTP listener's event loops and the
workers), several at once: a store must be thread-safe, and should be quick.
An exception fails the operation; its message is what the client sees after
"State store unavailable: " (HTTP 503, JSON-RPC -32603).
"""
from __future__ import annotations

import threading
import time
from typing import Iterable, Protocol


class Store(Protocol):
    def get(self, key: bytes) -> bytes | None: ...
    def put(self, key: bytes, value: bytes, expires_at_ms: int) -> None: ...
    def remove(self, key: bytes) -> None: ...
    def list(self, prefix: bytes) -> Iterable[tuple[bytes, bytes]]: ...


class DictStore:
    """A store in a dict, behind a lock: it outlives the Server objects given it (a new
    Server with the same DictStore serves the sessions of the one before), not the process.
    Expired records are dropped when met. The pattern for a store of your own."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: dict[bytes, tuple[bytes, int]] = {}

    @staticmethod
    def _now_ms() -> int:
        return int(time.time() * 1000)

    def get(self, key: bytes) -> bytes | None:
        with self._lock:
            found = self._records.get(key)
            if found is None:
                return None
            if found[1] <= self._now_ms():
                del self._records[key]
                return None
            return found[0]

    def put(self, key: bytes, value: bytes, expires_at_ms: int) -> None:
        with self._lock:
            self._records[key] = (value, expires_at_ms)

    def remove(self, key: bytes) -> None:
        with self._lock:
            self._records.pop(key, None)

    def list(self, prefix: bytes) -> list[tuple[bytes, bytes]]:
        now = self._now_ms()
        with self._lock:
            return [(k, v) for k, (v, exp) in self._records.items() if k.startswith(prefix) and exp > now]

    def __len__(self) -> int:
        with self._lock:
            return len(self._records)

    def keys(self) -> list[bytes]:
        with self._lock:
            return list(self._records)
