/*
** everything_server.c: mcp-everything-server, the MCP conformance fixtures on libmcp.
**
** Usage: mcp-everything-server [--stdio | --http HOST:PORT [--stateless] [--json-response]
**                               [--admin HOST:PORT] [--access-log] [--reuse-port] [--listen-backlog N]
**                               [--accept-batch N] [--accept-rate N] [--max-sessions N]] [--task-ttl-ms MS] [--no-inline]
**                               [--max-calls-in-flight N] [--tool-timeout-ms MS] [--circuit-breaker F:MS]
**                               [--no-metrics] [--log-level debug|info|warning|error]
**                               [--auth-config FILE] [--trace stderr|count]
**
** A C host of libmcp (through jansson and mcp_jansson.h) that offers the
** tools, resources and prompts the public MCP conformance suite
** (github.com/modelcontextprotocol/conformance) expects, with their exact
** names, plus a few of our own for the interop tests (test_echo, test_sleep,
** test_cancel_count). It serves one client over stdin/stdout, or any number
** over HTTP (Streamable HTTP at /mcp, legacy SSE at /sse, WebSocket at /ws);
** then it prints the bound URL to stderr and serves until SIGINT/SIGTERM.
** test_sampling and the test_elicitation* tools ask the client through
** mcp_call_request() and answer the call from the response callback; a
** client without the capability gets an isError result. The fixtures of
** multi round-trip requests (2026-07-28) are in mrtr_fixtures.c.
**
** Every diagnostic goes to stderr: stdout carries the protocol. The engine's
** own log records (mcp_set_log_hook) go there too, as JSON lines.
** --admin serves /metrics, /healthz and /readyz on an address of its own.
** --auth-config FILE (with --http) makes it an OAuth 2.1 resource server: FILE
** holds the "auth" object of mcp_server_start_http (resource,
** authorization_servers, issuer, audience, jwks_file or jwks_url,
** scopes_supported, ...). Every fixture then needs a valid access token, and
** two more tools appear: test_admin_only, which needs scope mcp:admin, and
** test_whoami, which answers the principal (mcp_call_principal_json).
** SIGINT and SIGTERM stop serving gracefully (in-flight calls are drained);
** a second signal exits at once.
*/
#define _POSIX_C_SOURCE 200809L

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "mcp.h"
#include "mcp_jansson.h"
#include "mrtr_fixtures.h"

#define PROGRAM "mcp-everything-server"

/* A 1x1 red PNG and a 1 ms, 8 kHz, 8-bit mono WAV, base64-encoded. */
static const char PNG_BASE64[] =
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR42mP4z8AAAAMBAQD3A0FDAAAAAElFTkSuQmCC";
static const char WAV_BASE64[] =
    "UklGRiwAAABXQVZFZm10IBAAAAABAAEAQB8AAEAfAAABAAgAZGF0YQgAAACAgICAgICAgA==";

/* How many test_sleep calls noticed that they were cancelled. */
static atomic_long cancelled_calls;

/* ------------------------------------------------------------------ helpers */

/* Prints a failed libmcp call to stderr and releases its message. */
static void report(const char *what, mcp_status rc, char *error) {
    fprintf(stderr, PROGRAM ": %s: %s%s%s\n", what, mcp_status_string(rc), error ? ": " : "",
            error ? error : "");
    mcp_string_free(error);
}

/* The engine's log records, one JSON object per line, on stderr. */
static void log_to_stderr(void *user_data, int32_t level, const char *record_json) {
    (void)user_data;
    (void)level;
    fprintf(stderr, "%s\n", record_json);
}

/* --trace stderr: each request span as a JSON line on stderr. */
static void trace_to_stderr(void *user_data, const char *span_json) {
    (void)user_data;
    fprintf(stderr, "%s\n", span_json);
}

/* --trace count: spans are recorded and handed over, and only counted here
** (the benchmark's cost of tracing, without an exporter's). */
static long spans_seen;
static void trace_count(void *user_data, const char *span_json) {
    (void)user_data;
    (void)span_json;
    __atomic_add_fetch(&spans_seen, 1, __ATOMIC_RELAXED);
}

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {
    }
}

/* Answers a call with result (stolen); NULL result means out of memory. */
static void answer(mcp_call_t *call, json_t *result, const char *what) {
    char *error = NULL;
    mcp_status rc = mcp_j_call_return_new(call, result, &error);
    if (rc != MCP_OK) report(what, rc, error);
}

