/*
** test_jansson.c: the inline helpers of mcp_jansson.h: reference counting
** (borrowed / stolen / new), NULL pass-through to libmcp's own errors, builders.
*/
#include <stdio.h>
#include <string.h>

#include "harness.h"

static void test_loads(void) {
    harness_section("mcp_j_loads");
    json_error_t e;
    json_t *v = mcp_j_loads("{\"a\":[1,2]}", &e);
    CHECK(json_is_object(v) && v->refcount == 1); /* new reference */
    json_decref(v);
    v = mcp_j_loads("\"any value\"", NULL); /* JSON_DECODE_ANY */
    CHECK_STR(json_string_value(v), "any value");
    json_decref(v);
    CHECK(mcp_j_loads("{oops", &e) == NULL);
    CHECK(e.text[0] != '\0');
    memset(&e, 0, sizeof e);
    CHECK(mcp_j_loads(NULL, &e) == NULL);
    CHECK(e.text[0] != '\0');
    CHECK(mcp_j_loads(NULL, NULL) == NULL);

    /* "\u0000" in a string (JSON_ALLOW_NUL): the length counts past it. */
    v = mcp_j_loads("{\"t\":\"a\\u0000b\"}", &e);
    CHECK(v != NULL);
    CHECK_EQ(json_string_length(json_object_get(v, "t")), 3);
    CHECK(memcmp(json_string_value(json_object_get(v, "t")), "a\0b", 3) == 0);
    json_decref(v);
}

/* Reads its arguments with mcp_j_loads and answers with the length of "t". */
static void tool_length(void *ud, mcp_call_t *call, const char *args) {
    (void)ud;
    json_t *a = mcp_j_loads(args, NULL);
    const json_t *t = json_object_get(a, "t");
    if (!json_is_string(t)) {
        CHECK_RC(mcp_call_error(call, -32602, "unreadable arguments", NULL, NULL), MCP_OK, NULL);
    } else {
        char text[32];
        snprintf(text, sizeof text, "%zu", json_string_length(t));
        CHECK_RC(mcp_j_call_return_new(call, mcp_j_tool_result_text(text, 0), NULL), MCP_OK, NULL);
    }
    json_decref(a);
}

static void test_builders(void) {
    harness_section("builders");
    json_t *t = mcp_j_text_content("hi");
    json_t *want = json_pack("{s:s, s:s}", "type", "text", "text", "hi");
    CHECK(json_equal(t, want) && t->refcount == 1);
    json_decref(t);
    json_decref(want);
    CHECK(mcp_j_text_content(NULL) == NULL);
    CHECK(mcp_j_text_content("\xff\xfe") == NULL); /* not UTF-8 */

    json_t *img = mcp_j_image_content("AAAA", "image/png");
    want = json_pack("{s:s, s:s, s:s}", "type", "image", "data", "AAAA", "mimeType", "image/png");
    CHECK(json_equal(img, want));
    json_decref(img);
    json_decref(want);
    json_t *aud = mcp_j_audio_content("AAAA", "audio/wav");
    CHECK_STR(json_string_value(json_object_get(aud, "type")), "audio");
    json_decref(aud);
    CHECK(mcp_j_image_content(NULL, "image/png") == NULL);
    CHECK(mcp_j_audio_content("AAAA", NULL) == NULL);

    json_t *res = mcp_j_resource_text_content("test://r", "text/plain", "body");
    want = json_pack("{s:s, s:{s:s, s:s, s:s}}", "type", "resource", "resource", "uri", "test://r", "mimeType",
                     "text/plain", "text", "body");
    CHECK(json_equal(res, want));
    json_decref(res);
    json_decref(want);
    res = mcp_j_resource_text_content("test://r", NULL, "body");
    CHECK(json_object_get(json_object_get(res, "resource"), "mimeType") == NULL);
    json_decref(res);
    CHECK(mcp_j_resource_text_content(NULL, NULL, "x") == NULL);

    json_t *ok = mcp_j_tool_result_text("fine", 0);
    want = json_pack("{s:[{s:s, s:s}]}", "content", "type", "text", "text", "fine");
    CHECK(json_equal(ok, want));
    json_decref(ok);
    json_decref(want);
    json_t *bad = mcp_j_tool_result_text("broken", 1);
    CHECK(json_is_true(json_object_get(bad, "isError")));
    json_decref(bad);
    CHECK(mcp_j_tool_result_text(NULL, 1) == NULL);
}

