/*
** harness.c: checks, timing and in-memory sessions for the C tests (see harness.h).
*/
#define _POSIX_C_SOURCE 200809L

#include "harness.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* --------------------------------------------------------------- checks */

int harness_checks;
int harness_failures;
static const char *current_section = "";
static pthread_mutex_t report_lock = PTHREAD_MUTEX_INITIALIZER;

void harness_count_check(void) { __atomic_add_fetch(&harness_checks, 1, __ATOMIC_RELAXED); }

void harness_fail(const char *file, int line, const char *fmt, ...) {
    va_list ap;
    pthread_mutex_lock(&report_lock);
    harness_failures++;
    fprintf(stderr, "%s:%d: [%s] FAILED: ", file, line, current_section);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fflush(stderr);
    pthread_mutex_unlock(&report_lock);
}

void harness_section(const char *name) {
    current_section = name;
    fprintf(stderr, "-- %s\n", name);
}

int harness_finish(void) {
    fprintf(stderr, "%d checks, %d failed\n", __atomic_load_n(&harness_checks, __ATOMIC_SEQ_CST), harness_failures);
    return harness_failures == 0 ? 0 : 1;
}

/* ---------------------------------------------------------- environment */

int harness_under_valgrind(void) {
    const char *v = getenv("MCP_TEST_UNDER_VALGRIND");
    return v != NULL && v[0] != '\0' && strcmp(v, "0") != 0;
}

int harness_ms(int ms) { return harness_under_valgrind() ? ms * 10 : ms; }

int harness_scale(int n) {
    if (!harness_under_valgrind()) return n;
    return n / 10 > 0 ? n / 10 : 1;
}

double harness_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

void harness_sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {
    }
}

int harness_wait_flag(const volatile int *flag, int timeout_ms) {
    double end = harness_now_ms() + timeout_ms;
    for (;;) {
        if (__atomic_load_n(flag, __ATOMIC_SEQ_CST)) return 1;
        if (harness_now_ms() >= end) return 0;
        harness_sleep_ms(2);
    }
}

int harness_wait_count(const volatile int *counter, int value, int timeout_ms) {
    double end = harness_now_ms() + timeout_ms;
    for (;;) {
        int v = __atomic_load_n(counter, __ATOMIC_SEQ_CST);
        if (v >= value || harness_now_ms() >= end) return v;
        harness_sleep_ms(2);
    }
}

void harness_count_free(void *counter) { __atomic_add_fetch((int *)counter, 1, __ATOMIC_SEQ_CST); }

mcp_server_t *harness_server(const char *options_json) {
    mcp_server_t *server = NULL;
    char *error = NULL;
    mcp_status rc = mcp_server_new("test-server", "1.2.3", options_json, &server, &error);
    if (rc != MCP_OK || server == NULL) {
        fprintf(stderr, "harness: mcp_server_new failed: %s: %s\n", mcp_status_string(rc), error ? error : "");
        abort();
    }
    return server;
}

/* ---------------------------------------------------------- outbox */

/* What the engine's send callback writes to. Shared by the harness and the
** engine (through user_data), so it lives until both have let go. */
struct node {
    json_t *message;
    struct node *next;
};

struct outbox {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct node *head, *tail;
    int refs;     /* harness + engine */
    int released; /* the session's free_fn ran */
    int sent;     /* messages received from the engine */
    int bad;      /* messages that were not valid JSON text */
    int in_send;  /* a send callback is running (to detect overlap) */
};

static void outbox_unref_locked(struct outbox *o) {
    if (--o->refs > 0) {
        pthread_mutex_unlock(&o->mu);
        return;
    }
    pthread_mutex_unlock(&o->mu);
    for (struct node *n = o->head, *next; n; n = next) {
        next = n->next;
        json_decref(n->message);
        free(n);
    }
    pthread_cond_destroy(&o->cv);
    pthread_mutex_destroy(&o->mu);
    free(o);
}

static void outbox_send(void *user_data, const char *message, size_t length) {
    struct outbox *o = user_data;
    json_error_t err;
    int malformed = message == NULL || message[length] != '\0' || (length > 0 && message[length - 1] == '\n');
    json_t *v = message ? json_loadb(message, length, JSON_ALLOW_NUL, &err) : NULL;

    pthread_mutex_lock(&o->mu);
    if (o->in_send) {
        pthread_mutex_unlock(&o->mu);
        harness_fail(__FILE__, __LINE__, "send callbacks of one session overlap");
        pthread_mutex_lock(&o->mu);
    }
    o->in_send = 1;
    o->sent++;
    if (v == NULL || malformed) {
        o->bad++;
        pthread_mutex_unlock(&o->mu);
        harness_fail(__FILE__, __LINE__, "outgoing message is not one NUL-terminated JSON value: %.*s",
                     (int)(length > 300 ? 300 : length), message ? message : "(null)");
        pthread_mutex_lock(&o->mu);
    }
    if (v != NULL) {
        struct node *n = malloc(sizeof *n);
        if (n == NULL) abort();
        n->message = v;
        n->next = NULL;
        if (o->tail) o->tail->next = n;
        else o->head = n;
        o->tail = n;
        pthread_cond_broadcast(&o->cv);
    }
    o->in_send = 0;
    pthread_mutex_unlock(&o->mu);
}

