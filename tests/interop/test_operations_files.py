"""What an operator deploys beside the engine: the alert rules, the Grafana dashboard, the status page.

- deploy/prometheus: `promtool check rules` accepts the rules, and `promtool test rules` shows each alert
  firing on the series it is written for (and not on tool errors, which are answers, not failures);
- deploy/grafana: every metric a dashboard query names is one the everything server exports;
- the admin listener's `/`: headless Chromium loads it while calls flow, and its figures render as
  numbers and move between two loads.
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import threading
import time
import urllib.request
from html.parser import HTMLParser
from pathlib import Path

from http_support import EverythingHTTP, free_port, request
from modern_support import result

REPO = Path(__file__).resolve().parents[2]
RULES = REPO / "deploy" / "prometheus" / "libmcp-alerts.yml"
RULE_TESTS = REPO / "deploy" / "prometheus" / "libmcp-alerts.test.yml"
DASHBOARD = REPO / "deploy" / "grafana" / "libmcp-dashboard.json"
METRIC = re.compile(r"\b((?:mcp|process)_[a-z_]+)\b")


def promtool() -> str:
    path = shutil.which("promtool")
    assert path, "promtool is missing: `make deps` installs Debian's prometheus package"
    return path


def test_alert_rules_are_valid_and_fire_on_their_conditions():
    r = subprocess.run([promtool(), "check", "rules", str(RULES)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "SUCCESS: 8 rules found" in r.stdout, r.stdout + r.stderr
    r = subprocess.run([promtool(), "test", "rules", RULE_TESTS.name], cwd=RULE_TESTS.parent, capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0 and "SUCCESS" in r.stdout, r.stdout + r.stderr


def drive_calls(url: str, stop: threading.Event, counted: list[int]) -> None:
    while not stop.is_set():
        out = result(url, "tools/call", {"name": "test_simple_text", "arguments": {}})
        assert out["content"][0]["text"]
        counted[0] += 1


def exported_metrics(admin: str) -> set[str]:
    with urllib.request.urlopen(admin + "/metrics", timeout=10) as r:
        text = r.read().decode()
    return {line.split(" ")[2] for line in text.splitlines() if line.startswith("# TYPE ")}


def base_name(name: str) -> str:
    return re.sub(r"_(bucket|sum|count)$", "", name)


def metric_names(promql: str) -> set[str]:
    """The metrics a query reads: names outside label selectors and `by (...)` clauses."""
    bare = re.sub(r"\b(by|without)\s*\([^)]*\)", "", re.sub(r"\{[^}]*\}", "", promql))
    return {base_name(m) for m in METRIC.findall(bare)}


def yaml_rules() -> list[dict]:
    """The rules' expressions (one-line or folded `expr: >` blocks): enough YAML for this file."""
    exprs, lines = [], RULES.read_text().splitlines()
    for i, line in enumerate(lines):
        key, _, rest = line.strip().partition("expr:")
        if key or not _:
            continue
        if rest.strip() in (">", "|"):
            indent = len(line) - len(line.lstrip())
            block = []
            for follow in lines[i + 1:]:
                if follow.strip() and len(follow) - len(follow.lstrip()) <= indent:
                    break
                block.append(follow.strip())
            rest = " ".join(block)
        exprs.append({"expr": rest.strip()})
    return [{"rules": exprs}]


def test_dashboard_queries_name_only_exported_metrics():
    dash = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for p in dash["panels"] for t in p["targets"]]
    exprs += [v["query"] for v in dash["templating"]["list"]]
    named = set().union(*(metric_names(e) for e in exprs))
    rule_exprs = [r["expr"] for g in yaml_rules() for r in g["rules"]]
    assert len(rule_exprs) == 8 and all(rule_exprs), rule_exprs
    rules = set().union(*(metric_names(e) for e in rule_exprs))
    admin_port = free_port()
    with EverythingHTTP("--admin", f"127.0.0.1:{admin_port}") as server:
        result(server.url, "tools/call", {"name": "test_simple_text", "arguments": {}})  # histograms appear
        refused = request(server.url, "POST", raw=b"not json")
        assert refused.status == 400  # counted as a refusal: the refusal counter appears
        exported = exported_metrics(f"http://127.0.0.1:{admin_port}")
    assert len(named) >= 12, named
    assert named - exported == set(), f"dashboard queries metrics the server does not export: {named - exported}"
    assert rules - exported == set(), f"alert rules name metrics the server does not export: {rules - exported}"


