/*
** test_limits.c: the call limits of mcp_server_new (Since 1.4): the bound on
** calls in flight, tool timeouts, circuit breakers. Each refusal is immediate
** and says why (error.data.reason); pings are answered throughout.
*/
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

/* ------------------------------------------------------------ tools */

/* Holds its calls until released; answers them then. */
static pthread_mutex_t held_mu = PTHREAD_MUTEX_INITIALIZER;
static mcp_call_t *held[8];
static int held_count;

static void tool_hold(void *ud, mcp_call_t *call, const char *args) {
    (void)ud, (void)args;
    pthread_mutex_lock(&held_mu);
    held[held_count++] = call;
    pthread_mutex_unlock(&held_mu);
}

static void release_held(void) {
    pthread_mutex_lock(&held_mu);
    for (int i = 0; i < held_count; i++) CHECK_EQ(mcp_call_return(held[i], "{\"content\":[]}", NULL), MCP_OK);
    held_count = 0;
    pthread_mutex_unlock(&held_mu);
}

/* Never answers by itself: its cancel callback counts, then it answers late. */
static volatile int cancels;
static mcp_call_t *stuck;

static void on_cancel(void *ud) {
    (void)ud;
    __atomic_add_fetch(&cancels, 1, __ATOMIC_SEQ_CST);
}

static void tool_stuck(void *ud, mcp_call_t *call, const char *args) {
    (void)ud, (void)args;
    stuck = call;
    CHECK_EQ(mcp_call_on_cancel(call, on_cancel, NULL, NULL), MCP_OK);
}

/* Fails while *ud is set, else succeeds. */
static volatile int failing = 1;

static void tool_flaky(void *ud, mcp_call_t *call, const char *args) {
    (void)ud, (void)args;
    if (failing) {
        CHECK_EQ(mcp_call_error(call, MCP_JSONRPC_INTERNAL_ERROR, "backend down", NULL, NULL), MCP_OK);
    } else {
        CHECK_EQ(mcp_call_return(call, "{\"content\":[{\"type\":\"text\",\"text\":\"up\"}]}", NULL), MCP_OK);
    }
}

static const char *reason_of(json_t *response) {
    return json_string_value(json_object_get(json_object_get(json_object_get(response, "error"), "data"), "reason"));
}

static json_t *call_tool(harness_t *h, const char *name) {
    return harness_request(h, "tools/call", json_pack("{s:s}", "name", name));
}

/* ------------------------------------------------------------ tests */

static void test_calls_in_flight(void) {
    harness_section("max_calls_in_flight: the excess is refused, pings pass, capacity comes back");
    mcp_server_t *server = harness_server("{\"max_calls_in_flight\":2,\"call_retry_after_ms\":250}");
    CHECK_EQ(mcp_server_add_tool(server, "{\"name\":\"hold\"}", tool_hold, NULL, NULL, NULL), MCP_OK);
    harness_t *h = harness_new(server);
    json_decref(harness_initialize(h, NULL));
    json_int_t a = harness_send_request(h, "tools/call", json_pack("{s:s}", "name", "hold"));
    json_int_t b = harness_send_request(h, "tools/call", json_pack("{s:s}", "name", "hold"));
    pthread_mutex_lock(&held_mu);
    int n = held_count;
    pthread_mutex_unlock(&held_mu);
    for (int i = 0; i < 200 && n < 2; i++) {
        harness_sleep_ms(5);
        pthread_mutex_lock(&held_mu);
        n = held_count;
        pthread_mutex_unlock(&held_mu);
    }
    CHECK_EQ(n, 2);
    json_t *r = call_tool(h, "hold");
    CHECK_EQ(harness_error_code(r), MCP_JSONRPC_INTERNAL_ERROR);
    CHECK_STR(reason_of(r), "overloaded");
    CHECK_EQ(json_integer_value(json_object_get(json_object_get(json_object_get(r, "error"), "data"), "retryAfterMs")),
             250);
    json_decref(r);
    r = harness_request(h, "ping", NULL); /* the engine answers pings itself */
    CHECK(harness_result(r) != NULL);
    json_decref(r);
    r = harness_request(h, "tools/list", NULL);
    CHECK(harness_result(r) != NULL);
    json_decref(r);
    release_held();
    json_decref(harness_wait_response(h, a, 5000));
    json_decref(harness_wait_response(h, b, 5000));
    json_int_t c = harness_send_request(h, "tools/call", json_pack("{s:s}", "name", "hold"));
    for (int i = 0; i < 200; i++) {
        pthread_mutex_lock(&held_mu);
        n = held_count;
        pthread_mutex_unlock(&held_mu);
        if (n == 1) break;
        harness_sleep_ms(5);
    }
    CHECK_EQ(n, 1); /* the slots came back */
    release_held();
    r = harness_wait_response(h, c, 5000);
    CHECK(harness_result(r) != NULL);
    json_decref(r);
    harness_free(h);
    mcp_server_free(server);
}

