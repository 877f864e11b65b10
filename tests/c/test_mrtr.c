/*
** test_mrtr.c: multi round-trip requests through the C ABI (mcp_call_request,
** mcp_call_request_named, mcp_call_input_state, MCP_ERR_INPUT_REQUIRED, the
** "request_state_*" options): one handler serves a 2025-era session with live
** requests and 2026-07-28 requests in rounds.
*/
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static const char KEY_A[] = "fleet-key-A-0123456789abcdef";
static const char KEY_B[] = "fleet-key-B-0123456789abcdef";

/* ------------------------------------------------- a handler written once */

struct reply {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int done;
    mcp_status status;
    json_t *result;
};

static void on_reply(void *ud, mcp_status status, const char *result_json, const char *error_json) {
    (void)error_json;
    struct reply *r = ud;
    pthread_mutex_lock(&r->mu);
    r->status = status;
    r->result = status == MCP_OK ? mcp_j_loads(result_json, NULL) : NULL;
    r->done = 1;
    pthread_cond_signal(&r->cv);
    pthread_mutex_unlock(&r->mu);
}

static void reply_init(struct reply *r) {
    memset(r, 0, sizeof *r);
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
}

static mcp_status reply_wait(struct reply *r) {
    pthread_mutex_lock(&r->mu);
    while (!r->done) pthread_cond_wait(&r->cv, &r->mu);
    pthread_mutex_unlock(&r->mu);
    return r->status;
}

static void reply_destroy(struct reply *r) {
    json_decref(r->result);
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->cv);
}

static const char NAME_FORM[] =
    "{\"message\":\"Your name?\",\"requestedSchema\":{\"type\":\"object\","
    "\"properties\":{\"name\":{\"type\":\"string\"}},\"required\":[\"name\"]}}";

static volatile int last_request_status;
static volatile int unsupported_seen; /* a greet run got MCP_ERR_UNSUPPORTED */

/* Asks the user's name under the key in ud (NULL: the default key), then greets. */
static void tool_greet(void *ud, mcp_call_t *call, const char *args) {
    (void)args;
    struct reply r;
    reply_init(&r);
    mcp_status rc = mcp_call_request_named(call, ud, "elicitation/create", NAME_FORM, 0, on_reply, &r, NULL);
    last_request_status = rc;
    if (rc == MCP_OK) rc = reply_wait(&r);
    if (rc == MCP_ERR_UNSUPPORTED) {
        /* 2026-07-28: the engine answered -32021 already; 2025: ours to answer. */
        mcp_status arc = mcp_call_error(call, -32603, "unsupported", NULL, NULL);
        CHECK(arc == MCP_OK || arc == MCP_ERR_STATE);
    } else if (rc != MCP_OK) {
        /* MCP_ERR_INPUT_REQUIRED: the engine answers input_required instead. */
        CHECK_RC(mcp_call_error(call, -32603, "stopped", NULL, NULL), MCP_OK, NULL);
    } else {
        const char *name = json_string_value(json_object_get(json_object_get(r.result, "content"), "name"));
        json_t *msg = json_sprintf("Hello, %s!", name ? name : "?");
        mcp_j_call_return_new(call, mcp_j_tool_result_text(json_string_value(msg), 0), NULL);
        json_decref(msg);
    }
    reply_destroy(&r);
    if (rc == MCP_ERR_UNSUPPORTED) __atomic_store_n(&unsupported_seen, 1, __ATOMIC_SEQ_CST);
}

