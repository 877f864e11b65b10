package mcp

/*
#cgo linux LDFLAGS: -ldl
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1 // RTLD_DEFAULT
#endif
#include <dlfcn.h>
#include <stdint.h>
#include <stdlib.h>
#include <mcp.h>

#ifndef MCP_TOOL_INLINE
#define MCP_TOOL_INLINE 0x1u
#endif
#ifndef MCP_TOOL_NO_VALIDATION
#define MCP_TOOL_NO_VALIDATION 0x4u
#endif

// Go exports (exports.go); cgo emits them without const, hence the casts.
extern void goToolCall(void *, mcp_call_t *, char *);
extern void goFree(void *);
static mcp_status mcpgo_add_tool(mcp_server_t *s, const char *json, uintptr_t h, char **err) {
	return mcp_server_add_tool(s, json, (mcp_tool_fn)goToolCall, (void *)h, goFree, err);
}

// mcp_server_add_tool_ex (ABI 1.1) is looked up when first needed rather
// than linked: a direct reference would bind to its version node MCP_1.1,
// and a program built with it would not even start with a 1.0 library, where
// Quick is refused with an error instead.
typedef mcp_status (*mcpgo_add_tool_ex_fn)(mcp_server_t *, const char *, mcp_tool_fn, void *,
                                           mcp_free_fn, unsigned int, char **);
static mcpgo_add_tool_ex_fn mcpgo_resolve_add_tool_ex(void) {
	return (mcpgo_add_tool_ex_fn)dlsym(RTLD_DEFAULT, "mcp_server_add_tool_ex");
}
static mcp_status mcpgo_add_tool_flags(mcpgo_add_tool_ex_fn add, mcp_server_t *s, const char *json,
                                       uintptr_t h, unsigned int flags, char **err) {
	return add(s, json, (mcp_tool_fn)goToolCall, (void *)h, goFree, flags, err);
}
*/
import "C"

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime/cgo"
	"sync"
	"sync/atomic"
	"time"
)

// Tool describes a tool. InputSchema and OutputSchema are JSON Schema objects
// whose "type" is "object"; a nil InputSchema means {"type":"object"}.
type Tool struct {
	Name         string           `json:"name"`
	Title        string           `json:"title,omitempty"`
	Description  string           `json:"description,omitempty"`
	InputSchema  json.RawMessage  `json:"inputSchema,omitempty"`
	OutputSchema json.RawMessage  `json:"outputSchema,omitempty"`
	Annotations  *ToolAnnotations `json:"annotations,omitempty"`
	Execution    *ToolExecution   `json:"execution,omitempty"`
	Icons        []Icon           `json:"icons,omitempty"`
	Meta         Meta             `json:"_meta,omitempty"`
	// RequiredScopes are OAuth scopes a caller's access token must hold over
	// HTTP with HTTPOptions.Auth (403 insufficient_scope without them); the
	// engine leaves them out of the published definition (library 1.4).
	RequiredScopes []string `json:"requiredScopes,omitempty"`
}

// ToolAnnotations are hints about a tool's behaviour; nil hints are unset.
type ToolAnnotations struct {
	Title           string `json:"title,omitempty"`
	ReadOnlyHint    *bool  `json:"readOnlyHint,omitempty"`
	DestructiveHint *bool  `json:"destructiveHint,omitempty"`
	IdempotentHint  *bool  `json:"idempotentHint,omitempty"`
	OpenWorldHint   *bool  `json:"openWorldHint,omitempty"`
}

// Ptr returns a pointer to v: for the optional hints, as in
// &ToolAnnotations{ReadOnlyHint: mcp.Ptr(true)}.
func Ptr[T any](v T) *T { return &v }

// ToolExecution says how a tool may run: TaskSupport is "forbidden"
// (default), "optional" or "required" (task-augmented tools/call).
type ToolExecution struct {
	TaskSupport string `json:"taskSupport,omitempty"`
}

