package mcp

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

type schemaInner struct {
	Label string `json:"label"`
}

type SchemaEmbedded struct {
	Shared string `json:"shared,omitempty" jsonschema:"from the embedded struct"`
}

type schemaAll struct {
	SchemaEmbedded
	Name    string            `json:"name" jsonschema:"who"`
	Count   int               `json:"count,omitempty"`
	Ratio   float64           `json:"ratio" mcp:"optional"`
	Flag    *bool             `json:"flag,omitempty" mcp:"required"`
	Tags    []string          `json:"tags,omitempty"`
	Pair    [2]int            `json:"pair,omitempty"`
	Attrs   map[string]int    `json:"attrs,omitempty"`
	Inner   schemaInner       `json:"inner,omitempty"`
	Inners  []*schemaInner    `json:"inners,omitempty"`
	When    time.Time         `json:"when,omitempty"`
	Raw     json.RawMessage   `json:"raw,omitempty"`
	Any     interface{}       `json:"any,omitempty"`
	Bytes   []byte            `json:"bytes,omitempty"`
	Quoted  int64             `json:"quoted,string,omitempty"`
	NoTag   string            `mcp:"optional"`
	Skipped string            `json:"-"`
	private string            //nolint:unused
	ByID    map[int]string    `json:"by_id,omitempty"`
	Nested  map[string][]bool `json:"nested,omitempty"`
	Uint    uint8             `json:"uint,omitempty"`
}

func TestSchemaFor(t *testing.T) {
	got, err := SchemaFor[schemaAll]()
	if err != nil {
		t.Fatal(err)
	}
	want := `{"type":"object","properties":{` +
		`"shared":{"type":"string","description":"from the embedded struct"},` +
		`"name":{"type":"string","description":"who"},` +
		`"count":{"type":"integer"},` +
		`"ratio":{"type":"number"},` +
		`"flag":{"type":"boolean"},` +
		`"tags":{"type":"array","items":{"type":"string"}},` +
		`"pair":{"type":"array","items":{"type":"integer"},"minItems":2,"maxItems":2},` +
		`"attrs":{"type":"object","additionalProperties":{"type":"integer"}},` +
		`"inner":{"type":"object","properties":{"label":{"type":"string"}},"required":["label"],"additionalProperties":false},` +
		`"inners":{"type":"array","items":{"type":"object","properties":{"label":{"type":"string"}},"required":["label"],"additionalProperties":false}},` +
		`"when":{"type":"string","format":"date-time"},` +
		`"raw":{},"any":{},` +
		`"bytes":{"type":"string","contentEncoding":"base64"},` +
		`"quoted":{"type":"string"},` +
		`"NoTag":{"type":"string"},` +
		`"by_id":{"type":"object","additionalProperties":{"type":"string"}},` +
		`"nested":{"type":"object","additionalProperties":{"type":"array","items":{"type":"boolean"}}},` +
		`"uint":{"type":"integer"}` +
		`},"required":["name","flag"],"additionalProperties":false}`
	if string(got) != want {
		t.Errorf("SchemaFor[schemaAll]:\n got %s\nwant %s", got, want)
	}
	var v interface{}
	if err := json.Unmarshal(got, &v); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	// A pointer to a struct and a map with string keys are objects too.
	if s, err := SchemaFor[*schemaInner](); err != nil || string(s) != `{"type":"object","properties":{"label":{"type":"string"}},"required":["label"],"additionalProperties":false}` {
		t.Errorf("SchemaFor[*schemaInner]: %s %v", s, err)
	}
	if s, err := SchemaFor[map[string]string](); err != nil || string(s) != `{"type":"object","additionalProperties":{"type":"string"}}` {
		t.Errorf("SchemaFor[map]: %s %v", s, err)
	}
	if s, err := SchemaFor[struct{}](); err != nil || string(s) != `{"type":"object","properties":{},"additionalProperties":false}` {
		t.Errorf("SchemaFor[struct{}]: %s %v", s, err)
	}
}

type schemaRecursive struct {
	Children []schemaRecursive `json:"children"`
}

func TestSchemaForErrors(t *testing.T) {
	cases := map[string]func() error{
		"not an object": func() error { _, err := SchemaFor[string](); return err },
		"a slice":       func() error { _, err := SchemaFor[[]int](); return err },
		"recursive":     func() error { _, err := SchemaFor[schemaRecursive](); return err },
		"channel": func() error {
			_, err := SchemaFor[struct {
				C chan int `json:"c"`
			}]()
			return err
		},
		"func": func() error {
			_, err := SchemaFor[struct{ F func() }]()
			return err
		},
		"complex": func() error {
			_, err := SchemaFor[struct{ Z complex128 }]()
			return err
		},
		"bad map key": func() error {
			_, err := SchemaFor[struct{ M map[float64]int }]()
			return err
		},
		"duplicate name": func() error {
			_, err := SchemaFor[struct {
				X string
				B string `json:"X"`
			}]()
			return err
		},
		"bad mcp tag": func() error {
			_, err := SchemaFor[struct {
				A string `json:"a" mcp:"mandatory"`
			}]()
			return err
		},
	}
	wants := map[string]string{
		"not an object":  "must be a struct or a map",
		"a slice":        "must be a struct or a map",
		"recursive":      "recursive types are not supported",
		"channel":        "chan values cannot be tool arguments (field C)",
		"func":           "func values cannot be tool arguments",
		"complex":        "complex128 values cannot be tool arguments",
		"bad map key":    "map keys must be strings or integers",
		"duplicate name": `two fields have the JSON name "X"`,
		"bad mcp tag":    `unknown mcp tag "mandatory"`,
	}
	for name, f := range cases {
		err := f()
		if err == nil || !strings.Contains(err.Error(), wants[name]) {
			t.Errorf("%s: got %v, want an error containing %q", name, err, wants[name])
		}
	}
}

