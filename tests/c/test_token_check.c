/*
** test_token_check.c: OAuth access tokens through the ABI (Since 1.4):
** mcp_server_set_token_verifier, mcp_token_check_accept / _refuse, and
** mcp_call_principal_json in a handler, over HTTP with "auth" (raw sockets),
** and without authorization (an in-memory session: no principal); the
** "requiredScopes" of a prompt and a template also guard completion/complete.
*/
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

/* whoami: answers the principal's JSON text, or "none". */
static void tool_whoami(void *ud, mcp_call_t *call, const char *args) {
    (void)ud, (void)args;
    char *principal = NULL, *error = NULL;
    mcp_status rc = mcp_call_principal_json(call, &principal, &error);
    CHECK_RC(rc, MCP_OK, error);
    json_t *result = mcp_j_tool_result_text(principal ? principal : "none", 0);
    mcp_string_free(principal);
    CHECK_RC(mcp_j_call_return_new(call, result, NULL), MCP_OK, NULL);
}

static int verifier_calls;
static int verifier_freed;

/* Answers on a thread of its own, later, as an introspecting verifier would. */
struct pending_check {
    mcp_token_check_t *check;
    char *token;
};

static void *answer_later(void *arg) {
    struct pending_check *p = arg;
    harness_sleep_ms(20);
    if (!strcmp(p->token, "good")) {
        /* A principal of the wrong shape is refused and the check stays open. */
        CHECK_RC(mcp_token_check_accept(p->check, "{\"subject\":42}", NULL), MCP_ERR_INVALID_ARG, NULL);
        CHECK_RC(mcp_token_check_accept(p->check, "{\"subject\":\"carol\",\"client_id\":\"c7\",\"scopes\":\"read write\","
                                                  "\"claims\":{\"tenant\":\"acme\"}}", NULL), MCP_OK, NULL);
        /* Answered once: a second answer is a state error, not a crash. */
        CHECK_RC(mcp_token_check_refuse(p->check, "late", NULL), MCP_ERR_STATE, NULL);
    } else {
        CHECK_RC(mcp_token_check_refuse(p->check, "unknown token", NULL), MCP_OK, NULL);
    }
    free(p->token);
    free(p);
    return NULL;
}

static void verify(void *ud, const char *token, mcp_token_check_t *check) {
    CHECK(ud == (void *)&verifier_calls);
    __atomic_add_fetch(&verifier_calls, 1, __ATOMIC_SEQ_CST);
    struct pending_check *p = malloc(sizeof *p);
    p->check = check;
    p->token = strdup(token); /* token is borrowed: copied to answer later */
    pthread_t t;
    CHECK_EQ(pthread_create(&t, NULL, answer_later, p), 0);
    pthread_detach(t);
}

static void free_verifier(void *ud) {
    CHECK(ud == (void *)&verifier_calls);
    __atomic_add_fetch(&verifier_freed, 1, __ATOMIC_SEQ_CST);
}

/* One 2026-07-28 HTTP/1.1 request on a fresh connection; returns the whole response (caller frees). */
static char *http_post_method(uint16_t port, const char *token, const char *method, const char *name,
                              const char *body) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
        close(fd);
        return NULL;
    }
    char head[1024];
    int n = snprintf(head, sizeof head,
                     "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nContent-Type: application/json\r\n"
                     "Accept: application/json, text/event-stream\r\nMCP-Protocol-Version: 2026-07-28\r\n"
                     "Mcp-Method: %s\r\n%s%s%s%s%s%sContent-Length: %zu\r\n"
                     "Connection: close\r\n\r\n",
                     (unsigned)port, method, name ? "Mcp-Name: " : "", name ? name : "", name ? "\r\n" : "",
                     token ? "Authorization: Bearer " : "", token ? token : "", token ? "\r\n" : "", strlen(body));
    if (write(fd, head, (size_t)n) != n || write(fd, body, strlen(body)) != (ssize_t)strlen(body)) {
        close(fd);
        return NULL;
    }
    size_t cap = 65536, len = 0;
    char *out = malloc(cap);
    ssize_t got;
    while (len + 1 < cap && (got = read(fd, out + len, cap - len - 1)) > 0) len += (size_t)got;
    out[len] = '\0';
    close(fd);
    return out;
}

static char *http_post(uint16_t port, const char *token, const char *body) {
    return http_post_method(port, token, "tools/call", "whoami", body);
}

static const char CALL[] =
    "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"whoami\",\"arguments\":{},"
    "\"_meta\":{\"io.modelcontextprotocol/protocolVersion\":\"2026-07-28\","
    "\"io.modelcontextprotocol/clientCapabilities\":{},"
    "\"io.modelcontextprotocol/clientInfo\":{\"name\":\"c\",\"version\":\"1\"}}}}";

