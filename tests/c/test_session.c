/*
** test_session.c: OBJECT mcp_session_t of mcp.h, and the protocol seen through
** it: initialize and version negotiation, lifecycle, JSON-RPC errors, tools,
** resources and templates, prompts, revision gating, closing with calls in flight.
*/
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static const char OK_RESULT[] = "{\"content\":[{\"type\":\"text\",\"text\":\"ok\"}]}";

static void tool_ok(void *ud, mcp_call_t *call, const char *args) {
    (void)ud, (void)args;
    mcp_call_return(call, OK_RESULT, NULL);
}

/* Answers with the arguments it got, as text. */
static void tool_args(void *ud, mcp_call_t *call, const char *arguments_json) {
    (void)ud;
    json_t *r = mcp_j_tool_result_text(arguments_json, 0);
    mcp_j_call_return_new(call, r, NULL);
}

/* Answers {"contents":[{"uri":uri,"text":<uri>|<variables_json>|<user_data>}]}. */
static void resource_echo(void *ud, mcp_call_t *call, const char *uri, const char *variables_json) {
    json_t *text = json_sprintf("%s|%s|%s", uri, variables_json, ud ? (const char *)ud : "");
    json_t *r = json_pack("{s:[{s:s, s:s, s:o}]}", "contents", "uri", uri, "mimeType", "text/plain", "text", text);
    mcp_j_call_return_new(call, r, NULL);
}

static volatile int prompt_calls;

/* Answers with one user message holding the arguments it got. */
static void prompt_echo(void *ud, mcp_call_t *call, const char *arguments_json) {
    (void)ud;
    __atomic_add_fetch(&prompt_calls, 1, __ATOMIC_SEQ_CST);
    json_t *r = json_pack("{s:s, s:[{s:s, s:o}]}", "description", "echo", "messages", "role", "user", "content",
                          mcp_j_text_content(arguments_json));
    mcp_j_call_return_new(call, r, NULL);
}

static const char FULL_OPTIONS[] =
    "{\"title\":\"Test Server\",\"description\":\"A server for tests\",\"website_url\":\"https://example.com\","
    "\"icons\":[{\"src\":\"https://example.com/i.png\"}],\"instructions\":\"Be nice.\","
    "\"declare_capabilities\":[\"tools\",\"resources\",\"prompts\",\"logging\"]}";

/* ------------------------------------------------------------ initialize */
/* The capabilities a client sees are those of what the host registered (or
** named in "declare_capabilities"), at 2025 and at 2026-07-28. */
static json_t *capabilities_seen(mcp_server_t *server, const char *version) {
    harness_t *h = harness_new(server);
    json_t *r = strcmp(version, "2026-07-28") == 0
        ? harness_request(h, "server/discover", json_pack("{s:{s:s, s:{s:s,s:s}, s:{}}}", "_meta",
                          "io.modelcontextprotocol/protocolVersion", version, "io.modelcontextprotocol/clientInfo",
                          "name", "t", "version", "1", "io.modelcontextprotocol/clientCapabilities"))
        : harness_initialize(h, version);
    json_t *caps = json_incref(json_object_get(harness_result(r), "capabilities"));
    json_decref(r);
    harness_free(h);
    return caps;
}

static void test_capabilities_follow_registration(void) {
    harness_section("capabilities: what is registered or declared");
    mcp_server_t *server = harness_server(NULL);
    json_t *caps = capabilities_seen(server, "2025-11-25");
    CHECK(caps != NULL && json_object_size(caps) == 0); /* nothing registered, nothing declared */
    json_decref(caps);

    CHECK_EQ(mcp_server_add_tool(server, "{\"name\":\"ok\"}", tool_ok, NULL, NULL, NULL), MCP_OK);
    const char *eras[] = {"2025-11-25", "2026-07-28"};
    for (int i = 0; i < 2; i++) {
        caps = capabilities_seen(server, eras[i]);
        CHECK(json_is_true(json_object_get(json_object_get(caps, "tools"), "listChanged")));
        CHECK(!json_object_get(caps, "resources") && !json_object_get(caps, "prompts"));
        CHECK(!json_object_get(caps, "logging") && !json_object_get(caps, "tasks"));
        CHECK(!json_object_get(caps, "completions"));
        json_decref(caps);
    }

    CHECK_EQ(mcp_server_add_resource_template(server, "{\"uriTemplate\":\"x://{id}\",\"name\":\"x\"}",
                                              resource_echo, NULL, NULL, NULL), MCP_OK);
    CHECK_EQ(mcp_server_add_prompt(server, "{\"name\":\"p\"}", prompt_echo, NULL, NULL, NULL), MCP_OK);
    CHECK_EQ(mcp_server_add_tool(server, "{\"name\":\"t\",\"execution\":{\"taskSupport\":\"optional\"}}",
                                 tool_ok, NULL, NULL, NULL), MCP_OK);
    caps = capabilities_seen(server, "2025-11-25");
    CHECK(json_is_true(json_object_get(json_object_get(caps, "resources"), "subscribe")));
    CHECK(json_is_true(json_object_get(json_object_get(caps, "prompts"), "listChanged")));
    CHECK(json_is_object(json_object_get(caps, "tasks")));
    CHECK(!json_object_get(caps, "logging"));
    json_decref(caps);
    caps = capabilities_seen(server, "2025-06-18"); /* tasks came with 2025-11-25 */
    CHECK(!json_object_get(caps, "tasks") && json_object_get(caps, "prompts"));
    json_decref(caps);
    caps = capabilities_seen(server, "2026-07-28"); /* there, tasks are an extension */
    CHECK(!json_object_get(caps, "tasks") && json_object_get(caps, "resources"));
    json_decref(caps);
    mcp_server_free(server);

    server = harness_server("{\"declare_capabilities\":[\"logging\",\"prompts\"]}");
    caps = capabilities_seen(server, "2025-11-25");
    CHECK(json_is_object(json_object_get(caps, "logging")) && json_is_object(json_object_get(caps, "prompts")));
    CHECK(json_object_size(caps) == 2);
    json_decref(caps);
    mcp_server_free(server);

    mcp_server_t *bad = NULL;
    char *error = NULL;
    CHECK_EQ(mcp_server_new("s", "1", "{\"declare_capabilities\":[\"tools\",\"sampling\"]}", &bad, &error),
             MCP_ERR_INVALID_ARG);
    CHECK(bad == NULL && error && strstr(error, "\"sampling\" is none of them"));
    mcp_string_free(error);
}