// ToolResult is a CallToolResult. A tool that fails returns a result with
// IsError set, so the model sees the message. Without Content but with
// StructuredContent, the engine adds a text block holding that JSON.
type ToolResult struct {
	Content           []Content
	StructuredContent interface{} // any value that marshals to a JSON object
	IsError           bool
	Meta              Meta
}

// MarshalJSON writes {"content":[...],"structuredContent"?:...,"isError"?:true}.
func (r *ToolResult) MarshalJSON() ([]byte, error) {
	if r.Content == nil && r.StructuredContent != nil {
		// No content: the engine adds a text block holding the structured JSON.
		return json.Marshal(struct {
			StructuredContent interface{} `json:"structuredContent"`
			IsError           bool        `json:"isError,omitempty"`
			Meta              Meta        `json:"_meta,omitempty"`
		}{r.StructuredContent, r.IsError, r.Meta})
	}
	content := r.Content
	if content == nil {
		content = []Content{}
	}
	return json.Marshal(struct {
		Content           []Content   `json:"content"`
		StructuredContent interface{} `json:"structuredContent,omitempty"`
		IsError           bool        `json:"isError,omitempty"`
		Meta              Meta        `json:"_meta,omitempty"`
	}{content, r.StructuredContent, r.IsError, r.Meta})
}

// TextResult is a result holding one text block.
func TextResult(text string) *ToolResult { return &ToolResult{Content: []Content{Text(text)}} }

// ErrorResult is a failed tool's result: one text block and IsError.
func ErrorResult(text string) *ToolResult {
	return &ToolResult{Content: []Content{Text(text)}, IsError: true}
}

// ToolHandler answers tools/call. args is the arguments object ("{}" when
// the client sent none). ctx is cancelled when the client cancels the call
// (notifications/cancelled), when its session ends or when the handler
// returns; CallFromContext(ctx) gives the Call for progress, logs and
// requests to the client.
//
// An error is sent as a result with IsError and the error's text, so the
// model sees it; return an *RPCError to answer with a JSON-RPC error instead.
// A panic is recovered and answered the same way. A nil result with a nil
// error is an empty result.
type ToolHandler func(ctx context.Context, args json.RawMessage) (*ToolResult, error)

type toolReg struct {
	server  *Server
	name    string
	handler ToolHandler
	where   placement
	slow    int32 // a Quick handler overran quickLimit (reported once; atomic)
}

// ToolOption changes how AddTool and AddTypedTool register a tool (Quick).
type ToolOption func(*toolOptions)

type toolOptions struct {
	quick        bool
	noValidation bool
}

// NoValidation registers the tool without the engine's schema checks
// (MCP_TOOL_NO_VALIDATION, ABI 1.4): by default the engine checks each
// call's arguments against InputSchema before the handler runs (arguments
// that do not match get an IsError result naming the problem, and the
// handler does not run) and a result's StructuredContent against
// OutputSchema. With NoValidation the handler receives whatever arguments
// the client sent. A library older than 1.4 checks nothing, so there the
// option changes nothing.
func NoValidation() ToolOption { return func(o *toolOptions) { o.noValidation = true } }

