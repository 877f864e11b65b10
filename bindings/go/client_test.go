package mcp_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	mcp "github.com/libmcp/libmcp/bindings/go"
	"github.com/libmcp/libmcp/bindings/go/internal/fixture"
)

// notes collects a client's notifications.
type notes struct {
	mu   sync.Mutex
	got  []string // "method params"
	wake chan struct{}
}

func newNotes() *notes { return &notes{wake: make(chan struct{}, 1024)} }

func (n *notes) add(method string, params json.RawMessage) {
	n.mu.Lock()
	n.got = append(n.got, method+" "+string(params))
	n.mu.Unlock()
	n.wake <- struct{}{}
}

// waitFor waits until count notifications of method arrived and returns them.
func (n *notes) waitFor(t *testing.T, method string, count int) []string {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		n.mu.Lock()
		var out []string
		for _, g := range n.got {
			if strings.HasPrefix(g, method+" ") {
				out = append(out, strings.TrimPrefix(g, method+" "))
			}
		}
		n.mu.Unlock()
		if len(out) >= count {
			return out
		}
		select {
		case <-n.wake:
		case <-deadline:
			t.Fatalf("%d of %d %s within 10 s", len(out), count, method)
		}
	}
}

func text(r *mcp.ToolResult) string {
	var b strings.Builder
	for _, c := range r.Content {
		if t, ok := c.(*mcp.TextContent); ok {
			b.WriteString(t.Text)
		}
	}
	return b.String()
}

