/*
** mcp-bridge: a stdio MCP server served over Streamable HTTP, or a remote one served on stdio.
**
**   mcp-bridge --listen HOST:PORT [--config FILE] [--per-session] [options] -- COMMAND [ARGS...]
**       Starts COMMAND (a stdio MCP server) and serves it with the engine's HTTP listener to
**       clients of both eras: 2025-era sessions and 2026-07-28 stateless requests. One child
**       serves every client; with --per-session each 2025-era session gets a child of its own
**       (2026-07-28 requests, which have no session, use the first child). A 2025-era child's
**       requests (sampling, elicitation, roots) reach a 2026-07-28 client as input requests.
**       FILE is the listener's configuration as mcp_server_start_http takes it (auth, limits,
**       "admin" for metrics and health, TLS, ...); its member "server", if any, holds options
**       of mcp_server_new (max_calls_in_flight, circuit_breaker, request_state_keys, ...).
**       --listen sets "host" and "port" over the file's.
**
**   mcp-bridge --connect URL [--header K:V]... [--oauth...] [options]
**       Serves the Streamable HTTP server at URL on this process's stdin and stdout, for a
**       client that only launches commands. With --oauth, when the remote asks for a token
**       (401, or 403 for a scope) the bridge obtains one as mcp-client --oauth does: the URL
**       to open is printed on stderr and the engine's loopback listener receives the
**       redirect; the tokens serve every reconnect (refreshed when they expire).
**          --oauth-client-id ID, --oauth-client-secret SECRET   a pre-registered client
**          --oauth-client-credentials   a machine client: the client-credentials grant
**          --oauth-scope "S1 S2"        scopes to ask for instead of the server's
**          --oauth-redirect URI         redirect URI (its port is listened on)
**          --oauth-store FILE           keep tokens in FILE (mode 0600) and reuse them
**
** Options: --timeout MS         each upstream request's timeout (default 60000): a stalled
**                               upstream gets the client an error, not a hang
**          --start-timeout MS   how long a child may take to answer initialize (default 30000)
**          --upstream-era E     the era spoken to the upstream: auto (default: server/discover,
**                               else initialize), legacy (initialize), or a revision
**          --max-children N     --per-session: children alive at once (default 64)
**          --session-idle MS    --per-session: a child with no call this long is closed
**                               (default 1800000, the listener's session idle timeout)
**
** Messages about the bridge go to stderr, the engine's log records as JSON lines.
** Exit status: 0 after SIGINT or SIGTERM (--listen) or end of input (--connect);
** 2 bad usage; 3 cannot start (the upstream, the listener).
*/
#include "bridge.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

bridge_t *bridge_instance;

static void usage(FILE *f) {
    fprintf(f, "usage: mcp-bridge --listen HOST:PORT [--config FILE] [--per-session] [--timeout MS]\n"
               "                  [--max-children N] [--session-idle MS] [--upstream-era E]\n"
               "                  [--start-timeout MS] -- COMMAND [ARGS...]\n"
               "       mcp-bridge --connect URL [--header K:V]... [--timeout MS] [--upstream-era E]\n"
               "                  [--oauth] [--oauth-client-id ID] [--oauth-client-secret S]\n"
               "                  [--oauth-client-credentials] [--oauth-scope S] [--oauth-redirect URI]\n"
               "                  [--oauth-store FILE]\n");
}

static void log_to_stderr(void *ud, int32_t level, const char *record_json) {
    (void)ud;
    (void)level;
    fprintf(stderr, "%s\n", record_json);
}

/* HOST:PORT, [V6]:PORT or PORT alone. 0 on success. */
static int parse_listen(const char *s, char *host, size_t host_len, int *port) {
    const char *colon = strrchr(s, ':');
    const char *p = colon ? colon + 1 : s;
    char *end;
    long v = strtol(p, &end, 10);
    if (*p == '\0' || *end != '\0' || v < 0 || v > 65535) return -1;
    *port = (int)v;
    if (!colon) { snprintf(host, host_len, "127.0.0.1"); return 0; }
    size_t n = (size_t)(colon - s);
    if (n >= 2 && s[0] == '[' && s[n - 1] == ']') { s++; n -= 2; }
    if (n == 0 || n >= host_len) return -1;
    memcpy(host, s, n);
    host[n] = '\0';
    return 0;
}

