package mcp

/*
#include <stdint.h>
#include <stdlib.h>
#include <mcp.h>

// Go exports (exports.go); cgo emits them without const, hence the casts.
extern void goPromptGet(void *, mcp_call_t *, char *);
extern void goFree(void *);
static mcp_status mcpgo_add_prompt(mcp_server_t *s, const char *json, uintptr_t h, char **err) {
	return mcp_server_add_prompt(s, json, (mcp_prompt_fn)goPromptGet, (void *)h, goFree, err);
}
*/
import "C"

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime/cgo"
)

// Prompt describes a prompt template.
type Prompt struct {
	Name        string            `json:"name"`
	Title       string            `json:"title,omitempty"`
	Description string            `json:"description,omitempty"`
	Arguments   []*PromptArgument `json:"arguments,omitempty"`
	Icons       []Icon            `json:"icons,omitempty"`
	Meta        Meta              `json:"_meta,omitempty"`
}

// PromptArgument is one argument a prompt accepts. prompts/get without a
// required argument is answered -32602 before the handler runs.
type PromptArgument struct {
	Name        string `json:"name"`
	Title       string `json:"title,omitempty"`
	Description string `json:"description,omitempty"`
	Required    bool   `json:"required,omitempty"`
}

// PromptMessage is one message of a prompt.
type PromptMessage struct {
	Role    Role    `json:"role"`
	Content Content `json:"content"`
}

// PromptResult is the answer to prompts/get.
type PromptResult struct {
	Description string           `json:"description,omitempty"`
	Messages    []*PromptMessage `json:"messages"`
	Meta        Meta             `json:"_meta,omitempty"`
}

// PromptHandler answers prompts/get with the prompt's messages. An *RPCError
// is sent as is; other errors and panics become -32603. ctx is cancelled as
// for a ToolHandler.
type PromptHandler func(ctx context.Context, args map[string]string) (*PromptResult, error)

type promptReg struct {
	server  *Server
	name    string
	handler PromptHandler
}

// AddPrompt offers a prompt. ErrExists for a name already offered.
func (s *Server) AddPrompt(p *Prompt, h PromptHandler) error {
	if p == nil || h == nil {
		return &Error{Op: "AddPrompt", Status: ErrInvalidArg, Message: "nil prompt or handler"}
	}
	def, err := json.Marshal(p)
	if err != nil {
		return &Error{Op: "AddPrompt", Status: ErrInvalidJSON, Message: err.Error()}
	}
	return s.register("AddPrompt", &promptReg{server: s, name: p.Name, handler: h}, func(ptr *C.mcp_server_t, h cgo.Handle, cerr **C.char) C.mcp_status {
		cdef := cString(string(def))
		defer freeC(cdef)
		return C.mcpgo_add_prompt(ptr, cdef, C.uintptr_t(h), cerr)
	})
}

// RemovePrompt withdraws a prompt by name.
func (s *Server) RemovePrompt(name string) error {
	return s.remove("RemovePrompt", name, func(ptr *C.mcp_server_t, key *C.char, cerr **C.char) C.mcp_status {
		return C.mcp_server_remove_prompt(ptr, key, cerr)
	})
}

// call runs on an engine worker thread (from goPromptGet).
func (r *promptReg) call(c *C.mcp_call_t, argsJSON string) {
	args := map[string]string{}
	argsErr := json.Unmarshal([]byte(argsJSON), &args)
	r.server.startCall(c, "prompts/get", func(ctx context.Context) outcome {
		if argsErr != nil {
			return outcome{rpcErr: &RPCError{Code: CodeInvalidParams, Message: "prompt arguments must be strings: " + argsErr.Error()}}
		}
		res, err := r.handler(ctx, args)
		if err != nil {
			return outcome{rpcErr: rpcErrorFrom(err)}
		}
		if res == nil {
			return outcome{rpcErr: &RPCError{Code: CodeInternalError, Message: fmt.Sprintf("prompt %q returned no result", r.name)}}
		}
		if res.Messages == nil {
			res.Messages = []*PromptMessage{}
		}
		return outcome{result: res}
	}, func(v interface{}) outcome {
		return outcome{rpcErr: &RPCError{Code: CodeInternalError, Message: fmt.Sprintf("prompt %q failed: panic: %v", r.name, v)}}
	})
}

// UnmarshalJSON reads a prompt message (for Client.GetPrompt).
func (m *PromptMessage) UnmarshalJSON(b []byte) error {
	var w struct {
		Role    Role            `json:"role"`
		Content json.RawMessage `json:"content"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	c, err := decodeContent(w.Content)
	if err != nil {
		return err
	}
	*m = PromptMessage{Role: w.Role, Content: c}
	return nil
}