/* The tool answers with the result kept in user_data, borrowed or stolen as asked. */
struct answer {
    json_t *result;
    int steal;
    mcp_status rc;
    volatile int done;
};

static void tool_answer(void *ud, mcp_call_t *call, const char *args) {
    struct answer *a = ud;
    (void)args;
    a->rc = a->steal ? mcp_j_call_return_new(call, a->result, NULL) : mcp_j_call_return(call, a->result, NULL);
    __atomic_store_n(&a->done, 1, __ATOMIC_SEQ_CST);
}

static void tool_log_error(void *ud, mcp_call_t *call, const char *args) {
    (void)ud, (void)args;
    json_t *data = json_pack("{s:i}", "n", 7);
    CHECK_RC(mcp_j_call_log(call, "warning", "j", data, NULL), MCP_OK, NULL);
    CHECK_RC(mcp_j_call_log(call, "warning", NULL, NULL, NULL), MCP_OK, NULL);
    CHECK_RC(mcp_j_call_log(call, "nope", NULL, data, NULL), MCP_ERR_INVALID_ARG, NULL);
    CHECK_EQ(data->refcount, 1); /* borrowed */
    CHECK_RC(mcp_j_call_error(call, -32050, "with data", data, NULL), MCP_OK, NULL);
    CHECK_EQ(data->refcount, 1);
    json_decref(data);
}

