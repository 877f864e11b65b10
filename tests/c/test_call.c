/*
** test_call.c: OBJECT mcp_call_t of mcp.h: answering from any thread, now or
** later; callbacks on engine threads; concurrency; answer-once checking;
** invalid results; progress; logging; JSON-RPC errors; cancellation; string
** arguments and text or blob answers given as bytes.
*/
#define _POSIX_C_SOURCE 200809L

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static const char OK_RESULT[] = "{\"content\":[{\"type\":\"text\",\"text\":\"ok\"}]}";

/* A server with one tool, and an initialized session on it. */
struct fixture {
    mcp_server_t *server;
    harness_t *h;
};

static struct fixture fixture_new(const char *tool_json, mcp_tool_fn fn, void *ud) {
    struct fixture f;
    f.server = harness_server(NULL);
    char *error = NULL;
    mcp_status rc = mcp_server_add_tool(f.server, tool_json, fn, ud, NULL, &error);
    CHECK_RC(rc, MCP_OK, error);
    mcp_string_free(error);
    f.h = harness_new(f.server);
    json_decref(harness_initialize(f.h, NULL));
    return f;
}

static void fixture_free(struct fixture *f) {
    harness_free(f->h);
    mcp_server_free(f->server);
}

static json_t *call_tool(harness_t *h, const char *name, json_t *arguments) {
    json_t *params = json_pack("{s:s}", "name", name);
    if (arguments) json_object_set_new(params, "arguments", arguments);
    return harness_request(h, "tools/call", params);
}

/* ------------------------------------------------- answering from another thread */

struct late {
    pthread_t callback_thread, answer_thread;
    mcp_call_t *call;
    mcp_status rc;
    volatile int answered;
};

