package mcp

/*
#include <stdint.h>
#include <stdlib.h>
#include <mcp.h>

// Go exports (exports.go); cgo emits them without const, hence the casts.
extern void goToolCall(void *, mcp_call_t *, char *);
extern void goFree(void *);
static mcp_status mcpgo_add_tool(mcp_server_t *s, const char *json, uintptr_t h, char **err) {
	return mcp_server_add_tool(s, json, (mcp_tool_fn)goToolCall, (void *)h, goFree, err);
}
*/
import "C"

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime/cgo"
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
}

// ToolAnnotations are hints about a tool's behaviour; nil hints are unset.
type ToolAnnotations struct {
	Title           string `json:"title,omitempty"`
	ReadOnlyHint    *bool  `json:"readOnlyHint,omitempty"`
	DestructiveHint *bool  `json:"destructiveHint,omitempty"`
	IdempotentHint  *bool  `json:"idempotentHint,omitempty"`
	OpenWorldHint   *bool  `json:"openWorldHint,omitempty"`
}

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
}

// AddTool offers a tool to the server's clients; it may be called while the
// server serves (clients see the change at once). ErrExists when a tool of
// that name exists, ErrInvalidArg for a bad definition.
func (s *Server) AddTool(t *Tool, h ToolHandler) error {
	if t == nil || h == nil {
		return &Error{Op: "AddTool", Status: ErrInvalidArg, Message: "nil tool or handler"}
	}
	if t.Name == "" {
		return &Error{Op: "AddTool", Status: ErrInvalidArg, Message: "tool without a name"}
	}
	def, err := json.Marshal(t)
	if err != nil {
		return &Error{Op: "AddTool", Status: ErrInvalidJSON, Message: fmt.Sprintf("tool %q: %v", t.Name, err)}
	}
	return s.register("AddTool", &toolReg{server: s, name: t.Name, handler: h}, func(ptr *C.mcp_server_t, h cgo.Handle, cerr **C.char) C.mcp_status {
		cdef := cString(string(def))
		defer freeC(cdef)
		return C.mcpgo_add_tool(ptr, cdef, C.uintptr_t(h), cerr)
	})
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

// callTool runs on an engine worker thread (from goToolCall).
func (r *toolReg) call(c *C.mcp_call_t, args string) {
	raw := json.RawMessage(args)
	r.server.startCall(c, "tools/call", func(ctx context.Context) outcome {
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