static void test_tool_timeout(void) {
    harness_section("tool_timeouts_ms: answered with an error, the cancel callback runs");
    mcp_server_t *server = harness_server("{\"tool_timeouts_ms\":{\"stuck\":150}}");
    CHECK_EQ(mcp_server_add_tool(server, "{\"name\":\"stuck\"}", tool_stuck, NULL, NULL, NULL), MCP_OK);
    CHECK_EQ(mcp_server_add_tool(server, "{\"name\":\"hold\"}", tool_hold, NULL, NULL, NULL), MCP_OK);
    harness_t *h = harness_new(server);
    json_decref(harness_initialize(h, NULL));
    json_int_t other = harness_send_request(h, "tools/call", json_pack("{s:s}", "name", "hold"));
    json_t *r = call_tool(h, "stuck");
    CHECK_EQ(harness_error_code(r), MCP_JSONRPC_INTERNAL_ERROR);
    CHECK_STR(reason_of(r), "timeout");
    CHECK_STR(json_string_value(json_object_get(json_object_get(r, "error"), "message")),
              "Tool stuck timed out after 150 ms");
    json_decref(r);
    CHECK_EQ(harness_wait_count(&cancels, 1, 2000), 1);
    CHECK(mcp_call_is_cancelled(stuck));
    char *err = NULL;
    CHECK_EQ(mcp_call_return(stuck, "{\"content\":[]}", &err), MCP_ERR_STATE); /* too late: already answered */
    mcp_string_free(err);
    /* A tool without a timeout ("*" unset) is not cut. */
    CHECK_EQ(harness_quiet(h, 300), 0);
    release_held();
    r = harness_wait_response(h, other, 5000);
    CHECK(harness_result(r) != NULL);
    json_decref(r);
    harness_free(h);
    mcp_server_free(server);
}

static void test_circuit_breaker(void) {
    harness_section("circuit_breaker: fail fast after repeated errors, one probe, closed again");
    mcp_server_t *server = harness_server("{\"circuit_breaker\":{\"failures\":2,\"open_ms\":300}}");
    CHECK_EQ(mcp_server_add_tool(server, "{\"name\":\"flaky\"}", tool_flaky, NULL, NULL, NULL), MCP_OK);
    harness_t *h = harness_new(server);
    json_decref(harness_initialize(h, NULL));
    for (int i = 0; i < 2; i++) {
        json_t *r = call_tool(h, "flaky");
        CHECK_STR(json_string_value(json_object_get(json_object_get(r, "error"), "message")), "backend down");
        json_decref(r);
    }
    json_t *r = call_tool(h, "flaky");
    CHECK_STR(reason_of(r), "circuit_open");
    json_decref(r);
    harness_sleep_ms(350);
    r = call_tool(h, "flaky"); /* the probe, which fails: open again */
    CHECK_STR(json_string_value(json_object_get(json_object_get(r, "error"), "message")), "backend down");
    json_decref(r);
    r = call_tool(h, "flaky");
    CHECK_STR(reason_of(r), "circuit_open");
    json_decref(r);
    failing = 0;
    harness_sleep_ms(350);
    r = call_tool(h, "flaky"); /* the probe succeeds: closed */
    CHECK_STR(harness_tool_text(r), "up");
    json_decref(r);
    r = call_tool(h, "flaky");
    CHECK_STR(harness_tool_text(r), "up");
    json_decref(r);
    harness_free(h);
    mcp_server_free(server);

    mcp_server_t *bad = NULL;
    char *error = NULL;
    CHECK_EQ(mcp_server_new("s", "1", "{\"circuit_breaker\":{\"failures\":0}}", &bad, &error), MCP_ERR_INVALID_ARG);
    CHECK(error && strstr(error, "\"failures\" must be an integer in 1...10000"));
    mcp_string_free(error);
    error = NULL;
    CHECK_EQ(mcp_server_new("s", "1", "{\"tool_timeouts_ms\":{\"x\":\"soon\"}}", &bad, &error), MCP_ERR_INVALID_ARG);
    CHECK(error && strstr(error, "\"x\" must map to milliseconds"));
    mcp_string_free(error);
}

int main(void) {
    test_calls_in_flight();
    test_tool_timeout();
    test_circuit_breaker();
    return harness_finish();
}
