/*
** test_client_http.c: the client ABI over HTTP (mcp_client_connect_http)
** against two servers: the official Python SDK's fixture server over
** Streamable HTTP (tests/interop/fixtures/sdk_server.py, a server we did not
** write) and our everything server with --http. Sampling, elicitation,
** progress, logs, cancellation and timeouts travel the HTTP transport here.
** Paths come from the environment: MCP_EVERYTHING_SERVER, MCP_PYTHON, MCP_SDK_SERVER.
*/
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

static const char *env_or_die(const char *name) {
    const char *v = getenv(name);
    if (!v || !*v) {
        fprintf(stderr, "test_client_http: %s is not set\n", name);
        exit(2);
    }
    return v;
}

/* ------------------------------------------------------------ servers */

typedef struct {
    pid_t pid;
    int err_fd; /* the server's stderr, read for its URL (ours) */
    char url[256];
} server_t;

static pid_t spawn(char *const argv[], int *err_fd) {
    int p[2] = {-1, -1};
    if (err_fd && pipe(p) != 0) return -1;
    pid_t pid = fork();
    if (pid == 0) {
        int devnull = open("/dev/null", 0);
        dup2(devnull, 0);
        dup2(devnull, 1);
        if (err_fd) dup2(p[1], 2);
        else dup2(devnull, 2);
        execvp(argv[0], argv);
        _exit(127);
    }
    if (err_fd) {
        close(p[1]);
        *err_fd = p[0];
    }
    return pid;
}

static int free_port(void) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t n = sizeof a;
    bind(s, (struct sockaddr *)&a, sizeof a);
    getsockname(s, (struct sockaddr *)&a, &n);
    close(s);
    return ntohs(a.sin_port);
}

static int port_open(int port) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int ok = connect(s, (struct sockaddr *)&a, sizeof a) == 0;
    close(s);
    return ok;
}

static int start_sdk_server(server_t *srv, int json_mode) {
    int port = free_port();
    char port_text[16];
    snprintf(port_text, sizeof port_text, "%d", port);
    char *argv[] = {(char *)env_or_die("MCP_PYTHON"), (char *)env_or_die("MCP_SDK_SERVER"), "streamable-http",
                    port_text, json_mode ? "--json" : NULL, NULL};
    srv->pid = spawn(argv, NULL);
    snprintf(srv->url, sizeof srv->url, "http://127.0.0.1:%d/mcp", port);
    for (int i = 0; i < harness_ms(15000) / 50; i++) {
        if (port_open(port)) return 1;
        if (waitpid(srv->pid, NULL, WNOHANG) == srv->pid) return 0;
        harness_sleep_ms(50);
    }
    return 0;
}

/* Our server prints "serving MCP on http://HOST:PORT/mcp" on stderr. */
static int start_everything_server(server_t *srv, const char *flag) {
    char *argv[] = {(char *)env_or_die("MCP_EVERYTHING_SERVER"), "--http", "127.0.0.1:0", (char *)flag, NULL};
    srv->pid = spawn(argv, &srv->err_fd);
    char buf[1024] = "";
    size_t used = 0;
    double deadline = harness_now_ms() + 10000;
    while (harness_now_ms() < deadline && used < sizeof buf - 1) {
        struct pollfd p = {.fd = srv->err_fd, .events = POLLIN};
        if (poll(&p, 1, 200) <= 0) continue;
        ssize_t n = read(srv->err_fd, buf + used, sizeof buf - 1 - used);
        if (n <= 0) break;
        used += (size_t)n;
        buf[used] = '\0';
        char *u = strstr(buf, "http://");
        char *end = u ? strstr(u, "/mcp") : NULL;
        if (end) {
            snprintf(srv->url, sizeof srv->url, "%.*s", (int)(end + 4 - u), u);
            return 1;
        }
    }
    return 0;
}

static void stop_server(server_t *srv) {
    if (srv->pid <= 0) return;
    kill(srv->pid, SIGTERM);
    int status = 0;
    for (int i = 0; i < 200 && waitpid(srv->pid, &status, WNOHANG) == 0; i++) harness_sleep_ms(50);
    kill(srv->pid, SIGKILL);
    waitpid(srv->pid, &status, 0);
    if (srv->err_fd > 0) close(srv->err_fd);
}

/* ------------------------------------------------------------ handlers */

static volatile int sampled = 0;

