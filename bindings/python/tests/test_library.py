"""Finding and loading libmcp, the ABI check, packaging, and the FFI's lifetime rules."""
from __future__ import annotations

import ctypes
import gc
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import libmcp
from libmcp import _ffi, errors

from conftest import LIBRARY, PACKAGE_ROOT, REPO, child_env, registered, run, wait_for

VERSION = libmcp.__version__


def python(code: str, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env, capture_output=True, text=True,
                          timeout=timeout)


def fake_library(tmp_path: Path, body: str, name: str = "libfake.so") -> Path:
    src = tmp_path / "fake.c"
    src.write_text(body)
    out = tmp_path / name
    cc = os.environ.get("CC", "cc")
    subprocess.run([cc, "-shared", "-fPIC", "-o", str(out), str(src)], check=True, capture_output=True)
    return out


def test_versions_and_path():
    assert libmcp.abi_version()[0] == _ffi.ABI_MAJOR == 1
    header = re.search(r'^#define MCP_VERSION_STRING "([^"]+)"$', (REPO / "include" / "mcp.h").read_text(), re.M)
    assert header is not None
    # The release is written in mcp.h; the package, released with the library it bundles, repeats it.
    assert libmcp.engine_version() == header.group(1) == libmcp.__version__
    assert Path(libmcp.library_path()).resolve() == LIBRARY.resolve()


def test_a_library_of_another_abi_major_is_refused(tmp_path):
    lib = fake_library(tmp_path, "unsigned mcp_abi_version(void) { return (2u << 16) | 3u; }\n")
    with pytest.raises(errors.LibraryError) as e:
        _ffi.Library(ctypes.CDLL(str(lib)), str(lib))
    assert str(e.value) == (f"{lib} has libmcp ABI 2.3, but this libmcp Python package needs ABI 1.x; install "
                            f"the matching library or package (or point LIBMCP_PATH at it)")
    # The same through the public API in a fresh interpreter.
    r = python("import libmcp; libmcp.Server('x', '1')", child_env(LIBMCP_PATH=str(lib)))
    assert r.returncode != 0 and "libmcp.errors.LibraryError" in r.stderr and "has libmcp ABI 2.3" in r.stderr


def test_a_library_that_is_not_libmcp_or_lacks_functions_is_refused(tmp_path):
    other = fake_library(tmp_path, "int something_else(void) { return 0; }\n", "libother.so")
    with pytest.raises(errors.LibraryError, match="is not libmcp: it has no mcp_abi_version"):
        _ffi.Library(ctypes.CDLL(str(other)), str(other))
    partial = fake_library(tmp_path, "unsigned mcp_abi_version(void) { return 1u << 16; }\n", "libpartial.so")
    with pytest.raises(errors.LibraryError, match=r"\(ABI 1.0\) does not export mcp_version\(\)"):
        _ffi.Library(ctypes.CDLL(str(partial)), str(partial))


def abi_1_0_library(tmp_path: Path, minor: int) -> Path:
    """A stand-in libmcp of ABI 1.<minor> without mcp_server_add_tool_ex (as a 1.0 build): every function
    the binding needs, doing nothing but succeed, and mcp_server_new giving a dummy handle."""
    required = sorted(name for name in _ffi._PROTOTYPES if name not in _ffi.OPTIONAL)
    special = {
        "mcp_abi_version": f"unsigned mcp_abi_version(void) {{ return (1u << 16) | {minor}u; }}",
        "mcp_version": 'const char *mcp_version(void) { return "0.1.0"; }',
        "mcp_status_string": 'const char *mcp_status_string(int s) { (void)s; return "status"; }',
        "mcp_server_new": "static int dummy;\nint mcp_server_new(const char *n, const char *v, const char *o, "
                          "void **out, char **err) { (void)n; (void)v; (void)o; *out = &dummy; "
                          "if (err) *err = 0; return 0; }",
    }
    body = "\n".join(special.get(name, f"int {name}() {{ return 0; }}") for name in required)
    return fake_library(tmp_path, body + "\n", f"libmcp_abi_1_{minor}.so")


