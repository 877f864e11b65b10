"""Tools, resources, resource templates and prompts: from a Python function to a
registration, and from an engine call back to the function.

Each feature object is the `user_data` of its registration (see _callbacks):
`on_call` / `on_read` run on an engine worker thread, convert the JSON input
to the function's parameters, run it (sync functions right there, coroutines on
the server's asyncio loop) and answer the call exactly once.
"""
from __future__ import annotations

import asyncio
import inspect
import json
import json.scanner
import logging
import re
import threading
import types
import typing
from ctypes import byref, c_size_t, c_void_p
from typing import Any, Callable

from . import _callbacks, errors, tracing as _tracing
from ._ffi import utf8_at as _utf8_at
from ._types import ArgumentError, Node, TypeCompiler, from_string, to_jsonable
from .content import Content, ToolResult, prompt_messages, resource_contents, tool_content
from .context import Context

log = logging.getLogger("libmcp")

INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
RESOURCE_NOT_FOUND = -32002
_empty = inspect.Parameter.empty
_TEXT_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False)
_json_str = json.encoder.encode_basestring  # a str as JSON, as the encoders above write it (ensure_ascii=False)
_scan = json.scanner.make_scanner(json.JSONDecoder())
_isawaitable = inspect.isawaitable
_get_ident = threading.get_ident


_LARGE_TEXT = 1 << 12
_LEND_FROM = 1 << 12  # arguments_json this long: its strings are read with mcp_call_arg_string
_c_make_encoder = getattr(json.encoder, "c_make_encoder", None)


def _c_encoder(quote: Callable[[str], str]) -> Any:
    """The C encoder _TEXT_ENCODER.encode makes for each value, made once, with `quote` as its
    string escaper. Without cycle markers: a marker table would be shared by every call (and left
    dirty by one that fails); the values encoded here come from to_jsonable or model_dump, which
    have walked them already."""
    e = _TEXT_ENCODER
    return _c_make_encoder(None, e.default, quote, None, e.key_separator, e.item_separator,
                           e.sort_keys, e.skipkeys, e.allow_nan)


if _c_make_encoder is not None:
    _text_encoder = _c_encoder(_json_str)

    def _encode_text(data: Any) -> str:
        """_TEXT_ENCODER.encode(data), the same text, without building the encoder per call
        (that was most of the cost of a small result)."""
        return "".join(_text_encoder(data, 0))
else:  # pragma: no cover - CPython always has the C encoder
    _encode_text = _TEXT_ENCODER.encode


_ESCAPED = tuple(chr(c) for c in range(0x20)) + ('"', "\\")  # all that _json_str changes


def _quote_large(text: str) -> str:
    """_json_str, with a long str that holds nothing to escape written as it is: 34 memchr-like
    finds over the raw string cost a fifth of CPython's escaper, which takes it character by
    character (~30 instructions each: 0.3 G instructions for 10 MB)."""
    if len(text) >= _LARGE_TEXT and not any(c in text for c in _ESCAPED):
        return '"' + text + '"'
    return _json_str(text)


_large_encoder = _c_encoder(_quote_large) if _c_make_encoder is not None else None


def _encode_structured(data: Any) -> str:
    """_encode_text, the same text: for an object with a long str member (file contents, base64
    data) through the C encoder with _quote_large as its string escaper; the per-string call
    that costs is paid only for such objects."""
    if (_c_make_encoder is None or type(data) is not dict
            or not any(type(v) is str and len(v) >= _LARGE_TEXT for v in data.values())):
        return _encode_text(data)
    return "".join(_large_encoder(data, 0))


