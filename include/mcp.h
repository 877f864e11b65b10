/*
** libmcp: an embeddable engine for the Model Context Protocol (MCP).
**
** This header is the whole public interface of libmcp and its manual. Anything
** not declared here is not API and may change without notice.
**
** The engine implements MCP revision 2025-11-25 and negotiates down to
** 2025-06-18, 2025-03-26 and 2024-11-05. A host (a C program, a Python script
** through ctypes, a Go service through cgo) creates a server, registers tools,
** resources, resource templates and prompts with callbacks, and serves it over
** a transport. The engine does all JSON-RPC framing, lifecycle, version
** negotiation, pagination, validation and error mapping.
**
** CONVENTIONS (they hold for every function below unless its block says otherwise)
**
** Structured data crosses the ABI as UTF-8 JSON text, NUL-terminated. Include
** mcp_jansson.h for inline helpers that take and give jansson `json_t *`.
**
** ^Every fallible function returns an mcp_status: MCP_OK (0) on success or one of
** the MCP_ERR_* codes. ^Most take a trailing `char **out_error`: when it is not
** NULL and the call fails, *out_error receives a newly allocated message that the
** caller frees with mcp_string_free(); on success *out_error is set to NULL.
** ^On failure every other out-parameter is set to NULL (or 0).
**
** Ownership vocabulary:
**   copied       the library copies the argument before the function returns.
**   caller frees the returned string must be released with mcp_string_free().
**   borrowed     valid only for the duration of the callback (or as stated).
**   owned by libmcp until free_fn runs
**                user_data given with a callback stays the host's; libmcp calls
**                free_fn(user_data) exactly once when it no longer needs it.
**
** Threads: every function may be called from any thread unless its block says
** otherwise. Host callbacks run on engine worker threads, never on an I/O
** thread, and may block; a slow callback delays no other request. (The one
** exception is a tool the host registers with MCP_TOOL_INLINE, promising that
** its callback never blocks: see mcp_server_add_tool_ex.) ^The pool
** keeps about one thread per core busy and adds threads (up to the
** "worker_threads" option) when queued work waits, so blocking callbacks do
** not starve quick ones. A callback that blocks until its own cancel callback
** or request answer arrives needs a free worker to deliver it: keep
** "worker_threads" above the number of callbacks that may block at once, or
** poll mcp_call_is_cancelled, which is set without any worker.
**
** SIGPIPE: libmcp never raises SIGPIPE in the host; writes to closed pipes and
** sockets are reported as errors instead (MSG_NOSIGNAL / a blocked signal).
*/
#ifndef MCP_H
#define MCP_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) || defined(__clang__)
#define MCP_API __attribute__((visibility("default")))
#define MCP_NODISCARD __attribute__((warn_unused_result))
#else
#define MCP_API
#define MCP_NODISCARD
#endif

/*
** CAPI: version numbers
**
** MCP_ABI_VERSION_MAJOR changes only when the ABI breaks (then the SONAME
** libmcp.so.N changes too); MCP_ABI_VERSION_MINOR grows when functions are
** added (or, as in 1.3, configuration keys). A host compiled against this header checks at start-up that
** (mcp_abi_version() >> 16) == MCP_ABI_VERSION_MAJOR. ^Functions are versioned
** symbols (MCP_1.0, MCP_1.1, MCP_1.2, MCP_1.3): a program that calls a 1.1 function directly
** does not load against a 1.0 library; a host that wants to fall back on an
** older library looks such functions up at run time (dlsym) after checking
** mcp_abi_version() & 0xffff.
*/
#define MCP_ABI_VERSION_MAJOR 1
#define MCP_ABI_VERSION_MINOR 8
#define MCP_VERSION_STRING "0.8.0"

/* The newest MCP protocol revision initialize negotiates (the 2025 era). */
#define MCP_PROTOCOL_VERSION_LATEST "2025-11-25"
/*
** The stateless revision, served beside the 2025 era (Since: 1.3). A server
** serves both on every transport: a request whose params._meta carries
** "io.modelcontextprotocol/protocolVersion" is served at that revision with
** the client capabilities, client info and log level of its own _meta (no
** session); initialize opens a 2025-era session as before. Over stdio the
** first request decides the connection's era (initialize: 2025; server/discover
** or a request with the modern _meta: 2026-07-28). Over Streamable HTTP both
** share the endpoint; a 2026-07-28 POST needs no Mcp-Session-Id (one is
** ignored), and GET or DELETE naming MCP-Protocol-Version 2026-07-28 get 405.
** WebSocket and the legacy HTTP+SSE transport stay 2025-era.
** Change notifications reach 2026-07-28 clients through subscriptions/listen
** (its own SSE response over HTTP, tagged messages on stdio): the host's list
** changes (adding or removing a tool, resource, template or prompt) and
** mcp_server_notify_resource_updated reach every listen stream whose filter
** asked for them; nothing else is needed of the host. Open listen streams
** end gracefully (their listen result) when the server stops serving (stdio
** input closes or the serve stops, mcp_server_stop_http, mcp_server_free);
** quiet ones get the HTTP keep-alive comments ("sse_keepalive_ms"), and a
** listener that stops reading is cut like any stream ("max_queued_bytes",
** "max_queued_messages", the stall cut of "connection_idle_timeout_ms").
*/
#define MCP_PROTOCOL_VERSION_MODERN "2026-07-28"

/*
** Extensions (Since: 1.3). A host declares the extensions it serves in the
** "extensions" option of mcp_server_new(); they are advertised in
** capabilities.extensions at both eras. Two official ones need more than the
** declaration:
**
** ^The tasks extension, "io.modelcontextprotocol/tasks" (SEP-2663), at
** 2026-07-28. Declared, it turns every call of a tool whose definition has
** "execution": {"taskSupport": "optional" | "required"} into a task, for a
** request whose client capabilities name the extension: the client gets a
** CreateTaskResult ({"resultType":"task","taskId",...}) at once, the host's
** handler runs as usual and its answer becomes the task's result, which the
** client polls with tasks/get (the "pollIntervalMs" hint: the
** "task_poll_interval_ms" option). The server decides, not the client: there
** is no per-request flag. A "required" tool called without the extension is
** refused with MCP_JSONRPC_MISSING_CLIENT_CAPABILITY (-32021); an "optional"
** one runs as a plain call. ^A result (isError too) completes the task,
** mcp_call_error() fails it. ^mcp_call_request() from a task's call does not
** send anything: the request waits in the task's "inputRequests" until the
** client answers it with tasks/update, and fn runs then (with
** MCP_ERR_CANCELLED if the task is cancelled or expires first; timeout_ms
** does not apply). ^tasks/cancel cancels the call (mcp_call_is_cancelled(),
** the cancel callback). ^A task lives "task_ttl_ms" (default one hour) from
** its creation, then is forgotten and its call cancelled. ^Task ids are 128
** random bits and belong to no session: any request, on any connection or
** node of the same process, can name one. The 2025-11-25 tasks (a "task"
** member on tools/call, tasks/result, tasks/list, per session) are unchanged.
**
** ^MCP Apps, "io.modelcontextprotocol/ui": a tool points at an HTML resource
** through "_meta": {"ui": {"resourceUri": "ui://..."}}, and the resource is
** served with the MIME type "text/html;profile=mcp-app". Nothing in the
** engine is specific to it (both eras carry tool and resource _meta from
** 2025-06-18 on); with mcp_jansson.h:
**
**   json_t *opts = json_pack("{s:{s:{s:[s]}}}", "extensions",
**       "io.modelcontextprotocol/ui", "mimeTypes", "text/html;profile=mcp-app");
**   mcp_j_server_new("clock", "1.0", opts, &server, &err);
**   mcp_j_server_add_resource(server, json_pack("{s:s, s:s, s:s}",
**       "uri", "ui://clock/app.html", "name", "clock-app",
**       "mimeType", "text/html;profile=mcp-app"), read_app_html, NULL, NULL, &err);
**   mcp_j_server_add_tool(server, json_pack("{s:s, s:{s:{s:s}}}", "name", "get_time",
**       "_meta", "ui", "resourceUri", "ui://clock/app.html"), get_time, NULL, NULL, &err);
**
** (definitions are copied: json_decref them after), where read_app_html
** answers {"contents":[{"uri":...,"mimeType":
** "text/html;profile=mcp-app","text":"<!doctype html>..."}]}.
** examples/everything serves such an app (test_app_clock).
*/

/*
** mcp_abi_version: the ABI version of the LOADED library.
** Returns (MCP_ABI_VERSION_MAJOR << 16) | MCP_ABI_VERSION_MINOR as compiled into
** the library, which may differ from the header the host was built with.
** Threads: any. Errors: none. Since: 1.0
*/
MCP_API uint32_t mcp_abi_version(void);

/*
** mcp_version: the library's release: MCP_VERSION_STRING of the header it was built with.
** Ownership: static string, never freed. Threads: any. Since: 1.0
*/
MCP_API const char *mcp_version(void);

/*
** CAPI: status codes
**
** Append-only: numbers never change meaning and retired ones stay reserved.
** JSON-RPC error codes are wire data and never appear as mcp_status values.
*/
typedef int32_t mcp_status;
#define MCP_OK                 0  /* success */
#define MCP_ERR_INVALID_ARG    1  /* NULL where not allowed, bad value, bad shape */
#define MCP_ERR_INVALID_JSON   2  /* a JSON argument does not parse */
#define MCP_ERR_EXISTS         3  /* a tool/resource/prompt with that key exists */
#define MCP_ERR_NOT_FOUND      4  /* no such tool/resource/prompt */
#define MCP_ERR_STATE          5  /* not allowed now: already answered, already serving, re-entrant call */
#define MCP_ERR_IO             6  /* an operating-system I/O call failed */
#define MCP_ERR_NO_MEMORY      7  /* allocation failed */
#define MCP_ERR_LIMIT          8  /* a configured limit was hit */
#define MCP_ERR_UNSUPPORTED    9  /* not supported by the peer or by the negotiated revision */
#define MCP_ERR_TIMEOUT       10  /* a wait ran out of time */
#define MCP_ERR_CANCELLED     11  /* the request was cancelled */
#define MCP_ERR_INTERNAL      12  /* a bug in libmcp: please report it */
#define MCP_ERR_PEER          13  /* the peer answered with a JSON-RPC error (see its error JSON) */
#define MCP_ERR_CLOSED        14  /* the session or connection closed first */
#define MCP_ERR_INPUT_REQUIRED 15 /* a 2026-07-28 call needs the client's input: return
                                     from the handler (see mcp_call_request); since 1.3 */

/*
** mcp_status_string: a short static English description of a status code.
** Unknown codes give "unknown status". Ownership: static. Threads: any. Since: 1.0
*/
MCP_API const char *mcp_status_string(mcp_status status);

/*
** mcp_string_free: release a string returned by libmcp.
** Every `char *` the library hands to the caller (out_error, result JSON) is
** released with this function, never with free(). ^NULL is a no-op.
** Threads: any. Since: 1.0
*/
MCP_API void mcp_string_free(char *s);

/*
** Callback that releases host data. Called exactly once, on any engine thread
** (or inside the function that failed to register it, see each add function).
*/
typedef void (*mcp_free_fn)(void *user_data);

/*
** mcp_set_thread_hooks: be told when libmcp starts and ends its own threads.
**
** on_start runs on each thread libmcp creates (engine workers, I/O event
** loops, timer and reader threads), on that thread, before it runs any host
** callback; on_exit runs on the same thread just before it ends, and only if
** on_start ran there. Either may be NULL. For runtimes that attach per thread:
** a Python binding keeps one thread state per engine thread instead of making
** one per callback and freeing it at on_exit; a JVM host calls
** AttachCurrentThread / DetachCurrentThread. Host threads that call into
** libmcp (the caller of mcp_server_serve_stdio, say) are the host's own and
** are not reported.
** ^The hooks are process-wide and apply to threads started after the call:
** set them before creating servers and clients. ^Calling again replaces them
** for later threads; a running thread keeps the on_exit (and user_data) it
** started with, so start and exit always pair. NULL, NULL removes them.
** The hooks must not call libmcp functions that wait for engine threads.
** Ownership: user_data stays the host's; it must stay valid while any thread
**   started with it runs (after mcp_server_free / mcp_client_free of every
**   object, threads exit within a few seconds).
** Threads: any. Errors: MCP_OK.
** Since: 1.1
*/
typedef void (*mcp_thread_fn)(void *user_data);
MCP_API mcp_status mcp_set_thread_hooks(mcp_thread_fn on_start, mcp_thread_fn on_exit, void *user_data,
                                        char **out_error);

/*
** mcp_set_log_hook: receive the engine's own log records.
**
** Log levels (the numbers of Python's logging module):
*/
#define MCP_LOG_DEBUG   10
#define MCP_LOG_INFO    20
#define MCP_LOG_WARNING 30
#define MCP_LOG_ERROR   40
/*
** The engine logs what an operator should hear of: errors, warnings (a
** request refused by a limit: 413, 408, 431, 503, a connection refused at the
** connection limit), info (a listener bound, and the access log of
** mcp_server_start_http "access_log") and debug (other refused requests: 404,
** 405, 400 ...). These are not the MCP logging notifications a tool sends to
** its client (mcp_call_log).
** fn receives each record at min_level or above: level (an MCP_LOG_* value)
** and record_json, one JSON object on one line with "ts" (UTC, RFC 3339 with
** milliseconds), "level" ("debug", "info", "warning", "error"), "component"
** ("http", "http.access", "admin", "log"), "msg", then fields of its own
** ("cause", "status", ...). Standalone programs print record_json as is to
** stderr, one line each. ^NULL fn removes the hook (the default: nothing is
** logged, at the cost of one atomic load per would-be record).
** ^The hook is process-wide; calling again replaces it. ^Records are queued
** (up to 4096) and delivered in order on one engine thread of their own,
** never on the thread that logged, so a slow hook delays no request; past the
** queue's bound records are dropped, and the next record delivered is a
** warning saying how many. ^When mcp_set_log_hook returns, the previous hook
** is not running and will not be called again (except when called from inside
** the hook: it cannot wait for itself).
** Ownership: record_json is lent for the call only; user_data stays the
**   host's and must stay valid until the hook is replaced or removed.
** Threads: any; the hook runs on the log thread (an engine thread: the
**   thread hooks apply) and must not call functions that wait for engine threads.
** Errors: MCP_OK | MCP_ERR_INVALID_ARG (min_level above MCP_LOG_ERROR).
** Since: 1.3
*/
typedef void (*mcp_log_fn)(void *user_data, int32_t level, const char *record_json);
MCP_API mcp_status mcp_set_log_hook(mcp_log_fn fn, void *user_data, int32_t min_level, char **out_error);

/*
** mcp_set_trace_hook: receive a span for each MCP request, as OpenTelemetry
** would record it.
**
** ^With a hook set, every server and client records one span per request:
** kind "server" for a request received (a client's call on a server; a
** server's sampling, elicitation or roots request on a client), from its
** arrival until it is answered; kind "client" for a request sent (by
** mcp_client_request and its relatives, or by mcp_call_request during a
** call), until its answer arrives. Names and attributes follow the
** OpenTelemetry semantic conventions for MCP: name "{method} {tool or
** prompt}" ("tools/call echo", "resources/read"), attributes
** "mcp.method.name", "jsonrpc.request.id", "gen_ai.tool.name" and
** "gen_ai.operation.name" ("execute_tool") for tools/call,
** "gen_ai.prompt.name", "mcp.resource.uri", "mcp.protocol.version" (the
** request's revision, so its era), "mcp.session.id" (2025-era sessions) and,
** when the request failed, "error.type" (the JSON-RPC code as text,
** "tool_error" for a tools/call result with isError, "cancelled", "timeout",
** "closed") with "rpc.response.status_code" (the JSON-RPC code).
** ^Since 1.6 (library 0.6.0) spans also say how the request travelled:
** "network.transport" ("pipe" over stdio, "tcp" over HTTP and WebSocket),
** "network.protocol.name" ("http", "websocket") and, for HTTP,
** "network.protocol.version"; a server span names its client
** ("client.address", "client.port") and a client span its server
** ("server.address", "server.port", as the URL names them), where known
** (a request through mcp_http_exchange_new has the address the host gave
** and no port).
** ^Parenting (W3C Trace Context, MCP SEP-414): a server span continues the
** trace of the request's params._meta "traceparent" (and "tracestate"), else
** of the HTTP POST's traceparent header, else starts a trace. A client span
** continues the "traceparent" the host put in the request's params._meta,
** else the span of the call being handled (requests made with
** mcp_call_request), else starts a trace; the engine then sets
** params._meta.traceparent (and tracestate) of the request sent to name the
** client span, so the other end's server span is its child. A traceparent
** that is not well formed is ignored. ^With no hook, requests go out as the
** host gave them, and the cost is one atomic load per request.
** fn receives each finished span as span_json, one JSON object on one line:
**   {"traceId": 32 hex digits, "spanId": 16 hex digits, "parentSpanId": 16
**    hex digits (absent for a new trace), "parentIsRemote": true when the
**    parent came from the other end, "traceFlags": 1 (sampled) or the
**    parent's, "traceState": text (absent when empty), "name", "kind":
**    "server" | "client", "startTimeUnixNano", "endTimeUnixNano": integers
**    (CLOCK_REALTIME), "attributes": {name: string or integer},
**    "status": {"code": "unset" | "error", "message"?}}
** ^The engine does not sample: a span whose traceFlags say "not sampled" is
** still delivered, for the host's sampler to decide.
** ^The hook is process-wide; calling again replaces it. ^Spans are queued (up
** to queue_limit; 0 means 4096) and delivered in order on one engine thread
** of their own, never on the thread that ended the span, so a slow hook
** delays no request; past the bound spans are dropped, and the engine log
** (mcp_set_log_hook) says how many. ^When mcp_set_trace_hook returns, the
** previous hook is not running and will not be called again (except when
** called from inside the hook). NULL fn removes the hook and drops the spans
** still queued.
** Ownership: span_json is lent for the call only; user_data stays the host's
**   and must stay valid until the hook is replaced or removed.
** Threads: any; the hook runs on the trace delivery thread (an engine thread:
**   the thread hooks apply) and must not call functions that wait for engine
**   threads.
** Errors: MCP_OK | MCP_ERR_INVALID_ARG (queue_limit negative).
** Since: 1.5
*/
typedef void (*mcp_trace_fn)(void *user_data, const char *span_json);
MCP_API mcp_status mcp_set_trace_hook(mcp_trace_fn fn, void *user_data, int32_t queue_limit, char **out_error);

/*
** CAPI: JSON-RPC error codes used by MCP (wire data, for mcp_call_error).
*/
#define MCP_JSONRPC_PARSE_ERROR        (-32700)
#define MCP_JSONRPC_INVALID_REQUEST    (-32600)
#define MCP_JSONRPC_METHOD_NOT_FOUND   (-32601)
#define MCP_JSONRPC_INVALID_PARAMS     (-32602)
#define MCP_JSONRPC_INTERNAL_ERROR     (-32603)
#define MCP_JSONRPC_RESOURCE_NOT_FOUND (-32002)
#define MCP_JSONRPC_URL_ELICITATION_REQUIRED (-32042)
/* 2026-07-28 (Since: 1.3): HTTP headers disagree with the body (HTTP 400); a
** client capability the request did not declare (400); an unserved protocol
** version, data {"supported":[...], "requested":...} (400). At 2026-07-28 a
** resource that is not found is MCP_JSONRPC_INVALID_PARAMS: the engine turns
** MCP_JSONRPC_RESOURCE_NOT_FOUND from a resource callback into it. */
#define MCP_JSONRPC_HEADER_MISMATCH    (-32020)
#define MCP_JSONRPC_MISSING_CLIENT_CAPABILITY (-32021)
#define MCP_JSONRPC_UNSUPPORTED_PROTOCOL_VERSION (-32022)