static void answer_sampling(void *ud, mcp_call_t *call, const char *method, const char *params_json) {
    (void)ud;
    (void)method;
    (void)params_json;
    __sync_fetch_and_add(&sampled, 1);
    CHECK_RC(mcp_call_return(call, "{\"role\":\"assistant\",\"content\":{\"type\":\"text\",\"text\":\"sampled over http\"},"
                                   "\"model\":\"c-model\"}", NULL), MCP_OK, NULL);
}

static void answer_elicitation(void *ud, mcp_call_t *call, const char *method, const char *params_json) {
    (void)ud;
    (void)method;
    json_t *params = json_loads(params_json, 0, NULL);
    json_t *content = json_object();
    const char *key;
    json_t *prop;
    json_object_foreach(json_object_get(json_object_get(params, "requestedSchema"), "properties"), key, prop) {
        json_t *def = json_object_get(prop, "default");
        json_object_set(content, key, def ? def : json_string("x@example.com"));
    }
    json_t *result = json_pack("{s:s, s:o}", "action", "accept", "content", content);
    CHECK_RC(mcp_j_call_return(call, result, NULL), MCP_OK, NULL);
    json_decref(result);
    json_decref(params);
}

static volatile int log_notes = 0;

static void on_notification(void *ud, const char *method, const char *params_json) {
    (void)ud;
    (void)params_json;
    if (strcmp(method, "notifications/message") == 0) __sync_fetch_and_add(&log_notes, 1);
}

typedef struct {
    volatile int done;
    volatile int progress;
    mcp_status status;
} outcome_t;

static void on_progress(void *ud, const char *params_json) {
    (void)params_json;
    outcome_t *o = ud;
    __sync_fetch_and_add(&o->progress, 1);
}

static void on_response(void *ud, mcp_status status, const char *result_json, const char *error_json) {
    (void)result_json;
    (void)error_json;
    outcome_t *o = ud;
    o->status = status;
    __atomic_store_n(&o->done, 1, __ATOMIC_SEQ_CST);  /* publishes status to harness_wait_flag */
}

static mcp_client_t *new_client(void) {
    mcp_client_t *c = NULL;
    char *err = NULL;
    CHECK_RC(mcp_client_new("test-client-http", "1.0", "{\"request_timeout_ms\":20000,\"era\":\"legacy\"}", &c, &err), MCP_OK, err);
    mcp_string_free(err);
    CHECK_RC(mcp_client_set_request_handler(c, "sampling/createMessage", answer_sampling, NULL, NULL, NULL), MCP_OK, NULL);
    CHECK_RC(mcp_client_set_request_handler(c, "elicitation/create", answer_elicitation, NULL, NULL, NULL), MCP_OK, NULL);
    CHECK_RC(mcp_client_set_notification_handler(c, on_notification, NULL, NULL, NULL), MCP_OK, NULL);
    return c;
}

static json_t *call_tool(mcp_client_t *c, const char *name, const char *args) {
    char *out = NULL, *err = NULL;
    CHECK_RC(mcp_client_call_tool(c, name, args, 20000, &out, &err), MCP_OK, err);
    json_t *r = out ? json_loads(out, 0, NULL) : NULL;
    mcp_string_free(out);
    mcp_string_free(err);
    return r;
}

static const char *first_text(json_t *result) {
    return json_string_value(json_object_get(json_array_get(json_object_get(result, "content"), 0), "text"));
}

/* ------------------------------------------------------------ the SDK's server */