@pytest.mark.parametrize("minor", [0, 1])
def test_inline_tools_need_abi_1_1(tmp_path, minor):
    """inline=True needs mcp_server_add_tool_ex (ABI 1.1): an older library refuses it with a clear error,
    and everything else still works with it."""
    lib = abi_1_0_library(tmp_path, minor)
    r = python("""
        import libmcp
        srv = libmcp.Server('old', '1')
        print(libmcp.abi_version())
        srv.add_tool(lambda: 1, name='plain')
        try:
            srv.add_tool(lambda: 1, name='quick', inline=True)
        except libmcp.Unsupported as e:
            print(type(e).__name__, e)
        print(sorted(srv.tools))
    """, child_env(LIBMCP_PATH=str(lib)))
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == f"(1, {minor})"
    if minor == 0:
        assert lines[1] == (f"Unsupported add tool 'quick': inline=True needs libmcp ABI 1.1 or newer "
                            f"(mcp_server_add_tool_ex), but {lib} has ABI 1.0; register the tool without "
                            f"inline=True or use a newer library")
    else:  # claims 1.1 but lacks the function
        assert lines[1] == (f"Unsupported add tool 'quick': inline=True needs mcp_server_add_tool_ex(), which "
                            f"{lib} (ABI 1.1) does not export; register the tool without inline=True or use "
                            f"another library")
    assert lines[2] == "['plain']"


def test_libmcp_path_errors(tmp_path):
    r = python("import libmcp; libmcp.Server('x', '1')", child_env(LIBMCP_PATH=str(tmp_path / "missing.so")))
    assert r.returncode != 0 and "LIBMCP_PATH=" in r.stderr and "no such file" in r.stderr
    junk = tmp_path / "junk.so"
    junk.write_text("not a library")
    r = python("import libmcp; libmcp.Server('x', '1')", child_env(LIBMCP_PATH=str(junk)))
    assert r.returncode != 0 and f"cannot load {junk} (from LIBMCP_PATH)" in r.stderr
    # A directory holding libmcp.so.1 is accepted too.
    r = python("import libmcp; print(libmcp.library_path())", child_env(LIBMCP_PATH=str(LIBRARY.parent)))
    assert r.returncode == 0, r.stderr
    assert Path(r.stdout.strip()).resolve() == LIBRARY.resolve()


def test_importing_needs_no_library():
    env = child_env()
    env.pop("LIBMCP_PATH")
    env["LD_LIBRARY_PATH"] = ""
    r = python("""
        import libmcp
        try:
            libmcp.Server('x', '1')
        except libmcp.LibraryError as e:
            print('refused:', e)
    """, env)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("refused: libmcp not found. Tried:\n  bundled copy: ") and "system library path" in r.stdout
    assert "LIBMCP_PATH=/path/to/libmcp.so.1" in r.stdout


def test_found_on_the_system_library_path():
    env = child_env(LD_LIBRARY_PATH=str(LIBRARY.parent))
    env.pop("LIBMCP_PATH")
    r = python("import libmcp; print(libmcp.library_path()); print(libmcp.Server('x', '1'))", env)
    assert r.returncode == 0, r.stderr
    path, server = r.stdout.split("\n")[:2]
    assert Path(path).resolve() == LIBRARY.resolve() and server == "<libmcp.Server 'x' '1' (0 tools)>"


def test_pip_install_with_a_bundled_library(tmp_path):
    """pip installs the package (offline: the build backend needs nothing) and the bundled copy is used."""
    target = tmp_path / "site"
    env = child_env(LIBMCP_BUNDLE=str(LIBRARY), PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1")
    r = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target),
                        str(PACKAGE_ROOT)], env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    bundled = target / "libmcp" / "_lib" / "libmcp.so.1"
    assert bundled.is_file() and bundled.stat().st_size == LIBRARY.resolve().stat().st_size
    wheel_tag = next(target.glob(f"libmcp-{VERSION}.dist-info")) / "WHEEL"
    assert "Tag: py3-none-linux_" in wheel_tag.read_text()
    env = {k: v for k, v in os.environ.items() if k not in ("LIBMCP_PATH", "LD_LIBRARY_PATH", "PYTHONPATH")}
    env["PYTHONPATH"] = str(target)
    r = python("""
        import libmcp
        srv = libmcp.Server('x', '1')
        @srv.tool()
        def hi() -> str:
            return 'hi'
        s = srv.connect(); s.initialize()
        print(libmcp.__file__); print(libmcp.library_path())
        print(s.request('tools/call', {'name': 'hi'})['structuredContent'])
    """, env)
    assert r.returncode == 0, r.stderr
    module, path, result = r.stdout.splitlines()
    assert module.startswith(str(target)) and path == str(bundled) and result == "{'result': 'hi'}"


