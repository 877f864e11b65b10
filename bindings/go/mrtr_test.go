package mcp

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
)

// Multi round-trip requests (2026-07-28): Call.Elicit etc. written once serve
// modern requests in rounds; the handler returns the ErrInputRequired error it
// gets and the engine answers input_required.

var modernMeta = map[string]interface{}{
	"io.modelcontextprotocol/protocolVersion": "2026-07-28",
	"io.modelcontextprotocol/clientInfo":      map[string]string{"name": "go", "version": "1"},
	"io.modelcontextprotocol/clientCapabilities": map[string]interface{}{
		"elicitation": map[string]interface{}{}, "sampling": map[string]interface{}{}, "roots": map[string]interface{}{},
	},
}

type inputRequired struct {
	ResultType    string                     `json:"resultType"`
	InputRequests map[string]json.RawMessage `json:"inputRequests"`
	RequestState  string                     `json:"requestState"`
	toolResult
}

func modernCall(t *testing.T, c *testClient, name string, extra map[string]interface{}) (inputRequired, *RPCError) {
	t.Helper()
	params := map[string]interface{}{"name": name, "arguments": map[string]interface{}{}, "_meta": modernMeta}
	for k, v := range extra {
		params[k] = v
	}
	raw, e := c.call("tools/call", params)
	var r inputRequired
	if e == nil {
		if err := json.Unmarshal(raw, &r); err != nil {
			t.Fatalf("result %s: %v", raw, err)
		}
	}
	return r, e
}

func TestInputRequiredRounds(t *testing.T) {
	s := newTestServer(t)
	var sawInputRequired bool
	var mu sync.Mutex
	s.AddTool(&Tool{Name: "greet"}, func(ctx context.Context, _ json.RawMessage) (*ToolResult, error) {
		call := CallFromContext(ctx)
		prev, _, _ := call.InputState()
		call.SetInputState("seen")
		res, err := call.Elicit(ctx, &ElicitParams{Key: "user_name", Message: "name?",
			RequestedSchema: map[string]interface{}{"type": "object", "properties": map[string]interface{}{
				"name": map[string]string{"type": "string"}}}})
		if err != nil {
			mu.Lock()
			sawInputRequired = errors.Is(err, ErrInputRequired)
			mu.Unlock()
			return nil, err // the engine answers input_required
		}
		return TextResult("Hello, " + res.Content["name"].(string) + " (" + prev + ")"), nil
	})
	// Two requests at once, from goroutines: one round asks both.
	s.AddTool(&Tool{Name: "both"}, func(ctx context.Context, _ json.RawMessage) (*ToolResult, error) {
		call := CallFromContext(ctx)
		var wg sync.WaitGroup
		var roots []*Root
		var sampled *CreateMessageResult
		var errRoots, errSample error
		wg.Add(2)
		go func() { defer wg.Done(); roots, errRoots = call.ListRootsNamed(ctx, "client_roots") }()
		go func() {
			defer wg.Done()
			sampled, errSample = call.CreateMessage(ctx, &CreateMessageParams{Key: "greeting", MaxTokens: 5,
				Messages: []*SamplingMessage{{Role: RoleUser, Content: Text("hi")}}})
		}()
		wg.Wait()
		if errRoots != nil {
			return nil, errRoots
		}
		if errSample != nil {
			return nil, errSample
		}
		return TextResult(sampled.Content.(*TextContent).Text + " " + roots[0].URI), nil
	})
	c := newTestClient(t, s)

	r1, e := modernCall(t, c, "greet", nil)
	if e != nil || r1.ResultType != "input_required" || r1.InputRequests["user_name"] == nil || r1.RequestState == "" {
		t.Fatalf("round 1: %+v %v", r1, e)
	}
	mu.Lock()
	if !sawInputRequired {
		t.Errorf("the handler did not see ErrInputRequired")
	}
	mu.Unlock()
	r2, e := modernCall(t, c, "greet", map[string]interface{}{"requestState": r1.RequestState,
		"inputResponses": map[string]interface{}{"user_name": map[string]interface{}{
			"action": "accept", "content": map[string]string{"name": "Gopher"}}}})
	if e != nil || r2.text() != "Hello, Gopher (seen)" {
		t.Fatalf("round 2: %+v %v", r2, e)
	}
	if _, e := modernCall(t, c, "greet", map[string]interface{}{"requestState": r1.RequestState + "x"}); e == nil || e.Code != CodeInvalidParams {
		t.Fatalf("tampered state: %v", e)
	}

	b1, e := modernCall(t, c, "both", nil)
	if e != nil || len(b1.InputRequests) != 2 || b1.InputRequests["client_roots"] == nil || b1.InputRequests["greeting"] == nil {
		t.Fatalf("both, round 1: %+v %v", b1, e)
	}
	b2, e := modernCall(t, c, "both", map[string]interface{}{"requestState": b1.RequestState,
		"inputResponses": map[string]interface{}{
			"client_roots": map[string]interface{}{"roots": []map[string]string{{"uri": "file:///g"}}},
			"greeting":     map[string]interface{}{"role": "assistant", "content": map[string]string{"type": "text", "text": "yo"}, "model": "m"},
		}})
	if e != nil || b2.text() != "yo file:///g" {
		t.Fatalf("both, round 2: %+v %v", b2, e)
	}
}