def _split_large(data: Any) -> list[str] | None:
    """For an object with a long str member (as _encode_structured), its JSON text as the parts of
    mcp_call_return_structured_parts: JSON text, a long string as it is, JSON text, ...; the
    library quotes those strings, so no pass over them here. None for other data."""
    if (_c_make_encoder is None or type(data) is not dict
            or not any(type(v) is str and len(v) >= _LARGE_TEXT for v in data.values())):
        return None
    strings: list[str] = []

    def quote(text: str) -> str:
        if len(text) >= _LARGE_TEXT:
            strings.append(text)
            return "\0"  # a mark no JSON text holds raw (the encoder escapes control characters)
        return _json_str(text)
    pieces = "".join(_c_encoder(quote)(data, 0)).split("\0")
    parts = [pieces[0]]
    for text, piece in zip(strings, pieces[1:]):
        parts += (text, piece)
    return parts


def _quote_json(text: str) -> str:
    """_json_str for the output of the encoders above: JSON text holds no raw control
    characters, so only backslashes and quotes need escaping, which str.replace does
    far faster than the general escaper (it matters for megabytes)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def decode_json(data: bytes) -> Any:
    """json.loads for the JSON text the engine hands a callback (valid, compact UTF-8): the
    scanner alone, without json.loads' encoding sniffing and whitespace checks; anything
    unusual (whitespace around, trailing text, errors) goes through json.loads itself."""
    if data == b"{}":
        return {}
    try:
        text = data.decode("utf-8", "surrogatepass")
        value, end = _scan(text, 0)
        if end == len(text):
            return value
    except (StopIteration, ValueError):
        pass
    return json.loads(data)


_NOT_AWAITABLE: set[type] = set()  # types whose instances are never awaitable (checked once each)


def _camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(w.title() for w in rest)


def _clean(d: dict) -> dict:
    return {k: v for k, v in d.items() if v is not None}


def is_async_callable(fn: Any) -> bool:
    if inspect.iscoroutinefunction(fn):
        return True
    call = getattr(fn, "__call__", None)
    return call is not None and not inspect.isfunction(fn) and inspect.iscoroutinefunction(call)


def _is_context(annotation: Any) -> bool:
    if annotation is Context or (isinstance(annotation, type) and issubclass(annotation, Context)):
        return True
    return any(_is_context(a) for a in typing.get_args(annotation)) if typing.get_origin(annotation) else False


def describe_exception(e: BaseException) -> str:
    text = str(e)
    return text if text else type(e).__name__


# ---------------------------------------------------------------- signatures

class Signature:
    """A handler's parameters as JSON-facing arguments (the Context parameter left out)."""

    def __init__(self, fn: Callable, what: str, compiler: TypeCompiler):
        try:
            sig = inspect.signature(fn)
        except (TypeError, ValueError) as e:
            raise TypeError(f"{what}: cannot read its signature: {e}") from None
        try:
            hints = compiler.hints(fn)
        except Exception as e:
            raise TypeError(f"{what}: cannot resolve its type hints: {e}") from None
        self.what = what
        self.ctx_name: str | None = None
        self.var_keyword = False
        self.params: list[tuple[str, Node, bool, Any]] = []
        for p in sig.parameters.values():
            annotation = hints.get(p.name, p.annotation)
            if _is_context(annotation) or (p.name == "ctx" and annotation is _empty):
                self.ctx_name = p.name
                continue
            if p.kind is inspect.Parameter.VAR_KEYWORD:
                self.var_keyword = True
                continue
            if p.kind is inspect.Parameter.VAR_POSITIONAL:
                raise TypeError(f"{what}: *{p.name} cannot be passed by name; use a list parameter")
            if p.kind is inspect.Parameter.POSITIONAL_ONLY:
                raise TypeError(f"{what}: positional-only parameter {p.name!r} cannot be passed by name")
            node = compiler.node(annotation, f"{what}, parameter {p.name!r}")
            self.params.append((p.name, node, p.default is _empty, p.default))
        self.names = {name for name, *_ in self.params}
        self.return_annotation = hints.get("return", sig.return_annotation)
        self._plan = tuple((name, node.convert, required, node) for name, node, required, _ in self.params)

    def json_schema(self, compiler: TypeCompiler) -> dict:
        props, required = {}, []
        for name, node, req, default in self.params:
            prop = dict(node.schema)
            if req:
                required.append(name)
            else:
                try:
                    value = to_jsonable(default)
                    json.dumps(value, allow_nan=False)
                    prop["default"] = value
                except (TypeError, ValueError):
                    pass
            props[name] = prop
        schema: dict = {"type": "object", "properties": props}
        if required:
            schema["required"] = required
        if not self.var_keyword:
            schema["additionalProperties"] = False
        return compiler.attach_defs(schema)

    def convert(self, args: Any, from_strings: bool = False) -> dict:
        """Keyword arguments for the function; ArgumentError listing every problem."""
        if not isinstance(args, dict):
            raise ArgumentError("", "arguments must be a JSON object")
        kwargs: dict = {}
        problems: list = []
        given = 0
        for name, convert, required, node in self._plan:
            if name in args:
                given += 1
                try:
                    value = args[name]
                    if from_strings and isinstance(value, str):
                        kwargs[name] = from_string(node, value, name)
                    else:
                        kwargs[name] = convert(value, name)
                except ArgumentError as e:
                    problems.append(str(e))
            elif required:
                problems.append(f"{name}: missing required argument")
        extra = [k for k in args if k not in self.names] if given != len(args) else None
        if extra:
            if self.var_keyword:
                for k in extra:
                    kwargs[k] = args[k]
            else:
                problems.append("unexpected argument" + ("s " if len(extra) > 1 else " ")
                                + ", ".join(repr(k) for k in extra))
        if problems:
            raise ArgumentError("", "; ".join(problems))
        return kwargs


