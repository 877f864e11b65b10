package mcp_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	mcp "github.com/libmcp/libmcp/bindings/go"
	"github.com/libmcp/libmcp/bindings/go/internal/fixture"
)

const modernEcho = `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"test_echo","arguments":{"text":"hi"},` +
	`"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28",` +
	`"io.modelcontextprotocol/clientInfo":{"name":"t","version":"1"},"io.modelcontextprotocol/clientCapabilities":{}}}}`

func postEcho(t *testing.T, url string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest("POST", url, strings.NewReader(modernEcho))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("MCP-Protocol-Version", "2026-07-28")
	req.Header.Set("Mcp-Method", "tools/call")
	req.Header.Set("Mcp-Name", "test_echo")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// Server.Handler in a mux of an httptest server: a 2026-07-28 call is
// answered as JSON, the mux's other routes stay its own, the listener's
// checks apply, and a closed handler answers 503.
func TestHandlerInAMux(t *testing.T) {
	s, err := fixture.New()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Handler(&mcp.HTTPOptions{TLSCertFile: "c.pem", TLSKeyFile: "k.pem"}); !errors.Is(err, mcp.ErrInvalidArg) {
		t.Fatalf("a listener-only option: got %v, want ErrInvalidArg", err)
	}
	h, err := s.Handler(&mcp.HTTPOptions{MaxBodyBytes: 4096})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/mcp", h)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "own page") })
	ts := httptest.NewServer(mux)
	defer ts.Close()

	resp := postEcho(t, ts.URL+"/mcp")
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" ||
		!strings.Contains(string(body), `"text":"hi"`) {
		t.Fatalf("echo: %d %q %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	if r, err := http.Get(ts.URL + "/"); err != nil || r.StatusCode != 200 {
		t.Fatalf("own page: %v %v", r, err)
	}
	big := strings.NewReader(`{"x":"` + strings.Repeat("a", 10000) + `"}`)
	if r, err := http.Post(ts.URL+"/mcp", "application/json", big); err != nil || r.StatusCode != 413 {
		t.Fatalf("a body over MaxBodyBytes: %v %v, want 413", r, err)
	}
	req, _ := http.NewRequest("POST", ts.URL+"/mcp", strings.NewReader(modernEcho))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", "http://evil.example")
	if r, err := http.DefaultClient.Do(req); err != nil || r.StatusCode != 403 {
		t.Fatalf("a foreign Origin: %v %v, want 403", r, err)
	}

	if err := h.Close(time.Second); err != nil {
		t.Fatal(err)
	}
	if err := h.Close(time.Second); err != nil { // idempotent
		t.Fatal(err)
	}
	resp = postEcho(t, ts.URL+"/mcp")
	resp.Body.Close()
	if resp.StatusCode != 503 {
		t.Fatalf("after Close: %d, want 503", resp.StatusCode)
	}
}
