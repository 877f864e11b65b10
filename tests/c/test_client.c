/*
** test_client.c: the client ABI (mcp_client_*) over stdio against two servers:
** our everything server and a fixture server written with the official Python
** SDK (tests/interop/fixtures/sdk_server.py), which we did not write.
** Paths come from the environment: MCP_EVERYTHING_SERVER, MCP_PYTHON, MCP_SDK_SERVER.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <stdatomic.h>

#include "harness.h"

static const char *env_or_die(const char *name) {
    const char *v = getenv(name);
    if (!v || !*v) {
        fprintf(stderr, "test_client: %s is not set\n", name);
        exit(2);
    }
    return v;
}

/* ------------------------------------------------------------ handlers */

static void answer_sampling(void *ud, mcp_call_t *call, const char *method, const char *params_json) {
    (void)ud;
    (void)params_json;
    CHECK_STR(method, "sampling/createMessage");
    mcp_status rc = mcp_call_return(call,
        "{\"role\":\"assistant\",\"content\":{\"type\":\"text\",\"text\":\"sampled by C\"},\"model\":\"c-model\"}", NULL);
    CHECK_RC(rc, MCP_OK, NULL);
}

/* Elicitation answered with each field's default, as mcp-client does. */
static void answer_elicitation(void *ud, mcp_call_t *call, const char *method, const char *params_json) {
    (void)ud;
    (void)method;
    json_t *params = json_loads(params_json, 0, NULL);
    json_t *content = json_object();
    const char *key;
    json_t *prop;
    json_object_foreach(json_object_get(json_object_get(params, "requestedSchema"), "properties"), key, prop) {
        json_t *def = json_object_get(prop, "default");
        json_object_set_new(content, key, def ? json_incref(def) : json_string("x@example.com"));
    }
    json_t *result = json_pack("{s:s, s:o}", "action", "accept", "content", content);
    CHECK_RC(mcp_j_call_return(call, result, NULL), MCP_OK, NULL);
    json_decref(result);
    json_decref(params);
}

static pthread_mutex_t notes_lock = PTHREAD_MUTEX_INITIALIZER;
static int log_notes = 0;

static void on_notification(void *ud, const char *method, const char *params_json) {
    (void)ud;
    (void)params_json;
    pthread_mutex_lock(&notes_lock);
    if (strcmp(method, "notifications/message") == 0) log_notes++;
    pthread_mutex_unlock(&notes_lock);
}

static int notes_seen(void) {
    pthread_mutex_lock(&notes_lock);
    int n = log_notes;
    pthread_mutex_unlock(&notes_lock);
    return n;
}

typedef struct {
    volatile int done;
    volatile int progress;
    mcp_status status;
    char *result;
} outcome_t;

static void on_progress(void *ud, const char *params_json) {
    (void)params_json;
    outcome_t *o = ud;
    if (!__atomic_load_n(&o->done, __ATOMIC_SEQ_CST)) o->progress++;
}

static void on_response(void *ud, mcp_status status, const char *result_json, const char *error_json) {
    outcome_t *o = ud;
    (void)error_json;
    o->status = status;
    o->result = result_json ? strdup(result_json) : NULL;
    __atomic_store_n(&o->done, 1, __ATOMIC_SEQ_CST);  /* publishes status and result to harness_wait_flag */
}

static atomic_int stderr_lines;

static void on_stderr(void *ud, const char *line, size_t length) {
    (void)ud;
    (void)line;
    (void)length;
    atomic_fetch_add(&stderr_lines, 1);
}

static mcp_client_t *new_client_with(const char *options) {
    mcp_client_t *c = NULL;
    char *err = NULL;
    CHECK_RC(mcp_client_new("test-client", "1.0", options, &c, &err), MCP_OK, err);
    mcp_string_free(err);
    CHECK_RC(mcp_client_set_request_handler(c, "sampling/createMessage", answer_sampling, NULL, NULL, NULL), MCP_OK, NULL);
    CHECK_RC(mcp_client_set_request_handler(c, "elicitation/create", answer_elicitation, NULL, NULL, NULL), MCP_OK, NULL);
    CHECK_RC(mcp_client_set_notification_handler(c, on_notification, NULL, NULL, NULL), MCP_OK, NULL);
    return c;
}