# ---------------------------------------------------------------- running a handler

class Feature:
    """What tools, resources and prompts share: running the function and answering."""

    kind = "feature"
    inline = False  # tools registered with inline=True: the callback runs on the thread that read the request

    def __init__(self, core: Any, fn: Callable, label: str):
        if not callable(fn):
            raise TypeError(f"{label}: {fn!r} is not callable")
        self.core = core
        self.fn = fn
        self.label = label
        self.is_async = is_async_callable(fn)

    # Subclasses: result(value) -> dict, failed(call, exc) answers.
    def result(self, value: Any) -> dict:  # pragma: no cover - abstract
        raise NotImplementedError

    def failed(self, call: int, exc: BaseException) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def run(self, call: int, kwargs: dict, ctx_name: str | None) -> None:
        """Runs fn(**kwargs) for a call and answers it (now, or later on the loop)."""
        if _tracing.active and not self.is_async:
            # Spans the handler starts are children of the call's span.
            with _tracing.parent(_tracing.call_traceparent(self.core.lib, call)):
                self._run(call, kwargs, ctx_name)
            return
        self._run(call, kwargs, ctx_name)

    def _run(self, call: int, kwargs: dict, ctx_name: str | None) -> None:
        if self.is_async:
            self._schedule(call, kwargs, ctx_name, None)
            return
        ctx = None
        if ctx_name is not None:
            ctx = Context(self.core, call)
            if self.inline:
                ctx._inline_thread = _get_ident()  # waiting on this thread would stall its other requests
            kwargs[ctx_name] = ctx
        try:
            value = self.fn(**kwargs)
            if type(value) not in _NOT_AWAITABLE:
                if _isawaitable(value):
                    if ctx is not None:
                        ctx._inline_thread = None
                    self._schedule(call, kwargs, ctx_name, value, ctx)
                    ctx = None  # the coroutine owns it now
                    return
                if len(_NOT_AWAITABLE) < 256 and not isinstance(value, types.GeneratorType):
                    _NOT_AWAITABLE.add(type(value))  # (a generator's awaitability is per object)
            self._answer(call, value)
        except Exception as e:  # noqa: BLE001 - every failure is an answer
            self.failed(call, e)
        except errors.InputRequired:
            _input_required(self.core.lib, call)
        finally:
            if ctx is not None:
                ctx._inline_thread = None
                ctx._finish()

    def _answer(self, call: int, value: Any) -> None:
        try:
            result = self.result(value)
        except Exception as e:  # noqa: BLE001
            self.failed(call, e)
            return
        _callbacks.answer(self.core.lib, call, result)

    def _schedule(self, call: int, kwargs: dict, ctx_name: str | None, awaitable: Any,
                  ctx: Context | None = None) -> None:
        if ctx is None:
            ctx = Context(self.core, call)
            if ctx_name is not None:
                kwargs[ctx_name] = ctx
        loop = self.core.loop()
        # The coroutine runs in the loop's context: the call's span is made current there.
        traceparent = _tracing.call_traceparent(self.core.lib, call) if _tracing.active else None

        async def runner() -> None:
            try:
                ctx._watch_task(asyncio.current_task(), loop)
                with _tracing.parent(traceparent):
                    value = await (awaitable if awaitable is not None else self.fn(**kwargs))
            except asyncio.CancelledError:
                _callbacks.answer_error(self.core.lib, call, INTERNAL_ERROR, "cancelled")
                return
            except errors.InputRequired:
                _input_required(self.core.lib, call)
                return
            except Exception as e:  # noqa: BLE001
                self.failed(call, e)
                return
            except BaseException as e:  # noqa: BLE001 - SystemExit, KeyboardInterrupt: the loop must live on
                _callbacks.answer_error(self.core.lib, call, INTERNAL_ERROR,
                                        f"internal error in the Python handler: {e!r}")
                return
            finally:
                ctx._finish()
            self._answer(call, value)

        try:
            asyncio.run_coroutine_threadsafe(runner(), loop)
        except RuntimeError as e:  # the loop is closed
            if awaitable is not None and inspect.iscoroutine(awaitable):
                awaitable.close()
            ctx._finish()
            self.failed(call, RuntimeError(f"the server's event loop is not running: {e}"))


