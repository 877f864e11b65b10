/*
** mcp-bridge: OAuth toward a remote upstream (--connect URL --oauth): the connect option,
** the person's part (the authorization URL on stderr; the engine's loopback listener
** receives the browser's redirect, as mcp-client --oauth does), and the credentials, kept for
** the bridge's life so that a reconnect reuses them (a refresh, not a new authorization), and
** in a file with --oauth-store.
*/
#include "bridge.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* issuer -> credentials, as the engine's store callback gave them; guarded by store_lock,
** since the callback runs on an engine thread while a connect may be reading them. */
static pthread_mutex_t store_lock = PTHREAD_MUTEX_INITIALIZER;
static json_t *credentials;

int oauth_load(bridge_t *b) {
    if (!b->cfg.oauth_store) return 0;
    json_error_t jerr;
    json_t *stored = json_load_file(b->cfg.oauth_store, 0, &jerr);
    if (!stored) {
        /* A first run: the file comes with the first tokens. */
        if (access(b->cfg.oauth_store, F_OK) != 0) return 0;
        fprintf(stderr, "mcp-bridge: %s: %s\n", b->cfg.oauth_store, jerr.text);
        return -1;
    }
    if (!json_is_object(stored)) {
        fprintf(stderr, "mcp-bridge: %s: not a JSON object\n", b->cfg.oauth_store);
        json_decref(stored);
        return -1;
    }
    pthread_mutex_lock(&store_lock);
    json_decref(credentials);
    credentials = stored;
    pthread_mutex_unlock(&store_lock);
    return 0;
}

json_t *oauth_connect_option(bridge_t *b) {
    if (!b->cfg.oauth) return NULL;
    json_t *o = json_deep_copy(b->cfg.oauth);
    pthread_mutex_lock(&store_lock);
    if (credentials && json_object_size(credentials)) json_object_set_new(o, "credentials", json_deep_copy(credentials));
    pthread_mutex_unlock(&store_lock);
    return o;
}

/* The person's part: the URL to open; the loopback listener gets the redirect. */
static void on_authorize(void *ud, const char *url, const char *redirect_uri, mcp_oauth_prompt_t *prompt) {
    (void)ud;
    fprintf(stderr, "mcp-bridge: open this URL to authorize the upstream (redirect to %s):\n%s\n", redirect_uri, url);
    fflush(stderr);
    mcp_oauth_prompt_answer(prompt, NULL, NULL);
}

/* The whole file is rewritten (mode 0600, then renamed over the old one). */
static void write_store(const char *path, json_t *all) {
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) {
        fprintf(stderr, "mcp-bridge: --oauth-store path too long\n");
        return;
    }
    FILE *f = NULL;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd >= 0) f = fdopen(fd, "w");
    if (f && json_dumpf(all, f, JSON_INDENT(2)) == 0 && fclose(f) == 0) {
        if (rename(tmp, path) != 0) fprintf(stderr, "mcp-bridge: cannot write %s\n", path);
    } else {
        if (f) fclose(f);
        else if (fd >= 0) close(fd);
        fprintf(stderr, "mcp-bridge: cannot write %s\n", tmp);
    }
}

static void on_store(void *ud, const char *issuer, const char *credentials_json) {
    bridge_t *b = ud;
    json_t *c = json_loads(credentials_json, 0, NULL);
    if (!c) return;
    pthread_mutex_lock(&store_lock);
    if (!credentials) credentials = json_object();
    json_object_set_new(credentials, issuer, c);
    if (b->cfg.oauth_store) write_store(b->cfg.oauth_store, credentials);
    pthread_mutex_unlock(&store_lock);
}

mcp_status oauth_attach(bridge_t *b, mcp_client_t *c, char **err) {
    if (!b->cfg.oauth) return MCP_OK;
    mcp_status st = mcp_client_set_oauth_handler(c, on_authorize, NULL, NULL, err);
    if (st == MCP_OK) st = mcp_client_set_oauth_store(c, on_store, b, NULL, err);
    return st;
}

void oauth_free(void) {
    pthread_mutex_lock(&store_lock);
    json_decref(credentials);
    credentials = NULL;
    pthread_mutex_unlock(&store_lock);
}