static void outbox_release(void *user_data) {
    struct outbox *o = user_data;
    pthread_mutex_lock(&o->mu);
    if (o->released) {
        pthread_mutex_unlock(&o->mu);
        harness_fail(__FILE__, __LINE__, "session free_fn called twice");
        return;
    }
    o->released = 1;
    outbox_unref_locked(o);
}

/* ---------------------------------------------------------- harness */

struct harness {
    mcp_session_t *session;
    struct outbox *outbox;
    json_int_t next_id;
    json_t *kept; /* messages taken from the outbox but not yet asked for */
};

harness_t *harness_new(mcp_server_t *server) {
    harness_t *h = calloc(1, sizeof *h);
    struct outbox *o = calloc(1, sizeof *o);
    pthread_condattr_t attr;
    if (h == NULL || o == NULL) abort();
    pthread_mutex_init(&o->mu, NULL);
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&o->cv, &attr);
    pthread_condattr_destroy(&attr);
    o->refs = 2;
    h->outbox = o;
    h->next_id = 1;
    h->kept = json_array();

    char *error = NULL;
    mcp_status rc = mcp_server_session_new(server, outbox_send, o, outbox_release, &h->session, &error);
    if (rc != MCP_OK) {
        fprintf(stderr, "harness: mcp_server_session_new failed: %s: %s\n", mcp_status_string(rc),
                error ? error : "");
        abort();
    }
    return h;
}

void harness_close_session(harness_t *h) {
    mcp_session_free(h->session);
    h->session = NULL;
}

void harness_free(harness_t *h) {
    if (h == NULL) return;
    mcp_session_free(h->session);
    pthread_mutex_lock(&h->outbox->mu);
    outbox_unref_locked(h->outbox);
    json_decref(h->kept);
    free(h);
}

mcp_session_t *harness_session(harness_t *h) { return h->session; }

int harness_send_released(harness_t *h) {
    pthread_mutex_lock(&h->outbox->mu);
    int r = h->outbox->released;
    pthread_mutex_unlock(&h->outbox->mu);
    return r;
}

int harness_sent_count(harness_t *h) {
    pthread_mutex_lock(&h->outbox->mu);
    int n = h->outbox->sent;
    pthread_mutex_unlock(&h->outbox->mu);
    return n;
}

int harness_bad_messages(harness_t *h) {
    pthread_mutex_lock(&h->outbox->mu);
    int n = h->outbox->bad;
    pthread_mutex_unlock(&h->outbox->mu);
    return n;
}

mcp_status harness_send_text(harness_t *h, const char *text) {
    char *error = NULL;
    mcp_status rc = mcp_session_receive(h->session, text, strlen(text), &error);
    if (rc != MCP_OK) fprintf(stderr, "harness: mcp_session_receive: %s: %s\n", mcp_status_string(rc), error ? error : "");
    mcp_string_free(error);
    return rc;
}

mcp_status harness_send(harness_t *h, json_t *message) {
    char *text = json_dumps(message, JSON_COMPACT);
    if (text == NULL) abort();
    mcp_status rc = harness_send_text(h, text);
    free(text);
    return rc;
}

json_int_t harness_send_request(harness_t *h, const char *method, json_t *params) {
    json_int_t id = h->next_id++;
    json_t *msg = json_pack("{s:s, s:I, s:s}", "jsonrpc", "2.0", "id", id, "method", method);
    if (params) json_object_set_new(msg, "params", params);
    harness_send(h, msg);
    json_decref(msg);
    return id;
}

void harness_notify(harness_t *h, const char *method, json_t *params) {
    json_t *msg = json_pack("{s:s, s:s}", "jsonrpc", "2.0", "method", method);
    if (params) json_object_set_new(msg, "params", params);
    harness_send(h, msg);
    json_decref(msg);
}

json_t *harness_next(harness_t *h, int timeout_ms) {
    struct outbox *o = h->outbox;
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += timeout_ms / 1000;
    deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&o->mu);
    while (o->head == NULL) {
        if (pthread_cond_timedwait(&o->cv, &o->mu, &deadline) == ETIMEDOUT && o->head == NULL) {
            pthread_mutex_unlock(&o->mu);
            return NULL;
        }
    }
    struct node *n = o->head;
    o->head = n->next;
    if (o->head == NULL) o->tail = NULL;
    pthread_mutex_unlock(&o->mu);
    json_t *v = n->message;
    free(n);
    return v;
}