def _input_required(lib: Any, call: int) -> None:
    """A handler stopped for the client's input: any answer does, the engine sends the
    InputRequiredResult in its place (mcp.h, mcp_call_request)."""
    _callbacks.answer_error(lib, call, INTERNAL_ERROR, "input required")


# ---------------------------------------------------------------- tools

class Tool(Feature):
    kind = "tool"

    def __init__(self, core: Any, fn: Callable, *, name: str | None = None, title: str | None = None,
                 description: str | None = None, annotations: dict | None = None, icons: list | None = None,
                 meta: dict | None = None, structured_output: bool | None = None, execution: dict | None = None,
                 inline: bool = False, required_scopes: list[str] | None = None, frame: Any = None):
        self.name = name or getattr(fn, "__name__", None) or ""
        if not self.name or self.name == "<lambda>":
            raise ValueError("a tool needs a name: pass name= for lambdas and callables without __name__")
        super().__init__(core, fn, f"tool {self.name!r}")
        self.inline = bool(inline)
        self._lent: tuple | None = None  # lend_arguments(): the arguments come from mcp_call_arg_string
        self.engine_checks_output = False  # Server.add_tool: the engine checks results against outputSchema
        compiler = TypeCompiler("input", frame)
        self.sig = Signature(fn, self.label, compiler)
        self.output: Node | None = None
        self.wrap = False
        ret = self.sig.return_annotation
        out_schema = None
        if structured_output is not False and ret is not _empty and not _is_content_type(ret):
            out = TypeCompiler("output", frame)
            self.output = out.node(ret, f"{self.label}, return annotation")
            self.wrap = not self.output.is_object
            schema = self.output.schema
            if self.wrap:
                schema = {"type": "object", "properties": {"result": schema}, "required": ["result"]}
            out_schema = out.attach_defs(schema)
        elif structured_output is True:
            raise TypeError(f"{self.label}: structured_output=True needs a return annotation that is not "
                            f"a content type")
        doc = description if description is not None else inspect.getdoc(fn)
        self.definition = _clean({
            "name": self.name, "title": title, "description": doc,
            "inputSchema": self.sig.json_schema(compiler), "outputSchema": out_schema,
            "annotations": {_camel(k): v for k, v in annotations.items()} if annotations else None,
            "icons": icons, "_meta": meta, "execution": execution,
            "requiredScopes": list(required_scopes) if required_scopes else None,
        })
        # Per-call work settled now: an exact pydantic model return type is dumped directly.
        self._model = ret if self.output is not None and _is_pydantic_model(ret) else None
        # A str result goes out through mcp_call_return_text when the library has it
        # and nothing about the str needs checking: None (text only), b"result" (a
        # `-> str` tool: also structuredContent {"result": text}), False (not this way).
        self._text_key: bytes | None | bool = False
        lib = getattr(core, "lib", None)
        if lib is not None and lib.has("mcp_call_return_text"):
            if self.output is None:
                self._text_key = None
            elif self.wrap and ret is str:
                self._text_key = b"result"
        # Structured results (not str ones) go out through mcp_call_return_structured.
        self._structured = (self.output is not None and lib is not None
                            and lib.has("mcp_call_return_structured"))
        self._parts = self._structured and lib.has("mcp_call_return_structured_parts")

    def lend_arguments(self) -> bool:
        """Whether every argument is a JSON string (a str, or a value parsed from one) and the
        function takes no **kwargs: then, with the engine checking the arguments against the
        input schema before the call, long arguments are read one by one as the engine's own
        UTF-8 (mcp_call_arg_string) instead of through the JSON scanner, which takes a string
        character by character (~9 instructions each: 90 M for 10 MB). Short ones are parsed
        still: a foreign call per argument costs more than scanning a few hundred bytes. Sets
        up the per-call plan when so."""
        if self.sig.var_keyword or not all(node.schema.get("type") == "string" for _, node, _, _ in self.sig.params):
            return False
        self._lent = tuple((name, name.encode("utf-8"), node.convert, required)
                           for name, node, required, _ in self.sig.params)
        return True

    def _lent_kwargs(self, call: int) -> dict:
        """The arguments as Signature.convert makes them, read with mcp_call_arg_string."""
        lib = self.core.lib
        text, size = c_void_p(), c_size_t()
        kwargs: dict = {}
        problems: list = []
        for name, key, convert, required in self._lent:
            status = lib.mcp_call_arg_string(call, key, byref(text), byref(size), None)
            if status == errors.OK:
                try:
                    kwargs[name] = convert(_utf8_at(text.value, size.value), name)
                except ArgumentError as e:
                    problems.append(str(e))
            elif status == errors.ERR_NOT_FOUND:
                if required:
                    problems.append(f"{name}: missing required argument")
            else:  # not a string: the engine's schema check lets none through
                problems.append(f"{name}: expected a string")
        if problems:
            raise ArgumentError("", "; ".join(problems))
        return kwargs

    def on_call(self, call: int, arguments_json: bytes | None) -> None:
        try:
            if self._lent is not None and (arguments_json is None or len(arguments_json) >= _LEND_FROM):
                kwargs = self._lent_kwargs(call)
            else:
                kwargs = self.sig.convert(decode_json(arguments_json) if arguments_json else {})
        except (ArgumentError, ValueError) as e:
            _callbacks.answer(self.core.lib, call, error_result(f"Invalid arguments for tool {self.name}: {e}"))
            return
        self.run(call, kwargs, self.sig.ctx_name)

    def _answer(self, call: int, value: Any) -> None:
        if type(value) is str and self._text_key is not False:
            # A str result crosses as bytes (ABI 1.2): no JSON encoding of megabytes here.
            _callbacks.answer_text(self.core.lib, call, value, self._text_key)
            return
        if self._structured and not isinstance(value, str):
            # Structured data crosses as its JSON text once (ABI 1.2): the library makes
            # the text block of those very bytes, so no quoting of the JSON inside JSON.
            # Long strings in it cross as they are (ABI 1.8), for the library to quote.
            try:
                data = self._checked_data(value)
                parts = text = None
                if data is not _NOT_DATA:
                    parts = _split_large(data) if self._parts else None
                    if parts is None:
                        text = _encode_structured(data)
            except Exception as e:  # noqa: BLE001
                self.failed(call, e)
                return
            if parts is not None:
                _callbacks.answer_structured_parts(self.core.lib, call, parts, b"result" if self.wrap else None)
                return
            if text is not None:
                _callbacks.answer_structured(self.core.lib, call, text, b"result" if self.wrap else None)
                return
        try:
            result = self.result_json(value)
        except Exception as e:  # noqa: BLE001
            self.failed(call, e)
            return
        if type(result) is str:
            _callbacks.answer_json(self.core.lib, call, result)
        else:
            _callbacks.answer(self.core.lib, call, result)

    def result_json(self, value: Any) -> str | dict:
        """As result(), for the common cases already as JSON text (one encoding of the data, no
        intermediate dicts); the result dict otherwise."""
        output = self.output
        if output is None:
            if isinstance(value, str):
                return '{"content":[{"type":"text","text":' + _json_str(value) + "}]}"
            return self.result(value)
        data = self._checked_data(value)
        if data is _NOT_DATA:
            return self.result(value)  # what it does with these (to_json, or the error it raises)
        if isinstance(value, str):
            text, data_json = value, _json_str(data)
            text_json = _json_str(text)
        else:
            text = data_json = _encode_structured(data)  # the text block is this JSON; whitespace is no matter
            text_json = _quote_json(text)
        if self.wrap:
            data_json = '{"result":' + data_json + "}"
        return '{"content":[{"type":"text","text":' + text_json + '}],"structuredContent":' + data_json + "}"

    def _checked_data(self, value: Any) -> Any:
        """A structured tool's value as JSON-able data checked against its output schema, or
        _NOT_DATA for the values result() handles itself (ToolResult, content blocks)."""
        if type(value) is self._model:
            data = value.model_dump(mode="json", by_alias=True)  # what to_jsonable does for a model
            if self.engine_checks_output:
                # The model validated its fields when it was made, and the engine checks this
                # dump against the output schema: validating the dump again here (a third of
                # a small tool's own cost) would only repeat them.
                return data
        elif isinstance(value, (ToolResult, Content)) or (isinstance(value, (list, tuple)) and
                                                          any(isinstance(v, Content) for v in value)):
            return _NOT_DATA
        else:
            data = to_jsonable(value)
        try:
            self.output.convert(data, "result")
        except ArgumentError as e:
            raise errors.ToolError(f"tool {self.name} returned a value that does not match its return "
                                   f"annotation: {e}") from None
        return data

    def result(self, value: Any) -> dict:
        if isinstance(value, ToolResult):
            return value.to_json()
        if self.output is None:
            return {"content": tool_content(value)}
        if isinstance(value, Content) or (isinstance(value, (list, tuple)) and
                                          any(isinstance(v, Content) for v in value)):
            raise errors.ToolError(f"tool {self.name} returned content blocks, but its return annotation "
                                   f"promises structured data; annotate it with a content type "
                                   f"(e.g. -> list[Content]) or pass structured_output=False")
        data = to_jsonable(value)
        try:
            self.output.convert(data, "result")
        except ArgumentError as e:
            raise errors.ToolError(f"tool {self.name} returned a value that does not match its return "
                                   f"annotation: {e}") from None
        text = value if isinstance(value, str) else _encode_text(data)
        return {"content": [{"type": "text", "text": text}],
                "structuredContent": {"result": data} if self.wrap else data}

    def failed(self, call: int, exc: BaseException) -> None:
        if not isinstance(exc, errors.ToolError):
            log.info("libmcp: tool %s raised %s", self.name, type(exc).__name__, exc_info=exc)
        _callbacks.answer(self.core.lib, call, error_result(describe_exception(exc)))