/* ============================================================================
** OBJECT: mcp_server_t, an MCP server
**
** Lifecycle:
**   1. mcp_server_new()                     create, with name, version, options
**   2. mcp_server_add_tool() and friends    register features (also later, while serving)
**   3. mcp_server_serve_stdio() / _fds()    serve; or mcp_server_session_new() for a
**                                           transport of the host's own
**   4. mcp_server_stop()                    (from another thread) make serve return
**   5. mcp_server_free()                    destroy
**
** One server may serve any number of sessions (connections) at once; features
** are shared by all of them.
** ==========================================================================*/
typedef struct mcp_server mcp_server_t;

/*
** OBJECT: mcp_call_t, one request from a client that a host callback answers
**
** A callback receives a call handle and must answer it exactly once, with
** mcp_call_return() or mcp_call_error(), from any thread, now or later. ^The
** answer releases the handle: the host must not use it afterwards. ^A call
** whose request was cancelled, or whose session closed, must still be answered
** (the answer is then dropped); until then the handle stays valid.
** ^Handles are checked: using one after its answer gives MCP_ERR_STATE, not a
** crash, for as long as the process lives.
*/
typedef struct mcp_call mcp_call_t;

/*
** mcp_server_new: create a server.
** CONSTRUCTOR: mcp_server_t
**
** name, version: the serverInfo sent to clients (copied; neither may be NULL
** or empty). options_json: NULL or a JSON object with any of:
**   "title"           string, display name (serverInfo.title)
**   "description"     string (serverInfo.description)
**   "website_url"     string (serverInfo.websiteUrl)
**   "icons"           array of Icon objects (serverInfo.icons)
**   "instructions"    string sent in the initialize result
**   "page_size"       integer 1..10000, items per list page (default 100)
**   "worker_threads"  integer 1..1024, the most host callbacks that run at once
**                     (default 64); idle worker threads exit after a while
**   "max_depth"       integer 16..10000, deepest JSON nesting accepted (default 512)
**   "extensions"      object: extension identifier ("io.modelcontextprotocol/ui",
**                     "com.example/x": a prefix is required) -> settings object;
**                     advertised as capabilities.extensions in both eras
**                     (initialize and server/discover). Since: 1.3
**   "cache_ttl_ms"    integer >= 0, the ttlMs of cacheable 2026-07-28 results
**                     (server/discover, tools/list, prompts/list, resources/list,
**                     resources/templates/list, resources/read) when the
**                     feature sets none (default 0: do not cache). Since: 1.3
**   "cache_scope"     "public" or "private", their cacheScope (default
**                     "private"). Since: 1.3
**   "metrics"         bool: keep the server's metrics (mcp_server_metrics, the
**                     admin listener) [true]. Since: 1.3
**   "declare_capabilities"  array of "tools", "resources", "prompts",
**                     "logging". ^The capabilities a client sees (initialize,
**                     server/discover) are those of what is registered at that
**                     moment: "tools" with a tool, "resources" (subscribe and
**                     listChanged) with a resource or template, "prompts" with
**                     a prompt, "completions" with a completion callback,
**                     "tasks" (2025-11-25) with a tool whose execution allows
**                     tasks. ^A kind named here is declared even with nothing
**                     registered yet (a host that registers after clients
**                     connect); "logging" is declared only when named here:
**                     name it when callbacks log (mcp_call_log,
**                     mcp_server_log). ^Log messages are sent either way, and
**                     logging/setLevel is answered either way. Since: 1.4
**   "max_calls_in_flight"  integer 1..1000000 (default 4096): calls into host
**                     callbacks (tools/call, resources/read, prompts/get,
**                     completion/complete) received and not yet answered,
**                     across every session and transport. ^Beyond it a call
**                     is refused at once: over HTTP with 503 and Retry-After
**                     before the body is dispatched, otherwise with
**                     MCP_JSONRPC_INTERNAL_ERROR and error.data
**                     {"reason":"overloaded","retryAfterMs":N}. ^Pings and
**                     the requests the engine answers itself (lists,
**                     initialize, tasks/get, ...) are served throughout, so
**                     memory stays bounded however fast calls arrive.
**                     Since: 1.4
**   "call_retry_after_ms"  integer 1..3600000, the retry hint of that
**                     refusal (default 1000). Since: 1.4
**   "tool_timeouts_ms"  object: tool name (or "*" for every other tool) ->
**                     milliseconds 1..86400000. ^A tool call not answered in
**                     time is answered with MCP_JSONRPC_INTERNAL_ERROR ("Tool
**                     NAME timed out after N ms", error.data {"reason":
**                     "timeout","timeoutMs":N}); the call reads as cancelled
**                     (mcp_call_is_cancelled) and its cancel callbacks run;
**                     the callback's own answer then gets MCP_ERR_STATE.
**                     Default: no timeout. Since: 1.4
**   "circuit_breaker"  object {"failures": 1..10000 (default 5), "open_ms":
**                     1..86400000 (default 30000)}: after that many
**                     consecutive failures of a tool (mcp_call_error answers
**                     and timeouts; isError results are answers, not
**                     failures) its calls are refused for open_ms
**                     (error.data {"reason":"circuit_open","retryAfterMs":N}),
**                     then one call is let through: its success closes the
**                     circuit, its failure opens it again. Default: off.
**                     Since: 1.4
**   "task_ttl_ms"     integer 1..86400000, the lifetime of a task whose client
**                     names none (2025-11-25) and of every task of the tasks
**                     extension (2026-07-28); default 3600000. Since: 1.3
**   "task_poll_interval_ms"  integer 1..3600000, the poll interval suggested
**                     to task clients (default 500). Since: 1.3
**   "request_state_keys"  array of strings, the HMAC-SHA256 keys that protect
**                     the requestState of 2026-07-28 multi round-trip requests
**                     (see mcp_call_request), newest first: the first seals,
**                     every one verifies, so a key is rotated by putting the new
**                     one first and dropping the old one once the longest
**                     "request_state_ttl_ms" has passed. Give every node of a fleet
**                     the same list, so a retry may land on any of them. Each key
**                     is at least 16 bytes of UTF-8 (e.g. 32 random bytes in
**                     base64). Default: one random key per server object, which
**                     only that object accepts. Since: 1.3
**   "state_key"       string, hex text of at least 32 random bytes (64 hex
**                     digits): the one secret every node of a fleet shares; the
**                     requestState HMAC key is derived from it (HKDF-SHA256, label
**                     "requestState v1"), so give every node the same value and a
**                     retry may land on any of them, before or after a restart.
**                     Excludes "request_state_keys". Session ids need no shared
**                     secret (random, checked against the "store"). Since: 1.5
**   "request_state_ttl_ms"  integer 1000..86400000, how long a requestState is
**                     accepted (default 600000, ten minutes). Since: 1.3
**   "request_state_max_bytes"  integer 1024..16777216, the largest requestState
**                     accepted or produced (default 262144). Since: 1.3
**   "schema_validation"  bool: check tool arguments against each tool's
**                     inputSchema, its results' structuredContent against its
**                     outputSchema, and the content of accepted elicitation
**                     answers against their requestedSchema (JSON Schema
**                     2020-12; see mcp_server_add_tool) [true]. false turns
**                     every check off, as MCP_TOOL_NO_VALIDATION does for one
**                     tool. Since: 1.4
**   "schema_max_depth"  integer 1..10000, the deepest nesting of objects and
**                     arrays in a schema (default 64). Since: 1.4
**   "schema_max_subschemas"  integer 1..10000000, the most objects in one
**                     schema, every subschema and $defs entry counted
**                     (default 10000). Since: 1.4
**   "schema_max_evaluation_depth"  integer 1..10000, the deepest nesting of
**                     subschemas (each $ref followed counting one) while one
**                     value is checked (default 128). Since: 1.4
**   "schema_max_steps"  integer 1..100000000, the most subschema evaluations
**                     while one value is checked (default 200000); a value
**                     that needs more fails its check. Since: 1.4
**                     A schema over the first two limits is refused where it
**                     is given (tool registration: MCP_ERR_INVALID_ARG); these
**                     bounds keep a hostile schema from costing unbounded CPU
**                     (2026-07-28 "Composition-Keyword Resource Use").
** Unknown keys are an error, so typos do not pass silently.
**
** ^Each feature definition (tool, resource, template, prompt) may carry its
** own "ttlMs" (integer >= 0) and "cacheScope" ("public"|"private") (Since:
** 1.3); they are taken out of the definition sent to clients. A read uses its
** resource's (or template's) hint; a list page the shortest ttlMs of the
** items on it and "private" if any of them is private.
** ^A definition may also carry "requiredScopes", an array of OAuth scope
** strings (Since: 1.4): over HTTP with "auth" (mcp_server_start_http), a
** request calling that tool, reading that resource (or a URI of that template)
** or getting that prompt with a token lacking any of them gets HTTP 403 with
** WWW-Authenticate: Bearer error="insufficient_scope", scope="<all of them>";
** over WebSocket a JSON-RPC error -32600 whose data holds {"error":
** "insufficient_scope", "scope"}. It is taken out of the published
** definition; without "auth" (stdio, HTTP without tokens) it has no effect.
** *out_server receives the new server; the caller frees it with mcp_server_free().
**
** Threads: any.
** Errors: MCP_OK | MCP_ERR_INVALID_ARG (NULL or empty name/version, NULL
**         out_server, bad option) | MCP_ERR_INVALID_JSON (options do not parse).
** Since: 1.0
*/
MCP_API MCP_NODISCARD mcp_status mcp_server_new(const char *name, const char *version,
                                                const char *options_json,
                                                mcp_server_t **out_server, char **out_error);

/*
** mcp_server_free: destroy a server.
** DESTRUCTOR: mcp_server_t
**
** Stops serving (as mcp_server_stop), closes every session and releases the
** server. ^Calls still in flight keep their handles valid; the server's memory
** and the free_fn of each registration are released when the last of them is
** answered, so garbage-collected hosts may free in any order. ^NULL is a no-op.
** Calling it twice on the same pointer is undefined (as free()).
** Threads: any, including inside a callback (then nothing waits).
** Since: 1.0
*/
MCP_API void mcp_server_free(mcp_server_t *server);

/*
** Host callbacks for server features. Each gets the user_data given at
** registration, a call handle to answer, and its input as JSON text (borrowed:
** valid only until the callback returns; copy what you keep).
** They run on engine worker threads and may block.
*/

/* tools/call: arguments_json is the call's arguments object ("{}" when absent).
** Answer with a CallToolResult: {"content":[...], "structuredContent"?:{...},
** "isError"?:bool}. A tool that fails answers a result with "isError": true
** so the model sees the message; mcp_call_error is for protocol failures. */
typedef void (*mcp_tool_fn)(void *user_data, mcp_call_t *call, const char *arguments_json);

/* resources/read: uri is the requested URI; variables_json is an object of the
** template variables it matched ("{}" for a plain resource). Answer with a
** ReadResourceResult: {"contents":[{"uri":..., "mimeType"?:..., "text"|"blob":...}]},
** or mcp_call_error(call, MCP_JSONRPC_RESOURCE_NOT_FOUND, ...). */
typedef void (*mcp_resource_fn)(void *user_data, mcp_call_t *call, const char *uri,
                                const char *variables_json);

/* prompts/get: arguments_json is an object of string arguments ("{}" when
** absent); required arguments have been checked. Answer with a GetPromptResult:
** {"description"?:..., "messages":[{"role":"user"|"assistant","content":{...}}]}. */
typedef void (*mcp_prompt_fn)(void *user_data, mcp_call_t *call, const char *arguments_json);

/*
** mcp_server_add_tool: offer one tool to this server's clients.
** METHOD: mcp_server_t
**
** tool_json is a Tool object as the protocol defines it: "name" (required),
** "title", "description", "inputSchema" (an object whose "type" is "object";
** default {"type":"object"}), "outputSchema" (same rule), "annotations",
** "icons", "execution", "_meta". ^The definition is kept verbatim and sent
** as given (fields a client's older revision does not know are removed).
** fn is called for each tools/call of this name.
**
** Schema validation (Since: 1.4; unless the server's "schema_validation"
** option is false or the tool is added with MCP_TOOL_NO_VALIDATION):
** ^both schemas are read once, here, as JSON Schema 2020-12 (the dialect MCP
** assumes when "$schema" is absent; another declared "$schema" is refused).
** ^"$ref" resolves inside the schema only ("#/$defs/x", "$anchor" names,
** "$id"-relative references to the same document); ^a reference to any other
** document is refused here and never fetched. ^A schema over the server's
** "schema_max_*" limits is refused here too. ^Each tools/call's arguments are
** checked against inputSchema before fn runs: ^arguments that do not match
** are answered with a tool error result ("isError": true, the reason as
** text, e.g. "Invalid arguments for tool add: at /a: expected integer, got
** string") and fn is not called. ^A successful result's structuredContent is
** checked against outputSchema: ^one that does not match is not sent; the
** client gets -32603 (a server error: the spec says the server MUST conform)
** and mcp_call_return returns MCP_ERR_INVALID_ARG with the reason. Results
** with "isError": true, and results without structuredContent, are not checked.
** Ownership: tool_json copied. user_data owned by libmcp until free_fn runs;
**   ^if this function fails, free_fn is NOT called (the data stays the host's).
** Threads: any; ^may be called while serving: clients see the change at once.
** Errors: MCP_OK | MCP_ERR_INVALID_ARG (NULL server/tool_json/fn, no name,
**         schema not an object; since 1.4 also a schema that cannot be
**         checked: a "$ref" outside it, over the limits, another dialect; the
**         message says which) | MCP_ERR_INVALID_JSON | MCP_ERR_EXISTS (same name).
** Since: 1.0
*/
MCP_API mcp_status mcp_server_add_tool(mcp_server_t *server, const char *tool_json,
                                       mcp_tool_fn fn, void *user_data, mcp_free_fn free_fn,
                                       char **out_error);

/*
** mcp_server_add_tool_ex: offer one tool, with flags.
** METHOD: mcp_server_t
**
** As mcp_server_add_tool (which is this function with flags 0), plus flags, a
** bitwise OR of:
**   MCP_TOOL_INLINE  the callback never blocks and returns quickly (it answers
**                    at once, or keeps the call and answers later from another
**                    thread). ^It then runs on the thread that read the request
**                    (over HTTP an I/O thread, over stdio the reader thread,
**                    for mcp_session_receive the caller's thread) instead of
**                    being handed to a worker: no thread hop per call, which
**                    over HTTP roughly halves the engine's CPU cost of a quick
**                    call. ^While it runs, other requests on the same I/O
**                    thread wait, so a callback that sleeps, does I/O or waits
**                    for a lock held elsewhere must not use this flag. ^Engine
**                    functions that would wait for an engine thread (the
**                    blocking client calls, mcp_server_stop_http) return
**                    MCP_ERR_STATE from it, as from a worker. ^mcp_call_request
**                    is allowed (it does not block), but the callback must not
**                    wait for its answer: that answer is read by the very
**                    thread the callback holds. Task-augmented calls
**                    (tools/call with "task") always run on a worker.
**   MCP_TOOL_ARGS_ON_DEMAND  (since 1.2) the callback receives arguments_json
**                    NULL and reads its arguments with mcp_call_arg_string:
**                    the arguments are not encoded as JSON text for each call
**                    (for megabytes of text, one encoding and one buffer of
**                    that size saved per call).
**   MCP_TOOL_NO_VALIDATION  (since 1.4) the engine does not check this tool's
**                    arguments or results against its schemas (nor read the
**                    schemas beyond their root "type"): fn receives whatever
**                    arguments the client sent, for a tool that checks them
**                    itself or whose schema this library cannot read.
** Errors: as mcp_server_add_tool, plus MCP_ERR_INVALID_ARG for unknown flags
**         (free_fn is then not called; a library older than 1.2 refuses
**         MCP_TOOL_ARGS_ON_DEMAND this way).
** Since: 1.1
*/
#define MCP_TOOL_INLINE 0x1u
#define MCP_TOOL_ARGS_ON_DEMAND 0x2u
#define MCP_TOOL_NO_VALIDATION 0x4u

MCP_API mcp_status mcp_server_add_tool_ex(mcp_server_t *server, const char *tool_json,
                                          mcp_tool_fn fn, void *user_data, mcp_free_fn free_fn,
                                          unsigned int flags, char **out_error);

/*
** mcp_server_remove_tool: withdraw a tool by name.
** METHOD: mcp_server_t
** Calls of it already running finish normally; its free_fn runs after the last.
** Errors: MCP_OK | MCP_ERR_INVALID_ARG | MCP_ERR_NOT_FOUND. Threads: any. Since: 1.0
*/
MCP_API mcp_status mcp_server_remove_tool(mcp_server_t *server, const char *name,
                                          char **out_error);

/*
** mcp_server_add_resource: offer one resource with a fixed URI.
** METHOD: mcp_server_t
**
** resource_json is a Resource object: "uri" and "name" (required), "title",
** "description", "mimeType", "size", "annotations", "icons", "_meta".
** fn answers resources/read of exactly that URI.
** Ownership, threads: as mcp_server_add_tool.
** Errors: MCP_OK | MCP_ERR_INVALID_ARG | MCP_ERR_INVALID_JSON | MCP_ERR_EXISTS (same uri).
** Since: 1.0
*/
MCP_API mcp_status mcp_server_add_resource(mcp_server_t *server, const char *resource_json,
                                           mcp_resource_fn fn, void *user_data,
                                           mcp_free_fn free_fn, char **out_error);

/* mcp_server_remove_resource: withdraw a resource by URI. As mcp_server_remove_tool. Since: 1.0 */
MCP_API mcp_status mcp_server_remove_resource(mcp_server_t *server, const char *uri,
                                              char **out_error);

/*
** mcp_server_add_resource_template: offer a family of resources.
** METHOD: mcp_server_t
**
** template_json is a ResourceTemplate object: "uriTemplate" and "name"
** (required), "title", "description", "mimeType", "annotations", "icons".
** ^The template is RFC 6570 level 1: literal text and `{var}` expressions; a
** variable matches one or more characters other than '/', so
** "test://template/{id}/data" matches "test://template/42/data" with id "42".
** ^A resources/read URI is matched against fixed resources first, then against
** templates in registration order; fn gets the variables as a JSON object.
** Ownership, threads: as mcp_server_add_tool.
** Errors: MCP_OK | MCP_ERR_INVALID_ARG (bad template syntax, ...) |
**         MCP_ERR_INVALID_JSON | MCP_ERR_EXISTS (same uriTemplate).
** Since: 1.0
*/
MCP_API mcp_status mcp_server_add_resource_template(mcp_server_t *server,
                                                    const char *template_json,
                                                    mcp_resource_fn fn, void *user_data,
                                                    mcp_free_fn free_fn, char **out_error);

/* mcp_server_remove_resource_template: withdraw a template by its uriTemplate text.
** As mcp_server_remove_tool. Since: 1.0 */
MCP_API mcp_status mcp_server_remove_resource_template(mcp_server_t *server,
                                                       const char *uri_template,
                                                       char **out_error);

