package mcp

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
)

// ElicitAnswer is the user's answer to Elicit[T]: Action "accept" (then
// Content holds the form's values), "decline" or "cancel" (Content is T's
// zero value).
type ElicitAnswer[T any] struct {
	Action  string
	Content T
	Meta    Meta
}

// Accepted reports whether the user submitted the form.
func (a *ElicitAnswer[T]) Accepted() bool { return a.Action == "accept" }

// Elicit asks the user, through the client, to fill a form whose fields are
// T's: T is a struct of strings, numbers, integers and booleans (the flat
// forms that elicitation allows; see SchemaFor for the tags), and the
// requested schema is derived from it. The answer is decoded into T; the
// engine has checked it against that schema. It needs the client's
// elicitation capability, else ErrUnsupported. In a 2026-07-28 call whose
// client has not answered yet it returns an error matching ErrInputRequired:
// return it from the handler (see Call.RequestNamed); key names the request
// ("" for the default). ctx is the handler's (see CallFromContext).
func Elicit[T any](ctx context.Context, message string, key ...string) (*ElicitAnswer[T], error) {
	c := CallFromContext(ctx)
	if c == nil {
		return nil, &Error{Op: "Elicit", Status: ErrState, Message: "not called from a handler's context"}
	}
	typ := reflect.TypeOf((*T)(nil)).Elem()
	sch, err := objectSchema(typ)
	if err == nil {
		err = flatForm(sch)
	}
	if err != nil {
		return nil, &Error{Op: "Elicit", Status: ErrInvalidArg, Message: err.Error()}
	}
	p := &ElicitParams{Message: message, RequestedSchema: sch}
	if len(key) > 0 {
		p.Key = key[0]
	}
	res, err := c.Elicit(ctx, p)
	if err != nil {
		return nil, err
	}
	answer := &ElicitAnswer[T]{Action: res.Action, Meta: res.Meta}
	if res.Action == "accept" && res.Content != nil {
		raw, err := json.Marshal(res.Content)
		if err == nil {
			err = json.Unmarshal(raw, &answer.Content)
		}
		if err != nil {
			return nil, &Error{Op: "Elicit", Status: ErrPeer, Message: "the client's answer does not fit " + typ.String() + ": " + err.Error()}
		}
	}
	return answer, nil
}

// flatForm refuses what an elicitation form cannot ask for: nested objects,
// arrays and values of any shape.
func flatForm(s *schema) error {
	if s.AdditionalProperties != nil {
		return fmt.Errorf("mcp: an elicitation form is a struct, not a map (%v)", s.goType)
	}
	for _, p := range s.Properties {
		switch p.schema.Type {
		case "string", "number", "integer", "boolean":
		default:
			return fmt.Errorf("mcp: elicitation form %v: field %q is not a string, number, integer or boolean", s.goType, p.name)
		}
	}
	return nil
}
