/*
** test_http_handler.c: mcp_http_handler_t and mcp_http_exchange_t, the MCP
** endpoint inside the host's own web server. Exchanges are driven directly
** (no sockets): both eras, SSE streams with progress, the listener's checks
** and limits (Host/Origin, sizes, rate limit, overload), cancellation when
** the host's client goes away, the wake function, and stop.
*/
#define _POSIX_C_SOURCE 200809L
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

#include "harness.h"

static const char *ACCEPT_BOTH = "application/json, text/event-stream";

static atomic_int slow_cancelled;
static atomic_int slow_running;

/* "slow": sends progress 1/2, then (with "wait": true) waits until the call is
** cancelled, else answers "done". */
static void slow_tool(void *ud, mcp_call_t *call, const char *args_json) {
    (void)ud;
    json_t *args = mcp_j_loads(args_json, NULL);
    int wait = json_is_true(json_object_get(args, "wait"));
    json_decref(args);
    atomic_fetch_add(&slow_running, 1);
    mcp_call_progress(call, 1, 2, "half", NULL);
    if (wait) {
        for (int i = 0; i < 1000 && !mcp_call_is_cancelled(call); i++) harness_sleep_ms(10);
        if (mcp_call_is_cancelled(call)) atomic_store(&slow_cancelled, 1);
    } else {
        mcp_call_progress(call, 2, 2, "all", NULL);
    }
    atomic_fetch_sub(&slow_running, 1);
    mcp_j_call_return_new(call, mcp_j_tool_result_text("done", 0), NULL);
}

static void echo_tool(void *ud, mcp_call_t *call, const char *args_json) {
    (void)ud;
    mcp_j_call_return_new(call, mcp_j_tool_result_text(args_json, 0), NULL);
}

static mcp_server_t *make_server(const char *options) {
    mcp_server_t *s = harness_server(options);
    char *err = NULL;
    CHECK_RC(mcp_server_add_tool(s, "{\"name\":\"echo\",\"inputSchema\":{\"type\":\"object\"}}", echo_tool, NULL, NULL, &err),
             MCP_OK, err);
    CHECK_RC(mcp_server_add_tool(s, "{\"name\":\"slow\",\"inputSchema\":{\"type\":\"object\"}}", slow_tool, NULL, NULL, &err),
             MCP_OK, err);
    mcp_string_free(err);
    return s;
}

typedef struct {
    int status;
    json_t *headers; /* [[name, value], ...] */
    char *body;      /* malloc'd, NUL-terminated */
    size_t len;
    int last;        /* END or ABORT (0: gave up) */
} response_t;

static void response_clear(response_t *r) {
    json_decref(r->headers);
    free(r->body);
    memset(r, 0, sizeof *r);
}

static const char *header(const response_t *r, const char *name) {
    size_t i;
    json_t *pair;
    json_array_foreach(r->headers, i, pair) {
        if (strcasecmp(json_string_value(json_array_get(pair, 0)), name) == 0)
            return json_string_value(json_array_get(pair, 1));
    }
    return NULL;
}

/* Reads parts (blocking, up to 5 s each) until END or ABORT, or until the body
** holds `until` (then stops early, leaving the exchange open). */
static void read_response(mcp_http_exchange_t *x, response_t *r, const char *until) {
    for (;;) {
        int32_t kind = -1, status = 0;
        char *data = NULL, *err = NULL;
        size_t len = 0;
        mcp_status rc = mcp_http_exchange_get_part(x, harness_ms(5000), &kind, &status, &data, &len, &err);
        CHECK_RC(rc, MCP_OK, err);
        mcp_string_free(err);
        if (rc != MCP_OK || kind == MCP_HTTP_PART_NONE) return;
        if (kind == MCP_HTTP_PART_HEAD) {
            r->status = status;
            r->headers = json_loads(data, 0, NULL);
            CHECK(json_is_array(r->headers));
        } else if (kind == MCP_HTTP_PART_BODY) {
            r->body = realloc(r->body, r->len + len + 1);
            memcpy(r->body + r->len, data, len);
            r->len += len;
            r->body[r->len] = 0;
        } else {
            r->last = kind;
        }
        mcp_string_free(data);
        if (r->last) return;
        if (until && r->body && strstr(r->body, until)) return;
    }
}

