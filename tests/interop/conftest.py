"""Shared machinery for the interop tests of the everything server.

- locates build/bin/mcp-everything-server (MCP_BUILD_DIR); a missing binary FAILS
  every test that needs it, with a message saying how to build it (nothing skips);
- `RawServer`: a line-based client over subprocess pipes. A reader thread turns
  every stdout line into a message on a queue; every read has a timeout, so a
  broken server fails a test instead of hanging the suite;
- `SchemaChecker`: validates every message the server writes against the
  negotiated revision's schema.json (MCP_SPEC_DIR/<rev>/schema.json): the JSON-RPC
  envelope, the result type of the request's method, the notification type.
  Objects the engine promises to shape per revision (tools, results, content,
  serverInfo, ...) are checked closed: a field that revision does not define is
  an error, since the engine must strip it for an older client.
"""
from __future__ import annotations

import copy
import fcntl
import functools
import io
import json
import os
import queue
import select
import subprocess
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterable

import jsonschema
import pytest
from referencing import Registry, Resource

REPO = Path(__file__).resolve().parents[2]
BUILD_DIR = Path(os.environ.get("MCP_BUILD_DIR") or REPO / "build")
SPEC_DIR = Path(os.environ.get("MCP_SPEC_DIR") or REPO / "tests" / "spec")
SERVER_BINARY = BUILD_DIR / "bin" / "mcp-everything-server"

F_SETPIPE_SZ = getattr(fcntl, "F_SETPIPE_SZ", 1031)

REVISIONS = ("2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25")
LATEST = "2025-11-25"

# Default wait for one answer. Generous for a loaded 2-core CI machine, yet a
# hung server fails within seconds, never stalls the suite.
TIMEOUT = 10.0

# --------------------------------------------------------------------------- fixtures' facts
# The conformance fixtures that examples/everything/everything_server.c registers
# (the server may offer more; these must be there).
TOOLS = {
    "test_simple_text", "test_image_content", "test_audio_content", "test_embedded_resource",
    "test_multiple_content_types", "test_error_handling", "test_tool_with_logging",
    "test_tool_with_progress", "json_schema_2020_12_tool", "test_echo", "test_sleep",
    "test_cancel_count",
}
RESOURCES = {"test://static-text", "test://static-binary", "test://watched-resource", "test://input-required"}
TEMPLATES = {"test://template/{id}/data"}
PROMPTS = {
    "test_simple_prompt", "test_prompt_with_arguments", "test_prompt_with_embedded_resource",
    "test_prompt_with_image", "test_input_required_result_prompt",
}
SIMPLE_TEXT = "This is a simple text response for testing."
SIMPLE_PROMPT_TEXT = "This is a simple prompt for testing."
# Texts the public conformance suite expects of these fixtures.
EMBEDDED_TEXT = "This is an embedded resource content."
MIXED_TEXT = "Multiple content types test:"
MIXED_RESOURCE_TEXT = '{"test":"data","value":123}'
ERROR_TEXT = "This tool intentionally returns an error for testing"
STATIC_TEXT = "This is the content of the static text resource."

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def server_env() -> dict[str, str]:
    """The environment for the server: ours, plus the build's lib dir for libmcp."""
    env = dict(os.environ)
    lib = str(BUILD_DIR / "lib")
    env["LD_LIBRARY_PATH"] = lib + (":" + env["LD_LIBRARY_PATH"] if env.get("LD_LIBRARY_PATH") else "")
    return env


def require_server_binary() -> str:
    """The server's path, or a test failure that says how to get it (never a skip)."""
    if not SERVER_BINARY.is_file() or not os.access(SERVER_BINARY, os.X_OK):
        pytest.fail(
            f"everything server not found at {SERVER_BINARY}: build it first "
            f"(cmake -S . -B {BUILD_DIR} && cmake --build {BUILD_DIR}), or point MCP_BUILD_DIR "
            f"at the CMake build directory that holds bin/mcp-everything-server",
            pytrace=False,
        )
    return str(SERVER_BINARY)