class Figures(HTMLParser):
    """The page's figures: id -> data-value, and the per-method table's rows."""

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[str, str] = {}
        self.methods: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "data-value" in a and a.get("id"):
            self.values[a["id"]] = a["data-value"] or ""
        if tag == "tr" and a.get("data-method"):
            self.methods.append(a["data-method"])


def chromium_binary() -> str:
    for name in ("chromium", "chromium-browser"):
        if path := shutil.which(name):
            return path
    raise AssertionError("chromium is missing: `make deps` installs Debian's chromium package")


class Browser:
    """Headless Chromium driven over the DevTools protocol: the page runs in real time (a
    --virtual-time-budget run would race its two-second scrapes past the traffic)."""

    def __init__(self, profile: Path):
        self.proc = subprocess.Popen([chromium_binary(), "--headless", "--no-sandbox", "--disable-gpu",
                                      "--disable-dev-shm-usage", "--remote-debugging-port=0",
                                      f"--user-data-dir={profile}", "about:blank"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        self.endpoint = ""
        while not self.endpoint:
            line = self.proc.stderr.readline()
            assert line or self.proc.poll() is None, "chromium exited before listening"
            if m := re.search(r"DevTools listening on ws://([^/]+)/", line):
                self.endpoint = m.group(1)
            assert time.monotonic() < deadline, "chromium did not start"
        self.ids = 0

    def open(self, url: str):
        from websockets.sync.client import connect as ws_connect
        req = urllib.request.Request(f"http://{self.endpoint}/json/new?{url}", method="PUT")
        with urllib.request.urlopen(req, timeout=30) as r:
            target = json.loads(r.read())
        return ws_connect(target["webSocketDebuggerUrl"], max_size=None, open_timeout=30)

    def dom(self, tab) -> Figures:
        self.ids += 1
        tab.send(json.dumps({"id": self.ids, "method": "Runtime.evaluate",
                             "params": {"expression": "document.documentElement.outerHTML", "returnByValue": True}}))
        while True:
            msg = json.loads(tab.recv(timeout=30))
            if msg.get("id") == self.ids:
                break
        page = Figures()
        page.feed(msg["result"]["result"]["value"])
        return page

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait(10)
        self.proc.stderr.close()


def test_status_page_renders_figures_that_move_under_load(tmp_path):
    admin_port = free_port()
    admin = f"http://127.0.0.1:{admin_port}"
    with EverythingHTTP("--admin", f"127.0.0.1:{admin_port}") as server:
        with urllib.request.urlopen(admin + "/", timeout=10) as r:
            assert r.status == 200 and r.headers["Content-Type"] == "text/html; charset=utf-8"
            html = r.read().decode()
        assert "<script" in html and not re.search(r'(src|href)="https?:', html), "the page loads nothing external"

        stop, counted = threading.Event(), [0]
        driver = threading.Thread(target=drive_calls, args=(server.url, stop, counted), daemon=True)
        driver.start()
        browser = Browser(tmp_path / "profile")
        try:
            with browser.open(admin + "/") as tab:
                time.sleep(5)  # the page's own pace: a scrape every 2 s
                first = browser.dom(tab)
                time.sleep(3)
                second = browser.dom(tab)
        finally:
            browser.close()
            stop.set()
            driver.join(30)
    assert counted[0] > 20, counted
    for page in (first, second):
        v = page.values
        assert int(v["samples"]) >= 2, v  # at least two scrapes: rates need a difference
        assert float(v["calls_per_s"]) > 0, v
        assert float(v["p50_ms"]) > 0 and float(v["p99_ms"]) >= float(v["p50_ms"]), v
        assert float(v["rss_mb"]) > 1 and int(float(v["open_fds"])) > 3, v
        assert float(v["error_ratio"]) == 0, v
        assert "tools/call" in page.methods, page.methods
    assert int(second.values["samples"]) > int(first.values["samples"])
    assert float(second.values["requests_total"]) > float(first.values["requests_total"]) > 0
