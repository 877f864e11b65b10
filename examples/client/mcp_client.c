/*
** mcp-client: call one MCP method on a server and print the result.
**
**   mcp-client [options] METHOD [PARAMS_JSON] -- COMMAND [ARGS...]   (stdio)
**   mcp-client [options] --http URL METHOD [PARAMS_JSON]            (Streamable HTTP)
**
** The result JSON goes to stdout (exit 0). A JSON-RPC error or a failure goes
** to stderr (exit 1: the server answered an error; 2: usage; 3: cannot connect
** or the request failed locally).
**
** Options: --timeout MS   per-request timeout (default 30000)
**          --all          for list methods (tools/list, ...): follow nextCursor, print every item
**          --header K:V   extra HTTP header (repeatable)
**          --cacert FILE  PEM certificates that verify an https server
**          --insecure     do not verify the https server's certificate
**          --transport T  auto (default), streamable or legacy_sse
**          --era E        auto (default: server/discover, else initialize), legacy,
**                         or a revision such as 2026-07-28 or 2025-11-25
**          --verbose      print the server's notifications and stderr to stderr
**          --oauth        authorize with OAuth when the server asks (HTTP): the URL to
**                         open is printed to stderr, and a listener on 127.0.0.1
**                         receives the browser's redirect
**          --oauth-client-id ID, --oauth-client-secret SECRET   a pre-registered client
**          --oauth-client-credentials   a machine client: the client-credentials grant
**                         (needs the id and secret; no browser)
**          --oauth-scope "S1 S2"        scopes to ask for instead of the server's
**          --oauth-redirect URI         redirect URI (its port is listened on)
**          --oauth-store FILE           keep tokens in FILE (mode 0600) and reuse them
**
** Once connected it prints the era it settled on to stderr, as
** "mcp-client: era modern (2026-07-28)".
**
** The engine's own log records (warnings and errors; with --verbose from
** info up) go to stderr as JSON lines.
**
** The client answers the server's requests itself: elicitation is accepted
** with each field's default from the requested schema (with its JSON type),
** sampling is declined, roots/list returns the current directory.
*/
#include <mcp.h>
#include <jansson.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int verbose = 0;

/* The engine's log records, one JSON object per line, on stderr. */
static void log_to_stderr(void *user_data, int32_t level, const char *record_json) {
    (void)user_data;
    (void)level;
    fprintf(stderr, "%s\n", record_json);
}

static void usage(FILE *f) {
    fprintf(f,
            "usage: mcp-client [--timeout MS] [--all] [--verbose] METHOD [PARAMS_JSON] -- COMMAND [ARGS...]\n"
            "       mcp-client [--timeout MS] [--all] [--header K:V] [--cacert FILE] [--insecure]\n"
            "                  [--transport auto|streamable|legacy_sse] --http URL METHOD [PARAMS_JSON]\n"
            "       --era auto|legacy|REVISION  which protocol era to speak (default auto)\n"
            "       --oauth [--oauth-client-id ID] [--oauth-client-secret S] [--oauth-client-credentials]\n"
            "               [--oauth-scope S] [--oauth-redirect URI] [--oauth-store FILE]  (with --http)\n");
}

/* Elicitation: accept, filling each field that declares a default. */
static void on_request(void *ud, mcp_call_t *call, const char *method, const char *params_json) {
    (void)ud;
    json_error_t jerr;
    json_t *params = json_loads(params_json, 0, &jerr);
    char *err = NULL;
    if (strcmp(method, "elicitation/create") == 0) {
        json_t *content = json_object();
        json_t *props = json_object_get(json_object_get(params, "requestedSchema"), "properties");
        const char *key;
        json_t *prop;
        json_object_foreach(props, key, prop) {
            json_t *def = json_object_get(prop, "default");
            if (def) json_object_set(content, key, def);
        }
        json_t *result = json_pack("{s:s, s:o}", "action", "accept", "content", content);
        char *text = json_dumps(result, JSON_COMPACT);
        if (mcp_call_return(call, text, &err) != MCP_OK) fprintf(stderr, "mcp-client: %s\n", err);
        free(text);
        json_decref(result);
    } else if (strcmp(method, "roots/list") == 0) {
        char cwd[PATH_MAX];
        if (!getcwd(cwd, sizeof cwd)) strcpy(cwd, "/");
        char uri[PATH_MAX + 8];
        snprintf(uri, sizeof uri, "file://%s", cwd);
        json_t *result = json_pack("{s:[{s:s, s:s}]}", "roots", "uri", uri, "name", "cwd");
        char *text = json_dumps(result, JSON_COMPACT);
        if (mcp_call_return(call, text, &err) != MCP_OK) fprintf(stderr, "mcp-client: %s\n", err);
        free(text);
        json_decref(result);
    } else {
        mcp_call_error(call, -1, "mcp-client has no model to sample from", NULL, NULL);
    }
    mcp_string_free(err);
    json_decref(params);
}