/* Two requests before waiting for either: one round asks both. Keeps a
** counter in its input state across rounds. */
static void tool_two(void *ud, mcp_call_t *call, const char *args) {
    (void)ud, (void)args;
    char *state = NULL;
    CHECK_RC(mcp_call_input_state(call, &state, NULL), MCP_OK, NULL);
    int round = state ? atoi(state) + 1 : 1;
    char next[16];
    snprintf(next, sizeof next, "%d", round);
    mcp_call_set_input_state(call, next, NULL);
    mcp_string_free(state);
    struct reply a, b;
    reply_init(&a);
    reply_init(&b);
    mcp_status ra = mcp_call_request_named(call, "who", "elicitation/create", NAME_FORM, 0, on_reply, &a, NULL);
    mcp_status rb = mcp_call_request(call, "roots/list", NULL, 0, on_reply, &b, NULL);
    if (ra == MCP_OK) ra = reply_wait(&a);
    if (rb == MCP_OK) rb = reply_wait(&b);
    if (ra != MCP_OK || rb != MCP_OK) {
        mcp_call_error(call, -32603, "stopped", NULL, NULL);
    } else {
        json_t *msg = json_sprintf("round %d: %s, %zu roots", round,
                                   json_string_value(json_object_get(json_object_get(a.result, "content"), "name")),
                                   json_array_size(json_object_get(b.result, "roots")));
        mcp_j_call_return_new(call, mcp_j_tool_result_text(json_string_value(msg), 0), NULL);
        json_decref(msg);
    }
    reply_destroy(&a);
    reply_destroy(&b);
}

/* ------------------------------------------------- helpers */

static json_t *modern_call(harness_t *h, const char *tool, json_t *extra, json_t *capabilities) {
    json_t *params = json_pack("{s:s, s:{}, s:{s:s, s:{s:s, s:s}, s:o}}", "name", tool, "arguments", "_meta",
                               "io.modelcontextprotocol/protocolVersion", "2026-07-28",
                               "io.modelcontextprotocol/clientInfo", "name", "c", "version", "1",
                               "io.modelcontextprotocol/clientCapabilities",
                               capabilities ? capabilities
                                            : json_pack("{s:{}, s:{}, s:{}}", "elicitation", "sampling", "roots"));
    if (extra) {
        json_object_update(params, extra);
        json_decref(extra);
    }
    return harness_request(h, "tools/call", params);
}

static json_t *accept_name(const char *name) {
    return json_pack("{s:s, s:{s:s}}", "action", "accept", "content", "name", name);
}

static mcp_server_t *server_with(const char *options) {
    mcp_server_t *s = harness_server(options);
    CHECK_RC(mcp_server_add_tool(s, "{\"name\":\"greet\"}", tool_greet, (void *)"user_name", NULL, NULL), MCP_OK, NULL);
    CHECK_RC(mcp_server_add_tool(s, "{\"name\":\"greet_default\"}", tool_greet, NULL, NULL, NULL), MCP_OK, NULL);
    CHECK_RC(mcp_server_add_tool(s, "{\"name\":\"two\"}", tool_two, NULL, NULL, NULL), MCP_OK, NULL);
    return s;
}

/* ------------------------------------------------- tests */

