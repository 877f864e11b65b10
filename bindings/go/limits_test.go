package mcp

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestCallLimitsOptions(t *testing.T) {
	s, err := NewServer("limits", "1", &ServerOptions{
		ToolTimeouts:   map[string]time.Duration{"slow": 100 * time.Millisecond},
		CircuitBreaker: &CircuitBreaker{Failures: 1, Open: time.Minute},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	sawCancel := make(chan struct{})
	s.AddTool(&Tool{Name: "slow"}, func(ctx context.Context, _ json.RawMessage) (*ToolResult, error) {
		<-ctx.Done() // the timeout cancels the handler's context
		close(sawCancel)
		return TextResult("too late"), nil
	})
	s.AddTool(&Tool{Name: "broken"}, func(ctx context.Context, _ json.RawMessage) (*ToolResult, error) {
		return nil, &RPCError{Code: CodeInternalError, Message: "backend down"}
	})
	c := newTestClient(t, s)
	c.initialize(nil)
	_, e := c.call("tools/call", map[string]interface{}{"name": "slow"})
	if e == nil || e.Code != CodeInternalError || e.Message != "Tool slow timed out after 100 ms" ||
		!strings.Contains(string(e.Data), `"reason":"timeout"`) {
		t.Errorf("timed out call: %+v", e)
	}
	select {
	case <-sawCancel:
	case <-time.After(5 * time.Second):
		t.Error("the handler's context was not cancelled")
	}
	if _, e := c.call("tools/call", map[string]interface{}{"name": "broken"}); e == nil || e.Message != "backend down" {
		t.Errorf("first failure: %+v", e)
	}
	if _, e := c.call("tools/call", map[string]interface{}{"name": "broken"}); e == nil ||
		!strings.Contains(string(e.Data), `"reason":"circuit_open"`) {
		t.Errorf("open circuit: %+v", e)
	}
	if _, err := NewServer("bad", "1", &ServerOptions{CircuitBreaker: &CircuitBreaker{Failures: -1}}); !errors.Is(err, ErrInvalidArg) {
		t.Errorf("a negative failure count: %v", err)
	}
}
