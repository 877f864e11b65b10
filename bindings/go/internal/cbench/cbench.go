// Package cbench holds the C side of the Go binding's benchmark: a tool
// answered in C, and a client driver in C that sends tools/call requests
// through an in-process session (mcp_server_session_new / mcp_session_receive)
// and times them, so that a Go handler and a C handler on the same engine
// are measured by the same driver, with no Go on the client side. (cgo is not
// allowed in _test.go files.)
package cbench

/*
#cgo LDFLAGS: -lmcp -lpthread
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <mcp.h>

// Answers at once with the same result the Go benchmark tool gives.
static void cbench_tool(void *user_data, mcp_call_t *call, const char *arguments_json) {
	(void)user_data;
	(void)arguments_json;
	mcp_call_return(call, "{\"content\":[{\"type\":\"text\",\"text\":\"ok\"}]}", NULL);
}

// mcp_server_add_tool_ex is linked directly: the benchmark needs ABI 1.1.
static mcp_status cbench_add(void *server, const char *tool_json, unsigned int flags, char **err) {
	return mcp_server_add_tool_ex((mcp_server_t *)server, tool_json, cbench_tool, NULL, NULL, flags, err);
}

// The client side: counts answers; a mismatch is remembered.
typedef struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	long answers;
	int bad;
} cbench_client;

static void cbench_send(void *user_data, const char *message, size_t length) {
	cbench_client *c = user_data;
	(void)length;
	pthread_mutex_lock(&c->mu);
	if (strstr(message, "\"result\"") == NULL) c->bad = 1;
	c->answers++;
	pthread_cond_signal(&c->cv);
	pthread_mutex_unlock(&c->mu);
}

static int cbench_wait(cbench_client *c, long want) {
	struct timespec deadline;
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += 10;
	int ok = 1;
	pthread_mutex_lock(&c->mu);
	while (c->answers < want && ok) {
		if (pthread_cond_timedwait(&c->cv, &c->mu, &deadline) != 0) ok = 0;
	}
	pthread_mutex_unlock(&c->mu);
	return ok;
}

static long long now_ns(void) {
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

typedef struct {
	cbench_client client;
	mcp_session_t *session;
	long id;
} cbench_driver;

static const char *INIT = "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":"
	"{\"protocolVersion\":\"2025-11-25\",\"capabilities\":{},\"clientInfo\":{\"name\":\"cbench\",\"version\":\"0\"}}}";
static const char *INITIALIZED = "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}";

static cbench_driver *cbench_open(void *server) {
	cbench_driver *d = calloc(1, sizeof *d);
	if (d == NULL) return NULL;
	pthread_mutex_init(&d->client.mu, NULL);
	pthread_cond_init(&d->client.cv, NULL);
	if (mcp_server_session_new((mcp_server_t *)server, cbench_send, &d->client, NULL, &d->session, NULL) != MCP_OK) {
		free(d);
		return NULL;
	}
	mcp_session_receive(d->session, INIT, strlen(INIT), NULL);
	if (!cbench_wait(&d->client, 1)) {
		mcp_session_free(d->session);
		free(d);
		return NULL;
	}
	mcp_session_receive(d->session, INITIALIZED, strlen(INITIALIZED), NULL);
	return d;
}

// n sequential tools/call of tool; returns the elapsed nanoseconds, or -1
// when an answer is missing or is not a result.
static long long cbench_run(cbench_driver *d, const char *tool, long n) {
	char msg[256];
	long long t0 = now_ns();
	for (long i = 0; i < n; i++) {
		d->id++;
		int len = snprintf(msg, sizeof msg, "{\"jsonrpc\":\"2.0\",\"id\":%ld,\"method\":\"tools/call\","
			"\"params\":{\"name\":\"%s\",\"arguments\":{}}}", d->id, tool);
		if (mcp_session_receive(d->session, msg, (size_t)len, NULL) != MCP_OK) return -1;
		if (!cbench_wait(&d->client, d->id + 1)) return -1;
	}
	long long t = now_ns() - t0;
	return d->client.bad ? -1 : t;
}

// cbench_run on a thread of its own, which the Go runtime did not create:
// an engine callback made from it (a tool registered with MCP_TOOL_INLINE
// runs on the thread that called mcp_session_receive) enters Go as one made
// from an engine I/O thread does, not as a callback into the goroutine that
// made a cgo call.
typedef struct {
	cbench_driver *d;
	const char *tool;
	long n;
	long long result;
} cbench_job;

static void *cbench_thread(void *arg) {
	cbench_job *j = arg;
	j->result = cbench_run(j->d, j->tool, j->n);
	return NULL;
}

static long long cbench_run_on_thread(cbench_driver *d, const char *tool, long n) {
	cbench_job j = {d, tool, n, -1};
	pthread_t t;
	if (pthread_create(&t, NULL, cbench_thread, &j) != 0) return -1;
	pthread_join(t, NULL);
	return j.result;
}

static void cbench_close(cbench_driver *d) {
	mcp_session_free(d->session);
	pthread_mutex_destroy(&d->client.mu);
	pthread_cond_destroy(&d->client.cv);
	free(d);
}
*/
import "C"

