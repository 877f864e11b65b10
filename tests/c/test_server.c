/*
** test_server.c: OBJECT mcp_server_t of mcp.h: constructor and destructor,
** feature registration (tools, resources, templates, prompts), free_fn
** ownership, list_changed notifications, pagination, sessions, and serving
** over real pipes (mcp_server_serve_fds, mcp_server_serve_stdio, mcp_server_stop).
*/
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

/* A pointer value that marks "not written by the library". */
static char sentinel_byte;
#define SENTINEL ((void *)&sentinel_byte)

static const char TOOL_A[] = "{\"name\":\"a\",\"inputSchema\":{\"type\":\"object\"}}";
static const char RESOURCE_A[] = "{\"uri\":\"test://a\",\"name\":\"a\"}";
static const char TEMPLATE_A[] = "{\"uriTemplate\":\"test://t/{id}\",\"name\":\"t\"}";
static const char PROMPT_A[] = "{\"name\":\"p\"}";

/* ---------------------------------------------------------------- callbacks */

static void tool_ok(void *ud, mcp_call_t *call, const char *args) {
    (void)ud, (void)args;
    char *error = NULL;
    mcp_status rc = mcp_call_return(call, "{\"content\":[{\"type\":\"text\",\"text\":\"ok\"}]}", &error);
    CHECK_RC(rc, MCP_OK, error);
    mcp_string_free(error);
}

static void resource_ok(void *ud, mcp_call_t *call, const char *uri, const char *vars) {
    (void)ud, (void)vars;
    json_t *r = json_pack("{s:[{s:s, s:s}]}", "contents", "uri", uri, "text", "ok");
    CHECK_RC(mcp_j_call_return_new(call, r, NULL), MCP_OK, NULL);
}

static void prompt_ok(void *ud, mcp_call_t *call, const char *args) {
    (void)ud, (void)args;
    CHECK_RC(mcp_call_return(call, "{\"messages\":[]}", NULL), MCP_OK, NULL);
}

/* A tool whose calls are parked here and answered by the test. */
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

static char *tool_def(char *buf, size_t size, const char *name) {
    snprintf(buf, size, "{\"name\":\"%s\",\"description\":\"tool %s\",\"inputSchema\":{\"type\":\"object\"}}",
             name, name);
    return buf;
}

/* ------------------------------------------------------------- constructor */

static void test_new_free(void) {
    harness_section("mcp_server_new / mcp_server_free");
    mcp_server_free(NULL); /* ^NULL is a no-op */

    mcp_server_t *server = SENTINEL;
    char *error = SENTINEL;
    mcp_status rc = mcp_server_new("s", "1", NULL, &server, &error);
    CHECK_RC(rc, MCP_OK, NULL);
    CHECK(server != NULL && server != SENTINEL);
    CHECK(error == NULL); /* on success *out_error is set to NULL */
    mcp_server_free(server);

    /* out_error may be NULL. */
    server = NULL;
    CHECK_RC(mcp_server_new("s", "1", "{}", &server, NULL), MCP_OK, NULL);
    mcp_server_free(server);

    /* Every option at once, and the limits of each range. */
    static const char *const good[] = {
        "{\"title\":\"T\",\"description\":\"D\",\"website_url\":\"https://example.com\","
        "\"icons\":[{\"src\":\"https://example.com/i.png\",\"mimeType\":\"image/png\"}],"
        "\"instructions\":\"Use me.\",\"page_size\":1,\"worker_threads\":1,\"max_depth\":16}",
        "{\"page_size\":10000,\"worker_threads\":1024,\"max_depth\":10000}",
        "{\"icons\":[]}",
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        server = NULL;
        error = NULL;
        rc = mcp_server_new("s", "1", good[i], &server, &error);
        CHECK_RC(rc, MCP_OK, error);
        if (rc != MCP_OK) fprintf(stderr, "   options: %s\n", good[i]);
        mcp_string_free(error);
        mcp_server_free(server);
    }
}

static void test_new_errors(void) {
    harness_section("mcp_server_new errors");
    static const struct {
        const char *name, *version, *options;
        mcp_status expected;
    } cases[] = {
        {NULL, "1", NULL, MCP_ERR_INVALID_ARG},
        {"", "1", NULL, MCP_ERR_INVALID_ARG},
        {"s", NULL, NULL, MCP_ERR_INVALID_ARG},
        {"s", "", NULL, MCP_ERR_INVALID_ARG},
        {"s", "1", "{", MCP_ERR_INVALID_JSON},
        {"s", "1", "", MCP_ERR_INVALID_JSON},
        {"s", "1", "{} x", MCP_ERR_INVALID_JSON},
        {"s", "1", "[]", MCP_ERR_INVALID_ARG},
        {"s", "1", "42", MCP_ERR_INVALID_ARG},
        {"s", "1", "{\"pagesize\":10}", MCP_ERR_INVALID_ARG}, /* unknown keys are an error */
        {"s", "1", "{\"page_size\":0}", MCP_ERR_INVALID_ARG},
        {"s", "1", "{\"page_size\":10001}", MCP_ERR_INVALID_ARG},
        {"s", "1", "{\"page_size\":\"10\"}", MCP_ERR_INVALID_ARG},
        {"s", "1", "{\"page_size\":2.5}", MCP_ERR_INVALID_ARG},
        {"s", "1", "{\"worker_threads\":0}", MCP_ERR_INVALID_ARG},
        {"s", "1", "{\"worker_threads\":1025}", MCP_ERR_INVALID_ARG},
        {"s", "1", "{\"max_depth\":15}", MCP_ERR_INVALID_ARG},
        {"s", "1", "{\"max_depth\":10001}", MCP_ERR_INVALID_ARG},
        {"s", "1", "{\"title\":5}", MCP_ERR_INVALID_ARG},
        {"s", "1", "{\"description\":[]}", MCP_ERR_INVALID_ARG},
        {"s", "1", "{\"website_url\":true}", MCP_ERR_INVALID_ARG},
        {"s", "1", "{\"instructions\":{}}", MCP_ERR_INVALID_ARG},
        {"s", "1", "{\"icons\":{}}", MCP_ERR_INVALID_ARG},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        mcp_server_t *server = SENTINEL;
        char *error = NULL;
        mcp_status rc = mcp_server_new(cases[i].name, cases[i].version, cases[i].options, &server, &error);
        CHECK_RC(rc, cases[i].expected, error);
        if (rc != cases[i].expected)
            fprintf(stderr, "   case %zu: options %s\n", i, cases[i].options ? cases[i].options : "NULL");
        CHECK(server == NULL);                    /* ^On failure every other out-parameter is NULL */
        CHECK(error != NULL && error[0] != '\0'); /* a message */
        mcp_string_free(error);
        if (rc == MCP_OK) mcp_server_free(server);
    }
    /* NULL out_server, with and without out_error. */
    char *error = NULL;
    CHECK_RC(mcp_server_new("s", "1", NULL, NULL, &error), MCP_ERR_INVALID_ARG, error);
    CHECK(error != NULL);
    mcp_string_free(error);
    CHECK_RC(mcp_server_new("s", "1", NULL, NULL, NULL), MCP_ERR_INVALID_ARG, NULL);
    /* Bad options with out_error NULL: only the status. */
    mcp_server_t *server = SENTINEL;
    CHECK_RC(mcp_server_new("s", "1", "{\"bogus\":1}", &server, NULL), MCP_ERR_INVALID_ARG, NULL);
    CHECK(server == NULL);
}

/* ------------------------------------------------------------ registration */

typedef mcp_status (*add_fn)(mcp_server_t *, const char *, int *counter, char **error);

static mcp_status add_tool(mcp_server_t *s, const char *json, int *counter, char **error) {
    return mcp_server_add_tool(s, json, tool_ok, counter, harness_count_free, error);
}
static mcp_status add_resource(mcp_server_t *s, const char *json, int *counter, char **error) {
    return mcp_server_add_resource(s, json, resource_ok, counter, harness_count_free, error);
}
static mcp_status add_template(mcp_server_t *s, const char *json, int *counter, char **error) {
    return mcp_server_add_resource_template(s, json, resource_ok, counter, harness_count_free, error);
}
static mcp_status add_prompt(mcp_server_t *s, const char *json, int *counter, char **error) {
    return mcp_server_add_prompt(s, json, prompt_ok, counter, harness_count_free, error);
}

struct bad_def {
    const char *json;
    mcp_status expected;
};

/* Each bad definition fails with its status and a message, and never calls free_fn. */
static void check_bad_defs(const char *kind, add_fn add, const struct bad_def *defs, size_t n) {
    mcp_server_t *server = harness_server(NULL);
    int counter = 0;
    for (size_t i = 0; i < n; i++) {
        char *error = NULL;
        mcp_status rc = add(server, defs[i].json, &counter, &error);
        CHECK_RC(rc, defs[i].expected, error);
        if (rc != defs[i].expected) fprintf(stderr, "   %s definition: %s\n", kind, defs[i].json ? defs[i].json : "NULL");
        CHECK(error != NULL && error[0] != '\0');
        mcp_string_free(error);
    }
    mcp_server_free(server);
    CHECK_EQ(counter, 0); /* ^if this function fails, free_fn is NOT called */
}

