/*
** http_driver.c: a lean HTTP/1.1 load generator for MCP servers (the benchmark's
** client; the official Python client costs more per call than our server).
**
**   http_driver --port P [--host 127.0.0.1] [--path /mcp] [--conns N]
**               [--warmup S] [--seconds S] [--sessions N] [--text STR] [--ping] [--modern]
**               [--calls N]
**
** Each connection is one MCP session on one keep-alive TCP connection: POST
** initialize (reading Mcp-Session-Id), POST notifications/initialized, then
** POST tools/call test_echo {"text": STR} one after another, each sent when the
** previous answer is complete (Content-Length or chunked, so JSON and SSE
** answers both work). --ping sends `ping` instead: answered by the engine on
** the I/O thread, no host callback, so it isolates the transport's own cost. --conns N runs N such sessions at once on one thread (epoll).
** --modern speaks revision 2026-07-28 instead: no initialize and no session;
** each tools/call carries the version, client info and capabilities in its
** _meta and the MCP-Protocol-Version, Mcp-Method and Mcp-Name headers.
** After --warmup seconds it prints "START" and measures for --seconds, prints
** "END", then one JSON line: calls, seconds, calls_per_s, p50_us, p99_us,
** max_us, errors (an answer without "result" counts as an error).
**
** --calls N instead sends exactly N calls in all (over the --conns connections),
** waits for every answer and exits: a fixed amount of work, for counting the
** server's instructions per call (callgrind, two runs of different N, the
** difference divided by the difference of N cancels start-up and handshakes).
** It prints START before the first call, END after the last answer.
**
** --sessions N instead creates N sessions (initialize + initialized, spread
** over --conns connections), prints "SESSIONS N" and waits for stdin to close
** before exiting, so the caller can measure the server with them idle.
*/
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum phase { INIT, INITIALIZED, CALLING, DONE };

struct conn {
    int fd;
    enum phase phase;
    char sid[128];
    char req[8192];
    size_t req_len, req_sent;
    char *buf;
    size_t len, cap;
    uint64_t t0;
    long next_id;
};

static const char *host = "127.0.0.1", *path = "/mcp", *text = "hello";
static int port = 0, ping = 0, modern = 0;
static long max_calls = 0, issued = 0; /* --calls: the budget, and calls sent so far */

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void die(const char *what) {
    fprintf(stderr, "http_driver: %s: %s\n", what, strerror(errno));
    exit(1);
}

static void build(struct conn *c, const char *body) {
    char sid_header[200] = "";
    if (modern)
        snprintf(sid_header, sizeof sid_header,
                 "MCP-Protocol-Version: 2026-07-28\r\nMcp-Method: tools/call\r\nMcp-Name: test_echo\r\n");
    else if (c->sid[0])
        snprintf(sid_header, sizeof sid_header, "Mcp-Session-Id: %s\r\nMCP-Protocol-Version: 2025-11-25\r\n", c->sid);
    c->req_len = (size_t)snprintf(c->req, sizeof c->req,
                                  "POST %s HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: application/json\r\n"
                                  "Accept: application/json, text/event-stream\r\n%sContent-Length: %zu\r\n\r\n%s",
                                  path, host, port, sid_header, strlen(body), body);
    c->req_sent = 0;
    c->t0 = now_ns();
}

static void next_request(struct conn *c) {
    char body[4096];
    switch (c->phase) {
    case INIT:
        c->sid[0] = '\0';
        snprintf(body, sizeof body,
                 "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{\"protocolVersion\":\"2025-11-25\","
                 "\"capabilities\":{},\"clientInfo\":{\"name\":\"http_driver\",\"version\":\"1\"}}}");
        break;
    case INITIALIZED:
        snprintf(body, sizeof body, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}");
        break;
    case CALLING:
        if (max_calls) {
            if (issued >= max_calls) {
                c->phase = DONE;
                return;
            }
            issued++;
        }
        if (ping) {
            snprintf(body, sizeof body, "{\"jsonrpc\":\"2.0\",\"id\":%ld,\"method\":\"ping\"}", ++c->next_id);
            break;
        }
        if (modern) {
            snprintf(body, sizeof body,
                     "{\"jsonrpc\":\"2.0\",\"id\":%ld,\"method\":\"tools/call\",\"params\":{\"name\":\"test_echo\","
                     "\"arguments\":{\"text\":\"%s\"},\"_meta\":{\"io.modelcontextprotocol/protocolVersion\":\"2026-07-28\","
                     "\"io.modelcontextprotocol/clientInfo\":{\"name\":\"http_driver\",\"version\":\"1\"},"
                     "\"io.modelcontextprotocol/clientCapabilities\":{}}}}",
                     ++c->next_id, text);
            break;
        }
        snprintf(body, sizeof body,
                 "{\"jsonrpc\":\"2.0\",\"id\":%ld,\"method\":\"tools/call\",\"params\":{\"name\":\"test_echo\","
                 "\"arguments\":{\"text\":\"%s\"}}}",
                 ++c->next_id, text);
        break;
    case DONE:
        return;
    }
    build(c, body);
}