func newClient(t *testing.T, opts *mcp.ClientOptions) *mcp.Client {
	t.Helper()
	c, err := mcp.NewClient("go-test-client", "1.0.0", opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func within(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// connectors connect a client to the Go fixture server: over stdio (the
// testserver program) and over Streamable HTTP (a fixture server in this
// process).
func connectors(t *testing.T) map[string]func(context.Context, *mcp.Client) (*mcp.InitializeResult, error) {
	return map[string]func(context.Context, *mcp.Client) (*mcp.InitializeResult, error){
		"stdio": func(ctx context.Context, c *mcp.Client) (*mcp.InitializeResult, error) {
			return c.ConnectStdio(ctx, []string{buildTestServer(t)}, nil)
		},
		"http": func(ctx context.Context, c *mcp.Client) (*mcp.InitializeResult, error) {
			s, err := fixture.New()
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			port, err := s.StartHTTP("127.0.0.1:0", nil)
			if err != nil {
				t.Fatal(err)
			}
			return c.ConnectHTTP(ctx, fmt.Sprintf("http://127.0.0.1:%d/mcp", port), nil)
		},
	}
}

// The Go client against the Go fixture server, over stdio and HTTP: every
// feature.
func TestClientAgainstGoServer(t *testing.T) {
	for name, connect := range connectors(t) {
		connect := connect
		t.Run(name, func(t *testing.T) { clientAgainstGoServer(t, connect) })
	}
}

func clientAgainstGoServer(t *testing.T, connect func(context.Context, *mcp.Client) (*mcp.InitializeResult, error)) {
	n := newNotes()
	var sampled []*mcp.CreateMessageParams
	var mu sync.Mutex
	c := newClient(t, &mcp.ClientOptions{
		Era:      "legacy", // the 2025 path: initialize, ping, live server requests during a call
		Title:    "Go test client",
		ErrorLog: log.New(io.Discard, "", 0), // the panic below is expected
		CreateMessageHandler: func(ctx context.Context, p *mcp.CreateMessageParams) (*mcp.CreateMessageResult, error) {
			mu.Lock()
			sampled = append(sampled, p)
			mu.Unlock()
			prompt := p.Messages[0].Content.(*mcp.TextContent).Text
			if prompt == "panic" {
				panic("sampling handler bug")
			}
			if prompt == "refuse" {
				return nil, &mcp.RPCError{Code: -1, Message: "user refused"}
			}
			return &mcp.CreateMessageResult{Role: mcp.RoleAssistant, Model: "go-model", Content: mcp.Text("about " + prompt)}, nil
		},
		ElicitationHandler: func(ctx context.Context, p *mcp.ElicitParams) (*mcp.ElicitResult, error) {
			return &mcp.ElicitResult{Action: "accept", Content: map[string]interface{}{"name": "Ada", "email": "ada@example.com"}}, nil
		},
		RootsHandler: func(ctx context.Context) ([]*mcp.Root, error) {
			return []*mcp.Root{{URI: "file:///srv/a", Name: "a"}, {URI: "file:///srv/b"}}, nil
		},
		NotificationHandler: n.add,
	})
	ctx := within(t, 60*time.Second)
	init, err := connect(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	if init.ProtocolVersion != mcp.ProtocolVersionLatest || init.ServerInfo.Name != "go-fixture-server" ||
		init.Instructions == "" || init.Capabilities["tools"] == nil || init.Capabilities["completions"] == nil {
		t.Errorf("initialize result %+v", init)
	}
	if again, err := c.ServerInfo(); err != nil || !reflect.DeepEqual(again, init) {
		t.Errorf("ServerInfo: %+v, %v", again, err)
	}
	if err := c.Ping(ctx); err != nil {
		t.Fatal(err)
	}

	tools, err := c.ListTools(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	var echo *mcp.Tool
	for _, tl := range tools {
		names = append(names, tl.Name)
		if tl.Name == "test_echo" {
			echo = tl
		}
	}
	if len(tools) != 11 || echo == nil || !strings.Contains(string(echo.InputSchema), `"required":["text"]`) {
		t.Fatalf("tools %v, echo %+v", names, echo)
	}

	r, err := c.CallTool(ctx, &mcp.CallToolParams{Name: "test_echo", Arguments: map[string]interface{}{"text": "hi", "times": 2}})
	if err != nil || r.IsError || text(r) != "hihi" || !reflect.DeepEqual(r.StructuredContent, map[string]interface{}{"text": "hihi"}) {
		t.Fatalf("test_echo: %+v %v", r, err)
	}
	r, err = c.CallTool(ctx, &mcp.CallToolParams{Name: "test_error"})
	if err != nil || !r.IsError || text(r) != "fixture failure" {
		t.Fatalf("test_error: %+v %v", r, err)
	}
	// test_echo, test_error and test_panic are Quick tools: their handlers
	// ran on the transport's reading thread.
	r, err = c.CallTool(ctx, &mcp.CallToolParams{Name: "test_panic"})
	if err != nil || !r.IsError || text(r) != `tool "test_panic" failed: panic: fixture panic` {
		t.Fatalf("test_panic: %+v %v", r, err)
	}
	_, err = c.CallTool(ctx, &mcp.CallToolParams{Name: "no_such_tool"})
	var pe *mcp.PeerError
	if !errors.As(err, &pe) || pe.Code != mcp.CodeInvalidParams || pe.Method != "tools/call" {
		t.Fatalf("unknown tool: %v", err)
	}

	var progress []mcp.Progress
	r, err = c.CallTool(ctx, &mcp.CallToolParams{Name: "test_progress", Progress: func(p mcp.Progress) { progress = append(progress, p) }})
	if err != nil || text(r) != "progress done" {
		t.Fatalf("test_progress: %+v %v", r, err)
	}
	want := []mcp.Progress{{1, 3, "step 1"}, {2, 3, "step 2"}, {3, 3, "step 3"}}
	if !reflect.DeepEqual(progress, want) {
		t.Errorf("progress %+v, want %+v", progress, want)
	}

	if err := c.SetLoggingLevel(ctx, mcp.LevelDebug); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CallTool(ctx, &mcp.CallToolParams{Name: "test_logging"}); err != nil {
		t.Fatal(err)
	}
	logs := n.waitFor(t, "notifications/message", 3)
	sort.Strings(logs)
	if len(logs) != 3 || !strings.Contains(logs[0], `"level":"debug"`) || !strings.Contains(logs[0], `"logger":"fixture"`) {
		t.Errorf("logs %v", logs)
	}

	r, err = c.CallTool(ctx, &mcp.CallToolParams{Name: "test_sampling", Arguments: map[string]string{"prompt": "tides"}})
	if err != nil || text(r) != "LLM (go-model) said: about tides" {
		t.Fatalf("test_sampling: %+v %v", r, err)
	}
	if len(sampled) != 1 || sampled[0].MaxTokens != 100 || sampled[0].Messages[0].Role != mcp.RoleUser {
		t.Errorf("sampling request %+v", sampled)
	}
	r, err = c.CallTool(ctx, &mcp.CallToolParams{Name: "test_sampling", Arguments: map[string]string{"prompt": "refuse"}})
	if err != nil || !r.IsError || text(r) != "mcp: the client answered sampling/createMessage with error -1: user refused" {
		t.Fatalf("refused sampling: %+v %v", r, err)
	}
	r, err = c.CallTool(ctx, &mcp.CallToolParams{Name: "test_sampling", Arguments: map[string]string{"prompt": "panic"}})
	if err != nil || !r.IsError || !strings.Contains(text(r), "error -32603: sampling/createMessage failed: panic: sampling handler bug") {
		t.Fatalf("panicking sampling handler: %+v %v", r, err)
	}
	r, err = c.CallTool(ctx, &mcp.CallToolParams{Name: "test_elicit"})
	if err != nil || text(r) != "accept email=ada@example.com name=Ada" {
		t.Fatalf("test_elicit: %+v %v", r, err)
	}
	r, err = c.CallTool(ctx, &mcp.CallToolParams{Name: "test_roots"})
	if err != nil || text(r) != "file:///srv/a file:///srv/b" {
		t.Fatalf("test_roots: %+v %v", r, err)
	}

	resources, err := c.ListResources(ctx)
	if err != nil || len(resources) != 3 {
		t.Fatalf("resources %+v %v", resources, err)
	}
	templates, err := c.ListResourceTemplates(ctx)
	if err != nil || len(templates) != 1 || templates[0].URITemplate != "test://items/{id}" {
		t.Fatalf("templates %+v %v", templates, err)
	}
	rr, err := c.ReadResource(ctx, "test://binary")
	if err != nil || !reflect.DeepEqual(rr.Contents[0].Blob, []byte{0, 1, 2, 3, 254, 255}) {
		t.Fatalf("binary: %+v %v", rr, err)
	}
	rr, err = c.ReadResource(ctx, "test://items/7")
	if err != nil || rr.Contents[0].Text != "item 7" {
		t.Fatalf("template read: %+v %v", rr, err)
	}
	_, err = c.ReadResource(ctx, "test://missing")
	if !errors.As(err, &pe) || pe.Code != mcp.CodeResourceNotFound || string(pe.Data) != `{"uri":"test://missing"}` {
		t.Fatalf("missing resource: %v", err)
	}
	if err := c.SubscribeResource(ctx, "test://static"); err != nil {
		t.Fatal(err)
	}
	if r, err := c.CallTool(ctx, &mcp.CallToolParams{Name: "test_touch"}); err != nil || text(r) != "1" {
		t.Fatalf("test_touch: %+v %v", r, err)
	}
	if got := n.waitFor(t, "notifications/resources/updated", 1); got[0] != `{"uri":"test://static"}` {
		t.Errorf("updated: %v", got)
	}
	if err := c.UnsubscribeResource(ctx, "test://static"); err != nil {
		t.Fatal(err)
	}

	prompts, err := c.ListPrompts(ctx)
	if err != nil || len(prompts) != 1 || prompts[0].Name != "greet" || len(prompts[0].Arguments) != 2 {
		t.Fatalf("prompts %+v %v", prompts, err)
	}
	pr, err := c.GetPrompt(ctx, "greet", map[string]string{"name": "Ada"})
	if err != nil || pr.Messages[0].Content.(*mcp.TextContent).Text != "Greet Ada in a friendly way." {
		t.Fatalf("greet: %+v %v", pr, err)
	}
	cr, err := c.Complete(ctx, mcp.CompletionReference{Type: "ref/prompt", Name: "greet"}, "style", "f", map[string]string{"name": "Ada"})
	if err != nil || !reflect.DeepEqual(cr.Values, []string{"formal", "friendly", "funny"}) || cr.Total != 3 {
		t.Fatalf("complete: %+v %v", cr, err)
	}
	if err := c.Notify("notifications/roots/list_changed", nil); err != nil {
		t.Fatal(err)
	}
}

// A context's deadline and its cancellation both reach the server as
// notifications/cancelled, and the server's handler context sees them.
func TestClientContextCancelsTheCall(t *testing.T) {
	for name, connect := range connectors(t) {
		connect := connect
		t.Run(name, func(t *testing.T) { clientContextCancelsTheCall(t, connect) })
	}
}

func clientContextCancelsTheCall(t *testing.T, connect func(context.Context, *mcp.Client) (*mcp.InitializeResult, error)) {
	c := newClient(t, nil)
	ctx := within(t, 60*time.Second)
	if _, err := connect(ctx, c); err != nil {
		t.Fatal(err)
	}
	count := func() int {
		r, err := c.CallTool(ctx, &mcp.CallToolParams{Name: "test_cancel_count"})
		if err != nil {
			t.Fatal(err)
		}
		n, _ := strconv.Atoi(text(r))
		return n
	}
	base := count() // the in-process fixture's counter is shared
	waitCount := func(more int) {
		deadline := time.Now().Add(10 * time.Second)
		for count() != base+more {
			if time.Now().After(deadline) {
				t.Fatalf("test_cancel_count stayed below %d+%d", base, more)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	t0 := time.Now()
	_, err := c.CallTool(short, &mcp.CallToolParams{Name: "test_wait_for_cancel"})
	if err != context.DeadlineExceeded {
		t.Fatalf("CallTool past its deadline: %v, want context.DeadlineExceeded", err)
	}
	if d := time.Since(t0); d > 5*time.Second {
		t.Fatalf("the deadline took %v to end the call", d)
	}
	waitCount(1)

	cctx, cancel2 := context.WithCancel(ctx)
	time.AfterFunc(200*time.Millisecond, cancel2)
	_, err = c.CallTool(cctx, &mcp.CallToolParams{Name: "test_wait_for_cancel"})
	if err != context.Canceled {
		t.Fatalf("CallTool cancelled: %v, want context.Canceled", err)
	}
	waitCount(2)
	// A context already done sends nothing.
	if _, err := c.CallTool(cctx, &mcp.CallToolParams{Name: "test_echo", Arguments: map[string]string{"text": "x"}}); err != context.Canceled {
		t.Fatalf("a done context: %v", err)
	}
}

func TestClientErrors(t *testing.T) {
	if _, err := mcp.NewClient("", "1", nil); !errors.Is(err, mcp.ErrInvalidArg) {
		t.Errorf("empty name: %v", err)
	}
	if _, err := mcp.NewClient("c", "1", &mcp.ClientOptions{WorkerThreads: 5000}); !errors.Is(err, mcp.ErrInvalidArg) {
		t.Errorf("5000 worker threads: %v", err)
	}
	c := newClient(t, nil)
	ctx := within(t, 30*time.Second)
	if _, err := c.CallTool(ctx, &mcp.CallToolParams{Name: "x"}); !errors.Is(err, mcp.ErrState) {
		t.Errorf("CallTool before connecting: %v, want ErrState", err)
	}
	if _, err := c.CallTool(ctx, &mcp.CallToolParams{}); !errors.Is(err, mcp.ErrInvalidArg) {
		t.Errorf("CallTool without a name: %v", err)
	}
	if _, err := c.ConnectStdio(ctx, nil, nil); !errors.Is(err, mcp.ErrInvalidArg) {
		t.Errorf("ConnectStdio without a program: %v", err)
	}
	if _, err := c.ConnectStdio(ctx, []string{"/nonexistent/mcp-server"}, nil); !errors.Is(err, mcp.ErrIO) {
		t.Errorf("a program that does not exist: %v, want ErrIO", err)
	}

	// A server that never answers: the deadline ends the handshake, and so
	// does cancelling.
	c2 := newClient(t, nil)
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	_, err := c2.ConnectStdio(short, []string{"sleep", "5"}, &mcp.ConnectOptions{CloseTimeout: 100 * time.Millisecond})
	if !errors.Is(err, mcp.ErrTimeout) && err != context.DeadlineExceeded {
		t.Errorf("handshake past the deadline: %v", err)
	}
	c3 := newClient(t, nil)
	cctx, cancel3 := context.WithCancel(ctx)
	time.AfterFunc(300*time.Millisecond, cancel3)
	t0 := time.Now()
	_, err = c3.ConnectStdio(cctx, []string{"sleep", "5"}, &mcp.ConnectOptions{CloseTimeout: 100 * time.Millisecond})
	if err != context.Canceled {
		t.Errorf("handshake cancelled: %v, want context.Canceled", err)
	}
	if d := time.Since(t0); d > 10*time.Second {
		t.Errorf("cancelling the handshake took %v", d)
	}

	c4 := newClient(t, nil)
	if _, err := c4.ConnectHTTP(ctx, "ftp://127.0.0.1/mcp", nil); !errors.Is(err, mcp.ErrInvalidArg) {
		t.Errorf("an ftp URL: %v, want ErrInvalidArg", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedPort := l.Addr().String()
	l.Close()
	if _, err := c4.ConnectHTTP(ctx, "http://"+closedPort+"/mcp", nil); !errors.Is(err, mcp.ErrIO) {
		t.Errorf("a closed port: %v, want ErrIO", err)
	}
	if _, err := c4.ConnectHTTP(ctx, "http://127.0.0.1:1/mcp", &mcp.HTTPConnectOptions{Transport: "carrier-pigeon"}); !errors.Is(err, mcp.ErrInvalidArg) {
		t.Errorf("an unknown transport: %v, want ErrInvalidArg", err)
	}

	c.Close()
	c.Close()
	if _, err := c.ListTools(ctx); !errors.Is(err, mcp.ErrClosed) {
		t.Errorf("ListTools after Close: %v, want ErrClosed", err)
	}
}

// everythingServer is the path of our C conformance server
// (examples/everything): $MCP_EVERYTHING_SERVER or the default build dir.
func everythingServer(t *testing.T) string {
	p := os.Getenv("MCP_EVERYTHING_SERVER")
	if p == "" {
		p, _ = filepath.Abs("../../build/bin/mcp-everything-server")
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("no everything server at %s (build the mcp-everything-server target, or set MCP_EVERYTHING_SERVER): %v", p, err)
	}
	return p
}

// The Go client against our everything server (C, over stdio).
func TestClientAgainstEverythingServer(t *testing.T) {
	bin := everythingServer(t)
	var stderrLines []string
	var mu sync.Mutex
	c := newClient(t, &mcp.ClientOptions{
		Era: "legacy", // the 2025 path: initialize, ping, live server requests during a call
		CreateMessageHandler: func(ctx context.Context, p *mcp.CreateMessageParams) (*mcp.CreateMessageResult, error) {
			return &mcp.CreateMessageResult{Role: mcp.RoleAssistant, Model: "m", Content: mcp.Text("42")}, nil
		},
		ElicitationHandler: func(ctx context.Context, p *mcp.ElicitParams) (*mcp.ElicitResult, error) {
			return &mcp.ElicitResult{Action: "accept", Content: map[string]interface{}{"username": "ada", "email": "ada@example.com"}}, nil
		},
		StderrHandler: func(line string) {
			mu.Lock()
			stderrLines = append(stderrLines, line)
			mu.Unlock()
		},
	})
	ctx := within(t, 60*time.Second)
	init, err := c.ConnectStdio(ctx, []string{bin}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if init.ServerInfo.Name == "" || init.ProtocolVersion != mcp.ProtocolVersionLatest {
		t.Errorf("initialize %+v", init)
	}
	tools, err := c.ListTools(ctx)
	if err != nil || len(tools) < 12 {
		t.Fatalf("tools: %d %v", len(tools), err)
	}
	r, err := c.CallTool(ctx, &mcp.CallToolParams{Name: "test_simple_text"})
	if err != nil || text(r) != "This is a simple text response for testing." {
		t.Fatalf("test_simple_text: %+v %v", r, err)
	}
	r, err = c.CallTool(ctx, &mcp.CallToolParams{Name: "test_image_content"})
	if err != nil || len(r.Content) != 1 {
		t.Fatalf("test_image_content: %+v %v", r, err)
	}
	if img, ok := r.Content[0].(*mcp.ImageContent); !ok || img.MIMEType != "image/png" || !strings.HasPrefix(string(img.Data), "\x89PNG") {
		t.Fatalf("image block %#v", r.Content[0])
	}
	r, err = c.CallTool(ctx, &mcp.CallToolParams{Name: "test_error_handling"})
	if err != nil || !r.IsError {
		t.Fatalf("test_error_handling: %+v %v", r, err)
	}
	var progress []mcp.Progress
	r, err = c.CallTool(ctx, &mcp.CallToolParams{Name: "test_tool_with_progress", Progress: func(p mcp.Progress) { progress = append(progress, p) }})
	if err != nil || r.IsError || len(progress) != 3 || progress[2].Progress != 100 || progress[2].Total != 100 {
		t.Fatalf("test_tool_with_progress: %+v %v %+v", r, err, progress)
	}
	r, err = c.CallTool(ctx, &mcp.CallToolParams{Name: "test_sampling", Arguments: map[string]string{"prompt": "6x7?"}})
	if err != nil || text(r) != "LLM response: 42" {
		t.Fatalf("test_sampling: %+v %v", r, err)
	}
	r, err = c.CallTool(ctx, &mcp.CallToolParams{Name: "test_elicitation", Arguments: map[string]string{"message": "who?"}})
	if err != nil || !strings.Contains(text(r), "action=accept") || !strings.Contains(text(r), `"username":"ada"`) {
		t.Fatalf("test_elicitation: %+v %v", r, err)
	}
	rr, err := c.ReadResource(ctx, "test://static-text")
	if err != nil || rr.Contents[0].Text != "This is the content of the static text resource." {
		t.Fatalf("static text: %+v %v", rr, err)
	}
	pr, err := c.GetPrompt(ctx, "test_prompt_with_arguments", map[string]string{"arg1": "alpha", "arg2": "beta"})
	if err != nil || len(pr.Messages) == 0 {
		t.Fatalf("prompt: %+v %v", pr, err)
	}
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	if _, err := c.CallTool(short, &mcp.CallToolParams{Name: "test_sleep", Arguments: map[string]int{"ms": 5000}}); err != context.DeadlineExceeded {
		t.Fatalf("test_sleep past the deadline: %v", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		r, err := c.CallTool(ctx, &mcp.CallToolParams{Name: "test_cancel_count"})
		if err != nil {
			t.Fatal(err)
		}
		if text(r) == "1" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the everything server's test_sleep never saw the cancellation (count %s)", text(r))
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
}
