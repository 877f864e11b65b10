"""The README's examples run: every ```python block, in order, in one namespace
(as a reader would paste them), and the first one as a real stdio server under
the official client."""
from __future__ import annotations

import re
import sys
import types

import pytest

from conftest import PACKAGE_ROOT, connect, run, texts

README = PACKAGE_ROOT / "README.md"


def blocks() -> list[str]:
    found = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    assert len(found) >= 8, "the README lost its examples"
    return found


def test_every_block_runs_in_order():
    module = types.ModuleType("readme_example")  # a real module: dataclasses look theirs up
    sys.modules[module.__name__] = module
    namespace = module.__dict__
    try:
        for i, code in enumerate(blocks()):
            try:
                exec(compile(code, f"README.md block {i + 1}", "exec"), namespace)
            except Exception as e:  # noqa: BLE001
                pytest.fail(f"README block {i + 1} failed: {type(e).__name__}: {e}\n{code}")
        srv = namespace["srv"]
        assert {"add", "describe", "divide", "logo", "raw", "countdown", "watch", "crunch", "book", "where", "country",
                "enable_admin", "add_note", "purge"} <= set(srv.tools)
        assert srv.tools["describe"]["annotations"] == {"readOnlyHint": True}
        assert srv.tools["describe"]["inputSchema"]["properties"]["repeat"] == {
            "type": "integer", "description": "how many times", "default": 1}
        assert set(srv.resource_templates) == {"notes://{note_id}"}
        assert callable(namespace["embed"]) and callable(namespace["list_demo_tools"])
    finally:
        if "srv" in namespace:
            namespace["srv"].close()
        del sys.modules[module.__name__]


def test_the_first_example_serves_the_official_client(tmp_path):
    script = tmp_path / "demo.py"
    script.write_text(blocks()[0])

    async def body():
        async with connect(script) as (s, init):
            assert init.server_info.name == "demo" and init.instructions == "Arithmetic, greetings and notes."
            tools = (await s.list_tools()).tools
            assert [t.name for t in tools] == ["add"] and tools[0].description == "Add two numbers."
            r = await s.call_tool("add", {"a": 2, "b": 3})
            assert texts(r) == "5" and r.structured_content == {"result": 5}
    run(body)


def test_the_async_client_example_lists_the_first_examples_tools(tmp_path, monkeypatch):
    (tmp_path / "demo.py").write_text(blocks()[0])
    monkeypatch.chdir(tmp_path)
    module = types.ModuleType("readme_client")
    sys.modules[module.__name__] = module
    try:
        client_block = next(b for b in blocks() if "async def list_demo_tools" in b)
        exec(compile(client_block, "README.md (AsyncClient block)", "exec"), module.__dict__)
        import asyncio
        assert asyncio.run(module.list_demo_tools()) == ["add"]
    finally:
        del sys.modules[module.__name__]
