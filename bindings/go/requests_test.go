package mcp

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

// A server whose tools ask the client things, and a client that answers.
func requestServer(t *testing.T) (*Server, *testClient) {
	s := newTestServer(t)
	s.AddTool(&Tool{Name: "sample"}, func(ctx context.Context, args json.RawMessage) (*ToolResult, error) {
		res, err := CallFromContext(ctx).CreateMessage(ctx, &CreateMessageParams{
			Messages:  []*SamplingMessage{{Role: RoleUser, Content: Text(string(args))}},
			MaxTokens: 50, SystemPrompt: "be brief",
		})
		if err != nil {
			return nil, err
		}
		tc, ok := res.Content.(*TextContent)
		if !ok {
			return ErrorResult("sampling answered a non-text block"), nil
		}
		return TextResult(string(res.Role) + "/" + res.Model + "/" + res.StopReason + ": " + tc.Text), nil
	})
	s.AddTool(&Tool{Name: "elicit"}, func(ctx context.Context, _ json.RawMessage) (*ToolResult, error) {
		schema, err := SchemaFor[struct {
			Name string `json:"name" jsonschema:"your name"`
			Age  int    `json:"age,omitempty"`
		}]()
		if err != nil {
			return nil, err
		}
		res, err := CallFromContext(ctx).Elicit(ctx, &ElicitParams{Message: "who are you?", RequestedSchema: schema})
		if err != nil {
			return nil, err
		}
		b, _ := json.Marshal(res.Content)
		return TextResult(res.Action + " " + string(b)), nil
	})
	s.AddTool(&Tool{Name: "roots"}, func(ctx context.Context, _ json.RawMessage) (*ToolResult, error) {
		roots, err := CallFromContext(ctx).ListRoots(ctx)
		if err != nil {
			return nil, err
		}
		var names []string
		for _, r := range roots {
			names = append(names, r.Name+"="+r.URI)
		}
		return TextResult(strings.Join(names, ",")), nil
	})
	s.AddTool(&Tool{Name: "ping"}, func(ctx context.Context, _ json.RawMessage) (*ToolResult, error) {
		if err := CallFromContext(ctx).Ping(ctx); err != nil {
			return nil, err
		}
		return TextResult("pong"), nil
	})
	s.AddTool(&Tool{Name: "sample_with_deadline"}, func(ctx context.Context, _ json.RawMessage) (*ToolResult, error) {
		ctx2, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		defer cancel()
		_, err := CallFromContext(ctx).CreateMessage(ctx2, &CreateMessageParams{
			Messages: []*SamplingMessage{{Role: RoleUser, Content: Text("slow")}}, MaxTokens: 5})
		switch {
		case errors.Is(err, context.DeadlineExceeded):
			return TextResult("deadline"), nil
		case errors.Is(err, ErrTimeout):
			return TextResult("engine timeout"), nil
		}
		return ErrorResult("want a timeout, got " + errString(err)), nil
	})
	c := newTestClient(t, s)
	return s, c
}

