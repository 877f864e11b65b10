package mcp

// Content blocks (text, image, audio, embedded resources, resource links) as
// they appear in tool results, prompt messages and sampling messages.

import (
	"encoding/json"
	"fmt"
)

// Content is one content block. The concrete types are *TextContent,
// *ImageContent, *AudioContent, *EmbeddedResource, *ResourceLink and, for
// blocks of a type this package does not model, *RawContent.
type Content interface {
	json.Marshaler
	contentType() string
}

// Annotations tell the client how to use a block or resource.
type Annotations struct {
	Audience     []Role  `json:"audience,omitempty"`
	Priority     float64 `json:"priority,omitempty"`
	LastModified string  `json:"lastModified,omitempty"`
}

// Role is the speaker of a message: "user" or "assistant".
type Role string

// The roles of MCP messages.
const (
	RoleUser      Role = "user"
	RoleAssistant Role = "assistant"
)

// Meta is the "_meta" object of a protocol value.
type Meta map[string]interface{}

// TextContent is a block of text.
type TextContent struct {
	Text        string
	Annotations *Annotations
	Meta        Meta
}

// Text returns a text block.
func Text(s string) *TextContent { return &TextContent{Text: s} }

func (*TextContent) contentType() string { return "text" }

// MarshalJSON writes {"type":"text","text":...}.
func (c *TextContent) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Type        string       `json:"type"`
		Text        string       `json:"text"`
		Annotations *Annotations `json:"annotations,omitempty"`
		Meta        Meta         `json:"_meta,omitempty"`
	}{"text", c.Text, c.Annotations, c.Meta})
}

// ImageContent is an image; Data holds the raw bytes (base64 on the wire).
type ImageContent struct {
	Data        []byte
	MIMEType    string
	Annotations *Annotations
	Meta        Meta
}

func (*ImageContent) contentType() string { return "image" }

// MarshalJSON writes {"type":"image","data":<base64>,"mimeType":...}.
func (c *ImageContent) MarshalJSON() ([]byte, error) {
	return marshalMedia("image", c.Data, c.MIMEType, c.Annotations, c.Meta)
}

// AudioContent is audio; Data holds the raw bytes (base64 on the wire).
type AudioContent struct {
	Data        []byte
	MIMEType    string
	Annotations *Annotations
	Meta        Meta
}

func (*AudioContent) contentType() string { return "audio" }

// MarshalJSON writes {"type":"audio","data":<base64>,"mimeType":...}.
func (c *AudioContent) MarshalJSON() ([]byte, error) {
	return marshalMedia("audio", c.Data, c.MIMEType, c.Annotations, c.Meta)
}

func marshalMedia(typ string, data []byte, mime string, a *Annotations, m Meta) ([]byte, error) {
	if data == nil {
		data = []byte{}
	}
	return json.Marshal(struct {
		Type        string       `json:"type"`
		Data        []byte       `json:"data"`
		MIMEType    string       `json:"mimeType"`
		Annotations *Annotations `json:"annotations,omitempty"`
		Meta        Meta         `json:"_meta,omitempty"`
	}{typ, data, mime, a, m})
}

// EmbeddedResource is a resource's contents inside a message.
type EmbeddedResource struct {
	Resource    *ResourceContents
	Annotations *Annotations
	Meta        Meta
}

func (*EmbeddedResource) contentType() string { return "resource" }

// MarshalJSON writes {"type":"resource","resource":{...}}.
func (c *EmbeddedResource) MarshalJSON() ([]byte, error) {
	if c.Resource == nil {
		return nil, fmt.Errorf("mcp: EmbeddedResource without Resource")
	}
	return json.Marshal(struct {
		Type        string            `json:"type"`
		Resource    *ResourceContents `json:"resource"`
		Annotations *Annotations      `json:"annotations,omitempty"`
		Meta        Meta              `json:"_meta,omitempty"`
	}{"resource", c.Resource, c.Annotations, c.Meta})
}

// ResourceLink points at a resource the client may read.
type ResourceLink struct {
	URI         string
	Name        string
	Title       string
	Description string
	MIMEType    string
	Size        *int64
	Annotations *Annotations
	Meta        Meta
}

func (*ResourceLink) contentType() string { return "resource_link" }

// MarshalJSON writes {"type":"resource_link","uri":...,"name":...}.
func (c *ResourceLink) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Type        string       `json:"type"`
		URI         string       `json:"uri"`
		Name        string       `json:"name"`
		Title       string       `json:"title,omitempty"`
		Description string       `json:"description,omitempty"`
		MIMEType    string       `json:"mimeType,omitempty"`
		Size        *int64       `json:"size,omitempty"`
		Annotations *Annotations `json:"annotations,omitempty"`
		Meta        Meta         `json:"_meta,omitempty"`
	}{"resource_link", c.URI, c.Name, c.Title, c.Description, c.MIMEType, c.Size, c.Annotations, c.Meta})
}