static long parse_number(const char *flag, const char *s, long lo, long hi) {
    char *end;
    long v = s ? strtol(s, &end, 10) : 0;
    if (!s || *s == '\0' || *end != '\0' || v < lo || v > hi) {
        fprintf(stderr, "mcp-bridge: %s wants a number from %ld to %ld\n", flag, lo, hi);
        exit(2);
    }
    return v;
}

/* The sync thread: keeps the bridge's features in step with the upstream's. */
static void *sync_thread(void *arg) {
    bridge_t *b = arg;
    pthread_mutex_lock(&b->lock);
    while (!b->stopping) {
        if (!b->sync_wanted) { pthread_cond_wait(&b->sync_cond, &b->lock); continue; }
        b->sync_wanted = 0;
        pthread_mutex_unlock(&b->lock);
        forward_sync(b);
        pthread_mutex_lock(&b->lock);
    }
    pthread_mutex_unlock(&b->lock);
    return NULL;
}

/* The server's identity and capabilities, from the upstream's. */
static json_t *server_options(bridge_t *b, json_t *from_file, const char **name, const char **version,
                              json_t *era) {
    json_t *opts = json_is_object(from_file) ? json_deep_copy(from_file) : json_object();
    json_t *info = json_object_get(era, "serverInfo");
    *name = json_string_value(json_object_get(info, "name"));
    *version = json_string_value(json_object_get(info, "version"));
    if (!*name || !**name) *name = "mcp-bridge";
    if (!*version || !**version) *version = MCP_VERSION_STRING;
    const char *instructions = json_string_value(json_object_get(era, "instructions"));
    if (instructions && !json_object_get(opts, "instructions"))
        json_object_set_new(opts, "instructions", json_string(instructions));
    const char *title = json_string_value(json_object_get(info, "title"));
    if (title && !json_object_get(opts, "title")) json_object_set_new(opts, "title", json_string(title));
    /* Declare what the upstream declares, even before anything of it is registered. */
    json_t *declare = json_array();
    static const char *const caps[] = {"tools", "resources", "prompts", "logging"};
    for (size_t i = 0; i < 4; i++)
        if (json_object_get(b->capabilities, caps[i])) json_array_append_new(declare, json_string(caps[i]));
    if (!json_object_get(opts, "declare_capabilities")) json_object_set_new(opts, "declare_capabilities", declare);
    else json_decref(declare);
    return opts;
}

