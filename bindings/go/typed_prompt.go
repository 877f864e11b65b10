package mcp

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
)

// AddTypedPrompt offers a prompt whose arguments are In's fields, as
// AddTypedTool's are: In is a struct of string fields (prompt arguments are
// strings); each field's json name is the argument's name, its jsonschema
// tag the description, and it is required unless its json tag has omitempty
// (or the tag mcp:"optional"). p.Arguments, when set, is kept as given. The
// engine answers -32602 for a missing required argument before h runs; an
// unknown argument is refused the same way.
func AddTypedPrompt[In any](s *Server, p *Prompt, h func(ctx context.Context, in In) (*PromptResult, error)) error {
	if p == nil || h == nil {
		return &Error{Op: "AddTypedPrompt", Status: ErrInvalidArg, Message: "nil prompt or handler"}
	}
	typ := reflect.TypeOf((*In)(nil)).Elem()
	sch, err := objectSchema(typ)
	if err == nil && sch.AdditionalProperties != nil {
		err = fmt.Errorf("mcp: prompt arguments of %v: a struct, not a map", typ)
	}
	if err != nil {
		return &Error{Op: "AddTypedPrompt", Status: ErrInvalidArg, Message: fmt.Sprintf("prompt %q: %v", p.Name, err)}
	}
	required := map[string]bool{}
	for _, r := range sch.Required {
		required[r] = true
	}
	known := map[string]bool{}
	var args []*PromptArgument
	for _, f := range sch.Properties {
		if f.schema.Type != "string" {
			return &Error{Op: "AddTypedPrompt", Status: ErrInvalidArg,
				Message: fmt.Sprintf("prompt %q: argument %q of %v is not a string (prompt arguments are strings)", p.Name, f.name, typ)}
		}
		known[f.name] = true
		args = append(args, &PromptArgument{Name: f.name, Description: f.schema.Description, Required: required[f.name]})
	}
	prompt := *p
	if prompt.Arguments == nil {
		prompt.Arguments = args
	}
	return s.AddPrompt(&prompt, func(ctx context.Context, given map[string]string) (*PromptResult, error) {
		var unknown []string
		for k := range given {
			if !known[k] {
				unknown = append(unknown, k)
			}
		}
		if len(unknown) > 0 {
			return nil, &RPCError{Code: CodeInvalidParams, Message: fmt.Sprintf("prompt %q has no argument %s", p.Name, strings.Join(unknown, ", "))}
		}
		raw, err := json.Marshal(given)
		if err != nil {
			return nil, err
		}
		var in In
		if err := json.Unmarshal(raw, &in); err != nil {
			return nil, &RPCError{Code: CodeInvalidParams, Message: fmt.Sprintf("prompt %q: %v", p.Name, err)}
		}
		return h(ctx, in)
	})
}