/* Starts an exchange: headers is "Name", "Value", ..., NULL. Host defaults to
** 127.0.0.1 unless given. */
static mcp_http_exchange_t *begin(mcp_http_handler_t *h, const char *method, const char *target,
                                  const char *const *headers, const char *body) {
    mcp_http_exchange_t *x = NULL;
    char *err = NULL;
    CHECK_RC(mcp_http_exchange_new(h, method, target, "127.0.0.1", &x, &err), MCP_OK, err);
    mcp_string_free(err);
    if (!x) return NULL;
    int has_host = 0;
    for (int i = 0; headers && headers[i]; i += 2) {
        if (strcasecmp(headers[i], "host") == 0) has_host = 1;
        CHECK_EQ(mcp_http_exchange_add_header(x, headers[i], headers[i + 1], NULL), MCP_OK);
    }
    if (!has_host) CHECK_EQ(mcp_http_exchange_add_header(x, "Host", "127.0.0.1:8000", NULL), MCP_OK);
    if (body) {
        /* In two pieces, as a host reading its client's body would hand it over. */
        size_t n = strlen(body), half = n / 2;
        CHECK_EQ(mcp_http_exchange_add_body(x, body, half, NULL), MCP_OK);
        CHECK_EQ(mcp_http_exchange_add_body(x, body + half, n - half, NULL), MCP_OK);
    }
    CHECK_EQ(mcp_http_exchange_start(x, NULL, NULL, NULL, NULL), MCP_OK);
    return x;
}

static void exchange(mcp_http_handler_t *h, const char *method, const char *target, const char *const *headers,
                     const char *body, response_t *r) {
    memset(r, 0, sizeof *r);
    mcp_http_exchange_t *x = begin(h, method, target, headers, body);
    if (!x) return;
    read_response(x, r, NULL);
    mcp_http_exchange_free(x);
}

static mcp_http_handler_t *handler(mcp_server_t *s, const char *config) {
    mcp_http_handler_t *h = NULL;
    char *err = NULL;
    CHECK_RC(mcp_http_handler_new(s, config, &h, &err), MCP_OK, err);
    mcp_string_free(err);
    return h;
}

static const char *MODERN_CALL =
    "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/call\",\"params\":{\"name\":\"%s\",\"arguments\":%s,"
    "\"_meta\":{\"progressToken\":\"p1\",\"io.modelcontextprotocol/protocolVersion\":\"2026-07-28\","
    "\"io.modelcontextprotocol/clientInfo\":{\"name\":\"t\",\"version\":\"1\"},"
    "\"io.modelcontextprotocol/clientCapabilities\":{}}}}";

static void modern_call(mcp_http_handler_t *h, const char *tool, const char *args, const char *accept, response_t *r) {
    char body[1024];
    snprintf(body, sizeof body, MODERN_CALL, tool, args);
    const char *headers[] = {"Content-Type", "application/json", "Accept", accept, "MCP-Protocol-Version", "2026-07-28",
                             "Mcp-Method", "tools/call", "Mcp-Name", tool, NULL};
    exchange(h, "POST", "/mcp", headers, body, r);
}

