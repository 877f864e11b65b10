/*
** test_oauth.c: the OAuth client through the ABI (Since 1.5):
** mcp_client_set_oauth_handler / _store and their free functions,
** mcp_oauth_prompt_answer / _refuse on bad handles, the "oauth" connect
** options refused, and a protected server of ours (token verifier, no JWKS)
** whose authorization server cannot be reached: the connect fails with
** MCP_ERR_IO and a reason that names the step. The whole flow against real
** authorization servers is tested in tests/interop/test_oauth_client*.py.
*/
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static int handler_freed, store_freed, prompts;

static void on_prompt(void *ud, const char *url, const char *redirect_uri, mcp_oauth_prompt_t *prompt) {
    (void)ud, (void)url, (void)redirect_uri;
    __atomic_add_fetch(&prompts, 1, __ATOMIC_SEQ_CST);
    mcp_oauth_prompt_refuse(prompt, "test", NULL);
}

static void on_store(void *ud, const char *issuer, const char *credentials_json) {
    (void)ud, (void)issuer, (void)credentials_json;
}

static void free_handler(void *ud) {
    CHECK(ud == (void *)&handler_freed);
    __atomic_add_fetch(&handler_freed, 1, __ATOMIC_SEQ_CST);
}

static void free_store(void *ud) {
    CHECK(ud == (void *)&store_freed);
    __atomic_add_fetch(&store_freed, 1, __ATOMIC_SEQ_CST);
}

static void refuse_all(void *ud, const char *token, mcp_token_check_t *check) {
    (void)ud, (void)token;
    mcp_token_check_refuse(check, "no", NULL);
}

static void test_setters_and_handles(void) {
    harness_section("mcp_client_set_oauth_handler / _store, mcp_oauth_prompt_answer / _refuse");
    char *error = NULL;
    CHECK_RC(mcp_client_set_oauth_handler(NULL, on_prompt, NULL, NULL, &error), MCP_ERR_INVALID_ARG, error);
    mcp_string_free(error);
    CHECK_RC(mcp_client_set_oauth_store(NULL, on_store, NULL, NULL, NULL), MCP_ERR_INVALID_ARG, NULL);
    CHECK_RC(mcp_oauth_prompt_answer(NULL, "http://127.0.0.1/cb?code=x", NULL), MCP_ERR_INVALID_ARG, NULL);
    CHECK_RC(mcp_oauth_prompt_refuse(NULL, "no", NULL), MCP_ERR_INVALID_ARG, NULL);
    /* A handle that was never given out (or was answered already): a state error, not a crash. */
    mcp_oauth_prompt_t *stale = (mcp_oauth_prompt_t *)(uintptr_t)0x7ff8;
    CHECK_RC(mcp_oauth_prompt_answer(stale, NULL, NULL), MCP_ERR_STATE, NULL);
    CHECK_RC(mcp_oauth_prompt_refuse(stale, NULL, NULL), MCP_ERR_STATE, NULL);
    CHECK_RC(mcp_oauth_prompt_answer(stale, "not a url", NULL), MCP_ERR_INVALID_ARG, NULL);

    mcp_client_t *client = NULL;
    CHECK_RC(mcp_client_new("c", "1", NULL, &client, NULL), MCP_OK, NULL);
    CHECK_RC(mcp_client_set_oauth_handler(client, on_prompt, &handler_freed, free_handler, NULL), MCP_OK, NULL);
    CHECK_RC(mcp_client_set_oauth_store(client, on_store, &store_freed, free_store, NULL), MCP_OK, NULL);
    /* Replacing frees the old user_data once; removing frees the new one. */
    CHECK_RC(mcp_client_set_oauth_handler(client, on_prompt, &handler_freed, free_handler, NULL), MCP_OK, NULL);
    CHECK_EQ(handler_freed, 1);
    CHECK_RC(mcp_client_set_oauth_handler(client, NULL, NULL, NULL, NULL), MCP_OK, NULL);
    CHECK_EQ(handler_freed, 2);
    mcp_client_free(client);
    CHECK_EQ(store_freed, 1);
}

