"""completion/complete: one engine handler per server (Completer) that tries the per-argument
completers given with @srv.prompt(completions=...) / @srv.resource(completions=...), then
the @srv.completion() fallback, else answers no values."""
from __future__ import annotations

import inspect
import json
import logging
import typing
from typing import Any, Callable

from . import _callbacks
from ._features import INTERNAL_ERROR, Feature, describe_exception, is_async_callable
from .content import Completion

log = logging.getLogger("libmcp")


class CompletionRef(typing.NamedTuple):
    """What is being completed: type "ref/prompt" (name) or "ref/resource" (uri, a template)."""

    type: str
    name: str | None = None
    uri: str | None = None


class CompletionArgument(typing.NamedTuple):
    name: str
    value: str


def completion_values(value: Any) -> dict:
    if value is None:
        return Completion().to_json()
    if isinstance(value, Completion):
        return value.to_json()
    if isinstance(value, str):
        return Completion([value]).to_json()
    return Completion(list(value)).to_json()


class Completer(Feature):
    """The server's completion handler: per-argument completers first, then a global one."""

    kind = "completion"

    def __init__(self, core: Any):
        self.core, self.fn, self.label, self.is_async = core, None, "completion", False
        self.by_prompt: dict[str, dict[str, Any]] = {}
        self.by_template: dict[str, dict[str, Any]] = {}
        self.handler: Callable | None = None

    def on_complete(self, call: int, ref_json: bytes, name: bytes, value: bytes, context_json: bytes) -> None:
        ref_obj = json.loads(ref_json) if ref_json else {}
        ref = CompletionRef(ref_obj.get("type", ""), ref_obj.get("name"), ref_obj.get("uri"))
        arg = CompletionArgument(name.decode() if name else "", value.decode() if value else "")
        context = json.loads(context_json) if context_json else {}
        table = self.by_prompt.get(ref.name or "") if ref.type == "ref/prompt" else \
            self.by_template.get(ref.uri or "")
        source = (table or {}).get(arg.name)
        if source is not None:
            job = _CompletionJob(self.core, source, arg.value, context)
            job.run(call, {}, None)
        elif self.handler is not None:
            job = _CompletionJob(self.core, self.handler, None, context, (ref, arg, context))
            job.run(call, {}, None)
        else:
            _callbacks.answer(self.core.lib, call, Completion().to_json())


class _CompletionJob(Feature):
    def __init__(self, core: Any, source: Any, value: str | None, context: dict, args: tuple | None = None):
        self.core, self.label = core, "completion"
        if callable(source):
            if args is None:
                args = (value, context) if _positional_count(source) >= 2 else (value,)
            call_args = args
            self.fn = lambda: source(*call_args)
            self.is_async = is_async_callable(source)
        else:
            prefix = (value or "").lower()
            values = [str(v) for v in source if str(v).lower().startswith(prefix)]
            self.fn = lambda: values
            self.is_async = False

    def result(self, value: Any) -> dict:
        return completion_values(value)

    def failed(self, call: int, exc: BaseException) -> None:
        log.info("libmcp: completion raised %s", type(exc).__name__, exc_info=exc)
        _callbacks.answer_error(self.core.lib, call, INTERNAL_ERROR, describe_exception(exc))


def _positional_count(fn: Callable) -> int:
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return 1
    if any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in params):
        return 2
    return sum(1 for p in params if p.kind in (inspect.Parameter.POSITIONAL_ONLY,
                                               inspect.Parameter.POSITIONAL_OR_KEYWORD))