static const char *const VERSIONS[] = {"2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"};

static int has(json_t *o, const char *key) { return json_object_get(o, key) != NULL; }

static void test_initialize(void) {
    harness_section("initialize and version negotiation");
    mcp_server_t *server = harness_server(FULL_OPTIONS);
    for (int i = 0; i < 5; i++) {
        const char *asked = i < 4 ? VERSIONS[i] : "1999-01-01";
        const char *expected = i < 4 ? VERSIONS[i] : "2025-11-25";
        harness_t *h = harness_new(server);
        json_t *r = harness_initialize(h, asked);
        json_t *result = harness_result(r);
        CHECK_STR(json_string_value(json_object_get(result, "protocolVersion")), expected);
        json_t *caps = json_object_get(result, "capabilities");
        CHECK(json_is_object(json_object_get(caps, "tools")));
        CHECK(json_is_object(json_object_get(caps, "resources")));
        CHECK(json_is_object(json_object_get(caps, "prompts")));
        CHECK(json_is_object(json_object_get(caps, "logging")));
        json_t *info = json_object_get(result, "serverInfo");
        CHECK_STR(json_string_value(json_object_get(info, "name")), "test-server");
        CHECK_STR(json_string_value(json_object_get(info, "version")), "1.2.3");
        CHECK_STR(json_string_value(json_object_get(result, "instructions")), "Be nice.");
        /* serverInfo fields exist only from the revision that defines them. */
        int v = i < 4 ? i : 0; /* index into VERSIONS of the negotiated one */
        CHECK_EQ(has(info, "title"), v <= 1);
        CHECK_EQ(has(info, "description"), v == 0);
        CHECK_EQ(has(info, "websiteUrl"), v == 0);
        CHECK_EQ(has(info, "icons"), v == 0);
        if (v == 0) {
            CHECK_STR(json_string_value(json_object_get(info, "title")), "Test Server");
            CHECK_STR(json_string_value(json_object_get(info, "websiteUrl")), "https://example.com");
        }
        json_decref(r);

        /* A second initialize is refused; the session stays usable. */
        r = harness_request(h, "initialize",
                            json_pack("{s:s, s:{}, s:{s:s, s:s}}", "protocolVersion", "2025-11-25", "capabilities",
                                      "clientInfo", "name", "again", "version", "1"));
        CHECK(harness_error_code(r) != 0);
        json_decref(r);
        r = harness_request(h, "tools/list", NULL);
        CHECK(json_is_array(json_object_get(harness_result(r), "tools")));
        json_decref(r);
        harness_free(h);
    }
    /* Without instructions, none are sent. */
    mcp_server_t *plain = harness_server(NULL);
    harness_t *h = harness_new(plain);
    json_t *r = harness_initialize(h, NULL);
    CHECK(!has(harness_result(r), "instructions"));
    json_decref(r);
    /* initialize without a protocolVersion is an error. */
    harness_t *h2 = harness_new(plain);
    r = harness_request(h2, "initialize", json_pack("{s:{}}", "capabilities"));
    CHECK(harness_error_code(r) != 0);
    json_decref(r);
    harness_free(h2);
    harness_free(h);
    mcp_server_free(plain);
    mcp_server_free(server);
}

/* ------------------------------------------------------------ lifecycle and JSON-RPC */