// RawContent is a block kept as its JSON, for types this package does not
// model (for example sampling's tool_use); it is sent back verbatim.
type RawContent struct {
	Type string
	JSON json.RawMessage
}

func (c *RawContent) contentType() string { return c.Type }

// MarshalJSON writes the block as received.
func (c *RawContent) MarshalJSON() ([]byte, error) { return c.JSON, nil }

// ResourceContents is what resources/read returns for one URI: Text, or Blob
// when Blob is not nil (raw bytes; base64 on the wire).
type ResourceContents struct {
	URI      string
	MIMEType string
	Text     string
	Blob     []byte
	Meta     Meta
}

// MarshalJSON writes {"uri":...,"mimeType"?:...,"text"|"blob":...}.
func (r *ResourceContents) MarshalJSON() ([]byte, error) {
	type base struct {
		URI      string `json:"uri"`
		MIMEType string `json:"mimeType,omitempty"`
		Meta     Meta   `json:"_meta,omitempty"`
	}
	if r.Blob != nil {
		return json.Marshal(struct {
			base
			Blob []byte `json:"blob"`
		}{base{r.URI, r.MIMEType, r.Meta}, r.Blob})
	}
	return json.Marshal(struct {
		base
		Text string `json:"text"`
	}{base{r.URI, r.MIMEType, r.Meta}, r.Text})
}

// UnmarshalJSON reads text or blob contents.
func (r *ResourceContents) UnmarshalJSON(b []byte) error {
	var w struct {
		URI      string  `json:"uri"`
		MIMEType string  `json:"mimeType"`
		Text     *string `json:"text"`
		Blob     *[]byte `json:"blob"`
		Meta     Meta    `json:"_meta"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*r = ResourceContents{URI: w.URI, MIMEType: w.MIMEType, Meta: w.Meta}
	switch {
	case w.Blob != nil:
		r.Blob = *w.Blob
	case w.Text != nil:
		r.Text = *w.Text
	default:
		return fmt.Errorf("mcp: resource contents of %q have neither text nor blob", w.URI)
	}
	return nil
}

// decodeContent reads one content block of any type.
func decodeContent(b json.RawMessage) (Content, error) {
	var head struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		return nil, fmt.Errorf("mcp: content block: %w", err)
	}
	switch head.Type {
	case "text":
		var w struct {
			Text        string       `json:"text"`
			Annotations *Annotations `json:"annotations"`
			Meta        Meta         `json:"_meta"`
		}
		err := json.Unmarshal(b, &w)
		return &TextContent{Text: w.Text, Annotations: w.Annotations, Meta: w.Meta}, err
	case "image", "audio":
		var w struct {
			Data        []byte       `json:"data"`
			MIMEType    string       `json:"mimeType"`
			Annotations *Annotations `json:"annotations"`
			Meta        Meta         `json:"_meta"`
		}
		if err := json.Unmarshal(b, &w); err != nil {
			return nil, fmt.Errorf("mcp: %s content: %w", head.Type, err)
		}
		if head.Type == "image" {
			return &ImageContent{Data: w.Data, MIMEType: w.MIMEType, Annotations: w.Annotations, Meta: w.Meta}, nil
		}
		return &AudioContent{Data: w.Data, MIMEType: w.MIMEType, Annotations: w.Annotations, Meta: w.Meta}, nil
	case "resource":
		var w struct {
			Resource    *ResourceContents `json:"resource"`
			Annotations *Annotations      `json:"annotations"`
			Meta        Meta              `json:"_meta"`
		}
		if err := json.Unmarshal(b, &w); err != nil {
			return nil, fmt.Errorf("mcp: resource content: %w", err)
		}
		return &EmbeddedResource{Resource: w.Resource, Annotations: w.Annotations, Meta: w.Meta}, nil
	case "resource_link":
		var w struct {
			URI         string       `json:"uri"`
			Name        string       `json:"name"`
			Title       string       `json:"title"`
			Description string       `json:"description"`
			MIMEType    string       `json:"mimeType"`
			Size        *int64       `json:"size"`
			Annotations *Annotations `json:"annotations"`
			Meta        Meta         `json:"_meta"`
		}
		err := json.Unmarshal(b, &w)
		return &ResourceLink{URI: w.URI, Name: w.Name, Title: w.Title, Description: w.Description,
			MIMEType: w.MIMEType, Size: w.Size, Annotations: w.Annotations, Meta: w.Meta}, err
	case "":
		return nil, fmt.Errorf("mcp: content block without a type: %s", truncate(string(b), 200))
	default:
		return &RawContent{Type: head.Type, JSON: append(json.RawMessage(nil), b...)}, nil
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