static void test_add_errors(void) {
    harness_section("add_* errors");
    static const struct bad_def tools[] = {
        {NULL, MCP_ERR_INVALID_ARG},
        {"{", MCP_ERR_INVALID_JSON},
        {"{\"name\":\"x\"", MCP_ERR_INVALID_JSON},
        {"[]", MCP_ERR_INVALID_ARG},
        {"\"x\"", MCP_ERR_INVALID_ARG},
        {"{}", MCP_ERR_INVALID_ARG}, /* no name */
        {"{\"title\":\"no name\"}", MCP_ERR_INVALID_ARG},
        {"{\"name\":5}", MCP_ERR_INVALID_ARG},
        {"{\"name\":\"x\",\"inputSchema\":5}", MCP_ERR_INVALID_ARG}, /* schema not an object */
        {"{\"name\":\"x\",\"inputSchema\":[]}", MCP_ERR_INVALID_ARG},
        {"{\"name\":\"x\",\"inputSchema\":{\"type\":\"string\"}}", MCP_ERR_INVALID_ARG},
        {"{\"name\":\"x\",\"outputSchema\":\"s\"}", MCP_ERR_INVALID_ARG},
        {"{\"name\":\"x\",\"outputSchema\":{\"type\":\"array\"}}", MCP_ERR_INVALID_ARG},
    };
    check_bad_defs("tool", add_tool, tools, sizeof tools / sizeof tools[0]);

    static const struct bad_def resources[] = {
        {NULL, MCP_ERR_INVALID_ARG},
        {"{\"uri\":", MCP_ERR_INVALID_JSON},
        {"[]", MCP_ERR_INVALID_ARG},
        {"{\"name\":\"no uri\"}", MCP_ERR_INVALID_ARG},
        {"{\"uri\":\"test://no-name\"}", MCP_ERR_INVALID_ARG},
        {"{\"uri\":5,\"name\":\"n\"}", MCP_ERR_INVALID_ARG},
    };
    check_bad_defs("resource", add_resource, resources, sizeof resources / sizeof resources[0]);

    static const struct bad_def templates[] = {
        {NULL, MCP_ERR_INVALID_ARG},
        {"{\"uriTemplate\"", MCP_ERR_INVALID_JSON},
        {"{\"name\":\"no template\"}", MCP_ERR_INVALID_ARG},
        {"{\"uriTemplate\":\"test://{id}\"}", MCP_ERR_INVALID_ARG}, /* no name */
        {"{\"uriTemplate\":\"test://{id\",\"name\":\"n\"}", MCP_ERR_INVALID_ARG},    /* unclosed */
        {"{\"uriTemplate\":\"test://{}/x\",\"name\":\"n\"}", MCP_ERR_INVALID_ARG},   /* empty */
        {"{\"uriTemplate\":\"test://{+path}\",\"name\":\"n\"}", MCP_ERR_INVALID_ARG}, /* not level 1 */
    };
    check_bad_defs("template", add_template, templates, sizeof templates / sizeof templates[0]);

    static const struct bad_def prompts[] = {
        {NULL, MCP_ERR_INVALID_ARG},
        {"{\"name\":\"p\",}", MCP_ERR_INVALID_JSON},
        {"{}", MCP_ERR_INVALID_ARG},
        {"{\"name\":[]}", MCP_ERR_INVALID_ARG},
        {"{\"name\":\"p\",\"arguments\":5}", MCP_ERR_INVALID_ARG},
    };
    check_bad_defs("prompt", add_prompt, prompts, sizeof prompts / sizeof prompts[0]);

    /* NULL server and NULL callback. */
    mcp_server_t *server = harness_server(NULL);
    int counter = 0;
    char *error = NULL;
    CHECK_RC(mcp_server_add_tool(NULL, TOOL_A, tool_ok, &counter, harness_count_free, &error), MCP_ERR_INVALID_ARG, error);
    CHECK(error != NULL);
    mcp_string_free(error);
    error = NULL;
    CHECK_RC(mcp_server_add_tool(server, TOOL_A, NULL, &counter, harness_count_free, &error), MCP_ERR_INVALID_ARG, error);
    CHECK(error != NULL);
    mcp_string_free(error);
    CHECK_RC(mcp_server_add_resource(NULL, RESOURCE_A, resource_ok, &counter, harness_count_free, NULL), MCP_ERR_INVALID_ARG, NULL);
    CHECK_RC(mcp_server_add_resource(server, RESOURCE_A, NULL, &counter, harness_count_free, NULL), MCP_ERR_INVALID_ARG, NULL);
    CHECK_RC(mcp_server_add_resource_template(NULL, TEMPLATE_A, resource_ok, &counter, harness_count_free, NULL), MCP_ERR_INVALID_ARG, NULL);
    CHECK_RC(mcp_server_add_resource_template(server, TEMPLATE_A, NULL, &counter, harness_count_free, NULL), MCP_ERR_INVALID_ARG, NULL);
    CHECK_RC(mcp_server_add_prompt(NULL, PROMPT_A, prompt_ok, &counter, harness_count_free, NULL), MCP_ERR_INVALID_ARG, NULL);
    CHECK_RC(mcp_server_add_prompt(server, PROMPT_A, NULL, &counter, harness_count_free, NULL), MCP_ERR_INVALID_ARG, NULL);
    mcp_server_free(server);
    CHECK_EQ(counter, 0);
}