static void test_server_and_calls(void) {
    harness_section("server, registration and calls through json_t");
    json_t *options = json_pack("{s:s, s:i}", "instructions", "from jansson", "page_size", 3);
    mcp_server_t *server = NULL;
    char *error = NULL;
    CHECK_RC(mcp_j_server_new("j", "1", options, &server, &error), MCP_OK, error);
    CHECK_EQ(options->refcount, 1); /* borrowed */
    json_decref(options);

    /* NULL options: defaults. A bad option is libmcp's error, with its message. */
    mcp_server_t *other = NULL;
    CHECK_RC(mcp_j_server_new("j", "1", NULL, &other, NULL), MCP_OK, NULL);
    mcp_server_free(other);
    json_t *bad = json_pack("{s:i}", "page_size", 0);
    other = (mcp_server_t *)&error;
    error = NULL;
    CHECK_RC(mcp_j_server_new("j", "1", bad, &other, &error), MCP_ERR_INVALID_ARG, error);
    CHECK(other == NULL && error != NULL);
    mcp_string_free(error);
    json_decref(bad);

    /* A NULL definition reaches libmcp as NULL: MCP_ERR_INVALID_ARG with a message. */
    error = NULL;
    CHECK_RC(mcp_j_server_add_tool(server, NULL, tool_answer, NULL, NULL, &error), MCP_ERR_INVALID_ARG, error);
    CHECK(error != NULL);
    mcp_string_free(error);
    CHECK_RC(mcp_j_server_add_resource(server, NULL, NULL, NULL, NULL, NULL), MCP_ERR_INVALID_ARG, NULL);
    CHECK_RC(mcp_j_server_add_resource_template(server, NULL, NULL, NULL, NULL, NULL), MCP_ERR_INVALID_ARG, NULL);
    CHECK_RC(mcp_j_server_add_prompt(server, NULL, NULL, NULL, NULL, NULL), MCP_ERR_INVALID_ARG, NULL);

    struct answer a = {0};
    json_t *def = json_pack("{s:s, s:{s:s}}", "name", "answer", "inputSchema", "type", "object");
    CHECK_RC(mcp_j_server_add_tool(server, def, tool_answer, &a, NULL, NULL), MCP_OK, NULL);
    CHECK_RC(mcp_j_server_add_tool(server, def, tool_answer, &a, NULL, NULL), MCP_ERR_EXISTS, NULL);
    CHECK_EQ(def->refcount, 1);
    json_decref(def);
    def = json_pack("{s:s}", "name", "logerr");
    CHECK_RC(mcp_j_server_add_tool(server, def, tool_log_error, NULL, NULL, NULL), MCP_OK, NULL);
    json_decref(def);
    def = json_pack("{s:s, s:s}", "uri", "test://j", "name", "j");
    CHECK_RC(mcp_j_server_add_resource(server, def, NULL, NULL, NULL, NULL), MCP_ERR_INVALID_ARG, NULL); /* NULL fn */
    json_decref(def);

    def = json_pack("{s:s}", "name", "length");
    CHECK_RC(mcp_j_server_add_tool(server, def, tool_length, NULL, NULL, NULL), MCP_OK, NULL);
    json_decref(def);

    harness_t *h = harness_new(server);
    json_t *init = harness_initialize(h, NULL);
    CHECK_STR(json_string_value(json_object_get(harness_result(init), "instructions")), "from jansson");
    json_decref(init);

    /* Arguments holding U+0000 reach the tool whole through mcp_j_loads. */
    json_t *r0 = harness_request(h, "tools/call", json_pack("{s:s, s:{s:s#}}", "name", "length", "arguments", "t",
                                                            "x\0yz", (int)4));
    CHECK_STR(harness_tool_text(r0), "4");
    json_decref(r0);

    /* mcp_j_call_return borrows: the caller's reference is untouched. */
    a.result = mcp_j_tool_result_text("borrowed", 0);
    a.steal = 0;
    json_t *r = harness_request(h, "tools/call", json_pack("{s:s}", "name", "answer"));
    CHECK_STR(harness_tool_text(r), "borrowed");
    json_decref(r);
    CHECK(harness_wait_flag(&a.done, HARNESS_TIMEOUT));
    CHECK_RC(a.rc, MCP_OK, NULL);
    CHECK_EQ(a.result->refcount, 1);
    json_decref(a.result);

    /* mcp_j_call_return_new steals: an extra reference shows the drop. */
    a.result = mcp_j_tool_result_text("stolen", 0);
    json_incref(a.result);
    a.steal = 1;
    a.done = 0;
    r = harness_request(h, "tools/call", json_pack("{s:s}", "name", "answer"));
    CHECK_STR(harness_tool_text(r), "stolen");
    json_decref(r);
    CHECK(harness_wait_flag(&a.done, HARNESS_TIMEOUT));
    CHECK_EQ(a.result->refcount, 1);
    json_decref(a.result);

    /* A NULL result (a failed builder) answers -32603 and reports MCP_ERR_INVALID_ARG. */
    a.result = NULL;
    a.done = 0;
    r = harness_request(h, "tools/call", json_pack("{s:s}", "name", "answer"));
    CHECK_EQ(harness_error_code(r), MCP_JSONRPC_INTERNAL_ERROR);
    json_decref(r);
    CHECK(harness_wait_flag(&a.done, HARNESS_TIMEOUT));
    CHECK_RC(a.rc, MCP_ERR_INVALID_ARG, NULL);

    /* mcp_j_call_log and mcp_j_call_error. */
    r = harness_request(h, "tools/call", json_pack("{s:s}", "name", "logerr"));
    json_t *err = json_object_get(r, "error");
    CHECK_EQ(json_integer_value(json_object_get(err, "code")), -32050);
    CHECK_EQ(json_integer_value(json_object_get(json_object_get(err, "data"), "n")), 7);
    json_decref(r);
    json_t *m = harness_take_note(h, "notifications/message", HARNESS_TIMEOUT);
    CHECK_EQ(json_integer_value(json_object_get(json_object_get(json_object_get(m, "params"), "data"), "n")), 7);
    json_decref(m);
    m = harness_take_note(h, "notifications/message", HARNESS_TIMEOUT);
    CHECK(json_is_null(json_object_get(json_object_get(m, "params"), "data")));
    json_decref(m);

    harness_free(h);
    mcp_server_free(server);
}

int main(void) {
    test_loads();
    test_builders();
    test_server_and_calls();
    return harness_finish();
}
