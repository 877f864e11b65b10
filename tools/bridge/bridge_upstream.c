/*
** mcp-bridge: the upstream side. Connections to the server behind the bridge (one shared,
** or one per 2025-era client session), the calls in flight through them, and the relay of
** what an upstream sends by itself.
**
** An upstream's request to its client (sampling, elicitation, roots) goes to the newest call
** in flight on that upstream: over stdio a 2025-era server says nothing about which of its
** calls a request belongs to, so with one call at a time (the per-session case, and a
** shared child used by one client) the match is exact. It is asked of the bridge's client
** with mcp_call_request, which serves both eras: a 2025-era client gets the request live;
** for a 2026-07-28 client the engine answers the call with an InputRequiredResult instead
** (MCP_ERR_INPUT_REQUIRED here), so the bridge cancels the upstream call, and the client's
** retry runs it upstream again from the top; this time the engine has the answer and the
** upstream's request is answered at once. The upstream's tool therefore runs once per round,
** as the engine's own MRTR handlers do (DESIGN.md: MRTR with one handler for both eras).
*/
#include "bridge.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct upstream {
    bridge_t *b;
    upstream_t *next;          /* in bridge.sessions */
    char *session_id;          /* NULL for the shared upstream */
    mcp_client_t *client;      /* NULL until connected */
    int connecting;            /* a (re)connect is under way: others wait on conn_cond */
    int broken;                /* the connection closed: reconnect before the next use */
    int uses;                  /* calls and lists using client now */
    int modern;                /* the connection settled on 2026-07-28 */
    int64_t last_used_ms;
    /* The subscription that brings change notices (only the shared upstream has one). */
    mcp_client_t *sub_client;  /* the client it was made on (a reconnect drops it) */
    int64_t sub_id;
    json_t *sub_filter;        /* what it asked for (owned) */
};

/* One call of the bridge's server forwarded upstream, from the request to its answer. */
typedef struct inflight {
    struct inflight *next;
    uint64_t seq;              /* the cancel callback's key: a number stays valid, a pointer may not */
    bridge_t *b;
    upstream_t *up;
    mcp_call_t *call;
    char *method;
    int64_t request_id;        /* the upstream request, once known (0 before) */
    int cancel_pending;        /* the client cancelled before request_id was known */
    int input_required;        /* the upstream asked what the engine turned into an input request */
} inflight_t;

/* One upstream request relayed to the bridge's client. */
typedef struct relay {
    mcp_call_t *upstream_call;
} relay_t;

static inflight_t *inflight_head;       /* newest first; guarded by bridge.lock */
static uint64_t inflight_seq;
static pthread_cond_t conn_cond = PTHREAD_COND_INITIALIZER;   /* with bridge.lock */

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static char *dupf(const char *fmt, const char *a, const char *b2) {
    size_t n = strlen(fmt) + (a ? strlen(a) : 0) + (b2 ? strlen(b2) : 0) + 1;
    char *s = malloc(n);
    if (s) snprintf(s, n, fmt, a ? a : "", b2 ? b2 : "");
    return s;
}

/* Answer a call with a JSON-RPC error; data is a small object naming the reason. */
static void answer_error(mcp_call_t *call, int32_t code, const char *message, const char *reason) {
    json_t *data = json_pack("{s:s}", "reason", reason);
    char *text = data ? json_dumps(data, JSON_COMPACT) : NULL;
    mcp_call_error(call, code, message, text, NULL);
    free(text);
    json_decref(data);
}