/*
** mcp_server_add_prompt: offer one prompt.
** METHOD: mcp_server_t
**
** prompt_json is a Prompt object: "name" (required), "title", "description",
** "arguments" ([{"name", "title"?, "description"?, "required"?}]), "icons".
** ^prompts/get with a required argument missing is answered -32602 without
** calling fn.
** Ownership, threads: as mcp_server_add_tool.
** Errors: MCP_OK | MCP_ERR_INVALID_ARG | MCP_ERR_INVALID_JSON | MCP_ERR_EXISTS.
** Since: 1.0
*/
MCP_API mcp_status mcp_server_add_prompt(mcp_server_t *server, const char *prompt_json,
                                         mcp_prompt_fn fn, void *user_data,
                                         mcp_free_fn free_fn, char **out_error);

/* mcp_server_remove_prompt: withdraw a prompt by name. As mcp_server_remove_tool. Since: 1.0 */
MCP_API mcp_status mcp_server_remove_prompt(mcp_server_t *server, const char *name,
                                            char **out_error);

/* ----------------------------------------------------------------------------
** Answering calls (METHODS: mcp_call_t)
** --------------------------------------------------------------------------*/

/*
** mcp_call_return: answer a call with its result.
** METHOD: mcp_call_t
**
** result_json is the result object for the call's method (see the callback
** types above). ^The engine checks its shape; for a client on an older revision
** it removes what that revision does not know (e.g. structuredContent before
** 2025-06-18). ^A tools/call result without "content" but with
** "structuredContent" gets a text block holding that JSON.
** ^Whether it succeeds or fails, this consumes the call: when result_json is
** unusable the client receives a -32603 error and the function reports why.
** Ownership: result_json copied. Threads: any.
** Errors: MCP_OK | MCP_ERR_INVALID_ARG (NULL, wrong shape) | MCP_ERR_INVALID_JSON |
**         MCP_ERR_STATE (call already answered or not a live handle).
** Since: 1.0
*/
MCP_API mcp_status mcp_call_return(mcp_call_t *call, const char *result_json, char **out_error);

/*
** mcp_call_error: answer a call with a JSON-RPC error.
** METHOD: mcp_call_t
**
** code is a JSON-RPC error code (MCP_JSONRPC_*, or any integer); message a
** short sentence (NULL or empty: a default for the code); data_json NULL or
** any JSON value placed in error.data. Consumes the call, as mcp_call_return.
** Ownership: copied. Threads: any.
** Errors: MCP_OK | MCP_ERR_INVALID_JSON (data_json) | MCP_ERR_STATE.
** Since: 1.0
*/
MCP_API mcp_status mcp_call_error(mcp_call_t *call, int32_t code, const char *message,
                                  const char *data_json, char **out_error);

/*
** mcp_call_arg_string: read one string argument of a call, without parsing arguments_json.
** METHOD: mcp_call_t
**
** For a tools/call or prompts/get call: sets *out_text to the UTF-8 bytes of
** the string member `name` of its arguments and *out_len to their count. ^The
** bytes are followed by a NUL, but a JSON string may hold U+0000 itself: use
** *out_len. For megabytes of text (file contents, base64 data) this skips the
** host's JSON parser; the arguments_json the callback received stay valid too.
** On failure *out_text is NULL and *out_len 0.
** Ownership: borrowed, valid until the call is answered (mcp_call_return*,
**            mcp_call_error); an answer may pass the text back, e.g. to
**            mcp_call_return_text.
** Threads:   any.
** Errors:    MCP_OK | MCP_ERR_INVALID_ARG (NULL name/out_text/out_len, the
**            argument is not a string) | MCP_ERR_NOT_FOUND (no such argument) |
**            MCP_ERR_UNSUPPORTED (not a tool or prompt call) | MCP_ERR_STATE
**            (not a live handle).
** Since:     1.2
*/
MCP_API mcp_status mcp_call_arg_string(mcp_call_t *call, const char *name, const char **out_text,
                                       size_t *out_len, char **out_error);

/*
** mcp_call_return_text: answer a call with one text, given as bytes.
** METHOD: mcp_call_t
**
** text: len bytes of UTF-8 (NULL allowed when len is 0; may hold U+0000).
** ^A tools/call gets {"content":[{"type":"text","text":TEXT}]}; with
** structured_key not NULL, also "structuredContent": {structured_key: TEXT}
** (a tool whose output schema is one string member); mime_type is ignored.
** ^A resources/read gets {"contents":[{"uri": the requested URI, "mimeType":
** mime_type (when not NULL), "text": TEXT}]}; structured_key must be NULL.
** The result is checked and shaped as with mcp_call_return, without the JSON
** text in between: for large texts, no JSON encoding on the host's side.
** ^Whether it succeeds or fails, this consumes the call (as mcp_call_return).
** Ownership: copied. Threads: any.
** Errors:    MCP_OK | MCP_ERR_INVALID_ARG (NULL call or text, text not UTF-8,
**            structured_key on a resource read) | MCP_ERR_UNSUPPORTED (a prompt
**            or completion call) | MCP_ERR_STATE (already answered or not a
**            live handle).
** Since:     1.2
*/
MCP_API mcp_status mcp_call_return_text(mcp_call_t *call, const char *text, size_t len, const char *mime_type,
                                        const char *structured_key, char **out_error);

/*
** mcp_call_return_structured: answer a tool call with structured content given as JSON text.
** METHOD: mcp_call_t
**
** json: len bytes of UTF-8 JSON (NULL allowed only when len is 0, which is
** then refused as invalid JSON). ^The tool call gets {"content":[{"type":"text",
** "text":JSON}],"structuredContent":VALUE}: the text block is the host's JSON
** text itself, byte for byte, and VALUE is that text parsed; with
** structured_key not NULL, "structuredContent": {structured_key: VALUE} (a tool
** whose output schema wraps a non-object value). The result is checked and
** shaped as with mcp_call_return (the output schema included). For large
** results this is one JSON encoding on the host's side instead of two (the
** text block's quoting of the JSON and the result around it), and one parse
** of the data here instead of the whole result's.
** ^Whether it succeeds or fails, this consumes the call (as mcp_call_return).
** Ownership: copied. Threads: any.
** Errors:    MCP_OK | MCP_ERR_INVALID_ARG (NULL call or json with len > 0,
**            json not UTF-8) | MCP_ERR_INVALID_JSON (json not JSON) |
**            MCP_ERR_UNSUPPORTED (not a tool call) | MCP_ERR_STATE (already
**            answered or not a live handle).
** Since:     1.2
*/
MCP_API mcp_status mcp_call_return_structured(mcp_call_t *call, const char *json, size_t len,
                                              const char *structured_key, char **out_error);

/*
** mcp_call_return_structured_parts: as mcp_call_return_structured, with the strings of the JSON given as they are.
** METHOD: mcp_call_t
**
** parts[i] holds lens[i] bytes (NULL allowed when lens[i] is 0), count of
** them, count odd. ^Parts at even indexes (0, 2, ...) are JSON text; parts at
** odd indexes are strings as their raw UTF-8 (may hold U+0000, quotes,
** newlines: anything), each of which libmcp writes as a JSON string, quoted
** and escaped, where it stands. ^Joined so, they must form one JSON value;
** the call is then answered exactly as mcp_call_return_structured answers with
** that text (the text block, structuredContent, structured_key, the checks).
** For example {"name": "a.txt", "data": <4 MB of text>} is the three parts
** `{"name": "a.txt", "data": `, the text, `}`. For data that holds megabytes
** of text (file contents, base64), the host neither escapes nor scans it: a
** binding with no fast JSON escaper of its own (ctypes, cgo) passes the text
** where it lies. ^JSON strings are escaped as most encoders do: `\"`, `\\`,
** `\b`, `\f`, `\n`, `\r`, `\t`, other control characters as `\u00xx`
** (lower-case hex); nothing else (no `\/`, non-ASCII as UTF-8).
** ^Whether it succeeds or fails, this consumes the call (as mcp_call_return).
** Ownership: copied. Threads: any.
** Errors:    MCP_OK | MCP_ERR_INVALID_ARG (NULL call, parts or lens; count
**            even or 0; a NULL part with a length; the joined text not
**            UTF-8) | MCP_ERR_INVALID_JSON (the joined text not JSON) |
**            MCP_ERR_UNSUPPORTED (not a tool call) | MCP_ERR_STATE (already
**            answered or not a live handle).
** Since:     1.8
*/
MCP_API mcp_status mcp_call_return_structured_parts(mcp_call_t *call, const char *const *parts, const size_t *lens,
                                                    size_t count, const char *structured_key, char **out_error);

/*
** mcp_call_return_blob: answer a call with binary data, base64-encoded by libmcp.
** METHOD: mcp_call_t
**
** data: len bytes (NULL allowed when len is 0); mime_type is required.
** ^A tools/call gets one "image" block (mime_type image/...) or "audio" block
** (audio/...): {"content":[{"type":"image","data":BASE64,"mimeType":...}]};
** other types are refused (return an embedded resource with mcp_call_return).
** ^A resources/read gets {"contents":[{"uri": the requested URI, "mimeType":
** mime_type, "blob": BASE64}]}.
** ^Whether it succeeds or fails, this consumes the call (as mcp_call_return).
** Ownership: copied. Threads: any.
** Errors:    MCP_OK | MCP_ERR_INVALID_ARG (NULL call, data or mime_type; a tool's
**            blob that is not image/... or audio/...) | MCP_ERR_UNSUPPORTED (a prompt
**            or completion call) | MCP_ERR_STATE (already answered or not a
**            live handle).
** Since:     1.2
*/
MCP_API mcp_status mcp_call_return_blob(mcp_call_t *call, const void *data, size_t len, const char *mime_type,
                                        char **out_error);

/*
** mcp_call_is_cancelled: whether the client cancelled this call (or its session closed).
** METHOD: mcp_call_t
** Returns 1 if cancelled, 0 if not, and 0 for a handle that is not live.
** Threads: any. Since: 1.0
*/
MCP_API int mcp_call_is_cancelled(mcp_call_t *call);

/*
** mcp_call_progress: report progress of a call to its client.
** METHOD: mcp_call_t
**
** Sends notifications/progress with the request's progressToken. progress must
** be greater than the last value sent for this call; total < 0 means unknown;
** message may be NULL. ^When the request carried no progressToken nothing is
** sent and MCP_OK is returned. ^Progress sent before the answer reaches the
** client before the answer.
** Threads: any. Errors: MCP_OK | MCP_ERR_INVALID_ARG (not increasing, not
** finite) | MCP_ERR_STATE (answered or not live).
** Since: 1.0
*/
MCP_API mcp_status mcp_call_progress(mcp_call_t *call, double progress, double total,
                                     const char *message, char **out_error);

/*
** mcp_call_log: send a log message (notifications/message) to the call's client.
** METHOD: mcp_call_t
**
** level is one of "debug", "info", "notice", "warning", "error", "critical",
** "alert", "emergency"; logger may be NULL; data_json is any JSON value (NULL
** means null). ^Messages below the level the client set with logging/setLevel
** are dropped (the default level is "info"). ^At 2026-07-28 the level is the
** request's own "io.modelcontextprotocol/logLevel"; a request without one gets
** no log messages (the call returns MCP_OK all the same). Never put secrets in logs.
** Threads: any. Errors: MCP_OK | MCP_ERR_INVALID_ARG (bad level) |
** MCP_ERR_INVALID_JSON | MCP_ERR_STATE.
** Since: 1.0
*/
MCP_API mcp_status mcp_call_log(mcp_call_t *call, const char *level, const char *logger,
                                const char *data_json, char **out_error);

/*
** Callback for mcp_call_on_cancel. Runs at most once, on an engine worker
** thread; it may run while the host is answering the call (a benign race).
*/
typedef void (*mcp_cancel_fn)(void *user_data);

/*
** mcp_call_on_cancel: be told when the client cancels this call.
** METHOD: mcp_call_t
**
** fn(user_data) runs once when notifications/cancelled arrives for the call or
** its session closes; ^at once (on a worker thread) if that already happened;
** ^never once the call is answered. user_data stays the host's: it must stay
** valid until the call is answered.
** Threads: any. Errors: MCP_OK | MCP_ERR_INVALID_ARG (NULL fn) | MCP_ERR_STATE.
** Since: 1.0
*/
MCP_API mcp_status mcp_call_on_cancel(mcp_call_t *call, mcp_cancel_fn fn, void *user_data,
                                      char **out_error);

/*
** Callback with the outcome of a request the server sent to its client.
** status: MCP_OK (result_json holds the result object), MCP_ERR_PEER (the
** client answered an error; error_json holds {"code","message","data"?}),
** MCP_ERR_TIMEOUT, MCP_ERR_CANCELLED (the call that asked was cancelled) or
** MCP_ERR_CLOSED. The JSON strings are borrowed, NULL when not applicable.
** Runs exactly once, on an engine worker thread.
*/
typedef void (*mcp_response_fn)(void *user_data, mcp_status status, const char *result_json,
                                const char *error_json);

/*
** mcp_call_request: ask the call's client something while the call runs.
** METHOD: mcp_call_t
**
** method is one of:
**   "sampling/createMessage"  needs the client's sampling capability; "tools"
**                             or "toolChoice" in params need sampling.tools
**   "elicitation/create"      form mode (default) needs elicitation (or
**                             elicitation.form); "mode":"url" needs elicitation.url.
**                             ^(Since 1.4, unless the server's "schema_validation"
**                             is false) the content of an "accept" answer is
**                             checked against "requestedSchema" before fn sees
**                             it: ^one that does not match reaches fn as an
**                             error (-32602, the reason in its message); ^a
**                             requestedSchema that cannot be checked is refused
**                             here with MCP_ERR_INVALID_ARG.
**   "roots/list"              needs the roots capability
**   "ping"
** params_json is the request's params object (NULL for none). ^The request
** travels on the call's own stream (over HTTP: the POST's SSE stream) and is
** tagged with the call's task when the call runs as a task. ^A request whose
** capability the client did not declare is refused here with
** MCP_ERR_UNSUPPORTED and nothing is sent. timeout_ms <= 0 means 60000; the
** client's progress extends it up to ten times that. fn gets the outcome.
** ^If the call is cancelled first, the request is cancelled too
** (fn gets MCP_ERR_CANCELLED).
**
** ONE HANDLER FOR BOTH ERAS (multi round-trip requests, since 1.3). ^In a call
** of the 2026-07-28 revision nothing is sent: a server cannot send requests
** to a modern client. Instead the request is looked up by its key among the
** answers the client sent back with the call (inputResponses) or carried in
** its requestState. ^If the answer is there, MCP_OK is returned and fn gets it
** on a worker thread, as in the 2025 era. ^If not, the request is recorded and
** MCP_ERR_INPUT_REQUIRED is returned (fn never runs): the handler stops and
** answers the call any way it likes (mcp_call_error is the plain way; the
** answering function returns MCP_OK). ^Whatever that answer is, the engine
** sends an InputRequiredResult instead, with every request recorded in this
** run and a requestState. The client asks its user or model, then retries the
** call with the answers; the handler runs again FROM THE TOP and this time its
** requests complete at once. So:
**   - a handler must make the same requests, in the same order, each time it
**     runs up to its last request (do side effects after the last one);
**   - a handler may make several requests before it waits for any: each gets
**     MCP_ERR_INPUT_REQUIRED, and the client is asked them all in one round;
**   - a request whose capability (sampling, elicitation, roots) the call's
**     own _meta did not declare gives MCP_ERR_UNSUPPORTED, and the engine has
**     already answered the call with MCP_JSONRPC_MISSING_CLIENT_CAPABILITY
**     (-32021; the host's own answer then gets MCP_ERR_STATE). A handler that
**     can do with less reads "io.modelcontextprotocol/clientCapabilities" from
**     mcp_call_meta first and asks only what was declared; a finer refusal
**     (form or url elicitation, sampling.tools) is MCP_ERR_UNSUPPORTED alone;
**   - "ping" gives MCP_ERR_UNSUPPORTED (it is not an input request);
**   - an answer of the wrong shape (an elicitation result without "action",
**     ...) also gives MCP_ERR_INPUT_REQUIRED, and the call is answered -32602;
**   - a requestState that was altered, expired, or issued for another
**     tool, prompt, resource or arguments is refused with -32602 before the
**     handler runs.
** ^The key is "elicit_N", "sample_N" or "roots_N", N being the request's position
** in the run (1, 2, ...); mcp_call_request_named gives it a name instead.
** ^The answers a run used travel in the requestState (HMAC-signed, see the
** "request_state_*" options of mcp_server_new), so the client sends each
** answer once. A handler written this way:
**
**     static void on_answer(void *ud, mcp_status st, const char *result, const char *err) {
**         struct wait *w = ud;  ... copy result, signal w ...
**     }
**     static void greet(mcp_call_t *call, const char *args, void *ud) {
**         struct wait w = WAIT_INIT;
**         mcp_status st = mcp_call_request_named(call, "user_name", "elicitation/create",
**             "{\"message\":\"Your name?\",\"requestedSchema\":{\"type\":\"object\","
**             "\"properties\":{\"name\":{\"type\":\"string\"}}}}", 0, on_answer, &w, NULL);
**         if (st != MCP_OK) {  // MCP_ERR_INPUT_REQUIRED: the engine answers for us
**             mcp_call_error(call, -32603, "no answer", NULL, NULL);
**             return;
**         }
**         wait_for(&w);        // 2025 era: the client answers; 2026: already there
**         mcp_call_return_text(call, w.text, strlen(w.text), NULL, NULL, NULL);
**     }
**
** ^A call that runs as a task of the tasks extension (see "Extensions"
** above) sends nothing either: its request waits in the task for the
** client's tasks/update, and fn runs when the answer comes.
** Ownership: params copied; user_data stays the host's until fn runs.
** Threads: any.
** Errors: MCP_OK | MCP_ERR_INVALID_ARG (NULL method/fn, bad params) |
**         MCP_ERR_INVALID_JSON | MCP_ERR_UNSUPPORTED | MCP_ERR_STATE (answered, cancelled) |
**         MCP_ERR_INPUT_REQUIRED (2026-07-28: stop, see above; since 1.3).
** Since: 1.0
*/
MCP_API mcp_status mcp_call_request(mcp_call_t *call, const char *method, const char *params_json,
                                    int32_t timeout_ms, mcp_response_fn fn, void *user_data,
                                    char **out_error);

/*
** mcp_call_request_named: mcp_call_request with the input request's key.
** METHOD: mcp_call_t
**
** key names the request in a 2026-07-28 call's inputRequests and the client's
** inputResponses (e.g. "user_name"); it must be non-empty and stable from one
** run of the handler to the next. NULL: the default key of mcp_call_request.
** ^In a 2025-era call the key is ignored and the request is sent as usual.
** Ownership: key and params copied; user_data stays the host's until fn runs.
** Threads: any. Errors: as mcp_call_request, plus MCP_ERR_INVALID_ARG (empty key).
** Since: 1.3
*/
MCP_API mcp_status mcp_call_request_named(mcp_call_t *call, const char *key, const char *method,
                                          const char *params_json, int32_t timeout_ms,
                                          mcp_response_fn fn, void *user_data, char **out_error);

/*
** mcp_call_input_state: the host's own state carried by a 2026-07-28 call's
** requestState from the previous round.
** METHOD: mcp_call_t
**
** ^*out_state receives what the host set with mcp_call_set_input_state in an
** earlier round (or in this run, once set), or NULL when there is none: the
** first round, a retry without requestState, or a 2025-era call. The state is
** signed, not encrypted: the client can read it but not change it.
** Ownership: *out_state: caller frees with mcp_string_free. Threads: any.
** Errors: MCP_OK | MCP_ERR_INVALID_ARG (NULL out_state) | MCP_ERR_STATE.
** Since: 1.3
*/
MCP_API mcp_status mcp_call_input_state(mcp_call_t *call, char **out_state, char **out_error);

