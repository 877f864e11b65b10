/*
** c100k_driver.c: one load generator of the 100,000-connection benchmark
** (bench/c100k_bench.py starts several: the open-file limit is per process).
**
**   c100k_driver --port P --conns N --mode listen|session [--src 127.0.0.2]
**                [--callers K] [--interval-ms M] [--batch B] [--max-pending Q]
**
** It holds N idle connections to the server and, beside them, K "callers":
** connections opened first that make tools/call test_echo every M ms each, so
** that the latency of calls on already-open connections is measured while the
** N others open and while they are held.
**
**   --mode listen   each held connection is a 2026-07-28 subscriptions/listen
**                   stream (a POST answered with SSE that stays open); open once
**                   the notifications/subscriptions/acknowledged event arrived.
**                   Callers make stateless 2026-07-28 calls.
**   --mode session  each held connection is a 2025-era session: POST initialize,
**                   POST notifications/initialized, then GET (its SSE stream)
**                   on the same keep-alive connection; open once the GET's 200
**                   head arrived. Callers each have their own session.
**
** Every socket is bound to --src before connect (IP_BIND_ADDRESS_NO_PORT), so
** generators on different loopback addresses (127.0.0.2, .3, ...) do not share
** the ~28K ephemeral ports of one source address. Opening is paced only by
** --batch (connects started per loop turn, so the callers are served between
** batches) and --max-pending (connections started and not yet open).
**
** Protocol on stdin/stdout, for the script: prints "READY" once the callers are
** open and have answered a call; opening starts at a line "go"; prints
** "OPEN <open> <failed> <seconds>" when every held connection is open or failed;
** at "stop" (or end of input) prints one JSON line (figures below) and exits.
** The JSON holds every call's latency in microseconds, split into calls made
** while opening ("open_us") and while holding ("hold_us").
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
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

enum state { IDLE, CONNECTING, INIT, INITIALIZED, OPENING, HELD, WAITING, CALLING, DEAD };

/* Kept small: a held connection costs this struct and nothing else (its
** buffers are freed once it is open). */
struct conn {
    int fd;
    uint8_t state, caller;
    uint16_t sid_len;
    uint32_t len, cap, out_len, out_sent;
    char *buf, *out, *sid;
    uint64_t t0, due;
    long next_id;
};

static const char *host = "127.0.0.1", *path = "/mcp", *src = NULL;
static int port = 0, listen_mode = 1;
static struct sockaddr_in server_addr, src_addr;

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void die(const char *what) {
    fprintf(stderr, "c100k_driver: %s: %s\n", what, strerror(errno));
    exit(1);
}

#define MODERN_META                                                                                             \
    "\"_meta\":{\"io.modelcontextprotocol/protocolVersion\":\"2026-07-28\","                                    \
    "\"io.modelcontextprotocol/clientInfo\":{\"name\":\"c100k_driver\",\"version\":\"1\"},"                     \
    "\"io.modelcontextprotocol/clientCapabilities\":{}}"

/* Queues one request on c (written at once when the socket takes it). */
static void request(struct conn *c, const char *method, const char *name, const char *body) {
    char head[512], extra[256] = "";
    if (listen_mode) {
        snprintf(extra, sizeof extra, "MCP-Protocol-Version: 2026-07-28\r\nMcp-Method: %s\r\n%s%s%s", method,
                 name ? "Mcp-Name: " : "", name ? name : "", name ? "\r\n" : "");
    } else if (c->sid) {
        snprintf(extra, sizeof extra, "Mcp-Session-Id: %.*s\r\nMCP-Protocol-Version: 2025-11-25\r\n", c->sid_len, c->sid);
    }
    int n;
    if (body)
        n = snprintf(head, sizeof head,
                     "POST %s HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: application/json\r\n"
                     "Accept: application/json, text/event-stream\r\n%sContent-Length: %zu\r\n\r\n",
                     path, host, port, extra, strlen(body));
    else
        n = snprintf(head, sizeof head, "GET %s HTTP/1.1\r\nHost: %s:%d\r\nAccept: text/event-stream\r\n%s\r\n", path,
                     host, port, extra);
    size_t blen = body ? strlen(body) : 0;
    free(c->out);
    c->out = malloc((size_t)n + blen);
    memcpy(c->out, head, (size_t)n);
    if (body) memcpy(c->out + n, body, blen);
    c->out_len = (uint32_t)((size_t)n + blen);
    c->out_sent = 0;
    c->len = 0;
}