static void test_duplicates_and_removal(void) {
    harness_section("duplicates, removal and free_fn");
    mcp_server_t *server = harness_server(NULL);
    int tool1 = 0, tool2 = 0, res1 = 0, res2 = 0, tpl1 = 0, tpl2 = 0, pr1 = 0, pr2 = 0;
    char *error = SENTINEL;

    CHECK_RC(add_tool(server, TOOL_A, &tool1, &error), MCP_OK, NULL);
    CHECK(error == NULL);
    CHECK_RC(add_resource(server, RESOURCE_A, &res1, NULL), MCP_OK, NULL);
    CHECK_RC(add_template(server, TEMPLATE_A, &tpl1, NULL), MCP_OK, NULL);
    CHECK_RC(add_prompt(server, PROMPT_A, &pr1, NULL), MCP_OK, NULL);

    /* Same key: MCP_ERR_EXISTS, even when the rest differs; free_fn not called. */
    error = NULL;
    CHECK_RC(add_tool(server, "{\"name\":\"a\",\"description\":\"other\"}", &tool2, &error), MCP_ERR_EXISTS, error);
    CHECK(error != NULL);
    mcp_string_free(error);
    CHECK_RC(add_resource(server, "{\"uri\":\"test://a\",\"name\":\"other\"}", &res2, NULL), MCP_ERR_EXISTS, NULL);
    CHECK_RC(add_template(server, "{\"uriTemplate\":\"test://t/{id}\",\"name\":\"other\"}", &tpl2, NULL), MCP_ERR_EXISTS, NULL);
    CHECK_RC(add_prompt(server, "{\"name\":\"p\",\"description\":\"other\"}", &pr2, NULL), MCP_ERR_EXISTS, NULL);
    CHECK_EQ(tool2 + res2 + tpl2 + pr2, 0);

    /* Keys are per kind: a prompt may share a tool's name. */
    int other = 0;
    CHECK_RC(add_prompt(server, "{\"name\":\"a\"}", &other, NULL), MCP_OK, NULL);

    /* Remove: free_fn runs once, for the removed registration only. */
    error = SENTINEL;
    CHECK_RC(mcp_server_remove_tool(server, "a", &error), MCP_OK, NULL);
    CHECK(error == NULL);
    CHECK_EQ(harness_wait_count(&tool1, 1, HARNESS_TIMEOUT), 1);
    CHECK_RC(mcp_server_remove_resource(server, "test://a", NULL), MCP_OK, NULL);
    CHECK_EQ(harness_wait_count(&res1, 1, HARNESS_TIMEOUT), 1);
    CHECK_RC(mcp_server_remove_resource_template(server, "test://t/{id}", NULL), MCP_OK, NULL);
    CHECK_EQ(harness_wait_count(&tpl1, 1, HARNESS_TIMEOUT), 1);
    CHECK_RC(mcp_server_remove_prompt(server, "p", NULL), MCP_OK, NULL);
    CHECK_EQ(harness_wait_count(&pr1, 1, HARNESS_TIMEOUT), 1);
    CHECK_EQ(other, 0);

    /* Unknown or already removed: MCP_ERR_NOT_FOUND with a message. */
    error = NULL;
    CHECK_RC(mcp_server_remove_tool(server, "a", &error), MCP_ERR_NOT_FOUND, error);
    CHECK(error != NULL);
    mcp_string_free(error);
    CHECK_RC(mcp_server_remove_tool(server, "never", NULL), MCP_ERR_NOT_FOUND, NULL);
    CHECK_RC(mcp_server_remove_resource(server, "test://a", NULL), MCP_ERR_NOT_FOUND, NULL);
    CHECK_RC(mcp_server_remove_resource_template(server, "test://t/{id}", NULL), MCP_ERR_NOT_FOUND, NULL);
    CHECK_RC(mcp_server_remove_resource_template(server, "test://t/{other}", NULL), MCP_ERR_NOT_FOUND, NULL);
    CHECK_RC(mcp_server_remove_prompt(server, "p", NULL), MCP_ERR_NOT_FOUND, NULL);

    /* NULL arguments: MCP_ERR_INVALID_ARG. */
    error = NULL;
    CHECK_RC(mcp_server_remove_tool(NULL, "a", &error), MCP_ERR_INVALID_ARG, error);
    CHECK(error != NULL);
    mcp_string_free(error);
    CHECK_RC(mcp_server_remove_tool(server, NULL, NULL), MCP_ERR_INVALID_ARG, NULL);
    CHECK_RC(mcp_server_remove_resource(NULL, "test://a", NULL), MCP_ERR_INVALID_ARG, NULL);
    CHECK_RC(mcp_server_remove_resource(server, NULL, NULL), MCP_ERR_INVALID_ARG, NULL);
    CHECK_RC(mcp_server_remove_resource_template(NULL, "x", NULL), MCP_ERR_INVALID_ARG, NULL);
    CHECK_RC(mcp_server_remove_resource_template(server, NULL, NULL), MCP_ERR_INVALID_ARG, NULL);
    CHECK_RC(mcp_server_remove_prompt(NULL, "p", NULL), MCP_ERR_INVALID_ARG, NULL);
    CHECK_RC(mcp_server_remove_prompt(server, NULL, NULL), MCP_ERR_INVALID_ARG, NULL);

    /* Re-adding after removal works and has its own free_fn. */
    int again = 0;
    CHECK_RC(add_tool(server, TOOL_A, &again, NULL), MCP_OK, NULL);

    mcp_server_free(server);
    /* On server free, each live registration's free_fn runs exactly once. */
    CHECK_EQ(harness_wait_count(&again, 1, HARNESS_TIMEOUT), 1);
    CHECK_EQ(harness_wait_count(&other, 1, HARNESS_TIMEOUT), 1);
    harness_sleep_ms(20);
    CHECK_EQ(tool1, 1);
    CHECK_EQ(res1, 1);
    CHECK_EQ(tpl1, 1);
    CHECK_EQ(pr1, 1);
    CHECK_EQ(again, 1);
    CHECK_EQ(other, 1);
    CHECK_EQ(tool2 + res2 + tpl2 + pr2, 0);

    /* A NULL free_fn is allowed (nothing to release). */
    server = harness_server(NULL);
    CHECK_RC(mcp_server_add_tool(server, TOOL_A, tool_ok, NULL, NULL, NULL), MCP_OK, NULL);
    CHECK_RC(mcp_server_remove_tool(server, "a", NULL), MCP_OK, NULL);
    CHECK_RC(mcp_server_add_tool(server, TOOL_A, tool_ok, NULL, NULL, NULL), MCP_OK, NULL);
    mcp_server_free(server);
}

/* "Calls of it already running finish normally; its free_fn runs after the last."
** The user_data of a parked tool that also counts its release. */
struct counted_park {
    struct parked p; /* first member: tool_park sees a struct parked */
    int freed;
};

static void counted_park_free(void *ud) { harness_count_free(&((struct counted_park *)ud)->freed); }

static void test_free_fn_after_last_call(void) {
    harness_section("free_fn after the last running call");
    /* Removal while a call runs: free_fn only after its answer. */
    mcp_server_t *server = harness_server(NULL);
    struct counted_park cp = {{0}, 0};
    CHECK_RC(mcp_server_add_tool(server, "{\"name\":\"slow\"}", tool_park, &cp, counted_park_free, NULL), MCP_OK, NULL);
    harness_t *h = harness_new(server);
    json_decref(harness_initialize(h, NULL));
    json_int_t id = harness_send_request(h, "tools/call", json_pack("{s:s}", "name", "slow"));
    CHECK(harness_wait_flag(&cp.p.arrived, HARNESS_TIMEOUT));
    CHECK_RC(mcp_server_remove_tool(server, "slow", NULL), MCP_OK, NULL);
    /* The tool is gone for new calls at once... */
    json_t *gone = harness_request(h, "tools/call", json_pack("{s:s}", "name", "slow"));
    CHECK_EQ(harness_error_code(gone), MCP_JSONRPC_INVALID_PARAMS);
    json_decref(gone);
    /* ...but the running call goes on, and free_fn waits for it. */
    harness_sleep_ms(harness_ms(50));
    CHECK_EQ(__atomic_load_n(&cp.freed, __ATOMIC_SEQ_CST), 0);
    CHECK_RC(mcp_call_return(cp.p.call, "{\"content\":[]}", NULL), MCP_OK, NULL);
    CHECK_EQ(harness_wait_count(&cp.freed, 1, HARNESS_TIMEOUT), 1);
    json_t *r = harness_wait_response(h, id, HARNESS_TIMEOUT);
    CHECK(harness_result(r) != NULL); /* the running call finished normally */
    json_decref(r);
    harness_free(h);
    mcp_server_free(server);
    CHECK_EQ(cp.freed, 1);

    /* mcp_server_free with a call in flight: the handle stays valid, the call
    ** counts as cancelled (its session closed), its answer is accepted and
    ** dropped, and free_fn runs after it. */
    server = harness_server(NULL);
    struct counted_park cp2 = {{0}, 0};
    CHECK_RC(mcp_server_add_tool(server, "{\"name\":\"slow\"}", tool_park, &cp2, counted_park_free, NULL), MCP_OK, NULL);
    h = harness_new(server);
    json_decref(harness_initialize(h, NULL));
    harness_send_request(h, "tools/call", json_pack("{s:s}", "name", "slow"));
    CHECK(harness_wait_flag(&cp2.p.arrived, HARNESS_TIMEOUT));
    int sent_before = harness_sent_count(h);
    mcp_server_free(server);
    harness_sleep_ms(harness_ms(50));
    CHECK_EQ(__atomic_load_n(&cp2.freed, __ATOMIC_SEQ_CST), 0);
    CHECK_EQ(mcp_call_is_cancelled(cp2.p.call), 1);
    char *error = NULL;
    CHECK_RC(mcp_call_return(cp2.p.call, "{\"content\":[]}", &error), MCP_OK, error);
    mcp_string_free(error);
    CHECK_EQ(harness_wait_count(&cp2.freed, 1, harness_ms(1000)), 1);
    CHECK_EQ(harness_sent_count(h), sent_before); /* nothing sent after the server closed the session */
    /* The session handle is still the host's; the server closed it. */
    error = NULL;
    static const char ping[] = "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"ping\"}";
    CHECK_RC(mcp_session_receive(harness_session(h), ping, sizeof ping - 1, &error), MCP_ERR_STATE, error);
    mcp_string_free(error);
    harness_free(h);
    /* At the latest once the closed session is freed too, free_fn has run, once. */
    CHECK_EQ(harness_wait_count(&cp2.freed, 1, HARNESS_TIMEOUT), 1);
    harness_sleep_ms(10);
    CHECK_EQ(cp2.freed, 1);
}

/* ------------------------------------------------------------ list_changed */

