package mcp

// The Client's typed requests: tools, resources, prompts, completion,
// logging, ping. Each is Client.Request with its params and result types.

import (
	"context"
	"encoding/json"
	"fmt"
)

// CallToolParams are the arguments of a tools/call.
type CallToolParams struct {
	Name      string
	Arguments interface{} // any value that marshals to a JSON object; nil for {}
	Meta      Meta
	// Progress, if set, receives the server's progress reports for this call
	// (the request then carries a progressToken); progress also extends the
	// call's timeout.
	Progress func(Progress)
}

// CallTool calls a tool. A tool that fails gives a result with IsError, not
// an error; errors are protocol failures (a *PeerError such as an unknown
// tool, ErrTimeout, ErrClosed, ctx.Err()).
func (c *Client) CallTool(ctx context.Context, p *CallToolParams) (*ToolResult, error) {
	if p == nil || p.Name == "" {
		return nil, &Error{Op: "CallTool", Status: ErrInvalidArg, Message: "no tool name"}
	}
	args := p.Arguments
	if args == nil {
		args = map[string]interface{}{}
	}
	wire := struct {
		Name      string      `json:"name"`
		Arguments interface{} `json:"arguments"`
		Meta      Meta        `json:"_meta,omitempty"`
	}{p.Name, args, p.Meta}
	raw, err := c.request(ctx, "tools/call", wire, p.Progress)
	if err != nil {
		return nil, err
	}
	res := &ToolResult{}
	if err := json.Unmarshal(raw, res); err != nil {
		return nil, &Error{Op: "CallTool", Status: ErrPeer, Message: "unreadable result: " + err.Error()}
	}
	return res, nil
}

// list fetches every item of a paginated list into out (a pointer to a
// slice). The engine pages (mcp_client_list_async), with the rules of mcp.h
// for cursors: one set of edge cases for every binding.
func (c *Client) list(ctx context.Context, method string, out interface{}) error {
	raw, err := c.listAll(ctx, method)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return &Error{Op: method, Status: ErrPeer, Message: "unreadable items: " + err.Error()}
	}
	return nil
}

// ListTools returns every tool the server offers (all pages).
func (c *Client) ListTools(ctx context.Context) ([]*Tool, error) {
	var out []*Tool
	return out, c.list(ctx, "tools/list", &out)
}

// ListResources returns every resource the server offers (all pages).
func (c *Client) ListResources(ctx context.Context) ([]*Resource, error) {
	var out []*Resource
	return out, c.list(ctx, "resources/list", &out)
}

// ListResourceTemplates returns every resource template (all pages).
func (c *Client) ListResourceTemplates(ctx context.Context) ([]*ResourceTemplate, error) {
	var out []*ResourceTemplate
	return out, c.list(ctx, "resources/templates/list", &out)
}

// ListPrompts returns every prompt the server offers (all pages).
func (c *Client) ListPrompts(ctx context.Context) ([]*Prompt, error) {
	var out []*Prompt
	return out, c.list(ctx, "prompts/list", &out)
}

// ReadResource reads a resource; an unknown URI is a *PeerError with code
// CodeResourceNotFound.
func (c *Client) ReadResource(ctx context.Context, uri string) (*ReadResourceResult, error) {
	raw, err := c.request(ctx, "resources/read", map[string]string{"uri": uri}, nil)
	if err != nil {
		return nil, err
	}
	res := &ReadResourceResult{}
	if err := json.Unmarshal(raw, res); err != nil {
		return nil, &Error{Op: "ReadResource", Status: ErrPeer, Message: "unreadable result: " + err.Error()}
	}
	return res, nil
}

// SubscribeResource asks for notifications/resources/updated about uri
// (delivered to ClientOptions.NotificationHandler).
func (c *Client) SubscribeResource(ctx context.Context, uri string) error {
	_, err := c.request(ctx, "resources/subscribe", map[string]string{"uri": uri}, nil)
	return err
}

// UnsubscribeResource cancels SubscribeResource.
func (c *Client) UnsubscribeResource(ctx context.Context, uri string) error {
	_, err := c.request(ctx, "resources/unsubscribe", map[string]string{"uri": uri}, nil)
	return err
}

// GetPrompt gets a prompt with its arguments.
func (c *Client) GetPrompt(ctx context.Context, name string, args map[string]string) (*PromptResult, error) {
	params := map[string]interface{}{"name": name}
	if args != nil {
		params["arguments"] = args
	}
	raw, err := c.request(ctx, "prompts/get", params, nil)
	if err != nil {
		return nil, err
	}
	res := &PromptResult{}
	if err := json.Unmarshal(raw, res); err != nil {
		return nil, &Error{Op: "GetPrompt", Status: ErrPeer, Message: "unreadable result: " + err.Error()}
	}
	return res, nil
}

// Complete asks for completions of a prompt argument or template variable.
// others holds the other arguments already given (may be nil).
func (c *Client) Complete(ctx context.Context, ref CompletionReference, argument, value string, others map[string]string) (*CompletionResult, error) {
	params := map[string]interface{}{
		"ref":      ref,
		"argument": map[string]string{"name": argument, "value": value},
	}
	if others != nil {
		params["context"] = map[string]interface{}{"arguments": others}
	}
	raw, err := c.request(ctx, "completion/complete", params, nil)
	if err != nil {
		return nil, err
	}
	var res struct {
		Completion *CompletionResult `json:"completion"`
	}
	if err := json.Unmarshal(raw, &res); err != nil || res.Completion == nil {
		return nil, &Error{Op: "Complete", Status: ErrPeer, Message: fmt.Sprintf("unreadable result %s", truncate(string(raw), 200))}
	}
	return res.Completion, nil
}

// SetLoggingLevel asks the server to send log messages at level and above.
func (c *Client) SetLoggingLevel(ctx context.Context, level LoggingLevel) error {
	_, err := c.request(ctx, "logging/setLevel", map[string]string{"level": string(level)}, nil)
	return err
}

// Ping checks that the server answers.
func (c *Client) Ping(ctx context.Context) error {
	_, err := c.request(ctx, "ping", nil, nil)
	return err
}
