/*
** own_http_server.c: MCP inside a web server of the host's own.
**
** A host that already runs an HTTP server (here a deliberately tiny one: one
** thread per connection, one request per connection, no TLS) mounts the MCP
** endpoint on one of its routes with mcp_http_handler_t: for each request to
** /mcp it hands the method, target, headers and body to the engine as an
** exchange (mcp_http_exchange_t) and copies the status, headers and body
** pieces back as the engine produces them, so SSE events (progress, the 2025
** GET stream) reach the client one by one. Other routes stay the host's.
** Every check and limit of mcp_server_start_http applies (Host, Origin,
** sizes, rate limits, sessions, both protocol eras).
**
** Build: target example_own_http_server of the CMake build (or
**   cc -std=c11 own_http_server.c -I include -L build/lib -lmcp -ljansson -lpthread \
**      -Wl,-rpath,build/lib -o own_http_server)
** Run:   ./own_http_server 8080   (prints the URL; any MCP client can connect)
**
** The tool "count" sends progress before its answer, so its answer is an
** SSE stream: watch it with
**   curl -N -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' \
**     -H 'MCP-Protocol-Version: 2026-07-28' -H 'Mcp-Method: tools/call' -H 'Mcp-Name: count' \
**     -d '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"count","arguments":{"to":3},
**          "_meta":{"progressToken":1,"io.modelcontextprotocol/protocolVersion":"2026-07-28",
**          "io.modelcontextprotocol/clientInfo":{"name":"curl","version":"1"},
**          "io.modelcontextprotocol/clientCapabilities":{}}}}' http://127.0.0.1:8080/mcp
*/
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "mcp.h"
#include "mcp_jansson.h"

#define MAX_HEAD 16384

static mcp_http_handler_t *handler;

/* tools/call "count": progress 1..to, a tenth of a second apart, then the total. */
static void count(void *user_data, mcp_call_t *call, const char *arguments_json) {
    (void)user_data;
    json_t *args = mcp_j_loads(arguments_json, NULL);
    json_int_t to = json_integer_value(json_object_get(args, "to"));
    json_decref(args);
    if (to < 1 || to > 100) to = 3;
    for (json_int_t i = 1; i <= to && !mcp_call_is_cancelled(call); i++) {
        char message[32];
        snprintf(message, sizeof message, "step %lld", (long long)i);
        mcp_call_progress(call, (double)i, (double)to, message, NULL);
        nanosleep(&(struct timespec){0, 100 * 1000 * 1000}, NULL);
    }
    char text[32];
    snprintf(text, sizeof text, "counted to %lld", (long long)to);
    mcp_j_call_return_new(call, mcp_j_tool_result_text(text, 0), NULL);
}

static int write_all(int fd, const void *data, size_t n) {
    const char *p = data;
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0) return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static void plain(int fd, const char *status, const char *text) {
    char head[256];
    int n = snprintf(head, sizeof head, "HTTP/1.1 %s\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n"
                     "Connection: close\r\n\r\n", status, strlen(text));
    if (write_all(fd, head, (size_t)n) == 0) write_all(fd, text, strlen(text));
}

/* Copies the engine's response to the client. The connection closes after it
** (the head says so), which is also how a stream without a length ends. A
** client gone (a failed write) frees the exchange early: the engine cancels. */
static void relay(int fd, mcp_http_exchange_t *x) {
    for (;;) {
        int32_t kind = 0, status = 0;
        char *data = NULL;
        size_t len = 0;
        if (mcp_http_exchange_get_part(x, -1, &kind, &status, &data, &len, NULL) != MCP_OK) return;
        int failed = 0;
        if (kind == MCP_HTTP_PART_HEAD) {
            json_t *headers = json_loadb(data, len, 0, NULL);
            char line[4096];
            int n = snprintf(line, sizeof line, "HTTP/1.1 %d \r\nConnection: close\r\n", (int)status);
            failed = write_all(fd, line, (size_t)n);
            size_t i;
            json_t *pair;
            json_array_foreach(headers, i, pair) {
                n = snprintf(line, sizeof line, "%s: %s\r\n", json_string_value(json_array_get(pair, 0)),
                             json_string_value(json_array_get(pair, 1)));
                if (!failed && n > 0 && (size_t)n < sizeof line) failed = write_all(fd, line, (size_t)n);
            }
            json_decref(headers);
            if (!failed) failed = write_all(fd, "\r\n", 2);
        } else if (kind == MCP_HTTP_PART_BODY) {
            failed = write_all(fd, data, len);
        }
        mcp_string_free(data);
        if (failed || kind == MCP_HTTP_PART_END || kind == MCP_HTTP_PART_ABORT) return;
    }
}

