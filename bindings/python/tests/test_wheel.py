"""`make wheel`'s wheel: a manylinux platform wheel that installs into a bare venv and serves the official client.

The wheel is built the way `make wheel` builds it (scripts/wheel.py: pip wheel, then auditwheel repair) from
the library under test, installed offline into a new venv, and run with a PATH that has no Swift toolchain on
it, so nothing but the wheel's own files can satisfy the server.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from conftest import LIBRARY, REPO, run

import libmcp

SERVER = """
import json, os, libmcp
srv = libmcp.Server("from-wheel", "1.0")

@srv.tool()
def where(word: str) -> str:
    \"\"\"The files this server runs from, and the word back.\"\"\"
    return json.dumps({"package": libmcp.__file__, "library": libmcp.library_path(), "word": word})

srv.run_stdio()
"""


def path_without_swift() -> str:
    """PATH minus every directory that holds a Swift toolchain."""
    keep = [d for d in os.environ["PATH"].split(os.pathsep)
            if d and not (Path(d) / "swift").exists() and not (Path(d) / "swiftc").exists()]
    return os.pathsep.join(keep)


def test_wheel_is_manylinux_and_serves_the_official_client_from_a_bare_venv(tmp_path):
    out = subprocess.run([sys.executable, str(REPO / "scripts" / "wheel.py"), "--library", str(LIBRARY),
                          "--out", str(tmp_path / "dist")], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout + out.stderr
    wheel = Path(out.stdout.strip())
    assert wheel.parent == tmp_path / "dist" and wheel.is_file()
    assert wheel.name.startswith(f"libmcp-{libmcp.__version__}-py3-none-manylinux_2_"), wheel.name
    assert wheel.name.endswith("_x86_64.whl") or wheel.name.endswith("_aarch64.whl"), wheel.name

    # auditwheel's own reading of the result agrees with the tag the wheel carries.
    show = subprocess.run([sys.executable, "-m", "auditwheel", "show", str(wheel)], capture_output=True, text=True,
                          timeout=300)
    assert show.returncode == 0, show.stdout + show.stderr
    tag = wheel.name.split("-py3-none-")[1].removesuffix(".whl")
    assert f'consistent with the\nfollowing platform tag: "{tag}"' in show.stdout, show.stdout
    names = zipfile.ZipFile(wheel).namelist()
    assert "libmcp/_lib/libmcp.so.1" in names and "libmcp/server.py" in names
    assert not [n for n in names if n.endswith(".so") or ".libs/" in n], names  # nothing grafted in

    bare_path = path_without_swift()
    assert shutil.which("swiftc", path=bare_path) is None and shutil.which("swift", path=bare_path) is None
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True, timeout=300)
    env = {"PATH": bare_path, "HOME": os.environ.get("HOME", "/"), "PIP_NO_INDEX": "1",
           "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    r = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", str(wheel)], env=env,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr

    script = tmp_path / "server.py"
    script.write_text(SERVER)
    found: list[dict] = []

    from mcp import Client, StdioServerParameters

    async def body() -> None:
        for mode in ("legacy", "2026-07-28"):
            params = StdioServerParameters(command=str(venv / "bin" / "python"), args=[str(script)],
                                           env={"PATH": bare_path}, cwd=str(tmp_path))
            async with Client(params, mode=mode, read_timeout_seconds=30) as client:
                result = await client.call_tool("where", {"word": mode})
                found.append(json.loads(result.content[0].text))

    run(body, timeout=120)
    site = next((venv / "lib").glob("python3*/site-packages"))
    assert [f["word"] for f in found] == ["legacy", "2026-07-28"]
    for f in found:
        assert f["package"] == str(site / "libmcp" / "__init__.py")
        assert f["library"] == str(site / "libmcp" / "_lib" / "libmcp.so.1")