static void call(struct conn *c, uint64_t t) {
    char body[1024];
    if (listen_mode)
        snprintf(body, sizeof body,
                 "{\"jsonrpc\":\"2.0\",\"id\":%ld,\"method\":\"tools/call\",\"params\":{\"name\":\"test_echo\","
                 "\"arguments\":{\"text\":\"hello\"}," MODERN_META "}}",
                 ++c->next_id);
    else
        snprintf(body, sizeof body,
                 "{\"jsonrpc\":\"2.0\",\"id\":%ld,\"method\":\"tools/call\",\"params\":{\"name\":\"test_echo\","
                 "\"arguments\":{\"text\":\"hello\"}}}",
                 ++c->next_id);
    request(c, "tools/call", "test_echo", body);
    c->state = CALLING;
    c->t0 = t;
}

static void first_request(struct conn *c) {
    if (c->caller && listen_mode) {
        call(c, now_ns());
    } else if (listen_mode) {
        request(c, "subscriptions/listen", NULL,
                "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"subscriptions/listen\",\"params\":{\"notifications\":"
                "{\"toolsListChanged\":true}," MODERN_META "}}");
        c->state = OPENING;
    } else {
        request(c, "initialize", NULL,
                "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{\"protocolVersion\":\"2025-11-25\","
                "\"capabilities\":{},\"clientInfo\":{\"name\":\"c100k_driver\",\"version\":\"1\"}}}");
        c->state = INIT;
    }
}

/* Length of a complete response at the start of c->buf, 0 while incomplete;
** with head_only, the length of its head. Sets *status; keeps the session id. */
static size_t complete_response(struct conn *c, int *status, int head_only) {
    char *end = memmem(c->buf, c->len, "\r\n\r\n", 4);
    if (!end) return 0;
    size_t head_len = (size_t)(end - c->buf) + 4;
    *status = atoi(c->buf + 9);
    long content_length = -1;
    int chunked = 0;
    for (char *line = strstr(c->buf, "\r\n") + 2; line < end; line = strstr(line, "\r\n") + 2) {
        if (!strncasecmp(line, "content-length:", 15)) content_length = atol(line + 15);
        if (!strncasecmp(line, "transfer-encoding:", 18) && strstr(line, "chunked") < strstr(line, "\r\n")) chunked = 1;
        if (!strncasecmp(line, "mcp-session-id:", 15) && !c->sid) {
            const char *v = line + 15;
            while (*v == ' ') v++;
            size_t n = (size_t)(strstr(v, "\r\n") - v);
            c->sid = strndup(v, n);
            c->sid_len = (uint16_t)n;
        }
    }
    if (head_only) return head_len;
    if (!chunked) {
        size_t total = head_len + (size_t)(content_length < 0 ? 0 : content_length);
        return c->len < total ? 0 : total;
    }
    size_t pos = head_len;
    while (1) {
        char *crlf = memmem(c->buf + pos, c->len - pos, "\r\n", 2);
        if (!crlf) return 0;
        size_t size = strtoul(c->buf + pos, NULL, 16);
        size_t data = (size_t)(crlf - c->buf) + 2;
        if (c->len < data + size + 2) return 0;
        if (size == 0) return data + 2;
        pos = data + size + 2;
    }
}

/* Latency samples, in microseconds. */
struct samples {
    uint32_t *v;
    size_t n, cap;
};

static void add(struct samples *s, uint64_t ns) {
    if (s->n == s->cap) s->v = realloc(s->v, (s->cap = s->cap ? s->cap * 2 : 4096) * sizeof *s->v);
    s->v[s->n++] = (uint32_t)(ns / 1000);
}

static void print_samples(const char *name, struct samples *s) {
    printf("\"%s_us\":[", name);
    for (size_t i = 0; i < s->n; i++) printf(i ? ",%u" : "%u", s->v[i]);
    printf("]");
}

static int ep;
static long opened, failed, dropped, errors, pending;

static int start_connect(struct conn *c) {
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (c->fd < 0) return -1;
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (src) {
        setsockopt(c->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
        if (bind(c->fd, (struct sockaddr *)&src_addr, sizeof src_addr) < 0) return -1;
    }
    if (connect(c->fd, (struct sockaddr *)&server_addr, sizeof server_addr) < 0 && errno != EINPROGRESS) return -1;
    c->state = CONNECTING;
    c->t0 = now_ns();
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP, .data.ptr = c};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) < 0) die("epoll_ctl");
    return 0;
}