static void test_options_refused(void) {
    harness_section("\"oauth\" options refused with MCP_ERR_INVALID_ARG");
    const char *bad[] = {
        "{\"oauth\": 1}",
        "{\"oauth\": {\"grant\": \"password\"}}",
        "{\"oauth\": {\"no_such_key\": true}}",
        "{\"oauth\": {\"grant\": \"client_credentials\", \"client_id\": \"a\"}}",
        "{\"oauth\": {\"client_secret\": \"s\"}}",
        "{\"oauth\": {\"client_metadata_url\": \"https://example.com\"}}",
        "{\"oauth\": {\"redirect_uri\": \"http://example.com/cb\"}}",
        "{\"oauth\": {\"loopback\": true, \"redirect_uri\": \"https://example.com/cb\"}}",
        "{\"oauth\": {\"token_endpoint_auth_method\": \"private_key_jwt\"}}",
        "{\"oauth\": {\"private_key_file\": \"/nonexistent/key.pem\"}}",
        "{\"oauth\": {\"private_key_file\": \"/proc/version\"}}",
        "{\"oauth\": {\"max_attempts\": 11}}",
        "{\"oauth\": {\"credentials\": {\"https://as.example\": 3}}}",
        "{\"oauth\": {}, \"headers\": {\"Authorization\": \"Bearer x\"}}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        mcp_client_t *client = NULL;
        CHECK_RC(mcp_client_new("c", "1", NULL, &client, NULL), MCP_OK, NULL);
        char *error = NULL;
        CHECK_RC(mcp_client_connect_http(client, "http://127.0.0.1:1/mcp", bad[i], NULL, &error), MCP_ERR_INVALID_ARG,
                 error);
        CHECK(error != NULL);
        mcp_string_free(error);
        mcp_client_free(client);
    }
}

/* Starts `server` protected (every token refused) with this resource; returns the port. */
static uint16_t start_protected(mcp_server_t *server, uint16_t port, const char *resource) {
    char config[512];
    snprintf(config, sizeof config,
             "{\"port\": %u, \"host\": \"127.0.0.1\", \"auth\": {\"resource\": \"%s\","
             "\"authorization_servers\": [\"http://127.0.0.1:1\"]}}",
             (unsigned)port, resource);
    uint16_t got = 0;
    CHECK_RC(mcp_server_start_http(server, config, &got, NULL), MCP_OK, NULL);
    return got;
}

/* Connects with "oauth"; returns the status, *out_error the reason. */
static mcp_status connect_oauth(const char *url, char **out_error) {
    mcp_client_t *client = NULL;
    CHECK_RC(mcp_client_new("c", "1", "{\"era\": \"legacy\"}", &client, NULL), MCP_OK, NULL);
    CHECK_RC(mcp_client_set_oauth_handler(client, on_prompt, NULL, NULL, NULL), MCP_OK, NULL);
    mcp_status rc = mcp_client_connect_http(client, url, "{\"oauth\": {}, \"timeout_ms\": 20000}", NULL, out_error);
    mcp_client_free(client);
    return rc;
}

static void test_refusals_name_the_step(void) {
    harness_section("a failed authorization fails the connect with MCP_ERR_IO and names the step");
    mcp_server_t *server = NULL;
    CHECK_RC(mcp_server_new("protected", "1", NULL, &server, NULL), MCP_OK, NULL);
    CHECK_RC(mcp_server_set_token_verifier(server, refuse_all, NULL, NULL, NULL), MCP_OK, NULL);
    /* The challenge names metadata at the configured resource's origin (port 80),
    ** where nothing answers: the connect fails there, without a 2025-03-26 guess. */
    uint16_t port = start_protected(server, 0, "http://127.0.0.1/mcp");
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/mcp", (unsigned)port);
    char *error = NULL;
    CHECK_RC(connect_oauth(url, &error), MCP_ERR_IO, error);
    CHECK(error != NULL && strstr(error, "OAuth authorization failed") != NULL);
    CHECK(error != NULL && strstr(error, "No protected-resource metadata at "
                                         "http://127.0.0.1/.well-known/oauth-protected-resource/mcp") != NULL);
    mcp_string_free(error);
    /* The right resource, but its authorization server does not answer. */
    CHECK_RC(mcp_server_stop_http(server, 2000, NULL), MCP_OK, NULL);
    CHECK_EQ(start_protected(server, port, url), port);
    error = NULL;
    CHECK_RC(connect_oauth(url, &error), MCP_ERR_IO, error);
    CHECK(error != NULL && strstr(error, "No authorization-server metadata for http://127.0.0.1:1") != NULL);
    mcp_string_free(error);
    CHECK_EQ(prompts, 0);
    mcp_server_free(server);
}

int main(void) {
    test_setters_and_handles();
    test_options_refused();
    test_refusals_name_the_step();
    return harness_finish();
}
