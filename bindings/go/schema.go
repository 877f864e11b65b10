package mcp

// JSON Schema derived from Go types by reflection, for typed tools.
//
// Rules (they follow encoding/json, which decodes the arguments):
//   - a struct is an object; its properties are the exported fields under
//     their json names (json:"-" skips one; embedded structs without a json
//     name have their fields promoted);
//   - a field is required unless its json tag has omitempty; the tag
//     mcp:"required" or mcp:"optional" overrides that;
//   - the tag jsonschema:"..." is the property's description (as in the
//     official go-sdk);
//   - strings, bools, integers and floats map to string, boolean, integer,
//     number (a json ",string" option makes the value a string); slices and
//     arrays to array ([]byte is a base64 string); maps with string or integer
//     keys to object with additionalProperties; pointers to their element;
//     time.Time to a date-time string; interfaces and json.RawMessage to {}
//     (any value); other json.Marshaler types to {};
//   - a struct's object has additionalProperties false: unknown arguments
//     are refused, so a misspelt argument does not pass silently;
//   - channels, functions, complex numbers and recursive types are errors.

import (
	"bytes"
	"encoding"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"time"
)

// schema is one JSON Schema node; properties keep the field order.
type schema struct {
	Type                 string
	Format               string
	ContentEncoding      string
	Description          string
	Properties           []property
	Required             []string
	AdditionalProperties *schema // for maps
	NoAdditional         bool    // for structs: additionalProperties false
	Items                *schema
	MinItems, MaxItems   *int

	// For decoding checks: the struct field each property came from.
	goType reflect.Type
}

type property struct {
	name   string
	schema *schema
}

