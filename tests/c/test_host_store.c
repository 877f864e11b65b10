/*
** test_host_store.c: a state store the host supplies (mcp_server_set_store,
** Since 1.7), here records in a C array behind a mutex. Over raw HTTP
** sockets: a 2025-11-25 session, a call's SSE stream and a task survive the
** server (freed, and a new server given the same host store serves the
** session: exact Last-Event-ID replay, the task's result); a failing
** callback answers 503 + -32603 with the host's message, and service
** resumes when the store does; bad method tables are refused.
*/
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

/* ------------------------------------------------------------ the host store */

typedef struct {
    uint8_t *key, *value;
    size_t key_len, value_len;
    int64_t expires_at_ms;
} record_t;

typedef struct {
    pthread_mutex_t mu;
    record_t *records;
    size_t count, cap;
    const char *fail;        /* non-NULL: every call fails, with this message ("" = none) */
    atomic_int destroyed;
    atomic_int gets, puts, removes, lists, checks;
    atomic_int second_row_refused; /* a get answering twice got MCP_ERR_STATE */
} host_store_t;

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void store_init(host_store_t *s) {
    memset(s, 0, sizeof *s);
    pthread_mutex_init(&s->mu, NULL);
}

static void store_clear(host_store_t *s) {
    for (size_t i = 0; i < s->count; i++) {
        free(s->records[i].key);
        free(s->records[i].value);
    }
    free(s->records);
    pthread_mutex_destroy(&s->mu);
}

static record_t *find(host_store_t *s, const uint8_t *key, size_t len) {
    for (size_t i = 0; i < s->count; i++)
        if (s->records[i].key_len == len && memcmp(s->records[i].key, key, len) == 0) return &s->records[i];
    return NULL;
}

/* Under the lock: fails the call when the store is set to fail. */
static int failing(host_store_t *s, mcp_store_call_t *call) {
    if (!s->fail) return 0;
    if (*s->fail) CHECK_RC(mcp_store_call_error(call, s->fail, NULL), MCP_OK, NULL);
    return 1;
}

static mcp_status hs_get(void *ud, mcp_store_call_t *call, const uint8_t *key, size_t key_len) {
    host_store_t *s = ud;
    atomic_fetch_add(&s->gets, 1);
    pthread_mutex_lock(&s->mu);
    if (failing(s, call)) {
        pthread_mutex_unlock(&s->mu);
        return MCP_ERR_IO;
    }
    record_t *r = find(s, key, key_len);
    if (r && r->expires_at_ms > now_ms()) {
        CHECK_RC(mcp_store_call_row(call, NULL, 0, r->value, r->value_len, NULL), MCP_OK, NULL);
        if (mcp_store_call_row(call, NULL, 0, r->value, r->value_len, NULL) == MCP_ERR_STATE)
            atomic_store(&s->second_row_refused, 1);
    }
    pthread_mutex_unlock(&s->mu);
    return MCP_OK;
}

static mcp_status hs_put(void *ud, mcp_store_call_t *call, const uint8_t *key, size_t key_len, const uint8_t *value,
                         size_t value_len, int64_t expires_at_ms) {
    host_store_t *s = ud;
    atomic_fetch_add(&s->puts, 1);
    CHECK(key != NULL && value != NULL && expires_at_ms > now_ms());
    pthread_mutex_lock(&s->mu);
    if (failing(s, call)) {
        pthread_mutex_unlock(&s->mu);
        return MCP_ERR_IO;
    }
    record_t *r = find(s, key, key_len);
    if (!r) {
        if (s->count == s->cap) {
            s->cap = s->cap ? s->cap * 2 : 64;
            s->records = realloc(s->records, s->cap * sizeof *s->records);
        }
        r = &s->records[s->count++];
        r->key = malloc(key_len);
        memcpy(r->key, key, key_len);
        r->key_len = key_len;
    } else {
        free(r->value);
    }
    r->value = malloc(value_len ? value_len : 1);
    memcpy(r->value, value, value_len);
    r->value_len = value_len;
    r->expires_at_ms = expires_at_ms;
    pthread_mutex_unlock(&s->mu);
    return MCP_OK;
}

