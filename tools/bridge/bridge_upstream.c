/*
** mcp-bridge: the connections to the server behind the bridge (one shared, or one per
** 2025-era client session): starting and restarting them off the engine's threads, counting
** their uses so that a broken one is replaced only once nothing uses it, the subscription
** that brings the shared upstream's change notices, and closing idle children.
*/
#include "bridge.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static pthread_cond_t conn_cond = PTHREAD_COND_INITIALIZER;   /* with bridge.lock */

int64_t bridge_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

char *bridge_strf(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    if (vasprintf(&s, fmt, ap) < 0) s = NULL;
    va_end(ap);
    return s;
}

/* ------------------------------------------------------------------ connecting */

typedef struct connect_job {
    bridge_t *b;
    upstream_t *up;
    mcp_client_t *old;     /* the broken client to free first, or NULL */
    char *why;
} connect_job_t;

/* Runs on a thread of the bridge's own: the engine's connect and free block, and may not be
** called from inside an engine callback. */
static void *connect_thread(void *arg) {
    connect_job_t *j = arg;
    bridge_t *b = j->b;
    if (j->old) mcp_client_free(j->old);
    mcp_client_t *c = NULL;
    char *err = NULL;
    /* Log records at every level: the engine filters them per client (setLevel, logLevel). */
    json_t *opts = json_pack("{s:i, s:s, s:s}", "request_timeout_ms", (int)b->cfg.timeout_ms, "log_level", "debug",
                             "era", b->cfg.upstream_era);
    char *opts_text = json_dumps(opts, JSON_COMPACT);
    json_decref(opts);
    mcp_status st = mcp_client_new("mcp-bridge", MCP_VERSION_STRING, opts_text, &c, &err);
    free(opts_text);
    static const char *const asked[] = {"sampling/createMessage", "elicitation/create", "roots/list"};
    for (size_t i = 0; st == MCP_OK && i < 3; i++)
        st = mcp_client_set_request_handler(c, asked[i], calls_relay_request, j->up, NULL, &err);
    if (st == MCP_OK) st = mcp_client_set_notification_handler(c, calls_relay_notification, j->up, NULL, &err);
    if (st == MCP_OK && b->cfg.url) st = oauth_attach(b, c, &err);
    if (st == MCP_OK) {
        if (b->cfg.url) {
            json_t *http = json_object();
            if (b->cfg.http_headers) json_object_set_new(http, "headers", json_loads(b->cfg.http_headers, 0, NULL));
            json_t *oauth = oauth_connect_option(b);
            if (oauth) {
                json_object_set_new(http, "oauth", oauth);
                /* A person authorizing in a browser gets five minutes (the engine's default). */
                json_object_set_new(http, "timeout_ms", json_integer(330000));
            }
            char *http_opts = json_object_size(http) ? json_dumps(http, JSON_COMPACT) : NULL;
            json_decref(http);
            st = mcp_client_connect_http(c, b->cfg.url, http_opts, NULL, &err);
            free(http_opts);
        } else {
            char start_opts[64];
            snprintf(start_opts, sizeof start_opts, "{\"timeout_ms\":%d}", (int)b->cfg.start_timeout_ms);
            st = mcp_client_connect_stdio(c, (const char *const *)b->cfg.command, NULL, start_opts, NULL, &err);
        }
    }
    int modern = 0;
    if (st != MCP_OK) {
        j->why = bridge_strf("mcp-bridge: cannot reach the upstream server: %s", err ? err : mcp_status_string(st));
        mcp_client_free(c);
        c = NULL;
    } else {
        char *info = NULL;
        if (mcp_client_get_era(c, &info, NULL) == MCP_OK) modern = strstr(info, "\"era\":\"modern\"") != NULL;
        mcp_string_free(info);
    }
    mcp_string_free(err);
    pthread_mutex_lock(&b->lock);
    j->up->modern = modern;
    j->up->client = c;
    j->up->broken = 0;
    j->up->connecting = 0;
    pthread_cond_broadcast(&conn_cond);
    pthread_mutex_unlock(&b->lock);
    return NULL;
}

