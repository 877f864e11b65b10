package mcp

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"reflect"
)

// TypedToolHandler answers tools/call with its arguments decoded into In.
type TypedToolHandler[In any] func(ctx context.Context, in In) (*ToolResult, error)

// AddTypedTool offers a tool whose arguments decode into In, a struct (or a
// map with string keys). Unless t.InputSchema is set, the input schema is
// derived from In (see SchemaFor) and, before h runs, the arguments are
// checked against it (required arguments present, no unknown ones). They are
// then decoded into In; a bad call gets a result with IsError naming the problem, as the
// protocol asks for input errors, and h does not run. opts are AddTool's
// (Quick: then the checking and decoding run on the thread that read the
// request too).
func AddTypedTool[In any](s *Server, t *Tool, h TypedToolHandler[In], opts ...ToolOption) error {
	if t == nil || h == nil {
		return &Error{Op: "AddTypedTool", Status: ErrInvalidArg, Message: "nil tool or handler"}
	}
	typ := reflect.TypeOf((*In)(nil)).Elem()
	sch, err := objectSchema(typ)
	if err != nil {
		return &Error{Op: "AddTypedTool", Status: ErrInvalidArg, Message: fmt.Sprintf("tool %q: %v", t.Name, err)}
	}
	tool := *t
	check := tool.InputSchema == nil // a schema of the caller's own is the caller's to check
	if check {
		if tool.InputSchema, err = json.Marshal(sch); err != nil {
			return &Error{Op: "AddTypedTool", Status: ErrInvalidJSON, Message: err.Error()}
		}
	}
	name := t.Name
	return s.AddTool(&tool, func(ctx context.Context, args json.RawMessage) (*ToolResult, error) {
		if check {
			if err := checkArgs(sch, args, ""); err != nil {
				return ErrorResult(fmt.Sprintf("invalid arguments for tool %q: %v", name, err)), nil
			}
		}
		var in In
		dec := json.NewDecoder(bytes.NewReader(args))
		if err := dec.Decode(&in); err != nil {
			return ErrorResult(fmt.Sprintf("invalid arguments for tool %q: %v", name, err)), nil
		}
		return h(ctx, in)
	}, opts...)
}
