/* JSON Schema validation by the engine (ABI 1.4): tool arguments against the
** inputSchema before the callback runs, structuredContent against the
** outputSchema, schemas made once at registration and refused there when
** they refer outside themselves, exceed the limits or name another dialect;
** MCP_TOOL_NO_VALIDATION and the "schema_validation" option turn it off. */
#include "harness.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static atomic_int calls;

/* Answers the arguments it got as text. */
static void tool_echo_args(void *ud, mcp_call_t *call, const char *args) {
    (void)ud;
    atomic_fetch_add(&calls, 1);
    json_t *r = json_pack("{s:[{s:s, s:s}]}", "content", "type", "text", "text", args);
    char *text = json_dumps(r, JSON_COMPACT);
    mcp_call_return(call, text, NULL);
    free(text);
    json_decref(r);
}

static const char TOOL[] =
    "{\"name\":\"t\",\"inputSchema\":{\"type\":\"object\","
    "\"$defs\":{\"pos\":{\"$anchor\":\"positive\",\"type\":\"integer\",\"minimum\":1}},"
    "\"properties\":{\"x\":{\"$ref\":\"#/$defs/pos\"},\"y\":{\"$ref\":\"#positive\"},"
    "\"mode\":{\"enum\":[\"a\",\"b\"]},\"inner\":{\"type\":\"object\",\"properties\":{\"z\":{\"type\":\"string\"}},"
    "\"required\":[\"z\"]}},\"required\":[\"x\"],\"additionalProperties\":false}}";

static mcp_status add(mcp_server_t *server, const char *json, unsigned flags, char **error) {
    return mcp_server_add_tool_ex(server, json, tool_echo_args, NULL, NULL, flags, error);
}

static json_t *call_t(harness_t *h, const char *name, json_t *args) {
    return harness_request(h, "tools/call", json_pack("{s:s, s:o}", "name", name, "arguments", args));
}

static int is_error(json_t *r) {
    return json_is_true(json_object_get(json_object_get(r, "result"), "isError"));
}

static void test_arguments_are_checked(void) {
    harness_section("arguments are checked against the inputSchema before the callback");
    mcp_server_t *server = harness_server(NULL);
    char *error = NULL;
    CHECK_RC(add(server, TOOL, 0, &error), MCP_OK, error);
    harness_t *h = harness_new(server);
    json_decref(harness_initialize(h, NULL));
    struct {
        const char *args, *message;
    } bad[] = {
        {"{}", "Invalid arguments for tool t: at /x: the required property \"x\" is missing"},
        {"{\"x\":\"1\"}", "Invalid arguments for tool t: at /x: expected integer, got string"},
        {"{\"x\":0}", "Invalid arguments for tool t: at /x: 0 is less than the minimum 1"},
        {"{\"x\":1,\"y\":-2}", "Invalid arguments for tool t: at /y: -2 is less than the minimum 1"},
        {"{\"x\":1,\"mode\":\"c\"}", "Invalid arguments for tool t: at /mode: the value is not one of the 2 allowed by enum"},
        {"{\"x\":1,\"inner\":{}}", "Invalid arguments for tool t: at /inner/z: the required property \"z\" is missing"},
        {"{\"x\":1,\"w\":1}", "Invalid arguments for tool t: at /w: the property \"w\" is not allowed"},
    };
    atomic_store(&calls, 0);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *r = call_t(h, "t", mcp_j_loads(bad[i].args, NULL));
        CHECK(is_error(r));
        CHECK_STR(harness_tool_text(r), bad[i].message);
        json_decref(r);
    }
    CHECK_EQ(atomic_load(&calls), 0);
    json_t *r = call_t(h, "t", json_pack("{s:i, s:i, s:s, s:{s:s}}", "x", 2, "y", 3, "mode", "b", "inner", "z", "ok"));
    CHECK(!is_error(r));
    CHECK_EQ(atomic_load(&calls), 1);
    json_decref(r);
    harness_free(h);
    mcp_server_free(server);
}

static void test_validation_off(void) {
    harness_section("MCP_TOOL_NO_VALIDATION and \"schema_validation\": false pass any arguments");
    char *error = NULL;
    for (int server_off = 0; server_off <= 1; server_off++) {
        mcp_server_t *server = harness_server(server_off ? "{\"schema_validation\":false}" : NULL);
        CHECK_RC(add(server, TOOL, server_off ? 0 : MCP_TOOL_NO_VALIDATION, &error), MCP_OK, error);
        /* Unchecked schemas are not read either: a remote $ref is accepted. */
        CHECK_RC(add(server, "{\"name\":\"remote\",\"inputSchema\":{\"type\":\"object\",\"$ref\":\"https://example.com/s.json\"}}",
                     server_off ? 0 : MCP_TOOL_NO_VALIDATION, &error),
                 MCP_OK, error);
        harness_t *h = harness_new(server);
        json_decref(harness_initialize(h, NULL));
        atomic_store(&calls, 0);
        json_t *r = call_t(h, "t", json_pack("{s:s, s:b}", "x", "one", "w", 1));
        CHECK(!is_error(r));
        json_t *got = mcp_j_loads(harness_tool_text(r), NULL);
        CHECK_STR(json_string_value(json_object_get(got, "x")), "one");
        json_decref(got);
        json_decref(r);
        CHECK_EQ(atomic_load(&calls), 1);
        harness_free(h);
        mcp_server_free(server);
    }
}