/*
** mcp_call_set_input_state: the host state the next round's requestState carries.
** METHOD: mcp_call_t
**
** ^Kept only when the call is answered with an InputRequiredResult; the
** retry reads it with mcp_call_input_state. NULL clears it. ^In a 2025-era call
** it returns MCP_ERR_UNSUPPORTED (there is no next round).
** Ownership: state copied. Threads: any.
** Errors: MCP_OK | MCP_ERR_UNSUPPORTED (not a 2026-07-28 call that may ask for
**         input) | MCP_ERR_STATE (answered or not live).
** Since: 1.3
*/
MCP_API mcp_status mcp_call_set_input_state(mcp_call_t *call, const char *state, char **out_error);

/*
** mcp_call_session_id: the id of the session the call belongs to.
** METHOD: mcp_call_t
** For addressing the session later, after the call is answered (e.g.
** mcp_server_notify_elicitation_complete). *out_id: caller frees with mcp_string_free.
** ^A call of revision 2026-07-28 over HTTP belongs to no session (each POST
** stands alone): MCP_ERR_STATE. Over stdio the connection is its session.
** Threads: any. Errors: MCP_OK | MCP_ERR_INVALID_ARG | MCP_ERR_STATE.
** Since: 1.0
*/
MCP_API mcp_status mcp_call_session_id(mcp_call_t *call, char **out_id, char **out_error);

/*
** mcp_call_meta: the request's "_meta" object as JSON ("{}" when absent).
** METHOD: mcp_call_t
** It holds what the client sent with this one request: "progressToken", the
** W3C trace context ("traceparent", "tracestate", "baggage") to continue the
** client's trace in the host's OpenTelemetry, the client's own keys, and for a
** 2026-07-28 request its envelope ("io.modelcontextprotocol/protocolVersion",
** ".../clientCapabilities", ".../clientInfo", ".../logLevel"), which describe
** that request only (requests of one connection may differ).
** *out_json: caller frees with mcp_string_free.
** Threads: any. Errors: MCP_OK | MCP_ERR_INVALID_ARG | MCP_ERR_STATE.
** Since: 1.0
*/
MCP_API mcp_status mcp_call_meta(mcp_call_t *call, char **out_json, char **out_error);

/*
** mcp_call_principal_json: who the call's request acts for.
** METHOD: mcp_call_t
** Over HTTP with "auth" (mcp_server_start_http), *out_json receives the
** principal of the request's access token: {"subject", "client_id",
** "issuer", "scopes": [...], "claims": {...}} (claims: the JWT's payload, or
** what the token verifier gave; absent members left out). ^Without
** authorization (stdio, HTTP without "auth") *out_json is NULL and the
** status MCP_OK. *out_json: caller frees with mcp_string_free.
** Threads: any. Errors: MCP_OK | MCP_ERR_INVALID_ARG | MCP_ERR_STATE.
** Since: 1.4
*/
MCP_API mcp_status mcp_call_principal_json(mcp_call_t *call, char **out_json, char **out_error);

/*
** mcp_call_traceparent: the W3C traceparent of the call's span.
** METHOD: mcp_call_t
** ^While a trace hook is set (mcp_set_trace_hook), *out_traceparent receives
** "00-{trace id}-{span id}-{flags}" naming the server span the engine records
** for this call: the parent for the spans host code makes while handling it
** (a binding makes it the current OpenTelemetry context around the handler).
** ^Requests sent with mcp_call_request are its children without this. ^With
** no hook (or a call received before the hook was set) *out_traceparent is
** NULL and the status MCP_OK. *out_traceparent: caller frees with
** mcp_string_free.
** Threads: any. Errors: MCP_OK | MCP_ERR_INVALID_ARG | MCP_ERR_STATE (the
** call was answered).
** Since: 1.5
*/
MCP_API mcp_status mcp_call_traceparent(mcp_call_t *call, char **out_traceparent, char **out_error);

/*
** mcp_call_close_stream: end the HTTP connection carrying a call's answer, while
** the call goes on (SSE polling, as 2025-11-25 allows).
** METHOD: mcp_call_t
**
** For a long call, so no connection is held open while it runs: the client
** sees its stream end after the priming event, waits the "sse_retry_ms" it was
** given, and resumes with GET and Last-Event-ID. ^Everything the call sends
** after this (progress, logs, its answer) is kept and reaches the client when
** it resumes. The call is answered as usual, now or later. ^A call answered
** with a JSON body so far is switched to an SSE stream first.
** Threads: any.
** Errors: MCP_OK | MCP_ERR_INVALID_ARG (NULL) | MCP_ERR_STATE (answered or not
**         live) | MCP_ERR_UNSUPPORTED (the transport cannot resume: stdio,
**         WebSocket, stateless or legacy HTTP, or a client older than 2025-11-25).
** Since: 1.0
*/
MCP_API mcp_status mcp_call_close_stream(mcp_call_t *call, char **out_error);

/* ----------------------------------------------------------------------------
** Server-wide notifications and handlers
** --------------------------------------------------------------------------*/

/* completion/complete: ref_json is {"type":"ref/prompt","name":...} or
** {"type":"ref/resource","uri":<template>}; argument_name/value the argument
** being completed; context_json the other arguments already given ("{}").
** Answer with {"completion":{"values":[...],"total"?:n,"hasMore"?:bool}}
** (or the inner object alone); more than 100 values are cut to 100 with
** hasMore set. */
typedef void (*mcp_completion_fn)(void *user_data, mcp_call_t *call, const char *ref_json,
                                  const char *argument_name, const char *argument_value,
                                  const char *context_json);

/*
** mcp_server_set_completion: answer completion/complete with a host callback.
** METHOD: mcp_server_t
**
** Set it before serving: sessions initialized earlier do not see the
** `completions` capability. ^Only arguments of registered prompts and variables
** of registered resource templates reach fn; others get -32602. fn NULL
** removes the handler (then completion/complete gets -32601). A previous
** handler's free_fn runs when no call uses it any more.
** Ownership: user_data owned by libmcp until free_fn runs (not on failure).
** Threads: any. Errors: MCP_OK | MCP_ERR_INVALID_ARG.
** Since: 1.0
*/
MCP_API mcp_status mcp_server_set_completion(mcp_server_t *server, mcp_completion_fn fn,
                                             void *user_data, mcp_free_fn free_fn,
                                             char **out_error);

/*
** mcp_server_notify_resource_updated: tell subscribers that a resource changed.
** METHOD: mcp_server_t
** Sends notifications/resources/updated to exactly the sessions that
** subscribed to uri (or to a resource it lies under, "dir" for "dir/x"):
** 2025-era sessions through resources/subscribe, and (since 1.3) the
** 2026-07-28 subscriptions/listen streams whose resourceSubscriptions name
** it. *out_count (may be NULL) receives how many sessions and listen
** streams were told.
** Threads: any. Errors: MCP_OK | MCP_ERR_INVALID_ARG.
** Since: 1.0
*/
MCP_API mcp_status mcp_server_notify_resource_updated(mcp_server_t *server, const char *uri,
                                                      int32_t *out_count, char **out_error);

/*
** mcp_server_log: send a log message to every session (notifications/message).
** METHOD: mcp_server_t
** Each session gets it if level is at or above the level it set (default
** "info"). level, logger, data_json as in mcp_call_log.
** Threads: any. Errors: MCP_OK | MCP_ERR_INVALID_ARG | MCP_ERR_INVALID_JSON.
** Since: 1.0
*/
MCP_API mcp_status mcp_server_log(mcp_server_t *server, const char *level, const char *logger,
                                  const char *data_json, char **out_error);

/*
** mcp_server_notify_elicitation_complete: finish a URL-mode elicitation.
** METHOD: mcp_server_t
** Sends notifications/elicitation/complete {elicitationId} to the session
** whose id mcp_call_session_id gave, and to no other.
** Threads: any. Errors: MCP_OK | MCP_ERR_INVALID_ARG | MCP_ERR_NOT_FOUND (no
** such live session).
** Since: 1.0
*/
MCP_API mcp_status mcp_server_notify_elicitation_complete(mcp_server_t *server,
                                                          const char *session_id,
                                                          const char *elicitation_id,
                                                          char **out_error);

/* ----------------------------------------------------------------------------
** Serving
** --------------------------------------------------------------------------*/

/*
** mcp_server_serve_stdio: serve one client over this process's stdin and stdout.
** METHOD: mcp_server_t
**
** Blocks until stdin reaches end of file (or mcp_server_stop), then waits for
** the answers of calls still in flight (up to "drain_timeout_ms"), writes
** them, and returns. Messages are newline-delimited JSON-RPC.
** ^While serving, the process's file descriptor 1 is pointed at stderr, so
** stray printf() output of the host cannot corrupt the protocol stream; it is
** restored on return. ^The descriptors are never switched to non-blocking mode.
** options_json: NULL or an object with
**   "max_message_bytes"  integer >= 1024, longest accepted line (default 16 MiB);
**                        a longer line is answered with a -32600 error and skipped
**   "drain_timeout_ms"   integer >= 0, how long to wait at EOF for in-flight
**                        answers (default 30000)
**   "redirect_stdout"    bool, the fd 1 redirection above (default true)
**   "max_queued_bytes"   integer >= 1024, bytes of answers that may wait for a
**                        client that does not read them (default 16 MiB; also
**                        at most 4096 answers). Past it no more requests are
**                        read until the client reads, whether tools run inline
**                        or on worker threads. Since: 1.2
**   "max_in_flight"      integer 1..1000000, requests read and not yet answered
**                        (default 1024); past it reading pauses until one is
**                        answered, so requests never pile up in memory faster
**                        than tools answer them. Calls waiting for an answer
**                        of the client (sampling, elicitation, roots) count
**                        too: keep it above how many of those may wait at
**                        once. Since: 1.2
**   "kept_buffer_bytes"  integer >= 0, the largest answer buffer (of 1 MiB or
**                        more) kept once written, for the next large answer
**                        to be written into (default 64 MiB; 0 keeps none).
**                        ^After a large answer the serve holds that much
**                        memory until it returns; in exchange the next one
**                        does not fault in fresh pages (a 10 MB echo answer:
**                        about 5,000 page faults). Since: 1.7
** Threads: any; one serve per server at a time.
** Errors: MCP_OK (EOF or stop) | MCP_ERR_INVALID_ARG | MCP_ERR_INVALID_JSON |
**         MCP_ERR_STATE (already serving, or called from an engine callback) | MCP_ERR_IO.
** Since: 1.0
*/
MCP_API mcp_status mcp_server_serve_stdio(mcp_server_t *server, const char *options_json,
                                          char **out_error);

/*
** mcp_server_serve_fds: as mcp_server_serve_stdio, on the given descriptors.
** METHOD: mcp_server_t
** in_fd is read, out_fd written; neither is closed. "redirect_stdout" does not
** apply. Useful for pipes and socketpairs.
** Since: 1.0
*/
MCP_API mcp_status mcp_server_serve_fds(mcp_server_t *server, int in_fd, int out_fd,
                                        const char *options_json, char **out_error);

/*
** mcp_server_stop: make a running serve function return.
** METHOD: mcp_server_t
** Reading stops at once; in-flight calls are drained as at EOF. Returns
** immediately; a no-op when not serving. Threads: any (not a signal handler).
** Since: 1.0
*/
MCP_API void mcp_server_stop(mcp_server_t *server);

