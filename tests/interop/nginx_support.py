"""nginx (Debian's package, installed by `make deps`) as the load balancer of a test fleet: a generated
configuration in a private directory, a private port, round-robin over the given upstreams with no
stickiness, and the settings SSE needs (deploy/nginx.conf is the same configuration for deployment).
Started in the foreground as a child process and stopped by its PID."""
from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

CONFIG = """\
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
daemon off;

events {{ worker_connections 1024; }}

http {{
    client_body_temp_path {dir}/tmp/body;
    proxy_temp_path {dir}/tmp/proxy;
    fastcgi_temp_path {dir}/tmp/fastcgi;
    uwsgi_temp_path {dir}/tmp/uwsgi;
    scgi_temp_path {dir}/tmp/scgi;
    # Which node answered each request: the test reads it to know where a call ran.
    log_format fleet '$request_method|$status|$upstream_addr|$http_mcp_session_id|$http_last_event_id';
    access_log {dir}/access.log fleet;

    upstream mcp {{
        # Plain round-robin: no ip_hash, no sticky cookie. A node that refuses
        # connections is skipped for fail_timeout.
{servers}
        keepalive 32;
    }}

    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://mcp;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            # The nodes check Host (DNS rebinding): pass the client's own.
            proxy_set_header Host $http_host;
            # SSE: every event goes out as the node writes it.
            proxy_buffering off;
            proxy_request_buffering off;
            proxy_cache off;
            # Above the nodes' SSE keep-alive comment interval (15 s): an open,
            # quiet stream is not cut.
            proxy_read_timeout 120s;
            proxy_send_timeout 120s;
            # A node that is down (connection refused) is skipped, POST included:
            # nothing reached it, so nothing ran twice.
            proxy_next_upstream error;
            proxy_next_upstream_tries 3;
        }}
    }}
}}
"""


def nginx_binary() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if not found:
        pytest.fail("nginx is not installed: `make deps` installs Debian's package")
    return found


class Nginx:
    """nginx on 127.0.0.1:`port` in front of `upstreams` ("host:port" each)."""

    def __init__(self, directory: Path, port: int, upstreams: list[str]):
        self.dir = directory
        self.port = port
        self.upstreams = upstreams
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/mcp"

    def __enter__(self) -> "Nginx":
        (self.dir / "tmp").mkdir(parents=True, exist_ok=True)
        servers = "\n".join(f"        server {u} max_fails=1 fail_timeout=2s;" for u in self.upstreams)
        conf = self.dir / "nginx.conf"
        conf.write_text(CONFIG.format(dir=self.dir, port=self.port, servers=servers))
        # -e: the error log before the configuration is read (not /var/log/nginx).
        self.proc = subprocess.Popen([nginx_binary(), "-p", str(self.dir), "-c", str(conf), "-e",
                                      str(self.dir / "error.log")],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"nginx exited: {self.proc.stderr.read().decode(errors='replace')}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return self
            except OSError:
                time.sleep(0.05)
        self.__exit__()
        raise AssertionError("nginx did not listen")

    def __exit__(self, *exc) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()  # SIGTERM to its PID: a fast shutdown
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def log(self) -> list[list[str]]:
        """The access log: one [method, status, upstream, session id, last event id] per request, the
        upstream being the node that answered (the last one tried)."""
        path = self.dir / "access.log"
        if not path.exists():
            return []
        rows = []
        for line in path.read_text().splitlines():
            row = line.split("|")
            row[2] = row[2].split(",")[-1].strip()
            rows.append(row)
        return rows