static mcp_status hs_remove(void *ud, mcp_store_call_t *call, const uint8_t *key, size_t key_len) {
    host_store_t *s = ud;
    atomic_fetch_add(&s->removes, 1);
    pthread_mutex_lock(&s->mu);
    if (failing(s, call)) {
        pthread_mutex_unlock(&s->mu);
        return MCP_ERR_IO;
    }
    record_t *r = find(s, key, key_len);
    if (r) {
        free(r->key);
        free(r->value);
        *r = s->records[--s->count];
    }
    pthread_mutex_unlock(&s->mu);
    return MCP_OK;
}

static mcp_status hs_list(void *ud, mcp_store_call_t *call, const uint8_t *prefix, size_t prefix_len) {
    host_store_t *s = ud;
    atomic_fetch_add(&s->lists, 1);
    pthread_mutex_lock(&s->mu);
    if (failing(s, call)) {
        pthread_mutex_unlock(&s->mu);
        return MCP_ERR_IO;
    }
    int64_t now = now_ms();
    for (size_t i = 0; i < s->count; i++) {
        record_t *r = &s->records[i];
        if (r->key_len >= prefix_len && memcmp(r->key, prefix, prefix_len) == 0 && r->expires_at_ms > now)
            CHECK_RC(mcp_store_call_row(call, r->key, r->key_len, r->value, r->value_len, NULL), MCP_OK, NULL);
    }
    /* A row outside the prefix is refused (and not listed). */
    CHECK_RC(mcp_store_call_row(call, (const uint8_t *)"zz", 2, (const uint8_t *)"v", 1, NULL), MCP_ERR_INVALID_ARG, NULL);
    pthread_mutex_unlock(&s->mu);
    return MCP_OK;
}

static mcp_status hs_check(void *ud, mcp_store_call_t *call) {
    host_store_t *s = ud;
    atomic_fetch_add(&s->checks, 1);
    pthread_mutex_lock(&s->mu);
    int failed = failing(s, call);
    pthread_mutex_unlock(&s->mu);
    /* Rows belong to get and list only. */
    CHECK_RC(mcp_store_call_row(call, NULL, 0, NULL, 0, NULL), MCP_ERR_STATE, NULL);
    return failed ? MCP_ERR_IO : MCP_OK;
}

static void hs_destroy(void *ud) {
    host_store_t *s = ud;
    atomic_fetch_add(&s->destroyed, 1);
}

static mcp_store_methods_t methods(void) {
    mcp_store_methods_t m = {sizeof(mcp_store_methods_t), hs_get, hs_put, hs_remove, hs_list, hs_check, hs_destroy};
    return m;
}

/* ------------------------------------------------------------ raw HTTP */

typedef struct {
    int status;
    char *head; /* status line and headers */
    char *body; /* de-chunked */
} http_response_t;

static void response_free(http_response_t *r) {
    free(r->head);
    free(r->body);
    memset(r, 0, sizeof *r);
}

/* The value of a header (case-insensitive name), copied; NULL if absent. */
static char *header_value(const http_response_t *r, const char *name) {
    size_t n = strlen(name);
    for (const char *p = strstr(r->head, "\r\n"); p && p[2]; p = strstr(p + 2, "\r\n")) {
        if (strncasecmp(p + 2, name, n) == 0 && p[2 + n] == ':') {
            const char *v = p + 3 + n;
            while (*v == ' ') v++;
            const char *end = strstr(v, "\r\n");
            return strndup(v, end ? (size_t)(end - v) : strlen(v));
        }
    }
    return NULL;
}