/* The 2025 era: the servers' requests mid-call (sampling, elicitation) are what these tests cover. */
static mcp_client_t *new_client(void) {
    return new_client_with("{\"request_timeout_ms\":20000,\"era\":\"legacy\"}");
}

static json_t *call_tool(mcp_client_t *c, const char *name, const char *args) {
    char *out = NULL, *err = NULL;
    mcp_status rc = mcp_client_call_tool(c, name, args, 20000, &out, &err);
    CHECK_RC(rc, MCP_OK, err);
    json_t *r = out ? json_loads(out, 0, NULL) : NULL;
    mcp_string_free(out);
    mcp_string_free(err);
    return r;
}

static const char *first_text(json_t *result) {
    return json_string_value(json_object_get(json_array_get(json_object_get(result, "content"), 0), "text"));
}

/* ------------------------------------------------------------ ours */

static void test_everything_server(void) {
    harness_section("client against the everything server");
    mcp_client_t *c = new_client();
    const char *argv[] = {env_or_die("MCP_EVERYTHING_SERVER"), NULL};
    char *init = NULL, *err = NULL;
    CHECK_RC(mcp_client_connect_stdio(c, argv, NULL, NULL, &init, &err), MCP_OK, err);
    json_t *ir = json_loads(init ? init : "{}", 0, NULL);
    CHECK_STR(json_string_value(json_object_get(ir, "protocolVersion")), "2025-11-25");
    json_decref(ir);
    mcp_string_free(init);
    CHECK_RC(mcp_client_connect_stdio(c, argv, NULL, NULL, NULL, &err), MCP_ERR_STATE, err);
    mcp_string_free(err);
    err = NULL;

    char *items = NULL;
    CHECK_RC(mcp_client_list(c, "tools/list", 5000, &items, &err), MCP_OK, err);
    json_t *tools = json_loads(items ? items : "[]", 0, NULL);
    CHECK(json_array_size(tools) >= 12);
    /* The same listing, asynchronously: the same items, by the same engine. */
    outcome_t lo = {0};
    int64_t list_id = 0;
    CHECK_RC(mcp_client_list_async(c, "tools/list", 5000, on_response, &lo, &list_id, &err), MCP_OK, err);
    CHECK(list_id != 0);
    CHECK(harness_wait_flag(&lo.done, harness_ms(10000)));
    CHECK_EQ(lo.status, MCP_OK);
    json_t *async_tools = json_loads(lo.result ? lo.result : "null", 0, NULL);
    CHECK(json_equal(tools, async_tools));
    json_decref(async_tools);
    free(lo.result);
    CHECK_RC(mcp_client_list_async(c, "tools/call", 5000, on_response, &lo, NULL, &err), MCP_ERR_INVALID_ARG, err);
    mcp_string_free(err);
    err = NULL;
    CHECK_RC(mcp_client_list_async(c, "tools/list", 5000, NULL, NULL, NULL, &err), MCP_ERR_INVALID_ARG, err);
    mcp_string_free(err);
    err = NULL;
    json_decref(tools);
    mcp_string_free(items);

    json_t *r = call_tool(c, "test_echo", "{\"text\":\"round trip\"}");
    CHECK_STR(first_text(r), "round trip");
    json_decref(r);

    char *out = NULL;
    CHECK_RC(mcp_client_call_tool(c, "no_such_tool", NULL, 5000, &out, &err), MCP_ERR_PEER, err);
    json_t *e = json_loads(err ? err : "{}", 0, NULL);
    CHECK_EQ(json_integer_value(json_object_get(e, "code")), -32602);
    json_decref(e);
    mcp_string_free(err);
    err = NULL;

    r = call_tool(c, "test_sampling", "{\"prompt\":\"hi\"}");
    CHECK(first_text(r) && strstr(first_text(r), "sampled by C") != NULL);
    json_decref(r);
    r = call_tool(c, "test_elicitation_sep1034_defaults", NULL);
    CHECK(first_text(r) && strstr(first_text(r), "\"age\":30") != NULL);
    json_decref(r);

    /* Logging: three messages reach the notification handler after setLevel. */
    CHECK_RC(mcp_client_request(c, "logging/setLevel", "{\"level\":\"debug\"}", 5000, &out, &err), MCP_OK, err);
    mcp_string_free(out);
    r = call_tool(c, "test_tool_with_logging", NULL);
    json_decref(r);
    for (int i = 0; i < 200 && notes_seen() < 3; i++) harness_sleep_ms(10);
    CHECK_EQ(notes_seen(), 3);

    /* Progress arrives before the response of an asynchronous request. */
    outcome_t o = {0};
    CHECK_RC(mcp_client_request_async(c, "tools/call", "{\"name\":\"test_tool_with_progress\"}", 10000, on_response,
                                      on_progress, &o, NULL, &err), MCP_OK, err);
    CHECK(harness_wait_flag(&o.done, harness_ms(10000)));
    CHECK_EQ(o.status, MCP_OK);
    CHECK_EQ(o.progress, 3);
    free(o.result);

    /* Cancelling: the callback gets MCP_ERR_CANCELLED and the server saw it. */
    outcome_t slow = {0};
    int64_t id = 0;
    CHECK_RC(mcp_client_request_async(c, "tools/call", "{\"name\":\"test_sleep\",\"arguments\":{\"ms\":5000}}", 10000,
                                      on_response, NULL, &slow, &id, &err), MCP_OK, err);
    CHECK(id > 0);
    harness_sleep_ms(100);
    CHECK_RC(mcp_client_cancel(c, id, "test", &err), MCP_OK, err);
    CHECK(harness_wait_flag(&slow.done, harness_ms(2000)));
    CHECK_EQ(slow.status, MCP_ERR_CANCELLED);
    harness_sleep_ms(200);
    r = call_tool(c, "test_cancel_count", NULL);
    CHECK(json_integer_value(json_object_get(json_object_get(r, "structuredContent"), "count")) >= 1);
    json_decref(r);

    /* A timeout cancels on the server too and returns MCP_ERR_TIMEOUT. */
    CHECK_RC(mcp_client_call_tool(c, "test_sleep", "{\"ms\":3000}", 200, &out, &err), MCP_ERR_TIMEOUT, err);
    mcp_string_free(err);
    err = NULL;

    CHECK_RC(mcp_client_close(c, &err), MCP_OK, err);
    CHECK_RC(mcp_client_request(c, "ping", NULL, 1000, &out, &err), MCP_ERR_STATE, err);
    mcp_string_free(err);
    mcp_client_free(c);
}

