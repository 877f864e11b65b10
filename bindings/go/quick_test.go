package mcp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// goroutineID is the id runtime.Stack prints ("goroutine 42 [running]:").
// Tests only: it shows on which goroutine a handler ran.
func goroutineID() int64 {
	buf := make([]byte, 64)
	buf = buf[:runtime.Stack(buf, false)]
	buf = bytes.TrimPrefix(buf, []byte("goroutine "))
	id, _ := strconv.ParseInt(string(buf[:bytes.IndexByte(buf, ' ')]), 10, 64)
	return id
}

// toolModes are the ways a tool can be registered.
var toolModes = []struct {
	name string
	opts []ToolOption
}{{"default", nil}, {"quick", []ToolOption{Quick()}}}

// Quick tools answer as any tool: results, structured content,
// typed arguments, errors as isError, *RPCError as a JSON-RPC error, a panic
// recovered as isError, a result the engine refuses as -32603.
func TestQuickToolsAnswerAsAnyTool(t *testing.T) {
	for _, mode := range toolModes {
		mode := mode
		t.Run(mode.name, func(t *testing.T) {
			s, err := NewServer("s", "1", &ServerOptions{ErrorLog: discardLogger()})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			add := func(name string, h ToolHandler) {
				t.Helper()
				if err := s.AddTool(&Tool{Name: name}, h, mode.opts...); err != nil {
					t.Fatalf("AddTool(%s, %s): %v", name, mode.name, err)
				}
			}
			add("echo", func(_ context.Context, args json.RawMessage) (*ToolResult, error) {
				var in struct{ Text string }
				if err := json.Unmarshal(args, &in); err != nil {
					return nil, err
				}
				return &ToolResult{Content: []Content{Text(in.Text)}, StructuredContent: map[string]string{"text": in.Text}}, nil
			})
			add("fails", func(context.Context, json.RawMessage) (*ToolResult, error) { return nil, errors.New("disk on fire") })
			add("panics", func(context.Context, json.RawMessage) (*ToolResult, error) { panic("inline boom") })
			add("rpc", func(context.Context, json.RawMessage) (*ToolResult, error) {
				return nil, &RPCError{Code: CodeInvalidParams, Message: "no such thing"}
			})
			add("badresult", func(context.Context, json.RawMessage) (*ToolResult, error) {
				return &ToolResult{StructuredContent: []int{1}}, nil
			})
			type sumArgs struct {
				A int `json:"a"`
				B int `json:"b"`
			}
			err = AddTypedTool(s, &Tool{Name: "sum"}, func(_ context.Context, in sumArgs) (*ToolResult, error) {
				return TextResult(strconv.Itoa(in.A + in.B)), nil
			}, mode.opts...)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.AddTool(&Tool{Name: "echo"}, func(context.Context, json.RawMessage) (*ToolResult, error) { return nil, nil }, mode.opts...); !errors.Is(err, ErrExists) {
				t.Errorf("duplicate: %v, want ErrExists", err)
			}
			c := newTestClient(t, s)
			c.initialize(nil)
			if r := c.callTool("echo", map[string]string{"text": "héllo"}); r.IsError || r.text() != "héllo" || string(r.StructuredContent) != `{"text":"héllo"}` {
				t.Errorf("echo: %+v", r)
			}
			if r := c.callTool("sum", map[string]int{"a": 2, "b": 3}); r.IsError || r.text() != "5" {
				t.Errorf("sum: %+v", r)
			}
			if r := c.callTool("sum", map[string]int{"a": 2}); !r.IsError || !strings.Contains(r.text(), `Invalid arguments for tool sum: `) {
				t.Errorf("sum with an argument missing: %+v", r)
			}
			if r := c.callTool("fails", nil); !r.IsError || r.text() != "disk on fire" {
				t.Errorf("fails: %+v", r)
			}
			if r := c.callTool("panics", nil); !r.IsError || r.text() != `tool "panics" failed: panic: inline boom` {
				t.Errorf("panics: %+v", r)
			}
			if _, e := c.call("tools/call", map[string]interface{}{"name": "rpc"}); e == nil || e.Code != CodeInvalidParams || e.Message != "no such thing" {
				t.Errorf("rpc: %+v", e)
			}
			if _, e := c.call("tools/call", map[string]interface{}{"name": "badresult"}); e == nil || e.Code != CodeInternalError {
				t.Errorf("badresult: %+v", e)
			}
			if r := c.callTool("echo", map[string]string{"text": "still fine"}); r.text() != "still fine" {
				t.Errorf("after the panic: %+v", r)
			}
		})
	}
}