/* Answer a call with the error object an upstream (or the engine) gave as JSON text. */
static void answer_peer_error(mcp_call_t *call, const char *error_json) {
    json_t *e = error_json ? json_loads(error_json, JSON_DECODE_ANY, NULL) : NULL;
    json_t *code = json_object_get(e, "code"), *msg = json_object_get(e, "message");
    json_t *data = json_object_get(e, "data");
    char *data_text = data ? json_dumps(data, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    mcp_call_error(call, json_is_integer(code) ? (int32_t)json_integer_value(code) : MCP_JSONRPC_INTERNAL_ERROR,
                   json_is_string(msg) ? json_string_value(msg) : "upstream error", data_text, NULL);
    free(data_text);
    json_decref(e);
}

/* The newest call in flight on up (bridge.lock held), or NULL. */
static inflight_t *newest_call_on(upstream_t *up) {
    for (inflight_t *f = inflight_head; f; f = f->next)
        if (f->up == up && !f->input_required) return f;
    return NULL;
}

static inflight_t *find_seq(uint64_t seq) {
    for (inflight_t *f = inflight_head; f; f = f->next)
        if (f->seq == seq) return f;
    return NULL;
}

static void unlink_inflight(inflight_t *f) {
    for (inflight_t **p = &inflight_head; *p; p = &(*p)->next)
        if (*p == f) { *p = f->next; return; }
}

/* ------------------------------------------------------------------ relay */

static void relay_answer(void *ud, mcp_status status, const char *result_json, const char *error_json) {
    relay_t *r = ud;
    if (status == MCP_OK) mcp_call_return(r->upstream_call, result_json, NULL);
    else if (status == MCP_ERR_PEER) answer_peer_error(r->upstream_call, error_json);
    else answer_error(r->upstream_call, MCP_JSONRPC_INTERNAL_ERROR, mcp_status_string(status), "client_unreachable");
    free(r);
}

/* The upstream asks its client something: ask the bridge's client, through the call in flight. */
static void relay_request(void *ud, mcp_call_t *ucall, const char *method, const char *params_json) {
    upstream_t *up = ud;
    bridge_t *b = NULL;
    mcp_call_t *call = NULL;
    uint64_t seq = 0;
    b = up->b;
    pthread_mutex_lock(&b->lock);
    inflight_t *f = newest_call_on(up);
    if (f) { call = f->call; seq = f->seq; }
    pthread_mutex_unlock(&b->lock);
    if (!call) {
        answer_error(ucall, MCP_JSONRPC_INTERNAL_ERROR,
                     "mcp-bridge: no client call is in flight to carry this request", "no_call_in_flight");
        return;
    }
    relay_t *r = calloc(1, sizeof *r);
    if (!r) { answer_error(ucall, MCP_JSONRPC_INTERNAL_ERROR, "out of memory", "no_memory"); return; }
    r->upstream_call = ucall;
    char *err = NULL;
    mcp_status st = mcp_call_request(call, method, params_json, b->cfg.timeout_ms, relay_answer, r, &err);
    if (st == MCP_OK) { mcp_string_free(err); return; }
    free(r);
    if (st == MCP_ERR_INPUT_REQUIRED) {
        /* A 2026-07-28 client: the engine answers the call with an InputRequiredResult.
        ** Stop the upstream's run; the client's retry starts it again with the answer. */
        mcp_client_t *client = NULL;
        int64_t id = 0;
        pthread_mutex_lock(&b->lock);
        inflight_t *g = find_seq(seq);
        if (g) { g->input_required = 1; id = g->request_id; client = up->client; if (!id) g->cancel_pending = 1; }
        if (client && id) up->uses++;   /* the client stays while it is used (see ensure_connected) */
        pthread_mutex_unlock(&b->lock);
        if (client && id) {
            mcp_client_cancel(client, id, "mcp-bridge: the client answers in its retry", NULL);
            upstream_release(b, up);
        }
        answer_error(ucall, MCP_JSONRPC_INTERNAL_ERROR,
                     "mcp-bridge: asked of a 2026-07-28 client; the call is retried with its answer", "input_required");
    } else if (st == MCP_ERR_UNSUPPORTED) {
        char *m = dupf("mcp-bridge: the client cannot answer %s (%s)", method, err ? err : "not declared");
        answer_error(ucall, MCP_JSONRPC_METHOD_NOT_FOUND, m, "client_capability_missing");
        free(m);
    } else {
        char *m = dupf("mcp-bridge: cannot ask the client: %s%s", mcp_status_string(st), "");
        answer_error(ucall, MCP_JSONRPC_INTERNAL_ERROR, m, "client_unreachable");
        free(m);
    }
    mcp_string_free(err);
}

/* What an upstream notifies by itself: logs, list changes, resource updates. */
static void relay_notification(void *ud, const char *method, const char *params_json) {
    upstream_t *up = ud;
    bridge_t *b = up->b;
    if (!method) return;   /* a subscription's end */
    json_t *params = json_loads(params_json ? params_json : "{}", 0, NULL);
    if (!strcmp(method, "notifications/message")) {
        const char *level = json_string_value(json_object_get(params, "level"));
        const char *logger = json_string_value(json_object_get(params, "logger"));
        json_t *data = json_object_get(params, "data");
        char *data_text = data ? json_dumps(data, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
        mcp_call_t *call = NULL;
        pthread_mutex_lock(&b->lock);
        inflight_t *f = newest_call_on(up);
        if (f) call = f->call;
        int shared = (up == b->shared);
        pthread_mutex_unlock(&b->lock);
        /* To the call in flight (its own client, at its own log level, in either era); with
        ** none, a shared upstream's log goes to every session; a per-session child's is its
        ** session's alone, and with no call to carry it, it is dropped. */
        if (level && !(call && mcp_call_log(call, level, logger, data_text, NULL) == MCP_OK) && shared)
            mcp_server_log(b->server, level, logger, data_text, NULL);
        free(data_text);
    } else if (!strcmp(method, "notifications/tools/list_changed") ||
               !strcmp(method, "notifications/prompts/list_changed") ||
               !strcmp(method, "notifications/resources/list_changed")) {
        if (up == b->shared) forward_request_sync(b);
    } else if (!strcmp(method, "notifications/resources/updated")) {
        const char *uri = json_string_value(json_object_get(params, "uri"));
        if (uri) mcp_server_notify_resource_updated(b->server, uri, NULL, NULL);
    }
    json_decref(params);
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
        st = mcp_client_set_request_handler(c, asked[i], relay_request, j->up, NULL, &err);
    if (st == MCP_OK) st = mcp_client_set_notification_handler(c, relay_notification, j->up, NULL, &err);
    if (st == MCP_OK) {
        if (b->cfg.url) {
            char *http_opts = NULL;
            if (b->cfg.http_headers) http_opts = dupf("{\"headers\":%s}", b->cfg.http_headers, NULL);
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
        j->why = dupf("mcp-bridge: cannot reach the upstream server: %s", err ? err : mcp_status_string(st), NULL);
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
        job.why = dupf("mcp-bridge: cannot start a thread: %s", strerror(errno), NULL);
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
                *why = dupf("out of memory%s%s", NULL, NULL);
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
    up->last_used_ms = now_ms();
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
        up->last_used_ms = now_ms();
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
    up->last_used_ms = now_ms();
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

/* A subscription's notices. At 2026-07-28 they come only this way; at the 2025 era they
** also reach the notification handler (the subscription only sent resources/subscribe),
** which relays them once. */
static void relay_subscribed(void *ud, const char *method, const char *params_json) {
    upstream_t *up = ud;
    if (up->modern) relay_notification(ud, method, params_json);
}

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
        st = mcp_client_subscribe(client, text, relay_subscribed, up, NULL, &id, NULL, &err);
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

/* ------------------------------------------------------------------ forwarding */

static void forward_progress(void *ud, const char *params_json) {
    inflight_t *f = ud;
    json_t *p = json_loads(params_json, 0, NULL);
    json_t *total = json_object_get(p, "total");
    mcp_call_progress(f->call, json_number_value(json_object_get(p, "progress")),
                      json_is_number(total) ? json_number_value(total) : -1.0,
                      json_string_value(json_object_get(p, "message")), NULL);
    json_decref(p);
}

/* A modern upstream's result carries its era's envelope ("resultType", its serverInfo in
** _meta): that is the upstream's side of the conversation, not the result. The engine puts
** the bridge's own envelope on for the client's era. NULL when there is nothing to take out. */
static char *strip_envelope(const char *result_json) {
    if (!strstr(result_json, "\"resultType\"") && !strstr(result_json, "io.modelcontextprotocol/serverInfo"))
        return NULL;
    json_t *r = json_loads(result_json, 0, NULL);
    if (!json_is_object(r)) { json_decref(r); return NULL; }
    json_object_del(r, "resultType");
    json_t *meta = json_object_get(r, "_meta");
    json_object_del(meta, "io.modelcontextprotocol/serverInfo");
    if (json_is_object(meta) && json_object_size(meta) == 0) json_object_del(r, "_meta");
    char *text = json_dumps(r, JSON_COMPACT);
    json_decref(r);
    return text;
}

static void forward_done(void *ud, mcp_status status, const char *result_json, const char *error_json) {
    inflight_t *f = ud;
    bridge_t *b = f->b;
    pthread_mutex_lock(&b->lock);
    unlink_inflight(f);
    int input_required = f->input_required;
    if (status == MCP_ERR_CLOSED) f->up->broken = 1;
    pthread_mutex_unlock(&b->lock);
    char msg[512];
    if (input_required) {
        /* The engine sends the InputRequiredResult whatever this answer says. */
        mcp_call_error(f->call, MCP_JSONRPC_INTERNAL_ERROR, "input required", NULL, NULL);
    } else if (status == MCP_OK) {
        char *err = NULL;
        char *own = strip_envelope(result_json);
        if (mcp_call_return(f->call, own ? own : result_json, &err) != MCP_OK && err)
            fprintf(stderr, "mcp-bridge: an upstream %s result was refused: %s\n", f->method, err);
        mcp_string_free(err);
        free(own);
    } else if (status == MCP_ERR_PEER && error_json) {
        /* A JSON-RPC error of the upstream's own; a lost connection's text says what broke. */
        json_t *e = json_loads(error_json, 0, NULL);
        json_t *data = json_object_get(e, "data");
        if (json_object_get(data, "httpStatus")) {
            snprintf(msg, sizeof msg, "mcp-bridge: the upstream server refused %s: %s", f->method,
                     json_string_value(json_object_get(e, "message")) ? json_string_value(json_object_get(e, "message")) : "");
            answer_error(f->call, MCP_JSONRPC_INTERNAL_ERROR, msg, "upstream_refused");
        } else {
            answer_peer_error(f->call, error_json);
        }
        json_decref(e);
    } else if (status == MCP_ERR_TIMEOUT) {
        snprintf(msg, sizeof msg, "mcp-bridge: the upstream server did not answer %s within %d ms",
                 f->method, (int)b->cfg.timeout_ms);
        answer_error(f->call, MCP_JSONRPC_INTERNAL_ERROR, msg, "upstream_timeout");
    } else if (status == MCP_ERR_CLOSED) {
        json_t *e = error_json ? json_loads(error_json, 0, NULL) : NULL;
        const char *what = json_string_value(json_object_get(e, "message"));
        snprintf(msg, sizeof msg, "mcp-bridge: the upstream server closed the connection during %s%s%s; "
                 "it is started again for the next request", f->method, what ? ": " : "", what ? what : "");
        answer_error(f->call, MCP_JSONRPC_INTERNAL_ERROR, msg, "upstream_closed");
        json_decref(e);
    } else {
        snprintf(msg, sizeof msg, "mcp-bridge: %s upstream failed: %s", f->method, mcp_status_string(status));
        answer_error(f->call, MCP_JSONRPC_INTERNAL_ERROR, msg, "upstream_failed");
    }
    upstream_release(b, f->up);
    free(f->method);
    free(f);
}

/* The client cancelled (or its session closed): cancel the upstream request. */
static void forward_cancel(void *ud) {
    bridge_t *b = bridge_instance;
    uint64_t seq = (uint64_t)(uintptr_t)ud;
    mcp_client_t *client = NULL;
    int64_t id = 0;
    upstream_t *up = NULL;
    pthread_mutex_lock(&b->lock);
    inflight_t *f = find_seq(seq);
    if (f) { up = f->up; client = up->client; id = f->request_id; if (!id) f->cancel_pending = 1; }
    if (client && id) up->uses++;   /* the client stays while it is used (see ensure_connected) */
    pthread_mutex_unlock(&b->lock);
    if (client && id) {
        mcp_client_cancel(client, id, "cancelled by the client", NULL);
        upstream_release(b, up);
    }
}

void upstream_forward(bridge_t *b, upstream_t *up, mcp_call_t *call, const char *method, json_t *params) {
    inflight_t *f = calloc(1, sizeof *f);
    char *params_text = json_dumps(params, JSON_COMPACT);
    char *method_copy = strdup(method);
    if (!f || !params_text || !method_copy) {
        free(f); free(params_text); free(method_copy);
        answer_error(call, MCP_JSONRPC_INTERNAL_ERROR, "out of memory", "no_memory");
        upstream_release(b, up);
        return;
    }
    f->b = b;
    f->up = up;
    f->call = call;
    f->method = method_copy;
    /* Progress is asked upstream only when the client asked for it. */
    char *meta_text = NULL;
    int progress = 0;
    if (mcp_call_meta(call, &meta_text, NULL) == MCP_OK) {
        json_t *meta = json_loads(meta_text, 0, NULL);
        progress = json_object_get(meta, "progressToken") != NULL;
        json_decref(meta);
    }
    mcp_string_free(meta_text);
    pthread_mutex_lock(&b->lock);
    f->seq = ++inflight_seq;
    uint64_t seq = f->seq;
    f->next = inflight_head;
    inflight_head = f;
    mcp_client_t *client = up->client;
    pthread_mutex_unlock(&b->lock);
    int64_t id = 0;
    char *err = NULL;
    /* From here f belongs to forward_done, which may run before this returns: f is reached
    ** again only through its sequence number, under the lock. */
    mcp_status st = mcp_client_request_async(client, method, params_text, b->cfg.timeout_ms, forward_done,
                                             progress ? forward_progress : NULL, f, &id, &err);
    free(params_text);
    if (st != MCP_OK) {
        pthread_mutex_lock(&b->lock);
        unlink_inflight(f);
        if (st == MCP_ERR_STATE || st == MCP_ERR_CLOSED) up->broken = 1;
        pthread_mutex_unlock(&b->lock);
        char msg[512];
        snprintf(msg, sizeof msg, "mcp-bridge: cannot send %s upstream: %s", method, err ? err : mcp_status_string(st));
        answer_error(call, st == MCP_ERR_UNSUPPORTED ? MCP_JSONRPC_METHOD_NOT_FOUND : MCP_JSONRPC_INTERNAL_ERROR, msg,
                     st == MCP_ERR_STATE || st == MCP_ERR_CLOSED ? "upstream_closed" : "upstream_refused");
        mcp_string_free(err);
        free(f->method);
        free(f);
        upstream_release(b, up);
        return;
    }
    mcp_string_free(err);
    int cancel_now = 0;
    pthread_mutex_lock(&b->lock);
    inflight_t *g = find_seq(seq);
    if (g) { g->request_id = id; cancel_now = g->cancel_pending; }
    if (cancel_now) up->uses++;     /* (forward_done may have released this call's use) */
    pthread_mutex_unlock(&b->lock);
    if (cancel_now) {
        mcp_client_cancel(client, id, "cancelled by the client", NULL);
        upstream_release(b, up);
    }
    mcp_call_on_cancel(call, forward_cancel, (void *)(uintptr_t)seq, NULL);
}

/* ------------------------------------------------------------------ lifetime */

void upstream_reap_idle(bridge_t *b) {
    if (!b->cfg.per_session) return;
    upstream_t *gone = NULL;
    int64_t now = now_ms();
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
