/*
** test_trace.c: mcp_set_trace_hook and mcp_call_traceparent.
**
** Spans of a server session: parented on the request's _meta.traceparent,
** named and described by the OpenTelemetry MCP conventions, errors typed;
** the span of a call is the parent of the requests the call sends to the
** client, which carry it in _meta.traceparent; with no hook nothing is
** recorded and requests go out as given.
*/
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "harness.h"

static const char PARENT_TRACE[] = "0af7651916cd43dd8448eb211c80319c";
static const char PARENT_SPAN[] = "b7ad6b7169203331";
static const char TRACEPARENT[] = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

/* The spans the hook received, in order. */
#define MAX_SPANS 64
static pthread_mutex_t spans_lock = PTHREAD_MUTEX_INITIALIZER;
static json_t *spans[MAX_SPANS];
static volatile int span_count;
static volatile int hook_on_caller_thread;
static pthread_t test_thread;

static void on_span(void *user_data, const char *span_json) {
    CHECK(user_data == (void *)&spans);
    if (pthread_equal(pthread_self(), test_thread)) hook_on_caller_thread = 1;
    json_error_t e;
    json_t *span = json_loads(span_json, 0, &e);
    CHECK(span != NULL);
    pthread_mutex_lock(&spans_lock);
    if (span && span_count < MAX_SPANS) {
        spans[span_count] = span;
        __atomic_store_n(&span_count, span_count + 1, __ATOMIC_SEQ_CST);
    } else {
        json_decref(span);
    }
    pthread_mutex_unlock(&spans_lock);
}

static void clear_spans(void) {
    pthread_mutex_lock(&spans_lock);
    for (int i = 0; i < span_count; i++) json_decref(spans[i]);
    __atomic_store_n(&span_count, 0, __ATOMIC_SEQ_CST);
    pthread_mutex_unlock(&spans_lock);
}

/* The first span received with this name, or NULL (borrowed; valid until clear_spans). */
static json_t *span_named(const char *name) {
    json_t *found = NULL;
    pthread_mutex_lock(&spans_lock);
    for (int i = 0; i < span_count && !found; i++) {
        if (strcmp(json_string_value(json_object_get(spans[i], "name")), name) == 0) found = spans[i];
    }
    pthread_mutex_unlock(&spans_lock);
    return found;
}

static const char *str(json_t *span, const char *key) { return json_string_value(json_object_get(span, key)); }
static const char *attr(json_t *span, const char *key) {
    return json_string_value(json_object_get(json_object_get(span, "attributes"), key));
}

/* A tool that records its call's traceparent, then asks the client for a ping
** and answers once the ping is answered. */
static char *seen_traceparent;
static mcp_status seen_traceparent_rc = -1;

static void on_ping(void *user_data, mcp_status status, const char *result, const char *error) {
    (void)result, (void)error;
    mcp_call_t *call = user_data;
    CHECK_RC(status, MCP_OK, error);
    mcp_call_return_text(call, "pinged", 6, NULL, NULL, NULL);
}

static void tool_traced(void *ud, mcp_call_t *call, const char *args) {
    (void)ud, (void)args;
    char *error = NULL;
    seen_traceparent_rc = mcp_call_traceparent(call, &seen_traceparent, &error);
    mcp_string_free(error);
    mcp_call_request(call, "ping", NULL, 0, on_ping, call, NULL);
}

static void tool_fails(void *ud, mcp_call_t *call, const char *args) {
    (void)ud, (void)args;
    mcp_call_return(call, "{\"content\":[{\"type\":\"text\",\"text\":\"no\"}],\"isError\":true}", NULL);
}