/*
** mcp_server_start_http: serve over HTTP in the background.
** METHOD: mcp_server_t
**
** Starts a listener that speaks the Streamable HTTP transport of 2025-11-25
** (POST/GET/DELETE on one endpoint, JSON or SSE answers, Mcp-Session-Id,
** MCP-Protocol-Version, resumable SSE streams), the legacy HTTP+SSE transport
** of 2024-11-05 and WebSocket (subprotocol "mcp"). Returns once the socket is
** bound; connections are served on engine I/O threads, host callbacks on
** worker threads as for every transport.
** config_json: NULL or an object with any of (defaults in brackets):
**   "host"                    string, address to bind ["127.0.0.1"]
**   "port"                    integer 0..65535; 0 picks a free port [0]
**   "path"                    string, the Streamable HTTP endpoint ["/mcp"]
**   "sse_path", "messages_path"  strings, the legacy endpoints ["/sse", "/messages"]
**   "websocket_path"          string ["/ws"]
**   "json_response"           bool: answer POSTs with a JSON body when the call
**                             sends nothing before its result [false: SSE]
**   "stateless"               bool: no sessions, every request self-contained [false]
**   "enable_get_stream"       bool: the standalone GET SSE stream (else 405) [true]
**   "max_body_bytes"          integer, request body cap; larger gets 413 [16 MiB]
**   "max_buffered_bytes"      integer >= "max_body_bytes": bytes all connections
**                             together may hold in request bodies (and WebSocket
**                             messages) not yet handed to the engine, plus, for
**                             the one being parsed, an estimate of its parsed size
**                             (64 bytes per "," ":" "[" "{" in it). Past it the
**                             request gets 503 with Retry-After: 1 (a WebSocket
**                             closes with 1013); a body whose estimate alone is
**                             over it gets 413 [256 MiB]. Since: 1.2
**   "request_body_timeout_ms" integer; a request body not complete this long
**                             after its head gets 408 and the connection closes,
**                             however steadily it trickles in [60000]. Since: 1.2
**   "max_connections"         integer; open connections (HTTP and WebSocket).
**                             Past it a new connection takes the place of the
**                             oldest idle keep-alive connection, else of the
**                             oldest one that has not sent a whole request yet;
**                             one with a response open or a WebSocket session
**                             is never shed, and with only those the new
**                             connection is closed. 0 derives it
**                             from the soft open-file limit less a reserve of an
**                             eighth (at least 32), so accept never fails for
**                             want of descriptors [0]. Should accept fail with
**                             EMFILE or ENFILE anyway (descriptors used
**                             elsewhere), the oldest idle connection is shed
**                             and accepting pauses 100 ms instead of spinning.
**                             Since: 1.2
**   "max_header_bytes"        integer, request head cap; larger gets 431 [16 KiB]
**   "max_sessions"            integer; beyond it initialize gets 503 [10000]
**   "session_idle_timeout_ms" integer; idle sessions expire, active ones never [1800000]
**   "connection_idle_timeout_ms" integer; a connection with no response open
**                             that completes no request head and sends no body
**                             data this long is closed (checked every quarter
**                             of it: closed within 1.25 times it) [60000].
**                             Since 1.2 also: a connection whose client reads
**                             none of an open response (SSE stream, legacy SSE,
**                             answer) for this long, its socket full, is closed;
**                             a WebSocket is pinged every third of it and closed
**                             (1001) when nothing, pongs included, arrives for it
**   "max_queued_messages"     integer, per-stream outgoing queue bound [1024]
**   "max_queued_bytes"        integer >= 1024, per-stream outgoing queue bound in
**                             bytes (a single larger message still goes out
**                             alone) [32 MiB]. A stream past either bound is
**                             closed; the session's other streams go on, and a
**                             resumable one can be resumed. Since: 1.2
**   "event_store_max_events"  integer, events kept per session for resumption [1024]
**   "event_store_max_bytes"   integer, bytes of those events kept per session [16 MiB]
**   "sse_retry_ms"            integer, the SSE retry field [1000]
**   "sse_keepalive_ms"        integer, 0 or >= 50: an open SSE stream (the GET stream,
**                             a legacy SSE stream, the stream of a long call)
**                             that is silent this long gets a comment line
**                             ": keep-alive", so proxies and load balancers do
**                             not cut it as idle; 0 sends none [15000]
**   "allowed_hosts"           array of strings (host or host:port) accepted in the
**                             Host header [loopback names and the bound address;
**                             no Host check when bound to 0.0.0.0 or :: without a list]
**   "allowed_origins"         array of origins accepted in the Origin header
**                             [http(s)://localhost, 127.0.0.1, [::1] on any port]
**                             ("*" in either list accepts anything)
**   "cors_allowed_origins"    array of origins (same form) whose browser pages may
**                             read the answers: CORS for browser clients such as
**                             the MCP Inspector. Only narrows "allowed_origins":
**                             "*" means every origin it accepts, and a named
**                             origin it refuses is an error [empty: no CORS]
**   "tls_cert_file", "tls_key_file"  PEM files; both given means HTTPS
**   "io_threads"              integer, event-loop threads [1]
**   "admin"                   string "HOST:PORT" ("[::1]:PORT" for IPv6; port 0
**                             picks a free one, logged at info): an admin
**                             listener apart from the MCP endpoint, serving
**                             GET /metrics (mcp_server_metrics' text), /healthz
**                             (200 {"status":"alive"}) and /readyz (200
**                             {"status":"ready"}, or 503 {"status":"not ready",
**                             "reasons":[...]} while not listening, draining
**                             (stopping), or with "ready_max_queued" or more
**                             callbacks waiting for a worker) [none]. It has no
**                             Host/Origin check and no TLS: bind it to an
**                             address only operators reach. Since: 1.3
**   "ready_max_queued"        integer >= 1, see "admin" [1000]. Since: 1.3
**   "access_log"              bool: one info record per HTTP response to the log
**                             hook (component "http.access": method, path,
**                             status, duration_ms, bytes_in, bytes_out,
**                             session) [false]. Since: 1.3
**   "rate_limit"              object {"requests_per_second": number > 0,
**                             "burst": number >= 1 [requests_per_second]}: a
**                             token bucket per client, keyed by its principal
**                             when "auth" accepted a token, else by its session
**                             (Mcp-Session-Id), else by its IP address; a POST over the rate is answered 429
**                             with Retry-After before any work is done for it.
**                             At most 65536 clients are tracked; idle buckets
**                             are dropped first [none]. Since: 1.4
**   "reuse_port"              bool: SO_REUSEPORT on the listening socket, so
**                             that another process can listen on the same port:
**                             a restart without a gap starts the new process,
**                             then stops the old one with mcp_server_stop_http
**                             (readiness false, no new connections, requests in
**                             flight answered, streams ended with their retry
**                             hint) [false]. Several processes on one port
**                             also spread connections over more open-file
**                             limits and cores: the kernel hands each new
**                             connection to one of them. Since: 1.4
**   "listen_backlog"          integer 1..65535: connections the kernel completes
**                             and queues until they are accepted (listen(2)); the
**                             kernel caps it at net.core.somaxconn. A burst of
**                             new connections beyond it waits for the clients'
**                             SYN retries (1 s, 3 s, ...) [4096; 1024 before
**                             1.6]. Since: 1.6
**   "accept_batch"            integer 1..1024: connections accepted in one turn
**                             of the event loop before it serves the open ones
**                             again; higher takes a burst of new connections
**                             sooner, lower keeps the turns of open ones short
**                             (the calls of open connections wait less during a
**                             burst) [4]. Since: 1.6
**   "accept_rate"             integer 0..1000000: new connections accepted per
**                             second (bursts of "accept_batch"); the others wait
**                             in the backlog. It keeps a burst of thousands of
**                             new connections from stalling the calls of the
**                             open ones, at the cost of the new ones' wait; with
**                             "reuse_port" it applies to each process. 0: as
**                             fast as they come [0]. Since: 1.6
**   "store"                   string: where 2025-era session records, the events of
**                             resumable streams and tasks (both eras) with their
**                             results are kept ["memory:"]. Since: 1.5. ^A store
**                             the host supplies (mcp_server_set_store, since
**                             1.7) replaces it: leave "store" out then.
**                             "memory:" this process's memory, lost at exit (the
**                                       behaviour before 1.5).
**                             "sqlite:PATH[?synchronous=full|normal]" one SQLite
**                                       file (created if absent; its directory must
**                                       exist), WAL mode, schema created and migrated
**                                       by the library (PRAGMA user_version; a file of
**                                       a newer schema is refused). Sessions, events
**                                       and tasks survive a restart: a client keeps
**                                       its Mcp-Session-Id, resumes a stream with
**                                       Last-Event-ID, and gets a task's result
**                                       after the restart. ^An event is committed
**                                       before it is written to the client, a task's
**                                       result before the client can read it;
**                                       "synchronous=full" (default) also fsyncs
**                                       (survives a power cut), "normal" survives a
**                                       process crash only. ^A session record lives
**                                       "session_idle_timeout_ms" after its last use,
**                                       at most "event_store_max_events" events per
**                                       session are kept ("event_store_max_bytes"
**                                       applies to "memory:" only), a task lives its
**                                       TTL. ^Several processes may share the file
**                                       (same machine). A stopping listener
**                                       (mcp_server_stop_http) keeps what is stored.
**                             "postgres://USER:PASSWORD@HOST:PORT/DATABASE[?PARAMS]"
**                                       (also postgresql://; Since: 1.6) one
**                                       PostgreSQL database shared by every node
**                                       of a fleet: the same tables, retention,
**                                       schema versioning (table
**                                       mcp_schema_version) and durability promise
**                                       as sqlite: (each write committed before
**                                       the client sees it). USER, PASSWORD and
**                                       DATABASE are percent-decoded; an empty HOST
**                                       is the socket directory /var/run/postgresql.
**                                       PARAMS: sslmode=disable|prefer|require|
**                                       verify-full [prefer], host=SOCKET_DIR,
**                                       pool_size=N connections per process [8],
**                                       connect_timeout=SECONDS [5],
**                                       statement_timeout=MS [5000],
**                                       application_name=NAME [libmcp]. ^A
**                                       malformed URL or an unknown parameter is
**                                       MCP_ERR_INVALID_ARGUMENT (the password is
**                                       never repeated in messages or logs); an
**                                       unreachable server is not (below).
**                             ^A store that cannot be opened or written does not fail
**                             this call: /readyz reports "store: ..." (503), requests
**                             that need it (2025-era POST/GET of a session,
**                             initialize) get 503 with Retry-After and a JSON-RPC
**                             -32603 error naming the cause, task requests get
**                             -32603; it is retried at the next use after a second,
**                             so service resumes by itself. ^Any other value is
**                             MCP_ERR_INVALID_ARGUMENT.
**   "fleet_lease_ms"          integer 100..3600000: with "sqlite:" (or "postgres://",
**                             since 1.7), several processes sharing the file (the
**                             database) serve any request of any 2025-era
**                             session (behind a load balancer with no stickiness;
**                             see deploy/fleet.md): stream and event ids are
**                             allocated in the store, and a GET resuming a stream
**                             another process writes relays it. ^Each process holds
**                             a lease in the store, renewed every quarter of this
**                             [5000]; once a process's lease has expired, another
**                             ends each of its open streams with a JSON-RPC -32603
**                             error answering each of its requests, and marks its
**                             running tasks failed (with "postgres://" leases are
**                             judged on the database's clock). Must be at least 4
**                             times "fleet_poll_ms". Since: 1.6
**   "fleet_poll_ms"           integer 1..60000: how often a process looks in the
**                             store for events other processes added to streams
**                             it relays (at most this delay) [50]. ^SQLite cannot
**                             notify another process, so this is a poll; an idle
**                             poll reads one counter (PRAGMA data_version), not
**                             the tables. ^With "postgres://" (since 1.7) each
**                             process also LISTENs on a connection of its own
**                             (outside pool_size) and acts on a change as soon as
**                             it is committed; this poll is then the fallback that
**                             finds what a lost notification did not bring.
**                             Since: 1.6
** ^The server's "max_calls_in_flight" (mcp_server_new) also applies here: a
** call beyond it is answered 503 with Retry-After (since 1.4).
**   "auth"                    object: make the listener an OAuth 2.1 resource
**                             server (Since: 1.4; see "Authorization" below) [none]
** Unknown keys are an error. *out_port (may be NULL) receives the bound port.
** ^The Mcp-Session-Id of a session is the id mcp_call_session_id() gives for its
** calls. ^Every refusal (400, 401, 403, 404, 405, 406, 408, 409, 413, 415, 429, 431, 503)
** carries a JSON-RPC error object without id as its body. ^A request with more
** than one Host or Origin header gets 400 (since 1.2). ^A call that sends progress,
** logs or requests before its result is answered as an SSE stream even in
** "json_response" mode, so nothing it sends is lost. ^Legacy SSE sessions and
** WebSocket connections count toward "max_sessions" and end with their connection.
** ^A request of a session whose MCP-Protocol-Version header names a revision
** other than the one the session negotiated gets 400 (the error names both, and
** has them in data.received and data.negotiated); one without the header is
** served in the session's revision. ^Without a session (stateless mode) a
** request without the header is served as 2025-03-26, as the spec asks.
** ^With "cors_allowed_origins", an OPTIONS preflight on an endpoint path from a
** listed origin gets 204 with Access-Control-Allow-Methods (the path's
** methods), -Allow-Headers (Content-Type, Accept, Authorization,
** Mcp-Session-Id, MCP-Protocol-Version, Last-Event-ID) and -Max-Age (one day);
** from an unlisted one, 403. ^Every response to a listed origin, refusals
** included, carries Access-Control-Allow-Origin (that origin),
** Access-Control-Expose-Headers: Mcp-Session-Id and Vary: Origin. ^No
** credentials mode (cookies): clients send Authorization, which needs none.
** ^The Origin check against DNS rebinding ("allowed_origins", 403) runs first
** on every request, preflights included, and CORS never overrides it: a page
** whose origin it refuses is refused whatever "cors_allowed_origins" says.
** ^No open SSE stream is silent for longer than "sse_keepalive_ms": a stream
** with nothing to send gets one comment per interval, the first after between
** half and all of it. ^Comments are not events: they have no id, are not kept
** for resumption and are never replayed. Set the interval below the idle
** timeout of any proxy on the way (many cut at 60 s).
**
** Authorization (Since: 1.4). ^With "auth", every route of the listener
** (Streamable HTTP in both eras, legacy SSE and its POSTs, the WebSocket
** upgrade) needs "Authorization: Bearer <access token>"; nothing else
** (query strings, cookies) is read. Its members:
**   "resource"                string, required: this server's canonical URL
**                             (RFC 8707), e.g. "https://mcp.example.com/mcp"
**   "authorization_servers"   array of issuer URLs, required (at least one)
**   "scopes_supported"        array of scopes, published and sent in the 401
**                             challenge's scope= [none]
**   "required_scopes"         array: scopes every request needs (403 without) [none]
**   "issuer"                  string: the "iss" a JWT must carry, compared
**                             exactly; required with a JWKS
**   "audience"                string or array: "aud" must contain one ["resource"]
**   "jwks_file" | "jwks_url"  where the authorization server's public keys are
**                             (RFC 7517). A file is read at start (unreadable or
**                             invalid: MCP_ERR_INVALID_ARG) and reread like a URL
**   "jwks_ca_file"            PEM file of the certificates that verify an https
**                             "jwks_url" (a private CA) [the system's trust
**                             store]; unreadable: MCP_ERR_INVALID_ARG at start.
**                             Verification cannot be turned off (Since: 1.6)
**   "algorithms"              array, a subset of RS256 RS384 RS512 ES256 ES384
**                             EdDSA [all six]
**   "clock_skew_s"            0..600, tolerance on exp and nbf [60]
**   "max_token_bytes"         256..65536, longer tokens get 401 [8192]
**   "jwks_refetch_min_interval_ms"  a token with an unknown kid refetches the
**                             keys at most this often [10000]
**   "jwks_cache_ttl_ms"       keys older than this are refreshed [3600000]
**   "jwks_fetch_timeout_ms"   [5000]; "jwks_max_bytes" [1048576]
**   "verifier_timeout_ms"     a token verifier that has not answered by then
**                             refuses the token [10000]
**   "resource_metadata_url"   the metadata URL the challenges name [derived:
**                             the resource's origin + /.well-known/oauth-
**                             protected-resource + the resource's path]
** ^GET /.well-known/oauth-protected-resource, and the same followed by the
** endpoint's path ("/mcp") or the resource URL's path, answer the RFC 9728
** metadata: resource, authorization_servers, scopes_supported,
** bearer_methods_supported ["header"]; no token is needed there.
** ^A JWT access token is accepted only if: it has three parts; its "alg" is
** one of "algorithms" (never "none", never HS*: a public key is no secret),
** no "crit"; the key its "kid" names (a token without kid: the only key
** fitting its alg) fits the alg and verifies the signature; "exp" is present
** and not past, "nbf" not ahead (both within "clock_skew_s"); "iss" equals
** "issuer"; "aud" contains "audience". An unknown kid refetches the keys once
** (rate-limited) and tries again: rotated keys are picked up. Tokens that are
** not JWTs go to the token verifier (mcp_server_set_token_verifier) when one
** is set; without a JWKS, every token goes there.
** ^A request without a token gets 401 with WWW-Authenticate: Bearer
** resource_metadata="...", scope="..." (scope when "required_scopes" or
** "scopes_supported" is set); a refused token 401 with error="invalid_token"
** and error_description naming the reason. ^Every refusal is logged
** (component "auth", warning) with its reason (malformed, too_large,
** algorithm, unknown_key, signature, expired, not_yet_valid, issuer, audience,
** refused, unavailable, scope); never with the token. ^A 2025-era session
** belongs to the principal that opened it (issuer, subject, client id): the
** same Mcp-Session-Id (or legacy sessionId) with another principal's token
** gets 404, as an unknown session. ^Every HTTP request is checked anew; a
** WebSocket, checked once at its upgrade, is closed with 1008 and a reason
** when its token's "exp" (a JWT's, or the "claims" a verifier answered) plus
** "clock_skew_s" passes (since 1.6). ^completion/complete needs the
** "requiredScopes" of the prompt or template it completes (since 1.6).
** ^Handlers read the principal with
** mcp_call_principal_json(). A protected server in C:
**
**     mcp_server_start_http(srv, "{\"port\": 8000, \"auth\": {"
**         "\"resource\": \"https://mcp.example.com/mcp\","
**         "\"authorization_servers\": [\"https://auth.example.com\"],"
**         "\"issuer\": \"https://auth.example.com\","
**         "\"jwks_url\": \"https://auth.example.com/jwks.json\"}}", &port, &err);
**
** Threads: any; one HTTP listener per server at a time.
** Errors: MCP_OK | MCP_ERR_INVALID_ARG (unknown key, bad value, colliding paths) |
**         MCP_ERR_INVALID_JSON | MCP_ERR_STATE (already listening, server freed) |
**         MCP_ERR_IO (bind failed, TLS files unreadable).
** Since: 1.0; "sse_keepalive_ms" and "cors_allowed_origins" since 1.1;
** "max_buffered_bytes", "request_body_timeout_ms", "max_connections" and
** "max_queued_bytes" since 1.2 (an older library refuses them as unknown keys).
*/
MCP_API mcp_status mcp_server_start_http(mcp_server_t *server, const char *config_json,
                                         uint16_t *out_port, char **out_error);

/*
** mcp_token_check_t: one bearer token waiting for the host's verdict.
**
** The engine hands it to the token verifier; the host answers it exactly
** once, with mcp_token_check_accept() or mcp_token_check_refuse(), from any
** thread, now or later. ^A check not answered within the "auth"
** "verifier_timeout_ms" is refused by the engine (reason "unavailable"); a
** later answer then gets MCP_ERR_STATE. Handles are never reused.
** Since: 1.4
*/
typedef struct mcp_token_check mcp_token_check_t;

/*
** A token verifier: token is the bearer token (borrowed: valid until the
** callback returns; copy it to answer later). Runs on an engine worker
** thread, never on an I/O thread, so it may block (e.g. RFC 7662
** introspection over the network). Since: 1.4
*/
typedef void (*mcp_token_verify_fn)(void *user_data, const char *token, mcp_token_check_t *check);

/*
** mcp_server_set_token_verifier: check bearer tokens in host code.
** METHOD: mcp_server_t
**
** For tokens the engine's JWT checks do not take (opaque tokens, tokens to
** introspect, other formats): with an "auth" object that names no JWKS, every
** token goes to fn; with one, tokens that are not JWTs do. Set it before
** mcp_server_start_http (a listener whose "auth" has neither a JWKS nor a
** verifier does not start); setting another replaces it for the next
** checks; fn NULL removes it. The verifier must check the audience itself
** (RFC 8707: only tokens issued for this resource; never pass a token on).
** Ownership: user_data stays the host's; free_user_data (may be NULL) runs
** once, when the verifier is replaced or the server freed.
** Threads: any. Errors: MCP_OK | MCP_ERR_INVALID_ARG (NULL server).
** Since: 1.4
*/
MCP_API mcp_status mcp_server_set_token_verifier(mcp_server_t *server, mcp_token_verify_fn fn, void *user_data,
                                                 mcp_free_fn free_user_data, char **out_error);

/*
** mcp_token_check_accept: accept the token, as the principal principal_json says.
** METHOD: mcp_token_check_t
**
** principal_json (copied) is an object with optional "subject", "client_id",
** "issuer" (strings), "scopes" (array of strings, or one space-separated
** string) and "claims" (object); handlers see it through
** mcp_call_principal_json(). The request then goes on (a scope the operation
** needs and the principal lacks still gets 403).
** Threads: any. Errors: MCP_OK | MCP_ERR_INVALID_ARG (NULL check, principal
** not such an object: the check stays pending) | MCP_ERR_INVALID_JSON |
** MCP_ERR_STATE (already answered or timed out).
** Since: 1.4
*/
MCP_API mcp_status mcp_token_check_accept(mcp_token_check_t *check, const char *principal_json, char **out_error);

/*
** mcp_token_check_refuse: refuse the token; the request gets 401 invalid_token.
** METHOD: mcp_token_check_t
** reason (may be NULL; copied) becomes the challenge's error_description and
** is logged; never put the token in it.
** Threads: any. Errors: MCP_OK | MCP_ERR_INVALID_ARG | MCP_ERR_STATE.
** Since: 1.4
*/
MCP_API mcp_status mcp_token_check_refuse(mcp_token_check_t *check, const char *reason, char **out_error);

/*
** mcp_server_metrics: the server's metrics, in the Prometheus text format.
** METHOD: mcp_server_t
**
** *out_text receives the text exposition (format 0.0.4), the same that the
** admin listener serves at /metrics (see mcp_server_start_http "admin"), for
** hosts that serve stdio or have their own HTTP server. The caller frees it
** with mcp_string_free. Families (names follow Prometheus conventions and the
** OpenTelemetry MCP semantic conventions, dots made underscores):
**   mcp_server_requests_total{mcp_method_name,mcp_era,outcome}  counter.
**       mcp_era: "2025" (2024-11-05 .. 2025-11-25) or "2026-07-28" (from the
**       session's negotiated revision), "unknown" for a refusal before any.
**       outcome: "ok", "tool_error" (a tools/call result with isError),
**       "cancelled", "refused" (a limit: 408, 413, 429, 431, 503), or the
**       JSON-RPC error code ("-32601"). Methods a server does not know count
**       as "other"; past 32 distinct error codes, "error_other".
**   mcp_server_operation_duration_seconds{mcp_method_name,mcp_era}  histogram,
**       arrival to answer.
**   mcp_server_tool_duration_seconds{gen_ai_tool_name}  histogram; past 64
**       distinct names, "other".
**   mcp_server_calls_in_flight  gauge: requests received, not yet answered.
**   mcp_worker_threads, mcp_worker_busy_threads, mcp_worker_queue_depth,
**   mcp_worker_max_threads  gauges: the pool that runs host callbacks.
**   mcp_server_connections, mcp_server_sessions (2025 era)  gauges (HTTP).
**   mcp_server_streams{kind="sse"|"websocket"|"stdio"}  gauge.
**   mcp_server_received_bytes_total, mcp_server_sent_bytes_total  counters.
**   mcp_server_refusals_total{cause}  counter: the HTTP status of each refusal,
**       or "connection_limit".
**   mcp_server_events_stored_total, mcp_server_events_replayed_total  counters.
**   process_cpu_seconds_total, process_resident_memory_bytes,
**   process_virtual_memory_bytes, process_open_fds, process_max_fds.
** ^Families appear once they have a value to show; counters start at 0 with
** the server.
** Threads: any. Cost: a few tens of microseconds per call, independent of traffic.
** Errors: MCP_OK | MCP_ERR_INVALID_ARG (NULL server or out_text) |
**         MCP_ERR_STATE (the server was created with "metrics": false) |
**         MCP_ERR_NO_MEMORY.
** Since: 1.3
*/
MCP_API MCP_NODISCARD mcp_status mcp_server_metrics(mcp_server_t *server, char **out_text, char **out_error);

/*
** mcp_server_stop_http: stop the HTTP listener gracefully.
** METHOD: mcp_server_t
**
** New connections are refused at once; requests in flight get their answers
** (up to timeout_ms, then connections are closed); then every HTTP session is
** closed. Blocks until done. A no-op (MCP_OK) when not listening.
** mcp_server_free also stops the listener (without waiting).
** Threads: any host thread; MCP_ERR_STATE from inside an engine callback.
** Errors: MCP_OK | MCP_ERR_INVALID_ARG | MCP_ERR_STATE.
** Since: 1.0
*/
MCP_API mcp_status mcp_server_stop_http(mcp_server_t *server, int32_t timeout_ms, char **out_error);