/* Answers a tool call with an isError result whose text is printf-formatted. */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static void tool_failed(mcp_call_t *call, const char *tool, const char *fmt, ...) {
    char text[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    answer(call, mcp_j_tool_result_text(text, 1), tool);
}

/* Answers a protocol-level error (prompts and resources have no isError). */
static void call_failed(mcp_call_t *call, int32_t code, const char *message, const char *what) {
    char *error = NULL;
    mcp_status rc = mcp_call_error(call, code, message, NULL, &error);
    if (rc != MCP_OK) report(what, rc, error);
}

/* {"content":[blocks...]} from a NULL-terminated list of blocks (all stolen). */
static json_t *content_result(json_t *first, ...) {
    json_t *content = json_array();
    int ok = content != NULL;
    va_list ap;
    va_start(ap, first);
    for (json_t *b = first; b != NULL; b = va_arg(ap, json_t *)) {
        if (json_array_append_new(content, b) != 0) ok = 0;
    }
    va_end(ap);
    if (!ok) {
        json_decref(content);
        return NULL;
    }
    return json_pack("{s:o}", "content", content);
}

/* The arguments object of a tool or prompt call, or NULL if it is not one. */
static json_t *load_object(const char *json) {
    json_t *v = mcp_j_loads(json, NULL);
    if (v != NULL && !json_is_object(v)) {
        json_decref(v);
        v = NULL;
    }
    return v;
}

/* -------------------------------------------------------------------- tools */

static void tool_simple_text(void *ud, mcp_call_t *call, const char *args) {
    (void)ud, (void)args;
    answer(call, mcp_j_tool_result_text("This is a simple text response for testing.", 0),
           "test_simple_text");
}

static void tool_image_content(void *ud, mcp_call_t *call, const char *args) {
    (void)ud, (void)args;
    answer(call, content_result(mcp_j_image_content(PNG_BASE64, "image/png"), NULL),
           "test_image_content");
}

static void tool_audio_content(void *ud, mcp_call_t *call, const char *args) {
    (void)ud, (void)args;
    answer(call, content_result(mcp_j_audio_content(WAV_BASE64, "audio/wav"), NULL),
           "test_audio_content");
}

static void tool_embedded_resource(void *ud, mcp_call_t *call, const char *args) {
    (void)ud, (void)args;
    answer(call,
           content_result(mcp_j_resource_text_content("test://embedded-resource", "text/plain",
                                                      "This is an embedded resource content."),
                          NULL),
           "test_embedded_resource");
}

static void tool_multiple_content_types(void *ud, mcp_call_t *call, const char *args) {
    (void)ud, (void)args;
    answer(call,
           content_result(mcp_j_text_content("Multiple content types test:"),
                          mcp_j_image_content(PNG_BASE64, "image/png"),
                          mcp_j_resource_text_content("test://mixed-content-resource", "application/json",
                                                      "{\"test\":\"data\",\"value\":123}"),
                          NULL),
           "test_multiple_content_types");
}

static void tool_error_handling(void *ud, mcp_call_t *call, const char *args) {
    (void)ud, (void)args;
    answer(call, mcp_j_tool_result_text("This tool intentionally returns an error for testing", 1),
           "test_error_handling");
}

static void tool_with_logging(void *ud, mcp_call_t *call, const char *args) {
    static const char *const messages[] = {"Tool execution started", "Tool processing data",
                                           "Tool execution completed"};
    (void)ud, (void)args;
    for (int i = 0; i < 3; i++) {
        if (i > 0) sleep_ms(50);
        json_t *data = json_string(messages[i]);
        char *error = NULL;
        mcp_status rc = mcp_j_call_log(call, "info", "test_tool_with_logging", data, &error);
        json_decref(data);
        if (rc != MCP_OK) report("test_tool_with_logging: log", rc, error);
    }
    answer(call, mcp_j_tool_result_text("Tool with logging executed successfully", 0),
           "test_tool_with_logging");
}

static void tool_with_progress(void *ud, mcp_call_t *call, const char *args) {
    (void)ud, (void)args;
    /* The engine echoes the request's _meta.progressToken (and sends nothing
    ** when there is none). */
    for (int step = 0; step <= 2; step++) {
        if (step > 0) sleep_ms(50);
        char *error = NULL;
        mcp_status rc = mcp_call_progress(call, step * 50.0, 100.0, NULL, &error);
        if (rc != MCP_OK) report("test_tool_with_progress: progress", rc, error);
    }
    answer(call, mcp_j_tool_result_text("Tool with progress executed successfully", 0),
           "test_tool_with_progress");
}

/* test_progress_stream: a long stream (the fleet test kills a node under it):
** `steps` progress notifications `interval_ms` apart, on a thread of its own
** (no engine worker is held), then a result naming how many were sent. Stops
** early when cancelled. */
struct progress_stream {
    mcp_call_t *call;
    long steps, interval_ms;
};

static void *progress_stream_main(void *arg) {
    struct progress_stream *p = arg;
    long step = 1;
    for (; step <= p->steps && !mcp_call_is_cancelled(p->call); step++) {
        sleep_ms(p->interval_ms);
        char *error = NULL;
        mcp_status rc = mcp_call_progress(p->call, (double)step, (double)p->steps, NULL, &error);
        if (rc != MCP_OK) report("test_progress_stream: progress", rc, error);
    }
    char text[96];
    snprintf(text, sizeof text, "Streamed %ld progress steps", step - 1);
    answer(p->call, mcp_j_tool_result_text(text, 0), "test_progress_stream");
    free(p);
    return NULL;
}

static void tool_progress_stream(void *ud, mcp_call_t *call, const char *arguments_json) {
    (void)ud;
    /* The engine has checked both against the inputSchema. */
    json_t *args = load_object(arguments_json);
    struct progress_stream *p = malloc(sizeof *p);
    pthread_t thread;
    pthread_attr_t attr;
    int err = ENOMEM;
    if (p != NULL) {
        p->call = call;
        p->steps = (long)json_integer_value(json_object_get(args, "steps"));
        p->interval_ms = (long)json_integer_value(json_object_get(args, "interval_ms"));
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        err = pthread_create(&thread, &attr, progress_stream_main, p);
        pthread_attr_destroy(&attr);
    }
    json_decref(args);
    if (err != 0) {
        free(p);
        tool_failed(call, "test_progress_stream", "Could not start a thread: %s", strerror(err));
    }
}

/* test_unchecked_arguments is registered with MCP_TOOL_NO_VALIDATION: it
** receives whatever arguments the client sent, its inputSchema
** notwithstanding, and answers them back. */
static void tool_unchecked_arguments(void *ud, mcp_call_t *call, const char *arguments_json) {
    (void)ud;
    json_t *msg = json_sprintf("Received arguments: %s", arguments_json);
    answer(call, mcp_j_tool_result_text(json_string_value(msg), 0), "test_unchecked_arguments");
    json_decref(msg);
}

/* The engine has checked the arguments against SCHEMA_2020_12 ($ref, allOf,
** anyOf, if/then/else, additionalProperties) before this runs: arguments that
** do not match get a tool error result from the engine, and this callback
** only ever sees valid ones. */
static void tool_json_schema_2020_12(void *ud, mcp_call_t *call, const char *arguments_json) {
    (void)ud;
    json_t *msg = json_sprintf("Received valid arguments: %s", arguments_json);
    answer(call, mcp_j_tool_result_text(json_string_value(msg), 0), "json_schema_2020_12_tool");
    json_decref(msg);
}

/* test_echo reads its text and answers it as bytes (ABI 1.2): a text of
** megabytes never goes through jansson, neither in nor out. */
static void tool_echo(void *ud, mcp_call_t *call, const char *arguments_json) {
    (void)ud, (void)arguments_json;
    const char *text;
    size_t len;
    char *error = NULL;
    if (mcp_call_arg_string(call, "text", &text, &len, &error) != MCP_OK) {
        mcp_string_free(error);
        tool_failed(call, "test_echo", "Invalid arguments: \"text\" must be a string");
        return;
    }
    mcp_status rc = mcp_call_return_text(call, text, len, NULL, "text", &error);
    if (rc != MCP_OK) report("test_echo", rc, error);
}

/* test_sleep answers from a thread of its own, so no engine worker is held. */
struct sleeper {
    mcp_call_t *call;
    long ms;
};

static void *sleeper_main(void *arg) {
    struct sleeper *s = arg;
    long slept = 0;
    int cancelled = 0;
    while (slept < s->ms) {
        if (mcp_call_is_cancelled(s->call)) {
            cancelled = 1;
            break;
        }
        long step = s->ms - slept < 10 ? s->ms - slept : 10;
        sleep_ms(step);
        slept += step;
    }
    if (!cancelled && mcp_call_is_cancelled(s->call)) cancelled = 1;
    if (cancelled) {
        atomic_fetch_add(&cancelled_calls, 1);
        /* A cancelled call must still be answered; the engine drops the answer. */
        answer(s->call, mcp_j_tool_result_text("Cancelled", 1), "test_sleep");
    } else {
        char text[64];
        snprintf(text, sizeof text, "Slept %ld ms", s->ms);
        answer(s->call, mcp_j_tool_result_text(text, 0), "test_sleep");
    }
    free(s);
    return NULL;
}

static void tool_sleep(void *ud, mcp_call_t *call, const char *arguments_json) {
    (void)ud;
    /* The engine has checked "ms" against the inputSchema (integer 0..600000). */
    json_t *args = load_object(arguments_json);
    json_int_t value = json_integer_value(json_object_get(args, "ms"));
    json_decref(args);

    struct sleeper *s = malloc(sizeof *s);
    pthread_t thread;
    pthread_attr_t attr;
    int err = ENOMEM;
    if (s != NULL) {
        s->call = call;
        s->ms = (long)value;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        err = pthread_create(&thread, &attr, sleeper_main, s);
        pthread_attr_destroy(&attr);
    }
    if (err != 0) {
        free(s);
        tool_failed(call, "test_sleep", "Could not start a thread: %s", strerror(err));
    }
}

/* test_reconnection: over Streamable HTTP the server ends the call's SSE
** connection mid-call (mcp_call_close_stream) and answers while the client is
** away; the client resumes with Last-Event-ID and still gets the answer. Other
** transports cannot resume, so there it simply answers. */
static void tool_reconnection(void *ud, mcp_call_t *call, const char *args) {
    (void)ud, (void)args;
    sleep_ms(50);
    char *error = NULL;
    mcp_status rc = mcp_call_close_stream(call, &error);
    if (rc != MCP_OK && rc != MCP_ERR_UNSUPPORTED) report("test_reconnection: close stream", rc, error);
    else mcp_string_free(error);
    sleep_ms(100);
    answer(call, mcp_j_tool_result_text("Reconnection test completed", 0), "test_reconnection");
}

static void tool_cancel_count(void *ud, mcp_call_t *call, const char *args) {
    (void)ud, (void)args;
    long n = atomic_load(&cancelled_calls);
    char text[32];
    snprintf(text, sizeof text, "%ld", n);
    json_t *result = mcp_j_tool_result_text(text, 0);
    if (result && json_object_set_new(result, "structuredContent", json_pack("{s:I}", "count", (json_int_t)n)) != 0) {
        json_decref(result);
        result = NULL;
    }
    answer(call, result, "test_cancel_count");
}

/* ----------------------------------------- requests to the client (sampling, elicitation) */

/* One request a tool sent to its client; the response callback answers the call. */
struct ask {
    mcp_call_t *call;
    const char *tool;
    int elicitation; /* 0: sampling/createMessage, 1: elicitation/create */
    const char *prefix; /* text before the outcome, for elicitation */
};

/* Runs on an engine worker thread with the client's answer. */
static void ask_done(void *user_data, mcp_status status, const char *result_json, const char *error_json) {
    struct ask *a = user_data;
    json_t *result = NULL;
    if (status == MCP_OK) {
        json_t *r = mcp_j_loads(result_json, NULL);
        json_t *msg = NULL;
        if (a->elicitation) {
            json_t *content = json_object_get(r, "content");
            char *c = content ? json_dumps(content, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
            msg = json_sprintf("%s: action=%s, content=%s", a->prefix,
                               json_string_value(json_object_get(r, "action")) ? json_string_value(json_object_get(r, "action")) : "?",
                               c ? c : "{}");
            free(c);
        } else {
            json_t *content = json_object_get(r, "content");
            const char *text = json_string_value(json_object_get(content, "text"));
            char *c = text ? NULL : json_dumps(content, JSON_COMPACT | JSON_ENCODE_ANY);
            msg = json_sprintf("LLM response: %s", text ? text : c ? c : "(no content)");
            free(c);
        }
        result = mcp_j_tool_result_text(json_string_value(msg), 0);
        json_decref(msg);
        json_decref(r);
    } else {
        json_t *e = mcp_j_loads(error_json, NULL);
        const char *why = json_string_value(json_object_get(e, "message"));
        json_t *msg = json_sprintf("%s failed: %s%s%s", a->elicitation ? "Elicitation" : "Sampling",
                                   mcp_status_string(status), why ? ": " : "", why ? why : "");
        result = mcp_j_tool_result_text(json_string_value(msg), 1);
        json_decref(msg);
        json_decref(e);
    }
    answer(a->call, result, a->tool);
    free(a);
}

/* Sends method with params (stolen) for this call; answers isError if it cannot. */
static void ask_client(mcp_call_t *call, const char *tool, int elicitation, const char *prefix, json_t *params) {
    struct ask *a = malloc(sizeof *a);
    const char *method = elicitation ? "elicitation/create" : "sampling/createMessage";
    if (a == NULL || params == NULL) {
        free(a);
        json_decref(params);
        tool_failed(call, tool, "Out of memory");
        return;
    }
    a->call = call;
    a->tool = tool;
    a->elicitation = elicitation;
    a->prefix = prefix;
    char *error = NULL;
    mcp_status rc = mcp_j_call_request(call, method, params, 0, ask_done, a, &error);
    json_decref(params);
    if (rc != MCP_OK) {
        /* fn is not called: the call is still ours to answer. */
        free(a);
        if (rc == MCP_ERR_UNSUPPORTED) {
            /* At 2026-07-28 the engine may have answered already (-32021 for a
            ** capability the request did not declare): then this answer is
            ** refused with MCP_ERR_STATE, which is expected. */
            char *why = NULL;
            char text[256];
            snprintf(text, sizeof text, "The client does not support %s%s%s", elicitation ? "elicitation" : "sampling",
                     error ? ": " : "", error ? error : "");
            mcp_status arc = mcp_j_call_return_new(call, mcp_j_tool_result_text(text, 1), &why);
            if (arc != MCP_OK && arc != MCP_ERR_STATE) report(tool, arc, why);
            else mcp_string_free(why);
        } else {
            tool_failed(call, tool, "Could not send %s: %s", method, error ? error : mcp_status_string(rc));
        }
        mcp_string_free(error);
    }
}

static void tool_sampling(void *ud, mcp_call_t *call, const char *arguments_json) {
    (void)ud;
    json_t *args = load_object(arguments_json);
    /* "prompt" is a string: the engine checked the inputSchema. */
    const char *prompt = json_string_value(json_object_get(args, "prompt"));
    ask_client(call, "test_sampling", 0, NULL,
               json_pack("{s:[{s:s, s:{s:s, s:s}}], s:i}", "messages", "role", "user", "content", "type", "text",
                         "text", prompt, "maxTokens", 100));
    json_decref(args);
}

/* test_missing_capability (2026-07-28 stateless scenario): needs the client's
** sampling capability. A modern request that did not declare it is answered
** -32021 by the engine; a 2025 client without it gets an isError result. */
static void tool_missing_capability(void *ud, mcp_call_t *call, const char *arguments_json) {
    (void)ud, (void)arguments_json;
    ask_client(call, "test_missing_capability", 0, NULL,
               json_pack("{s:[{s:s, s:{s:s, s:s}}], s:i}", "messages", "role", "user", "content", "type", "text",
                         "text", "Say hello", "maxTokens", 20));
}

/* test_header_param: its arguments travel in Mcp-Param-* headers too over
** Streamable HTTP at 2026-07-28 (x-mcp-header); the engine checks they agree. */
static void tool_header_param(void *ud, mcp_call_t *call, const char *arguments_json) {
    (void)ud;
    json_t *args = load_object(arguments_json);
    const char *region = json_string_value(json_object_get(args, "region"));
    json_t *msg = json_sprintf("region=%s count=%" JSON_INTEGER_FORMAT " dry_run=%s", region ? region : "(none)",
                               json_integer_value(json_object_get(args, "count")),
                               json_is_true(json_object_get(args, "dry_run")) ? "true" : "false");
    answer(call, mcp_j_tool_result_text(json_string_value(msg), 0), "test_header_param");
    json_decref(msg);
    json_decref(args);
}

static void tool_elicitation(void *ud, mcp_call_t *call, const char *arguments_json) {
    (void)ud;
    json_t *args = load_object(arguments_json);
    /* "message" is a string: the engine checked the inputSchema. */
    const char *message = json_string_value(json_object_get(args, "message"));
    ask_client(call, "test_elicitation", 1, "User response",
               json_pack("{s:s, s:{s:s, s:{s:{s:s, s:s}, s:{s:s, s:s}}, s:[s, s]}}", "message", message,
                         "requestedSchema", "type", "object", "properties", "username", "type", "string",
                         "description", "User's response", "email", "type", "string", "description",
                         "User's email address", "required", "username", "email"));
    json_decref(args);
}

/* SEP-1034: a default for every primitive type. */
static const char ELICIT_DEFAULTS[] =
    "{\"message\":\"Please review and update the form fields with defaults\","
    "\"requestedSchema\":{\"type\":\"object\",\"properties\":{"
    "\"name\":{\"type\":\"string\",\"description\":\"User name\",\"default\":\"John Doe\"},"
    "\"age\":{\"type\":\"integer\",\"description\":\"User age\",\"default\":30},"
    "\"score\":{\"type\":\"number\",\"description\":\"User score\",\"default\":95.5},"
    "\"status\":{\"type\":\"string\",\"description\":\"User status\","
    "\"enum\":[\"active\",\"inactive\",\"pending\"],\"default\":\"active\"},"
    "\"verified\":{\"type\":\"boolean\",\"description\":\"Verification status\",\"default\":true}}}}";

/* SEP-1330: the five enum shapes. */
static const char ELICIT_ENUMS[] =
    "{\"message\":\"Please select options from the enum fields\","
    "\"requestedSchema\":{\"type\":\"object\",\"properties\":{"
    "\"untitledSingle\":{\"type\":\"string\",\"description\":\"Untitled single-select\","
    "\"enum\":[\"option1\",\"option2\",\"option3\"]},"
    "\"titledSingle\":{\"type\":\"string\",\"description\":\"Titled single-select\",\"oneOf\":["
    "{\"const\":\"value1\",\"title\":\"First Option\"},{\"const\":\"value2\",\"title\":\"Second Option\"},"
    "{\"const\":\"value3\",\"title\":\"Third Option\"}]},"
    "\"legacyEnum\":{\"type\":\"string\",\"description\":\"Legacy titled enum (enumNames)\","
    "\"enum\":[\"opt1\",\"opt2\",\"opt3\"],\"enumNames\":[\"Option One\",\"Option Two\",\"Option Three\"]},"
    "\"untitledMulti\":{\"type\":\"array\",\"description\":\"Untitled multi-select\","
    "\"items\":{\"type\":\"string\",\"enum\":[\"option1\",\"option2\",\"option3\"]}},"
    "\"titledMulti\":{\"type\":\"array\",\"description\":\"Titled multi-select\",\"items\":{\"anyOf\":["
    "{\"const\":\"value1\",\"title\":\"First Choice\"},{\"const\":\"value2\",\"title\":\"Second Choice\"},"
    "{\"const\":\"value3\",\"title\":\"Third Choice\"}]}}}}}";

static json_t *parse_or_die(const char *text);

static void tool_elicitation_defaults(void *ud, mcp_call_t *call, const char *args) {
    (void)ud, (void)args;
    ask_client(call, "test_elicitation_sep1034_defaults", 1, "Elicitation completed", parse_or_die(ELICIT_DEFAULTS));
}

static void tool_elicitation_enums(void *ud, mcp_call_t *call, const char *args) {
    (void)ud, (void)args;
    ask_client(call, "test_elicitation_sep1330_enums", 1, "Elicitation completed", parse_or_die(ELICIT_ENUMS));
}

/* JSON Schema 2020-12 features the engine must keep verbatim in tools/list. */
static const char SCHEMA_2020_12[] =
    "{\"$schema\":\"https://json-schema.org/draft/2020-12/schema\","
    "\"type\":\"object\","
    "\"$defs\":{\"address\":{\"$anchor\":\"addressDef\",\"type\":\"object\","
    "\"properties\":{\"street\":{\"type\":\"string\"},\"city\":{\"type\":\"string\"}}}},"
    "\"properties\":{\"name\":{\"type\":\"string\"},\"address\":{\"$ref\":\"#/$defs/address\"},"
    "\"contactMethod\":{\"type\":\"string\",\"enum\":[\"phone\",\"email\"]},"
    "\"phone\":{\"type\":\"string\"},\"email\":{\"type\":\"string\"}},"
    "\"allOf\":[{\"anyOf\":[{\"required\":[\"phone\"]},{\"required\":[\"email\"]}]}],"
    "\"if\":{\"properties\":{\"contactMethod\":{\"const\":\"phone\"}},\"required\":[\"contactMethod\"]},"
    "\"then\":{\"required\":[\"phone\"]},"
    "\"else\":{\"required\":[\"email\"]},"
    "\"additionalProperties\":false}";

/* The server, for tools that notify every session (resource updates). */
static mcp_server_t *the_server;
static atomic_long watched_version;

/* test_update_watched_resource: changes test://watched-resource and tells the
** sessions that subscribed to it (notifications/resources/updated). */
static void tool_update_watched(void *ud, mcp_call_t *call, const char *args) {
    (void)ud, (void)args;
    long v = atomic_fetch_add(&watched_version, 1) + 1;
    int32_t told = 0;
    char *error = NULL;
    mcp_status rc = mcp_server_notify_resource_updated(the_server, "test://watched-resource", &told, &error);
    if (rc != MCP_OK) {
        tool_failed(call, "test_update_watched_resource", "Could not notify: %s", error ? error : "");
        mcp_string_free(error);
        return;
    }
    char text[128];
    snprintf(text, sizeof text, "Watched resource is now version %ld; %d subscribed session(s) or listen stream(s) told", v, (int)told);
    answer(call, mcp_j_tool_result_text(text, 0), "test_update_watched_resource");
}

/* test_trigger_tool_change / test_trigger_prompt_change: the conformance
** suite's hooks that change a list while subscriptions/listen streams are
** open. Each adds a transient entry and withdraws it again, so the list ends
** as it was (other tests read it) and every listener that asked for that
** list hears two list_changed notifications; 2025-era sessions hear them too. */
static void transient_tool(void *ud, mcp_call_t *call, const char *args) {
    (void)ud, (void)args;
    answer(call, mcp_j_tool_result_text("Transient", 0), "test_transient_tool");
}

static void transient_prompt(void *ud, mcp_call_t *call, const char *args) {
    (void)ud, (void)args;
    answer(call, json_pack("{s:[]}", "messages"), "test_transient_prompt");
}

static void tool_trigger_change(mcp_call_t *call, const char *what, int prompt) {
    char *error = NULL;
    mcp_status rc = prompt
        ? mcp_server_add_prompt(the_server, "{\"name\":\"test_transient_prompt\"}", transient_prompt, NULL, NULL, &error)
        : mcp_server_add_tool(the_server, "{\"name\":\"test_transient_tool\",\"inputSchema\":{\"type\":\"object\"}}",
                              transient_tool, NULL, NULL, &error);
    if (rc == MCP_OK) {
        rc = prompt ? mcp_server_remove_prompt(the_server, "test_transient_prompt", &error)
                    : mcp_server_remove_tool(the_server, "test_transient_tool", &error);
    }
    if (rc != MCP_OK) {
        tool_failed(call, what, "Could not change the list: %s", error ? error : "");
        mcp_string_free(error);
        return;
    }
    answer(call, mcp_j_tool_result_text("Mutation triggered", 0), what);
}

static void tool_trigger_tool_change(void *ud, mcp_call_t *call, const char *args) {
    (void)ud, (void)args;
    tool_trigger_change(call, "test_trigger_tool_change", 0);
}

static void tool_trigger_prompt_change(void *ud, mcp_call_t *call, const char *args) {
    (void)ud, (void)args;
    tool_trigger_change(call, "test_trigger_prompt_change", 1);
}

/* test_url_elicitation: answers -32042 (URL elicitation required) and, a moment
** later, finishes that elicitation with notifications/elicitation/complete to
** this session only. */
struct url_elicitation {
    char *session_id;
    char elicitation_id[64];
};

static void *finish_url_elicitation(void *arg) {
    struct url_elicitation *u = arg;
    sleep_ms(100);
    char *error = NULL;
    mcp_status rc = mcp_server_notify_elicitation_complete(the_server, u->session_id, u->elicitation_id, &error);
    if (rc != MCP_OK && rc != MCP_ERR_NOT_FOUND) report("elicitation complete", rc, error);
    mcp_string_free(error);
    mcp_string_free(u->session_id);
    free(u);
    return NULL;
}

static void tool_url_elicitation(void *ud, mcp_call_t *call, const char *args) {
    (void)ud, (void)args;
    static atomic_long next_id;
    struct url_elicitation *u = calloc(1, sizeof *u);
    char *error = NULL;
    if (u == NULL || mcp_call_session_id(call, &u->session_id, &error) != MCP_OK) {
        tool_failed(call, "test_url_elicitation", "No session id: %s", error ? error : "out of memory");
        mcp_string_free(error);
        free(u);
        return;
    }
    snprintf(u->elicitation_id, sizeof u->elicitation_id, "elicitation-%ld", atomic_fetch_add(&next_id, 1) + 1);
    json_t *data = json_pack("{s:[{s:s, s:s, s:s, s:s}]}", "elicitations", "mode", "url", "elicitationId",
                             u->elicitation_id, "url", "https://example.com/authorize", "message",
                             "Authorize access in your browser");
    char *text = json_dumps(data, JSON_COMPACT);
    mcp_status rc = mcp_call_error(call, MCP_JSONRPC_URL_ELICITATION_REQUIRED, "This request requires authorization",
                                   text, &error);
    if (rc != MCP_OK) report("test_url_elicitation", rc, error);
    mcp_string_free(error);
    free(text);
    json_decref(data);
    pthread_t t;
    if (pthread_create(&t, NULL, finish_url_elicitation, u) == 0) {
        pthread_detach(t);
    } else {
        mcp_string_free(u->session_id);
        free(u);
    }
}

/* ------------------------------------------- tasks extension (2026-07-28, SEP-2663) */

/* The fixtures of the conformance suite's tasks scenarios. greet is a plain
** tool; the others declare execution.taskSupport, so a 2026-07-28 request
** that declares io.modelcontextprotocol/tasks gets a task handle (the engine
** decides; these handlers are ordinary tool handlers) and a 2025-11-25 client
** may call them as tasks. Long work runs on a thread of its own. */

static void tool_greet(void *ud, mcp_call_t *call, const char *arguments_json) {
    (void)ud;
    json_t *args = load_object(arguments_json);
    const char *name = json_string_value(json_object_get(args, "name"));
    json_t *msg = json_sprintf("Hello, %s!", name ? name : "World");
    answer(call, mcp_j_tool_result_text(json_string_value(msg), 0), "greet");
    json_decref(msg);
    json_decref(args);
}

/* One delayed job: sleeps (watching for cancellation), then answers. */
struct job {
    mcp_call_t *call;
    long ms;
    int kind; /* 0: slow_compute, 1: failing_job */
    char label[128];
};

static void *job_main(void *arg) {
    struct job *j = arg;
    for (long slept = 0; slept < j->ms && !mcp_call_is_cancelled(j->call); slept += 10) sleep_ms(10);
    if (mcp_call_is_cancelled(j->call)) {
        /* Answered all the same; the engine drops it (the task says cancelled). */
        answer(j->call, mcp_j_tool_result_text("Cancelled", 1), "slow_compute");
    } else if (j->kind == 1) {
        answer(j->call, mcp_j_tool_result_text("The job failed: the input was rejected", 1), "failing_job");
    } else {
        char text[256];
        snprintf(text, sizeof text, "Computed %s in %ld ms", j->label, j->ms);
        answer(j->call, mcp_j_tool_result_text(text, 0), "slow_compute");
    }
    free(j);
    return NULL;
}

static void start_job(mcp_call_t *call, const char *tool, int kind, long ms, const char *label) {
    struct job *j = calloc(1, sizeof *j);
    pthread_t t;
    pthread_attr_t attr;
    int err = ENOMEM;
    if (j != NULL) {
        j->call = call;
        j->ms = ms;
        j->kind = kind;
        snprintf(j->label, sizeof j->label, "%s", label ? label : "job");
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        err = pthread_create(&t, &attr, job_main, j);
        pthread_attr_destroy(&attr);
    }
    if (err != 0) {
        free(j);
        tool_failed(call, tool, "Could not start a thread: %s", strerror(err));
    }
}

static void tool_slow_compute(void *ud, mcp_call_t *call, const char *arguments_json) {
    (void)ud;
    json_t *args = load_object(arguments_json);
    json_t *s = json_object_get(args, "seconds");
    /* The engine checked "seconds" against the inputSchema (a number 0..600). */
    double seconds = json_is_number(s) ? json_number_value(s) : 1.0;
    start_job(call, "slow_compute", 0, (long)(seconds * 1000), json_string_value(json_object_get(args, "label")));
    json_decref(args);
}

static void tool_failing_job(void *ud, mcp_call_t *call, const char *arguments_json) {
    (void)ud, (void)arguments_json;
    start_job(call, "failing_job", 1, 1000, NULL);
}

/* A protocol-level failure (the task fails, with this error inlined). */
static void tool_protocol_error_job(void *ud, mcp_call_t *call, const char *arguments_json) {
    (void)ud, (void)arguments_json;
    call_failed(call, MCP_JSONRPC_INTERNAL_ERROR, "The job crashed (simulated internal failure)", "protocol_error_job");
}

/* Elicitations of confirm_delete and multi_input: the call is answered once
** every one of them came back. */
struct gather {
    mcp_call_t *call;
    const char *tool;
    atomic_int left;
    pthread_mutex_t lock;
    char text[512];
};

static void gather_done(void *user_data, mcp_status status, const char *result_json, const char *error_json) {
    (void)error_json;
    struct gather *g = user_data;
    json_t *r = status == MCP_OK ? mcp_j_loads(result_json, NULL) : NULL;
    const char *action = json_string_value(json_object_get(r, "action"));
    json_t *content = json_object_get(r, "content");
    char *c = content ? json_dumps(content, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    pthread_mutex_lock(&g->lock);
    size_t n = strlen(g->text);
    snprintf(g->text + n, sizeof g->text - n, "%s%s%s%s", n ? "; " : "",
             status == MCP_OK ? (action ? action : "?") : mcp_status_string(status), c ? " " : "", c ? c : "");
    pthread_mutex_unlock(&g->lock);
    free(c);
    json_decref(r);
    if (atomic_fetch_sub(&g->left, 1) == 1) {
        json_t *msg = json_sprintf("%s: %s", g->tool, g->text);
        answer(g->call, mcp_j_tool_result_text(json_string_value(msg), 0), g->tool);
        json_decref(msg);
        pthread_mutex_destroy(&g->lock);
        free(g);
    }
}

static json_t *confirm_params(const char *message) {
    return json_pack("{s:s, s:s, s:{s:s, s:{s:{s:s, s:s}}, s:[s]}}", "mode", "form", "message", message,
                     "requestedSchema", "type", "object", "properties", "confirm", "type", "boolean", "description",
                     "Go ahead?", "required", "confirm");
}

/* Asks n elicitations at once (messages[i]); the last answer answers the call. */
static void gather_inputs(mcp_call_t *call, const char *tool, int n, const char *const *messages) {
    struct gather *g = calloc(1, sizeof *g);
    if (g == NULL) {
        tool_failed(call, tool, "Out of memory");
        return;
    }
    g->call = call;
    g->tool = tool;
    atomic_init(&g->left, n);
    pthread_mutex_init(&g->lock, NULL);
    for (int i = 0; i < n; i++) {
        char *error = NULL;
        json_t *params = confirm_params(messages[i]);
        mcp_status rc = mcp_j_call_request(call, "elicitation/create", params, 0, gather_done, g, &error);
        json_decref(params);
        if (rc != MCP_OK) {
            /* Not sent: count it as answered with the reason. */
            report(tool, rc, error);
            gather_done(g, rc, NULL, NULL);
        }
    }
}

static void tool_confirm_delete(void *ud, mcp_call_t *call, const char *arguments_json) {
    (void)ud;
    json_t *args = load_object(arguments_json);
    const char *filename = json_string_value(json_object_get(args, "filename"));
    json_t *msg = json_sprintf("Delete %s?", filename ? filename : "the file");
    const char *messages[] = {json_string_value(msg)};
    gather_inputs(call, "confirm_delete", 1, messages);
    json_decref(msg);
    json_decref(args);
}

static void tool_multi_input(void *ud, mcp_call_t *call, const char *arguments_json) {
    (void)ud, (void)arguments_json;
    const char *messages[] = {"First confirmation?", "Second confirmation?"};
    gather_inputs(call, "multi_input", 2, messages);
}

/* The execution.taskSupport of each task fixture (NULL: none). */
static const char *task_support(const char *tool) {
    static const struct {
        const char *tool, *support;
    } table[] = {
        {"test_sleep", "optional"},       {"slow_compute", "optional"}, {"failing_job", "required"},
        {"protocol_error_job", "optional"}, {"confirm_delete", "optional"}, {"multi_input", "optional"},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (strcmp(table[i].tool, tool) == 0) return table[i].support;
    return NULL;
}

/* --------------------------------------------- MCP Apps (io.modelcontextprotocol/ui) */

/* One small app: a self-contained HTML page (no external assets, so the
** host's default-deny CSP holds) served as a ui:// resource with the app
** MIME type, and a tool whose _meta.ui.resourceUri points at it. */
#define APP_URI "ui://everything/clock.html"
#define APP_MIME "text/html;profile=mcp-app"

static const char APP_HTML[] =
    "<!doctype html><html><head><meta charset=\"utf-8\"><title>Clock</title>"
    "<style>body{font:16px system-ui;margin:1em}</style></head><body>"
    "<p>Server time: <strong id=\"t\">waiting for the tool result</strong></p>"
    "<script>"
    "window.addEventListener('message',function(e){var m=e.data;"
    "if(m&&m.method==='ui/notifications/tool-result'&&m.params&&m.params.structuredContent)"
    "{document.getElementById('t').textContent=m.params.structuredContent.time;}});"
    "window.parent.postMessage({jsonrpc:'2.0',id:1,method:'ui/initialize',params:{appInfo:"
    "{name:'everything-clock',version:'1.0'},appCapabilities:{},protocolVersion:'2026-01-26'}},'*');"
    "</script></body></html>";

static void resource_app(void *ud, mcp_call_t *call, const char *uri, const char *vars) {
    (void)ud, (void)vars;
    answer(call,
           json_pack("{s:[{s:s, s:s, s:s, s:{s:{s:b}}}]}", "contents", "uri", uri, "mimeType", APP_MIME, "text",
                     APP_HTML, "_meta", "ui", "prefersBorder", 1),
           uri);
}

static void tool_app_clock(void *ud, mcp_call_t *call, const char *args) {
    (void)ud, (void)args;
    char now[32];
    time_t t = time(NULL);
    struct tm tm;
    strftime(now, sizeof now, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
    json_t *result = mcp_j_tool_result_text(now, 0);
    if (result) json_object_set_new(result, "structuredContent", json_pack("{s:s}", "time", now));
    answer(call, result, "test_app_clock");
}

static int check_add(const char *kind, const char *key, json_t *def, mcp_status rc, char *error);

static int add_app_resource(mcp_server_t *server) {
    json_t *def = json_pack("{s:s, s:s, s:s, s:s, s:s, s:{s:{s:b}}}", "uri", APP_URI, "name", "clock-app", "title",
                            "Clock app", "description", "An MCP App (HTML) that shows test_app_clock's result.",
                            "mimeType", APP_MIME, "_meta", "ui", "prefersBorder", 1);
    if (def == NULL) return 0;
    char *error = NULL;
    mcp_status rc = mcp_j_server_add_resource(server, def, resource_app, NULL, NULL, &error);
    return check_add("resource", "uri", def, rc, error);
}

struct tool_spec {
    const char *name, *title, *description;
    const char *input_schema;  /* JSON text; NULL: no arguments */
    const char *output_schema; /* JSON text or NULL */
    mcp_tool_fn fn;
    /* The callback never blocks (it answers at once, or from another thread
    ** later): it runs on the I/O thread, with no hand-off to a worker. The
    ** tools that sleep (logging, progress, reconnection) stay on workers. */
    int quick;
};

/* --no-inline: every tool on a worker thread (the benchmark compares both). */
static int inline_tools = 1;
/* --task-ttl-ms: the lifetime of tasks (0: the engine's default). */
static long task_ttl_ms;
/* --max-calls-in-flight, --tool-timeout-ms, --circuit-breaker (0: the engine's defaults). */
static long max_in_flight, tool_timeout_ms, breaker_failures, breaker_open_ms;
/* --reuse-port: SO_REUSEPORT, for restarts without a gap (a new process binds first). */
static int reuse_port;
/* --listen-backlog, --accept-batch, --accept-rate, --max-sessions: the HTTP
** config's "listen_backlog", "accept_batch", "accept_rate", "max_sessions" (-1: the engine's defaults;
** the engine checks the range, so a bad value is its clear error). */
static long listen_backlog = -1, accept_batch = -1, accept_rate = -1, max_sessions = -1;
/* --store URL: the HTTP config's "store" (NULL: the engine's default, memory:). */
static const char *store_url;
/* --fleet-lease-ms N, --fleet-poll-ms N: the HTTP config's "fleet_lease_ms" and
** "fleet_poll_ms" (0: the engine's defaults). */
static long fleet_lease_ms, fleet_poll_ms;

/* --state-key FILE: reads the shared secret, as hex text (64+ hex digits,
** whitespace around it ignored) or raw bytes (32+), and returns it as hex
** text for the "state_key" server option; NULL (message printed) on error. */
static char *read_state_key(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, PROGRAM ": --state-key %s: %s\n", path, strerror(errno));
        return NULL;
    }
    unsigned char buf[4096];
    size_t n = fread(buf, 1, sizeof buf, f);
    int too_long = n == sizeof buf && fgetc(f) != EOF;
    fclose(f);
    if (too_long) {
        fprintf(stderr, PROGRAM ": --state-key %s: larger than %zu bytes\n", path, sizeof buf - 1);
        return NULL;
    }
    size_t start = 0, end = n;
    while (start < end && isspace(buf[start])) start++;
    while (end > start && isspace(buf[end - 1])) end--;
    int hex = end - start >= 64 && (end - start) % 2 == 0;
    for (size_t i = start; hex && i < end; i++) hex = isxdigit(buf[i]) != 0;
    if (!hex && n < 32) {
        fprintf(stderr, PROGRAM ": --state-key %s: needs at least 32 bytes (or 64 hex digits), got %zu\n", path, n);
        return NULL;
    }
    size_t len = hex ? end - start : 2 * n;
    char *text = malloc(len + 1);
    if (!text) return NULL;
    if (hex) {
        memcpy(text, buf + start, len);
    } else {
        for (size_t i = 0; i < n; i++) snprintf(text + 2 * i, 3, "%02x", buf[i]);
    }
    text[len] = '\0';
    return text;
}

static const struct tool_spec TOOLS[] = {
    {"test_simple_text", "Simple text", "Returns one text block.", NULL, NULL, tool_simple_text, 1},
    {"test_image_content", "Image content", "Returns a 1x1 PNG image block.", NULL, NULL, tool_image_content, 1},
    {"test_audio_content", "Audio content", "Returns a short WAV audio block.", NULL, NULL, tool_audio_content, 1},
    {"test_embedded_resource", "Embedded resource", "Returns an embedded text resource block.", NULL, NULL,
     tool_embedded_resource, 1},
    {"test_multiple_content_types", "Multiple content types",
     "Returns a text block, an image block and an embedded resource block.", NULL, NULL,
     tool_multiple_content_types, 1},
    {"test_error_handling", "Error handling", "Always fails, with isError true and an explanation.", NULL,
     NULL, tool_error_handling, 1},
    {"test_tool_with_logging", "Tool with logging",
     "Sends three info log messages about 50 ms apart, then returns.", NULL, NULL, tool_with_logging, 0},
    {"test_logging_tool", "Logging tool",
     "Sends three info log messages about 50 ms apart, then returns (at 2026-07-28 only to a request "
     "that set io.modelcontextprotocol/logLevel).", NULL, NULL, tool_with_logging, 0},
    {"test_missing_capability", "Missing capability",
     "Needs the client's sampling capability; at 2026-07-28 a request without it gets -32021.", NULL, NULL,
     tool_missing_capability, 1},
    {"test_header_param", "Header parameters",
     "Echoes region, count and dry_run, which Streamable HTTP clients mirror into Mcp-Param-* headers.",
     "{\"type\":\"object\",\"properties\":{"
     "\"region\":{\"type\":\"string\",\"x-mcp-header\":\"Region\",\"description\":\"A region name\"},"
     "\"count\":{\"type\":\"integer\",\"x-mcp-header\":\"Count\"},"
     "\"dry_run\":{\"type\":\"boolean\",\"x-mcp-header\":\"Dry-Run\"}},\"required\":[\"region\"]}",
     NULL, tool_header_param, 1},
    {"test_tool_with_progress", "Tool with progress",
     "Reports progress 0, 50 and 100 of 100 about 50 ms apart when the request has a progressToken.",
     NULL, NULL, tool_with_progress, 0},
    {"json_schema_2020_12_tool", "JSON Schema 2020-12",
     "Tool with JSON Schema 2020-12 features ($schema, $defs, allOf/anyOf, if/then/else).", SCHEMA_2020_12,
     NULL, tool_json_schema_2020_12, 1},
    {"test_progress_stream", "Progress stream",
     "Sends `steps` progress notifications `interval_ms` apart (when the request has a progressToken), then "
     "answers \"Streamed N progress steps\".",
     "{\"type\":\"object\",\"properties\":{\"steps\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":10000},"
     "\"interval_ms\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":10000}},\"required\":[\"steps\",\"interval_ms\"]}",
     NULL, tool_progress_stream, 1},
    {"test_unchecked_arguments", "Unchecked arguments",
     "Answers the arguments it received; registered with validation off, so they need not match its inputSchema.",
     "{\"type\":\"object\",\"properties\":{\"count\":{\"type\":\"integer\"}},\"required\":[\"count\"]}",
     NULL, tool_unchecked_arguments, 1},
    {"test_echo", "Echo", "Returns the given text, also as structuredContent {\"text\": ...}.",
     "{\"type\":\"object\",\"properties\":{\"text\":{\"type\":\"string\",\"description\":\"Text to echo\"}},"
     "\"required\":[\"text\"]}",
     "{\"type\":\"object\",\"properties\":{\"text\":{\"type\":\"string\"}},\"required\":[\"text\"]}", tool_echo, 1},
    {"test_sleep", "Sleep",
     "Sleeps for ms milliseconds without holding an engine thread; stops early when cancelled.",
     "{\"type\":\"object\",\"properties\":{\"ms\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":600000,"
     "\"description\":\"How long to sleep, in milliseconds\"}},\"required\":[\"ms\"]}",
     NULL, tool_sleep, 1},
    {"test_sampling", "Sampling", "Asks the client's model to answer the prompt (sampling/createMessage).",
     "{\"type\":\"object\",\"properties\":{\"prompt\":{\"type\":\"string\",\"description\":\"The prompt to send to the LLM\"}},"
     "\"required\":[\"prompt\"]}",
     NULL, tool_sampling, 1},
    {"test_elicitation", "Elicitation", "Asks the user for a username and an email (elicitation/create).",
     "{\"type\":\"object\",\"properties\":{\"message\":{\"type\":\"string\",\"description\":\"The message to show the user\"}},"
     "\"required\":[\"message\"]}",
     NULL, tool_elicitation, 1},
    {"test_elicitation_sep1034_defaults", "Elicitation with defaults",
     "Asks the user for a form whose fields all have default values (SEP-1034).", NULL, NULL,
     tool_elicitation_defaults, 1},
    {"test_elicitation_sep1330_enums", "Elicitation with enums",
     "Asks the user for a form with every enum shape: untitled, titled, legacy, multi-select (SEP-1330).", NULL, NULL,
     tool_elicitation_enums, 1},
    {"test_update_watched_resource", "Update watched resource",
     "Changes test://watched-resource and notifies the sessions and listen streams subscribed to it.", NULL, NULL,
     tool_update_watched, 1},
    {"test_trigger_tool_change", "Trigger tool list change",
     "Adds a transient tool and withdraws it: two notifications/tools/list_changed to every listener.", NULL, NULL,
     tool_trigger_tool_change, 1},
    {"test_trigger_prompt_change", "Trigger prompt list change",
     "Adds a transient prompt and withdraws it: two notifications/prompts/list_changed to every listener.", NULL,
     NULL, tool_trigger_prompt_change, 1},
    {"test_url_elicitation", "URL elicitation",
     "Fails with -32042 (URL elicitation required), then completes that elicitation a moment later.", NULL, NULL,
     tool_url_elicitation, 1},
    {"test_cancel_count", "Cancel count", "Returns how many test_sleep calls saw their cancellation.", NULL,
     "{\"type\":\"object\",\"properties\":{\"count\":{\"type\":\"integer\"}},\"required\":[\"count\"]}",
     tool_cancel_count, 1},
    {"test_reconnection", "Reconnection",
     "Closes its SSE stream mid-call (HTTP); the client resumes with Last-Event-ID and gets the result.", NULL, NULL,
     tool_reconnection, 0},
    {"greet", "Greet", "Returns \"Hello, {name}!\" at once (never a task).",
     "{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\"}}}", NULL, tool_greet, 1},
    {"slow_compute", "Slow compute",
     "Works for `seconds` seconds (0 allowed), then returns; a task when the client takes tasks.",
     "{\"type\":\"object\",\"properties\":{\"seconds\":{\"type\":\"number\",\"minimum\":0,\"maximum\":600},"
     "\"label\":{\"type\":\"string\"}}}", NULL, tool_slow_compute, 1},
    {"failing_job", "Failing job", "Runs only as a task; after about a second returns a tool error (isError).",
     NULL, NULL, tool_failing_job, 1},
    {"protocol_error_job", "Protocol error job", "Fails with a JSON-RPC internal error (a failed task).", NULL,
     NULL, tool_protocol_error_job, 1},
    {"confirm_delete", "Confirm delete", "Asks the user to confirm (one elicitation), then reports the answer.",
     "{\"type\":\"object\",\"properties\":{\"filename\":{\"type\":\"string\"}}}", NULL, tool_confirm_delete, 1},
    {"multi_input", "Multi input", "Asks two confirmations at once, then reports both answers.", NULL, NULL,
     tool_multi_input, 1},
    {"test_app_clock", "Clock (MCP App)", "Returns the server time; hosts with MCP Apps show it in " APP_URI ".",
     NULL, "{\"type\":\"object\",\"properties\":{\"time\":{\"type\":\"string\"}},\"required\":[\"time\"]}",
     tool_app_clock, 1},
};