static void test_arguments(void) {
    harness_section("arguments");
    mcp_server_t *s = make_server(NULL);
    mcp_http_handler_t *h = NULL;
    char *err = NULL;
    CHECK_RC(mcp_http_handler_new(NULL, NULL, &h, &err), MCP_ERR_INVALID_ARG, err);
    CHECK(h == NULL);
    mcp_string_free(err);
    CHECK_RC(mcp_http_handler_new(s, "{\"port\": 8000}", &h, &err), MCP_ERR_INVALID_ARG, err);
    CHECK(err && strstr(err, "port"));
    mcp_string_free(err);
    /* How the host's server accepts connections is the host's (since 1.6). */
    CHECK_RC(mcp_http_handler_new(s, "{\"accept_rate\": 100}", &h, &err), MCP_ERR_INVALID_ARG, err);
    CHECK(err && strstr(err, "accept_rate"));
    mcp_string_free(err);
    CHECK_RC(mcp_http_handler_new(s, "{\"nope\": 1}", &h, &err), MCP_ERR_INVALID_ARG, err);
    mcp_string_free(err);
    CHECK_RC(mcp_http_handler_new(s, "{", &h, &err), MCP_ERR_INVALID_JSON, err);
    mcp_string_free(err);
    CHECK_RC(mcp_http_handler_new(s, "{\"path\": \"mcp\"}", &h, &err), MCP_ERR_INVALID_ARG, err);
    mcp_string_free(err);
    CHECK(h == NULL);

    h = handler(s, NULL);
    mcp_http_exchange_t *x = NULL;
    CHECK_RC(mcp_http_exchange_new(h, "POST", "mcp", NULL, &x, &err), MCP_ERR_INVALID_ARG, err);
    mcp_string_free(err);
    CHECK_RC(mcp_http_exchange_new(h, "", "/mcp", NULL, &x, &err), MCP_ERR_INVALID_ARG, err);
    mcp_string_free(err);
    CHECK_EQ(mcp_http_exchange_new(h, "POST", "/mcp", NULL, NULL, NULL), MCP_ERR_INVALID_ARG);
    CHECK_RC(mcp_http_exchange_new(h, "POST", "/mcp", NULL, &x, &err), MCP_OK, err);
    CHECK_EQ(mcp_http_exchange_add_header(x, "Bad Name", "v", NULL), MCP_ERR_INVALID_ARG);
    CHECK_EQ(mcp_http_exchange_add_header(x, "X-Split", "a\r\nb", NULL), MCP_ERR_INVALID_ARG);
    CHECK_EQ(mcp_http_exchange_add_body(x, NULL, 3, NULL), MCP_ERR_INVALID_ARG);
    int32_t kind = -1;
    CHECK_EQ(mcp_http_exchange_get_part(x, 0, &kind, NULL, NULL, NULL, NULL), MCP_ERR_STATE);
    CHECK_EQ(mcp_http_exchange_start(x, NULL, NULL, NULL, NULL), MCP_OK);
    CHECK_EQ(mcp_http_exchange_start(x, NULL, NULL, NULL, NULL), MCP_ERR_STATE);
    CHECK_EQ(mcp_http_exchange_add_header(x, "X-Late", "v", NULL), MCP_ERR_STATE);
    CHECK_EQ(mcp_http_exchange_add_body(x, "x", 1, NULL), MCP_ERR_STATE);
    CHECK_EQ(mcp_http_exchange_get_part(x, 0, NULL, NULL, NULL, NULL, NULL), MCP_ERR_INVALID_ARG);
    mcp_http_exchange_free(x);
    mcp_http_exchange_free(NULL);
    mcp_http_handler_free(h);
    mcp_http_handler_free(NULL);
    mcp_server_free(s);
}

static void test_modern(void) {
    harness_section("2026-07-28: JSON answer, SSE with progress");
    mcp_server_t *s = make_server(NULL);
    mcp_http_handler_t *h = handler(s, NULL);
    response_t r;
    modern_call(h, "echo", "{\"x\":1}", "application/json", &r);
    CHECK_EQ(r.status, 200);
    CHECK_STR(header(&r, "content-type"), "application/json");
    CHECK(header(&r, "content-length") != NULL);
    CHECK(r.body && strstr(r.body, "\"id\":7") && strstr(r.body, "\\\"x\\\":1"));
    CHECK_EQ(r.last, MCP_HTTP_PART_END);
    response_clear(&r);

    /* Progress before the answer turns the answer into an SSE stream. */
    modern_call(h, "slow", "{}", ACCEPT_BOTH, &r);
    CHECK_EQ(r.status, 200);
    CHECK_STR(header(&r, "content-type"), "text/event-stream");
    CHECK(header(&r, "content-length") == NULL);
    CHECK(r.body && strstr(r.body, "notifications/progress") && strstr(r.body, "\"done\""));
    CHECK(r.body && strstr(r.body, "notifications/progress") < strstr(r.body, "\"done\""));
    CHECK_EQ(r.last, MCP_HTTP_PART_END);
    response_clear(&r);

    /* Header against body: -32020 with 400, before the engine runs anything. */
    const char *bad[] = {"Content-Type", "application/json", "Accept", ACCEPT_BOTH, "MCP-Protocol-Version", "2026-07-28",
                         "Mcp-Method", "tools/list", NULL};
    char body[1024];
    snprintf(body, sizeof body, MODERN_CALL, "echo", "{}");
    exchange(h, "POST", "/mcp", bad, body, &r);
    CHECK_EQ(r.status, 400);
    CHECK(r.body && strstr(r.body, "-32020"));
    response_clear(&r);

    /* A route that is not the handler's path: 404, as on the listener. */
    exchange(h, "POST", "/elsewhere", bad, body, &r);
    CHECK_EQ(r.status, 404);
    response_clear(&r);
    mcp_http_handler_free(h);
    mcp_server_free(s);
}