_NOT_DATA = object()


def _is_pydantic_model(tp: Any) -> bool:
    return isinstance(tp, type) and hasattr(tp, "model_dump") and hasattr(tp, "model_validate")


def error_result(message: str) -> dict:
    return {"content": [{"type": "text", "text": message}], "isError": True}


def _is_content_type(annotation: Any) -> bool:
    """Return annotations that mean "content blocks", not structured data."""
    from .content import Content
    if annotation is None or annotation is type(None):
        return True
    if isinstance(annotation, type) and issubclass(annotation, (Content, ToolResult)):
        return True
    args = typing.get_args(annotation)
    return bool(args) and all(_is_content_type(a) or a is str for a in args) and any(
        _is_content_type(a) for a in args)


# ---------------------------------------------------------------- resources

def _resource_failed(feature: Feature, call: int, exc: BaseException, uri: str) -> None:
    if isinstance(exc, (errors.ResourceNotFound, FileNotFoundError)):
        _callbacks.answer_error(feature.core.lib, call, RESOURCE_NOT_FOUND,
                                describe_exception(exc) if str(exc) else f"Resource not found: {uri}", {"uri": uri})
    elif isinstance(exc, ArgumentError):
        _callbacks.answer_error(feature.core.lib, call, INVALID_PARAMS, f"{uri}: {exc}")
    else:
        log.info("libmcp: resource %s raised %s", uri, type(exc).__name__, exc_info=exc)
        _callbacks.answer_error(feature.core.lib, call, INTERNAL_ERROR, describe_exception(exc))


