package mcp

/*
#include <stdint.h>
#include <stdlib.h>
#include <mcp.h>

// Go exports (exports.go); cgo emits them without const, hence the casts.
extern void goResponse(void *, mcp_status, char *, char *);
extern void goCallCancelled(void *);
static mcp_status mcpgo_call_on_cancel(mcp_call_t *c, uintptr_t key, char **err) {
	return mcp_call_on_cancel(c, goCallCancelled, (void *)key, err);
}
static mcp_status mcpgo_call_request(mcp_call_t *c, const char *method, const char *params,
                                      int32_t timeout_ms, uintptr_t h, char **err) {
	return mcp_call_request(c, method, params, timeout_ms, (mcp_response_fn)goResponse, (void *)h, err);
}
static mcp_status mcpgo_call_request_named(mcp_call_t *c, const char *key, const char *method, const char *params,
                                            int32_t timeout_ms, uintptr_t h, char **err) {
	return mcp_call_request_named(c, key, method, params, timeout_ms, (mcp_response_fn)goResponse, (void *)h, err);
}
*/
import "C"

import (
	"context"
	"encoding/json"
	"errors"
	"log"
	"runtime/debug"
	"sync/atomic"
)

// Call is the request a handler is answering: one tools/call, resources/read,
// prompts/get or completion/complete. Get it with CallFromContext inside a
// handler. Through it the handler reports progress, logs to the client and
// asks the client things (sampling, elicitation, roots) while it runs.
//
// Its methods are safe for concurrent use; once the handler has returned they
// fail with ErrState.
type Call struct {
	ptr    *C.mcp_call_t
	server *Server // nil for a request a Client answers
	d      *dispatcher
	method string
	where  placement
}

type callKey struct{}

// CallFromContext returns the call a handler's context belongs to, or nil for
// a context that is not a handler's.
func CallFromContext(ctx context.Context) *Call {
	c, _ := ctx.Value(callKey{}).(*Call)
	return c
}

// Method is the request's method, e.g. "tools/call".
func (c *Call) Method() string { return c.method }

// Server is the server the call arrived on (nil for a request from a server
// to a Client).
func (c *Call) Server() *Server { return c.server }

// Progress sends notifications/progress to the client. progress must grow
// from one report to the next; total < 0 means unknown; message may be empty.
// Nothing is sent (and nil returned) when the request carried no
// progressToken.
func (c *Call) Progress(progress, total float64, message string) error {
	cmsg := cStringOrNil(message)
	defer freeC(cmsg)
	var cerr *C.char
	return statusError("Progress", C.mcp_call_progress(c.ptr, C.double(progress), C.double(total), cmsg, &cerr), cerr)
}

// Log sends a log message (notifications/message) to this call's client, if
// the level the client set (default "info") lets it through. data is any
// value that marshals to JSON; logger may be empty.
func (c *Call) Log(level LoggingLevel, logger string, data interface{}) error {
	dataJSON, err := json.Marshal(data)
	if err != nil {
		return &Error{Op: "Log", Status: ErrInvalidJSON, Message: err.Error()}
	}
	clevel, clogger, cdata := cString(string(level)), cStringOrNil(logger), cString(string(dataJSON))
	defer freeC(clevel)
	defer freeC(clogger)
	defer freeC(cdata)
	var cerr *C.char
	return statusError("Log", C.mcp_call_log(c.ptr, clevel, clogger, cdata, &cerr), cerr)
}

// SessionID is the id of the session the call belongs to, for addressing it
// later (Server.NotifyElicitationComplete).
func (c *Call) SessionID() (string, error) {
	var out, cerr *C.char
	if err := statusError("SessionID", C.mcp_call_session_id(c.ptr, &out, &cerr), cerr); err != nil {
		return "", err
	}
	return takeString(out), nil
}

