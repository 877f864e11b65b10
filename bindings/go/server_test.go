package mcp

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestVersionAndABI(t *testing.T) {
	major, minor := ABIVersion()
	if major != ABIVersionMajor || minor < 0 {
		t.Fatalf("ABIVersion() = %d.%d, header major %d", major, minor, ABIVersionMajor)
	}
	if Version() == "" {
		t.Fatal("empty Version()")
	}
	if err := checkABI(uint32(ABIVersionMajor)<<16|7, "x"); err != nil {
		t.Fatalf("same major refused: %v", err)
	}
	err := checkABI(uint32(ABIVersionMajor+1)<<16|3, "9.9.9")
	if err == nil {
		t.Fatal("a different major ABI was accepted")
	}
	for _, want := range []string{"ABI mismatch", "release 9.9.9", "ABI 2.3", "major 1"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("mismatch message %q lacks %q", err, want)
		}
	}
}

func TestNewServerErrors(t *testing.T) {
	if _, err := NewServer("", "1", nil); !errors.Is(err, ErrInvalidArg) {
		t.Errorf("empty name: got %v, want ErrInvalidArg", err)
	}
	if _, err := NewServer("n", "", nil); !errors.Is(err, ErrInvalidArg) {
		t.Errorf("empty version: got %v, want ErrInvalidArg", err)
	}
	_, err := NewServer("n", "1", &ServerOptions{PageSize: 20000})
	var e *Error
	if !errors.As(err, &e) || e.Status != ErrInvalidArg || e.Op != "NewServer" || e.Message == "" {
		t.Errorf("page size 20000: got %#v, want an *Error with ErrInvalidArg and a message", err)
	}
	s, err := NewServer("n", "1", &ServerOptions{Title: "T", Instructions: "use it", PageSize: 2, WorkerThreads: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c := newTestClient(t, s)
	var init struct {
		ServerInfo struct {
			Name, Version, Title string
		} `json:"serverInfo"`
		Instructions string `json:"instructions"`
	}
	c.mustCall("initialize", map[string]interface{}{"protocolVersion": ProtocolVersionLatest,
		"capabilities": map[string]interface{}{}, "clientInfo": map[string]string{"name": "x", "version": "0"}}, &init)
	if init.ServerInfo.Name != "n" || init.ServerInfo.Title != "T" || init.Instructions != "use it" {
		t.Errorf("initialize result %+v", init)
	}
}

func TestToolRoundTrip(t *testing.T) {
	s := newTestServer(t)
	err := s.AddTool(&Tool{Name: "echo", Description: "echoes",
		InputSchema: json.RawMessage(`{"type":"object","properties":{"text":{"type":"string"}}}`)},
		func(ctx context.Context, args json.RawMessage) (*ToolResult, error) {
			var in struct{ Text string }
			if err := json.Unmarshal(args, &in); err != nil {
				return nil, err
			}
			return &ToolResult{Content: []Content{Text(in.Text)}, StructuredContent: map[string]string{"text": in.Text}}, nil
		})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.AddTool(&Tool{Name: "echo"}, func(context.Context, json.RawMessage) (*ToolResult, error) { return nil, nil }); !errors.Is(err, ErrExists) {
		t.Errorf("duplicate AddTool: got %v, want ErrExists", err)
	}
	if err := s.AddTool(&Tool{Name: "bad", InputSchema: json.RawMessage(`{"type":"string"}`)}, func(context.Context, json.RawMessage) (*ToolResult, error) { return nil, nil }); !errors.Is(err, ErrInvalidArg) {
		t.Errorf("non-object schema: got %v, want ErrInvalidArg", err)
	}
	if err := s.AddTool(&Tool{Name: "x"}, nil); !errors.Is(err, ErrInvalidArg) {
		t.Errorf("nil handler: got %v, want ErrInvalidArg", err)
	}
	if err := s.RemoveTool("nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("RemoveTool(nope): got %v, want ErrNotFound", err)
	}
	c := newTestClient(t, s)
	c.initialize(nil)
	var list struct {
		Tools []struct {
			Name        string          `json:"name"`
			Description string          `json:"description"`
			InputSchema json.RawMessage `json:"inputSchema"`
		} `json:"tools"`
	}
	c.mustCall("tools/list", nil, &list)
	if len(list.Tools) != 1 || list.Tools[0].Name != "echo" || list.Tools[0].Description != "echoes" {
		t.Fatalf("tools/list = %+v", list)
	}
	r := c.callTool("echo", map[string]string{"text": "héllo \"q\"\n"})
	if r.IsError || r.text() != "héllo \"q\"\n" || string(r.StructuredContent) != `{"text":"héllo \"q\"\n"}` {
		t.Fatalf("echo result %+v", r)
	}
	// A nil result with a nil error is an empty result.
	s.AddTool(&Tool{Name: "nothing"}, func(context.Context, json.RawMessage) (*ToolResult, error) { return nil, nil })
	if r := c.callTool("nothing", nil); r.IsError || len(r.Content) != 0 {
		t.Fatalf("nil result answered %+v", r)
	}
}

func TestToolErrorsAndPanics(t *testing.T) {
	s, err := NewServer("s", "1", &ServerOptions{ErrorLog: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.AddTool(&Tool{Name: "fails"}, func(context.Context, json.RawMessage) (*ToolResult, error) {
		return nil, errors.New("disk on fire")
	})
	s.AddTool(&Tool{Name: "panics"}, func(context.Context, json.RawMessage) (*ToolResult, error) {
		var m map[string]int
		m["boom"] = 1 // nil map write
		return nil, nil
	})
	s.AddTool(&Tool{Name: "rpc"}, func(context.Context, json.RawMessage) (*ToolResult, error) {
		return nil, &RPCError{Code: CodeInvalidParams, Message: "no such thing", Data: json.RawMessage(`{"k":1}`)}
	})
	s.AddTool(&Tool{Name: "badresult"}, func(context.Context, json.RawMessage) (*ToolResult, error) {
		return &ToolResult{StructuredContent: []int{1, 2}}, nil // not an object
	})
	c := newTestClient(t, s)
	c.initialize(nil)
	if r := c.callTool("fails", nil); !r.IsError || r.text() != "disk on fire" {
		t.Errorf("error result %+v", r)
	}
	r := c.callTool("panics", nil)
	if !r.IsError || !strings.Contains(r.text(), `tool "panics" failed: panic: assignment to entry in nil map`) {
		t.Errorf("panic result %+v", r)
	}
	_, e := c.call("tools/call", map[string]interface{}{"name": "rpc"})
	if e == nil || e.Code != CodeInvalidParams || e.Message != "no such thing" || string(e.Data) != `{"k":1}` {
		t.Errorf("RPCError answered %+v", e)
	}
	_, e = c.call("tools/call", map[string]interface{}{"name": "badresult"})
	if e == nil || e.Code != CodeInternalError {
		t.Errorf("a result the engine refuses must reach the client as -32603, got %+v", e)
	}
	// The session is still fine.
	if r := c.callTool("fails", nil); r.text() != "disk on fire" {
		t.Errorf("after the panic: %+v", r)
	}
}

func TestRegistrationHandlesAreReleased(t *testing.T) {
	s, err := NewServer("s", "1", nil)
	if err != nil {
		t.Fatal(err)
	}
	nop := func(context.Context, json.RawMessage) (*ToolResult, error) { return nil, nil }
	s.AddTool(&Tool{Name: "one"}, nop)
	s.AddTool(&Tool{Name: "other"}, nop)
	s.AddResource(&Resource{URI: "test://r", Name: "r"}, func(context.Context, *ResourceRequest) (*ReadResourceResult, error) { return nil, nil })
	s.AddResourceTemplate(&ResourceTemplate{URITemplate: "test://t/{x}", Name: "t"}, func(context.Context, *ResourceRequest) (*ReadResourceResult, error) { return nil, nil })
	s.AddPrompt(&Prompt{Name: "p"}, func(context.Context, map[string]string) (*PromptResult, error) { return nil, nil })
	s.SetCompletion(func(context.Context, *CompletionRequest) (*CompletionResult, error) { return nil, nil })
	// A failed registration keeps nothing.
	if err := s.AddTool(&Tool{Name: "other"}, nop); !errors.Is(err, ErrExists) {
		t.Fatal(err)
	}
	live := func() int64 { return atomic.LoadInt64(&s.handles) }
	if got := live(); got != 6 {
		t.Fatalf("%d live handles after 6 registrations", got)
	}
	c := newTestClient(t, s)
	c.initialize(nil)
	if got := live(); got != 7 {
		t.Fatalf("%d live handles with a session open, want 7", got)
	}
	c.callTool("one", nil)
	s.RemoveTool("one")
	eventually(t, "RemoveTool to release its handle", func() bool { return live() == 6 })
	s.RemoveResource("test://r")
	s.RemoveResourceTemplate("test://t/{x}")
	s.RemovePrompt("p")
	eventually(t, "the removals to release their handles", func() bool { return live() == 3 })
	s.SetCompletion(nil)
	eventually(t, "SetCompletion(nil) to release the handler", func() bool { return live() == 2 })
	c.sess.Close()
	eventually(t, "Session.Close to release the send function", func() bool { return live() == 1 })
	s.Close()
	eventually(t, "Close to release every handle", func() bool { return live() == 0 })
}

// mcp.h, mcp_server_remove_tool: "Calls of it already running finish
// normally; its free_fn runs after the last." A Go handler answers after the
// engine's callback returned (on its own goroutine), as any asynchronous C
// host does: the registration's data must outlive the call until it is
// answered, as mcp_server_free promises ("released when the last of them is
// answered").
func TestRemovedToolDataLivesUntilLastCallAnswered(t *testing.T) {
	// WorkerThreads 4: every handler runs on a goroutine, after the engine's
	// callback has returned.
	s, err := NewServer("s", "1", &ServerOptions{WorkerThreads: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	release := make(chan struct{})
	started := make(chan struct{})
	s.AddTool(&Tool{Name: "slow"}, func(ctx context.Context, _ json.RawMessage) (*ToolResult, error) {
		close(started)
		<-release
		return TextResult("done"), nil
	})
	c := newTestClient(t, s)
	c.initialize(nil)
	live := func() int64 { return atomic.LoadInt64(&s.handles) }
	_, ch := c.start("tools/call", map[string]interface{}{"name": "slow"})
	<-started
	if err := s.RemoveTool("slow"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	stillLive := live() // tool + session
	close(release)
	var r toolResult
	json.Unmarshal(c.wait(ch, "slow")["result"], &r)
	if r.text() != "done" {
		t.Errorf("the removed tool's call in flight answered %+v, want done", r)
	}
	eventually(t, "the removed tool's handle to be released", func() bool { return live() == 1 })
	if stillLive != 2 {
		t.Fatalf("ENGINE: free_fn of a removed tool ran while a call of it was still unanswered "+
			"(%d live registrations, want 2): libmcp releases user_data when the callback returns, "+
			"not when the call is answered", stillLive)
	}
}

func TestCancelReachesHandlerContext(t *testing.T) {
	s := newTestServer(t)
	started := make(chan struct{}, 1)
	seen := make(chan error, 1)
	s.AddTool(&Tool{Name: "wait"}, func(ctx context.Context, _ json.RawMessage) (*ToolResult, error) {
		started <- struct{}{}
		select {
		case <-ctx.Done():
			seen <- ctx.Err()
			return ErrorResult("cancelled"), nil
		case <-time.After(testWait):
			seen <- errors.New("context never cancelled")
			return nil, nil
		}
	})
	c := newTestClient(t, s)
	c.initialize(nil)
	id, ch := c.start("tools/call", map[string]interface{}{"name": "wait"})
	<-started
	c.notify("notifications/cancelled", map[string]interface{}{"requestId": id, "reason": "user"})
	if err := <-seen; err != context.Canceled {
		t.Fatalf("handler context: %v, want context.Canceled", err)
	}
	// The cancelled call's answer is dropped: nothing arrives for it.
	select {
	case m := <-ch:
		t.Fatalf("a cancelled call was answered: %v", m)
	case <-time.After(200 * time.Millisecond):
	}
	// The session goes on.
	s.AddTool(&Tool{Name: "ok"}, func(context.Context, json.RawMessage) (*ToolResult, error) { return TextResult("fine"), nil })
	if r := c.callTool("ok", nil); r.text() != "fine" {
		t.Fatalf("after cancel: %+v", r)
	}
}

func TestSessionEndCancelsHandlerContext(t *testing.T) {
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
	})
	c := newTestClient(t, s)
	c.initialize(nil)
	c.start("tools/call", map[string]interface{}{"name": "wait"})
	<-started
	c.sess.Close()
	if err := <-seen; err != context.Canceled {
		t.Fatalf("handler context after the session closed: %v, want context.Canceled", err)
	}
	if err := c.sess.Receive([]byte(`{"jsonrpc":"2.0","method":"ping","id":1}`)); !errors.Is(err, ErrClosed) {
		t.Fatalf("Receive on a closed session: %v, want ErrClosed", err)
	}
}

func TestContextEndsWhenHandlerReturns(t *testing.T) {
	s := newTestServer(t)
	got := make(chan context.Context, 1)
	s.AddTool(&Tool{Name: "t"}, func(ctx context.Context, _ json.RawMessage) (*ToolResult, error) {
		if CallFromContext(ctx) == nil || CallFromContext(ctx).Method() != "tools/call" || CallFromContext(ctx).Server() != s {
			return ErrorResult("no call in the context"), nil
		}
		got <- ctx
		return nil, nil
	})
	c := newTestClient(t, s)
	c.initialize(nil)
	if r := c.callTool("t", nil); r.IsError {
		t.Fatal(r.text())
	}
	select {
	case <-(<-got).Done():
	case <-time.After(testWait):
		t.Fatal("the handler's context outlived the handler")
	}
	if CallFromContext(context.Background()) != nil {
		t.Fatal("CallFromContext on a plain context")
	}
}

func TestProgressAndLogging(t *testing.T) {
	s := newTestServer(t)
	s.AddTool(&Tool{Name: "work"}, func(ctx context.Context, _ json.RawMessage) (*ToolResult, error) {
		call := CallFromContext(ctx)
		for i := 1; i <= 3; i++ {
			if err := call.Progress(float64(i), 3, "step"); err != nil {
				return nil, err
			}
		}
		if err := call.Progress(2, 3, ""); !errors.Is(err, ErrInvalidArg) {
			return ErrorResult("progress going back: " + errString(err)), nil
		}
		if err := call.Log(LevelDebug, "worker", map[string]int{"n": 1}); err != nil {
			return nil, err
		}
		if err := call.Log("loud", "", "x"); !errors.Is(err, ErrInvalidArg) {
			return ErrorResult("bad level: " + errString(err)), nil
		}
		if err := call.Log(LevelInfo, "", make(chan int)); !errors.Is(err, ErrInvalidJSON) {
			return ErrorResult("unencodable data: " + errString(err)), nil
		}
		meta, err := call.Meta()
		if err != nil {
			return nil, err
		}
		sid, err := call.SessionID()
		if err != nil || sid == "" {
			return ErrorResult("session id: " + errString(err)), nil
		}
		return TextResult(meta["progressToken"].(string)), nil
	})
	c := newTestClient(t, s)
	c.initialize(nil)
	c.mustCall("logging/setLevel", map[string]string{"level": "debug"}, nil)
	r := c.callTool2(map[string]interface{}{"name": "work", "_meta": map[string]string{"progressToken": "tok"}})
	if r.IsError || r.text() != "tok" {
		t.Fatalf("work: %+v", r)
	}
	for i := 1; i <= 3; i++ {
		var p struct {
			ProgressToken string  `json:"progressToken"`
			Progress      float64 `json:"progress"`
			Total         float64 `json:"total"`
			Message       string  `json:"message"`
		}
		json.Unmarshal(c.note("notifications/progress"), &p)
		if p.ProgressToken != "tok" || p.Progress != float64(i) || p.Total != 3 || p.Message != "step" {
			t.Fatalf("progress %d: %+v", i, p)
		}
	}
	var l struct {
		Level  string          `json:"level"`
		Logger string          `json:"logger"`
		Data   json.RawMessage `json:"data"`
	}
	json.Unmarshal(c.note("notifications/message"), &l)
	if l.Level != "debug" || l.Logger != "worker" || string(l.Data) != `{"n":1}` {
		t.Fatalf("log %+v", l)
	}
	// Server-wide logging.
	if err := s.Log(LevelWarning, "srv", "all sessions"); err != nil {
		t.Fatal(err)
	}
	json.Unmarshal(c.note("notifications/message"), &l)
	if l.Level != "warning" || string(l.Data) != `"all sessions"` {
		t.Fatalf("server log %+v", l)
	}
	if err := s.Log("nope", "", nil); !errors.Is(err, ErrInvalidArg) {
		t.Fatalf("Server.Log bad level: %v", err)
	}
}

func (c *testClient) callTool2(params map[string]interface{}) toolResult {
	c.t.Helper()
	var r toolResult
	c.mustCall("tools/call", params, &r)
	return r
}

func errString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

func TestCallMethodsAfterAnswerFail(t *testing.T) {
	s := newTestServer(t)
	calls := make(chan *Call, 1)
	s.AddTool(&Tool{Name: "t"}, func(ctx context.Context, _ json.RawMessage) (*ToolResult, error) {
		calls <- CallFromContext(ctx)
		return nil, nil
	})
	c := newTestClient(t, s)
	c.initialize(nil)
	c.callTool("t", nil)
	call := <-calls
	time.Sleep(20 * time.Millisecond) // the answer is sent right after the handler returns
	if err := call.Progress(1, -1, ""); !errors.Is(err, ErrState) {
		t.Errorf("Progress after the answer: %v, want ErrState", err)
	}
	if err := call.Log(LevelInfo, "", "x"); !errors.Is(err, ErrState) {
		t.Errorf("Log after the answer: %v, want ErrState", err)
	}
	if _, err := call.Request(context.Background(), "ping", nil); !errors.Is(err, ErrState) {
		t.Errorf("Request after the answer: %v, want ErrState", err)
	}
}

func TestClosedServer(t *testing.T) {
	s, err := NewServer("s", "1", nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.Handle() == nil {
		t.Fatal("nil Handle()")
	}
	s.Close()
	s.Close() // idempotent
	if s.Handle() != nil {
		t.Fatal("Handle() after Close")
	}
	h := func(context.Context, json.RawMessage) (*ToolResult, error) { return nil, nil }
	for name, err := range map[string]error{
		"AddTool":    s.AddTool(&Tool{Name: "x"}, h),
		"RemoveTool": s.RemoveTool("x"),
		"Log":        s.Log(LevelInfo, "", "x"),
		"ServeStdio": s.ServeStdio(context.Background()),
	} {
		if !errors.Is(err, ErrClosed) {
			t.Errorf("%s after Close: %v, want ErrClosed", name, err)
		}
	}
	if _, err := s.NewSession(func([]byte) {}); !errors.Is(err, ErrClosed) {
		t.Errorf("NewSession after Close: %v", err)
	}
}

func TestConcurrentCalls(t *testing.T) {
	s := newTestServer(t)
	var inFlight, peak int64
	s.AddTool(&Tool{Name: "echo"}, func(ctx context.Context, args json.RawMessage) (*ToolResult, error) {
		n := atomic.AddInt64(&inFlight, 1)
		defer atomic.AddInt64(&inFlight, -1)
		for {
			p := atomic.LoadInt64(&peak)
			if n <= p || atomic.CompareAndSwapInt64(&peak, p, n) {
				break
			}
		}
		time.Sleep(20 * time.Millisecond)
		return TextResult(string(args)), nil
	})
	const sessions, perSession = 4, 25
	var wg sync.WaitGroup
	for i := 0; i < sessions; i++ {
		c := newTestClient(t, s)
		c.initialize(nil)
		wg.Add(1)
		go func(i int, c *testClient) {
			defer wg.Done()
			chans := make([]chan map[string]json.RawMessage, perSession)
			for j := range chans {
				_, chans[j] = c.start("tools/call", map[string]interface{}{"name": "echo", "arguments": map[string]int{"i": i, "j": j}})
			}
			for j, ch := range chans {
				var r toolResult
				json.Unmarshal((<-ch)["result"], &r)
				want, _ := json.Marshal(map[string]int{"i": i, "j": j})
				if r.text() != string(want) {
					t.Errorf("call %d/%d answered %q", i, j, r.text())
				}
			}
		}(i, c)
	}
	wg.Wait()
	if peak < 8 {
		t.Errorf("at most %d handlers ran at once; calls do not overlap", peak)
	}
}

// mcp.h, mcp_server_free: "the server's memory and the free_fn of each
// registration are released when the last of them is answered".
func TestClosedServerDataLivesUntilLastCallAnswered(t *testing.T) {
	s, err := NewServer("s", "1", nil)
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	started := make(chan struct{})
	cancelled := make(chan struct{})
	s.AddTool(&Tool{Name: "slow"}, func(ctx context.Context, _ json.RawMessage) (*ToolResult, error) {
		close(started)
		<-ctx.Done()
		close(cancelled)
		<-release
		return TextResult("done"), nil
	})
	c := newTestClient(t, s)
	c.initialize(nil)
	c.start("tools/call", map[string]interface{}{"name": "slow"})
	<-started
	s.Close()
	select {
	case <-cancelled:
	case <-time.After(testWait):
		t.Fatal("Close did not cancel the handler's context")
	}
	time.Sleep(100 * time.Millisecond)
	stillLive := atomic.LoadInt64(&s.handles)
	close(release)
	c.sess.Close()
	eventually(t, "every handle to be released", func() bool { return atomic.LoadInt64(&s.handles) == 0 })
	if stillLive != 2 { // the tool and the session's send function
		t.Fatalf("ENGINE: free_fn of a tool ran after mcp_server_free while a call of it was unanswered "+
			"(%d live registrations, want 2)", stillLive)
	}
}

func TestWorkerLimit(t *testing.T) {
	for workers, want := range map[int]int64{0: 48, 64: 48, 1024: 768, 16: 12, 8: 4, 5: 1, 4: 0, 1: 0} {
		if got := workerLimit(workers, 64); got != want {
			t.Errorf("workerLimit(%d) = %d, want %d", workers, got, want)
		}
	}
}

// Handlers that block until cancelled, more of them than the engine has
// worker threads: the cancellations must still reach every one (the engine
// delivers them on its worker threads, so handlers must not take them all).
func TestManyBlockedHandlersStillGetCancelled(t *testing.T) {
	s, err := NewServer("s", "1", &ServerOptions{WorkerThreads: 8})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const calls = 24
	started := make(chan struct{}, calls)
	cancelled := make(chan struct{}, calls)
	s.AddTool(&Tool{Name: "block"}, func(ctx context.Context, _ json.RawMessage) (*ToolResult, error) {
		started <- struct{}{}
		select {
		case <-ctx.Done():
			cancelled <- struct{}{}
		case <-time.After(30 * time.Second):
		}
		return nil, nil
	})
	s.AddTool(&Tool{Name: "quick"}, func(context.Context, json.RawMessage) (*ToolResult, error) { return TextResult("quick"), nil })
	c := newTestClient(t, s)
	c.initialize(nil)
	ids := make([]int64, calls)
	for i := range ids {
		ids[i], _ = c.start("tools/call", map[string]interface{}{"name": "block"})
	}
	for i := 0; i < calls; i++ {
		select {
		case <-started:
		case <-time.After(testWait):
			t.Fatalf("only %d of %d handlers started", i, calls)
		}
	}
	// Other calls still get answered.
	if r := c.callTool("quick", nil); r.text() != "quick" {
		t.Fatalf("quick: %+v", r)
	}
	for _, id := range ids {
		c.notify("notifications/cancelled", map[string]interface{}{"requestId": id})
	}
	for i := 0; i < calls; i++ {
		select {
		case <-cancelled:
		case <-time.After(testWait):
			t.Fatalf("only %d of %d blocked handlers saw their cancellation", i, calls)
		}
	}
}

func TestErrorMatching(t *testing.T) {
	err := error(&Error{Op: "Request", Status: ErrCancelled})
	if !errors.Is(err, ErrCancelled) || !errors.Is(err, context.Canceled) || errors.Is(err, ErrTimeout) {
		t.Errorf("ErrCancelled matching: %v", err)
	}
	if errors.Is(&Error{Status: ErrTimeout}, context.Canceled) {
		t.Error("ErrTimeout matches context.Canceled")
	}
	pe := error(&PeerError{Method: "roots/list", Code: -1, Message: "no"})
	var re *RPCError
	if !errors.Is(pe, ErrPeer) || errors.As(pe, &re) {
		t.Errorf("PeerError matching: %v", pe)
	}
	if pe.Error() != "mcp: the client answered roots/list with error -1: no" {
		t.Errorf("PeerError text %q", pe)
	}
	if ErrExists.Error() == "" || Status(999).Error() != "unknown status" {
		t.Errorf("status strings: %q %q", ErrExists.Error(), Status(999).Error())
	}
}

// The library 1.3 options: extensions in both eras' capabilities, and the
// caching hints of 2026-07-28 results.
func TestExtensionsAndCacheOptions(t *testing.T) {
	if _, err := NewServer("n", "1", &ServerOptions{CacheScope: "shared"}); !errors.Is(err, ErrInvalidArg) {
		t.Errorf("cache scope \"shared\": got %v, want ErrInvalidArg", err)
	}
	s, err := NewServer("n", "1", &ServerOptions{
		Extensions: map[string]map[string]any{"io.modelcontextprotocol/ui": {}},
		CacheTTLMs: 2500, CacheScope: "public"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c := newTestClient(t, s)
	var discover struct {
		SupportedVersions []string `json:"supportedVersions"`
		Capabilities      struct {
			Extensions map[string]any `json:"extensions"`
		} `json:"capabilities"`
		ResultType string `json:"resultType"`
		TTLMs      int    `json:"ttlMs"`
		CacheScope string `json:"cacheScope"`
	}
	meta := map[string]any{"io.modelcontextprotocol/protocolVersion": "2026-07-28",
		"io.modelcontextprotocol/clientCapabilities": map[string]any{}}
	c.mustCall("server/discover", map[string]any{"_meta": meta}, &discover)
	if len(discover.SupportedVersions) == 0 || discover.SupportedVersions[0] != "2026-07-28" ||
		discover.Capabilities.Extensions["io.modelcontextprotocol/ui"] == nil || discover.ResultType != "complete" ||
		discover.TTLMs != 2500 || discover.CacheScope != "public" {
		t.Errorf("server/discover result %+v", discover)
	}
}