int main(int argc, char **argv) {
    static bridge_t bridge = {
        .lock = PTHREAD_MUTEX_INITIALIZER,
        .sync_cond = PTHREAD_COND_INITIALIZER,
    };
    bridge_t *b = &bridge;
    bridge_instance = b;
    b->cfg.timeout_ms = 60000;
    b->cfg.max_children = 64;
    b->cfg.session_idle_ms = 1800000;
    b->cfg.upstream_era = "auto";
    b->cfg.start_timeout_ms = 30000;
    const char *listen = NULL, *config_path = NULL;
    json_t *headers = json_object();
    int i = 1;
    for (; i < argc; i++) {
        const char *a = argv[i];
        const char *next = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--")) { i++; break; }
        else if (!strcmp(a, "--listen") && next) { listen = next; i++; }
        else if (!strcmp(a, "--connect") && next) { b->cfg.url = next; i++; }
        else if (!strcmp(a, "--config") && next) { config_path = next; i++; }
        else if (!strcmp(a, "--per-session")) b->cfg.per_session = 1;
        else if (!strcmp(a, "--upstream-era") && next) { b->cfg.upstream_era = next; i++; }
        else if (!strcmp(a, "--timeout")) { b->cfg.timeout_ms = (int32_t)parse_number(a, next, 1, 86400000); i++; }
        else if (!strcmp(a, "--start-timeout")) { b->cfg.start_timeout_ms = (int32_t)parse_number(a, next, 1, 86400000); i++; }
        else if (!strcmp(a, "--max-children")) { b->cfg.max_children = (int)parse_number(a, next, 1, 100000); i++; }
        else if (!strcmp(a, "--session-idle")) { b->cfg.session_idle_ms = parse_number(a, next, 1000, 86400000); i++; }
        else if (!strcmp(a, "--header") && next && strchr(next, ':')) {
            const char *colon = strchr(next, ':');
            char key[256];
            size_t n = (size_t)(colon - next);
            if (n == 0 || n >= sizeof key) { usage(stderr); return 2; }
            memcpy(key, next, n);
            key[n] = '\0';
            const char *value = colon + 1;
            while (*value == ' ') value++;
            json_object_set_new(headers, key, json_string(value));
            i++;
        }
        else if (!strncmp(a, "--oauth", 7)) {
            /* The "oauth" connect option of mcp.h, as mcp-client builds it. */
            if (!b->cfg.oauth) b->cfg.oauth = json_pack("{s:b}", "loopback", 1);
            const char *o = a + 7;
            if (!strcmp(o, "")) continue;
            if (!strcmp(o, "-client-credentials")) {
                json_object_set_new(b->cfg.oauth, "grant", json_string("client_credentials"));
                json_object_del(b->cfg.oauth, "loopback");
                continue;
            }
            const char *key = !strcmp(o, "-client-id") ? "client_id" : !strcmp(o, "-client-secret") ? "client_secret"
                            : !strcmp(o, "-scope") ? "scope" : !strcmp(o, "-redirect") ? "redirect_uri" : NULL;
            if (!next || (!key && strcmp(o, "-store"))) {
                fprintf(stderr, "mcp-bridge: unknown or incomplete option %s\n", a);
                usage(stderr);
                return 2;
            }
            if (key) json_object_set_new(b->cfg.oauth, key, json_string(next));
            else b->cfg.oauth_store = next;
            i++;
        }
        else if (!strcmp(a, "--help") || !strcmp(a, "-h")) { usage(stdout); return 0; }
        else { fprintf(stderr, "mcp-bridge: unknown or incomplete option %s\n", a); usage(stderr); return 2; }
    }
    if ((listen == NULL) == (b->cfg.url == NULL)) {
        fprintf(stderr, "mcp-bridge: give exactly one of --listen and --connect\n");
        usage(stderr);
        return 2;
    }
    if (listen && i >= argc) { fprintf(stderr, "mcp-bridge: --listen needs -- COMMAND\n"); return 2; }
    if (b->cfg.url && (i < argc || b->cfg.per_session || config_path)) {
        fprintf(stderr, "mcp-bridge: --connect takes no COMMAND, --per-session or --config\n");
        return 2;
    }
    if (listen && b->cfg.oauth) {
        fprintf(stderr, "mcp-bridge: --oauth is for --connect (a listener takes \"auth\" in its --config)\n");
        return 2;
    }
    if (oauth_load(b) != 0) return 2;
    if (listen) b->cfg.command = &argv[i];
    char *headers_text = json_object_size(headers) ? json_dumps(headers, JSON_COMPACT) : NULL;
    b->cfg.http_headers = headers_text;
    json_decref(headers);

    /* The listener's config, and the server options it may carry. */
    json_t *http_config = json_object(), *file_server_opts = NULL;
    char host[256];
    int port = 0;
    if (listen) {
        if (parse_listen(listen, host, sizeof host, &port) != 0) {
            fprintf(stderr, "mcp-bridge: --listen wants HOST:PORT, not %s\n", listen);
            return 2;
        }
        if (config_path) {
            json_error_t jerr;
            json_decref(http_config);
            http_config = json_load_file(config_path, 0, &jerr);
            if (!json_is_object(http_config)) {
                fprintf(stderr, "mcp-bridge: %s: %s (line %d)\n", config_path,
                        http_config ? "not a JSON object" : jerr.text, jerr.line);
                return 2;
            }
            file_server_opts = json_incref(json_object_get(http_config, "server"));
            json_object_del(http_config, "server");
        }
        json_object_set_new(http_config, "host", json_string(host));
        json_object_set_new(http_config, "port", json_integer(port));
    }

    /* Everything below starts threads: SIGINT and SIGTERM are taken by sigtimedwait alone. */
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
    mcp_set_log_hook(log_to_stderr, NULL, MCP_LOG_WARNING, NULL);

    if (upstream_start_shared(b) != 0) return 3;
    /* The upstream's name, instructions and capabilities become the bridge's own. */
    char *era_text = NULL, *why = NULL;
    upstream_t *up0 = upstream_acquire_shared(b, &why);
    if (up0) {
        mcp_client_get_era(upstream_client(b, up0), &era_text, NULL);
        upstream_release(b, up0);
    }
    free(why);
    json_t *era = era_text ? json_loads(era_text, 0, NULL) : json_object();
    mcp_string_free(era_text);
    const char *name, *version;
    json_t *opts = server_options(b, file_server_opts, &name, &version, era);
    char *opts_text = json_dumps(opts, JSON_COMPACT), *err = NULL;
    mcp_status st = mcp_server_new(name, version, opts_text, &b->server, &err);
    free(opts_text);
    json_decref(opts);
    json_decref(file_server_opts);
    if (st != MCP_OK) {
        fprintf(stderr, "mcp-bridge: cannot create the server: %s\n", err ? err : mcp_status_string(st));
        return 3;
    }
    json_decref(era);
    forward_sync(b);
    forward_install_completion(b);
    pthread_t syncer;
    pthread_create(&syncer, NULL, sync_thread, b);

    int rc = 0;
    if (listen) {
        char *config_text = json_dumps(http_config, JSON_COMPACT);
        uint16_t bound = 0;
        st = mcp_server_start_http(b->server, config_text, &bound, &err);
        free(config_text);
        if (st != MCP_OK) {
            fprintf(stderr, "mcp-bridge: cannot listen on %s: %s\n", listen, err ? err : mcp_status_string(st));
            rc = 3;
        } else {
            const char *path = json_string_value(json_object_get(http_config, "path"));
            int v6 = strchr(host, ':') != NULL;
            fprintf(stderr, "mcp-bridge: listening on http://%s%s%s:%u%s (upstream: %s%s)\n", v6 ? "[" : "", host,
                    v6 ? "]" : "", bound, path ? path : "/mcp", b->cfg.command[0],
                    b->cfg.per_session ? ", one child per session" : "");
            fflush(stderr);
            for (;;) {
                struct timespec tick = {1, 0};
                int sig = sigtimedwait(&stop_signals, NULL, &tick);
                if (sig == SIGINT || sig == SIGTERM) break;
                upstream_reap_idle(b);
            }
            mcp_server_stop_http(b->server, 5000, NULL);
        }
    } else {
        st = mcp_server_serve_stdio(b->server, NULL, &err);
        if (st != MCP_OK) {
            fprintf(stderr, "mcp-bridge: serving stdio failed: %s\n", err ? err : mcp_status_string(st));
            rc = 3;
        }
    }
    mcp_string_free(err);
    json_decref(http_config);
    pthread_mutex_lock(&b->lock);
    b->stopping = 1;
    pthread_cond_broadcast(&b->sync_cond);
    pthread_mutex_unlock(&b->lock);
    pthread_join(syncer, NULL);
    mcp_server_free(b->server);
    upstream_close_all(b);
    json_decref(b->capabilities);
    json_decref(b->cfg.oauth);
    oauth_free();
    free(headers_text);
    return rc;
}
