package mcp

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// spanRecorder is a SpanExporter that keeps what it gets.
type spanRecorder struct {
	mu    sync.Mutex
	spans []Span
}

func (r *spanRecorder) ExportSpan(s Span) {
	r.mu.Lock()
	r.spans = append(r.spans, s)
	r.mu.Unlock()
}

func (r *spanRecorder) find(name, kind string) (Span, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range r.spans {
		if s.Name == name && s.Kind == kind {
			return s, true
		}
	}
	return Span{}, false
}

func (r *spanRecorder) wait(t *testing.T, name, kind string) Span {
	t.Helper()
	var s Span
	eventually(t, "span "+kind+" "+name, func() bool {
		var ok bool
		s, ok = r.find(name, kind)
		return ok
	})
	return s
}

const (
	parentTrace = "0af7651916cd43dd8448eb211c80319c"
	parentSpan  = "b7ad6b7169203331"
)

// Spans continue the request's _meta traceparent (in memory, 2025 era) or
// the HTTP traceparent header (modern era over HTTP), carry the MCP
// semantic-convention attributes, and the handler sees its span's traceparent.
func TestSpanExporter(t *testing.T) {
	if err := SetSpanExporter(&spanRecorder{}, -1); err == nil {
		t.Error("a negative queue limit: no error")
	}
	rec := &spanRecorder{}
	if err := SetSpanExporter(rec, 0); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { SetSpanExporter(nil, 0) })

	s := newTestServer(t)
	seen := make(chan string, 4)
	s.AddTool(&Tool{Name: "traced"}, func(ctx context.Context, _ json.RawMessage) (*ToolResult, error) {
		tp, err := CallFromContext(ctx).TraceParent()
		if err != nil {
			return nil, err
		}
		seen <- tp
		return TextResult("ok"), nil
	})

	c := newTestClient(t, s)
	c.initialize(nil)
	c.mustCall("tools/call", map[string]interface{}{"name": "traced", "arguments": map[string]interface{}{},
		"_meta": map[string]interface{}{"traceparent": "00-" + parentTrace + "-" + parentSpan + "-01"}}, nil)
	span := rec.wait(t, "tools/call traced", "server")
	if span.TraceID != parentTrace || span.ParentSpanID != parentSpan || !span.ParentIsRemote || len(span.SpanID) != 16 {
		t.Errorf("server span ids: %+v", span)
	}
	for k, want := range map[string]interface{}{"mcp.method.name": "tools/call", "gen_ai.tool.name": "traced",
		"gen_ai.operation.name": "execute_tool", "mcp.protocol.version": ProtocolVersionLatest} {
		if span.Attributes[k] != want {
			t.Errorf("attribute %s = %v, want %v", k, span.Attributes[k], want)
		}
	}
	if _, ok := span.Attributes["mcp.session.id"].(string); !ok {
		t.Errorf("no mcp.session.id: %v", span.Attributes)
	}
	if span.StatusCode != "unset" || span.End.Before(span.Start) || time.Since(span.Start) > time.Minute {
		t.Errorf("status or times: %+v", span)
	}
	if tp := <-seen; tp != fmt.Sprintf("00-%s-%s-01", parentTrace, span.SpanID) {
		t.Errorf("Call.TraceParent = %q, span %s", tp, span.SpanID)
	}

	// An unknown method: error.type is its JSON-RPC code.
	c.call("no/such/method", nil)
	bad := rec.wait(t, "no/such/method", "server")
	if bad.Attributes["error.type"] != "-32601" || bad.StatusCode != "error" || bad.StatusMessage == "" {
		t.Errorf("error span: %+v", bad)
	}

	// Modern era over HTTP: the traceparent header is the parent.
	port := freePort(t)
	if _, err := s.StartHTTP(fmt.Sprintf("127.0.0.1:%d", port), &HTTPOptions{JSONResponse: true}); err != nil {
		t.Fatal(err)
	}
	defer s.StopHTTP(time.Second)
	body := `{"jsonrpc":"2.0","id":"r-7","method":"tools/call","params":{"name":"traced","arguments":{},` +
		`"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{},` +
		`"io.modelcontextprotocol/clientInfo":{"name":"go","version":"1"}}}}`
	req, _ := http.NewRequest("POST", fmt.Sprintf("http://127.0.0.1:%d/mcp", port), strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("MCP-Protocol-Version", "2026-07-28")
	req.Header.Set("Mcp-Method", "tools/call")
	req.Header.Set("Mcp-Name", "traced")
	req.Header.Set("traceparent", "00-"+parentTrace+"-00f067aa0ba902b7-01")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("POST: %d", resp.StatusCode)
	}
	<-seen
	eventually(t, "the modern span", func() bool {
		rec.mu.Lock()
		defer rec.mu.Unlock()
		for _, s := range rec.spans {
			if s.Attributes["jsonrpc.request.id"] == "r-7" {
				span = s
				return true
			}
		}
		return false
	})
	if span.ParentSpanID != "00f067aa0ba902b7" || span.TraceID != parentTrace ||
		span.Attributes["mcp.protocol.version"] != "2026-07-28" || span.Attributes["mcp.session.id"] != nil {
		t.Errorf("modern span: %+v", span)
	}

	// Removed: no more spans, and the handler sees no traceparent.
	if err := SetSpanExporter(nil, 0); err != nil {
		t.Fatal(err)
	}
	rec.mu.Lock()
	rec.spans = nil
	rec.mu.Unlock()
	c.callTool("traced", map[string]interface{}{})
	if tp := <-seen; tp != "" {
		t.Errorf("TraceParent with no exporter: %q", tp)
	}
	time.Sleep(100 * time.Millisecond)
	if _, ok := rec.find("tools/call traced", "server"); ok {
		t.Error("a span after SetSpanExporter(nil)")
	}
}
