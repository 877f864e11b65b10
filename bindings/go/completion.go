package mcp

/*
#include <stdint.h>
#include <stdlib.h>
#include <mcp.h>

// Go exports (exports.go); cgo emits them without const, hence the casts.
extern void goComplete(void *, mcp_call_t *, char *, char *, char *, char *);
extern void goFree(void *);
static mcp_status mcpgo_set_completion(mcp_server_t *s, uintptr_t h, char **err) {
	if (h == 0) return mcp_server_set_completion(s, NULL, NULL, NULL, err);
	return mcp_server_set_completion(s, (mcp_completion_fn)goComplete, (void *)h, goFree, err);
}
*/
import "C"

import (
	"context"
	"encoding/json"
	"fmt"
)

// CompletionReference is what is being completed: a prompt's argument
// (Type "ref/prompt", Name) or a resource template's variable (Type
// "ref/resource", URI holding the template).
type CompletionReference struct {
	Type string `json:"type"`
	Name string `json:"name,omitempty"`
	URI  string `json:"uri,omitempty"`
}

// CompletionRequest is one completion/complete.
type CompletionRequest struct {
	Ref      CompletionReference
	Argument string            // the argument or variable being completed
	Value    string            // what the user typed so far
	Context  map[string]string // the other arguments already given
}

// CompletionResult holds the suggestions. More than 100 values are cut to
// 100 with HasMore set. Total, when not 0, is the number of matches in all.
type CompletionResult struct {
	Values  []string `json:"values"`
	Total   int      `json:"total,omitempty"`
	HasMore bool     `json:"hasMore,omitempty"`
}

// CompletionHandler answers completion/complete. Only arguments of
// registered prompts and variables of registered templates reach it.
type CompletionHandler func(ctx context.Context, req *CompletionRequest) (*CompletionResult, error)

type completionReg struct {
	server  *Server
	handler CompletionHandler
}

// SetCompletion answers completion/complete with h; nil removes the handler
// (then completion/complete gets -32601). Set it before serving: sessions
// initialized earlier do not see the completions capability.
func (s *Server) SetCompletion(h CompletionHandler) error {
	ptr, err := s.acquire("SetCompletion")
	if err != nil {
		return err
	}
	defer s.release()
	var cerr *C.char
	if h == nil {
		return statusError("SetCompletion", C.mcpgo_set_completion(ptr, 0, &cerr), cerr)
	}
	hd := newHandle(&completionReg{server: s, handler: h})
	if err := statusError("SetCompletion", C.mcpgo_set_completion(ptr, C.uintptr_t(hd), &cerr), cerr); err != nil {
		deleteHandle(hd)
		return err
	}
	return nil
}

// call runs on an engine worker thread (from goComplete).
func (r *completionReg) call(c *C.mcp_call_t, refJSON, name, value, contextJSON string) {
	req := &CompletionRequest{Argument: name, Value: value, Context: map[string]string{}}
	err1 := json.Unmarshal([]byte(refJSON), &req.Ref)
	err2 := json.Unmarshal([]byte(contextJSON), &req.Context)
	r.server.startCall(c, "completion/complete", func(ctx context.Context) outcome {
		if err1 != nil || err2 != nil {
			return outcome{rpcErr: &RPCError{Code: CodeInvalidParams, Message: fmt.Sprintf("completion request: ref %v, context %v", err1, err2)}}
		}
		res, err := r.handler(ctx, req)
		if err != nil {
			return outcome{rpcErr: rpcErrorFrom(err)}
		}
		if res == nil {
			res = &CompletionResult{}
		}
		if res.Values == nil {
			res.Values = []string{}
		}
		return outcome{result: struct {
			Completion *CompletionResult `json:"completion"`
		}{res}}
	}, func(v interface{}) outcome {
		return outcome{rpcErr: &RPCError{Code: CodeInternalError, Message: fmt.Sprintf("completion failed: panic: %v", v)}}
	})
}