static void test_registration_refusals(void) {
    harness_section("schemas that cannot be checked are refused at registration");
    mcp_server_t *server = harness_server("{\"schema_max_depth\":8,\"schema_max_subschemas\":20}");
    struct {
        const char *tool, *message_part;
    } refused[] = {
        {"{\"name\":\"a\",\"inputSchema\":{\"type\":\"object\",\"properties\":{\"x\":{\"$ref\":\"https://example.com/x.json\"}}}}",
         "external references are never fetched"},
        {"{\"name\":\"b\",\"inputSchema\":{\"type\":\"object\",\"properties\":{\"x\":{\"$ref\":\"#/$defs/missing\"}}}}",
         "points at nothing in this schema"},
        {"{\"name\":\"c\",\"inputSchema\":{\"type\":\"object\",\"properties\":{\"x\":{\"$ref\":\"#nowhere\"}}}}",
         "names no $anchor"},
        {"{\"name\":\"d\",\"inputSchema\":{\"type\":\"object\",\"allOf\":[{\"allOf\":[{\"allOf\":[{\"allOf\":[{\"allOf\":"
         "[{\"type\":\"object\"}]}]}]}]}]}}",
         "nests deeper than 8"},
        {"{\"name\":\"e\",\"inputSchema\":{\"type\":\"object\",\"anyOf\":[{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},"
         "{},{},{},{},{},{}]}}",
         "more than 20 subschemas"},
        {"{\"name\":\"f\",\"inputSchema\":{\"$schema\":\"http://json-schema.org/draft-07/schema#\",\"type\":\"object\"}}",
         "JSON Schema 2020-12 only"},
        {"{\"name\":\"g\",\"inputSchema\":{\"type\":\"object\"},\"outputSchema\":{\"type\":\"object\","
         "\"properties\":{\"r\":{\"$ref\":\"other.json#/x\"}}}}",
         "outputSchema cannot be used"},
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        char *error = NULL;
        CHECK_RC(add(server, refused[i].tool, 0, &error), MCP_ERR_INVALID_ARG, error);
        CHECK(error != NULL && strstr(error, refused[i].message_part) != NULL);
        if (error && !strstr(error, refused[i].message_part)) fprintf(stderr, "message: %s\n", error);
        mcp_string_free(error);
    }
    /* $id-relative references within the document resolve. */
    char *error = NULL;
    CHECK_RC(add(server, "{\"name\":\"ids\",\"inputSchema\":{\"$id\":\"https://example.com/root.json\",\"type\":\"object\","
                         "\"properties\":{\"n\":{\"$ref\":\"root.json#/$defs/n\"}},\"$defs\":{\"n\":{\"type\":\"integer\"}}}}",
                 0, &error),
             MCP_OK, error);
    mcp_server_free(server);
    /* Bad option values. */
    mcp_server_t *s = NULL;
    CHECK_RC(mcp_server_new("x", "1", "{\"schema_max_steps\":0}", &s, &error), MCP_ERR_INVALID_ARG, error);
    mcp_string_free(error);
    error = NULL;
    CHECK_RC(mcp_server_new("x", "1", "{\"schema_validation\":\"yes\"}", &s, &error), MCP_ERR_INVALID_ARG, error);
    mcp_string_free(error);
    error = NULL;
    CHECK_RC(add(NULL, TOOL, 0x80u, &error), MCP_ERR_INVALID_ARG, error);
    mcp_string_free(error);
}

/* Answers structuredContent from the "sc" argument, isError from "err". */
static void tool_structured(void *ud, mcp_call_t *call, const char *args) {
    (void)ud;
    json_t *a = mcp_j_loads(args, NULL);
    json_t *r = json_pack("{s:[{s:s, s:s}], s:O, s:b}", "content", "type", "text", "text", "x", "structuredContent",
                          json_object_get(a, "sc"), "isError", json_is_true(json_object_get(a, "err")));
    char *text = json_dumps(r, JSON_COMPACT);
    char *error = NULL;
    mcp_status rc = mcp_call_return(call, text, &error);
    /* What the host hears of a result the engine refused. */
    int *seen = ud;
    (void)seen;
    if (rc != MCP_OK) {
        CHECK_EQ(rc, MCP_ERR_INVALID_ARG);
        CHECK(error && strstr(error, "does not match its outputSchema: at /temp: expected number, got string"));
    }
    mcp_string_free(error);
    free(text);
    json_decref(r);
    json_decref(a);
}

static void test_output_is_checked(void) {
    harness_section("structuredContent is checked against the outputSchema: a mismatch is -32603");
    mcp_server_t *server = harness_server(NULL);
    char *error = NULL;
    CHECK_RC(mcp_server_add_tool(server,
                                 "{\"name\":\"w\",\"outputSchema\":{\"type\":\"object\",\"properties\":"
                                 "{\"temp\":{\"type\":\"number\"}},\"required\":[\"temp\"]}}",
                                 tool_structured, NULL, NULL, &error),
             MCP_OK, error);
    harness_t *h = harness_new(server);
    json_decref(harness_initialize(h, NULL));
    json_t *r = call_t(h, "w", json_pack("{s:{s:f}}", "sc", "temp", 21.5));
    CHECK(!is_error(r) && json_object_get(r, "result") != NULL);
    json_decref(r);
    r = call_t(h, "w", json_pack("{s:{s:s}}", "sc", "temp", "warm"));
    CHECK_EQ(harness_error_code(r), MCP_JSONRPC_INTERNAL_ERROR);
    CHECK(strstr(json_string_value(json_object_get(json_object_get(r, "error"), "message")),
                 "does not match its outputSchema") != NULL);
    json_decref(r);
    /* Error results are not checked. */
    r = call_t(h, "w", json_pack("{s:{s:s}, s:b}", "sc", "temp", "warm", "err", 1));
    CHECK(is_error(r));
    json_decref(r);
    harness_free(h);
    mcp_server_free(server);
}

int main(void) {
    test_arguments_are_checked();
    test_validation_off();
    test_registration_refusals();
    test_output_is_checked();
    return harness_finish();
}