static json_t *call_tool(harness_t *h, const char *name, const char *traceparent) {
    json_t *params = json_pack("{s:s, s:{}}", "name", name, "arguments");
    if (traceparent) json_object_set_new(params, "_meta", json_pack("{s:s}", "traceparent", traceparent));
    json_int_t id = harness_send_request(h, "tools/call", params);
    json_t *req = harness_take_server_request(h, "ping", HARNESS_TIMEOUT);
    json_t *sent_meta = NULL;
    if (req) {
        sent_meta = json_incref(json_object_get(json_object_get(req, "params"), "_meta"));
        harness_reply(h, req, json_object(), 0, NULL);
        json_decref(req);
    }
    json_t *r = harness_wait_response(h, id, HARNESS_TIMEOUT);
    CHECK_STR(harness_tool_text(r), "pinged");
    json_decref(r);
    return sent_meta;
}

static void test_arguments(void) {
    harness_section("arguments");
    char *error = NULL;
    CHECK_RC(mcp_set_trace_hook(on_span, NULL, -1, &error), MCP_ERR_INVALID_ARG, error);
    CHECK(error != NULL);
    mcp_string_free(error);
    CHECK_RC(mcp_call_traceparent(NULL, &error, NULL), MCP_ERR_INVALID_ARG, NULL);
    /* Removing a hook that is not set is fine. */
    CHECK_RC(mcp_set_trace_hook(NULL, NULL, 0, NULL), MCP_OK, NULL);
}

static void test_no_hook(mcp_server_t *server) {
    harness_section("no hook: nothing recorded, requests go out as given");
    harness_t *h = harness_new(server);
    json_decref(harness_initialize(h, NULL));
    json_t *sent = call_tool(h, "traced", TRACEPARENT);
    CHECK(sent == NULL);  /* the ping was sent without _meta */
    json_decref(sent);
    CHECK_RC(seen_traceparent_rc, MCP_OK, NULL);
    CHECK(seen_traceparent == NULL);
    harness_sleep_ms(harness_ms(100));
    CHECK_EQ(__atomic_load_n(&span_count, __ATOMIC_SEQ_CST), 0);
    harness_free(h);
}