type weatherArgs struct {
	City  string   `json:"city" jsonschema:"city name"`
	Days  int      `json:"days,omitempty"`
	Units *string  `json:"units,omitempty"`
	Stops []leg    `json:"stops,omitempty"`
	Ratio *float64 `json:"ratio,omitempty"`
}

type leg struct {
	From string `json:"from"`
	To   string `json:"to,omitempty"`
}

func TestTypedTool(t *testing.T) {
	s := newTestServer(t)
	got := make(chan weatherArgs, 4)
	err := AddTypedTool(s, &Tool{Name: "weather", Description: "forecast"}, func(ctx context.Context, in weatherArgs) (*ToolResult, error) {
		got <- in
		return TextResult("sunny in " + in.City), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// A schema of the caller's own is kept and not enforced here.
	err = AddTypedTool(s, &Tool{Name: "custom", InputSchema: json.RawMessage(`{"type":"object"}`)}, func(ctx context.Context, in map[string]int) (*ToolResult, error) {
		return TextResult(strings.Repeat("x", in["n"])), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := AddTypedTool(s, &Tool{Name: "bad"}, func(ctx context.Context, in []string) (*ToolResult, error) { return nil, nil }); !errors.Is(err, ErrInvalidArg) ||
		!strings.Contains(err.Error(), "must be a struct") {
		t.Errorf("AddTypedTool with a slice input: %v", err)
	}
	if err := AddTypedTool[weatherArgs, *ToolResult](s, &Tool{Name: "nil"}, nil); !errors.Is(err, ErrInvalidArg) {
		t.Errorf("nil handler: %v", err)
	}
	c := newTestClient(t, s)
	c.initialize(nil)
	var list struct {
		Tools []struct {
			Name        string          `json:"name"`
			InputSchema json.RawMessage `json:"inputSchema"`
		} `json:"tools"`
	}
	c.mustCall("tools/list", nil, &list)
	schemas := map[string]string{}
	for _, tl := range list.Tools {
		schemas[tl.Name] = string(tl.InputSchema)
	}
	wantSchema := `{"type":"object","properties":{"city":{"type":"string","description":"city name"},"days":{"type":"integer"},` +
		`"units":{"type":"string"},"stops":{"type":"array","items":{"type":"object","properties":{"from":{"type":"string"},"to":{"type":"string"}},"required":["from"],"additionalProperties":false}},` +
		`"ratio":{"type":"number"}},"required":["city"],"additionalProperties":false}`
	if schemas["weather"] != wantSchema {
		t.Errorf("weather schema sent:\n got %s\nwant %s", schemas["weather"], wantSchema)
	}
	if schemas["custom"] != `{"type":"object"}` {
		t.Errorf("custom schema sent: %s", schemas["custom"])
	}

	r := c.callTool("weather", map[string]interface{}{"city": "Oslo", "days": 3, "units": "metric", "stops": []map[string]string{{"from": "a"}}})
	if r.IsError || r.text() != "sunny in Oslo" {
		t.Fatalf("weather: %+v", r)
	}
	in := <-got
	if in.City != "Oslo" || in.Days != 3 || in.Units == nil || *in.Units != "metric" || len(in.Stops) != 1 || in.Stops[0].From != "a" {
		t.Errorf("decoded %+v", in)
	}
	// The engine checks the arguments against the schema before the handler
	// runs (library 1.4), with the reason as text.
	for args, want := range map[string]string{
		`{}`:                                `at /city: the required property "city" is missing`,
		`{"city":null}`:                     `at /city: expected string, got null`,
		`{"city":"x","colour":"red"}`:       `at /colour: the property "colour" is not allowed`,
		`{"city":"x","stops":[{"to":"b"}]}`: `at /stops/0/from: the required property "from" is missing`,
		`{"city":"x","stops":[{"from":"a","x":1}]}`: `at /stops/0/x: the property "x" is not allowed`,
		`{"city":"x","stops":{"from":"a"}}`:         `at /stops: expected array, got object`,
		`{"city":7}`:                                `at /city: expected string, got integer`,
	} {
		var raw json.RawMessage = json.RawMessage(args)
		r := c.callTool("weather", raw)
		if !r.IsError || r.text() != `Invalid arguments for tool weather: `+want {
			t.Errorf("weather(%s): %+v, want isError with %q", args, r, want)
		}
	}
	select {
	case in := <-got:
		t.Errorf("the handler ran for bad arguments: %+v", in)
	default:
	}
	if r := c.callTool("custom", map[string]int{"n": 3}); r.text() != "xxx" {
		t.Errorf("custom: %+v", r)
	}
}