static void test_verifier_and_principal_over_http(void) {
    harness_section("mcp_server_set_token_verifier + mcp_call_principal_json over HTTP");
    mcp_server_t *server = harness_server(NULL);
    CHECK_RC(mcp_server_add_tool(server, "{\"name\":\"whoami\"}", tool_whoami, NULL, NULL, NULL), MCP_OK, NULL);
    uint16_t port = 0;
    char *error = NULL;
    const char *config = "{\"port\":0,\"json_response\":true,\"auth\":{\"resource\":\"http://127.0.0.1/mcp\","
                         "\"authorization_servers\":[\"https://as.example\"]}}";
    /* No JWKS and no verifier: nothing could check a token. */
    CHECK_RC(mcp_server_start_http(server, config, &port, &error), MCP_ERR_INVALID_ARG, error);
    CHECK(error != NULL && strstr(error, "no way to check tokens") != NULL);
    mcp_string_free(error);
    error = NULL;
    CHECK_RC(mcp_server_set_token_verifier(NULL, verify, NULL, NULL, NULL), MCP_ERR_INVALID_ARG, NULL);
    CHECK_RC(mcp_server_set_token_verifier(server, verify, &verifier_calls, free_verifier, NULL), MCP_OK, NULL);
    CHECK_RC(mcp_server_start_http(server, config, &port, NULL), MCP_OK, NULL);

    char *resp = http_post(port, "good", CALL);
    CHECK(resp != NULL && strncmp(resp, "HTTP/1.1 200", 12) == 0);
    CHECK(resp != NULL && strstr(resp, "\\\"subject\\\":\\\"carol\\\"") != NULL);
    CHECK(resp != NULL && strstr(resp, "\\\"scopes\\\":[\\\"read\\\",\\\"write\\\"]") != NULL);
    CHECK(resp != NULL && strstr(resp, "\\\"tenant\\\":\\\"acme\\\"") != NULL);
    free(resp);

    resp = http_post(port, "bad", CALL);
    CHECK(resp != NULL && strncmp(resp, "HTTP/1.1 401", 12) == 0);
    CHECK(resp != NULL && strstr(resp, "error=\"invalid_token\", error_description=\"unknown token\"") != NULL);
    free(resp);

    resp = http_post(port, NULL, CALL);
    CHECK(resp != NULL && strncmp(resp, "HTTP/1.1 401", 12) == 0);
    CHECK(resp != NULL && strstr(resp, "WWW-Authenticate: Bearer resource_metadata=") != NULL);
    free(resp);
    CHECK_EQ(__atomic_load_n(&verifier_calls, __ATOMIC_SEQ_CST), 2); /* not called without a token */

    CHECK_RC(mcp_server_stop_http(server, 1000, NULL), MCP_OK, NULL);
    /* Replacing the verifier releases the old one's user_data. */
    CHECK_RC(mcp_server_set_token_verifier(server, NULL, NULL, NULL, NULL), MCP_OK, NULL);
    CHECK_EQ(__atomic_load_n(&verifier_freed, __ATOMIC_SEQ_CST), 1);
    mcp_server_free(server);
}

static void test_no_principal_without_auth(void) {
    harness_section("mcp_call_principal_json without authorization");
    mcp_server_t *server = harness_server(NULL);
    CHECK_RC(mcp_server_add_tool(server, "{\"name\":\"whoami\"}", tool_whoami, NULL, NULL, NULL), MCP_OK, NULL);
    harness_t *h = harness_new(server);
    json_decref(harness_initialize(h, NULL));
    json_t *r = harness_request(h, "tools/call", json_pack("{s:s}", "name", "whoami"));
    json_t *text = json_object_get(json_array_get(json_object_get(harness_result(r), "content"), 0), "text");
    CHECK_STR(json_string_value(text), "none");
    json_decref(r);
    harness_free(h);
    mcp_server_free(server);

    CHECK_RC(mcp_call_principal_json(NULL, NULL, NULL), MCP_ERR_INVALID_ARG, NULL);
    CHECK_RC(mcp_token_check_accept(NULL, "{}", NULL), MCP_ERR_INVALID_ARG, NULL);
    CHECK_RC(mcp_token_check_refuse(NULL, NULL, NULL), MCP_ERR_INVALID_ARG, NULL);
}

/* Scopes from the token itself ("reader", or "reader+p:read+db:read"), answered at once. */
static void verify_scopes(void *ud, const char *token, mcp_token_check_t *check) {
    (void)ud;
    const char *plus = strchr(token, '+');
    char principal[256];
    snprintf(principal, sizeof principal, "{\"subject\":\"u\",\"scopes\":\"%s\"}", plus ? plus + 1 : "");
    for (char *c = principal; *c; c++)
        if (*c == '+') *c = ' ';
    CHECK_RC(mcp_token_check_accept(check, principal, NULL), MCP_OK, NULL);
}

static void complete_any(void *ud, mcp_call_t *call, const char *ref, const char *name, const char *value,
                         const char *context) {
    (void)ud, (void)ref, (void)name, (void)value, (void)context;
    CHECK_RC(mcp_call_return(call, "{\"completion\":{\"values\":[\"orders\"]}}", NULL), MCP_OK, NULL);
}

