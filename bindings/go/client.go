package mcp

/*
#include <stdint.h>
#include <stdlib.h>
#include <mcp.h>

// Go exports (exports.go); cgo emits them without const, hence the casts.
extern void goClientRequest(void *, mcp_call_t *, char *, char *);
extern void goClientNotification(void *, char *, char *);
extern void goClientStderr(void *, char *, size_t);
extern void goResponse(void *, mcp_status, char *, char *);
extern void goProgress(void *, char *);
extern void goFree(void *);

static mcp_status mcpgo_client_set_request_handler(mcp_client_t *c, const char *method, uintptr_t h, char **err) {
	return mcp_client_set_request_handler(c, method, (mcp_request_fn)goClientRequest, (void *)h, goFree, err);
}
static mcp_status mcpgo_client_set_notification_handler(mcp_client_t *c, uintptr_t h, char **err) {
	return mcp_client_set_notification_handler(c, (mcp_notification_fn)goClientNotification, (void *)h, goFree, err);
}
static mcp_status mcpgo_client_set_stderr_handler(mcp_client_t *c, uintptr_t h, char **err) {
	return mcp_client_set_stderr_handler(c, (mcp_stderr_fn)goClientStderr, (void *)h, goFree, err);
}
static mcp_status mcpgo_client_request_async(mcp_client_t *c, const char *method, const char *params,
                                             int32_t timeout_ms, uintptr_t h, int progress,
                                             int64_t *out_id, char **err) {
	return mcp_client_request_async(c, method, params, timeout_ms, (mcp_response_fn)goResponse,
	                                progress ? (mcp_progress_fn)goProgress : NULL, (void *)h, out_id, err);
}
static mcp_status mcpgo_client_list_async(mcp_client_t *c, const char *method, int32_t timeout_ms, uintptr_t h,
                                          int64_t *out_id, char **err) {
	return mcp_client_list_async(c, method, timeout_ms, (mcp_response_fn)goResponse, (void *)h, out_id, err);
}
static char **mcpgo_strv(size_t n) { return calloc(n + 1, sizeof(char *)); }
static void mcpgo_strv_set(char **v, size_t i, char *s) { v[i] = s; }
static void mcpgo_strv_free(char **v) {
	if (v == NULL) return;
	for (char **p = v; *p != NULL; p++) free(*p);
	free(v);
}
static mcp_status mcpgo_client_connect_stdio(mcp_client_t *c, char **argv, char **envp, const char *options,
                                             char **out_result, char **err) {
	return mcp_client_connect_stdio(c, (const char *const *)argv, (const char *const *)envp, options, out_result, err);
}
*/
import "C"

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"math"
	"runtime/cgo"
	"time"
)

// Client is an MCP client (mcp_client_t) holding one connection to a server:
// create it with its handlers, connect, then call the server's tools and the
// rest. Methods are safe for concurrent use; every request takes a context
// whose deadline becomes the request's timeout and whose cancellation sends
// notifications/cancelled to the server.
type Client struct {
	g    guard
	ptr  *C.mcp_client_t
	d    dispatcher
	done chan struct{}
}