def checkout(root: Path, built: bool) -> Path:
    """A copy of the parts of a libmcp repository the package build looks at: bindings/python,
    include/mcp.h and, if `built`, build/lib/libmcp.so.1 as `make` leaves it (this build's library)."""
    package = root / "bindings" / "python"
    shutil.copytree(PACKAGE_ROOT, package, ignore=shutil.ignore_patterns("__pycache__", "_lib"))
    (root / "include").mkdir()
    shutil.copy(REPO / "include" / "mcp.h", root / "include" / "mcp.h")
    if built:
        (root / "build" / "lib").mkdir(parents=True)
        (root / "build" / "lib" / "libmcp.so.1").symlink_to(LIBRARY.resolve())
    return package


def test_pure_wheel_without_bundle(tmp_path):
    """No LIBMCP_BUNDLE and no built library in the checkout: a pure-Python wheel."""
    package = checkout(tmp_path / "repo", built=False)
    env = child_env(PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1")
    env.pop("LIBMCP_BUNDLE", None)
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp_path),
                        str(package)], env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    wheels = [p.name for p in tmp_path.glob("*.whl")]
    assert wheels == [f"libmcp-{VERSION}-py3-none-any.whl"]
    import zipfile
    names = zipfile.ZipFile(tmp_path / wheels[0]).namelist()
    assert "libmcp/server.py" in names and not any("_lib/" in n for n in names)
    assert f"libmcp-{VERSION}.dist-info/RECORD" in names


WHERE_SERVER = """
import json, os, libmcp
srv = libmcp.Server("installed", "1.0")

@srv.tool()
def where() -> str:
    \"\"\"The files this server runs from and the names in its environment.\"\"\"
    return json.dumps({"package": libmcp.__file__, "library": libmcp.library_path(), "env": sorted(os.environ)})

srv.run_stdio()
"""