@pytest.fixture
def server_binary() -> str:
    return require_server_binary()


# --------------------------------------------------------------------------- schemas
# Definitions the engine shapes for the negotiated revision; checked closed.
CLOSED_DEFS = (
    "InitializeResult", "Implementation", "ServerCapabilities",
    "ListToolsResult", "Tool", "ToolAnnotations", "CallToolResult",
    "ListResourcesResult", "ListResourceTemplatesResult", "Resource", "ResourceTemplate",
    "ReadResourceResult", "TextResourceContents", "BlobResourceContents",
    "ListPromptsResult", "Prompt", "PromptArgument", "GetPromptResult", "PromptMessage",
    "TextContent", "ImageContent", "AudioContent", "EmbeddedResource", "ResourceLink",
    "ProgressNotificationParams", "LoggingMessageNotificationParams",
    "JSONRPCResponse", "JSONRPCError", "JSONRPCResultResponse", "JSONRPCErrorResponse", "Error",
)
# Notifications whose params are inline objects in the older revisions.
CLOSED_INLINE_PARAMS = ("ProgressNotification", "LoggingMessageNotification")

RESULT_DEF = {
    "initialize": "InitializeResult",
    "ping": "EmptyResult",
    "tools/list": "ListToolsResult",
    "tools/call": "CallToolResult",
    "resources/list": "ListResourcesResult",
    "resources/templates/list": "ListResourceTemplatesResult",
    "resources/read": "ReadResourceResult",
    "resources/subscribe": "EmptyResult",
    "resources/unsubscribe": "EmptyResult",
    "prompts/list": "ListPromptsResult",
    "prompts/get": "GetPromptResult",
    "logging/setLevel": "EmptyResult",
    "completion/complete": "CompleteResult",
    # A task-augmented tools/call is answered with CreateTaskResult, which the
    # result unions do not list (see CHECKLIST section 7): noted under its own key.
    "tools/call+task": "CreateTaskResult",
    "tasks/get": "GetTaskResult",
    "tasks/result": "CallToolResult",
    "tasks/list": "ListTasksResult",
    "tasks/cancel": "CancelTaskResult",
}
NOTIFICATION_DEF = {
    "notifications/progress": "ProgressNotification",
    "notifications/message": "LoggingMessageNotification",
    "notifications/cancelled": "CancelledNotification",
    "notifications/tools/list_changed": "ToolListChangedNotification",
    "notifications/resources/list_changed": "ResourceListChangedNotification",
    "notifications/prompts/list_changed": "PromptListChangedNotification",
    "notifications/resources/updated": "ResourceUpdatedNotification",
    "notifications/elicitation/complete": "ElicitationCompleteNotification",
    "notifications/tasks/status": "TaskStatusNotification",
}


def _close(node: dict) -> None:
    if isinstance(node, dict) and "properties" in node and "additionalProperties" not in node:
        node["additionalProperties"] = False