// MarshalJSON writes the node with its keys in a fixed order.
func (s *schema) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	first := true
	key := func(k string) {
		if !first {
			b.WriteByte(',')
		}
		first = false
		kb, _ := json.Marshal(k)
		b.Write(kb)
		b.WriteByte(':')
	}
	val := func(v interface{}) error {
		vb, err := json.Marshal(v)
		b.Write(vb)
		return err
	}
	if s.Type != "" {
		key("type")
		val(s.Type)
	}
	if s.Format != "" {
		key("format")
		val(s.Format)
	}
	if s.ContentEncoding != "" {
		key("contentEncoding")
		val(s.ContentEncoding)
	}
	if s.Description != "" {
		key("description")
		val(s.Description)
	}
	if s.Type == "object" && (s.Properties != nil || s.NoAdditional) {
		key("properties")
		b.WriteByte('{')
		for i, p := range s.Properties {
			if i > 0 {
				b.WriteByte(',')
			}
			kb, _ := json.Marshal(p.name)
			b.Write(kb)
			b.WriteByte(':')
			if err := val(p.schema); err != nil {
				return nil, err
			}
		}
		b.WriteByte('}')
	}
	if len(s.Required) > 0 {
		key("required")
		val(s.Required)
	}
	if s.NoAdditional {
		key("additionalProperties")
		b.WriteString("false")
	} else if s.AdditionalProperties != nil {
		key("additionalProperties")
		if err := val(s.AdditionalProperties); err != nil {
			return nil, err
		}
	}
	if s.Items != nil {
		key("items")
		if err := val(s.Items); err != nil {
			return nil, err
		}
	}
	if s.MinItems != nil {
		key("minItems")
		val(*s.MinItems)
	}
	if s.MaxItems != nil {
		key("maxItems")
		val(*s.MaxItems)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// SchemaFor returns the JSON Schema of T by the rules above. T must be a
// struct (or a pointer to one) or a map with string keys, so that the schema
// is an object, as a tool's inputSchema must be.
func SchemaFor[T any]() (json.RawMessage, error) {
	s, err := objectSchema(reflect.TypeOf((*T)(nil)).Elem())
	if err != nil {
		return nil, err
	}
	return json.Marshal(s)
}

func objectSchema(t reflect.Type) (*schema, error) {
	s, err := schemaOf(t, map[reflect.Type]bool{})
	if err != nil {
		return nil, err
	}
	if s.Type != "object" {
		return nil, fmt.Errorf("mcp: schema of %v: a tool's input must be a struct or a map with string keys, not %v", t, t.Kind())
	}
	return s, nil
}

var (
	timeType        = reflect.TypeOf(time.Time{})
	rawMessageType  = reflect.TypeOf(json.RawMessage(nil))
	marshalerType   = reflect.TypeOf((*json.Marshaler)(nil)).Elem()
	textMarshalType = reflect.TypeOf((*encoding.TextMarshaler)(nil)).Elem()
)

func schemaOf(t reflect.Type, active map[reflect.Type]bool) (*schema, error) {
	switch t {
	case timeType:
		return &schema{Type: "string", Format: "date-time", goType: t}, nil
	case rawMessageType:
		return &schema{goType: t}, nil
	}
	if t.Kind() != reflect.Ptr && t.Kind() != reflect.Interface &&
		(t.Implements(marshalerType) || reflect.PtrTo(t).Implements(marshalerType)) {
		return &schema{goType: t}, nil // a shape of its own: any value
	}
	if t.Kind() != reflect.Ptr && t.Kind() != reflect.Interface &&
		(t.Implements(textMarshalType) || reflect.PtrTo(t).Implements(textMarshalType)) {
		return &schema{Type: "string", goType: t}, nil
	}
	switch t.Kind() {
	case reflect.Bool:
		return &schema{Type: "boolean", goType: t}, nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return &schema{Type: "integer", goType: t}, nil
	case reflect.Float32, reflect.Float64:
		return &schema{Type: "number", goType: t}, nil
	case reflect.String:
		return &schema{Type: "string", goType: t}, nil
	case reflect.Interface:
		return &schema{goType: t}, nil
	case reflect.Ptr:
		return schemaOf(t.Elem(), active)
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 && t.Kind() == reflect.Slice {
			return &schema{Type: "string", ContentEncoding: "base64", goType: t}, nil
		}
		items, err := schemaOf(t.Elem(), active)
		if err != nil {
			return nil, err
		}
		s := &schema{Type: "array", Items: items, goType: t}
		if t.Kind() == reflect.Array {
			n := t.Len()
			s.MinItems, s.MaxItems = &n, &n
		}
		return s, nil
	case reflect.Map:
		switch t.Key().Kind() {
		case reflect.String, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
			reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		default:
			if !t.Key().Implements(textMarshalType) {
				return nil, fmt.Errorf("mcp: schema of %v: map keys must be strings or integers", t)
			}
		}
		vs, err := schemaOf(t.Elem(), active)
		if err != nil {
			return nil, err
		}
		return &schema{Type: "object", AdditionalProperties: vs, goType: t}, nil
	case reflect.Struct:
		if active[t] {
			return nil, fmt.Errorf("mcp: schema of %v: recursive types are not supported", t)
		}
		active[t] = true
		defer delete(active, t)
		s := &schema{Type: "object", NoAdditional: true, Properties: []property{}, goType: t}
		seen := map[string]bool{}
		if err := addFields(s, t, active, seen); err != nil {
			return nil, err
		}
		return s, nil
	default:
		return nil, fmt.Errorf("mcp: schema of %v: %v values cannot be tool arguments", t, t.Kind())
	}
}

// addFields adds t's fields to s, promoting those of embedded structs.
func addFields(s *schema, t reflect.Type, active map[reflect.Type]bool, seen map[string]bool) error {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		ft := f.Type
		if f.Anonymous && name == "" {
			et := ft
			if et.Kind() == reflect.Ptr {
				et = et.Elem()
			}
			if et.Kind() == reflect.Struct {
				if active[et] {
					return fmt.Errorf("mcp: schema of %v: recursive types are not supported", et)
				}
				if err := addFields(s, et, active, seen); err != nil {
					return err
				}
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		if seen[name] {
			return fmt.Errorf("mcp: schema of %v: two fields have the JSON name %q", t, name)
		}
		seen[name] = true
		fs, err := schemaOf(ft, active)
		if err != nil {
			return fmt.Errorf("%w (field %s)", err, f.Name)
		}
		if hasOpt(opts, "string") {
			switch fs.Type {
			case "integer", "number", "boolean":
				fs = &schema{Type: "string", goType: ft}
			}
		}
		if d := f.Tag.Get("jsonschema"); d != "" {
			// Copy: the node may be shared by other fields of the same type.
			c := *fs
			c.Description = d
			fs = &c
		}
		required := !hasOpt(opts, "omitempty")
		switch m := f.Tag.Get("mcp"); m {
		case "":
		case "required":
			required = true
		case "optional":
			required = false
		default:
			return fmt.Errorf("mcp: schema of %v: field %s: unknown mcp tag %q (want \"required\" or \"optional\")", t, f.Name, m)
		}
		s.Properties = append(s.Properties, property{name: name, schema: fs})
		if required {
			s.Required = append(s.Required, name)
		}
	}
	return nil
}

func hasOpt(opts, want string) bool {
	for opts != "" {
		var o string
		o, opts, _ = strings.Cut(opts, ",")
		if o == want {
			return true
		}
	}
	return false
}

// checkArgs checks raw against s the way the schema promises and
// encoding/json does not: required properties present (and not null),
// no unknown properties in struct objects, nested too. path names the place
// for the message.
func checkArgs(s *schema, raw json.RawMessage, path string) error {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil // the decoder reports type errors; null leaves zero values
	}
	switch {
	case s.Type == "object" && s.NoAdditional:
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(raw, &obj); err != nil {
			return fmt.Errorf("%s must be an object", where(path))
		}
		known := make(map[string]*schema, len(s.Properties))
		for _, p := range s.Properties {
			known[p.name] = p.schema
		}
		for _, r := range s.Required {
			v, ok := obj[r]
			if !ok {
				return fmt.Errorf("missing required argument %q%s", r, in(path))
			}
			if bytes.Equal(bytes.TrimSpace(v), []byte("null")) {
				return fmt.Errorf("argument %q%s must not be null", r, in(path))
			}
		}
		for k, v := range obj {
			ps, ok := known[k]
			if !ok {
				return fmt.Errorf("unknown argument %q%s", k, in(path))
			}
			if err := checkArgs(ps, v, join(path, k)); err != nil {
				return err
			}
		}
	case s.Type == "object" && s.AdditionalProperties != nil:
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(raw, &obj); err != nil {
			return fmt.Errorf("%s must be an object", where(path))
		}
		for k, v := range obj {
			if err := checkArgs(s.AdditionalProperties, v, join(path, k)); err != nil {
				return err
			}
		}
	case s.Type == "array" && s.Items != nil:
		var arr []json.RawMessage
		if err := json.Unmarshal(raw, &arr); err != nil {
			return fmt.Errorf("%s must be an array", where(path))
		}
		for i, v := range arr {
			if err := checkArgs(s.Items, v, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	}
	return nil
}

func join(path, k string) string {
	if path == "" {
		return k
	}
	return path + "." + k
}

func in(path string) string {
	if path == "" {
		return ""
	}
	return " in " + path
}

func where(path string) string {
	if path == "" {
		return "the arguments"
	}
	return fmt.Sprintf("argument %q", path)
}