static void test_sdk_server(int json_mode) {
    harness_section(json_mode ? "HTTP client against the SDK server (JSON answers)"
                              : "HTTP client against the SDK server (SSE answers)");
    server_t srv = {0};
    CHECK(start_sdk_server(&srv, json_mode));
    mcp_client_t *c = new_client();
    char *init = NULL, *err = NULL, *out = NULL;
    CHECK_RC(mcp_client_connect_http(c, srv.url, "{\"headers\":{\"Authorization\":\"Bearer t0k\"}}", &init, &err),
             MCP_OK, err);
    json_t *ir = json_loads(init ? init : "{}", 0, NULL);
    CHECK_STR(json_string_value(json_object_get(json_object_get(ir, "serverInfo"), "name")), "sdk-fixture");
    CHECK_STR(json_string_value(json_object_get(ir, "protocolVersion")), "2025-11-25");
    json_decref(ir);
    mcp_string_free(init);
    /* Connecting made sockets: the host's SIGPIPE disposition is still its own. */
    struct sigaction sa;
    CHECK(sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL);
    CHECK_RC(mcp_client_connect_http(c, srv.url, NULL, NULL, &err), MCP_ERR_STATE, err);
    mcp_string_free(err);
    err = NULL;

    json_t *r = call_tool(c, "add", "{\"a\":2,\"b\":3}");
    CHECK_EQ(json_integer_value(json_object_get(json_object_get(r, "structuredContent"), "result")), 5);
    json_decref(r);
    r = call_tool(c, "fail", "{\"message\":\"boom\"}");
    CHECK(json_is_true(json_object_get(r, "isError")));
    json_decref(r);

    CHECK_RC(mcp_client_request(c, "resources/read", "{\"uri\":\"fixture://greeting\"}", 5000, &out, &err), MCP_OK, err);
    CHECK(out && strstr(out, "hello from the SDK") != NULL);
    mcp_string_free(out);
    out = NULL;

    if (!json_mode) {
        /* Server requests and notifications ride the SSE answer stream. */
        r = call_tool(c, "sample", "{\"prompt\":\"hello\"}");
        CHECK(first_text(r) && strstr(first_text(r), "sampled over http") != NULL);
        json_decref(r);
        CHECK(sampled > 0);
        r = call_tool(c, "ask", NULL);
        CHECK_STR(first_text(r), "Ada 36");
        json_decref(r);
        int before = log_notes;
        r = call_tool(c, "log", "{\"count\":3}");
        json_decref(r);
        CHECK(harness_wait_count(&log_notes, before + 3, harness_ms(5000)) >= before + 3);

        outcome_t o = {0};
        CHECK_RC(mcp_client_request_async(c, "tools/call", "{\"name\":\"progress\",\"arguments\":{\"steps\":4}}", 10000,
                                          on_response, on_progress, &o, NULL, &err), MCP_OK, err);
        CHECK(harness_wait_flag(&o.done, harness_ms(10000)));
        CHECK_EQ(o.status, MCP_OK);
        CHECK_EQ(o.progress, 4);
    }
    CHECK_RC(mcp_client_close(c, &err), MCP_OK, err);
    CHECK_RC(mcp_client_request(c, "ping", NULL, 1000, &out, &err), MCP_ERR_STATE, err);
    mcp_string_free(err);
    mcp_client_free(c);
    stop_server(&srv);
}

/* ------------------------------------------------------------ ours */

static void test_everything_server(void) {
    harness_section("HTTP client against the everything server");
    server_t srv = {0};
    CHECK(start_everything_server(&srv, NULL));
    mcp_client_t *c = new_client();
    char *err = NULL, *out = NULL;
    CHECK_RC(mcp_client_connect_http(c, srv.url, "{\"timeout_ms\":10000}", NULL, &err), MCP_OK, err);

    char *items = NULL;
    CHECK_RC(mcp_client_list(c, "tools/list", 5000, &items, &err), MCP_OK, err);
    json_t *tools = json_loads(items ? items : "[]", 0, NULL);
    CHECK(json_array_size(tools) >= 12);
    json_decref(tools);
    mcp_string_free(items);

    json_t *r = call_tool(c, "test_sampling", "{\"prompt\":\"hi\"}");
    CHECK(first_text(r) && strstr(first_text(r), "sampled over http") != NULL);
    json_decref(r);
    r = call_tool(c, "test_elicitation_sep1034_defaults", NULL);
    CHECK(first_text(r) && strstr(first_text(r), "\"age\":30") != NULL);
    json_decref(r);

    outcome_t o = {0};
    CHECK_RC(mcp_client_request_async(c, "tools/call", "{\"name\":\"test_tool_with_progress\"}", 10000, on_response,
                                      on_progress, &o, NULL, &err), MCP_OK, err);
    CHECK(harness_wait_flag(&o.done, harness_ms(10000)));
    CHECK_EQ(o.status, MCP_OK);
    CHECK_EQ(o.progress, 3);

    /* Cancelling and timing out send notifications/cancelled over HTTP too. */
    outcome_t slow = {0};
    int64_t id = 0;
    CHECK_RC(mcp_client_request_async(c, "tools/call", "{\"name\":\"test_sleep\",\"arguments\":{\"ms\":5000}}", 10000,
                                      on_response, NULL, &slow, &id, &err), MCP_OK, err);
    harness_sleep_ms(100);
    CHECK_RC(mcp_client_cancel(c, id, "test", &err), MCP_OK, err);
    CHECK(harness_wait_flag(&slow.done, harness_ms(2000)));
    CHECK_EQ(slow.status, MCP_ERR_CANCELLED);
    CHECK_RC(mcp_client_call_tool(c, "test_sleep", "{\"ms\":3000}", 200, &out, &err), MCP_ERR_TIMEOUT, err);
    mcp_string_free(err);
    err = NULL;
    harness_sleep_ms(200);
    r = call_tool(c, "test_cancel_count", NULL);
    CHECK(json_integer_value(json_object_get(json_object_get(r, "structuredContent"), "count")) >= 2);
    json_decref(r);

    mcp_client_free(c); /* closes: DELETE, then the connections */
    stop_server(&srv);
}