def test_pip_install_after_make_serves_a_client_with_a_clean_environment(tmp_path):
    """The README's `make` then `pip install bindings/python`, in a fresh venv, offline: the wheel bundles
    build/lib/libmcp.so.1, so a server written with the binding starts when the official SDK's stdio client
    launches it with its default environment (no LIBMCP_PATH, LD_LIBRARY_PATH or PYTHONPATH), as Claude
    Desktop does. Installed without a library, the error names the places tried and the fix."""
    from mcp import ClientSession, StdioServerParameters, stdio_client

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True, timeout=300)
    venv_python = venv / "bin" / "python"
    pip_env = {k: v for k, v in os.environ.items()
               if k not in ("LIBMCP_PATH", "LIBMCP_BUNDLE", "LD_LIBRARY_PATH", "PYTHONPATH")}
    pip_env.update(PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1")
    clean = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/")}

    def pip_install(package: Path) -> None:
        r = subprocess.run([str(venv_python), "-m", "pip", "install", "-q", "--force-reinstall", str(package)],
                           env=pip_env, capture_output=True, text=True, timeout=600)
        assert r.returncode == 0, r.stdout + r.stderr

    # Not built yet: the package installs, and its error says what to do.
    pip_install(checkout(tmp_path / "unbuilt", built=False))
    r = subprocess.run([str(venv_python), "-c", "import libmcp; libmcp.Server('x', '1')"], env=clean,
                       capture_output=True, text=True, timeout=60)
    site = Path(subprocess.run([str(venv_python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                               env=clean, capture_output=True, text=True, check=True).stdout.strip())
    assert r.returncode != 0 and "libmcp.errors.LibraryError: libmcp not found. Tried:" in r.stderr, r.stderr
    assert f"bundled copy: {site / 'libmcp' / '_lib' / 'libmcp.so.1'}: not there" in r.stderr
    assert "system library path: libmcp.so.1: " in r.stderr
    assert ("To fix: build the library (make, in the libmcp repository), then reinstall this package from that "
            "checkout (pip install --force-reinstall <repository>/bindings/python)") in r.stderr
    assert "LIBMCP_PATH=/path/to/libmcp.so.1" in r.stderr

    # Built: the same command bundles the library.
    pip_install(checkout(tmp_path / "built", built=True))
    bundled = site / "libmcp" / "_lib" / "libmcp.so.1"
    assert bundled.is_file() and bundled.stat().st_size == LIBRARY.resolve().stat().st_size
    script = tmp_path / "where_server.py"
    script.write_text(WHERE_SERVER)
    found: dict = {}

    async def body() -> None:
        params = StdioServerParameters(command=str(venv_python), args=[str(script)], cwd=str(tmp_path))
        assert params.env is None  # the SDK's default environment, as an MCP client's configuration gives
        with open(tmp_path / "stderr", "w") as errlog:
            async with stdio_client(params, errlog=errlog) as (read, write):
                async with ClientSession(read, write) as session:
                    init = await session.initialize()
                    assert init.server_info.name == "installed"
                    tools = await session.list_tools()
                    assert [t.name for t in tools.tools] == ["where"]
                    result = await session.call_tool("where", {})
                    found.update(json.loads(result.content[0].text))

    try:
        run(body)
    except BaseException:
        print("--- server stderr ---\n" + (tmp_path / "stderr").read_text()[-4000:])
        raise
    assert found["package"] == str(site / "libmcp" / "__init__.py")
    assert found["library"] == str(bundled)
    assert not {"LIBMCP_PATH", "LD_LIBRARY_PATH", "PYTHONPATH", "LIBMCP_BUNDLE"} & set(found["env"]), found["env"]


# ------------------------------------------------------------------ FFI lifetime

def test_callbacks_survive_garbage_collection_and_are_released():
    srv = libmcp.Server("gc", "1")
    core = srv._core
    for i in range(50):
        srv.add_tool(lambda i=i: f"tool {i}", name=f"t{i}")
    gc.collect()
    junk = [ctypes.CFUNCTYPE(ctypes.c_int)(lambda: 0) for _ in range(1000)]  # reuse freed memory, if any
    s = srv.connect()
    s.initialize()
    for i in range(50):
        assert s.request("tools/call", {"name": f"t{i}"})["content"][0]["text"] == f"tool {i}"
    del junk
    assert registered(core) == 50
    for i in range(25):
        srv.remove_tool(f"t{i}")
    assert wait_for(lambda: registered(core) == 25), "free_fn ran for removed tools"
    s.close()
    srv.close()
    assert wait_for(lambda: registered(core) == 0), "the engine released every registration"


def test_a_server_is_freed_when_collected():
    srv = libmcp.Server("collected", "1")
    srv.add_tool(lambda: 1, name="one")
    core = srv._core
    del srv
    gc.collect()
    assert core.handle is None, "the finalizer freed the engine server"
    assert wait_for(lambda: registered(core) == 0)


def test_interpreter_exit_with_calls_in_flight_is_clean():
    """No close(): at exit the servers are freed while async and sync handlers still run."""
    r = python("""
        import asyncio, threading, time, libmcp
        srv = libmcp.Server('exit', '1')
        started = threading.Event()
        @srv.tool()
        async def forever() -> str:
            started.set()
            await asyncio.sleep(60)
            return 'never'
        @srv.tool()
        def blocking(ctx: libmcp.Context) -> str:
            started.set()
            ctx.wait_cancelled(60)
            return 'cancelled'
        s = srv.connect(); s.initialize()
        s.send_request('tools/call', {'name': 'forever'})
        s.send_request('tools/call', {'name': 'blocking'})
        started.wait(5); time.sleep(0.2)
        print('exiting', flush=True)
    """, child_env(), timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "exiting\n"
    assert "Fatal" not in r.stderr and "Segmentation" not in r.stderr and "Exception ignored" not in r.stderr
