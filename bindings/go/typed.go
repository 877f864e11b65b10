package mcp

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"reflect"
)

// TypedToolHandler answers tools/call with its arguments decoded into In.
// It is AddTypedTool's handler with Out = *ToolResult.
type TypedToolHandler[In any] func(ctx context.Context, in In) (*ToolResult, error)

var toolResultType = reflect.TypeOf((*ToolResult)(nil))

// AddTypedTool offers a tool whose arguments decode into In, a struct (or a
// map with string keys). Unless t.InputSchema is set, the input schema is
// derived from In (see SchemaFor) and, before h runs, the arguments are
// checked against it (required arguments present, no unknown ones). They are
// then decoded into In; a bad call gets a result with IsError naming the problem, as the
// protocol asks for input errors, and h does not run. opts are AddTool's
// (Quick: then the checking and decoding run on the thread that read the
// request too).
//
// Out is what h returns. With Out = *ToolResult, h builds the whole result.
// With any other Out, a struct (or a map with string keys), the tool has
// structured output: unless t.OutputSchema is set, its outputSchema is
// derived from Out as the input schema is from In, and the value h returns
// is the result's structuredContent (with its JSON as the text block, for
// clients that read only text). An error from h is a tool error either way.
// Out is inferred from h: AddTypedTool(s, tool, h), or AddTypedTool[In](...).
func AddTypedTool[In, Out any](s *Server, t *Tool, h func(ctx context.Context, in In) (Out, error), opts ...ToolOption) error {
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
	outType := reflect.TypeOf((*Out)(nil)).Elem()
	structured := outType != toolResultType
	if structured && tool.OutputSchema == nil {
		out, err := objectSchema(outType)
		if err != nil {
			return &Error{Op: "AddTypedTool", Status: ErrInvalidArg,
				Message: fmt.Sprintf("tool %q: output: %v (structuredContent is a JSON object)", t.Name, err)}
		}
		if tool.OutputSchema, err = json.Marshal(out); err != nil {
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
		out, err := h(ctx, in)
		if err != nil || !structured {
			r, _ := interface{}(out).(*ToolResult)
			return r, err
		}
		return &ToolResult{StructuredContent: out}, nil
	}, opts...)
}