/* ----------------------------------------------------------------------------
** OBJECT: mcp_store_methods_t, a state store the host supplies
**
** Instead of a "store" URL (mcp_server_start_http), the host may keep the
** listener's durable state itself, in whatever it already runs (a key-value
** service, its own database, a file, a dict): 2025-era session records, the
** events of resumable SSE streams and tasks (both eras) with their results.
** ^The engine then serves exactly as with "sqlite:": a session survives the
** server (a new server, or a restarted process, given the same store serves
** its Mcp-Session-Id), GET with Last-Event-ID replays exactly the events a
** client missed, a task's result is read after a restart, and a store that
** fails answers requests that need it with 503 + JSON-RPC -32603.
**
** The host stores records: a key and a value, both opaque byte strings (the
** engine encodes its own schema in them, today keys of printable ASCII of at
** most a few hundred bytes starting "session/", "task/" or "event/"), each
** with an expiry. Four callbacks are required:
**
**   get     the value under key: give it with mcp_store_call_row(call, NULL,
**           0, value, value_len) once, or nothing when there is none.
**   put     insert, or replace, the record key -> value.
**   remove  remove the record under key (none there is not an error).
**   list    every record whose key starts with prefix (prefix_len bytes), in
**           any order: mcp_store_call_row(call, key, key_len, value,
**           value_len) once per record. The engine reads a session's stream
**           events this way.
**
** and two are optional (NULL: absent):
**
**   check   MCP_OK when the store can serve now; anything else makes
**           readiness (the admin listener's /readyz) report "store: <message>"
**           and refuses the request it guards. ^It runs for readiness and
**           before each request that needs the store: keep it cheap (a flag
**           the host's own health checks set). NULL: always ready.
**   destroy the engine makes no further call with this user_data: release
**           what it holds. Runs exactly once, on the thread of
**           mcp_server_free (or of the mcp_server_set_store that replaced the
**           store), after every callback in progress has returned.
**
** ^expires_at_ms (milliseconds since 1970, UTC) says when the engine stops
** needing a record: a session record "session_idle_timeout_ms" after its
** last use, an event that long after it was written, a task at its TTL. The
** host should drop records past it (on a later get, a sweep, its store's own
** TTL) so that storage stays bounded; the engine never serves an expired
** session or task whether or not it was dropped. ^The engine bounds each
** session's events itself ("event_store_max_events": it removes the oldest).
**
** Ownership: every pointer the engine passes (key, prefix, value) is valid
** until the callback returns: copy what you keep. Everything the host passes
** to mcp_store_call_row / mcp_store_call_error is copied before they return.
** call is valid until the callback returns (a later use gets MCP_ERR_STATE).
** ^key and value are never NULL (value_len may be 0).
**
** Threads: the callbacks run on the HTTP listener's event-loop threads and
** on the engine's worker threads, several at once: they must be thread-safe.
** They may block, and each write must be durable when put returns (the
** engine writes an event to the client only after put returned MCP_OK, so a
** client never saw what a restart can lose); but a callback that blocks on
** an event-loop thread delays every connection of that loop, as SQLite's
** fsync or a PostgreSQL round trip do for the built-in stores: keep each
** call short, and bound the waits of a remote store. ^A callback must not
** call libmcp functions on its server (mcp_server_stop_http, mcp_server_free:
** deadlock); mcp_store_call_row and mcp_store_call_error are the ones it uses.
**
** Errors: a callback returns MCP_OK on success; any other value is a failure,
** and its message (mcp_store_call_error, else "host store: <op> failed
** (status N)") is what requests that needed the store are answered with,
** exactly as for a "postgres://" store that is down: HTTP 503 with
** Retry-After and a JSON-RPC -32603 error "State store unavailable:
** <message>" (2025-era POST, GET and DELETE of a session, initialize), -32603
** for task requests; an event put refuses is not sent and its stream ends
** (the client's resume gets 503 until the store is back). The next request
** calls the store again, so service resumes when the host's store does.
**
** One process at a time: the engine numbers its streams and events itself
** (no fleet, see "fleet_lease_ms"), so two servers must not serve the same
** sessions from one host store at once; one after the other (a restart) is
** the use. The built-in listener of mcp_server_start_http uses it; an HTTP
** handler (mcp_http_handler_new) keeps its state in memory.
**
** struct_size: set it to sizeof(mcp_store_methods_t). Members are only ever
** added at the end, optional (NULL) for the versions that add them, so a
** host built against an older header keeps working with a newer library; a
** struct_size smaller than this version's is refused.
** Since: 1.7
*/
typedef struct mcp_store_call mcp_store_call_t;

typedef struct mcp_store_methods {
    size_t struct_size; /* sizeof(mcp_store_methods_t) */
    mcp_status (*get)(void *user_data, mcp_store_call_t *call, const uint8_t *key, size_t key_len);
    mcp_status (*put)(void *user_data, mcp_store_call_t *call, const uint8_t *key, size_t key_len,
                      const uint8_t *value, size_t value_len, int64_t expires_at_ms);
    mcp_status (*remove)(void *user_data, mcp_store_call_t *call, const uint8_t *key, size_t key_len);
    mcp_status (*list)(void *user_data, mcp_store_call_t *call, const uint8_t *prefix, size_t prefix_len);
    mcp_status (*check)(void *user_data, mcp_store_call_t *call); /* optional */
    void (*destroy)(void *user_data);                             /* optional */
} mcp_store_methods_t;

/*
** mcp_server_set_store: keep the HTTP listener's durable state in the host's store.
** METHOD: mcp_server_t
**
** methods (copied: the table need not outlive the call) and user_data (passed
** to every callback, stays the host's) make the store of the next
** mcp_server_start_http; see mcp_store_methods_t above. ^A listener started
** with a host store refuses a config "store" other than "memory:"
** (MCP_ERR_INVALID_ARG: give one or the other). ^Setting another store
** replaces this one (its destroy runs now); methods NULL removes it (destroy
** runs). ^On any error nothing changes and destroy is not called: user_data
** stays the host's. ^The server's store is destroyed by mcp_server_free.
** Threads: any host thread; not while the server's HTTP listener runs.
** Errors: MCP_OK | MCP_ERR_INVALID_ARG (NULL server; struct_size smaller
**         than sizeof(mcp_store_methods_t) of ABI 1.7; get, put, remove or
**         list NULL) | MCP_ERR_STATE (an HTTP listener is running or
**         starting: stop it first; the server was freed).
** Since: 1.7
*/
MCP_API mcp_status mcp_server_set_store(mcp_server_t *server, const mcp_store_methods_t *methods, void *user_data,
                                        char **out_error);

/*
** mcp_store_call_row: one record, the answer of a get or one of a list.
** METHOD: mcp_store_call_t
**
** For get: key may be NULL (it is the key asked for); at most one row. For
** list: key is the record's key (it must start with the prefix asked for).
** key and value are copied; value may be NULL when value_len is 0.
** Threads: any, while the callback that received call runs (usually its own
** thread). Errors: MCP_OK | MCP_ERR_INVALID_ARG (NULL call; NULL key in a
** list; NULL value with value_len > 0; a key outside the prefix) |
** MCP_ERR_STATE (call is not a get or list, its callback returned, or a
** second row for a get).
** Since: 1.7
*/
MCP_API mcp_status mcp_store_call_row(mcp_store_call_t *call, const uint8_t *key, size_t key_len,
                                      const uint8_t *value, size_t value_len, char **out_error);

/*
** mcp_store_call_error: why this call fails (the callback then returns a
** status other than MCP_OK). message (copied; NULL: none) becomes the text
** after "State store unavailable: " in the answers of requests that needed
** the store, and the readiness reason of a failed check; a later message
** replaces an earlier one. Never put secrets in it.
** METHOD: mcp_store_call_t
** Threads: as mcp_store_call_row. Errors: MCP_OK | MCP_ERR_INVALID_ARG (NULL
** call) | MCP_ERR_STATE (its callback returned).
** Since: 1.7
*/
MCP_API mcp_status mcp_store_call_error(mcp_store_call_t *call, const char *message, char **out_error);

/* ----------------------------------------------------------------------------
** OBJECT: mcp_http_handler_t, the MCP endpoint inside the host's own web server
**
** For hosts that already run an HTTP server (an ASGI application, a Go
** net/http mux, a C server) and want MCP on one of its routes instead of a
** second port. The host's server owns the sockets, TLS and its own timeouts;
** it hands each request for the MCP route to the engine as an exchange
** (mcp_http_exchange_t) and copies the response back to its client. ^Behind
** it is the very endpoint of mcp_server_start_http: both eras (2025 sessions
** with Mcp-Session-Id, the GET stream, resumption with Last-Event-ID, DELETE;
** 2026-07-28 stateless POSTs with Mcp-Method / Mcp-Name), JSON or SSE
** answers, and every check and limit of the listener, answered with the same
** statuses and texts: Host and Origin (403), "auth" (401, 403, the protected
** resource metadata route), "rate_limit" (429), the calls-in-flight bound
** (503), "max_sessions" (503), "max_body_bytes" (413), "max_header_bytes"
** (431), "max_buffered_bytes" (503), "max_connections" (counting open
** exchanges; 503), the per-stream queue bounds (the response is cut), CORS,
** "sse_keepalive_ms", "access_log" and the metrics.
**
** Lifecycle:
**   1. mcp_http_handler_new()      from a server and a config
**   2. per request: mcp_http_exchange_new() .. mcp_http_exchange_free()
**   3. mcp_http_handler_stop()     drain: streams end, calls finish or are cut
**   4. mcp_http_handler_free()     (before mcp_server_free of its server)
**
** ^A server may have any number of handlers and a built-in listener at once;
** each handler has its own sessions.
** Since: 1.5
*/
typedef struct mcp_http_handler mcp_http_handler_t;

/*
** OBJECT: mcp_http_exchange_t, one HTTP request and its response
**
** Lifecycle, in order:
**   1. mcp_http_exchange_new()            method, target ("/mcp?x=y"), peer address
**   2. mcp_http_exchange_add_header()     each request header, Host included
**   3. mcp_http_exchange_add_body()       the body, in one or more pieces
**   4. mcp_http_exchange_start()          the request is complete: the engine takes it
**   5. mcp_http_exchange_get_part()       repeat: the head (status, headers),
**                                         body pieces, then END (or ABORT)
**   6. mcp_http_exchange_free()           after END or ABORT; or earlier,
**                                         when the host's client went away
**
** ^The response is produced while the host reads it: a JSON answer comes as
** a head and one piece; an SSE stream (a call sending progress, the 2025 GET
** stream) as a head and one piece per event, for as long as it lasts. The host
** writes each piece to its client as it comes (flushing it: an SSE event held
** in a buffer is an event late). ^Freeing an exchange whose response has not
** ended is the client's disconnection: the call behind it is cancelled (2026:
** the spec's cancellation) and a 2025 stream detaches, resumable with
** Last-Event-ID, exactly as when a socket of the built-in listener closes.
** ^A host that reads slower than the engine writes gets the listener's
** backpressure: past "max_queued_messages" or "max_queued_bytes" unread the
** response is cut (ABORT).
**
** Threads: steps 1-4 and 6 from one host thread at a time per exchange (any
** thread); get_part from any one thread at a time; different exchanges are
** independent. Nothing here calls back into the host except the wake function
** of mcp_http_exchange_start.
** Since: 1.5
*/
typedef struct mcp_http_exchange mcp_http_exchange_t;

/*
** The kinds of response part mcp_http_exchange_get_part() gives.
** Since: 1.5
*/
#define MCP_HTTP_PART_NONE  0  /* nothing yet: wait for the wake, or read again */
#define MCP_HTTP_PART_HEAD  1  /* status and headers; always the first part */
#define MCP_HTTP_PART_BODY  2  /* body bytes: write them and flush */
#define MCP_HTTP_PART_END   3  /* the response is complete */
#define MCP_HTTP_PART_ABORT 4  /* the response cannot be finished: drop the client's
                                  connection without ending the response properly */

/*
** A wake function: response parts are waiting for an exchange whose last
** mcp_http_exchange_get_part() gave MCP_HTTP_PART_NONE (or that was never
** read). It should only signal the host's own loop (set an event, post to a
** queue, send on a channel) and return; reading happens there. ^Runs on an
** engine worker thread, never on an I/O thread; at most one call per exchange
** is pending at a time; after one, the next comes only once a read has given
** NONE again. It may still run once after mcp_http_exchange_free(); the
** exchange's free_user_data runs after the last call.
** Since: 1.5
*/
typedef void (*mcp_http_wake_fn)(void *user_data);

/*
** mcp_http_handler_new: the server's MCP endpoint, for the host's web server.
** CONSTRUCTOR: mcp_http_handler_t
**
** config_json (may be NULL: defaults; copied) takes the keys of
** mcp_server_start_http that concern requests: "path" (the route the host
** mounts, as the engine sees it in each exchange's target) ["/mcp"],
** "sse_path", "messages_path" (legacy HTTP+SSE, if the host routes them too),
** "json_response", "stateless", "enable_get_stream", "max_body_bytes",
** "max_buffered_bytes", "max_header_bytes", "max_sessions",
** "session_idle_timeout_ms", "max_connections" (here: exchanges open at once),
** "max_queued_messages", "max_queued_bytes", "event_store_max_events",
** "event_store_max_bytes", "sse_retry_ms", "sse_keepalive_ms",
** "allowed_hosts", "allowed_origins", "cors_allowed_origins", "io_threads"
** (threads the responses are produced on), "access_log", "rate_limit" and
** "auth" (with the server's token verifier, as for the listener). "host"
** names the address the host's server listens on, for the default Host check
** (loopback names; none for "0.0.0.0" or "::"): a host serving other names
** lists them in "allowed_hosts". ^The keys that only a listener has ("port",
** "tls_cert_file", "tls_key_file", "admin", "reuse_port", "listen_backlog",
** "accept_batch", "accept_rate", "connection_idle_timeout_ms", "request_body_timeout_ms", "websocket_path")
** are refused with MCP_ERR_INVALID_ARG: the host's server owns those.
** ^On success *out_handler is the handler; on failure NULL.
** Ownership: the caller frees the handler with mcp_http_handler_free(), before
** freeing the server.
** Threads: any.
** Errors: MCP_OK | MCP_ERR_INVALID_ARG (NULL server or out_handler, unknown
** or listener-only key, bad value) | MCP_ERR_INVALID_JSON | MCP_ERR_STATE
** (server freed) | MCP_ERR_IO ("auth" JWKS set-up failed).
** Since: 1.5
*/
MCP_API MCP_NODISCARD mcp_status mcp_http_handler_new(mcp_server_t *server, const char *config_json,
                                                      mcp_http_handler_t **out_handler, char **out_error);

/*
** mcp_http_handler_stop: drain the handler, as mcp_server_stop_http drains a listener.
** METHOD: mcp_http_handler_t
**
** ^New exchanges are refused (mcp_http_exchange_new gives MCP_ERR_STATE); open
** streams with no natural end (2025 GET streams, 2026 listen streams) end now;
** calls in flight get up to timeout_ms to finish, then their responses are cut
** (ABORT); then every session closes. ^Blocks until done, so the host must
** keep reading its exchanges from other threads meanwhile. Stopping twice is a
** no-op.
** Threads: any host thread; never from an engine callback (MCP_ERR_STATE).
** Errors: MCP_OK | MCP_ERR_INVALID_ARG (NULL) | MCP_ERR_STATE.
** Since: 1.5
*/
MCP_API mcp_status mcp_http_handler_stop(mcp_http_handler_t *handler, int32_t timeout_ms, char **out_error);

/*
** mcp_http_handler_free: stop (with no grace) and release the handler.
** DESTRUCTOR: mcp_http_handler_t
** ^NULL is a no-op. Exchanges still open are cut; they must still be freed.
** Threads: any host thread, not from an engine callback.
** Since: 1.5
*/
MCP_API void mcp_http_handler_free(mcp_http_handler_t *handler);

/*
** mcp_http_exchange_new: begin one request handed in by the host's server.
** CONSTRUCTOR: mcp_http_exchange_t
**
** method is the request method as sent ("POST", "GET", "DELETE", "OPTIONS"...).
** target is the request target, path and query ("/mcp", "/mcp?x=1"); the
** engine routes it by the handler's "path". remote_address (may be NULL) is
** the client's IP address, which "rate_limit" keys unauthenticated clients by.
** All are copied. ^On success *out_exchange is the exchange; on failure NULL.
** Ownership: the caller frees it with mcp_http_exchange_free().
** Threads: any.
** Errors: MCP_OK | MCP_ERR_INVALID_ARG (NULL handler, method, target or
** out_exchange; empty method; target not starting with "/") | MCP_ERR_STATE
** (handler stopped).
** Since: 1.5
*/
MCP_API MCP_NODISCARD mcp_status mcp_http_exchange_new(mcp_http_handler_t *handler, const char *method,
                                                       const char *target, const char *remote_address,
                                                       mcp_http_exchange_t **out_exchange, char **out_error);

/*
** mcp_http_exchange_add_header: one request header (name and value copied).
** METHOD: mcp_http_exchange_t
** ^Repeated names are kept in order (a repeated Host or Origin gets 400, as
** on the listener). Past "max_header_bytes" in all the exchange is answered
** 431 when started.
** Threads: see mcp_http_exchange_t.
** Errors: MCP_OK | MCP_ERR_INVALID_ARG (NULL; name not an HTTP token; value
** with CR, LF) | MCP_ERR_STATE (already started).
** Since: 1.5
*/
MCP_API mcp_status mcp_http_exchange_add_header(mcp_http_exchange_t *exchange, const char *name,
                                                const char *value, char **out_error);

/*
** mcp_http_exchange_add_body: request body bytes, appended (copied).
** METHOD: mcp_http_exchange_t
** ^data may be NULL when length is 0. ^Past "max_body_bytes" in all, the body
** is dropped and the exchange is answered 413 when started; with the
** handler's "max_buffered_bytes" spent, 503 with Retry-After. (The host may
** stop reading its client's body then.)
** Threads: see mcp_http_exchange_t.
** Errors: MCP_OK | MCP_ERR_INVALID_ARG (NULL exchange; NULL data with length
** > 0) | MCP_ERR_STATE (already started).
** Since: 1.5
*/
MCP_API mcp_status mcp_http_exchange_add_body(mcp_http_exchange_t *exchange, const void *data, size_t length,
                                              char **out_error);

/*
** mcp_http_exchange_start: the request is complete; the engine serves it.
** METHOD: mcp_http_exchange_t
** ^wake (may be NULL for a host that reads blocking) is called as described
** at mcp_http_wake_fn. ^Returns at once; the response comes through
** mcp_http_exchange_get_part().
** Ownership: user_data stays the host's; free_user_data (may be NULL) runs
** once, after the exchange was freed and the last wake returned; also when
** start fails.
** Threads: see mcp_http_exchange_t.
** Errors: MCP_OK | MCP_ERR_INVALID_ARG (NULL exchange) | MCP_ERR_STATE
** (already started, or freed).
** Since: 1.5
*/
MCP_API mcp_status mcp_http_exchange_start(mcp_http_exchange_t *exchange, mcp_http_wake_fn wake, void *user_data,
                                           mcp_free_fn free_user_data, char **out_error);

/*
** mcp_http_exchange_get_part: the next piece of the response.
** METHOD: mcp_http_exchange_t
**
** Waits up to timeout_ms for one (0: not at all; negative: until one comes).
** *out_kind (must not be NULL) gets an MCP_HTTP_PART_ kind:
**   HEAD   *out_status (may be NULL) the status code; *out_data the headers
**          as a JSON array of [name, value] pairs, NUL-terminated, *out_length
**          its length. Content-Length is among them for a whole answer and
**          absent from a stream.
**   BODY   *out_data the bytes (NUL-terminated for convenience; may hold NUL),
**          *out_length their count.
**   END, ABORT, NONE: *out_data NULL, *out_length 0. ^After END or ABORT every
**          later read gives the same kind again.
** ^Before start, or with an exchange already freed, the call is misuse.
** Ownership: the caller frees *out_data with mcp_string_free().
** Threads: any one thread at a time per exchange; it may block (timeout_ms),
** so an event-loop host reads with 0 after each wake.
** Errors: MCP_OK | MCP_ERR_INVALID_ARG (NULL exchange or out_kind) |
** MCP_ERR_STATE (not started).
** Since: 1.5
*/
MCP_API mcp_status mcp_http_exchange_get_part(mcp_http_exchange_t *exchange, int32_t timeout_ms, int32_t *out_kind,
                                              int32_t *out_status, char **out_data, size_t *out_length,
                                              char **out_error);

/*
** mcp_http_exchange_free: release an exchange; before its END, cancel it.
** DESTRUCTOR: mcp_http_exchange_t
** ^NULL is a no-op. ^Freeing before END or ABORT was read means the host's
** client went away: the response is dropped and what it served is cancelled
** as for a closed connection (see mcp_http_exchange_t). Using the handle
** afterwards is undefined.
** Threads: any, once.
** Since: 1.5
*/
MCP_API void mcp_http_exchange_free(mcp_http_exchange_t *exchange);

/* ----------------------------------------------------------------------------
** OBJECT: mcp_session_t, a session on a transport of the host's own
**
** For hosts that move bytes themselves (an existing web server, a message
** queue, tests): the host feeds each complete JSON-RPC message it receives to
** mcp_session_receive(), and the engine hands every outgoing message to the
** send callback. Lifecycle: mcp_server_session_new -> mcp_session_receive
** (repeat) -> mcp_session_free.
** --------------------------------------------------------------------------*/
typedef struct mcp_session mcp_session_t;