static void on_notification(void *ud, const char *method, const char *params_json) {
    (void)ud;
    if (verbose) fprintf(stderr, "<- %s %s\n", method, params_json);
}

static void on_stderr(void *ud, const char *line, size_t length) {
    (void)ud;
    if (verbose) fprintf(stderr, "[server] %.*s\n", (int)length, line);
}

/* OAuth: show the URL; the engine's loopback listener receives the redirect. */
static void on_oauth(void *ud, const char *url, const char *redirect_uri, mcp_oauth_prompt_t *prompt) {
    (void)ud;
    fprintf(stderr, "mcp-client: open this URL to authorize (redirect to %s):\n%s\n", redirect_uri, url);
    fflush(stderr);
    mcp_oauth_prompt_answer(prompt, NULL, NULL);
}

/* OAuth store: the whole file is rewritten with this issuer's credentials. */
static void on_oauth_store(void *ud, const char *issuer, const char *credentials_json) {
    const char *path = ud;
    json_t *all = json_load_file(path, 0, NULL);
    if (!json_is_object(all)) {
        json_decref(all);
        all = json_object();
    }
    json_object_set_new(all, issuer, json_loads(credentials_json, 0, NULL));
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = NULL;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd >= 0) f = fdopen(fd, "w");
    if (f && json_dumpf(all, f, JSON_INDENT(2)) == 0 && fclose(f) == 0) {
        if (rename(tmp, path) != 0) fprintf(stderr, "mcp-client: cannot write %s\n", path);
    } else {
        if (f) fclose(f);
        else if (fd >= 0) close(fd);
        fprintf(stderr, "mcp-client: cannot write %s\n", tmp);
    }
    json_decref(all);
}