static void test_list_changed(void) {
    harness_section("list_changed notifications");
    mcp_server_t *server = harness_server(NULL);
    harness_t *ready = harness_new(server);
    harness_t *fresh = harness_new(server); /* never initialized */
    json_decref(harness_initialize(ready, NULL));
    harness_quiet(ready, harness_ms(20));
    harness_clear_notes(ready);

    static const struct {
        const char *what, *method;
    } steps[] = {
        {"add tool", "notifications/tools/list_changed"},
        {"remove tool", "notifications/tools/list_changed"},
        {"add resource", "notifications/resources/list_changed"},
        {"remove resource", "notifications/resources/list_changed"},
        {"add template", "notifications/resources/list_changed"},
        {"remove template", "notifications/resources/list_changed"},
        {"add prompt", "notifications/prompts/list_changed"},
        {"remove prompt", "notifications/prompts/list_changed"},
    };
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        mcp_status rc;
        switch (i) {
        case 0: rc = mcp_server_add_tool(server, TOOL_A, tool_ok, NULL, NULL, NULL); break;
        case 1: rc = mcp_server_remove_tool(server, "a", NULL); break;
        case 2: rc = mcp_server_add_resource(server, RESOURCE_A, resource_ok, NULL, NULL, NULL); break;
        case 3: rc = mcp_server_remove_resource(server, "test://a", NULL); break;
        case 4: rc = mcp_server_add_resource_template(server, TEMPLATE_A, resource_ok, NULL, NULL, NULL); break;
        case 5: rc = mcp_server_remove_resource_template(server, "test://t/{id}", NULL); break;
        case 6: rc = mcp_server_add_prompt(server, PROMPT_A, prompt_ok, NULL, NULL, NULL); break;
        default: rc = mcp_server_remove_prompt(server, "p", NULL); break;
        }
        CHECK_RC(rc, MCP_OK, NULL);
        json_t *note = harness_take_note(ready, steps[i].method, HARNESS_TIMEOUT);
        if (note == NULL) harness_fail(__FILE__, __LINE__, "%s: no %s", steps[i].what, steps[i].method);
        json_decref(note);
    }
    /* Nothing else, and nothing at all for the uninitialized session. */
    CHECK_EQ(harness_quiet(ready, harness_ms(50)), 0);
    CHECK_EQ(harness_quiet(fresh, harness_ms(20)), 0);

    /* The new tool is visible at once in tools/list. */
    CHECK_RC(mcp_server_add_tool(server, TOOL_A, tool_ok, NULL, NULL, NULL), MCP_OK, NULL);
    json_t *r = harness_request(ready, "tools/list", NULL);
    json_t *tools = json_object_get(harness_result(r), "tools");
    CHECK_EQ(json_array_size(tools), 1);
    CHECK_STR(json_string_value(json_object_get(json_array_get(tools, 0), "name")), "a");
    json_decref(r);

    harness_free(fresh);
    harness_free(ready);
    mcp_server_free(server);
}

/* ------------------------------------------------------------ pagination */

static void test_pagination(void) {
    harness_section("pagination");
    mcp_server_t *server = harness_server("{\"page_size\":2}");
    char buf[256], name[16];
    for (int i = 1; i <= 5; i++) {
        snprintf(name, sizeof name, "t%d", i);
        CHECK_RC(mcp_server_add_tool(server, tool_def(buf, sizeof buf, name), tool_ok, NULL, NULL, NULL), MCP_OK, NULL);
    }
    harness_t *h = harness_new(server);
    json_decref(harness_initialize(h, NULL));

    static const char *const pages[3][2] = {{"t1", "t2"}, {"t3", "t4"}, {"t5", NULL}};
    char *cursor = NULL;
    char *first_cursor = NULL;
    for (int page = 0; page < 3; page++) {
        json_t *params = cursor ? json_pack("{s:s}", "cursor", cursor) : NULL;
        json_t *r = harness_request(h, "tools/list", params);
        json_t *result = harness_result(r);
        json_t *tools = json_object_get(result, "tools");
        size_t expected = pages[page][1] ? 2 : 1;
        CHECK_EQ(json_array_size(tools), expected);
        for (size_t i = 0; i < expected && i < json_array_size(tools); i++)
            CHECK_STR(json_string_value(json_object_get(json_array_get(tools, i), "name")), pages[page][i]);
        json_t *next = json_object_get(result, "nextCursor");
        if (page < 2) {
            CHECK(json_is_string(next));
        } else {
            CHECK(next == NULL); /* the last page has no nextCursor */
        }
        if (page == 0 && json_is_string(next)) first_cursor = strdup(json_string_value(next));
        free(cursor);
        cursor = json_is_string(next) ? strdup(json_string_value(next)) : NULL;
        json_decref(r);
    }
    free(cursor);

    /* Forged and malformed cursors: -32602. */
    static const char *const forged[] = {"not-a-cursor", "", "eyJ4IjoxfQ==", "AAAAAAAAAAAAAAAAAAAA"};
    for (size_t i = 0; i < sizeof forged / sizeof forged[0]; i++) {
        json_t *r = harness_request(h, "tools/list", json_pack("{s:s}", "cursor", forged[i]));
        CHECK_EQ(harness_error_code(r), MCP_JSONRPC_INVALID_PARAMS);
        if (harness_error_code(r) != MCP_JSONRPC_INVALID_PARAMS) fprintf(stderr, "   cursor \"%s\"\n", forged[i]);
        json_decref(r);
    }
    if (first_cursor) {
        /* A real cursor with one character changed. */
        size_t n = strlen(first_cursor);
        char *tampered = strdup(first_cursor);
        tampered[n / 2] = tampered[n / 2] == 'A' ? 'B' : 'A';
        json_t *r = harness_request(h, "tools/list", json_pack("{s:s}", "cursor", tampered));
        CHECK_EQ(harness_error_code(r), MCP_JSONRPC_INVALID_PARAMS);
        json_decref(r);
        free(tampered);
        /* And the real one still works. */
        r = harness_request(h, "tools/list", json_pack("{s:s}", "cursor", first_cursor));
        CHECK_EQ(json_array_size(json_object_get(harness_result(r), "tools")), 2);
        json_decref(r);
        free(first_cursor);
    }
    json_t *r = harness_request(h, "tools/list", json_pack("{s:i}", "cursor", 5));
    CHECK_EQ(harness_error_code(r), MCP_JSONRPC_INVALID_PARAMS);
    json_decref(r);

    harness_free(h);
    mcp_server_free(server);
}

/* ------------------------------------------------------------ sessions */

static void noop_send(void *ud, const char *m, size_t n) { (void)ud, (void)m, (void)n; }

static void test_session_new_errors(void) {
    harness_section("mcp_server_session_new errors");
    mcp_server_t *server = harness_server(NULL);
    mcp_session_t *session = SENTINEL;
    char *error = NULL;
    int freed = 0;
    CHECK_RC(mcp_server_session_new(NULL, noop_send, &freed, harness_count_free, &session, &error), MCP_ERR_INVALID_ARG, error);
    CHECK(session == NULL);
    CHECK(error != NULL);
    mcp_string_free(error);
    session = SENTINEL;
    error = NULL;
    CHECK_RC(mcp_server_session_new(server, NULL, &freed, harness_count_free, &session, &error), MCP_ERR_INVALID_ARG, error);
    CHECK(session == NULL);
    mcp_string_free(error);
    error = NULL;
    CHECK_RC(mcp_server_session_new(server, noop_send, &freed, harness_count_free, NULL, &error), MCP_ERR_INVALID_ARG, error);
    mcp_string_free(error);
    CHECK_EQ(freed, 0); /* failed: user_data stays the host's */

    /* Success, then free: free_fn exactly once. */
    session = NULL;
    error = SENTINEL;
    CHECK_RC(mcp_server_session_new(server, noop_send, &freed, harness_count_free, &session, &error), MCP_OK, NULL);
    CHECK(error == NULL);
    CHECK(session != NULL);
    mcp_session_free(session);
    CHECK_EQ(harness_wait_count(&freed, 1, HARNESS_TIMEOUT), 1);
    mcp_session_free(NULL); /* ^NULL is a no-op */

    /* Several sessions on one server; freeing the server closes them. */
    mcp_session_t *s1 = NULL, *s2 = NULL;
    int f1 = 0, f2 = 0;
    CHECK_RC(mcp_server_session_new(server, noop_send, &f1, harness_count_free, &s1, NULL), MCP_OK, NULL);
    CHECK_RC(mcp_server_session_new(server, noop_send, &f2, harness_count_free, &s2, NULL), MCP_OK, NULL);
    mcp_server_free(server);
    static const char ping[] = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}";
    CHECK_RC(mcp_session_receive(s1, ping, sizeof ping - 1, NULL), MCP_ERR_STATE, NULL);
    mcp_session_free(s1);
    mcp_session_free(s2);
    CHECK_EQ(harness_wait_count(&f1, 1, HARNESS_TIMEOUT), 1);
    CHECK_EQ(harness_wait_count(&f2, 1, HARNESS_TIMEOUT), 1);
    /* MCP_ERR_STATE "server freed" cannot be reached without using a freed pointer. */
}

/* ------------------------------------------------------------ serving over pipes */

struct serve {
    mcp_server_t *server;
    int in_fd, out_fd, stdio;
    const char *options;
    mcp_status rc;
    char *error;
    volatile int done;
    pthread_t thread;
};