/* ---------------------------------------------------------------- resources */

static void read_text(mcp_call_t *call, const char *uri, const char *mime_type, const char *text) {
    answer(call, json_pack("{s:[{s:s, s:s, s:s}]}", "contents", "uri", uri, "mimeType", mime_type, "text", text),
           uri);
}

static void resource_static_text(void *ud, mcp_call_t *call, const char *uri, const char *vars) {
    (void)ud, (void)vars;
    read_text(call, uri, "text/plain", "This is the content of the static text resource.");
}

static void resource_static_binary(void *ud, mcp_call_t *call, const char *uri, const char *vars) {
    (void)ud, (void)vars;
    answer(call, json_pack("{s:[{s:s, s:s, s:s}]}", "contents", "uri", uri, "mimeType", "image/png", "blob", PNG_BASE64),
           uri);
}

static void resource_watched(void *ud, mcp_call_t *call, const char *uri, const char *vars) {
    (void)ud, (void)vars;
    char text[96];
    long v = atomic_load(&watched_version);
    if (v == 0) snprintf(text, sizeof text, "Watched resource content");
    else snprintf(text, sizeof text, "Watched resource content (version %ld)", v);
    read_text(call, uri, "text/plain", text);
}

static void resource_template_data(void *ud, mcp_call_t *call, const char *uri, const char *variables_json) {
    (void)ud;
    json_t *vars = load_object(variables_json);
    const char *id = json_string_value(json_object_get(vars, "id"));
    if (id == NULL) {
        call_failed(call, MCP_JSONRPC_INVALID_PARAMS, "The template variable \"id\" is missing", uri);
    } else {
        json_t *data = json_pack("{s:s, s:b, s:s+}", "id", id, "templateTest", 1, "data", "Data for ID: ", id);
        char *text = data ? json_dumps(data, JSON_COMPACT) : NULL;
        if (text) {
            read_text(call, uri, "application/json", text);
        } else {
            call_failed(call, MCP_JSONRPC_INTERNAL_ERROR, "Out of memory", uri);
        }
        free(text);
        json_decref(data);
    }
    json_decref(vars);
}