static void *late_answer_main(void *arg) {
    struct late *l = arg;
    harness_sleep_ms(20);
    l->rc = mcp_call_return(l->call, "{\"content\":[{\"type\":\"text\",\"text\":\"late\"}]}", NULL);
    __atomic_store_n(&l->answered, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

static void tool_late(void *ud, mcp_call_t *call, const char *args) {
    struct late *l = ud;
    (void)args;
    l->callback_thread = pthread_self();
    l->call = call;
    if (pthread_create(&l->answer_thread, NULL, late_answer_main, l) != 0) abort();
    /* Returns at once: the call is answered later, from the other thread. */
}

static void test_answer_from_other_thread(void) {
    harness_section("answer later from another thread");
    struct late l = {0};
    struct fixture f = fixture_new("{\"name\":\"late\"}", tool_late, &l);
    json_t *r = call_tool(f.h, "late", NULL);
    CHECK_STR(harness_tool_text(r), "late");
    json_decref(r);
    CHECK(harness_wait_flag(&l.answered, HARNESS_TIMEOUT));
    pthread_join(l.answer_thread, NULL);
    CHECK_RC(l.rc, MCP_OK, NULL);
    /* The callback ran on an engine thread, not on the caller of mcp_session_receive. */
    CHECK(!pthread_equal(l.callback_thread, pthread_self()));
    CHECK(!pthread_equal(l.answer_thread, l.callback_thread));
    fixture_free(&f);
}

/* ------------------------------------------------- callback threads, all kinds */

static pthread_t seen_thread[3];
static volatile int seen[3];

static void tool_where(void *ud, mcp_call_t *call, const char *args) {
    (void)ud, (void)args;
    seen_thread[0] = pthread_self();
    __atomic_store_n(&seen[0], 1, __ATOMIC_SEQ_CST);
    mcp_call_return(call, OK_RESULT, NULL);
}

static void resource_where(void *ud, mcp_call_t *call, const char *uri, const char *vars) {
    (void)ud, (void)vars;
    seen_thread[1] = pthread_self();
    __atomic_store_n(&seen[1], 1, __ATOMIC_SEQ_CST);
    json_t *r = json_pack("{s:[{s:s, s:s}]}", "contents", "uri", uri, "text", "x");
    mcp_j_call_return_new(call, r, NULL);
}

static void prompt_where(void *ud, mcp_call_t *call, const char *args) {
    (void)ud, (void)args;
    seen_thread[2] = pthread_self();
    __atomic_store_n(&seen[2], 1, __ATOMIC_SEQ_CST);
    mcp_call_return(call, "{\"messages\":[]}", NULL);
}

static void test_callback_threads(void) {
    harness_section("callbacks run on engine threads");
    struct fixture f = fixture_new("{\"name\":\"where\"}", tool_where, NULL);
    CHECK_RC(mcp_server_add_resource(f.server, "{\"uri\":\"test://where\",\"name\":\"w\"}", resource_where, NULL, NULL, NULL),
             MCP_OK, NULL);
    CHECK_RC(mcp_server_add_prompt(f.server, "{\"name\":\"where\"}", prompt_where, NULL, NULL, NULL), MCP_OK, NULL);
    json_decref(call_tool(f.h, "where", NULL));
    json_decref(harness_request(f.h, "resources/read", json_pack("{s:s}", "uri", "test://where")));
    json_decref(harness_request(f.h, "prompts/get", json_pack("{s:s}", "name", "where")));
    for (int i = 0; i < 3; i++) {
        CHECK(seen[i]);
        if (seen[i]) CHECK(!pthread_equal(seen_thread[i], pthread_self()));
    }
    fixture_free(&f);
}

/* ------------------------------------------------- slow calls overlap */

struct span {
    double start[2], end[2];
};

static void tool_slow(void *ud, mcp_call_t *call, const char *arguments_json) {
    struct span *s = ud;
    json_t *args = mcp_j_loads(arguments_json, NULL);
    int slot = (int)json_integer_value(json_object_get(args, "slot"));
    json_decref(args);
    if (slot < 0 || slot > 1) slot = 0;
    s->start[slot] = harness_now_ms();
    harness_sleep_ms(300); /* a callback may block */
    s->end[slot] = harness_now_ms();
    mcp_call_return(call, OK_RESULT, NULL);
}

static void test_slow_calls_overlap(void) {
    harness_section("two slow calls overlap; a slow call delays no one");
    struct span s = {{0, 0}, {0, 0}};
    struct fixture f = fixture_new("{\"name\":\"slow\"}", tool_slow, &s);
    json_int_t id0 = harness_send_request(f.h, "tools/call", json_pack("{s:s, s:{s:i}}", "name", "slow", "arguments", "slot", 0));
    json_int_t id1 = harness_send_request(f.h, "tools/call", json_pack("{s:s, s:{s:i}}", "name", "slow", "arguments", "slot", 1));
    /* While both sleep, a ping is answered at once. */
    double t0 = harness_now_ms();
    json_t *pong = harness_request(f.h, "ping", NULL);
    CHECK(json_is_object(harness_result(pong)));
    json_decref(pong);
    double ping_ms = harness_now_ms() - t0;
    CHECK(ping_ms < 250 || harness_under_valgrind());
    json_t *r0 = harness_wait_response(f.h, id0, HARNESS_TIMEOUT);
    json_t *r1 = harness_wait_response(f.h, id1, HARNESS_TIMEOUT);
    CHECK_STR(harness_tool_text(r0), "ok");
    CHECK_STR(harness_tool_text(r1), "ok");
    json_decref(r0);
    json_decref(r1);
    /* Both started before either ended. */
    CHECK(s.start[0] > 0 && s.start[1] > 0);
    CHECK(s.start[1] < s.end[0]);
    CHECK(s.start[0] < s.end[1]);
    fixture_free(&f);
}

/* ------------------------------------------------- answer once */

struct twice {
    mcp_status first, second, error_after, progress_after, log_after;
    int cancelled_after;
    volatile int done;
};

static void tool_twice(void *ud, mcp_call_t *call, const char *args) {
    struct twice *t = ud;
    (void)args;
    t->first = mcp_call_return(call, OK_RESULT, NULL);
    char *error = NULL;
    t->second = mcp_call_return(call, OK_RESULT, &error);
    if (error == NULL) harness_fail(__FILE__, __LINE__, "no out_error for the second answer");
    mcp_string_free(error);
    t->error_after = mcp_call_error(call, -32000, "late", NULL, NULL);
    t->progress_after = mcp_call_progress(call, 1, 2, NULL, NULL);
    t->log_after = mcp_call_log(call, "info", NULL, "\"late\"", NULL);
    t->cancelled_after = mcp_call_is_cancelled(call);
    __atomic_store_n(&t->done, 1, __ATOMIC_SEQ_CST);
}

static void test_answer_once(void) {
    harness_section("a call is answered once; handles are checked");
    struct twice t = {0};
    struct fixture f = fixture_new("{\"name\":\"twice\"}", tool_twice, &t);
    json_int_t id = harness_send_request(f.h, "tools/call", json_pack("{s:s}", "name", "twice"));
    json_t *r = harness_wait_response(f.h, id, HARNESS_TIMEOUT);
    CHECK_STR(harness_tool_text(r), "ok");
    json_decref(r);
    CHECK(harness_wait_flag(&t.done, HARNESS_TIMEOUT));
    CHECK_RC(t.first, MCP_OK, NULL);
    CHECK_RC(t.second, MCP_ERR_STATE, NULL);
    CHECK_RC(t.error_after, MCP_ERR_STATE, NULL);
    CHECK_RC(t.progress_after, MCP_ERR_STATE, NULL);
    CHECK_RC(t.log_after, MCP_ERR_STATE, NULL);
    CHECK_EQ(t.cancelled_after, 0);
    /* Exactly one response, nothing else. */
    CHECK_EQ(harness_quiet(f.h, harness_ms(50)), 0);
    fixture_free(&f);

    /* NULL and forged handles: an error status, never a crash. */
    static char not_a_call;
    mcp_call_t *forged = (mcp_call_t *)&not_a_call;
    char *error = NULL;
    CHECK_RC(mcp_call_return(NULL, OK_RESULT, &error), MCP_ERR_INVALID_ARG, error);
    CHECK(error != NULL);
    mcp_string_free(error);
    CHECK(mcp_call_error(NULL, -32000, "x", NULL, NULL) != MCP_OK);
    CHECK(mcp_call_progress(NULL, 1, 2, NULL, NULL) != MCP_OK);
    CHECK(mcp_call_log(NULL, "info", NULL, NULL, NULL) != MCP_OK);
    CHECK_EQ(mcp_call_is_cancelled(NULL), 0);
    CHECK_RC(mcp_call_return(forged, OK_RESULT, NULL), MCP_ERR_STATE, NULL);
    CHECK_RC(mcp_call_error(forged, -32000, "x", NULL, NULL), MCP_ERR_STATE, NULL);
    CHECK_RC(mcp_call_progress(forged, 1, 2, NULL, NULL), MCP_ERR_STATE, NULL);
    CHECK_RC(mcp_call_log(forged, "info", NULL, NULL, NULL), MCP_ERR_STATE, NULL);
    CHECK_EQ(mcp_call_is_cancelled(forged), 0);
}

/* ------------------------------------------------- invalid results */

/* Tool "bad": arguments {"mode": n} choose the broken answer; statuses land here. */
static mcp_status bad_rc[16], bad_again[16];
static int bad_had_error[16];
static volatile int bad_done[16];

static const char *const BAD_RESULTS[] = {
    "{\"content\":[",             /* 0: does not parse */
    NULL,                         /* 1: NULL */
    "[]",                         /* 2: not an object */
    "{\"content\":5}",            /* 3: content not an array */
    "{\"content\":[],\"isError\":\"yes\"}", /* 4: isError not a bool */
    "\"text\"",                   /* 5: a string */
    "{\"content\":[]} trailing",  /* 6: trailing garbage */
};
static const mcp_status BAD_EXPECTED[] = {
    MCP_ERR_INVALID_JSON, MCP_ERR_INVALID_ARG, MCP_ERR_INVALID_ARG, MCP_ERR_INVALID_ARG,
    MCP_ERR_INVALID_ARG,  MCP_ERR_INVALID_ARG, MCP_ERR_INVALID_JSON,
};
#define N_BAD ((int)(sizeof BAD_RESULTS / sizeof BAD_RESULTS[0]))

static void tool_bad(void *ud, mcp_call_t *call, const char *arguments_json) {
    (void)ud;
    json_t *args = mcp_j_loads(arguments_json, NULL);
    int mode = (int)json_integer_value(json_object_get(args, "mode"));
    json_decref(args);
    if (mode < 0 || mode >= N_BAD) mode = 0;
    char *error = NULL;
    bad_rc[mode] = mcp_call_return(call, BAD_RESULTS[mode], &error);
    bad_had_error[mode] = error != NULL && error[0] != '\0';
    mcp_string_free(error);
    /* ^Whether it succeeds or fails, mcp_call_return consumes the call. */
    bad_again[mode] = mcp_call_return(call, OK_RESULT, NULL);
    __atomic_store_n(&bad_done[mode], 1, __ATOMIC_SEQ_CST);
}

static void resource_bad(void *ud, mcp_call_t *call, const char *uri, const char *vars) {
    (void)ud, (void)uri, (void)vars;
    bad_rc[14] = mcp_call_return(call, "{\"contents\":\"nope\"}", NULL);
    __atomic_store_n(&bad_done[14], 1, __ATOMIC_SEQ_CST);
}

static void prompt_bad(void *ud, mcp_call_t *call, const char *args) {
    (void)ud, (void)args;
    bad_rc[15] = mcp_call_return(call, "{\"messages\":5}", NULL);
    __atomic_store_n(&bad_done[15], 1, __ATOMIC_SEQ_CST);
}

static void test_invalid_results(void) {
    harness_section("invalid results: status to the host, -32603 to the client");
    struct fixture f = fixture_new("{\"name\":\"bad\"}", tool_bad, NULL);
    CHECK_RC(mcp_server_add_resource(f.server, "{\"uri\":\"test://bad\",\"name\":\"bad\"}", resource_bad, NULL, NULL, NULL),
             MCP_OK, NULL);
    CHECK_RC(mcp_server_add_prompt(f.server, "{\"name\":\"bad\"}", prompt_bad, NULL, NULL, NULL), MCP_OK, NULL);
    for (int mode = 0; mode < N_BAD; mode++) {
        json_t *r = call_tool(f.h, "bad", json_pack("{s:i}", "mode", mode));
        CHECK_EQ(harness_error_code(r), MCP_JSONRPC_INTERNAL_ERROR);
        json_decref(r);
        CHECK(harness_wait_flag(&bad_done[mode], HARNESS_TIMEOUT));
        CHECK_RC(bad_rc[mode], BAD_EXPECTED[mode], NULL);
        if (bad_rc[mode] != BAD_EXPECTED[mode])
            fprintf(stderr, "   result %s\n", BAD_RESULTS[mode] ? BAD_RESULTS[mode] : "NULL");
        CHECK(bad_had_error[mode]);
        CHECK_RC(bad_again[mode], MCP_ERR_STATE, NULL);
    }
    json_t *r = harness_request(f.h, "resources/read", json_pack("{s:s}", "uri", "test://bad"));
    CHECK_EQ(harness_error_code(r), MCP_JSONRPC_INTERNAL_ERROR);
    json_decref(r);
    CHECK(harness_wait_flag(&bad_done[14], HARNESS_TIMEOUT));
    CHECK_RC(bad_rc[14], MCP_ERR_INVALID_ARG, NULL);
    r = harness_request(f.h, "prompts/get", json_pack("{s:s}", "name", "bad"));
    CHECK_EQ(harness_error_code(r), MCP_JSONRPC_INTERNAL_ERROR);
    json_decref(r);
    CHECK(harness_wait_flag(&bad_done[15], HARNESS_TIMEOUT));
    CHECK_RC(bad_rc[15], MCP_ERR_INVALID_ARG, NULL);
    /* Nothing more was sent (one response per request). */
    CHECK_EQ(harness_quiet(f.h, harness_ms(30)), 0);
    fixture_free(&f);
}

/* ------------------------------------------------- structuredContent */

static void tool_structured(void *ud, mcp_call_t *call, const char *args) {
    (void)ud, (void)args;
    mcp_status rc = mcp_call_return(call, "{\"structuredContent\":{\"x\":1,\"y\":\"two\"}}", NULL);
    CHECK_RC(rc, MCP_OK, NULL);
}

static void test_structured_content(void) {
    harness_section("structuredContent without content; older revisions");
    static const char *const versions[] = {"2025-11-25", "2025-06-18", "2025-03-26"};
    for (int i = 0; i < 3; i++) {
        mcp_server_t *server = harness_server(NULL);
        CHECK_RC(mcp_server_add_tool(server, "{\"name\":\"s\"}", tool_structured, NULL, NULL, NULL), MCP_OK, NULL);
        harness_t *h = harness_new(server);
        json_decref(harness_initialize(h, versions[i]));
        json_t *r = call_tool(h, "s", NULL);
        json_t *result = harness_result(r);
        /* ^A text block holding that JSON is added. */
        json_t *block = json_array_get(json_object_get(result, "content"), 0);
        CHECK_STR(json_string_value(json_object_get(block, "type")), "text");
        json_t *parsed = mcp_j_loads(json_string_value(json_object_get(block, "text")), NULL);
        json_t *expected = json_pack("{s:i, s:s}", "x", 1, "y", "two");
        CHECK(parsed != NULL && json_equal(parsed, expected));
        json_t *sc = json_object_get(result, "structuredContent");
        if (i < 2) {
            CHECK(sc != NULL && json_equal(sc, expected));
        } else {
            CHECK(sc == NULL); /* ^removed for revisions before 2025-06-18 */
        }
        json_decref(expected);
        json_decref(parsed);
        json_decref(r);
        harness_free(h);
        mcp_server_free(server);
    }
}

/* ------------------------------------------------- progress */

struct progress_run {
    mcp_status rc[8];
    volatile int done;
};

/* Tool "progress": reports 1, 2, 3 of 3, then answers. */
static void tool_progress(void *ud, mcp_call_t *call, const char *args) {
    struct progress_run *p = ud;
    (void)args;
    p->rc[0] = mcp_call_progress(call, 1, 3, "one", NULL);
    p->rc[1] = mcp_call_progress(call, 2, 3, NULL, NULL);
    p->rc[2] = mcp_call_progress(call, 3, -1, "unknown total", NULL);
    /* Not increasing, not finite: refused. */
    char *error = NULL;
    p->rc[3] = mcp_call_progress(call, 3, 3, NULL, &error);
    if (p->rc[3] != MCP_OK && error == NULL) harness_fail(__FILE__, __LINE__, "no out_error");
    mcp_string_free(error);
    p->rc[4] = mcp_call_progress(call, 2.5, 3, NULL, NULL);
    p->rc[5] = mcp_call_progress(call, NAN, 3, NULL, NULL);
    p->rc[6] = mcp_call_progress(call, INFINITY, 3, NULL, NULL);
    p->rc[7] = mcp_call_return(call, OK_RESULT, NULL);
    __atomic_store_n(&p->done, 1, __ATOMIC_SEQ_CST);
}

static void test_progress(void) {
    harness_section("progress");
    struct progress_run p;
    memset(&p, 0, sizeof p);
    struct fixture f = fixture_new("{\"name\":\"progress\"}", tool_progress, &p);

    /* String token: three notifications, in order, then the response. */
    json_t *params = json_pack("{s:s, s:{s:s}}", "name", "progress", "_meta", "progressToken", "tok-1");
    json_int_t id = harness_send_request(f.h, "tools/call", params);
    static const double values[] = {1, 2, 3};
    for (int i = 0; i < 3; i++) {
        json_t *m = harness_next(f.h, HARNESS_TIMEOUT);
        const char *method = json_string_value(json_object_get(m, "method"));
        CHECK_STR(method, "notifications/progress"); /* ^progress arrives before the answer */
        json_t *np = json_object_get(m, "params");
        CHECK_STR(json_string_value(json_object_get(np, "progressToken")), "tok-1");
        CHECK(json_number_value(json_object_get(np, "progress")) == values[i]);
        if (i < 2) {
            CHECK(json_number_value(json_object_get(np, "total")) == 3);
        } else {
            CHECK(json_object_get(np, "total") == NULL); /* total < 0: unknown */
        }
        if (i == 0) CHECK_STR(json_string_value(json_object_get(np, "message")), "one");
        if (i == 1) CHECK(json_object_get(np, "message") == NULL);
        json_decref(m);
    }
    json_t *r = harness_next(f.h, HARNESS_TIMEOUT);
    CHECK_EQ(json_integer_value(json_object_get(r, "id")), id);
    CHECK_STR(harness_tool_text(r), "ok");
    json_decref(r);
    CHECK(harness_wait_flag(&p.done, HARNESS_TIMEOUT));
    for (int i = 0; i < 3; i++) CHECK_RC(p.rc[i], MCP_OK, NULL);
    for (int i = 3; i < 7; i++) CHECK_RC(p.rc[i], MCP_ERR_INVALID_ARG, NULL);
    CHECK_RC(p.rc[7], MCP_OK, NULL);

    /* Integer token: echoed as an integer. */
    memset(&p, 0, sizeof p);
    params = json_pack("{s:s, s:{s:i}}", "name", "progress", "_meta", "progressToken", 42);
    id = harness_send_request(f.h, "tools/call", params);
    r = harness_wait_response(f.h, id, HARNESS_TIMEOUT);
    CHECK(r != NULL);
    json_decref(r);
    CHECK_EQ(harness_count_notes(f.h, "notifications/progress"), 3);
    json_t *note = harness_take_note(f.h, "notifications/progress", 0);
    json_t *token = json_object_get(json_object_get(note, "params"), "progressToken");
    CHECK(json_is_integer(token) && json_integer_value(token) == 42);
    json_decref(note);
    harness_clear_notes(f.h);

    /* No progressToken: MCP_OK and nothing sent. */
    memset(&p, 0, sizeof p);
    r = call_tool(f.h, "progress", NULL);
    CHECK_STR(harness_tool_text(r), "ok");
    json_decref(r);
    CHECK(harness_wait_flag(&p.done, HARNESS_TIMEOUT));
    for (int i = 0; i < 3; i++) CHECK_RC(p.rc[i], MCP_OK, NULL);
    CHECK_EQ(harness_count_notes(f.h, "notifications/progress"), 0);
    CHECK_EQ(harness_quiet(f.h, harness_ms(30)), 0);
    fixture_free(&f);
}

/* ------------------------------------------------- logging */

static const char *const LEVELS[] = {"debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"};

struct log_run {
    mcp_status rc[8], bad_level, null_level, bad_data;
    volatile int done;
};

static void tool_log(void *ud, mcp_call_t *call, const char *args) {
    struct log_run *l = ud;
    (void)args;
    for (int i = 0; i < 8; i++) {
        char data[64];
        snprintf(data, sizeof data, "{\"level\":\"%s\",\"n\":%d}", LEVELS[i], i);
        l->rc[i] = mcp_call_log(call, LEVELS[i], "test-logger", data, NULL);
    }
    char *error = NULL;
    l->bad_level = mcp_call_log(call, "verbose", NULL, NULL, &error);
    if (error == NULL) harness_fail(__FILE__, __LINE__, "no out_error for a bad level");
    mcp_string_free(error);
    l->null_level = mcp_call_log(call, NULL, NULL, NULL, NULL);
    l->bad_data = mcp_call_log(call, "emergency", NULL, "{oops", NULL);
    mcp_call_return(call, OK_RESULT, NULL);
    __atomic_store_n(&l->done, 1, __ATOMIC_SEQ_CST);
}

/* Runs the tool once and returns how many log messages of each level arrived. */
static int run_logs(harness_t *h, struct log_run *l, int counts[8]) {
    memset(l, 0, sizeof *l);
    harness_clear_notes(h);
    json_t *r = call_tool(h, "log", NULL);
    json_decref(r);
    CHECK(harness_wait_flag(&l->done, HARNESS_TIMEOUT));
    int total = 0;
    memset(counts, 0, 8 * sizeof counts[0]);
    json_t *m;
    while ((m = harness_take_note(h, "notifications/message", 0)) != NULL) {
        json_t *p = json_object_get(m, "params");
        const char *level = json_string_value(json_object_get(p, "level"));
        for (int i = 0; i < 8; i++) {
            if (level && strcmp(level, LEVELS[i]) == 0) {
                counts[i]++;
                /* logger and data arrive as given */
                CHECK_STR(json_string_value(json_object_get(p, "logger")), "test-logger");
                CHECK_EQ(json_integer_value(json_object_get(json_object_get(p, "data"), "n")), i);
            }
        }
        total++;
        json_decref(m);
    }
    for (int i = 0; i < 8; i++) CHECK_RC(l->rc[i], MCP_OK, NULL);
    CHECK_RC(l->bad_level, MCP_ERR_INVALID_ARG, NULL);
    CHECK_RC(l->null_level, MCP_ERR_INVALID_ARG, NULL);
    CHECK_RC(l->bad_data, MCP_ERR_INVALID_JSON, NULL);
    return total;
}

static void test_logging(void) {
    harness_section("logging and logging/setLevel");
    struct log_run l;
    struct fixture f = fixture_new("{\"name\":\"log\"}", tool_log, &l);
    int counts[8];

    /* ^The default level is "info": debug is dropped. */
    CHECK_EQ(run_logs(f.h, &l, counts), 7);
    CHECK_EQ(counts[0], 0);
    for (int i = 1; i < 8; i++) CHECK_EQ(counts[i], 1);

    json_t *r = harness_request(f.h, "logging/setLevel", json_pack("{s:s}", "level", "error"));
    CHECK(json_is_object(harness_result(r)));
    json_decref(r);
    CHECK_EQ(run_logs(f.h, &l, counts), 4);
    for (int i = 0; i < 8; i++) CHECK_EQ(counts[i], i >= 4 ? 1 : 0);

    r = harness_request(f.h, "logging/setLevel", json_pack("{s:s}", "level", "debug"));
    json_decref(r);
    CHECK_EQ(run_logs(f.h, &l, counts), 8);

    r = harness_request(f.h, "logging/setLevel", json_pack("{s:s}", "level", "emergency"));
    json_decref(r);
    CHECK_EQ(run_logs(f.h, &l, counts), 1);
    CHECK_EQ(counts[7], 1);

    /* A bad level in logging/setLevel is -32602 and changes nothing. */
    r = harness_request(f.h, "logging/setLevel", json_pack("{s:s}", "level", "loud"));
    CHECK_EQ(harness_error_code(r), MCP_JSONRPC_INVALID_PARAMS);
    json_decref(r);
    CHECK_EQ(run_logs(f.h, &l, counts), 1);
    fixture_free(&f);
}

/* NULL data means JSON null; a session's level does not affect another's. */
static void tool_log_null(void *ud, mcp_call_t *call, const char *args) {
    (void)ud, (void)args;
    CHECK_RC(mcp_call_log(call, "warning", NULL, NULL, NULL), MCP_OK, NULL);
    json_t *data = json_pack("[i, s]", 1, "two");
    CHECK_RC(mcp_j_call_log(call, "warning", "j", data, NULL), MCP_OK, NULL);
    json_decref(data);
    mcp_call_return(call, OK_RESULT, NULL);
}

static void test_logging_details(void) {
    harness_section("log data null; per-session level");
    struct fixture f = fixture_new("{\"name\":\"lognull\"}", tool_log_null, NULL);
    harness_t *quiet = harness_new(f.server);
    json_decref(harness_initialize(quiet, NULL));
    json_decref(harness_request(quiet, "logging/setLevel", json_pack("{s:s}", "level", "error")));

    json_decref(call_tool(f.h, "lognull", NULL));
    json_t *m = harness_take_note(f.h, "notifications/message", HARNESS_TIMEOUT);
    json_t *p = json_object_get(m, "params");
    CHECK(json_object_get(p, "data") != NULL && json_is_null(json_object_get(p, "data")));
    CHECK(json_object_get(p, "logger") == NULL); /* logger NULL: absent */
    json_decref(m);
    m = harness_take_note(f.h, "notifications/message", HARNESS_TIMEOUT);
    p = json_object_get(m, "params");
    CHECK_STR(json_string_value(json_object_get(p, "logger")), "j");
    CHECK_EQ(json_array_size(json_object_get(p, "data")), 2);
    json_decref(m);

    /* The other session set "error": its call's warnings are dropped. */
    harness_clear_notes(quiet);
    json_decref(call_tool(quiet, "lognull", NULL));
    CHECK_EQ(harness_count_notes(quiet, "notifications/message"), 0);
    CHECK_EQ(harness_quiet(quiet, harness_ms(30)), 0);
    harness_free(quiet);
    fixture_free(&f);
}

/* ------------------------------------------------- mcp_call_error */

struct err_run {
    mcp_status rc, again;
    volatile int done;
};

static void tool_error(void *ud, mcp_call_t *call, const char *arguments_json) {
    struct err_run *e = ud;
    json_t *args = mcp_j_loads(arguments_json, NULL);
    int mode = (int)json_integer_value(json_object_get(args, "mode"));
    json_decref(args);
    char *error = NULL;
    switch (mode) {
    case 0: e->rc = mcp_call_error(call, 12345, "custom failure", "{\"k\":[1,2],\"s\":\"x\"}", &error); break;
    case 1: e->rc = mcp_call_error(call, MCP_JSONRPC_INVALID_PARAMS, NULL, NULL, &error); break;
    case 2: e->rc = mcp_call_error(call, -32000, "", "\"just a string\"", &error); break;
    case 3: e->rc = mcp_call_error(call, -32000, "bad data", "{nope", &error); break;
    default: {
        json_t *data = json_pack("{s:b}", "j", 1);
        e->rc = mcp_j_call_error(call, -32001, "via jansson", data, &error);
        json_decref(data);
    }
    }
    if (mode == 3 && error == NULL) harness_fail(__FILE__, __LINE__, "no out_error for bad data_json");
    if (mode != 3 && error != NULL) harness_fail(__FILE__, __LINE__, "out_error on success: %s", error);
    mcp_string_free(error);
    e->again = mcp_call_return(call, OK_RESULT, NULL);
    __atomic_store_n(&e->done, 1, __ATOMIC_SEQ_CST);
}

static void test_call_error(void) {
    harness_section("mcp_call_error");
    struct err_run e;
    struct fixture f = fixture_new("{\"name\":\"err\"}", tool_error, &e);

    memset(&e, 0, sizeof e);
    json_t *r = call_tool(f.h, "err", json_pack("{s:i}", "mode", 0));
    json_t *err = json_object_get(r, "error");
    CHECK_EQ(json_integer_value(json_object_get(err, "code")), 12345);
    CHECK_STR(json_string_value(json_object_get(err, "message")), "custom failure");
    json_t *expected = json_pack("{s:[i, i], s:s}", "k", 1, 2, "s", "x");
    CHECK(json_equal(json_object_get(err, "data"), expected));
    json_decref(expected);
    CHECK(harness_result(r) == NULL);
    json_decref(r);
    CHECK(harness_wait_flag(&e.done, HARNESS_TIMEOUT));
    CHECK_RC(e.rc, MCP_OK, NULL);
    CHECK_RC(e.again, MCP_ERR_STATE, NULL);

    /* NULL (or empty) message: a default for the code; no data: no error.data. */
    for (int mode = 1; mode <= 2; mode++) {
        memset(&e, 0, sizeof e);
        r = call_tool(f.h, "err", json_pack("{s:i}", "mode", mode));
        err = json_object_get(r, "error");
        CHECK_EQ(json_integer_value(json_object_get(err, "code")), mode == 1 ? MCP_JSONRPC_INVALID_PARAMS : -32000);
        const char *msg = json_string_value(json_object_get(err, "message"));
        CHECK(msg != NULL && msg[0] != '\0');
        if (mode == 1) CHECK(json_object_get(err, "data") == NULL);
        if (mode == 2) CHECK_STR(json_string_value(json_object_get(err, "data")), "just a string");
        json_decref(r);
        CHECK(harness_wait_flag(&e.done, HARNESS_TIMEOUT));
        CHECK_RC(e.rc, MCP_OK, NULL);
    }

    /* Bad data_json: MCP_ERR_INVALID_JSON, and the call is still consumed. */
    memset(&e, 0, sizeof e);
    r = call_tool(f.h, "err", json_pack("{s:i}", "mode", 3));
    CHECK(json_object_get(r, "error") != NULL);
    json_decref(r);
    CHECK(harness_wait_flag(&e.done, HARNESS_TIMEOUT));
    CHECK_RC(e.rc, MCP_ERR_INVALID_JSON, NULL);
    CHECK_RC(e.again, MCP_ERR_STATE, NULL);

    /* mcp_j_call_error. */
    memset(&e, 0, sizeof e);
    r = call_tool(f.h, "err", json_pack("{s:i}", "mode", 4));
    err = json_object_get(r, "error");
    CHECK_EQ(json_integer_value(json_object_get(err, "code")), -32001);
    CHECK(json_is_true(json_object_get(json_object_get(err, "data"), "j")));
    json_decref(r);
    CHECK(harness_wait_flag(&e.done, HARNESS_TIMEOUT));
    CHECK_EQ(harness_quiet(f.h, harness_ms(30)), 0);
    fixture_free(&f);
}

/* ------------------------------------------------- cancellation */

struct parked {
    mcp_call_t *volatile call;
    volatile int arrived;
};

static void tool_park(void *ud, mcp_call_t *call, const char *args) {
    struct parked *p = ud;
    (void)args;
    p->call = call;
    __atomic_store_n(&p->arrived, 1, __ATOMIC_SEQ_CST);
}

static void test_cancellation(void) {
    harness_section("cancellation with notifications/cancelled");
    struct parked p = {0};
    struct fixture f = fixture_new("{\"name\":\"park\"}", tool_park, &p);

    json_int_t id = harness_send_request(f.h, "tools/call", json_pack("{s:s}", "name", "park"));
    CHECK(harness_wait_flag(&p.arrived, HARNESS_TIMEOUT));
    CHECK_EQ(mcp_call_is_cancelled(p.call), 0);
    harness_notify(f.h, "notifications/cancelled", json_pack("{s:I, s:s}", "requestId", id, "reason", "test"));
    double end = harness_now_ms() + HARNESS_TIMEOUT;
    while (!mcp_call_is_cancelled(p.call) && harness_now_ms() < end) harness_sleep_ms(2);
    CHECK_EQ(mcp_call_is_cancelled(p.call), 1);
    /* ^A cancelled call must still be answered; the answer is dropped. */
    char *error = NULL;
    CHECK_RC(mcp_call_return(p.call, OK_RESULT, &error), MCP_OK, error);
    mcp_string_free(error);
    CHECK_EQ(harness_quiet(f.h, harness_ms(100)), 0); /* no response is sent */
    CHECK_RC(mcp_call_return(p.call, OK_RESULT, NULL), MCP_ERR_STATE, NULL);

    /* String ids are matched too; an error answer is dropped as well. */
    memset(&p, 0, sizeof p);
    json_t *req = json_pack("{s:s, s:s, s:s, s:{s:s}}", "jsonrpc", "2.0", "id", "req-A", "method", "tools/call",
                            "params", "name", "park");
    harness_send(f.h, req);
    json_decref(req);
    CHECK(harness_wait_flag(&p.arrived, HARNESS_TIMEOUT));
    harness_notify(f.h, "notifications/cancelled", json_pack("{s:s}", "requestId", "req-A"));
    end = harness_now_ms() + HARNESS_TIMEOUT;
    while (!mcp_call_is_cancelled(p.call) && harness_now_ms() < end) harness_sleep_ms(2);
    CHECK_EQ(mcp_call_is_cancelled(p.call), 1);
    CHECK_RC(mcp_call_error(p.call, -32000, "late", NULL, NULL), MCP_OK, NULL);
    CHECK_EQ(harness_quiet(f.h, harness_ms(50)), 0);

    /* Cancelling an unknown or finished request is ignored; the session goes on. */
    harness_notify(f.h, "notifications/cancelled", json_pack("{s:i}", "requestId", 999999));
    harness_notify(f.h, "notifications/cancelled", json_pack("{s:I}", "requestId", id));
    harness_notify(f.h, "notifications/cancelled", json_pack("{}"));
    json_t *r = harness_request(f.h, "ping", NULL);
    CHECK(json_is_object(harness_result(r)));
    json_decref(r);
    CHECK_EQ(harness_quiet(f.h, harness_ms(30)), 0);

    /* A call that is not cancelled answers normally. */
    memset(&p, 0, sizeof p);
    id = harness_send_request(f.h, "tools/call", json_pack("{s:s}", "name", "park"));
    CHECK(harness_wait_flag(&p.arrived, HARNESS_TIMEOUT));
    CHECK_EQ(mcp_call_is_cancelled(p.call), 0);
    CHECK_RC(mcp_call_return(p.call, OK_RESULT, NULL), MCP_OK, NULL);
    r = harness_wait_response(f.h, id, HARNESS_TIMEOUT);
    CHECK_STR(harness_tool_text(r), "ok");
    json_decref(r);
    fixture_free(&f);
}

/* ------------------------------------------------- many calls, many threads */

struct storm {
    volatile int started;
};

static void *storm_answer(void *arg) {
    mcp_call_t *call = arg;
    mcp_call_return(call, OK_RESULT, NULL);
    return NULL;
}

static void tool_storm(void *ud, mcp_call_t *call, const char *args) {
    struct storm *s = ud;
    (void)args;
    int n = __atomic_add_fetch(&s->started, 1, __ATOMIC_SEQ_CST);
    if (n % 2) {
        mcp_call_return(call, OK_RESULT, NULL);
    } else {
        pthread_t t;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        if (pthread_create(&t, &attr, storm_answer, call) != 0) mcp_call_return(call, OK_RESULT, NULL);
        pthread_attr_destroy(&attr);
    }
}

static void test_many_calls(void) {
    harness_section("many calls answered inline and from other threads");
    struct storm s = {0};
    struct fixture f = fixture_new("{\"name\":\"storm\"}", tool_storm, &s);
    int n = harness_scale(200);
    json_int_t first = 0;
    for (int i = 0; i < n; i++) {
        json_int_t id = harness_send_request(f.h, "tools/call", json_pack("{s:s}", "name", "storm"));
        if (i == 0) first = id;
    }
    int answered = 0;
    for (int i = 0; i < n; i++) {
        json_t *r = harness_wait_response(f.h, first + i, HARNESS_TIMEOUT);
        if (harness_tool_text(r) && strcmp(harness_tool_text(r), "ok") == 0) answered++;
        json_decref(r);
    }
    CHECK_EQ(answered, n);
    CHECK_EQ(harness_bad_messages(f.h), 0);
    fixture_free(&f);
}

/* ------------------------------------------------- requests to the client */

/* What the tool "ask" saw: arguments {"method":..., "params"?:..., "timeout"?:ms}. */
struct asked {
    mcp_status sync_rc, status;
    int fn_calls;
    json_t *result, *error;
    pthread_t fn_thread;
    volatile int done;
};
static struct asked asked;

static void asked_reset(void) {
    json_decref(asked.result);
    json_decref(asked.error);
    memset(&asked, 0, sizeof asked);
}

static void ask_fn(void *ud, mcp_status status, const char *result_json, const char *error_json) {
    mcp_call_t *call = ud;
    asked.fn_calls++;
    asked.status = status;
    asked.result = mcp_j_loads(result_json, NULL);
    asked.error = mcp_j_loads(error_json, NULL);
    asked.fn_thread = pthread_self();
    /* done before the answer: once the client has the response, nothing here writes any more. */
    __atomic_store_n(&asked.done, 1, __ATOMIC_SEQ_CST);
    mcp_call_return(call, OK_RESULT, NULL); /* dropped when the call was cancelled */
}

static void tool_ask(void *ud, mcp_call_t *call, const char *arguments_json) {
    (void)ud;
    json_t *args = mcp_j_loads(arguments_json, NULL);
    const char *method = json_string_value(json_object_get(args, "method"));
    json_t *params = json_object_get(args, "params");
    int timeout = (int)json_integer_value(json_object_get(args, "timeout"));
    /* fn may run (and the test go on) before this returns: store only a failure. */
    mcp_status rc = mcp_j_call_request(call, method, params, timeout, ask_fn, call, NULL);
    json_decref(args);
    if (rc != MCP_OK) {
        asked.sync_rc = rc;
        /* fn is not called: answer here (done first, as in ask_fn). */
        __atomic_store_n(&asked.done, 1, __ATOMIC_SEQ_CST);
        mcp_call_return(call, "{\"content\":[{\"type\":\"text\",\"text\":\"refused\"}]}", NULL);
    }
}

static json_int_t ask(harness_t *h, const char *method, json_t *params, int timeout) {
    asked_reset();
    json_t *args = json_pack("{s:s, s:i}", "method", method, "timeout", timeout);
    if (params) json_object_set_new(args, "params", params);
    return harness_send_request(h, "tools/call", json_pack("{s:s, s:o}", "name", "ask", "arguments", args));
}

/* The statuses of mcp_call_request and friends used wrongly, and after the answer. */
struct misuse {
    mcp_status null_method, null_fn, bad_json, not_object, bad_method, after_answer;
    mcp_status meta_null_out, sid_null_out, meta_after, sid_after, on_cancel_null, on_cancel_after;
    char *meta, *sid;
    volatile int done;
};

static void never_called(void *ud, mcp_status st, const char *r, const char *e) {
    (void)ud, (void)st, (void)r, (void)e;
    harness_fail(__FILE__, __LINE__, "response fn called for a refused request");
}
static void cancel_never(void *ud) {
    (void)ud;
    harness_fail(__FILE__, __LINE__, "cancel fn called for an answered call");
}

static void tool_misuse(void *ud, mcp_call_t *call, const char *args) {
    struct misuse *m = ud;
    (void)args;
    m->null_method = mcp_call_request(call, NULL, NULL, 0, never_called, NULL, NULL);
    m->null_fn = mcp_call_request(call, "ping", NULL, 0, NULL, NULL, NULL);
    m->bad_json = mcp_call_request(call, "ping", "{bad", 0, never_called, NULL, NULL);
    m->not_object = mcp_call_request(call, "ping", "[1]", 0, never_called, NULL, NULL);
    m->bad_method = mcp_call_request(call, "tools/list", NULL, 0, never_called, NULL, NULL);
    m->on_cancel_null = mcp_call_on_cancel(call, NULL, NULL, NULL);
    m->meta_null_out = mcp_call_meta(call, NULL, NULL);
    m->sid_null_out = mcp_call_session_id(call, NULL, NULL);
    char *error = NULL;
    mcp_status rc = mcp_call_meta(call, &m->meta, &error);
    CHECK_RC(rc, MCP_OK, error);
    mcp_string_free(error);
    error = NULL;
    rc = mcp_call_session_id(call, &m->sid, &error);
    CHECK_RC(rc, MCP_OK, error);
    mcp_string_free(error);
    mcp_call_return(call, OK_RESULT, NULL);
    m->after_answer = mcp_call_request(call, "ping", NULL, 0, never_called, NULL, NULL);
    m->on_cancel_after = mcp_call_on_cancel(call, cancel_never, NULL, NULL);
    char *out = (char *)&out;
    m->meta_after = mcp_call_meta(call, &out, NULL);
    if (out != NULL) harness_fail(__FILE__, __LINE__, "mcp_call_meta failed but *out_json is not NULL");
    out = (char *)&out;
    m->sid_after = mcp_call_session_id(call, &out, NULL);
    if (out != NULL) harness_fail(__FILE__, __LINE__, "mcp_call_session_id failed but *out_id is not NULL");
    __atomic_store_n(&m->done, 1, __ATOMIC_SEQ_CST);
}

static void test_client_requests(void) {
    harness_section("mcp_call_request");
    mcp_server_t *server = harness_server(NULL);
    CHECK_RC(mcp_server_add_tool(server, "{\"name\":\"ask\"}", tool_ask, NULL, NULL, NULL), MCP_OK, NULL);

    /* A client without capabilities: refused with MCP_ERR_UNSUPPORTED, nothing sent. */
    harness_t *plain = harness_new(server);
    json_decref(harness_initialize(plain, NULL));
    static const char *const needs[] = {"sampling/createMessage", "elicitation/create", "roots/list"};
    for (int i = 0; i < 3; i++) {
        json_int_t id = ask(plain, needs[i], i < 2 ? json_pack("{s:s}", "message", "x") : NULL, 0);
        json_t *r = harness_wait_response(plain, id, HARNESS_TIMEOUT);
        CHECK_STR(harness_tool_text(r), "refused");
        json_decref(r);
        CHECK_RC(asked.sync_rc, MCP_ERR_UNSUPPORTED, NULL);
        json_t *sent = harness_take_server_request(plain, needs[i], 0);
        CHECK(sent == NULL);
        json_decref(sent);
    }
    /* ping needs no capability. */
    json_int_t id = ask(plain, "ping", NULL, 0);
    json_t *req = harness_take_server_request(plain, "ping", HARNESS_TIMEOUT);
    CHECK(req != NULL);
    if (req) harness_reply(plain, req, json_object(), 0, NULL);
    json_decref(req);
    json_t *r = harness_wait_response(plain, id, HARNESS_TIMEOUT);
    CHECK_STR(harness_tool_text(r), "ok");
    json_decref(r);
    CHECK_RC(asked.status, MCP_OK, NULL);
    harness_free(plain);

    harness_t *h = harness_new(server);
    json_decref(harness_initialize_with(h, NULL, json_pack("{s:{}, s:{}, s:{}}", "sampling", "elicitation", "roots")));

    /* A result: fn gets MCP_OK and the result object, on an engine thread. */
    json_t *params = json_pack("{s:[{s:s, s:{s:s, s:s}}], s:i}", "messages", "role", "user", "content", "type", "text",
                               "text", "hello", "maxTokens", 10);
    id = ask(h, "sampling/createMessage", json_incref(params), 0);
    req = harness_take_server_request(h, "sampling/createMessage", HARNESS_TIMEOUT);
    CHECK(req != NULL && json_equal(json_object_get(req, "params"), params));
    json_decref(params);
    json_t *answer = json_pack("{s:s, s:{s:s, s:s}, s:s}", "role", "assistant", "content", "type", "text", "text", "hi",
                               "model", "m");
    if (req) harness_reply(h, req, json_incref(answer), 0, NULL);
    json_decref(req);
    r = harness_wait_response(h, id, HARNESS_TIMEOUT);
    CHECK_STR(harness_tool_text(r), "ok");
    json_decref(r);
    CHECK(harness_wait_flag(&asked.done, HARNESS_TIMEOUT));
    CHECK_RC(asked.sync_rc, MCP_OK, NULL);
    CHECK_RC(asked.status, MCP_OK, NULL);
    CHECK(asked.result != NULL && json_equal(asked.result, answer));
    CHECK(asked.error == NULL);
    CHECK_EQ(asked.fn_calls, 1);
    CHECK(!pthread_equal(asked.fn_thread, pthread_self()));
    json_decref(answer);

    /* An error answer: MCP_ERR_PEER with {"code","message"}. */
    id = ask(h, "elicitation/create", json_pack("{s:s, s:{s:s, s:{}}}", "message", "m", "requestedSchema", "type", "object", "properties"), 0);
    req = harness_take_server_request(h, "elicitation/create", HARNESS_TIMEOUT);
    if (req) harness_reply(h, req, NULL, -32001, "no thanks");
    json_decref(req);
    json_decref(harness_wait_response(h, id, HARNESS_TIMEOUT));
    CHECK(harness_wait_flag(&asked.done, HARNESS_TIMEOUT));
    CHECK_RC(asked.status, MCP_ERR_PEER, NULL);
    CHECK(asked.result == NULL);
    CHECK_EQ(json_integer_value(json_object_get(asked.error, "code")), -32001);
    CHECK_STR(json_string_value(json_object_get(asked.error, "message")), "no thanks");

    /* No answer within timeout_ms: MCP_ERR_TIMEOUT; a late answer is ignored. */
    id = ask(h, "roots/list", NULL, 100);
    req = harness_take_server_request(h, "roots/list", HARNESS_TIMEOUT);
    CHECK(req != NULL);
    json_decref(harness_wait_response(h, id, HARNESS_TIMEOUT));
    CHECK(harness_wait_flag(&asked.done, HARNESS_TIMEOUT));
    CHECK_RC(asked.status, MCP_ERR_TIMEOUT, NULL);
    if (req) harness_reply(h, req, json_pack("{s:[]}", "roots"), 0, NULL);
    json_decref(req);
    json_t *pong = harness_request(h, "ping", NULL);
    CHECK(json_is_object(harness_result(pong)));
    json_decref(pong);
    CHECK_EQ(asked.fn_calls, 1);

    /* The call is cancelled first: the request is cancelled too (MCP_ERR_CANCELLED). */
    harness_quiet(h, harness_ms(20));
    harness_clear_notes(h);
    id = ask(h, "roots/list", NULL, 0);
    req = harness_take_server_request(h, "roots/list", HARNESS_TIMEOUT);
    CHECK(req != NULL);
    harness_notify(h, "notifications/cancelled", json_pack("{s:I}", "requestId", id));
    CHECK(harness_wait_flag(&asked.done, HARNESS_TIMEOUT));
    CHECK_RC(asked.status, MCP_ERR_CANCELLED, NULL);
    /* The client is told that the server's request is withdrawn. */
    json_t *withdrawn = harness_take_note(h, "notifications/cancelled", HARNESS_TIMEOUT);
    CHECK(withdrawn != NULL && req != NULL &&
          json_equal(json_object_get(json_object_get(withdrawn, "params"), "requestId"), json_object_get(req, "id")));
    if (withdrawn == NULL || req == NULL ||
        !json_equal(json_object_get(json_object_get(withdrawn, "params"), "requestId"), json_object_get(req, "id"))) {
        char *d = harness_dump(req), *w = harness_dump(withdrawn);
        fprintf(stderr, "   server request %s, its cancellation %s\n", d, w);
        free(d);
        free(w);
    }
    json_decref(withdrawn);
    json_decref(req);
    int extra = harness_quiet(h, harness_ms(50));
    CHECK_EQ(extra, 0); /* and the cancelled call gets no response */
    if (extra) {
        json_t *m;
        while ((m = harness_take_server_request(h, "roots/list", 0)) != NULL) {
            char *d = harness_dump(m);
            fprintf(stderr, "   extra: %s\n", d);
            free(d);
            json_decref(m);
        }
        json_t *resp = harness_wait_response(h, id, 0);
        if (resp) {
            char *d = harness_dump(resp);
            fprintf(stderr, "   response to the cancelled call: %s\n", d);
            free(d);
            json_decref(resp);
        }
    }

    /* "tools" in sampling params need the sampling.tools capability. */
    id = ask(h, "sampling/createMessage",
             json_pack("{s:[], s:i, s:[{s:s, s:{s:s}}]}", "messages", "maxTokens", 5, "tools", "name", "t",
                       "inputSchema", "type", "object"),
             0);
    json_decref(harness_wait_response(h, id, HARNESS_TIMEOUT));
    CHECK_RC(asked.sync_rc, MCP_ERR_UNSUPPORTED, NULL);

    /* The session closes while the client has not answered: fn still runs, once. */
    id = ask(h, "roots/list", NULL, 0);
    req = harness_take_server_request(h, "roots/list", HARNESS_TIMEOUT);
    CHECK(req != NULL);
    json_decref(req);
    harness_close_session(h);
    CHECK(harness_wait_flag(&asked.done, HARNESS_TIMEOUT));
    CHECK(asked.status == MCP_ERR_CLOSED || asked.status == MCP_ERR_CANCELLED);
    if (asked.status != MCP_ERR_CLOSED && asked.status != MCP_ERR_CANCELLED)
        fprintf(stderr, "   status %d (%s), fn calls %d, sync %d\n", asked.status, mcp_status_string(asked.status),
                asked.fn_calls, asked.sync_rc);
    CHECK_EQ(asked.fn_calls, 1);
    harness_free(h);

    /* Misuse: argument errors, and everything after the answer. */
    struct misuse m;
    memset(&m, 0, sizeof m);
    CHECK_RC(mcp_server_add_tool(server, "{\"name\":\"misuse\"}", tool_misuse, &m, NULL, NULL), MCP_OK, NULL);
    h = harness_new(server);
    json_decref(harness_initialize(h, NULL));
    r = harness_request(h, "tools/call", json_pack("{s:s, s:{s:s, s:i}}", "name", "misuse", "_meta", "progressToken", "p", "k", 1));
    json_decref(r);
    CHECK(harness_wait_flag(&m.done, HARNESS_TIMEOUT));
    CHECK_RC(m.null_method, MCP_ERR_INVALID_ARG, NULL);
    CHECK_RC(m.null_fn, MCP_ERR_INVALID_ARG, NULL);
    CHECK_RC(m.bad_json, MCP_ERR_INVALID_JSON, NULL);
    CHECK_RC(m.not_object, MCP_ERR_INVALID_ARG, NULL);
    /* A method outside the header's list: mcp.h does not say which of the two. */
    CHECK(m.bad_method == MCP_ERR_INVALID_ARG || m.bad_method == MCP_ERR_UNSUPPORTED);
    CHECK_RC(m.after_answer, MCP_ERR_STATE, NULL);
    CHECK_RC(m.on_cancel_null, MCP_ERR_INVALID_ARG, NULL);
    CHECK_RC(m.on_cancel_after, MCP_ERR_STATE, NULL);
    CHECK_RC(m.meta_null_out, MCP_ERR_INVALID_ARG, NULL);
    CHECK_RC(m.sid_null_out, MCP_ERR_INVALID_ARG, NULL);
    CHECK_RC(m.meta_after, MCP_ERR_STATE, NULL);
    CHECK_RC(m.sid_after, MCP_ERR_STATE, NULL);
    /* mcp_call_meta: the request's _meta as given. */
    json_t *meta = mcp_j_loads(m.meta, NULL);
    json_t *want = json_pack("{s:s, s:i}", "progressToken", "p", "k", 1);
    CHECK(meta != NULL && json_equal(meta, want));
    json_decref(meta);
    json_decref(want);
    mcp_string_free(m.meta);
    char *sid1 = m.sid;
    CHECK(sid1 != NULL && sid1[0] != '\0');
    /* Without _meta: "{}"; the same session gives the same id. */
    memset(&m, 0, sizeof m);
    json_decref(harness_request(h, "tools/call", json_pack("{s:s}", "name", "misuse")));
    CHECK(harness_wait_flag(&m.done, HARNESS_TIMEOUT));
    CHECK_STR(m.meta, "{}");
    CHECK_STR(m.sid, sid1);
    mcp_string_free(m.meta);
    mcp_string_free(m.sid);
    /* Another session, another id. */
    harness_t *h2 = harness_new(server);
    json_decref(harness_initialize(h2, NULL));
    memset(&m, 0, sizeof m);
    json_decref(harness_request(h2, "tools/call", json_pack("{s:s}", "name", "misuse")));
    CHECK(harness_wait_flag(&m.done, HARNESS_TIMEOUT));
    CHECK(m.sid != NULL && strcmp(m.sid, sid1) != 0);
    mcp_string_free(m.meta);
    mcp_string_free(m.sid);
    mcp_string_free(sid1);
    harness_free(h2);
    harness_free(h);
    mcp_server_free(server);
    asked_reset();
}

/* ------------------------------------------------- mcp_call_on_cancel */

struct watched {
    mcp_call_t *volatile call;
    volatile int arrived, fired;
    pthread_t fired_on;
};

static void on_cancel_fn(void *ud) {
    struct watched *w = ud;
    w->fired_on = pthread_self();
    __atomic_add_fetch(&w->fired, 1, __ATOMIC_SEQ_CST);
}

/* Registers on_cancel at once (args {"early":true}) or leaves it to the test. */
static void tool_watch(void *ud, mcp_call_t *call, const char *arguments_json) {
    struct watched *w = ud;
    json_t *args = mcp_j_loads(arguments_json, NULL);
    if (json_is_true(json_object_get(args, "early"))) {
        CHECK_RC(mcp_call_on_cancel(call, on_cancel_fn, w, NULL), MCP_OK, NULL);
    }
    json_decref(args);
    w->call = call;
    __atomic_store_n(&w->arrived, 1, __ATOMIC_SEQ_CST);
}

static void test_on_cancel(void) {
    harness_section("mcp_call_on_cancel");
    struct watched w;
    memset(&w, 0, sizeof w);
    struct fixture f = fixture_new("{\"name\":\"watch\"}", tool_watch, &w);

    /* Registered, then cancelled: fn runs once, on an engine thread. */
    json_int_t id = harness_send_request(f.h, "tools/call", json_pack("{s:s, s:{s:b}}", "name", "watch", "arguments", "early", 1));
    CHECK(harness_wait_flag(&w.arrived, HARNESS_TIMEOUT));
    harness_sleep_ms(harness_ms(20));
    CHECK_EQ(w.fired, 0);
    harness_notify(f.h, "notifications/cancelled", json_pack("{s:I}", "requestId", id));
    CHECK_EQ(harness_wait_count(&w.fired, 1, HARNESS_TIMEOUT), 1);
    CHECK(!pthread_equal(w.fired_on, pthread_self()));
    CHECK_RC(mcp_call_return(w.call, OK_RESULT, NULL), MCP_OK, NULL);
    harness_sleep_ms(harness_ms(20));
    CHECK_EQ(w.fired, 1);

    /* Cancelled first, registered after: fn runs at once. */
    memset(&w, 0, sizeof w);
    id = harness_send_request(f.h, "tools/call", json_pack("{s:s}", "name", "watch"));
    CHECK(harness_wait_flag(&w.arrived, HARNESS_TIMEOUT));
    harness_notify(f.h, "notifications/cancelled", json_pack("{s:I}", "requestId", id));
    double end = harness_now_ms() + HARNESS_TIMEOUT;
    while (!mcp_call_is_cancelled(w.call) && harness_now_ms() < end) harness_sleep_ms(2);
    CHECK_RC(mcp_call_on_cancel(w.call, on_cancel_fn, &w, NULL), MCP_OK, NULL);
    CHECK_EQ(harness_wait_count(&w.fired, 1, HARNESS_TIMEOUT), 1);
    CHECK_RC(mcp_call_return(w.call, OK_RESULT, NULL), MCP_OK, NULL);

    /* Answered normally: fn never runs. */
    memset(&w, 0, sizeof w);
    id = harness_send_request(f.h, "tools/call", json_pack("{s:s, s:{s:b}}", "name", "watch", "arguments", "early", 1));
    CHECK(harness_wait_flag(&w.arrived, HARNESS_TIMEOUT));
    CHECK_RC(mcp_call_return(w.call, OK_RESULT, NULL), MCP_OK, NULL);
    json_decref(harness_wait_response(f.h, id, HARNESS_TIMEOUT));
    harness_notify(f.h, "notifications/cancelled", json_pack("{s:I}", "requestId", id));
    harness_sleep_ms(harness_ms(30));
    CHECK_EQ(w.fired, 0);

    /* The session closes: fn runs once. */
    memset(&w, 0, sizeof w);
    harness_send_request(f.h, "tools/call", json_pack("{s:s, s:{s:b}}", "name", "watch", "arguments", "early", 1));
    CHECK(harness_wait_flag(&w.arrived, HARNESS_TIMEOUT));
    harness_close_session(f.h);
    CHECK_EQ(harness_wait_count(&w.fired, 1, HARNESS_TIMEOUT), 1);
    mcp_status rc = mcp_call_return(w.call, OK_RESULT, NULL);
    CHECK(rc == MCP_OK || rc == MCP_ERR_STATE);
    harness_sleep_ms(harness_ms(20));
    CHECK_EQ(w.fired, 1);
    fixture_free(&f);
}

/* ------------------------------------------------- bytes in and out (ABI 1.2) */

static volatile int bytes_done;

/* "bytes": arguments {"mode", "text"?, "n"?}; reads them with mcp_call_arg_string. */
static void tool_bytes(void *ud, mcp_call_t *call, const char *args) {
    (void)ud, (void)args;
    const char *mode = NULL, *text = NULL;
    size_t mode_len = 0, len = 0;
    CHECK_RC(mcp_call_arg_string(call, "mode", &mode, &mode_len, NULL), MCP_OK, NULL);
    CHECK(mode != NULL && strlen(mode) == mode_len); /* NUL-terminated */
    char *error = NULL;
    if (!strcmp(mode, "echo")) {
        CHECK_RC(mcp_call_arg_string(call, "text", &text, &len, NULL), MCP_OK, NULL);
        const char *again = NULL;
        size_t again_len = 0;
        CHECK_RC(mcp_call_arg_string(call, "text", &again, &again_len, NULL), MCP_OK, NULL);
        CHECK(again == text && again_len == len); /* one copy per argument, or none */
        CHECK(text[len] == '\0'); /* a NUL after it, whether lent in place (long) or copied (short) */
        /* The lent text goes straight back. */
        CHECK_RC(mcp_call_return_text(call, text, len, NULL, "text", NULL), MCP_OK, NULL);
    } else if (!strcmp(mode, "echo-tail")) {
        /* Part of a lent text is not the argument itself: these bytes are answered. */
        CHECK_RC(mcp_call_arg_string(call, "text", &text, &len, NULL), MCP_OK, NULL);
        CHECK_RC(mcp_call_return_text(call, text + 1, len - 1, NULL, "text", NULL), MCP_OK, NULL);
    } else if (!strcmp(mode, "errors")) {
        const char *t = (const char *)1;
        size_t l = 9;
        CHECK_RC(mcp_call_arg_string(call, "missing", &t, &l, &error), MCP_ERR_NOT_FOUND, error);
        CHECK(t == NULL && l == 0 && error != NULL);
        mcp_string_free(error);
        CHECK_RC(mcp_call_arg_string(call, "n", &t, &l, NULL), MCP_ERR_INVALID_ARG, NULL); /* a number */
        CHECK_RC(mcp_call_arg_string(call, NULL, &t, &l, NULL), MCP_ERR_INVALID_ARG, NULL);
        CHECK_RC(mcp_call_arg_string(call, "mode", NULL, &l, NULL), MCP_ERR_INVALID_ARG, NULL);
        CHECK_RC(mcp_call_arg_string(call, "mode", &t, NULL, NULL), MCP_ERR_INVALID_ARG, NULL);
        CHECK_RC(mcp_call_arg_string(NULL, "mode", &t, &l, NULL), MCP_ERR_INVALID_ARG, NULL);
        CHECK_RC(mcp_call_return_text(NULL, "x", 1, NULL, NULL, NULL), MCP_ERR_INVALID_ARG, NULL);
        /* Not UTF-8: refused, and the client gets -32603. */
        CHECK_RC(mcp_call_return_text(call, "\xff\xfe", 2, NULL, NULL, NULL), MCP_ERR_INVALID_ARG, NULL);
        CHECK_RC(mcp_call_arg_string(call, "mode", &t, &l, NULL), MCP_ERR_STATE, NULL); /* answered */
        CHECK_RC(mcp_call_return_text(call, "x", 1, NULL, NULL, NULL), MCP_ERR_STATE, NULL);
    } else if (!strcmp(mode, "blob")) {
        CHECK_RC(mcp_call_arg_string(call, "text", &text, &len, NULL), MCP_OK, NULL);
        CHECK_RC(mcp_call_return_blob(call, text, len, "image/png", NULL), MCP_OK, NULL);
    } else if (!strcmp(mode, "blob-type")) {
        CHECK_RC(mcp_call_return_blob(call, "abc", 3, "text/plain", &error), MCP_ERR_INVALID_ARG, error);
        CHECK(error != NULL);
        mcp_string_free(error);
    } else if (!strcmp(mode, "blob-null")) {
        CHECK_RC(mcp_call_return_blob(call, "abc", 3, NULL, NULL), MCP_ERR_INVALID_ARG, NULL);
    } else if (!strcmp(mode, "structured")) {
        CHECK_RC(mcp_call_arg_string(call, "text", &text, &len, NULL), MCP_OK, NULL);
        CHECK_RC(mcp_call_return_structured(call, text, len, NULL, NULL), MCP_OK, NULL);
        CHECK_RC(mcp_call_return_structured(call, "{}", 2, NULL, NULL), MCP_ERR_STATE, NULL);
    } else if (!strcmp(mode, "structured-key")) {
        CHECK_RC(mcp_call_return_structured(call, " \"hi\" ", 6, "text", NULL), MCP_OK, NULL);
    } else if (!strcmp(mode, "structured-json")) {
        CHECK_RC(mcp_call_return_structured(call, "{\"text\":", 8, NULL, &error), MCP_ERR_INVALID_JSON, error);
        CHECK(error != NULL);
        mcp_string_free(error);
    } else if (!strcmp(mode, "structured-utf8")) {
        CHECK_RC(mcp_call_return_structured(call, "\"\xff\"", 3, NULL, NULL), MCP_ERR_INVALID_ARG, NULL);
    } else if (!strcmp(mode, "structured-null")) {
        CHECK_RC(mcp_call_return_structured(NULL, "{}", 2, NULL, NULL), MCP_ERR_INVALID_ARG, NULL);
        CHECK_RC(mcp_call_return_structured(call, NULL, 2, NULL, NULL), MCP_ERR_INVALID_ARG, NULL);
    } else if (!strcmp(mode, "parts")) {
        /* {"text": TEXT, "n": [1, TEXT]}: the lent text twice, as it is, with JSON around it. */
        CHECK_RC(mcp_call_arg_string(call, "text", &text, &len, NULL), MCP_OK, NULL);
        const char *parts[] = {"{\"text\": ", text, ", \"n\": [1, ", text, "]}"};
        size_t lens[] = {9, len, 11, len, 2};
        CHECK_RC(mcp_call_return_structured_parts(call, parts, lens, 5, NULL, NULL), MCP_OK, NULL);
        CHECK_RC(mcp_call_return_structured_parts(call, parts, lens, 5, NULL, NULL), MCP_ERR_STATE, NULL);
    } else if (!strcmp(mode, "parts-key")) {
        const char *parts[] = {"", "x\0y", ""};
        size_t lens[] = {0, 3, 0};
        CHECK_RC(mcp_call_return_structured_parts(call, parts, lens, 3, "text", NULL), MCP_OK, NULL);
    } else if (!strcmp(mode, "parts-bad")) {
        const char *parts[] = {"{\"a\": ", "x", "}", NULL};
        size_t lens[] = {6, 1, 1, 0};
        CHECK_RC(mcp_call_return_structured_parts(NULL, parts, lens, 3, NULL, NULL), MCP_ERR_INVALID_ARG, NULL);
        CHECK_RC(mcp_call_return_structured_parts(call, parts, lens, 4, NULL, &error), MCP_ERR_INVALID_ARG, error);
        CHECK(error != NULL && strstr(error, "odd") != NULL);
        mcp_string_free(error);
        /* Refused: the call is answered (-32603), so the next use finds it gone. */
        CHECK_RC(mcp_call_return_structured_parts(call, parts, lens, 3, NULL, NULL), MCP_ERR_STATE, NULL);
    } else if (!strcmp(mode, "parts-json")) {
        const char *parts[] = {"{\"a\" ", "x", "}"};
        size_t lens[] = {5, 1, 1};
        CHECK_RC(mcp_call_return_structured_parts(call, parts, lens, 3, NULL, NULL), MCP_ERR_INVALID_JSON, NULL);
    } else if (!strcmp(mode, "parts-utf8")) {
        const char *parts[] = {"[", "\xff", "]"};
        size_t lens[] = {1, 1, 1};
        CHECK_RC(mcp_call_return_structured_parts(call, parts, lens, 3, NULL, NULL), MCP_ERR_INVALID_ARG, NULL);
    } else if (!strcmp(mode, "parts-null")) {
        const char *parts[] = {"[", NULL, "]"};
        size_t lens[] = {1, 2, 1};
        CHECK_RC(mcp_call_return_structured_parts(call, parts, lens, 3, NULL, NULL), MCP_ERR_INVALID_ARG, NULL);
    }
    __atomic_store_n(&bytes_done, 1, __ATOMIC_SEQ_CST);
}

static void resource_bytes(void *ud, mcp_call_t *call, const char *uri, const char *vars) {
    (void)ud, (void)vars;
    const char *t = NULL;
    size_t l = 0;
    CHECK_RC(mcp_call_arg_string(call, "x", &t, &l, NULL), MCP_ERR_UNSUPPORTED, NULL); /* no arguments */
    if (strstr(uri, "text")) {
        CHECK_RC(mcp_call_return_text(call, "body\n", 5, "text/plain", NULL, NULL), MCP_OK, NULL);
    } else if (strstr(uri, "blob")) {
        CHECK_RC(mcp_call_return_blob(call, "\x00\x01\x02\xff", 4, "application/octet-stream", NULL), MCP_OK, NULL);
    } else if (strstr(uri, "structured")) {
        CHECK_RC(mcp_call_return_structured(call, "{}", 2, NULL, NULL), MCP_ERR_UNSUPPORTED, NULL);
    } else {
        CHECK_RC(mcp_call_return_text(call, "x", 1, NULL, "text", NULL), MCP_ERR_INVALID_ARG, NULL);
    }
    __atomic_store_n(&bytes_done, 1, __ATOMIC_SEQ_CST);
}

static void prompt_bytes(void *ud, mcp_call_t *call, const char *args) {
    (void)ud, (void)args;
    const char *t = NULL;
    size_t l = 0;
    CHECK_RC(mcp_call_arg_string(call, "who", &t, &l, NULL), MCP_OK, NULL);
    CHECK_STR(t, "you");
    CHECK_RC(mcp_call_return_text(call, "x", 1, NULL, NULL, NULL), MCP_ERR_UNSUPPORTED, NULL);
    __atomic_store_n(&bytes_done, 1, __ATOMIC_SEQ_CST);
}

static volatile int lazy_args_null;

/* MCP_TOOL_ARGS_ON_DEMAND: no arguments_json; "text" read by name and echoed,
** or when absent, the lookup's status as the text. */
static void tool_lazy(void *ud, mcp_call_t *call, const char *args) {
    (void)ud;
    __atomic_store_n(&lazy_args_null, args == NULL, __ATOMIC_SEQ_CST);
    const char *text = NULL;
    size_t len = 0;
    mcp_status rc = mcp_call_arg_string(call, "text", &text, &len, NULL);
    if (rc == MCP_OK) {
        CHECK_RC(mcp_call_return_text(call, text, len, NULL, NULL, NULL), MCP_OK, NULL);
    } else {
        char buf[32];
        snprintf(buf, sizeof buf, "status %d", (int)rc);
        CHECK_RC(mcp_call_return_text(call, buf, strlen(buf), NULL, NULL, NULL), MCP_OK, NULL);
    }
    __atomic_store_n(&bytes_done, 1, __ATOMIC_SEQ_CST);
}

static json_t *call_bytes(harness_t *h, json_t *arguments) {
    bytes_done = 0;
    json_t *r = call_tool(h, "bytes", arguments);
    CHECK(harness_wait_flag(&bytes_done, HARNESS_TIMEOUT));
    return r;
}

static void test_bytes_in_and_out(void) {
    harness_section("mcp_call_arg_string, mcp_call_return_text, mcp_call_return_blob, mcp_call_return_structured(_parts)");
    struct fixture f = fixture_new(
        "{\"name\":\"bytes\",\"outputSchema\":{\"type\":\"object\",\"properties\":{\"text\":{\"type\":\"string\"}},\"required\":[\"text\"]}}",
        tool_bytes, NULL);
    CHECK_RC(mcp_server_add_resource(f.server, "{\"uri\":\"test://text\",\"name\":\"t\"}", resource_bytes, NULL, NULL,
                                     NULL), MCP_OK, NULL);
    CHECK_RC(mcp_server_add_resource(f.server, "{\"uri\":\"test://blob\",\"name\":\"b\"}", resource_bytes, NULL, NULL,
                                     NULL), MCP_OK, NULL);
    CHECK_RC(mcp_server_add_resource(f.server, "{\"uri\":\"test://keyed\",\"name\":\"k\"}", resource_bytes, NULL, NULL,
                                     NULL), MCP_OK, NULL);
    CHECK_RC(mcp_server_add_prompt(f.server, "{\"name\":\"p\",\"arguments\":[{\"name\":\"who\"}]}", prompt_bytes, NULL,
                                   NULL, NULL), MCP_OK, NULL);

    /* A text with U+0000, a quote, a newline and non-ASCII comes back whole, twice. */
    static const char odd[] = "a\0b\"c\nd\xc3\xa9";
    json_t *r = call_bytes(f.h, json_pack("{s:s, s:s#}", "mode", "echo", "text", odd, (int)(sizeof odd - 1)));
    json_t *result = harness_result(r);
    json_t *block = json_array_get(json_object_get(result, "content"), 0);
    CHECK_STR(json_string_value(json_object_get(block, "type")), "text");
    json_t *want = json_stringn(odd, sizeof odd - 1);
    CHECK(json_equal(json_object_get(block, "text"), want));
    CHECK(json_equal(json_object_get(json_object_get(result, "structuredContent"), "text"), want));
    CHECK(json_object_get(result, "isError") == NULL);
    json_decref(want);
    json_decref(r);
    r = call_bytes(f.h, json_pack("{s:s, s:s#}", "mode", "echo-tail", "text", odd, (int)(sizeof odd - 1)));
    block = json_array_get(json_object_get(harness_result(r), "content"), 0);
    want = json_stringn(odd + 1, sizeof odd - 2);
    CHECK(json_equal(json_object_get(block, "text"), want));
    json_decref(want);
    json_decref(r);

    /* Large: 3 MB, every byte value a JSON string may hold unescaped and escaped. */
    size_t big = 3u << 20;
    char *text = malloc(big);
    for (size_t i = 0; i < big; i++) text[i] = (char)(i % 97 == 0 ? '\\' : 0x20 + i % 90);
    r = call_bytes(f.h, json_pack("{s:s, s:s#}", "mode", "echo", "text", text, (int)big));
    block = json_array_get(json_object_get(harness_result(r), "content"), 0);
    CHECK_EQ(json_string_length(json_object_get(block, "text")), big);
    CHECK(memcmp(json_string_value(json_object_get(block, "text")), text, big) == 0);
    json_decref(r);
    /* Part of a text lent in place is not the argument either. */
    r = call_bytes(f.h, json_pack("{s:s, s:s#}", "mode", "echo-tail", "text", text, (int)big));
    block = json_array_get(json_object_get(harness_result(r), "content"), 0);
    CHECK_EQ(json_string_length(json_object_get(block, "text")), big - 1);
    CHECK(memcmp(json_string_value(json_object_get(block, "text")), text + 1, big - 1) == 0);
    json_decref(r);
    free(text);

    r = call_bytes(f.h, json_pack("{s:s, s:i}", "mode", "errors", "n", 5));
    CHECK_EQ(harness_error_code(r), MCP_JSONRPC_INTERNAL_ERROR);
    json_decref(r);

    /* Base64 with each padding. */
    static const char *const b64[] = {"", "YQ==", "YWI=", "YWJj", "YWJjZA==", "YWJjZGU="};
    for (int n = 0; n < 6; n++) {
        r = call_bytes(f.h, json_pack("{s:s, s:s#}", "mode", "blob", "text", "abcde", n));
        block = json_array_get(json_object_get(harness_result(r), "content"), 0);
        CHECK_STR(json_string_value(json_object_get(block, "type")), "image");
        CHECK_STR(json_string_value(json_object_get(block, "mimeType")), "image/png");
        CHECK_STR(json_string_value(json_object_get(block, "data")), b64[n]);
        json_decref(r);
    }
    static const char *const refused[] = {"blob-type", "blob-null"};
    for (int i = 0; i < 2; i++) {
        r = call_bytes(f.h, json_pack("{s:s}", "mode", refused[i]));
        CHECK_EQ(harness_error_code(r), MCP_JSONRPC_INTERNAL_ERROR);
        json_decref(r);
    }

    /* Structured content as JSON text: the text block is those bytes, verbatim. */
    static const char doc[] = "{\"text\": \"a\\u0000\\\"\xc3\xa9\"}";
    r = call_bytes(f.h, json_pack("{s:s, s:s}", "mode", "structured", "text", doc));
    result = harness_result(r);
    block = json_array_get(json_object_get(result, "content"), 0);
    CHECK_STR(json_string_value(json_object_get(block, "text")), doc);
    want = json_pack("{s:s#}", "text", "a\0\"\xc3\xa9", 5);
    CHECK(json_equal(json_object_get(result, "structuredContent"), want));
    json_decref(want);
    json_decref(r);
    r = call_bytes(f.h, json_pack("{s:s}", "mode", "structured-key"));
    result = harness_result(r);
    CHECK_STR(json_string_value(json_object_get(json_array_get(json_object_get(result, "content"), 0), "text")),
              " \"hi\" ");
    CHECK_STR(json_string_value(json_object_get(json_object_get(result, "structuredContent"), "text")), "hi");
    json_decref(r);
    /* Structured content in parts (ABI 1.8): the strings quoted and escaped by libmcp as JSON
    ** encoders do, the joined text the text block. A 1 MB text with every escape. */
    size_t mid = 1u << 20;
    char *long_text = malloc(mid);
    for (size_t i = 0; i < mid; i++) long_text[i] = (char)(i % 4099 == 7 ? i / 4099 % 32 : i % 61 == 0 ? '"' : 'a' + i % 26);
    long_text[100] = '\\';
    r = call_bytes(f.h, json_pack("{s:s, s:s#}", "mode", "parts", "text", long_text, (int)mid));
    result = harness_result(r);
    want = json_pack("{s:s#, s:[i, s#]}", "text", long_text, (int)mid, "n", 1, long_text, (int)mid);
    CHECK(json_equal(json_object_get(result, "structuredContent"), want));
    json_t *joined = json_loads(json_string_value(json_object_get(json_array_get(json_object_get(result, "content"), 0),
                                                                  "text")), JSON_ALLOW_NUL, NULL);
    CHECK(joined != NULL && json_equal(joined, want));
    json_decref(joined);
    json_decref(want);
    json_decref(r);
    free(long_text);
    r = call_bytes(f.h, json_pack("{s:s, s:s}", "mode", "parts", "text", "\x01\b\f\n\r\t\x1f\"\\/\xc3\xa9"));
    block = json_array_get(json_object_get(harness_result(r), "content"), 0);
    CHECK_STR(json_string_value(json_object_get(block, "text")),
              "{\"text\": \"\\u0001\\b\\f\\n\\r\\t\\u001f\\\"\\\\/\xc3\xa9\", \"n\": [1, "
              "\"\\u0001\\b\\f\\n\\r\\t\\u001f\\\"\\\\/\xc3\xa9\"]}");
    json_decref(r);
    r = call_bytes(f.h, json_pack("{s:s}", "mode", "parts-key"));
    result = harness_result(r);
    CHECK_STR(json_string_value(json_object_get(json_array_get(json_object_get(result, "content"), 0), "text")),
              "\"x\\u0000y\"");
    want = json_pack("{s:s#}", "text", "x\0y", 3);
    CHECK(json_equal(json_object_get(result, "structuredContent"), want));
    json_decref(want);
    json_decref(r);

    /* Refused answers still end the call: the client gets -32603. */
    static const char *const bad[] = {"structured-json", "structured-utf8", "structured-null", "parts-bad", "parts-json",
                                      "parts-utf8", "parts-null"};
    for (int i = 0; i < 7; i++) {
        r = call_bytes(f.h, json_pack("{s:s}", "mode", bad[i]));
        CHECK_EQ(harness_error_code(r), MCP_JSONRPC_INTERNAL_ERROR);
        json_decref(r);
    }

    /* Resource reads: the requested URI goes into the item. */
    bytes_done = 0;
    r = harness_request(f.h, "resources/read", json_pack("{s:s}", "uri", "test://text"));
    CHECK(harness_wait_flag(&bytes_done, HARNESS_TIMEOUT));
    json_t *item = json_array_get(json_object_get(harness_result(r), "contents"), 0);
    want = json_pack("{s:s, s:s, s:s}", "uri", "test://text", "mimeType", "text/plain", "text", "body\n");
    CHECK(json_equal(item, want));
    json_decref(want);
    json_decref(r);
    bytes_done = 0;
    r = harness_request(f.h, "resources/read", json_pack("{s:s}", "uri", "test://blob"));
    CHECK(harness_wait_flag(&bytes_done, HARNESS_TIMEOUT));
    item = json_array_get(json_object_get(harness_result(r), "contents"), 0);
    want = json_pack("{s:s, s:s, s:s}", "uri", "test://blob", "mimeType", "application/octet-stream", "blob", "AAEC/w==");
    CHECK(json_equal(item, want));
    json_decref(want);
    json_decref(r);
    bytes_done = 0;
    r = harness_request(f.h, "resources/read", json_pack("{s:s}", "uri", "test://keyed"));
    CHECK(harness_wait_flag(&bytes_done, HARNESS_TIMEOUT));
    CHECK_EQ(harness_error_code(r), MCP_JSONRPC_INTERNAL_ERROR);
    json_decref(r);

    /* Only tool calls have structured content. */
    CHECK_RC(mcp_server_add_resource(f.server, "{\"uri\":\"test://structured\",\"name\":\"s\"}", resource_bytes, NULL,
                                     NULL, NULL), MCP_OK, NULL);
    bytes_done = 0;
    r = harness_request(f.h, "resources/read", json_pack("{s:s}", "uri", "test://structured"));
    CHECK(harness_wait_flag(&bytes_done, HARNESS_TIMEOUT));
    CHECK_EQ(harness_error_code(r), MCP_JSONRPC_INTERNAL_ERROR);
    json_decref(r);

    /* A prompt lends its arguments but cannot be answered with one text. */
    bytes_done = 0;
    r = harness_request(f.h, "prompts/get", json_pack("{s:s, s:{s:s}}", "name", "p", "arguments", "who", "you"));
    CHECK(harness_wait_flag(&bytes_done, HARNESS_TIMEOUT));
    CHECK_EQ(harness_error_code(r), MCP_JSONRPC_INTERNAL_ERROR);
    json_decref(r);

    /* MCP_TOOL_ARGS_ON_DEMAND: the callback gets NULL; the arguments are read by name. */
    CHECK_RC(mcp_server_add_tool_ex(f.server, "{\"name\":\"lazy\"}", tool_lazy, NULL, NULL,
                                    MCP_TOOL_ARGS_ON_DEMAND | MCP_TOOL_INLINE, NULL),
             MCP_OK, NULL);
    lazy_args_null = 0;
    bytes_done = 0;
    r = call_tool(f.h, "lazy", json_pack("{s:s#, s:i}", "text", odd, (int)(sizeof odd - 1), "n", 1));
    CHECK(harness_wait_flag(&bytes_done, HARNESS_TIMEOUT));
    CHECK_EQ(lazy_args_null, 1);
    block = json_array_get(json_object_get(harness_result(r), "content"), 0);
    want = json_stringn(odd, sizeof odd - 1);
    CHECK(json_equal(json_object_get(block, "text"), want));
    json_decref(want);
    json_decref(r);
    /* No arguments member at all: the lookup says not found. */
    lazy_args_null = 0;
    bytes_done = 0;
    r = harness_request(f.h, "tools/call", json_pack("{s:s}", "name", "lazy"));
    CHECK(harness_wait_flag(&bytes_done, HARNESS_TIMEOUT));
    CHECK_EQ(lazy_args_null, 1);
    char want_text[32];
    snprintf(want_text, sizeof want_text, "status %d", (int)MCP_ERR_NOT_FOUND);
    CHECK_STR(harness_tool_text(r), want_text);
    json_decref(r);
    CHECK_EQ(harness_quiet(f.h, harness_ms(30)), 0);
    fixture_free(&f);
}

/* ------------------------------------------------------------- 2026-07-28 */

struct modern_seen {
    char *meta;
    mcp_status ask_rc;
    mcp_status answer_rc;
    volatile int done;
};
static struct modern_seen modern_seen;

static void tool_modern(void *ud, mcp_call_t *call, const char *args) {
    struct modern_seen *m = ud;
    (void)args;
    char *error = NULL;
    mcp_status rc = mcp_call_meta(call, &m->meta, &error);
    CHECK_RC(rc, MCP_OK, error);
    mcp_string_free(error);
    mcp_call_log(call, "warning", NULL, "\"careful\"", NULL);
    m->ask_rc = mcp_call_request(call, "sampling/createMessage",
                                 "{\"messages\":[],\"maxTokens\":5}", 0, never_called, NULL, NULL);
    m->answer_rc = mcp_call_return(call, OK_RESULT, NULL);
    __atomic_store_n(&m->done, 1, __ATOMIC_SEQ_CST);
}

/* A request with the 2026-07-28 _meta: the host sees that _meta (trace context
** included) through mcp_call_meta; an undeclared capability is answered -32021
** by the engine; logs follow the request's own level; cache options apply. */
static void test_modern_calls(void) {
    harness_section("2026-07-28 calls");
    mcp_server_t *server = harness_server("{\"cache_ttl_ms\":1500,\"cache_scope\":\"public\","
                                          "\"extensions\":{\"com.example/x\":{}}}");
    CHECK_RC(mcp_server_add_tool(server, "{\"name\":\"modern\",\"ttlMs\":20}", tool_modern, &modern_seen, NULL, NULL),
             MCP_OK, NULL);
    char *error = NULL;
    CHECK_RC(mcp_server_new("x", "1", "{\"cache_scope\":\"shared\"}", &(mcp_server_t *){NULL}, &error),
             MCP_ERR_INVALID_ARG, error);
    mcp_string_free(error);
    error = NULL;
    CHECK_RC(mcp_server_new("x", "1", "{\"extensions\":{\"noprefix\":{}}}", &(mcp_server_t *){NULL}, &error),
             MCP_ERR_INVALID_ARG, error);
    mcp_string_free(error);
    harness_t *h = harness_new(server);
    const char *tp = "00-0af7651916cd43dd8448eb211c80319c-00f067aa0ba902b7-01";
    json_t *meta = json_pack("{s:s, s:{}, s:{s:s, s:s}, s:s, s:s}", "io.modelcontextprotocol/protocolVersion",
                             "2026-07-28", "io.modelcontextprotocol/clientCapabilities",
                             "io.modelcontextprotocol/clientInfo", "name", "c", "version", "1", "traceparent", tp,
                             "io.modelcontextprotocol/logLevel", "warning");
    json_t *r = harness_request(h, "tools/call", json_pack("{s:s, s:O}", "name", "modern", "_meta", meta));
    CHECK(harness_error_code(r) == MCP_JSONRPC_MISSING_CLIENT_CAPABILITY);
    CHECK(json_is_object(json_object_get(json_object_get(json_object_get(r, "error"), "data"), "requiredCapabilities")));
    json_decref(r);
    CHECK(harness_wait_flag(&modern_seen.done, HARNESS_TIMEOUT));
    CHECK_RC(modern_seen.ask_rc, MCP_ERR_UNSUPPORTED, NULL);
    CHECK_RC(modern_seen.answer_rc, MCP_ERR_STATE, NULL);
    json_t *seen = modern_seen.meta ? json_loads(modern_seen.meta, 0, NULL) : NULL;
    CHECK_STR(json_string_value(json_object_get(seen, "traceparent")), tp);
    CHECK_STR(json_string_value(json_object_get(seen, "io.modelcontextprotocol/protocolVersion")), "2026-07-28");
    json_decref(seen);
    mcp_string_free(modern_seen.meta);
    json_t *note = harness_take_note(h, "notifications/message", HARNESS_TIMEOUT);
    CHECK(note != NULL);
    json_decref(note);

    r = harness_request(h, "tools/list", json_pack("{s:O}", "_meta", meta));
    json_t *res = harness_result(r);
    CHECK(json_integer_value(json_object_get(res, "ttlMs")) == 20);
    CHECK_STR(json_string_value(json_object_get(res, "cacheScope")), "public");
    CHECK_STR(json_string_value(json_object_get(res, "resultType")), "complete");
    CHECK(json_object_get(json_array_get(json_object_get(res, "tools"), 0), "ttlMs") == NULL);
    json_decref(r);
    r = harness_request(h, "server/discover", json_pack("{s:O}", "_meta", meta));
    res = harness_result(r);
    CHECK(json_integer_value(json_object_get(res, "ttlMs")) == 1500);
    CHECK(json_object_get(json_object_get(json_object_get(res, "capabilities"), "extensions"), "com.example/x") != NULL);
    json_decref(r);
    r = harness_request(h, "ping", json_pack("{s:O}", "_meta", meta));
    CHECK(harness_error_code(r) == MCP_JSONRPC_METHOD_NOT_FOUND);
    json_decref(r);
    json_decref(meta);
    harness_free(h);
    mcp_server_free(server);
}

int main(void) {
    test_answer_from_other_thread();
    test_callback_threads();
    test_slow_calls_overlap();
    test_answer_once();
    test_invalid_results();
    test_structured_content();
    test_progress();
    test_logging();
    test_logging_details();
    test_call_error();
    test_cancellation();
    test_many_calls();
    test_client_requests();
    test_on_cancel();
    test_bytes_in_and_out();
    test_modern_calls();
    return harness_finish();
}
