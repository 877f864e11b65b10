package mcp

/*
#include <stdint.h>
#include <stdlib.h>
#include <mcp.h>

// Go exports (exports.go); cgo emits them without const, hence the casts.
extern void goResourceRead(void *, mcp_call_t *, char *, char *);
extern void goFree(void *);
static mcp_status mcpgo_add_resource(mcp_server_t *s, const char *json, uintptr_t h, char **err) {
	return mcp_server_add_resource(s, json, (mcp_resource_fn)goResourceRead, (void *)h, goFree, err);
}
static mcp_status mcpgo_add_resource_template(mcp_server_t *s, const char *json, uintptr_t h, char **err) {
	return mcp_server_add_resource_template(s, json, (mcp_resource_fn)goResourceRead, (void *)h, goFree, err);
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

// Resource describes a resource with a fixed URI.
type Resource struct {
	URI         string       `json:"uri"`
	Name        string       `json:"name"`
	Title       string       `json:"title,omitempty"`
	Description string       `json:"description,omitempty"`
	MIMEType    string       `json:"mimeType,omitempty"`
	Size        *int64       `json:"size,omitempty"`
	Annotations *Annotations `json:"annotations,omitempty"`
	Icons       []Icon       `json:"icons,omitempty"`
	Meta        Meta         `json:"_meta,omitempty"`
}

// ResourceTemplate describes a family of resources. URITemplate is RFC 6570
// level 1: literal text and {var} expressions, each matching one or more
// characters other than '/'.
type ResourceTemplate struct {
	URITemplate string       `json:"uriTemplate"`
	Name        string       `json:"name"`
	Title       string       `json:"title,omitempty"`
	Description string       `json:"description,omitempty"`
	MIMEType    string       `json:"mimeType,omitempty"`
	Annotations *Annotations `json:"annotations,omitempty"`
	Icons       []Icon       `json:"icons,omitempty"`
	Meta        Meta         `json:"_meta,omitempty"`
}

// ResourceRequest is one resources/read: the URI asked for and, for a
// template, the variables it matched (empty for a fixed resource).
type ResourceRequest struct {
	URI       string
	Variables map[string]string
}

// ReadResourceResult is the answer to resources/read.
type ReadResourceResult struct {
	Contents []*ResourceContents `json:"contents"`
	Meta     Meta                `json:"_meta,omitempty"`
}

// ResourceHandler answers resources/read. Return ErrResourceNotFound (or an
// error wrapping it) for -32002 with the URI in error.data, an *RPCError for
// any other JSON-RPC error; other errors and panics become -32603. ctx is
// cancelled as for a ToolHandler.
type ResourceHandler func(ctx context.Context, req *ResourceRequest) (*ReadResourceResult, error)

type resourceReg struct {
	server  *Server
	handler ResourceHandler
}

// AddResource offers a resource with a fixed URI. ErrExists for a URI already
// offered.
func (s *Server) AddResource(r *Resource, h ResourceHandler) error {
	if r == nil || h == nil {
		return &Error{Op: "AddResource", Status: ErrInvalidArg, Message: "nil resource or handler"}
	}
	def, err := json.Marshal(r)
	if err != nil {
		return &Error{Op: "AddResource", Status: ErrInvalidJSON, Message: err.Error()}
	}
	return s.register("AddResource", &resourceReg{server: s, handler: h}, func(ptr *C.mcp_server_t, h cgo.Handle, cerr **C.char) C.mcp_status {
		cdef := cString(string(def))
		defer freeC(cdef)
		return C.mcpgo_add_resource(ptr, cdef, C.uintptr_t(h), cerr)
	})
}

// RemoveResource withdraws a resource by URI.
func (s *Server) RemoveResource(uri string) error {
	return s.remove("RemoveResource", uri, func(ptr *C.mcp_server_t, key *C.char, cerr **C.char) C.mcp_status {
		return C.mcp_server_remove_resource(ptr, key, cerr)
	})
}

// AddResourceTemplate offers a family of resources. A resources/read URI is
// matched against fixed resources first, then against templates in the order
// they were added. ErrInvalidArg for bad template syntax.
func (s *Server) AddResourceTemplate(t *ResourceTemplate, h ResourceHandler) error {
	if t == nil || h == nil {
		return &Error{Op: "AddResourceTemplate", Status: ErrInvalidArg, Message: "nil template or handler"}
	}
	def, err := json.Marshal(t)
	if err != nil {
		return &Error{Op: "AddResourceTemplate", Status: ErrInvalidJSON, Message: err.Error()}
	}
	return s.register("AddResourceTemplate", &resourceReg{server: s, handler: h}, func(ptr *C.mcp_server_t, h cgo.Handle, cerr **C.char) C.mcp_status {
		cdef := cString(string(def))
		defer freeC(cdef)
		return C.mcpgo_add_resource_template(ptr, cdef, C.uintptr_t(h), cerr)
	})
}

// RemoveResourceTemplate withdraws a template by its URI template text.
func (s *Server) RemoveResourceTemplate(uriTemplate string) error {
	return s.remove("RemoveResourceTemplate", uriTemplate, func(ptr *C.mcp_server_t, key *C.char, cerr **C.char) C.mcp_status {
		return C.mcp_server_remove_resource_template(ptr, key, cerr)
	})
}

// call runs on an engine worker thread (from goResourceRead).
func (r *resourceReg) call(c *C.mcp_call_t, uri, varsJSON string) {
	req := &ResourceRequest{URI: uri, Variables: map[string]string{}}
	varsErr := json.Unmarshal([]byte(varsJSON), &req.Variables)
	r.server.startCall(c, "resources/read", func(ctx context.Context) outcome {
		if varsErr != nil {
			return outcome{rpcErr: &RPCError{Code: CodeInternalError, Message: "template variables: " + varsErr.Error()}}
		}
		res, err := r.handler(ctx, req)
		if err != nil {
			if errors.Is(err, ErrResourceNotFound) {
				data, _ := json.Marshal(map[string]string{"uri": uri})
				msg := "Resource not found"
				if err != ErrResourceNotFound { // wrapped: the handler's own words reach the client
					msg = err.Error()
				}
				return outcome{rpcErr: &RPCError{Code: CodeResourceNotFound, Message: msg, Data: data}}
			}
			return outcome{rpcErr: rpcErrorFrom(err)}
		}
		if res == nil {
			return outcome{rpcErr: &RPCError{Code: CodeInternalError, Message: "resource handler returned no result"}}
		}
		if res.Contents == nil {
			res.Contents = []*ResourceContents{}
		}
		return outcome{result: res}
	}, func(v interface{}) outcome {
		return outcome{rpcErr: &RPCError{Code: CodeInternalError, Message: fmt.Sprintf("reading %s failed: panic: %v", uri, v)}}
	})
}