/* Make up usable (bridge.lock held on entry and exit): wait for another connect, or run one. */
static int ensure_connected(bridge_t *b, upstream_t *up, char **why) {
    while (up->connecting) pthread_cond_wait(&conn_cond, &b->lock);
    if (up->client && !up->broken) return 0;
    /* The old client goes once no call uses it (those on a closed connection end at once). */
    while (up->uses > 0 && up->broken) pthread_cond_wait(&conn_cond, &b->lock);
    if (up->connecting) return ensure_connected(b, up, why);
    if (up->client && !up->broken) return 0;
    connect_job_t job = {b, up, up->client, NULL};
    int was_shared_restart = (up == b->shared && up->client != NULL);
    up->client = NULL;
    up->connecting = 1;
    pthread_mutex_unlock(&b->lock);
    pthread_t t;
    if (pthread_create(&t, NULL, connect_thread, &job) == 0) {
        pthread_join(t, NULL);
    } else {
        job.why = bridge_strf("mcp-bridge: cannot start a thread: %s", strerror(errno));
        pthread_mutex_lock(&b->lock);
        up->connecting = 0;
        pthread_cond_broadcast(&conn_cond);
        pthread_mutex_unlock(&b->lock);
    }
    if (job.why) fprintf(stderr, "%s\n", job.why);
    else if (was_shared_restart) {
        fprintf(stderr, "mcp-bridge: upstream restarted\n");
        forward_request_sync(b);
    }
    pthread_mutex_lock(&b->lock);
    if (job.why) { *why = job.why; return -1; }
    return 0;
}

int upstream_start_shared(bridge_t *b) {
    upstream_t *up = calloc(1, sizeof *up);
    if (!up) return -1;
    up->b = b;
    char *why = NULL;
    pthread_mutex_lock(&b->lock);
    b->shared = up;
    int rc = ensure_connected(b, up, &why);
    pthread_mutex_unlock(&b->lock);
    if (rc != 0) { free(why); return -1; }
    char *info = NULL;
    if (mcp_client_get_era(up->client, &info, NULL) == MCP_OK) {
        json_t *era = json_loads(info, 0, NULL);
        b->capabilities = json_incref(json_object_get(era, "capabilities"));
        fprintf(stderr, "mcp-bridge: upstream era %s (%s)\n", json_string_value(json_object_get(era, "era")),
                json_string_value(json_object_get(era, "protocolVersion")));
        json_decref(era);
    }
    mcp_string_free(info);
    if (!b->capabilities) b->capabilities = json_object();
    return 0;
}

/* The upstream of session sid (NULL: the shared one), connected, with one use counted. */
static upstream_t *acquire(bridge_t *b, const char *sid, char **why) {
    pthread_mutex_lock(&b->lock);
    upstream_t *up = b->shared;
    if (sid) {
        for (up = b->sessions; up && strcmp(up->session_id, sid); up = up->next) {}
        if (!up) {
            if (b->session_count >= b->cfg.max_children) {
                int most = b->cfg.max_children;
                pthread_mutex_unlock(&b->lock);
                char msg[160];
                snprintf(msg, sizeof msg, "mcp-bridge: %d sessions have a child already (--max-children); "
                         "try again when one ends", most);
                *why = strdup(msg);
                return NULL;
            }
            up = calloc(1, sizeof *up);
            char *copy = up ? strdup(sid) : NULL;
            if (!copy) {
                free(up);
                pthread_mutex_unlock(&b->lock);
                *why = bridge_strf("out of memory");
                return NULL;
            }
            up->b = b;
            up->session_id = copy;
            up->next = b->sessions;
            b->sessions = up;
            b->session_count++;
        }
    }
    if (ensure_connected(b, up, why) != 0) {
        pthread_mutex_unlock(&b->lock);
        return NULL;
    }
    up->uses++;
    up->last_used_ms = bridge_now_ms();
    pthread_mutex_unlock(&b->lock);
    return up;
}

upstream_t *upstream_ready_for_call(bridge_t *b, mcp_call_t *call) {
    char *sid = NULL;
    if (b->cfg.per_session && mcp_call_session_id(call, &sid, NULL) != MCP_OK) sid = NULL;
    pthread_mutex_lock(&b->lock);
    upstream_t *up = b->shared;
    if (sid)
        for (up = b->sessions; up && strcmp(up->session_id, sid); up = up->next) {}
    if (up && (up->connecting || !up->client || up->broken)) up = NULL;
    if (up) {
        up->uses++;
        up->last_used_ms = bridge_now_ms();
    }
    pthread_mutex_unlock(&b->lock);
    mcp_string_free(sid);
    return up;
}

upstream_t *upstream_for_call(bridge_t *b, mcp_call_t *call, char **why) {
    char *sid = NULL;
    /* A 2025-era session has an id; a 2026-07-28 request has none and uses the shared one. */
    if (b->cfg.per_session && mcp_call_session_id(call, &sid, NULL) != MCP_OK) sid = NULL;
    upstream_t *up = acquire(b, sid, why);
    mcp_string_free(sid);
    return up;
}

