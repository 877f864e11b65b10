package mcp_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	mcp "github.com/libmcp/libmcp/bindings/go"
)

// eraServer is tests/interop/fixtures/era_servers.py run as KIND (modern,
// legacy or silent): a stdio server of one era.
func eraServer(t *testing.T, kind string) []string {
	py := os.Getenv("MCP_PYTHON")
	if py == "" {
		t.Fatal("MCP_PYTHON is not set (ctest sets it)")
	}
	script, err := filepath.Abs("../../tests/interop/fixtures/era_servers.py")
	if err != nil {
		t.Fatal(err)
	}
	return []string{py, script, kind, filepath.Join(t.TempDir(), "log.jsonl")}
}

func TestClientEraOption(t *testing.T) {
	for _, tc := range []struct{ era, kind, want, version string }{
		{"", "modern", "modern", "2026-07-28"},
		{"auto", "legacy", "legacy", "2025-11-25"},
		{"legacy", "legacy", "legacy", "2025-11-25"},
		{"2026-07-28", "modern", "modern", "2026-07-28"},
	} {
		t.Run(tc.era+"/"+tc.kind, func(t *testing.T) {
			c, err := mcp.NewClient("go-era", "1", &mcp.ClientOptions{Era: tc.era, DiscoverTimeout: time.Second})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			init, err := c.ConnectStdio(within(t, 20*time.Second), eraServer(t, tc.kind), nil)
			if err != nil {
				t.Fatal(err)
			}
			if init.ProtocolVersion != tc.version {
				t.Fatalf("connect gave %q, want %q", init.ProtocolVersion, tc.version)
			}
			e, err := c.Era()
			if err != nil || e.Era != tc.want || e.ProtocolVersion != tc.version || e.Capabilities["tools"] == nil {
				t.Fatalf("Era() = %+v, %v", e, err)
			}
			if (len(e.SupportedVersions) > 0) != (tc.want == "modern") {
				t.Fatalf("supportedVersions %v at era %s", e.SupportedVersions, e.Era)
			}
			r, err := c.CallTool(within(t, 10*time.Second), &mcp.CallToolParams{Name: "whoami"})
			if err != nil {
				t.Fatal(err)
			}
			text, ok := r.Content[0].(*mcp.TextContent)
			if !ok {
				t.Fatalf("content %#v", r.Content[0])
			}
			meta := text.Text
			if strings.Contains(meta, "io.modelcontextprotocol/protocolVersion") != (tc.want == "modern") {
				t.Fatalf("the request's _meta at era %s: %s", tc.want, meta)
			}
		})
	}
	c, err := mcp.NewClient("go-era", "1", &mcp.ClientOptions{Era: "1999-01-01"})
	if err == nil {
		c.Close()
		t.Fatal("an unknown era was accepted")
	}
}