// ClientOptions configure a client. Zero values mean the engine's defaults.
// A handler that is set declares its capability in initialize.
type ClientOptions struct {
	Title string // clientInfo.title
	// Capabilities are merged over those the handlers declare.
	Capabilities map[string]interface{}
	// ProtocolVersion offered in initialize (default the newest); the server
	// may answer an older one.
	ProtocolVersion string
	// RequestTimeout applies to requests whose context has no deadline
	// (default 60 s); MaxTotalTimeout caps a timeout extended by progress
	// (default 10 min).
	RequestTimeout  time.Duration
	MaxTotalTimeout time.Duration
	// WorkerThreads bounds the engine threads that run handlers (1..1024,
	// default 16).
	WorkerThreads   int
	MaxMessageBytes int // longest accepted message (default 16 MiB)
	// Era is "auto" (default: probe server/discover at 2026-07-28, fall back
	// to initialize), "legacy", or a revision ("2026-07-28", "2025-11-25",
	// ...). ABI 1.3.
	Era string
	// MaxInputRounds bounds the input_required rounds the engine answers with
	// the handlers below (default 10); -1: the caller gets the
	// InputRequiredResult itself.
	MaxInputRounds int
	// SkipOutputValidation stops checking CallTool's structuredContent
	// against the outputSchema from the last ListTools (by default a
	// mismatch fails the call with ErrPeer, code -32603). ABI 1.3.
	SkipOutputValidation bool
	// Tasks declares the tasks extension in 2026-07-28 requests: a call the
	// server runs as a task is followed (tasks/get, its input answered by the
	// handlers above with tasks/update, tasks/cancel when ctx ends) and
	// CallTool returns its result. Library 1.4.
	Tasks bool
	// Cache keeps list and read results in memory while their ttlMs says
	// they are fresh; list_changed and resources/updated notifications
	// invalidate. CacheMaxEntries (256) and CacheMaxBytes (8 MiB) bound it.
	// ABI 1.3.
	Cache           bool
	CacheMaxEntries int
	CacheMaxBytes   int
	// DiscoverTimeout bounds the auto probe (default 10 s).
	DiscoverTimeout time.Duration
	// LogLevel goes with every modern request ("debug" .. "emergency").
	LogLevel string

	// CreateMessageHandler answers sampling/createMessage (declares sampling).
	CreateMessageHandler func(ctx context.Context, p *CreateMessageParams) (*CreateMessageResult, error)
	// ElicitationHandler answers elicitation/create, form and URL mode
	// (declares elicitation).
	ElicitationHandler func(ctx context.Context, p *ElicitParams) (*ElicitResult, error)
	// RootsHandler answers roots/list (declares roots).
	RootsHandler func(ctx context.Context) ([]*Root, error)
	// NotificationHandler receives the server's notifications (log messages,
	// list changes, resource updates, ...), on engine threads.
	NotificationHandler func(method string, params json.RawMessage)
	// StderrHandler receives the server process's stderr lines (stdio); by
	// default they are copied to this process's stderr.
	StderrHandler func(line string)
	// OAuthHandler shows the authorization URL to the person (ConnectHTTP
	// with OAuth) and returns the URL the authorization server redirected
	// to, or "" when the loopback listener receives it; an error refuses.
	// It runs on an engine thread and may block. Library 1.5.
	OAuthHandler func(authorizationURL, redirectURI string) (redirectURL string, err error)
	// OAuthStore receives the credentials (registration, tokens) for an
	// issuer whenever they change; give them back in
	// OAuthOptions.Credentials. They hold secrets. Library 1.5.
	OAuthStore func(issuer string, credentials json.RawMessage)
	// ErrorLog receives what cannot be reported to a caller; nil means the
	// standard logger.
	ErrorLog *log.Logger
}

type clientHandler struct {
	client *Client
	fn     func(ctx context.Context, params json.RawMessage) (interface{}, error)
}

type clientNotify struct{ fn func(string, json.RawMessage) }

type clientStderr struct{ fn func(string) }

// NewClient creates a client with the clientInfo name and version (neither
// may be empty). opts may be nil. Close it when done.
func NewClient(name, version string, opts *ClientOptions) (*Client, error) {
	if opts == nil {
		opts = &ClientOptions{}
	}
	wire := map[string]interface{}{}
	if opts.Title != "" {
		wire["title"] = opts.Title
	}
	if opts.Capabilities != nil {
		wire["capabilities"] = opts.Capabilities
	}
	if opts.ProtocolVersion != "" {
		wire["protocol_version"] = opts.ProtocolVersion
	}
	if opts.RequestTimeout > 0 {
		wire["request_timeout_ms"] = clampMs(opts.RequestTimeout)
	}
	if opts.MaxTotalTimeout > 0 {
		wire["max_total_timeout_ms"] = clampMs(opts.MaxTotalTimeout)
	}
	if opts.WorkerThreads != 0 {
		wire["worker_threads"] = opts.WorkerThreads
	}
	if opts.MaxMessageBytes != 0 {
		wire["max_message_bytes"] = opts.MaxMessageBytes
	}
	if opts.Era != "" {
		wire["era"] = opts.Era
	}
	if opts.MaxInputRounds > 0 {
		wire["max_input_rounds"] = opts.MaxInputRounds
	} else if opts.MaxInputRounds < 0 {
		wire["max_input_rounds"] = 0
	}
	if opts.DiscoverTimeout > 0 {
		wire["discover_timeout_ms"] = clampMs(opts.DiscoverTimeout)
	}
	if opts.LogLevel != "" {
		wire["log_level"] = opts.LogLevel
	}
	if opts.SkipOutputValidation {
		wire["validate_tool_output"] = false
	}
	if opts.Tasks {
		wire["tasks"] = true
	}
	if opts.Cache {
		wire["cache"] = true
		if opts.CacheMaxEntries > 0 {
			wire["cache_max_entries"] = opts.CacheMaxEntries
		}
		if opts.CacheMaxBytes > 0 {
			wire["cache_max_bytes"] = opts.CacheMaxBytes
		}
	}
	optJSON, err := json.Marshal(wire)
	if err != nil {
		return nil, &Error{Op: "NewClient", Status: ErrInvalidJSON, Message: err.Error()}
	}
	cname, cversion, copts := cString(name), cString(version), cString(string(optJSON))
	defer freeC(cname)
	defer freeC(cversion)
	defer freeC(copts)
	var ptr *C.mcp_client_t
	var cerr *C.char
	if err := statusError("NewClient", C.mcp_client_new(cname, cversion, copts, &ptr, &cerr), cerr); err != nil {
		return nil, err
	}
	c := &Client{ptr: ptr, done: make(chan struct{}),
		d: dispatcher{logger: opts.ErrorLog, workerLimit: workerLimit(opts.WorkerThreads, 16)}}
	if err := c.setHandlers(opts); err != nil {
		C.mcp_client_free(ptr)
		return nil, err
	}
	return c, nil
}