/* ------------------------------------------------------------ the SDK's */

static void test_sdk_server(void) {
    harness_section("client against the official Python SDK server");
    mcp_client_t *c = new_client();
    /* The SDK server logs tracebacks on stderr: they reach the handler, not our stderr. */
    CHECK_RC(mcp_client_set_stderr_handler(c, on_stderr, NULL, NULL, NULL), MCP_OK, NULL);
    const char *argv[] = {env_or_die("MCP_PYTHON"), env_or_die("MCP_SDK_SERVER"), "stdio", NULL};
    char *err = NULL, *out = NULL;
    CHECK_RC(mcp_client_connect_stdio(c, argv, NULL, NULL, NULL, &err), MCP_OK, err);
    CHECK_RC(mcp_client_server_info(c, &out, &err), MCP_OK, err);
    json_t *info = json_loads(out ? out : "{}", 0, NULL);
    CHECK_STR(json_string_value(json_object_get(json_object_get(info, "serverInfo"), "name")), "sdk-fixture");
    json_decref(info);
    mcp_string_free(out);

    json_t *r = call_tool(c, "add", "{\"a\":2,\"b\":3}");
    CHECK_EQ(json_integer_value(json_object_get(json_object_get(r, "structuredContent"), "result")), 5);
    json_decref(r);
    r = call_tool(c, "fail", "{\"message\":\"boom\"}");
    CHECK(json_is_true(json_object_get(r, "isError")));
    CHECK(first_text(r) && strstr(first_text(r), "fail") != NULL);
    json_decref(r);
    r = call_tool(c, "sample", "{\"prompt\":\"hello\"}");
    CHECK(first_text(r) && strstr(first_text(r), "sampled by C") != NULL);
    json_decref(r);
    r = call_tool(c, "ask", NULL);
    CHECK_STR(first_text(r), "Ada 36");
    json_decref(r);

    outcome_t o = {0};
    CHECK_RC(mcp_client_request_async(c, "tools/call", "{\"name\":\"progress\",\"arguments\":{\"steps\":4}}", 10000,
                                      on_response, on_progress, &o, NULL, &err), MCP_OK, err);
    CHECK(harness_wait_flag(&o.done, harness_ms(10000)));
    CHECK_EQ(o.progress, 4);
    free(o.result);

    CHECK_RC(mcp_client_request(c, "resources/read", "{\"uri\":\"fixture://item/7\"}", 5000, &out, &err), MCP_OK, err);
    CHECK(out && strstr(out, "item 7") != NULL);
    mcp_string_free(out);
    CHECK_RC(mcp_client_request(c, "prompts/get", "{\"name\":\"review\",\"arguments\":{\"code\":\"x=1\"}}", 5000, &out, &err),
             MCP_OK, err);
    CHECK(out && strstr(out, "Please review: x=1") != NULL);
    mcp_string_free(out);

    /* The SDK server does not declare logging or completions: we do not send them. */
    CHECK_RC(mcp_client_request(c, "completion/complete", "{}", 5000, &out, &err), MCP_ERR_UNSUPPORTED, err);
    mcp_string_free(err);
    err = NULL;
    mcp_client_free(c);
    CHECK(atomic_load(&stderr_lines) > 0);
}