// Meta is the request's "_meta" object (empty when absent).
func (c *Call) Meta() (Meta, error) {
	var out, cerr *C.char
	if err := statusError("Meta", C.mcp_call_meta(c.ptr, &out, &cerr), cerr); err != nil {
		return nil, err
	}
	m := Meta{}
	if err := json.Unmarshal([]byte(takeString(out)), &m); err != nil {
		return nil, &Error{Op: "Meta", Status: ErrInvalidJSON, Message: err.Error()}
	}
	return m, nil
}

// Principal is who a request acts for when the server checks OAuth access
// tokens (HTTP with "auth"): the token's subject, client, issuer, scopes and
// claims.
type Principal struct {
	Subject  string          `json:"subject,omitempty"`
	ClientID string          `json:"client_id,omitempty"`
	Issuer   string          `json:"issuer,omitempty"`
	Scopes   []string        `json:"scopes"`
	Claims   json.RawMessage `json:"claims,omitempty"`
}

// Principal is the principal of the call's request, or nil without
// authorization (stdio, HTTP without "auth").
func (c *Call) Principal() (*Principal, error) {
	var out, cerr *C.char
	if err := statusError("Principal", C.mcp_call_principal_json(c.ptr, &out, &cerr), cerr); err != nil {
		return nil, err
	}
	if out == nil {
		return nil, nil
	}
	p := &Principal{}
	if err := json.Unmarshal([]byte(takeString(out)), p); err != nil {
		return nil, &Error{Op: "Principal", Status: ErrInvalidJSON, Message: err.Error()}
	}
	return p, nil
}

// response is the outcome of a request sent to the peer.
type response struct {
	status C.mcp_status
	result json.RawMessage
	err    json.RawMessage
}

// pending is a request in flight, as goResponse and goProgress see it: the
// channel is buffered, so delivering never blocks even when nobody waits.
type pending struct {
	ch       chan response
	progress func(params json.RawMessage) // nil: no progress wanted
}

// Request sends a request to the call's client and waits for the answer:
// method is "sampling/createMessage", "elicitation/create", "roots/list" or
// "ping"; params is any value that marshals to a JSON object, or nil.
// It returns the result object, a *PeerError when the client answered with
// an error, ctx.Err() when ctx is done first, or an *Error: ErrUnsupported
// (the client did not declare the capability; nothing was sent), ErrTimeout,
// ErrCancelled (the call was cancelled), ErrClosed.
// ctx's deadline bounds the wait; without one the engine waits 60 s
// (extended by the client's progress). A Quick tool's handler gets ErrState:
// it must not wait.
func (c *Call) Request(ctx context.Context, method string, params interface{}) (json.RawMessage, error) {
	return c.request(ctx, "", method, params)
}

// RequestNamed is Request with the key that names the request in a
// 2026-07-28 call's inputRequests (e.g. "user_name"; "" for the default key,
// derived from the request's position in the handler's run). In a 2025-era
// call the key is ignored.
//
// Multi round-trip requests: in a 2026-07-28 call nothing is sent; the answer
// is looked up among those the client sent back with the call. When it is not
// there, Request returns an error matching ErrInputRequired at once: the
// handler returns it (any error or result does), the engine answers the call
// with an InputRequiredResult, and when the client retries with the answers
// the handler runs again from the top and its requests complete at once. So
// a handler makes the same requests in the same order each run and does its
// side effects after the last one; several requests made concurrently (in
// goroutines) before any answer is needed are asked in one round.
func (c *Call) RequestNamed(ctx context.Context, key, method string, params interface{}) (json.RawMessage, error) {
	return c.request(ctx, key, method, params)
}

