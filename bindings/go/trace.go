package mcp

// Request spans (mcp_set_trace_hook, mcp_call_traceparent; library 1.5): the
// engine's OpenTelemetry-shaped spans handed to a SpanExporter of the host's.

/*
#include <stdint.h>
#include <stdlib.h>
#include <mcp.h>

// Go export (exports.go); cgo emits it without const, hence the cast.
extern void goSpan(void *, char *);

static mcp_status mcpgo_set_trace_hook(int on, int32_t queue_limit, char **err) {
	return mcp_set_trace_hook(on ? (mcp_trace_fn)goSpan : NULL, NULL, queue_limit, err);
}
*/
import "C"

import (
	"encoding/json"
	"sync"
	"time"
)

// Span is one finished request span, as OpenTelemetry records it: kind
// "server" for a request received (from its arrival until it was answered),
// "client" for a request sent (until its answer arrived). Name and Attributes
// follow the OpenTelemetry semantic conventions for MCP ("tools/call echo";
// mcp.method.name, gen_ai.tool.name, jsonrpc.request.id, mcp.protocol.version,
// mcp.session.id, error.type, ...). IDs are lowercase hex; ParentSpanID is
// empty for a span that starts a trace.
type Span struct {
	TraceID        string
	SpanID         string
	ParentSpanID   string
	ParentIsRemote bool
	TraceFlags     int
	TraceState     string
	Name           string
	Kind           string
	Start, End     time.Time
	// Attribute values are strings or int64s.
	Attributes map[string]interface{}
	// StatusCode is "unset" or "error"; StatusMessage says why for "error".
	StatusCode    string
	StatusMessage string
}

// A SpanExporter receives the finished spans of every server and client of
// the process, one at a time and in order, on an engine thread of their own
// (never the thread that answered the request). It should return quickly:
// spans queue behind it and past the queue's bound are dropped.
type SpanExporter interface {
	ExportSpan(Span)
}

// SpanExporterFunc adapts a function to SpanExporter.
type SpanExporterFunc func(Span)

// ExportSpan calls f(s).
func (f SpanExporterFunc) ExportSpan(s Span) { f(s) }

var spanExporter struct {
	sync.RWMutex
	e SpanExporter
}

// SetSpanExporter starts recording a span per MCP request and hands each to
// e (nil stops recording and drops spans still queued). While it is set,
// servers continue the W3C trace context a request carries (params._meta
// "traceparent", else the HTTP traceparent header) and every request sent
// carries its client span in params._meta "traceparent"; put a traceparent
// of your own in a request's _meta to make the client span its child.
// queueLimit bounds the spans waiting for e (0: 4096). Process-wide; with
// none set, tracing costs one atomic load per request.
func SetSpanExporter(e SpanExporter, queueLimit int) error {
	if queueLimit < 0 {
		return &Error{Op: "SetSpanExporter", Status: ErrInvalidArg, Message: "queueLimit must not be negative"}
	}
	if e != nil {
		spanExporter.Lock()
		spanExporter.e = e
		spanExporter.Unlock()
	}
	on := C.int(0)
	if e != nil {
		on = 1
	}
	var cerr *C.char
	if err := statusError("SetSpanExporter", C.mcpgo_set_trace_hook(on, C.int32_t(queueLimit), &cerr), cerr); err != nil {
		return err
	}
	if e == nil {
		// The engine no longer calls goSpan once the hook is removed.
		spanExporter.Lock()
		spanExporter.e = nil
		spanExporter.Unlock()
	}
	return nil
}

// TraceParent returns the W3C traceparent of the call's span while a
// SpanExporter is set ("" otherwise): the parent for spans the handler makes.
func (c *Call) TraceParent() (string, error) {
	var out, cerr *C.char
	if err := statusError("TraceParent", C.mcp_call_traceparent(c.ptr, &out, &cerr), cerr); err != nil {
		return "", err
	}
	return takeString(out), nil
}

// wireSpan is the JSON the engine hands over (mcp.h, mcp_set_trace_hook).
type wireSpan struct {
	TraceID        string                     `json:"traceId"`
	SpanID         string                     `json:"spanId"`
	ParentSpanID   string                     `json:"parentSpanId"`
	ParentIsRemote bool                       `json:"parentIsRemote"`
	TraceFlags     int                        `json:"traceFlags"`
	TraceState     string                     `json:"traceState"`
	Name           string                     `json:"name"`
	Kind           string                     `json:"kind"`
	Start          int64                      `json:"startTimeUnixNano"`
	End            int64                      `json:"endTimeUnixNano"`
	Attributes     map[string]json.RawMessage `json:"attributes"`
	Status         struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"status"`
}

func decodeSpan(text string) (Span, error) {
	var w wireSpan
	if err := json.Unmarshal([]byte(text), &w); err != nil {
		return Span{}, err
	}
	s := Span{TraceID: w.TraceID, SpanID: w.SpanID, ParentSpanID: w.ParentSpanID, ParentIsRemote: w.ParentIsRemote,
		TraceFlags: w.TraceFlags, TraceState: w.TraceState, Name: w.Name, Kind: w.Kind,
		Start: time.Unix(0, w.Start), End: time.Unix(0, w.End), StatusCode: w.Status.Code,
		StatusMessage: w.Status.Message, Attributes: make(map[string]interface{}, len(w.Attributes))}
	for k, raw := range w.Attributes {
		var str string
		if json.Unmarshal(raw, &str) == nil {
			s.Attributes[k] = str
			continue
		}
		var n int64
		if json.Unmarshal(raw, &n) == nil {
			s.Attributes[k] = n
		}
	}
	return s, nil
}

func exportSpan(text string) {
	spanExporter.RLock()
	e := spanExporter.e
	spanExporter.RUnlock()
	if e == nil {
		return
	}
	s, err := decodeSpan(text)
	if err != nil {
		return
	}
	e.ExportSpan(s)
}