/* ------------------------------------------------------------------ prompts */

/* {"role":"user","content":block} (block stolen). */
static json_t *user_message(json_t *block) {
    return block ? json_pack("{s:s, s:o}", "role", "user", "content", block) : NULL;
}

static void prompt_answer(mcp_call_t *call, json_t *messages, const char *what) {
    answer(call, messages ? json_pack("{s:o}", "messages", messages) : NULL, what);
}

static void prompt_simple(void *ud, mcp_call_t *call, const char *args) {
    (void)ud, (void)args;
    prompt_answer(call, json_pack("[o]", user_message(mcp_j_text_content("This is a simple prompt for testing."))),
                  "test_simple_prompt");
}

static void prompt_with_arguments(void *ud, mcp_call_t *call, const char *arguments_json) {
    (void)ud;
    json_t *args = load_object(arguments_json);
    const char *arg1 = json_string_value(json_object_get(args, "arg1"));
    const char *arg2 = json_string_value(json_object_get(args, "arg2"));
    if (arg1 == NULL || arg2 == NULL) {
        /* The engine checks required arguments; this only guards against surprises. */
        call_failed(call, MCP_JSONRPC_INVALID_PARAMS, "arg1 and arg2 are required strings",
                    "test_prompt_with_arguments");
    } else {
        json_t *text = json_sprintf("Prompt with arguments: arg1='%s', arg2='%s'", arg1, arg2);
        prompt_answer(call, json_pack("[o]", user_message(mcp_j_text_content(json_string_value(text)))),
                      "test_prompt_with_arguments");
        json_decref(text);
    }
    json_decref(args);
}