// Quick declares that the tool's handler never blocks and returns within
// microseconds: it computes its answer from its arguments and from memory it
// reads without waiting. No sleeping, no file or network I/O, no database,
// no Client calls, no channel operation or lock that may wait on another
// goroutine, no waiting on its context. Such a handler then runs on the
// engine thread that read the request (MCP_TOOL_INLINE: over HTTP an I/O
// thread, over stdio the reader thread, for Session.Receive the goroutine
// that called it) instead of being handed to a worker thread: no thread
// hand-off at all between reading the request and writing the answer (over
// HTTP, a quarter to a third less server CPU per call than the default in the
// binding's benchmark: see the package README).
//
// Why it is a promise, not a hint: while a Quick handler runs, every other
// request read by the same thread waits (over stdio, every request of the
// session; over HTTP, those of every connection on that I/O thread, their
// notifications/cancelled included). So a Quick handler that waits stalls
// other clients, and one that waits for something those requests bring
// deadlocks until a timeout. The binding refuses the one wait it can see:
// the Call's Request (and CreateMessage, Elicit, ListRoots, Ping) returns
// ErrState at once, since the client's answer would have to be read by the
// thread the handler holds. A Quick handler that runs longer than 10 ms is
// reported once through ServerOptions.ErrorLog. Register any handler that
// may block without Quick: by default handlers may block and wait freely.
//
// Everything else is as for any tool: Progress and Log work (they do not
// wait); errors become results with IsError, an *RPCError a JSON-RPC error,
// and a panic is recovered; the context carries the Call and ends when the
// handler returns (or on a cancellation read by another thread, which a
// Quick handler has little reason to watch). Task-augmented calls run on a
// worker thread regardless (the engine's rule), the handler still on the
// thread that delivers the call.
//
// Quick needs libmcp ABI 1.1 (mcp_server_add_tool_ex): with an older
// library AddTool returns an *Error with ErrUnsupported saying so.
func Quick() ToolOption { return func(o *toolOptions) { o.quick = true } }

// quickLimit is how long a Quick handler may run before it is reported.
const quickLimit = 10 * time.Millisecond

// AddTool offers a tool to the server's clients; it may be called while the
// server serves (clients see the change at once). ErrExists when a tool of
// that name exists, ErrInvalidArg for a bad definition. Without options the
// handler may block (see the package documentation); Quick() runs a handler
// that never blocks on the thread that read the request.
func (s *Server) AddTool(t *Tool, h ToolHandler, opts ...ToolOption) error {
	if t == nil || h == nil {
		return &Error{Op: "AddTool", Status: ErrInvalidArg, Message: "nil tool or handler"}
	}
	if t.Name == "" {
		return &Error{Op: "AddTool", Status: ErrInvalidArg, Message: "tool without a name"}
	}
	var o toolOptions
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	def, err := json.Marshal(t)
	if err != nil {
		return &Error{Op: "AddTool", Status: ErrInvalidJSON, Message: fmt.Sprintf("tool %q: %v", t.Name, err)}
	}
	reg := &toolReg{server: s, name: t.Name, handler: h}
	var flags C.uint
	if o.quick {
		flags |= C.MCP_TOOL_INLINE
	}
	if o.noValidation && loadedABI&0xffff >= 4 {
		flags |= C.MCP_TOOL_NO_VALIDATION
	}
	if flags == 0 {
		return s.register("AddTool", reg, func(ptr *C.mcp_server_t, h cgo.Handle, cerr **C.char) C.mcp_status {
			cdef := cString(string(def))
			defer freeC(cdef)
			return C.mcpgo_add_tool(ptr, cdef, C.uintptr_t(h), cerr)
		})
	}
	add, err := addToolEx(t.Name)
	if err != nil {
		return err
	}
	if o.quick {
		reg.where = onCaller
	}
	return s.register("AddTool", reg, func(ptr *C.mcp_server_t, h cgo.Handle, cerr **C.char) C.mcp_status {
		cdef := cString(string(def))
		defer freeC(cdef)
		return C.mcpgo_add_tool_flags(add, ptr, cdef, C.uintptr_t(h), flags, cerr)
	})
}

// loadedABI is the loaded library's mcp_abi_version(); a test lowers it to
// see Quick refused.
var loadedABI = uint32(C.mcp_abi_version())

var addToolExOnce struct {
	sync.Once
	fn C.mcpgo_add_tool_ex_fn
}

