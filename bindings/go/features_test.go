package mcp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func TestResources(t *testing.T) {
	s, err := NewServer("s", "1", &ServerOptions{ErrorLog: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	size := int64(3)
	err = s.AddResource(&Resource{URI: "test://text", Name: "text", MIMEType: "text/plain", Size: &size},
		func(ctx context.Context, req *ResourceRequest) (*ReadResourceResult, error) {
			if len(req.Variables) != 0 {
				return nil, fmt.Errorf("variables for a fixed resource: %v", req.Variables)
			}
			return &ReadResourceResult{Contents: []*ResourceContents{{URI: req.URI, MIMEType: "text/plain", Text: "abc"}}}, nil
		})
	if err != nil {
		t.Fatal(err)
	}
	s.AddResource(&Resource{URI: "test://blob", Name: "blob"}, func(ctx context.Context, req *ResourceRequest) (*ReadResourceResult, error) {
		return &ReadResourceResult{Contents: []*ResourceContents{{URI: req.URI, MIMEType: "application/octet-stream", Blob: []byte{0, 1, 2, 255}}}}, nil
	})
	s.AddResource(&Resource{URI: "test://gone", Name: "gone"}, func(ctx context.Context, req *ResourceRequest) (*ReadResourceResult, error) {
		return nil, fmt.Errorf("looked everywhere: %w", ErrResourceNotFound)
	})
	s.AddResource(&Resource{URI: "test://broken", Name: "broken"}, func(ctx context.Context, req *ResourceRequest) (*ReadResourceResult, error) {
		panic("broken resource")
	})
	err = s.AddResourceTemplate(&ResourceTemplate{URITemplate: "test://items/{id}/part/{part}", Name: "items"},
		func(ctx context.Context, req *ResourceRequest) (*ReadResourceResult, error) {
			return &ReadResourceResult{Contents: []*ResourceContents{{URI: req.URI, Text: req.Variables["id"] + "+" + req.Variables["part"]}}}, nil
		})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.AddResource(&Resource{URI: "test://text", Name: "again"}, func(context.Context, *ResourceRequest) (*ReadResourceResult, error) { return nil, nil }); !errors.Is(err, ErrExists) {
		t.Errorf("duplicate resource: %v", err)
	}
	if err := s.AddResourceTemplate(&ResourceTemplate{URITemplate: "test://{unclosed", Name: "bad"}, func(context.Context, *ResourceRequest) (*ReadResourceResult, error) { return nil, nil }); !errors.Is(err, ErrInvalidArg) {
		t.Errorf("bad template: %v", err)
	}
	if err := s.RemoveResourceTemplate("test://none/{x}"); !errors.Is(err, ErrNotFound) {
		t.Errorf("RemoveResourceTemplate(unknown): %v", err)
	}
	c := newTestClient(t, s)
	c.initialize(nil)

	var list struct {
		Resources []struct {
			URI  string `json:"uri"`
			Size int64  `json:"size"`
		} `json:"resources"`
	}
	c.mustCall("resources/list", nil, &list)
	if len(list.Resources) != 4 || list.Resources[0].URI != "test://text" || list.Resources[0].Size != 3 {
		t.Errorf("resources/list %+v", list)
	}
	var tl struct {
		ResourceTemplates []struct {
			URITemplate string `json:"uriTemplate"`
		} `json:"resourceTemplates"`
	}
	c.mustCall("resources/templates/list", nil, &tl)
	if len(tl.ResourceTemplates) != 1 || tl.ResourceTemplates[0].URITemplate != "test://items/{id}/part/{part}" {
		t.Errorf("templates/list %+v", tl)
	}

	read := func(uri string) (*ReadResourceResult, *RPCError) {
		res, e := c.call("resources/read", map[string]string{"uri": uri})
		if e != nil {
			return nil, e
		}
		r := &ReadResourceResult{}
		if err := json.Unmarshal(res, r); err != nil {
			t.Fatalf("read %s: %s: %v", uri, res, err)
		}
		return r, nil
	}
	r, e := read("test://text")
	if e != nil || len(r.Contents) != 1 || r.Contents[0].Text != "abc" || r.Contents[0].MIMEType != "text/plain" {
		t.Errorf("read text: %+v %v", r, e)
	}
	r, e = read("test://blob")
	if e != nil || !reflect.DeepEqual(r.Contents[0].Blob, []byte{0, 1, 2, 255}) {
		t.Errorf("read blob: %+v %v", r, e)
	}
	r, e = read("test://items/42/part/a-b")
	if e != nil || r.Contents[0].Text != "42+a-b" || r.Contents[0].URI != "test://items/42/part/a-b" {
		t.Errorf("read template: %+v %v", r, e)
	}
	_, e = read("test://gone")
	if e == nil || e.Code != CodeResourceNotFound || !strings.Contains(string(e.Data), `"uri":"test://gone"`) ||
		e.Message != "looked everywhere: mcp: resource not found" {
		t.Errorf("ErrResourceNotFound answered %+v", e)
	}
	_, e = read("test://broken")
	if e == nil || e.Code != CodeInternalError || !strings.Contains(e.Message, "broken resource") {
		t.Errorf("panicking resource answered %+v", e)
	}
	_, e = read("test://unknown")
	if e == nil || e.Code != CodeResourceNotFound {
		t.Errorf("unknown resource answered %+v", e)
	}
	// Subscriptions reach exactly the subscribers.
	if n, err := s.NotifyResourceUpdated("test://text"); err != nil || n != 0 {
		t.Errorf("NotifyResourceUpdated without subscribers: %d, %v", n, err)
	}
}

func TestResourceSubscription(t *testing.T) {
	s := newTestServer(t)
	s.AddResource(&Resource{URI: "test://watched", Name: "w"}, func(ctx context.Context, req *ResourceRequest) (*ReadResourceResult, error) {
		return &ReadResourceResult{Contents: []*ResourceContents{{URI: req.URI, Text: "v"}}}, nil
	})
	c := newTestClient(t, s)
	c.initialize(nil)
	c.mustCall("resources/subscribe", map[string]string{"uri": "test://watched"}, nil)
	n, err := s.NotifyResourceUpdated("test://watched")
	if err != nil || n != 1 {
		t.Fatalf("NotifyResourceUpdated: %d, %v", n, err)
	}
	var p struct {
		URI string `json:"uri"`
	}
	json.Unmarshal(c.note("notifications/resources/updated"), &p)
	if p.URI != "test://watched" {
		t.Fatalf("updated %+v", p)
	}
}

func TestPrompts(t *testing.T) {
	s, err := NewServer("s", "1", &ServerOptions{ErrorLog: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	err = s.AddPrompt(&Prompt{Name: "greet", Description: "says hello",
		Arguments: []*PromptArgument{{Name: "who", Required: true}, {Name: "mood"}}},
		func(ctx context.Context, args map[string]string) (*PromptResult, error) {
			return &PromptResult{Description: "a greeting", Messages: []*PromptMessage{
				{Role: RoleUser, Content: Text("Say hello to " + args["who"] + " (" + args["mood"] + ")")},
				{Role: RoleAssistant, Content: &EmbeddedResource{Resource: &ResourceContents{URI: "test://x", Text: "ctx"}}},
			}}, nil
		})
	if err != nil {
		t.Fatal(err)
	}
	s.AddPrompt(&Prompt{Name: "refuses"}, func(ctx context.Context, args map[string]string) (*PromptResult, error) {
		return nil, &RPCError{Code: CodeInvalidParams, Message: "not today"}
	})
	s.AddPrompt(&Prompt{Name: "panics"}, func(ctx context.Context, args map[string]string) (*PromptResult, error) {
		panic(errors.New("prompt bug"))
	})
	if err := s.AddPrompt(&Prompt{Name: "greet"}, func(context.Context, map[string]string) (*PromptResult, error) { return nil, nil }); !errors.Is(err, ErrExists) {
		t.Errorf("duplicate prompt: %v", err)
	}
	if err := s.AddPrompt(&Prompt{}, func(context.Context, map[string]string) (*PromptResult, error) { return nil, nil }); !errors.Is(err, ErrInvalidArg) {
		t.Errorf("prompt without a name: %v", err)
	}
	c := newTestClient(t, s)
	c.initialize(nil)
	var got struct {
		Description string `json:"description"`
		Messages    []struct {
			Role    string          `json:"role"`
			Content json.RawMessage `json:"content"`
		} `json:"messages"`
	}
	c.mustCall("prompts/get", map[string]interface{}{"name": "greet", "arguments": map[string]string{"who": "Ada", "mood": "glad"}}, &got)
	if got.Description != "a greeting" || len(got.Messages) != 2 || got.Messages[0].Role != "user" ||
		string(got.Messages[0].Content) != `{"type":"text","text":"Say hello to Ada (glad)"}` ||
		string(got.Messages[1].Content) != `{"type":"resource","resource":{"uri":"test://x","text":"ctx"}}` {
		t.Errorf("prompts/get %+v", got)
	}
	if _, e := c.call("prompts/get", map[string]interface{}{"name": "greet"}); e == nil || e.Code != CodeInvalidParams {
		t.Errorf("missing required argument: %+v", e)
	}
	if _, e := c.call("prompts/get", map[string]interface{}{"name": "refuses"}); e == nil || e.Code != CodeInvalidParams || e.Message != "not today" {
		t.Errorf("RPCError prompt: %+v", e)
	}
	if _, e := c.call("prompts/get", map[string]interface{}{"name": "panics"}); e == nil || e.Code != CodeInternalError || !strings.Contains(e.Message, "prompt bug") {
		t.Errorf("panicking prompt: %+v", e)
	}
	if err := s.RemovePrompt("greet"); err != nil {
		t.Fatal(err)
	}
	if _, e := c.call("prompts/get", map[string]interface{}{"name": "greet", "arguments": map[string]string{"who": "x"}}); e == nil {
		t.Error("a removed prompt still answers")
	}
}

func TestCompletion(t *testing.T) {
	s := newTestServer(t)
	s.AddPrompt(&Prompt{Name: "lang", Arguments: []*PromptArgument{{Name: "language"}, {Name: "level"}}},
		func(context.Context, map[string]string) (*PromptResult, error) { return &PromptResult{}, nil })
	s.AddResourceTemplate(&ResourceTemplate{URITemplate: "test://repo/{owner}", Name: "repo"},
		func(context.Context, *ResourceRequest) (*ReadResourceResult, error) { return nil, ErrResourceNotFound })
	reqs := make(chan *CompletionRequest, 4)
	err := s.SetCompletion(func(ctx context.Context, req *CompletionRequest) (*CompletionResult, error) {
		reqs <- req
		var all []string
		for _, v := range []string{"go", "golang", "python", "rust"} {
			if strings.HasPrefix(v, req.Value) {
				all = append(all, v)
			}
		}
		if req.Ref.Type == "ref/resource" {
			all = make([]string, 150)
			for i := range all {
				all[i] = fmt.Sprint("owner", i)
			}
		}
		return &CompletionResult{Values: all, Total: len(all)}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	c := newTestClient(t, s)
	var init struct {
		Capabilities map[string]json.RawMessage `json:"capabilities"`
	}
	c.mustCall("initialize", map[string]interface{}{"protocolVersion": ProtocolVersionLatest,
		"capabilities": map[string]interface{}{}, "clientInfo": map[string]string{"name": "x", "version": "0"}}, &init)
	c.notify("notifications/initialized", nil)
	if _, ok := init.Capabilities["completions"]; !ok {
		t.Errorf("no completions capability in %v", init.Capabilities)
	}
	var res struct {
		Completion struct {
			Values  []string `json:"values"`
			Total   int      `json:"total"`
			HasMore bool     `json:"hasMore"`
		} `json:"completion"`
	}
	c.mustCall("completion/complete", map[string]interface{}{
		"ref":      map[string]string{"type": "ref/prompt", "name": "lang"},
		"argument": map[string]string{"name": "language", "value": "go"},
		"context":  map[string]interface{}{"arguments": map[string]string{"level": "expert"}},
	}, &res)
	if !reflect.DeepEqual(res.Completion.Values, []string{"go", "golang"}) || res.Completion.Total != 2 {
		t.Errorf("completion %+v", res)
	}
	req := <-reqs
	if req.Ref.Type != "ref/prompt" || req.Ref.Name != "lang" || req.Argument != "language" || req.Value != "go" ||
		!reflect.DeepEqual(req.Context, map[string]string{"level": "expert"}) {
		t.Errorf("handler saw %+v", req)
	}
	c.mustCall("completion/complete", map[string]interface{}{
		"ref":      map[string]string{"type": "ref/resource", "uri": "test://repo/{owner}"},
		"argument": map[string]string{"name": "owner", "value": ""},
	}, &res)
	if len(res.Completion.Values) != 100 || !res.Completion.HasMore || res.Completion.Total != 150 {
		t.Errorf("150 values: got %d values, hasMore %v, total %d", len(res.Completion.Values), res.Completion.HasMore, res.Completion.Total)
	}
	if req := <-reqs; req.Ref.URI != "test://repo/{owner}" || req.Argument != "owner" {
		t.Errorf("handler saw %+v", req)
	}
	// Unknown prompt arguments never reach the handler.
	if _, e := c.call("completion/complete", map[string]interface{}{
		"ref": map[string]string{"type": "ref/prompt", "name": "nope"}, "argument": map[string]string{"name": "a", "value": ""},
	}); e == nil || e.Code != CodeInvalidParams {
		t.Errorf("unknown prompt: %+v", e)
	}
	if err := s.SetCompletion(nil); err != nil {
		t.Fatal(err)
	}
	if _, e := c.call("completion/complete", map[string]interface{}{
		"ref": map[string]string{"type": "ref/prompt", "name": "lang"}, "argument": map[string]string{"name": "language", "value": ""},
	}); e == nil || e.Code != CodeMethodNotFound {
		t.Errorf("completion without a handler: %+v", e)
	}
}