/* era "auto" against the SDK's dual-era server: modern (2026-07-28), and the
** same handlers answer the multi round-trip requests. */
static void test_sdk_server_modern(void) {
    harness_section("client against the official Python SDK server, era auto");
    mcp_client_t *c = new_client_with("{\"request_timeout_ms\":20000,\"max_input_rounds\":4}");
    CHECK_RC(mcp_client_set_stderr_handler(c, on_stderr, NULL, NULL, NULL), MCP_OK, NULL);
    const char *argv[] = {env_or_die("MCP_PYTHON"), env_or_die("MCP_SDK_SERVER"), "stdio", NULL};
    char *err = NULL, *out = NULL;
    CHECK_RC(mcp_client_get_era(c, &out, &err), MCP_ERR_STATE, err);
    mcp_string_free(err);
    err = NULL;
    CHECK_RC(mcp_client_connect_stdio(c, argv, NULL, NULL, &out, &err), MCP_OK, err);
    json_t *init = json_loads(out ? out : "{}", 0, NULL);
    CHECK_STR(json_string_value(json_object_get(init, "protocolVersion")), "2026-07-28");
    json_decref(init);
    mcp_string_free(out);
    CHECK_RC(mcp_client_get_era(c, &out, &err), MCP_OK, err);
    json_t *era = json_loads(out ? out : "{}", 0, NULL);
    CHECK_STR(json_string_value(json_object_get(era, "era")), "modern");
    CHECK_STR(json_string_value(json_object_get(era, "protocolVersion")), "2026-07-28");
    CHECK(json_object_get(json_object_get(era, "capabilities"), "tools") != NULL);
    CHECK(json_is_array(json_object_get(era, "supportedVersions")));
    CHECK_STR(json_string_value(json_object_get(json_object_get(era, "serverInfo"), "name")), "sdk-fixture");
    json_decref(era);
    mcp_string_free(out);
    CHECK_RC(mcp_client_get_era(c, NULL, &err), MCP_ERR_INVALID_ARG, err);
    mcp_string_free(err);
    err = NULL;

    json_t *r = call_tool(c, "greet_twice", NULL);
    CHECK_STR(first_text(r), "hello x@example.com and x@example.com");
    json_decref(r);
    r = call_tool(c, "sampled", NULL);
    CHECK_STR(first_text(r), "model said sampled by C");
    json_decref(r);
    r = call_tool(c, "two_rounds", NULL);
    CHECK_STR(first_text(r), "x@example.com/calm then x@example.com");
    json_decref(r);
    CHECK_RC(mcp_client_call_tool(c, "endless", NULL, 20000, &out, &err), MCP_ERR_LIMIT, err);
    CHECK(err && strstr(err, "4 rounds") != NULL);
    mcp_string_free(err);
    err = NULL;
    /* ping is gone at 2026-07-28: refused here, not sent. */
    CHECK_RC(mcp_client_request(c, "ping", NULL, 5000, &out, &err), MCP_ERR_UNSUPPORTED, err);
    mcp_string_free(err);
    err = NULL;
    /* A W3C traceparent the host gives goes with the call. */
    CHECK_RC(mcp_client_request(c, "tools/call",
                                "{\"name\":\"add\",\"arguments\":{\"a\":1,\"b\":2},"
                                "\"_meta\":{\"traceparent\":\"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\"}}",
                                5000, &out, &err), MCP_OK, err);
    CHECK(out && strstr(out, "\"resultType\":\"complete\"") != NULL);
    mcp_string_free(out);
    mcp_client_free(c);
}