static void *serve_main(void *arg) {
    struct serve *s = arg;
    s->rc = s->stdio ? mcp_server_serve_stdio(s->server, s->options, &s->error)
                     : mcp_server_serve_fds(s->server, s->in_fd, s->out_fd, s->options, &s->error);
    __atomic_store_n(&s->done, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

static void serve_start(struct serve *s) {
    s->done = 0;
    s->error = NULL;
    if (pthread_create(&s->thread, NULL, serve_main, s) != 0) abort();
}

/* Joins the serving thread if it ends within timeout_ms; returns whether it did. */
static int serve_join(struct serve *s, int timeout_ms) {
    if (!harness_wait_flag(&s->done, timeout_ms)) return 0;
    pthread_join(s->thread, NULL);
    return 1;
}

/* The client end of a pipe pair. */
struct peer {
    int to_server, from_server;
    char buf[1 << 16];
    size_t len;
};

static void peer_write(struct peer *p, const char *line) {
    size_t n = strlen(line);
    if (write(p->to_server, line, n) != (ssize_t)n || write(p->to_server, "\n", 1) != 1)
        harness_fail(__FILE__, __LINE__, "write to server: %s", strerror(errno));
}

/* Reads one line; NULL on timeout or EOF. The caller free()s it. */
static char *peer_read_line(struct peer *p, int timeout_ms) {
    double end = harness_now_ms() + timeout_ms;
    for (;;) {
        char *nl = memchr(p->buf, '\n', p->len);
        if (nl) {
            size_t n = (size_t)(nl - p->buf);
            char *line = malloc(n + 1);
            memcpy(line, p->buf, n);
            line[n] = '\0';
            memmove(p->buf, nl + 1, p->len - n - 1);
            p->len -= n + 1;
            return line;
        }
        int left = (int)(end - harness_now_ms());
        if (left <= 0 || p->len == sizeof p->buf) return NULL;
        struct pollfd pfd = {p->from_server, POLLIN, 0};
        if (poll(&pfd, 1, left) <= 0) continue;
        ssize_t got = read(p->from_server, p->buf + p->len, sizeof p->buf - p->len);
        if (got <= 0) return NULL;
        p->len += (size_t)got;
    }
}

static json_t *peer_read(struct peer *p, int timeout_ms) {
    char *line = peer_read_line(p, timeout_ms);
    if (line == NULL) return NULL;
    json_t *v = json_loads(line, 0, NULL);
    if (v == NULL) harness_fail(__FILE__, __LINE__, "not JSON from the server: %s", line);
    free(line);
    return v;
}

/* Reads messages until the response with this id (notifications skipped). */
static json_t *peer_response(struct peer *p, json_int_t id, int timeout_ms) {
    double end = harness_now_ms() + timeout_ms;
    for (;;) {
        int left = (int)(end - harness_now_ms());
        json_t *m = peer_read(p, left > 0 ? left : 0);
        if (m == NULL) return NULL;
        if (json_integer_value(json_object_get(m, "id")) == id && !json_object_get(m, "method")) return m;
        json_decref(m);
    }
}

static const char INIT_LINE[] =
    "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{\"protocolVersion\":\"2025-11-25\","
    "\"capabilities\":{},\"clientInfo\":{\"name\":\"pipe\",\"version\":\"0\"}}}";
static const char INITIALIZED_LINE[] = "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}";

static void make_pipes(int a[2], int b[2]) {
    if (pipe(a) != 0 || pipe(b) != 0) abort();
}

static void close_fds(int a[2], int b[2]) {
    for (int i = 0; i < 2; i++) {
        if (a[i] >= 0) close(a[i]);
        if (b[i] >= 0) close(b[i]);
    }
}

static int fd_is_open(int fd) { return fcntl(fd, F_GETFD) != -1; }
static int fd_is_blocking(int fd) { return (fcntl(fd, F_GETFL) & O_NONBLOCK) == 0; }

/* A tool that tries to serve from inside a callback (MCP_ERR_STATE). */
static int eof_fd = -1;
static void tool_serve_inside(void *ud, mcp_call_t *call, const char *args) {
    mcp_server_t *server = ud;
    (void)args;
    char *error = NULL;
    int out[2];
    if (pipe(out) != 0) abort();
    mcp_status rc1 = mcp_server_serve_fds(server, eof_fd, out[1], NULL, &error);
    CHECK_RC(rc1, MCP_ERR_STATE, error);
    mcp_string_free(error);
    error = NULL;
    mcp_status rc2 = mcp_server_serve_stdio(server, NULL, &error);
    CHECK_RC(rc2, MCP_ERR_STATE, error);
    mcp_string_free(error);
    close(out[0]);
    close(out[1]);
    char text[64];
    snprintf(text, sizeof text, "{\"content\":[{\"type\":\"text\",\"text\":\"%d %d\"}]}", rc1, rc2);
    CHECK_RC(mcp_call_return(call, text, NULL), MCP_OK, NULL);
}

static void test_serve_fds(void) {
    harness_section("mcp_server_serve_fds");
    mcp_server_t *server = harness_server(NULL);
    CHECK_RC(mcp_server_add_tool(server, TOOL_A, tool_ok, NULL, NULL, NULL), MCP_OK, NULL);
    int a[2], b[2];
    make_pipes(a, b);
    struct serve s = {server, a[0], b[1], 0, NULL, 0, NULL, 0, 0};
    struct peer *p = calloc(1, sizeof *p);
    p->to_server = a[1];
    p->from_server = b[0];
    serve_start(&s);

    peer_write(p, INIT_LINE);
    json_t *r = peer_response(p, 1, HARNESS_TIMEOUT);
    CHECK_STR(json_string_value(json_object_get(harness_result(r), "protocolVersion")), "2025-11-25");
    json_decref(r);
    peer_write(p, INITIALIZED_LINE);
    peer_write(p, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":{\"name\":\"a\"}}");
    r = peer_response(p, 2, HARNESS_TIMEOUT);
    CHECK_STR(harness_tool_text(r), "ok");
    json_decref(r);
    /* A line that is not JSON is answered on the wire and serving goes on. */
    peer_write(p, "this is not json");
    r = peer_read(p, HARNESS_TIMEOUT);
    CHECK_EQ(harness_error_code(r), MCP_JSONRPC_PARSE_ERROR);
    json_decref(r);
    /* ^The descriptors are never switched to non-blocking mode. */
    CHECK(fd_is_blocking(a[0]));
    CHECK(fd_is_blocking(b[1]));

    /* One serve per server at a time. */
    int c[2], d[2];
    make_pipes(c, d);
    char *error = NULL;
    CHECK_RC(mcp_server_serve_fds(server, c[0], d[1], NULL, &error), MCP_ERR_STATE, error);
    CHECK(error != NULL);
    mcp_string_free(error);
    close_fds(c, d);
    CHECK(!__atomic_load_n(&s.done, __ATOMIC_SEQ_CST));

    /* EOF ends serving with MCP_OK; neither descriptor is closed. */
    close(a[1]);
    a[1] = -1;
    CHECK(serve_join(&s, HARNESS_TIMEOUT));
    CHECK_RC(s.rc, MCP_OK, s.error);
    mcp_string_free(s.error);
    CHECK(fd_is_open(a[0]));
    CHECK(fd_is_open(b[1]));
    close_fds(a, b);

    /* Serving again after the first serve returned is allowed. */
    make_pipes(a, b);
    s.in_fd = a[0];
    s.out_fd = b[1];
    p->to_server = a[1];
    p->from_server = b[0];
    p->len = 0;
    serve_start(&s);
    peer_write(p, "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"ping\"}");
    r = peer_response(p, 7, HARNESS_TIMEOUT);
    CHECK(json_is_object(harness_result(r)));
    json_decref(r);
    /* mcp_server_stop makes it return without EOF. */
    double t0 = harness_now_ms();
    mcp_server_stop(server);
    CHECK(serve_join(&s, HARNESS_TIMEOUT));
    CHECK_RC(s.rc, MCP_OK, s.error);
    mcp_string_free(s.error);
    CHECK(harness_now_ms() - t0 < harness_ms(2000));
    mcp_server_stop(server); /* a no-op when not serving */
    close_fds(a, b);
    mcp_server_free(server);
    free(p);
}

static void test_serve_drain(void) {
    harness_section("serve: drain at EOF, drain_timeout_ms, max_message_bytes");
    mcp_server_t *server = harness_server(NULL);
    struct parked parked = {0};
    CHECK_RC(mcp_server_add_tool(server, "{\"name\":\"slow\"}", tool_park, &parked, NULL, NULL), MCP_OK, NULL);
    struct peer *p = calloc(1, sizeof *p);
    int a[2], b[2];

    /* At EOF the answer of a call in flight is still written before serve returns. */
    make_pipes(a, b);
    struct serve s = {server, a[0], b[1], 0, "{\"drain_timeout_ms\":30000}", 0, NULL, 0, 0};
    p->to_server = a[1];
    p->from_server = b[0];
    serve_start(&s);
    peer_write(p, INIT_LINE);
    json_decref(peer_response(p, 1, HARNESS_TIMEOUT));
    peer_write(p, INITIALIZED_LINE);
    peer_write(p, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":{\"name\":\"slow\"}}");
    CHECK(harness_wait_flag(&parked.arrived, HARNESS_TIMEOUT));
    close(a[1]);
    a[1] = -1;
    harness_sleep_ms(harness_ms(100));
    CHECK(!__atomic_load_n(&s.done, __ATOMIC_SEQ_CST)); /* waiting for the answer */
    CHECK_RC(mcp_call_return(parked.call, "{\"content\":[]}", NULL), MCP_OK, NULL);
    CHECK(serve_join(&s, HARNESS_TIMEOUT));
    CHECK_RC(s.rc, MCP_OK, s.error);
    mcp_string_free(s.error);
    json_t *r = peer_response(p, 2, HARNESS_TIMEOUT);
    CHECK(r != NULL && harness_result(r) != NULL);
    json_decref(r);
    close_fds(a, b);

    /* drain_timeout_ms bounds the wait; the late answer is still accepted. */
    make_pipes(a, b);
    memset(&parked, 0, sizeof parked);
    s.in_fd = a[0];
    s.out_fd = b[1];
    s.options = "{\"drain_timeout_ms\":100}";
    p->to_server = a[1];
    p->from_server = b[0];
    p->len = 0;
    serve_start(&s);
    peer_write(p, INIT_LINE);
    json_decref(peer_response(p, 1, HARNESS_TIMEOUT));
    peer_write(p, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":{\"name\":\"slow\"}}");
    CHECK(harness_wait_flag(&parked.arrived, HARNESS_TIMEOUT));
    close(a[1]);
    a[1] = -1;
    CHECK(serve_join(&s, harness_ms(3000)));
    CHECK_RC(s.rc, MCP_OK, s.error);
    mcp_string_free(s.error);
    char *error = NULL;
    mcp_status rc = mcp_call_return(parked.call, "{\"content\":[]}", &error);
    CHECK(rc == MCP_OK || rc == MCP_ERR_STATE);
    mcp_string_free(error);
    close_fds(a, b);

    /* max_message_bytes: a longer line gets -32600 and is skipped. */
    make_pipes(a, b);
    s.in_fd = a[0];
    s.out_fd = b[1];
    s.options = "{\"max_message_bytes\":1024,\"kept_buffer_bytes\":0}";
    p->to_server = a[1];
    p->from_server = b[0];
    p->len = 0;
    serve_start(&s);
    char *big = malloc(3000);
    snprintf(big, 3000, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"ping\",\"params\":{\"pad\":\"%02000d\"}}", 0);
    peer_write(p, big);
    free(big);
    r = peer_read(p, HARNESS_TIMEOUT);
    CHECK_EQ(harness_error_code(r), MCP_JSONRPC_INVALID_REQUEST);
    json_decref(r);
    peer_write(p, "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"ping\"}");
    r = peer_response(p, 4, HARNESS_TIMEOUT);
    CHECK(json_is_object(harness_result(r)));
    json_decref(r);
    close(a[1]);
    a[1] = -1;
    CHECK(serve_join(&s, HARNESS_TIMEOUT));
    CHECK_RC(s.rc, MCP_OK, s.error);
    mcp_string_free(s.error);
    close_fds(a, b);

    free(p);
    mcp_server_free(server);
}

static void test_serve_errors(void) {
    harness_section("serve errors");
    mcp_server_t *server = harness_server(NULL);
    int a[2], b[2];
    make_pipes(a, b);
    static const struct {
        const char *options;
        mcp_status expected;
    } bad[] = {
        {"{", MCP_ERR_INVALID_JSON},
        {"[]", MCP_ERR_INVALID_ARG},
        {"{\"max_message_bytes\":1023}", MCP_ERR_INVALID_ARG},
        {"{\"max_message_bytes\":\"big\"}", MCP_ERR_INVALID_ARG},
        {"{\"drain_timeout_ms\":-1}", MCP_ERR_INVALID_ARG},
        {"{\"redirect_stdout\":\"yes\"}", MCP_ERR_INVALID_ARG},
        {"{\"kept_buffer_bytes\":-1}", MCP_ERR_INVALID_ARG},
        {"{\"kept_buffer_bytes\":\"big\"}", MCP_ERR_INVALID_ARG},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *error = NULL;
        mcp_status rc = mcp_server_serve_fds(server, a[0], b[1], bad[i].options, &error);
        CHECK_RC(rc, bad[i].expected, error);
        if (rc != bad[i].expected) fprintf(stderr, "   options %s\n", bad[i].options);
        CHECK(error != NULL);
        mcp_string_free(error);
        error = NULL;
        rc = mcp_server_serve_stdio(server, bad[i].options, &error);
        CHECK_RC(rc, bad[i].expected, error);
        mcp_string_free(error);
    }
    char *error = NULL;
    CHECK_RC(mcp_server_serve_fds(NULL, a[0], b[1], NULL, &error), MCP_ERR_INVALID_ARG, error);
    mcp_string_free(error);
    CHECK_RC(mcp_server_serve_stdio(NULL, NULL, NULL), MCP_ERR_INVALID_ARG, NULL);
    CHECK_RC(mcp_server_serve_fds(server, -1, b[1], NULL, NULL), MCP_ERR_INVALID_ARG, NULL);
    CHECK_RC(mcp_server_serve_fds(server, a[0], -1, NULL, NULL), MCP_ERR_INVALID_ARG, NULL);
    mcp_server_stop(NULL); /* must not crash */

    /* A descriptor that cannot be read: MCP_ERR_IO. */
    int wronly = open("/dev/null", O_WRONLY);
    error = NULL;
    CHECK_RC(mcp_server_serve_fds(server, wronly, b[1], NULL, &error), MCP_ERR_IO, error);
    CHECK(error != NULL);
    mcp_string_free(error);
    close(wronly);

    /* Serving from inside a callback: MCP_ERR_STATE, for both serve functions. */
    int e[2];
    if (pipe(e) != 0) abort();
    close(e[1]);
    eof_fd = e[0]; /* a buggy engine would see EOF here rather than hang */
    int saved0 = dup(0);
    dup2(e[0], 0);
    CHECK_RC(mcp_server_add_tool(server, "{\"name\":\"serve\"}", tool_serve_inside, server, NULL, NULL), MCP_OK, NULL);
    harness_t *h = harness_new(server);
    json_decref(harness_initialize(h, NULL));
    json_t *r = harness_request(h, "tools/call", json_pack("{s:s}", "name", "serve"));
    char expected[16];
    snprintf(expected, sizeof expected, "%d %d", MCP_ERR_STATE, MCP_ERR_STATE);
    CHECK_STR(harness_tool_text(r), expected);
    json_decref(r);
    harness_free(h);
    dup2(saved0, 0);
    close(saved0);
    close(e[0]);
    close_fds(a, b);
    mcp_server_free(server);
}

/* ^libmcp never raises SIGPIPE in the host: write to a pipe nobody reads. */
static void test_sigpipe(void) {
    harness_section("SIGPIPE");
    struct sigaction before, after;
    sigaction(SIGPIPE, NULL, &before);
    mcp_server_t *server = harness_server(NULL);
    int a[2], b[2];
    make_pipes(a, b);
    close(b[0]); /* the reader is gone */
    b[0] = -1;
    struct serve s = {server, a[0], b[1], 0, NULL, 0, NULL, 0, 0};
    serve_start(&s);
    const char ping[] = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}\n";
    for (int i = 0; i < 3; i++) {
        if (write(a[1], ping, sizeof ping - 1) < 0) break;
    }
    harness_sleep_ms(harness_ms(100));
    close(a[1]);
    a[1] = -1;
    CHECK(serve_join(&s, HARNESS_TIMEOUT)); /* still alive, and serve returned */
    CHECK(s.rc == MCP_OK || s.rc == MCP_ERR_IO);
    mcp_string_free(s.error);
    /* The host's SIGPIPE disposition is the host's business. */
    sigaction(SIGPIPE, NULL, &after);
    CHECK(after.sa_handler == before.sa_handler);
    close_fds(a, b);
    mcp_server_free(server);
}

static void test_serve_stdio(void) {
    harness_section("mcp_server_serve_stdio over pipes on fds 0 and 1");
    mcp_server_t *server = harness_server(NULL);
    int a[2], b[2];
    make_pipes(a, b);
    fflush(stdout);
    int saved0 = dup(0), saved1 = dup(1);
    dup2(a[0], 0);
    dup2(b[1], 1);
    close(a[0]);
    close(b[1]);
    a[0] = b[1] = -1;
    struct peer *p = calloc(1, sizeof *p);
    p->to_server = a[1];
    p->from_server = b[0];
    struct serve s = {server, -1, -1, 1, NULL, 0, NULL, 0, 0};
    serve_start(&s);
    peer_write(p, INIT_LINE);
    json_t *r = peer_response(p, 1, HARNESS_TIMEOUT);
    CHECK(json_is_object(harness_result(r)));
    json_decref(r);

    /* ^While serving, fd 1 points at stderr: stray output cannot corrupt the stream. */
    static const char stray[] = "stray output from the host\n";
    if (write(1, stray, sizeof stray - 1) < 0) harness_fail(__FILE__, __LINE__, "write(1)");
    peer_write(p, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"ping\"}");
    char *line = peer_read_line(p, HARNESS_TIMEOUT);
    CHECK(line != NULL && strstr(line, "stray") == NULL);
    json_t *pong = line ? json_loads(line, 0, NULL) : NULL;
    CHECK_EQ(json_integer_value(json_object_get(pong, "id")), 2);
    json_decref(pong);
    free(line);

    close(a[1]);
    a[1] = -1;
    CHECK(serve_join(&s, HARNESS_TIMEOUT));
    CHECK_RC(s.rc, MCP_OK, s.error);
    mcp_string_free(s.error);
    /* ^Restored on return: fd 1 is our pipe again. */
    if (write(1, "x\n", 2) != 2) harness_fail(__FILE__, __LINE__, "write(1) after serving");
    line = peer_read_line(p, HARNESS_TIMEOUT);
    CHECK_STR(line, "x");
    free(line);

    dup2(saved0, 0);
    dup2(saved1, 1);
    close(saved0);
    close(saved1);
    close_fds(a, b);
    free(p);

    /* A standard input that cannot be read: MCP_ERR_IO. */
    saved0 = dup(0);
    int wronly = open("/dev/null", O_WRONLY);
    dup2(wronly, 0);
    char *error = NULL;
    CHECK_RC(mcp_server_serve_stdio(server, "{\"redirect_stdout\":false}", &error), MCP_ERR_IO, error);
    mcp_string_free(error);
    dup2(saved0, 0);
    close(saved0);
    close(wronly);
    mcp_server_free(server);
}

/* ------------------------------------------------------------ server-wide notifications */

static void test_server_log(void) {
    harness_section("mcp_server_log");
    mcp_server_t *server = harness_server(NULL);
    harness_t *a = harness_new(server), *b = harness_new(server);
    json_decref(harness_initialize(a, NULL));
    json_decref(harness_initialize(b, NULL));
    json_decref(harness_request(b, "logging/setLevel", json_pack("{s:s}", "level", "error")));

    char *error = SENTINEL;
    CHECK_RC(mcp_server_log(server, "warning", "srv", "{\"w\":1}", &error), MCP_OK, NULL);
    CHECK(error == NULL);
    CHECK_RC(mcp_server_log(server, "error", NULL, NULL, NULL), MCP_OK, NULL);
    CHECK_RC(mcp_server_log(server, "debug", NULL, "\"dropped everywhere\"", NULL), MCP_OK, NULL);
    /* a (default "info") gets warning and error; b ("error") only error. */
    json_t *m = harness_take_note(a, "notifications/message", HARNESS_TIMEOUT);
    json_t *p = json_object_get(m, "params");
    CHECK_STR(json_string_value(json_object_get(p, "level")), "warning");
    CHECK_STR(json_string_value(json_object_get(p, "logger")), "srv");
    CHECK_EQ(json_integer_value(json_object_get(json_object_get(p, "data"), "w")), 1);
    json_decref(m);
    m = harness_take_note(a, "notifications/message", HARNESS_TIMEOUT);
    CHECK_STR(json_string_value(json_object_get(json_object_get(m, "params"), "level")), "error");
    CHECK(json_is_null(json_object_get(json_object_get(m, "params"), "data")));
    json_decref(m);
    m = harness_take_note(b, "notifications/message", HARNESS_TIMEOUT);
    CHECK_STR(json_string_value(json_object_get(json_object_get(m, "params"), "level")), "error");
    json_decref(m);
    CHECK_EQ(harness_quiet(a, harness_ms(30)), 0);
    CHECK_EQ(harness_quiet(b, harness_ms(10)), 0);

    error = NULL;
    CHECK_RC(mcp_server_log(server, "loud", NULL, NULL, &error), MCP_ERR_INVALID_ARG, error);
    CHECK(error != NULL);
    mcp_string_free(error);
    CHECK_RC(mcp_server_log(server, NULL, NULL, NULL, NULL), MCP_ERR_INVALID_ARG, NULL);
    CHECK_RC(mcp_server_log(NULL, "info", NULL, NULL, NULL), MCP_ERR_INVALID_ARG, NULL);
    error = NULL;
    CHECK_RC(mcp_server_log(server, "info", NULL, "{oops", &error), MCP_ERR_INVALID_JSON, error);
    CHECK(error != NULL);
    mcp_string_free(error);
    CHECK_EQ(harness_quiet(a, harness_ms(20)), 0);
    harness_free(a);
    harness_free(b);
    mcp_server_free(server);
}

static void test_resource_updated(void) {
    harness_section("mcp_server_notify_resource_updated");
    mcp_server_t *server = harness_server(NULL);
    CHECK_RC(mcp_server_add_resource(server, "{\"uri\":\"test://a\",\"name\":\"a\"}", resource_ok, NULL, NULL, NULL), MCP_OK, NULL);
    CHECK_RC(mcp_server_add_resource(server, "{\"uri\":\"test://dir\",\"name\":\"dir\"}", resource_ok, NULL, NULL, NULL), MCP_OK, NULL);
    harness_t *sub = harness_new(server), *other = harness_new(server);
    json_t *init = harness_initialize(sub, NULL);
    CHECK(json_is_true(json_object_get(json_object_get(json_object_get(harness_result(init), "capabilities"), "resources"), "subscribe")));
    json_decref(init);
    json_decref(harness_initialize(other, NULL));

    json_t *r = harness_request(sub, "resources/subscribe", json_pack("{s:s}", "uri", "test://a"));
    CHECK(json_is_object(harness_result(r)));
    json_decref(r);
    int32_t count = -1;
    char *error = SENTINEL;
    CHECK_RC(mcp_server_notify_resource_updated(server, "test://a", &count, &error), MCP_OK, NULL);
    CHECK(error == NULL);
    CHECK_EQ(count, 1);
    json_t *m = harness_take_note(sub, "notifications/resources/updated", HARNESS_TIMEOUT);
    CHECK_STR(json_string_value(json_object_get(json_object_get(m, "params"), "uri")), "test://a");
    json_decref(m);
    CHECK_EQ(harness_quiet(other, harness_ms(20)), 0); /* exactly the subscribers */

    /* Not subscribed: nobody is told. out_count may be NULL. */
    count = -1;
    CHECK_RC(mcp_server_notify_resource_updated(server, "test://dir", &count, NULL), MCP_OK, NULL);
    CHECK_EQ(count, 0);
    CHECK_RC(mcp_server_notify_resource_updated(server, "test://dir", NULL, NULL), MCP_OK, NULL);

    /* A resource under a subscribed one: "dir" covers "dir/x". */
    json_decref(harness_request(other, "resources/subscribe", json_pack("{s:s}", "uri", "test://dir")));
    count = -1;
    CHECK_RC(mcp_server_notify_resource_updated(server, "test://dir/x", &count, NULL), MCP_OK, NULL);
    CHECK_EQ(count, 1);
    m = harness_take_note(other, "notifications/resources/updated", HARNESS_TIMEOUT);
    CHECK_STR(json_string_value(json_object_get(json_object_get(m, "params"), "uri")), "test://dir/x");
    json_decref(m);

    /* Unsubscribed: no longer told. */
    json_decref(harness_request(sub, "resources/unsubscribe", json_pack("{s:s}", "uri", "test://a")));
    count = -1;
    CHECK_RC(mcp_server_notify_resource_updated(server, "test://a", &count, NULL), MCP_OK, NULL);
    CHECK_EQ(count, 0);
    CHECK_EQ(harness_quiet(sub, harness_ms(20)), 0);

    error = NULL;
    CHECK_RC(mcp_server_notify_resource_updated(server, NULL, &count, &error), MCP_ERR_INVALID_ARG, error);
    CHECK(error != NULL);
    mcp_string_free(error);
    CHECK_RC(mcp_server_notify_resource_updated(NULL, "test://a", NULL, NULL), MCP_ERR_INVALID_ARG, NULL);
    harness_free(sub);
    harness_free(other);
    mcp_server_free(server);
}

/* completion/complete: offers every value that starts with the typed prefix,
** or 150 values for the argument "many". */
static volatile int completion_calls;

static void complete_fn(void *ud, mcp_call_t *call, const char *ref_json, const char *argument_name,
                        const char *argument_value, const char *context_json) {
    (void)ud;
    __atomic_add_fetch(&completion_calls, 1, __ATOMIC_SEQ_CST);
    json_t *values = json_array();
    if (strcmp(argument_name, "many") == 0) {
        for (int i = 0; i < 150; i++) json_array_append_new(values, json_sprintf("v%d", i));
    } else {
        static const char *const all[] = {"python", "perl", "php", "go"};
        for (int i = 0; i < 4; i++)
            if (strncmp(all[i], argument_value, strlen(argument_value)) == 0) json_array_append_new(values, json_string(all[i]));
    }
    /* Echo what arrived, so the test can check ref and context. */
    json_t *r = json_pack("{s:{s:o}, s:{s:o, s:o}}", "completion", "values", values, "_meta", "ref",
                          mcp_j_loads(ref_json, NULL), "context", mcp_j_loads(context_json, NULL));
    mcp_j_call_return_new(call, r, NULL);
}

static void test_completion(void) {
    harness_section("mcp_server_set_completion");
    mcp_server_t *server = harness_server(NULL);
    CHECK_RC(mcp_server_add_prompt(server, "{\"name\":\"code\",\"arguments\":[{\"name\":\"language\"},{\"name\":\"many\"}]}",
                                   prompt_ok, NULL, NULL, NULL),
             MCP_OK, NULL);
    CHECK_RC(mcp_server_add_resource_template(server, "{\"uriTemplate\":\"test://lang/{language}\",\"name\":\"l\"}",
                                              resource_ok, NULL, NULL, NULL),
             MCP_OK, NULL);
    int freed1 = 0, freed2 = 0;
    char *error = SENTINEL;
    CHECK_RC(mcp_server_set_completion(server, complete_fn, &freed1, harness_count_free, &error), MCP_OK, NULL);
    CHECK(error == NULL);
    CHECK_RC(mcp_server_set_completion(NULL, complete_fn, &freed2, harness_count_free, NULL), MCP_ERR_INVALID_ARG, NULL);
    CHECK_EQ(freed2, 0); /* not on failure */

    harness_t *h = harness_new(server);
    json_t *init = harness_initialize(h, NULL);
    CHECK(json_is_object(json_object_get(json_object_get(harness_result(init), "capabilities"), "completions")));
    json_decref(init);
    completion_calls = 0;

    json_t *r = harness_request(h, "completion/complete",
                                json_pack("{s:{s:s, s:s}, s:{s:s, s:s}, s:{s:{s:s}}}", "ref", "type", "ref/prompt", "name",
                                          "code", "argument", "name", "language", "value", "p", "context", "arguments",
                                          "many", "x"));
    json_t *completion = json_object_get(harness_result(r), "completion");
    json_t *values = json_object_get(completion, "values");
    CHECK_EQ(json_array_size(values), 3);
    CHECK_STR(json_string_value(json_array_get(values, 0)), "python");
    json_decref(r);
    CHECK_EQ(completion_calls, 1);

    /* A template variable; context absent is "{}". */
    r = harness_request(h, "completion/complete",
                        json_pack("{s:{s:s, s:s}, s:{s:s, s:s}}", "ref", "type", "ref/resource", "uri", "test://lang/{language}",
                                  "argument", "name", "language", "value", "g"));
    values = json_object_get(json_object_get(harness_result(r), "completion"), "values");
    CHECK_EQ(json_array_size(values), 1);
    CHECK_STR(json_string_value(json_array_get(values, 0)), "go");
    json_decref(r);

    /* More than 100 values: cut to 100 with hasMore. */
    r = harness_request(h, "completion/complete",
                        json_pack("{s:{s:s, s:s}, s:{s:s, s:s}}", "ref", "type", "ref/prompt", "name", "code", "argument",
                                  "name", "many", "value", ""));
    completion = json_object_get(harness_result(r), "completion");
    CHECK_EQ(json_array_size(json_object_get(completion, "values")), 100);
    CHECK(json_is_true(json_object_get(completion, "hasMore")));
    json_decref(r);

    /* Unregistered prompt or template, or unknown argument: -32602 without calling fn. */
    int before = completion_calls;
    r = harness_request(h, "completion/complete",
                        json_pack("{s:{s:s, s:s}, s:{s:s, s:s}}", "ref", "type", "ref/prompt", "name", "nope", "argument",
                                  "name", "language", "value", ""));
    CHECK_EQ(harness_error_code(r), MCP_JSONRPC_INVALID_PARAMS);
    json_decref(r);
    r = harness_request(h, "completion/complete",
                        json_pack("{s:{s:s, s:s}, s:{s:s, s:s}}", "ref", "type", "ref/resource", "uri", "test://other/{x}",
                                  "argument", "name", "x", "value", ""));
    CHECK_EQ(harness_error_code(r), MCP_JSONRPC_INVALID_PARAMS);
    json_decref(r);
    CHECK_EQ(completion_calls, before);

    /* Replacing the handler releases the previous one's user_data once. */
    CHECK_RC(mcp_server_set_completion(server, complete_fn, &freed2, harness_count_free, NULL), MCP_OK, NULL);
    CHECK_EQ(harness_wait_count(&freed1, 1, HARNESS_TIMEOUT), 1);
    CHECK_EQ(freed2, 0);
    /* fn NULL removes it: -32601. */
    CHECK_RC(mcp_server_set_completion(server, NULL, NULL, NULL, NULL), MCP_OK, NULL);
    CHECK_EQ(harness_wait_count(&freed2, 1, HARNESS_TIMEOUT), 1);
    r = harness_request(h, "completion/complete",
                        json_pack("{s:{s:s, s:s}, s:{s:s, s:s}}", "ref", "type", "ref/prompt", "name", "code", "argument",
                                  "name", "language", "value", ""));
    CHECK_EQ(harness_error_code(r), MCP_JSONRPC_METHOD_NOT_FOUND);
    json_decref(r);
    harness_free(h);

    /* Set on the server, released with it. */
    int freed3 = 0;
    CHECK_RC(mcp_server_set_completion(server, complete_fn, &freed3, harness_count_free, NULL), MCP_OK, NULL);
    mcp_server_free(server);
    CHECK_EQ(harness_wait_count(&freed3, 1, HARNESS_TIMEOUT), 1);
    CHECK_EQ(freed1, 1);
    CHECK_EQ(freed2, 1);
}

/* A tool that hands out its session id. */
static char *volatile tool_sid;
static void tool_session_id(void *ud, mcp_call_t *call, const char *args) {
    (void)ud, (void)args;
    char *sid = NULL;
    CHECK_RC(mcp_call_session_id(call, &sid, NULL), MCP_OK, NULL);
    tool_sid = sid;
    mcp_call_return(call, "{\"content\":[]}", NULL);
}

static void test_elicitation_complete(void) {
    harness_section("mcp_server_notify_elicitation_complete");
    mcp_server_t *server = harness_server(NULL);
    CHECK_RC(mcp_server_add_tool(server, "{\"name\":\"sid\"}", tool_session_id, NULL, NULL, NULL), MCP_OK, NULL);
    harness_t *a = harness_new(server), *b = harness_new(server);
    json_t *caps = json_pack("{s:{s:{}, s:{}}}", "elicitation", "form", "url");
    json_decref(harness_initialize_with(a, NULL, json_incref(caps)));
    json_decref(harness_initialize_with(b, NULL, caps));
    json_decref(harness_request(a, "tools/call", json_pack("{s:s}", "name", "sid")));
    char *sid = tool_sid;
    CHECK(sid != NULL);

    char *error = SENTINEL;
    CHECK_RC(mcp_server_notify_elicitation_complete(server, sid, "elicit-1", &error), MCP_OK, NULL);
    CHECK(error == NULL);
    json_t *m = harness_take_note(a, "notifications/elicitation/complete", HARNESS_TIMEOUT);
    CHECK_STR(json_string_value(json_object_get(json_object_get(m, "params"), "elicitationId")), "elicit-1");
    json_decref(m);
    CHECK_EQ(harness_quiet(b, harness_ms(20)), 0); /* to no other session */

    error = NULL;
    CHECK_RC(mcp_server_notify_elicitation_complete(server, "no-such-session", "e", &error), MCP_ERR_NOT_FOUND, error);
    CHECK(error != NULL);
    mcp_string_free(error);
    CHECK_RC(mcp_server_notify_elicitation_complete(server, NULL, "e", NULL), MCP_ERR_INVALID_ARG, NULL);
    CHECK_RC(mcp_server_notify_elicitation_complete(server, sid, NULL, NULL), MCP_ERR_INVALID_ARG, NULL);
    CHECK_RC(mcp_server_notify_elicitation_complete(NULL, sid, "e", NULL), MCP_ERR_INVALID_ARG, NULL);
    /* Once the session is closed it is no longer live. */
    harness_free(a);
    CHECK_RC(mcp_server_notify_elicitation_complete(server, sid, "elicit-2", NULL), MCP_ERR_NOT_FOUND, NULL);
    mcp_string_free(sid);
    harness_free(b);
    mcp_server_free(server);
}

int main(void) {
    test_new_free();
    test_new_errors();
    test_add_errors();
    test_duplicates_and_removal();
    test_free_fn_after_last_call();
    test_list_changed();
    test_pagination();
    test_session_new_errors();
    test_serve_fds();
    test_serve_drain();
    test_serve_errors();
    test_sigpipe();
    test_serve_stdio();
    test_server_log();
    test_resource_updated();
    test_completion();
    test_elicitation_complete();
    return harness_finish();
}
