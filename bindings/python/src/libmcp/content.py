"""Values handlers return: content blocks, tool results, prompt messages, resource contents.

Each class has `to_json()` giving the protocol object. Handlers may also return
plain Python values; `tool_content`, `prompt_messages` and `resource_contents`
say how those are turned into protocol objects.
"""
from __future__ import annotations

import base64
import json
import mimetypes
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from ._types import to_jsonable


def _b64(data: bytes | bytearray | memoryview) -> str:
    return base64.b64encode(bytes(data)).decode("ascii")


def _put(out: dict, key: str, value: Any) -> None:
    if value is not None:
        out[key] = value


class Content:
    """A content block (text, image, audio, resource link, embedded resource)."""

    def to_json(self) -> dict:  # pragma: no cover - abstract
        raise NotImplementedError


@dataclass
class Text(Content):
    """A text block; use it for annotations or _meta, otherwise return a plain str."""

    text: str
    annotations: dict | None = None
    meta: dict | None = None

    def to_json(self) -> dict:
        out = {"type": "text", "text": self.text}
        _put(out, "annotations", self.annotations)
        _put(out, "_meta", self.meta)
        return out


@dataclass
class _Binary(Content):
    data: bytes | None = None
    mime_type: str | None = None
    path: str | Path | None = None
    annotations: dict | None = None
    meta: dict | None = None

    kind = ""
    default_mime = ""

    def __post_init__(self) -> None:
        if (self.data is None) == (self.path is None):
            raise ValueError(f"{type(self).__name__} needs exactly one of data= or path=")
        if self.path is not None:
            p = Path(self.path)
            self.data = p.read_bytes()
            if self.mime_type is None:
                self.mime_type = mimetypes.guess_type(p.name)[0]
        if not isinstance(self.data, (bytes, bytearray, memoryview)):
            raise TypeError(f"{type(self).__name__} data must be bytes")
        if self.mime_type is None:
            self.mime_type = self.default_mime

    def to_json(self) -> dict:
        out = {"type": self.kind, "data": _b64(self.data), "mimeType": self.mime_type}
        _put(out, "annotations", self.annotations)
        _put(out, "_meta", self.meta)
        return out


class Image(_Binary):
    """An image block: Image(data=b"...", mime_type="image/png") or Image(path="x.png")."""

    kind = "image"
    default_mime = "image/png"


class Audio(_Binary):
    """An audio block: Audio(data=b"...", mime_type="audio/wav") or Audio(path="x.wav")."""

    kind = "audio"
    default_mime = "audio/wav"


@dataclass
class ResourceLink(Content):
    """A link to a resource the client may read."""

    uri: str
    name: str
    title: str | None = None
    description: str | None = None
    mime_type: str | None = None
    size: int | None = None
    annotations: dict | None = None
    meta: dict | None = None

    def to_json(self) -> dict:
        out = {"type": "resource_link", "uri": self.uri, "name": self.name}
        for key, value in (("title", self.title), ("description", self.description),
                           ("mimeType", self.mime_type), ("size", self.size),
                           ("annotations", self.annotations), ("_meta", self.meta)):
            _put(out, key, value)
        return out


@dataclass
class ResourceContents:
    """One item of a resources/read answer: text for str content, blob for bytes."""

    content: str | bytes
    mime_type: str | None = None
    uri: str | None = None
    meta: dict | None = None

    def to_json(self, uri: str | None = None, default_mime: str | None = None) -> dict:
        out: dict = {"uri": self.uri or uri}
        _put(out, "mimeType", self.mime_type or default_mime)
        if isinstance(self.content, str):
            out["text"] = self.content
        elif isinstance(self.content, (bytes, bytearray, memoryview)):
            out["blob"] = _b64(self.content)
        else:
            raise TypeError(f"ResourceContents content must be str or bytes, not {type(self.content).__name__}")
        _put(out, "_meta", self.meta)
        return out


@dataclass
class EmbeddedResource(Content):
    """A resource's contents embedded in a tool result or prompt message."""

    uri: str
    content: str | bytes
    mime_type: str | None = None
    annotations: dict | None = None
    meta: dict | None = None

    def to_json(self) -> dict:
        out = {"type": "resource", "resource": ResourceContents(self.content, self.mime_type, self.uri).to_json()}
        _put(out, "annotations", self.annotations)
        _put(out, "_meta", self.meta)
        return out


@dataclass
class ToolResult:
    """A whole CallToolResult, for full control: content blocks, structured content, isError."""

    content: Sequence[Content | str | dict] = ()
    structured: Any = None
    is_error: bool = False
    meta: dict | None = None

    def to_json(self) -> dict:
        out: dict = {"content": [content_block(c) for c in self.content]}
        if self.structured is not None:
            out["structuredContent"] = to_jsonable(self.structured)
        if self.is_error:
            out["isError"] = True
        _put(out, "_meta", self.meta)
        return out


