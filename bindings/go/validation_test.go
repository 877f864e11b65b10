package mcp

import (
	"context"
	"encoding/json"
	"testing"
)

// The engine checks arguments against InputSchema before the handler runs
// (library 1.4); NoValidation and ServerOptions.NoSchemaValidation let any
// arguments through to the handler.
func TestSchemaValidation(t *testing.T) {
	schema := json.RawMessage(`{"type":"object","properties":{"n":{"type":"integer"}},"required":["n"]}`)
	for _, tc := range []struct {
		name      string
		opts      *ServerOptions
		toolOpts  []ToolOption
		validated bool
	}{
		{"default", nil, nil, true},
		{"NoValidation", nil, []ToolOption{NoValidation()}, false},
		{"NoValidation Quick", nil, []ToolOption{NoValidation(), Quick()}, false},
		{"NoSchemaValidation", &ServerOptions{NoSchemaValidation: true}, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := NewServer("v", "1", tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			got := make(chan string, 4)
			err = s.AddTool(&Tool{Name: "count", InputSchema: schema}, func(_ context.Context, args json.RawMessage) (*ToolResult, error) {
				got <- string(args)
				return TextResult("ran"), nil
			}, tc.toolOpts...)
			if err != nil {
				t.Fatal(err)
			}
			c := newTestClient(t, s)
			c.initialize(nil)
			r := c.callTool("count", map[string]string{"n": "three"})
			if tc.validated {
				if !r.IsError || r.text() != "Invalid arguments for tool count: at /n: expected integer, got string" {
					t.Errorf("bad arguments: %+v", r)
				}
				select {
				case a := <-got:
					t.Errorf("the handler ran with %s", a)
				default:
				}
			} else {
				if r.IsError || r.text() != "ran" || <-got != `{"n":"three"}` {
					t.Errorf("unchecked: %+v", r)
				}
			}
			if r := c.callTool("count", map[string]int{"n": 3}); r.IsError || r.text() != "ran" {
				t.Errorf("good arguments: %+v", r)
			}
		})
	}
}