static void test_lifecycle(void) {
    harness_section("requests before initialize; ping; notifications");
    mcp_server_t *server = harness_server(NULL);
    CHECK_RC(mcp_server_add_tool(server, "{\"name\":\"ok\"}", tool_ok, NULL, NULL, NULL), MCP_OK, NULL);
    harness_t *h = harness_new(server);

    /* ping works before initialize. */
    json_t *r = harness_request(h, "ping", NULL);
    CHECK(json_is_object(harness_result(r)) && json_object_size(harness_result(r)) == 0);
    json_decref(r);

    /* Other requests before initialize: an error, with the request's id. */
    static const char *const methods[] = {"tools/list", "tools/call", "resources/list", "resources/read",
                                          "prompts/list", "prompts/get", "logging/setLevel"};
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
        json_t *params = strcmp(methods[i], "tools/call") == 0 ? json_pack("{s:s}", "name", "ok") : NULL;
        r = harness_request(h, methods[i], params);
        CHECK(r != NULL && harness_error_code(r) != 0);
        if (r && harness_error_code(r) == 0) fprintf(stderr, "   %s answered before initialize\n", methods[i]);
        json_decref(r);
    }
    /* Methods the server does not have are -32601 even before initialize:
    ** newer clients probe with server/discover first and fall back on it. */
    static const char *const unknown[] = {"server/discover", "no/such/method"};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        r = harness_request(h, unknown[i], NULL);
        CHECK_EQ(harness_error_code(r), MCP_JSONRPC_METHOD_NOT_FOUND);
        if (harness_error_code(r) != MCP_JSONRPC_METHOD_NOT_FOUND) fprintf(stderr, "   %s before initialize\n", unknown[i]);
        json_decref(r);
    }
    /* Notifications never get an answer, known or not. */
    harness_notify(h, "notifications/whatever", NULL);
    harness_notify(h, "notifications/initialized", NULL);
    CHECK_EQ(harness_quiet(h, harness_ms(30)), 0);

    json_decref(harness_initialize(h, NULL));
    r = harness_request(h, "tools/call", json_pack("{s:s}", "name", "ok"));
    CHECK_STR(harness_tool_text(r), "ok");
    json_decref(r);
    r = harness_request(h, "ping", NULL);
    CHECK(json_is_object(harness_result(r)));
    json_decref(r);

    /* String ids are echoed as strings. */
    json_t *req = json_pack("{s:s, s:s, s:s}", "jsonrpc", "2.0", "id", "abc", "method", "ping");
    harness_send(h, req);
    json_decref(req);
    json_t *m = harness_next(h, HARNESS_TIMEOUT);
    CHECK_STR(json_string_value(json_object_get(m, "id")), "abc");
    CHECK_STR(json_string_value(json_object_get(m, "jsonrpc")), "2.0");
    json_decref(m);
    harness_free(h);
    mcp_server_free(server);
}

static void test_jsonrpc_errors(void) {
    harness_section("JSON-RPC errors");
    mcp_server_t *server = harness_server(NULL);
    harness_t *h = harness_new(server);
    json_decref(harness_initialize(h, NULL));

    /* Unknown methods: -32601 (server/discover is not an MCP method of these revisions). */
    static const char *const unknown[] = {"no/such/method", "server/discover", "tools/lists", "sampling/createMessage"};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        json_t *r = harness_request(h, unknown[i], NULL);
        CHECK_EQ(harness_error_code(r), MCP_JSONRPC_METHOD_NOT_FOUND);
        CHECK(json_is_string(json_object_get(json_object_get(r, "error"), "message")));
        json_decref(r);
    }

    /* Parse errors: -32700 with a null id; mcp_session_receive still returns MCP_OK. */
    static const char *const garbage[] = {"{not json", "{\"jsonrpc\":\"2.0\",\"id\":1,", "\xff\xfe", "nul"};
    for (size_t i = 0; i < sizeof garbage / sizeof garbage[0]; i++) {
        CHECK_RC(harness_send_text(h, garbage[i]), MCP_OK, NULL);
        json_t *m = harness_next(h, HARNESS_TIMEOUT);
        CHECK_EQ(harness_error_code(m), MCP_JSONRPC_PARSE_ERROR);
        json_t *id = json_object_get(m, "id");
        CHECK(id == NULL || json_is_null(id));
        json_decref(m);
    }
    /* Empty input (length 0) is invalid input too. */
    char *error = NULL;
    CHECK_RC(mcp_session_receive(harness_session(h), "", 0, &error), MCP_OK, error);
    mcp_string_free(error);
    json_t *m = harness_next(h, HARNESS_TIMEOUT);
    CHECK_EQ(harness_error_code(m), MCP_JSONRPC_PARSE_ERROR);
    json_decref(m);

    /* Invalid requests: -32600. */
    static const char *const invalid[] = {
        "{\"jsonrpc\":\"2.0\",\"id\":1}",                      /* no method */
        "{\"jsonrpc\":\"1.0\",\"id\":2,\"method\":\"ping\"}",   /* wrong version */
        "{\"id\":3,\"method\":\"ping\"}",                       /* no jsonrpc */
        "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":5}",          /* method not a string */
        "{\"jsonrpc\":\"2.0\",\"id\":{\"a\":1},\"method\":\"ping\"}", /* id not a string or number */
        "42",
        "\"ping\"",
        "[]",
    };
    for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++) {
        CHECK_RC(harness_send_text(h, invalid[i]), MCP_OK, NULL);
        json_t *e = harness_next(h, HARNESS_TIMEOUT);
        CHECK_EQ(harness_error_code(e), MCP_JSONRPC_INVALID_REQUEST);
        if (harness_error_code(e) != MCP_JSONRPC_INVALID_REQUEST) {
            char *d = harness_dump(e);
            fprintf(stderr, "   input %s -> %s\n", invalid[i], d);
            free(d);
        }
        json_decref(e);
    }
    /* The session still works. */
    json_t *r = harness_request(h, "ping", NULL);
    CHECK(json_is_object(harness_result(r)));
    json_decref(r);
    CHECK_EQ(harness_bad_messages(h), 0);
    harness_free(h);
    mcp_server_free(server);
}

