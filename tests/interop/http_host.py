"""A minimal libmcp host over ctypes, for HTTP tests that need a listener
configuration the everything server does not take (small limits, TLS, origin
lists, short idle expiry).

Run as a script: `http_host.py LIBMCP_SO CONFIG_JSON`. It registers three tools
(`echo` {text}; `sleep` {ms}, answered from a thread of its own; `grow` {name},
which registers one more tool, so every session hears tools/list_changed;
`touch` {uri}, which calls mcp_server_notify_resource_updated and answers how
many sessions and listen streams were told; `progress` {n, ms, text}, which sends n
progress notifications ms apart (with text as their message) from a thread
of its own, then answers "progressed n" (counted in tally as "progress"); `put` {key, value}, idempotent: stores value under key, counts
the calls per key, answers "put key"; `tally`, which answers the store and
the counts as JSON text),
starts the HTTP listener, prints `PORT <n>` (or `ERROR <status> <message>`),
then serves until stdin closes, stops gracefully and prints
`STOPPED <status> <sigpipe>`, where <sigpipe> is the process's SIGPIPE
disposition read with sigaction (0 = SIG_DFL): libmcp must not change it.
"""
from __future__ import annotations

import ctypes
import json
import signal
import sys
import threading
import time

TOOL_FN = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_char_p)


def sigpipe_disposition() -> int:
    libc = ctypes.CDLL(None, use_errno=True)
    buf = ctypes.create_string_buffer(256)  # struct sigaction; sa_handler comes first
    if libc.sigaction(signal.SIGPIPE, None, buf) != 0:
        return -1
    return ctypes.c_void_p.from_buffer(buf).value or 0


def main() -> int:
    lib = ctypes.CDLL(sys.argv[1])
    config = sys.argv[2]
    lib.mcp_server_new.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p,
                                   ctypes.POINTER(ctypes.c_void_p), ctypes.POINTER(ctypes.c_void_p)]
    lib.mcp_server_add_tool.argtypes = [ctypes.c_void_p, ctypes.c_char_p, TOOL_FN, ctypes.c_void_p,
                                        ctypes.c_void_p, ctypes.POINTER(ctypes.c_void_p)]
    lib.mcp_call_return.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_void_p)]
    lib.mcp_server_start_http.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_uint16),
                                          ctypes.POINTER(ctypes.c_void_p)]
    lib.mcp_server_stop_http.argtypes = [ctypes.c_void_p, ctypes.c_int32, ctypes.POINTER(ctypes.c_void_p)]
    lib.mcp_server_notify_resource_updated.argtypes = [ctypes.c_void_p, ctypes.c_char_p,
                                                       ctypes.POINTER(ctypes.c_int32), ctypes.POINTER(ctypes.c_void_p)]
    lib.mcp_call_progress.argtypes = [ctypes.c_void_p, ctypes.c_double, ctypes.c_double, ctypes.c_char_p,
                                      ctypes.POINTER(ctypes.c_void_p)]
    lib.mcp_server_free.argtypes = [ctypes.c_void_p]
    lib.mcp_string_free.argtypes = [ctypes.c_void_p]

    # libmcp must leave the host's SIGPIPE alone: start from the default.
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)

    def answer(call: int, text: str) -> None:
        result = json.dumps({"content": [{"type": "text", "text": text}]}).encode()
        lib.mcp_call_return(call, result, None)

    def echo(_ud, call, args):
        answer(call, json.loads(args).get("text", ""))

    def sleep(_ud, call, args):
        ms = json.loads(args).get("ms", 0)

        def later():
            time.sleep(ms / 1000)
            answer(call, f"slept {ms}")
        threading.Thread(target=later, daemon=True).start()

    server = ctypes.c_void_p()

    def grow(_ud, call, args):
        tool = json.dumps({"name": json.loads(args).get("name", "grown"), "inputSchema": {"type": "object"}})
        rc = lib.mcp_server_add_tool(server, tool.encode(), keep[0], None, None, None)
        answer(call, f"added {rc}")

    def touch(_ud, call, args):
        told = ctypes.c_int32()
        rc = lib.mcp_server_notify_resource_updated(server, json.loads(args).get("uri", "").encode(),
                                                    ctypes.byref(told), None)
        answer(call, f"told {told.value}" if rc == 0 else f"failed {rc}")

    store: dict[str, object] = {}
    calls: dict[str, int] = {}
    store_lock = threading.Lock()

    def progress(_ud, call, args):
        a = json.loads(args)
        n, ms = int(a.get("n", 0)), a.get("ms", 0)
        text = a["text"].encode() if "text" in a else None

        def run():
            for i in range(1, n + 1):
                lib.mcp_call_progress(call, float(i), float(n), text, None)
                if ms:
                    time.sleep(ms / 1000)
            with store_lock:
                calls["progress"] = calls.get("progress", 0) + 1
            answer(call, f"progressed {n}")
        threading.Thread(target=run, daemon=True).start()

    def put(_ud, call, args):
        a = json.loads(args)
        key = str(a.get("key", ""))
        with store_lock:
            store[key] = a.get("value")
            calls[key] = calls.get(key, 0) + 1
        answer(call, f"put {key}")

    def tally(_ud, call, _args):
        with store_lock:
            answer(call, json.dumps({"store": store, "calls": calls}))

    keep = [TOOL_FN(echo), TOOL_FN(sleep), TOOL_FN(grow), TOOL_FN(touch), TOOL_FN(progress), TOOL_FN(put),
            TOOL_FN(tally)]  # must outlive the server
    rc = lib.mcp_server_new(b"http-host", b"1.0", None, ctypes.byref(server), None)
    assert rc == 0, rc
    for name, fn in (("echo", keep[0]), ("sleep", keep[1]), ("grow", keep[2]), ("touch", keep[3]),
                     ("progress", keep[4]), ("put", keep[5]), ("tally", keep[6])):
        tool = {"name": name, "inputSchema": {"type": "object"}}
        if name == "put":
            tool["annotations"] = {"idempotentHint": True, "destructiveHint": False}
        tool = json.dumps(tool).encode()
        assert lib.mcp_server_add_tool(server, tool, fn, None, None, None) == 0

    port = ctypes.c_uint16()
    err = ctypes.c_void_p()
    rc = lib.mcp_server_start_http(server, config.encode(), ctypes.byref(port), ctypes.byref(err))
    if rc != 0:
        print(f"ERROR {rc} {ctypes.string_at(err.value).decode() if err.value else ''}", flush=True)
        lib.mcp_string_free(err)
        lib.mcp_server_free(server)
        return 1
    print(f"PORT {port.value}", flush=True)
    sys.stdin.read()
    rc = lib.mcp_server_stop_http(server, 5000, None)
    print(f"STOPPED {rc} {sigpipe_disposition()}", flush=True)
    lib.mcp_server_free(server)
    return 0


if __name__ == "__main__":
    sys.exit(main())
