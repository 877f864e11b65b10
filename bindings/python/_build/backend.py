"""A PEP 517 / PEP 660 build backend for the libmcp package, with no dependencies.

The package is pure Python, so a wheel is a zip of src/libmcp plus metadata;
no setuptools or wheel is needed, and `pip install bindings/python` works
offline. The wheel bundles the engine, as libmcp/_lib/libmcp.so.1, and is then
tagged for this platform; libmcp loads that copy when LIBMCP_PATH is not set,
so a server started by an MCP client with a clean environment finds it. The
copy bundled is the first of:
  - the file LIBMCP_BUNDLE names at build time (or libmcp.so.1 in that directory);
  - src/libmcp/_lib/libmcp.so.1, if already there;
  - build/lib/libmcp.so.1 of the libmcp repository this package sits in (what
    `make` builds), so that `make && pip install bindings/python` just works.
With none of them the wheel is pure Python and the library is looked for at run time.

    LIBMCP_BUNDLE=/elsewhere/lib/libmcp.so.1 pip install bindings/python
"""
from __future__ import annotations

import base64
import hashlib
import io
import os
import re
import sysconfig
import tarfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src" / "libmcp"
BUNDLE_ENV = "LIBMCP_BUNDLE"


def _project() -> dict:
    text = (ROOT / "pyproject.toml").read_text()
    try:
        import tomllib
        project = tomllib.loads(text)["project"]
    except ImportError:  # Python 3.10: the few flat keys this backend reads
        section = text.split("[project]", 1)[1].split("\n[", 1)[0]
        project = {k: v for k, v in re.findall(r'^(\w[\w-]*)\s*=\s*"([^"]*)"', section, re.M)}
    found = re.search(r'^__version__ = "([^"]+)"', (SRC / "__init__.py").read_text(), re.M)
    if found is None:
        raise RuntimeError(f"no __version__ in {SRC / '__init__.py'}")
    return {**project, "version": found.group(1)}


def _metadata() -> str:
    p = _project()
    lines = [
        "Metadata-Version: 2.1",
        f"Name: {p['name']}",
        f"Version: {p['version']}",
        f"Summary: {p.get('description', '')}",
        f"Requires-Python: {p.get('requires-python', '>=3.10')}",
    ]
    for extra, reqs in (p.get("optional-dependencies") or {}).items():
        lines.append(f"Provides-Extra: {extra}")
        lines += [f"Requires-Dist: {r}; extra == \"{extra}\"" for r in reqs]
    readme = ROOT / "README.md"
    lines.append("Description-Content-Type: text/markdown")
    return "\n".join(lines) + "\n\n" + (readme.read_text() if readme.exists() else "")


def _dist_name() -> str:
    p = _project()
    return f"{p['name'].replace('-', '_')}-{p['version']}"


def _bundled_library() -> Path | None:
    env = os.environ.get(BUNDLE_ENV)
    if env:
        path = Path(env)
        if path.is_dir():
            path = path / "libmcp.so.1"
        if not path.is_file():
            raise FileNotFoundError(f"{BUNDLE_ENV}={env}: no such file")
        return path
    existing = SRC / "_lib" / "libmcp.so.1"
    if existing.is_file():
        return existing
    repository = ROOT.parent.parent
    built = repository / "build" / "lib" / "libmcp.so.1"
    if ROOT.parent.name == "bindings" and (repository / "include" / "mcp.h").is_file() and built.is_file():
        return built
    return None


def _package_files() -> list[tuple[str, Path]]:
    out = []
    for path in sorted(SRC.rglob("*")):
        rel = path.relative_to(SRC.parent).as_posix()
        if path.is_file() and "__pycache__" not in rel and not rel.startswith("libmcp/_lib/"):
            out.append((rel, path))
    return out


class _Wheel:
    def __init__(self, directory: str, tag: str):
        self.name = f"{_dist_name()}-{tag}.whl"
        self.path = Path(directory) / self.name
        self.zip = zipfile.ZipFile(self.path, "w", zipfile.ZIP_DEFLATED)
        self.records: list[str] = []
        self.tag = tag

    def add(self, arcname: str, data: bytes, mode: int = 0o644) -> None:
        info = zipfile.ZipInfo(arcname, date_time=(2020, 1, 1, 0, 0, 0))
        info.external_attr = (0o100000 | mode) << 16
        info.compress_type = zipfile.ZIP_DEFLATED
        self.zip.writestr(info, data)
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        self.records.append(f"{arcname},sha256={digest},{len(data)}")

    def finish(self) -> str:
        info = f"{_dist_name()}.dist-info"
        self.add(f"{info}/METADATA", _metadata().encode())
        pure = "true" if self.tag.endswith("-any") else "false"
        self.add(f"{info}/WHEEL", (f"Wheel-Version: 1.0\nGenerator: libmcp-backend\nRoot-Is-Purelib: {pure}\n"
                                   f"Tag: {self.tag}\n").encode())
        self.add(f"{info}/top_level.txt", b"libmcp\n")
        self.records.append(f"{info}/RECORD,,")
        self.zip.writestr(f"{info}/RECORD", "\n".join(self.records) + "\n")
        self.zip.close()
        return self.name


def _platform_tag() -> str:
    return "py3-none-" + re.sub(r"[-.]", "_", sysconfig.get_platform())


# ---------------------------------------------------------------- PEP 517

def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def get_requires_for_build_editable(config_settings=None):
    return []


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    library = _bundled_library()
    wheel = _Wheel(wheel_directory, _platform_tag() if library else "py3-none-any")
    for arcname, path in _package_files():
        wheel.add(arcname, path.read_bytes())
    if library is not None:
        wheel.add("libmcp/_lib/libmcp.so.1", library.read_bytes(), 0o755)
    return wheel.finish()


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    """PEP 660: a .pth file that puts src/ on sys.path (the library is found as usual)."""
    wheel = _Wheel(wheel_directory, "py3-none-any")
    wheel.add("libmcp_editable.pth", (str(SRC.parent) + "\n").encode())
    return wheel.finish()


def build_sdist(sdist_directory, config_settings=None):
    name = _dist_name()
    out = Path(sdist_directory) / f"{name}.tar.gz"
    with tarfile.open(out, "w:gz", format=tarfile.PAX_FORMAT) as tar:
        def add(arcname: str, data: bytes) -> None:
            info = tarfile.TarInfo(f"{name}/{arcname}")
            info.size, info.mtime, info.mode = len(data), int(time.time()), 0o644
            tar.addfile(info, io.BytesIO(data))
        for rel in ("pyproject.toml", "README.md", "_build/backend.py"):
            add(rel, (ROOT / rel).read_bytes())
        for arcname, path in _package_files():
            add(f"src/{arcname}", path.read_bytes())
        add("PKG-INFO", _metadata().encode())
    return out.name