static void test_receive_arguments(void) {
    harness_section("mcp_session_receive arguments");
    mcp_server_t *server = harness_server(NULL);
    harness_t *h = harness_new(server);
    char *error = NULL;
    CHECK_RC(mcp_session_receive(NULL, "{}", 2, &error), MCP_ERR_INVALID_ARG, error);
    CHECK(error != NULL);
    mcp_string_free(error);
    error = NULL;
    CHECK_RC(mcp_session_receive(harness_session(h), NULL, 2, &error), MCP_ERR_INVALID_ARG, error);
    CHECK(error != NULL);
    mcp_string_free(error);
    /* ^length bytes are read: no NUL terminator needed, and bytes past length are ignored. */
    static const char buf[] = "{\"jsonrpc\":\"2.0\",\"id\":77,\"method\":\"ping\"}GARBAGE";
    CHECK_RC(mcp_session_receive(harness_session(h), buf, sizeof buf - 1 - 7, NULL), MCP_OK, NULL);
    json_t *r = harness_wait_response(h, 77, HARNESS_TIMEOUT);
    CHECK(json_is_object(harness_result(r)));
    json_decref(r);
    CHECK_EQ(harness_quiet(h, harness_ms(20)), 0);
    harness_free(h);
    mcp_server_free(server);
}

/* ^concurrent mcp_session_receive calls for one session are processed in some order. */
struct pinger {
    harness_t *h;
    int base, n;
};

static void *pinger_main(void *arg) {
    struct pinger *p = arg;
    for (int i = 0; i < p->n; i++) {
        char msg[96];
        snprintf(msg, sizeof msg, "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"ping\"}", p->base + i);
        char *error = NULL;
        mcp_status rc = mcp_session_receive(harness_session(p->h), msg, strlen(msg), &error);
        if (rc != MCP_OK) harness_fail(__FILE__, __LINE__, "receive: %s", error ? error : "");
        mcp_string_free(error);
    }
    return NULL;
}

static void test_concurrent_receive(void) {
    harness_section("concurrent receive on one session");
    mcp_server_t *server = harness_server(NULL);
    harness_t *h = harness_new(server);
    int n = harness_scale(200);
    struct pinger a = {h, 100000, n}, b = {h, 200000, n};
    pthread_t ta, tb;
    pthread_create(&ta, NULL, pinger_main, &a);
    pthread_create(&tb, NULL, pinger_main, &b);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    int got = 0;
    for (int i = 0; i < n; i++) {
        json_t *r1 = harness_wait_response(h, 100000 + i, HARNESS_TIMEOUT);
        json_t *r2 = harness_wait_response(h, 200000 + i, HARNESS_TIMEOUT);
        got += (r1 != NULL) + (r2 != NULL);
        json_decref(r1);
        json_decref(r2);
    }
    CHECK_EQ(got, 2 * n);
    CHECK_EQ(harness_bad_messages(h), 0);
    harness_free(h);
    mcp_server_free(server);
}

/* ------------------------------------------------------------ tools */

static void test_tools(void) {
    harness_section("tools/list and tools/call");
    mcp_server_t *server = harness_server(NULL);
    CHECK_RC(mcp_server_add_tool(server,
                                 "{\"name\":\"args\",\"inputSchema\":{\"type\":\"object\",\"properties\":"
                                 "{\"x\":{\"type\":\"integer\"}}}}",
                                 tool_args, NULL, NULL, NULL),
             MCP_OK, NULL);
    harness_t *h = harness_new(server);
    json_decref(harness_initialize(h, NULL));

    /* Unknown tool: -32602. */
    json_t *r = harness_request(h, "tools/call", json_pack("{s:s}", "name", "nope"));
    CHECK_EQ(harness_error_code(r), MCP_JSONRPC_INVALID_PARAMS);
    json_decref(r);
    /* No name, or a name that is not a string: -32602. */
    r = harness_request(h, "tools/call", json_pack("{}"));
    CHECK_EQ(harness_error_code(r), MCP_JSONRPC_INVALID_PARAMS);
    json_decref(r);
    r = harness_request(h, "tools/call", NULL);
    CHECK_EQ(harness_error_code(r), MCP_JSONRPC_INVALID_PARAMS);
    json_decref(r);
    r = harness_request(h, "tools/call", json_pack("{s:i}", "name", 3));
    CHECK_EQ(harness_error_code(r), MCP_JSONRPC_INVALID_PARAMS);
    json_decref(r);
    /* Arguments that are not an object: -32602. */
    r = harness_request(h, "tools/call", json_pack("{s:s, s:[i]}", "name", "args", "arguments", 1));
    CHECK_EQ(harness_error_code(r), MCP_JSONRPC_INVALID_PARAMS);
    json_decref(r);

    /* Arguments reach the callback as given; absent arguments are "{}". */
    r = harness_request(h, "tools/call", json_pack("{s:s, s:{s:i, s:[s]}}", "name", "args", "arguments", "x", 5, "y", "z"));
    json_t *got = mcp_j_loads(harness_tool_text(r), NULL);
    json_t *expected = json_pack("{s:i, s:[s]}", "x", 5, "y", "z");
    CHECK(got != NULL && json_equal(got, expected));
    json_decref(got);
    json_decref(expected);
    json_decref(r);
    r = harness_request(h, "tools/call", json_pack("{s:s}", "name", "args"));
    CHECK_STR(harness_tool_text(r), "{}");
    json_decref(r);
    harness_free(h);
    mcp_server_free(server);
}