class RevisionSchema:
    """One revision's schema.json as a referencing resource, with validators by definition."""

    def __init__(self, revision: str, strict: bool = True):
        path = SPEC_DIR / revision / "schema.json"
        if not path.is_file():
            pytest.fail(f"schema for {revision} missing: {path} (set MCP_SPEC_DIR)", pytrace=False)
        doc = json.loads(path.read_text())
        self.revision = revision
        self.defs_key = "$defs" if "$defs" in doc else "definitions"
        defs = doc[self.defs_key]
        if strict:
            doc = copy.deepcopy(doc)
            defs = doc[self.defs_key]
            for name in CLOSED_DEFS:
                if name in defs:
                    _close(defs[name])
            # The host's extensions are advertised in every era (issue 12): an
            # open member of ServerCapabilities before 2026-07-28 named it.
            caps = defs.get("ServerCapabilities", {}).get("properties")
            if caps is not None and "extensions" not in caps:
                caps["extensions"] = {"type": "object", "additionalProperties": {"type": "object"}}
            for name in CLOSED_INLINE_PARAMS:
                params = defs.get(name, {}).get("properties", {}).get("params", {})
                if "$ref" not in params:
                    _close(params)
        self.defs = defs
        self.uri = f"urn:mcp-schema:{revision}"
        self.cls = jsonschema.validators.validator_for(doc)
        self.registry = Registry().with_resource(self.uri, Resource.from_contents(doc))

    def has(self, name: str) -> bool:
        return name in self.defs

    @functools.lru_cache(maxsize=None)
    def validator(self, name: str):
        if name not in self.defs:
            raise KeyError(f"{name} is not defined in schema {self.revision}")
        return self.cls({"$ref": f"{self.uri}#/{self.defs_key}/{name}"}, registry=self.registry)

    def errors(self, name: str, instance: Any) -> list[str]:
        out = []
        for e in self.validator(name).iter_errors(instance):
            where = "/".join(str(p) for p in e.absolute_path) or "(root)"
            out.append(f"{self.revision} {name} at {where}: {e.message[:300]}")
        return out


@functools.lru_cache(maxsize=None)
def revision_schema(revision: str, strict: bool = True) -> RevisionSchema:
    return RevisionSchema(revision, strict)


class SchemaChecker:
    """Checks each server message under the revision in force when it was written."""

    def __init__(self):
        self.revision = LATEST  # before initialize is answered the server speaks its newest
        self.methods: dict[Any, str] = {}  # request id -> method, for the result type
        self.lock = threading.Lock()

    def note_request(self, msg_id: Any, method: str) -> None:
        with self.lock:
            self.methods[_id_key(msg_id)] = method

    def check(self, msg: Any) -> list[str]:
        if not isinstance(msg, dict):
            return [f"not a JSON-RPC message object: {str(msg)[:200]}"]
        schema = revision_schema(self.revision)
        errs: list[str] = []
        if "method" in msg and "id" not in msg:
            errs += schema.errors("JSONRPCNotification", msg)
            name = NOTIFICATION_DEF.get(msg.get("method"))
            if name is None or not schema.has(name):
                errs.append(f"{self.revision}: server sent notification {msg.get('method')!r}, "
                            f"which this revision does not define for a server")
            else:
                errs += schema.errors(name, msg)
        elif "method" in msg:
            errs += schema.errors("JSONRPCRequest", msg)
            errs += schema.errors("ServerRequest", msg)
        elif "error" in msg:
            if "id" not in msg:
                # An error to a message whose id could not be read. The revisions
                # before 2025-11-25 typed the id as required with no way to express
                # "unknown"; 2025-11-25 made it optional. Checked against 2025-11-25.
                errs += revision_schema(LATEST).errors("JSONRPCErrorResponse", msg)
            else:
                envelope = "JSONRPCErrorResponse" if schema.has("JSONRPCErrorResponse") else "JSONRPCError"
                errs += schema.errors(envelope, msg)
                with self.lock:
                    if self.methods.pop(_id_key(msg.get("id")), None) is None:
                        errs.append(f"error response with id {msg.get('id')!r} answers no request the client sent")
        elif "result" in msg:
            envelope = "JSONRPCResultResponse" if schema.has("JSONRPCResultResponse") else "JSONRPCResponse"
            errs += schema.errors(envelope, msg)
            with self.lock:
                method = self.methods.pop(_id_key(msg.get("id")), None)
            if method is None:
                errs.append(f"response with id {msg.get('id')!r} answers no request the client sent")
            elif method in RESULT_DEF:
                result = msg.get("result")
                errs += schema.errors(RESULT_DEF[method], result)
                if method == "initialize" and isinstance(result, dict):
                    version = result.get("protocolVersion")
                    if version in REVISIONS:
                        self.revision = version
                    else:
                        errs.append(f"initialize answered with unknown protocolVersion {version!r}")
        else:
            errs.append(f"neither request, notification nor response: {json.dumps(msg)[:200]}")
        return errs


    def check_batch(self, batch: list) -> list[str]:
        """A JSON array: only revision 2025-03-26 has batches (answered as one array)."""
        schema = revision_schema(self.revision)
        if not schema.has("JSONRPCBatchResponse"):
            return [f"{self.revision}: a JSON array on stdout, but this revision has no batches"]
        errs = schema.errors("JSONRPCBatchResponse", batch)
        if not batch:
            errs.append("empty batch answer")
        for item in batch:
            if isinstance(item, dict) and "method" in item:
                errs.append(f"a batch answer holds a request or notification: {item}")
            errs += self.check(item)
        return errs


