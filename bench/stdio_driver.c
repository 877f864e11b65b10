/*
** stdio_driver.c: a lean load generator for newline-delimited JSON-RPC over pipes.
**
** Spawns a command (fork/exec, its stdin and stdout on pipes), optionally does
** the MCP handshake first, then sends N copies of one request line with fresh
** integer ids, keeping at most W in flight, and reads answer lines back. Each
** answer is matched to its request by the first "id": in the line, which gives
** a round-trip latency per call. Prints one JSON object of statistics.
**
** The same driver runs against `cat` (which echoes every line: the ceiling of
** what any stdio server can do through these pipes) and against an MCP server,
** so both numbers share every cost of the driver.
**
** Build: cc -O2 -o stdio_driver bench/stdio_driver.c
** Usage: stdio_driver [options] -- command [args...]
**   --requests N    calls to measure (default 20000)
**   --window W      most calls in flight at once (default 1: sequential)
**   --warmup K      calls made first and not measured (default 200)
**   --init          send initialize + notifications/initialized first
**   --expect TEXT   every answer line must contain TEXT (e.g. "result":)
**   --text TEXT     the test_echo argument (default "hello")
**   --text-bytes N  instead, a test_echo argument of N bytes (base64 letters);
**                   every answer line must then be at least N bytes long
**   --method-line L a whole request line to send instead of tools/call test_echo;
**                   it must contain the two characters %d where the id goes
**   --timeout SEC   give up after SEC seconds (default 120)
** Exit status: 0 on success, 1 on a failed run (message on stderr), 2 on bad usage.
*/
#define _GNU_SOURCE /* F_SETPIPE_SZ */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void die(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("stdio_driver: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ------------------------------------------------------------ byte buffers */

typedef struct {
    char *data;
    size_t len, cap, off; /* off: consumed prefix */
} buf_t;

static void buf_reserve(buf_t *b, size_t extra) {
    if (b->off > 0 && b->off == b->len) b->off = b->len = 0;
    if (b->len + extra <= b->cap) return;
    if (b->off > 0) { /* compact first */
        memmove(b->data, b->data + b->off, b->len - b->off);
        b->len -= b->off;
        b->off = 0;
        if (b->len + extra <= b->cap) return;
    }
    size_t cap = b->cap ? b->cap : 65536;
    while (cap < b->len + extra) cap *= 2;
    b->data = realloc(b->data, cap);
    if (b->data == NULL) die("out of memory");
    b->cap = cap;
}

static void buf_append(buf_t *b, const char *s, size_t n) {
    buf_reserve(b, n);
    memcpy(b->data + b->len, s, n);
    b->len += n;
}

/* ----------------------------------------------------------------- child */

typedef struct {
    pid_t pid;
    int to_child;   /* its stdin */
    int from_child; /* its stdout */
} child_t;

/* Large payloads: 1 MiB pipes and reads (the default 64 KiB makes the pipe, not the
** server, the bottleneck for a 10 MB line). Small-message runs keep the defaults. */
static size_t io_chunk = 65536;