static void test_server_spans(mcp_server_t *server) {
    harness_section("server spans");
    CHECK_RC(mcp_set_trace_hook(on_span, &spans, 0, NULL), MCP_OK, NULL);
    harness_t *h = harness_new(server);
    json_decref(harness_initialize(h, "2025-06-18"));
    /* initialize and the ping the tool sent make spans too. */
    json_t *sent = call_tool(h, "traced", TRACEPARENT);
    CHECK(harness_wait_count(&span_count, 3, HARNESS_TIMEOUT) >= 3);

    json_t *s = span_named("tools/call traced");
    CHECK(s != NULL);
    if (s) {
        CHECK_STR(str(s, "kind"), "server");
        CHECK_STR(str(s, "traceId"), PARENT_TRACE);
        CHECK_STR(str(s, "parentSpanId"), PARENT_SPAN);
        CHECK(json_is_true(json_object_get(s, "parentIsRemote")));
        CHECK_EQ(json_integer_value(json_object_get(s, "traceFlags")), 1);
        CHECK_EQ(strlen(str(s, "spanId")), 16);
        CHECK_STR(attr(s, "mcp.method.name"), "tools/call");
        CHECK_STR(attr(s, "gen_ai.tool.name"), "traced");
        CHECK_STR(attr(s, "gen_ai.operation.name"), "execute_tool");
        CHECK_STR(attr(s, "mcp.protocol.version"), "2025-06-18");
        CHECK(attr(s, "jsonrpc.request.id") != NULL);
        CHECK(attr(s, "mcp.session.id") != NULL);
        CHECK(attr(s, "error.type") == NULL);
        CHECK_STR(str(json_object_get(s, "status"), "code"), "unset");
        json_int_t start = json_integer_value(json_object_get(s, "startTimeUnixNano"));
        json_int_t end = json_integer_value(json_object_get(s, "endTimeUnixNano"));
        CHECK(start > 1700000000LL * 1000000000LL && end >= start);

        /* The call's traceparent names this span. */
        char expected[64];
        snprintf(expected, sizeof expected, "00-%s-%s-01", PARENT_TRACE, str(s, "spanId"));
        CHECK_STR(seen_traceparent, expected);

        /* The ping the call sent: a client span, child of the call's span,
        ** and named in the request's _meta.traceparent. */
        json_t *ping = span_named("ping");
        CHECK(ping != NULL);
        if (ping) {
            CHECK_STR(str(ping, "kind"), "client");
            CHECK_STR(str(ping, "traceId"), PARENT_TRACE);
            CHECK_STR(str(ping, "parentSpanId"), str(s, "spanId"));
            CHECK(!json_is_true(json_object_get(ping, "parentIsRemote")));
            snprintf(expected, sizeof expected, "00-%s-%s-01", PARENT_TRACE, str(ping, "spanId"));
            CHECK_STR(json_string_value(json_object_get(sent, "traceparent")), expected);
        }
        json_t *init = span_named("initialize");
        CHECK(init != NULL && json_object_get(init, "parentSpanId") == NULL);  /* a trace of its own */
        if (init) CHECK(strcmp(str(init, "traceId"), PARENT_TRACE) != 0);
    }
    json_decref(sent);
    mcp_string_free(seen_traceparent);
    seen_traceparent = NULL;
    CHECK(!hook_on_caller_thread);

    harness_section("errors");
    clear_spans();
    json_decref(harness_request(h, "no/such_method", NULL));
    json_decref(harness_request(h, "tools/call", json_pack("{s:s, s:{}}", "name", "fails", "arguments")));
    /* A malformed traceparent is ignored: a new trace starts. */
    json_t *params = json_pack("{s:s, s:{s:s}}", "name", "nope", "_meta", "traceparent", "00-zz-01");
    json_decref(harness_request(h, "prompts/get", params));
    CHECK(harness_wait_count(&span_count, 3, HARNESS_TIMEOUT) >= 3);
    s = span_named("no/such_method");
    CHECK(s != NULL);
    if (s) {
        CHECK_STR(attr(s, "error.type"), "-32601");
        CHECK_STR(attr(s, "rpc.response.status_code"), "-32601");
        CHECK_STR(str(json_object_get(s, "status"), "code"), "error");
        CHECK(str(json_object_get(s, "status"), "message") != NULL);
    }
    s = span_named("tools/call fails");
    CHECK(s != NULL);
    if (s) {
        CHECK_STR(attr(s, "error.type"), "tool_error");
        CHECK(attr(s, "rpc.response.status_code") == NULL);
        CHECK_STR(str(json_object_get(s, "status"), "code"), "error");
    }
    s = span_named("prompts/get nope");
    CHECK(s != NULL);
    if (s) {
        CHECK_STR(attr(s, "gen_ai.prompt.name"), "nope");
        CHECK(json_object_get(s, "parentSpanId") == NULL);
        CHECK(attr(s, "error.type") != NULL);
    }
    harness_free(h);

    harness_section("hook removed");
    CHECK_RC(mcp_set_trace_hook(NULL, NULL, 0, NULL), MCP_OK, NULL);
    clear_spans();
    h = harness_new(server);
    json_decref(harness_initialize(h, NULL));
    sent = call_tool(h, "traced", TRACEPARENT);
    CHECK(sent == NULL);
    json_decref(sent);
    CHECK(seen_traceparent == NULL);
    harness_sleep_ms(harness_ms(100));
    CHECK_EQ(__atomic_load_n(&span_count, __ATOMIC_SEQ_CST), 0);
    harness_free(h);
}

int main(void) {
    test_thread = pthread_self();
    mcp_server_t *server = harness_server(NULL);
    CHECK_RC(mcp_server_add_tool(server, "{\"name\":\"traced\"}", tool_traced, NULL, NULL, NULL), MCP_OK, NULL);
    CHECK_RC(mcp_server_add_tool(server, "{\"name\":\"fails\"}", tool_fails, NULL, NULL, NULL), MCP_OK, NULL);
    test_arguments();
    test_no_hook(server);
    test_server_spans(server);
    mcp_server_free(server);
    clear_spans();
    return harness_finish();
}