/* Outgoing message: one JSON-RPC message, `length` bytes of UTF-8 without a
** trailing newline (message is also NUL-terminated; borrowed for the call).
** ^Calls for one session never overlap and arrive in send order; they come
** from engine threads (or from the thread inside mcp_session_receive). */
typedef void (*mcp_send_fn)(void *user_data, const char *message, size_t length);

/*
** mcp_server_session_new: open a session whose bytes the host transports.
** CONSTRUCTOR: mcp_session_t
** Ownership: user_data owned by libmcp until free_fn runs (after
** mcp_session_free, once no send can happen). Threads: any.
** Errors: MCP_OK | MCP_ERR_INVALID_ARG | MCP_ERR_STATE (server freed).
** Since: 1.0
*/
MCP_API MCP_NODISCARD mcp_status mcp_server_session_new(mcp_server_t *server, mcp_send_fn send,
                                                        void *user_data, mcp_free_fn free_fn,
                                                        mcp_session_t **out_session,
                                                        char **out_error);

/*
** mcp_session_receive: give the engine one message received from the client.
** METHOD: mcp_session_t
** message need not be NUL-terminated (length bytes are read; copied). ^Invalid
** input is answered on the wire (-32700, -32600, ...) and still returns MCP_OK:
** a status error means the arguments to this function were wrong.
** Answers to quick requests (ping, lists) may be sent before it returns.
** Threads: any; concurrent calls for one session are processed in some order.
** Errors: MCP_OK | MCP_ERR_INVALID_ARG | MCP_ERR_STATE (session closed).
** Since: 1.0
*/
MCP_API mcp_status mcp_session_receive(mcp_session_t *session, const char *message,
                                       size_t length, char **out_error);

/*
** mcp_session_free: close a session.
** DESTRUCTOR: mcp_session_t
** In-flight calls are marked cancelled and their answers dropped; nothing more
** is sent. ^NULL is a no-op. Threads: any.
** Since: 1.0
*/
MCP_API void mcp_session_free(mcp_session_t *session);

/* ============================================================================
** OBJECT: mcp_client_t, an MCP client
**
** Lifecycle:
**   1. mcp_client_new()                        create, with clientInfo and options
**   2. mcp_client_set_request_handler() ...    handlers for what the server may ask
**                                              (sampling, elicitation, roots); each
**                                              one declares its capability
**   3. mcp_client_connect_stdio()              start the server, settle the era
**      or mcp_client_connect_http()            reach it by URL, settle the era
**   4. mcp_client_request() / _async() ...     talk to the server
**   5. mcp_client_close() / mcp_client_free()  shut down
**
** One client holds one connection. Blocking functions must not be called from
** inside a libmcp callback (they return MCP_ERR_STATE there).
**
** Eras (Since: 1.3). ^Connecting settles which protocol era the server speaks,
** as the "era" option says (default "auto"):
**   "auto"        send server/discover at 2026-07-28; ^a DiscoverResult listing a
**                 revision this client speaks makes the connection modern; ^an
**                 UnsupportedProtocolVersion error (-32022) naming one makes it
**                 probe once more at that revision; ^-32020/-32021 fail the connect
**                 (the server is modern but refuses the probe). ^Anything else
**                 (another error, a result that is not a DiscoverResult, no
**                 answer within "discover_timeout_ms") falls back to initialize.
**   "legacy"      initialize only (the 2025 era: a session, server requests).
**   "2026-07-28"  modern only: server/discover must succeed, no fallback.
**   "2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"
**                 initialize offering that revision.
** ^At the modern revision every request's params._meta gets
** io.modelcontextprotocol/protocolVersion, .../clientInfo, .../clientCapabilities
** and, when "log_level" is set, .../logLevel; ^keys the host puts in _meta itself
** are kept and win (a W3C "traceparent"/"tracestate" given in params_json._meta of
** mcp_client_request goes to the server as given; so does a per-call logLevel).
** ^ping, logging/setLevel, resources/subscribe and resources/unsubscribe give
** MCP_ERR_UNSUPPORTED at the modern revision (it removed them).
** ^Over HTTP a modern request carries MCP-Protocol-Version, Mcp-Method, Mcp-Name
** (tools/call, prompts/get, resources/read; base64-sentinel encoded when not
** plain ASCII) and one Mcp-Param-{Name} header per x-mcp-header parameter of a
** tool listed before; no session id, no GET stream, no DELETE. ^A tool whose
** x-mcp-header annotations break the spec's rules is left out of tools/list
** results (over HTTP only), and the notification handler gets a
** notifications/message with logger "libmcp" saying why. ^A request whose
** answer stream breaks before the answer is issued again with a new id (twice
** at most), as the revision requires (it has no resumption). The server may
** have run the request before its connection was cut, so a tool can run more
** than once for one call: give such tools idempotent effects. ^Cancelling one
** closes its stream instead of posting notifications/cancelled.
**
** Multi round-trip requests (MRTR, Since: 1.3). ^When tools/call, prompts/get or
** resources/read is answered with resultType "input_required", the engine calls
** the host's request handlers (the same mcp_request_fn that serve 2025-era
** server requests; the call's params are the input request's params) for every
** entry of inputRequests, then sends the request again, with a new id, the
** answers as inputResponses and the requestState exactly as received; ^round
** after round, up to "max_input_rounds" (then the request fails with
** MCP_ERR_LIMIT). ^The host sees one request and one result, under the id it was
** given (mcp_client_cancel with that id cancels the round in flight and the
** handlers' calls). ^An input request with no handler fails the request with
** MCP_ERR_UNSUPPORTED; ^a handler that answers with mcp_call_error fails it with
** MCP_ERR_PEER. ^With "max_input_rounds" 0 the host gets the InputRequiredResult
** itself and retries as it likes. ^An accepted elicitation answer that leaves out
** fields whose requestedSchema property has a "default" gets those defaults
** (SEP-1034), in both eras.
** ^A modern result without resultType is complete; ^an unknown resultType, an
** input_required answer to another method, or a malformed InputRequiredResult
** fails the request with MCP_ERR_PEER (error JSON code -32603 saying what was
** wrong). ^Answers longer than "max_message_bytes" (a 100 MiB requestState, say)
** are skipped as they stream in, never buffered, and the request fails with
** MCP_ERR_CLOSED (its answer is lost) instead of waiting.
**
** Result checks (Since: 1.3). ^The outputSchema of every tool in a tools/list
** result the host asked for is remembered (the engine never lists on its own;
** notifications/tools/list_changed forgets them). ^A tools/call result of such a
** tool, in either era, whose structuredContent is missing or does not match that
** JSON Schema (2020-12: types, enum/const, numeric and length bounds, pattern,
** items/prefixItems/contains, properties/required/additionalProperties,
** allOf/anyOf/oneOf/not/if, and "$ref" inside the schema, "$defs" and anchors
** included) fails the call with MCP_ERR_PEER: error JSON code -32603, a
** message naming the tool and the failing place (a JSON Pointer such as
** "/items/2/price") and data {"tool", "reason", "instancePath", "keyword"}.
** ^A "$ref" to anything outside the schema is never fetched (SEP-2106): the
** call fails with reason "unresolvedRef"; ^a "$ref" cycle fails it with
** "refCycle" and an over-costly schema with "tooComplex", never a hang.
** ^Results with isError true, tools not listed yet and tools without
** outputSchema pass unchecked. "validate_tool_output": false turns this off.
**
** Caching (Since: 1.3). ^With "cache" true, a complete tools/list,
** prompts/list, resources/list, resources/templates/list or resources/read
** result whose ttlMs is > 0 is kept for that long (cacheScope "public" or
** "private": the cache belongs to this client alone, one authorization
** context, so both are reused by it), per method and params (_meta aside; each
** page of a list under its own cursor). ^A request with the same method and
** params while it is fresh is answered from memory (mcp_client_request then
** sets *out_request_id to 0), never reaching the server. ^A result without
** ttlMs, with ttlMs 0, or produced by an MRTR retry is not kept.
** ^notifications/tools/list_changed (prompts/..., resources/...) drops the
** list's pages and notifications/resources/updated the reads of its uri, before
** the notification handler sees them. ^The least recently used results go
** first when "cache_max_entries" or "cache_max_bytes" would be passed.
** ==========================================================================*/
typedef struct mcp_client mcp_client_t;

/*
** mcp_client_new: create a client.
** CONSTRUCTOR: mcp_client_t
**
** name, version: the clientInfo sent in initialize (copied, not empty).
** options_json: NULL or an object with any of:
**   "title"                 string (clientInfo.title)
**   "capabilities"          object merged over the capabilities the handlers declare
**   "protocol_version"      string, the revision offered in initialize (default
**                           "2025-11-25"; the server may answer an older one)
**   "request_timeout_ms"    integer >= 1, default per-request timeout (60000)
**   "max_total_timeout_ms"  integer, hard cap when progress extends a timeout (600000)
**   "worker_threads"        integer 1..1024, most host callbacks at once (16)
**   "max_message_bytes"     integer >= 1024, longest accepted message (16 MiB)
**   "era"                   "auto" (default), "legacy" or a revision (see the
**                           object's Eras paragraph). Since: 1.3
**   "discover_timeout_ms"   integer >= 1, how long "auto" waits for the
**                           server/discover answer before falling back (10000;
**                           never more than the request timeout). Since: 1.3
**   "max_input_rounds"      integer 0..1000, InputRequiredResult rounds the engine
**                           answers per request (10); 0: the host gets them.
**                           Since: 1.3
**   "log_level"             "debug" .. "emergency": modern requests carry it as
**                           io.modelcontextprotocol/logLevel; at the 2025 era
**                           logging/setLevel is sent once after initialize when the
**                           server declares logging. Since: 1.3
**   "validate_tool_output"  boolean (true): check each tools/call result's
**                           structuredContent against the outputSchema its tool
**                           had in the last tools/list (see Result checks). Since: 1.3
**   "cache"                 boolean (false): keep list and read results in memory
**                           while their ttlMs says they are fresh (see Caching).
**                           Since: 1.3
**   "cache_max_entries"     integer 1..1000000, most results kept (256). Since: 1.3
**   "cache_max_bytes"       integer >= 1024, most bytes kept, as JSON text (8 MiB).
**                           Since: 1.3
**   "tasks"                 boolean (false): declare the tasks extension
**                           (io.modelcontextprotocol/tasks) in every 2026-07-28
**                           request. ^A tools/call the server answers with a task
**                           is followed: tasks/get at the server's pollIntervalMs
**                           (kept within 10..5000 ms), input it asks for answered
**                           by the request handlers and sent with tasks/update,
**                           mcp_client_cancel sent as tasks/cancel; the call
**                           completes with the task's result (or its error), as a
**                           plain call would. Since: 1.4
** Threads: any. Errors: MCP_OK | MCP_ERR_INVALID_ARG | MCP_ERR_INVALID_JSON.
** Since: 1.0
*/
MCP_API MCP_NODISCARD mcp_status mcp_client_new(const char *name, const char *version,
                                                const char *options_json,
                                                mcp_client_t **out_client, char **out_error);

/*
** mcp_client_free: close the connection (as mcp_client_close) and destroy the client.
** DESTRUCTOR: mcp_client_t
** ^Requests still waiting complete with MCP_ERR_CLOSED first. ^Callbacks
** already under way or queued finish before it returns (it waits up to 5 s for
** them), and none start afterwards, so the host may free their user_data then.
** ^NULL is a no-op.
** Threads: any host thread (not inside a libmcp callback: that would wait on itself).
** Since: 1.0
*/
MCP_API void mcp_client_free(mcp_client_t *client);

/* A request from the server to this client: method is "sampling/createMessage",
** "elicitation/create" or "roots/list"; params_json is borrowed. Answer the call
** with mcp_call_return (e.g. a CreateMessageResult, an ElicitResult, a
** ListRootsResult) or mcp_call_error, from any thread, now or later.
** mcp_call_is_cancelled and mcp_call_on_cancel work; mcp_call_progress, _log
** and _request are server-side only (MCP_ERR_UNSUPPORTED). */
typedef void (*mcp_request_fn)(void *user_data, mcp_call_t *call, const char *method,
                               const char *params_json);

/* A notification from the server (notifications/message, .../list_changed,
** .../resources/updated, .../progress, .../tasks/status,
** .../elicitation/complete, ...). Strings borrowed. Runs on a worker thread;
** ^a client's notifications are delivered one at a time, in the order the
** server sent them (so a handler that blocks holds back the later ones). */
typedef void (*mcp_notification_fn)(void *user_data, const char *method, const char *params_json);

/* One line the server process wrote to its stderr (no newline; borrowed). */
typedef void (*mcp_stderr_fn)(void *user_data, const char *line, size_t length);

/* Progress of one request (the notifications/progress params; borrowed). */
typedef void (*mcp_progress_fn)(void *user_data, const char *params_json);

/*
** mcp_client_set_request_handler: answer one kind of server request.
** METHOD: mcp_client_t
**
** method: "sampling/createMessage" (declares {"sampling":{}}),
** "elicitation/create" (declares {"elicitation":{"form":{},"url":{}}}) or
** "roots/list" (declares {"roots":{"listChanged":true}}). Set handlers before
** connecting: the capabilities go out in initialize. fn NULL removes the handler.
** Ownership: user_data owned by libmcp until free_fn runs (not on failure).
** Threads: any. Errors: MCP_OK | MCP_ERR_INVALID_ARG (unknown method) | MCP_ERR_STATE
** (already connected, for a new capability).
** Since: 1.0
*/
MCP_API mcp_status mcp_client_set_request_handler(mcp_client_t *client, const char *method,
                                                  mcp_request_fn fn, void *user_data,
                                                  mcp_free_fn free_fn, char **out_error);

/*
** mcp_client_set_notification_handler: receive the server's notifications.
** METHOD: mcp_client_t
** One handler for all of them; fn NULL removes it. Ownership as above.
** Threads: any. Errors: MCP_OK | MCP_ERR_INVALID_ARG.
** Since: 1.0
*/
MCP_API mcp_status mcp_client_set_notification_handler(mcp_client_t *client,
                                                       mcp_notification_fn fn, void *user_data,
                                                       mcp_free_fn free_fn, char **out_error);

/*
** mcp_client_set_stderr_handler: receive the server process's stderr lines.
** METHOD: mcp_client_t
** Without a handler they are copied to this process's stderr. Set before
** connecting. Ownership as above. Errors: MCP_OK | MCP_ERR_INVALID_ARG. Since: 1.0
*/
MCP_API mcp_status mcp_client_set_stderr_handler(mcp_client_t *client, mcp_stderr_fn fn,
                                                 void *user_data, mcp_free_fn free_fn,
                                                 char **out_error);

/*
** mcp_client_connect_stdio: start a server process and initialize a session with it.
** METHOD: mcp_client_t
**
** argv: NULL-terminated argument vector; argv[0] is looked up on PATH (copied).
** envp: NULL to inherit this process's environment, else a NULL-terminated
** "NAME=value" list (copied). options_json: NULL or an object with
**   "cwd"               string, working directory of the server
**   "close_timeout_ms"  integer, each wait of the shutdown sequence (2000)
**   "timeout_ms"        integer, for the initialize handshake (request_timeout_ms)
** Blocks until initialize is answered. *out_result_json (may be NULL) receives
** the InitializeResult (caller frees with mcp_string_free).
** Threads: any host thread.
** Errors: MCP_OK | MCP_ERR_INVALID_ARG | MCP_ERR_STATE (already connected, or
**         inside a callback) | MCP_ERR_IO (cannot start) | MCP_ERR_TIMEOUT |
**         MCP_ERR_CLOSED (the server exited) | MCP_ERR_PEER (initialize refused;
**         *out_error holds the JSON-RPC error object) | MCP_ERR_UNSUPPORTED (the
**         server chose a revision this library does not speak).
** Since: 1.0
*/
MCP_API mcp_status mcp_client_connect_stdio(mcp_client_t *client, const char *const *argv,
                                            const char *const *envp, const char *options_json,
                                            char **out_result_json, char **out_error);

/*
** mcp_client_connect_http: connect to a server by URL and initialize a session.
** METHOD: mcp_client_t
**
** url: "http://host[:port]/path" or "https://..." (copied; no user info).
** The client speaks Streamable HTTP (2025-11-25): each message is POSTed
** (Accept: application/json, text/event-stream); an answer comes as a JSON body
** or an SSE stream, and ^a stream that breaks before its answer is resumed by
** GET with Last-Event-ID after the server's retry time. ^The Mcp-Session-Id of
** the initialize answer and the negotiated MCP-Protocol-Version go on every
** later request. ^When the server answers 404 for that session, the client
** initializes a new one by itself and sends the message once more. Once
** initialized, the standalone GET stream is opened, and the first requests wait
** (up to 1 s) for its answer, so the server has it before they arrive (a 405
** means the server has none). mcp_client_close ends the session with DELETE.
** ^With "transport"
** "auto", a server that answers the initialize POST with 400, 404 or 405 is
** spoken to with the legacy HTTP+SSE transport (2024-11-05) instead.
** options_json: NULL or an object with any of (defaults in brackets):
**   "headers"          object of string values sent on every request, e.g.
**                      {"Authorization":"Bearer ..."}; the headers libmcp sets
**                      itself (Host, Accept, Content-Type, Content-Length,
**                      Mcp-Session-Id, MCP-Protocol-Version, Last-Event-ID,
**                      Connection, Transfer-Encoding) are refused
**   "timeout_ms"       integer > 0, for the initialize handshake [request_timeout_ms]
**   "tls_ca_file"      string, PEM file of the certificates that verify an
**                      https server [the system's trust store]
**   "tls_verify"       bool: verify the server's certificate and name [true]
**   "transport"        "auto" | "streamable" | "legacy_sse" ["auto"]
**   "open_get_stream"  bool: open the standalone GET stream [true]
**   "max_idle_connections"  integer 0..4096, keep-alive connections kept idle
**                      for reuse [32]; requests in flight beyond it open and
**                      close connections of their own. Since: 1.4
**   "oauth"            object: obtain OAuth tokens when the server asks for
**                      them (see "OAuth" below). Since: 1.5
** Unknown keys are an error. Blocks until initialize is answered.
**
** OAuth (spec 2026-07-28 basic/authorization). ^With "oauth", a 401 (or a 403
** with error="insufficient_scope") makes the client: read the protected-
** resource metadata (the challenge's resource_metadata, else the well-known
** URI with the endpoint's path, then at the root), refuse metadata whose
** "resource" does not cover url; read the authorization server's metadata
** (RFC 8414, then OpenID Connect discovery; its "issuer" must equal the one
** asked for, else it is not used); pick a client id (pre-registered
** "client_id"; stored for that issuer; "client_metadata_url" when the server
** supports Client ID Metadata Documents; dynamic registration, with
** application_type); refuse a server without PKCE S256; authorize with code,
** PKCE S256, state, "resource" and the scopes (the challenge's, else the
** metadata's scopes_supported; offline_access added when the authorization
** server lists it); check "iss" in the redirect (RFC 9207: compared when
** present, required when the server advertises it); exchange the code with
** client_secret_basic, client_secret_post, private_key_jwt or none; then send the refused
** message again with the token, and hold other messages meanwhile. ^The
** legacy transport's SSE GET (2024-11-05, "transport" "legacy_sse" or the
** fallback) is authorized the same way when refused, then opened again
** (since 1.6; before, its 401 failed the connect). ^A 401
** with a refresh token first tries the refresh. ^A 403 insufficient_scope
** asks for the earlier scopes plus the challenged ones (step-up). ^Each
** message is re-authorized at most "max_attempts" times; then its refusal
** stands. ^Credentials are kept per issuer and never sent to another
** authorization server; a pre-registered client whose "issuer" the server no
** longer names is an error. ^The token goes only to url's origin, in the
** Authorization header. ^Tokens are never logged (component "oauth" logs the
** steps, a token as its last four characters). The person authorizes through
** the handler (mcp_client_set_oauth_handler) or the built-in loopback
** listener; tokens are kept in memory and given to the store callback
** (mcp_client_set_oauth_store). The "timeout_ms" of the connect covers the
** authorization: give a person room. Keys of "oauth" (defaults in brackets):
**   "grant"            "authorization_code" | "client_credentials" (a machine
**                      client: no person; needs client_id and client_secret
**                      or private_key_file) ["authorization_code"]
**   "client_id", "client_secret"  a pre-registered client
**   "private_key_file" PEM file of an RSA or P-256 private key: the client
**                      authenticates with a JWT it signs (private_key_jwt,
**                      RFC 7523; aud the issuer); "private_key_id" its kid
**   "token_endpoint_auth_method"  "client_secret_basic" | "client_secret_post"
**                      | "private_key_jwt" | "none" [from registration, else
**                      private_key_jwt with a key, else the server's list]
**   "issuer"           the authorization server client_id belongs to
**   "client_metadata_url"  https URL of this client's Client ID Metadata Document
**   "client_name" ["libmcp"], "application_type" "native"|"web" ["native"]
**                      for dynamic registration
**   "redirect_uri"     where the browser comes back (https or loopback)
**                      [http://127.0.0.1:<free port>/callback, served by the
**                      built-in loopback listener]
**   "loopback"         bool: serve redirect_uri (then http://127.0.0.1:PORT/
**                      path) with the built-in listener [true when
**                      redirect_uri is absent]
**   "scope"            space-separated scopes, instead of the server's guidance
**   "max_attempts"     1..10 [2]; "http_timeout_ms" per metadata or token
**                      request [10000]; "authorize_timeout_ms" for the person
**                      [300000]; "max_document_bytes" [262144]
**   "credentials"      object: issuer -> what the store callback was given
**                      before, to start with those tokens
** A failed authorization fails the refused request with MCP_ERR_CLOSED (the
** connect with MCP_ERR_IO), *out_error starting "OAuth authorization failed:"
** and naming the step (issuer mismatch, resource mismatch, no PKCE, iss
** mismatch, token endpoint refusal, ...).
** *out_result_json (may be NULL) receives the InitializeResult (caller frees
** with mcp_string_free). Later, a request the server refuses with an HTTP error
** status completes with MCP_ERR_PEER and an error object whose data holds
** {"httpStatus": N}; one whose connection or answer stream is lost for good
** completes with MCP_ERR_CLOSED, ^its message saying what the client saw (a
** reset, a response cut short, bytes that are not HTTP).
** Threads: any host thread. Each connected client runs one libmcp I/O thread;
** host callbacks run on worker threads as for stdio.
** Errors: MCP_OK | MCP_ERR_INVALID_ARG (NULL or bad url, bad option) |
**         MCP_ERR_INVALID_JSON | MCP_ERR_STATE (already connected, or inside a
**         callback) | MCP_ERR_IO (cannot connect, TLS failure, unreadable
**         tls_ca_file, the server closed the connection, no usable legacy
**         stream; *out_error says which) | MCP_ERR_TIMEOUT | MCP_ERR_PEER
**         (initialize refused by a JSON-RPC error or an HTTP error status;
**         *out_error holds the error object) | MCP_ERR_UNSUPPORTED (the server
**         chose a revision this library does not speak).
** Since: 1.0
*/
MCP_API mcp_status mcp_client_connect_http(mcp_client_t *client, const char *url,
                                           const char *options_json, char **out_result_json,
                                           char **out_error);

