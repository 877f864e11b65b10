/*
** client_driver: sequential tools/call round trips through libmcp's client ABI.
**
**   client_driver CALLS TOOL ARGS_JSON -- COMMAND [ARGS...]     (stdio)
**   client_driver CALLS TOOL ARGS_JSON --http URL                (Streamable HTTP)
**
** Connects (initialize), runs CALLS blocking mcp_client_call_tool calls one
** after the other, and prints {"calls":N,"seconds":S,"calls_per_s":R} on stdout.
*/
#define _POSIX_C_SOURCE 200809L
#include <mcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    int http = argc == 6 && strcmp(argv[4], "--http") == 0;
    if (argc < 6 || (!http && strcmp(argv[4], "--") != 0)) {
        fprintf(stderr, "usage: client_driver CALLS TOOL ARGS_JSON (-- COMMAND [ARGS...] | --http URL)\n");
        return 2;
    }
    long calls = atol(argv[1]);
    const char *tool = argv[2], *args = argv[3];
    mcp_client_t *c = NULL;
    char *err = NULL, *out = NULL;
    if (mcp_client_new("client-driver", "1.0", NULL, &c, &err) != MCP_OK ||
        (http ? mcp_client_connect_http(c, argv[5], NULL, NULL, &err)
              : mcp_client_connect_stdio(c, (const char *const *)&argv[5], NULL, NULL, NULL, &err)) != MCP_OK) {
        fprintf(stderr, "client_driver: %s\n", err ? err : "cannot start");
        return 1;
    }
    double t0 = now();
    for (long i = 0; i < calls; i++) {
        mcp_status rc = mcp_client_call_tool(c, tool, args, 30000, &out, &err);
        if (rc != MCP_OK) {
            fprintf(stderr, "client_driver: call %ld: %s: %s\n", i, mcp_status_string(rc), err ? err : "");
            return 1;
        }
        mcp_string_free(out);
    }
    double t = now() - t0;
    printf("{\"calls\":%ld,\"seconds\":%.4f,\"calls_per_s\":%.1f}\n", calls, t, calls / t);
    mcp_client_free(c);
    return 0;
}