static void test_connect_failures(void) {
    harness_section("connect failures");
    mcp_client_t *c = new_client();
    char *err = NULL;
    const char *missing[] = {"/nonexistent/mcp-server", NULL};
    CHECK_RC(mcp_client_connect_stdio(c, missing, NULL, NULL, NULL, &err), MCP_ERR_IO, err);
    CHECK(err != NULL);
    mcp_string_free(err);
    err = NULL;
    const char *quits[] = {"false", NULL};
    CHECK_RC(mcp_client_connect_stdio(c, quits, NULL, NULL, NULL, &err), MCP_ERR_CLOSED, err);
    mcp_string_free(err);
    err = NULL;
    CHECK_RC(mcp_client_connect_stdio(c, NULL, NULL, NULL, NULL, &err), MCP_ERR_INVALID_ARG, err);
    mcp_string_free(err);
    CHECK_RC(mcp_client_set_request_handler(c, "tools/call", answer_sampling, NULL, NULL, NULL), MCP_ERR_INVALID_ARG, NULL);
    mcp_client_free(c);
    mcp_client_free(NULL);
}

/* An answer longer than max_message_bytes fails its request at once (before,
** the line was dropped and the request waited out its timeout: 60 s here,
** which would come back as MCP_ERR_TIMEOUT); the session goes on. Against
** two servers, so the id is found whichever order they write the members in. */
static void check_message_limit(const char *const *argv, const char *tool) {
    mcp_client_t *c = NULL;
    char *err = NULL, *out = NULL;
    CHECK_RC(mcp_client_new("limit", "1.0", "{\"max_message_bytes\":2048}", &c, &err), MCP_OK, err);
    CHECK_RC(mcp_client_set_stderr_handler(c, on_stderr, NULL, NULL, NULL), MCP_OK, NULL);
    CHECK_RC(mcp_client_connect_stdio(c, argv, NULL, NULL, NULL, &err), MCP_OK, err);
    char args[4200];
    snprintf(args, sizeof args, "{\"text\":\"%0*d\"}", 4000, 0);
    CHECK_RC(mcp_client_call_tool(c, tool, args, 60000, &out, &err), MCP_ERR_CLOSED, err);
    CHECK(err && strstr(err, "closed") != NULL);
    mcp_string_free(err);
    err = NULL;
    json_t *r = call_tool(c, tool, "{\"text\":\"small\"}");
    CHECK_STR(first_text(r), "small");
    json_decref(r);
    mcp_client_free(c);
}

static void test_message_limit(void) {
    harness_section("max_message_bytes over stdio");
    const char *ours[] = {env_or_die("MCP_EVERYTHING_SERVER"), NULL};
    check_message_limit(ours, "test_echo");
    const char *sdk[] = {env_or_die("MCP_PYTHON"), env_or_die("MCP_SDK_SERVER"), "stdio", NULL};
    check_message_limit(sdk, "echo");
}

static void *close_later(void *arg) {
    harness_sleep_ms(200);
    mcp_client_close(arg, NULL);
    return NULL;
}

/* A server that never answers initialize: closing from another thread ends
** the blocked connect at once instead of after its timeout. */
static void test_close_during_handshake(void) {
    harness_section("close during the handshake");
    mcp_client_t *c = new_client();
    const char *silent[] = {"sleep", "30", NULL};
    pthread_t t;
    pthread_create(&t, NULL, close_later, c);
    char *err = NULL;
    double t0 = harness_now_ms();
    CHECK_RC(mcp_client_connect_stdio(c, silent, NULL, "{\"close_timeout_ms\":100,\"timeout_ms\":20000}", NULL, &err),
             MCP_ERR_CLOSED, err);
    CHECK(harness_now_ms() - t0 < harness_ms(5000));
    mcp_string_free(err);
    pthread_join(t, NULL);
    mcp_client_free(c);
}