static void prompt_with_embedded_resource(void *ud, mcp_call_t *call, const char *arguments_json) {
    (void)ud;
    json_t *args = load_object(arguments_json);
    const char *uri = json_string_value(json_object_get(args, "resourceUri"));
    if (uri == NULL || uri[0] == '\0') {
        call_failed(call, MCP_JSONRPC_INVALID_PARAMS, "resourceUri must be a non-empty string",
                    "test_prompt_with_embedded_resource");
    } else {
        prompt_answer(call,
                      json_pack("[o, o]",
                                user_message(mcp_j_resource_text_content(uri, "text/plain",
                                                                         "Embedded resource content for testing.")),
                                user_message(mcp_j_text_content("Please process the embedded resource above."))),
                      "test_prompt_with_embedded_resource");
    }
    json_decref(args);
}

static void prompt_with_image(void *ud, mcp_call_t *call, const char *args) {
    (void)ud, (void)args;
    prompt_answer(call,
                  json_pack("[o, o]", user_message(mcp_j_image_content(PNG_BASE64, "image/png")),
                            user_message(mcp_j_text_content("Please analyze the image above."))),
                  "test_prompt_with_image");
}

/* ------------------------------------------------------------- registration */

/* Parses a JSON text of this file; a failure is a bug here. */
static json_t *parse_or_die(const char *text) {
    json_error_t e;
    json_t *v = json_loads(text, 0, &e);
    if (v == NULL) {
        fprintf(stderr, PROGRAM ": internal JSON error at %d: %s\n", e.position, e.text);
        exit(1);
    }
    return v;
}