static int flush_request(struct conn *c) {
    while (c->req_sent < c->req_len) {
        ssize_t n = send(c->fd, c->req + c->req_sent, c->req_len - c->req_sent, MSG_NOSIGNAL);
        if (n > 0) {
            c->req_sent += (size_t)n;
        } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            return 0;
        } else {
            return -1;
        }
    }
    return 0;
}

/* Length of a complete response at the start of buf, or 0 if incomplete.
** Sets body and body_len to the (dechunked in place) body; copies the session id. */
static size_t complete_response(struct conn *c, int *status, char **body, size_t *body_len) {
    char *end = memmem(c->buf, c->len, "\r\n\r\n", 4);
    if (!end) return 0;
    size_t head_len = (size_t)(end - c->buf) + 4;
    *status = atoi(c->buf + 9);
    long content_length = -1;
    int chunked = 0;
    for (char *line = strstr(c->buf, "\r\n") + 2; line < end; line = strstr(line, "\r\n") + 2) {
        if (!strncasecmp(line, "content-length:", 15)) content_length = atol(line + 15);
        if (!strncasecmp(line, "transfer-encoding:", 18) && strstr(line, "chunked") < strstr(line, "\r\n")) chunked = 1;
        if (!strncasecmp(line, "mcp-session-id:", 15)) {
            const char *v = line + 15;
            while (*v == ' ') v++;
            size_t n = (size_t)(strstr(v, "\r\n") - v);
            if (n < sizeof c->sid) {
                memcpy(c->sid, v, n);
                c->sid[n] = '\0';
            }
        }
    }
    if (!chunked) {
        size_t total = head_len + (size_t)(content_length < 0 ? 0 : content_length);
        if (c->len < total) return 0;
        *body = c->buf + head_len;
        *body_len = total - head_len;
        return total;
    }
    /* Chunked: walk the chunks; the body is complete at the 0-size chunk. */
    size_t pos = head_len;
    while (1) {
        char *crlf = memmem(c->buf + pos, c->len - pos, "\r\n", 2);
        if (!crlf) return 0;
        size_t size = strtoul(c->buf + pos, NULL, 16);
        size_t data = (size_t)(crlf - c->buf) + 2;
        if (c->len < data + size + 2) return 0;
        if (size == 0) {
            *body = c->buf + head_len;
            *body_len = pos - head_len;  /* raw chunked text: good enough to search */
            return data + 2;
        }
        pos = data + size + 2;
    }
}