// requestTimeout maps ctx's deadline to a request's timeout_ms (0: the
// engine's default). The engine's timer gets a margin past the deadline so
// that ctx ends first and the caller sees ctx.Err(), as Go code expects; the
// engine's timer only backs it up.
func requestTimeout(ctx context.Context) (int32, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	d, ok := ctx.Deadline()
	if !ok {
		return 0, nil
	}
	left := time.Until(d)
	if left <= 0 {
		return 0, context.DeadlineExceeded
	}
	return int32(clampMs(left + timeoutMargin)), nil
}

const timeoutMargin = 250 * time.Millisecond

func clampMs(d time.Duration) int64 {
	ms := d.Milliseconds()
	if ms < 1 {
		ms = 1
	}
	if ms > math.MaxInt32 {
		ms = math.MaxInt32
	}
	return ms
}

func (c *Client) setHandlers(opts *ClientOptions) error {
	type method struct {
		name string
		fn   func(ctx context.Context, params json.RawMessage) (interface{}, error)
	}
	var methods []method
	if h := opts.CreateMessageHandler; h != nil {
		methods = append(methods, method{"sampling/createMessage", func(ctx context.Context, raw json.RawMessage) (interface{}, error) {
			p := &CreateMessageParams{}
			if err := json.Unmarshal(raw, p); err != nil {
				return nil, &RPCError{Code: CodeInvalidParams, Message: "sampling params: " + err.Error()}
			}
			return h(ctx, p)
		}})
	}
	if h := opts.ElicitationHandler; h != nil {
		methods = append(methods, method{"elicitation/create", func(ctx context.Context, raw json.RawMessage) (interface{}, error) {
			p := &ElicitParams{}
			if err := json.Unmarshal(raw, p); err != nil {
				return nil, &RPCError{Code: CodeInvalidParams, Message: "elicitation params: " + err.Error()}
			}
			return h(ctx, p)
		}})
	}
	if h := opts.RootsHandler; h != nil {
		methods = append(methods, method{"roots/list", func(ctx context.Context, _ json.RawMessage) (interface{}, error) {
			roots, err := h(ctx)
			if err != nil {
				return nil, err
			}
			if roots == nil {
				roots = []*Root{}
			}
			return map[string]interface{}{"roots": roots}, nil
		}})
	}
	for _, m := range methods {
		h := newHandle(&clientHandler{client: c, fn: m.fn})
		cm := cString(m.name)
		var cerr *C.char
		err := statusError("NewClient", C.mcpgo_client_set_request_handler(c.ptr, cm, C.uintptr_t(h), &cerr), cerr)
		freeC(cm)
		if err != nil {
			deleteHandle(h)
			return err
		}
	}
	if fn := opts.NotificationHandler; fn != nil {
		h := newHandle(&clientNotify{fn: fn})
		var cerr *C.char
		if err := statusError("NewClient", C.mcpgo_client_set_notification_handler(c.ptr, C.uintptr_t(h), &cerr), cerr); err != nil {
			deleteHandle(h)
			return err
		}
	}
	if fn := opts.StderrHandler; fn != nil {
		h := newHandle(&clientStderr{fn: fn})
		var cerr *C.char
		if err := statusError("NewClient", C.mcpgo_client_set_stderr_handler(c.ptr, C.uintptr_t(h), &cerr), cerr); err != nil {
			deleteHandle(h)
			return err
		}
	}
	return c.setOAuth(opts)
}