static void print_json(const char *text) {
    json_error_t jerr;
    json_t *v = json_loads(text, 0, &jerr);
    if (!v) {
        puts(text);
        return;
    }
    char *pretty = json_dumps(v, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
    puts(pretty);
    free(pretty);
    json_decref(v);
}

int main(int argc, char **argv) {
    int timeout = 30000, all = 0, i = 1;
    const char *url = NULL, *era = NULL;
    json_t *headers = json_object();
    json_t *http_options = json_object();
    json_t *oauth = NULL;
    const char *oauth_store = NULL;
    for (; i < argc && strncmp(argv[i], "--", 2) == 0 && strcmp(argv[i], "--") != 0; i++) {
        if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc) timeout = atoi(argv[++i]);
        else if (strcmp(argv[i], "--all") == 0) all = 1;
        else if (strcmp(argv[i], "--verbose") == 0) verbose = 1;
        else if (strcmp(argv[i], "--http") == 0 && i + 1 < argc) url = argv[++i];
        else if (strcmp(argv[i], "--header") == 0 && i + 1 < argc) {
            char *kv = argv[++i], *colon = strchr(kv, ':');
            if (!colon) { usage(stderr); return 2; }
            *colon = '\0';
            const char *v = colon + 1;
            while (*v == ' ') v++;
            json_object_set_new(headers, kv, json_string(v));
        } else if (strcmp(argv[i], "--cacert") == 0 && i + 1 < argc) {
            json_object_set_new(http_options, "tls_ca_file", json_string(argv[++i]));
        } else if (strcmp(argv[i], "--insecure") == 0) {
            json_object_set_new(http_options, "tls_verify", json_false());
        } else if (strcmp(argv[i], "--transport") == 0 && i + 1 < argc) {
            json_object_set_new(http_options, "transport", json_string(argv[++i]));
        } else if (strcmp(argv[i], "--era") == 0 && i + 1 < argc) {
            era = argv[++i];
        } else if (strncmp(argv[i], "--oauth", 7) == 0) {
            if (!oauth) oauth = json_pack("{s:b}", "loopback", 1);
            const char *o = argv[i] + 7;
            if (*o == '\0') continue;
            if (strcmp(o, "-client-credentials") == 0) {
                json_object_set_new(oauth, "grant", json_string("client_credentials"));
                json_object_del(oauth, "loopback");
                continue;
            }
            if (i + 1 >= argc) { usage(stderr); return 2; }
            const char *v = argv[++i];
            if (strcmp(o, "-client-id") == 0) json_object_set_new(oauth, "client_id", json_string(v));
            else if (strcmp(o, "-client-secret") == 0) json_object_set_new(oauth, "client_secret", json_string(v));
            else if (strcmp(o, "-scope") == 0) json_object_set_new(oauth, "scope", json_string(v));
            else if (strcmp(o, "-redirect") == 0) json_object_set_new(oauth, "redirect_uri", json_string(v));
            else if (strcmp(o, "-store") == 0) oauth_store = v;
            else { usage(stderr); return 2; }
        } else if (strcmp(argv[i], "--help") == 0) { usage(stdout); return 0; }
        else { usage(stderr); return 2; }
    }
    if (mcp_set_log_hook(log_to_stderr, NULL, verbose ? MCP_LOG_INFO : MCP_LOG_WARNING, NULL) != MCP_OK)
        fprintf(stderr, "mcp-client: cannot set the log hook\n");
    if (i >= argc) { usage(stderr); return 2; }
    const char *method = argv[i++];
    const char *params = NULL;
    if (i < argc && strcmp(argv[i], "--") != 0) params = argv[i++];
    char **command = NULL;
    if (i < argc && strcmp(argv[i], "--") == 0) command = &argv[i + 1];
    if ((url == NULL) == (command == NULL || *command == NULL)) {
        fprintf(stderr, "mcp-client: give either --http URL or -- COMMAND\n");
        usage(stderr);
        return 2;
    }

    mcp_client_t *client = NULL;
    char *err = NULL, *out = NULL;
    json_t *client_options = json_object();
    if (era) json_object_set_new(client_options, "era", json_string(era));
    char *client_opts = json_dumps(client_options, JSON_COMPACT);
    json_decref(client_options);
    mcp_status made = mcp_client_new("mcp-client", MCP_VERSION_STRING, client_opts, &client, &err);
    free(client_opts);
    if (made != MCP_OK) {
        fprintf(stderr, "mcp-client: %s\n", err);
        mcp_string_free(err);
        return made == MCP_ERR_INVALID_ARG ? 2 : 3;
    }
    mcp_client_set_request_handler(client, "elicitation/create", on_request, NULL, NULL, NULL);
    mcp_client_set_request_handler(client, "roots/list", on_request, NULL, NULL, NULL);
    mcp_client_set_request_handler(client, "sampling/createMessage", on_request, NULL, NULL, NULL);
    mcp_client_set_notification_handler(client, on_notification, NULL, NULL, NULL);
    mcp_client_set_stderr_handler(client, on_stderr, NULL, NULL, NULL);
    if (oauth) {
        mcp_client_set_oauth_handler(client, on_oauth, NULL, NULL, NULL);
        if (oauth_store) {
            json_t *stored = json_load_file(oauth_store, 0, NULL);
            if (json_is_object(stored)) json_object_set(oauth, "credentials", stored);
            json_decref(stored);
            mcp_client_set_oauth_store(client, on_oauth_store, (void *)oauth_store, NULL, NULL);
        }
        json_object_set(http_options, "oauth", oauth);
    }

    mcp_status rc;
    if (url) {
        json_object_set(http_options, "headers", headers);
        /* A person authorizing in a browser gets five minutes (the engine's default). */
        int connect_ms = timeout > 0 ? timeout : 30000;
        if (oauth && connect_ms < 330000) connect_ms = 330000;
        json_object_set_new(http_options, "timeout_ms", json_integer(connect_ms));
        char *opts = json_dumps(http_options, JSON_COMPACT);
        rc = mcp_client_connect_http(client, url, opts, NULL, &err);
        free(opts);
    } else {
        rc = mcp_client_connect_stdio(client, (const char *const *)command, NULL, NULL, NULL, &err);
    }
    if (rc != MCP_OK) {
        fprintf(stderr, "mcp-client: cannot connect (%s): %s\n", mcp_status_string(rc), err ? err : "");
        mcp_string_free(err);
        mcp_client_free(client);
        json_decref(headers);
        json_decref(http_options);
        json_decref(oauth);
        return 3;
    }
    char *era_json = NULL;
    if (mcp_client_get_era(client, &era_json, NULL) == MCP_OK) {
        json_t *e = json_loads(era_json, 0, NULL);
        fprintf(stderr, "mcp-client: era %s (%s)\n", json_string_value(json_object_get(e, "era")),
                json_string_value(json_object_get(e, "protocolVersion")));
        json_decref(e);
        mcp_string_free(era_json);
    }
    int is_list = strlen(method) > 5 && strcmp(method + strlen(method) - 5, "/list") == 0;
    if (all && is_list) rc = mcp_client_list(client, method, timeout, &out, &err);
    else rc = mcp_client_request(client, method, params, timeout, &out, &err);
    int exit_code = 0;
    if (rc == MCP_OK) {
        print_json(out);
    } else if (rc == MCP_ERR_PEER) {
        fprintf(stderr, "%s\n", err);
        exit_code = 1;
    } else {
        fprintf(stderr, "mcp-client: %s: %s\n", mcp_status_string(rc), err ? err : "");
        exit_code = 3;
    }
    mcp_string_free(out);
    mcp_string_free(err);
    mcp_client_free(client);
    json_decref(headers);
    json_decref(http_options);
    json_decref(oauth);
    return exit_code;
}