/* ------------------------------------------------------------ inline tools */

struct thread_seen {
    pthread_t thread;
    mcp_status stop_rc; /* what mcp_server_stop_http said from inside the callback */
    mcp_server_t *server;
};

static void tool_where(void *ud, mcp_call_t *call, const char *args) {
    (void)args;
    struct thread_seen *seen = ud;
    seen->thread = pthread_self();
    char *error = NULL;
    seen->stop_rc = mcp_server_stop_http(seen->server, 0, &error);
    mcp_string_free(error);
    mcp_call_return(call, OK_RESULT, NULL);
}

static int freed_flags_data;
static void free_flags_data(void *ud) { (void)ud, freed_flags_data++; }

/* ^MCP_TOOL_INLINE: the callback runs on the thread that read the request (here
** the caller of mcp_session_receive), marked as a callback (blocking engine
** calls refused with MCP_ERR_STATE); without it, on a worker thread. */
static void test_inline_tools(void) {
    harness_section("mcp_server_add_tool_ex: MCP_TOOL_INLINE");
    mcp_server_t *server = harness_server(NULL);
    struct thread_seen inline_seen = {.stop_rc = MCP_OK, .server = server};
    struct thread_seen worker_seen = {.stop_rc = MCP_OK, .server = server};
    CHECK_RC(mcp_server_add_tool_ex(server, "{\"name\":\"inline\"}", tool_where, &inline_seen, NULL,
                                    MCP_TOOL_INLINE, NULL),
             MCP_OK, NULL);
    CHECK_RC(mcp_server_add_tool_ex(server, "{\"name\":\"worker\"}", tool_where, &worker_seen, NULL, 0, NULL),
             MCP_OK, NULL);
    /* Unknown flags: refused, and the host keeps its data (free_fn not called). */
    char *error = NULL;
    CHECK_RC(mcp_server_add_tool_ex(server, "{\"name\":\"odd\"}", tool_ok, NULL, free_flags_data, 0x80, &error),
             MCP_ERR_INVALID_ARG, error);
    mcp_string_free(error);
    CHECK_EQ(freed_flags_data, 0);

    harness_t *h = harness_new(server);
    json_decref(harness_initialize(h, NULL));
    for (int i = 0; i < 3; i++) {
        json_t *r = harness_request(h, "tools/call", json_pack("{s:s}", "name", "inline"));
        CHECK_STR(harness_tool_text(r), "ok");
        json_decref(r);
        CHECK(pthread_equal(inline_seen.thread, pthread_self()));
        CHECK_EQ(inline_seen.stop_rc, MCP_ERR_STATE);
        r = harness_request(h, "tools/call", json_pack("{s:s}", "name", "worker"));
        CHECK_STR(harness_tool_text(r), "ok");
        json_decref(r);
        CHECK(!pthread_equal(worker_seen.thread, pthread_self()));
        CHECK_EQ(worker_seen.stop_rc, MCP_ERR_STATE);
    }
    /* The mark is gone once the inline callback returned: this thread may stop. */
    CHECK_RC(mcp_server_stop_http(server, 0, NULL), MCP_OK, NULL);
    /* The tool is listed like any other (the flag is not part of the definition). */
    json_t *r = harness_request(h, "tools/list", NULL);
    json_t *tools = json_object_get(harness_result(r), "tools");
    CHECK_EQ(json_array_size(tools), 2);
    CHECK_STR(json_string_value(json_object_get(json_array_get(tools, 0), "name")), "inline");
    CHECK_EQ(json_object_size(json_array_get(tools, 0)), 2); /* name, inputSchema */
    json_decref(r);
    harness_free(h);
    mcp_server_free(server);
}

/* ^The definition is kept verbatim and sent as given (fields a client's older
** revision does not know are removed). */
static const char FULL_TOOL[] =
    "{\"name\":\"full\",\"title\":\"Full tool\",\"description\":\"Has every field\","
    "\"inputSchema\":{\"$schema\":\"https://json-schema.org/draft/2020-12/schema\",\"type\":\"object\","
    "\"$defs\":{\"a\":{\"type\":\"string\"}},\"properties\":{\"v\":{\"$ref\":\"#/$defs/a\"}},"
    "\"allOf\":[{\"anyOf\":[{\"required\":[\"v\"]},{}]}],\"if\":{\"required\":[\"v\"]},\"then\":{},\"else\":{},"
    "\"additionalProperties\":false,\"x-custom\":[1,2.5,\"three\",null,true]},"
    "\"outputSchema\":{\"type\":\"object\",\"properties\":{\"r\":{\"type\":\"number\"}}},"
    "\"annotations\":{\"readOnlyHint\":true,\"title\":\"Annotated\"},"
    "\"icons\":[{\"src\":\"https://example.com/t.png\",\"mimeType\":\"image/png\"}],"
    "\"execution\":{\"taskSupport\":\"optional\"},"
    "\"_meta\":{\"example.com/k\":\"v\"}}";

