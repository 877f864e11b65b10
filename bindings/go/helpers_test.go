package mcp

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// testClient is a JSON-RPC client on an in-process Session: it sends raw
// messages and collects what the engine sends back.
type testClient struct {
	t       *testing.T
	sess    *Session
	nextID  int64
	mu      sync.Mutex
	waiters map[string]chan map[string]json.RawMessage // by id
	notes   chan map[string]json.RawMessage            // notifications
	// onRequest answers requests the server sends (sampling, ...); nil
	// answers -32601.
	onRequest func(method string, params json.RawMessage) (interface{}, *RPCError)
}

const testWait = 10 * time.Second

func newTestClient(t *testing.T, s *Server) *testClient {
	t.Helper()
	c := &testClient{t: t, waiters: map[string]chan map[string]json.RawMessage{},
		notes: make(chan map[string]json.RawMessage, 1024)}
	sess, err := s.NewSession(c.deliver)
	if err != nil {
		t.Fatalf("NewSession: %v", err)
	}
	c.sess = sess
	t.Cleanup(sess.Close)
	return c
}

func (c *testClient) deliver(b []byte) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		c.t.Errorf("engine sent a message that is not a JSON object: %s", b)
		return
	}
	_, hasMethod := m["method"]
	id, hasID := m["id"]
	switch {
	case hasMethod && hasID: // a request to us: answer off the engine's thread
		go c.answer(m)
	case hasMethod:
		c.notes <- m
	default:
		c.mu.Lock()
		ch := c.waiters[string(id)]
		delete(c.waiters, string(id))
		c.mu.Unlock()
		if ch == nil {
			c.t.Errorf("response to an unknown id: %s", b)
			return
		}
		ch <- m
	}
}

func (c *testClient) answer(m map[string]json.RawMessage) {
	var method string
	json.Unmarshal(m["method"], &method)
	var result interface{}
	rpcErr := &RPCError{Code: CodeMethodNotFound, Message: "no handler"}
	if c.onRequest != nil {
		result, rpcErr = c.onRequest(method, m["params"])
	}
	var out []byte
	if rpcErr != nil {
		out, _ = json.Marshal(map[string]interface{}{"jsonrpc": "2.0", "id": m["id"], "error": rpcErr})
	} else {
		out, _ = json.Marshal(map[string]interface{}{"jsonrpc": "2.0", "id": m["id"], "result": result})
	}
	if err := c.sess.Receive(out); err != nil && !errors.Is(err, ErrClosed) {
		c.t.Errorf("Receive(answer): %v", err)
	}
}

func (c *testClient) send(v interface{}) {
	c.t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		c.t.Fatal(err)
	}
	if err := c.sess.Receive(b); err != nil {
		c.t.Fatalf("Receive: %v", err)
	}
}

// start sends a request and returns the channel its response arrives on.
func (c *testClient) start(method string, params interface{}) (int64, chan map[string]json.RawMessage) {
	id := atomic.AddInt64(&c.nextID, 1)
	ch := make(chan map[string]json.RawMessage, 1)
	c.mu.Lock()
	c.waiters[fmt.Sprint(id)] = ch
	c.mu.Unlock()
	msg := map[string]interface{}{"jsonrpc": "2.0", "id": id, "method": method}
	if params != nil {
		msg["params"] = params
	}
	c.send(msg)
	return id, ch
}

func (c *testClient) wait(ch chan map[string]json.RawMessage, what string) map[string]json.RawMessage {
	c.t.Helper()
	select {
	case m := <-ch:
		return m
	case <-time.After(testWait):
		c.t.Fatalf("no response to %s within %v", what, testWait)
		return nil
	}
}

// call sends a request and returns its result, or its error object.
func (c *testClient) call(method string, params interface{}) (json.RawMessage, *RPCError) {
	c.t.Helper()
	_, ch := c.start(method, params)
	m := c.wait(ch, method)
	if e, ok := m["error"]; ok {
		re := &RPCError{}
		if err := json.Unmarshal(e, re); err != nil {
			c.t.Fatalf("bad error object: %s", e)
		}
		return nil, re
	}
	return m["result"], nil
}

// mustCall is call for a request that must succeed, decoding into out.
func (c *testClient) mustCall(method string, params interface{}, out interface{}) {
	c.t.Helper()
	res, e := c.call(method, params)
	if e != nil {
		c.t.Fatalf("%s failed: %v", method, e)
	}
	if out != nil {
		if err := json.Unmarshal(res, out); err != nil {
			c.t.Fatalf("%s result %s: %v", method, res, err)
		}
	}
}

func (c *testClient) notify(method string, params interface{}) {
	c.t.Helper()
	msg := map[string]interface{}{"jsonrpc": "2.0", "method": method}
	if params != nil {
		msg["params"] = params
	}
	c.send(msg)
}

func (c *testClient) initialize(caps map[string]interface{}) {
	c.t.Helper()
	if caps == nil {
		caps = map[string]interface{}{}
	}
	c.mustCall("initialize", map[string]interface{}{
		"protocolVersion": ProtocolVersionLatest,
		"capabilities":    caps,
		"clientInfo":      map[string]string{"name": "go-test", "version": "0"},
	}, nil)
	c.notify("notifications/initialized", nil)
}

// note waits for the next notification of the given method (others are
// returned to no one: tests ask in order).
func (c *testClient) note(method string) json.RawMessage {
	c.t.Helper()
	deadline := time.After(testWait)
	for {
		select {
		case m := <-c.notes:
			var got string
			json.Unmarshal(m["method"], &got)
			if got == method {
				return m["params"]
			}
		case <-deadline:
			c.t.Fatalf("no %s within %v", method, testWait)
			return nil
		}
	}
}

// toolResult is a decoded CallToolResult for assertions.
type toolResult struct {
	Content []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	} `json:"content"`
	StructuredContent json.RawMessage `json:"structuredContent"`
	IsError           bool            `json:"isError"`
}

func (r toolResult) text() string {
	var b strings.Builder
	for _, c := range r.Content {
		b.WriteString(c.Text)
	}
	return b.String()
}

func (c *testClient) callTool(name string, args interface{}) toolResult {
	c.t.Helper()
	var r toolResult
	c.mustCall("tools/call", map[string]interface{}{"name": name, "arguments": args}, &r)
	return r
}

func newTestServer(t *testing.T) *Server {
	t.Helper()
	s, err := NewServer("go-test-server", "1.0.0", nil)
	if err != nil {
		t.Fatalf("NewServer: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// eventually polls cond until it holds or testWait passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(testWait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func discardLogger() *log.Logger { return log.New(io.Discard, "", 0) }
