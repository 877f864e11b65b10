package mcp

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

type forecastIn struct {
	City string `json:"city" jsonschema:"city name"`
}

type forecastOut struct {
	City    string  `json:"city"`
	Celsius float64 `json:"celsius"`
	Sky     string  `json:"sky,omitempty"`
}

func TestTypedToolWithOutput(t *testing.T) {
	s := newTestServer(t)
	err := AddTypedTool(s, &Tool{Name: "forecast", Annotations: &ToolAnnotations{ReadOnlyHint: Ptr(true)}},
		func(ctx context.Context, in forecastIn) (forecastOut, error) {
			if in.City == "Atlantis" {
				return forecastOut{}, errors.New("no weather under the sea")
			}
			return forecastOut{City: in.City, Celsius: 21.5}, nil
		})
	if err != nil {
		t.Fatal(err)
	}
	if err := AddTypedTool(s, &Tool{Name: "listy"}, func(context.Context, forecastIn) ([]string, error) { return nil, nil }); !errors.Is(err, ErrInvalidArg) ||
		!strings.Contains(err.Error(), "output") {
		t.Errorf("a slice as output: %v", err)
	}
	c := newTestClient(t, s)
	c.initialize(nil)
	var list struct {
		Tools []struct {
			Name         string          `json:"name"`
			OutputSchema json.RawMessage `json:"outputSchema"`
			Annotations  json.RawMessage `json:"annotations"`
		} `json:"tools"`
	}
	c.mustCall("tools/list", nil, &list)
	if len(list.Tools) != 1 {
		t.Fatalf("tools: %+v", list.Tools)
	}
	want := `{"type":"object","properties":{"city":{"type":"string"},"celsius":{"type":"number"},"sky":{"type":"string"}},"required":["city","celsius"],"additionalProperties":false}`
	if got := string(list.Tools[0].OutputSchema); got != want {
		t.Errorf("outputSchema\n got %s\nwant %s", got, want)
	}
	if got := string(list.Tools[0].Annotations); got != `{"readOnlyHint":true}` {
		t.Errorf("annotations: %s", got)
	}
	r := c.callTool("forecast", map[string]string{"city": "Oslo"})
	if r.IsError || string(r.StructuredContent) != `{"city":"Oslo","celsius":21.5}` || r.text() != `{"city":"Oslo","celsius":21.5}` {
		t.Errorf("forecast: %+v", r)
	}
	if r := c.callTool("forecast", map[string]string{"city": "Atlantis"}); !r.IsError || r.text() != "no weather under the sea" ||
		r.StructuredContent != nil {
		t.Errorf("forecast error: %+v", r)
	}
}

type greetArgs struct {
	Name  string `json:"name" jsonschema:"who to greet"`
	Style string `json:"style,omitempty"`
}

func TestTypedPrompt(t *testing.T) {
	s := newTestServer(t)
	err := AddTypedPrompt(s, &Prompt{Name: "greet"}, func(ctx context.Context, in greetArgs) (*PromptResult, error) {
		return &PromptResult{Messages: []*PromptMessage{{Role: RoleUser, Content: Text("Hello " + in.Name + " " + in.Style)}}}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	type numbers struct {
		N int `json:"n"`
	}
	if err := AddTypedPrompt(s, &Prompt{Name: "n"}, func(context.Context, numbers) (*PromptResult, error) { return nil, nil }); !errors.Is(err, ErrInvalidArg) ||
		!strings.Contains(err.Error(), `argument "n"`) {
		t.Errorf("a non-string argument: %v", err)
	}
	c := newTestClient(t, s)
	c.initialize(nil)
	raw, _ := c.call("prompts/list", nil)
	if !strings.Contains(string(raw), `"arguments":[{"name":"name","description":"who to greet","required":true},{"name":"style"}]`) {
		t.Errorf("prompts/list: %s", raw)
	}
	raw, e := c.call("prompts/get", map[string]interface{}{"name": "greet", "arguments": map[string]string{"name": "Ada", "style": "warmly"}})
	if e != nil || !strings.Contains(string(raw), `"text":"Hello Ada warmly"`) {
		t.Errorf("prompts/get: %s %v", raw, e)
	}
	if _, e := c.call("prompts/get", map[string]interface{}{"name": "greet", "arguments": map[string]string{"style": "x"}}); e == nil || e.Code != CodeInvalidParams {
		t.Errorf("missing argument: %v", e)
	}
	if _, e := c.call("prompts/get", map[string]interface{}{"name": "greet", "arguments": map[string]string{"name": "A", "nmae": "x"}}); e == nil ||
		e.Code != CodeInvalidParams || !strings.Contains(e.Message, "nmae") {
		t.Errorf("unknown argument: %v", e)
	}
}

type contact struct {
	Name  string `json:"name" jsonschema:"your name"`
	Age   int    `json:"age,omitempty"`
	Email bool   `json:"subscribe,omitempty"`
}

func TestTypedElicit(t *testing.T) {
	s := newTestServer(t)
	s.AddTool(&Tool{Name: "ask"}, func(ctx context.Context, _ json.RawMessage) (*ToolResult, error) {
		a, err := Elicit[contact](ctx, "Who are you?")
		if err != nil {
			return nil, err
		}
		b, _ := json.Marshal(a.Content)
		return TextResult(a.Action + " " + string(b)), nil
	})
	type nested struct {
		Where forecastIn `json:"where"`
	}
	s.AddTool(&Tool{Name: "nested"}, func(ctx context.Context, _ json.RawMessage) (*ToolResult, error) {
		_, err := Elicit[nested](ctx, "?")
		return nil, err
	})
	if _, err := Elicit[contact](context.Background(), "?"); !errors.Is(err, ErrState) {
		t.Errorf("Elicit outside a handler: %v", err)
	}
	c := newTestClient(t, s)
	sent := make(chan string, 2)
	answer := map[string]interface{}{"action": "accept", "content": map[string]interface{}{"name": "Ada", "age": 36}}
	c.onRequest = func(method string, params json.RawMessage) (interface{}, *RPCError) {
		sent <- string(params)
		return answer, nil
	}
	c.initialize(map[string]interface{}{"elicitation": map[string]interface{}{}})
	if r := c.callTool("ask", nil); r.IsError || r.text() != `accept {"name":"Ada","age":36}` {
		t.Errorf("ask: %+v", r)
	}
	if got := <-sent; !strings.Contains(got, `"requestedSchema":{"type":"object","properties":{"name":{"type":"string","description":"your name"},"age":{"type":"integer"},"subscribe":{"type":"boolean"}},"required":["name"]`) {
		t.Errorf("elicitation request: %s", got)
	}
	answer = map[string]interface{}{"action": "decline"}
	if r := c.callTool("ask", nil); r.IsError || r.text() != `decline {"name":""}` {
		t.Errorf("declined: %+v", r)
	}
	<-sent
	if r := c.callTool("nested", nil); !r.IsError || !strings.Contains(r.text(), `field "where" is not a string`) {
		t.Errorf("nested form: %+v", r)
	}
}