func TestSamplingElicitationRoots(t *testing.T) {
	_, c := requestServer(t)
	seen := make(chan string, 8)
	c.onRequest = func(method string, params json.RawMessage) (interface{}, *RPCError) {
		seen <- method + " " + string(params)
		switch method {
		case "sampling/createMessage":
			var p struct {
				Messages []struct {
					Content struct{ Text string } `json:"content"`
				} `json:"messages"`
			}
			json.Unmarshal(params, &p)
			if p.Messages[0].Content.Text == "slow" {
				time.Sleep(500 * time.Millisecond)
			}
			if p.Messages[0].Content.Text == `{"q":"refuse"}` {
				return nil, &RPCError{Code: -1, Message: "user rejected sampling"}
			}
			return map[string]interface{}{"role": "assistant", "model": "m1", "stopReason": "endTurn",
				"content": map[string]string{"type": "text", "text": "reply to " + p.Messages[0].Content.Text}}, nil
		case "elicitation/create":
			return map[string]interface{}{"action": "accept", "content": map[string]interface{}{"name": "Ada", "age": 36}}, nil
		case "roots/list":
			return map[string]interface{}{"roots": []map[string]string{{"uri": "file:///a", "name": "A"}, {"uri": "file:///b", "name": "B"}}}, nil
		case "ping":
			return map[string]interface{}{}, nil
		}
		return nil, &RPCError{Code: CodeMethodNotFound, Message: method}
	}
	c.initialize(map[string]interface{}{"sampling": map[string]interface{}{}, "elicitation": map[string]interface{}{}, "roots": map[string]interface{}{}})

	if r := c.callTool("sample", map[string]string{"q": "hi"}); r.IsError || r.text() != `assistant/m1/endTurn: reply to {"q":"hi"}` {
		t.Errorf("sample: %+v", r)
	}
	if got := <-seen; !strings.Contains(got, `"systemPrompt":"be brief"`) || !strings.Contains(got, `"maxTokens":50`) {
		t.Errorf("sampling request sent: %s", got)
	}
	if r := c.callTool("sample", map[string]string{"q": "refuse"}); !r.IsError ||
		r.text() != "mcp: the client answered sampling/createMessage with error -1: user rejected sampling" {
		t.Errorf("refused sampling: %+v", r)
	}
	<-seen
	if r := c.callTool("elicit", nil); r.IsError || r.text() != `accept {"age":36,"name":"Ada"}` {
		t.Errorf("elicit: %+v", r)
	}
	if got := <-seen; !strings.Contains(got, `"requestedSchema":{"type":"object","properties":{"name":{"type":"string","description":"your name"},"age":{"type":"integer"}},"required":["name"]`) {
		t.Errorf("elicitation request sent: %s", got)
	}
	if r := c.callTool("roots", nil); r.IsError || r.text() != "A=file:///a,B=file:///b" {
		t.Errorf("roots: %+v", r)
	}
	<-seen
	if r := c.callTool("ping", nil); r.IsError || r.text() != "pong" {
		t.Errorf("ping: %+v", r)
	}
	<-seen
	if r := c.callTool("sample_with_deadline", nil); r.IsError {
		t.Errorf("sampling with a 100 ms deadline: %+v", r)
	}
}

func TestRequestsWithoutCapability(t *testing.T) {
	_, c := requestServer(t)
	c.onRequest = func(method string, params json.RawMessage) (interface{}, *RPCError) {
		t.Errorf("a request reached a client without the capability: %s", method)
		return nil, &RPCError{Code: CodeMethodNotFound, Message: method}
	}
	c.initialize(nil)
	for _, tool := range []string{"sample", "elicit", "roots"} {
		r := c.callTool(tool, nil)
		if !r.IsError || !strings.Contains(r.text(), "not supported") && !strings.Contains(r.text(), "capabilit") {
			t.Errorf("%s without the capability: %+v", tool, r)
		}
	}
}

func TestRequestCancelledWithCall(t *testing.T) {
	s := newTestServer(t)
	got := make(chan error, 1)
	asked := make(chan struct{}, 1)
	s.AddTool(&Tool{Name: "ask"}, func(ctx context.Context, _ json.RawMessage) (*ToolResult, error) {
		_, err := CallFromContext(ctx).Elicit(ctx, &ElicitParams{Message: "wait", RequestedSchema: map[string]interface{}{"type": "object", "properties": map[string]interface{}{}}})
		got <- err
		return nil, err
	})
	c := newTestClient(t, s)
	c.onRequest = func(method string, params json.RawMessage) (interface{}, *RPCError) {
		asked <- struct{}{}
		time.Sleep(2 * time.Second) // never in time
		return map[string]interface{}{"action": "cancel"}, nil
	}
	c.initialize(map[string]interface{}{"elicitation": map[string]interface{}{}})
	id, _ := c.start("tools/call", map[string]interface{}{"name": "ask"})
	<-asked
	c.notify("notifications/cancelled", map[string]interface{}{"requestId": id})
	select {
	case err := <-got:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Elicit after the call was cancelled: %v, want context.Canceled", err)
		}
	case <-time.After(testWait):
		t.Fatal("Elicit did not return when the call was cancelled")
	}
	// The engine cancels the request towards the client too.
	params := c.note("notifications/cancelled")
	if !strings.Contains(string(params), "requestId") {
		t.Errorf("notifications/cancelled to the client: %s", params)
	}
}
