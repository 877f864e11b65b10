package mcp

// #include <mcp.h>
import "C"

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
)

// Status is a libmcp status code (mcp_status). Every non-zero value is an
// error, so a test can ask errors.Is(err, mcp.ErrNotFound).
type Status int32

// The status codes of mcp.h. The numbers never change meaning.
const (
	ErrInvalidArg  Status = C.MCP_ERR_INVALID_ARG  // a bad argument: empty name, wrong shape, ...
	ErrInvalidJSON Status = C.MCP_ERR_INVALID_JSON // a JSON argument does not parse
	ErrExists      Status = C.MCP_ERR_EXISTS       // a tool, resource or prompt with that key exists
	ErrNotFound    Status = C.MCP_ERR_NOT_FOUND    // no such tool, resource, prompt or session
	ErrState       Status = C.MCP_ERR_STATE        // not allowed now (answered, already serving, ...)
	ErrIO          Status = C.MCP_ERR_IO           // an operating-system I/O call failed
	ErrNoMemory    Status = C.MCP_ERR_NO_MEMORY    // allocation failed
	ErrLimit       Status = C.MCP_ERR_LIMIT        // a configured limit was hit
	ErrUnsupported Status = C.MCP_ERR_UNSUPPORTED  // not supported by the peer, the revision or this libmcp
	ErrTimeout     Status = C.MCP_ERR_TIMEOUT      // a wait ran out of time
	ErrCancelled   Status = C.MCP_ERR_CANCELLED    // the request was cancelled
	ErrInternal    Status = C.MCP_ERR_INTERNAL     // a bug in libmcp
	ErrPeer        Status = C.MCP_ERR_PEER         // the peer answered with a JSON-RPC error
	ErrClosed      Status = C.MCP_ERR_CLOSED       // the session, connection or server closed first
	// ErrInputRequired: a 2026-07-28 call needs the client's input (see
	// Call.RequestNamed); the handler returns the error it got.
	ErrInputRequired Status = C.MCP_ERR_INPUT_REQUIRED
)

// Error returns libmcp's short description of the code.
func (s Status) Error() string { return C.GoString(C.mcp_status_string(C.mcp_status(s))) }

// Error is a failed libmcp call: the operation, its status and the library's
// message. errors.Is(err, mcp.ErrExists) matches on the status.
type Error struct {
	Op      string // the Go method that failed, e.g. "AddTool"
	Status  Status
	Message string // libmcp's detail (out_error), may be empty
}

func (e *Error) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("mcp: %s: %s", e.Op, e.Status.Error())
	}
	return fmt.Sprintf("mcp: %s: %s", e.Op, e.Message)
}

// Unwrap gives the Status, for errors.Is.
func (e *Error) Unwrap() error { return e.Status }

// Is makes an ErrCancelled error match context.Canceled too: a request the
// engine cancelled because its call was cancelled reads like the context's
// end, whichever of the two a handler sees first.
func (e *Error) Is(target error) bool {
	return target == context.Canceled && e.Status == ErrCancelled
}

// statusError turns a status and its out_error into an error (nil for MCP_OK);
// it releases out_error.
func statusError(op string, st C.mcp_status, outErr *C.char) error {
	msg := takeString(outErr)
	if st == C.MCP_OK {
		return nil
	}
	return &Error{Op: op, Status: Status(st), Message: msg}
}

// errServerClosed is what methods of a closed Server return.
func errServerClosed(op string) error {
	return &Error{Op: op, Status: ErrClosed, Message: "server is closed"}
}

// JSON-RPC error codes used by MCP (wire data, for RPCError.Code).
const (
	CodeParseError       = -32700
	CodeInvalidRequest   = -32600
	CodeMethodNotFound   = -32601
	CodeInvalidParams    = -32602
	CodeInternalError    = -32603
	CodeResourceNotFound = -32002
	// CodeURLElicitationRequired asks the client to complete a URL elicitation first.
	CodeURLElicitationRequired = -32042
)

// RPCError is a JSON-RPC error. A handler returns one to answer its request
// with that error instead of a result (for tools, prefer a result with
// IsError, which the model can read).
type RPCError struct {
	Code    int             `json:"code"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data,omitempty"`
}

func (e *RPCError) Error() string {
	if len(e.Data) > 0 {
		return fmt.Sprintf("mcp: JSON-RPC error %d: %s (data %s)", e.Code, e.Message, e.Data)
	}
	return fmt.Sprintf("mcp: JSON-RPC error %d: %s", e.Code, e.Message)
}

// PeerError is how a request the server sent to its client (sampling,
// elicitation, roots, ping) fails when the client answers with a JSON-RPC
// error. It is not an *RPCError, so a handler that returns it answers its own
// call as any other failure (a tool: a result with IsError), not with the
// client's error code. errors.Is(err, ErrPeer) holds.
type PeerError struct {
	Method  string // the request's method
	Code    int
	Message string
	Data    json.RawMessage
}

func (e *PeerError) Error() string {
	return fmt.Sprintf("mcp: the client answered %s with error %d: %s", e.Method, e.Code, e.Message)
}

// Unwrap gives ErrPeer.
func (e *PeerError) Unwrap() error { return ErrPeer }

// ErrResourceNotFound, returned (or wrapped) by a resource handler, answers
// resources/read with -32002 and the URI in error.data. The message is
// "Resource not found" for ErrResourceNotFound itself, and the wrapping
// error's text (fmt.Errorf("no note %q: %w", id, mcp.ErrResourceNotFound))
// when wrapped.
var ErrResourceNotFound = errors.New("mcp: resource not found")