// call runs on an engine worker thread (from goClientRequest).
func (r *clientHandler) call(c *C.mcp_call_t, method, params string) {
	raw := json.RawMessage(params)
	r.client.d.startCall(&Call{ptr: c, d: &r.client.d, method: method}, func(ctx context.Context) outcome {
		res, err := r.fn(ctx, raw)
		if err != nil {
			return outcome{rpcErr: rpcErrorFrom(err)}
		}
		return outcome{result: res}
	}, func(v interface{}) outcome {
		return outcome{rpcErr: &RPCError{Code: CodeInternalError, Message: fmt.Sprintf("%s failed: panic: %v", method, v)}}
	})
}

func (c *Client) acquire(op string) (*C.mcp_client_t, error) {
	if !c.g.enter() {
		return nil, &Error{Op: op, Status: ErrClosed, Message: "client is closed"}
	}
	return c.ptr, nil
}

// ConnectOptions tune ConnectStdio.
type ConnectOptions struct {
	// Env is the server's environment as "NAME=value" entries; nil inherits
	// this process's environment.
	Env []string
	// Dir is the server's working directory ("" for this process's).
	Dir string
	// CloseTimeout is each wait of the shutdown sequence at Close (stdin
	// closed, then SIGTERM, then SIGKILL); default 2 s.
	CloseTimeout time.Duration
}

// Implementation names a client or server.
type Implementation struct {
	Name        string `json:"name"`
	Version     string `json:"version"`
	Title       string `json:"title,omitempty"`
	Description string `json:"description,omitempty"`
	WebsiteURL  string `json:"websiteUrl,omitempty"`
	Icons       []Icon `json:"icons,omitempty"`
}

// InitializeResult is the server's answer to initialize.
type InitializeResult struct {
	ProtocolVersion string `json:"protocolVersion"`
	// Capabilities holds each capability the server declared, by name
	// ("tools", "resources", "prompts", "logging", "completions", ...).
	Capabilities map[string]json.RawMessage `json:"capabilities"`
	ServerInfo   Implementation             `json:"serverInfo"`
	Instructions string                     `json:"instructions,omitempty"`
}