/* Whether message is a response (result or error) with this id. */
static int is_response_to(json_t *message, json_int_t id) {
    json_t *mid = json_object_get(message, "id");
    if (json_object_get(message, "method") != NULL) return 0;
    return json_is_integer(mid) && json_integer_value(mid) == id;
}

static int is_note(json_t *message, const char *method) {
    const char *m = json_string_value(json_object_get(message, "method"));
    return m != NULL && json_object_get(message, "id") == NULL && strcmp(m, method) == 0;
}

/* Takes the first kept message that matches, or waits for one. */
static json_t *take_matching(harness_t *h, int (*match)(json_t *, const void *), const void *arg,
                             int timeout_ms) {
    size_t i;
    json_t *m;
    json_array_foreach(h->kept, i, m) {
        if (match(m, arg)) {
            json_incref(m);
            json_array_remove(h->kept, i);
            return m;
        }
    }
    double end = harness_now_ms() + timeout_ms;
    for (;;) {
        int left = (int)(end - harness_now_ms());
        if (left < 0) left = 0;
        m = harness_next(h, left);
        if (m == NULL) return NULL;
        if (match(m, arg)) return m;
        json_array_append_new(h->kept, m);
    }
}

static int match_response(json_t *m, const void *arg) { return is_response_to(m, *(const json_int_t *)arg); }
static int match_note(json_t *m, const void *arg) { return is_note(m, arg); }

json_t *harness_wait_response(harness_t *h, json_int_t id, int timeout_ms) {
    return take_matching(h, match_response, &id, timeout_ms);
}

json_t *harness_request(harness_t *h, const char *method, json_t *params) {
    json_int_t id = harness_send_request(h, method, params);
    json_t *r = harness_wait_response(h, id, HARNESS_TIMEOUT);
    if (r == NULL) harness_fail(__FILE__, __LINE__, "no response to %s (id %lld)", method, (long long)id);
    return r;
}

json_t *harness_initialize(harness_t *h, const char *version) { return harness_initialize_with(h, version, NULL); }

json_t *harness_initialize_with(harness_t *h, const char *version, json_t *capabilities) {
    json_t *params = json_pack("{s:s, s:o, s:{s:s, s:s}}", "protocolVersion",
                               version ? version : MCP_PROTOCOL_VERSION_LATEST, "capabilities",
                               capabilities ? capabilities : json_object(), "clientInfo", "name", "c-test", "version",
                               "0.0.1");
    json_t *r = harness_request(h, "initialize", params);
    harness_notify(h, "notifications/initialized", NULL);
    return r;
}

json_t *harness_take_note(harness_t *h, const char *method, int timeout_ms) {
    return take_matching(h, match_note, method, timeout_ms);
}

static int match_server_request(json_t *m, const void *arg) {
    const char *method = json_string_value(json_object_get(m, "method"));
    return method != NULL && json_object_get(m, "id") != NULL && strcmp(method, arg) == 0;
}

json_t *harness_take_server_request(harness_t *h, const char *method, int timeout_ms) {
    return take_matching(h, match_server_request, method, timeout_ms);
}

void harness_reply(harness_t *h, json_t *request, json_t *result, int error_code, const char *error_message) {
    json_t *msg = json_pack("{s:s, s:O}", "jsonrpc", "2.0", "id", json_object_get(request, "id"));
    if (result != NULL) {
        json_object_set_new(msg, "result", result);
    } else {
        json_object_set_new(msg, "error", json_pack("{s:i, s:s}", "code", error_code, "message", error_message));
    }
    harness_send(h, msg);
    json_decref(msg);
}

int harness_count_notes(harness_t *h, const char *method) {
    size_t i;
    json_t *m;
    int n = 0;
    json_array_foreach(h->kept, i, m) {
        if (is_note(m, method)) n++;
    }
    return n;
}

void harness_clear_notes(harness_t *h) { json_array_clear(h->kept); }

int harness_quiet(harness_t *h, int quiet_ms) {
    int n = 0;
    double end = harness_now_ms() + quiet_ms;
    for (;;) {
        int left = (int)(end - harness_now_ms());
        if (left <= 0) break;
        json_t *m = harness_next(h, left);
        if (m == NULL) break;
        json_array_append_new(h->kept, m);
        n++;
    }
    return n;
}

/* ---------------------------------------------------------- JSON helpers */

json_t *harness_result(json_t *response) { return json_object_get(response, "result"); }

json_int_t harness_error_code(json_t *response) {
    return json_integer_value(json_object_get(json_object_get(response, "error"), "code"));
}

const char *harness_tool_text(json_t *response) {
    json_t *content = json_object_get(harness_result(response), "content");
    return json_string_value(json_object_get(json_array_get(content, 0), "text"));
}

char *harness_dump(json_t *v) {
    char *s = v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    return s ? s : strdup("(null)");
}
