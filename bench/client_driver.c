/*
** client_driver: sequential tools/call round trips through libmcp's client ABI.
**
**   client_driver CALLS TOOL ARGS_JSON -- COMMAND [ARGS...]     (stdio)
**   client_driver CALLS TOOL ARGS_JSON --http URL                (Streamable HTTP)
**
** Connects (initialize, or server/discover at 2026-07-28), runs CALLS blocking
** mcp_client_call_tool calls one after the other, and prints
** {"calls":N,"seconds":S,"calls_per_s":R,"cpu_us_per_call":C,"switches_per_call":W}
** on stdout: C is this process's CPU time (user and system) per call and W its
** context switches per call, both over the calls only, figures that a loaded
** machine disturbs less than the rate.
**
** Environment: CLIENT_ERA (the client's "era" option: auto, legacy, 2026-07-28;
** default: the library's), CLIENT_THREADS (N threads share the CALLS, each
** calling one after the other: N calls in flight at once; default 1).
*/
#define _POSIX_C_SOURCE 200809L
#include <mcp.h>
#include <pthread.h>
#include <sys/resource.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double cpu_seconds(long *switches) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    *switches = ru.ru_nvcsw + ru.ru_nivcsw;
    return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

struct worker {
    mcp_client_t *client;
    const char *tool, *args;
    long calls;
    int failed;
};

static void *run(void *arg) {
    struct worker *w = arg;
    for (long i = 0; i < w->calls; i++) {
        char *out = NULL, *err = NULL;
        mcp_status rc = mcp_client_call_tool(w->client, w->tool, w->args, 30000, &out, &err);
        if (rc != MCP_OK) {
            fprintf(stderr, "client_driver: call %ld: %s: %s\n", i, mcp_status_string(rc), err ? err : "");
            mcp_string_free(err);
            w->failed = 1;
            return NULL;
        }
        mcp_string_free(out);
    }
    return NULL;
}

int main(int argc, char **argv) {
    int http = argc == 6 && strcmp(argv[4], "--http") == 0;
    if (argc < 6 || (!http && strcmp(argv[4], "--") != 0)) {
        fprintf(stderr, "usage: client_driver CALLS TOOL ARGS_JSON (-- COMMAND [ARGS...] | --http URL)\n");
        return 2;
    }
    long calls = atol(argv[1]);
    const char *tool = argv[2], *args = argv[3];
    const char *era = getenv("CLIENT_ERA");
    int threads = getenv("CLIENT_THREADS") ? atoi(getenv("CLIENT_THREADS")) : 1;
    if (threads < 1 || threads > 256) threads = 1;
    char options[128] = "";
    if (era) snprintf(options, sizeof options, "{\"era\":\"%s\",\"worker_threads\":%d}", era, threads + 4);
    mcp_client_t *c = NULL;
    char *err = NULL;
    if (mcp_client_new("client-driver", "1.0", era ? options : NULL, &c, &err) != MCP_OK ||
        (http ? mcp_client_connect_http(c, argv[5], NULL, NULL, &err)
              : mcp_client_connect_stdio(c, (const char *const *)&argv[5], NULL, NULL, NULL, &err)) != MCP_OK) {
        fprintf(stderr, "client_driver: %s\n", err ? err : "cannot start");
        return 1;
    }
    struct worker w[256];
    pthread_t t[256];
    long sw0, sw1;
    double cpu0 = cpu_seconds(&sw0);
    double t0 = now();
    for (int i = 0; i < threads; i++) {
        w[i] = (struct worker){c, tool, args, calls / threads, 0};
        pthread_create(&t[i], NULL, run, &w[i]);
    }
    int failed = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(t[i], NULL);
        failed |= w[i].failed;
    }
    double elapsed = now() - t0;
    double cpu = cpu_seconds(&sw1) - cpu0;
    if (failed) return 1;
    long done = calls / threads * threads;
    printf("{\"calls\":%ld,\"seconds\":%.4f,\"calls_per_s\":%.1f,\"cpu_us_per_call\":%.1f,\"switches_per_call\":%.2f}\n",
           done, elapsed, done / elapsed, cpu * 1e6 / done, (double)(sw1 - sw0) / done);
    mcp_client_free(c);
    return 0;
}