static void test_tool_revisions(void) {
    harness_section("tool definitions per revision");
    /* Keys each revision's Tool knows (tests/spec/<revision>/schema.json). */
    static const char *const known[4][10] = {
        {"name", "title", "description", "inputSchema", "outputSchema", "annotations", "icons", "execution", "_meta", NULL},
        {"name", "title", "description", "inputSchema", "outputSchema", "annotations", "_meta", NULL},
        {"name", "description", "inputSchema", "annotations", NULL},
        {"name", "description", "inputSchema", NULL},
    };
    mcp_server_t *server = harness_server(NULL);
    CHECK_RC(mcp_server_add_tool(server, FULL_TOOL, tool_ok, NULL, NULL, NULL), MCP_OK, NULL);
    json_t *def = json_loads(FULL_TOOL, 0, NULL);
    for (int v = 0; v < 4; v++) {
        harness_t *h = harness_new(server);
        json_decref(harness_initialize(h, VERSIONS[v]));
        json_t *r = harness_request(h, "tools/list", NULL);
        json_t *tool = json_array_get(json_object_get(harness_result(r), "tools"), 0);
        json_t *expected = json_object();
        for (int k = 0; known[v][k]; k++) json_object_set(expected, known[v][k], json_object_get(def, known[v][k]));
        CHECK(tool != NULL && json_equal(tool, expected));
        if (tool && !json_equal(tool, expected)) {
            char *got = harness_dump(tool);
            fprintf(stderr, "   %s: got %s\n", VERSIONS[v], got);
            free(got);
        }
        json_decref(expected);
        json_decref(r);
        harness_free(h);
    }
    json_decref(def);
    mcp_server_free(server);
}

/* ------------------------------------------------------------ resources */