/* One request on a fresh connection ("Connection: close"), read to the end. */
static int http(uint16_t port, const char *method, const char *session, const char *last_event_id, const char *body,
                http_response_t *out) {
    memset(out, 0, sizeof *out);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
        close(fd);
        return -1;
    }
    char head[2048];
    int n = snprintf(head, sizeof head,
                     "%s /mcp HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nAccept: application/json, text/event-stream\r\n"
                     "%s%s%s%s%s%s%s%sContent-Length: %zu\r\nConnection: close\r\n\r\n",
                     method, (unsigned)port, body ? "Content-Type: application/json\r\n" : "",
                     session ? "MCP-Protocol-Version: 2025-11-25\r\n" : "", session ? "Mcp-Session-Id: " : "",
                     session ? session : "", session ? "\r\n" : "", last_event_id ? "Last-Event-ID: " : "",
                     last_event_id ? last_event_id : "", last_event_id ? "\r\n" : "", body ? strlen(body) : 0);
    size_t blen = body ? strlen(body) : 0;
    if (write(fd, head, (size_t)n) != n || (blen && write(fd, body, blen) != (ssize_t)blen)) {
        close(fd);
        return -1;
    }
    size_t cap = 1 << 16, len = 0;
    char *raw = malloc(cap);
    ssize_t got;
    while ((got = read(fd, raw + len, cap - len - 1)) > 0) {
        len += (size_t)got;
        if (len + 1 == cap) raw = realloc(raw, cap *= 2);
    }
    raw[len] = '\0';
    close(fd);
    char *split = strstr(raw, "\r\n\r\n");
    if (!split) {
        free(raw);
        return -1;
    }
    out->head = strndup(raw, (size_t)(split - raw) + 2);
    sscanf(raw, "HTTP/1.1 %d", &out->status);
    const char *p = split + 4;
    char *te = header_value(out, "Transfer-Encoding");
    if (te && strcasecmp(te, "chunked") == 0) {
        out->body = malloc(len + 1);
        size_t blen2 = 0;
        for (;;) {
            size_t size = strtoul(p, NULL, 16);
            const char *data = strstr(p, "\r\n");
            if (!size || !data) break;
            memcpy(out->body + blen2, data + 2, size);
            blen2 += size;
            p = data + 2 + size + 2;
        }
        out->body[blen2] = '\0';
    } else {
        out->body = strdup(p);
    }
    free(te);
    free(raw);
    return 0;
}

/* The SSE events of a body that carry data: ids[i] and datas[i] (malloc'd). */
typedef struct {
    int count;
    char *ids[32];
    char *datas[32];
} events_t;

static void events_parse(const char *body, events_t *e) {
    memset(e, 0, sizeof *e);
    char *copy = strdup(body);
    char *save = NULL;
    char *id = NULL;
    /* Events end with a blank line; only "id:" and "data:" lines matter. */
    for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (!strncmp(line, "id: ", 4)) {
            free(id);
            id = strdup(line + 4);
        } else if (!strncmp(line, "data: ", 6) && line[6] && e->count < 32) {
            e->ids[e->count] = id ? strdup(id) : NULL;
            e->datas[e->count] = strdup(line + 6);
            e->count++;
        }
    }
    free(id);
    free(copy);
}

static void events_free(events_t *e) {
    for (int i = 0; i < e->count; i++) {
        free(e->ids[i]);
        free(e->datas[i]);
    }
    e->count = 0;
}

/* The JSON-RPC response in an answer (the last SSE data, or the JSON body). New reference. */
static json_t *answer(const http_response_t *r) {
    events_t e;
    events_parse(r->body, &e);
    json_t *v = e.count ? mcp_j_loads(e.datas[e.count - 1], NULL) : mcp_j_loads(r->body, NULL);
    events_free(&e);
    return v;
}

/* ------------------------------------------------------------ tools */

/* "steps": two progress notifications, then "done". */
static void steps_tool(void *ud, mcp_call_t *call, const char *args) {
    (void)ud, (void)args;
    mcp_call_progress(call, 1, 2, "one", NULL);
    mcp_call_progress(call, 2, 2, "two", NULL);
    mcp_j_call_return_new(call, mcp_j_tool_result_text("done", 0), NULL);
}