// addToolEx returns mcp_server_add_tool_ex of the loaded library, or why
// tools cannot be registered Quick.
func addToolEx(name string) (C.mcpgo_add_tool_ex_fn, error) {
	if minor := loadedABI & 0xffff; minor < 1 {
		return nil, &Error{Op: "AddTool", Status: ErrUnsupported, Message: fmt.Sprintf(
			"tool %q: Quick needs libmcp ABI 1.1 or newer (mcp_server_add_tool_ex, MCP_TOOL_INLINE); "+
				"the loaded library (release %s) has ABI %d.%d: register the tool without Quick, or load a newer libmcp.so.%d",
			name, Version(), loadedABI>>16, minor, ABIVersionMajor)}
	}
	addToolExOnce.Do(func() { addToolExOnce.fn = C.mcpgo_resolve_add_tool_ex() })
	if addToolExOnce.fn == nil {
		return nil, &Error{Op: "AddTool", Status: ErrUnsupported, Message: fmt.Sprintf(
			"tool %q: the loaded library (release %s) reports ABI 1.1 but does not export mcp_server_add_tool_ex",
			name, Version())}
	}
	return addToolExOnce.fn, nil
}

// RemoveTool withdraws a tool. Calls of it already running finish normally.
func (s *Server) RemoveTool(name string) error {
	return s.remove("RemoveTool", name, func(ptr *C.mcp_server_t, key *C.char, cerr **C.char) C.mcp_status {
		return C.mcp_server_remove_tool(ptr, key, cerr)
	})
}

// register hands v to the engine as a cgo.Handle through add; the handle is
// deleted when the engine calls free_fn, or here when add fails (then the
// engine does not call it).
func (s *Server) register(op string, v interface{}, add func(*C.mcp_server_t, cgo.Handle, **C.char) C.mcp_status) error {
	ptr, err := s.acquire(op)
	if err != nil {
		return err
	}
	defer s.release()
	h := newHandle(v)
	var cerr *C.char
	if err := statusError(op, add(ptr, h, &cerr), cerr); err != nil {
		deleteHandle(h)
		return err
	}
	return nil
}

func (s *Server) remove(op, key string, rm func(*C.mcp_server_t, *C.char, **C.char) C.mcp_status) error {
	ptr, err := s.acquire(op)
	if err != nil {
		return err
	}
	defer s.release()
	ckey := cString(key)
	defer freeC(ckey)
	var cerr *C.char
	return statusError(op, rm(ptr, ckey, &cerr), cerr)
}

// call runs on the engine thread that delivered the call (from goToolCall):
// a worker thread, or for a Quick tool the thread that read the request.
func (r *toolReg) call(c *C.mcp_call_t, args string) {
	raw := json.RawMessage(args)
	r.server.startCallOn(c, "tools/call", r.where, func(ctx context.Context) outcome {
		if r.where == onCaller {
			defer r.checkQuick(time.Now())
		}
		res, err := r.handler(ctx, raw)
		if err != nil {
			var re *RPCError
			if errors.As(err, &re) {
				return outcome{rpcErr: re}
			}
			return outcome{result: ErrorResult(err.Error())}
		}
		if res == nil {
			res = &ToolResult{}
		}
		return outcome{result: res}
	}, func(v interface{}) outcome {
		return outcome{result: ErrorResult(fmt.Sprintf("tool %q failed: panic: %v", r.name, v))}
	})
}

// checkQuick reports, once per registration, a Quick handler that ran for
// longer than quickLimit.
func (r *toolReg) checkQuick(start time.Time) {
	if d := time.Since(start); d > quickLimit && atomic.CompareAndSwapInt32(&r.slow, 0, 1) {
		r.server.logf("mcp: tool %q is registered Quick but its handler ran for %v on the thread that read "+
			"the request, where other requests waited for it; register it without Quick if it may block "+
			"(reported once)", r.name, d.Round(time.Millisecond))
	}
}

// UnmarshalJSON reads a CallToolResult (for Client.CallTool).
func (r *ToolResult) UnmarshalJSON(b []byte) error {
	var w struct {
		Content           []json.RawMessage `json:"content"`
		StructuredContent interface{}       `json:"structuredContent"`
		IsError           bool              `json:"isError"`
		Meta              Meta              `json:"_meta"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*r = ToolResult{StructuredContent: w.StructuredContent, IsError: w.IsError, Meta: w.Meta}
	for _, raw := range w.Content {
		c, err := decodeContent(raw)
		if err != nil {
			return err
		}
		r.Content = append(r.Content, c)
	}
	return nil
}
