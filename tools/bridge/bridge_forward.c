/*
** mcp-bridge: the features the bridge offers. Each is the upstream's own definition,
** registered with the bridge's server verbatim (the engine then serves both eras, pages the
** lists, and tells clients of changes), with a handler that forwards the call upstream.
** The copy is kept in step by a sync thread, woken by the upstream's list_changed notices.
**
** Tools are registered with MCP_TOOL_NO_VALIDATION: the upstream owns its schemas and
** checks its own arguments; the bridge passes calls through as they are. And MCP_TOOL_INLINE:
** forwarding never blocks (see forward), so no worker thread hop per call.
*/
#include "bridge.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One kind of feature: its list method, the member that names an item, how to add/remove. */
typedef struct kind {
    const char *capability;   /* in the upstream's capabilities */
    const char *list_method;
    const char *key;          /* name, uri or uriTemplate */
    json_t *current;          /* key -> definition, as registered (guarded by the sync thread) */
} kind_t;

static kind_t kinds[] = {
    {"tools", "tools/list", "name", NULL},
    {"resources", "resources/list", "uri", NULL},
    {"resources", "resources/templates/list", "uriTemplate", NULL},
    {"prompts", "prompts/list", "name", NULL},
};
enum { KIND_TOOL, KIND_RESOURCE, KIND_TEMPLATE, KIND_PROMPT, KIND_COUNT };

/* ------------------------------------------------------------------ handlers */

/* A call whose upstream must be started first: a thread of the bridge's own waits for it. */
typedef struct pending {
    mcp_call_t *call;
    const char *method;   /* a literal */
    json_t *params;
} pending_t;

static void forward_connected(mcp_call_t *call, const char *method, json_t *params) {
    bridge_t *b = bridge_instance;
    char *why = NULL;
    upstream_t *up = upstream_for_call(b, call, &why);
    if (!up) {
        mcp_call_error(call, MCP_JSONRPC_INTERNAL_ERROR, why ? why : "mcp-bridge: no upstream server",
                       "{\"reason\":\"upstream_unavailable\"}", NULL);
        free(why);
    } else {
        upstream_forward(b, up, call, method, params);
    }
    json_decref(params);
}

static void *pending_thread(void *arg) {
    pending_t *p = arg;
    forward_connected(p->call, p->method, p->params);
    free(p);
    return NULL;
}

/* Forward at once when the upstream is connected; this never blocks, so tools run inline on
** the I/O thread (MCP_TOOL_INLINE). Starting a child blocks: that goes to a thread. */
static void forward(mcp_call_t *call, const char *method, json_t *params) {
    bridge_t *b = bridge_instance;
    upstream_t *up = upstream_ready_for_call(b, call);
    if (up) {
        upstream_forward(b, up, call, method, params);
        json_decref(params);
        return;
    }
    pending_t *p = malloc(sizeof *p);
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (p) *p = (pending_t){call, method, params};
    if (!p || pthread_create(&t, &attr, pending_thread, p) != 0) {
        free(p);
        mcp_call_error(call, MCP_JSONRPC_INTERNAL_ERROR, "mcp-bridge: cannot start a thread for the upstream",
                       "{\"reason\":\"upstream_unavailable\"}", NULL);
        json_decref(params);
    }
    pthread_attr_destroy(&attr);
}

static json_t *loads_or_empty(const char *text) {
    json_t *v = text ? json_loads(text, 0, NULL) : NULL;
    return v ? v : json_object();
}

static void on_tool(void *ud, mcp_call_t *call, const char *arguments_json) {
    forward(call, "tools/call", json_pack("{s:s, s:o}", "name", (const char *)ud, "arguments",
                                          loads_or_empty(arguments_json)));
}

static void on_resource(void *ud, mcp_call_t *call, const char *uri, const char *variables_json) {
    (void)ud;
    (void)variables_json;
    forward(call, "resources/read", json_pack("{s:s}", "uri", uri));
}

static void on_prompt(void *ud, mcp_call_t *call, const char *arguments_json) {
    forward(call, "prompts/get", json_pack("{s:s, s:o}", "name", (const char *)ud, "arguments",
                                           loads_or_empty(arguments_json)));
}

static void on_completion(void *ud, mcp_call_t *call, const char *ref_json, const char *argument_name,
                          const char *argument_value, const char *context_json) {
    (void)ud;
    json_t *params = json_pack("{s:o, s:{s:s, s:s}}", "ref", loads_or_empty(ref_json), "argument",
                               "name", argument_name, "value", argument_value);
    json_t *context = loads_or_empty(context_json);
    if (json_object_size(context) > 0) json_object_set_new(params, "context", json_pack("{s:o}", "arguments", context));
    else json_decref(context);
    forward(call, "completion/complete", params);
}