static void prompt_unused(void *ud, mcp_call_t *call, const char *args) {
    (void)ud, (void)args;
    CHECK_RC(mcp_call_error(call, -32603, "not called here", NULL, NULL), MCP_OK, NULL);
}

static void template_unused(void *ud, mcp_call_t *call, const char *uri, const char *vars) {
    (void)ud, (void)uri, (void)vars;
    CHECK_RC(mcp_call_error(call, -32603, "not called here", NULL, NULL), MCP_OK, NULL);
}

static char *complete(uint16_t port, const char *token, const char *ref) {
    char body[1024];
    snprintf(body, sizeof body,
             "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"completion/complete\",\"params\":{\"ref\":%s,"
             "\"argument\":{\"name\":\"%s\",\"value\":\"o\"},"
             "\"_meta\":{\"io.modelcontextprotocol/protocolVersion\":\"2026-07-28\","
             "\"io.modelcontextprotocol/clientCapabilities\":{},"
             "\"io.modelcontextprotocol/clientInfo\":{\"name\":\"c\",\"version\":\"1\"}}}}",
             ref, strstr(ref, "ref/prompt") ? "a" : "table");
    return http_post_method(port, token, "completion/complete", NULL, body);
}

static void test_completion_needs_the_scopes_of_what_it_completes(void) {
    harness_section("completion/complete: the requiredScopes of the prompt or template (403 without)");
    mcp_server_t *server = harness_server(NULL);
    CHECK_RC(mcp_server_add_prompt(server, "{\"name\":\"secret\",\"arguments\":[{\"name\":\"a\"}],"
                                           "\"requiredScopes\":[\"p:read\"]}", prompt_unused, NULL, NULL, NULL),
             MCP_OK, NULL);
    CHECK_RC(mcp_server_add_prompt(server, "{\"name\":\"open\",\"arguments\":[{\"name\":\"a\"}]}", prompt_unused,
                                   NULL, NULL, NULL), MCP_OK, NULL);
    CHECK_RC(mcp_server_add_resource_template(server, "{\"uriTemplate\":\"db://{table}\",\"name\":\"t\","
                                                      "\"requiredScopes\":[\"db:read\"]}", template_unused, NULL,
                                              NULL, NULL), MCP_OK, NULL);
    CHECK_RC(mcp_server_set_completion(server, complete_any, NULL, NULL, NULL), MCP_OK, NULL);
    CHECK_RC(mcp_server_set_token_verifier(server, verify_scopes, NULL, NULL, NULL), MCP_OK, NULL);
    uint16_t port = 0;
    CHECK_RC(mcp_server_start_http(server, "{\"port\":0,\"json_response\":true,\"auth\":{\"resource\":"
                                           "\"http://127.0.0.1/mcp\",\"authorization_servers\":[\"https://as.example\"]}}",
                                   &port, NULL), MCP_OK, NULL);
    static const char PROMPT[] = "{\"type\":\"ref/prompt\",\"name\":\"secret\"}";
    static const char OPEN[] = "{\"type\":\"ref/prompt\",\"name\":\"open\"}";
    static const char TEMPLATE[] = "{\"type\":\"ref/resource\",\"uri\":\"db://{table}\"}";
    char *resp = complete(port, "reader", PROMPT);
    CHECK(resp != NULL && strncmp(resp, "HTTP/1.1 403", 12) == 0);
    CHECK(resp != NULL && strstr(resp, "error=\"insufficient_scope\", scope=\"p:read\"") != NULL);
    free(resp);
    resp = complete(port, "reader", TEMPLATE);
    CHECK(resp != NULL && strncmp(resp, "HTTP/1.1 403", 12) == 0);
    CHECK(resp != NULL && strstr(resp, "scope=\"db:read\"") != NULL);
    free(resp);
    resp = complete(port, "reader", OPEN); /* a prompt that needs no scope */
    CHECK(resp != NULL && strncmp(resp, "HTTP/1.1 200", 12) == 0 && strstr(resp, "orders") != NULL);
    free(resp);
    resp = complete(port, "reader+p:read+db:read", PROMPT);
    CHECK(resp != NULL && strncmp(resp, "HTTP/1.1 200", 12) == 0 && strstr(resp, "orders") != NULL);
    free(resp);
    resp = complete(port, "reader+p:read+db:read", TEMPLATE);
    CHECK(resp != NULL && strncmp(resp, "HTTP/1.1 200", 12) == 0 && strstr(resp, "orders") != NULL);
    free(resp);
    CHECK_RC(mcp_server_stop_http(server, 1000, NULL), MCP_OK, NULL);
    mcp_server_free(server);
}

int main(void) {
    test_verifier_and_principal_over_http();
    test_no_principal_without_auth();
    test_completion_needs_the_scopes_of_what_it_completes();
    return harness_finish();
}