static void test_resources(void) {
    harness_section("resources, templates and variable matching");
    mcp_server_t *server = harness_server(NULL);
    CHECK_RC(mcp_server_add_resource(server, "{\"uri\":\"test://static\",\"name\":\"static\",\"mimeType\":\"text/plain\"}",
                                     resource_echo, "static", NULL, NULL),
             MCP_OK, NULL);
    CHECK_RC(mcp_server_add_resource_template(server, "{\"uriTemplate\":\"test://template/{id}/data\",\"name\":\"data\"}",
                                              resource_echo, "data", NULL, NULL),
             MCP_OK, NULL);
    CHECK_RC(mcp_server_add_resource_template(server, "{\"uriTemplate\":\"test://{a}/x/{b}\",\"name\":\"two\"}",
                                              resource_echo, "two", NULL, NULL),
             MCP_OK, NULL);
    /* Same shape, registered later: never reached while the first exists. */
    CHECK_RC(mcp_server_add_resource_template(server, "{\"uriTemplate\":\"test://order/{first}\",\"name\":\"first\"}",
                                              resource_echo, "first", NULL, NULL),
             MCP_OK, NULL);
    CHECK_RC(mcp_server_add_resource_template(server, "{\"uriTemplate\":\"test://order/{second}\",\"name\":\"second\"}",
                                              resource_echo, "second", NULL, NULL),
             MCP_OK, NULL);
    /* A fixed resource that a template would also match: the fixed one wins. */
    CHECK_RC(mcp_server_add_resource(server, "{\"uri\":\"test://template/fixed/data\",\"name\":\"fixed\"}",
                                     resource_echo, "fixed", NULL, NULL),
             MCP_OK, NULL);
    harness_t *h = harness_new(server);
    json_decref(harness_initialize(h, NULL));

    static const struct {
        const char *uri, *text; /* text NULL: -32002 */
    } reads[] = {
        {"test://static", "test://static|{}|static"},
        {"test://template/42/data", "test://template/42/data|{\"id\":\"42\"}|data"},
        {"test://template/fixed/data", "test://template/fixed/data|{}|fixed"},
        {"test://1/x/2", "test://1/x/2|{\"a\":\"1\",\"b\":\"2\"}|two"},
        {"test://order/z", "test://order/z|{\"first\":\"z\"}|first"},
        {"test://template/a/b/data", NULL}, /* a variable does not match '/' */
        {"test://template//data", NULL},    /* one or more characters */
        {"test://template/42/data/more", NULL},
        {"test://nothing-here", NULL},
    };
    for (size_t i = 0; i < sizeof reads / sizeof reads[0]; i++) {
        json_t *r = harness_request(h, "resources/read", json_pack("{s:s}", "uri", reads[i].uri));
        if (reads[i].text) {
            json_t *c = json_array_get(json_object_get(harness_result(r), "contents"), 0);
            CHECK_STR(json_string_value(json_object_get(c, "uri")), reads[i].uri);
            /* compare variables as JSON, not as text */
            const char *text = json_string_value(json_object_get(c, "text"));
            CHECK(text != NULL);
            if (text) {
                char *got = strdup(text), *want = strdup(reads[i].text);
                char *g1 = strchr(got, '|'), *w1 = strchr(want, '|');
                char *g2 = g1 ? strrchr(got, '|') : NULL, *w2 = strrchr(want, '|');
                CHECK(g1 && g2 && g1 != g2);
                if (g1 && g2 && g1 != g2) {
                    *g1 = *g2 = *w1 = *w2 = '\0';
                    CHECK_STR(got, want);
                    CHECK_STR(g2 + 1, w2 + 1);
                    json_t *gv = json_loads(g1 + 1, 0, NULL), *wv = json_loads(w1 + 1, 0, NULL);
                    CHECK(gv != NULL && json_equal(gv, wv));
                    if (!(gv && json_equal(gv, wv))) fprintf(stderr, "   %s: variables %s\n", reads[i].uri, g1 + 1);
                    json_decref(gv);
                    json_decref(wv);
                }
                free(got);
                free(want);
            }
        } else {
            /* Unknown URI: -32002 with data.uri. */
            CHECK_EQ(harness_error_code(r), MCP_JSONRPC_RESOURCE_NOT_FOUND);
            CHECK_STR(json_string_value(json_object_get(json_object_get(json_object_get(r, "error"), "data"), "uri")),
                      reads[i].uri);
            if (harness_error_code(r) != MCP_JSONRPC_RESOURCE_NOT_FOUND) fprintf(stderr, "   uri %s\n", reads[i].uri);
        }
        json_decref(r);
    }
    /* resources/read without a uri: -32602. */
    json_t *r = harness_request(h, "resources/read", json_pack("{}"));
    CHECK_EQ(harness_error_code(r), MCP_JSONRPC_INVALID_PARAMS);
    json_decref(r);

    /* Lists: fixed resources and templates separately, in registration order. */
    r = harness_request(h, "resources/list", NULL);
    json_t *list = json_object_get(harness_result(r), "resources");
    CHECK_EQ(json_array_size(list), 2);
    CHECK_STR(json_string_value(json_object_get(json_array_get(list, 0), "uri")), "test://static");
    CHECK_STR(json_string_value(json_object_get(json_array_get(list, 0), "mimeType")), "text/plain");
    CHECK_STR(json_string_value(json_object_get(json_array_get(list, 1), "uri")), "test://template/fixed/data");
    json_decref(r);
    r = harness_request(h, "resources/templates/list", NULL);
    list = json_object_get(harness_result(r), "resourceTemplates");
    CHECK_EQ(json_array_size(list), 4);
    CHECK_STR(json_string_value(json_object_get(json_array_get(list, 0), "uriTemplate")), "test://template/{id}/data");
    CHECK_STR(json_string_value(json_object_get(json_array_get(list, 3), "uriTemplate")), "test://order/{second}");
    json_decref(r);

    /* After removing the first, the second template of the same shape answers. */
    CHECK_RC(mcp_server_remove_resource_template(server, "test://order/{first}", NULL), MCP_OK, NULL);
    r = harness_request(h, "resources/read", json_pack("{s:s}", "uri", "test://order/z"));
    const char *text = json_string_value(json_object_get(json_array_get(json_object_get(harness_result(r), "contents"), 0), "text"));
    CHECK(text != NULL && strstr(text, "\"second\"") != NULL);
    json_decref(r);
    harness_free(h);
    mcp_server_free(server);
}

/* ------------------------------------------------------------ prompts */

static void test_prompts(void) {
    harness_section("prompts");
    mcp_server_t *server = harness_server(NULL);
    CHECK_RC(mcp_server_add_prompt(server,
                                   "{\"name\":\"two\",\"description\":\"d\",\"arguments\":["
                                   "{\"name\":\"arg1\",\"required\":true},{\"name\":\"arg2\",\"required\":true},"
                                   "{\"name\":\"opt\"}]}",
                                   prompt_echo, NULL, NULL, NULL),
             MCP_OK, NULL);
    harness_t *h = harness_new(server);
    json_decref(harness_initialize(h, NULL));
    prompt_calls = 0;

    /* A required argument missing: -32602, and fn is not called. */
    static const char *const missing[] = {"{}", "{\"arg1\":\"x\"}", "{\"arg2\":\"y\",\"opt\":\"z\"}"};
    for (size_t i = 0; i < 3; i++) {
        json_t *params = json_pack("{s:s}", "name", "two");
        if (i > 0) json_object_set_new(params, "arguments", json_loads(missing[i], 0, NULL));
        json_t *r = harness_request(h, "prompts/get", params);
        CHECK_EQ(harness_error_code(r), MCP_JSONRPC_INVALID_PARAMS);
        json_decref(r);
    }
    /* Arguments must be strings. */
    json_t *r = harness_request(h, "prompts/get", json_pack("{s:s, s:{s:s, s:i}}", "name", "two", "arguments", "arg1", "a", "arg2", 2));
    CHECK_EQ(harness_error_code(r), MCP_JSONRPC_INVALID_PARAMS);
    json_decref(r);
    /* Unknown prompt: -32602. */
    r = harness_request(h, "prompts/get", json_pack("{s:s}", "name", "nope"));
    CHECK_EQ(harness_error_code(r), MCP_JSONRPC_INVALID_PARAMS);
    json_decref(r);
    CHECK_EQ(prompt_calls, 0);

    /* All required arguments: fn gets them as an object of strings. */
    r = harness_request(h, "prompts/get", json_pack("{s:s, s:{s:s, s:s}}", "name", "two", "arguments", "arg1", "hello", "arg2", "world"));
    json_t *result = harness_result(r);
    CHECK_STR(json_string_value(json_object_get(result, "description")), "echo");
    json_t *msg = json_array_get(json_object_get(result, "messages"), 0);
    CHECK_STR(json_string_value(json_object_get(msg, "role")), "user");
    json_t *args = mcp_j_loads(json_string_value(json_object_get(json_object_get(msg, "content"), "text")), NULL);
    json_t *expected = json_pack("{s:s, s:s}", "arg1", "hello", "arg2", "world");
    CHECK(args != NULL && json_equal(args, expected));
    json_decref(args);
    json_decref(expected);
    json_decref(r);
    CHECK_EQ(prompt_calls, 1);

    r = harness_request(h, "prompts/list", NULL);
    json_t *p = json_array_get(json_object_get(harness_result(r), "prompts"), 0);
    CHECK_STR(json_string_value(json_object_get(p, "name")), "two");
    CHECK_EQ(json_array_size(json_object_get(p, "arguments")), 3);
    json_decref(r);
    harness_free(h);
    mcp_server_free(server);
}