/* Writes what is queued; EPOLLOUT is watched only while something is. */
static int flush_out(struct conn *c) {
    while (c->out && c->out_sent < c->out_len) {
        ssize_t n = send(c->fd, c->out + c->out_sent, c->out_len - c->out_sent, MSG_NOSIGNAL);
        if (n > 0) c->out_sent += (uint32_t)n;
        else if (n < 0 && (errno == EAGAIN || errno == EINTR)) break;
        else return -1;
    }
    int done = !c->out || c->out_sent == c->out_len;
    if (done) {
        free(c->out);
        c->out = NULL;
    }
    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP | (done ? 0 : EPOLLOUT), .data.ptr = c};
    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
    return 0;
}

static void lose(struct conn *c) {
    if (c->state == HELD) dropped++;
    else if (!c->caller) {
        failed++;
        pending--;
    } else {
        errors++;
    }
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    free(c->buf);
    free(c->out);
    c->buf = c->out = NULL;
    c->state = DEAD;
}

static void held(struct conn *c) {
    c->state = HELD;
    free(c->buf);
    c->buf = NULL;
    c->len = c->cap = 0;
    opened++;
    pending--;
}

int main(int argc, char **argv) {
    int conns = 0, callers = 8, interval_ms = 100, batch = 64, max_pending = 1000;
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *a = argv[i], *v = argv[i + 1];
        if (!strcmp(a, "--port")) port = atoi(v);
        else if (!strcmp(a, "--host")) host = v;
        else if (!strcmp(a, "--path")) path = v;
        else if (!strcmp(a, "--src")) src = v;
        else if (!strcmp(a, "--conns")) conns = atoi(v);
        else if (!strcmp(a, "--callers")) callers = atoi(v);
        else if (!strcmp(a, "--interval-ms")) interval_ms = atoi(v);
        else if (!strcmp(a, "--batch")) batch = atoi(v);
        else if (!strcmp(a, "--max-pending")) max_pending = atoi(v);
        else if (!strcmp(a, "--mode")) listen_mode = !strcmp(v, "listen") ? 1 : !strcmp(v, "session") ? 0 : -1;
        else {
            fprintf(stderr, "c100k_driver: unknown option %s\n", a);
            return 2;
        }
    }
    if (port <= 0 || conns < 0 || callers < 1 || batch < 1 || max_pending < 1 || listen_mode < 0) {
        fprintf(stderr, "usage: c100k_driver --port P --conns N --mode listen|session [--src ADDR] [--callers K]\n"
                        "       [--interval-ms M] [--batch B] [--max-pending Q]\n");
        return 2;
    }
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    server_addr = (struct sockaddr_in){.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, host, &server_addr.sin_addr) != 1) die("--host");
    if (src) {
        src_addr = (struct sockaddr_in){.sin_family = AF_INET};
        if (inet_pton(AF_INET, src, &src_addr.sin_addr) != 1) die("--src");
    }
    ep = epoll_create1(0);
    if (ep < 0) die("epoll_create1");
    struct epoll_event in_ev = {.events = EPOLLIN, .data.ptr = NULL};
    epoll_ctl(ep, EPOLL_CTL_ADD, 0, &in_ev);
    struct conn *cs = calloc((size_t)(conns + callers), sizeof *cs);
    struct conn *calls = cs + conns;
    for (int i = 0; i < callers; i++) {
        calls[i].caller = 1;
        pending++;
        if (start_connect(&calls[i]) < 0) die("caller connect");
    }

    struct samples open_lat = {0}, hold_lat = {0};
    int ready = 0, going = 0, all_open = 0, stopping = 0, next_conn = 0;
    long warm = 0;
    uint64_t t_go = 0;
    double open_seconds = -1;
    static char rbuf[1 << 16];
    struct epoll_event evs[512];
    while (!stopping) {
        uint64_t t = now_ns();
        /* Start the next batch of held connections. */
        for (int k = 0; going && k < batch && next_conn < conns && pending < max_pending; k++) {
            pending++;
            if (start_connect(&cs[next_conn]) < 0) {
                if (cs[next_conn].fd >= 0) close(cs[next_conn].fd);
                cs[next_conn].state = DEAD;
                failed++;
                pending--;
            }
            next_conn++;
        }
        if (going && !all_open && next_conn == conns && opened + failed == conns) {
            all_open = 1;
            open_seconds = (double)(now_ns() - t_go) / 1e9;
            printf("OPEN %ld %ld %.3f\n", opened, failed, open_seconds);
            fflush(stdout);
        }
        /* Callers whose time has come. */
        int timeout = 1000;
        for (int i = 0; i < callers; i++) {
            struct conn *c = &calls[i];
            if (c->state != WAITING) continue;
            if (c->due <= t) {
                call(c, t);
                if (flush_out(c) < 0) lose(c);
            } else {
                int ms = (int)((c->due - t) / 1000000) + 1;
                if (ms < timeout) timeout = ms;
            }
        }
        /* More to start now: do not sleep. (At --max-pending, wait for events:
        ** spinning here would take the CPU the servers need.) */
        if (going && next_conn < conns && pending < max_pending) timeout = 0;
        else if (going && !all_open && timeout > 10) timeout = 10;
        int n = epoll_wait(ep, evs, 512, timeout);
        for (int k = 0; k < n; k++) {
            struct conn *c = evs[k].data.ptr;
            if (!c) {
                char line[64];
                ssize_t r = read(0, line, sizeof line - 1);
                if (r <= 0) stopping = 1;
                else {
                    line[r] = 0;
                    if (strstr(line, "stop")) stopping = 1;
                    if (strstr(line, "go") && !going) {
                        going = 1;
                        t_go = now_ns();
                    }
                }
                continue;
            }
            if (c->state == DEAD) continue;
            if (c->state == CONNECTING) {
                int err = 0;
                socklen_t el = sizeof err;
                getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el);
                if (err) {
                    lose(c);
                    continue;
                }
                if (c->caller) pending--;
                first_request(c);
            }
            if (flush_out(c) < 0) {
                lose(c);
                continue;
            }
            /* Read everything there is. */
            int closed = 0;
            while (1) {
                ssize_t r = recv(c->fd, rbuf, sizeof rbuf, 0);
                if (r > 0) {
                    if (c->state == HELD) continue; /* SSE comments and events: dropped */
                    if (c->len + (size_t)r + 1 > c->cap) {
                        c->cap = (uint32_t)((c->len + (size_t)r + 1) * 2);
                        c->buf = realloc(c->buf, c->cap);
                    }
                    memcpy(c->buf + c->len, rbuf, (size_t)r);
                    c->len += (uint32_t)r;
                    c->buf[c->len] = 0;
                    continue;
                }
                if (r == 0 || (errno != EAGAIN && errno != EINTR)) closed = 1;
                break;
            }
            if ((evs[k].events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) && c->state != HELD) closed = closed || !c->len;
            int status = 0;
            size_t used;
            switch (c->state) {
            case INIT:
            case INITIALIZED:
                if (!(used = complete_response(c, &status, 0))) break;
                if (status != (c->state == INIT ? 200 : 202) || !c->sid) {
                    fprintf(stderr, "c100k_driver: %s answered %d\n", c->state == INIT ? "initialize" : "initialized",
                            status);
                    lose(c);
                    continue;
                }
                if (c->state == INIT) {
                    request(c, "notifications/initialized", NULL,
                            "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}");
                    c->state = INITIALIZED;
                } else if (c->caller) {
                    call(c, now_ns());
                } else {
                    request(c, NULL, NULL, NULL);
                    c->state = OPENING;
                }
                if (flush_out(c) < 0) lose(c);
                continue;
            case OPENING:
                if (!complete_response(c, &status, 1)) break;
                if (status != 200) {
                    lose(c);
                    continue;
                }
                if (listen_mode && !strstr(c->buf, "subscriptions/acknowledged")) break;
                held(c);
                continue;
            case CALLING:
                if (!(used = complete_response(c, &status, 0))) break;
                uint64_t t1 = now_ns();
                if (status != 200 || !memmem(c->buf, used, "\"result\"", 8)) errors++;
                else if (!ready) warm++;
                else add(going && !all_open ? &open_lat : &hold_lat, t1 - c->t0);
                c->len = 0;
                c->state = WAITING;
                /* Spread the callers over the interval. */
                c->due = t1 + (uint64_t)interval_ms * 1000000ull;
                if (!ready && warm >= callers) {
                    ready = 1;
                    printf("READY\n");
                    fflush(stdout);
                }
                continue;
            default:
                break;
            }
            if (closed) lose(c);
        }
    }
    printf("{\"mode\":\"%s\",\"conns\":%d,\"opened\":%ld,\"failed\":%ld,\"dropped\":%ld,\"errors\":%ld,\"open_seconds\":%.3f,",
           listen_mode ? "listen" : "session", conns, opened, failed, dropped, errors, open_seconds);
    print_samples("open", &open_lat);
    printf(",");
    print_samples("hold", &hold_lat);
    printf("}\n");
    fflush(stdout);
    return 0;
}
