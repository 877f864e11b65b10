package mcp

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// A client that drops its SSE stream mid-call: the call's context ends, and
// the exchange's wake handle is released (nothing of the request stays).
func TestHandlerDisconnectReleasesEverything(t *testing.T) {
	s := newTestServer(t)
	var cancelled int64
	err := s.AddTool(&Tool{Name: "hold"}, func(ctx context.Context, _ json.RawMessage) (*ToolResult, error) {
		CallFromContext(ctx).Progress(1, 2, "holding")
		select {
		case <-ctx.Done():
			atomic.AddInt64(&cancelled, 1)
		case <-time.After(30 * time.Second):
		}
		return &ToolResult{Content: []Content{Text("done")}}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	h, err := s.Handler(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close(time.Second)
	ts := httptest.NewServer(h)
	defer ts.Close()
	before := atomic.LoadInt64(&liveHandles)
	for i := 1; i <= 3; i++ {
		body := `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"hold","arguments":{},` +
			`"_meta":{"progressToken":1,"io.modelcontextprotocol/protocolVersion":"2026-07-28",` +
			`"io.modelcontextprotocol/clientInfo":{"name":"t","version":"1"},"io.modelcontextprotocol/clientCapabilities":{}}}}`
		ctx, cancel := context.WithCancel(context.Background())
		req, _ := http.NewRequestWithContext(ctx, "POST", ts.URL+"/mcp", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		req.Header.Set("MCP-Protocol-Version", "2026-07-28")
		req.Header.Set("Mcp-Method", "tools/call")
		req.Header.Set("Mcp-Name", "hold")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
			t.Fatalf("status %d, %q", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		lines := bufio.NewScanner(resp.Body)
		for lines.Scan() && !strings.Contains(lines.Text(), "notifications/progress") {
		}
		cancel() // the client goes away mid-stream
		resp.Body.Close()
		want := int64(i)
		eventually(t, "the call cancelled", func() bool { return atomic.LoadInt64(&cancelled) == want })
	}
	eventually(t, "every exchange's handle released", func() bool { return atomic.LoadInt64(&liveHandles) <= before })
}