int main(int argc, char **argv) {
    int conns = 1, sessions = 0;
    double warmup = 0.5, seconds = 3.0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--ping")) {
            ping = 1;
            continue;
        }
        if (!strcmp(a, "--modern")) {
            modern = 1;
            continue;
        }
        if (!v) break;
        if (!strcmp(a, "--port")) port = atoi(v);
        else if (!strcmp(a, "--host")) host = v;
        else if (!strcmp(a, "--path")) path = v;
        else if (!strcmp(a, "--conns")) conns = atoi(v);
        else if (!strcmp(a, "--warmup")) warmup = atof(v);
        else if (!strcmp(a, "--seconds")) seconds = atof(v);
        else if (!strcmp(a, "--sessions")) sessions = atoi(v);
        else if (!strcmp(a, "--calls")) max_calls = atol(v);
        else if (!strcmp(a, "--text")) text = v;
        else continue;
        i++;
    }
    if (port <= 0 || conns <= 0 || max_calls < 0 || (modern && (ping || sessions)) || (sessions && max_calls)) {
        fprintf(stderr, "usage: http_driver --port P [--conns N] [--seconds S | --calls N] [--sessions N] [--ping | --modern]\n");
        return 2;
    }
    int ep = epoll_create1(0);
    if (ep < 0) die("epoll_create1");
    struct conn *cs = calloc((size_t)conns, sizeof *cs);
    int active = conns;
    if (max_calls) {
        warmup = 0;
        printf("START\n");
        fflush(stdout);
    }
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, host, &addr.sin_addr);
    for (int i = 0; i < conns; i++) {
        struct conn *c = &cs[i];
        c->fd = socket(AF_INET, SOCK_STREAM, 0);
        if (c->fd < 0) die("socket");
        int one = 1;
        setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (connect(c->fd, (struct sockaddr *)&addr, sizeof addr) < 0) die("connect");
        fcntl(c->fd, F_SETFL, O_NONBLOCK);
        c->cap = 1 << 16;
        c->buf = malloc(c->cap);
        c->phase = modern ? CALLING : INIT;
        next_request(c);
        if (c->phase == DONE) { /* --calls smaller than --conns */
            active--;
            continue;
        }
        struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLET, .data.ptr = c};
        epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
    }

    size_t max_samples = 4u << 20, samples = 0;
    uint32_t *lat = malloc(max_samples * sizeof *lat);
    long calls = 0, errors = 0, created = 0, started = 0;
    int measuring = 0;
    uint64_t t_start = now_ns() + (uint64_t)(warmup * 1e9), t_end = t_start + (uint64_t)(seconds * 1e9);
    struct epoll_event evs[256];
    while (active > 0) {
        int n = epoll_wait(ep, evs, 256, 1000);
        uint64_t t = now_ns();
        if (max_calls) {
            measuring = 1;
        } else if (!sessions && !measuring && t >= t_start) {
            measuring = 1;
            printf("START\n");
            fflush(stdout);
        }
        if (!sessions && !max_calls && t >= t_end) break;
        for (int k = 0; k < n; k++) {
            struct conn *c = evs[k].data.ptr;
            if (c->phase == DONE) continue;
            if (flush_request(c) < 0) {
                fprintf(stderr, "http_driver: send failed\n");
                return 1;
            }
            while (1) {
                if (c->len == c->cap) c->buf = realloc(c->buf, c->cap *= 2);
                ssize_t r = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
                if (r > 0) {
                    c->len += (size_t)r;
                    continue;
                }
                if (r == 0) {
                    fprintf(stderr, "http_driver: the server closed a connection\n");
                    return 1;
                }
                if (errno == EAGAIN || errno == EINTR) break;
                die("recv");
            }
            int status;
            char *body;
            size_t body_len, used;
            while ((used = complete_response(c, &status, &body, &body_len)) > 0) {
                uint64_t done = now_ns();
                int ok;
                switch (c->phase) {
                case INIT:
                    ok = status == 200;
                    c->phase = INITIALIZED;
                    break;
                case INITIALIZED:
                    ok = status == 202 || status == 200 || status == 204;
                    if (sessions) {
                        created++;
                        c->phase = started + 1 <= sessions - conns ? INIT : DONE;
                        if (c->phase == INIT) started++;
                    } else {
                        c->phase = CALLING;
                    }
                    break;
                default:
                    ok = status == 200 && memmem(body, body_len, "\"result\"", 8) != NULL;
                    if (measuring && (max_calls || done <= t_end)) {
                        calls++;
                        if (samples < max_samples) lat[samples++] = (uint32_t)((done - c->t0) / 1000);
                    }
                }
                if (!ok) {
                    errors++;
                    if (errors < 5) fprintf(stderr, "http_driver: status %d: %.*s\n", status, (int)(body_len > 300 ? 300 : body_len), body);
                }
                memmove(c->buf, c->buf + used, c->len - used);
                c->len -= used;
                if (c->phase == DONE) {
                    active--;
                    break;
                }
                next_request(c);
                if (c->phase == DONE) { /* --calls: the budget is spent */
                    active--;
                    break;
                }
                if (flush_request(c) < 0) die("send");
            }
        }
    }
    if (sessions) {
        printf("SESSIONS %ld ERRORS %ld\n", created, errors);
        fflush(stdout);
        char b[64];
        while (read(0, b, sizeof b) > 0) {
        }
        return errors ? 1 : 0;
    }
    printf("END\n");
    int cmp(const void *a, const void *b);
    qsort(lat, samples, sizeof *lat, cmp);
    double secs = max_calls ? (double)(now_ns() - t_start) / 1e9 : seconds;
    printf("{\"calls\":%ld,\"seconds\":%.3f,\"calls_per_s\":%.1f,\"p50_us\":%u,\"p99_us\":%u,\"max_us\":%u,"
           "\"errors\":%ld,\"conns\":%d}\n",
           calls, secs, calls / secs, samples ? lat[samples / 2] : 0, samples ? lat[samples * 99 / 100] : 0,
           samples ? lat[samples - 1] : 0, errors, conns);
    return errors ? 1 : 0;
}

int cmp(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}
