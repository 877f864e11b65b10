/*
** mcp-bridge: the calls in flight through the upstreams, and the relay of what an upstream
** sends by itself (its requests to its client, its notifications).
**
** An upstream's request to its client (sampling, elicitation, roots) goes to the newest call
** in flight on that upstream: over stdio a 2025-era server says nothing about which of its
** calls a request belongs to, so with one call at a time (the per-session case, and a
** shared child used by one client) the match is exact; with concurrent calls on a shared
** child it is a guess (the newest call's client is asked; use --per-session). It is asked of the bridge's client
** with mcp_call_request, which serves both eras: a 2025-era client gets the request live;
** for a 2026-07-28 client the engine answers the call with an InputRequiredResult instead
** (MCP_ERR_INPUT_REQUIRED here), so the bridge cancels the upstream call, and the client's
** retry runs it upstream again from the top; this time the engine has the answer and the
** upstream's request is answered at once. The upstream's tool therefore runs once per round,
** as the engine's own MRTR handlers do (DESIGN.md: MRTR with one handler for both eras).
*/
#include "bridge.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
void calls_relay_request(void *ud, mcp_call_t *ucall, const char *method, const char *params_json) {
    upstream_t *up = ud;
    bridge_t *b = up->b;
    mcp_call_t *call = NULL;
    uint64_t seq = 0;
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
        char *m = bridge_strf("mcp-bridge: the client cannot answer %s (%s)", method, err ? err : "not declared");
        answer_error(ucall, MCP_JSONRPC_METHOD_NOT_FOUND, m, "client_capability_missing");
        free(m);
    } else {
        char *m = bridge_strf("mcp-bridge: cannot ask the client: %s", mcp_status_string(st));
        answer_error(ucall, MCP_JSONRPC_INTERNAL_ERROR, m, "client_unreachable");
        free(m);
    }
    mcp_string_free(err);
}

/* What an upstream notifies by itself: logs, list changes, resource updates. */
void calls_relay_notification(void *ud, const char *method, const char *params_json) {
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


/* A subscription's notices. At 2026-07-28 they come only this way; at the 2025 era they
** also reach the notification handler (the subscription only sent resources/subscribe),
** which relays them once. */
void calls_relay_subscribed(void *ud, const char *method, const char *params_json) {
    upstream_t *up = ud;
    if (up->modern) calls_relay_notification(ud, method, params_json);
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