// A Quick handler runs on the thread that read the request: over an
// in-process session the goroutine that called Receive, so its answer has
// been sent when Receive returns.
func TestQuickHandlerRunsOnTheReadingThread(t *testing.T) {
	s := newTestServer(t)
	ran := make(chan int64, 1)
	s.AddTool(&Tool{Name: "quick"}, func(context.Context, json.RawMessage) (*ToolResult, error) {
		ran <- goroutineID()
		return TextResult("q"), nil
	}, Quick())
	c := newTestClient(t, s)
	c.initialize(nil)
	for i := 0; i < 3; i++ {
		_, ch := c.start("tools/call", map[string]interface{}{"name": "quick"})
		select {
		case m := <-ch: // sent from inside Receive
			if !strings.Contains(string(m["result"]), `"text":"q"`) {
				t.Fatalf("quick answered %s", m["result"])
			}
		default:
			t.Fatal("a Quick tool's answer was not sent by the time Receive returned")
		}
		if id := <-ran; id != goroutineID() {
			t.Fatalf("the Quick handler ran on goroutine %d, not on Receive's caller %d", id, goroutineID())
		}
	}
}

// A Quick handler that asks the client something is refused at once: the
// answer would have to be read by the thread it holds. The same handler
// registered without Quick gets its answer. Progress works in both.
func TestRequestsFromQuickHandlers(t *testing.T) {
	s := newTestServer(t)
	ask := func(ctx context.Context, _ json.RawMessage) (*ToolResult, error) {
		call := CallFromContext(ctx)
		if err := call.Progress(1, 2, "asking"); err != nil {
			return nil, err
		}
		res, err := call.CreateMessage(ctx, &CreateMessageParams{MaxTokens: 10,
			Messages: []*SamplingMessage{{Role: RoleUser, Content: Text("hi")}}})
		if err != nil {
			return nil, err
		}
		return TextResult(res.Content.(*TextContent).Text), nil
	}
	s.AddTool(&Tool{Name: "plain_ask"}, ask)
	s.AddTool(&Tool{Name: "quick_ask"}, ask, Quick())
	c := newTestClient(t, s)
	c.onRequest = func(method string, _ json.RawMessage) (interface{}, *RPCError) {
		return map[string]interface{}{"role": "assistant", "model": "m", "content": map[string]string{"type": "text", "text": "sampled"}}, nil
	}
	c.initialize(map[string]interface{}{"sampling": map[string]interface{}{}})
	params := func(name string) map[string]interface{} {
		return map[string]interface{}{"name": name, "_meta": map[string]interface{}{"progressToken": name}}
	}
	var r toolResult
	c.mustCall("tools/call", params("plain_ask"), &r)
	if r.IsError || r.text() != "sampled" {
		t.Errorf("plain_ask: %+v", r)
	}
	if p := c.note("notifications/progress"); !strings.Contains(string(p), `"progressToken":"plain_ask"`) {
		t.Errorf("plain_ask progress %s", p)
	}
	c.mustCall("tools/call", params("quick_ask"), &r)
	if !r.IsError || !strings.Contains(r.text(), "must not wait for the client") {
		t.Errorf("quick_ask: %+v, want the refusal as isError", r)
	}
	if p := c.note("notifications/progress"); !strings.Contains(string(p), `"progressToken":"quick_ask"`) {
		t.Errorf("quick_ask progress %s", p)
	}
}

// A Quick handler's context is wired as any other: a cancellation read by
// another thread while it runs cancels it (here the handler waits for that,
// which a real Quick handler must not do; over an in-process session it only
// holds the test's goroutine).
func TestCancelReachesQuickHandler(t *testing.T) {
	s := newTestServer(t)
	started := make(chan struct{}, 1)
	seen := make(chan error, 1)
	s.AddTool(&Tool{Name: "wait"}, func(ctx context.Context, _ json.RawMessage) (*ToolResult, error) {
		started <- struct{}{}
		select {
		case <-ctx.Done():
			seen <- ctx.Err()
		case <-time.After(testWait):
			seen <- errors.New("context never cancelled")
		}
		return nil, nil
	}, Quick())
	c := newTestClient(t, s)
	c.initialize(nil)
	received := make(chan error, 1)
	go func() { // Receive runs the handler and returns after it
		received <- c.sess.Receive([]byte(`{"jsonrpc":"2.0","id":"q1","method":"tools/call","params":{"name":"wait"}}`))
	}()
	<-started
	c.notify("notifications/cancelled", map[string]interface{}{"requestId": "q1"})
	if err := <-seen; err != context.Canceled {
		t.Fatalf("Quick handler context: %v, want context.Canceled", err)
	}
	if err := <-received; err != nil {
		t.Fatal(err)
	}
	// The session goes on.
	s.AddTool(&Tool{Name: "ok"}, func(context.Context, json.RawMessage) (*ToolResult, error) { return TextResult("fine"), nil }, Quick())
	if r := c.callTool("ok", nil); r.text() != "fine" {
		t.Fatalf("after cancel: %+v", r)
	}
}

