"""A stdio fixture server for the client's result checks and response cache.

    python hints_server.py ERA LOG     ERA: modern (2026-07-28 only) or legacy (initialize)

Tools with outputSchemas whose structuredContent is whatever the call's "sc" argument
says (an outputSchema using $defs and $ref; one with a network $ref that must never be
fetched; one with a $ref cycle); tools/list, prompts/list and resources/read results
carrying ttlMs/cacheScope hints; the "notify" tool sends notifications/tools/list_changed
first. Every request's method is appended to LOG, so tests count what reached it.
"""
import json
import sys

MODERN = "2026-07-28"
era, log_path = sys.argv[1], sys.argv[2]
log = open(log_path, "a", buffering=1)
CART = {"type": "object", "properties": {"items": {"type": "array", "items": {"$ref": "#/$defs/item"}}},
        "required": ["items"],
        "$defs": {"item": {"type": "object", "properties": {"sku": {"type": "string", "pattern": "^[A-Z]{3}-[0-9]+$"},
                                                             "price": {"type": "number", "minimum": 0}},
                           "required": ["sku", "price"], "additionalProperties": False}}}
TOOLS = [
    {"name": "cart", "inputSchema": {"type": "object"}, "outputSchema": CART},
    {"name": "canary", "inputSchema": {"type": "object"},
     "outputSchema": {"type": "object", "properties": {"a": {"$ref": "http://127.0.0.1:9/canary.json"}}}},
    {"name": "loop", "inputSchema": {"type": "object"}, "outputSchema": {"$ref": "#"}},
    {"name": "notify", "inputSchema": {"type": "object"}},
]
HINTS = {"ttlMs": 60000, "cacheScope": "public"}


def send(msg):
    sys.stdout.write(json.dumps(msg) + "\n")
    sys.stdout.flush()


def answer(req, result=None, error=None):
    if "id" in req:
        if era == "modern" and result is not None:
            result = {"resultType": "complete", **result}
        send({"jsonrpc": "2.0", "id": req["id"], **({"error": error} if error else {"result": result})})


CAPS = {"tools": {"listChanged": True}, "prompts": {"listChanged": True}, "resources": {}}
for line in sys.stdin:
    try:
        req = json.loads(line)
    except ValueError:
        continue
    method = req.get("method")
    params = req.get("params") or {}
    if "id" in req:
        log.write(json.dumps({"method": method, "params": params}) + "\n")
    if method == "server/discover":
        if era == "modern":
            answer(req, {"supportedVersions": [MODERN], "capabilities": CAPS, **HINTS,
                         "_meta": {"io.modelcontextprotocol/serverInfo": {"name": "hints", "version": "1"}}})
        else:
            answer(req, error={"code": -32601, "message": "Method not found"})
    elif method == "initialize":
        if era == "modern":
            answer(req, error={"code": -32022, "message": "Unsupported protocol version",
                               "data": {"supported": [MODERN], "requested": params.get("protocolVersion")}})
        else:
            answer(req, {"protocolVersion": params.get("protocolVersion"), "capabilities": CAPS,
                         "serverInfo": {"name": "hints", "version": "1"}})
    elif "id" not in req:
        pass
    elif method == "tools/list":
        answer(req, {"tools": TOOLS, **HINTS})
    elif method == "prompts/list":
        answer(req, {"prompts": [], "ttlMs": 0, "cacheScope": "public"})
    elif method == "resources/read":
        uri = params.get("uri")
        answer(req, {"contents": [{"uri": uri, "text": "x"}], "ttlMs": 60000, "cacheScope": "private"})
    elif method == "tools/call":
        args = params.get("arguments") or {}
        if params.get("name") == "notify":
            send({"jsonrpc": "2.0", "method": "notifications/tools/list_changed"})
            answer(req, {"content": []})
            continue
        result = {"content": [{"type": "text", "text": "ok"}]}
        if "sc" in args:
            result["structuredContent"] = args["sc"]
        answer(req, result)
    elif method == "ping":
        answer(req, {})
    else:
        answer(req, error={"code": -32601, "message": "Method not found"})