func (c *Call) request(ctx context.Context, key, method string, params interface{}) (json.RawMessage, error) {
	if c.where == onCaller {
		// The answer would be read by the thread this handler holds (over
		// stdio always): it would wait for the engine's timeout.
		return nil, &Error{Op: "Request " + method, Status: ErrState, Message: "a Quick tool's handler runs on " +
			"the thread that read the request and must not wait for the client: register the tool without Quick()"}
	}
	var cparams *C.char
	if params != nil {
		b, err := json.Marshal(params)
		if err != nil {
			return nil, &Error{Op: "Request", Status: ErrInvalidJSON, Message: err.Error()}
		}
		cparams = cString(string(b))
		defer freeC(cparams)
	}
	timeout, err := requestTimeout(ctx)
	if err != nil {
		return nil, err
	}
	cmethod := cString(method)
	defer freeC(cmethod)
	p := &pending{ch: make(chan response, 1)}
	h := newHandle(p)
	var cerr *C.char
	var st C.mcp_status
	if key == "" {
		st = C.mcpgo_call_request(c.ptr, cmethod, cparams, C.int32_t(timeout), C.uintptr_t(h), &cerr)
	} else {
		ckey := cString(key)
		defer freeC(ckey)
		st = C.mcpgo_call_request_named(c.ptr, ckey, cmethod, cparams, C.int32_t(timeout), C.uintptr_t(h), &cerr)
	}
	if st != C.MCP_OK {
		deleteHandle(h) // fn will not run: the handle is still ours
		return nil, statusError("Request "+method, st, cerr)
	}
	select {
	case r := <-p.ch:
		return r.decode(method, ctx)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// InputState is the handler's own state from the previous round of a
// 2026-07-28 call (ok false in the first round and in the 2025 era). The
// client carries it in requestState, signed by the engine: it can read it
// but not change it.
func (c *Call) InputState() (state string, ok bool, err error) {
	var out, cerr *C.char
	if err := statusError("InputState", C.mcp_call_input_state(c.ptr, &out, &cerr), cerr); err != nil {
		return "", false, err
	}
	if out == nil {
		return "", false, nil
	}
	return takeString(out), true, nil
}

// SetInputState sets the state the next round of a 2026-07-28 call gets
// (kept when the call ends asking for input). ErrUnsupported in the 2025
// era, which has no next round.
func (c *Call) SetInputState(state string) error {
	cs := cString(state)
	defer freeC(cs)
	var cerr *C.char
	return statusError("SetInputState", C.mcp_call_set_input_state(c.ptr, cs, &cerr), cerr)
}

// Ping sends a ping to the call's client and waits for its answer.
func (c *Call) Ping(ctx context.Context) error {
	_, err := c.Request(ctx, "ping", nil)
	return err
}

// outcome is a handler's answer: a result to marshal, or a JSON-RPC error.
type outcome struct {
	result interface{}
	rpcErr *RPCError
}

// placement is where a handler runs.
type placement int8

const (
	// onWorker: on the engine worker thread that delivered the call while
	// fewer than workerLimit handlers occupy worker threads, else on a
	// goroutine. The default.
	onWorker placement = iota
	// onCaller: on the thread that delivered the call, whatever it is (a
	// Quick tool: the thread that read the request; the handler promised
	// not to block).
	onCaller
)

// startCall runs a handler for call c. Its context carries the Call and is
// cancelled when the client cancels the request, when the session ends, or
// when the handler has returned. startCall itself runs on the engine thread
// that delivered the call (a worker thread, or the I/O thread for a tool
// registered with MCP_TOOL_INLINE); whatever run uses must already be copied
// out of the callback's borrowed strings.
//
// Where the handler runs (onWorker): on this worker thread, as a C callback
// would, while fewer than workerLimit handlers of the server occupy worker
// threads; else on a goroutine of its own, so the callback returns at once.
// Running on the worker thread saves a goroutine hand-off (a thread wake-up,
// tens of microseconds on a loaded machine); the limit keeps engine threads
// free to deliver what blocked handlers wait for (cancellations, the
// client's answers), which the engine runs on the same worker pool. Quick
// tools run onCaller.
func (s *Server) startCall(c *C.mcp_call_t, method string, run func(context.Context) outcome, onPanic func(interface{}) outcome) {
	s.d.startCall(&Call{ptr: c, server: s, d: &s.d, method: method}, run, onPanic)
}

// startCallOn is startCall with the handler placed as where says.
func (s *Server) startCallOn(c *C.mcp_call_t, method string, where placement, run func(context.Context) outcome, onPanic func(interface{}) outcome) {
	s.d.startCall(&Call{ptr: c, server: s, d: &s.d, method: method, where: where}, run, onPanic)
}

// dispatcher runs the handlers of one Server or Client (see
// Server.startCall); each has its own engine worker pool.
type dispatcher struct {
	onWorkers   int64 // handlers running on engine worker threads (atomic)
	workerLimit int64 // most handlers that run on worker threads at once
	logger      *log.Logger
}

func (d *dispatcher) logf(format string, args ...interface{}) {
	if d.logger != nil {
		d.logger.Printf(format, args...)
	} else {
		log.Printf(format, args...)
	}
}

func (d *dispatcher) startCall(call *Call, run func(context.Context) outcome, onPanic func(interface{}) outcome) {
	c, method := call.ptr, call.method
	ctx, cancel := context.WithCancel(context.Background())
	ctx = context.WithValue(ctx, callKey{}, call)
	key := registerCancel(cancel)
	var cerr *C.char
	if err := statusError("on_cancel", C.mcpgo_call_on_cancel(c, C.uintptr_t(key), &cerr), cerr); err != nil {
		d.logf("mcp: %s: cannot watch for cancellation: %v", method, err)
	}
	handle := func() {
		defer unregisterCancel(key)
		defer cancel()
		out := func() (out outcome) {
			defer func() {
				if v := recover(); v != nil {
					d.logf("mcp: %s handler panicked: %v\n%s", method, v, debug.Stack())
					out = onPanic(v)
				}
			}()
			return run(ctx)
		}()
		call.answer(out)
	}
	if call.where == onCaller {
		handle()
		return
	}
	if atomic.AddInt64(&d.onWorkers, 1) <= d.workerLimit {
		defer atomic.AddInt64(&d.onWorkers, -1)
		handle()
		return
	}
	atomic.AddInt64(&d.onWorkers, -1)
	go handle()
}

// answer sends the outcome; the engine checks its shape.
func (c *Call) answer(out outcome) {
	var cerr *C.char
	if out.rpcErr == nil {
		b, err := json.Marshal(out.result)
		if err != nil {
			c.d.logf("mcp: %s: result does not encode as JSON: %v", c.method, err)
			out.rpcErr = &RPCError{Code: CodeInternalError, Message: "result does not encode as JSON: " + err.Error()}
		} else {
			cres := cString(string(b))
			err := statusError("answer", C.mcp_call_return(c.ptr, cres, &cerr), cerr)
			freeC(cres)
			if err != nil {
				// The client got a -32603 error; the host should learn why.
				c.d.logf("mcp: %s: the engine refused the handler's result: %v", c.method, err)
			}
			return
		}
	}
	e := out.rpcErr
	cmsg := cStringOrNil(e.Message)
	defer freeC(cmsg)
	var cdata *C.char
	if len(e.Data) > 0 {
		cdata = cString(string(e.Data))
		defer freeC(cdata)
	}
	if err := statusError("answer", C.mcp_call_error(c.ptr, C.int32_t(e.Code), cmsg, cdata, &cerr), cerr); err != nil {
		c.d.logf("mcp: %s: cannot send error %d: %v", c.method, e.Code, err)
	}
}

// rpcErrorFrom maps a handler's error to a JSON-RPC error: an *RPCError as
// is, anything else as -32603 with the error's text.
func rpcErrorFrom(err error) *RPCError {
	var re *RPCError
	if errors.As(err, &re) {
		return re
	}
	return &RPCError{Code: CodeInternalError, Message: err.Error()}
}