@dataclass
class Message:
    """A prompt message (or sampling message): a role and one content block."""

    role: str
    content: Content | str | dict

    def __post_init__(self) -> None:
        if self.role not in ("user", "assistant"):
            raise ValueError(f"message role must be 'user' or 'assistant', not {self.role!r}")

    def to_json(self) -> dict:
        return {"role": self.role, "content": content_block(self.content)}


def UserMessage(content: Content | str | dict) -> Message:  # noqa: N802 - reads like a class
    return Message("user", content)


def AssistantMessage(content: Content | str | dict) -> Message:  # noqa: N802
    return Message("assistant", content)


@dataclass
class PromptResult:
    """A GetPromptResult with a description of its own."""

    messages: Sequence[Message | str | dict] = field(default_factory=list)
    description: str | None = None


@dataclass
class Completion:
    """A completion/complete answer: values, and optionally the total and whether there are more."""

    values: Sequence[str] = ()
    total: int | None = None
    has_more: bool | None = None

    def to_json(self) -> dict:
        values = [str(v) for v in self.values]
        out: dict = {"values": values[:100]}
        if self.total is not None:
            out["total"] = self.total
        if self.has_more is not None or len(values) > 100:
            out["hasMore"] = bool(self.has_more) or len(values) > 100
        return {"completion": out}


# ---------------------------------------------------------------- conversions

def content_block(item: Any) -> dict:
    """One content block from a Content, a str (text) or a dict (taken as a block as it is)."""
    if isinstance(item, Content):
        return item.to_json()
    if isinstance(item, str):
        return {"type": "text", "text": item}
    if isinstance(item, dict) and isinstance(item.get("type"), str):
        return item
    raise TypeError(f"not a content block: {type(item).__name__} (use str, Text, Image, Audio, "
                    f"ResourceLink, EmbeddedResource or a content dict)")


def _json_text(value: Any) -> str:
    return json.dumps(to_jsonable(value), ensure_ascii=False, allow_nan=False)


def tool_content(value: Any) -> list[dict]:
    """The unstructured content for a tool's return value.

    None gives no blocks; a str one text block; Content objects (alone or in a
    list/tuple) their blocks, with str items as text; anything else its JSON as text.
    """
    if value is None:
        return []
    if isinstance(value, str):
        return [{"type": "text", "text": value}]
    if isinstance(value, Content):
        return [value.to_json()]
    if isinstance(value, (list, tuple)) and any(isinstance(v, Content) for v in value):
        return [content_block(v) if isinstance(v, (Content, str)) else {"type": "text", "text": _json_text(v)}
                for v in value]
    if isinstance(value, (bytes, bytearray, memoryview)):
        raise TypeError("a tool returned bytes: return Image(data=...), Audio(data=...) or "
                        "EmbeddedResource(uri, content) so the client knows what they are")
    return [{"type": "text", "text": _json_text(value)}]


def prompt_messages(value: Any) -> dict:
    """A GetPromptResult for a prompt function's return value."""
    description = None
    if isinstance(value, PromptResult):
        description, value = value.description, value.messages
    if isinstance(value, (str, Message, Content, dict)):
        value = [value]
    if not isinstance(value, (list, tuple)):
        raise TypeError(f"a prompt must return str, Message, a list of them or PromptResult, "
                        f"not {type(value).__name__}")
    messages = []
    for item in value:
        if isinstance(item, Message):
            messages.append(item.to_json())
        elif isinstance(item, dict) and "role" in item:
            messages.append(item)
        else:
            messages.append({"role": "user", "content": content_block(item)})
    out: dict = {"messages": messages}
    if description is not None:
        out["description"] = description
    return out


def resource_contents(value: Any, uri: str, mime_type: str | None) -> dict:
    """A ReadResourceResult for a resource function's return value.

    str gives text (mime_type or text/plain), bytes a base64 blob (or
    application/octet-stream), ResourceContents (or a list) as given, anything
    else its JSON as text (application/json).
    """
    items = value if isinstance(value, (list, tuple)) and value and all(
        isinstance(v, ResourceContents) for v in value) else None
    if items is not None:
        return {"contents": [v.to_json(uri, mime_type) for v in items]}
    if isinstance(value, ResourceContents):
        return {"contents": [value.to_json(uri, mime_type)]}
    if isinstance(value, str):
        return {"contents": [{"uri": uri, "mimeType": mime_type or "text/plain", "text": value}]}
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"contents": [{"uri": uri, "mimeType": mime_type or "application/octet-stream",
                              "blob": _b64(value)}]}
    return {"contents": [{"uri": uri, "mimeType": mime_type or "application/json", "text": _json_text(value)}]}