def _id_key(msg_id: Any) -> str:
    return json.dumps(msg_id)


# --------------------------------------------------------------------------- raw client
class Line:
    """One line the server wrote: arrival order and time, raw bytes, message, violations."""

    __slots__ = ("seq", "t", "raw", "msg", "errors")

    def __init__(self, seq: int, t: float, raw: bytes, msg: Any, errors: list[str]):
        self.seq, self.t, self.raw, self.msg, self.errors = seq, t, raw, msg, errors

    def __repr__(self) -> str:
        return f"Line#{self.seq}({self.raw[:200]!r})"


class ProtocolViolation(AssertionError):
    pass


def is_response(msg_id: Any) -> Callable[[Any], bool]:
    return lambda m: isinstance(m, dict) and "method" not in m and "id" in m and m["id"] == msg_id \
        and type(m["id"]) is type(msg_id)


def is_notification(method: str) -> Callable[[Any], bool]:
    return lambda m: isinstance(m, dict) and m.get("method") == method and "id" not in m


class RawServer:
    """The everything server on pipes, spoken to one JSON line at a time.

    Lines taken off the reader's queue but not yet asked for wait in `pending`,
    in arrival order, so a test can pick the message it wants (`take`) and still
    look at the others later.
    """

    def __init__(self, binary: str, args: Iterable[str] = (), env: dict | None = None):
        self.checker = SchemaChecker()
        self.proc = subprocess.Popen(
            [binary, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env=env or server_env(), bufsize=0,
        )
        os.set_blocking(self.proc.stdin.fileno(), False)
        try:  # bigger pipes make the multi-MiB lines quicker to push through
            fcntl.fcntl(self.proc.stdin.fileno(), F_SETPIPE_SZ, 1 << 20)
        except OSError:
            pass
        self.queue: "queue.Queue[Line | None]" = queue.Queue()
        self.all_lines: list[Line] = []  # every line ever read, for the purity checks
        self.violations: list[str] = []
        self.stderr_chunks: list[bytes] = []
        self.stdout_eof = threading.Event()
        self.eof_seen = False
        self.pending: list[Line] = []
        self.next_id = 1
        self._reader = threading.Thread(target=self._read_stdout, daemon=True)
        self._reader.start()
        self._errreader = threading.Thread(target=self._read_stderr, daemon=True)
        self._errreader.start()

    # -- threads
    def _read_stdout(self) -> None:
        # The pipe is unbuffered (bufsize=0, for stdin's sake): readline on it
        # would read one byte per system call, minutes for a multi-MiB line
        # on a loaded machine. This thread is its only reader.
        f = io.BufferedReader(self.proc.stdout, 1 << 16)
        seq = 0
        while True:
            raw = f.readline()
            if not raw:
                break
            t = time.monotonic()
            errors: list[str] = []
            msg = None
            if not raw.endswith(b"\n"):
                errors.append("last line not terminated by a newline")
            try:
                msg = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, ValueError) as e:
                errors.append(f"stdout line is not JSON ({e}): {raw[:200]!r}")
            else:
                if isinstance(msg, list):
                    errors += self.checker.check_batch(msg)
                elif not isinstance(msg, dict) or msg.get("jsonrpc") != "2.0":
                    errors.append(f"stdout line is not a JSON-RPC 2.0 message: {raw[:200]!r}")
                else:
                    errors += self.checker.check(msg)
            line = Line(seq, t, raw, msg, errors)
            seq += 1
            self.all_lines.append(line)
            self.violations += errors
            self.queue.put(line)
        self.stdout_eof.set()
        self.queue.put(None)

    def _read_stderr(self) -> None:
        while True:
            chunk = self.proc.stderr.read(65536)
            if not chunk:
                break
            self.stderr_chunks.append(chunk)

    @property
    def stderr(self) -> str:
        return b"".join(self.stderr_chunks).decode("utf-8", "replace")

    def context(self) -> str:
        err = self.stderr.strip()
        return f"\n--- server stderr (last 2000 chars) ---\n{err[-2000:]}" if err else ""

    # -- writing
    def send_raw(self, data: bytes, timeout: float = 60.0) -> None:
        """Writes bytes as they are (no newline added), failing if the server stops reading."""
        fd = self.proc.stdin.fileno()
        view = memoryview(data)
        deadline = time.monotonic() + timeout
        while view:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"server did not read its stdin within {timeout} s{self.context()}")
            _, w, _ = select.select([], [fd], [], min(left, 1.0))
            if not w:
                continue
            try:
                n = os.write(fd, view)
            except BlockingIOError:
                continue
            except BrokenPipeError:
                raise AssertionError(f"server closed its stdin (exit {self.proc.poll()}){self.context()}")
            view = view[n:]

    def send(self, msg: Any) -> None:
        if isinstance(msg, dict) and "method" in msg and "id" in msg:
            method = msg["method"]
            if method == "tools/call" and "task" in (msg.get("params") or {}):
                method = "tools/call+task"
            self.checker.note_request(msg["id"], method)
        self.send_raw(json.dumps(msg, separators=(",", ":")).encode() + b"\n")

    def new_id(self) -> int:
        i = self.next_id
        self.next_id += 1
        return i

    def send_request(self, method: str, params: dict | None = None, msg_id: Any = None) -> Any:
        if msg_id is None:
            msg_id = self.new_id()
        msg = {"jsonrpc": "2.0", "id": msg_id, "method": method}
        if params is not None:
            msg["params"] = params
        self.send(msg)
        return msg_id

    def notify(self, method: str, params: dict | None = None) -> None:
        msg = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            msg["params"] = params
        self.send(msg)

    def close_stdin(self) -> None:
        try:
            self.proc.stdin.close()
        except BrokenPipeError:
            pass

    # -- reading
    def _pull(self, timeout: float) -> Line | None:
        """One more line from the reader into pending; None on timeout or EOF."""
        if self.eof_seen:
            return None
        try:
            line = self.queue.get(timeout=max(timeout, 0))
        except queue.Empty:
            return None
        if line is None:
            self.eof_seen = True
            return None
        self.pending.append(line)
        return line

    def take(self, pred: Callable[[Any], bool], timeout: float = TIMEOUT, what: str = "message") -> Line:
        """Removes and returns the first line (in arrival order) whose message
        matches pred, waiting up to timeout; fails on timeout, EOF or violation."""
        deadline = time.monotonic() + timeout
        i = 0
        while True:
            while i < len(self.pending):
                line = self.pending[i]
                if line.errors:
                    raise ProtocolViolation("\n".join(line.errors))
                if pred(line.msg):
                    del self.pending[i]
                    return line
                i += 1
            left = deadline - time.monotonic()
            if self.eof_seen:
                raise AssertionError(f"server closed stdout before {what} (exit {self.proc.poll()}); "
                                     f"unread: {self.pending}{self.context()}")
            if left <= 0:
                raise AssertionError(f"no {what} within {timeout} s; unread: {self.pending}{self.context()}")
            self._pull(left)

    def recv(self, timeout: float = TIMEOUT) -> dict:
        """The next message in arrival order."""
        return self.take(lambda m: True, timeout, "message").msg

    def drain(self, quiet: float = 0.0) -> list[Line]:
        """Takes every line now available (waiting `quiet` s for stragglers)."""
        deadline = time.monotonic() + quiet
        while self._pull(max(deadline - time.monotonic(), 0)) is not None:
            pass
        out, self.pending = self.pending, []
        for line in out:
            if line.errors:
                raise ProtocolViolation("\n".join(line.errors))
        return out

    def response(self, msg_id: Any, timeout: float = TIMEOUT) -> Line:
        return self.take(is_response(msg_id), timeout, f"response to id {msg_id!r}")

    def request(self, method: str, params: dict | None = None, timeout: float = TIMEOUT) -> dict:
        """Sends a request and returns its result; fails on an error response."""
        msg_id = self.send_request(method, params)
        resp = self.response(msg_id, timeout).msg
        if "error" in resp:
            raise AssertionError(f"{method} {json.dumps(params)[:200]} failed: {resp['error']}")
        return resp["result"]

    def error_for(self, method: str, params: dict | None = None, timeout: float = TIMEOUT) -> dict:
        """Sends a request that must fail; returns its error object."""
        msg_id = self.send_request(method, params)
        resp = self.response(msg_id, timeout).msg
        assert "error" in resp, f"{method} {params} should fail, got {resp}"
        return resp["error"]

    def initialize(self, version: str = LATEST, capabilities: dict | None = None) -> dict:
        result = self.request("initialize", {
            "protocolVersion": version,
            "capabilities": capabilities or {},
            "clientInfo": {"name": "libmcp-interop", "version": "0.0.0"},
        })
        self.notify("notifications/initialized")
        return result

    # -- shutdown
    def finish(self, timeout: float = 15.0) -> int:
        """Closes stdin, waits for stdout EOF and returns the exit status."""
        self.close_stdin()
        if not self.stdout_eof.wait(timeout):
            self.kill()
            raise AssertionError(f"server did not close stdout within {timeout} s of stdin EOF{self.context()}")
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"server did not exit within {timeout} s of stdin EOF{self.context()}")

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def vm_hwm_kib(self) -> int:
        """Peak resident set size of the server so far (VmHWM), in KiB."""
        for row in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if row.startswith("VmHWM:"):
                return int(row.split()[1])
        raise AssertionError("no VmHWM in /proc/<pid>/status")