/*
** mcp_oauth_prompt_t: one authorization waiting for the person.
**
** The engine hands it to the OAuth handler; the host answers it exactly once
** with mcp_oauth_prompt_answer() or mcp_oauth_prompt_refuse(), from any
** thread, now or later. ^A prompt not answered within the "oauth"
** "authorize_timeout_ms" fails the authorization; a later answer then gets
** MCP_ERR_STATE. Handles are never reused.
** Since: 1.5
*/
typedef struct mcp_oauth_prompt mcp_oauth_prompt_t;

/*
** An OAuth handler: the person must open authorization_url (e.g. in a
** browser); the authorization server then redirects to redirect_uri with the
** code. Both strings borrowed (valid until the callback returns). Runs on a
** worker thread, so it may block.
** Since: 1.5
*/
typedef void (*mcp_oauth_authorize_fn)(void *user_data, const char *authorization_url, const char *redirect_uri,
                                       mcp_oauth_prompt_t *prompt);

/*
** mcp_client_set_oauth_handler: show the authorization URL to the person.
** METHOD: mcp_client_t
**
** Called when a connection with "oauth" needs a person to authorize. Without
** a handler, the URL is logged (component "oauth", warning) and the loopback
** listener waits for the redirect (a "redirect_uri" that is not the
** listener's then fails the authorization). fn NULL removes it.
** Ownership: user_data stays the host's; free_user_data (may be NULL) runs
** once, when the handler is replaced or the client freed.
** Threads: any. Errors: MCP_OK | MCP_ERR_INVALID_ARG (NULL client).
** Since: 1.5
*/
MCP_API mcp_status mcp_client_set_oauth_handler(mcp_client_t *client, mcp_oauth_authorize_fn fn, void *user_data,
                                                mcp_free_fn free_user_data, char **out_error);

/*
** mcp_oauth_prompt_answer: the person authorized; here is where the browser went.
** METHOD: mcp_oauth_prompt_t
**
** redirect_url (copied) is the full URL the authorization server redirected
** to, with its code, state and iss parameters; the engine checks state and
** iss before using the code. NULL: the loopback listener receives the
** redirect (the host only showed the URL).
** Threads: any. Errors: MCP_OK | MCP_ERR_INVALID_ARG (NULL prompt, not an
** http(s) URL: the prompt stays pending) | MCP_ERR_STATE (already answered or
** timed out).
** Since: 1.5
*/
MCP_API mcp_status mcp_oauth_prompt_answer(mcp_oauth_prompt_t *prompt, const char *redirect_url, char **out_error);

/*
** mcp_oauth_prompt_refuse: the person declined (or the host cannot ask).
** METHOD: mcp_oauth_prompt_t
** reason (may be NULL; copied) ends up in the refused request's error.
** Threads: any. Errors: MCP_OK | MCP_ERR_INVALID_ARG | MCP_ERR_STATE.
** Since: 1.5
*/
MCP_API mcp_status mcp_oauth_prompt_refuse(mcp_oauth_prompt_t *prompt, const char *reason, char **out_error);

/*
** An OAuth store callback: the credentials for issuer changed. credentials_json
** (borrowed) is an object with "client_id", "client_secret",
** "token_endpoint_auth_method", "access_token", "refresh_token", "expires_at"
** (seconds since the epoch), "scope", "resource", "redirect_uri" (each when known). It holds
** secrets: keep it as a password is kept. Runs on an engine thread (the OAuth
** flow's), never an I/O thread.
** Since: 1.5
*/
typedef void (*mcp_oauth_store_fn)(void *user_data, const char *issuer, const char *credentials_json);

/*
** mcp_client_set_oauth_store: keep OAuth credentials beyond this connection.
** METHOD: mcp_client_t
**
** fn is called each time a registration or token is obtained. Give the stored
** objects back at the next connect as "oauth" {"credentials": {issuer: obj}}
** to start with them. Without a store, credentials live in memory for the
** connection only. fn NULL removes it. Ownership as mcp_client_set_oauth_handler.
** Threads: any. Errors: MCP_OK | MCP_ERR_INVALID_ARG (NULL client).
** Since: 1.5
*/
MCP_API mcp_status mcp_client_set_oauth_store(mcp_client_t *client, mcp_oauth_store_fn fn, void *user_data,
                                              mcp_free_fn free_user_data, char **out_error);

/*
** mcp_client_close: end the session and the connection.
** METHOD: mcp_client_t
** For stdio: the server's stdin is closed, then it gets close_timeout_ms to exit,
** then SIGTERM, then SIGKILL. For HTTP: the session is ended with DELETE (its
** answer awaited up to 2 s) and the connections are closed. Waiting requests
** complete with MCP_ERR_CLOSED. ^A mcp_client_connect_stdio still waiting for
** its initialize answer (in another thread) returns MCP_ERR_CLOSED at once.
** A no-op when not connected. Threads: any host thread.
** Errors: MCP_OK | MCP_ERR_INVALID_ARG | MCP_ERR_STATE (inside a callback).
** Since: 1.0
*/
MCP_API mcp_status mcp_client_close(mcp_client_t *client, char **out_error);

/*
** mcp_client_server_info: the server's InitializeResult (protocolVersion,
** capabilities, serverInfo, instructions) as JSON.
** METHOD: mcp_client_t
** ^At the modern revision (1.3) an object of the same shape made from the
** DiscoverResult: protocolVersion "2026-07-28", its capabilities, serverInfo
** (from its _meta) and instructions. ^The connect functions' out_result is this
** same object.
** *out_json: caller frees with mcp_string_free.
** Errors: MCP_OK | MCP_ERR_INVALID_ARG | MCP_ERR_STATE (not connected). Since: 1.0
*/
MCP_API mcp_status mcp_client_server_info(mcp_client_t *client, char **out_json, char **out_error);

/*
** mcp_client_get_era: the era the connection settled on, and what the server
** said about itself, as JSON.
** METHOD: mcp_client_t
**
** ^*out_json is an object with "era" ("modern" or "legacy"), "protocolVersion"
** (the revision in force), "capabilities", and when the server gave them
** "serverInfo" and "instructions"; ^a modern one also has "supportedVersions"
** (from server/discover). out_json must not be NULL; on failure *out_json is NULL.
** Ownership: *out_json: caller frees with mcp_string_free.
** Threads:   any.
** Errors:    MCP_OK | MCP_ERR_INVALID_ARG (NULL client or out_json) |
**            MCP_ERR_STATE (not connected).
** Since:     1.3
*/
MCP_API mcp_status mcp_client_get_era(mcp_client_t *client, char **out_json, char **out_error);

/*
** mcp_client_subscribe: hear chosen notifications from the server, in either era.
** METHOD: mcp_client_t
**
** filter_json: an object (not NULL) with any of "toolsListChanged",
** "promptsListChanged", "resourcesListChanged" (booleans) and
** "resourceSubscriptions" (an array of resource URIs); at least one must ask
** for something, and other members are refused. ^At the modern revision this
** opens a subscriptions/listen request (no timeout: it lasts until
** unsubscribed) and waits for the server's notifications/subscriptions/
** acknowledged; ^at the 2025 era it sends resources/subscribe for each URI
** (the server must declare resources.subscribe, else MCP_ERR_UNSUPPORTED) and
** picks the list changes the server declares listChanged for. ^Either way it
** returns once the subscription is in place, or fails after the client's
** request timeout (MCP_ERR_TIMEOUT; the attempt is abandoned).
** ^*out_ack_json (may be NULL) is the filter the server honoured (a subset of
** the one asked for); *out_subscription_id (may be NULL) is the id for
** mcp_client_unsubscribe (the listen request's id at the modern revision, a
** negative local number at the 2025 era).
** ^fn then gets each notification the filter admits (method, params JSON) on a
** worker thread, one at a time in the order the server sent them; at the
** modern revision those that carry this subscription's id in _meta go to fn
** only, not to the notification handler. ^When the subscription ends
** (mcp_client_unsubscribe, the server ending it, the connection closing) fn is
** called one last time with method NULL and params_json {"reason": "..."};
** then free_fn(user_data) runs. ^On failure fn is never called and free_fn does
** not run (user_data stays the host's).
** Ownership: filter copied; *out_ack_json: caller frees with mcp_string_free;
**            user_data owned by libmcp until free_fn runs.
** Threads:   any host thread (it waits; not inside a libmcp callback).
** Errors:    MCP_OK | MCP_ERR_INVALID_ARG (NULL client or fn, a bad filter) |
**            MCP_ERR_INVALID_JSON | MCP_ERR_STATE (not connected) |
**            MCP_ERR_UNSUPPORTED | MCP_ERR_TIMEOUT | MCP_ERR_PEER (the server
**            refused) | MCP_ERR_CLOSED.
** Since:     1.3
*/
MCP_API mcp_status mcp_client_subscribe(mcp_client_t *client, const char *filter_json, mcp_notification_fn fn,
                                        void *user_data, mcp_free_fn free_fn, int64_t *out_subscription_id,
                                        char **out_ack_json, char **out_error);

/*
** mcp_client_unsubscribe: end a subscription made by mcp_client_subscribe.
** METHOD: mcp_client_t
** ^At the modern revision the listen request is cancelled
** (notifications/cancelled on stdio, its stream closed over HTTP); ^at the 2025
** era resources/unsubscribe is sent for URIs no other subscription still wants.
** ^The subscription's fn gets its final call (method NULL) afterwards, on a
** worker thread. ^An unknown or ended id is a no-op.
** Threads:   any. Errors: MCP_OK | MCP_ERR_INVALID_ARG (NULL client).
** Since:     1.3
*/
MCP_API mcp_status mcp_client_unsubscribe(mcp_client_t *client, int64_t subscription_id, char **out_error);

/*
** mcp_client_request: send a request and wait for its result.
** METHOD: mcp_client_t
**
** method: any client-to-server method of the negotiated revision (ping,
** tools/list, tools/call, resources/..., prompts/..., completion/complete,
** logging/setLevel, tasks/...). ^A method whose capability the server did not
** declare is refused with MCP_ERR_UNSUPPORTED without being sent.
** params_json: the params object or NULL. timeout_ms <= 0 uses the client's
** default. ^On timeout the server gets notifications/cancelled and a late
** answer is dropped. *out_result_json: the result object (caller frees).
** ^When the server answers an error, MCP_ERR_PEER is returned and *out_error
** holds the JSON-RPC error object as JSON text ({"code","message","data"?}).
** Threads: any host thread (MCP_ERR_STATE inside a libmcp callback).
** Errors: MCP_OK | MCP_ERR_INVALID_ARG | MCP_ERR_INVALID_JSON | MCP_ERR_STATE
**         (not connected) | MCP_ERR_UNSUPPORTED | MCP_ERR_TIMEOUT | MCP_ERR_PEER |
**         MCP_ERR_CLOSED.
** Since: 1.0
*/
MCP_API mcp_status mcp_client_request(mcp_client_t *client, const char *method,
                                      const char *params_json, int32_t timeout_ms,
                                      char **out_result_json, char **out_error);

/*
** mcp_client_request_async: send a request; fn gets the outcome later.
** METHOD: mcp_client_t
**
** As mcp_client_request, but returns at once. fn(user_data, status, result,
** error) runs exactly once on a worker thread (see mcp_response_fn). When
** progress_fn is not NULL the request carries a progressToken and progress_fn
** runs for each notifications/progress before fn; progress extends the timeout
** up to max_total_timeout_ms. *out_request_id (may be NULL) identifies the
** request for mcp_client_cancel. ^When the request is lost because its
** connection broke (MCP_ERR_CLOSED, see mcp_client_connect_http), error is
** {"code":-32603,"message":...}, the message saying what the client saw
** (Since: 1.4; NULL before, and still NULL when the client was closed).
** Ownership: user_data stays the host's; it must stay valid until fn runs.
** Threads: any (also inside callbacks).
** Errors: MCP_OK | MCP_ERR_INVALID_ARG | MCP_ERR_INVALID_JSON | MCP_ERR_STATE |
**         MCP_ERR_UNSUPPORTED (then fn does not run).
** Since: 1.0
*/
MCP_API mcp_status mcp_client_request_async(mcp_client_t *client, const char *method,
                                            const char *params_json, int32_t timeout_ms,
                                            mcp_response_fn fn, mcp_progress_fn progress_fn,
                                            void *user_data, int64_t *out_request_id,
                                            char **out_error);

/*
** mcp_client_cancel: cancel a request sent with mcp_client_request_async.
** METHOD: mcp_client_t
** (Since 1.2 request_id may also name a listing of mcp_client_list_async.)
** The server gets notifications/cancelled (with reason, may be NULL); fn gets
** MCP_ERR_CANCELLED; a late answer is dropped. Unknown or finished ids: MCP_OK,
** nothing happens. Threads: any. Errors: MCP_OK | MCP_ERR_INVALID_ARG. Since: 1.0
*/
MCP_API mcp_status mcp_client_cancel(mcp_client_t *client, int64_t request_id,
                                     const char *reason, char **out_error);

/*
** mcp_client_notify: send a notification (e.g. notifications/roots/list_changed).
** METHOD: mcp_client_t
** Threads: any. Errors: MCP_OK | MCP_ERR_INVALID_ARG | MCP_ERR_INVALID_JSON | MCP_ERR_STATE.
** Since: 1.0
*/
MCP_API mcp_status mcp_client_notify(mcp_client_t *client, const char *method,
                                     const char *params_json, char **out_error);

/*
** mcp_client_call_tool: tools/call, blocking. arguments_json NULL means {}.
** METHOD: mcp_client_t
** A tool that fails still gives MCP_OK with "isError": true in the result.
** Otherwise as mcp_client_request. Since: 1.0
*/
MCP_API mcp_status mcp_client_call_tool(mcp_client_t *client, const char *name,
                                        const char *arguments_json, int32_t timeout_ms,
                                        char **out_result_json, char **out_error);

/*
** mcp_client_list: every item of a paginated list, following nextCursor.
** METHOD: mcp_client_t
** method: "tools/list", "resources/list", "resources/templates/list",
** "prompts/list" or "tasks/list". *out_items_json: one JSON array of all the
** items (caller frees). Stops with MCP_ERR_LIMIT after 10000 pages. timeout_ms
** applies to each page. Otherwise as mcp_client_request. Since: 1.0
*/
MCP_API mcp_status mcp_client_list(mcp_client_t *client, const char *method, int32_t timeout_ms,
                                   char **out_items_json, char **out_error);

/*
** mcp_client_list_async: every item of a paginated list; fn gets them later.
** METHOD: mcp_client_t
**
** As mcp_client_list (the same methods and paging rules), but returns at once.
** ^The listing ends at a page whose nextCursor is absent, null or ""; a page
** with no items but a cursor is followed; ^a cursor the server gave before, or
** more than 10000 pages, ends it with MCP_ERR_LIMIT. timeout_ms applies to
** each page. fn(user_data, status, items_json, error_json) runs exactly once
** on a worker thread: ^on MCP_OK items_json is one JSON array of all the
** items; otherwise status is as for mcp_client_request_async plus
** MCP_ERR_LIMIT, and error_json (NULL when not applicable) holds
** {"code","message","data"?}: the server's error for MCP_ERR_PEER (or, for a
** page that is not a list result, an internal-error object saying so), the
** reason for MCP_ERR_LIMIT. *out_request_id (may be NULL) names the listing
** for mcp_client_cancel, which stops it: ^the page in flight is cancelled and
** fn gets MCP_ERR_CANCELLED.
** Ownership: user_data stays the host's; it must stay valid until fn runs.
** Threads: any (also inside callbacks).
** Errors: MCP_OK | MCP_ERR_INVALID_ARG (NULL fn, not a list method) |
**         MCP_ERR_STATE (not connected) | MCP_ERR_UNSUPPORTED (the server did not
**         declare the capability). fn does not run when the status is not MCP_OK.
** Since: 1.2
*/
MCP_API mcp_status mcp_client_list_async(mcp_client_t *client, const char *method, int32_t timeout_ms,
                                         mcp_response_fn fn, void *user_data, int64_t *out_request_id,
                                         char **out_error);

#ifdef __cplusplus
}
#endif

#endif /* MCP_H */