/* ------------------------------------------------------------ closing with calls in flight */

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

static void test_free_with_calls_in_flight(void) {
    harness_section("mcp_session_free with calls in flight");
    struct parked p[2];
    memset(p, 0, sizeof p);
    mcp_server_t *server = harness_server(NULL);
    CHECK_RC(mcp_server_add_tool(server, "{\"name\":\"park0\"}", tool_park, &p[0], NULL, NULL), MCP_OK, NULL);
    CHECK_RC(mcp_server_add_tool(server, "{\"name\":\"park1\"}", tool_park, &p[1], NULL, NULL), MCP_OK, NULL);
    harness_t *h = harness_new(server);
    json_decref(harness_initialize(h, NULL));
    json_t *params = json_pack("{s:s, s:{s:s}}", "name", "park0", "_meta", "progressToken", "t");
    harness_send_request(h, "tools/call", params);
    harness_send_request(h, "tools/call", json_pack("{s:s}", "name", "park1"));
    CHECK(harness_wait_flag(&p[0].arrived, HARNESS_TIMEOUT));
    CHECK(harness_wait_flag(&p[1].arrived, HARNESS_TIMEOUT));
    harness_quiet(h, harness_ms(20));
    int sent = harness_sent_count(h);

    harness_close_session(h); /* must not crash or wait for the calls */
    /* ^In-flight calls are marked cancelled and their answers dropped. */
    CHECK_EQ(mcp_call_is_cancelled(p[0].call), 1);
    CHECK_EQ(mcp_call_is_cancelled(p[1].call), 1);
    mcp_status rc = mcp_call_progress(p[0].call, 1, 2, NULL, NULL);
    CHECK(rc == MCP_OK || rc == MCP_ERR_STATE);
    rc = mcp_call_log(p[0].call, "error", NULL, "\"after close\"", NULL);
    CHECK(rc == MCP_OK || rc == MCP_ERR_STATE);
    rc = mcp_call_return(p[0].call, OK_RESULT, NULL);
    CHECK(rc == MCP_OK || rc == MCP_ERR_STATE);
    rc = mcp_call_error(p[1].call, -32000, "late", NULL, NULL);
    CHECK(rc == MCP_OK || rc == MCP_ERR_STATE);
    /* ^nothing more is sent. */
    harness_sleep_ms(harness_ms(30));
    CHECK_EQ(harness_sent_count(h), sent);
    /* The send callback's free_fn runs once no send can happen. */
    double end = harness_now_ms() + HARNESS_TIMEOUT;
    while (!harness_send_released(h) && harness_now_ms() < end) harness_sleep_ms(2);
    CHECK(harness_send_released(h));
    harness_free(h);

    /* Freeing the session before answering a call that has not been parked yet
    ** (the callback still queued or running) must not crash either. */
    memset(p, 0, sizeof p);
    h = harness_new(server);
    json_decref(harness_initialize(h, NULL));
    harness_send_request(h, "tools/call", json_pack("{s:s}", "name", "park0"));
    harness_free(h);
    if (harness_wait_flag(&p[0].arrived, harness_ms(1000))) {
        rc = mcp_call_return(p[0].call, OK_RESULT, NULL);
        CHECK(rc == MCP_OK || rc == MCP_ERR_STATE);
    }
    mcp_server_free(server);
}

int main(void) {
    test_initialize();
    test_capabilities_follow_registration();
    test_lifecycle();
    test_jsonrpc_errors();
    test_receive_arguments();
    test_concurrent_receive();
    test_tools();
    test_inline_tools();
    test_tool_revisions();
    test_resources();
    test_prompts();
    test_free_with_calls_in_flight();
    return harness_finish();
}