class Resource(Feature):
    kind = "resource"

    def __init__(self, core: Any, fn: Callable, uri: str, *, name: str | None = None, title: str | None = None,
                 description: str | None = None, mime_type: str | None = None, size: int | None = None,
                 annotations: dict | None = None, icons: list | None = None, meta: dict | None = None,
                 frame: Any = None):
        self.uri = uri
        super().__init__(core, fn, f"resource {uri!r}")
        self.sig = Signature(fn, self.label, TypeCompiler("input", frame))
        required = [n for n, _, req, _ in self.sig.params if req]
        if required:
            raise TypeError(f"{self.label}: a fixed resource takes no arguments, but {fn.__name__}() requires "
                            f"{', '.join(required)} (use {{name}} in the URI for a template)")
        self.mime_type = mime_type
        self.definition = _clean({
            "uri": uri, "name": name or getattr(fn, "__name__", uri), "title": title,
            "description": description if description is not None else inspect.getdoc(fn),
            "mimeType": mime_type, "size": size,
            "annotations": {_camel(k): v for k, v in annotations.items()} if annotations else None,
            "icons": icons, "_meta": meta,
        })

    def on_read(self, call: int, uri: bytes, variables_json: bytes) -> None:
        self.run(call, {}, self.sig.ctx_name)

    def result(self, value: Any) -> dict:
        return resource_contents(value, self.uri, self.mime_type)

    def failed(self, call: int, exc: BaseException) -> None:
        _resource_failed(self, call, exc, self.uri)