/* Reports a failed registration; def (stolen) names it by key. 0 on failure. */
static int check_add(const char *kind, const char *key, json_t *def, mcp_status rc, char *error) {
    if (rc != MCP_OK) {
        char what[256];
        const char *name = json_string_value(json_object_get(def, key));
        snprintf(what, sizeof what, "cannot add %s %s", kind, name ? name : "?");
        report(what, rc, error);
    }
    json_decref(def);
    return rc == MCP_OK;
}

static int add_tools(mcp_server_t *server) {
    for (size_t i = 0; i < sizeof TOOLS / sizeof TOOLS[0]; i++) {
        const struct tool_spec *t = &TOOLS[i];
        json_t *def = json_pack("{s:s, s:s, s:s, s:o}", "name", t->name, "title", t->title, "description",
                                t->description, "inputSchema",
                                t->input_schema ? parse_or_die(t->input_schema) : json_pack("{s:s}", "type", "object"));
        if (def == NULL) return 0;
        if (t->output_schema) json_object_set_new(def, "outputSchema", parse_or_die(t->output_schema));
        /* Task fixtures: tasks/get etc. in 2025-11-25, the tasks extension at 2026-07-28. */
        if (task_support(t->name))
            json_object_set_new(def, "execution", json_pack("{s:s}", "taskSupport", task_support(t->name)));
        /* The MCP App's tool points at its UI resource. */
        if (t->fn == tool_app_clock)
            json_object_set_new(def, "_meta", json_pack("{s:{s:s, s:[s, s]}}", "ui", "resourceUri", APP_URI,
                                                        "visibility", "model", "app"));
        char *error = NULL;
        unsigned flags = t->quick && inline_tools ? MCP_TOOL_INLINE : 0;
        /* test_echo reads its one argument by name: no JSON text of it per call. */
        if (t->fn == tool_echo) flags |= MCP_TOOL_ARGS_ON_DEMAND;
        /* test_unchecked_arguments shows what the engine's validation keeps out. */
        if (t->fn == tool_unchecked_arguments) flags |= MCP_TOOL_NO_VALIDATION;
        mcp_status rc = mcp_j_server_add_tool_ex(server, def, t->fn, NULL, NULL, flags, &error);
        if (!check_add("tool", "name", def, rc, error)) return 0;
    }
    return 1;
}

static int add_resources(mcp_server_t *server) {
    struct {
        const char *uri, *name, *title, *description, *mime_type;
        mcp_resource_fn fn;
    } const resources[] = {
        {"test://static-text", "static-text", "Static text", "A fixed text resource.", "text/plain",
         resource_static_text},
        {"test://static-binary", "static-binary", "Static binary", "A fixed binary resource (a 1x1 PNG).",
         "image/png", resource_static_binary},
        {"test://watched-resource", "watched-resource", "Watched resource",
         "A text resource meant for subscriptions.", "text/plain", resource_watched},
    };
    for (size_t i = 0; i < sizeof resources / sizeof resources[0]; i++) {
        json_t *def = json_pack("{s:s, s:s, s:s, s:s, s:s}", "uri", resources[i].uri, "name", resources[i].name,
                                "title", resources[i].title, "description", resources[i].description, "mimeType",
                                resources[i].mime_type);
        if (def == NULL) return 0;
        /* A per-feature caching hint (2026-07-28): this one changes. */
        if (strcmp(resources[i].uri, "test://watched-resource") == 0) {
            json_object_set_new(def, "ttlMs", json_integer(0));
            json_object_set_new(def, "cacheScope", json_string("private"));
        }
        char *error = NULL;
        mcp_status rc = mcp_j_server_add_resource(server, def, resources[i].fn, NULL, NULL, &error);
        if (!check_add("resource", "uri", def, rc, error)) return 0;
    }
    json_t *def = json_pack("{s:s, s:s, s:s, s:s, s:s}", "uriTemplate", "test://template/{id}/data", "name",
                            "template-data", "title", "Template data", "description",
                            "A JSON document for any id.", "mimeType", "application/json");
    if (def == NULL) return 0;
    char *error = NULL;
    mcp_status rc = mcp_j_server_add_resource_template(server, def, resource_template_data, NULL, NULL, &error);
    return check_add("resource template", "uriTemplate", def, rc, error) && add_app_resource(server);
}

static int add_prompts(mcp_server_t *server) {
    struct {
        const char *json;
        mcp_prompt_fn fn;
    } const prompts[] = {
        {"{\"name\":\"test_simple_prompt\",\"title\":\"Simple prompt\","
         "\"description\":\"A prompt without arguments.\"}",
         prompt_simple},
        {"{\"name\":\"test_prompt_with_arguments\",\"title\":\"Prompt with arguments\","
         "\"description\":\"A prompt with two required arguments.\",\"arguments\":["
         "{\"name\":\"arg1\",\"description\":\"First test argument\",\"required\":true},"
         "{\"name\":\"arg2\",\"description\":\"Second test argument\",\"required\":true}]}",
         prompt_with_arguments},
        {"{\"name\":\"test_prompt_with_embedded_resource\",\"title\":\"Prompt with embedded resource\","
         "\"description\":\"A prompt that embeds the resource it is given.\",\"arguments\":["
         "{\"name\":\"resourceUri\",\"description\":\"URI of the resource to embed\",\"required\":true}]}",
         prompt_with_embedded_resource},
        {"{\"name\":\"test_prompt_with_image\",\"title\":\"Prompt with image\","
         "\"description\":\"A prompt with an image and a question about it.\"}",
         prompt_with_image},
    };
    for (size_t i = 0; i < sizeof prompts / sizeof prompts[0]; i++) {
        json_t *def = parse_or_die(prompts[i].json);
        char *error = NULL;
        mcp_status rc = mcp_j_server_add_prompt(server, def, prompts[i].fn, NULL, NULL, &error);
        if (!check_add("prompt", "name", def, rc, error)) return 0;
    }
    return 1;
}

