/*
** test_library.c: the library-wide functions of mcp.h (CAPI: version numbers,
** status codes, mcp_string_free).
*/
#include <stdio.h>
#include <string.h>

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

int main(void) {
    test_versions();
    test_status_strings();
    test_string_free();
    return harness_finish();
}
