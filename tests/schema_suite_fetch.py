"""Fetches the official JSON-Schema-Test-Suite (draft 2020-12) at test time.

The suite ships inside the `jsonschema` source distribution on PyPI, under
json/tests/draft2020-12. It is downloaded with pip (the ordinary client; pip
checks the file against PyPI's hash), cached in the build directory, and
never committed. Usage: schema_suite_fetch.py DEST; prints the directory of
the draft2020-12 files (DEST/draft2020-12).
"""
import os
import shutil
import subprocess
import sys
import tarfile

VERSION = "4.25.1"  # jsonschema release whose suite the tests run (pinned)


def main() -> int:
    dest = os.path.abspath(sys.argv[1])
    suite = os.path.join(dest, "draft2020-12")
    stamp = os.path.join(suite, f".jsonschema-{VERSION}")
    if os.path.exists(stamp):
        print(suite)
        return 0
    os.makedirs(dest, exist_ok=True)
    sdist = os.path.join(dest, f"jsonschema-{VERSION}.tar.gz")
    if not os.path.exists(sdist):
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-binary", ":all:", "--no-deps",
                        f"jsonschema=={VERSION}", "-d", dest], check=True)
    prefix = f"jsonschema-{VERSION}/json/tests/draft2020-12/"
    shutil.rmtree(suite, ignore_errors=True)
    with tarfile.open(sdist) as tar:
        for member in tar.getmembers():
            if not member.isfile() or not member.name.startswith(prefix) or ".." in member.name:
                continue
            target = os.path.join(suite, member.name[len(prefix):])
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with tar.extractfile(member) as src, open(target, "wb") as out:
                shutil.copyfileobj(src, out)
    if not os.path.exists(os.path.join(suite, "type.json")):
        print(f"{sdist} holds no {prefix}", file=sys.stderr)
        return 1
    open(stamp, "w").close()
    print(suite)
    return 0


if __name__ == "__main__":
    sys.exit(main())