/* ---------------------------------------------------------------- completion */

/* completion/complete for test_prompt_with_arguments (arg1, arg2) and the
** template test://template/{id}/data (id): the candidates that start with
** what the user typed so far. */
static void complete(void *ud, mcp_call_t *call, const char *ref_json, const char *name, const char *value,
                     const char *context_json) {
    (void)ud, (void)ref_json, (void)context_json;
    static const char *const arg1[] = {"paris", "park", "party", "python", "pytest"};
    static const char *const arg2[] = {"alpha", "beta", "gamma", "delta"};
    static const char *const ids[] = {"1", "2", "3", "42", "100"};
    const char *const *list = arg2;
    size_t n = 4;
    if (strcmp(name, "arg1") == 0) list = arg1, n = 5;
    else if (strcmp(name, "id") == 0) list = ids, n = 5;
    json_t *values = json_array();
    for (size_t i = 0; i < n; i++)
        if (strncmp(list[i], value, strlen(value)) == 0) json_array_append_new(values, json_string(list[i]));
    size_t total = json_array_size(values);
    answer(call, json_pack("{s:{s:o, s:I, s:b}}", "completion", "values", values, "total", (json_int_t)total,
                           "hasMore", 0),
           "completion");
}

/* ------------------------------------------------------------------- signals */

/* SIGINT/SIGTERM are blocked in every thread and taken here, where calling
** mcp_server_stop is allowed (it is not a signal handler). main clears
** serving_server, under the lock, before it frees the server. */
static pthread_mutex_t serving_lock = PTHREAD_MUTEX_INITIALIZER;
static mcp_server_t *serving_server;

static void *signal_main(void *arg) {
    sigset_t set;
    (void)arg;
    int sig;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    if (sigwait(&set, &sig) != 0) return NULL;
    fprintf(stderr, PROGRAM ": signal %d: stopping (again to quit at once)\n", sig);
    pthread_mutex_lock(&serving_lock);
    if (serving_server) mcp_server_stop(serving_server);
    pthread_mutex_unlock(&serving_lock);
    if (sigwait(&set, &sig) == 0) _exit(128 + sig);
    return NULL;
}

/* ------------------------------------------------ authorization (--auth-config) */

/* test_whoami: the call's principal as JSON text ("null" without authorization). */
static void tool_whoami(void *ud, mcp_call_t *call, const char *arguments_json) {
    (void)ud, (void)arguments_json;
    char *principal = NULL, *error = NULL;
    mcp_status rc = mcp_call_principal_json(call, &principal, &error);
    if (rc != MCP_OK) {
        report("test_whoami", rc, error);
        tool_failed(call, "test_whoami", "Cannot read the principal");
        return;
    }
    answer(call, mcp_j_tool_result_text(principal ? principal : "null", 0), "test_whoami");
    mcp_string_free(principal);
}

/* test_admin_only: reached only with scope mcp:admin (the engine answers 403 otherwise). */
static void tool_admin_only(void *ud, mcp_call_t *call, const char *arguments_json) {
    (void)ud, (void)arguments_json;
    answer(call, mcp_j_tool_result_text("admin ok", 0), "test_admin_only");
}

static int add_auth_tools(mcp_server_t *server) {
    json_t *whoami = json_pack("{s:s, s:s, s:{s:s}}", "name", "test_whoami", "description",
                               "Returns the principal of the request's access token as JSON.", "inputSchema", "type",
                               "object");
    char *error = NULL;
    mcp_status rc = mcp_j_server_add_tool_ex(server, whoami, tool_whoami, NULL, NULL, 0, &error);
    if (!check_add("tool", "name", whoami, rc, error)) return 0;
    json_t *admin = json_pack("{s:s, s:s, s:{s:s}, s:[s]}", "name", "test_admin_only", "description",
                              "Needs scope mcp:admin (declared with requiredScopes).", "inputSchema", "type", "object",
                              "requiredScopes", "mcp:admin");
    rc = mcp_j_server_add_tool_ex(server, admin, tool_admin_only, NULL, NULL, 0, &error);
    return check_add("tool", "name", admin, rc, error);
}

/* --------------------------------------------------------------------- main */

static void usage(FILE *out) {
    fprintf(out,
            "Usage: " PROGRAM " [--stdio | --http HOST:PORT [--stateless] [--json-response]\n"
            "       [--admin HOST:PORT] [--access-log] [--auth-config FILE] [--store URL] [--reuse-port]\n"
            "       [--listen-backlog N] [--accept-batch N] [--accept-rate N] [--max-sessions N]]\n"
            "       [--state-key FILE]\n"
            "       [--task-ttl-ms MS] [--no-inline]\n"
            "       [--no-metrics] [--log-level LEVEL] [--trace stderr|count]\n"
            "Serves the MCP conformance fixtures (tools, resources, prompts) with libmcp %s.\n"
            "\n"
            "  --stdio            serve one client over stdin/stdout (the default)\n"
            "  --http HOST:PORT   serve over HTTP (port 0: any free port; the URL goes to stderr)\n"
            "  --stateless        HTTP without sessions: every request self-contained\n"
            "  --json-response    answer HTTP POSTs with JSON bodies where nothing precedes the result\n"
            "  --task-ttl-ms MS   the lifetime of tasks (default: the engine's, one hour)\n"
            "  --no-inline        run every tool on a worker thread (by default the quick ones run\n"
            "                     on the I/O thread: MCP_TOOL_INLINE)\n"
            "  --admin HOST:PORT  with --http: serve /metrics, /healthz, /readyz there\n"
            "  --access-log       with --http: one log record per HTTP response\n"
            "  --reuse-port       with --http: SO_REUSEPORT, so a new process can take over the port\n"
            "                     (or several share it: the kernel spreads connections over them)\n"
            "  --listen-backlog N with --http: the listen backlog (default 4096, capped by somaxconn)\n"
            "  --accept-batch N   with --http: connections accepted per event-loop turn (default 4)\n"
            "  --accept-rate N    with --http: new connections accepted per second (default 0: no pacing)\n"
            "  --max-sessions N   with --http: 2025-era sessions at once (default 10000)\n"
            "  --store URL        with --http: where sessions, stream events and tasks are kept:\n"
            "                     memory: (the default), sqlite:PATH (survives restarts) or\n"
            "                     postgres://USER:PASSWORD@HOST:PORT/DATABASE (shared by a fleet)\n"
            "  --fleet-lease-ms N with --store sqlite:: a process whose lease is N ms old is dead to\n"
            "                     the others sharing the store (default 5000)\n"
            "  --fleet-poll-ms N  how often relayed streams are looked up in the store (default 50)\n"
            "  --state-key FILE   the secret every node shares (at least 32 random bytes, raw or\n"
            "                     as hex text); the requestState key is derived from it\n"
            "  --auth-config FILE with --http: check OAuth access tokens; FILE holds the \"auth\"\n"
            "                     object of mcp_server_start_http (see mcp.h)\n"
            "  --no-metrics       keep no metrics (the benchmark's baseline)\n"
            "  --trace MODE       record a span per request (mcp_set_trace_hook): stderr writes each\n"
            "                     as a JSON line, count only counts them (the benchmark)\n"
            "  --log-level LEVEL  engine log records at LEVEL and above go to stderr as JSON\n"
            "                     lines: debug, info, warning (the default) or error\n"
            "  --max-calls-in-flight N  refuse calls beyond N in flight (503 over HTTP)\n"
            "  --tool-timeout-ms MS     answer a tool call not answered in MS with an error\n"
            "  --circuit-breaker F:MS   refuse a tool's calls for MS after F failures in a row\n"
            "  -h, --help         show this help\n",
            mcp_version());
}

/* Serves HTTP until SIGINT or SIGTERM (blocked in every thread, taken here
** with sigwait), then stops gracefully. addr is HOST:PORT ([v6]:PORT too). */
static int serve_http(mcp_server_t *server, const char *addr, int stateless, int json_response,
                      const char *admin, int access_log, json_t *auth, const sigset_t *signals) {
    const char *colon = strrchr(addr, ':');
    char *end = NULL;
    long port = colon ? strtol(colon + 1, &end, 10) : -1;
    if (colon == NULL || colon == addr || end == colon + 1 || *end != '\0' || port < 0 || port > 65535) {
        fprintf(stderr, PROGRAM ": --http wants HOST:PORT, got '%s'\n", addr);
        return 2;
    }
    int bracketed = addr[0] == '[' && colon[-1] == ']';
    json_t *config = json_pack("{s:s%, s:I, s:b, s:b}", "host", addr + bracketed,
                               (size_t)(colon - addr - 2 * bracketed), "port", (json_int_t)port, "stateless",
                               stateless, "json_response", json_response);
    if (config && admin) json_object_set_new(config, "admin", json_string(admin));
    if (config && access_log) json_object_set_new(config, "access_log", json_true());
    if (config && reuse_port) json_object_set_new(config, "reuse_port", json_true());
    if (config && listen_backlog >= 0) json_object_set_new(config, "listen_backlog", json_integer(listen_backlog));
    if (config && accept_batch >= 0) json_object_set_new(config, "accept_batch", json_integer(accept_batch));
    if (config && accept_rate >= 0) json_object_set_new(config, "accept_rate", json_integer(accept_rate));
    if (config && max_sessions >= 0) json_object_set_new(config, "max_sessions", json_integer(max_sessions));
    if (config && store_url) json_object_set_new(config, "store", json_string(store_url));
    if (config && fleet_lease_ms > 0) json_object_set_new(config, "fleet_lease_ms", json_integer(fleet_lease_ms));
    if (config && fleet_poll_ms > 0) json_object_set_new(config, "fleet_poll_ms", json_integer(fleet_poll_ms));
    if (config && auth) json_object_set(config, "auth", auth);
    char *text = config ? json_dumps(config, JSON_COMPACT) : NULL;
    json_decref(config);
    uint16_t bound = 0;
    char *error = NULL;
    mcp_status rc = text ? mcp_server_start_http(server, text, &bound, &error) : MCP_ERR_NO_MEMORY;
    free(text);
    if (rc != MCP_OK) {
        report("cannot serve HTTP", rc, error);
        return 1;
    }
    fprintf(stderr, PROGRAM ": serving MCP on http://%.*s:%u/mcp\n", (int)(colon - addr), addr, (unsigned)bound);
    int sig = 0;
    sigwait(signals, &sig);
    fprintf(stderr, PROGRAM ": signal %d: stopping\n", sig);
    rc = mcp_server_stop_http(server, 10000, &error);
    if (rc != MCP_OK) report("stopping HTTP", rc, error);
    return 0;
}

