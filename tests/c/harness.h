/*
** harness.h: a tiny test harness for the C tests of libmcp (tests/c/test_*.c).
**
** Checks: CHECK(cond), CHECK_EQ(a, b) (integers), CHECK_STR(a, b) (strings,
** NULL-safe) count failures and print file:line; a failed check does not stop
** the test. main() ends with `return harness_finish();`.
**
** Sessions: harness_new() opens an in-memory session on a server with
** mcp_server_session_new(). Its send callback parses each outgoing message with
** jansson and pushes it on a thread-safe queue; harness_next() waits for the
** next one. harness_request() sends a request and waits for the response with
** its id; notifications that arrive meanwhile are kept and can be inspected
** with harness_take_note() / harness_count_notes().
**
** Valgrind: MCP_TEST_UNDER_VALGRIND=1 is set under memcheck; harness_ms()
** scales waits up and tests use harness_scale() to make loops smaller.
*/
#ifndef MCP_TEST_HARNESS_H
#define MCP_TEST_HARNESS_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <jansson.h>

#include "mcp.h"
#include "mcp_jansson.h"

/* --------------------------------------------------------------- checks */

extern int harness_checks;
extern int harness_failures;

/* Counts one check (thread-safe: checks also run in engine callbacks). */
void harness_count_check(void);
void harness_fail(const char *file, int line, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

#define CHECK(cond)                                                          \
    do {                                                                     \
        harness_count_check();                                               \
        if (!(cond)) harness_fail(__FILE__, __LINE__, "CHECK(%s)", #cond);   \
    } while (0)

#define CHECK_EQ(a, b)                                                                       \
    do {                                                                                     \
        long long harness_a_ = (long long)(a), harness_b_ = (long long)(b);                  \
        harness_count_check();                                                               \
        if (harness_a_ != harness_b_)                                                        \
            harness_fail(__FILE__, __LINE__, "CHECK_EQ(%s, %s): %lld != %lld", #a, #b,       \
                         harness_a_, harness_b_);                                            \
    } while (0)

#define CHECK_STR(a, b)                                                                      \
    do {                                                                                     \
        const char *harness_a_ = (a), *harness_b_ = (b);                                     \
        harness_count_check();                                                               \
        if (!harness_a_ || !harness_b_ || strcmp(harness_a_, harness_b_) != 0)               \
            harness_fail(__FILE__, __LINE__, "CHECK_STR(%s, %s): \"%s\" != \"%s\"", #a, #b,  \
                         harness_a_ ? harness_a_ : "(null)", harness_b_ ? harness_b_ : "(null)"); \
    } while (0)

/* Checks a status; on mismatch also prints the status names and out_error. */
#define CHECK_RC(rc, expected, error)                                                         \
    do {                                                                                      \
        mcp_status harness_rc_ = (rc), harness_ex_ = (expected);                              \
        harness_count_check();                                                                \
        if (harness_rc_ != harness_ex_)                                                       \
            harness_fail(__FILE__, __LINE__, "%s: got %d (%s), expected %d (%s): %s", #rc,    \
                         harness_rc_, mcp_status_string(harness_rc_), harness_ex_,           \
                         mcp_status_string(harness_ex_), (error) ? (error) : "(no message)"); \
    } while (0)

/* Prints a summary; returns the exit status for main (0: all checks passed). */
int harness_finish(void);

/* Starts a named section of a test (printed, and shown with failures). */
void harness_section(const char *name);

/* ---------------------------------------------------------- environment */

int harness_under_valgrind(void);
/* A wait of ms milliseconds, made longer under valgrind. */
int harness_ms(int ms);
/* n for a normal run, n/10 (at least 1) under valgrind. */
int harness_scale(int n);
/* Monotonic clock in milliseconds. */
double harness_now_ms(void);
void harness_sleep_ms(int ms);
/* Polls *flag (read with an atomic load) until it is non-zero or timeout_ms passes. */
int harness_wait_flag(const volatile int *flag, int timeout_ms);
/* Polls until *counter >= value or timeout_ms passes; returns the last value seen. */
int harness_wait_count(const volatile int *counter, int value, int timeout_ms);

/* ---------------------------------------------------------- sessions */

typedef struct harness harness_t;

/* Opens a session on server (aborts the test program if that fails). */
harness_t *harness_new(mcp_server_t *server);
/* Closes the session (mcp_session_free) and releases the harness. */
void harness_free(harness_t *h);
/* Closes the session now but keeps the harness, to inspect what was sent
** after the close; harness_free then only releases the harness. */
void harness_close_session(harness_t *h);
mcp_session_t *harness_session(harness_t *h);
/* Whether the session's free_fn has run (the engine released the send callback). */
int harness_send_released(harness_t *h);
/* Number of messages the send callback received so far. */
int harness_sent_count(harness_t *h);
/* Number of outgoing messages that were not valid JSON (must stay 0). */
int harness_bad_messages(harness_t *h);

/* Feeds one raw message to mcp_session_receive; returns its status. */
mcp_status harness_send_text(harness_t *h, const char *text);
/* Feeds one JSON value (borrowed). */
mcp_status harness_send(harness_t *h, json_t *message);
/* Sends a request with the next integer id; params stolen (may be NULL). Returns the id. */
json_int_t harness_send_request(harness_t *h, const char *method, json_t *params);
/* Sends a notification; params stolen (may be NULL). */
void harness_notify(harness_t *h, const char *method, json_t *params);

/* The next outgoing message, waiting up to timeout_ms; NULL on timeout. New reference. */
json_t *harness_next(harness_t *h, int timeout_ms);
/* Waits for the response with this id; other responses are kept for later,
** notifications are kept as notes. New reference, NULL on timeout. */
json_t *harness_wait_response(harness_t *h, json_int_t id, int timeout_ms);
/* harness_send_request + harness_wait_response with the default timeout. */
json_t *harness_request(harness_t *h, const char *method, json_t *params);
/* Sends initialize with this protocolVersion (NULL: latest), then notifications/initialized.
** Returns the initialize response (new reference). */
json_t *harness_initialize(harness_t *h, const char *version);
/* As harness_initialize, declaring these client capabilities (stolen; NULL: {}). */
json_t *harness_initialize_with(harness_t *h, const char *version, json_t *capabilities);

/* Notes are notifications seen while waiting. Takes the first note with this
** method (waiting up to timeout_ms for more messages); NULL if none. New reference. */
json_t *harness_take_note(harness_t *h, const char *method, int timeout_ms);
int harness_count_notes(harness_t *h, const char *method);
/* Takes the first request the server sent to the client (a message with both
** "id" and "method") with this method, waiting up to timeout_ms. New reference. */
json_t *harness_take_server_request(harness_t *h, const char *method, int timeout_ms);
/* Answers a server request: result (stolen) or, when result is NULL, an error. */
void harness_reply(harness_t *h, json_t *request, json_t *result, int error_code, const char *error_message);
void harness_clear_notes(harness_t *h);
/* Waits quiet_ms and returns how many messages arrived meanwhile (kept as notes
** or pending responses). Used to check that nothing is sent. */
int harness_quiet(harness_t *h, int quiet_ms);

/* ---------------------------------------------------------- JSON helpers */

/* result of a response, or NULL (borrowed from response). */
json_t *harness_result(json_t *response);
/* error.code of an error response, or 0 when it is not one. */
json_int_t harness_error_code(json_t *response);
/* First content block's text of a tools/call result response, or NULL (borrowed). */
const char *harness_tool_text(json_t *response);
/* json_dumps for messages in failure output; free() the result. */
char *harness_dump(json_t *v);

/* Default wait for an expected message. */
#define HARNESS_TIMEOUT harness_ms(5000)

/* A server with default options; aborts on failure. options_json may be NULL. */
mcp_server_t *harness_server(const char *options_json);

/* A free_fn that increments the int it is given. */
void harness_count_free(void *counter);

#endif /* MCP_TEST_HARNESS_H */