/* One connection: reads one request, serves it, closes. */
static void *serve_connection(void *arg) {
    int fd = (int)(intptr_t)arg;
    char head[MAX_HEAD + 1];
    size_t have = 0;
    char *end = NULL;
    while (!end && have < MAX_HEAD) {
        ssize_t r = recv(fd, head + have, MAX_HEAD - have, 0);
        if (r <= 0) goto done;
        have += (size_t)r;
        head[have] = 0;
        end = strstr(head, "\r\n\r\n");
    }
    if (!end) {
        plain(fd, "431 Request Header Fields Too Large", "request head too large\n");
        goto done;
    }
    *end = 0;
    char *body = end + 4;
    size_t body_have = have - (size_t)(body - head);
    char method[16] = "", target[2048] = "";
    if (sscanf(head, "%15s %2047s", method, target) != 2) {
        plain(fd, "400 Bad Request", "malformed request line\n");
        goto done;
    }
    if (strcmp(target, "/mcp") != 0 && strncmp(target, "/mcp?", 5) != 0) {  /* the host's own routes */
        plain(fd, strcmp(target, "/") == 0 ? "200 OK" : "404 Not Found", "the host's own page\n");
        goto done;
    }
    struct sockaddr_storage peer;
    socklen_t peer_len = sizeof peer;
    char address[INET6_ADDRSTRLEN] = "";
    if (getpeername(fd, (struct sockaddr *)&peer, &peer_len) == 0 && peer.ss_family == AF_INET)
        inet_ntop(AF_INET, &((struct sockaddr_in *)&peer)->sin_addr, address, sizeof address);

    mcp_http_exchange_t *x = NULL;
    char *error = NULL;
    if (mcp_http_exchange_new(handler, method, target, address[0] ? address : NULL, &x, &error) != MCP_OK) {
        plain(fd, "503 Service Unavailable", error ? error : "refused");
        mcp_string_free(error);
        goto done;
    }
    long length = 0;
    for (char *line = strstr(head, "\r\n"); line; ) {
        line += 2;
        char *next = strstr(line, "\r\n");
        if (next) *next = 0;
        char *colon = strchr(line, ':');
        if (colon) {
            *colon = 0;
            char *value = colon + 1;
            while (*value == ' ' || *value == '\t') value++;
            if (strcasecmp(line, "content-length") == 0) length = strtol(value, NULL, 10);
            mcp_http_exchange_add_header(x, line, value, NULL);  /* a bad one is dropped */
        }
        line = next;
    }
    /* The body: what came with the head, then the rest. The engine enforces
    ** max_body_bytes (413) on what it is given; this host stops at 64 MiB. */
    if (length < 0 || length > (64L << 20)) length = 64L << 20;
    size_t given = body_have < (size_t)length ? body_have : (size_t)length;
    mcp_http_exchange_add_body(x, body, given, NULL);
    char chunk[16384];
    while ((long)given < length) {
        size_t want = (size_t)length - given < sizeof chunk ? (size_t)length - given : sizeof chunk;
        ssize_t r = recv(fd, chunk, want, 0);
        if (r <= 0) break;
        mcp_http_exchange_add_body(x, chunk, (size_t)r, NULL);
        given += (size_t)r;
    }
    if ((long)given < length) {  /* the client went away mid-body */
        mcp_http_exchange_free(x);
        goto done;
    }
    mcp_http_exchange_start(x, NULL, NULL, NULL, NULL);  /* read blocking: no wake needed */
    relay(fd, x);
    mcp_http_exchange_free(x);
done:
    close(fd);
    return NULL;
}

int main(int argc, char **argv) {
    int port = argc > 1 ? atoi(argv[1]) : 8080;
    mcp_server_t *server = NULL;
    char *error = NULL;
    mcp_status rc = mcp_server_new("own-http-server", "1.0.0", NULL, &server, &error);
    if (rc == MCP_OK)
        rc = mcp_server_add_tool(server,
            "{\"name\":\"count\",\"description\":\"Counts, reporting progress.\",\"inputSchema\":{\"type\":\"object\","
            "\"properties\":{\"to\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":100}}}}",
            count, NULL, NULL, &error);
    if (rc == MCP_OK) rc = mcp_http_handler_new(server, "{\"path\": \"/mcp\"}", &handler, &error);
    if (rc != MCP_OK) {
        fprintf(stderr, "own_http_server: %s: %s\n", mcp_status_string(rc), error ? error : "");
        mcp_string_free(error);
        mcp_server_free(server);
        return 1;
    }
    int listener = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                               .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t addr_len = sizeof addr;
    if (bind(listener, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(listener, 64) != 0 ||
        getsockname(listener, (struct sockaddr *)&addr, &addr_len) != 0) {
        perror("own_http_server: listen");
        return 1;
    }
    printf("http://127.0.0.1:%d/mcp\n", ntohs(addr.sin_port));
    fflush(stdout);
    for (;;) {
        int fd = accept(listener, NULL, NULL);
        if (fd < 0) continue;
        pthread_t thread;
        if (pthread_create(&thread, NULL, serve_connection, (void *)(intptr_t)fd) == 0) {
            pthread_detach(thread);
        } else {
            close(fd);
        }
    }
}
