/*
** mcp-bridge: what its files share.
**
**   bridge_main.c      the command line, the two modes (--listen, --connect), start-up
**   bridge_upstream.c  the connections to the server behind the bridge (a stdio child or
**                      a remote URL): start, restart, uses, change subscription, idle close
**   bridge_calls.c     the calls in flight through them, and the relay of what an upstream
**                      sends on its own: its requests (sampling, elicitation, roots) and its
**                      notifications
**   bridge_forward.c   the features the bridge offers (a copy of the upstream's tools,
**                      resources, templates and prompts, kept in step) and their handlers,
**                      each of which forwards one call upstream
**   bridge_oauth.c     OAuth toward a remote upstream (--oauth): the connect option, the
**                      authorization URL for the person, the credentials kept across reconnects
**
** Everything protocol-shaped is the engine's (include/mcp.h): the bridge's server side is
** an mcp_server_t (stdio or the engine's HTTP listener with its config: auth, limits,
** metrics, admin listener), its upstream side an mcp_client_t (a child over stdio or a
** remote over Streamable HTTP). The bridge only copies definitions and relays calls.
*/
#ifndef MCP_BRIDGE_H
#define MCP_BRIDGE_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* sigtimedwait, strdup, clock_gettime under -std=c11 */
#endif

#include <mcp.h>
#include <jansson.h>
#include <pthread.h>
#include <stdint.h>

typedef struct upstream upstream_t;
typedef struct bridge bridge_t;

/* The process's one bridge: engine callbacks whose user_data is a number reach it here. */
extern bridge_t *bridge_instance;

/* How the bridge reaches its upstream and what it promises its clients. Set once at start-up. */
typedef struct bridge_config {
    char **command;            /* NULL-terminated argv of the stdio child, or NULL with url */
    const char *url;           /* the remote server (--connect), or NULL */
    const char *http_headers;  /* JSON object of extra headers for the remote, or NULL */
    json_t *oauth;             /* the "oauth" connect option for the remote (--oauth...), or NULL */
    const char *oauth_store;   /* --oauth-store FILE: credentials kept across runs, or NULL */
    const char *upstream_era;  /* the client's "era" option toward the upstream ("auto") */
    int per_session;           /* one child per 2025-era client session */
    int32_t timeout_ms;        /* each upstream request's timeout (a stalled upstream) */
    int32_t start_timeout_ms;  /* a child's start, up to its initialize answer */
    int64_t session_idle_ms;   /* a per-session child with no call this long is closed */
    int max_children;          /* the most per-session children alive at once */
} bridge_config_t;

/* The bridge: its server, its upstreams, the lock over all of them. */
struct bridge {
    bridge_config_t cfg;
    mcp_server_t *server;
    pthread_mutex_t lock;      /* guards every field below and every upstream's state */
    upstream_t *shared;        /* the one upstream, or the template child with --per-session */
    upstream_t *sessions;      /* per-session children (list) */
    int session_count;
    json_t *capabilities;      /* the shared upstream's server capabilities (owned) */
    /* Keeping the feature copy in step: the sync thread waits for a change notice. */
    pthread_cond_t sync_cond;
    int sync_wanted;
    int stopping;
};

/* One connection to the server behind the bridge (fields guarded by bridge.lock). */
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

/* Formatted text in new memory (caller frees with free), or NULL. */
char *bridge_strf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int64_t bridge_now_ms(void);

/* ---- bridge_upstream.c ---- */

/* Connect the shared upstream (from a host thread, at start-up). 0 on success; else
** prints why to stderr. */
int upstream_start_shared(bridge_t *b);

/* The upstream a call of the bridge's server goes to, connected (a child started or
** restarted as needed); NULL with *why set (caller frees with free) when it cannot be
** had. The caller holds no lock. Counts one in-flight use: release with upstream_release. */
upstream_t *upstream_for_call(bridge_t *b, mcp_call_t *call, char **why);
void upstream_release(bridge_t *b, upstream_t *up);

/* As upstream_for_call, without waiting: the upstream when it is connected, else NULL (a
** child to start or restart: then upstream_for_call, off the I/O thread). */
upstream_t *upstream_ready_for_call(bridge_t *b, mcp_call_t *call);

/* Forward one call of the bridge's server to up: method and params as the upstream
** request; the answer (result, error, progress, cancellation, the upstream's requests
** made meanwhile) reaches the call. Consumes the call and the use of up. */
void upstream_forward(bridge_t *b, upstream_t *up, mcp_call_t *call, const char *method,
                      json_t *params);

/* The shared upstream, connected, with one use counted (release with upstream_release):
** the sync thread lists through it. */
upstream_t *upstream_acquire_shared(bridge_t *b, char **why);
mcp_client_t *upstream_client(bridge_t *b, upstream_t *up);

/* Hear up's change notices: list changes (2026-07-28: a subscriptions/listen stream) and
** updates of resource_uris (an array; resources/subscribe at the 2025 era), when the upstream
** declares them. Redone only when what is asked changes or up reconnected. Host thread. */
void upstream_subscribe(bridge_t *b, upstream_t *up, json_t *resource_uris);

/* Close per-session children idle past cfg.session_idle_ms (called periodically). */
void upstream_reap_idle(bridge_t *b);

/* Close every upstream (at exit). */
void upstream_close_all(bridge_t *b);

/* ---- bridge_oauth.c ---- */

/* Read --oauth-store's file, if any (a missing one is a first run). 0, or -1 after saying why. */
int oauth_load(bridge_t *b);

/* The "oauth" option of the next upstream connect: cfg.oauth plus the credentials obtained so
** far (new reference), or NULL without --oauth. Any thread. */
json_t *oauth_connect_option(bridge_t *b);

/* Give a new upstream client the authorization handler (the URL on stderr) and the
** credentials store. MCP_OK without --oauth. */
mcp_status oauth_attach(bridge_t *b, mcp_client_t *c, char **err);

/* Drop the credentials kept in memory (at exit). */
void oauth_free(void);

/* ---- bridge_calls.c ---- */

/* The engine's handlers of each upstream client (user_data: the upstream): the upstream's
** requests to its client, its notifications, and those of its subscription. */
void calls_relay_request(void *ud, mcp_call_t *ucall, const char *method, const char *params_json);
void calls_relay_notification(void *ud, const char *method, const char *params_json);
void calls_relay_subscribed(void *ud, const char *method, const char *params_json);

/* ---- bridge_forward.c ---- */

/* Copy the shared upstream's features into the bridge's server: add what is new,
** replace what changed, remove what is gone. Host thread (it lists, blocking). */
void forward_sync(bridge_t *b);

/* Ask the sync thread for a forward_sync (any thread; a list_changed notice). */
void forward_request_sync(bridge_t *b);

/* Install the completion handler when the upstream offers completions. */
void forward_install_completion(bridge_t *b);

#endif