// ConnectStdio starts the server program argv[0] (looked up on PATH) with
// argv[1:] and runs the initialize handshake over its stdin and stdout. ctx's
// deadline bounds the handshake (else ClientOptions.RequestTimeout); when ctx
// is cancelled first, ConnectStdio returns ctx.Err() at once and the
// connection is closed as soon as the engine gives the handshake up. ErrIO
// when the program cannot start, ErrClosed when it exits, ErrTimeout, a
// *PeerError when it refuses initialize.
func (c *Client) ConnectStdio(ctx context.Context, argv []string, opts *ConnectOptions) (*InitializeResult, error) {
	if len(argv) == 0 || argv[0] == "" {
		return nil, &Error{Op: "ConnectStdio", Status: ErrInvalidArg, Message: "no program to start"}
	}
	if opts == nil {
		opts = &ConnectOptions{}
	}
	wire := map[string]interface{}{}
	if opts.Dir != "" {
		wire["cwd"] = opts.Dir
	}
	if opts.CloseTimeout > 0 {
		wire["close_timeout_ms"] = clampMs(opts.CloseTimeout)
	}
	if d, ok := ctx.Deadline(); ok {
		left := time.Until(d)
		if left <= 0 {
			return nil, context.DeadlineExceeded
		}
		wire["timeout_ms"] = clampMs(left)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	optJSON, _ := json.Marshal(wire)
	return c.connect(ctx, "ConnectStdio", func(ptr *C.mcp_client_t, out, cerr **C.char) C.mcp_status {
		cargv := cStrv(argv)
		defer C.mcpgo_strv_free(cargv)
		var cenv **C.char
		if opts.Env != nil {
			cenv = cStrv(opts.Env)
			defer C.mcpgo_strv_free(cenv)
		}
		copts := cString(string(optJSON))
		defer freeC(copts)
		return C.mcpgo_client_connect_stdio(ptr, cargv, cenv, copts, out, cerr)
	})
}

// HTTPConnectOptions tune ConnectHTTP. Zero values mean the defaults.
type HTTPConnectOptions struct {
	// Headers are sent on every request (e.g. Authorization); the headers
	// libmcp sets itself are refused.
	Headers map[string]string
	// TLSCAFile is a PEM file of the certificates that verify an https
	// server (default: the system's trust store).
	TLSCAFile string
	// InsecureSkipVerify turns off the verification of the server's
	// certificate and name.
	InsecureSkipVerify bool
	// Transport is "auto" (default: Streamable HTTP, falling back to the
	// legacy HTTP+SSE transport when initialize gets 400, 404 or 405),
	// "streamable" or "legacy_sse".
	Transport string
	// NoGetStream leaves the standalone GET stream closed.
	NoGetStream bool
	// OAuth obtains tokens when the server asks for them. Library 1.5.
	OAuth *OAuthOptions
}

// ConnectHTTP connects to a server by URL ("http://host:port/mcp" or
// https) and runs the initialize handshake, as ConnectStdio does for a
// program. A server that refuses initialize gives a *PeerError (with
// {"httpStatus": N} in Data for an HTTP error status); ErrIO when it cannot
// be reached.
func (c *Client) ConnectHTTP(ctx context.Context, url string, opts *HTTPConnectOptions) (*InitializeResult, error) {
	if opts == nil {
		opts = &HTTPConnectOptions{}
	}
	wire := map[string]interface{}{}
	if opts.Headers != nil {
		wire["headers"] = opts.Headers
	}
	if opts.TLSCAFile != "" {
		wire["tls_ca_file"] = opts.TLSCAFile
	}
	if opts.InsecureSkipVerify {
		wire["tls_verify"] = false
	}
	if opts.Transport != "" {
		wire["transport"] = opts.Transport
	}
	if opts.NoGetStream {
		wire["open_get_stream"] = false
	}
	if opts.OAuth != nil {
		wire["oauth"] = opts.OAuth.wire()
	}
	if d, ok := ctx.Deadline(); ok {
		left := time.Until(d)
		if left <= 0 {
			return nil, context.DeadlineExceeded
		}
		wire["timeout_ms"] = clampMs(left)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	optJSON, _ := json.Marshal(wire)
	return c.connect(ctx, "ConnectHTTP", func(ptr *C.mcp_client_t, out, cerr **C.char) C.mcp_status {
		curl, copts := cString(url), cString(string(optJSON))
		defer freeC(curl)
		defer freeC(copts)
		return C.mcp_client_connect_http(ptr, curl, copts, out, cerr)
	})
}

// connect runs a blocking connect function. libmcp cannot abandon a
// handshake before its timeout, so it runs on a goroutine of its own: a
// cancelled ctx returns at once, and that goroutine closes the connection if
// the handshake still succeeds.
func (c *Client) connect(ctx context.Context, op string, run func(ptr *C.mcp_client_t, out, cerr **C.char) C.mcp_status) (*InitializeResult, error) {
	ptr, err := c.acquire(op)
	if err != nil {
		return nil, err
	}
	type result struct {
		st        C.mcp_status
		out, cerr *C.char
	}
	done := make(chan result)
	abandon := make(chan struct{})
	go func() {
		defer c.g.exit()
		var r result
		r.st = run(ptr, &r.out, &r.cerr)
		select {
		case done <- r:
		case <-abandon:
			if r.st == C.MCP_OK {
				C.mcp_client_close(ptr, nil)
			}
			C.mcp_string_free(r.out)
			C.mcp_string_free(r.cerr)
		}
	}()
	var r result
	select {
	case r = <-done:
	case <-ctx.Done():
		close(abandon)
		return nil, ctx.Err()
	}
	if r.st == C.MCP_ERR_PEER {
		C.mcp_string_free(r.out)
		msg := takeString(r.cerr)
		var e RPCError
		if json.Unmarshal([]byte(msg), &e) == nil {
			return nil, &PeerError{Method: "initialize", Code: e.Code, Message: e.Message, Data: e.Data}
		}
		return nil, &Error{Op: op, Status: ErrPeer, Message: msg}
	}
	if err := statusError(op, r.st, r.cerr); err != nil {
		C.mcp_string_free(r.out)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}
	res := &InitializeResult{}
	if err := json.Unmarshal([]byte(takeString(r.out)), res); err != nil {
		return nil, &Error{Op: op, Status: ErrPeer, Message: "unreadable initialize result: " + err.Error()}
	}
	return res, nil
}

// cStrv makes a NULL-terminated C array of C strings (C memory throughout);
// free it with mcpgo_strv_free.
func cStrv(ss []string) **C.char {
	v := C.mcpgo_strv(C.size_t(len(ss)))
	for i, s := range ss {
		C.mcpgo_strv_set(v, C.size_t(i), C.CString(s))
	}
	return v
}

// ServerInfo is the server's answer to initialize.
func (c *Client) ServerInfo() (*InitializeResult, error) {
	ptr, err := c.acquire("ServerInfo")
	if err != nil {
		return nil, err
	}
	defer c.g.exit()
	var out, cerr *C.char
	if err := statusError("ServerInfo", C.mcp_client_server_info(ptr, &out, &cerr), cerr); err != nil {
		return nil, err
	}
	res := &InitializeResult{}
	if err := json.Unmarshal([]byte(takeString(out)), res); err != nil {
		return nil, &Error{Op: "ServerInfo", Status: ErrPeer, Message: err.Error()}
	}
	return res, nil
}

// EraInfo says what the connection settled on.
type EraInfo struct {
	Era               string                     `json:"era"` // "modern" or "legacy"
	ProtocolVersion   string                     `json:"protocolVersion"`
	Capabilities      map[string]json.RawMessage `json:"capabilities"`
	ServerInfo        Implementation             `json:"serverInfo"`
	Instructions      string                     `json:"instructions,omitempty"`
	SupportedVersions []string                   `json:"supportedVersions,omitempty"`
}

// Era reports the era and revision in force and the server's capabilities
// (mcp_client_get_era, ABI 1.3).
func (c *Client) Era() (*EraInfo, error) {
	ptr, err := c.acquire("Era")
	if err != nil {
		return nil, err
	}
	defer c.g.exit()
	var out, cerr *C.char
	if err := statusError("Era", C.mcp_client_get_era(ptr, &out, &cerr), cerr); err != nil {
		return nil, err
	}
	res := &EraInfo{}
	if err := json.Unmarshal([]byte(takeString(out)), res); err != nil {
		return nil, &Error{Op: "Era", Status: ErrPeer, Message: err.Error()}
	}
	return res, nil
}

// Close ends the session and the connection (for stdio the server gets end
// of input, then SIGTERM, then SIGKILL) and frees the client. Requests still
// waiting fail with ErrClosed. It does not wait for a handshake that
// ConnectStdio abandoned: the client is freed when the engine gives that up.
// Idempotent.
func (c *Client) Close() error {
	c.g.closeThen(func() { close(c.done) }, func() {
		if st := C.mcp_client_close(c.ptr, nil); st == C.MCP_ERR_STATE {
			// On an engine thread (a handler closed the client): freeing
			// here would wait for that very handler.
			go C.mcp_client_free(c.ptr)
			return
		}
		C.mcp_client_free(c.ptr)
	})
	return nil
}

// Progress is one notifications/progress about a request.
type Progress struct {
	Progress float64 `json:"progress"`
	Total    float64 `json:"total,omitempty"` // 0 when unknown
	Message  string  `json:"message,omitempty"`
}

// Request sends any client-to-server request and waits for its result.
// params is a value that marshals to a JSON object, or nil. ctx's deadline
// is the request's timeout (else ClientOptions.RequestTimeout); when ctx is
// done first the server gets notifications/cancelled and ctx.Err() is
// returned. A server's error answer is a *PeerError; ErrUnsupported means
// the server did not declare the method's capability (nothing was sent).
func (c *Client) Request(ctx context.Context, method string, params interface{}) (json.RawMessage, error) {
	return c.request(ctx, method, params, nil)
}

func (c *Client) request(ctx context.Context, method string, params interface{}, progress func(Progress)) (json.RawMessage, error) {
	var cparams *C.char
	if params != nil {
		b, err := json.Marshal(params)
		if err != nil {
			return nil, &Error{Op: method, Status: ErrInvalidJSON, Message: err.Error()}
		}
		cparams = cString(string(b))
		defer freeC(cparams)
	}
	p := &pending{ch: make(chan response, 1)}
	withProgress := C.int(0)
	if progress != nil {
		withProgress = 1
		p.progress = func(raw json.RawMessage) {
			var pr Progress
			if json.Unmarshal(raw, &pr) == nil {
				progress(pr)
			}
		}
	}
	return c.await(ctx, method, p, func(ptr *C.mcp_client_t, cmethod *C.char, timeout int32, h cgo.Handle,
		id *C.int64_t, cerr **C.char) C.mcp_status {
		return C.mcpgo_client_request_async(ptr, cmethod, cparams, C.int32_t(timeout), C.uintptr_t(h), withProgress, id, cerr)
	})
}

// listAll is every item of a paginated list, as one JSON array.
func (c *Client) listAll(ctx context.Context, method string) (json.RawMessage, error) {
	return c.await(ctx, method, &pending{ch: make(chan response, 1)}, func(ptr *C.mcp_client_t, cmethod *C.char,
		timeout int32, h cgo.Handle, id *C.int64_t, cerr **C.char) C.mcp_status {
		return C.mcpgo_client_list_async(ptr, cmethod, C.int32_t(timeout), C.uintptr_t(h), id, cerr)
	})
}

// asyncStart starts one asynchronous operation of the engine whose outcome
// goes to goResponse with handle h, and gives the id mcp_client_cancel takes.
type asyncStart func(ptr *C.mcp_client_t, cmethod *C.char, timeout int32, h cgo.Handle, id *C.int64_t,
	cerr **C.char) C.mcp_status

// await starts an operation (a request, a listing) and waits for its outcome
// or for ctx; when ctx ends first the engine is told to cancel it.
func (c *Client) await(ctx context.Context, method string, p *pending, start asyncStart) (json.RawMessage, error) {
	timeout, err := requestTimeout(ctx)
	if err != nil {
		return nil, err
	}
	cmethod := cString(method)
	defer freeC(cmethod)
	ptr, err := c.acquire(method)
	if err != nil {
		return nil, err
	}
	h := newHandle(p)
	var id C.int64_t
	var cerr *C.char
	st := start(ptr, cmethod, timeout, h, &id, &cerr)
	c.g.exit()
	if st != C.MCP_OK {
		deleteHandle(h) // fn will not run
		return nil, statusError(method, st, cerr)
	}
	select {
	case r := <-p.ch:
		return r.decode(method, ctx)
	case <-ctx.Done():
		if ptr, err := c.acquire(method); err == nil {
			reason := cString(ctx.Err().Error())
			C.mcp_client_cancel(ptr, id, reason, nil)
			freeC(reason)
			c.g.exit()
		}
		return nil, ctx.Err()
	}
}

// decode turns a response into a result or an error.
func (r response) decode(method string, ctx context.Context) (json.RawMessage, error) {
	switch r.status {
	case C.MCP_OK:
		return r.result, nil
	case C.MCP_ERR_PEER:
		var e RPCError
		if err := json.Unmarshal(r.err, &e); err != nil {
			return nil, &PeerError{Method: method, Code: CodeInternalError, Message: "unreadable error: " + string(r.err)}
		}
		return nil, &PeerError{Method: method, Code: e.Code, Message: e.Message, Data: e.Data}
	default:
		if ctx.Err() != nil && (r.status == C.MCP_ERR_CANCELLED || r.status == C.MCP_ERR_TIMEOUT) {
			return nil, ctx.Err()
		}
		// A listing says why it stopped (ErrLimit); a request carries no text.
		var e RPCError
		if r.err != nil && json.Unmarshal(r.err, &e) == nil && e.Message != "" {
			return nil, &Error{Op: method, Status: Status(r.status), Message: e.Message}
		}
		return nil, &Error{Op: method, Status: Status(r.status), Message: fmt.Sprintf("%s: %s", method, Status(r.status).Error())}
	}
}

// Notify sends a notification, e.g. notifications/roots/list_changed.
func (c *Client) Notify(method string, params interface{}) error {
	var cparams *C.char
	if params != nil {
		b, err := json.Marshal(params)
		if err != nil {
			return &Error{Op: "Notify", Status: ErrInvalidJSON, Message: err.Error()}
		}
		cparams = cString(string(b))
		defer freeC(cparams)
	}
	ptr, err := c.acquire("Notify")
	if err != nil {
		return err
	}
	defer c.g.exit()
	cmethod := cString(method)
	defer freeC(cmethod)
	var cerr *C.char
	return statusError("Notify", C.mcp_client_notify(ptr, cmethod, cparams, &cerr), cerr)
}