/* A server that never answers tools/list (and tells on stderr which requests
** were cancelled): a listing cancelled in flight ends at once with
** MCP_ERR_CANCELLED, and the page request in flight is cancelled on the server. */
static const char *never_lists =
    "import json, sys\n"
    "for line in sys.stdin:\n"
    "    m = json.loads(line)\n"
    "    method, mid = m.get('method'), m.get('id')\n"
    "    if method == 'initialize':\n"
    "        r = {'protocolVersion': m['params']['protocolVersion'], 'capabilities': {'tools': {}},\n"
    "             'serverInfo': {'name': 'never-lists', 'version': '1'}}\n"
    "        print(json.dumps({'jsonrpc': '2.0', 'id': mid, 'result': r}), flush=True)\n"
    "    elif method == 'notifications/cancelled':\n"
    "        print('cancelled', json.dumps(m['params']['requestId']), file=sys.stderr, flush=True)\n"
    "    elif method != 'tools/list' and mid is not None:\n"
    "        e = {'code': -32601, 'message': 'Method not found'}\n"
    "        print(json.dumps({'jsonrpc': '2.0', 'id': mid, 'error': e}), flush=True)\n";

/* Written on an engine thread, read by the test: atomic. */
static atomic_int cancelled_lines;

static void on_cancel_line(void *ud, const char *line, size_t length) {
    (void)ud;
    if (length >= 9 && strncmp(line, "cancelled", 9) == 0) atomic_fetch_add(&cancelled_lines, 1);
}

static void test_cancel_listing_in_flight(void) {
    harness_section("cancelling mcp_client_list_async in flight");
    mcp_client_t *c = new_client();
    CHECK_RC(mcp_client_set_stderr_handler(c, on_cancel_line, NULL, NULL, NULL), MCP_OK, NULL);
    const char *argv[] = {env_or_die("MCP_PYTHON"), "-c", never_lists, NULL};
    char *err = NULL;
    CHECK_RC(mcp_client_connect_stdio(c, argv, NULL, NULL, NULL, &err), MCP_OK, err);
    outcome_t o = {0};
    int64_t id = 0;
    CHECK_RC(mcp_client_list_async(c, "tools/list", 20000, on_response, &o, &id, &err), MCP_OK, err);
    CHECK(id != 0);
    harness_sleep_ms(100);
    CHECK(!o.done);
    double t0 = harness_now_ms();
    CHECK_RC(mcp_client_cancel(c, id, "no longer needed", &err), MCP_OK, err);
    CHECK(harness_wait_flag(&o.done, harness_ms(2000)));
    CHECK(harness_now_ms() - t0 < harness_ms(2000));
    CHECK_EQ(o.status, MCP_ERR_CANCELLED);
    CHECK(o.result == NULL);
    for (int i = 0; i < 300 && atomic_load(&cancelled_lines) == 0; i++) harness_sleep_ms(10);
    CHECK_EQ(atomic_load(&cancelled_lines), 1);
    /* Cancelling a finished listing again is a no-op. */
    CHECK_RC(mcp_client_cancel(c, id, NULL, &err), MCP_OK, err);
    mcp_client_free(c);
}

/* ------------------------------------------------------------ 1.3: cache, result checks, subscriptions */

/* Requests that reach the server get an id; a fresh cached answer gets 0. */
static int64_t request_id_of(mcp_client_t *c, const char *method, const char *params) {
    outcome_t o = {0};
    int64_t id = -1;
    char *err = NULL;
    CHECK_RC(mcp_client_request_async(c, method, params, 10000, on_response, NULL, &o, &id, &err), MCP_OK, err);
    CHECK(harness_wait_flag(&o.done, harness_ms(10000)));
    CHECK_EQ(o.status, MCP_OK);
    free(o.result);
    return id;
}

