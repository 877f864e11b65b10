package mcp

// Typed requests a handler sends to its client through the Call: sampling,
// elicitation and roots.

import (
	"context"
	"encoding/json"
	"fmt"
)

// SamplingMessage is one message of a sampling conversation.
type SamplingMessage struct {
	Role    Role    `json:"role"`
	Content Content `json:"content"`
}

// UnmarshalJSON reads a sampling message (for a Client's
// CreateMessageHandler); content that is an array of blocks is kept as a
// *RawContent of type "array".
func (m *SamplingMessage) UnmarshalJSON(b []byte) error {
	var w struct {
		Role    Role            `json:"role"`
		Content json.RawMessage `json:"content"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	m.Role = w.Role
	if len(w.Content) > 0 && w.Content[0] == '[' {
		m.Content = &RawContent{Type: "array", JSON: append(json.RawMessage(nil), w.Content...)}
		return nil
	}
	c, err := decodeContent(w.Content)
	m.Content = c
	return err
}

// ModelHint names a model (or family) the server would like.
type ModelHint struct {
	Name string `json:"name,omitempty"`
}

// ModelPreferences steer the client's choice of model; priorities are 0..1.
type ModelPreferences struct {
	Hints                []ModelHint `json:"hints,omitempty"`
	CostPriority         *float64    `json:"costPriority,omitempty"`
	SpeedPriority        *float64    `json:"speedPriority,omitempty"`
	IntelligencePriority *float64    `json:"intelligencePriority,omitempty"`
}

// CreateMessageParams ask the client's model for a message
// (sampling/createMessage).
type CreateMessageParams struct {
	Messages         []*SamplingMessage `json:"messages"`
	MaxTokens        int                `json:"maxTokens"`
	SystemPrompt     string             `json:"systemPrompt,omitempty"`
	ModelPreferences *ModelPreferences  `json:"modelPreferences,omitempty"`
	IncludeContext   string             `json:"includeContext,omitempty"` // "none", "thisServer", "allServers"
	Temperature      *float64           `json:"temperature,omitempty"`
	StopSequences    []string           `json:"stopSequences,omitempty"`
	Metadata         interface{}        `json:"metadata,omitempty"`
	Meta             Meta               `json:"_meta,omitempty"`
	// Key names the request in a 2026-07-28 call's inputRequests ("" for the
	// default key); not sent. See Call.RequestNamed.
	Key string `json:"-"`
}

// CreateMessageResult is the client model's answer.
type CreateMessageResult struct {
	Role       Role
	Content    Content
	Model      string
	StopReason string
	Meta       Meta
}

// MarshalJSON writes the result (for a Client's CreateMessageHandler).
func (r *CreateMessageResult) MarshalJSON() ([]byte, error) {
	if r.Content == nil {
		return nil, fmt.Errorf("mcp: CreateMessageResult without Content")
	}
	return json.Marshal(struct {
		Role       Role    `json:"role"`
		Content    Content `json:"content"`
		Model      string  `json:"model"`
		StopReason string  `json:"stopReason,omitempty"`
		Meta       Meta    `json:"_meta,omitempty"`
	}{r.Role, r.Content, r.Model, r.StopReason, r.Meta})
}

// UnmarshalJSON reads a CreateMessageResult whose content is one block (or
// an array of exactly one).
func (r *CreateMessageResult) UnmarshalJSON(b []byte) error {
	var w struct {
		Role       Role            `json:"role"`
		Content    json.RawMessage `json:"content"`
		Model      string          `json:"model"`
		StopReason string          `json:"stopReason"`
		Meta       Meta            `json:"_meta"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	raw := w.Content
	if len(raw) > 0 && raw[0] == '[' {
		var blocks []json.RawMessage
		if err := json.Unmarshal(raw, &blocks); err != nil {
			return err
		}
		if len(blocks) != 1 {
			return fmt.Errorf("mcp: sampling result has %d content blocks; use Call.Request for the raw result", len(blocks))
		}
		raw = blocks[0]
	}
	c, err := decodeContent(raw)
	if err != nil {
		return err
	}
	*r = CreateMessageResult{Role: w.Role, Content: c, Model: w.Model, StopReason: w.StopReason, Meta: w.Meta}
	return nil
}

// CreateMessage asks the client's model for a message (sampling). It needs
// the client's sampling capability (else ErrUnsupported, nothing sent); a
// client that declines answers with a *PeerError.
func (c *Call) CreateMessage(ctx context.Context, p *CreateMessageParams) (*CreateMessageResult, error) {
	if p == nil {
		return nil, &Error{Op: "CreateMessage", Status: ErrInvalidArg, Message: "nil params"}
	}
	raw, err := c.RequestNamed(ctx, p.Key, "sampling/createMessage", p)
	if err != nil {
		return nil, err
	}
	res := &CreateMessageResult{}
	if err := json.Unmarshal(raw, res); err != nil {
		return nil, &Error{Op: "CreateMessage", Status: ErrPeer, Message: "client answered an unreadable result: " + err.Error()}
	}
	return res, nil
}

// ElicitParams ask the user for input (elicitation/create). Form mode (the
// default): Message and RequestedSchema, a flat object schema of primitive
// properties (SchemaFor can derive it from a struct). URL mode: Mode "url",
// Message, URL and ElicitationID.
type ElicitParams struct {
	Mode            string      `json:"mode,omitempty"`
	Message         string      `json:"message"`
	RequestedSchema interface{} `json:"requestedSchema,omitempty"`
	URL             string      `json:"url,omitempty"`
	ElicitationID   string      `json:"elicitationId,omitempty"`
	Meta            Meta        `json:"_meta,omitempty"`
	// Key names the request in a 2026-07-28 call's inputRequests ("" for the
	// default key); not sent. See Call.RequestNamed.
	Key string `json:"-"`
}

// ElicitResult is the user's answer: Action "accept" (with Content, in form
// mode), "decline" or "cancel".
type ElicitResult struct {
	Action  string                 `json:"action"`
	Content map[string]interface{} `json:"content,omitempty"`
	Meta    Meta                   `json:"_meta,omitempty"`
}

// Elicit asks the user, through the client, for input. It needs the client's
// elicitation capability (url mode: elicitation.url), else ErrUnsupported.
// In a 2026-07-28 call whose client has not answered yet it returns an error
// matching ErrInputRequired: return it from the handler (Call.RequestNamed).
func (c *Call) Elicit(ctx context.Context, p *ElicitParams) (*ElicitResult, error) {
	if p == nil {
		return nil, &Error{Op: "Elicit", Status: ErrInvalidArg, Message: "nil params"}
	}
	raw, err := c.RequestNamed(ctx, p.Key, "elicitation/create", p)
	if err != nil {
		return nil, err
	}
	res := &ElicitResult{}
	if err := json.Unmarshal(raw, res); err != nil {
		return nil, &Error{Op: "Elicit", Status: ErrPeer, Message: "client answered an unreadable result: " + err.Error()}
	}
	return res, nil
}

// Root is a directory or file the client lets the server work with.
type Root struct {
	URI  string `json:"uri"`
	Name string `json:"name,omitempty"`
	Meta Meta   `json:"_meta,omitempty"`
}

// ListRoots asks the client for its roots (roots/list). It needs the
// client's roots capability, else ErrUnsupported.
func (c *Call) ListRoots(ctx context.Context) ([]*Root, error) {
	return c.ListRootsNamed(ctx, "")
}

// ListRootsNamed is ListRoots with the request's key in a 2026-07-28 call
// (see Call.RequestNamed).
func (c *Call) ListRootsNamed(ctx context.Context, key string) ([]*Root, error) {
	raw, err := c.RequestNamed(ctx, key, "roots/list", nil)
	if err != nil {
		return nil, err
	}
	var res struct {
		Roots []*Root `json:"roots"`
	}
	if err := json.Unmarshal(raw, &res); err != nil {
		return nil, &Error{Op: "ListRoots", Status: ErrPeer, Message: "client answered an unreadable result: " + err.Error()}
	}
	return res.Roots, nil
}