_VARIABLE = re.compile(r"\{([^{}]*)\}")


class _ReadOf(Feature):
    """One resources/read of a template: knows its URI for the answer."""

    def __init__(self, template: "ResourceTemplate", uri: str):
        self.core, self.fn, self.label, self.is_async = template.core, template.fn, template.label, template.is_async
        self.template, self.uri = template, uri

    def result(self, value: Any) -> dict:
        return resource_contents(value, self.uri, self.template.mime_type)

    def failed(self, call: int, exc: BaseException) -> None:
        _resource_failed(self, call, exc, self.uri)


class ResourceTemplate(Feature):
    kind = "resource template"

    def __init__(self, core: Any, fn: Callable, uri_template: str, *, name: str | None = None,
                 title: str | None = None, description: str | None = None, mime_type: str | None = None,
                 annotations: dict | None = None, icons: list | None = None, meta: dict | None = None,
                 frame: Any = None):
        self.uri_template = uri_template
        super().__init__(core, fn, f"resource template {uri_template!r}")
        self.sig = Signature(fn, self.label, TypeCompiler("input", frame))
        variables = _VARIABLE.findall(uri_template)
        bad = [v for v in variables if not re.fullmatch(r"[A-Za-z0-9_]+", v)]
        if bad:
            raise ValueError(f"{self.label}: variable names must be letters, digits or _ (got {bad})")
        names = [n for n, *_ in self.sig.params]
        if set(variables) != set(names) and not (self.sig.var_keyword and set(names) <= set(variables)):
            raise TypeError(f"{self.label}: the URI's variables {sorted(set(variables))} must match the "
                            f"parameters of {getattr(fn, '__name__', 'the function')}() {sorted(names)}")
        self.mime_type = mime_type
        self.definition = _clean({
            "uriTemplate": uri_template, "name": name or getattr(fn, "__name__", uri_template), "title": title,
            "description": description if description is not None else inspect.getdoc(fn),
            "mimeType": mime_type,
            "annotations": {_camel(k): v for k, v in annotations.items()} if annotations else None,
            "icons": icons, "_meta": meta,
        })

    def on_read(self, call: int, uri: bytes, variables_json: bytes) -> None:
        read = _ReadOf(self, uri.decode())
        try:
            kwargs = self.sig.convert(json.loads(variables_json) if variables_json else {}, from_strings=True)
        except (ArgumentError, ValueError) as e:
            read.failed(call, e if isinstance(e, ArgumentError) else ArgumentError("", str(e)))
            return
        read.run(call, kwargs, self.sig.ctx_name)


