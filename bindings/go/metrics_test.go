package mcp

import (
	"strings"
	"testing"
)

// Metrics counts each request by method, era and outcome, exactly.
func TestMetricsCountRequests(t *testing.T) {
	s := newTestServer(t)
	c := newTestClient(t, s)
	c.initialize(nil)
	for i := 0; i < 3; i++ {
		c.mustCall("ping", nil, nil)
	}
	if _, rpcErr := c.call("no/such/method", nil); rpcErr == nil || rpcErr.Code != CodeMethodNotFound {
		t.Fatalf("unknown method: %v, want -32601", rpcErr)
	}
	text, err := s.Metrics()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`mcp_server_requests_total{mcp_method_name="ping",mcp_era="2025",outcome="ok"} 3`,
		`mcp_server_requests_total{mcp_method_name="initialize",mcp_era="2025",outcome="ok"} 1`,
		`mcp_server_requests_total{mcp_method_name="other",mcp_era="2025",outcome="-32601"} 1`,
		"mcp_server_calls_in_flight 0",
		"# TYPE mcp_server_operation_duration_seconds histogram",
		"process_resident_memory_bytes ",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %q:\n%s", want, text)
		}
	}
	s.Close()
	if _, err := s.Metrics(); err == nil {
		t.Error("Metrics after Close: no error")
	}
}