void forward_install_completion(bridge_t *b) {
    if (json_object_get(b->capabilities, "completions"))
        mcp_server_set_completion(b->server, on_completion, NULL, NULL, NULL);
}

/* ------------------------------------------------------------------ keeping in step */

static mcp_status add_one(bridge_t *b, int kind, const char *key, json_t *def, char **err) {
    char *text = json_dumps(def, JSON_COMPACT);
    if (!text) return MCP_ERR_NO_MEMORY;
    mcp_status st = MCP_ERR_INVALID_ARG;
    char *name = strdup(key);
    if (!name) { free(text); return MCP_ERR_NO_MEMORY; }
    switch (kind) {
    case KIND_TOOL:
        st = mcp_server_add_tool_ex(b->server, text, on_tool, name, free, MCP_TOOL_NO_VALIDATION | MCP_TOOL_INLINE,
                                    err);
        break;
    case KIND_RESOURCE:
        st = mcp_server_add_resource(b->server, text, on_resource, name, free, err);
        break;
    case KIND_TEMPLATE:
        st = mcp_server_add_resource_template(b->server, text, on_resource, name, free, err);
        break;
    case KIND_PROMPT:
        st = mcp_server_add_prompt(b->server, text, on_prompt, name, free, err);
        break;
    }
    if (st != MCP_OK) free(name);   /* free_fn runs only for a registration that took */
    free(text);
    return st;
}

static void remove_one(bridge_t *b, int kind, const char *key) {
    switch (kind) {
    case KIND_TOOL: mcp_server_remove_tool(b->server, key, NULL); break;
    case KIND_RESOURCE: mcp_server_remove_resource(b->server, key, NULL); break;
    case KIND_TEMPLATE: mcp_server_remove_resource_template(b->server, key, NULL); break;
    case KIND_PROMPT: mcp_server_remove_prompt(b->server, key, NULL); break;
    }
}

/* Bring one kind in step with the upstream's list (items: a JSON array). */
static void sync_kind(bridge_t *b, int kind, json_t *items) {
    kind_t *k = &kinds[kind];
    if (!k->current) k->current = json_object();
    json_t *seen = json_object();
    size_t i;
    json_t *def;
    json_array_foreach(items, i, def) {
        const char *key = json_string_value(json_object_get(def, k->key));
        if (!key || json_object_get(seen, key)) continue;
        json_object_set(seen, key, def);
        json_t *old = json_object_get(k->current, key);
        if (old && json_equal(old, def)) continue;
        if (old) remove_one(b, kind, key);
        char *err = NULL;
        mcp_status st = add_one(b, kind, key, def, &err);
        if (st == MCP_OK) {
            json_object_set(k->current, key, def);
        } else {
            json_object_del(k->current, key);
            fprintf(stderr, "mcp-bridge: the upstream's %s \"%s\" is not offered: %s\n", k->key, key,
                    err ? err : mcp_status_string(st));
        }
        mcp_string_free(err);
    }
    const char *key;
    void *tmp;
    json_object_foreach_safe(k->current, tmp, key, def) {
        if (!json_object_get(seen, key)) {
            remove_one(b, kind, key);
            json_object_del(k->current, key);
        }
    }
    json_decref(seen);
}

void forward_sync(bridge_t *b) {
    char *why = NULL;
    upstream_t *up = upstream_acquire_shared(b, &why);
    if (!up) { free(why); return; }
    mcp_client_t *client = upstream_client(b, up);
    for (int kind = 0; kind < KIND_COUNT; kind++) {
        if (!json_object_get(b->capabilities, kinds[kind].capability)) continue;
        char *items_text = NULL, *err = NULL;
        mcp_status st = mcp_client_list(client, kinds[kind].list_method, b->cfg.timeout_ms, &items_text, &err);
        if (st == MCP_OK) {
            json_t *items = json_loads(items_text, 0, NULL);
            if (json_is_array(items)) sync_kind(b, kind, items);
            json_decref(items);
        } else if (!(kind == KIND_TEMPLATE && st == MCP_ERR_PEER)) {
            /* (a server with resources may still not know templates/list) */
            fprintf(stderr, "mcp-bridge: %s upstream failed: %s\n", kinds[kind].list_method,
                    err ? err : mcp_status_string(st));
        }
        mcp_string_free(items_text);
        mcp_string_free(err);
    }
    json_t *uris = json_array();
    const char *uri;
    json_t *def;
    if (kinds[KIND_RESOURCE].current)
        json_object_foreach(kinds[KIND_RESOURCE].current, uri, def) json_array_append_new(uris, json_string(uri));
    upstream_subscribe(b, up, uris);
    json_decref(uris);
    upstream_release(b, up);
}

void forward_request_sync(bridge_t *b) {
    pthread_mutex_lock(&b->lock);
    b->sync_wanted = 1;
    pthread_cond_broadcast(&b->sync_cond);
    pthread_mutex_unlock(&b->lock);
}