static void test_rounds(void) {
    harness_section("a 2026-07-28 call: input_required, then the answer");
    mcp_server_t *s = server_with(NULL);
    harness_t *h = harness_new(s); /* its first request, a modern one, makes it a 2026-07-28 connection */

    json_t *r1 = modern_call(h, "greet", NULL, NULL);
    json_t *res = harness_result(r1);
    CHECK_STR(json_string_value(json_object_get(res, "resultType")), "input_required");
    json_t *asked = json_object_get(json_object_get(res, "inputRequests"), "user_name");
    CHECK_STR(json_string_value(json_object_get(asked, "method")), "elicitation/create");
    CHECK_STR(json_string_value(json_object_get(json_object_get(asked, "params"), "message")), "Your name?");
    CHECK_EQ(last_request_status, MCP_ERR_INPUT_REQUIRED);
    const char *state = json_string_value(json_object_get(res, "requestState"));
    CHECK(state != NULL);
    CHECK_EQ(harness_count_notes(h, "elicitation/create"), 0);

    json_t *r2 = modern_call(h, "greet", json_pack("{s:s, s:{s:o}}", "requestState", state, "inputResponses",
                                                   "user_name", accept_name("Ann")), NULL);
    CHECK_STR(harness_tool_text(r2), "Hello, Ann!");
    CHECK_EQ(last_request_status, MCP_OK);
    json_decref(r2);

    /* Bad input: -32602, the handler never runs. */
    char *forged = malloc(strlen(state) + 16);
    sprintf(forged, "%s-TAMPERED", state);
    json_t *r3 = modern_call(h, "greet", json_pack("{s:s}", "requestState", forged), NULL);
    CHECK_EQ(harness_error_code(r3), -32602);
    json_decref(r3);
    free(forged);
    json_t *r4 = modern_call(h, "greet_default", json_pack("{s:s}", "requestState", state), NULL);
    CHECK_EQ(harness_error_code(r4), -32602);
    json_decref(r4);
    json_t *r5 = modern_call(h, "greet", json_pack("{s:{s:i}}", "inputResponses", "user_name", 12345), NULL);
    CHECK_EQ(harness_error_code(r5), -32602);
    json_decref(r5);
    json_decref(r1);

    /* The default key: elicit_1. */
    json_t *d1 = modern_call(h, "greet_default", NULL, NULL);
    CHECK(json_object_get(json_object_get(harness_result(d1), "inputRequests"), "elicit_1") != NULL);
    json_decref(d1);
    json_t *d2 = modern_call(h, "greet_default", json_pack("{s:{s:o}}", "inputResponses", "elicit_1",
                                                           accept_name("Dee")), NULL);
    CHECK_STR(harness_tool_text(d2), "Hello, Dee!");
    json_decref(d2);

    /* No elicitation capability: MCP_ERR_UNSUPPORTED to the handler, -32021 to the client. */
    json_t *c1 = modern_call(h, "greet", NULL, json_pack("{s:{}}", "sampling"));
    /* The engine answered from inside mcp_call_request: the handler may still run. */
    CHECK(harness_wait_flag(&unsupported_seen, HARNESS_TIMEOUT));
    CHECK_EQ(harness_error_code(c1), MCP_JSONRPC_MISSING_CLIENT_CAPABILITY);
    json_decref(c1);

    harness_free(h);
    mcp_server_free(s);
}

static void test_two_in_one_round_and_state(void) {
    harness_section("two requests in one round; the host's state between rounds");
    mcp_server_t *s = server_with(NULL);
    harness_t *h = harness_new(s);
    json_t *r1 = modern_call(h, "two", NULL, NULL);
    json_t *asked = json_object_get(harness_result(r1), "inputRequests");
    CHECK_EQ(json_object_size(asked), 2);
    CHECK(json_object_get(asked, "who") != NULL);
    CHECK(json_object_get(asked, "roots_2") != NULL);
    json_t *r2 = modern_call(h, "two", json_pack("{s:O, s:{s:o, s:{s:[{s:s}]}}}", "requestState",
                                                 json_object_get(harness_result(r1), "requestState"),
                                                 "inputResponses", "who", accept_name("Bo"), "roots_2", "roots",
                                                 "uri", "file:///x"), NULL);
    CHECK_STR(harness_tool_text(r2), "round 2: Bo, 1 roots");
    json_decref(r1);
    json_decref(r2);
    harness_free(h);
    mcp_server_free(s);
}

static void test_same_handler_in_2025(void) {
    harness_section("the same handler sends a live request in the 2025 era");
    mcp_server_t *s = server_with(NULL);
    harness_t *h = harness_new(s);
    json_decref(harness_initialize_with(h, NULL, json_pack("{s:{}}", "elicitation")));
    json_int_t id = harness_send_request(h, "tools/call", json_pack("{s:s}", "name", "greet"));
    json_t *req = harness_take_server_request(h, "elicitation/create", HARNESS_TIMEOUT);
    CHECK(req != NULL);
    harness_reply(h, req, accept_name("Live"), 0, NULL);
    json_decref(req);
    json_t *r = harness_wait_response(h, id, HARNESS_TIMEOUT);
    CHECK_STR(harness_tool_text(r), "Hello, Live!");
    json_decref(r);
    harness_free(h);
    mcp_server_free(s);
}