int main(int argc, char **argv) {
    const char *http_addr = NULL, *admin_addr = NULL, *auth_file = NULL, *state_key_file = NULL;
    int stateless = 0, json_response = 0, access_log = 0, metrics = 1;
    int32_t log_level = MCP_LOG_WARNING;
    mcp_trace_fn trace_fn = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--stdio")) continue;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        }
        if (!strncmp(a, "--http=", 7)) {
            http_addr = a + 7;
            continue;
        }
        if (!strcmp(a, "--http") && i + 1 < argc) {
            http_addr = argv[++i];
            continue;
        }
        if (!strcmp(a, "--stateless")) {
            stateless = 1;
            continue;
        }
        if (!strcmp(a, "--json-response")) {
            json_response = 1;
            continue;
        }
        if (!strcmp(a, "--admin") && i + 1 < argc) {
            admin_addr = argv[++i];
            continue;
        }
        if (!strncmp(a, "--admin=", 8)) {
            admin_addr = a + 8;
            continue;
        }
        if (!strcmp(a, "--auth-config") && i + 1 < argc) {
            auth_file = argv[++i];
            continue;
        }
        if (!strcmp(a, "--access-log")) {
            access_log = 1;
            continue;
        }
        if (!strcmp(a, "--no-metrics")) {
            metrics = 0;
            continue;
        }
        if (!strcmp(a, "--trace") && i + 1 < argc) {
            const char *m = argv[++i];
            if (!strcmp(m, "stderr")) {
                trace_fn = trace_to_stderr;
            } else if (!strcmp(m, "count")) {
                trace_fn = trace_count;
            } else {
                fprintf(stderr, PROGRAM ": --trace wants stderr or count, got '%s'\n", m);
                return 2;
            }
            continue;
        }
        if (!strcmp(a, "--log-level") && i + 1 < argc) {
            const char *l = argv[++i];
            log_level = !strcmp(l, "debug") ? MCP_LOG_DEBUG : !strcmp(l, "info") ? MCP_LOG_INFO
                      : !strcmp(l, "warning") ? MCP_LOG_WARNING : !strcmp(l, "error") ? MCP_LOG_ERROR : -1;
            if (log_level < 0) {
                fprintf(stderr, PROGRAM ": --log-level wants debug, info, warning or error, got '%s'\n", l);
                return 2;
            }
            continue;
        }
        if (!strcmp(a, "--task-ttl-ms") && i + 1 < argc) {
            task_ttl_ms = atol(argv[++i]);
            continue;
        }
        if (!strcmp(a, "--no-inline")) {
            inline_tools = 0;
            continue;
        }
        if (!strcmp(a, "--reuse-port")) {
            reuse_port = 1;
            continue;
        }
        if (!strcmp(a, "--listen-backlog") && i + 1 < argc) {
            listen_backlog = atol(argv[++i]);
            continue;
        }
        if (!strcmp(a, "--accept-batch") && i + 1 < argc) {
            accept_batch = atol(argv[++i]);
            continue;
        }
        if (!strcmp(a, "--accept-rate") && i + 1 < argc) {
            accept_rate = atol(argv[++i]);
            continue;
        }
        if (!strcmp(a, "--max-sessions") && i + 1 < argc) {
            max_sessions = atol(argv[++i]);
            continue;
        }
        if (!strcmp(a, "--store") && i + 1 < argc) {
            store_url = argv[++i];
            continue;
        }
        if (!strcmp(a, "--fleet-lease-ms") && i + 1 < argc) {
            fleet_lease_ms = atol(argv[++i]);
            continue;
        }
        if (!strcmp(a, "--fleet-poll-ms") && i + 1 < argc) {
            fleet_poll_ms = atol(argv[++i]);
            continue;
        }
        if (!strcmp(a, "--state-key") && i + 1 < argc) {
            state_key_file = argv[++i];
            continue;
        }
        if (!strcmp(a, "--max-calls-in-flight") && i + 1 < argc) {
            max_in_flight = atol(argv[++i]);
            continue;
        }
        if (!strcmp(a, "--tool-timeout-ms") && i + 1 < argc) {
            tool_timeout_ms = atol(argv[++i]);
            continue;
        }
        if (!strcmp(a, "--circuit-breaker") && i + 1 < argc) {
            if (sscanf(argv[++i], "%ld:%ld", &breaker_failures, &breaker_open_ms) != 2) {
                fprintf(stderr, PROGRAM ": --circuit-breaker wants FAILURES:OPEN_MS, got '%s'\n", argv[i]);
                return 2;
            }
            continue;
        }
        fprintf(stderr, PROGRAM ": unknown option '%s'\n", a);
        usage(stderr);
        return 2;
    }
    if ((mcp_abi_version() >> 16) != MCP_ABI_VERSION_MAJOR) {
        fprintf(stderr, PROGRAM ": libmcp %s has ABI %u, this program needs %d\n", mcp_version(),
                (unsigned)(mcp_abi_version() >> 16), MCP_ABI_VERSION_MAJOR);
        return 1;
    }
    if ((admin_addr || access_log || auth_file || store_url) && !http_addr) {
        fprintf(stderr, PROGRAM ": --admin, --access-log, --auth-config and --store go with --http\n");
        return 2;
    }
    json_t *auth = NULL;
    if (auth_file) {
        json_error_t jerr;
        auth = json_load_file(auth_file, 0, &jerr);
        if (!json_is_object(auth)) {
            fprintf(stderr, PROGRAM ": --auth-config %s: not a JSON object (%s, line %d)\n", auth_file,
                    auth ? "another JSON value" : jerr.text, jerr.line);
            json_decref(auth);
            return 2;
        }
    }

    /* Before any thread exists, so that all of them (the engine's too) inherit it. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    char *log_error = NULL;
    mcp_status log_rc = mcp_set_log_hook(log_to_stderr, NULL, log_level, &log_error);
    if (log_rc != MCP_OK) report("cannot set the log hook", log_rc, log_error);
    if (trace_fn) {
        char *trace_error = NULL;
        mcp_status trace_rc = mcp_set_trace_hook(trace_fn, NULL, 0, &trace_error);
        if (trace_rc != MCP_OK) report("cannot set the trace hook", trace_rc, trace_error);
    }

    /* Caching hints of 2026-07-28 results: public for 60 s unless a feature
    ** says otherwise (test://watched-resource changes: not cached). */
    /* Extensions: the tasks extension (2026-07-28) and MCP Apps. */
    json_t *options = json_pack("{s:b, s:i, s:s, s:{s:{}, s:{}, s:{s:[s]}}, s:s, s:s, s:s}", "metrics", metrics,
                                "cache_ttl_ms", 60000, "cache_scope", "public", "extensions",
                                "com.example/everything-fixtures", "io.modelcontextprotocol/tasks",
                                "io.modelcontextprotocol/ui", "mimeTypes", APP_MIME, "title", "libmcp everything server", "description",
                                "The MCP conformance fixtures, served by libmcp from C.", "instructions",
                                "A test server: every tool, resource and prompt here exists to exercise one MCP "
                                "feature (content types, logging, progress, cancellation, errors). "
                                "test_sleep {ms} sleeps without blocking other calls; test_cancel_count reports "
                                "how many calls saw their cancellation.");
    if (options && task_ttl_ms > 0) json_object_set_new(options, "task_ttl_ms", json_integer(task_ttl_ms));
    /* Overload protection, when asked for (the engine's defaults otherwise). */
    if (options && max_in_flight > 0) json_object_set_new(options, "max_calls_in_flight", json_integer(max_in_flight));
    if (options && tool_timeout_ms > 0)
        json_object_set_new(options, "tool_timeouts_ms", json_pack("{s:I}", "*", (json_int_t)tool_timeout_ms));
    if (options && breaker_failures > 0)
        json_object_set_new(options, "circuit_breaker", json_pack("{s:I, s:I}", "failures", (json_int_t)breaker_failures,
                                                                  "open_ms", (json_int_t)breaker_open_ms));
    if (options && state_key_file) {
        char *key = read_state_key(state_key_file);
        if (!key) {
            json_decref(options);
            json_decref(auth);
            return 2;
        }
        json_object_set_new(options, "state_key", json_string(key));
        free(key);
    }
        /* The logging fixtures log: declare it (the rest is declared by what is registered). */
    if (options) json_object_set_new(options, "declare_capabilities", json_pack("[s]", "logging"));
    mcp_server_t *server = NULL;
    char *error = NULL;
    mcp_status rc = options ? mcp_j_server_new(PROGRAM, mcp_version(), options, &server, &error) : MCP_ERR_NO_MEMORY;
    json_decref(options);
    if (rc != MCP_OK) {
        report("cannot create the server", rc, error);
        return 1;
    }
    the_server = server;
    rc = mcp_server_set_completion(server, complete, NULL, NULL, &error);
    if (rc != MCP_OK) {
        report("cannot set the completion handler", rc, error);
        mcp_server_free(server);
        return 1;
    }
    if (!add_tools(server) || !add_resources(server) || !add_prompts(server) || !add_mrtr_fixtures(server)
        || (auth && !add_auth_tools(server))) {
        mcp_server_free(server);
        return 1;
    }

    if (http_addr != NULL) {
        int status = serve_http(server, http_addr, stateless, json_response, admin_addr, access_log, auth, &set);
        json_decref(auth);
        mcp_server_free(server);
        return status;
    }

    serving_server = server;
    pthread_t signal_thread;
    int err = pthread_create(&signal_thread, NULL, signal_main, NULL);
    if (err != 0) fprintf(stderr, PROGRAM ": no signal thread (%s); signals end the process\n", strerror(err));
    else pthread_detach(signal_thread);

    rc = mcp_server_serve_stdio(server, NULL, &error);
    int status = 0;
    if (rc != MCP_OK) {
        report("serving stdio failed", rc, error);
        status = 1;
    }
    pthread_mutex_lock(&serving_lock);
    serving_server = NULL;
    pthread_mutex_unlock(&serving_lock);
    mcp_server_free(server);
    return status;
}
