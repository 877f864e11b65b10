/* Schema validation cost, through the engine (bench/schema_bench.py builds and
** runs this). Two tools with the same typical inputSchema (five typed
** properties, required ones, an enum, a nested object), one checked by the
** engine (the default) and one registered with MCP_TOOL_NO_VALIDATION; both
** inline, answering at once. Rounds of tools/call alternate between them over
** one session fed with mcp_session_receive on this thread, so the difference
** of the per-call times is what checking the arguments costs.
** Prints one JSON object: per-round ns per call of each, and the medians. */
#define _POSIX_C_SOURCE 200809L
#include <mcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char SCHEMA[] =
    "{\"type\":\"object\",\"properties\":{"
    "\"query\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":200},"
    "\"limit\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":100},"
    "\"order\":{\"type\":\"string\",\"enum\":[\"asc\",\"desc\",\"relevance\"]},"
    "\"exact\":{\"type\":\"boolean\"},"
    "\"filter\":{\"type\":\"object\",\"properties\":{\"lang\":{\"type\":\"string\"},"
    "\"since\":{\"type\":\"integer\",\"minimum\":0}},\"required\":[\"lang\"],\"additionalProperties\":false}},"
    "\"required\":[\"query\",\"limit\"],\"additionalProperties\":false}";

static long answers;

static void on_send(void *ud, const char *message, size_t length) {
    (void)ud;
    if (length > 40 && strstr(message, "\"isError\":true")) {
        fprintf(stderr, "unexpected tool error: %.*s\n", (int)length, message);
        exit(1);
    }
    answers++;
}

static void tool(void *ud, mcp_call_t *call, const char *args) {
    (void)ud, (void)args;
    char *err = NULL;
    if (mcp_call_return(call, "{\"content\":[{\"type\":\"text\",\"text\":\"ok\"}]}", &err) != MCP_OK) {
        fprintf(stderr, "return: %s\n", err ? err : "?");
        exit(1);
    }
}

static double now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static void must(mcp_status rc, char *err, const char *what) {
    if (rc != MCP_OK) {
        fprintf(stderr, "%s: %s\n", what, err ? err : mcp_status_string(rc));
        exit(1);
    }
}

static double round_ns(mcp_session_t *s, const char *tool_name, long calls) {
    char msg[512];
    long before = answers;
    double t0 = now_ns();
    for (long i = 0; i < calls; i++) {
        int n = snprintf(msg, sizeof msg,
                         "{\"jsonrpc\":\"2.0\",\"id\":%ld,\"method\":\"tools/call\",\"params\":{\"name\":\"%s\","
                         "\"arguments\":{\"query\":\"mcp schema\",\"limit\":10,\"order\":\"desc\",\"exact\":false,"
                         "\"filter\":{\"lang\":\"en\",\"since\":2024}}}}",
                         i + 10, tool_name);
        char *err = NULL;
        must(mcp_session_receive(s, msg, (size_t)n, &err), err, "receive");
    }
    double t1 = now_ns();
    if (answers - before != calls) {
        fprintf(stderr, "%ld answers for %ld calls (inline tools answer before receive returns)\n",
                answers - before, calls);
        exit(1);
    }
    return (t1 - t0) / (double)calls;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    long calls = argc > 1 ? atol(argv[1]) : 20000;
    int rounds = argc > 2 ? atoi(argv[2]) : 7;
    if (rounds > 64) rounds = 64;
    mcp_server_t *server = NULL;
    char *err = NULL;
    must(mcp_server_new("schema-bench", "1.0", "{\"metrics\":false}", &server, &err), err, "server");
    char def[2048];
    snprintf(def, sizeof def, "{\"name\":\"checked\",\"inputSchema\":%s}", SCHEMA);
    must(mcp_server_add_tool_ex(server, def, tool, NULL, NULL, MCP_TOOL_INLINE, &err), err, "add checked");
    snprintf(def, sizeof def, "{\"name\":\"unchecked\",\"inputSchema\":%s}", SCHEMA);
    must(mcp_server_add_tool_ex(server, def, tool, NULL, NULL, MCP_TOOL_INLINE | MCP_TOOL_NO_VALIDATION, &err), err,
         "add unchecked");
    mcp_session_t *s = NULL;
    must(mcp_server_session_new(server, on_send, NULL, NULL, &s, &err), err, "session");
    const char *init = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{\"protocolVersion\":"
                       "\"2025-11-25\",\"capabilities\":{},\"clientInfo\":{\"name\":\"b\",\"version\":\"1\"}}}";
    must(mcp_session_receive(s, init, strlen(init), &err), err, "initialize");
    const char *done = "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}";
    must(mcp_session_receive(s, done, strlen(done), &err), err, "initialized");
    round_ns(s, "checked", calls / 4);  /* warm-up */
    round_ns(s, "unchecked", calls / 4);
    double on[64], off[64], diff[64];
    for (int r = 0; r < rounds; r++) {
        on[r] = round_ns(s, "checked", calls);
        off[r] = round_ns(s, "unchecked", calls);
        diff[r] = on[r] - off[r];
    }
    printf("{\"calls_per_round\":%ld,\"rounds\":%d,\"checked_ns\":[", calls, rounds);
    for (int r = 0; r < rounds; r++) printf("%s%.0f", r ? "," : "", on[r]);
    printf("],\"unchecked_ns\":[");
    for (int r = 0; r < rounds; r++) printf("%s%.0f", r ? "," : "", off[r]);
    qsort(on, (size_t)rounds, sizeof on[0], cmp);
    qsort(off, (size_t)rounds, sizeof off[0], cmp);
    qsort(diff, (size_t)rounds, sizeof diff[0], cmp);
    printf("],\"median_checked_ns\":%.0f,\"median_unchecked_ns\":%.0f,\"median_validation_ns\":%.0f}\n",
           on[rounds / 2], off[rounds / 2], diff[rounds / 2]);
    mcp_session_free(s);
    mcp_server_free(server);
    return 0;
}