/* Our server at 2026-07-28 hints ttlMs 60000 "public", test://watched-resource
** ttlMs 0 "private": with "cache" on, fresh answers never reach it. */
static void test_cache_against_everything_modern(void) {
    harness_section("client cache and result checks against the everything server at 2026-07-28");
    char *err = NULL;
    mcp_client_t *bad = NULL;
    CHECK_RC(mcp_client_new("c", "1", "{\"cache\":\"yes\"}", &bad, &err), MCP_ERR_INVALID_ARG, err);
    mcp_string_free(err);
    err = NULL;
    CHECK_RC(mcp_client_new("c", "1", "{\"cache\":true,\"cache_max_bytes\":10}", &bad, &err), MCP_ERR_INVALID_ARG, err);
    mcp_string_free(err);
    err = NULL;
    CHECK_RC(mcp_client_new("c", "1", "{\"validate_tool_output\":1}", &bad, &err), MCP_ERR_INVALID_ARG, err);
    mcp_string_free(err);
    err = NULL;

    mcp_client_t *c = new_client_with("{\"request_timeout_ms\":20000,\"cache\":true,\"cache_max_entries\":16}");
    const char *argv[] = {env_or_die("MCP_EVERYTHING_SERVER"), NULL};
    CHECK_RC(mcp_client_connect_stdio(c, argv, NULL, NULL, NULL, &err), MCP_OK, err);
    char *out = NULL;
    CHECK_RC(mcp_client_get_era(c, &out, &err), MCP_OK, err);
    CHECK(out && strstr(out, "\"era\":\"modern\"") != NULL);
    mcp_string_free(out);

    CHECK(request_id_of(c, "tools/list", NULL) > 0);
    CHECK_EQ(request_id_of(c, "tools/list", NULL), 0);
    CHECK(request_id_of(c, "resources/read", "{\"uri\":\"test://static-text\"}") > 0);
    CHECK_EQ(request_id_of(c, "resources/read", "{\"uri\":\"test://static-text\"}"), 0);
    CHECK(request_id_of(c, "resources/read", "{\"uri\":\"test://watched-resource\"}") > 0);
    CHECK(request_id_of(c, "resources/read", "{\"uri\":\"test://watched-resource\"}") > 0);
    /* The listing's outputSchemas are in force and our own server's results match them. */
    json_t *r = call_tool(c, "test_echo", "{\"text\":\"checked\"}");
    CHECK_STR(json_string_value(json_object_get(json_object_get(r, "structuredContent"), "text")), "checked");
    json_decref(r);
    mcp_client_free(c);
}

typedef struct {
    pthread_mutex_t lock;
    int updates;
    int in_order;
    volatile int ended;
    char reason[64];
} sub_state_t;

static void on_sub(void *ud, const char *method, const char *params_json) {
    sub_state_t *s = ud;
    pthread_mutex_lock(&s->lock);
    if (method == NULL) {
        json_t *p = json_loads(params_json, 0, NULL);
        snprintf(s->reason, sizeof s->reason, "%s", json_string_value(json_object_get(p, "reason")) ? json_string_value(json_object_get(p, "reason")) : "");
        json_decref(p);
        /* Read without the lock by harness_wait_flag: an atomic store. */
        __atomic_store_n(&s->ended, 1, __ATOMIC_SEQ_CST);
    } else if (strcmp(method, "notifications/resources/updated") == 0 && strstr(params_json, "test://watched-resource")) {
        s->updates++;
    } else {
        s->in_order = 0;
    }
    pthread_mutex_unlock(&s->lock);
}

static atomic_int sub_freed;
static void free_sub(void *ud) {
    (void)ud;
    atomic_store(&sub_freed, 1);
}