/* An answer larger than max_message_bytes fails its request; the session goes on. */
static void test_message_limit(int json_mode) {
    harness_section(json_mode ? "max_message_bytes over HTTP (JSON answers)" : "max_message_bytes over HTTP (SSE answers)");
    server_t srv = {0};
    CHECK(start_everything_server(&srv, json_mode ? "--json-response" : NULL));
    mcp_client_t *c = NULL;
    char *err = NULL, *out = NULL;
    CHECK_RC(mcp_client_new("limit", "1.0", "{\"max_message_bytes\":2048}", &c, &err), MCP_OK, err);
    CHECK_RC(mcp_client_connect_http(c, srv.url, NULL, NULL, &err), MCP_OK, err);
    char args[4200];
    snprintf(args, sizeof args, "{\"text\":\"%0*d\"}", 4000, 0);
    CHECK_RC(mcp_client_call_tool(c, "test_echo", args, 10000, &out, &err), MCP_ERR_CLOSED, err);
    CHECK(err && strstr(err, "closed") != NULL);
    mcp_string_free(err);
    err = NULL;
    json_t *r = call_tool(c, "test_echo", "{\"text\":\"small\"}");
    CHECK_STR(first_text(r), "small");
    json_decref(r);
    mcp_client_free(c);
    stop_server(&srv);
}

static void test_bad_arguments(void) {
    harness_section("connect_http arguments");
    mcp_client_t *c = new_client();
    char *err = NULL;
    CHECK_RC(mcp_client_connect_http(c, NULL, NULL, NULL, &err), MCP_ERR_INVALID_ARG, err);
    mcp_string_free(err);
    CHECK_RC(mcp_client_connect_http(c, "ftp://x/", NULL, NULL, &err), MCP_ERR_INVALID_ARG, err);
    mcp_string_free(err);
    CHECK_RC(mcp_client_connect_http(c, "http://127.0.0.1:1/mcp", "{\"bogus\":1}", NULL, &err), MCP_ERR_INVALID_ARG, err);
    mcp_string_free(err);
    CHECK_RC(mcp_client_connect_http(c, "http://127.0.0.1:1/mcp", "{\"headers\":{\"Host\":\"x\"}}", NULL, &err),
             MCP_ERR_INVALID_ARG, err);
    mcp_string_free(err);
    CHECK_RC(mcp_client_connect_http(c, "http://127.0.0.1:1/mcp", "{\"headers\":{\"A\":1}}", NULL, &err),
             MCP_ERR_INVALID_ARG, err);
    mcp_string_free(err);
    CHECK_RC(mcp_client_connect_http(c, "http://127.0.0.1:1/mcp", "{\"transport\":\"ws\"}", NULL, &err),
             MCP_ERR_INVALID_ARG, err);
    mcp_string_free(err);
    CHECK_RC(mcp_client_connect_http(c, "http://127.0.0.1:1/mcp", "{nope", NULL, &err), MCP_ERR_INVALID_JSON, err);
    mcp_string_free(err);
    CHECK_RC(mcp_client_connect_http(NULL, "http://127.0.0.1:1/mcp", NULL, NULL, &err), MCP_ERR_INVALID_ARG, err);
    mcp_string_free(err);
    /* Nothing listens on a fresh port: MCP_ERR_IO, and the client can try again. */
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/mcp", free_port());
    CHECK_RC(mcp_client_connect_http(c, url, NULL, NULL, &err), MCP_ERR_IO, err);
    CHECK(err && strstr(err, "connect") != NULL);
    mcp_string_free(err);
    err = NULL;
    CHECK_RC(mcp_client_connect_http(c, "https://127.0.0.1:1/mcp", "{\"tls_ca_file\":\"/nonexistent.pem\"}", NULL, &err),
             MCP_ERR_IO, err);
    mcp_string_free(err);
    mcp_client_free(c);
}

int main(void) {
    signal(SIGPIPE, SIG_DFL); /* libmcp must not need it ignored */
    test_bad_arguments();
    test_sdk_server(0);
    test_sdk_server(1);
    test_everything_server();
    test_message_limit(0);
    test_message_limit(1);
    return harness_finish();
}