import (
	"encoding/json"
	"fmt"
	"time"
	"unsafe"
)

// AddTool registers a tool of that name, answered in C with one text block
// "ok", on the server whose mcp_server_t* is server (mcp.Server.Handle).
func AddTool(server unsafe.Pointer, name string) error { return addTool(server, name, 0) }

// AddInlineTool is AddTool with MCP_TOOL_INLINE: the C callback runs on the
// thread that read the request.
func AddInlineTool(server unsafe.Pointer, name string) error {
	return addTool(server, name, C.MCP_TOOL_INLINE)
}

func addTool(server unsafe.Pointer, name string, flags C.uint) error {
	if server == nil {
		return fmt.Errorf("cbench: nil server")
	}
	def, _ := json.Marshal(map[string]string{"name": name, "description": "answers ok, in C"})
	cdef := C.CString(string(def))
	defer C.free(unsafe.Pointer(cdef))
	var cerr *C.char
	if st := C.cbench_add(server, cdef, flags, &cerr); st != C.MCP_OK {
		msg := C.GoString(cerr)
		C.mcp_string_free(cerr)
		return fmt.Errorf("cbench: mcp_server_add_tool_ex: %s", msg)
	}
	return nil
}

// Driver is a C client on an initialized in-process session.
type Driver struct{ d *C.cbench_driver }

// Open starts a session on the server whose mcp_server_t* is server.
func Open(server unsafe.Pointer) (*Driver, error) {
	d := C.cbench_open(server)
	if d == nil {
		return nil, fmt.Errorf("cbench: cannot open an initialized session")
	}
	return &Driver{d}, nil
}

// Run sends n sequential tools/call of tool, each after the previous answer,
// and returns the time they took.
func (d *Driver) Run(tool string, n int) (time.Duration, error) {
	ctool := C.CString(tool)
	defer C.free(unsafe.Pointer(ctool))
	ns := C.cbench_run(d.d, ctool, C.long(n))
	if ns < 0 {
		return 0, fmt.Errorf("cbench: a call of %s was not answered with a result", tool)
	}
	return time.Duration(ns), nil
}

// RunOnThread is Run from a C thread of its own (see cbench_run_on_thread):
// the way to time tools registered with MCP_TOOL_INLINE.
func (d *Driver) RunOnThread(tool string, n int) (time.Duration, error) {
	ctool := C.CString(tool)
	defer C.free(unsafe.Pointer(ctool))
	ns := C.cbench_run_on_thread(d.d, ctool, C.long(n))
	if ns < 0 {
		return 0, fmt.Errorf("cbench: a call of %s was not answered with a result", tool)
	}
	return time.Duration(ns), nil
}

// Close ends the session.
func (d *Driver) Close() { C.cbench_close(d.d) }