@pytest.fixture
def spawn(server_binary):
    """Factory: spawn(*args) starts an everything server and gives a RawServer.

    At teardown each server gets stdin EOF and must exit 0 with every line it
    wrote being a valid message; violations fail the test.
    """
    servers: list[tuple[RawServer, bool]] = []

    def start(*args: str, expect_clean_exit: bool = True) -> RawServer:
        s = RawServer(server_binary, args)
        servers.append((s, expect_clean_exit))
        return s

    yield start

    problems = []
    for s, clean in servers:
        try:
            if s.proc.poll() is None or not s.stdout_eof.is_set():
                rc = s.finish()
            else:
                rc = s.proc.wait(10)
            if clean and rc != 0:
                problems.append(f"server exited with status {rc}{s.context()}")
        except AssertionError as e:
            problems.append(str(e))
        finally:
            s.kill()
        if s.violations:
            problems.append("protocol violations on stdout:\n  " + "\n  ".join(s.violations[:20]))
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


@pytest.fixture
def server(spawn) -> RawServer:
    """An everything server after initialize at the newest revision."""
    s = spawn()
    s.initialize(LATEST)
    return s


def tool_text(result: dict) -> str:
    texts = [c["text"] for c in result.get("content", []) if c.get("type") == "text"]
    assert texts, f"no text block in {result}"
    return "".join(texts)