# ---------------------------------------------------------------- prompts

class Prompt(Feature):
    kind = "prompt"

    def __init__(self, core: Any, fn: Callable, *, name: str | None = None, title: str | None = None,
                 description: str | None = None, icons: list | None = None, meta: dict | None = None,
                 frame: Any = None):
        self.name = name or getattr(fn, "__name__", None) or ""
        if not self.name or self.name == "<lambda>":
            raise ValueError("a prompt needs a name: pass name= for lambdas and callables without __name__")
        super().__init__(core, fn, f"prompt {self.name!r}")
        self.sig = Signature(fn, self.label, TypeCompiler("input", frame))
        arguments = []
        for pname, node, required, _ in self.sig.params:
            arguments.append(_clean({"name": pname, "description": node.schema.get("description"),
                                     "title": node.schema.get("title"), "required": required}))
        self.definition = _clean({
            "name": self.name, "title": title,
            "description": description if description is not None else inspect.getdoc(fn),
            "arguments": arguments or None, "icons": icons, "_meta": meta,
        })

    def on_call(self, call: int, arguments_json: bytes) -> None:
        try:
            kwargs = self.sig.convert(json.loads(arguments_json) if arguments_json else {}, from_strings=True)
        except (ArgumentError, ValueError) as e:
            _callbacks.answer_error(self.core.lib, call, INVALID_PARAMS, f"Invalid arguments for prompt "
                                                                         f"{self.name}: {e}")
            return
        self.run(call, kwargs, self.sig.ctx_name)

    def result(self, value: Any) -> dict:
        return prompt_messages(value)

    def failed(self, call: int, exc: BaseException) -> None:
        code = INVALID_PARAMS if isinstance(exc, (ValueError, ArgumentError)) else INTERNAL_ERROR
        if code == INTERNAL_ERROR:
            log.info("libmcp: prompt %s raised %s", self.name, type(exc).__name__, exc_info=exc)
        _callbacks.answer_error(self.core.lib, call, code, describe_exception(exc))