static child_t spawn(char **argv) {
    int in[2], out[2];
    if (pipe(in) != 0 || pipe(out) != 0) die("pipe: %s", strerror(errno));
    if (io_chunk > 65536) {
        (void)fcntl(in[1], F_SETPIPE_SZ, (int)io_chunk); /* best effort: pipe-max-size may be lower */
        (void)fcntl(out[1], F_SETPIPE_SZ, (int)io_chunk);
    }
    pid_t pid = fork();
    if (pid < 0) die("fork: %s", strerror(errno));
    if (pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        close(in[0]);
        close(in[1]);
        close(out[0]);
        close(out[1]);
        execvp(argv[0], argv);
        fprintf(stderr, "stdio_driver: cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    fcntl(in[1], F_SETFD, FD_CLOEXEC);
    fcntl(out[0], F_SETFD, FD_CLOEXEC);
    /* Our ends only: the child's descriptors stay blocking. */
    fcntl(in[1], F_SETFL, fcntl(in[1], F_GETFL) | O_NONBLOCK);
    fcntl(out[0], F_SETFL, fcntl(out[0], F_GETFL) | O_NONBLOCK);
    child_t c = {pid, in[1], out[0]};
    return c;
}

/* ---------------------------------------------------------------- engine */

typedef struct {
    child_t child;
    buf_t out, in;
    const char *expect;
    double deadline;
    long lines_read;
    size_t scanned; /* bytes after in.off already searched for a newline */
} conn_t;

/* Writes what it can of the output buffer; returns when the pipe is full or the buffer empty. */
static void flush_some(conn_t *c) {
    while (c->out.off < c->out.len) {
        ssize_t n = write(c->child.to_child, c->out.data + c->out.off, c->out.len - c->out.off);
        if (n > 0) {
            c->out.off += (size_t)n;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else {
            die("write to the command failed: %s", n < 0 ? strerror(errno) : "short write");
        }
    }
}

/* Waits until the command is readable (or writable, when output is pending) and services both. */
static void pump(conn_t *c) {
    struct pollfd fds[2] = {{c->child.from_child, POLLIN, 0}, {c->child.to_child, POLLOUT, 0}};
    int nfds = c->out.off < c->out.len ? 2 : 1;
    double left = c->deadline - now_s();
    if (left <= 0) die("timed out: the command stopped answering");
    int rc = poll(fds, (nfds_t)nfds, (int)(left * 1000) + 1);
    if (rc < 0) {
        if (errno == EINTR) return;
        die("poll: %s", strerror(errno));
    }
    if (nfds == 2 && (fds[1].revents & (POLLOUT | POLLERR | POLLHUP))) flush_some(c);
    if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
        buf_reserve(&c->in, io_chunk);
        ssize_t n = read(c->child.from_child, c->in.data + c->in.len, c->in.cap - c->in.len);
        if (n > 0) c->in.len += (size_t)n;
        else if (n == 0) die("the command closed its stdout after %ld lines", c->lines_read);
        else if (errno != EAGAIN && errno != EINTR) die("read: %s", strerror(errno));
    }
}

/* The next complete line (NUL-terminated in place, without its newline), or NULL. */
static char *next_line(conn_t *c) {
    if (c->in.off >= c->in.len) return NULL;
    char *start = c->in.data + c->in.off;
    /* A long line arrives in many reads: search only what is new. */
    char *nl = memchr(start + c->scanned, '\n', c->in.len - c->in.off - c->scanned);
    if (nl == NULL) {
        c->scanned = c->in.len - c->in.off;
        return NULL;
    }
    c->scanned = 0;
    *nl = '\0';
    c->in.off = (size_t)(nl - c->in.data) + 1;
    c->lines_read++;
    if (c->expect && strstr(start, c->expect) == NULL) die("unexpected answer: %.300s", start);
    return start;
}

/* The integer after the first "id": in a line, or -1. */
static long line_id(const char *line) {
    const char *p = strstr(line, "\"id\":");
    if (p == NULL) return -1;
    p += 5;
    while (*p == ' ') p++;
    char *end;
    long v = strtol(p, &end, 10);
    return end == p ? -1 : v;
}

static size_t min_answer; /* --text-bytes: an answer line holds the text at least once */

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* A request line: the template's text before and after the id (no printf over megabytes). */
typedef struct {
    const char *head, *tail;
    size_t head_len, tail_len;
} tmpl_t;

static void append_request(buf_t *out, const tmpl_t *t, long id) {
    char digits[32];
    int n = snprintf(digits, sizeof digits, "%ld", id);
    buf_append(out, t->head, t->head_len);
    buf_append(out, digits, (size_t)n);
    buf_append(out, t->tail, t->tail_len);
}

/* Sends calls [first, first+count) with at most window in flight; latency[i - first] gets each round trip. */
static void run_calls(conn_t *c, const tmpl_t *tmpl, long first, long count, long window, double *latency) {
    double *sent_at = calloc((size_t)count, sizeof *sent_at);
    if (sent_at == NULL) die("out of memory");
    long next = 0, done = 0;
    while (done < count) {
        /* Queue as many as the window allows, in one write where possible. */
        if (next < count && next - done < window) {
            double t = now_s();
            while (next < count && next - done < window) {
                append_request(&c->out, tmpl, first + next);
                sent_at[next++] = t;
            }
            flush_some(c);
        }
        char *l;
        while ((l = next_line(c)) != NULL) {
            if (min_answer > 0 && strlen(l) < min_answer) die("answer shorter than the text: %.300s", l);
            long id = line_id(l) - first;
            if (id < 0 || id >= next || sent_at[id] < 0) die("answer with an unknown id: %.300s", l);
            if (latency) latency[id] = now_s() - sent_at[id];
            sent_at[id] = -1;
            done++;
        }
        if (done < count && !(next < count && next - done < window)) pump(c);
        else if (done < count && c->out.off < c->out.len) pump(c);
    }
    free(sent_at);
}

static void usage(void) {
    fputs("usage: stdio_driver [--requests N] [--window W] [--warmup K] [--init] [--expect TEXT]\n"
          "                    [--text TEXT | --text-bytes N | --method-line LINE] [--timeout SEC]\n"
          "                    -- command [args...]\n",
          stderr);
    exit(2);
}

int main(int argc, char **argv) {
    long requests = 20000, window = 1, warmup = 200;
    double timeout = 120;
    int init = 0;
    const char *expect = NULL, *text = "hello", *method_line = NULL;
    long text_bytes = 0;
    int i = 1;
    for (; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--")) {
            i++;
            break;
        }
        if (!strcmp(a, "--init")) {
            init = 1;
            continue;
        }
        if (i + 1 >= argc) usage();
        const char *v = argv[++i];
        if (!strcmp(a, "--requests")) requests = atol(v);
        else if (!strcmp(a, "--window")) window = atol(v);
        else if (!strcmp(a, "--warmup")) warmup = atol(v);
        else if (!strcmp(a, "--timeout")) timeout = atof(v);
        else if (!strcmp(a, "--expect")) expect = v;
        else if (!strcmp(a, "--text")) text = v;
        else if (!strcmp(a, "--text-bytes")) text_bytes = atol(v);
        else if (!strcmp(a, "--method-line")) method_line = v;
        else usage();
    }
    if (i >= argc || requests < 1 || window < 1 || warmup < 0) usage();
    signal(SIGPIPE, SIG_IGN);

    /* The request template: one line, split where the id goes. */
    static const char call_head[] = "{\"jsonrpc\":\"2.0\",\"id\":";
    static const char call_mid[] = ",\"method\":\"tools/call\",\"params\":{\"name\":\"test_echo\",\"arguments\":{\"text\":\"";
    static const char call_end[] = "\"}}}\n";
    tmpl_t tmpl = {call_head, NULL, sizeof call_head - 1, 0};
    if (method_line) {
        const char *p = strstr(method_line, "%d");
        if (p == NULL || strchr(method_line, '%') != p || strchr(p + 2, '%')) usage();
        size_t tail_len = strlen(p + 2);
        char *tail = malloc(tail_len + 2);
        if (tail == NULL) die("out of memory");
        memcpy(tail, p + 2, tail_len);
        memcpy(tail + tail_len, "\n", 2);
        tmpl.head = method_line;
        tmpl.head_len = (size_t)(p - method_line);
        tmpl.tail = tail;
        tmpl.tail_len = tail_len + 1;
    } else {
        size_t n;
        char *body;
        if (text_bytes > 0) {
            static const char letters[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
            n = (size_t)text_bytes;
            body = malloc(sizeof call_mid + n + sizeof call_end);
            if (body == NULL) die("out of memory");
            memcpy(body, call_mid, sizeof call_mid - 1);
            for (size_t k = 0; k < n; k++) body[sizeof call_mid - 1 + k] = letters[(k * 7 + k / 64) % 64];
            min_answer = n;
            io_chunk = 1 << 20;
        } else {
            for (const char *t = text; *t; t++)
                if (*t == '"' || *t == '\\' || (unsigned char)*t < 0x20) die("--text must not need escaping");
            n = strlen(text);
            body = malloc(sizeof call_mid + n + sizeof call_end);
            if (body == NULL) die("out of memory");
            memcpy(body, call_mid, sizeof call_mid - 1);
            memcpy(body + sizeof call_mid - 1, text, n);
        }
        memcpy(body + sizeof call_mid - 1 + n, call_end, sizeof call_end);
        tmpl.tail = body;
        tmpl.tail_len = sizeof call_mid - 1 + n + sizeof call_end - 1;
    }

    conn_t c = {0};
    c.child = spawn(argv + i);
    c.expect = NULL;
    c.deadline = now_s() + timeout;

    if (init) {
        static const char handshake[] =
            "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{\"protocolVersion\":\"2025-11-25\","
            "\"capabilities\":{},\"clientInfo\":{\"name\":\"stdio_driver\",\"version\":\"1.0\"}}}\n";
        static const char initialized[] = "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}\n";
        buf_append(&c.out, handshake, sizeof handshake - 1);
        flush_some(&c);
        char *l;
        while ((l = next_line(&c)) == NULL) pump(&c);
        if (line_id(l) != 0 || strstr(l, "\"result\"") == NULL) die("initialize failed: %.300s", l);
        buf_append(&c.out, initialized, sizeof initialized - 1);
        flush_some(&c);
    }
    c.expect = expect;

    /* Ids: warm-up calls 1..warmup, measured calls after them. */
    if (warmup > 0) run_calls(&c, &tmpl, 1, warmup, window, NULL);
    double *latency = malloc((size_t)requests * sizeof *latency);
    if (latency == NULL) die("out of memory");
    double t0 = now_s();
    run_calls(&c, &tmpl, 1 + warmup, requests, window, latency);
    double seconds = now_s() - t0;

    close(c.child.to_child);
    int status = 0;
    while (waitpid(c.child.pid, &status, 0) < 0 && errno == EINTR) {
    }
    int exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);

    qsort(latency, (size_t)requests, sizeof *latency, cmp_double);
    double p50 = latency[(size_t)((requests - 1) * 0.50)];
    double p99 = latency[(size_t)((requests - 1) * 0.99)];
    printf("{\"calls\":%ld,\"window\":%ld,\"seconds\":%.6f,\"calls_per_s\":%.1f,"
           "\"p50_us\":%.1f,\"p99_us\":%.1f,\"max_us\":%.1f,\"exit_status\":%d}\n",
           requests, window, seconds, (double)requests / seconds, p50 * 1e6, p99 * 1e6,
           latency[requests - 1] * 1e6, exit_status);
    free(latency);
    free(c.out.data);
    free(c.in.data);
    return exit_status == 0 ? 0 : 1;
}