static char *session_id_from(const response_t *r) {
    const char *id = header(r, "mcp-session-id");
    return id ? strdup(id) : NULL;
}

static void test_legacy_session(void) {
    harness_section("2025: session, progress stream, resumption, GET stream, DELETE, stop");
    mcp_server_t *s = make_server(NULL);
    mcp_http_handler_t *h = handler(s, NULL);
    response_t r;
    const char *init_headers[] = {"Content-Type", "application/json", "Accept", ACCEPT_BOTH, NULL};
    exchange(h, "POST", "/mcp", init_headers,
             "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{\"protocolVersion\":\"2025-11-25\","
             "\"capabilities\":{},\"clientInfo\":{\"name\":\"t\",\"version\":\"1\"}}}", &r);
    CHECK_EQ(r.status, 200);
    char *sid = session_id_from(&r);
    CHECK(sid != NULL);
    CHECK(r.body && strstr(r.body, "\"protocolVersion\":\"2025-11-25\""));
    response_clear(&r);
    if (!sid) goto out;
    const char *hs[] = {"Content-Type", "application/json", "Accept", ACCEPT_BOTH, "Mcp-Session-Id", sid,
                        "MCP-Protocol-Version", "2025-11-25", NULL};
    exchange(h, "POST", "/mcp", hs, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}", &r);
    CHECK_EQ(r.status, 202);
    response_clear(&r);

    exchange(h, "POST", "/mcp", hs,
             "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":{\"name\":\"slow\",\"arguments\":{},"
             "\"_meta\":{\"progressToken\":5}}}", &r);
    CHECK_EQ(r.status, 200);
    CHECK_STR(header(&r, "content-type"), "text/event-stream");
    /* 2025-11-25 streams have event ids (resumable) and a priming event. */
    CHECK(r.body && strstr(r.body, "id: ") && strstr(r.body, "notifications/progress") && strstr(r.body, "\"done\""));
    /* Resumption: GET with the Last-Event-ID of the stream's first event replays what followed it. */
    char last_id[64] = "";
    const char *idline = r.body ? strstr(r.body, "id: ") : NULL;
    if (idline) sscanf(idline + 4, "%63[^\r\n]", last_id);
    response_clear(&r);
    CHECK(last_id[0] != 0);
    const char *rs[] = {"Accept", "text/event-stream", "Mcp-Session-Id", sid, "MCP-Protocol-Version", "2025-11-25",
                        "Last-Event-ID", last_id, NULL};
    exchange(h, "GET", "/mcp", rs, NULL, &r);
    CHECK_EQ(r.status, 200);
    CHECK(r.body && strstr(r.body, "notifications/progress") && strstr(r.body, "\"done\""));
    CHECK_EQ(r.last, MCP_HTTP_PART_END);
    response_clear(&r);

    /* The standalone GET stream: open until the handler stops. */
    const char *gs[] = {"Accept", "text/event-stream", "Mcp-Session-Id", sid, "MCP-Protocol-Version", "2025-11-25", NULL};
    mcp_http_exchange_t *get = begin(h, "GET", "/mcp", gs, NULL);
    response_t g = {0};
    read_response(get, &g, "id: ");  /* the priming event */
    CHECK_EQ(g.status, 200);
    CHECK_EQ(g.last, 0);
    /* A second GET stream for the session: 409. */
    exchange(h, "GET", "/mcp", gs, NULL, &r);
    CHECK_EQ(r.status, 409);
    response_clear(&r);

    /* Another session's DELETE: this one ends; its id is then unknown (404). */
    exchange(h, "DELETE", "/mcp", hs, NULL, &r);
    CHECK_EQ(r.status, 200);
    response_clear(&r);
    read_response(get, &g, NULL); /* the session's close ends its GET stream */
    CHECK_EQ(g.last, MCP_HTTP_PART_END);
    response_clear(&g);
    mcp_http_exchange_free(get);
    exchange(h, "POST", "/mcp", hs, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/list\"}", &r);
    CHECK_EQ(r.status, 404);
    response_clear(&r);

    char *err = NULL;
    CHECK_RC(mcp_http_handler_stop(h, 1000, &err), MCP_OK, err);
    mcp_http_exchange_t *x = NULL;
    CHECK_RC(mcp_http_exchange_new(h, "POST", "/mcp", NULL, &x, &err), MCP_ERR_STATE, err);
    mcp_string_free(err);
    CHECK_EQ(mcp_http_handler_stop(h, 0, NULL), MCP_OK);
out:
    free(sid);
    mcp_http_handler_free(h);
    mcp_server_free(s);
}

static void test_checks_and_limits(void) {
    harness_section("checks and limits: Host, Origin, sizes, rate, overload");
    mcp_server_t *s = make_server("{\"max_calls_in_flight\": 1}");
    mcp_http_handler_t *h = handler(s, "{\"max_body_bytes\": 1024, \"max_header_bytes\": 1024}");
    response_t r;
    char body[1024];
    snprintf(body, sizeof body, MODERN_CALL, "echo", "{}");
    const char *evil_host[] = {"Host", "evil.example", "Content-Type", "application/json", NULL};
    exchange(h, "POST", "/mcp", evil_host, body, &r);
    CHECK_EQ(r.status, 403);
    response_clear(&r);
    const char *evil_origin[] = {"Origin", "http://evil.example", "Content-Type", "application/json", NULL};
    exchange(h, "POST", "/mcp", evil_origin, body, &r);
    CHECK_EQ(r.status, 403);
    response_clear(&r);
    const char *two_hosts[] = {"Host", "127.0.0.1", "Host", "localhost", NULL};
    exchange(h, "POST", "/mcp", two_hosts, body, &r);
    CHECK_EQ(r.status, 400);
    response_clear(&r);
    const char *text[] = {"Content-Type", "text/plain", NULL};
    exchange(h, "POST", "/mcp", text, body, &r);
    CHECK_EQ(r.status, 415);
    response_clear(&r);

    char big[2048];
    memset(big, ' ', sizeof big - 1);
    big[sizeof big - 1] = 0;
    big[0] = '{';
    big[sizeof big - 2] = '}';
    const char *json[] = {"Content-Type", "application/json", NULL};
    exchange(h, "POST", "/mcp", json, big, &r);
    CHECK_EQ(r.status, 413);
    CHECK(r.body && strstr(r.body, "1024-byte limit"));
    response_clear(&r);
    const char *fat[] = {"Content-Type", "application/json", "X-Fat", big, NULL};
    exchange(h, "POST", "/mcp", fat, body, &r);
    CHECK_EQ(r.status, 431);
    response_clear(&r);

    /* Overload: with one call in flight (max_calls_in_flight 1), the next gets 503. */
    char slow_body[1024];
    snprintf(slow_body, sizeof slow_body, MODERN_CALL, "slow", "{\"wait\":true}");
    const char *sh[] = {"Content-Type", "application/json", "Accept", ACCEPT_BOTH, "MCP-Protocol-Version", "2026-07-28",
                        "Mcp-Method", "tools/call", "Mcp-Name", "slow", NULL};
    const char *mh[] = {"Content-Type", "application/json", "Accept", ACCEPT_BOTH, "MCP-Protocol-Version", "2026-07-28",
                        "Mcp-Method", "tools/call", "Mcp-Name", "echo", NULL};
    atomic_store(&slow_cancelled, 0);
    mcp_http_exchange_t *busy = begin(h, "POST", "/mcp", sh, slow_body);
    response_t b = {0};
    read_response(busy, &b, "notifications/progress");
    CHECK_EQ(b.status, 200);
    exchange(h, "POST", "/mcp", mh, body, &r);
    CHECK_EQ(r.status, 503);
    CHECK(header(&r, "retry-after") != NULL);
    response_clear(&r);
    /* The host's client goes away mid-stream: freeing cancels the call. */
    mcp_http_exchange_free(busy);
    response_clear(&b);
    CHECK(harness_wait_flag((volatile int *)&slow_cancelled, harness_ms(5000)));
    double until = harness_now_ms() + harness_ms(5000);
    while (atomic_load(&slow_running) > 0 && harness_now_ms() < until) harness_sleep_ms(5);
    CHECK_EQ(atomic_load(&slow_running), 0);
    mcp_http_handler_free(h);

    /* Rate limit, keyed by the exchange's remote address. */
    h = handler(s, "{\"rate_limit\": {\"requests_per_second\": 0.01, \"burst\": 1}}");
    exchange(h, "POST", "/mcp", mh, body, &r);
    CHECK_EQ(r.status, 200);
    response_clear(&r);
    exchange(h, "POST", "/mcp", mh, body, &r);
    CHECK_EQ(r.status, 429);
    CHECK(header(&r, "retry-after") != NULL);
    response_clear(&r);
    mcp_http_handler_free(h);
    mcp_server_free(s);
}

/* A token verifier: "good" is alice, anything else is refused. */
static void verify(void *ud, const char *token, mcp_token_check_t *check) {
    (void)ud;
    if (strcmp(token, "good") == 0) {
        mcp_token_check_accept(check, "{\"subject\":\"alice\",\"scopes\":[\"mcp\"]}", NULL);
    } else {
        mcp_token_check_refuse(check, "unknown token", NULL);
    }
}

static void test_auth(void) {
    harness_section("auth: 401 with the challenge, the metadata route, a good token served");
    mcp_server_t *s = make_server(NULL);
    CHECK_EQ(mcp_server_set_token_verifier(s, verify, NULL, NULL, NULL), MCP_OK);
    mcp_http_handler_t *h = handler(s, "{\"auth\":{\"resource\":\"http://127.0.0.1:8000/mcp\","
                                       "\"authorization_servers\":[\"https://as.example\"]}}");
    response_t r;
    char body[1024];
    snprintf(body, sizeof body, MODERN_CALL, "echo", "{}");
    const char *none[] = {"Content-Type", "application/json", "Accept", ACCEPT_BOTH, "MCP-Protocol-Version", "2026-07-28",
                          "Mcp-Method", "tools/call", "Mcp-Name", "echo", NULL};
    exchange(h, "POST", "/mcp", none, body, &r);
    CHECK_EQ(r.status, 401);
    const char *challenge = header(&r, "www-authenticate");
    CHECK(challenge && strstr(challenge, "Bearer") && strstr(challenge, "resource_metadata="));
    response_clear(&r);
    const char *bad[] = {"Content-Type", "application/json", "Accept", ACCEPT_BOTH, "MCP-Protocol-Version", "2026-07-28",
                         "Mcp-Method", "tools/call", "Mcp-Name", "echo", "Authorization", "Bearer bad", NULL};
    exchange(h, "POST", "/mcp", bad, body, &r);
    CHECK_EQ(r.status, 401);
    response_clear(&r);
    const char *good[] = {"Content-Type", "application/json", "Accept", ACCEPT_BOTH, "MCP-Protocol-Version", "2026-07-28",
                          "Mcp-Method", "tools/call", "Mcp-Name", "echo", "Authorization", "Bearer good", NULL};
    exchange(h, "POST", "/mcp", good, body, &r);
    CHECK_EQ(r.status, 200);
    CHECK(r.body && strstr(r.body, "\"id\":7"));
    response_clear(&r);
    exchange(h, "GET", "/.well-known/oauth-protected-resource/mcp", NULL, NULL, &r);
    CHECK_EQ(r.status, 200);
    CHECK(r.body && strstr(r.body, "https://as.example"));
    response_clear(&r);
    mcp_http_handler_free(h);
    mcp_server_free(s);
}

typedef struct {
    atomic_int wakes;
    atomic_int freed;
} wake_state;

static void on_wake(void *ud) { atomic_fetch_add(&((wake_state *)ud)->wakes, 1); }
static void on_free(void *ud) { atomic_fetch_add(&((wake_state *)ud)->freed, 1); }

static void test_wake(void) {
    harness_section("wake function and non-blocking reads");
    mcp_server_t *s = make_server(NULL);
    mcp_http_handler_t *h = handler(s, NULL);
    wake_state w;
    atomic_init(&w.wakes, 0);
    atomic_init(&w.freed, 0);
    char body[1024];
    snprintf(body, sizeof body, MODERN_CALL, "slow", "{}");
    mcp_http_exchange_t *x = NULL;
    CHECK_EQ(mcp_http_exchange_new(h, "POST", "/mcp", NULL, &x, NULL), MCP_OK);
    CHECK_EQ(mcp_http_exchange_add_header(x, "Host", "localhost", NULL), MCP_OK);
    CHECK_EQ(mcp_http_exchange_add_header(x, "Content-Type", "application/json", NULL), MCP_OK);
    CHECK_EQ(mcp_http_exchange_add_body(x, body, strlen(body), NULL), MCP_OK);
    CHECK_EQ(mcp_http_exchange_start(x, on_wake, &w, on_free, NULL), MCP_OK);
    int seen_wakes = 0, ended = 0, parts = 0;
    double deadline = harness_now_ms() + harness_ms(5000);
    while (!ended && harness_now_ms() < deadline) {
        int32_t kind = -1;
        char *data = NULL;
        CHECK_EQ(mcp_http_exchange_get_part(x, 0, &kind, NULL, &data, NULL, NULL), MCP_OK);
        mcp_string_free(data);
        if (kind == MCP_HTTP_PART_NONE) {
            /* Nothing now: the next part comes with a wake (every time). */
            CHECK(harness_wait_count((volatile int *)&w.wakes, seen_wakes + 1, harness_ms(5000)) >= seen_wakes + 1);
            seen_wakes = atomic_load(&w.wakes);
        } else {
            parts++;
            if (kind == MCP_HTTP_PART_END) ended = 1;
        }
    }
    CHECK(ended);
    CHECK(parts >= 3);
    int32_t again = -1;
    CHECK_EQ(mcp_http_exchange_get_part(x, 0, &again, NULL, NULL, NULL, NULL), MCP_OK);
    CHECK_EQ(again, MCP_HTTP_PART_END);
    CHECK_EQ(atomic_load(&w.freed), 0);
    mcp_http_exchange_free(x);
    CHECK(harness_wait_count((volatile int *)&w.freed, 1, harness_ms(5000)) == 1);
    mcp_http_handler_free(h);
    mcp_server_free(s);
}

static void test_free_with_exchange_open(void) {
    harness_section("handler freed with an exchange still open: cut, and the exchange still frees");
    mcp_server_t *s = make_server(NULL);
    mcp_http_handler_t *h = handler(s, NULL);
    char body[1024];
    snprintf(body, sizeof body, MODERN_CALL, "slow", "{\"wait\":true}");
    const char *sh[] = {"Content-Type", "application/json", "Accept", ACCEPT_BOTH, "MCP-Protocol-Version", "2026-07-28",
                        "Mcp-Method", "tools/call", "Mcp-Name", "slow", NULL};
    atomic_store(&slow_cancelled, 0);
    mcp_http_exchange_t *x = begin(h, "POST", "/mcp", sh, body);
    response_t r = {0};
    read_response(x, &r, "notifications/progress");
    CHECK_EQ(r.status, 200);
    mcp_http_handler_free(h);  /* stops with no grace: the open response is cut */
    read_response(x, &r, NULL);
    CHECK_EQ(r.last, MCP_HTTP_PART_ABORT);
    CHECK(harness_wait_flag((volatile int *)&slow_cancelled, harness_ms(5000)));
    response_clear(&r);
    mcp_http_exchange_free(x);
    mcp_server_free(s);
}

int main(void) {
    test_arguments();
    test_modern();
    test_legacy_session();
    test_checks_and_limits();
    test_wake();
    test_auth();
    test_free_with_exchange_open();
    return harness_finish();
}
