"""A private PostgreSQL server for tests and benchmarks, from Debian's `postgresql` package (the Makefile's
APT_PACKAGES): `initdb` into a fresh directory, `postgres` on a free loopback port with its Unix socket in
that directory, stopped by its PID. Nothing is assumed to be running, and nothing outside the directory is
touched.

PostgreSQL refuses to run as root. Under root (CI runs `make test` as root) both programs run as the
unprivileged user `nobody`, which owns the directory (created in the system's temporary directory, not under
pytest's root-only tmp_path); otherwise they run as the current user.

- `PrivatePostgres`: `start()`, `stop()` (SIGINT: fast shutdown; SIGKILL if it lingers), `kill()`, `psql()`,
  `new_database()` (a database of its own for one test, owned by the role `mcp`, with a password), `url()`.
- The `postgres` pytest fixture: one server per test module, stopped at the module's end.
- `postgres_bin()`: the directory of the programs (the newest /usr/lib/postgresql/N/bin), or an error
  saying how to install them.

bench/store_bench.py imports this file too (it needs no pytest).
"""
from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

ROLE, PASSWORD = "mcp", "mcp-test-password"
START_TIMEOUT = 30.0  # initdb and the first start on a loaded 2-core machine


def postgres_bin() -> Path:
    """/usr/lib/postgresql/<newest>/bin, which holds initdb, postgres, psql and pg_isready."""
    root = Path("/usr/lib/postgresql")
    versions = sorted((p for p in root.glob("*/bin") if (p / "postgres").exists()),
                      key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0)
    if not versions:
        raise AssertionError("PostgreSQL is not installed: no /usr/lib/postgresql/*/bin/postgres "
                             "(apt-get install postgresql; `make deps` does it)")
    return versions[-1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PrivatePostgres:
    """One PostgreSQL server in its own directory on a private port (see the module's doc)."""

    def __init__(self) -> None:
        self.bin = postgres_bin()
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        self.dir = Path(tempfile.mkdtemp(prefix="mcp-pg-"))
        self.data = self.dir / "data"
        self.log = self.dir / "postgres.log"
        self.user: str | None = None
        if os.geteuid() == 0:  # postgres refuses root: the directory and the programs belong to nobody
            self.user = "nobody"
            pw = pwd.getpwnam(self.user)
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        self.databases = 0
        self.role_made = False
        self._run([self.bin / "initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust",
                   "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C", "--no-sync"])

    def _run(self, argv: list, **kw) -> subprocess.CompletedProcess:
        r = subprocess.run([str(a) for a in argv], capture_output=True, text=True, user=self.user,
                           cwd=self.dir, timeout=START_TIMEOUT, **kw)
        if r.returncode != 0:
            raise AssertionError(f"{argv[0]} failed ({r.returncode}): {r.stderr[-2000:]}")
        return r

    def start(self) -> "PrivatePostgres":
        """Starts the server (again, after stop or kill: same port, same data) and waits until it accepts
        connections."""
        assert self.proc is None or self.proc.poll() is not None, "already running"
        logf = open(self.log, "ab")
        self.proc = subprocess.Popen(
            [str(self.bin / "postgres"), "-D", str(self.data), "-p", str(self.port), "-k", str(self.dir),
             "-c", "listen_addresses=127.0.0.1", "-c", "max_connections=60", "-c", "shared_buffers=16MB",
             "-c", "logging_collector=off"],
            stdin=subprocess.DEVNULL, stdout=logf, stderr=logf, user=self.user, cwd=self.dir)
        logf.close()
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            r = subprocess.run([str(self.bin / "pg_isready"), "-q", "-h", str(self.dir), "-p", str(self.port)],
                               capture_output=True)
            if r.returncode == 0:
                break
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.kill()
                raise AssertionError(f"postgres did not start: {self.log.read_text(errors='replace')[-2000:]}")
            time.sleep(0.1)
        if not self.role_made:
            self.psql(f"CREATE ROLE {ROLE} LOGIN PASSWORD '{PASSWORD}'")
            self.role_made = True
        return self

    def stop(self) -> None:
        """Fast shutdown (SIGINT: sessions are ended, the data stays); SIGKILL after 15 s."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def close(self) -> None:
        """Stops the server at once (SIGQUIT: immediate shutdown, no checkpoint: the data goes anyway) and
        removes its directory."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()
        shutil.rmtree(self.dir, ignore_errors=True)

    def psql(self, sql: str, database: str = "postgres") -> str:
        """Runs SQL as the superuser over the Unix socket; its output (unaligned, tuples only)."""
        return self._run([self.bin / "psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", self.dir,
                          "-p", self.port, "-U", "postgres", "-d", database, "-c", sql]).stdout.strip()

    def new_database(self) -> str:
        """A fresh database owned by the role `mcp`; its name."""
        self.databases += 1
        name = f"mcp{self.databases}"
        self.psql(f"CREATE DATABASE {name} OWNER {ROLE}")
        return name

    def url(self, database: str, params: str = "sslmode=disable") -> str:
        """The store URL of `database` over TCP with the role's password."""
        return f"postgres://{ROLE}:{PASSWORD}@127.0.0.1:{self.port}/{database}" + (f"?{params}" if params else "")


try:
    import pytest
except ImportError:  # the benchmark imports this module without pytest
    pytest = None

if pytest is not None:
    @pytest.fixture(scope="module")
    def postgres():
        """One private PostgreSQL server for the test module; give each test its own new_database()."""
        pg = PrivatePostgres()
        try:
            yield pg.start()
        finally:
            pg.close()


def serve() -> None:
    """For tests in other languages (Tests/MCPTransportTests/Store/PostgresStoreTests.swift): starts a
    server, then answers each line `new` on stdin with `URL <store url of a new database>`, and `sql DB
    STATEMENT` with `OK <output>`; stops the server and removes its directory at end of input."""
    import sys
    pg = PrivatePostgres()
    try:
        pg.start()
        print("READY", flush=True)
        for line in sys.stdin:
            word, _, rest = line.strip().partition(" ")
            if word == "new":
                print("URL", pg.url(pg.new_database()), flush=True)
            elif word == "sql":
                db, _, sql = rest.partition(" ")
                print("OK", pg.psql(sql, database=db).replace("\n", " "), flush=True)
            else:
                print("ERR unknown command", word, flush=True)
    finally:
        pg.close()


if __name__ == "__main__":
    serve()