static void task_tool(void *ud, mcp_call_t *call, const char *args) {
    (void)ud, (void)args;
    mcp_j_call_return_new(call, mcp_j_tool_result_text("task done", 0), NULL);
}

static mcp_server_t *store_server(host_store_t *s, uint16_t *port) {
    mcp_server_t *server = harness_server(NULL);
    char *err = NULL;
    CHECK_RC(mcp_server_add_tool(server, "{\"name\":\"steps\"}", steps_tool, NULL, NULL, &err), MCP_OK, err);
    CHECK_RC(mcp_server_add_tool(server, "{\"name\":\"later\",\"execution\":{\"taskSupport\":\"optional\"}}", task_tool,
                                 NULL, NULL, &err), MCP_OK, err);
    mcp_store_methods_t m = methods();
    CHECK_RC(mcp_server_set_store(server, &m, s, &err), MCP_OK, err);
    CHECK_RC(mcp_server_start_http(server, "{\"port\":0}", port, &err), MCP_OK, err);
    mcp_string_free(err);
    return server;
}

static const char INITIALIZE[] =
    "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{\"protocolVersion\":\"2025-11-25\","
    "\"capabilities\":{},\"clientInfo\":{\"name\":\"c\",\"version\":\"1\"}}}";

/* Opens a 2025-11-25 session; returns its id (malloc'd) or NULL. */
static char *open_session(uint16_t port) {
    http_response_t r;
    CHECK_EQ(http(port, "POST", NULL, NULL, INITIALIZE, &r), 0);
    CHECK_EQ(r.status, 200);
    char *id = header_value(&r, "Mcp-Session-Id");
    CHECK(id != NULL);
    response_free(&r);
    if (!id) return NULL;
    CHECK_EQ(http(port, "POST", id, NULL, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}", &r), 0);
    CHECK_EQ(r.status, 202);
    response_free(&r);
    return id;
}

/* ------------------------------------------------------------ tests */

static void test_bad_tables(void) {
    harness_section("bad method tables are refused; destroy not called");
    host_store_t s;
    store_init(&s);
    mcp_server_t *server = harness_server(NULL);
    mcp_store_methods_t m = methods();
    char *err = NULL;
    CHECK_RC(mcp_server_set_store(NULL, &m, &s, NULL), MCP_ERR_INVALID_ARG, NULL);
    m.struct_size = 0;
    CHECK_RC(mcp_server_set_store(server, &m, &s, &err), MCP_ERR_INVALID_ARG, err);
    CHECK(err && strstr(err, "struct_size is 0"));
    mcp_string_free(err);
    m.struct_size = sizeof m - 1;
    CHECK_RC(mcp_server_set_store(server, &m, &s, NULL), MCP_ERR_INVALID_ARG, NULL);
    m = methods();
    m.put = NULL;
    m.list = NULL;
    CHECK_RC(mcp_server_set_store(server, &m, &s, &err), MCP_ERR_INVALID_ARG, err);
    CHECK(err && strstr(err, "put, list must not be NULL"));
    mcp_string_free(err);
    CHECK_EQ(atomic_load(&s.destroyed), 0);

    /* Optional members may be NULL; a larger struct (a newer header) is read up to what this version knows. */
    struct {
        mcp_store_methods_t m;
        void *later;
    } bigger = {methods(), NULL};
    bigger.m.struct_size = sizeof bigger;
    bigger.m.check = NULL;
    CHECK_RC(mcp_server_set_store(server, &bigger.m, &s, NULL), MCP_OK, NULL);

    /* A "store" URL as well is refused at start. */
    uint16_t port = 0;
    CHECK_RC(mcp_server_start_http(server, "{\"port\":0,\"store\":\"sqlite:/tmp/x.db\"}", &port, &err),
             MCP_ERR_INVALID_ARG, err);
    CHECK(err && strstr(err, "mcp_server_set_store"));
    mcp_string_free(err);

    /* Not while listening; replacing destroys the old one at once. */
    CHECK_RC(mcp_server_start_http(server, "{\"port\":0}", &port, NULL), MCP_OK, NULL);
    m = methods();
    CHECK_RC(mcp_server_set_store(server, &m, &s, &err), MCP_ERR_STATE, err);
    mcp_string_free(err);
    CHECK_EQ(atomic_load(&s.destroyed), 0);
    CHECK_RC(mcp_server_stop_http(server, 1000, NULL), MCP_OK, NULL);
    CHECK_RC(mcp_server_set_store(server, &m, &s, NULL), MCP_OK, NULL);
    CHECK_EQ(atomic_load(&s.destroyed), 1);
    CHECK_RC(mcp_server_set_store(server, NULL, NULL, NULL), MCP_OK, NULL);
    CHECK_EQ(atomic_load(&s.destroyed), 2);
    mcp_server_free(server);
    CHECK_EQ(atomic_load(&s.destroyed), 2);
    store_clear(&s);

    /* A handle after its callback returned, and NULL handles. */
    CHECK_RC(mcp_store_call_row(NULL, NULL, 0, NULL, 0, NULL), MCP_ERR_INVALID_ARG, NULL);
    CHECK_RC(mcp_store_call_error(NULL, "x", NULL), MCP_ERR_INVALID_ARG, NULL);
    CHECK_RC(mcp_store_call_error((mcp_store_call_t *)(uintptr_t)0x3008, "x", NULL), MCP_ERR_STATE, NULL);
}

static void test_session_survives_the_server(void) {
    harness_section("a session, its stream and a task survive the server (new server, same host store)");
    host_store_t s;
    store_init(&s);
    uint16_t port = 0;
    mcp_server_t *a = store_server(&s, &port);
    char *session = open_session(port);
    if (!session) {
        mcp_server_free(a);
        store_clear(&s);
        return;
    }

    /* A call's stream: progress, progress, result, each an event with an id. */
    http_response_t r;
    CHECK_EQ(http(port, "POST", session, NULL,
                  "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":{\"name\":\"steps\","
                  "\"arguments\":{},\"_meta\":{\"progressToken\":\"p\"}}}", &r), 0);
    CHECK_EQ(r.status, 200);
    events_t first;
    events_parse(r.body, &first);
    response_free(&r);
    CHECK_EQ(first.count, 3);
    for (int i = 0; i < first.count; i++) CHECK(first.ids[i] != NULL);
    CHECK(first.count == 3 && strstr(first.datas[2], "done"));

    /* A task, completed before the server goes. */
    CHECK_EQ(http(port, "POST", session, NULL,
                  "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\",\"params\":{\"name\":\"later\","
                  "\"arguments\":{},\"task\":{\"ttl\":600000}}}", &r), 0);
    json_t *created = answer(&r);
    response_free(&r);
    const char *task_id = json_string_value(json_object_get(json_object_get(harness_result(created), "task"), "taskId"));
    CHECK(task_id != NULL);
    char *task = task_id ? strdup(task_id) : NULL;
    json_decref(created);
    char body[512];
    int completed = 0;
    for (int i = 0; task && i < 100 && !completed; i++) {
        snprintf(body, sizeof body, "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"tasks/get\",\"params\":{\"taskId\":\"%s\"}}", task);
        CHECK_EQ(http(port, "POST", session, NULL, body, &r), 0);
        json_t *got = answer(&r);
        response_free(&r);
        const char *status = json_string_value(json_object_get(harness_result(got), "status"));
        completed = status && !strcmp(status, "completed");
        json_decref(got);
        if (!completed) harness_sleep_ms(harness_ms(20));
    }
    CHECK(completed);

    /* The server goes; the host's records stay. */
    CHECK_RC(mcp_server_stop_http(a, 1000, NULL), MCP_OK, NULL);
    mcp_server_free(a);
    CHECK_EQ(atomic_load(&s.destroyed), 1);
    CHECK(atomic_load(&s.puts) > 0);

    mcp_server_t *b = store_server(&s, &port);
    /* Exact resumption: the events after the first one, and nothing else. */
    CHECK_EQ(http(port, "GET", session, first.ids[0], NULL, &r), 0);
    CHECK_EQ(r.status, 200);
    events_t replay;
    events_parse(r.body, &replay);
    response_free(&r);
    CHECK_EQ(replay.count, first.count - 1);
    for (int i = 0; i < replay.count && i + 1 < first.count; i++) {
        CHECK_STR(replay.ids[i], first.ids[i + 1]);
        CHECK_STR(replay.datas[i], first.datas[i + 1]);
    }
    events_free(&replay);

    /* The task's result, read after the restart. */
    if (task) {
        snprintf(body, sizeof body, "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"tasks/result\",\"params\":{\"taskId\":\"%s\"}}",
                 task);
        CHECK_EQ(http(port, "POST", session, NULL, body, &r), 0);
        CHECK_EQ(r.status, 200);
        CHECK(strstr(r.body, "task done") != NULL);
        response_free(&r);
    }

    /* The session goes on: a new call on a new stream. */
    CHECK_EQ(http(port, "POST", session, NULL,
                  "{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"tools/call\",\"params\":{\"name\":\"steps\",\"arguments\":{}}}",
                  &r), 0);
    CHECK_EQ(r.status, 200);
    CHECK(strstr(r.body, "done") != NULL);
    response_free(&r);

    /* DELETE removes the session and its events from the host's store. */
    CHECK_EQ(http(port, "DELETE", session, NULL, NULL, &r), 0);
    CHECK_EQ(r.status, 200);
    response_free(&r);
    pthread_mutex_lock(&s.mu);
    int left = 0;
    for (size_t i = 0; i < s.count; i++)
        if (!strncmp((const char *)s.records[i].key, "event/", 6) || !strncmp((const char *)s.records[i].key, "session/", 8))
            left++;
    pthread_mutex_unlock(&s.mu);
    CHECK_EQ(left, 0);
    CHECK(atomic_load(&s.second_row_refused));

    mcp_server_free(b);
    CHECK_EQ(atomic_load(&s.destroyed), 2);
    events_free(&first);
    free(task);
    free(session);
    store_clear(&s);
}

static void test_failing_store(void) {
    harness_section("a failing callback: 503 + -32603 with the host's message, then recovery");
    host_store_t s;
    store_init(&s);
    uint16_t port = 0;
    mcp_server_t *server = store_server(&s, &port);
    http_response_t r;

    pthread_mutex_lock(&s.mu);
    s.fail = "disk on fire";
    pthread_mutex_unlock(&s.mu);
    CHECK_EQ(http(port, "POST", NULL, NULL, INITIALIZE, &r), 0);
    CHECK_EQ(r.status, 503);
    json_t *e = mcp_j_loads(r.body, NULL);
    CHECK_EQ(harness_error_code(e), -32603);
    CHECK_STR(json_string_value(json_object_get(json_object_get(e, "error"), "message")),
              "State store unavailable: disk on fire");
    json_decref(e);
    char *retry = header_value(&r, "Retry-After");
    CHECK(retry != NULL);
    free(retry);
    response_free(&r);

    /* No message: the engine names the operation (the gate in front of
    ** requests that need the store asks check first) and the status. */
    pthread_mutex_lock(&s.mu);
    s.fail = "";
    pthread_mutex_unlock(&s.mu);
    CHECK_EQ(http(port, "POST", NULL, NULL, INITIALIZE, &r), 0);
    CHECK_EQ(r.status, 503);
    CHECK(strstr(r.body, "\"State store unavailable: host store: check failed (status 6)\"") != NULL);
    response_free(&r);

    /* Back: served again, with no restart. */
    pthread_mutex_lock(&s.mu);
    s.fail = NULL;
    pthread_mutex_unlock(&s.mu);
    char *session = open_session(port);
    CHECK(session != NULL);
    free(session);

    mcp_server_free(server);
    CHECK_EQ(atomic_load(&s.destroyed), 1);
    store_clear(&s);
}

int main(void) {
    test_bad_tables();
    test_session_survives_the_server();
    test_failing_store();
    return harness_finish();
}
