/*
** test_library.c: the library-wide functions of mcp.h (CAPI: version numbers,
** status codes, mcp_string_free, mcp_set_thread_hooks).
*/
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "harness.h"

static void test_versions(void) {
    harness_section("abi and version");
    uint32_t abi = mcp_abi_version();
    /* ^A host checks (mcp_abi_version() >> 16) == MCP_ABI_VERSION_MAJOR. */
    CHECK_EQ(abi >> 16, MCP_ABI_VERSION_MAJOR);
    /* Built from the same tree: the minor number matches too. */
    CHECK_EQ(abi & 0xffffu, MCP_ABI_VERSION_MINOR);
    CHECK_EQ(mcp_abi_version(), abi);

    const char *v = mcp_version();
    CHECK(v != NULL);
    CHECK_STR(v, MCP_VERSION_STRING);
    CHECK(mcp_version() == v); /* static: the same string every time */
    CHECK_STR(MCP_PROTOCOL_VERSION_LATEST, "2025-11-25");
}

static void test_status_strings(void) {
    harness_section("mcp_status_string");
    static const mcp_status codes[] = {
        MCP_OK,           MCP_ERR_INVALID_ARG, MCP_ERR_INVALID_JSON, MCP_ERR_EXISTS,  MCP_ERR_NOT_FOUND,
        MCP_ERR_STATE,    MCP_ERR_IO,          MCP_ERR_NO_MEMORY,    MCP_ERR_LIMIT,   MCP_ERR_UNSUPPORTED,
        MCP_ERR_TIMEOUT,  MCP_ERR_CANCELLED,   MCP_ERR_INTERNAL,
        /* Codes appended later are listed here as the header gains them. */
#ifdef MCP_ERR_PEER
        MCP_ERR_PEER,
#endif
#ifdef MCP_ERR_CLOSED
        MCP_ERR_CLOSED,
#endif
#ifdef MCP_ERR_INPUT_REQUIRED
        MCP_ERR_INPUT_REQUIRED,
#endif
    };
    const size_t n = sizeof codes / sizeof codes[0];
    /* Append-only numbering: the values are part of the ABI. */
    CHECK_EQ(MCP_OK, 0);
    CHECK_EQ(MCP_ERR_INVALID_ARG, 1);
    CHECK_EQ(MCP_ERR_INTERNAL, 12);
    for (size_t i = 0; i < n; i++) {
        CHECK_EQ(codes[i], (mcp_status)i);
        const char *s = mcp_status_string(codes[i]);
        CHECK(s != NULL && s[0] != '\0');
        if (s == NULL) continue;
        CHECK(strcmp(s, "unknown status") != 0);
        CHECK(mcp_status_string(codes[i]) == s); /* static */
        for (size_t j = 0; j < i; j++) {
            const char *t = mcp_status_string(codes[j]);
            if (t && strcmp(s, t) == 0) harness_fail(__FILE__, __LINE__, "codes %zu and %zu share \"%s\"", i, j, s);
        }
    }
    /* The first number after the last code in the header is unknown, and so on. */
    const mcp_status unknown[] = {(mcp_status)n, (mcp_status)n + 1, 99, -1, 1000000, INT32_MIN, INT32_MAX};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        CHECK_STR(mcp_status_string(unknown[i]), "unknown status");
    }
}

static void test_string_free(void) {
    harness_section("mcp_string_free");
    mcp_string_free(NULL); /* ^NULL is a no-op */

    /* A string the library allocated (an out_error) is released with it. */
    mcp_server_t *server = (mcp_server_t *)&server;
    char *error = NULL;
    mcp_status rc = mcp_server_new(NULL, "1", NULL, &server, &error);
    CHECK_RC(rc, MCP_ERR_INVALID_ARG, error);
    CHECK(server == NULL);
    CHECK(error != NULL && error[0] != '\0');
    mcp_string_free(error);
}

/* ------------------------------------------------------------ thread hooks */

static __thread int hooked; /* on_start ran on this thread */
static int starts, exits, unpaired, unhooked_calls;
static const char HOOK_DATA[] = "hooks";

static void on_start(void *ud) {
    if (ud != HOOK_DATA || hooked) __atomic_add_fetch(&unpaired, 1, __ATOMIC_SEQ_CST);
    hooked = 1;
    __atomic_add_fetch(&starts, 1, __ATOMIC_SEQ_CST);
}

static void on_exit_hook(void *ud) {
    if (ud != HOOK_DATA || !hooked) __atomic_add_fetch(&unpaired, 1, __ATOMIC_SEQ_CST);
    hooked = 0;
    __atomic_add_fetch(&exits, 1, __ATOMIC_SEQ_CST);
}

/* Runs on a worker: on_start must have run on this thread first. */
static void tool_hooked(void *ud, mcp_call_t *call, const char *args) {
    (void)ud, (void)args;
    if (!hooked) __atomic_add_fetch(&unhooked_calls, 1, __ATOMIC_SEQ_CST);
    mcp_call_return(call, "{\"content\":[]}", NULL);
}

static int load(int *v) { return __atomic_load_n(v, __ATOMIC_SEQ_CST); }

/* ^on_start runs on each engine thread before any host callback there, and
** on_exit on the same thread before it ends; worker and I/O threads alike. */
static void test_thread_hooks(void) {
    harness_section("mcp_set_thread_hooks");
    CHECK_RC(mcp_set_thread_hooks(on_start, on_exit_hook, (void *)HOOK_DATA, NULL), MCP_OK, NULL);
    mcp_server_t *server = harness_server("{\"worker_threads\":4}");
    CHECK_RC(mcp_server_add_tool(server, "{\"name\":\"hooked\"}", tool_hooked, NULL, NULL, NULL), MCP_OK, NULL);
    uint16_t port = 0;
    CHECK_RC(mcp_server_start_http(server, "{\"port\":0,\"io_threads\":2}", &port, NULL), MCP_OK, NULL);
    CHECK(load(&starts) >= 2); /* the two I/O threads, before any request */
    harness_t *h = harness_new(server);
    json_decref(harness_initialize(h, NULL));
    for (int i = 0; i < 20; i++) {
        json_t *r = harness_request(h, "tools/call", json_pack("{s:s}", "name", "hooked"));
        CHECK(harness_result(r) != NULL);
        json_decref(r);
    }
    harness_free(h);
    CHECK_RC(mcp_server_stop_http(server, 1000, NULL), MCP_OK, NULL);
    mcp_server_free(server);
    /* Hooks removed: threads started from now on are not reported, those
    ** already running still end with their own on_exit. */
    CHECK_RC(mcp_set_thread_hooks(NULL, NULL, NULL, NULL), MCP_OK, NULL);
    struct timespec pause = {0, 10 * 1000 * 1000};
    for (int i = 0; i < harness_ms(500) && load(&exits) < load(&starts); i++) nanosleep(&pause, NULL);
    CHECK(load(&starts) >= 3); /* I/O threads and at least one worker */
    CHECK_EQ(load(&exits), load(&starts));
    CHECK_EQ(load(&unpaired), 0);
    CHECK_EQ(load(&unhooked_calls), 0);
    printf("   %d engine threads started and ended with the hooks\n", load(&starts));
}

int main(void) {
    test_versions();
    test_status_strings();
    test_string_free();
    test_thread_hooks();
    return harness_finish();
}
