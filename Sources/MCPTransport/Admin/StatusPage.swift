/// The admin listener's `/`: a live status page for an operator without
/// Grafana. One self-contained page (no external assets: the admin port is
/// often reachable only from a bastion) that reads `/metrics` every two
/// seconds and shows what deploy/grafana's dashboard shows: throughput,
/// latency percentiles, errors, saturation, connections, memory, refusals.
/// Rates and percentiles are computed in the page from the difference of two
/// scrapes, as Prometheus's rate() and histogram_quantile() do. Each figure
/// carries its number in `data-value`, which the page test reads.
enum StatusPage {
    static let html = #"""
<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>libmcp status</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:14px system-ui,sans-serif;margin:1.5em;background:#fafafa;color:#222}
h1{font-size:1.3em;margin:0 0 .2em}#meta{color:#666;margin-bottom:1em}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(11em,1fr));gap:.6em}
.tile{background:#fff;border:1px solid #ddd;border-radius:6px;padding:.6em .8em}
.tile .k{color:#666;font-size:.85em}.tile .v{font-size:1.5em;font-weight:600}
.bad .v{color:#b00}table{border-collapse:collapse;margin-top:1em;background:#fff}
td,th{border:1px solid #ddd;padding:.3em .6em;text-align:right}th:first-child,td:first-child{text-align:left}
#error{color:#b00}
</style></head><body>
<h1>libmcp status</h1>
<div id="meta">scrapes: <span id="samples" data-value="0">0</span> · <span id="updated">waiting for /metrics</span>
<span id="error"></span></div>
<div class="grid" id="tiles"></div>
<table id="methods"><thead><tr><th>method</th><th>calls/s</th><th>errors/s</th><th>p50 ms</th><th>p99 ms</th></tr>
</thead><tbody></tbody></table>
<script>
"use strict";
const TILES = [
  ["calls_per_s", "calls / s"], ["errors_per_s", "errors / s"], ["error_ratio", "error %"],
  ["p50_ms", "latency p50 ms"], ["p99_ms", "latency p99 ms"], ["requests_total", "requests (total)"],
  ["in_flight", "calls in flight"], ["queue_depth", "worker queue"], ["busy_workers", "busy workers"],
  ["connections", "connections"], ["sessions", "sessions (2025)"], ["streams", "open streams"],
  ["refusals_per_s", "refusals / s"], ["bytes_in_per_s", "bytes in / s"], ["bytes_out_per_s", "bytes out / s"],
  ["rss_mb", "memory (RSS MB)"], ["open_fds", "open fds"], ["cpu_percent", "CPU %"]];
const tiles = document.getElementById("tiles");
for (const [id, label] of TILES) {
  const d = document.createElement("div");
  d.className = "tile"; d.id = "tile-" + id;
  d.innerHTML = '<div class="k"></div><div class="v" id="' + id + '" data-value="">–</div>';
  d.firstChild.textContent = label;
  tiles.appendChild(d);
}
// One sample: [{name, labels, value}] from the Prometheus text format.
function parse(text) {
  const out = [];
  for (const line of text.split("\n")) {
    if (!line || line[0] === "#") continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels = {};
    if (m[3]) for (const l of m[3].matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    out.push({name: m[1], labels, value: parseFloat(m[4])});
  }
  return out;
}
const sum = (s, name, keep) => s.filter(x => x.name === name && (!keep || keep(x.labels)))
                                 .reduce((a, x) => a + x.value, 0);
// histogram_quantile over the difference of two scrapes' buckets.
function quantile(q, now, before, keep) {
  const per = {};
  for (const [s, sign] of [[now, 1], [before, -1]])
    for (const x of s) if (x.name === "mcp_server_operation_duration_seconds_bucket" && (!keep || keep(x.labels)))
      per[x.labels.le] = (per[x.labels.le] || 0) + sign * x.value;
  const les = Object.keys(per).map(le => [le === "+Inf" ? Infinity : parseFloat(le), per[le]]).sort((a, b) => a[0] - b[0]);
  if (!les.length) return NaN;
  const total = les[les.length - 1][1];
  if (!(total > 0)) return NaN;
  let prevLe = 0, prevCount = 0;
  for (const [le, count] of les) {
    if (count >= q * total) {
      if (le === Infinity) return prevLe * 1000;
      return (prevLe + (le - prevLe) * (q * total - prevCount) / Math.max(count - prevCount, 1e-9)) * 1000;
    }
    prevLe = le; prevCount = count;
  }
  return NaN;
}
const isError = l => l.outcome !== "ok";
function show(id, value, digits, bad) {
  const el = document.getElementById(id);
  el.dataset.value = Number.isFinite(value) ? String(value) : "";
  el.textContent = Number.isFinite(value) ? value.toFixed(digits) : "–";
  el.parentNode.classList.toggle("bad", !!bad);
}
let previous = null, samples = 0;
async function scrape() {
  try {
    const r = await fetch("/metrics", {cache: "no-store"});
    if (!r.ok) throw new Error("/metrics answered " + r.status);
    const now = {at: performance.now(), s: parse(await r.text())};
    samples++;
    const s = now.s;
    document.getElementById("samples").dataset.value = String(samples);
    document.getElementById("samples").textContent = String(samples);
    document.getElementById("updated").textContent = "updated " + new Date().toLocaleTimeString();
    document.getElementById("error").textContent = "";
    show("requests_total", sum(s, "mcp_server_requests_total"), 0);
    show("in_flight", sum(s, "mcp_server_calls_in_flight"), 0);
    show("queue_depth", sum(s, "mcp_worker_queue_depth"), 0, sum(s, "mcp_worker_queue_depth") > 0);
    show("busy_workers", sum(s, "mcp_worker_busy_threads"), 0);
    show("connections", sum(s, "mcp_server_connections"), 0);
    show("sessions", sum(s, "mcp_server_sessions"), 0);
    show("streams", sum(s, "mcp_server_streams"), 0);
    show("rss_mb", sum(s, "process_resident_memory_bytes") / 1048576, 1);
    show("open_fds", sum(s, "process_open_fds"), 0);
    if (previous) {
      const p = previous.s, dt = (now.at - previous.at) / 1000;
      const rate = (name, keep) => Math.max(sum(s, name, keep) - sum(p, name, keep), 0) / dt;
      const calls = rate("mcp_server_requests_total"), errors = rate("mcp_server_requests_total", isError);
      show("calls_per_s", calls, 1);
      show("errors_per_s", errors, 2, errors > 0);
      show("error_ratio", calls > 0 ? 100 * errors / calls : 0, 2, errors > 0);
      show("p50_ms", quantile(0.5, s, p), 2);
      show("p99_ms", quantile(0.99, s, p), 2);
      show("refusals_per_s", rate("mcp_server_refusals_total"), 2, rate("mcp_server_refusals_total") > 0);
      show("bytes_in_per_s", rate("mcp_server_received_bytes_total"), 0);
      show("bytes_out_per_s", rate("mcp_server_sent_bytes_total"), 0);
      show("cpu_percent", 100 * rate("process_cpu_seconds_total"), 1);
      const methods = [...new Set(s.filter(x => x.name === "mcp_server_requests_total").map(x => x.labels.mcp_method_name))].sort();
      const body = document.querySelector("#methods tbody");
      body.textContent = "";
      for (const m of methods) {
        const byMethod = l => l.mcp_method_name === m;
        const row = body.insertRow();
        row.dataset.method = m;
        const cells = [m, rate("mcp_server_requests_total", byMethod).toFixed(1),
          rate("mcp_server_requests_total", l => byMethod(l) && isError(l)).toFixed(2),
          quantile(0.5, s, p, byMethod).toFixed(2), quantile(0.99, s, p, byMethod).toFixed(2)];
        for (const c of cells) row.insertCell().textContent = Number.isNaN(Number(c)) && c !== m ? "–" : c;
      }
    }
    previous = now;
  } catch (e) {
    document.getElementById("error").textContent = " · " + e.message;
  }
}
scrape();
setInterval(scrape, 2000);
</script></body></html>
"""#
}