/* A fleet: every node holds the same keys; a node that rotated in a new key
** still accepts the states the others sealed with the old one. */
static void test_fleet_keys_and_rotation(void) {
    harness_section("request_state_keys: a fleet, and key rotation");
    char opts_a[128], opts_ba[160], opts_b[128];
    snprintf(opts_a, sizeof opts_a, "{\"request_state_keys\":[\"%s\"]}", KEY_A);
    snprintf(opts_ba, sizeof opts_ba, "{\"request_state_keys\":[\"%s\",\"%s\"]}", KEY_B, KEY_A);
    snprintf(opts_b, sizeof opts_b, "{\"request_state_keys\":[\"%s\"]}", KEY_B);
    mcp_server_t *a = server_with(opts_a), *ba = server_with(opts_ba), *b = server_with(opts_b);
    harness_t *ha = harness_new(a), *hba = harness_new(ba), *hb = harness_new(b);

    json_t *r1 = modern_call(ha, "greet", NULL, NULL);
    const char *state = json_string_value(json_object_get(harness_result(r1), "requestState"));
    json_t *ok = modern_call(hba, "greet", json_pack("{s:s, s:{s:o}}", "requestState", state, "inputResponses",
                                                     "user_name", accept_name("Rot")), NULL);
    CHECK_STR(harness_tool_text(ok), "Hello, Rot!");
    json_t *refused = modern_call(hb, "greet", json_pack("{s:s}", "requestState", state), NULL);
    CHECK_EQ(harness_error_code(refused), -32602);
    json_decref(r1);
    json_decref(ok);
    json_decref(refused);
    harness_free(ha);
    harness_free(hba);
    harness_free(hb);
    mcp_server_free(a);
    mcp_server_free(ba);
    mcp_server_free(b);

    mcp_server_t *bad = NULL;
    char *error = NULL;
    CHECK_RC(mcp_server_new("x", "1", "{\"request_state_keys\":[\"short\"]}", &bad, &error), MCP_ERR_INVALID_ARG,
             error);
    mcp_string_free(error);
    CHECK_RC(mcp_server_new("x", "1", "{\"request_state_keys\":[]}", &bad, NULL), MCP_ERR_INVALID_ARG, NULL);
    CHECK_RC(mcp_server_new("x", "1", "{\"request_state_ttl_ms\":5}", &bad, NULL), MCP_ERR_INVALID_ARG, NULL);
    CHECK(bad == NULL);
}

static volatile int arg_checks_done;

static void tool_arg_checks(void *ud, mcp_call_t *call, const char *args) {
    (void)ud, (void)args;
    struct reply r;
    reply_init(&r);
    CHECK_RC(mcp_call_request_named(call, "", "roots/list", NULL, 0, on_reply, &r, NULL), MCP_ERR_INVALID_ARG, NULL);
    /* A 2025-era call has no next round to carry state to. */
    CHECK_RC(mcp_call_set_input_state(call, "x", NULL), MCP_ERR_UNSUPPORTED, NULL);
    char *state = (char *)"unset";
    CHECK_RC(mcp_call_input_state(call, &state, NULL), MCP_OK, NULL);
    CHECK(state == NULL);
    CHECK_RC(mcp_call_input_state(call, NULL, NULL), MCP_ERR_INVALID_ARG, NULL);
    reply_destroy(&r);
    mcp_call_return(call, "{\"content\":[]}", NULL);
    CHECK_RC(mcp_call_input_state(call, &state, NULL), MCP_ERR_STATE, NULL);
    __atomic_store_n(&arg_checks_done, 1, __ATOMIC_SEQ_CST);
}

static void test_arguments(void) {
    harness_section("argument and state checks");
    CHECK_STR(mcp_status_string(MCP_ERR_INPUT_REQUIRED), "the client's input is required");
    CHECK((mcp_abi_version() & 0xffff) >= 3); /* MRTR came with 1.3 (test_library checks the exact minor) */
    mcp_server_t *s = harness_server(NULL);
    CHECK_RC(mcp_server_add_tool(s, "{\"name\":\"args\"}", tool_arg_checks, NULL, NULL, NULL), MCP_OK, NULL);
    harness_t *h = harness_new(s);
    json_decref(harness_initialize(h, NULL));
    json_decref(harness_request(h, "tools/call", json_pack("{s:s}", "name", "args")));
    CHECK(harness_wait_flag(&arg_checks_done, HARNESS_TIMEOUT));
    harness_free(h);
    mcp_server_free(s);
}

int main(void) {
    test_rounds();
    test_two_in_one_round_and_state();
    test_same_handler_in_2025();
    test_fleet_keys_and_rotation();
    test_arguments();
    return harness_finish();
}
