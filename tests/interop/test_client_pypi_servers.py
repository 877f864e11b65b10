"""Our command-line client, build/bin/mcp-client, against real servers from
PyPI (mcp-server-time, mcp-server-git, in the third-party venv of
tests/requirements-3p.txt) over stdio: in auto mode it settles on the era the
server speaks and says which; legacy and 2026-07-28 are asked for explicitly
as well. (The Python binding does the same in bindings/python/tests/
test_client_eras.py, the Go binding in bindings/go/client_pypi_test.go.)"""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from conftest import BUILD_DIR, REPO

CLIENT = BUILD_DIR / "bin" / "mcp-client"


def third_party(exe: str) -> str:
    venv = Path(os.environ.get("MCP_THIRD_PARTY_VENV") or REPO / ".venv-3p")
    path = venv / "bin" / exe
    assert path.exists(), f"{path} is missing: python3 -m venv {venv} && {venv}/bin/pip install -r tests/requirements-3p.txt"
    return str(path)


def run_client(era: str, method: str, params: dict | None, server: list[str]) -> tuple[dict, str]:
    assert CLIENT.exists(), f"mcp-client not found at {CLIENT}: run make build"
    argv = [str(CLIENT), "--timeout", "30000", "--era", era, method]
    if params is not None:
        argv.append(json.dumps(params))
    p = subprocess.run(argv + ["--"] + server, capture_output=True, text=True, timeout=90)
    assert p.returncode == 0, f"mcp-client exited {p.returncode}: {p.stderr}"
    return json.loads(p.stdout), p.stderr


SERVERS = {
    "mcp-server-time": (["mcp-server-time", "--local-timezone", "UTC"],
                        "get_current_time", {"timezone": "UTC"}, '"timezone": "UTC"'),
    "mcp-server-git": (["mcp-server-git", "--repository", str(REPO)],
                       "git_status", {"repo_path": str(REPO)}, "branch"),
}


@pytest.mark.parametrize("era", ["auto", "legacy", "2026-07-28"])
@pytest.mark.parametrize("package", sorted(SERVERS))
def test_mcp_client_reaches_pypi_server(package, era):
    argv, tool, args, expect = SERVERS[package]
    server = [third_party(argv[0])] + argv[1:]
    listed, stderr = run_client(era, "tools/list", None, server)
    assert tool in {t["name"] for t in listed["tools"]}
    said = [line for line in stderr.splitlines() if line.startswith("mcp-client: era ")]
    assert len(said) == 1, stderr
    if era == "legacy":
        assert said[0].startswith("mcp-client: era legacy ("), said
    elif era == "2026-07-28":
        assert said[0] == "mcp-client: era modern (2026-07-28)", said
    else:  # auto: whichever the server speaks, named
        assert said[0].startswith(("mcp-client: era legacy (", "mcp-client: era modern (")), said
    result, _ = run_client(era, "tools/call", {"name": tool, "arguments": args}, server)
    assert result.get("isError") is not True, result
    text = result["content"][0]["text"]
    assert expect in (text.lower() if package == "mcp-server-git" else text), text
