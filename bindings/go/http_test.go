package mcp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

func postInitialize(url string) (*http.Response, string, error) {
	req, _ := http.NewRequest("POST", url, strings.NewReader(initLine))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp, string(body), err
}

func TestStartStopHTTP(t *testing.T) {
	s := newTestServer(t)
	port, err := s.StartHTTP("127.0.0.1:0", &HTTPOptions{JSONResponse: true, Path: "/rpc"})
	if err != nil {
		t.Fatal(err)
	}
	if port <= 0 {
		t.Fatalf("port %d", port)
	}
	if _, err := s.StartHTTP(":0", nil); !errors.Is(err, ErrState) {
		t.Errorf("a second listener: %v, want ErrState", err)
	}
	resp, body, err := postInitialize(fmt.Sprintf("http://127.0.0.1:%d/rpc", port))
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.Header.Get("Mcp-Session-Id") == "" ||
		!strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") || !strings.Contains(body, `"serverInfo"`) {
		t.Fatalf("initialize over HTTP: %d %v %s", resp.StatusCode, resp.Header, body)
	}
	if err := s.StopHTTP(time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second); err == nil {
		t.Error("the port still accepts connections after StopHTTP")
	}
	if err := s.StopHTTP(time.Second); err != nil {
		t.Errorf("StopHTTP when not listening: %v, want nil", err)
	}
}

func TestHTTPBadArguments(t *testing.T) {
	s := newTestServer(t)
	for _, addr := range []string{"nonsense", "127.0.0.1:99999", "127.0.0.1:http"} {
		if _, err := s.StartHTTP(addr, nil); !errors.Is(err, ErrInvalidArg) {
			t.Errorf("StartHTTP(%q): %v, want ErrInvalidArg", addr, err)
		}
	}
	if _, err := s.StartHTTP("127.0.0.1:0", &HTTPOptions{TLSCertFile: "/nonexistent.pem", TLSKeyFile: "/nonexistent.key"}); !errors.Is(err, ErrIO) {
		t.Errorf("missing TLS files: %v, want ErrIO", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if _, err := s.StartHTTP(l.Addr().String(), nil); !errors.Is(err, ErrIO) {
		t.Errorf("a port in use: %v, want ErrIO", err)
	}
}

func TestServeHTTPStopsWhenContextDone(t *testing.T) {
	s := newTestServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	ports := make(chan int, 1)
	done := make(chan error, 1)
	go func() {
		done <- s.ServeHTTP(ctx, "127.0.0.1:0", &HTTPOptions{OnListen: func(p int) { ports <- p }, ShutdownTimeout: time.Second})
	}()
	var port int
	select {
	case port = <-ports:
	case err := <-done:
		t.Fatalf("ServeHTTP: %v", err)
	case <-time.After(testWait):
		t.Fatal("ServeHTTP never listened")
	}
	resp, body, err := postInitialize(fmt.Sprintf("http://127.0.0.1:%d/mcp", port))
	if err != nil || resp.StatusCode != 200 || !strings.Contains(body, "serverInfo") {
		t.Fatalf("initialize: %v %v %s", err, resp, body)
	}
	cancel()
	select {
	case err := <-done:
		if err != context.Canceled {
			t.Fatalf("ServeHTTP after cancel: %v, want context.Canceled", err)
		}
	case <-time.After(testWait):
		t.Fatal("ServeHTTP did not return after cancel")
	}
	if _, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second); err == nil {
		t.Error("the port still accepts connections after ServeHTTP returned")
	}
}

func TestServeHTTPStopsWhenServerCloses(t *testing.T) {
	s, err := NewServer("s", "1", nil)
	if err != nil {
		t.Fatal(err)
	}
	ports := make(chan int, 1)
	done := make(chan error, 1)
	go func() {
		done <- s.ServeHTTP(context.Background(), "127.0.0.1:0", &HTTPOptions{OnListen: func(p int) { ports <- p }})
	}()
	<-ports
	s.Close()
	select {
	case err := <-done:
		if !errors.Is(err, ErrClosed) {
			t.Fatalf("ServeHTTP after Close: %v, want ErrClosed", err)
		}
	case <-time.After(testWait):
		t.Fatal("ServeHTTP did not return after Close")
	}
}

func TestHTTPConfig(t *testing.T) {
	got, err := httpConfig("[::1]:8080", &HTTPOptions{Stateless: true, DisableGetStream: true,
		SessionIdleTimeout: 2 * time.Second, AllowedOrigins: []string{"https://x"}, MaxBodyBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"allowed_origins":["https://x"],"enable_get_stream":false,"host":"::1","max_body_bytes":1048576,"port":8080,"session_idle_timeout_ms":2000,"stateless":true}`
	if got != want {
		t.Errorf("httpConfig:\n got %s\nwant %s", got, want)
	}
	if got, _ := httpConfig("", nil); got != `{}` {
		t.Errorf("defaults: %s", got)
	}
	got, _ = httpConfig("", &HTTPOptions{SSEKeepalive: 5 * time.Second, CORSAllowedOrigins: []string{"http://localhost:6274"}})
	if want := `{"cors_allowed_origins":["http://localhost:6274"],"sse_keepalive_ms":5000}`; got != want {
		t.Errorf("keep-alive and CORS:\n got %s\nwant %s", got, want)
	}
	if got, _ := httpConfig("", &HTTPOptions{Store: "sqlite:/var/lib/mcp/state.db"}); got != `{"store":"sqlite:/var/lib/mcp/state.db"}` {
		t.Errorf("store: %s", got)
	}
	accept := &HTTPOptions{ReusePort: true, ListenBacklog: 8192, AcceptBatch: 16, AcceptRate: 500}
	if got, _ := httpConfig("", accept); got != `{"accept_batch":16,"accept_rate":500,"listen_backlog":8192,"reuse_port":true}` {
		t.Errorf("accepting: %s", got)
	}
	if got, _ := httpConfig("", &HTTPOptions{SSEKeepalive: -1}); got != `{"sse_keepalive_ms":0}` {
		t.Errorf("keep-alive off: %s", got)
	}
	limits := &HTTPOptions{MaxQueuedBytes: 1 << 20, MaxBufferedBytes: 64 << 20, RequestBodyTimeout: 5 * time.Second,
		MaxConnections: 100, ConnectionIdleTimeout: 30 * time.Second}
	got, _ = httpConfig("", limits)
	if want := `{"connection_idle_timeout_ms":30000,"max_buffered_bytes":67108864,"max_connections":100,"max_queued_bytes":1048576,"request_body_timeout_ms":5000}`; got != want {
		t.Errorf("limits:\n got %s\nwant %s", got, want)
	}
	// The engine takes every key the options write.
	s := newTestServer(t)
	if _, err := s.StartHTTP("127.0.0.1:0", limits); err != nil {
		t.Fatalf("StartHTTP with the limits: %v", err)
	}
	if err := s.StopHTTP(time.Second); err != nil {
		t.Fatal(err)
	}
}