upstream_t *upstream_acquire_shared(bridge_t *b, char **why) {
    return acquire(b, NULL, why);
}

void upstream_release(bridge_t *b, upstream_t *up) {
    pthread_mutex_lock(&b->lock);
    up->uses--;
    up->last_used_ms = bridge_now_ms();
    pthread_cond_broadcast(&conn_cond);
    pthread_mutex_unlock(&b->lock);
}

mcp_client_t *upstream_client(bridge_t *b, upstream_t *up) {
    pthread_mutex_lock(&b->lock);
    mcp_client_t *c = up->client;
    pthread_mutex_unlock(&b->lock);
    return c;
}

/* ------------------------------------------------------------------ change notices */

void upstream_subscribe(bridge_t *b, upstream_t *up, json_t *resource_uris) {
    json_t *caps = b->capabilities;
    json_t *filter = json_object();
    static const char *const kinds[][2] = {{"tools", "toolsListChanged"}, {"prompts", "promptsListChanged"},
                                           {"resources", "resourcesListChanged"}};
    for (size_t i = 0; i < 3; i++)
        if (json_is_true(json_object_get(json_object_get(caps, kinds[i][0]), "listChanged")))
            json_object_set_new(filter, kinds[i][1], json_true());
    if (json_is_true(json_object_get(json_object_get(caps, "resources"), "subscribe")) &&
        json_array_size(resource_uris) > 0)
        json_object_set(filter, "resourceSubscriptions", resource_uris);
    /* A 2025-era upstream sends list changes unasked: only resources/subscribe is needed. */
    if (!up->modern) {
        json_object_del(filter, "toolsListChanged");
        json_object_del(filter, "promptsListChanged");
        json_object_del(filter, "resourcesListChanged");
    }
    pthread_mutex_lock(&b->lock);
    mcp_client_t *client = up->client;
    int same = up->sub_client == client && up->sub_filter && json_equal(up->sub_filter, filter);
    mcp_client_t *old_client = up->sub_client == client ? client : NULL;
    int64_t old_id = up->sub_id;
    pthread_mutex_unlock(&b->lock);
    if (same || !client) { json_decref(filter); return; }
    if (old_client && old_id) mcp_client_unsubscribe(old_client, old_id, NULL);
    int64_t id = 0;
    char *err = NULL;
    mcp_status st = MCP_OK;
    if (json_object_size(filter) > 0) {
        char *text = json_dumps(filter, JSON_COMPACT);
        st = mcp_client_subscribe(client, text, calls_relay_subscribed, up, NULL, &id, NULL, &err);
        free(text);
        if (st != MCP_OK)
            fprintf(stderr, "mcp-bridge: the upstream's change notices are not heard: %s\n",
                    err ? err : mcp_status_string(st));
        mcp_string_free(err);
    }
    pthread_mutex_lock(&b->lock);
    json_decref(up->sub_filter);
    up->sub_filter = st == MCP_OK ? filter : NULL;
    up->sub_client = st == MCP_OK ? client : NULL;
    up->sub_id = st == MCP_OK ? id : 0;
    pthread_mutex_unlock(&b->lock);
    if (st != MCP_OK) json_decref(filter);
}

/* ------------------------------------------------------------------ lifetime */

void upstream_reap_idle(bridge_t *b) {
    if (!b->cfg.per_session) return;
    upstream_t *gone = NULL;
    int64_t now = bridge_now_ms();
    pthread_mutex_lock(&b->lock);
    for (upstream_t **p = &b->sessions; *p;) {
        upstream_t *up = *p;
        if (up->uses == 0 && !up->connecting && now - up->last_used_ms > b->cfg.session_idle_ms) {
            *p = up->next;
            up->next = gone;
            gone = up;
            b->session_count--;
        } else {
            p = &up->next;
        }
    }
    pthread_mutex_unlock(&b->lock);
    while (gone) {
        upstream_t *next = gone->next;
        fprintf(stderr, "mcp-bridge: session %.8s... idle: its child is closed\n", gone->session_id);
        mcp_client_free(gone->client);
        free(gone->session_id);
        free(gone);
        gone = next;
    }
}

void upstream_close_all(bridge_t *b) {
    pthread_mutex_lock(&b->lock);
    upstream_t *list = b->sessions, *shared = b->shared;
    b->sessions = NULL;
    b->shared = NULL;
    pthread_mutex_unlock(&b->lock);
    while (list) {
        upstream_t *next = list->next;
        mcp_client_free(list->client);
        free(list->session_id);
        free(list);
        list = next;
    }
    if (shared) { mcp_client_free(shared->client); json_decref(shared->sub_filter); free(shared); }
}