// With a library older than ABI 1.1 Quick is refused, saying why; nothing
// is registered and plain registration still works.
func TestQuickRefusedBeforeABI11(t *testing.T) {
	s := newTestServer(t)
	saved := loadedABI
	loadedABI = uint32(ABIVersionMajor) << 16 // 1.0
	defer func() { loadedABI = saved }()
	nop := func(context.Context, json.RawMessage) (*ToolResult, error) { return nil, nil }
	err := s.AddTool(&Tool{Name: "fast"}, nop, Quick())
	var e *Error
	if !errors.As(err, &e) || e.Status != ErrUnsupported || e.Op != "AddTool" {
		t.Fatalf("AddTool with ABI 1.0: %#v, want an *Error with ErrUnsupported", err)
	}
	for _, want := range []string{`tool "fast"`, "Quick needs libmcp ABI 1.1 or newer", "has ABI 1.0", "without Quick"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("refusal %q lacks %q", err, want)
		}
	}
	if err := AddTypedTool(s, &Tool{Name: "fast"}, func(context.Context, struct{}) (*ToolResult, error) { return nil, nil }, Quick()); !errors.Is(err, ErrUnsupported) {
		t.Errorf("AddTypedTool with ABI 1.0: %v", err)
	}
	if n := atomic.LoadInt64(&s.handles); n != 0 {
		t.Errorf("%d handles kept by refused registrations", n)
	}
	if err := s.AddTool(&Tool{Name: "fast"}, nop); err != nil {
		t.Fatalf("plain AddTool with ABI 1.0: %v", err)
	}
}

// Quick registrations are released as any other, and a nil option is
// ignored.
func TestQuickRegistrationsAreReleased(t *testing.T) {
	s := newTestServer(t)
	nop := func(context.Context, json.RawMessage) (*ToolResult, error) { return TextResult("ok"), nil }
	if err := s.AddTool(&Tool{Name: "a"}, nop, Quick()); err != nil {
		t.Fatal(err)
	}
	if err := s.AddTool(&Tool{Name: "b"}, nop, nil, Quick()); err != nil {
		t.Fatal(err)
	}
	c := newTestClient(t, s)
	c.initialize(nil)
	c.callTool("a", nil)
	c.callTool("b", nil)
	live := func() int64 { return atomic.LoadInt64(&s.handles) }
	if got := live(); got != 3 {
		t.Fatalf("%d live handles, want 3 (two tools, one session)", got)
	}
	s.RemoveTool("a")
	s.RemoveTool("b")
	eventually(t, "the removed tools' handles to be released", func() bool { return live() == 1 })
}

// Quick calls from many sessions at once, mixed with default ones: every
// call gets its own answer (run under -race).
func TestConcurrentQuickCalls(t *testing.T) {
	s := newTestServer(t)
	for _, mode := range toolModes {
		name := mode.name
		s.AddTool(&Tool{Name: name}, func(_ context.Context, args json.RawMessage) (*ToolResult, error) {
			var in struct{ N int }
			json.Unmarshal(args, &in)
			return TextResult(name + strconv.Itoa(in.N)), nil
		}, mode.opts...)
	}
	var wg sync.WaitGroup
	errs := make(chan string, 100)
	for i := 0; i < 6; i++ {
		c := newTestClient(t, s)
		c.initialize(nil)
		wg.Add(1)
		go func(c *testClient) {
			defer wg.Done()
			for n := 0; n < 60; n++ {
				name := toolModes[n%len(toolModes)].name
				_, ch := c.start("tools/call", map[string]interface{}{"name": name, "arguments": map[string]int{"n": n}})
				select {
				case m := <-ch:
					if want := `"text":"` + name + strconv.Itoa(n) + `"`; !strings.Contains(string(m["result"]), want) {
						errs <- string(m["result"]) + " lacks " + want
						return
					}
				case <-time.After(testWait):
					errs <- "no answer to " + name
					return
				}
			}
		}(c)
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// A Quick handler that overruns its promise is reported once, through the
// server's ErrorLog.
func TestSlowQuickHandlerIsReportedOnce(t *testing.T) {
	var mu sync.Mutex
	var logged bytes.Buffer
	s, err := NewServer("s", "1", &ServerOptions{ErrorLog: log.New(writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return logged.Write(p)
	}), "", 0)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.AddTool(&Tool{Name: "sleepy"}, func(context.Context, json.RawMessage) (*ToolResult, error) {
		time.Sleep(quickLimit + 5*time.Millisecond) // what a Quick handler must not do
		return TextResult("late"), nil
	}, Quick())
	s.AddTool(&Tool{Name: "fast"}, func(context.Context, json.RawMessage) (*ToolResult, error) {
		return TextResult("ok"), nil
	}, Quick())
	c := newTestClient(t, s)
	c.initialize(nil)
	for i := 0; i < 3; i++ {
		if r := c.callTool("sleepy", nil); r.text() != "late" {
			t.Fatalf("sleepy: %+v", r)
		}
		c.callTool("fast", nil)
	}
	mu.Lock()
	out := logged.String()
	mu.Unlock()
	if n := strings.Count(out, "\n"); n != 1 || !strings.Contains(out, `tool "sleepy" is registered Quick but its handler ran for`) ||
		!strings.Contains(out, "register it without Quick if it may block") {
		t.Fatalf("ErrorLog got %q, want one report about sleepy", out)
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