/* The 2025 era: the same call subscribes with resources/subscribe; our
** server's test_update_watched_resource then notifies. */
static void test_subscribe_legacy(void) {
    harness_section("mcp_client_subscribe at the 2025 era (everything server)");
    mcp_client_t *c = new_client();
    const char *argv[] = {env_or_die("MCP_EVERYTHING_SERVER"), NULL};
    char *err = NULL, *ack = NULL;
    CHECK_RC(mcp_client_connect_stdio(c, argv, NULL, NULL, NULL, &err), MCP_OK, err);
    sub_state_t s = {PTHREAD_MUTEX_INITIALIZER, 0, 1, 0, ""};
    int64_t id = 0;
    CHECK_RC(mcp_client_subscribe(c, "{\"nope\":true}", on_sub, &s, NULL, &id, &ack, &err), MCP_ERR_INVALID_ARG, err);
    CHECK(err && strstr(err, "nope") != NULL);
    mcp_string_free(err);
    err = NULL;
    CHECK_RC(mcp_client_subscribe(c, "{}", on_sub, &s, NULL, &id, &ack, &err), MCP_ERR_INVALID_ARG, err);
    mcp_string_free(err);
    err = NULL;
    CHECK_RC(mcp_client_subscribe(c, "{\"resourceSubscriptions\":[\"test://watched-resource\"]}", NULL, &s, NULL, &id,
                                  &ack, &err), MCP_ERR_INVALID_ARG, err);
    mcp_string_free(err);
    err = NULL;
    CHECK_RC(mcp_client_subscribe(c, "{\"resourceSubscriptions\":[\"test://watched-resource\"]}", on_sub, &s, free_sub,
                                  &id, &ack, &err), MCP_OK, err);
    CHECK(id < 0);
    CHECK(ack && strstr(ack, "test://watched-resource") != NULL);
    mcp_string_free(ack);
    for (int i = 0; i < 3; i++) json_decref(call_tool(c, "test_update_watched_resource", NULL));
    for (int i = 0; i < 500; i++) {
        pthread_mutex_lock(&s.lock);
        int n = s.updates;
        pthread_mutex_unlock(&s.lock);
        if (n >= 3) break;
        harness_sleep_ms(10);
    }
    CHECK_EQ(s.updates, 3);
    CHECK(s.in_order);
    CHECK_RC(mcp_client_unsubscribe(c, id, &err), MCP_OK, err);
    CHECK(harness_wait_flag(&s.ended, harness_ms(5000)));
    CHECK_STR(s.reason, "unsubscribed");
    for (int i = 0; i < 200 && !atomic_load(&sub_freed); i++) harness_sleep_ms(10);
    CHECK(atomic_load(&sub_freed));
    CHECK_RC(mcp_client_unsubscribe(c, id, &err), MCP_OK, err); /* again: a no-op */
    mcp_client_free(c);
}

/* 2026-07-28: subscriptions/listen against the SDK server, acknowledged, then ended. */
static void test_subscribe_modern(void) {
    harness_section("mcp_client_subscribe at 2026-07-28 (official Python SDK server)");
    mcp_client_t *c = new_client_with("{\"request_timeout_ms\":20000,\"era\":\"2026-07-28\"}");
    const char *argv[] = {env_or_die("MCP_PYTHON"), env_or_die("MCP_SDK_SERVER"), "stdio", NULL};
    char *err = NULL, *ack = NULL;
    CHECK_RC(mcp_client_connect_stdio(c, argv, NULL, NULL, NULL, &err), MCP_OK, err);
    sub_state_t s = {PTHREAD_MUTEX_INITIALIZER, 0, 1, 0, ""};
    int64_t id = 0;
    CHECK_RC(mcp_client_subscribe(c, "{\"toolsListChanged\":true,\"resourceSubscriptions\":[\"fixture://greeting\"]}",
                                  on_sub, &s, NULL, &id, &ack, &err), MCP_OK, err);
    CHECK(id > 0);
    json_t *a = json_loads(ack ? ack : "{}", 0, NULL);
    CHECK(json_is_true(json_object_get(a, "toolsListChanged")));
    json_decref(a);
    mcp_string_free(ack);
    /* Other requests go on beside the open stream. */
    json_t *r = call_tool(c, "add", "{\"a\":2,\"b\":3}");
    CHECK(r != NULL);
    json_decref(r);
    CHECK_RC(mcp_client_unsubscribe(c, id, &err), MCP_OK, err);
    CHECK(harness_wait_flag(&s.ended, harness_ms(5000)));
    CHECK_STR(s.reason, "unsubscribed");
    r = call_tool(c, "add", "{\"a\":1,\"b\":1}");
    CHECK(r != NULL);
    json_decref(r);
    mcp_client_free(c);
}

int main(void) {
    test_connect_failures();
    test_close_during_handshake();
    test_everything_server();
    test_sdk_server();
    test_sdk_server_modern();
    test_message_limit();
    test_cancel_listing_in_flight();
    test_cache_against_everything_modern();
    test_subscribe_legacy();
    test_subscribe_modern();
    return harness_finish();
}
