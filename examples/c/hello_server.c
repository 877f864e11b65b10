/*
** hello_server.c: the smallest useful MCP server written with libmcp.
**
** It offers one tool, "add", that adds two numbers, and serves one client over
** stdin/stdout (newline-delimited JSON-RPC), which is how MCP clients such as
** Claude Desktop or the MCP Inspector start local servers.
**
** Build (from a CMake build of libmcp this is target example_hello_server):
**   cc -std=c11 hello_server.c -I include -L build/lib -lmcp -ljansson \
**      -Wl,-rpath,build/lib -o hello_server
** Try it:
**   printf '%s\n' \
**     '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"sh","version":"0"}}}' \
**     '{"jsonrpc":"2.0","method":"notifications/initialized"}' \
**     '{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"add","arguments":{"a":2,"b":40}}}' \
**     | ./hello_server
** The last line of output is the answer: {"jsonrpc":"2.0","id":2,"result":{"content":[{"type":"text","text":"42"}]}}
**
** Everything the engine needs crosses the ABI as JSON text; mcp_jansson.h
** turns that into jansson values. Errors go to stderr: stdout is the protocol.
*/
#include <stdio.h>

#include <jansson.h>

#include "mcp.h"
#include "mcp_jansson.h"

/* tools/call "add": runs on an engine worker thread; answers the call once. */
static void add(void *user_data, mcp_call_t *call, const char *arguments_json) {
    (void)user_data;
    json_t *args = mcp_j_loads(arguments_json, NULL);
    json_t *a = json_object_get(args, "a"), *b = json_object_get(args, "b");
    json_t *result;
    if (!json_is_number(a) || !json_is_number(b)) {
        /* A tool that fails answers isError so the model sees why. */
        result = mcp_j_tool_result_text("\"a\" and \"b\" must be numbers", 1);
    } else {
        char text[64];
        snprintf(text, sizeof text, "%.17g", json_number_value(a) + json_number_value(b));
        result = mcp_j_tool_result_text(text, 0);
    }
    json_decref(args);
    char *error = NULL;
    if (mcp_j_call_return_new(call, result, &error) != MCP_OK) {
        fprintf(stderr, "hello_server: answer failed: %s\n", error ? error : "out of memory");
        mcp_string_free(error);
    }
}

int main(void) {
    if ((mcp_abi_version() >> 16) != MCP_ABI_VERSION_MAJOR) {
        fprintf(stderr, "hello_server: libmcp %s has an incompatible ABI\n", mcp_version());
        return 1;
    }
    mcp_server_t *server = NULL;
    char *error = NULL;
    mcp_status rc = mcp_server_new("hello-server", "1.0.0", NULL, &server, &error);
    if (rc != MCP_OK) goto fail;

    rc = mcp_server_add_tool(server,
        "{\"name\":\"add\",\"title\":\"Add\",\"description\":\"Adds two numbers.\","
        "\"inputSchema\":{\"type\":\"object\",\"properties\":{"
        "\"a\":{\"type\":\"number\"},\"b\":{\"type\":\"number\"}},\"required\":[\"a\",\"b\"]}}",
        add, NULL, NULL, &error);
    if (rc != MCP_OK) goto fail;

    rc = mcp_server_serve_stdio(server, NULL, &error); /* until stdin ends */
    if (rc != MCP_OK) goto fail;
    mcp_server_free(server);
    return 0;

fail:
    fprintf(stderr, "hello_server: %s: %s\n", mcp_status_string(rc), error ? error : "");
    mcp_string_free(error);
    mcp_server_free(server);
    return 1;
}
